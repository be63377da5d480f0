//! Bundle directories on disk for the reload tests: the demo bundle's
//! files, copies of it in temporary directories, and edits to those copies.

use std::{
    fs,
    path::{Path, PathBuf},
};

use tempfile::TempDir;

use super::DEMO_REVISION;

/// The demo bundle's directory in the source tree.
pub fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/demo")
}

/// A file of the demo bundle.
pub fn demo_file(name: &str) -> String {
    fs::read_to_string(demo_dir().join(name)).expect("demo bundle file")
}

/// The demo `bundle.yaml` with another revision.
pub fn bundle_yaml(revision: &str) -> String {
    let demo = demo_file("bundle.yaml");
    let from = format!("revision: \"{DEMO_REVISION}\"");
    assert!(demo.contains(&from), "bundle.yaml has no `{from}` line");
    demo.replace(&from, &format!("revision: \"{revision}\""))
}

/// Copies every `*.yaml` of the demo bundle into `dir`.
pub fn copy_demo(dir: &Path) {
    for entry in fs::read_dir(demo_dir()).expect("list demo bundle") {
        let path = entry.expect("demo entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            fs::copy(&path, dir.join(path.file_name().expect("file name"))).expect("copy");
        }
    }
}

/// A temporary bundle directory, starting as a copy of the demo bundle.
pub struct BundleDir {
    dir: TempDir,
}

impl BundleDir {
    /// A copy of the demo bundle.
    pub fn demo() -> Self {
        let dir = TempDir::new().expect("temp dir");
        copy_demo(dir.path());
        Self { dir }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Overwrites a file in place, as an editor or `cp` would.
    pub fn write(&self, name: &str, content: &str) {
        fs::write(self.path().join(name), content).expect("write bundle file");
    }

    /// The current content of a file.
    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path().join(name)).expect("read bundle file")
    }

    /// Replaces the one occurrence of `old` in file `name` with `new`.
    pub fn edit(&self, name: &str, old: &str, new: &str) {
        let text = self.read(name);
        assert_eq!(
            text.matches(old).count(),
            1,
            "`{old}` must occur once in {name}"
        );
        self.write(name, &text.replacen(old, new, 1));
    }

    /// Drops the bundle tests named `names` from file `name` (rewritten as
    /// JSON, which is YAML too): the tests that pinned settings a change
    /// replaces, as whoever edits the settings would.
    pub fn drop_tests(&self, name: &str, names: &[&str]) {
        let mut doc: serde_json::Value =
            serde_saphyr::from_str(&self.read(name)).expect("a YAML bundle file");
        let tests = doc["tests"].as_array_mut().expect("a `tests` list");
        let before = tests.len();
        tests.retain(|t| !names.iter().any(|n| t["name"] == *n));
        assert_eq!(
            before - tests.len(),
            names.len(),
            "every test in {names:?} is in {name}"
        );
        self.write(name, &doc.to_string());
    }

    /// Rewrites `bundle.yaml` with `revision`.
    pub fn set_revision(&self, revision: &str) {
        self.write("bundle.yaml", &bundle_yaml(revision));
    }
}

/// The number of rules and of tests in the demo bundle's `files` (all of
/// them when empty), compiled here: what `GetBundleStatus` should report.
pub fn demo_counts(files: &[&str]) -> (u32, u32) {
    let mut bundle = tollgate::bundle::BundleFiles::default();
    for entry in fs::read_dir(demo_dir()).expect("list demo bundle") {
        let path = entry.expect("demo entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a file name")
            .to_owned();
        if files.is_empty() || files.contains(&name.as_str()) {
            bundle.insert(name, fs::read(&path).expect("demo file"));
        }
    }
    let compiled = tollgate::bundle::compile(&bundle).expect("the demo compiles");
    let count = |n: usize| u32::try_from(n).expect("a small count");
    (count(compiled.rule_count()), count(compiled.tests.len()))
}

/// `file:line` of the first line of the demo's `file` that is `line`.
pub fn demo_line(file: &str, line: &str) -> String {
    let n = demo_file(file)
        .lines()
        .position(|l| l == line)
        .expect("the line is in the demo file");
    format!("{file}:{}", n + 1)
}
