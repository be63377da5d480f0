//! Decision cases as data: every `tests/cases/<decision>/<case>.yaml` is its
//! own named test (`plan_change/<case>`), evaluated through the library
//! against the embedded demo bundle, so one failure never hides the next.
//!
//! A case file:
//!
//! ```yaml
//! description: why the case matters
//! request:            # bundle-test field names (`plan_change` in the demo's tests)
//!   tenant_id: t1
//!   from_plan: premium
//!   to_plan: free
//!   requester: { role: RESELLER }
//!   usage: { users: 10 }
//!   as_of: "2026-03-10T09:00:00Z"   # required: cases never read the clock
//! want:
//!   verdict: DENY
//!   # timing: IMMEDIATE              # required on ALLOW, forbidden on DENY
//!   # effective_at: "..."            # required on ALLOW, forbidden on DENY
//!   reasons:                         # every reason, in order
//!     - USAGE_NOT_REPORTED           # a code alone, or
//!     - code: USAGE_EXCEEDS_TARGET_LIMIT
//!       rule: usage-within-target-limits        # optional
//!       message: "users is 10, over ..."        # optional, exact
//!       details: { metric: users, current: 10, limit: 3 }    # optional, exact
//! ```
//!
//! A request the deciding rule cannot be decided on (its timing needs a
//! billing date the request lacks: gRPC `FAILED_PRECONDITION`) wants no
//! decision, only what is missing:
//!
//! ```yaml
//! want:
//!   precondition:
//!     subject: billing.current_period_end    # the missing field
//!     rule: downgrade-over-quota             # optional
//!     description: "rule `downgrade-over-quota` takes effect ..."   # optional, exact
//! ```
//!
//! A malformed request (gRPC `INVALID_ARGUMENT`) wants the fields it is
//! refused for, in the order named: `want: { invalid: [billing.current_period_start] }`;
//! so does a request the bundle's declarations refuse (`usage["api_calls"]`,
//! a period metric sent as a stock).
//!
//! A decision case lists the reported metrics the catalogue does not declare
//! in `want.unknown_metrics` (none when absent).
//!
//! Payment cases (`payment_link/`, `charge_funding/`) take the request of a
//! bundle test (`payment_link:` / `charge_funding:` in the demo's
//! `payment_tests.yaml`), read by the bundle's own reader, and want every
//! action or step:
//!
//! ```yaml
//! description: why the case matters
//! request: { user_id: u1, merchant_id: ride-share, amount: { currency: JPY, amount_minor: 3000 },
//!            balance_minor: 2500, methods: [...], auto_charge: {...}, as_of: "..." }
//! want:
//!   outcome: APPROVE                     # LINK | REQUIRE_ACTION | DENY; APPROVE | DECLINE
//!   # required_actions: [ENABLE_AUTO_CHARGE]   # links: every action, in order (none if absent)
//!   steps:                               # funding: every step, in order (none if absent)
//!     - { source: AUTO_CHARGE, method_id: bank-1, amount_minor: 5000 }
//!     - { source: BALANCE, amount_minor: 3000 }   # method_id "" unless given
//!   currency: JPY                        # funding: required
//!   reasons: [AUTO_CHARGE_TOP_UP]        # as above
//! ```
//!
//! Every funding case is also checked for the funding arithmetic: the payment
//! steps sum to the charge, no step is zero or negative, a top-up comes first.

// Test code fails by panicking, helpers outside `#[test]` functions included
// (clippy.toml only exempts the functions themselves). An `allow`, not an
// `expect`: which of these a helper needs changes with every edit.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    sync::Arc,
};

use jiff::Timestamp;
use libtest_mimic::{Arguments, Failed, Trial};
use serde::{Deserialize, de::DeserializeOwned};
use tollgate::{
    bundle::{BundleFiles, CompiledBundle, TestRequest},
    domain::{
        BillingInput, ChargeFunding, ChargeFundingDecision, DecisionMeta, DetailKey,
        EffectiveTiming, FundingOutcome, FundingSource, FundingStep, LinkOutcome, PaymentLink,
        PaymentLinkDecision, PlanChange, PlanChangeDecision, PlanChangeInput, Reason,
        RequiredAction, Verdict, Violations,
    },
    engine::{self, DecideError},
    reload::BundleSource,
};

/// One plan-change case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanChangeCase {
    description: String,
    request: Request,
    want: Want,
}

/// A plan-change request, in the field names of the bundle tests.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Request {
    tenant_id: String,
    from_plan: String,
    to_plan: String,
    requester: Option<Requester>,
    usage: BTreeMap<String, f64>,
    period_usage: BTreeMap<String, f64>,
    billing: Billing,
    attributes: BTreeMap<String, String>,
    as_of: Option<Timestamp>,
    explain: bool,
    /// BCP 47 tag of the caller's language (`ja-JP`); the default locale when empty.
    locale: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Requester {
    role: Option<String>,
    id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Billing {
    current_period_start: Option<Timestamp>,
    current_period_end: Option<Timestamp>,
    commitment_end: Option<Timestamp>,
    anchor_day: u32,
    time_zone: String,
}

/// What the decision must be, or what the request lacks to be decided.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Want {
    verdict: Option<String>,
    timing: Option<String>,
    effective_at: Option<Timestamp>,
    /// Each a code, or a map read as a [`WantReason`] (read in two steps,
    /// as an untagged enum would only say that nothing matched).
    reasons: Option<Vec<serde_json::Value>>,
    /// No decision: a precondition failure.
    precondition: Option<WantPrecondition>,
    /// No decision: the request is refused, naming these fields in order.
    invalid: Option<Vec<String>>,
    /// The reported metrics the catalogue does not declare; none when absent.
    #[serde(default)]
    unknown_metrics: Vec<String>,
}

/// A precondition failure: the field the request lacks, and optionally
/// the rule that needs it and the exact description.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WantPrecondition {
    subject: String,
    rule: Option<String>,
    description: Option<String>,
}

/// A reason: its code, and whichever other parts the case checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WantReason {
    code: String,
    rule: Option<String>,
    message: Option<String>,
    /// Scalars, compared as the text the decision carries (`100`, `"0.5"`).
    details: Option<BTreeMap<String, serde_json::Value>>,
}

impl WantReason {
    fn parse(i: usize, value: &serde_json::Value) -> Result<Self, String> {
        let reason = match value {
            serde_json::Value::String(code) => Self {
                code: code.clone(),
                rule: None,
                message: None,
                details: None,
            },
            other => serde_json::from_value(other.clone())
                .map_err(|e| format!("want.reasons[{i}]: {e}"))?,
        };
        for (key, v) in reason.details.iter().flatten() {
            if v.is_array() || v.is_object() || v.is_null() {
                return Err(format!("want.reasons[{i}].details.{key}: not a scalar"));
            }
        }
        Ok(reason)
    }

    /// The details as text, when checked.
    fn details(&self) -> Option<BTreeMap<DetailKey, String>> {
        self.details.as_ref().map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (DetailKey::Owned(k.clone()), text)
                })
                .collect()
        })
    }
}

/// One payment-link case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentLinkCase {
    description: String,
    /// A bundle test's `payment_link:` request, read by [`bundle_request`].
    request: serde_json::Value,
    want: LinkWant,
}

/// What a link decision must be.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkWant {
    outcome: String,
    /// Every action, in order; none when absent.
    #[serde(default)]
    required_actions: Vec<String>,
    reasons: Vec<serde_json::Value>,
}

/// One charge-funding case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChargeFundingCase {
    description: String,
    /// A bundle test's `charge_funding:` request, read by [`bundle_request`].
    request: serde_json::Value,
    want: FundingWant,
}

/// What a funding decision must be.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FundingWant {
    outcome: String,
    /// Every step, in order; none when absent.
    #[serde(default)]
    steps: Vec<WantStep>,
    currency: String,
    reasons: Vec<serde_json::Value>,
}

/// A funding step, as the bundle tests write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WantStep {
    source: String,
    #[serde(default)]
    method_id: String,
    amount_minor: i64,
}

impl Request {
    fn into_input(self) -> PlanChangeInput {
        let requester = self.requester.unwrap_or_default();
        PlanChangeInput {
            tenant_id: self.tenant_id,
            from_plan: self.from_plan,
            to_plan: self.to_plan,
            requester_role: requester.role.into(),
            requester_id: requester.id,
            usage: self.usage,
            period_usage: self.period_usage,
            billing: BillingInput {
                current_period_start: self.billing.current_period_start,
                current_period_end: self.billing.current_period_end,
                commitment_end: self.billing.commitment_end,
                anchor_day: self.billing.anchor_day,
                time_zone: self.billing.time_zone,
            },
            attributes: self.attributes,
            as_of: self.as_of,
            explain: self.explain,
            locale: self.locale,
            accept_language: Default::default(),
        }
    }
}

fn main() {
    let args = Arguments::from_args();
    let bundle = Arc::new(demo_bundle());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut trials = Vec::new();
    for (decision, path) in case_files(&root) {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = format!("{decision}/{stem}");
        let bundle = bundle.clone();
        trials.push(Trial::test(name, move || match decision.as_str() {
            "plan_change" => plan_change_case(&bundle, &path),
            "payment_link" => payment_link_case(&bundle, &path),
            "charge_funding" => charge_funding_case(&bundle, &path),
            other => Err(format!("no harness for decision type `{other}`").into()),
        }));
    }
    if trials.is_empty() {
        eprintln!("no case files under {}", root.display());
        std::process::exit(1);
    }
    libtest_mimic::run(&args, trials).exit();
}

fn demo_bundle() -> CompiledBundle {
    let compiled = match BundleSource::Embedded.read() {
        Ok(files) => tollgate::bundle::compile(&files).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match compiled {
        Ok(bundle) => bundle,
        Err(errors) => {
            eprintln!("the embedded demo bundle does not compile:\n{errors}");
            std::process::exit(1);
        }
    }
}

/// `(decision type, file)` for every `<root>/<decision>/*.yaml`, sorted.
fn case_files(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let dirs = fs::read_dir(root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    for dir in dirs.map(|d| d.expect("list tests/cases").path()) {
        if !dir.is_dir() {
            continue;
        }
        let decision = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for file in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = file.expect("list a cases folder").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                out.push((decision.clone(), path));
            }
        }
    }
    out.sort();
    out
}

/// Reads a case file of type `T`.
fn read_case<T: DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn nonempty(description: &str) -> Result<(), Failed> {
    if description.trim().is_empty() {
        return Err("`description` is empty".into());
    }
    Ok(())
}

fn want_reasons(reasons: &[serde_json::Value]) -> Result<Vec<WantReason>, String> {
    reasons
        .iter()
        .enumerate()
        .map(|(i, r)| WantReason::parse(i, r))
        .collect()
}

/// Compares every reason, in order, with what the case wants.
fn check_reasons(want: &[WantReason], got: &[Reason], problems: &mut Vec<String>) {
    let codes_want: Vec<&str> = want.iter().map(|r| r.code.as_str()).collect();
    let codes_got: Vec<&str> = got.iter().map(|r| r.code.as_str()).collect();
    if codes_want != codes_got {
        problems.push(format!("reasons: want [{}]", codes_want.join(", ")));
        return;
    }
    for (i, (w, got)) in want.iter().zip(got).enumerate() {
        let rule = got.rule_id.as_ref().map(|r| r.as_str());
        if w.rule.is_some() && w.rule.as_deref() != rule {
            problems.push(format!("reasons[{i}].rule: want {:?}", w.rule));
        }
        if w.message.as_ref().is_some_and(|m| *m != got.message) {
            problems.push(format!("reasons[{i}].message: want {:?}", w.message));
        }
        if let Some(details) = w.details()
            && details != got.details
        {
            problems.push(format!("reasons[{i}].details: want {details:?}"));
        }
    }
}

/// The decision was made at the case's `as_of` by the demo bundle.
fn check_meta(
    meta: &DecisionMeta,
    bundle: &CompiledBundle,
    as_of: Timestamp,
    problems: &mut Vec<String>,
) {
    if meta.evaluated_at != as_of {
        problems.push(format!("meta.evaluated_at: want {as_of}"));
    }
    if meta.bundle_name != bundle.name || meta.bundle_revision != bundle.revision {
        problems.push("meta: names another bundle".to_owned());
    }
}

/// Passes, or fails with the case's description, what differs and the decision.
fn report(description: &str, problems: &[String], got: &str) -> Result<(), Failed> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n{}\ngot:\n{got}",
            description.trim(),
            problems.join("\n")
        )
        .into())
    }
}

fn plan_change_case(bundle: &CompiledBundle, path: &Path) -> Result<(), Failed> {
    let case: PlanChangeCase = read_case(path)?;
    nonempty(&case.description)?;
    let Some(as_of) = case.request.as_of else {
        return Err("`request.as_of` is required: a case must not depend on the clock".into());
    };
    let want = &case.want;
    let given = [
        ("verdict", want.verdict.is_some()),
        ("timing", want.timing.is_some()),
        ("effective_at", want.effective_at.is_some()),
        ("reasons", want.reasons.is_some()),
        ("unknown_metrics", !want.unknown_metrics.is_empty()),
    ];
    let decision_wanted = given.iter().find(|(_, g)| *g).map(|(key, _)| key);
    let parsed = PlanChange::parse(case.request.into_input(), Timestamp::UNIX_EPOCH);
    match (&want.invalid, &want.precondition, decision_wanted) {
        (Some(_), Some(_), _) => {
            return Err("want.invalid and want.precondition exclude each other".into());
        }
        (Some(_), None, Some(key)) | (None, Some(_), Some(key)) => {
            return Err(format!("a case that wants no decision has no want.{key}").into());
        }
        (Some(fields), None, None) => {
            // Refused by the request's own checks, or by the bundle's
            // declarations (a metric in the wrong map) when it decides.
            let refused = parsed.and_then(|req| match engine::decide_plan_change(bundle, &req) {
                Err(DecideError::Invalid(v)) => Err(v),
                _ => Ok(req),
            });
            return check_invalid(&case.description, fields, refused);
        }
        _ => {}
    }
    let req = parsed.map_err(|v| format!("invalid request: {v}"))?;
    let decided = engine::decide_plan_change(bundle, &req);
    if let Some(precondition) = &want.precondition {
        return check_precondition(&case.description, precondition, decided);
    }
    let Some(verdict) = &want.verdict else {
        return Err("want.verdict or want.precondition is required".into());
    };
    let verdict = match verdict.as_str() {
        "ALLOW" => Verdict::Allow,
        "DENY" => Verdict::Deny,
        other => return Err(format!("want.verdict `{other}` is not ALLOW or DENY").into()),
    };
    let timing = match &want.timing {
        None => None,
        Some(t) => Some(
            EffectiveTiming::parse(t)
                .ok_or_else(|| format!("want.timing `{t}` is not an effective timing"))?,
        ),
    };
    match verdict {
        Verdict::Allow if timing.is_none() || want.effective_at.is_none() => {
            return Err("an ALLOW case must give want.timing and want.effective_at".into());
        }
        Verdict::Deny if timing.is_some() || want.effective_at.is_some() => {
            return Err("a DENY case has no want.timing or want.effective_at".into());
        }
        _ => {}
    }

    let Some(reasons) = &want.reasons else {
        return Err("want.reasons is required: every reason, in order".into());
    };
    let want_reasons = want_reasons(reasons)?;
    let d = decided.map_err(|e| {
        format!(
            "{}\nwant verdict {}, got a precondition failure: {e}",
            case.description.trim(),
            verdict.as_str()
        )
    })?;

    let mut problems = Vec::new();
    if d.verdict != verdict {
        problems.push(format!("verdict: want {}", verdict.as_str()));
    }
    if d.timing != timing {
        problems.push(format!(
            "timing: want {}",
            want.timing.as_deref().unwrap_or("none")
        ));
    }
    if d.effective_at != want.effective_at {
        problems.push(format!(
            "effective_at: want {}",
            want.effective_at
                .map_or("none".to_owned(), |t| t.to_string())
        ));
    }
    if d.unknown_metrics != want.unknown_metrics {
        problems.push(format!(
            "unknown_metrics: want [{}]",
            want.unknown_metrics.join(", ")
        ));
    }
    check_meta(&d.meta, bundle, as_of, &mut problems);
    check_reasons(&want_reasons, &d.reasons, &mut problems);
    report(&case.description, &problems, &describe(&d))
}

/// Compares a refused request's fields with what the case wants; a valid
/// request fails the case.
fn check_invalid(
    description: &str,
    want: &[String],
    parsed: Result<PlanChange, Violations>,
) -> Result<(), Failed> {
    let Err(violations) = parsed else {
        let problems = [format!(
            "want the request refused for [{}]",
            want.join(", ")
        )];
        return report(description, &problems, "  a valid request\n");
    };
    let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    let problems = if fields == want {
        Vec::new()
    } else {
        vec![format!("invalid: want [{}]", want.join(", "))]
    };
    report(
        description,
        &problems,
        &format!("  invalid request: {violations}\n"),
    )
}

/// Compares a precondition failure with what the case wants; a decision
/// fails the case.
fn check_precondition(
    description: &str,
    want: &WantPrecondition,
    decided: Result<PlanChangeDecision, DecideError>,
) -> Result<(), Failed> {
    let e = match decided {
        Err(e) => e,
        Ok(d) => {
            let problems = [format!(
                "want a precondition failure for `{}`, got a decision",
                want.subject
            )];
            return report(description, &problems, &describe(&d));
        }
    };
    let DecideError::MissingFact {
        subject,
        rule,
        description: text,
    } = &e
    else {
        let problems = [format!(
            "want a precondition failure for `{}`",
            want.subject
        )];
        return report(
            description,
            &problems,
            &format!(
                "  {e}
"
            ),
        );
    };
    let mut problems = Vec::new();
    if *subject != want.subject {
        problems.push(format!("precondition.subject: want {}", want.subject));
    }
    if e.kind() != "MISSING_BILLING_FACT" {
        problems.push(format!("precondition type {}", e.kind()));
    }
    if want.rule.as_ref().is_some_and(|r| r != rule.as_str()) {
        problems.push(format!("precondition.rule: want {:?}", want.rule));
    }
    if want.description.as_ref().is_some_and(|d| d != text) {
        problems.push(format!(
            "precondition.description: want {:?}",
            want.description
        ));
    }
    report(
        description,
        &problems,
        &format!("  precondition failure: {e}\n"),
    )
}

/// Reads a payment case's `request` exactly as the bundle reads a test's
/// `payment_link:` or `charge_funding:` request (`kind`): the bundle's
/// reader is not exported (`bundle::schema` and `bundle::payment` are
/// private), so the request goes through the public `bundle::compile` as
/// the one test of a bundle of its own. A request the bundle would refuse
/// (an unknown field, an invalid value) fails the case with the bundle's
/// message.
fn bundle_request(kind: &str, request: &serde_json::Value) -> Result<TestRequest, String> {
    let outcome = if kind == "payment_link" {
        "LINK"
    } else {
        "APPROVE"
    };
    let mut test = serde_json::Map::new();
    test.insert("name".to_owned(), "case".into());
    test.insert(kind.to_owned(), request.clone());
    test.insert("want".to_owned(), serde_json::json!({ "outcome": outcome }));
    let doc = serde_json::json!({ "tests": [test] });
    let mut files = BundleFiles::default();
    files.insert("bundle.yaml", b"name: cases\nrevision: \"0\"\n".to_vec());
    // JSON is YAML too.
    files.insert("request.yaml", doc.to_string().into_bytes());
    let mut compiled =
        tollgate::bundle::compile(&files).map_err(|e| format!("`request` is refused:\n{e}"))?;
    match compiled.tests.pop() {
        Some(test) if compiled.tests.is_empty() => Ok(test.request),
        _ => Err("`request` did not make one bundle test".to_owned()),
    }
}

fn payment_link_case(bundle: &CompiledBundle, path: &Path) -> Result<(), Failed> {
    let case: PaymentLinkCase = read_case(path)?;
    nonempty(&case.description)?;
    let TestRequest::PaymentLink(input) = bundle_request("payment_link", &case.request)? else {
        return Err("`request` is not a link request".into());
    };
    let Some(as_of) = input.wallet.as_of else {
        return Err("`request.as_of` is required: a case must not depend on the clock".into());
    };
    let want = &case.want;
    let outcome = LinkOutcome::parse(&want.outcome)
        .ok_or_else(|| format!("want.outcome `{}` is not a link outcome", want.outcome))?;
    let actions = want
        .required_actions
        .iter()
        .map(|a| RequiredAction::parse(a).ok_or_else(|| format!("`{a}` is not a required action")))
        .collect::<Result<Vec<_>, _>>()?;
    let want_reasons = want_reasons(&want.reasons)?;

    let req = PaymentLink::parse(input, Timestamp::UNIX_EPOCH)
        .map_err(|v| format!("invalid request: {v}"))?;
    let d = engine::decide_payment_link(bundle, &req);

    let mut problems = Vec::new();
    if d.outcome != outcome {
        problems.push(format!("outcome: want {}", want.outcome));
    }
    if d.required_actions != actions {
        problems.push(format!(
            "required_actions: want [{}]",
            want.required_actions.join(", ")
        ));
    }
    check_meta(&d.meta, bundle, as_of, &mut problems);
    check_reasons(&want_reasons, &d.reasons, &mut problems);
    report(&case.description, &problems, &describe_link(&d))
}

fn charge_funding_case(bundle: &CompiledBundle, path: &Path) -> Result<(), Failed> {
    let case: ChargeFundingCase = read_case(path)?;
    nonempty(&case.description)?;
    let TestRequest::ChargeFunding(input) = bundle_request("charge_funding", &case.request)? else {
        return Err("`request` is not a funding request".into());
    };
    let Some(as_of) = input.wallet.as_of else {
        return Err("`request.as_of` is required: a case must not depend on the clock".into());
    };
    let want = &case.want;
    let outcome = FundingOutcome::parse(&want.outcome)
        .ok_or_else(|| format!("want.outcome `{}` is not a funding outcome", want.outcome))?;
    let steps = want
        .steps
        .iter()
        .map(|s| {
            let source = FundingSource::parse(&s.source)
                .ok_or_else(|| format!("`{}` is not a funding source", s.source))?;
            Ok(FundingStep {
                source,
                method_id: s.method_id.clone(),
                amount_minor: s.amount_minor,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let want_reasons = want_reasons(&want.reasons)?;

    let req = ChargeFunding::parse(input, Timestamp::UNIX_EPOCH)
        .map_err(|v| format!("invalid request: {v}"))?;
    let d = engine::decide_charge_funding(bundle, &req);

    let mut problems = Vec::new();
    if d.outcome != outcome {
        problems.push(format!("outcome: want {}", want.outcome));
    }
    if d.steps != steps {
        problems.push(format!("steps: want [{}]", steps_text(&steps)));
    }
    if d.currency.as_str() != want.currency {
        problems.push(format!("currency: want {}", want.currency));
    }
    problems.extend(arithmetic_problems(&d, req.amount.minor()));
    check_meta(&d.meta, bundle, as_of, &mut problems);
    check_reasons(&want_reasons, &d.reasons, &mut problems);
    report(&case.description, &problems, &describe_funding(&d))
}

/// Where a funding decision breaks the funding arithmetic, if anywhere.
fn arithmetic_problems(d: &ChargeFundingDecision, amount: i64) -> Vec<String> {
    let mut problems = Vec::new();
    match d.outcome {
        FundingOutcome::Decline if !d.steps.is_empty() => {
            problems.push("a DECLINE with steps".to_owned());
        }
        FundingOutcome::Decline => {}
        FundingOutcome::Approve => {
            let paid: i128 = d
                .steps
                .iter()
                .filter(|s| s.source.is_payment())
                .map(|s| i128::from(s.amount_minor))
                .sum();
            if paid != i128::from(amount) {
                problems.push(format!("the payment steps sum to {paid}, not {amount}"));
            }
            if d.steps.iter().any(|s| s.amount_minor <= 0) {
                problems.push("a step is zero or negative".to_owned());
            }
            let top_ups: Vec<usize> = (0..d.steps.len())
                .filter(|&i| d.steps[i].source == FundingSource::AutoCharge)
                .collect();
            if !(top_ups.is_empty() || top_ups == [0]) {
                problems.push(format!("top-ups at steps {top_ups:?}, not first"));
            }
        }
    }
    problems
}

fn steps_text(steps: &[FundingStep]) -> String {
    steps
        .iter()
        .map(|s| format!("{} {:?} {}", s.source.as_str(), s.method_id, s.amount_minor))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_reasons(out: &mut String, reasons: &[Reason]) {
    out.push_str("  reasons:\n");
    for r in reasons {
        let rule = r.rule_id.as_ref().map_or("", |r| r.as_str());
        let _ = writeln!(
            out,
            "    - {} (rule {rule:?}): {:?} {:?}",
            r.code, r.message, r.details
        );
    }
}

/// A link decision as the failure message shows it.
fn describe_link(d: &PaymentLinkDecision) -> String {
    let actions: Vec<&str> = d.required_actions.iter().map(|a| a.as_str()).collect();
    let mut out = format!(
        "  outcome: {}\n  required_actions: [{}]\n",
        d.outcome.as_str(),
        actions.join(", ")
    );
    describe_reasons(&mut out, &d.reasons);
    out
}

/// A funding decision as the failure message shows it.
fn describe_funding(d: &ChargeFundingDecision) -> String {
    let mut out = format!(
        "  outcome: {}\n  steps: [{}]\n  currency: {}\n",
        d.outcome.as_str(),
        steps_text(&d.steps),
        d.currency
    );
    describe_reasons(&mut out, &d.reasons);
    out
}

/// A decision as the failure message shows it.
fn describe(d: &PlanChangeDecision) -> String {
    let mut out = format!(
        "  verdict: {}\n  timing: {}\n  effective_at: {}\n",
        d.verdict.as_str(),
        d.timing.map_or("none", |t| t.as_str()),
        d.effective_at.map_or("none".to_owned(), |t| t.to_string()),
    );
    let _ = writeln!(out, "  unknown_metrics: {:?}", d.unknown_metrics);
    describe_reasons(&mut out, &d.reasons);
    out
}
