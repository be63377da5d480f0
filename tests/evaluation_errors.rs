//! The text of every kind of run-time failure, pinned: `tollgate eval` on a
//! bundle whose rules each fail one way (natively and in the interpreter,
//! in conditions, template holes and `for_each` items) must give exactly
//! the `details.error` lines of `tests/evaluation_errors/errors.golden`,
//! each reason's message must be `rule `id` failed: ` and that text, and
//! the explain trace must note it. The golden file was written by the
//! build before evaluation errors were typed (`EvalError`), so the types
//! changed no byte. `UPDATE_GOLDEN=1` rewrites it.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::fs;

use serde_json::Value;
use support::{Run, crate_path, tollgate};

#[test]
fn evaluation_error_texts_match_the_golden_file() {
    let dir = crate_path("tests/evaluation_errors");
    let out = Run::of(tollgate().current_dir(&dir).args([
        "eval",
        "--plan-change",
        "request.json",
        "bundle",
    ]));
    assert_eq!(out.code, Some(0), "{out}");
    let decision: Value = serde_json::from_str(&out.stdout).expect("a JSON decision");
    let trace = decision["meta"]["trace"].as_array().expect("a trace");
    let mut lines = String::new();
    for reason in decision["reasons"].as_array().expect("reasons") {
        let id = reason["ruleId"].as_str().expect("a rule id");
        let error = reason["details"]["error"].as_str().expect("details.error");
        assert_eq!(reason["code"], "POLICY_EVALUATION_ERROR", "{reason}");
        assert_eq!(
            reason["message"].as_str(),
            Some(format!("rule `{id}` failed: {error}").as_str())
        );
        let noted = trace
            .iter()
            .find(|t| t["ruleId"] == id)
            .and_then(|t| t["note"].as_str());
        assert_eq!(noted, Some(error), "the trace of `{id}`");
        lines.push_str(&format!("{id}: {error}\n"));
    }
    let golden = dir.join("errors.golden");
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        fs::write(&golden, &lines).expect("write the golden file");
        return;
    }
    let want = fs::read_to_string(&golden).expect("read errors.golden");
    assert!(
        want == lines,
        "`details.error` differs from errors.golden\n--- want\n{want}--- got\n{lines}"
    );
}
