//! `tollgate graph` and the admin port's `/bundle/graph.svg`: the
//! catalogue's plans as nodes and, per requester role, each change as an
//! edge coloured by what lint's generated corpus reached for it
//! ([`lint::lint`]'s `gaps`, the same analysis, not a copy): green when some
//! request is allowed (labelled with the timings), red when requests are
//! only denied (with the codes), orange when none reaches a rule; dashed
//! when some request falls through to `NO_MATCHING_RULE` (a gap). With
//! `--decision payment-link` or `charge-funding`, the payments picture from
//! lint's payment corpus ([`lint::lint`]'s `payments`): each merchant and
//! each outcome its requests reach as nodes, an edge from the merchant to
//! every outcome reached, labelled with what it carried (reason codes,
//! actions, funding sources; one line each) and coloured the same way: green for `LINK`
//! and `APPROVE`, blue for `REQUIRE_ACTION`, red for `DENY` and `DECLINE`,
//! orange and dashed to `NO_MATCHING_RULE` (a gap). DOT, or SVG laid out
//! by `layout-rs` (no system Graphviz).

use std::{collections::BTreeSet, fmt::Write as _};

use layout::{
    backends::svg::SVGWriter,
    gv::{DotParser, GraphBuilder},
};

use super::{Exit, tools};
use crate::{
    bundle::CompiledBundle,
    config::{self, GraphArgs, GraphFormat},
    domain::{DecisionKind, RequesterRole},
    engine::lint::{self, Gap, MerchantGap},
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

/// The payments picture of `bundle` in DOT for `decision` (a payment
/// decision): merchants, the outcomes their generated requests reach, and
/// an edge for each.
pub fn payments_dot(bundle: &CompiledBundle, decision: DecisionKind) -> String {
    let report = lint::lint(bundle, jiff::Timestamp::now());
    let merchants: Vec<&MerchantGap> = report
        .payments
        .iter()
        .filter(|p| p.decision == decision)
        .collect();
    let mut outcomes: BTreeSet<&str> = BTreeSet::new();
    for p in &merchants {
        outcomes.extend(p.reached.outcomes.keys().copied());
        if p.reached.gap() {
            outcomes.insert(NO_MATCH);
        }
    }
    let mut out = format!("digraph {} {{\n", decision.label());
    for p in &merchants {
        let _ = writeln!(
            out,
            "  {} [label={}];",
            quoted(&format!("merchant {}", p.merchant)),
            quoted(&p.merchant)
        );
    }
    for o in &outcomes {
        let label = if *o == NO_MATCH {
            format!("{o} (gap)")
        } else {
            (*o).to_owned()
        };
        let _ = writeln!(
            out,
            "  {} [label={}, shape=\"box\"];",
            quoted(&format!("outcome {o}")),
            quoted(&label)
        );
    }
    for p in &merchants {
        let from = quoted(&format!("merchant {}", p.merchant));
        for (o, carried) in &p.reached.outcomes {
            let color = match *o {
                "LINK" | "APPROVE" => "green",
                "REQUIRE_ACTION" => "blue",
                _ => "red",
            };
            let carried: Vec<&str> = carried.iter().map(String::as_str).collect();
            let _ = writeln!(
                out,
                "  {from} -> {} [label={}, color=\"{color}\", style=\"solid\"];",
                quoted(&format!("outcome {o}")),
                quoted(&carried.join("\n"))
            );
        }
        if p.reached.gap() {
            let _ = writeln!(
                out,
                "  {from} -> {} [label=\"gap\", color=\"orange\", style=\"dashed\"];",
                quoted(&format!("outcome {NO_MATCH}"))
            );
        }
    }
    out.push_str("}\n");
    out
}

const NO_MATCH: &str = "NO_MATCHING_RULE";

/// The picture `decision` asks for, in DOT: the plan graph (for `role`
/// or every role) or a payments picture.
pub fn dot_of(
    bundle: &CompiledBundle,
    decision: DecisionKind,
    role: Option<RequesterRole>,
) -> String {
    match decision {
        DecisionKind::PlanChange => dot(bundle, role),
        DecisionKind::PaymentLink | DecisionKind::ChargeFunding => payments_dot(bundle, decision),
    }
}

/// A DOT string literal.
fn quoted(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
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

/// The admin port's `/bundle/graph.svg`: every role's edges, or
/// (`?decision=`) a payments picture. Drawing runs lint's corpus, so the
/// picture of each decision type for the last bundle drawn is kept, by its
/// digest, and a request for the same bundle is answered from it.
#[derive(Debug, Default)]
pub struct Drawer {
    last: std::sync::Mutex<Option<Drawn>>,
}

/// The pictures drawn of one bundle: its digest and, by decision type's
/// index, each picture once drawn.
type Drawn = (
    std::sync::Arc<str>,
    [Option<String>; DecisionKind::ALL.len()],
);

impl PlanGraph for Drawer {
    fn svg(&self, bundle: &CompiledBundle, decision: DecisionKind) -> Result<String, String> {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.as_ref().is_none_or(|(d, _)| *d != bundle.digest) {
            *last = Some((bundle.digest.clone(), Default::default()));
        }
        let slot = last
            .as_mut()
            .and_then(|(_, drawn)| drawn.get_mut(decision.index()))
            .ok_or("no such decision type")?;
        if let Some(svg) = slot {
            return Ok(svg.clone());
        }
        let drawn = svg(&dot_of(bundle, decision, None))?;
        *slot = Some(drawn.clone());
        Ok(drawn)
    }
}

/// Runs `tollgate graph`.
pub(super) fn graph(args: &GraphArgs) -> anyhow::Result<Exit> {
    let decision = DecisionKind::from(args.decision);
    if args.role.is_some() && decision != DecisionKind::PlanChange {
        return Err(config::ConfigError::Invalid(
            "--role applies to the plan graph (`--decision plan-change`) only".to_owned(),
        )
        .into());
    }
    let source = config::source(args.path.as_ref());
    let Some(bundle) = tools::compile_or_report(&source) else {
        return Ok(Exit::Invalid);
    };
    let dot = dot_of(&bundle, decision, args.role);
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
