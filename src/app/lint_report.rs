//! `tollgate lint`: the findings as lines for people or one JSON document
//! (camelCase keys), and the exit code; `tollgate check` fails on the
//! deny-level ones.

use serde_json::json;

use super::{Exit, tools};
use crate::{
    bundle::{CompiledBundle, Severity},
    config::{self, LintArgs, TestFormat},
    engine::lint::{self, Finding, LintReport},
};

/// The deny-level findings of `bundle`, each printed as an error line.
pub(super) fn denied(bundle: &CompiledBundle) -> usize {
    let report = lint::lint(bundle, jiff::Timestamp::now());
    for f in report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Deny)
    {
        eprintln!("{}", line(f));
    }
    report.denied()
}

fn line(f: &Finding) -> String {
    format!(
        "{}: {} [{}]: {}",
        f.location(),
        f.severity.as_str(),
        f.check,
        f.message
    )
}

/// Runs `tollgate lint`.
pub(super) fn lint(args: &LintArgs) -> Exit {
    let source = config::source(args.path.as_ref());
    let Some(bundle) = tools::compile_or_report(&source) else {
        return Exit::Invalid;
    };
    let report = lint::lint(&bundle, jiff::Timestamp::now());
    match args.format {
        TestFormat::Text => print!("{}", text(&report)),
        TestFormat::Json => println!("{:#}", json(&bundle, &report)),
    }
    if report.denied() > 0 {
        Exit::Failed
    } else {
        Exit::Ok
    }
}

fn text(report: &LintReport) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&line(f));
        out.push_str(&format!("\n    why: {}\n", f.why()));
    }
    let gaps = report.gaps.iter().filter(|g| g.outcome.gap()).count();
    out.push_str(&format!(
        "plan-change gaps: {gaps} of {} plan pairs x requester roles have requests that reach only NO_MATCHING_RULE (a generated corpus of {} boundary requests, not a proof)\n",
        report.gaps.len(),
        report.corpus
    ));
    out.push_str(&format!(
        "payment outcomes reached (a generated corpus of {} link and charge requests, not a proof):\n",
        report.payment_corpus
    ));
    for p in &report.payments {
        let outcomes: Vec<&str> = p.reached.outcomes.keys().copied().collect();
        let gap = if p.reached.gap() {
            " + NO_MATCHING_RULE (gap)"
        } else {
            ""
        };
        out.push_str(&format!(
            "  {}: merchant `{}`: {}: {}{gap}\n",
            p.location(),
            p.merchant,
            p.decision.label(),
            outcomes.join(", ")
        ));
    }
    let gaps = report.payments.iter().filter(|p| p.reached.gap()).count();
    out.push_str(&format!(
        "payment gaps: {gaps} of {} merchants x payment decisions have requests that reach only NO_MATCHING_RULE\n",
        report.payments.len()
    ));
    if report.undecided > 0 {
        out.push_str(&format!(
            "reachability unknown for {} rule(s): conditions beyond comparisons of one fact with constants are not decided\n",
            report.undecided
        ));
    }
    let warnings = report.findings.len() - report.denied();
    out.push_str(&format!(
        "{} finding(s): {} deny, {warnings} warn\n",
        report.findings.len(),
        report.denied()
    ));
    out
}

fn json(bundle: &CompiledBundle, report: &LintReport) -> serde_json::Value {
    json!({
        "bundle": { "name": &*bundle.name, "revision": &*bundle.revision, "digest": &*bundle.digest },
        "status": if report.denied() > 0 { "denied" } else { "passed" },
        "findings": report.findings.iter().map(|f| json!({
            "check": f.check,
            "severity": f.severity.as_str(),
            "location": f.location(),
            "file": f.file,
            "line": f.line,
            "message": f.message,
            "why": f.why(),
        })).collect::<Vec<_>>(),
        "denyCount": report.denied(),
        "warnCount": report.findings.len() - report.denied(),
        "undecidedRules": report.undecided,
        "corpusRequests": report.corpus,
        "planChangeGaps": report.gaps.iter().map(|g| json!({
            "fromPlan": g.from,
            "toPlan": g.to,
            "requesterRole": g.role,
            "allowTimings": g.outcome.allows,
            "denyCodes": g.outcome.denies,
            "noMatchingRule": g.outcome.no_match,
            "gap": g.outcome.gap(),
        })).collect::<Vec<_>>(),
        "paymentCorpusRequests": report.payment_corpus,
        "paymentGaps": report.payments.iter().map(|p| json!({
            "decision": p.decision.label(),
            "merchant": p.merchant,
            "location": p.location(),
            "file": p.file,
            "line": p.line,
            "outcomes": p.reached.outcomes,
            "noMatchingRule": p.reached.no_match,
            "example": p.reached.example,
            "requests": p.reached.requests,
            "gap": p.reached.gap(),
        })).collect::<Vec<_>>(),
    })
}
