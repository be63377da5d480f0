//! `tollgate diff OLD NEW`: what changed between two bundles, then which
//! decisions it changes; and the grouped report `tollgate replay` shares.

use std::io::Write as _;

use serde_json::json;

use super::Exit;
use crate::{
    bundle::CompiledBundle,
    config::{DiffArgs, TestFormat},
    engine::diff::{self, Flips, changes::Change},
    reload::BundleSource,
};

/// Runs `tollgate diff`.
pub(super) fn run(args: &DiffArgs) -> anyhow::Result<Exit> {
    let old_source = BundleSource::Path(args.old.clone());
    let new_source = BundleSource::Path(args.new.clone());
    let (Some(old), Some(new)) = (
        super::tools::compile_or_report(&old_source),
        super::tools::compile_or_report(&new_source),
    ) else {
        return Ok(Exit::Invalid);
    };
    let changes = diff::changes::between(&old, &new);
    let compared = diff::decisions(&old, &new, jiff::Timestamp::now());
    let mut out = std::io::stdout().lock();
    let written = match args.report.format {
        TestFormat::Text => {
            let mut text = format!(
                "bundle `{}` revision `{}` → bundle `{}` revision `{}`\n\n",
                old.name, old.revision, new.name, new.revision
            );
            text.push_str(&changes_text(&changes));
            text.push_str(&format!(
                "\nwhat it does: {} requests decided by both ({} bundle tests, {} generated): {} changed\n",
                compared.flips.compared,
                compared.tests,
                compared.generated,
                compared.flips.changed()
            ));
            text.push_str(&flips_text(&compared.flips, args.report.show));
            write!(out, "{text}")
        }
        TestFormat::Json => {
            let doc = json!({
                "old": identity(&old),
                "new": identity(&new),
                "changes": changes.iter().map(|c| json!({
                    "subject": c.subject, "what": c.what, "old": c.old, "new": c.new,
                })).collect::<Vec<_>>(),
                "compared": compared.flips.compared,
                "tests": compared.tests,
                "generated": compared.generated,
                "changed": compared.flips.changed(),
                "groups": flips_json(&compared.flips),
            });
            writeln!(out, "{doc:#}")
        }
    };
    match written {
        // A reader that stops early (`| head`) is not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(
        if args.report.fail_on_change && compared.flips.changed() > 0 {
            Exit::Failed
        } else {
            Exit::Ok
        },
    )
}

fn identity(b: &CompiledBundle) -> serde_json::Value {
    json!({ "name": &*b.name, "revision": &*b.revision, "digest": &*b.digest })
}

fn changes_text(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "what changed: nothing in plans, resellers, merchants or rules\n".to_owned();
    }
    let mut text = format!("what changed ({}):\n", changes.len());
    for c in changes {
        text.push_str(&format!("  {c}\n"));
    }
    text
}

/// The changed decisions, largest group first, each with at most `show`
/// of its requests.
pub(super) fn flips_text(flips: &Flips, show: usize) -> String {
    let mut text = String::new();
    for (key, group) in flips.by_size() {
        text.push_str(&format!(
            "\n{} × {}: {} → {}\n",
            group.count, key.decision, key.old, key.new
        ));
        for r in group.requests.iter().take(show) {
            text.push_str(&format!("    {r}\n"));
        }
        let shown = group.requests.len().min(show);
        if group.count > shown {
            text.push_str(&format!("    ... and {} more\n", group.count - shown));
        }
    }
    text
}

/// The changed decisions as JSON, largest group first, with the requests
/// each group kept.
pub(super) fn flips_json(flips: &Flips) -> Vec<serde_json::Value> {
    flips
        .by_size()
        .into_iter()
        .map(|(key, group)| {
            json!({
                "decision": key.decision,
                "old": { "decision": key.old.summary, "reasons": key.old.reasons },
                "new": { "decision": key.new.summary, "reasons": key.new.reasons },
                "count": group.count,
                "requests": group.requests,
            })
        })
        .collect()
}
