//! `tollgate lint` on bundle directories: the demo is clean at deny level;
//! an unguarded attribute read, a rule that never matches, an allow that
//! an earlier one always pre-empts, a plan pair whose requests fall through
//! to `NO_MATCHING_RULE` and a merchant whose link or charge requests do
//! are each found with their id and place;
//! `bundle.yaml`'s `lint:` changes severities, and `tollgate check` fails
//! on the deny set; exit codes 0, 1 and 2.

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
use support::{
    Run, copy_demo, crate_path, demo_merchant_line, demo_with_a_lateral_plan,
    demo_with_a_payment_link_gap, edit, path_str, remove_item, run,
};

fn demo_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    tmp
}

fn line_of(file: &Path, needle: &str) -> usize {
    let text = fs::read_to_string(file).expect("read");
    1 + text.lines().position(|l| l.contains(needle)).expect(needle)
}

fn json(path: &Path) -> (Run, Value) {
    let out = run(&["lint", "--format", "json", path_str(path)]);
    let doc = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    (out, doc)
}

fn findings<'a>(doc: &'a Value, check: &str) -> Vec<&'a Value> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

#[test]
fn the_demo_has_no_deny_level_finding_and_no_gap() {
    let demo = crate_path("bundles/demo");
    let (out, doc) = json(&demo);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(doc["denyCount"], 0, "{out}");
    assert!(findings(&doc, "unguarded-optional").is_empty(), "{out}");
    // 4 plans: 12 ordered pairs, 4 roles.
    let gaps = doc["planChangeGaps"].as_array().expect("gaps");
    assert_eq!(gaps.len(), 48, "{out}");
    assert!(gaps.iter().all(|g| g["gap"] == false), "{out}");
    let upgrade = gaps
        .iter()
        .find(|g| {
            g["fromPlan"] == "free" && g["toPlan"] == "standard" && g["requesterRole"] == "TENANT"
        })
        .expect("free -> standard");
    assert_eq!(upgrade["allowTimings"][0], "IMMEDIATE", "{out}");
    let text = run(&["lint", path_str(&demo)]);
    assert_eq!(text.code, Some(0), "{text}");
    assert!(text.stdout.contains("finding(s): 0 deny, "), "{text}");
}

#[test]
fn an_unguarded_attribute_read_is_denied_with_its_line() {
    let tmp = demo_copy();
    let file = tmp.path().join("plan_change.yaml");
    edit(
        &file,
        "when: has(request.attributes.migration) && request.attributes.migration == \"spring-2026\"",
        "when: request.attributes.migration == \"spring-2026\"",
    );
    let line = line_of(&file, "when: request.attributes.migration");
    let out = run(&["lint", path_str(tmp.path())]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stdout.contains(&format!(
            "plan_change.yaml:{line}: deny [unguarded-optional]: rule `operator-catalogue-migration`: condition reads `request.attributes.migration` without a guard"
        )),
        "{out}"
    );
    // Guarded by `in` instead of `has`: clean again.
    edit(
        &file,
        "when: request.attributes.migration == \"spring-2026\"",
        "when: >-\n      'migration' in request.attributes && request.attributes.migration == \"spring-2026\"",
    );
    let (out, doc) = json(tmp.path());
    assert!(findings(&doc, "unguarded-optional").is_empty(), "{out}");
}

#[test]
fn an_unguarded_current_is_found_and_reported_guards_it() {
    let tmp = demo_copy();
    let file = tmp.path().join("plan_change.yaml");
    edit(
        &file,
        "when: \"!change.same_plan && reported && current > limit\"",
        "when: \"!change.same_plan && current > limit\"",
    );
    let (out, doc) = json(tmp.path());
    let found = findings(&doc, "unguarded-optional");
    assert_eq!(found.len(), 1, "{out}");
    assert!(
        found[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("usage-within-target-limits") && m.contains("`current`")),
        "{out}"
    );
}

#[test]
fn a_rule_that_never_matches_and_a_preempted_allow_are_warnings() {
    let tmp = demo_copy();
    let file = tmp.path().join("plan_change.yaml");
    edit(
        &file,
        "  - id: upgrade-immediate\n",
        "  - id: impossible\n    when: source.rank > 5 && source.rank < 2\n    effect: deny\n    reason: { code: IMPOSSIBLE, message: { en: x, ja: x } }\n\n  - id: upgrade-immediate\n",
    );
    edit(
        &file,
        "  - id: downgrade-in-commitment\n",
        "  - id: big-upgrade\n    when: change.upgrade && source.rank >= 1\n    effect: allow\n    timing: immediate\n    reason: { code: BIG_UPGRADE, message: { en: x, ja: x } }\n\n  - id: downgrade-in-commitment\n",
    );
    let never = line_of(&file, "when: source.rank > 5 && source.rank < 2");
    let big = line_of(&file, "- id: big-upgrade");
    let (out, doc) = json(tmp.path());
    assert_eq!(out.code, Some(0), "warnings only: {out}");
    let n = findings(&doc, "never-matches");
    assert_eq!(n.len(), 1, "{out}");
    assert_eq!(
        n[0]["location"],
        format!("plan_change.yaml:{never}"),
        "{out}"
    );
    assert_eq!(n[0]["severity"], "warn", "{out}");
    let p = findings(&doc, "preempted-allow");
    assert_eq!(p.len(), 1, "{out}");
    assert_eq!(p[0]["location"], format!("plan_change.yaml:{big}"), "{out}");
    assert!(
        p[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`upgrade-immediate`")),
        "{out}"
    );
    // Not decided, so not reported: a condition beyond comparisons.
    assert!(doc["undecidedRules"].as_u64() > Some(0), "{out}");
}

#[test]
fn a_lateral_plan_no_rule_answers_is_a_gap() {
    let tmp = demo_with_a_lateral_plan();
    let (out, doc) = json(tmp.path());
    let gaps: Vec<&Value> = findings(&doc, "plan-change-gap");
    assert!(
        gaps.iter().any(|g| g["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("`standard` -> `standard-eu` asked by TENANT"))),
        "{out}"
    );
    let pairs = doc["planChangeGaps"].as_array().expect("pairs");
    assert_eq!(pairs.len(), 5 * 4 * 4, "{out}");
}

#[test]
fn bundle_yaml_sets_severities_and_check_fails_on_deny() {
    let tmp = demo_copy();
    let header = tmp.path().join("bundle.yaml");
    edit(
        &header,
        "default_locale: en\n",
        "default_locale: en\nlint: { deny: [schedule-past] }\n",
    );
    let out = run(&["lint", path_str(tmp.path())]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stdout.contains("deny [schedule-past]"), "{out}");
    let check = run(&["check", path_str(tmp.path())]);
    assert_eq!(check.code, Some(1), "{check}");
    assert!(check.stderr.contains("deny [schedule-past]"), "{check}");
    assert!(
        check.stderr.contains("1 lint finding(s) at deny level"),
        "{check}"
    );

    edit(
        &header,
        "lint: { deny: [schedule-past] }",
        "lint: { allow: [schedule-past] }",
    );
    let (out, doc) = json(tmp.path());
    assert_eq!(out.code, Some(0), "{out}");
    assert!(findings(&doc, "schedule-past").is_empty(), "{out}");
    assert_eq!(run(&["check", path_str(tmp.path())]).code, Some(0));
}

#[test]
fn an_unknown_check_id_is_a_bundle_error_and_exit_2() {
    let tmp = demo_copy();
    let header = tmp.path().join("bundle.yaml");
    edit(
        &header,
        "default_locale: en\n",
        "default_locale: en\nlint: { deny: [no-such-check] }\n",
    );
    let line = line_of(&header, "lint: { deny");
    let out = run(&["lint", path_str(tmp.path())]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr.contains(&format!("bundle.yaml:{line}:"))
            && out.stderr.contains("`no-such-check` is not a lint check"),
        "{out}"
    );
}

/// The `paymentGaps` entry of `merchant` and `decision`.
fn payment<'a>(doc: &'a Value, merchant: &str, decision: &str) -> &'a Value {
    doc["paymentGaps"]
        .as_array()
        .expect("paymentGaps")
        .iter()
        .find(|p| p["merchant"] == merchant && p["decision"] == decision)
        .unwrap_or_else(|| panic!("no {merchant} {decision} in {doc:#}"))
}

fn carried<'a>(entry: &'a Value, outcome: &str) -> Vec<&'a str> {
    entry["outcomes"][outcome]
        .as_array()
        .unwrap_or_else(|| panic!("no {outcome} in {entry}"))
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn the_demo_answers_every_merchants_link_and_charge_requests() {
    let demo = crate_path("bundles/demo");
    let (out, doc) = json(&demo);
    assert!(findings(&doc, "payment-gap").is_empty(), "{out}");
    // 3 merchants, no default profile: 3 x (link, charge).
    let entries = doc["paymentGaps"].as_array().expect("paymentGaps");
    assert_eq!(entries.len(), 6, "{out}");
    assert!(entries.iter().all(|p| p["gap"] == false), "{out}");
    let requests: u64 = entries
        .iter()
        .map(|p| p["requests"].as_u64().expect("requests"))
        .sum();
    assert_eq!(Some(requests), doc["paymentCorpusRequests"].as_u64());

    // `ride-share` takes no second method: a link is reached only through
    // auto-charge; a balance-only wallet is asked to enable auto-charge.
    let ride = payment(&doc, "ride-share", "payment_link");
    assert_eq!(
        ride["location"],
        format!("merchants.yaml:{}", demo_merchant_line("ride-share"))
    );
    assert_eq!(carried(ride, "LINK"), ["AUTO_CHARGE_AVAILABLE"], "{ride}");
    assert!(
        carried(ride, "REQUIRE_ACTION").contains(&"ENABLE_AUTO_CHARGE"),
        "{ride}"
    );
    let denies = carried(ride, "DENY");
    assert!(
        denies.contains(&"HEALTH_NOT_REPORTED") && denies.contains(&"HEALTH_SCORE_TOO_LOW"),
        "{ride}"
    );
    // `video-stream` takes cards: a second method links too.
    let video = payment(&doc, "video-stream", "payment_link");
    assert!(
        carried(video, "LINK").contains(&"SECOND_METHOD_AVAILABLE"),
        "{video}"
    );
    // Its charges: from the balance, topped up, or split with a fallback.
    let charge = payment(&doc, "video-stream", "charge_funding");
    let approve = carried(charge, "APPROVE");
    for steps in ["BALANCE", "BALANCE PAYMENT_METHOD"] {
        assert!(approve.contains(&steps), "{steps}: {charge}");
    }
    assert!(
        carried(charge, "DECLINE").contains(&"INSUFFICIENT_FUNDS"),
        "{charge}"
    );

    let text = run(&["lint", path_str(&demo)]);
    assert!(
        text.stdout.contains(&format!(
            "  merchants.yaml:{}: merchant `ride-share`: payment_link: DENY, LINK, REQUIRE_ACTION\n",
            demo_merchant_line("ride-share")
        )),
        "{text}"
    );
    assert!(
        text.stdout
            .contains("payment gaps: 0 of 6 merchants x payment decisions have requests that reach only NO_MATCHING_RULE"),
        "{text}"
    );
    assert!(
        text.stdout
            .contains("link and charge requests, not a proof"),
        "{text}"
    );
}

#[test]
fn a_merchant_the_link_rules_leave_unanswered_is_a_payment_gap_at_its_entry() {
    let tmp = demo_with_a_payment_link_gap();
    let line = demo_merchant_line("ride-share");
    let out = run(&["lint", path_str(tmp.path())]);
    assert_eq!(out.code, Some(0), "warn by default: {out}");
    assert!(
        out.stdout.contains(&format!(
            "merchants.yaml:{line}: warn [payment-gap]: merchant `ride-share`: payment_link: some generated requests reach only NO_MATCHING_RULE (others reach DENY, LINK, REQUIRE_ACTION), e.g. payment_link `ride-share`: balance ACTIVE, health 60\n"
        )),
        "{out}"
    );
    assert!(
        out.stdout.contains("merchant `ride-share`: payment_link: DENY, LINK, REQUIRE_ACTION + NO_MATCHING_RULE (gap)"),
        "{out}"
    );
    let (out, doc) = json(tmp.path());
    let gaps = findings(&doc, "payment-gap");
    // The other merchants take a second method: a balance-only wallet is
    // asked to add one by an earlier rule.
    assert_eq!(gaps.len(), 1, "{out}");
    assert_eq!(
        gaps[0]["location"],
        format!("merchants.yaml:{line}"),
        "{out}"
    );
    assert_eq!(gaps[0]["severity"], "warn", "{out}");
    assert!(
        gaps[0]["why"]
            .as_str()
            .is_some_and(|w| w.contains("NO_MATCHING_RULE")),
        "{out}"
    );
    let ride = payment(&doc, "ride-share", "payment_link");
    assert_eq!(ride["gap"], true, "{ride}");
    // The first such request: a balance-only wallet whose health meets
    // `ride-share`'s minimum of 60.
    assert_eq!(
        ride["example"], "payment_link `ride-share`: balance ACTIVE, health 60",
        "{ride}"
    );
    assert_eq!(payment(&doc, "ride-share", "charge_funding")["gap"], false);
    assert_eq!(payment(&doc, "video-stream", "payment_link")["gap"], false);

    // Every remaining test passes: `check` is clean until the bundle makes
    // the gap a deny.
    let check = run(&["check", path_str(tmp.path())]);
    assert_eq!(check.code, Some(0), "{check}");
    edit(
        &tmp.path().join("bundle.yaml"),
        "default_locale: en\n",
        "default_locale: en\nlint: { deny: [payment-gap] }\n",
    );
    let check = run(&["check", path_str(tmp.path())]);
    assert_eq!(check.code, Some(1), "{check}");
    assert!(
        check.stderr.contains(&format!(
            "merchants.yaml:{line}: deny [payment-gap]: merchant `ride-share`: payment_link: "
        )),
        "{check}"
    );
    assert!(
        check.stderr.contains("1 lint finding(s) at deny level"),
        "{check}"
    );
}

#[test]
fn a_charge_no_rule_funds_is_a_payment_gap_and_deny_fails_lint() {
    let tmp = demo_copy();
    remove_item(
        &tmp.path().join("charge_funding.yaml"),
        "  - id: fallback-method\n",
    );
    edit(
        &tmp.path().join("bundle.yaml"),
        "default_locale: en\n",
        "default_locale: en\nlint: { deny: [payment-gap] }\n",
    );
    let (out, doc) = json(tmp.path());
    assert_eq!(out.code, Some(1), "{out}");
    let gaps = findings(&doc, "payment-gap");
    // A short balance with a fallback method and no auto-charge: only the
    // merchants that take a fallback method see one.
    let mut merchants: Vec<&str> = gaps
        .iter()
        .map(|g| g["message"].as_str().expect("message"))
        .collect();
    merchants.sort_unstable();
    assert_eq!(merchants.len(), 2, "{out}");
    assert!(
        merchants[0].starts_with("merchant `meal-kit`: charge_funding: "),
        "{out}"
    );
    assert!(
        merchants[1].starts_with("merchant `video-stream`: charge_funding: "),
        "{out}"
    );
    for g in &gaps {
        assert_eq!(g["severity"], "deny", "{out}");
    }
    assert_eq!(
        gaps.iter()
            .filter(|g| g["location"]
                == format!("merchants.yaml:{}", demo_merchant_line("video-stream")))
            .count(),
        1,
        "{out}"
    );
    let text = run(&["lint", path_str(tmp.path())]);
    assert_eq!(text.code, Some(1), "{text}");
    assert!(text.stdout.contains("finding(s): 2 deny, "), "{text}");
}
