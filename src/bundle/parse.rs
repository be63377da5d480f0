//! Bundle files as YAML documents: every `.yaml` file parsed into the
//! serde structs of `schema`, with the crate's messages made readable.

use std::sync::Arc;

use super::{Location, schema::FileDoc};

pub(crate) struct Parsed {
    pub file: Arc<str>,
    /// Shared with the bundle's reuse table (`programs::Parser::file`).
    pub doc: Arc<FileDoc>,
}

pub(super) fn parse_file(content: &[u8]) -> Result<FileDoc, (Location, String)> {
    let text = std::str::from_utf8(content)
        .map_err(|e| (Location::default(), format!("not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Ok(FileDoc::default());
    }
    // The crate's default budget (250,000 nodes) is for configuration files;
    // a merchant table of 10,000 merchants is larger. Still bounded.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 4_000_000;
    budget.max_events = 16_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options::<FileDoc>(text, options).map_err(|e| {
        let at = e
            .location()
            .map(|l| Location {
                line: l.line(),
                column: l.column(),
            })
            .unwrap_or_default();
        (at, yaml_message(&e))
    })
}

/// The first line of a YAML error, without the source snippet the crate renders.
pub fn yaml_message(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    let first = full.lines().next().unwrap_or("invalid YAML").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // Some messages lead with "line L column C: "; we print the place ourselves.
    let first = match first.split_once(": ") {
        Some((place, rest)) if place.starts_with("line ") && place.contains(" column ") => rest,
        _ => first,
    };
    // The crate appends " at line L, column C"; we print the place ourselves.
    let first = match first.rfind(" at line ") {
        Some(i) => first.get(..i).unwrap_or(first),
        None => first,
    };
    // Advice about the crate's own options means nothing to a bundle author.
    let first = match first.find(", set ") {
        Some(i) if first.contains("Options") => first.get(..i).unwrap_or(first),
        _ => first,
    };
    first.to_owned()
}
