//! Reading the crate's sources: the Rust files of a folder, and their code
//! as tokens with line numbers, comments and literals left out.

use std::{
    fs,
    path::{Path, PathBuf},
};

/// Every `.rs` file under `dir`, sorted.
pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.expect("list a source folder").path())
        .collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `source` with comments and string and char literals blanked out, line
/// breaks kept so line numbers stay right.
pub fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    // Keeps line breaks of skipped text.
    let blank = |out: &mut String, skipped: &[char]| {
        out.extend(skipped.iter().filter(|c| **c == '\n'));
        out.push(' ');
    };
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        let end = if c == '/' && next == Some('/') {
            chars[i..]
                .iter()
                .position(|c| *c == '\n')
                .map_or(chars.len(), |n| i + n)
        } else if c == '/' && next == Some('*') {
            block_comment_end(&chars, i)
        } else if c == '"' {
            string_end(&chars, i + 1, 0)
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) == Some(&'"') {
                string_end(&chars, i + 2 + hashes, hashes)
            } else {
                i + 1
            }
        } else if c == '\'' {
            char_literal_end(&chars, i).unwrap_or(i + 1)
        } else {
            i + 1
        };
        if end == i + 1 && !matches!(c, '"' | '\'') {
            out.push(c);
        } else {
            blank(&mut out, &chars[i..end.min(chars.len())]);
        }
        i = end.max(i + 1);
    }
    out
}

fn block_comment_end(chars: &[char], start: usize) -> usize {
    let (mut depth, mut i) = (0, start);
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 2;
            }
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// The index just past a string whose body starts at `body`; a raw string
/// (`hashes` > 0 or `r"..."`) has no escapes.
fn string_end(chars: &[char], body: usize, hashes: usize) -> usize {
    let raw = body >= 2 && chars.get(body - 2 - hashes) == Some(&'r');
    let mut i = body;
    while let Some(&c) = chars.get(i) {
        if c == '\\' && !raw {
            i += 2;
            continue;
        }
        if c == '"'
            && chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    chars.len()
}

/// The end of a char literal at `start` (`'a'`, `'\n'`, `'\u{1F600}'`), or
/// `None` for a lifetime or label.
fn char_literal_end(chars: &[char], start: usize) -> Option<usize> {
    match chars.get(start + 1)? {
        '\\' => {
            let close = chars[start + 2..].iter().position(|c| *c == '\'')?;
            Some(start + 2 + close + 1)
        }
        _ if chars.get(start + 2) == Some(&'\'') => Some(start + 3),
        _ => None,
    }
}

/// Identifiers, `::` and single punctuation characters, each with its
/// 1-based line.
pub fn tokens(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            if c.is_alphabetic() || c == '_' {
                let len = chars[i..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_')
                    .count();
                out.push((n + 1, chars[i..i + len].iter().collect()));
                i += len;
            } else if c == ':' && chars.get(i + 1) == Some(&':') {
                out.push((n + 1, "::".to_owned()));
                i += 2;
            } else {
                if !c.is_whitespace() {
                    out.push((n + 1, c.to_string()));
                }
                i += 1;
            }
        }
    }
    out
}
