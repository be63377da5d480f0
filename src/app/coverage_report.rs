//! How `tollgate test --coverage` reports: a section for people, a JSON
//! object (camelCase keys, the proto3 JSON spelling) and an LCOV tracefile
//! over the bundle's YAML lines, for the usual CI coverage tools.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use serde_json::{Value, json};

use crate::{
    engine::coverage::{Coverage, Point, RuleCoverage, percent},
    reload::BundleSource,
};

/// `file:line` of a rule's condition, or of the rule when it has none.
fn condition_at(r: &RuleCoverage) -> String {
    format!("{}:{}", r.file, r.condition_line.unwrap_or(r.line))
}

/// Every branch outcome no test saw, as `(location, rule, text)`.
fn missed(coverage: &Coverage) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for r in &coverage.rules {
        for p in r.branches.iter().flatten() {
            for o in &p.operands {
                let never = match (o.when_true > 0, o.when_false > 0) {
                    (true, true) => continue,
                    (false, false) => "never evaluated",
                    (true, false) => "never false",
                    (false, true) => "never true",
                };
                let what = match p.op {
                    "?:" => format!("`?:` condition `{}` {never}", o.text),
                    op => format!("`{op}` operand `{}` {never}", o.text),
                };
                out.push((condition_at(r), r.id.to_string(), what));
            }
        }
    }
    out
}

/// The summary line: rules and branch outcomes covered.
pub(super) fn summary(coverage: &Coverage) -> String {
    let rules = coverage.rules_covered();
    let branches = coverage.branches_covered();
    let interpreted = match coverage.interpreted() {
        0 => String::new(),
        n => format!("; {n} condition(s) run by the CEL interpreter have no branch data"),
    };
    format!(
        "coverage: {} of {} rules matched ({:.1}%), {} of {} branch outcomes seen ({:.1}%){interpreted}",
        rules.0,
        rules.1,
        percent(rules),
        branches.0,
        branches.1,
        percent(branches)
    )
}

/// The coverage section of the text report.
pub(super) fn text(coverage: &Coverage) -> String {
    let mut out = String::from("\nrules (tests matched / evaluated without a match):\n");
    for r in &coverage.rules {
        let items = if r.for_each {
            format!(
                "; {} of {} items matched",
                r.evaluations_matched, r.evaluations
            )
        } else {
            String::new()
        };
        let failed = match r.tests_failed {
            0 => String::new(),
            n => format!(", failed in {n}"),
        };
        let _ = writeln!(
            out,
            "  {:<7} {} ({}:{}): {} / {}{failed}{items}",
            if r.covered() { "ok" } else { "MISSED" },
            r.id,
            r.file,
            r.line,
            r.tests_matched,
            r.tests_not_matched,
        );
    }
    let silent: Vec<String> = coverage
        .codes
        .iter()
        .filter(|c| c.tests == 0)
        .map(|c| c.code.clone())
        .collect();
    if !silent.is_empty() {
        let _ = writeln!(out, "reason codes no test produced: {}", silent.join(", "));
    }
    let missed = missed(coverage);
    if !missed.is_empty() {
        out.push_str("branches not covered:\n");
        for (at, rule, what) in &missed {
            let _ = writeln!(out, "  {at}: rule `{rule}`: {what}");
        }
    }
    for r in coverage.rules.iter().filter(|r| r.branches.is_none()) {
        let _ = writeln!(
            out,
            "  {}: rule `{}`: condition run by the CEL interpreter, branches not measured",
            condition_at(r),
            r.id
        );
    }
    out.push_str(&summary(coverage));
    out.push('\n');
    out
}

/// The coverage as a JSON object.
pub(super) fn json(coverage: &Coverage) -> Value {
    let ratio = |(covered, total): (usize, usize)| json!({ "covered": covered, "total": total, "percent": percent((covered, total)) });
    let rules: Vec<Value> = coverage
        .rules
        .iter()
        .map(|r| {
            json!({
                "ruleId": r.id.to_string(),
                "effect": r.effect,
                "location": format!("{}:{}", r.file, r.line),
                "conditionLocation": r.condition_line.map(|l| format!("{}:{l}", r.file)),
                "forEach": r.for_each,
                "covered": r.covered(),
                "testsMatched": r.tests_matched,
                "testsNotMatched": r.tests_not_matched,
                "testsFailed": r.tests_failed,
                "evaluations": r.evaluations,
                "evaluationsMatched": r.evaluations_matched,
                "branches": r.branches.as_ref().map(|points| points.iter().map(point_json).collect::<Vec<_>>()),
            })
        })
        .collect();
    let codes: Vec<Value> = coverage
        .codes
        .iter()
        .map(|c| {
            json!({
                "code": c.code,
                "rules": c.rules.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "tests": c.tests,
                "produced": c.tests > 0,
            })
        })
        .collect();
    let missed: Vec<Value> = missed(coverage)
        .into_iter()
        .map(|(at, rule, what)| json!({ "location": at, "ruleId": rule, "missing": what }))
        .collect();
    json!({
        "tests": coverage.tests,
        "rules": ratio(coverage.rules_covered()),
        "branches": ratio(coverage.branches_covered()),
        "interpretedConditions": coverage.interpreted(),
        "ruleCoverage": rules,
        "reasonCodes": codes,
        "uncoveredRules": coverage.rules.iter().filter(|r| !r.covered()).map(|r| json!({
            "ruleId": r.id.to_string(),
            "location": format!("{}:{}", r.file, r.line),
        })).collect::<Vec<_>>(),
        "uncoveredBranches": missed,
    })
}

fn point_json(p: &Point) -> Value {
    json!({
        "operator": p.op,
        "operands": p.operands.iter().map(|o| json!({
            "expression": o.text,
            "whenTrue": o.when_true,
            "whenFalse": o.when_false,
        })).collect::<Vec<_>>(),
    })
}

/// The coverage as an LCOV tracefile: one record per YAML file with rules;
/// `DA:` for each rule's `id` line (hits: the tests that matched it) and
/// `when` line (hits: the tests that evaluated it), `BRDA:` on the `when`
/// line for each operand outcome (block: the decision point, branch: twice
/// the operand, plus one for false).
pub(super) fn lcov(coverage: &Coverage, source: &BundleSource) -> String {
    let mut by_file: BTreeMap<&str, Vec<&RuleCoverage>> = BTreeMap::new();
    for r in &coverage.rules {
        by_file.entry(&r.file).or_default().push(r);
    }
    let mut out = String::from("TN:tollgate\n");
    for (file, rules) in by_file {
        let path = match source {
            BundleSource::Path(dir) if dir.is_dir() => dir.join(file),
            _ => Path::new(file).to_path_buf(),
        };
        let _ = writeln!(out, "SF:{}", path.display());
        let mut lines: BTreeMap<u64, usize> = BTreeMap::new();
        let mut branches = Vec::new();
        for r in rules {
            lines.insert(r.line, r.tests_matched);
            let evaluated = r.tests_matched + r.tests_not_matched + r.tests_failed;
            let Some(at) = r.condition_line else {
                continue;
            };
            lines.insert(at, evaluated);
            for (block, p) in r.branches.iter().flatten().enumerate() {
                for (i, o) in p.operands.iter().enumerate() {
                    for (k, n) in [o.when_true, o.when_false].into_iter().enumerate() {
                        let taken = if evaluated == 0 {
                            "-".to_owned()
                        } else {
                            n.to_string()
                        };
                        branches.push(format!("BRDA:{at},{block},{},{taken}", 2 * i + k));
                    }
                }
            }
        }
        for b in &branches {
            out.push_str(b);
            out.push('\n');
        }
        let hit_branches = branches
            .iter()
            .filter(|b| !b.ends_with(",-") && !b.ends_with(",0"))
            .count();
        let _ = writeln!(out, "BRF:{}\nBRH:{hit_branches}", branches.len());
        for (line, hits) in &lines {
            let _ = writeln!(out, "DA:{line},{hits}");
        }
        let hit = lines.values().filter(|h| **h > 0).count();
        let _ = writeln!(out, "LF:{}\nLH:{hit}\nend_of_record", lines.len());
    }
    out
}
