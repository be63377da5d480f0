//! `tollgate graph` and the admin port's `/bundle/graph.svg`: the
//! catalogue's plans as nodes and, per requester role, each change as an
//! edge coloured by what lint's generated corpus reached for it
//! ([`lint::lint`]'s `gaps`, the same analysis, not a copy): green when some
//! request is allowed (labelled with the timings), red when requests are
//! only denied (with the codes), orange when none reaches a rule; dashed
//! when some request falls through to `NO_MATCHING_RULE` (a gap). DOT, or
//! SVG laid out by `layout-rs` (no system Graphviz).

use std::{collections::BTreeSet, fmt::Write as _};

use layout::{
    backends::svg::SVGWriter,
    gv::{DotParser, GraphBuilder},
};

use super::{Exit, tools};
use crate::{
    bundle::CompiledBundle,
    config::{self, GraphArgs, GraphFormat},
    domain::RequesterRole,
    engine::lint::{self, Gap},
    telemetry::admin::PlanGraph,
};

/// The plan graph of `bundle` in DOT, for `role` or every role.
pub fn dot(bundle: &CompiledBundle, role: Option<RequesterRole>) -> String {
    let gaps = lint::lint(bundle, jiff::Timestamp::now()).gaps;
    let mut plans: Vec<_> = bundle.catalog.plans.values().collect();
    plans.sort_by(|a, b| (a.rank, &a.id).cmp(&(b.rank, &b.id)));
    let mut out = String::from("digraph plans {\n");
    for p in &plans {
        let _ = writeln!(
            out,
            "  {} [label={}];",
            quoted(&p.id),
            quoted(&format!("{} (rank {})", p.id, p.rank))
        );
    }
    for g in gaps
        .iter()
        .filter(|g| role.is_none_or(|r| r.as_str() == g.role))
    {
        let _ = writeln!(out, "  {}", edge(g));
    }
    out.push_str("}\n");
    out
}

/// A DOT string literal.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn edge(g: &Gap) -> String {
    let o = &g.outcome;
    let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(" ");
    let (color, what) = if !o.allows.is_empty() {
        ("green", format!("allow {}", join(&o.allows)))
    } else if !o.denies.is_empty() {
        ("red", format!("deny {}", join(&o.denies)))
    } else {
        ("orange", "gap".to_owned())
    };
    let style = if o.gap() { "dashed" } else { "solid" };
    let gap = if o.gap() && what != "gap" {
        "; gap"
    } else {
        ""
    };
    format!(
        "{} -> {} [label={}, color=\"{color}\", style=\"{style}\"];",
        quoted(&g.from),
        quoted(&g.to),
        quoted(&format!("{}: {what}{gap}", g.role))
    )
}

/// `dot` laid out and drawn as SVG, or why it could not be.
pub fn svg(dot: &str) -> Result<String, String> {
    // The layout crate asserts its invariants; a graph it cannot lay out
    // is an error to report, never a crash of the server.
    std::panic::catch_unwind(|| {
        let mut parser = DotParser::new(dot);
        let graph = parser.process()?;
        let mut builder = GraphBuilder::new();
        builder.visit_graph(&graph);
        let mut visual = builder.get();
        let mut writer = SVGWriter::new();
        visual.do_it(false, false, false, &mut writer);
        Ok(sorted_style(&writer.finalize()))
    })
    .unwrap_or_else(|_| Err("the layout failed".to_owned()))
}

/// `svg` with the lines of its `<style>` block sorted: the layout crate
/// writes its font classes in hash order, and the same bundle should give
/// the same picture byte for byte (the one in `docs/` is checked).
fn sorted_style(svg: &str) -> String {
    let Some((head, rest)) = svg.split_once("<style>\n") else {
        return svg.to_owned();
    };
    let Some((style, tail)) = rest.split_once("</style>") else {
        return svg.to_owned();
    };
    let mut lines: Vec<&str> = style.lines().collect();
    lines.sort_unstable();
    let mut out = format!("{head}<style>\n");
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("</style>");
    out.push_str(tail);
    out
}

/// The admin port's `/bundle/graph.svg`: every role's edges. Drawing runs
/// lint's corpus, so the picture of the last bundle drawn is kept, by its
/// digest, and a request for the same bundle is answered from it.
#[derive(Debug, Default)]
pub struct Drawer {
    last: std::sync::Mutex<Option<(std::sync::Arc<str>, String)>>,
}

impl PlanGraph for Drawer {
    fn svg(&self, bundle: &CompiledBundle) -> Result<String, String> {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((digest, svg)) = last.as_ref()
            && *digest == bundle.digest
        {
            return Ok(svg.clone());
        }
        let drawn = svg(&dot(bundle, None))?;
        *last = Some((bundle.digest.clone(), drawn.clone()));
        Ok(drawn)
    }
}

/// Runs `tollgate graph`.
pub(super) fn graph(args: &GraphArgs) -> anyhow::Result<Exit> {
    let source = config::source(args.path.as_ref());
    let Some(bundle) = tools::compile_or_report(&source) else {
        return Ok(Exit::Invalid);
    };
    let dot = dot(&bundle, args.role);
    match args.format {
        GraphFormat::Dot => print!("{dot}"),
        GraphFormat::Svg => match svg(&dot) {
            Ok(svg) => println!("{svg}"),
            Err(e) => {
                eprintln!("tollgate: cannot lay out the graph: {e}");
                return Ok(Exit::Failed);
            }
        },
    }
    Ok(Exit::Ok)
}
