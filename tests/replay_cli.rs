//! `tollgate replay` as a process, on decision-log lines in the log's
//! format (`input` is the request in proto3 JSON, ids masked as keyed
//! hashes) and real bundle directories: the flips a lowered limit causes,
//! grouped as `diff` groups them; lines that cannot be replayed, counted
//! by why; `--against`; a 100 000-line log streamed.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{fmt::Write as _, fs, path::Path};

use serde_json::{Value, json};
use support::{
    crate_path, demo_that_does_not_compile, demo_with_fewer_standard_users, path_str, run,
};

/// A masked id, as the log writes one: 32 hex digits.
const MASKED: &str = "5f2b9c0e8d7a61f34b2c9d0e1f2a3b4c";

/// A logged tenant upgrade from `free` to `standard` with `users`, which
/// the demo bundle allowed.
fn upgrade_line(n: usize, users: u32) -> Value {
    json!({
        "v": 2,
        "decisionId": format!("0190d000-0000-7000-8000-{n:012}"),
        "timestamp": "2026-03-10T09:00:00Z",
        "decision": "plan_change",
        "input": {
            "tenantId": MASKED,
            "fromPlan": "free",
            "toPlan": "standard",
            "requester": { "role": "REQUESTER_ROLE_TENANT", "id": "" },
            "usage": { "users": users },
            "asOf": "2026-03-10T09:00:00Z"
        },
        "outcome": "VERDICT_ALLOW",
        "timing": "EFFECTIVE_TIMING_IMMEDIATE",
        "reasonCodes": ["UPGRADE"],
        "bundle": { "name": "demo", "revision": "2026-11-22.1", "digest": "x" }
    })
}

/// A logged reseller change, whose requester id the log masked: the
/// demo's reseller rules read it.
fn reseller_line(n: usize) -> Value {
    let mut line = upgrade_line(n, 3);
    line["input"]["requester"] = json!({ "role": "REQUESTER_ROLE_RESELLER", "id": MASKED });
    line
}

/// A logged line whose `fromPlan` an erase path removed.
fn erased_line(n: usize) -> Value {
    let mut line = upgrade_line(n, 3);
    line["input"]
        .as_object_mut()
        .expect("an object")
        .remove("fromPlan");
    line
}

fn write_log(path: &Path, lines: impl IntoIterator<Item = String>) {
    let mut text = String::new();
    for l in lines {
        writeln!(text, "{l}").expect("write to a string");
    }
    fs::write(path, text).expect("write the log");
}

fn replay_json(args: &[&str]) -> Value {
    let mut all = vec!["replay", "--format", "json"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.is_empty(),
        "no progress bar off a terminal: {out}"
    );
    serde_json::from_str(&out.stdout).expect("replay --format json prints JSON")
}

#[test]
fn a_lowered_limit_flips_the_logged_decisions_between_the_limits() {
    let new = demo_with_fewer_standard_users();
    let tmp = tempfile::tempdir().expect("temp dir");
    let log = tmp.path().join("decisions.jsonl");
    write_log(
        &log,
        [45, 3, 50, 40, 41]
            .into_iter()
            .enumerate()
            .map(|(n, u)| upgrade_line(n, u).to_string()),
    );
    let doc = replay_json(&["--bundle", path_str(new.path()), path_str(&log)]);
    assert_eq!(doc["lines"], 5);
    assert_eq!(doc["replayed"], 5);
    assert_eq!(doc["changed"], 3, "{doc:#}");
    let groups = doc["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{doc:#}");
    assert_eq!(
        groups[0]["old"],
        json!({ "decision": "ALLOW", "reasons": ["UPGRADE"] })
    );
    assert_eq!(
        groups[0]["new"],
        json!({ "decision": "DENY", "reasons": ["USAGE_EXCEEDS_TARGET_LIMIT"] })
    );
    // 45, 50 and 41 users: lines 1, 3 and 5.
    let requests: Vec<&str> = groups[0]["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r.as_str().expect("text"))
        .collect();
    assert_eq!(requests.len(), 3);
    for (line, want) in requests.iter().zip(["line 1 ", "line 3 ", "line 5 "]) {
        assert!(line.starts_with(want), "{requests:?}");
    }

    // Against the demo bundle instead of the log: the same flips, now
    // with the timing each bundle decides.
    let demo = crate_path("bundles/demo");
    let doc = replay_json(&[
        "--bundle",
        path_str(new.path()),
        "--against",
        path_str(&demo),
        path_str(&log),
    ]);
    assert_eq!(doc["changed"], 3, "{doc:#}");
    assert_eq!(
        doc["groups"][0]["old"],
        json!({ "decision": "ALLOW IMMEDIATE", "reasons": ["UPGRADE"] })
    );

    let out = run(&[
        "replay",
        "--bundle",
        path_str(new.path()),
        path_str(&log),
        "--fail-on-change",
    ]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stdout
            .contains("3 × plan_change: ALLOW [UPGRADE] → DENY [USAGE_EXCEEDS_TARGET_LIMIT]"),
        "{out}"
    );
}

#[test]
fn a_large_log_is_streamed_and_every_unreplayable_line_is_counted_by_why() {
    let new = demo_with_fewer_standard_users();
    let tmp = tempfile::tempdir().expect("temp dir");
    let log = tmp.path().join("decisions.jsonl");
    // 100 000 lines; of every 10: one flip (45 users), one reseller line
    // (masked id read by a rule), one erased `fromPlan`, one not JSON, and
    // one shadow disagreement record; the other five unchanged.
    let lines = (0..100_000usize).map(|n| match n % 10 {
        0 => upgrade_line(n, 45).to_string(),
        1 => reseller_line(n).to_string(),
        2 => erased_line(n).to_string(),
        3 => "{not json".to_owned(),
        4 => {
            let mut l = upgrade_line(n, 45);
            l["shadow"] = json!({ "outcome": "VERDICT_DENY" });
            l.to_string()
        }
        _ => upgrade_line(n, 3).to_string(),
    });
    write_log(&log, lines);
    let doc = replay_json(&["--bundle", path_str(new.path()), path_str(&log)]);
    assert_eq!(doc["lines"], 100_000);
    assert_eq!(doc["replayed"], 60_000, "{doc:#}");
    assert_eq!(doc["changed"], 10_000, "{doc:#}");
    assert_eq!(doc["shadow_records"], 10_000, "{doc:#}");
    // Each group keeps 20 examples, whatever its count.
    assert_eq!(
        doc["groups"][0]["requests"]
            .as_array()
            .expect("requests")
            .len(),
        20
    );
    let why: Vec<(String, u64)> = doc["unreplayed"]
        .as_array()
        .expect("unreplayed")
        .iter()
        .map(|u| {
            (
                u["why"].as_str().expect("why").to_owned(),
                u["count"].as_u64().expect("count"),
            )
        })
        .collect();
    assert_eq!(
        why,
        [
            (
                "a field the log does not keep, or an invalid one: from_plan".to_owned(),
                10_000
            ),
            (
                "a rule reads a masked id: rule `unknown-reseller` reads `reseller.known`"
                    .to_owned(),
                10_000
            ),
            ("not JSON".to_owned(), 10_000),
        ],
        "{doc:#}"
    );
}

#[test]
fn a_bundle_that_does_not_compile_exits_2() {
    let tmp = demo_that_does_not_compile();
    let log = tmp.path().join("log.jsonl");
    write_log(&log, [upgrade_line(0, 3).to_string()]);
    let out = run(&["replay", "--bundle", path_str(tmp.path()), path_str(&log)]);
    assert_eq!(out.code, Some(2), "{out}");
}
