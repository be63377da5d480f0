//! The `tollgate` command line, run as a process: help, `check`, `test`,
//! `eval`, and argument errors. `serve` itself is covered end to end in
//! `tests/e2e/`.

// Test code fails by panicking, helpers outside `#[test]` functions included
// (clippy.toml only exempts the functions themselves). An `allow`, not an
// `expect`: which of these a helper needs changes with every edit.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{
    fs,
    io::Write as _,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::Value;
use support::{
    CHARGE_WITH_FALLBACK, LINK_BALANCE_ONLY, Run, copy_demo, crate_path, demo_rule_line, edit,
    json_log_until, pack_demo, path_str, run, tollgate,
};

/// Runs `args` with `stdin` piped in.
fn run_with_stdin(args: &[&str], stdin: &str) -> Run {
    let mut child = tollgate()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tollgate");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    Run::from(child.wait_with_output().expect("wait for tollgate"))
}

/// Writes `json` to a file in `dir` and returns its path.
fn request_file(dir: &Path, json: &str) -> String {
    let path = dir.join("request.json");
    fs::write(&path, json).expect("write the request");
    path_str(&path).to_owned()
}

/// The 1-based line and column of each line of `file` where `needle` occurs.
fn positions(file: &Path, needle: &str) -> Vec<(u64, u64)> {
    let text = fs::read_to_string(file).expect("read a bundle file");
    text.lines()
        .zip(1..)
        .filter_map(|(line, n)| line.find(needle).map(|col| (n, col as u64 + 1)))
        .collect()
}

fn decision(run: &Run) -> Value {
    assert_eq!(run.code, Some(0), "{run}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {run}"))
}

fn reason_codes(decision: &Value) -> Vec<&str> {
    decision["reasons"]
        .as_array()
        .expect("reasons is a list")
        .iter()
        .map(|r| r["code"].as_str().expect("a reason has a code"))
        .collect()
}

/// Each non-summary line of `check`'s stderr, split into file, line,
/// column and message; panics on a line of another shape.
fn located_problems(stderr: &str) -> Vec<(String, u64, u64, String)> {
    let mut lines: Vec<&str> = stderr.lines().collect();
    let summary = lines.pop().expect("a summary line");
    assert!(summary.ends_with("problem(s)"), "summary: {summary}");
    lines
        .into_iter()
        .map(|line| {
            let mut parts = line.splitn(4, ':');
            let mut next = || parts.next().unwrap_or_default().to_owned();
            let (file, ln, col, message) = (next(), next(), next(), next());
            let number = |s: &str| {
                s.parse::<u64>()
                    .unwrap_or_else(|_| panic!("not `file:line:col: message`: {line}"))
            };
            assert!(
                file.ends_with(".yaml"),
                "not `file:line:col: message`: {line}"
            );
            assert!(
                message.starts_with(' '),
                "not `file:line:col: message`: {line}"
            );
            (
                file,
                number(&ln),
                number(&col),
                message.trim_start().to_owned(),
            )
        })
        .collect()
}

// --- help --------------------------------------------------------------

#[test]
fn help_lists_every_subcommand() {
    let out = run(&["--help"]);
    assert_eq!(out.code, Some(0), "{out}");
    for sub in ["serve", "check", "test", "eval"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{sub} "))),
            "`{sub}` missing from --help:\n{out}"
        );
    }
    assert!(out.stdout.contains("--log-format"), "{out}");
}

#[test]
fn serve_help_lists_its_flags_and_env_fallbacks() {
    let out = run(&["serve", "--help"]);
    assert_eq!(out.code, Some(0), "{out}");
    for flag in [
        "--listen",
        "--bundle",
        "--poll-interval",
        "TOLLGATE_LISTEN",
        "TOLLGATE_BUNDLE",
        "TOLLGATE_POLL_INTERVAL",
    ] {
        assert!(out.stdout.contains(flag), "`{flag}` missing:\n{out}");
    }
}

#[test]
fn eval_help_names_the_request_flag() {
    let out = run(&["eval", "--help"]);
    assert_eq!(out.code, Some(0), "{out}");
    for flag in ["--plan-change", "--payment-link", "--charge-funding"] {
        assert!(out.stdout.contains(flag), "`{flag}` missing:\n{out}");
    }
}

#[test]
fn serve_rejects_a_listen_address_that_is_not_one() {
    // Were the address accepted, `serve` would run forever: give it a
    // generous deadline and kill it rather than hang the suite.
    let mut child = tollgate()
        .args(["serve", "--listen", "not-an-addr"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tollgate");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("poll tollgate").is_none() {
        if Instant::now() > deadline {
            child.kill().expect("kill tollgate");
            panic!("`serve --listen not-an-addr` did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = Run::from(child.wait_with_output().expect("wait for tollgate"));
    assert_eq!(out.code, Some(64), "a usage error: {out}");
    assert!(
        out.stderr
            .contains("invalid value 'not-an-addr' for '--listen <LISTEN>'"),
        "{out}"
    );
}

#[test]
fn a_missing_subcommand_is_a_usage_error() {
    let out = run(&[]);
    assert_eq!(out.code, Some(64), "{out}");
    assert!(out.stderr.contains("Usage:"), "{out}");
}

// --- check -------------------------------------------------------------

#[test]
fn check_without_a_path_checks_the_embedded_demo() {
    let out = run(&["check"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stdout.starts_with("ok: bundle `demo` revision `"),
        "{out}"
    );
    assert!(out.stdout.contains(" rules, "), "{out}");
    assert!(out.stdout.contains(" tests passed; "), "{out}");
    assert!(out.stdout.ends_with(" expressions run natively\n"), "{out}");
    // Warnings only (the demo's spring 2026 migration date is past), no problem.
    assert!(
        out.stderr
            .lines()
            .all(|l| l.starts_with("warning: ") || l.ends_with(" warning(s)")),
        "{out}"
    );
}

/// `check` on the demo with the migration's `schedule` line replaced.
fn check_with_schedule(schedule: &str) -> Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    let rules = tmp.path().join("plan_change.yaml");
    edit(&rules, "schedule: { at: \"2026-04-01\" }", schedule);
    // The demo's own tests expect the 2026 date; without them the rule stands alone.
    fs::remove_file(tmp.path().join("plan_change_tests.yaml")).expect("remove tests");
    run(&["check", path_str(tmp.path())])
}

#[test]
fn check_warns_about_a_schedule_already_past_and_passes() {
    let out = check_with_schedule("schedule: { at: \"2001-01-01\" }");
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.starts_with("ok: bundle `demo`"), "{out}");
    // Located at the rule's id.
    let (line, col) = positions(
        &crate_path("bundles/demo/plan_change.yaml"),
        "id: operator-catalogue-migration",
    )[0];
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "warning: plan_change.yaml:{line}:{}: rule `operator-catalogue-migration`: schedule: `2001-01-01` is already past; a change it allows takes effect at once",
            col + 4
        ),
        "{out}"
    );
    // Then the count, after the bundle's name.
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[1].ends_with(": 1 warning(s)"), "{out}");
    let out = check_with_schedule("schedule: { at: \"2001-01-01T00:00:00Z\" }");
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stderr
            .contains("schedule: `2001-01-01T00:00:00Z` is already past"),
        "{out}"
    );
}

#[test]
fn check_does_not_warn_about_a_schedule_to_come() {
    let out = check_with_schedule("schedule: { at: \"2999-04-01\" }");
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stderr, "", "{out}");
}

/// A copy of the demo at `dir` whose one warning is a merchant without a
/// health threshold: no bundle default; meal-kit, which relied on it,
/// states its own; a new merchant, `gift-shop` (`shops.yaml:2:5`), none.
fn bundle_with_a_warning(dir: &Path) {
    copy_demo(dir);
    let merchants = dir.join("merchants.yaml");
    edit(
        &merchants,
        "payments: { default_min_health_score: 50 }\n",
        "",
    );
    edit(
        &merchants,
        "  - id: meal-kit\n",
        "  - id: meal-kit\n    min_health_score: 50\n",
    );
    fs::write(
        dir.join("shops.yaml"),
        "merchants:\n  - id: gift-shop\n    currency: JPY\n",
    )
    .expect("write shops.yaml");
}

const GIFT_SHOP_WARNING: &str = "shops.yaml:2:5: merchant `gift-shop`: no `min_health_score` \
     and no `payments.default_min_health_score`: rules reading `merchant.min_health_score` \
     fail closed for it";

#[test]
fn check_warns_about_a_merchant_without_a_health_threshold_and_passes() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    bundle_with_a_warning(dir);
    let out = run(&["check", path_str(dir)]);
    assert_eq!(out.code, Some(0), "a warning is not an error: {out}");
    assert!(out.stdout.starts_with("ok: bundle `demo`"), "{out}");
    // Besides the demo's own: its spring 2026 schedule is already past.
    let schedule = format!(
        "warning: plan_change.yaml:{}:9: rule `operator-catalogue-migration`: \
         schedule: `2026-04-01` is already past; a change it allows takes effect at once",
        demo_rule_line("operator-catalogue-migration")
    );
    assert_eq!(
        out.stderr,
        format!(
            "{schedule}\nwarning: {GIFT_SHOP_WARNING}\n{}: 2 warning(s)\n",
            dir.display()
        ),
        "{out}"
    );
}

#[test]
fn serve_activates_a_bundle_with_warnings_and_logs_each() {
    let tmp = tempfile::tempdir().expect("temp dir");
    bundle_with_a_warning(tmp.path());
    let events = json_log_until(
        tollgate()
            .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
            .args(["--admin-listen", "off", "--bundle"])
            .arg(tmp.path()),
        "serving gRPC",
    );
    let seen: Vec<(Value, String)> = events
        .iter()
        .map(|e| {
            let message = e["fields"]["message"].as_str().unwrap_or_default();
            (e["level"].clone(), message.to_owned())
        })
        .collect();
    let messages: Vec<&str> = seen.iter().map(|(_, m)| m.as_str()).collect();
    let activated = messages.iter().position(|m| *m == "bundle activated");
    let warned = seen
        .iter()
        .position(|(_, m)| *m == format!("bundle warning: {GIFT_SHOP_WARNING}"));
    assert!(
        matches!((activated, warned), (Some(a), Some(w)) if a < w),
        "{seen:?}"
    );
    let level = warned.map(|w| seen[w].0.clone());
    assert_eq!(level, Some(Value::from("WARN")), "{seen:?}");
}

#[test]
fn check_accepts_the_demo_directory() {
    let out = run(&["check", "bundles/demo"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.starts_with("ok: bundle `demo`"), "{out}");
}

#[test]
fn check_accepts_a_tar_gz_bundle() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let archive = tmp.path().join("demo.tar.gz");
    pack_demo(&archive);

    let out = run(&["check", path_str(&archive)]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.starts_with("ok: bundle `demo`"), "{out}");
    // The same bundle as the directory.
    let dir = run(&["check", "bundles/demo"]);
    assert_eq!(out.stdout, dir.stdout, "{out}");
}

#[test]
fn check_reports_every_problem_as_file_line_col_message() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    copy_demo(dir);
    let rules = dir.join("plan_change.yaml");
    // An undeclared CEL variable.
    edit(&rules, "when: change.upgrade", "when: chnage.upgrade");
    // A duplicate rule id.
    edit(&rules, "- id: downgrade-immediate", "- id: same-plan");
    // An unknown plan in from_plans.
    edit(
        &rules,
        "  - id: reseller-contract-only\n    requesters: [RESELLER]\n",
        "  - id: reseller-contract-only\n    requesters: [RESELLER]\n    from_plans: [premium, platinum]\n",
    );
    let out = run(&["check", path_str(dir)]);
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    let problems = located_problems(&out.stderr);
    let find = |needle: &str| {
        problems
            .iter()
            .find(|p| p.3.contains(needle))
            .unwrap_or_else(|| panic!("no problem mentions `{needle}`:\n{out}"))
    };
    let at = |p: &(String, u64, u64, String)| (p.0.clone(), p.1, p.2);
    let in_rules = |(line, col): (u64, u64)| ("plan_change.yaml".to_owned(), line, col);
    let undeclared = find("undeclared reference to `chnage`");
    assert_eq!(
        at(undeclared),
        in_rules(positions(&rules, "chnage.upgrade")[0])
    );
    let ids = positions(&rules, "same-plan");
    assert_eq!(ids.len(), 2);
    let duplicate = find("duplicate rule id");
    assert_eq!(at(duplicate), in_rules(ids[1]), "{out}");
    let first_line = ids[0].0;
    assert!(
        duplicate.3.starts_with("rule `same-plan`: ")
            && duplicate
                .3
                .ends_with(&format!("(first defined at plan_change.yaml:{first_line})")),
        "{out}"
    );
    let unknown = find("from_plans: unknown plan `platinum`");
    assert_eq!(at(unknown), in_rules(positions(&rules, "platinum]")[0]));
    assert_eq!(problems.len(), 3, "{out}");
    // Sorted by file, then line.
    let mut sorted = problems.clone();
    sorted.sort();
    assert_eq!(problems, sorted, "{out}");
    let dir_shown = path_str(dir);
    assert!(
        out.stderr
            .ends_with(&format!("{dir_shown}: 3 problem(s)\n")),
        "{out}"
    );
}

#[test]
fn a_file_that_does_not_parse_is_reported_alone() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    copy_demo(dir);
    // A rule error elsewhere is not reported while a file does not parse:
    // rules reading a broken file's contents would all look wrong too.
    edit(
        &dir.join("plan_change.yaml"),
        "when: change.upgrade",
        "when: chnage.upgrade",
    );
    fs::write(dir.join("extra.yaml"), "plans: [\n").expect("write extra.yaml");
    let out = run(&["check", path_str(dir)]);
    assert_eq!(out.code, Some(1), "{out}");
    let problems = located_problems(&out.stderr);
    assert_eq!(problems.len(), 1, "{out}");
    assert_eq!(problems[0].0, "extra.yaml", "{out}");
}

#[test]
fn check_fails_on_a_path_that_does_not_exist() {
    let out = run(&["check", "no/such/bundle"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("cannot read `no/such/bundle`"), "{out}");
}

#[test]
fn check_fails_on_a_file_that_is_not_a_bundle() {
    let out = run(&["check", "Cargo.toml"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr
            .contains("`Cargo.toml` is neither a directory nor a `.tar.gz`"),
        "{out}"
    );
}

// --- test --------------------------------------------------------------

#[test]
fn test_prints_a_line_per_test_and_a_summary() {
    let out = run(&["test"]);
    assert_eq!(out.code, Some(0), "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let (summary, tests) = lines.split_last().expect("output");
    assert_eq!(
        *summary,
        format!("{} passed, 0 failed", tests.len()),
        "{out}"
    );
    assert!(tests.len() >= 2, "{out}");
    for line in tests {
        assert!(line.starts_with("ok    "), "{out}");
        assert!(line.contains("_tests.yaml:"), "{out}");
    }
    assert!(
        out.stdout
            .contains("ok    same plan is denied  (plan_change_tests.yaml:4)"),
        "{out}"
    );
}

#[test]
fn test_of_the_demo_directory_passes() {
    let out = run(&["test", "bundles/demo"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.ends_with(" passed, 0 failed\n"), "{out}");
}

#[test]
fn test_exits_1_and_says_why_when_a_test_fails() {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    edit(
        &tmp.path().join("plan_change_tests.yaml"),
        "want: { verdict: DENY, reasons: [SAME_PLAN] }",
        "want: { verdict: ALLOW, timing: IMMEDIATE }",
    );
    let out = run(&["test", path_str(tmp.path())]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stdout.contains(
            "FAIL  same plan is denied  (plan_change_tests.yaml:4): \
             want verdict ALLOW, got DENY [SAME_PLAN]"
        ),
        "{out}"
    );
    let passed = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("ok    "))
        .count();
    let failed = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL  "))
        .count();
    assert_eq!(failed, 1, "{out}");
    assert!(
        out.stdout
            .ends_with(&format!("\n{passed} passed, 1 failed\n")),
        "{out}"
    );
}

/// A plan-change test of the demo's premium tenant moving down to standard
/// after a commitment term that ended in 2001, at once on 2026-03-10, with
/// `as_of` written in as `as_of_line` (nothing when empty).
fn committed_downgrade_test(as_of_line: &str) -> String {
    format!(
        r#"
  - name: committed downgrade
    plan_change:
      tenant_id: t1
      from_plan: premium
      to_plan: standard
      requester: {{ role: TENANT }}
      usage: {{ users: 10, storage_gb: 20 }}
      period_usage: {{ api_calls: 500 }}
      billing: {{ commitment_end: "2001-01-01T00:00:00Z" }}{as_of_line}
    want: {{ verdict: ALLOW, timing: IMMEDIATE, effective_at: "2026-03-10T09:00:00Z" }}
"#
    )
}

#[test]
fn a_bundle_test_without_as_of_is_a_bundle_error_naming_its_place() {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    // No clock stands in for a missing `as_of`: at 1970 this test would
    // pass for a reason nobody meant (the term of 2001 still holding).
    let file = tmp.path().join("plan_change_tests.yaml");
    let text = fs::read_to_string(&file).expect("read tests");
    let line = text.lines().count() + 2;
    fs::write(&file, format!("{text}{}", committed_downgrade_test(""))).expect("write tests");
    // A test that cannot be compiled is the bundle's error: exit 2.
    let out = run(&["test", path_str(tmp.path())]);
    assert_eq!(out.code, Some(2), "{out}");
    let want = format!(
        "plan_change_tests.yaml:{line}:5: test `committed downgrade`: no `as_of`: \
         give the request one, or give the file `test_defaults: {{ as_of: ... }}`"
    );
    assert!(out.stderr.contains(&want), "`{want}` in\n{out}");
    let out = run(&["check", path_str(tmp.path())]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains(&want), "`{want}` in\n{out}");
}

#[test]
fn a_bundle_test_without_as_of_runs_at_its_files_default() {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    // The file's default instant, long after the commitment term: the
    // downgrade takes effect at once.
    let file = tmp.path().join("plan_change_tests.yaml");
    let text = fs::read_to_string(&file).expect("read tests");
    let text = text.replacen(
        "tests:\n",
        "test_defaults: { as_of: \"2026-03-10T09:00:00Z\" }\ntests:\n",
        1,
    );
    fs::write(&file, format!("{text}{}", committed_downgrade_test(""))).expect("write tests");
    let out = run(&["test", path_str(tmp.path())]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("ok    committed downgrade  ("), "{out}");

    // A test's own `as_of` wins over the default: in 2000 the term still
    // holds the downgrade back.
    let own = "\n      as_of: \"2000-06-01T00:00:00Z\"";
    fs::write(&file, format!("{text}{}", committed_downgrade_test(own))).expect("write tests");
    let out = run(&["test", path_str(tmp.path())]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stdout
            .contains("FAIL  committed downgrade  (plan_change_tests.yaml:")
            && out
                .stdout
                .contains("want timing IMMEDIATE, got ALLOW END_OF_TERM [IN_COMMITMENT_TERM]"),
        "{out}"
    );
}

#[test]
fn test_of_a_bundle_that_does_not_compile_prints_its_problems() {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    edit(
        &tmp.path().join("plan_change.yaml"),
        "when: change.upgrade",
        "when: chnage.upgrade",
    );
    // Exit 2: no test ran (1 is kept for a failed test).
    let out = run(&["test", path_str(tmp.path())]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr
            .contains(": rule `upgrade-immediate`: condition: undeclared reference to `chnage`"),
        "{out}"
    );
}

#[test]
fn check_with_an_empty_cache_dir_has_nothing_to_compare_and_an_unreadable_one_fails() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = path_str(tmp.path());
    let out = run(&["check", "bundles/demo", "--cache", dir, "--strict"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stdout
            .contains(&format!("the cache `{dir}` has no bundle to compare with")),
        "{out}"
    );
    // A cached archive that is not one is a failure, not a pass.
    fs::write(tmp.path().join("bundle.tar.gz"), "not gzip").expect("write");
    let out = run(&["check", "bundles/demo", "--cache", dir]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains("tollgate: --cache: cannot read `"),
        "{out}"
    );
}

// --- eval --------------------------------------------------------------

const SNAKE_UPGRADE: &str = r#"{
  "tenant_id": "t1",
  "from_plan": "free",
  "to_plan": "standard",
  "requester": { "role": "REQUESTER_ROLE_RESELLER", "id": "reseller-7" },
  "usage": { "users": 3, "storage_gb": 0.5 },
  "as_of": "2026-03-10T09:00:00Z"
}"#;

#[test]
fn eval_prints_the_decision_for_a_snake_case_request() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = request_file(tmp.path(), SNAKE_UPGRADE);
    let d = decision(&run(&["eval", "--plan-change", &file]));
    assert_eq!(d["verdict"], "VERDICT_ALLOW");
    assert_eq!(d["timing"], "EFFECTIVE_TIMING_IMMEDIATE");
    assert_eq!(d["effectiveAt"], "2026-03-10T09:00:00Z");
    assert_eq!(reason_codes(&d), ["UPGRADE"]);
    assert_eq!(d["reasons"][0]["ruleId"], "upgrade-immediate");
    assert_eq!(
        d["reasons"][0]["message"],
        "upgrade from `free` to `standard` takes effect at once"
    );
    let meta = &d["meta"];
    assert_eq!(meta["bundleName"], "demo");
    assert_eq!(meta["evaluatedAt"], "2026-03-10T09:00:00Z");
    assert!(
        !meta["bundleRevision"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    assert_eq!(meta["bundleDigest"].as_str().map(str::len), Some(64));
    assert!(!meta["decisionId"].as_str().unwrap_or_default().is_empty());
}

#[test]
fn eval_accepts_lower_camel_case_field_names() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = request_file(
        tmp.path(),
        r#"{
          "tenantId": "t1",
          "fromPlan": "premium",
          "toPlan": "standard",
          "requester": { "role": "REQUESTER_ROLE_TENANT" },
          "usage": { "users": 10, "storage_gb": 20 },
          "periodUsage": { "api_calls": 250000 },
          "billing": { "anchorDay": 31, "timeZone": "Asia/Tokyo" },
          "asOf": "2026-02-10T09:00:00Z"
        }"#,
    );
    let d = decision(&run(&["eval", "--plan-change", &file]));
    assert_eq!(d["verdict"], "VERDICT_ALLOW");
    assert_eq!(d["timing"], "EFFECTIVE_TIMING_NEXT_BILLING_CYCLE");
    // 28 Feb 2026 00:00 in Tokyo: anchor 31 clamped to February's last day.
    assert_eq!(d["effectiveAt"], "2026-02-27T15:00:00Z");
    assert_eq!(reason_codes(&d), ["PERIOD_USAGE_EXCEEDS_TARGET_QUOTA"]);
    let details = &d["reasons"][0]["details"];
    assert_eq!(details["metric"], "api_calls");
    assert_eq!(details["current"], "250000");
    assert_eq!(details["limit"], "100000");
}

#[test]
fn eval_reads_rfc_3339_instants_with_an_offset() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = request_file(
        tmp.path(),
        r#"{
          "tenant_id": "t1",
          "from_plan": "premium",
          "to_plan": "standard",
          "requester": { "role": "REQUESTER_ROLE_TENANT" },
          "usage": { "users": 10, "storage_gb": 20 },
          "period_usage": { "api_calls": 500 },
          "billing": { "commitment_end": "2027-01-01T00:00:00+09:00" },
          "as_of": "2026-03-10T18:00:00+09:00"
        }"#,
    );
    let d = decision(&run(&["eval", "--plan-change", &file]));
    assert_eq!(d["verdict"], "VERDICT_ALLOW");
    assert_eq!(d["timing"], "EFFECTIVE_TIMING_END_OF_TERM");
    assert_eq!(d["effectiveAt"], "2026-12-31T15:00:00Z");
    assert_eq!(d["meta"]["evaluatedAt"], "2026-03-10T09:00:00Z");
    assert_eq!(reason_codes(&d), ["IN_COMMITMENT_TERM"]);
    assert_eq!(
        d["reasons"][0]["message"],
        "the tenant is committed until 2026-12-31T15:00:00Z; the downgrade takes effect then"
    );
}

#[test]
fn eval_prints_a_deny_without_timing_or_effective_at() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = request_file(
        tmp.path(),
        r#"{
          "tenant_id": "t1",
          "from_plan": "premium",
          "to_plan": "free",
          "requester": { "role": "REQUESTER_ROLE_RESELLER", "id": "reseller-7" },
          "usage": { "users": 10 },
          "period_usage": { "api_calls": 20 },
          "as_of": "2026-03-10T09:00:00Z"
        }"#,
    );
    let d = decision(&run(&["eval", "--plan-change", &file]));
    assert_eq!(d["verdict"], "VERDICT_DENY");
    // Every field is printed, an enum's zero value included; an unset
    // instant is not.
    assert_eq!(d["timing"], "EFFECTIVE_TIMING_UNSPECIFIED", "{d}");
    assert!(d.get("effectiveAt").is_none(), "{d}");
    assert_eq!(
        reason_codes(&d),
        ["USAGE_EXCEEDS_TARGET_LIMIT", "USAGE_NOT_REPORTED"]
    );
    assert_eq!(d["reasons"][0]["details"]["metric"], "users");
    assert_eq!(d["reasons"][1]["details"]["metric"], "storage_gb");
}

/// Every key of `value` that is a field name (not a key of a map such as
/// `details`) with an underscore in it.
fn snake_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (k, v) in members {
                if k.contains('_') {
                    out.push(k.clone());
                }
                if k != "details" {
                    snake_keys(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| snake_keys(v, out)),
        _ => {}
    }
}

#[test]
fn eval_reads_short_and_full_enum_names_in_either_field_spelling() {
    for role in ["TENANT", "REQUESTER_ROLE_TENANT"] {
        for (as_of, at) in [
            ("as_of", "2026-03-10T09:00:00Z"),
            ("asOf", "2026-04-01T00:00:00Z"),
        ] {
            let request = format!(
                r#"{{"tenantId": "t1", "from_plan": "free", "toPlan": "standard",
                    "requester": {{"role": "{role}"}}, "{as_of}": "{at}", "explain": true}}"#
            );
            let out = run_with_stdin(&["eval", "--plan-change", "-"], &request);
            let d = decision(&out);
            assert_eq!(d["verdict"], "VERDICT_ALLOW", "{role} {as_of}: {out}");
            assert_eq!(reason_codes(&d), ["UPGRADE"], "{out}");
            // The instant given under either spelling is the one decided at.
            assert_eq!(d["meta"]["evaluatedAt"], at, "{out}");
            let mut snake = Vec::new();
            snake_keys(&d, &mut snake);
            assert!(snake.is_empty(), "snake_case keys {snake:?}: {out}");
        }
    }
    let link = r#"{"userId": "u1", "merchant_id": "video-stream",
        "methods": [{"id": "wallet", "type": "BALANCE", "status": "ACTIVE"},
                    {"id": "card-1", "type": "PAYMENT_METHOD_TYPE_CREDIT_CARD", "status": "ACTIVE"}],
        "health": {"score": 72}, "asOf": "2026-03-10T09:00:00Z"}"#;
    let d = decision(&run_with_stdin(&["eval", "--payment-link", "-"], link));
    assert_eq!(d["outcome"], "LINK_OUTCOME_LINK", "{d}");
    // An empty list is printed, not left out.
    assert_eq!(d["requiredActions"], serde_json::json!([]), "{d}");
}

#[test]
fn eval_reads_the_request_from_stdin_with_a_dash() {
    let out = run_with_stdin(&["eval", "--plan-change", "-"], SNAKE_UPGRADE);
    let d = decision(&out);
    assert_eq!(d["verdict"], "VERDICT_ALLOW");
    assert_eq!(reason_codes(&d), ["UPGRADE"]);
}

#[test]
fn eval_traces_every_rule_when_asked_to_explain() {
    let request = SNAKE_UPGRADE.replace("\"as_of\"", "\"explain\": true, \"as_of\"");
    let d = decision(&run_with_stdin(&["eval", "--plan-change", "-"], &request));
    let trace = d["meta"]["trace"].as_array().expect("a trace");
    let field = |t: &Value, key: &str| t[key].as_str().unwrap_or_default().to_owned();
    let decisive: Vec<String> = trace
        .iter()
        .filter(|t| t["decisive"] == true)
        .map(|t| field(t, "ruleId"))
        .collect();
    assert_eq!(decisive, ["upgrade-immediate"], "{d}");
    let after: Vec<&Value> = trace
        .iter()
        .skip_while(|t| field(t, "ruleId") != "upgrade-immediate")
        .skip(1)
        .collect();
    assert!(!after.is_empty(), "{d}");
    for t in after {
        assert_eq!(field(t, "effect"), "allow", "{d}");
        assert_eq!(
            field(t, "note"),
            "not evaluated: an earlier allow rule decided",
            "{d}"
        );
    }
}

#[test]
fn eval_names_the_missing_field_of_an_invalid_request() {
    let request = SNAKE_UPGRADE.replace("\"tenant_id\": \"t1\",", "");
    let out = run_with_stdin(&["eval", "--plan-change", "-"], &request);
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(
        out.stderr, "invalid request: tenant_id: is required\n",
        "{out}"
    );
}

#[test]
fn eval_names_a_metric_sent_in_the_wrong_map() {
    // The demo declares api_calls a period metric: in `usage` it is refused.
    let request = SNAKE_UPGRADE.replace("\"storage_gb\": 0.5", "\"api_calls\": 900");
    let out = run_with_stdin(&["eval", "--plan-change", "-"], &request);
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(
        out.stderr,
        "invalid request: usage[\"api_calls\"]: api_calls is counted per period; send it in period_usage\n",
        "{out}"
    );
}

#[test]
fn eval_lists_undeclared_metrics() {
    let request = SNAKE_UPGRADE.replace("\"users\": 3", "\"user\": 3");
    let d = decision(&run_with_stdin(&["eval", "--plan-change", "-"], &request));
    assert_eq!(d["unknownMetrics"], serde_json::json!(["user"]), "{d}");
}

#[test]
fn a_bundle_without_metrics_checks_no_metric() {
    // Bundles written before `metrics:` keep working: any metric in either
    // map, none listed as unknown.
    let tmp = tempfile::tempdir().expect("temp dir");
    let bundle = tmp.path().join("bundle");
    copy_demo(&bundle);
    let plans = bundle.join("plans.yaml");
    let text = std::fs::read_to_string(&plans).expect("read plans.yaml");
    let start = text.find("metrics:\n").expect("a metrics section");
    let end = text
        .find("# The plan catalogue.")
        .expect("the plans after it");
    std::fs::write(&plans, format!("{}{}", &text[..start], &text[end..])).expect("write");
    let request = SNAKE_UPGRADE.replace("\"users\": 3", "\"user\": 3, \"api_calls\": 900");
    let out = run_with_stdin(&["eval", path_str(&bundle), "--plan-change", "-"], &request);
    let d = decision(&out);
    assert_eq!(d["verdict"], "VERDICT_ALLOW", "{d}");
    assert!(d.get("unknown_metrics").is_none(), "{d}");
}

#[test]
fn eval_names_the_billing_date_a_timing_needs_and_fails() {
    // A downgrade over the target's quota waits for the next billing cycle,
    // and the request gives no calendar to compute it from: no decision.
    let out = run_with_stdin(
        &["eval", "--plan-change", "-"],
        r#"{
          "tenant_id": "t1",
          "from_plan": "premium",
          "to_plan": "standard",
          "requester": { "role": "REQUESTER_ROLE_TENANT" },
          "usage": { "users": 10, "storage_gb": 20 },
          "period_usage": { "api_calls": 250000 },
          "as_of": "2026-03-10T09:00:00Z"
        }"#,
    );
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(
        out.stderr,
        "failed precondition: the request lacks `billing.current_period_end`: \
         rule `downgrade-over-quota` takes effect at the next billing cycle, \
         which needs `billing.current_period_end` or `billing.anchor_day`\n",
        "{out}"
    );
}

#[test]
fn eval_names_every_bad_field() {
    let out = run_with_stdin(
        &["eval", "--plan-change", "-"],
        r#"{
          "tenant_id": "t1",
          "from_plan": "free",
          "to_plan": "standard",
          "usage": { "users": -1 },
          "billing": { "anchor_day": 40, "time_zone": "Mars/Olympus" }
        }"#,
    );
    assert_eq!(out.code, Some(1), "{out}");
    for line in [
        "invalid request: requester.role: is required",
        "invalid request: usage[\"users\"]: `-1` is negative",
        "invalid request: billing.anchor_day: `40` is outside 1-31",
        "invalid request: billing.time_zone: `Mars/Olympus` is not an IANA time zone",
    ] {
        assert!(out.stderr.lines().any(|l| l == line), "`{line}`:\n{out}");
    }
}

#[test]
fn eval_rejects_malformed_json_with_a_message() {
    let out = run_with_stdin(&["eval", "--plan-change", "-"], r#"{"tenant_id": "t1""#);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(out.code.is_some(), "killed by a signal: {out}");
    assert_eq!(out.stdout, "", "{out}");
    assert!(out.stderr.contains("in proto JSON"), "{out}");
}

#[test]
fn eval_rejects_an_unknown_field_and_an_unknown_enum_name() {
    for (json, needle) in [
        (r#"{"tenant_id": "t1", "tenant": "t1"}"#, "'tenant'"),
        (
            r#"{"tenant_id": "t1", "requester": {"role": "RESELLING"}}"#,
            "'RESELLING'",
        ),
    ] {
        let out = run_with_stdin(&["eval", "--plan-change", "-"], json);
        assert_ne!(out.code, Some(0), "{out}");
        assert!(out.stderr.contains(needle), "{out}");
    }
}

#[test]
fn eval_fails_when_the_request_file_is_missing() {
    let out = run(&["eval", "--plan-change", "no/such/request.json"]);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("cannot read `no/such/request.json`"),
        "{out}"
    );
}

#[test]
fn eval_uses_the_bundle_it_is_given() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let bundle = tmp.path().join("bundle");
    copy_demo(&bundle);
    edit(
        &bundle.join("bundle.yaml"),
        "revision: \"2026-11-22.1\"",
        "revision: cli-test.7",
    );
    edit(
        &bundle.join("plan_change.yaml"),
        "en: \"upgrade from `{source.id}` to `{target.id}` takes effect at once\"",
        "en: \"{request.tenant_id} moves up to `{target.id}`\"",
    );
    let file = request_file(tmp.path(), SNAKE_UPGRADE);
    let d = decision(&run(&["eval", path_str(&bundle), "--plan-change", &file]));
    assert_eq!(d["meta"]["bundleRevision"], "cli-test.7");
    assert_eq!(d["verdict"], "VERDICT_ALLOW");
    assert_eq!(d["reasons"][0]["message"], "t1 moves up to `standard`");

    // The same request against the embedded demo.
    let demo = decision(&run(&["eval", "--plan-change", &file]));
    assert_eq!(demo["meta"]["bundleName"], "demo");
    assert_ne!(demo["meta"]["bundleRevision"], "cli-test.7");
    assert_ne!(demo["meta"]["bundleDigest"], d["meta"]["bundleDigest"]);
}

#[test]
fn eval_refuses_a_bundle_that_does_not_compile() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let bundle = tmp.path().join("bundle");
    copy_demo(&bundle);
    edit(
        &bundle.join("plan_change.yaml"),
        "when: change.upgrade",
        "when: chnage.upgrade",
    );
    let file = request_file(tmp.path(), SNAKE_UPGRADE);
    let out = run(&["eval", path_str(&bundle), "--plan-change", &file]);
    assert_ne!(out.code, Some(0), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert!(
        out.stderr
            .contains(": rule `upgrade-immediate`: condition: undeclared reference to `chnage`"),
        "{out}"
    );
}

// --- eval: payments ----------------------------------------------------

/// The steps of a funding decision as `(source, method_id, amount_minor)`;
/// proto JSON writes int64 as a string.
fn json_steps(d: &Value) -> Vec<(String, String, String)> {
    d["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .map(|s| {
                    let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                    (text("source"), text("methodId"), text("amountMinor"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn step(source: &str, method_id: &str, amount: &str) -> (String, String, String) {
    (source.to_owned(), method_id.to_owned(), amount.to_owned())
}

#[test]
fn eval_prints_a_payment_link_decision() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = request_file(tmp.path(), LINK_BALANCE_ONLY);
    let d = decision(&run(&["eval", "--payment-link", &file]));
    assert_eq!(d["outcome"], "LINK_OUTCOME_REQUIRE_ACTION", "{d}");
    assert_eq!(
        d["requiredActions"],
        serde_json::json!([
            "REQUIRED_ACTION_REACTIVATE_PAYMENT_METHOD",
            "REQUIRED_ACTION_ENABLE_AUTO_CHARGE"
        ]),
        "{d}"
    );
    assert_eq!(reason_codes(&d), ["PAYMENT_METHOD_INACTIVE"]);
    assert_eq!(d["reasons"][0]["ruleId"], "accepted-method-inactive");
    assert_eq!(
        d["reasons"][0]["message"],
        "`card-1` (CREDIT_CARD) is EXPIRED; reactivate it, or enable auto-charge of at least JPY 1,000"
    );
    assert_eq!(d["reasons"][0]["details"]["method_id"], "card-1");
    assert_eq!(d["reasons"][0]["details"]["status"], "EXPIRED");
    let meta = &d["meta"];
    assert_eq!(meta["bundleName"], "demo");
    assert_eq!(meta["evaluatedAt"], "2026-03-10T09:00:00Z");
    assert!(!meta["decisionId"].as_str().unwrap_or_default().is_empty());

    // A link: no actions at all in the output.
    let linked = LINK_BALANCE_ONLY.replace("EXPIRED", "ACTIVE");
    let d = decision(&run_with_stdin(&["eval", "--payment-link", "-"], &linked));
    assert_eq!(d["outcome"], "LINK_OUTCOME_LINK", "{d}");
    assert!(d.get("required_actions").is_none(), "{d}");
    assert_eq!(reason_codes(&d), ["SECOND_METHOD_AVAILABLE"]);
}

#[test]
fn eval_prints_a_charge_funding_decision() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = request_file(tmp.path(), CHARGE_WITH_FALLBACK);
    let d = decision(&run(&["eval", "--charge-funding", &file]));
    assert_eq!(d["outcome"], "FUNDING_OUTCOME_APPROVE", "{d}");
    assert_eq!(
        json_steps(&d),
        [
            step("FUNDING_SOURCE_BALANCE", "wallet", "1000"),
            step("FUNDING_SOURCE_PAYMENT_METHOD", "bank-1", "2000"),
        ],
        "{d}"
    );
    assert_eq!(d["currency"], "JPY");
    assert_eq!(
        reason_codes(&d),
        [
            "FALLBACK_METHOD_USED",
            "FALLBACK_METHOD_SKIPPED",
            "FALLBACK_METHOD_SKIPPED"
        ]
    );
    assert_eq!(
        d["reasons"][0]["message"],
        "pay the shortfall of JPY 2,000 with the preset fallback `bank-1`"
    );
    let skipped: Vec<(&str, &str)> = d["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .skip(1)
        .map(|r| {
            let details = &r["details"];
            (
                details["method_id"].as_str().unwrap_or_default(),
                details["why"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            ("card-1", "NOT_PRESET"),
            ("later-1", "NOT_ACCEPTED_BY_MERCHANT")
        ]
    );
    assert_eq!(d["meta"]["evaluatedAt"], "2026-03-10T09:00:00Z");
}

#[test]
fn eval_prints_a_top_up_and_a_decline_in_lower_camel_case_too() {
    let top_up = r#"{
      "userId": "u1",
      "merchantId": "ride-share",
      "amount": { "currency": "JPY", "amountMinor": "3000" },
      "balanceMinor": "2500",
      "methods": [{ "id": "bank-1", "type": "PAYMENT_METHOD_TYPE_BANK_ACCOUNT", "status": "PAYMENT_METHOD_STATUS_ACTIVE" }],
      "autoCharge": { "enabled": true, "sourceMethodId": "bank-1", "amountMinor": 5000 },
      "asOf": "2026-03-10T09:00:00Z"
    }"#;
    let d = decision(&run_with_stdin(&["eval", "--charge-funding", "-"], top_up));
    assert_eq!(d["outcome"], "FUNDING_OUTCOME_APPROVE", "{d}");
    assert_eq!(
        json_steps(&d),
        [
            step("FUNDING_SOURCE_AUTO_CHARGE", "bank-1", "5000"),
            step("FUNDING_SOURCE_BALANCE", "", "3000"),
        ],
        "{d}"
    );
    assert_eq!(reason_codes(&d), ["AUTO_CHARGE_TOP_UP"]);

    // In dollars at a yen merchant: declined, no steps, the charge's currency.
    let dollars = top_up.replace("\"JPY\"", "\"USD\"");
    let d = decision(&run_with_stdin(
        &["eval", "--charge-funding", "-"],
        &dollars,
    ));
    assert_eq!(d["outcome"], "FUNDING_OUTCOME_DECLINE", "{d}");
    assert_eq!(d["steps"], serde_json::json!([]), "{d}");
    assert_eq!(d["currency"], "USD");
    // Across currencies there is no shortfall to cover, so no fallback
    // candidates are listed.
    assert_eq!(reason_codes(&d), ["CURRENCY_NOT_ACCEPTED"]);
}

#[test]
fn eval_names_the_bad_fields_of_an_invalid_payment_request() {
    let link = LINK_BALANCE_ONLY.replace("\"merchant_id\": \"video-stream\",", "");
    let out = run_with_stdin(&["eval", "--payment-link", "-"], &link);
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(
        out.stderr, "invalid request: merchant_id: is required\n",
        "{out}"
    );

    let charge = CHARGE_WITH_FALLBACK
        .replace("\"amount_minor\": 3000", "\"amount_minor\": 0")
        .replace("\"balance_minor\": 1000", "\"balance_minor\": -5")
        .replace("\"id\": \"later-1\"", "\"id\": \"bank-1\"");
    let out = run_with_stdin(&["eval", "--charge-funding", "-"], &charge);
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    for line in [
        "invalid request: amount.amount_minor: `0` must be greater than 0",
        "invalid request: balance_minor: `-5` is negative",
        "invalid request: methods[3].id: `bank-1` is listed twice",
    ] {
        assert!(out.stderr.lines().any(|l| l == line), "`{line}`:\n{out}");
    }
    assert_eq!(out.stderr.lines().count(), 3, "{out}");
}

#[test]
fn eval_takes_exactly_one_request_flag() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = request_file(tmp.path(), LINK_BALANCE_ONLY);
    let out = run(&["eval", "--payment-link", &file, "--charge-funding", &file]);
    assert_eq!(out.code, Some(64), "a usage error: {out}");
    assert_eq!(out.stdout, "", "{out}");
    assert!(
        out.stderr.contains(
            "the argument '--payment-link <FILE.json>' cannot be used with '--charge-funding <FILE.json>'"
        ),
        "{out}"
    );
    let out = run(&["eval", "--plan-change", &file, "--payment-link", &file]);
    assert_eq!(out.code, Some(64), "a usage error: {out}");
    assert!(out.stderr.contains("cannot be used with"), "{out}");

    let out = run(&["eval"]);
    assert_eq!(out.code, Some(64), "a usage error: {out}");
    assert!(
        out.stderr
            .contains("the following required arguments were not provided"),
        "{out}"
    );
}

#[test]
fn eval_uses_the_merchant_settings_of_the_bundle_it_is_given() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let bundle = tmp.path().join("bundle");
    copy_demo(&bundle);
    // No split at video-stream: the fallback pays the whole charge.
    edit(
        &bundle.join("merchants.yaml"),
        "    # A charge may be split between the balance and a fallback method.\n    allow_split: true\n",
        "",
    );
    let file = request_file(tmp.path(), CHARGE_WITH_FALLBACK);
    let d = decision(&run(&[
        "eval",
        path_str(&bundle),
        "--charge-funding",
        &file,
    ]));
    assert_eq!(
        json_steps(&d),
        [step("FUNDING_SOURCE_PAYMENT_METHOD", "bank-1", "3000")],
        "{d}"
    );
    assert_eq!(
        d["reasons"][0]["message"],
        "pay the whole charge of JPY 3,000 with the preset fallback `bank-1`"
    );
}

#[test]
fn eval_reads_the_locale_field_and_names_a_malformed_one() {
    let ja = SNAKE_UPGRADE.replace(
        "\"tenant_id\": \"t1\",",
        "\"tenant_id\": \"t1\", \"locale\": \"ja-JP\",",
    );
    let d = decision(&run_with_stdin(&["eval", "--plan-change", "-"], &ja));
    assert_eq!(
        d["reasons"][0]["message"],
        "`free` から `standard` へのアップグレードはすぐに反映されます"
    );
    assert_eq!(d["meta"]["locale"], "ja");
    assert_eq!(reason_codes(&d), ["UPGRADE"]);

    let bad = SNAKE_UPGRADE.replace(
        "\"tenant_id\": \"t1\",",
        "\"tenant_id\": \"t1\", \"locale\": \"ja--JP\",",
    );
    let out = run_with_stdin(&["eval", "--plan-change", "-"], &bad);
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(
        out.stderr,
        "invalid request: locale: `ja--JP` is not a BCP 47 language tag (like `ja-JP`)\n",
        "{out}"
    );
}
