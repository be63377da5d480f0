//! Golden files for bundle error output: the messages are part of the
//! product. Each `tests/bundles/<name>/` is a broken copy of the demo bundle
//! and `tests/bundles/<name>.errors.golden` is exactly what
//! `tollgate check <name>` writes to stderr. `UPDATE_GOLDEN=1 cargo test
//! --test bundle_errors` rewrites the golden files from the current output.

// Test code fails by panicking, helpers outside `#[test]` functions included
// (clippy.toml only exempts the functions themselves). An `allow`, not an
// `expect`: which of these a helper needs changes with every edit.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "helpers shared with tests/cli.rs")]
mod support;

use std::{fs, path::PathBuf};

use support::{Run, crate_path, tollgate};

const GOLDEN_SUFFIX: &str = ".errors.golden";

fn bundles_dir() -> PathBuf {
    crate_path("tests/bundles")
}

/// The names of the broken bundles, sorted.
fn bundle_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(bundles_dir())
        .expect("list tests/bundles")
        .map(|e| e.expect("list tests/bundles"))
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `tollgate check <name>` run inside `tests/bundles`, so the output names
/// the bundle as `<name>` whatever the checkout's path.
fn check(name: &str) -> Run {
    Run::of(tollgate().current_dir(bundles_dir()).args(["check", name]))
}

#[test]
fn check_output_matches_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let names = bundle_names();
    assert!(!names.is_empty(), "no bundles under tests/bundles");
    let mut failures = Vec::new();
    for name in &names {
        let out = check(name);
        if out.code != Some(1) || !out.stdout.is_empty() {
            failures.push(format!(
                "{name}: want exit code 1 and no stdout, got\n{out}"
            ));
            continue;
        }
        let golden = bundles_dir().join(format!("{name}{GOLDEN_SUFFIX}"));
        if update {
            fs::write(&golden, &out.stderr).expect("write a golden file");
            continue;
        }
        match fs::read_to_string(&golden) {
            Ok(want) if want == out.stderr => {}
            Ok(want) => failures.push(format!(
                "{name}: stderr differs from {name}{GOLDEN_SUFFIX}\n--- want\n{want}--- got\n{}",
                out.stderr
            )),
            Err(e) => failures.push(format!(
                "{name}: cannot read {name}{GOLDEN_SUFFIX} ({e}); \
                 run with UPDATE_GOLDEN=1 to create it"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bundles differ (UPDATE_GOLDEN=1 rewrites the golden files):\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

#[test]
fn every_golden_file_has_its_bundle() {
    let names = bundle_names();
    let orphans: Vec<String> = fs::read_dir(bundles_dir())
        .expect("list tests/bundles")
        .map(|e| e.expect("list tests/bundles").file_name())
        .filter_map(|n| {
            n.to_string_lossy()
                .strip_suffix(GOLDEN_SUFFIX)
                .map(str::to_owned)
        })
        .filter(|n| !names.contains(n))
        .collect();
    assert!(
        orphans.is_empty(),
        "golden files without a bundle: {orphans:?}"
    );
}

#[test]
fn golden_lines_are_located_and_end_with_a_count() {
    // Holds the golden files themselves to the `file:line:col: message`
    // shape, so a golden rewritten with a worse shape does not slip in.
    for name in bundle_names() {
        let path = bundles_dir().join(format!("{name}{GOLDEN_SUFFIX}"));
        let Ok(text) = fs::read_to_string(&path) else {
            continue; // reported by `check_output_matches_the_golden_files`
        };
        let mut lines: Vec<&str> = text.lines().collect();
        let summary = lines.pop().unwrap_or_default();
        assert_eq!(
            summary,
            format!("{name}: {} problem(s)", lines.len()),
            "{name}: summary line"
        );
        for line in lines {
            let located = line.starts_with("bundle: ")
                || line
                    .split_once(".yaml:")
                    .is_some_and(|(file, _)| !file.contains(' '));
            assert!(located, "{name}: not `file:line:col: message`: {line}");
        }
    }
}
