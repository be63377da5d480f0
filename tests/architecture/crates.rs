//! The pure core (`domain/`, `bundle/`, `engine/`) knows nothing of gRPC,
//! protobuf, async runtimes, file watching or live state: its sources name
//! none of the crates that would break that.

use std::{fs, path::Path};

use crate::source::{code_only, rust_files, tokens};

/// Folders of the pure core, relative to the crate root.
const CORE: &[&str] = &["src/domain", "src/bundle", "src/engine"];

/// Crates the core must not use; `name_*` crates (`prost_types`,
/// `tokio_stream`, `tonic_types`) count as their family.
const FORBIDDEN: &[&str] = &["tonic", "prost", "tokio", "notify", "arc_swap"];

#[test]
fn the_core_uses_no_transport_runtime_or_watcher_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in CORE {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() >= CORE.len(),
        "found only {} source files under {CORE:?}",
        files.len()
    );
    let mut found = Vec::new();
    for file in &files {
        let source = fs::read_to_string(file).expect("read a source file");
        let shown = file.strip_prefix(root).unwrap_or(file).display();
        for (line, krate) in forbidden_paths(&source) {
            let text = source.lines().nth(line - 1).unwrap_or_default().trim();
            found.push(format!("{shown}:{line}: uses `{krate}`: {text}"));
        }
    }
    assert!(
        found.is_empty(),
        "the core ({}) must not depend on {}:\n{}",
        CORE.join(", "),
        FORBIDDEN.join(", "),
        found.join("\n")
    );
}

/// Keywords a path may follow (`use ::x`, `as ::x`, `dyn ::x::T`).
const KEYWORDS_BEFORE_A_PATH: &[&str] = &[
    "use", "as", "dyn", "impl", "in", "for", "return", "let", "mut", "ref", "pub", "where",
    "match", "if", "else", "move", "static", "const", "type", "break", "box",
];

/// `(1-based line, crate)` for every path into a forbidden crate: an
/// identifier of that crate at the start of a path and followed by `::`
/// (`tokio::spawn`, `#[tokio::test]`, `use tonic::Status`, `::prost::X`),
/// or named right after `use`, a leading `::` or `extern crate` (`use
/// tonic;`, `use ::prost as p;`). A segment further down a path
/// (`crate::notify::X`) is not a crate. Comments and string literals are
/// ignored.
fn forbidden_paths(source: &str) -> Vec<(usize, String)> {
    let tokens = tokens(&code_only(source));
    let mut found = Vec::new();
    for (i, (line, token)) in tokens.iter().enumerate() {
        let Some(krate) = FORBIDDEN
            .iter()
            .find(|k| token == *k || token.starts_with(&format!("{k}_")))
        else {
            continue;
        };
        let at = |back: usize| {
            i.checked_sub(back)
                .and_then(|j| tokens.get(j))
                .map(|t| t.1.as_str())
        };
        let next = tokens.get(i + 1).map(|t| t.1.as_str());
        // `a::tokio` continues a path; `use ::tokio` starts one.
        let continues = |t: &str| {
            t == ">"
                || (t.starts_with(|c: char| c.is_alphanumeric() || c == '_')
                    && !KEYWORDS_BEFORE_A_PATH.contains(&t))
        };
        let leading_colons = at(1) == Some("::") && !at(2).is_some_and(continues);
        let path_start = at(1) != Some("::") || leading_colons;
        if path_start
            && (next == Some("::") || leading_colons || matches!(at(1), Some("use" | "crate")))
        {
            found.push((*line, (*krate).to_owned()));
        }
    }
    found.dedup();
    found
}

// The scanner itself: a check that cannot fail is worse than none.

#[test]
fn the_scanner_finds_every_kind_of_path() {
    let source = "\
use std::sync::Arc;
use tonic::Status;
use prost_types::Timestamp as Ts;
use tokio;
pub(crate) use ::notify as watch;
extern crate arc_swap;
fn f() { let _ = tokio_stream::empty::<u8>(); }
#[tokio::test]
async fn t() {}
";
    let found: Vec<(usize, String)> = forbidden_paths(source);
    let want: Vec<(usize, String)> = [
        (2, "tonic"),
        (3, "prost"),
        (4, "tokio"),
        (5, "notify"),
        (6, "arc_swap"),
        (7, "tokio"),
        (8, "tokio"),
    ]
    .into_iter()
    .map(|(l, k)| (l, k.to_owned()))
    .collect();
    assert_eq!(found, want);
}

#[test]
fn the_scanner_ignores_comments_strings_and_lookalikes() {
    let source = r##"
//! Knows nothing of tonic::Status or tokio::spawn.
/* use prost::Message; /* nested */ tokio::spawn */
fn notify(x: &str) -> &str { x } // a local fn named like the crate
use crate::engine::notify::Hook;
fn h() { self::tokio::run(); Vec::<u8>::new(); }
fn g<'a>(s: &'a str) -> char {
    let _ = "use tonic::Status;";
    let _ = r#"tokio::spawn("x")"#;
    let _ = notify(s);
    let _ = '"'; let _ = prostate::gland();
    'x'
}
"##;
    assert_eq!(forbidden_paths(source), Vec::<(usize, String)>::new());
}

#[test]
fn the_scanner_keeps_line_numbers_after_multi_line_comments_and_strings() {
    let source = "/*\n\n*/\nconst S: &str = \"a\nb\";\nuse tonic::Code;\n";
    assert_eq!(forbidden_paths(source), vec![(6, "tonic".to_owned())]);
}

#[test]
fn the_scanner_sees_tonic_in_the_transport_layer() {
    // The one layer that must use tonic: if the scan finds nothing there,
    // it is blind, not the core clean.
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/grpc"),
        &mut files,
    );
    let hits: usize = files
        .iter()
        .map(|f| {
            let source = fs::read_to_string(f).expect("read a source file");
            forbidden_paths(&source)
                .iter()
                .filter(|(_, k)| k == "tonic")
                .count()
        })
        .sum();
    assert!(hits > 0, "no tonic path found in src/grpc");
}
