//! Which top-level module may import which: every `crate::x` path (in a
//! `use`, a `use crate::{x, y}` group or an expression) and every
//! `super::…` path that climbs to the crate root, in every file of a
//! module, test code included, is checked against [`ALLOWED`].

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use crate::source::{code_only, rust_files, tokens};

/// Each top-level module and every module it may import: the direction
/// `main → app → {config, grpc, reload, telemetry, decision_log} → live →
/// engine → bundle → domain`, written out as exact edges. Downward edges
/// may skip a layer (`grpc` converts into `domain` types). Between the
/// middle modules only these, each for the reason given:
///
/// - `config → grpc, reload, decision_log`: the command line is parsed
///   straight into the settings those modules take (`ServerOptions`,
///   `TlsSettings`, `CallerPolicy`, `BundleSource`, `decision_log::Settings`
///   and its value types), so none of them sees a flag; `app` passes them on.
///   Tracing is the exception that proves it: `app` builds its
///   `TraceSettings`, so `config` does not import `telemetry`.
/// - `grpc → telemetry`: the service measures calls and decisions (metrics,
///   the per-call span layer).
/// - `grpc → decision_log`: the service logs each decision.
/// - `telemetry → decision_log`: a call's span records the same `Decided`
///   the log writes, and `/metrics` reads the log's counters.
///
/// `live` is the handle the servers read the bundle through (`reload`
/// implements it), so `grpc` and `telemetry` never import `reload`;
/// `debounce` is the event-burst helper `reload` and `grpc::tls` share.
pub const ALLOWED: &[(&str, &[&str])] = &[
    (
        "app",
        &[
            "config",
            "grpc",
            "reload",
            "telemetry",
            "decision_log",
            "live",
            "debounce",
            "engine",
            "bundle",
            "domain",
        ],
    ),
    (
        "config",
        &[
            "grpc",
            "reload",
            "decision_log",
            "live",
            "debounce",
            "engine",
            "bundle",
            "domain",
        ],
    ),
    (
        "grpc",
        &[
            "telemetry",
            "decision_log",
            "live",
            "debounce",
            "engine",
            "bundle",
            "domain",
        ],
    ),
    (
        "reload",
        &["live", "debounce", "engine", "bundle", "domain"],
    ),
    (
        "telemetry",
        &[
            "decision_log",
            "live",
            "debounce",
            "engine",
            "bundle",
            "domain",
        ],
    ),
    (
        "decision_log",
        &["live", "debounce", "engine", "bundle", "domain"],
    ),
    ("live", &["engine", "bundle", "domain"]),
    ("debounce", &[]),
    ("engine", &["bundle", "domain"]),
    ("bundle", &["domain"]),
    ("domain", &[]),
];

/// The middle modules: an edge between two of them is an exception, and
/// one that nothing uses any more is stale.
const MIDDLE: &[&str] = &["config", "grpc", "reload", "telemetry", "decision_log"];

fn allowed(from: &str) -> Option<&'static [&'static str]> {
    ALLOWED.iter().find(|(m, _)| *m == from).map(|(_, to)| *to)
}

#[test]
fn modules_import_only_along_the_allowed_edges() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for (module, files) in modules(&src) {
        let Some(may) = allowed(&module) else {
            found.push(format!(
                "src/{module}: a top-level module missing from `ALLOWED`: give it a row"
            ));
            continue;
        };
        for (file, path) in files {
            for (line, target) in imports(&file, &path) {
                if target != module && !may.contains(&target.as_str()) {
                    found.push(format!(
                        "{}:{line}: `{module}` imports `{target}`: {}",
                        shown(&file),
                        text_of(&file, line)
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "imports against the direction of dependencies (see `ALLOWED` in {}):\n{}",
        file!(),
        found.join("\n")
    );
}

#[test]
fn the_allowed_edges_point_one_way() {
    // Depth-first from every module; a module met again on the current path
    // closes a cycle.
    fn visit<'a>(m: &'a str, path: &mut Vec<&'a str>, done: &mut BTreeSet<&'a str>) {
        if let Some(at) = path.iter().position(|p| *p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m);
            panic!("the allowed edges form a cycle: {}", cycle.join(" → "));
        }
        if !done.insert(m) {
            return;
        }
        path.push(m);
        for to in allowed(m).unwrap_or_default() {
            visit(to, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for (m, to) in ALLOWED {
        for t in *to {
            assert!(
                allowed(t).is_some(),
                "`{m}` may import `{t}`, which has no row"
            );
        }
        visit(m, &mut Vec::new(), &mut done);
    }
}

#[test]
fn every_exception_between_the_middle_modules_is_used() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let used = edges(&src);
    let mut stale = Vec::new();
    for (from, to) in ALLOWED {
        for t in *to {
            if MIDDLE.contains(from) && MIDDLE.contains(t) && !used.contains(&(*from, *t)) {
                stale.push(format!("{from} → {t}"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "allowed but no longer used, remove from `ALLOWED`: {}",
        stale.join(", ")
    );
}

#[test]
fn the_scan_sees_the_edges_that_exist() {
    // If the scan found nothing it would be blind, not the code clean.
    let used = edges(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    for edge in [("engine", "bundle"), ("grpc", "live"), ("reload", "live")] {
        assert!(used.contains(&edge), "the scan missed {edge:?}");
    }
}

/// `(from, to)` for every import between two top-level modules.
fn edges(src: &Path) -> BTreeSet<(&'static str, &'static str)> {
    let name = |m: &str| ALLOWED.iter().map(|(n, _)| *n).find(|n| *n == m);
    let mut out = BTreeSet::new();
    for (module, files) in modules(src) {
        for (file, path) in files {
            for (_, target) in imports(&file, &path) {
                if let (Some(from), Some(to)) = (name(&module), name(&target))
                    && from != to
                {
                    out.insert((from, to));
                }
            }
        }
    }
    out
}

/// Each top-level module under `src` (a folder or a single file; not the
/// crate roots `lib.rs` and `main.rs`, nor `bin/`, whose `crate` is their
/// own) with its files, and each file's module path (`grpc::convert` for
/// `src/grpc/convert/mod.rs`).
fn modules(src: &Path) -> BTreeMap<String, Vec<(PathBuf, Vec<String>)>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("a file under src");
        let mut path: Vec<String> = relative
            .with_extension("")
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        if path.last().is_some_and(|l| l == "mod") {
            path.pop();
        }
        match path.first().map(String::as_str) {
            None | Some("lib" | "main" | "bin") => continue,
            Some(module) => out
                .entry(module.to_owned())
                .or_default()
                .push((file.clone(), path)),
        }
    }
    out
}

/// `(line, top-level module)` for every path of `file` (whose module path
/// is `path`) that starts at the crate root.
fn imports(file: &Path, path: &[String]) -> Vec<(usize, String)> {
    let source = fs::read_to_string(file).expect("read a source file");
    crate_paths(&source, path)
}

/// `(line, first segment)` of every path in `source` that starts at the
/// crate root: `crate::x…`, `$crate::x…`, `crate::{x…, y…}`, and `super::…`
/// that climbs out of `module` (the file's module path, with the inline
/// `mod name { … }` blocks around the path added). A glob of the root is
/// reported as `*`.
fn crate_paths(source: &str, module: &[String]) -> Vec<(usize, String)> {
    let tokens = tokens(&code_only(source));
    let text = |i: usize| tokens.get(i).map(|t| t.1.as_str());
    let mut found = Vec::new();
    // Inline modules open around this point, with the brace depth each opened at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    for i in 0..tokens.len() {
        match text(i) {
            Some("{") => {
                if text(i.wrapping_sub(2)) == Some("mod")
                    && let Some(name) = text(i.wrapping_sub(1))
                {
                    inline.push((name.to_owned(), depth));
                }
                depth += 1;
            }
            Some("}") => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, at)| *at == depth) {
                    inline.pop();
                }
            }
            _ => {}
        }
        // A path starts here unless it continues one (`a::crate` is not Rust,
        // `a::super` is not a root).
        if i > 0 && text(i - 1) == Some("::") {
            continue;
        }
        let rest = match text(i) {
            Some("crate") if text(i + 1) == Some("::") => i + 2,
            Some("super") => {
                let mut at = i;
                let mut climbs = 0;
                while text(at) == Some("super") && text(at + 1) == Some("::") {
                    climbs += 1;
                    at += 2;
                }
                // Only a path that climbs to the root leaves the module.
                if climbs == 0 || climbs != module.len() + inline.len() {
                    continue;
                }
                at
            }
            _ => continue,
        };
        first_segments(&tokens, rest, &mut found);
    }
    found
}

/// The first segment of the path at `at`, or of each item of the group
/// there (`{x::A, y::{self, B}}` gives `x` and `y`).
fn first_segments(tokens: &[(usize, String)], at: usize, found: &mut Vec<(usize, String)>) {
    let Some((line, first)) = tokens.get(at) else {
        return;
    };
    if first != "{" {
        found.push((*line, first.clone()));
        return;
    }
    let mut depth = 0;
    let mut item_start = true;
    for (i, (line, t)) in tokens.iter().enumerate().skip(at) {
        match t.as_str() {
            "{" => {
                if depth == 1 && item_start {
                    // A nested group as an item: `crate::{{a, b}}`.
                    first_segments(tokens, i, found);
                    item_start = false;
                }
                depth += 1;
            }
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            "," if depth == 1 => item_start = true,
            _ if depth == 1 && item_start => {
                if t != "self" {
                    found.push((*line, t.clone()));
                }
                item_start = false;
            }
            _ => {}
        }
    }
}

fn shown(file: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

fn text_of(file: &Path, line: usize) -> String {
    let source = fs::read_to_string(file).expect("read a source file");
    source
        .lines()
        .nth(line - 1)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

// The scanner itself: a check that cannot fail is worse than none.

fn paths_in(source: &str, module: &[&str]) -> Vec<(usize, String)> {
    let module: Vec<String> = module.iter().map(|s| (*s).to_owned()).collect();
    crate_paths(source, &module)
}

fn pairs(want: &[(usize, &str)]) -> Vec<(usize, String)> {
    want.iter().map(|(l, m)| (*l, (*m).to_owned())).collect()
}

#[test]
fn the_module_scanner_finds_every_kind_of_crate_path() {
    let source = "\
use crate::reload::BundleStore;
use crate::{
    grpc::{self, pb},
    telemetry,
};
fn f() -> crate::config::Cli { crate::bundle::compile(); todo!() }
pub(crate) fn g() {}
use super::super::engine::decide;
macro_rules! m { () => { $crate::domain::X } }
use crate::{self as root, *};
";
    let want = [
        (1, "reload"),
        (3, "grpc"),
        (4, "telemetry"),
        (6, "config"),
        (6, "bundle"),
        (8, "engine"),
        (9, "domain"),
        (10, "*"),
    ];
    assert_eq!(paths_in(source, &["grpc", "convert"]), pairs(&want));
}

#[test]
fn the_module_scanner_follows_super_out_of_inline_modules_only_to_the_root() {
    let source = "\
use super::store::Active;
mod tests {
    use super::super::limits::X;
    use super::super::super::reload::X;
    mod deeper { use super::super::super::super::domain::Y; }
}
use super::super::live::Z;
";
    // In `src/grpc/server.rs`: one `super` is `grpc`, two are the root;
    // inside `mod tests`, three.
    let want = [(4, "reload"), (5, "domain"), (7, "live")];
    assert_eq!(paths_in(source, &["grpc", "server"]), pairs(&want));
}

#[test]
fn the_module_scanner_ignores_comments_strings_and_other_roots() {
    let source = r#"
//! Unlike `crate::reload::X`, this names /* crate::grpc */ nothing.
const S: &str = "use crate::config::Cli;";
use self::crate_like::X;
use std::sync::Arc;
fn f() { my_crate::reload::x(); }
pub(in crate::grpc) fn g() {}
"#;
    assert_eq!(paths_in(source, &["telemetry"]), pairs(&[(7, "grpc")]));
}
