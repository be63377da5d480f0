//! `tollgate diff OLD NEW` as a process, on real bundle directories and
//! archives: what changed in the bundle's terms, exactly the decisions a
//! changed limit flips, `--fail-on-change`, and exit 2 for a bundle that
//! does not compile.

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
    copy_demo, crate_path, demo_that_does_not_compile, demo_with_fewer_standard_users, edit,
    pack_demo, path_str, run,
};

fn diff_json(old: &Path, new: &Path) -> Value {
    let out = run(&["diff", path_str(old), path_str(new), "--format", "json"]);
    assert_eq!(out.code, Some(0), "{out}");
    serde_json::from_str(&out.stdout).expect("diff --format json prints JSON")
}

/// The `users` value of a generated plan-change request's description.
fn users_of(request: &str) -> Option<f64> {
    let at = request.find("usage {")?;
    let usage = &request[at..];
    let users = usage.find("users=")?;
    let rest = &usage[users + "users=".len()..];
    let end = rest.find([',', '}'])?;
    rest[..end].parse().ok()
}

#[test]
fn a_lowered_limit_flips_exactly_the_requests_between_the_two_limits() {
    let new = demo_with_fewer_standard_users();
    let doc = diff_json(&crate_path("bundles/demo"), new.path());

    let changes = doc["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0]["subject"], "plan `standard`");
    assert_eq!(changes[0]["what"], "limit `users`");
    assert_eq!(changes[0]["old"], "50.0");
    assert_eq!(changes[0]["new"], "40.0");

    // Every flipped decision is a change to `standard` by a tenant whose
    // users are over the new limit and within the old one, now denied with
    // that reason among its own.
    let mut flipped = Vec::new();
    for group in doc["groups"].as_array().expect("groups") {
        assert_eq!(group["decision"], "plan_change", "{group:#}");
        let new_reasons: Vec<&str> = group["new"]["reasons"]
            .as_array()
            .expect("reasons")
            .iter()
            .map(|r| r.as_str().expect("code"))
            .collect();
        assert_eq!(group["new"]["decision"], "DENY", "{group:#}");
        assert!(
            new_reasons.contains(&"USAGE_EXCEEDS_TARGET_LIMIT"),
            "{group:#}"
        );
        let requests = group["requests"].as_array().expect("requests");
        assert_eq!(group["count"], requests.len());
        flipped.extend(
            requests
                .iter()
                .map(|r| r.as_str().expect("text").to_owned()),
        );
    }
    for request in &flipped {
        assert!(request.contains("→ standard by"), "{request}");
        assert!(!request.starts_with("plan_change standard"), "{request}");
        let users = users_of(request).unwrap_or_else(|| panic!("no users in {request}"));
        assert!(users > 40.0 && users <= 50.0, "{request}");
    }
    // And every such request of the corpus flipped: 3 source plans (free,
    // premium, enterprise) × 5 requesters (tenant, provider, operator and
    // the two resellers) × 3 user counts (41, 49, 50: the probes around
    // both limits inside (40, 50]) × with and without a commitment term.
    assert_eq!(flipped.len(), 3 * 5 * 3 * 2, "{flipped:#?}");
    assert_eq!(doc["changed"], flipped.len());
    assert!(
        doc["generated"].as_u64().expect("generated") > 1000,
        "{doc:#}"
    );
}

#[test]
fn text_groups_the_flips_and_fail_on_change_exits_1() {
    let new = demo_with_fewer_standard_users();
    let demo = crate_path("bundles/demo");
    let out = run(&["diff", path_str(&demo), path_str(new.path())]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stdout
            .contains("plan `standard`: limit `users`: 50.0 → 40.0"),
        "{out}"
    );
    assert!(
        out.stdout.contains(
            "× plan_change: ALLOW IMMEDIATE [UPGRADE] → DENY [USAGE_EXCEEDS_TARGET_LIMIT]"
        ),
        "{out}"
    );
    assert!(out.stdout.contains(": 90 changed"), "{out}");

    let out = run(&[
        "diff",
        path_str(&demo),
        path_str(new.path()),
        "--fail-on-change",
    ]);
    assert_eq!(out.code, Some(1), "{out}");
}

#[test]
fn the_same_bundle_changes_nothing_even_as_an_archive() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let archive = tmp.path().join("demo.tar.gz");
    pack_demo(&archive);

    let demo = crate_path("bundles/demo");
    let out = run(&[
        "diff",
        path_str(&archive),
        path_str(&demo),
        "--fail-on-change",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stdout
            .contains("what changed: nothing in plans, resellers, merchants or rules"),
        "{out}"
    );
    assert!(out.stdout.contains(": 0 changed"), "{out}");
}

#[test]
fn a_rule_moved_and_reworded_is_said_in_the_bundles_terms() {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    // The reseller checks swap places and the downgrade timing changes.
    let rules = tmp.path().join("plan_change.yaml");
    let text = fs::read_to_string(&rules).expect("read rules");
    let unknown_at = text
        .find("  - id: unknown-reseller\n")
        .expect("unknown-reseller");
    let contract_at = text
        .find("  - id: reseller-contract-only\n")
        .expect("reseller-contract-only");
    let (head, rest) = text.split_at(contract_at);
    let (contract, rest) = rest.split_at(unknown_at - contract_at);
    let unknown_end = rest.find("\n\n").expect("blank line after the rule") + 2;
    let (unknown, tail) = rest.split_at(unknown_end);
    fs::write(&rules, format!("{head}{unknown}{contract}{tail}")).expect("write rules");
    edit(
        &rules,
        "    when: change.downgrade && change.in_commitment\n    effect: allow\n    timing: end_of_term",
        "    when: change.downgrade && change.in_commitment\n    effect: allow\n    timing: next_billing_cycle",
    );

    let doc = diff_json(&crate_path("bundles/demo"), tmp.path());
    let changes: Vec<String> = doc["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            format!(
                "{} / {} / {} / {}",
                c["subject"], c["what"], c["old"], c["new"]
            )
        })
        .collect();
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert!(
        changes[0].starts_with(
            "\"rule `downgrade-in-commitment` (plan_change)\" / \"effect\" / \"allow EndOfTerm\" / \"allow NextBillingCycle\""
        ),
        "{changes:#?}"
    );
    assert_eq!(
        changes[1],
        "\"plan_change rules\" / \"reordered (place among the rules both have)\" / \"`reseller-contract-only` 4, `unknown-reseller` 5\" / \"`reseller-contract-only` 5, `unknown-reseller` 4\"",
        "{changes:#?}"
    );
    // Committed downgrades now wait for the next cycle instead.
    let groups = doc["groups"].as_array().expect("groups");
    assert!(
        groups
            .iter()
            .any(|g| g["old"]["decision"] == "ALLOW END_OF_TERM"
                && g["new"]["decision"] == "ALLOW NEXT_BILLING_CYCLE"),
        "{groups:#?}"
    );
}

#[test]
fn a_bundle_that_does_not_compile_exits_2() {
    let tmp = demo_that_does_not_compile();
    let demo = crate_path("bundles/demo");
    let out = run(&["diff", path_str(&demo), path_str(tmp.path())]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("plan_change.yaml:"), "{out}");
    assert!(out.stdout.is_empty(), "{out}");
}
