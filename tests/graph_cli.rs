//! `tollgate graph` as a process: the demo's plan graph as DOT and as SVG
//! (parsed as XML) has one node per catalogue plan and one edge per ordered
//! pair and requester role (or per pair with `--role`), coloured as
//! `tollgate lint --format json` reports the same pair (the same analysis);
//! a plan pair no rule answers is drawn as a dashed gap; `--decision
//! payment-link` and `charge-funding` draw each merchant with an edge to
//! every outcome lint reports its requests reach, and a dashed edge to
//! `NO_MATCHING_RULE` for a payment gap; a bad role is a usage error and a
//! bundle that does not compile exits 2.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use serde_json::Value;
use support::{
    copy_demo, crate_path, demo_with_a_lateral_plan, demo_with_a_payment_link_gap, edit, path_str,
    run,
};

const DEMO_PLANS: [&str; 4] = ["free", "standard", "premium", "enterprise"];

/// One `"from" -> "to" [label=..., color=..., style=...]` line of the DOT.
#[derive(Debug)]
struct Edge {
    from: String,
    to: String,
    label: String,
    color: String,
    style: String,
}

/// The first `"..."` string in `s`, and what follows it.
fn quoted(s: &str) -> (String, &str) {
    let start = s.find('"').expect("a quoted string");
    let rest = &s[start + 1..];
    let end = rest.find('"').expect("its end");
    (rest[..end].to_owned(), &rest[end + 1..])
}

fn attr(line: &str, key: &str) -> String {
    let at = line
        .find(&format!("{key}="))
        .unwrap_or_else(|| panic!("no {key} in {line}"));
    quoted(&line[at..]).0
}

/// The node ids and edges of a DOT document as `tollgate graph` writes it.
fn parse_dot(dot: &str) -> (Vec<String>, Vec<Edge>) {
    assert!(dot.starts_with("digraph plans {\n"), "{dot}");
    parse_digraph(dot)
}

/// The node ids and edges of any digraph `tollgate graph` writes.
fn parse_digraph(dot: &str) -> (Vec<String>, Vec<Edge>) {
    assert!(dot.trim_end().ends_with('}'), "{dot}");
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for line in dot.lines().map(str::trim).filter(|l| l.starts_with('"')) {
        let (from, rest) = quoted(line);
        if let Some(rest) = rest.trim_start().strip_prefix("->") {
            edges.push(Edge {
                from,
                to: quoted(rest).0,
                label: attr(line, "label"),
                color: attr(line, "color"),
                style: attr(line, "style"),
            });
        } else {
            nodes.push(from);
        }
    }
    (nodes, edges)
}

fn lint_pairs(path: &str) -> Vec<Value> {
    let out = run(&["lint", "--format", "json", path]);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    doc["planChangeGaps"].as_array().expect("pairs").clone()
}

#[test]
fn the_demo_dot_has_every_plan_and_every_pair_and_role_as_lint_sees_them() {
    let demo = crate_path("bundles/demo");
    let out = run(&["graph", "--format", "dot", path_str(&demo)]);
    assert_eq!(out.code, Some(0), "{out}");
    let (nodes, edges) = parse_dot(&out.stdout);
    let mut sorted = nodes.clone();
    sorted.sort();
    let mut expected = DEMO_PLANS.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(sorted, expected, "{out}");
    // 4 plans: 12 ordered pairs, 4 roles.
    assert_eq!(edges.len(), 48, "{out}");
    let pairs = lint_pairs(path_str(&demo));
    assert_eq!(pairs.len(), 48);
    for p in &pairs {
        let role = p["requesterRole"].as_str().expect("role");
        let edge = edges
            .iter()
            .find(|e| e.from == p["fromPlan"] && e.to == p["toPlan"] && e.label.starts_with(role))
            .unwrap_or_else(|| panic!("no edge for {p}"));
        let allows: Vec<&str> = p["allowTimings"]
            .as_array()
            .expect("timings")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let denies: Vec<&str> = p["denyCodes"]
            .as_array()
            .expect("codes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if allows.is_empty() {
            assert_eq!(edge.color, "red", "{edge:?} {p}");
            assert_eq!(edge.label, format!("{role}: deny {}", denies.join(" ")));
        } else {
            assert_eq!(edge.color, "green", "{edge:?} {p}");
            assert_eq!(edge.label, format!("{role}: allow {}", allows.join(" ")));
        }
        assert_eq!(edge.style, "solid", "the demo has no gap: {edge:?}");
    }
    let upgrade = edges
        .iter()
        .find(|e| e.from == "free" && e.to == "standard" && e.label.starts_with("TENANT"))
        .expect("free -> standard");
    assert_eq!(upgrade.label, "TENANT: allow IMMEDIATE");

    let tenant = run(&["graph", "--format", "dot", "--role", "TENANT"]);
    assert_eq!(tenant.code, Some(0), "{tenant}");
    let (nodes, edges) = parse_dot(&tenant.stdout);
    assert_eq!(nodes.len(), 4, "{tenant}");
    assert_eq!(edges.len(), 12, "{tenant}");
    assert!(
        edges.iter().all(|e| e.label.starts_with("TENANT: ")),
        "{tenant}"
    );
}

/// The `<text>` contents and the `<path>` strokes of an SVG document.
fn parse_svg(svg: &str) -> (Vec<String>, Vec<String>) {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let texts = root
        .descendants()
        .filter(|n| n.has_tag_name("tspan"))
        .filter_map(|n| n.text())
        .map(str::to_owned)
        .collect();
    let strokes = root
        .descendants()
        .filter(|n| n.has_tag_name("path"))
        .map(|n| n.attribute("stroke").unwrap_or("").to_owned())
        .collect();
    (texts, strokes)
}

const GREEN: &str = "#008000ff";
const RED: &str = "#ff0000ff";

#[test]
fn the_demo_svg_is_xml_with_a_node_per_plan_and_an_edge_per_pair_and_role() {
    // SVG is the default format.
    let out = run(&["graph"]);
    assert_eq!(out.code, Some(0), "{out}");
    let (texts, strokes) = parse_svg(&out.stdout);
    for plan in DEMO_PLANS {
        let nodes = texts
            .iter()
            .filter(|t| t.starts_with(&format!("{plan} (rank ")))
            .count();
        assert_eq!(nodes, 1, "{plan}: {texts:#?}");
    }
    assert_eq!(strokes.len(), 48, "{strokes:?}");
    for role in ["TENANT", "RESELLER", "PROVIDER", "OPERATOR"] {
        let labels = texts
            .iter()
            .filter(|t| t.starts_with(&format!("{role}: ")))
            .count();
        assert_eq!(labels, 12, "{role}: {texts:#?}");
    }
    assert!(
        strokes.iter().all(|s| s == GREEN || s == RED),
        "{strokes:?}"
    );
    assert!(strokes.iter().any(|s| s == GREEN), "{strokes:?}");
    assert!(strokes.iter().any(|s| s == RED), "{strokes:?}");

    // The picture in the docs is this output, kept up to date.
    let shipped = std::fs::read_to_string(crate_path("docs/plan-graph.svg")).expect("docs");
    assert!(
        shipped == out.stdout,
        "docs/plan-graph.svg differs: regenerate it with `tollgate graph > docs/plan-graph.svg`"
    );

    let provider = run(&["graph", "--role", "PROVIDER", "--format", "svg"]);
    assert_eq!(provider.code, Some(0), "{provider}");
    let (texts, strokes) = parse_svg(&provider.stdout);
    assert_eq!(strokes.len(), 12, "{strokes:?}");
    assert!(
        texts.iter().all(|t| !t.starts_with("TENANT: ")),
        "{texts:?}"
    );
}

#[test]
fn a_plan_pair_no_rule_answers_is_drawn_as_a_dashed_gap() {
    let tmp = demo_with_a_lateral_plan();
    let path = path_str(tmp.path());
    let out = run(&["graph", "--format", "dot", "--role", "TENANT", path]);
    assert_eq!(out.code, Some(0), "{out}");
    let (nodes, edges) = parse_dot(&out.stdout);
    assert_eq!(nodes.len(), 5, "{out}");
    assert_eq!(edges.len(), 20, "{out}");
    let lateral = edges
        .iter()
        .find(|e| e.from == "standard" && e.to == "standard-eu")
        .expect("standard -> standard-eu");
    assert_eq!(lateral.style, "dashed", "{lateral:?}");
    assert!(lateral.label.contains("gap"), "{lateral:?}");
    let gaps_in_lint = lint_pairs(path)
        .iter()
        .filter(|p| p["requesterRole"] == "TENANT" && p["gap"] == true)
        .count();
    assert_eq!(
        edges.iter().filter(|e| e.style == "dashed").count(),
        gaps_in_lint,
        "{out}"
    );
    let svg = run(&["graph", "--role", "TENANT", path]);
    assert_eq!(svg.code, Some(0), "{svg}");
    let (_, strokes) = parse_svg(&svg.stdout);
    assert_eq!(strokes.len(), 20);
    let doc = roxmltree::Document::parse(&svg.stdout).expect("XML");
    let dashed = doc
        .descendants()
        .filter(|n| n.has_tag_name("path") && n.attribute("stroke-dasharray").is_some())
        .count();
    assert_eq!(dashed, gaps_in_lint, "{}", svg.stdout);
}

#[test]
fn a_bad_role_is_a_usage_error_and_a_bad_bundle_exits_2() {
    // Usage errors exit 64 (EX_USAGE), as for every command.
    let out = run(&["graph", "--role", "CUSTOMER"]);
    assert_eq!(out.code, Some(64), "{out}");
    assert!(
        out.stderr.contains("`CUSTOMER` is not a requester role"),
        "{out}"
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    edit(
        &tmp.path().join("plans.yaml"),
        "  - id: premium\n",
        "  - id: [\n",
    );
    let out = run(&["graph", path_str(tmp.path())]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stdout.is_empty(), "{out}");
}

fn lint_payments(path: &str, decision: &str) -> Vec<Value> {
    let out = run(&["lint", "--format", "json", path]);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    doc["paymentGaps"]
        .as_array()
        .expect("paymentGaps")
        .iter()
        .filter(|p| p["decision"] == decision)
        .cloned()
        .collect()
}

const DEMO_MERCHANTS: [&str; 3] = ["meal-kit", "ride-share", "video-stream"];

#[test]
fn the_payment_pictures_draw_each_merchant_and_the_outcomes_lint_reports() {
    let demo = crate_path("bundles/demo");
    for (flag, decision) in [
        ("payment-link", "payment_link"),
        ("charge-funding", "charge_funding"),
    ] {
        let out = run(&[
            "graph",
            "--decision",
            flag,
            "--format",
            "dot",
            path_str(&demo),
        ]);
        assert_eq!(out.code, Some(0), "{out}");
        assert!(
            out.stdout.starts_with(&format!("digraph {decision} {{\n")),
            "{out}"
        );
        let (nodes, edges) = parse_digraph(&out.stdout);
        for m in DEMO_MERCHANTS {
            assert!(nodes.contains(&format!("merchant {m}")), "{m}: {out}");
        }
        let entries = lint_payments(path_str(&demo), decision);
        assert_eq!(entries.len(), 3, "{entries:?}");
        let mut expected = 0;
        for p in &entries {
            let merchant = p["merchant"].as_str().expect("merchant");
            for (outcome, carried) in p["outcomes"].as_object().expect("outcomes") {
                expected += 1;
                let edge = edges
                    .iter()
                    .find(|e| {
                        e.from == format!("merchant {merchant}")
                            && e.to == format!("outcome {outcome}")
                    })
                    .unwrap_or_else(|| panic!("no {merchant} -> {outcome}: {out}"));
                let carried: Vec<&str> = carried
                    .as_array()
                    .expect("carried")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                // One line each, written `\n` in DOT.
                assert_eq!(edge.label, carried.join("\\n"), "{edge:?}");
                let color = match outcome.as_str() {
                    "LINK" | "APPROVE" => "green",
                    "REQUIRE_ACTION" => "blue",
                    _ => "red",
                };
                assert_eq!(edge.color, color, "{edge:?}");
                assert_eq!(edge.style, "solid", "the demo has no payment gap");
            }
        }
        assert_eq!(edges.len(), expected, "{out}");

        let svg = run(&["graph", "--decision", flag, path_str(&demo)]);
        assert_eq!(svg.code, Some(0), "{svg}");
        let (texts, strokes) = parse_svg(&svg.stdout);
        for m in DEMO_MERCHANTS {
            assert!(texts.iter().any(|t| t == m), "{m}: {texts:?}");
        }
        assert_eq!(strokes.len(), expected, "{strokes:?}");
        let shipped =
            std::fs::read_to_string(crate_path(&format!("docs/{flag}-graph.svg"))).expect("docs");
        assert!(
            shipped == svg.stdout,
            "docs/{flag}-graph.svg differs: regenerate it with `tollgate graph --decision {flag} > docs/{flag}-graph.svg`"
        );
    }
}

#[test]
fn a_merchant_no_link_rule_answers_is_drawn_with_a_dashed_gap() {
    let tmp = demo_with_a_payment_link_gap();
    let path = path_str(tmp.path());
    let out = run(&[
        "graph",
        "--decision",
        "payment-link",
        "--format",
        "dot",
        path,
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    let (nodes, edges) = parse_digraph(&out.stdout);
    assert!(
        nodes.contains(&"outcome NO_MATCHING_RULE".to_owned()),
        "{out}"
    );
    let dashed: Vec<&Edge> = edges.iter().filter(|e| e.style == "dashed").collect();
    assert_eq!(dashed.len(), 1, "{out}");
    assert_eq!(dashed[0].from, "merchant ride-share", "{out}");
    assert_eq!(dashed[0].to, "outcome NO_MATCHING_RULE", "{out}");
    assert_eq!(dashed[0].color, "orange", "{out}");
    let gaps = lint_payments(path, "payment_link")
        .iter()
        .filter(|p| p["gap"] == true)
        .count();
    assert_eq!(gaps, dashed.len());
    let svg = run(&["graph", "--decision", "payment-link", path]);
    let doc = roxmltree::Document::parse(&svg.stdout).expect("XML");
    let dashed = doc
        .descendants()
        .filter(|n| n.has_tag_name("path") && n.attribute("stroke-dasharray").is_some())
        .count();
    assert_eq!(dashed, 1, "{}", svg.stdout);

    // `--role` is the plan graph's: a usage error with a payment picture.
    let out = run(&["graph", "--decision", "charge-funding", "--role", "TENANT"]);
    assert_eq!(out.code, Some(64), "{out}");
    assert!(
        out.stderr.contains("--role applies to the plan graph"),
        "{out}"
    );
}
