//! `tollgate test` as a CI job runs it: `--filter`, the explain trace of a
//! failure, `--format json`, `--junit FILE` read back by a JUnit parser
//! (the `junit-parser` crate, not the one that wrote it), and the exit
//! codes 0 (passed), 1 (a test failed) and 2 (the bundle is invalid).

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{fs, path::Path};

use serde_json::Value;
use support::{Run, copy_demo, demo_rule_line, edit, path_str, run};

/// A copy of the demo bundle in which `same plan is denied` expects an
/// allow, so it fails (its request is denied by `same-plan`).
fn bundle_with_one_failure() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    edit(
        &tmp.path().join("plan_change_tests.yaml"),
        "want: { verdict: DENY, reasons: [SAME_PLAN] }",
        "want: { verdict: ALLOW, timing: IMMEDIATE }",
    );
    tmp
}

/// A copy of the demo bundle that does not parse.
fn broken_bundle() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    edit(
        &tmp.path().join("plan_change.yaml"),
        "  - id: same-plan\n",
        "  - id: same-plan\n    colour: blue\n",
    );
    tmp
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {run}"))
}

fn junit_of(path: &Path) -> junit_parser::TestSuites {
    let file = fs::File::open(path).expect("the JUnit file was written");
    junit_parser::from_reader(std::io::BufReader::new(file)).expect("a valid JUnit file")
}

#[test]
fn filter_runs_only_the_tests_whose_name_contains_the_pattern() {
    let all = run(&["test"]);
    assert_eq!(all.code, Some(0), "{all}");
    let want: Vec<&str> = all
        .stdout
        .lines()
        .filter(|l| l.starts_with("ok    ") && l.contains("is denied"))
        .collect();
    assert!(want.len() >= 3, "{all}");

    let out = run(&["test", "--filter", "is denied"]);
    assert_eq!(out.code, Some(0), "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let (summary, tests) = lines.split_last().expect("output");
    assert_eq!(tests, want.as_slice(), "{out}");
    assert_eq!(
        *summary,
        format!("{} passed, 0 failed", want.len()),
        "{out}"
    );
}

#[test]
fn filter_is_a_substring_not_a_glob() {
    let out = run(&["test", "--filter", "same*denied"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr
            .contains("tollgate: no test name contains `same*denied`"),
        "{out}"
    );
    assert!(out.stdout.ends_with("0 passed, 0 failed\n"), "{out}");
    let out = run(&["test", "--filter", "same*denied", "--format", "json"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(json_of(&out)["status"], "empty", "{out}");
    let help = run(&["test", "--help"]);
    assert!(help.stdout.contains("substring"), "{help}");
}

#[test]
fn a_failed_test_prints_the_trace_of_every_rule_on_its_request() {
    let tmp = bundle_with_one_failure();
    let out = run(&["test", path_str(tmp.path())]);
    assert_eq!(out.code, Some(1), "{out}");
    let text = &out.stdout;
    let fail = "FAIL  same plan is denied  (plan_change_tests.yaml:4): \
                want verdict ALLOW, got DENY [SAME_PLAN]\n        trace:\n";
    assert!(text.contains(fail), "{out}");
    for line in [
        // The rule that decided, and the condition that held.
        "          deny same-plan (plan_change.yaml:7): matched, decisive; \
         condition `change.same_plan`\n",
        // A rule whose condition was tested and did not hold.
        "          deny unknown-source-plan (plan_change.yaml:16): condition false; \
         condition `!source.known`\n",
        // A rule never reached, and why (no condition shown).
        &format!(
            "          allow upgrade-immediate (plan_change.yaml:{}): \
             not evaluated: a deny rule already matched\n",
            demo_rule_line("upgrade-immediate")
        ),
    ] {
        assert!(text.contains(line), "`{line}` in\n{out}");
    }
    // A passing test has no trace.
    let after_ok = text
        .lines()
        .skip_while(|l| !l.starts_with("ok    "))
        .nth(1)
        .expect("a line after the first passing test");
    assert!(
        after_ok.starts_with("ok    ") || after_ok.starts_with("FAIL  "),
        "{out}"
    );
}

#[test]
fn json_format_is_one_document_with_status_duration_failure_and_trace() {
    let tmp = bundle_with_one_failure();
    let out = run(&["test", path_str(tmp.path()), "--format", "json"]);
    assert_eq!(out.code, Some(1), "{out}");
    let doc = json_of(&out);
    assert_eq!(doc["status"], "failed", "{out}");
    assert_eq!(doc["bundle"]["name"], "demo", "{out}");
    assert_eq!(doc["failed"], 1, "{out}");
    let tests = doc["tests"].as_array().expect("tests is a list");
    assert_eq!(
        doc["passed"].as_u64(),
        Some(tests.len() as u64 - 1),
        "{out}"
    );
    for t in tests {
        assert!(
            t["durationSeconds"].as_f64().expect("a number") >= 0.0,
            "{t}"
        );
        assert!(t["name"].is_string() && t["location"].is_string(), "{t}");
    }
    let failed: Vec<&Value> = tests.iter().filter(|t| t["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{out}");
    let failed = failed[0];
    assert_eq!(failed["name"], "same plan is denied");
    assert_eq!(failed["location"], "plan_change_tests.yaml:4");
    assert_eq!(
        failed["failure"],
        "want verdict ALLOW, got DENY [SAME_PLAN]"
    );
    let trace = failed["trace"].as_array().expect("trace is a list");
    let same_plan = trace
        .iter()
        .find(|s| s["ruleId"] == "same-plan")
        .expect("same-plan in the trace");
    assert_eq!(same_plan["matched"], true);
    assert_eq!(same_plan["decisive"], true);
    assert_eq!(same_plan["condition"], "change.same_plan");
    assert_eq!(same_plan["location"], "plan_change.yaml:7");
    assert_eq!(same_plan["result"], "matched");
    let unknown = trace
        .iter()
        .find(|s| s["ruleId"] == "unknown-source-plan")
        .expect("unknown-source-plan in the trace");
    assert_eq!(unknown["matched"], false);
    assert_eq!(unknown["result"], "condition false");
    assert!(
        tests
            .iter()
            .filter(|t| t["status"] == "passed")
            .all(|t| t.get("trace").is_none() && t.get("failure").is_none()),
        "{out}"
    );
}

#[test]
fn junit_file_reads_back_in_a_junit_parser() {
    let tmp = bundle_with_one_failure();
    let junit = tmp.path().join("report.xml");
    let out = run(&["test", path_str(tmp.path()), "--junit", path_str(&junit)]);
    assert_eq!(out.code, Some(1), "{out}");
    let report = junit_of(&junit);
    let summary = out.stdout.lines().last().expect("summary");
    let passed: u64 = summary
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("N passed");
    assert_eq!(report.tests, passed + 1, "{out}");
    assert_eq!(report.failures, 1);
    assert_eq!(report.errors, 0);
    let [suite] = report.suites.as_slice() else {
        panic!("one suite, got {}", report.suites.len());
    };
    assert!(suite.name.starts_with("demo ("), "{}", suite.name);
    assert_eq!(suite.cases.len() as u64, passed + 1);
    let failed: Vec<_> = suite
        .cases
        .iter()
        .filter(|c| c.status.is_failure())
        .collect();
    let [failed] = failed.as_slice() else {
        panic!("one failed case");
    };
    assert_eq!(failed.original_name, "same plan is denied");
    assert_eq!(failed.classname.as_deref(), Some("plan_change_tests.yaml"));
    let failure = failed.status.failure_as_ref();
    assert_eq!(failure.message, "want verdict ALLOW, got DENY [SAME_PLAN]");
    assert!(
        failure
            .text
            .contains("deny same-plan (plan_change.yaml:7): matched, decisive"),
        "{}",
        failure.text
    );
    assert!(
        suite
            .cases
            .iter()
            .filter(|c| c.original_name != "same plan is denied")
            .all(|c| c.status.is_success()),
        "every other test passed"
    );
}

#[test]
fn junit_of_a_filtered_passing_run_has_only_the_selected_tests() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let junit = tmp.path().join("report.xml");
    let out = run(&[
        "test",
        "bundles/demo",
        "--filter",
        "unknown",
        "--junit",
        path_str(&junit),
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    let report = junit_of(&junit);
    assert_eq!(report.failures, 0);
    let names: Vec<&str> = report.suites[0]
        .cases
        .iter()
        .map(|c| c.original_name.as_str())
        .collect();
    assert!(names.len() >= 3, "{names:?}");
    assert!(names.iter().all(|n| n.contains("unknown")), "{names:?}");
}

#[test]
fn an_invalid_bundle_exits_2_in_every_format_and_the_junit_file_says_why() {
    let tmp = broken_bundle();
    let dir = path_str(tmp.path());
    let out = run(&["test", dir]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("plan_change.yaml:"), "{out}");
    assert!(out.stderr.contains("colour"), "{out}");

    let out = run(&["test", dir, "--format", "json"]);
    assert_eq!(out.code, Some(2), "{out}");
    let doc = json_of(&out);
    assert_eq!(doc["status"], "invalid", "{out}");
    let errors = doc["errors"].as_array().expect("errors is a list");
    assert!(
        errors
            .iter()
            .any(|e| e.as_str().is_some_and(|e| e.contains("colour"))),
        "{out}"
    );

    let junit = tmp.path().join("report.xml");
    let out = run(&["test", dir, "--junit", path_str(&junit)]);
    assert_eq!(out.code, Some(2), "{out}");
    let report = junit_of(&junit);
    assert_eq!((report.tests, report.errors), (1, 1));
    let case = &report.suites[0].cases[0];
    assert_eq!(case.original_name, "bundle compiles");
    assert!(case.status.is_error());
    assert!(
        case.status.error_as_ref().text.contains("colour"),
        "{}",
        case.status.error_as_ref().text
    );
}

#[test]
fn a_failing_bundle_test_is_exit_1_not_2_and_a_passing_run_is_0() {
    let tmp = bundle_with_one_failure();
    assert_eq!(run(&["test", path_str(tmp.path())]).code, Some(1));
    assert_eq!(run(&["test", "bundles/demo"]).code, Some(0));
    // `check` keeps its one failure code for either.
    assert_eq!(run(&["check", path_str(tmp.path())]).code, Some(1));
    assert_eq!(
        run(&["check", path_str(broken_bundle().path())]).code,
        Some(1)
    );
}

/// A bundle test's request reads as `tollgate eval` reads one: either field
/// spelling, either enum name, an int64 as a number or a string (as a
/// decision-log line's `input` writes it).
#[test]
fn a_test_request_takes_either_spelling_and_int64_as_a_string() {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    fs::write(
        tmp.path().join("spelling_tests.yaml"),
        r#"tests:
  - name: spelling camel-case upgrade
    plan_change:
      tenantId: t1
      fromPlan: free
      toPlan: standard
      requester: { role: REQUESTER_ROLE_TENANT }
      periodUsage: {}
      billing: { anchorDay: 1, timeZone: Asia/Tokyo }
      asOf: "2026-03-10T09:00:00Z"
    want: { verdict: ALLOW, timing: IMMEDIATE, reasons: [UPGRADE] }
  - name: spelling a logged charge
    charge_funding:
      userId: 97855614519ded7f7170086df089460c
      merchantId: video-stream
      amount: { currency: JPY, amountMinor: "3000" }
      balanceMinor: "5000"
      methods: [{ id: wallet, type: PAYMENT_METHOD_TYPE_BALANCE, status: ACTIVE, fallbackRank: 0 }]
      autoCharge: { enabled: false, sourceMethodId: "", thresholdMinor: "0", amountMinor: "0" }
      asOf: "2026-03-10T09:00:00Z"
    want: { outcome: APPROVE, steps: [{ source: BALANCE, method_id: wallet, amount_minor: 3000 }], reasons: [BALANCE_COVERS] }
"#,
    )
    .expect("write the tests");
    let out = run(&["test", path_str(tmp.path()), "--filter", "spelling"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("2 passed, 0 failed"), "{out}");
}
