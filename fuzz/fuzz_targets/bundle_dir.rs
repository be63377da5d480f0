//! Arbitrary bytes as the YAML files of a directory bundle, read and
//! compiled as `serve --bundle DIR` does: a bundle or errors, never a panic.
//!
//! The input is files separated by a line `#%%`; each file's first line is
//! its name (kept to `[a-z0-9_.-]`, `.yaml` added when missing), the rest
//! its content. The seed corpus is the demo bundle written this way.

#![no_main]

use libfuzzer_sys::fuzz_target;

const SEPARATOR: &[u8] = b"\n#%%\n";

fn name(line: &[u8], i: usize) -> String {
    let mut name: String = line
        .iter()
        .filter(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(b))
        .take(40)
        .map(|&b| char::from(b))
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name = format!("file{i}");
    }
    if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
        name.push_str(".yaml");
    }
    name
}

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        parts.push(&rest[..at]);
        rest = &rest[at + SEPARATOR.len()..];
    }
    parts.push(rest);
    parts
}

fuzz_target!(|data: &[u8]| {
    let dir = tollgate_fuzz::scratch("dir");
    for (i, part) in split(data).into_iter().take(16).enumerate() {
        let (first, content) = match part.iter().position(|&b| b == b'\n') {
            Some(at) => (&part[..at], &part[at + 1..]),
            None => (part, &[][..]),
        };
        std::fs::write(dir.join(name(first, i)), content).expect("scratch file");
    }
    tollgate_fuzz::load(&dir);
});
