//! The playground (`/ui` on the admin port) of a real `tollgate serve`
//! (the built binary, embedded demo bundle).
//!
//! In a real browser: headless Chromium loads the page with a URL fragment
//! that picks the example and submits the form through the page's own
//! submit handler (`requestSubmit`, what a click on "Decide" runs); the page
//! fetches the decision from the admin port and renders it, and
//! `--dump-dom` prints the DOM once the page is idle. The reason text, the
//! trace and the grpcurl command must be in that DOM; they are not in the
//! page until its script has decided. A screenshot of each scenario goes to
//! `target/ui-screenshots/`.
//!
//! Over HTTP: the status equals `GetBundleStatus`, a decision equals the
//! gRPC one, and bad input is refused as `tollgate eval` refuses it.
//!
//! Without `chromium` on `PATH` the browser trials are ignored, with the
//! reason (`apt-get install chromium`; `.ci/run` does), never passed; under
//! `TOLLGATE_CI_REQUIRE_TOOLS=1` (set by `.ci/run`) they fail.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the exposition reader is for other test binaries")]
#[path = "e2e/http.rs"]
mod http;
#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{
    io::Write as _,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use support::{Serve, missing_tool, on_path, runtime, serve_with_admin, tollgate};
use tollgate::grpc::pb::{self, bundle_service_client::BundleServiceClient};

const INSTALL: &str = "apt-get install chromium";
/// A bound against hanging, not a speed requirement.
const BOUND: Duration = Duration::from_secs(30);
/// The README's first request: a reseller's downgrade with 120 users.
const DOWNGRADE: &str = "kind=plan-change&example=0&submit";

fn main() {
    let args = Arguments::from_args();
    let chromium = on_path("chromium");
    let browser = |name: &str, scenario: fn(&Path) -> Result<(), Failed>| {
        let chromium = chromium.clone();
        Trial::ignorable_test(name, move || match chromium {
            Some(chromium) => scenario(&chromium).map(|()| Completion::Completed),
            None => missing_tool(&format!("chromium is not on PATH; `{INSTALL}` installs it")),
        })
    };
    let http = |name: &str, check: fn(&Server) -> Result<(), Failed>| {
        Trial::test(name, move || check(&Server::start()?))
    };
    let trials = vec![
        browser(
            "chromium: a downgrade with too many users shows its reason, trace and grpcurl command",
            downgrade_in_english,
        ),
        browser(
            "chromium: the chosen locale writes the reason in Japanese",
            downgrade_in_japanese,
        ),
        browser(
            "chromium: bad JSON shows the message tollgate eval prints",
            bad_json_in_the_browser,
        ),
        http(
            "the page and its files are served, from the binary",
            page_is_served,
        ),
        http(
            "the status is GetBundleStatus in proto JSON",
            status_is_get_bundle_status,
        ),
        http(
            "a decision is the gRPC decision, with the trace",
            decision_matches_grpc,
        ),
        http(
            "bad JSON is 400 with the message tollgate eval prints",
            bad_json_is_refused_as_eval_refuses_it,
        ),
        http(
            "an invalid request, a lacking fact, a large body and an unknown type are refused",
            other_refusals,
        ),
        Trial::test("--playground off serves no /ui", || {
            let server = Server::start_with(&["--playground", "off"])?;
            for path in ["/ui", "/ui/api/status"] {
                let answer = server.get(path)?;
                if answer.status != 404 {
                    return Err(format!("{path}: {answer:?}").into());
                }
            }
            let metrics = server.get("/metrics")?;
            if metrics.status != 200 {
                return Err(format!("/metrics: {metrics:?}").into());
            }
            Ok(())
        }),
    ];
    libtest_mimic::run(&args, trials).exit();
}

/// `tollgate serve` with its admin port.
struct Server {
    _serve: Serve,
    grpc: u16,
    admin: SocketAddr,
    runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start() -> Result<Self, Failed> {
        Self::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Result<Self, Failed> {
        let started = serve_with_admin(extra);
        let server = Self {
            _serve: started.serve,
            grpc: started.port,
            admin: started.admin,
            runtime: runtime(),
        };
        // Ready: the bundle is active, so the page has a status to show.
        let give_up = Instant::now() + BOUND;
        while !server.get("/readyz").is_ok_and(|a| a.status == 200) {
            if Instant::now() > give_up {
                return Err("the admin port never became ready".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    fn get(&self, path: &str) -> Result<http::Answer, String> {
        self.runtime.block_on(http::get(self.admin, path))
    }

    fn post(&self, path: &str, body: &str) -> Result<http::Answer, String> {
        self.runtime
            .block_on(http::post(self.admin, path, body.as_bytes()))
    }

    fn url(&self, fragment: &str) -> String {
        format!("http://{}/ui#{fragment}", self.admin)
    }
}

// --- in Chromium --------------------------------------------------------

/// The DOM after `url` ran, and a screenshot of it in `shot`.
fn browse(chromium: &Path, url: &str, shot: &str) -> Result<String, Failed> {
    let profile = tempfile::tempdir().expect("a profile directory");
    let run = |extra: &[String]| {
        Command::new(chromium)
            .args([
                "--headless",
                // As root (CI), Chromium's sandbox cannot start.
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1100,1500",
                // Time in the page waits for its fetches: the DOM is dumped
                // once they and the rendering are done.
                "--virtual-time-budget=15000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(url)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run chromium: {e}"))
    };
    let dom = run(&["--dump-dom".to_owned()])?;
    let text = String::from_utf8_lossy(&dom.stdout).into_owned();
    if !dom.status.success() || text.is_empty() {
        return Err(format!(
            "chromium --dump-dom failed ({}):\n{}",
            dom.status,
            String::from_utf8_lossy(&dom.stderr)
        )
        .into());
    }
    let dir = screenshots();
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    let png = dir.join(shot);
    let _ = std::fs::remove_file(&png);
    run(&[format!("--screenshot={}", png.display())])?;
    if !std::fs::metadata(&png).is_ok_and(|m| m.len() > 0) {
        return Err(format!("chromium wrote no screenshot to {}", png.display()).into());
    }
    Ok(text)
}

/// `target/ui-screenshots/`.
fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("ui-screenshots")
}

fn contains_all(dom: &str, wanted: &[&str]) -> Result<(), Failed> {
    let missing: Vec<_> = wanted.iter().filter(|w| !dom.contains(*w)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("the rendered page lacks {missing:?}:\n{dom}").into())
    }
}

/// The text of the element with `id`, up to its first tag's end: enough
/// to find what the page put there.
fn element<'a>(dom: &'a str, id: &str) -> &'a str {
    dom.split_once(&format!("id=\"{id}\""))
        .map_or("", |(_, rest)| {
            rest.split_once("</").map_or(rest, |(e, _)| e)
        })
}

fn downgrade_in_english(chromium: &Path) -> Result<(), Failed> {
    let server = Server::start()?;
    let dom = browse(chromium, &server.url(DOWNGRADE), "playground.png")?;
    contains_all(
        &dom,
        &[
            "data-state=\"decided\"",
            // The example the fragment chose, and the bundle's status.
            "A reseller asks to move a tenant down from premium to standard with too many users",
            "2026-11-22.1",
            "embedded:demo",
            // The reason, in the bundle's default locale.
            "users is 120, over the `standard` limit of 50",
            "USAGE_EXCEEDS_TARGET_LIMIT",
            // The trace, rule by rule: the deciding rule and one that was not
            // evaluated.
            "<tr class=\"decisive\"><td>usage-within-target-limits</td><td>deny</td><td>matched</td>",
            "<td>upgrade-immediate</td><td>allow</td><td>not matched</td><td></td><td>not evaluated: a deny rule already matched</td>",
            // The same request as a grpcurl command, against this server.
            &format!(
                "localhost:{} tollgate.v1.DecisionService/DecidePlanChange",
                server.grpc
            ),
            "grpcurl -plaintext -d '{",
        ],
    )?;
    let outcome = element(&dom, "outcome");
    if !outcome.ends_with(">VERDICT_DENY") {
        return Err(format!("outcome: {outcome:?}").into());
    }
    Ok(())
}

fn downgrade_in_japanese(chromium: &Path) -> Result<(), Failed> {
    let server = Server::start()?;
    let url = server.url(&format!("{DOWNGRADE}&locale=ja"));
    let dom = browse(chromium, &url, "playground-ja.png")?;
    contains_all(
        &dom,
        &[
            "data-state=\"decided\"",
            "users は 120 で、`standard` プランの上限 50 を超えています",
            "locale ja",
            "\"locale\":\"ja\"",
        ],
    )
}

fn bad_json_in_the_browser(chromium: &Path) -> Result<(), Failed> {
    let server = Server::start()?;
    let url = server.url("kind=plan-change&body=%7B%22tenant_id%22%3A&submit");
    let dom = browse(chromium, &url, "playground-refused.png")?;
    contains_all(
        &dom,
        &[
            "data-state=\"refused\"",
            "Refused (HTTP 400)",
            "tollgate: `request body`: not a valid `tollgate.v1.PlanChangeRequest` in proto JSON: EOF while parsing a value at line 1 column 13",
        ],
    )
}

// --- over HTTP ------------------------------------------------------------

fn json(answer: &http::Answer) -> Result<serde_json::Value, Failed> {
    if answer.content_type != "application/json" {
        return Err(format!("content type {:?}: {}", answer.content_type, answer.body).into());
    }
    serde_json::from_str(&answer.body).map_err(|e| format!("{e}: {}", answer.body).into())
}

fn page_is_served(server: &Server) -> Result<(), Failed> {
    for (path, kind, piece) in [
        ("/ui", "text/html", "<script src=\"/ui/playground.js\""),
        ("/ui/playground.js", "text/javascript", "/ui/api/decide/"),
        ("/ui/playground.css", "text/css", "font"),
    ] {
        let answer = server.get(path)?;
        if answer.status != 200
            || !answer.content_type.starts_with(kind)
            || !answer.body.contains(piece)
        {
            return Err(format!("{path}: {answer:?}").into());
        }
        // Nothing from a CDN: every URL the page names is its own.
        if answer.body.contains("https://") || answer.body.contains("http://") {
            return Err(format!("{path} names another origin").into());
        }
    }
    Ok(())
}

fn status_is_get_bundle_status(server: &Server) -> Result<(), Failed> {
    let page = json(&server.get("/ui/api/status")?)?;
    let grpc = server.runtime.block_on(async {
        let mut client = BundleServiceClient::new(support::connect(server.grpc).await);
        client
            .get_bundle_status(pb::GetBundleStatusRequest {})
            .await
            .map(tonic::Response::into_inner)
    })?;
    let bundle = &page["bundle"];
    for (field, want) in [
        ("name", grpc.name.as_str()),
        ("revision", grpc.revision.as_str()),
        ("digest", grpc.digest.as_str()),
        ("source", grpc.source.as_str()),
    ] {
        if bundle[field] != want {
            return Err(format!("{field}: {} != {want:?} in {page}", bundle[field]).into());
        }
    }
    if page["locales"] != serde_json::json!(["en", "ja"]) || page["defaultLocale"] != "en" {
        return Err(format!("locales: {page}").into());
    }
    let slugs: Vec<_> = page["kinds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| k["slug"].as_str().unwrap_or_default())
        .collect();
    if slugs != ["plan-change", "payment-link", "charge-funding"] {
        return Err(format!("kinds: {slugs:?}").into());
    }
    let grpc_address = format!("localhost:{}", server.grpc);
    if page["grpc"]["address"] != grpc_address.as_str() || page["grpc"]["plaintext"] != true {
        return Err(format!("grpc: {page}").into());
    }
    Ok(())
}

fn decision_matches_grpc(server: &Server) -> Result<(), Failed> {
    let body = r#"{"tenant_id": "t1", "from_plan": "premium", "to_plan": "standard",
        "requester": {"role": "REQUESTER_ROLE_RESELLER", "id": "reseller-7"},
        "usage": {"users": 120, "storage_gb": 20}, "period_usage": {"api_calls": 5000},
        "explain": true, "as_of": "2026-03-10T09:00:00Z"}"#;
    let decision = json(&server.post("/ui/api/decide/plan-change", body)?)?;
    let request: pb::PlanChangeRequest = pb::PlanChangeRequest {
        tenant_id: "t1".to_owned(),
        from_plan: "premium".to_owned(),
        to_plan: "standard".to_owned(),
        requester: Some(pb::Requester {
            role: pb::RequesterRole::Reseller.into(),
            id: "reseller-7".to_owned(),
        }),
        usage: [("users".to_owned(), 120.0), ("storage_gb".to_owned(), 20.0)].into(),
        period_usage: [("api_calls".to_owned(), 5000.0)].into(),
        explain: true,
        as_of: Some(prost_types::Timestamp {
            seconds: 1_773_133_200,
            nanos: 0,
        }),
        ..Default::default()
    };
    let grpc = server.runtime.block_on(async {
        let mut client = pb::decision_service_client::DecisionServiceClient::new(
            support::connect(server.grpc).await,
        );
        client
            .decide_plan_change(request)
            .await
            .map(tonic::Response::into_inner)
    })?;
    if decision["verdict"] != "VERDICT_DENY" {
        return Err(format!("verdict: {decision}").into());
    }
    let codes: Vec<_> = decision["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["code"].as_str(), r["message"].as_str()))
        .collect();
    let grpc_codes: Vec<_> = grpc
        .reasons
        .iter()
        .map(|r| (Some(r.code.as_str()), Some(r.message.as_str())))
        .collect();
    if codes != grpc_codes {
        return Err(format!("reasons {codes:?} != gRPC's {grpc_codes:?}").into());
    }
    let meta = grpc.meta.unwrap_or_default();
    let trace = decision["meta"]["trace"].as_array().map_or(0, Vec::len);
    if trace != meta.trace.len() || trace == 0 {
        return Err(format!("trace of {trace} rules, gRPC's {}", meta.trace.len()).into());
    }
    Ok(())
}

fn bad_json_is_refused_as_eval_refuses_it(server: &Server) -> Result<(), Failed> {
    let bad = r#"{"tenant_id": "t1", "from_plan": 7}"#;
    let answer = server.post("/ui/api/decide/plan-change", bad)?;
    if answer.status != 400 {
        return Err(format!("{answer:?}").into());
    }
    let error = json(&answer)?["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut eval = tollgate()
        .args(["eval", "--plan-change", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tollgate eval");
    eval.stdin
        .take()
        .expect("stdin")
        .write_all(bad.as_bytes())
        .expect("write the request");
    let out = eval.wait_with_output().expect("tollgate eval");
    let printed = String::from_utf8_lossy(&out.stderr);
    // The same message, naming where the request came from.
    let from_eval = printed.trim_end().replace("`-`", "`request body`");
    if error != from_eval || !error.contains("not a valid `tollgate.v1.PlanChangeRequest`") {
        return Err(format!("the playground says {error:?}, eval {from_eval:?}").into());
    }
    Ok(())
}

fn other_refusals(server: &Server) -> Result<(), Failed> {
    let invalid = server.post("/ui/api/decide/plan-change", "{}")?;
    let needs_billing = r#"{"tenant_id": "t1", "from_plan": "premium", "to_plan": "standard",
        "requester": {"role": "REQUESTER_ROLE_TENANT"}, "usage": {"users": 10, "storage_gb": 20},
        "period_usage": {"api_calls": 250000}}"#;
    let precondition = server.post("/ui/api/decide/plan-change", needs_billing)?;
    let large = format!("{{\"tenant_id\": \"{}\"}}", "x".repeat(70 * 1024));
    let too_large = server.post("/ui/api/decide/plan-change", &large)?;
    let unknown = server.post("/ui/api/decide/refund", "{}")?;
    let checks = [
        (&invalid, 400, "invalid request: tenant_id: is required"),
        (&precondition, 422, "failed precondition: "),
        (&too_large, 413, ""),
        (&unknown, 404, "no decision type `refund`"),
    ];
    for (answer, status, piece) in checks {
        if answer.status != status || !answer.body.contains(piece) {
            return Err(format!("want {status} with {piece:?}, got {answer:?}").into());
        }
    }
    // Deciding is all it does: the page's API has nothing that writes.
    let put = server
        .runtime
        .block_on(http::get(server.admin, "/ui/api/decide/plan-change"))?;
    if put.status != 405 {
        return Err(format!("GET on the decide endpoint: {put:?}").into());
    }
    Ok(())
}
