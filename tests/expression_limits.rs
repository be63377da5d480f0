//! Issue 14's first finding, as processes: a bundle whose expressions sit
//! exactly at every limit passes `check`, runs its own test and decides on
//! a real server; one step past any limit is refused by `check`; and a
//! server that is handed the attack (thousands of chained terms) by hot
//! reload refuses it and keeps deciding on its last good bundle.

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
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use support::{Run, Serve, connect, copy_demo, free_port, free_to_standard, tollgate};
use tollgate::{
    bundle::limits::{MAX_BRACKETS, MAX_DEPTH, MAX_NODES, MAX_SOURCE_BYTES},
    grpc::pb::{
        self, bundle_service_client::BundleServiceClient,
        decision_service_client::DecisionServiceClient,
    },
};

/// A bound against hanging, not a speed requirement.
const DEADLINE: Duration = Duration::from_secs(30);

/// `n` copies of `term` joined by `op`.
fn chain(term: &str, op: &str, n: usize) -> String {
    vec![term; n].join(op)
}

/// Expressions parameterised by the one measure each is at: `at(limit)`
/// is exactly at it, `at(limit + 1)` one past. The comments give the
/// tree's shape.
struct Shape {
    name: &'static str,
    limit: usize,
    at: fn(usize) -> String,
    /// What `check` says one past the limit.
    refusal: fn(usize) -> String,
}

fn depth_refusal(depth: usize) -> String {
    format!("nesting depth of {depth} exceeds the limit of {MAX_DEPTH}")
}

const SHAPES: &[Shape] = &[
    // `>` over a left-deep chain of d - 1 terms: d deep, natively.
    Shape {
        name: "sum",
        limit: MAX_DEPTH,
        at: |d| format!("{} > 0", chain("1", " + ", d - 1)),
        refusal: depth_refusal,
    },
    Shape {
        name: "product",
        limit: MAX_DEPTH,
        at: |d| format!("{} > 0", chain("1", " * ", d - 1)),
        refusal: depth_refusal,
    },
    Shape {
        name: "concatenation",
        limit: MAX_DEPTH,
        at: |d| format!("{} != ''", chain("'a'", " + ", d - 1)),
        refusal: depth_refusal,
    },
    // A method call on a chain of d - 1 strings: d deep, interpreted.
    Shape {
        name: "interpreted",
        limit: MAX_DEPTH,
        at: |d| format!("({}).startsWith('a')", chain("'a'", " + ", d - 1)),
        refusal: depth_refusal,
    },
    // `size(...)` around b - 1 nested lists: b brackets.
    Shape {
        name: "lists",
        limit: MAX_BRACKETS,
        at: |b| format!("size({}1{}) > 0", "[".repeat(b - 1), "]".repeat(b - 1)),
        refusal: |b| format!("bracket nesting of {b} exceeds the limit of {MAX_BRACKETS}"),
    },
    // b grouping parentheses, the parser's costliest nesting.
    Shape {
        name: "parentheses",
        limit: MAX_BRACKETS,
        at: |b| format!("{}'a'{}.startsWith('a')", "(".repeat(b), ")".repeat(b)),
        refusal: |b| format!("bracket nesting of {b} exceeds the limit of {MAX_BRACKETS}"),
    },
    // `>`, `size`, the list, its n - 4 items and `0`: n nodes.
    Shape {
        name: "nodes",
        limit: MAX_NODES,
        at: |n| format!("size([{}]) > 0", chain("1", ", ", n - 4)),
        refusal: |n| format!("size of {n} nodes exceeds the limit of {MAX_NODES}"),
    },
    // The same and `&&` a method call (4 more nodes): interpreted.
    Shape {
        name: "interpreted-nodes",
        limit: MAX_NODES,
        at: |n| {
            format!(
                "size([{}]) > 0 && 'a'.startsWith('a')",
                chain("1", ", ", n - 8)
            )
        },
        refusal: |n| format!("size of {n} nodes exceeds the limit of {MAX_NODES}"),
    },
    // A literal and `!= ''`: l bytes.
    Shape {
        name: "length",
        limit: MAX_SOURCE_BYTES,
        at: |l| format!("'{}' != ''", "x".repeat(l - 8)),
        refusal: |l| format!("length of {l} bytes exceeds the limit of {MAX_SOURCE_BYTES}"),
    },
];

/// A template hole `MAX_DEPTH` deep, and what it renders.
fn deep_hole() -> (String, String) {
    (
        format!("{{{}}}", chain("1", " + ", MAX_DEPTH)),
        MAX_DEPTH.to_string(),
    )
}

/// An interpreted template hole `MAX_DEPTH` deep, and what it renders.
fn deep_interpreted_hole() -> (String, String) {
    (
        format!(
            "{{({}).startsWith('a')}}",
            chain("'a'", " + ", MAX_DEPTH - 1)
        ),
        "true".to_owned(),
    )
}

/// A YAML double-quoted scalar.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The code of the rule for `shape`.
fn code(shape: &Shape) -> String {
    format!("AT_{}", shape.name.to_uppercase().replace('-', "_"))
}

/// `limits.yaml`: one deny rule per shape at its limit, scoped to an
/// operator moving a tenant off `free` (no demo test asks that), and a test
/// that they all match, so `check` and every reload evaluate them.
fn limits_file(size: impl Fn(&Shape) -> usize) -> String {
    let (hole, _) = deep_hole();
    let (interpreted, _) = deep_interpreted_hole();
    let mut out = String::from("plan_change_rules:\n");
    for shape in SHAPES {
        out.push_str(&format!(
            "  - id: at-{}\n    requesters: [OPERATOR]\n    from_plans: [free]\n    when: {}\n    effect: deny\n    reason:\n      code: {}\n      message: {{ en: {}, ja: {} }}\n      details: {{ interpreted: {} }}\n",
            shape.name,
            quoted(&(shape.at)(size(shape))),
            code(shape),
            quoted(&hole),
            quoted(&hole),
            quoted(&interpreted),
        ));
    }
    let codes: Vec<String> = SHAPES.iter().map(code).collect();
    out.push_str(&format!(
        "tests:\n  - name: every rule at a limit matches\n    plan_change: {{ tenant_id: t1, from_plan: free, to_plan: standard, requester: {{ role: OPERATOR }}, as_of: \"2026-03-10T09:00:00Z\" }}\n    want: {{ verdict: DENY, reasons: [{}] }}\n",
        codes.join(", ")
    ));
    out
}

/// The demo bundle plus `limits.yaml`, in a temporary directory.
fn bundle(size: impl Fn(&Shape) -> usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_demo(dir.path());
    fs::write(dir.path().join("limits.yaml"), limits_file(size)).expect("write limits.yaml");
    dir
}

fn check(dir: &Path) -> Run {
    Run::of(tollgate().arg("check").arg(dir))
}

#[test]
fn check_accepts_every_limit_and_runs_the_rules_at_them() {
    let dir = bundle(|s| s.limit);
    let out = check(dir.path());
    assert_eq!(out.code, Some(0), "{out}");
    // The demo's own tests and the one that evaluates every rule above.
    let demo_tests = tollgate::bundle::compile(
        &tollgate::reload::BundleSource::Embedded
            .read()
            .expect("the demo bundle"),
    )
    .expect("the demo compiles")
    .tests
    .len();
    let passed = format!("{} tests passed", demo_tests + 1);
    assert!(out.stdout.contains(&passed), "{out}");
}

#[test]
fn check_refuses_one_past_each_limit() {
    for shape in SHAPES {
        let dir = bundle(|s| {
            if s.name == shape.name {
                s.limit + 1
            } else {
                s.limit
            }
        });
        let out = check(dir.path());
        assert_eq!(out.code, Some(1), "{}: {out}", shape.name);
        let want = format!(
            "rule `at-{}`: condition: {}",
            shape.name,
            (shape.refusal)(shape.limit + 1)
        );
        assert!(
            out.stderr.contains(&want),
            "{}: want {want}\n{out}",
            shape.name
        );
        assert!(
            out.stderr.contains(": 1 problem(s)"),
            "{}: {out}",
            shape.name
        );
    }
}

/// `tollgate serve` on `dir`, re-reading it every second besides watching.
fn serve(dir: &Path, port: u16) -> Serve {
    let child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", "off", "--poll-interval", "1"])
        .arg("--bundle")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tollgate serve");
    Serve(child)
}

fn tenant_upgrade() -> pb::PlanChangeRequest {
    pb::PlanChangeRequest {
        requester: Some(pb::Requester {
            role: pb::RequesterRole::Tenant.into(),
            id: String::new(),
        }),
        ..free_to_standard("t1", pb::RequesterRole::Operator)
    }
}

fn assert_alive(server: &mut Serve) {
    let exited = server.0.try_wait().expect("poll the server process");
    assert!(exited.is_none(), "the server died: {exited:?}");
}

#[tokio::test]
async fn serve_decides_at_every_limit() {
    let dir = bundle(|s| s.limit);
    let port = free_port();
    let mut server = serve(dir.path(), port);
    let mut client = DecisionServiceClient::new(connect(port).await);
    for _ in 0..3 {
        let d = client
            .decide_plan_change(free_to_standard("t1", pb::RequesterRole::Operator))
            .await
            .expect("DecidePlanChange")
            .into_inner();
        assert_eq!(d.verdict(), pb::Verdict::Deny, "{d:#?}");
        let codes: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
        let want: Vec<String> = SHAPES.iter().map(code).collect();
        assert_eq!(codes, want, "{d:#?}");
        for reason in &d.reasons {
            assert_eq!(reason.message, deep_hole().1, "{reason:?}");
            assert_eq!(reason.details["interpreted"], deep_interpreted_hole().1);
        }
        assert_alive(&mut server);
    }
}

/// The demo's `plan_change.yaml` with the three attacks prepended:
/// 5,000 terms of `+` (over the length limit as written in the report),
/// and 4,000 of `*` and string `+` written tight (within the length limit,
/// over the depth limit).
fn attack() -> String {
    let rules = [
        ("sum", format!("{} < 0", chain("1", " + ", 5000))),
        ("product", format!("{} < 0", chain("1", "*", 4000))),
        (
            "concatenation",
            format!("{} == ''", chain("'a'", "+", 2500)),
        ),
    ];
    let mut out = String::from("plan_change_rules:\n");
    for (id, when) in rules {
        out.push_str(&format!(
            "  - id: attack-{id}\n    when: {}\n    effect: deny\n    reason: {{ code: ATTACK, message: {{ en: boom, ja: boom }} }}\n",
            quoted(&when)
        ));
    }
    out
}

#[tokio::test]
async fn serve_refuses_a_hot_reloaded_attack_and_keeps_deciding() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_demo(dir.path());
    let port = free_port();
    let mut server = serve(dir.path(), port);
    let channel = connect(port).await;
    let mut decisions = DecisionServiceClient::new(channel.clone());
    let mut bundles = BundleServiceClient::new(channel);
    let before = bundles
        .get_bundle_status(pb::GetBundleStatusRequest {})
        .await
        .expect("GetBundleStatus")
        .into_inner();

    fs::write(dir.path().join("attack.yaml"), attack()).expect("write attack.yaml");
    let give_up = Instant::now() + DEADLINE;
    let status = loop {
        assert_alive(&mut server);
        let status = bundles
            .get_bundle_status(pb::GetBundleStatusRequest {})
            .await
            .expect("GetBundleStatus: the server is up")
            .into_inner();
        if !status.last_reload_error.is_empty() {
            break status;
        }
        assert!(Instant::now() < give_up, "no reload error: {status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for want in [
        "rule `attack-sum`: condition: length of 20001 bytes exceeds the limit of 16384",
        "rule `attack-product`: condition: nesting depth of at least 4000 exceeds the limit of 64",
        "rule `attack-concatenation`: condition: nesting depth of at least 2500 exceeds the limit of 64",
    ] {
        assert!(
            status.last_reload_error.contains(want),
            "want {want}: {status:?}"
        );
    }
    assert_eq!(status.digest, before.digest, "the last good bundle serves");

    for _ in 0..3 {
        let d = decisions
            .decide_plan_change(tenant_upgrade())
            .await
            .expect("DecidePlanChange")
            .into_inner();
        assert_eq!(d.verdict(), pb::Verdict::Allow, "{d:#?}");
        assert_alive(&mut server);
    }
}
