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
use serde::Deserialize;
use tollgate::{
    bundle::CompiledBundle,
    domain::{
        BillingInput, EffectiveTiming, PlanChange, PlanChangeDecision, PlanChangeInput, Verdict,
    },
    engine,
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

/// What the decision must be.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Want {
    verdict: String,
    timing: Option<String>,
    effective_at: Option<Timestamp>,
    /// Each a code, or a map read as a [`WantReason`] (read in two steps,
    /// as an untagged enum would only say that nothing matched).
    reasons: Vec<serde_json::Value>,
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
    fn details(&self) -> Option<BTreeMap<String, String>> {
        self.details.as_ref().map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k.clone(), text)
                })
                .collect()
        })
    }
}

impl Request {
    fn into_input(self) -> PlanChangeInput {
        let requester = self.requester.unwrap_or_default();
        PlanChangeInput {
            tenant_id: self.tenant_id,
            from_plan: self.from_plan,
            to_plan: self.to_plan,
            requester_role: requester.role,
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
    match BundleSource::Embedded
        .read()
        .and_then(|files| tollgate::bundle::compile(&files))
    {
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

fn plan_change_case(bundle: &CompiledBundle, path: &Path) -> Result<(), Failed> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let case: PlanChangeCase =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if case.description.trim().is_empty() {
        return Err("`description` is empty".into());
    }
    let Some(as_of) = case.request.as_of else {
        return Err("`request.as_of` is required: a case must not depend on the clock".into());
    };
    let want = &case.want;
    let verdict = match want.verdict.as_str() {
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

    let want_reasons = want
        .reasons
        .iter()
        .enumerate()
        .map(|(i, r)| WantReason::parse(i, r))
        .collect::<Result<Vec<_>, _>>()?;

    let req = PlanChange::parse(case.request.into_input(), Timestamp::UNIX_EPOCH)
        .map_err(|v| format!("invalid request: {v}"))?;
    let d = engine::decide_plan_change(bundle, &req);

    let mut problems = Vec::new();
    if d.verdict != verdict {
        problems.push(format!("verdict: want {}", want.verdict));
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
    if d.meta.evaluated_at != as_of {
        problems.push(format!("meta.evaluated_at: want {as_of}"));
    }
    if d.meta.bundle_name != bundle.name || d.meta.bundle_revision != bundle.revision {
        problems.push("meta: names another bundle".to_owned());
    }
    let codes_want: Vec<&str> = want_reasons.iter().map(|r| r.code.as_str()).collect();
    let codes_got: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
    if codes_want != codes_got {
        problems.push(format!("reasons: want [{}]", codes_want.join(", ")));
    } else {
        for (i, (w, got)) in want_reasons.iter().zip(&d.reasons).enumerate() {
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
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n{}\ngot:\n{}",
            case.description.trim(),
            problems.join("\n"),
            describe(&d)
        )
        .into())
    }
}

/// A decision as the failure message shows it.
fn describe(d: &PlanChangeDecision) -> String {
    let mut out = format!(
        "  verdict: {}\n  timing: {}\n  effective_at: {}\n  reasons:\n",
        d.verdict.as_str(),
        d.timing.map_or("none", |t| t.as_str()),
        d.effective_at.map_or("none".to_owned(), |t| t.to_string()),
    );
    for r in &d.reasons {
        let rule = r.rule_id.as_ref().map_or("", |r| r.as_str());
        let _ = writeln!(
            out,
            "    - {} (rule {rule:?}): {:?} {:?}",
            r.code, r.message, r.details
        );
    }
    out
}
