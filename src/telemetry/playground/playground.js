// The Tollgate playground: reads /ui/api/status, decides through
// /ui/api/decide/<kind>, and renders the decision. No library, no CDN.
//
// The URL fragment preselects and can submit, so a link (or a test in a
// headless browser) reproduces a session:
//   /ui#kind=plan-change&example=0&locale=ja&submit
// (`body=` gives the request text itself).
"use strict";

const $ = (id) => document.getElementById(id);
let state = { kinds: [], kind: null, grpc: null };

// Proto3 JSON names fields in camelCase; `tollgate eval` has printed
// snake_case: read either.
function field(obj, name) {
  if (!obj) return undefined;
  if (name in obj) return obj[name];
  const camel = name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  return obj[camel];
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c === undefined || c === null ? "" : c);
  return node;
}

function fragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  return params;
}

async function load() {
  const res = await fetch("/ui/api/status");
  const status = await res.json();
  if (!res.ok) throw new Error(status.error || res.statusText);
  showBundle(status.bundle);
  state.kinds = status.kinds;
  state.grpc = status.grpc;
  const locale = $("locale");
  locale.append(el("option", { value: "" }, `bundle default (${status.defaultLocale || "none"})`));
  for (const tag of status.locales) locale.append(el("option", { value: tag }, tag));
  const tabs = $("kinds");
  for (const kind of status.kinds) {
    const tab = el("button", { type: "button", role: "tab", id: `tab-${kind.slug}` }, kind.slug);
    tab.addEventListener("click", () => selectKind(kind.slug));
    tabs.append(tab);
  }
  $("example").addEventListener("change", () => selectExample(Number($("example").value)));
  $("request").addEventListener("submit", (event) => {
    event.preventDefault();
    decide();
  });
  $("copy").addEventListener("click", copyGrpcurl);

  const wanted = fragment();
  selectKind(wanted.get("kind") || (status.kinds[0] && status.kinds[0].slug));
  if (wanted.has("example")) selectExample(Number(wanted.get("example")));
  if (wanted.has("body")) $("body").value = wanted.get("body");
  if (wanted.has("locale")) locale.value = wanted.get("locale");
  if (wanted.has("submit")) $("request").requestSubmit($("decide"));
}

function showBundle(b) {
  $("bundle-name").textContent = field(b, "name") || "no bundle is active";
  $("bundle-revision").textContent = field(b, "revision") || "";
  $("bundle-digest").textContent = field(b, "digest") || "";
  $("bundle-source").textContent = field(b, "source") || "";
  $("bundle-loaded").textContent = field(b, "loaded_at") || "";
  const error = field(b, "last_reload_error");
  $("bundle-error").textContent = error || "none";
  $("bundle-error").className = error ? "failed" : "";
}

function selectKind(slug) {
  const kind = state.kinds.find((k) => k.slug === slug) || state.kinds[0];
  if (!kind) return;
  state.kind = kind;
  for (const k of state.kinds) {
    $(`tab-${k.slug}`).setAttribute("aria-selected", String(k === kind));
  }
  const select = $("example");
  select.replaceChildren(...kind.examples.map((e, i) => el("option", { value: String(i) }, e.title)));
  select.append(el("option", { value: "-1" }, "(empty request)"));
  selectExample(kind.examples.length ? 0 : -1);
  $("result").replaceChildren();
  $("grpcurl").textContent = "";
}

function selectExample(index) {
  const example = state.kind.examples[index];
  $("example").value = String(example ? index : -1);
  $("body").value = example ? example.body : "{\n}";
  if (example) $("locale").value = example.locale || "";
}

// The text sent: the typed request with `explain` on and the chosen
// locale; text that is not JSON goes as it is, so the server says why.
function requestText() {
  const text = $("body").value;
  let request;
  try {
    request = JSON.parse(text);
  } catch {
    return text;
  }
  if (request === null || typeof request !== "object" || Array.isArray(request)) return text;
  request.explain = true;
  const locale = $("locale").value;
  if (locale) request.locale = locale;
  return JSON.stringify(request, null, 2);
}

async function decide() {
  const out = $("result");
  out.replaceChildren(el("p", {}, "deciding…"));
  document.documentElement.dataset.state = "deciding";
  const body = requestText();
  let res, answer;
  try {
    res = await fetch(`/ui/api/decide/${state.kind.slug}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    answer = await res.json();
  } catch (e) {
    out.replaceChildren(el("p", { class: "error" }, `request failed: ${e}`));
    document.documentElement.dataset.state = "failed";
    return;
  }
  showGrpcurl(body);
  if (!res.ok) {
    out.replaceChildren(
      el("h2", {}, `Refused (HTTP ${res.status})`),
      el("p", { class: "error", id: "refusal" }, answer.error),
    );
    document.documentElement.dataset.state = "refused";
    return;
  }
  out.replaceChildren(...renderDecision(answer));
  document.documentElement.dataset.state = "decided";
}

function renderDecision(d) {
  const verdict = field(d, "verdict") || field(d, "outcome") || "UNSPECIFIED";
  const kind = /ALLOW|LINK_OUTCOME_LINK|APPROVE/.test(verdict) ? "allow" : /DENY|DECLINE/.test(verdict) ? "deny" : "";
  const parts = [el("h2", {}, "Decision"), el("p", {}, el("span", { class: `outcome ${kind}`, id: "outcome" }, verdict))];
  const timing = field(d, "timing");
  if (timing) parts.push(el("p", {}, `Timing: ${timing}`, field(d, "effective_at") ? ` at ${field(d, "effective_at")}` : ""));
  const actions = field(d, "required_actions") || [];
  if (actions.length) parts.push(el("p", {}, `Required actions: ${actions.join(", ")}`));
  const steps = field(d, "steps") || [];
  if (steps.length) {
    parts.push(el("h2", {}, "Funding steps"));
    parts.push(table(["source", "method", "amount (minor)"], steps.map((s) => [
      field(s, "source"), field(s, "method_id") || "", `${field(s, "amount_minor") || 0} ${field(d, "currency") || ""}`,
    ])));
  }
  const reasons = field(d, "reasons") || [];
  parts.push(el("h2", {}, "Reasons"));
  const list = el("ol", { id: "reasons" });
  for (const r of reasons) {
    const details = Object.entries(field(r, "details") || {}).map(([k, v]) => `${k}=${v}`).join(", ");
    list.append(el("li", {},
      el("code", {}, field(r, "code")), " ", el("span", { class: "message" }, field(r, "message")),
      field(r, "rule_id") ? el("small", {}, ` (rule ${field(r, "rule_id")})`) : "",
      details ? el("div", {}, el("small", {}, details)) : ""));
  }
  parts.push(list);
  const meta = field(d, "meta") || {};
  const trace = field(meta, "trace") || [];
  parts.push(el("h2", {}, "Explain trace"));
  const rows = trace.map((t) => [
    field(t, "rule_id"), field(t, "effect") || "", field(t, "matched") ? "matched" : "not matched",
    field(t, "decisive") ? "decisive" : "", field(t, "note") || "",
  ]);
  const traceTable = table(["rule", "effect", "condition", "", "note"], rows);
  traceTable.id = "trace";
  trace.forEach((t, i) => {
    const row = traceTable.tBodies[0].rows[i];
    if (field(t, "decisive")) row.className = "decisive";
    else if (!field(t, "matched")) row.className = "unmatched";
  });
  parts.push(traceTable);
  parts.push(el("p", {}, el("small", {},
    `decision ${field(meta, "decision_id") || ""} · bundle ${field(meta, "bundle_name") || ""} `,
    `revision ${field(meta, "bundle_revision") || ""} · locale ${field(meta, "locale") || ""}`)));
  const raw = el("details", {}, el("summary", {}, "Decision as JSON"), el("pre", {}, JSON.stringify(d, null, 2)));
  parts.push(raw);
  return parts;
}

function table(head, rows) {
  const t = el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))));
  const body = el("tbody");
  for (const r of rows) body.append(el("tr", {}, ...r.map((c) => el("td", {}, c))));
  t.append(body);
  return t;
}

// The same request as a grpcurl command against this server's gRPC port.
function grpcurlCommand(body) {
  let compact = body;
  try {
    compact = JSON.stringify(JSON.parse(body));
  } catch {}
  const quoted = `'${compact.replace(/'/g, `'\\''`)}'`;
  const plaintext = state.grpc.plaintext ? "-plaintext " : "";
  return `grpcurl ${plaintext}-d ${quoted} ${state.grpc.address} ${state.kind.method}`;
}

function showGrpcurl(body) {
  $("grpcurl").textContent = grpcurlCommand(body);
}

async function copyGrpcurl() {
  const command = grpcurlCommand(requestText());
  $("grpcurl").textContent = command;
  try {
    await navigator.clipboard.writeText(command);
  } catch {
    // No clipboard (an insecure origin): the command is shown to copy by hand.
  }
}

load().catch((e) => {
  $("result").replaceChildren(el("p", { class: "error" }, `cannot load the playground: ${e.message}`));
  document.documentElement.dataset.state = "failed";
});
