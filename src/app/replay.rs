//! `tollgate replay --bundle NEW LOG.jsonl [--against OLD]`: the inputs a
//! decision log kept, decided again with a candidate bundle, and every
//! decision that changes reported grouped as `tollgate diff` groups them;
//! with every line that could not be replayed, and why. The log is read
//! a line at a time and each group keeps a bounded number of examples, so
//! memory does not grow with the log.

use std::{
    collections::BTreeMap,
    io::{BufRead, IsTerminal as _, Write as _},
};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::{Value, json};

use super::{Exit, diff, tools::compile_or_report};
use crate::{
    bundle::CompiledBundle,
    config::{ReplayArgs, TestFormat},
    domain::{Answer as _, DecisionKind, Languages},
    engine::{
        ChargeFundingType, DecisionType, PaymentLinkType, PlanChangeType,
        diff::{Flips, Outcome, outcome, outcome_as},
    },
    grpc::{convert::Wire, pb},
    reload::BundleSource,
};

/// The ids the decision log masks that rules could read, each with the
/// facts that read it (a derived fact such as `reseller.known` included)
/// and where it is in a logged input (proto JSON).
const MASKED: &[(&[&str], &str)] = &[
    (&["request.tenant_id"], "/tenantId"),
    (&["request.requester.id", "reseller."], "/requester/id"),
    (&["request.user_id"], "/userId"),
];

/// Lines that could not be replayed for one reason.
#[derive(Default)]
struct Unreplayed {
    count: usize,
    examples: Vec<String>,
}

struct Replay<'a> {
    pool: DescriptorPool,
    new: &'a CompiledBundle,
    against: Option<&'a CompiledBundle>,
    flips: Flips,
    unreplayed: BTreeMap<String, Unreplayed>,
    shadow_records: usize,
    lines: usize,
}

/// Runs `tollgate replay`.
pub(super) fn run(args: &ReplayArgs) -> anyhow::Result<Exit> {
    let Some(new) = compile_or_report(&BundleSource::Path(args.bundle.clone())) else {
        return Ok(Exit::Invalid);
    };
    let against = match &args.against {
        Some(path) => match compile_or_report(&BundleSource::Path(path.clone())) {
            Some(bundle) => Some(bundle),
            None => return Ok(Exit::Invalid),
        },
        None => None,
    };
    let shown = args.log.display();
    let (mut input, size): (Box<dyn BufRead>, Option<u64>) = if args.log.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file =
            std::fs::File::open(&args.log).with_context(|| format!("cannot read `{shown}`"))?;
        let size = file.metadata().ok().map(|m| m.len());
        (
            Box::new(std::io::BufReader::with_capacity(1 << 16, file)),
            size,
        )
    };
    let mut replay = Replay {
        pool: DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).context("descriptor set")?,
        new: &new,
        against: against.as_ref(),
        flips: Flips::keeping(args.report.show),
        unreplayed: BTreeMap::new(),
        shadow_records: 0,
        lines: 0,
    };
    let bar = progress(size);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = input
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read `{shown}`"))?;
        if read == 0 {
            break;
        }
        bar.inc(u64::try_from(read).unwrap_or(u64::MAX));
        replay.line(&line, args.report.show);
    }
    bar.finish_and_clear();
    let report = match args.report.format {
        TestFormat::Text => replay.text(args.report.show),
        TestFormat::Json => format!("{:#}\n", replay.json()),
    };
    match std::io::stdout().lock().write_all(report.as_bytes()) {
        // A reader that stops early (`| head`) is not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(
        if args.report.fail_on_change && replay.flips.changed() > 0 {
            Exit::Failed
        } else {
            Exit::Ok
        },
    )
}

/// A bar of bytes read, on a terminal only: hidden when stderr is not one
/// (a CI log, a pipe), and a spinner when the size is unknown (stdin).
fn progress(size: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr());
    let template = match size {
        Some(_) => "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        None => "{spinner} {bytes} {binary_bytes_per_sec}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

impl Replay<'_> {
    fn line(&mut self, bytes: &[u8], keep: usize) {
        self.lines += 1;
        let number = self.lines;
        let Ok(text) = std::str::from_utf8(bytes) else {
            return self.fail(number, "not UTF-8", String::new(), keep);
        };
        if text.trim().is_empty() {
            return;
        }
        let mut event: Value = match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return self.fail(number, "not a JSON object", String::new(), keep),
            Err(e) => return self.fail(number, "not JSON", e.to_string(), keep),
        };
        // A shadow disagreement repeats a decision already logged.
        if event.get("shadow").is_some() {
            self.shadow_records += 1;
            return;
        }
        let label = event.get("decision").and_then(Value::as_str).unwrap_or("");
        let kind = DecisionKind::ALL
            .into_iter()
            .find(|k| k.label() == label || k.batch_label() == label);
        match kind {
            Some(DecisionKind::PlanChange) => {
                self.replay::<PlanChangeType>(number, &mut event, keep)
            }
            Some(DecisionKind::PaymentLink) => {
                self.replay::<PaymentLinkType>(number, &mut event, keep);
            }
            Some(DecisionKind::ChargeFunding) => {
                self.replay::<ChargeFundingType>(number, &mut event, keep);
            }
            None => self.fail(
                number,
                "no known `decision` type",
                format!("`{label}`"),
                keep,
            ),
        }
    }

    fn fail(&mut self, number: usize, why: &str, detail: String, keep: usize) {
        let entry = self.unreplayed.entry(why.to_owned()).or_default();
        entry.count += 1;
        if entry.examples.len() < keep {
            entry.examples.push(if detail.is_empty() {
                format!("line {number}")
            } else {
                format!("line {number}: {detail}")
            });
        }
    }

    /// The rule of `T` in a compared bundle that reads an id `input` has
    /// masked, with the fact it reads.
    fn masked_read<T: DecisionType>(&self, input: &Value) -> Option<(String, String)> {
        let bundles = std::iter::once(self.new).chain(self.against);
        for bundle in bundles {
            for rule in &T::rules(bundle).rules {
                let Some(condition) = &rule.condition else {
                    continue;
                };
                for (facts, at) in MASKED {
                    let masked = input
                        .pointer(at)
                        .and_then(Value::as_str)
                        .is_some_and(looks_masked);
                    let source = &condition.source;
                    if let Some(at) = facts.iter().find_map(|f| source.find(*f))
                        && masked
                    {
                        // The whole fact from where it starts (`reseller.known`).
                        let fact: String = source
                            .get(at..)
                            .unwrap_or_default()
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.'))
                            .collect();
                        return Some((rule.id.to_string(), fact));
                    }
                }
            }
        }
        None
    }

    fn replay<T: Wire>(&mut self, number: usize, event: &mut Value, keep: usize) {
        let Some(input) = event.get_mut("input").map(Value::take) else {
            return self.fail(
                number,
                "no `input`: the log does not keep the request",
                String::new(),
                keep,
            );
        };
        if let Some((rule, fact)) = self.masked_read::<T>(&input) {
            let why = format!("a rule reads a masked id: rule `{rule}` reads `{fact}`");
            return self.fail(number, &why, String::new(), keep);
        }
        let name = format!("tollgate.v1.{}Request", T::NAME);
        let Some(desc) = self.pool.get_message_by_name(&name) else {
            return self.fail(number, "no such request type", name, keep);
        };
        let message = match DynamicMessage::deserialize(desc, input) {
            Ok(m) => m,
            Err(e) => {
                let why = format!("`input` is not a `{name}` in proto JSON");
                return self.fail(number, &why, e.to_string(), keep);
            }
        };
        let Ok(request) = message.transcode_to::<T::PbRequest>() else {
            return self.fail(number, "`input` does not transcode", name, keep);
        };
        // The decision's own instant stands in for an `as_of` it lacked.
        let at = event
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .unwrap_or_else(jiff::Timestamp::now);
        let req = match T::convert(request, at, &Languages::default()) {
            Ok(req) => req,
            Err(violations) => {
                let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
                let why = format!(
                    "a field the log does not keep, or an invalid one: {}",
                    fields.join(", ")
                );
                return self.fail(number, &why, violations.to_string(), keep);
            }
        };
        let id = event
            .get("decision_id")
            .or_else(|| event.get("decisionId"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let described = || format!("line {number} (decision {id})");
        let kind = <T::Decision as crate::domain::Answer>::KIND;
        match self.against {
            Some(old) => {
                let (old, new) = (outcome::<T>(old, &req), outcome::<T>(self.new, &req));
                self.flips.record(kind, described, old, new);
            }
            None => {
                let logged = logged_outcome(kind, event);
                let new = outcome_as::<T>(self.new, &req, |d| d.outcome().to_owned());
                self.flips.record(kind, described, logged, new);
            }
        }
    }

    fn unreplayed_count(&self) -> usize {
        self.unreplayed.values().map(|u| u.count).sum()
    }

    fn text(&self, show: usize) -> String {
        let against = self.against.map_or_else(
            || "the outcomes the log recorded".to_owned(),
            |b| format!("bundle `{}` revision `{}`", b.name, b.revision),
        );
        let mut text = format!(
            "replayed {} of {} lines with bundle `{}` revision `{}` against {against}: {} changed\n",
            self.flips.compared,
            self.lines,
            self.new.name,
            self.new.revision,
            self.flips.changed()
        );
        if self.shadow_records > 0 {
            text.push_str(&format!(
                "skipped {} shadow disagreement records (each repeats a logged decision)\n",
                self.shadow_records
            ));
        }
        text.push_str(&diff::flips_text(&self.flips, show));
        if !self.unreplayed.is_empty() {
            text.push_str(&format!(
                "\n{} lines could not be replayed:\n",
                self.unreplayed_count()
            ));
            for (why, u) in &self.unreplayed {
                text.push_str(&format!("  {} × {why}\n", u.count));
                for e in u.examples.iter().take(show) {
                    text.push_str(&format!("      {e}\n"));
                }
            }
        }
        text
    }

    fn json(&self) -> Value {
        let identity = |b: &CompiledBundle| json!({ "name": &*b.name, "revision": &*b.revision });
        json!({
            "bundle": identity(self.new),
            "against": self.against.map_or(Value::String("log".to_owned()), identity),
            "lines": self.lines,
            "replayed": self.flips.compared,
            "changed": self.flips.changed(),
            "shadow_records": self.shadow_records,
            "groups": diff::flips_json(&self.flips),
            "unreplayed": self.unreplayed.iter().map(|(why, u)| json!({
                "why": why, "count": u.count, "examples": u.examples,
            })).collect::<Vec<_>>(),
        })
    }
}

/// What the log recorded: the bare outcome (`ALLOW`, from the full enum
/// name `VERDICT_ALLOW` the log writes) and the reason codes (either key
/// spelling).
fn logged_outcome(kind: DecisionKind, event: &Value) -> Outcome {
    let codes = event
        .get("reason_codes")
        .or_else(|| event.get("reasonCodes"))
        .and_then(Value::as_array)
        .map(|codes| {
            codes
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let logged = event.get("outcome").and_then(Value::as_str).unwrap_or("");
    let lower = logged.to_ascii_lowercase();
    let bare = kind
        .outcomes()
        .iter()
        .find(|o| lower == **o || lower.ends_with(&format!("_{o}")))
        .map_or_else(|| logged.to_owned(), |o| o.to_ascii_uppercase());
    Outcome {
        summary: bare,
        reasons: codes,
    }
}

/// Whether an id is the log's keyed hash: 32 lowercase hex digits.
fn looks_masked(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
