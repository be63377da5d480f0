//! `tollgate test --coverage` as a CI job runs it, on bundle directories:
//! the demo reaches every rule and says which branch outcomes it misses; a
//! rule no test matches fails `--min-coverage`; a test that makes an
//! operand true removes that miss; `--format json` carries the same
//! figures in camelCase; `--coverage-out` writes an LCOV tracefile that
//! reads back (a small reader here) to the same figures, and that the real
//! `lcov --summary` (Debian `lcov`) summarises alike. Without `lcov` on
//! `PATH` that trial is ignored, with the reason; under
//! `TOLLGATE_CI_REQUIRE_TOOLS=1` (set by `.ci/run`) it fails.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{collections::BTreeMap, fs, path::Path, process::Command};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::Value;
use support::{Run, copy_demo, crate_path, edit, missing_tool, on_path, path_str, run};

const INSTALL: &str = "apt-get install lcov";

fn main() {
    let args = Arguments::from_args();
    let lcov = on_path("lcov");
    let trials = vec![
        Trial::test(
            "the demo matches every rule and lists the branches it misses",
            demo_text,
        ),
        Trial::test("a rule no test matches fails --min-coverage", untested_rule),
        Trial::test(
            "a test that makes an operand true removes its miss",
            operand_true,
        ),
        Trial::test("--format json has the coverage in camelCase", json_report),
        Trial::test(
            "the LCOV file reads back to the JSON figures",
            lcov_reads_back,
        ),
        Trial::ignorable_test(
            "lcov --summary reads the LCOV file alike",
            move || match lcov {
                Some(lcov) => lcov_summary(&lcov).map(|()| Completion::Completed),
                None => missing_tool(&format!("lcov is not on PATH; `{INSTALL}` installs it")),
            },
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}

fn check(ok: bool, what: &str, run: &Run) -> Result<(), Failed> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}\n{run}").into())
    }
}

/// The rules written in the demo's rule files (`- id:` lines).
fn demo_rule_count() -> usize {
    [
        "plan_change.yaml",
        "payment_link.yaml",
        "charge_funding.yaml",
    ]
    .iter()
    .map(|f| {
        let text = fs::read_to_string(crate_path("bundles/demo").join(f)).expect("read");
        text.lines()
            .filter(|l| l.trim_start().starts_with("- id: "))
            .count()
    })
    .sum()
}

/// The 1-based line of the first line of `file` containing `needle`.
fn line_of(file: &Path, needle: &str) -> usize {
    let text = fs::read_to_string(file).expect("read");
    1 + text.lines().position(|l| l.contains(needle)).expect(needle)
}

fn demo_text() -> Result<(), Failed> {
    let demo = crate_path("bundles/demo");
    let out = run(&["test", "--min-coverage", "100", path_str(&demo)]);
    let n = demo_rule_count();
    check(out.code == Some(0), "exit 0", &out)?;
    check(
        out.stdout
            .contains(&format!("coverage: {n} of {n} rules matched (100.0%)")),
        "every rule matched",
        &out,
    )?;
    let when = line_of(
        &demo.join("plan_change.yaml"),
        "when: source.attributes.contract_only || target.attributes.contract_only",
    );
    check(
        out.stdout.contains(&format!(
            "plan_change.yaml:{when}: rule `reseller-contract-only`: `||` operand `source.attributes.contract_only` never true"
        )),
        "the demo never has a reseller move a tenant off a contract-only plan",
        &out,
    )?;
    let rule = line_of(
        &demo.join("plan_change.yaml"),
        "- id: usage-within-target-limits",
    );
    check(
        out.stdout.contains(&format!(
            "usage-within-target-limits (plan_change.yaml:{rule}): "
        )) && out.stdout.contains("items matched"),
        "a for_each rule says over how many items",
        &out,
    )
}

/// A copy of the demo with a deny rule no test reaches.
fn bundle_with_untested_rule() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    edit(
        &tmp.path().join("plan_change.yaml"),
        "  - id: same-plan\n",
        "  - id: never-tested\n    when: change.upgrade && source.rank > 100\n    effect: deny\n    reason:\n      code: NEVER_TESTED\n      message: { en: never, ja: never }\n\n  - id: same-plan\n",
    );
    tmp
}

fn untested_rule() -> Result<(), Failed> {
    let tmp = bundle_with_untested_rule();
    let line = line_of(&tmp.path().join("plan_change.yaml"), "- id: never-tested");
    let n = demo_rule_count() + 1;
    let out = run(&["test", "--min-coverage", "100", path_str(tmp.path())]);
    check(out.code == Some(1), "exit 1 below the threshold", &out)?;
    check(
        out.stderr.contains("--min-coverage 100")
            && out.stdout.contains(&format!(
                "MISSED  never-tested (plan_change.yaml:{line}): 0 / "
            )),
        "the untested rule named with its line",
        &out,
    )?;
    check(
        out.stdout
            .contains(&format!("coverage: {} of {n} rules matched", n - 1)),
        "the count",
        &out,
    )?;
    check(
        out.stdout
            .contains("reason codes no test produced: NEVER_TESTED"),
        "its reason code is never produced",
        &out,
    )?;
    // The rule is evaluated (every upgrade) but never holds: its second
    // operand is never true.
    check(
        out.stdout
            .contains("rule `never-tested`: `&&` operand `source.rank > 100` never true"),
        "the operand that keeps it from matching",
        &out,
    )?;
    let out = run(&["test", "--min-coverage", "95", path_str(tmp.path())]);
    check(out.code == Some(0), "a lower threshold passes", &out)
}

fn operand_true() -> Result<(), Failed> {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(tmp.path());
    let miss = "`||` operand `source.attributes.contract_only` never true";
    edit(
        &tmp.path().join("plan_change_tests.yaml"),
        "  - name: provider may move a tenant to a contract-only plan\n",
        "  - name: reseller cannot move a tenant off a contract-only plan\n    plan_change:\n      tenant_id: t1\n      from_plan: enterprise\n      to_plan: premium\n      requester: { role: RESELLER, id: reseller-7 }\n      as_of: \"2026-03-10T09:00:00Z\"\n      usage: { users: 1, storage_gb: 1 }\n      period_usage: { api_calls: 1 }\n    want: { verdict: DENY }\n\n  - name: provider may move a tenant to a contract-only plan\n",
    );
    let out = run(&["test", "--coverage", path_str(tmp.path())]);
    check(out.code == Some(0), "the new test passes", &out)?;
    check(
        !out.stdout
            .lines()
            .any(|l| l.contains("reseller-contract-only") && l.contains(miss)),
        "the miss is gone",
        &out,
    )
}

fn json_of(path: &Path, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["test", "--coverage", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(path_str(path));
    let out = run(&args);
    let doc = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    (out, doc)
}

fn json_report() -> Result<(), Failed> {
    let tmp = bundle_with_untested_rule();
    let (out, doc) = json_of(tmp.path(), &[]);
    let c = &doc["coverage"];
    let n = demo_rule_count() + 1;
    check(
        c["rules"]["total"] == n && c["rules"]["covered"] == n - 1,
        "rules covered / total",
        &out,
    )?;
    let uncovered = c["uncoveredRules"].as_array().expect("uncoveredRules");
    check(
        uncovered.len() == 1 && uncovered[0]["ruleId"] == "never-tested",
        "the uncovered rule",
        &out,
    )?;
    let rules = c["ruleCoverage"].as_array().expect("ruleCoverage");
    let rule = |id: &str| {
        rules
            .iter()
            .find(|r| r["ruleId"] == id)
            .unwrap_or_else(|| panic!("rule {id}"))
    };
    let usage = rule("usage-within-target-limits");
    check(
        usage["forEach"] == true
            && usage["evaluations"].as_u64() > usage["evaluationsMatched"].as_u64()
            && usage["evaluationsMatched"].as_u64() > Some(0),
        "a for_each rule's items",
        &out,
    )?;
    let code = c["reasonCodes"]
        .as_array()
        .expect("reasonCodes")
        .iter()
        .find(|c| c["code"] == "NEVER_TESTED")
        .expect("NEVER_TESTED");
    check(
        code["produced"] == false && code["rules"][0] == "never-tested",
        "an unproduced code",
        &out,
    )?;
    let branches = &c["branches"];
    let seen: u64 = rules
        .iter()
        .flat_map(|r| r["branches"].as_array().into_iter().flatten())
        .flat_map(|p| p["operands"].as_array().expect("operands"))
        .map(|o| u64::from(o["whenTrue"] != 0) + u64::from(o["whenFalse"] != 0))
        .sum();
    check(
        branches["covered"] == seen
            && c["uncoveredBranches"]
                .as_array()
                .is_some_and(|b| !b.is_empty()),
        "branch outcomes add up",
        &out,
    )
}

/// An LCOV tracefile as read back: per file, `DA` hits by line and `BRDA`
/// entries, with the totals it states.
#[derive(Default, Debug)]
struct Record {
    lines: BTreeMap<usize, u64>,
    branches: Vec<(usize, String)>,
    totals: BTreeMap<String, usize>,
}

fn read_lcov(text: &str) -> BTreeMap<String, Record> {
    let mut out = BTreeMap::new();
    let mut file = None;
    let mut rec = Record::default();
    for line in text.lines() {
        let (key, value) = line.split_once(':').unwrap_or((line, ""));
        match key {
            "TN" => {}
            "SF" => file = Some(value.to_owned()),
            "DA" => {
                let (l, hits) = value.split_once(',').expect("DA:line,hits");
                rec.lines
                    .insert(l.parse().expect("line"), hits.parse().expect("hits"));
            }
            "BRDA" => {
                let parts: Vec<&str> = value.split(',').collect();
                assert_eq!(parts.len(), 4, "BRDA:line,block,branch,taken");
                rec.branches
                    .push((parts[0].parse().expect("line"), parts[3].to_owned()));
            }
            "LF" | "LH" | "BRF" | "BRH" => {
                rec.totals
                    .insert(key.to_owned(), value.parse().expect("a count"));
            }
            "end_of_record" => {
                out.insert(
                    file.take().expect("SF before end_of_record"),
                    std::mem::take(&mut rec),
                );
            }
            other => panic!("unexpected LCOV line `{other}`"),
        }
    }
    out
}

fn lcov_of(dir: &Path) -> (Run, Value, String) {
    let out_file = dir.join("coverage.lcov");
    let bundle = dir.join("bundle");
    let (out, doc) = json_of(&bundle, &["--coverage-out", path_str(&out_file)]);
    let text = fs::read_to_string(&out_file).unwrap_or_else(|e| panic!("{e}\n{out}"));
    (out, doc, text)
}

fn bundle_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_demo(&tmp.path().join("bundle"));
    tmp
}

fn lcov_reads_back() -> Result<(), Failed> {
    let tmp = bundle_dir();
    let (out, doc, text) = lcov_of(tmp.path());
    let records = read_lcov(&text);
    let c = &doc["coverage"];
    for r in c["ruleCoverage"].as_array().expect("rules") {
        let location = r["location"].as_str().expect("location");
        let (file, line) = location.rsplit_once(':').expect("file:line");
        let path = tmp.path().join("bundle").join(file);
        let rec = records
            .get(path_str(&path))
            .ok_or_else(|| format!("no SF:{} in\n{text}", path.display()))?;
        let line: usize = line.parse().expect("line");
        check(
            rec.lines.get(&line) == r["testsMatched"].as_u64().as_ref(),
            &format!("DA of {location} is the tests that matched it"),
            &out,
        )?;
    }
    let brf: usize = records.values().map(|r| r.totals["BRF"]).sum();
    let brh: usize = records.values().map(|r| r.totals["BRH"]).sum();
    check(
        c["branches"]["total"] == brf && c["branches"]["covered"] == brh,
        "BRF and BRH are the branch outcomes",
        &out,
    )?;
    for (file, rec) in &records {
        check(
            rec.totals["BRF"] == rec.branches.len()
                && rec.totals["LF"] == rec.lines.len()
                && rec.totals["LH"] == rec.lines.values().filter(|h| **h > 0).count()
                && rec.totals["BRH"]
                    == rec
                        .branches
                        .iter()
                        .filter(|(_, t)| t != "-" && t != "0")
                        .count(),
            &format!("the totals of {file} agree with its entries"),
            &out,
        )?;
    }
    Ok(())
}

/// `lcov --summary` prints `lines......: P% (H of F lines)` and, with
/// branch coverage on, `branches...: P% (H of F branches)`.
fn lcov_summary(lcov: &Path) -> Result<(), Failed> {
    let tmp = bundle_dir();
    let (out, doc, _) = lcov_of(tmp.path());
    let file = tmp.path().join("coverage.lcov");
    let summary = Command::new(lcov)
        .args([
            "--summary",
            path_str(&file),
            "--rc",
            "lcov_branch_coverage=1",
        ])
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&summary.stdout),
        String::from_utf8_lossy(&summary.stderr)
    );
    if !summary.status.success() {
        return Err(format!("lcov --summary failed:\n{text}").into());
    }
    let c = &doc["coverage"];
    let branches = format!(
        "({} of {} branches)",
        c["branches"]["covered"], c["branches"]["total"]
    );
    let rules = c["ruleCoverage"].as_array().expect("rules");
    let lines = rules.len()
        + rules
            .iter()
            .filter(|r| !r["conditionLocation"].is_null())
            .count();
    check(
        text.contains(&branches) && text.contains(&format!(" of {lines} lines)")),
        &format!("lcov's summary {branches}, {lines} lines:\n{text}"),
        &out,
    )
}
