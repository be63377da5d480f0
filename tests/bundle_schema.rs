//! The bundle files' JSON Schema (`schema/bundle.schema.json`): the shipped
//! file is what `tollgate schema` prints (generated from the loader's own
//! serde types, so it cannot drift); every demo bundle file names it on its
//! first line and validates against it with a maintained validator (the
//! `jsonschema` crate), read as the loader reads YAML (`serde_saphyr`); and
//! what the schema rejects, the loader rejects too.
//!
//! `UPDATE_GOLDEN=1 cargo test --test bundle_schema` rewrites the shipped
//! schema.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{collections::BTreeSet, fs, path::Path};

use support::{copy_demo, crate_path, edit, path_str, run};

const SCHEMA: &str = "schema/bundle.schema.json";
const FIRST_LINE: &str = "# yaml-language-server: $schema=../../schema/bundle.schema.json";

fn validator() -> jsonschema::Validator {
    let text = fs::read_to_string(crate_path(SCHEMA)).expect("read the shipped schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// A YAML file as JSON, read with the loader's YAML crate.
fn yaml(path: &Path) -> serde_json::Value {
    let text = fs::read_to_string(path).expect("read a bundle file");
    serde_saphyr::from_str(&text).expect("YAML")
}

fn errors(validator: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_shipped_schema_is_what_tollgate_schema_prints() {
    let printed = run(&["schema"]);
    assert_eq!(printed.code, Some(0), "{printed}");
    let path = crate_path(SCHEMA);
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        fs::write(&path, &printed.stdout).expect("write the schema");
    }
    let shipped = fs::read_to_string(&path).expect("read the shipped schema");
    assert!(
        shipped == printed.stdout,
        "{SCHEMA} is not what `tollgate schema` prints: UPDATE_GOLDEN=1 cargo test --test bundle_schema rewrites it"
    );
}

#[test]
fn every_demo_file_names_the_schema_and_validates() {
    let validator = validator();
    let mut files: Vec<_> = fs::read_dir(crate_path("bundles/demo"))
        .expect("the demo bundle")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    for file in files {
        let text = fs::read_to_string(&file).expect("read");
        assert_eq!(text.lines().next(), Some(FIRST_LINE), "{}", file.display());
        let found = errors(&validator, &yaml(&file));
        assert!(found.is_empty(), "{}: {found:#?}", file.display());
    }
}

/// Changes to one demo file that the schema rejects; the loader must
/// reject each too.
const REJECTED: &[(&str, &str, &str)] = &[
    // An unknown key (a typo) in a plan.
    ("plans.yaml", "rank: 0", "rnak: 0"),
    // A wrong type.
    ("plans.yaml", "rank: 0", "rank: lowest"),
    // A required field missing: a rule without its effect.
    ("plan_change.yaml", "effect: deny", "description: no effect"),
    // A reason code that is a list, not a string.
    ("plan_change.yaml", "code: SAME_PLAN", "code: [SAME_PLAN]"),
    // A message that is neither a string nor a map of strings.
    (
        "plan_change.yaml",
        "ja: \"テナントはすでに",
        "ja: [] # \"テナントはすでに",
    ),
    // An unknown top-level section.
    ("bundle.yaml", "name: demo", "name: demo\nplan_rules: []"),
];

#[test]
fn what_the_schema_rejects_the_loader_rejects() {
    let validator = validator();
    for (file, old, new) in REJECTED {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_demo(dir.path());
        let path = dir.path().join(file);
        let text = fs::read_to_string(&path).expect("read");
        let changed = text.replacen(old, new, 1);
        assert_ne!(changed, text, "`{old}` is not in {file}");
        fs::write(&path, changed).expect("write");
        let by_schema = errors(&validator, &yaml(&path));
        assert!(
            !by_schema.is_empty(),
            "the schema accepts {file} with `{new}`"
        );
        let check = run(&["check", path_str(dir.path())]);
        assert_eq!(
            check.code,
            Some(1),
            "the schema rejects {file} with `{new}` ({by_schema:?}), but `check` says: {check}"
        );
    }
}

/// What the schema cannot express (CEL, references between sections,
/// which effects a decision type has): these pass the schema, and the
/// loader refuses them.
#[test]
fn the_schema_checks_shapes_and_the_loader_the_rest() {
    let validator = validator();
    let cases = [
        // A CEL syntax error.
        (
            "plan_change.yaml",
            "when: change.same_plan",
            "when: change.same_plan &&",
        ),
        // An effect no decision type has.
        (
            "plan_change.yaml",
            "change.same_plan\n    effect: deny",
            "change.same_plan\n    effect: maybe",
        ),
        // A rule scoped to a plan the catalogue lacks.
        (
            "plan_change.yaml",
            "id: same-plan",
            "id: same-plan\n    from_plans: [platinum]",
        ),
    ];
    for (file, old, new) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_demo(dir.path());
        let path = dir.path().join(file);
        edit(&path, old, new);
        let by_schema = errors(&validator, &yaml(&path));
        assert!(by_schema.is_empty(), "{file} with `{new}`: {by_schema:?}");
        let check = run(&["check", path_str(dir.path())]);
        assert_eq!(
            check.code,
            Some(1),
            "`check` accepts {file} with `{new}`: {check}"
        );
    }
}

/// Every key of a YAML document, at any depth.
fn keys(doc: &serde_json::Value, into: &mut BTreeSet<String>) {
    match doc {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                into.insert(key.clone());
                keys(value, into);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| keys(item, into)),
        _ => {}
    }
}

/// Bundle-test requests accept the proto JSON (camelCase) field names as
/// well as snake_case. The schema says so too: a test file written in
/// camelCase validates, `check` runs it and its tests pass, and it uses
/// every camelCase property the schema declares, so a spelling the schema
/// offers and the loader refuses fails here.
#[test]
fn the_schema_and_the_loader_accept_the_same_camel_case_names() {
    let validator = validator();
    let fixture = crate_path("tests/bundle_schema/camel_case_tests.yaml");
    let doc = yaml(&fixture);
    let found = errors(&validator, &doc);
    assert!(found.is_empty(), "{found:#?}");

    let dir = tempfile::tempdir().expect("tempdir");
    copy_demo(dir.path());
    fs::copy(&fixture, dir.path().join("camel_case_tests.yaml")).expect("copy the fixture");
    let check = run(&["test", path_str(dir.path())]);
    assert_eq!(check.code, Some(0), "{check}");
    assert!(check.stdout.contains("camelCase downgrade"), "{check}");

    let schema: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(crate_path(SCHEMA)).expect("read the schema"))
            .expect("the schema is JSON");
    let mut declared = BTreeSet::new();
    for definition in schema["definitions"]
        .as_object()
        .expect("definitions")
        .values()
    {
        if let Some(properties) = definition["properties"].as_object() {
            declared.extend(
                properties
                    .keys()
                    .filter(|name| name.chars().any(|c| c.is_ascii_uppercase()))
                    .cloned(),
            );
        }
    }
    assert!(declared.len() >= 15, "{declared:?}");
    let mut used = BTreeSet::new();
    keys(&doc, &mut used);
    let unused: Vec<_> = declared.difference(&used).collect();
    assert!(unused.is_empty(), "the fixture does not use {unused:?}");
}
