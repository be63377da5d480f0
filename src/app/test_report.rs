//! How `tollgate test` reports: lines for people, one JSON document, and
//! JUnit XML for CI systems. The same outcomes, three spellings.

use std::path::Path;

use anyhow::Context as _;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde_json::{Value, json};

use crate::{
    bundle::{BundleErrors, CompiledBundle},
    engine::{TestOutcome, TestReport, TraceStep},
};

/// The name of the JUnit test case that stands for the whole bundle when
/// it does not compile, so that a CI page shows the errors.
pub(super) const COMPILE_CASE: &str = "bundle compiles";

/// A line per test, the explain trace indented under each failure, and the
/// summary line.
pub(super) fn text(report: &TestReport) -> String {
    let mut out = String::new();
    for o in &report.outcomes {
        match &o.failure {
            None => out.push_str(&format!("ok    {}  ({})\n", o.name, o.location)),
            Some(why) => {
                out.push_str(&format!("FAIL  {}  ({}): {why}\n", o.name, o.location));
                for line in trace_lines(o) {
                    out.push_str(&format!("        {line}\n"));
                }
            }
        }
    }
    out.push_str(&format!(
        "{} passed, {} failed\n",
        report.passed(),
        report.failed()
    ));
    out
}

/// The explain trace of a failed test, one line per rule:
/// ``deny same-plan (plan_change.yaml:12): matched, decisive; condition `...` ``.
fn trace_lines(o: &TestOutcome) -> Vec<String> {
    if o.trace.is_empty() {
        return Vec::new();
    }
    let mut lines = vec!["trace:".to_owned()];
    lines.extend(o.trace.iter().map(|s| {
        let decisive = if s.rule.decisive { ", decisive" } else { "" };
        let condition = match &s.condition {
            // A rule skipped before its condition ran says only why.
            Some(c) if ran(s) => format!("; condition `{c}`"),
            _ => String::new(),
        };
        format!(
            "  {} {} ({}): {}{decisive}{condition}",
            s.rule.effect,
            s.rule.rule_id,
            s.location,
            s.verdict()
        )
    }));
    lines
}

/// Whether the rule's condition was evaluated (it matched, did not hold,
/// or failed), rather than skipped for scope or an earlier decision.
fn ran(step: &TraceStep) -> bool {
    step.rule.matched || step.rule.note.is_empty() || step.rule.decisive
}

/// The whole run as one JSON document (lowerCamelCase keys, as the proto3
/// JSON mapping and `tollgate eval` write them).
pub(super) fn json(bundle: &CompiledBundle, report: &TestReport) -> Value {
    let status = if report.failed() > 0 {
        "failed"
    } else if report.outcomes.is_empty() {
        "empty"
    } else {
        "passed"
    };
    json!({
        "status": status,
        "bundle": {
            "name": &*bundle.name,
            "revision": &*bundle.revision,
            "digest": &*bundle.digest,
        },
        "passed": report.passed(),
        "failed": report.failed(),
        "tests": report.outcomes.iter().map(test_json).collect::<Vec<_>>(),
    })
}

fn test_json(o: &TestOutcome) -> Value {
    let mut test = json!({
        "name": o.name,
        "location": o.location,
        "status": if o.failure.is_some() { "failed" } else { "passed" },
        "durationSeconds": o.duration.as_secs_f64(),
    });
    if let (Some(failure), Some(map)) = (&o.failure, test.as_object_mut()) {
        map.insert("failure".to_owned(), json!(failure));
        let trace: Vec<Value> = o
            .trace
            .iter()
            .map(|s| {
                json!({
                    "ruleId": s.rule.rule_id.to_string(),
                    "effect": s.rule.effect,
                    "location": s.location,
                    "condition": s.condition,
                    "matched": s.rule.matched,
                    "decisive": s.rule.decisive,
                    "result": s.verdict(),
                })
            })
            .collect();
        map.insert("trace".to_owned(), Value::Array(trace));
    }
    test
}

/// The document printed when the bundle does not compile: no test ran.
pub(super) fn invalid_json(errors: &BundleErrors) -> Value {
    json!({
        "status": "invalid",
        "passed": 0,
        "failed": 0,
        "errors": errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "tests": [],
    })
}

/// The run as JUnit XML: one `testsuite` named after the bundle, one
/// `testcase` per test (its class name the file it is written in), a
/// `failure` with the message and the explain trace for each failed one.
pub(super) fn junit(bundle: &CompiledBundle, report: &TestReport) -> Report {
    let mut suite = TestSuite::new(format!("{} ({})", bundle.name, bundle.revision));
    for o in &report.outcomes {
        let status = match &o.failure {
            None => TestCaseStatus::success(),
            Some(why) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(why.as_str())
                    .set_type("bundle test failed")
                    .set_description(format!(
                        "{}: {why}\n{}",
                        o.location,
                        trace_lines(o).join("\n")
                    ));
                status
            }
        };
        let mut case = TestCase::new(o.name.as_str(), status);
        let file = o
            .location
            .rsplit_once(':')
            .map_or(o.location.as_str(), |(f, _)| f);
        case.set_classname(file).set_time(o.duration);
        suite.add_test_case(case);
    }
    let mut junit = Report::new("tollgate test");
    junit.add_test_suite(suite);
    junit
}

/// The JUnit report of a bundle that does not compile: one errored test
/// case, [`COMPILE_CASE`], listing every problem.
pub(super) fn invalid_junit(source: &str, errors: &BundleErrors) -> Report {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    status
        .set_message(format!("{source}: {} problem(s)", errors.len()))
        .set_type("bundle invalid")
        .set_description(lines.join("\n"));
    let mut case = TestCase::new(COMPILE_CASE, status);
    case.set_classname(source);
    let mut suite = TestSuite::new(source);
    suite.add_test_case(case);
    let mut junit = Report::new("tollgate test");
    junit.add_test_suite(suite);
    junit
}

/// Writes `junit` to `path`.
pub(super) fn write_junit(path: &Path, junit: &Report) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("cannot write the JUnit report `{}`", path.display()))?;
    junit
        .serialize(std::io::BufWriter::new(file))
        .with_context(|| format!("cannot write the JUnit report `{}`", path.display()))
}
