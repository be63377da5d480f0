//! One decision-log event: what the handler hands over (cheap: the domain
//! request and decision, moved, not copied) and the JSON line the writer
//! makes of it, off the request path.

use std::{collections::BTreeMap, fmt, time::Duration};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::mask::{ErasePath, Masker};
use crate::domain::{DecisionKind, DecisionMeta, Reason};

/// What the log writes of one decision: implemented once, in `entries.rs`,
/// for every (request, decision) pair from the decision's `Answer` and the
/// per-type `LoggedRequest`/`LoggedDecision`, so the writer, sampling and
/// tracing never match on the type.
pub trait Logged: fmt::Debug + Send {
    /// The decision type.
    fn kind(&self) -> DecisionKind;
    /// The decision's provenance.
    fn meta(&self) -> &DecisionMeta;
    /// The outcome as the proto names it without its prefix (`ALLOW`).
    fn outcome(&self) -> &'static str;
    /// The decision's reasons.
    fn reasons(&self) -> &[Reason];
    /// The request the rules saw, ids masked.
    fn input(&self, masker: &Masker) -> Value;
    /// The decision's own fields (timing, actions, steps), ids masked.
    fn detail(&self, masker: &Masker) -> Value;
}

/// A decision as the handler answered it, with the request the rules saw.
#[derive(Debug)]
pub struct Decided {
    /// The request and its decision.
    pub entry: Box<dyn Logged>,
    /// Its index in a stream, for a streamed decision.
    pub batch_index: Option<u64>,
    /// What the shadow bundle answered instead, for an event that records
    /// a disagreement (`--shadow-bundle`); `None` for a live decision.
    pub shadow: Option<Box<ShadowAnswer>>,
}

/// What the shadow bundle answered for a request where it disagrees with
/// the answer given: written as the event's `shadow` field, beside the
/// answered `outcome` and `bundle`.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowAnswer {
    /// Its outcome (`DENY`); empty when it gave no decision.
    pub outcome: &'static str,
    /// Its outcome and what it decides (`ALLOW IMMEDIATE`), or why there is
    /// no decision (`NO DECISION: ...`).
    pub decision: String,
    /// Its reason codes, in order.
    pub reason_codes: Vec<String>,
    /// The shadow bundle.
    pub bundle: ShadowBundle,
}

/// The shadow bundle's identity in a log event.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowBundle {
    /// `name` from its `bundle.yaml`.
    pub name: String,
    /// Its revision.
    pub revision: String,
    /// Its digest.
    pub digest: String,
}

impl Decided {
    /// A unary call's decision.
    pub fn new(entry: Box<dyn Logged>) -> Self {
        Self {
            entry,
            batch_index: None,
            shadow: None,
        }
    }

    /// This decision as a record of what the shadow bundle answered instead.
    pub fn with_shadow(mut self, shadow: ShadowAnswer) -> Self {
        self.shadow = Some(Box::new(shadow));
        self
    }

    /// The decision of item `index` of a stream.
    pub fn batch(index: u64, entry: Box<dyn Logged>) -> Self {
        Self {
            entry,
            batch_index: Some(index),
            shadow: None,
        }
    }

    /// The decision's provenance.
    pub fn meta(&self) -> &DecisionMeta {
        self.entry.meta()
    }
}

/// Facts about the call, not the decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallContext {
    /// The W3C trace id of the caller's `traceparent`, if valid.
    pub trace_id: Option<String>,
    /// The caller's identity (the mTLS subject); `None` without mTLS.
    pub caller: Option<String>,
}

/// Everything one log line is made of.
#[derive(Debug)]
pub struct Record {
    /// The request and its decision.
    pub decided: Decided,
    /// When the request was decided (wall clock).
    pub timestamp: Timestamp,
    /// Time spent in the engine.
    pub eval: Duration,
    /// Trace id and caller.
    pub context: CallContext,
}

#[derive(Serialize)]
struct Event<'a> {
    decision_id: String,
    timestamp: String,
    decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_index: Option<u64>,
    input: Value,
    outcome: &'static str,
    #[serde(flatten)]
    detail: Value,
    reason_codes: Vec<&'a str>,
    matched_rules: Vec<&'a str>,
    /// The bundle locale the reason messages were written in.
    locale: &'a str,
    bundle: Bundle<'a>,
    eval_us: u64,
    caller: Option<&'a str>,
    trace_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shadow: Option<&'a ShadowAnswer>,
}

#[derive(Serialize)]
struct Bundle<'a> {
    name: &'a str,
    revision: &'a str,
    digest: &'a str,
}

/// Writes `record` as one JSON line (with the newline) into `out`.
pub fn write_line(
    out: &mut Vec<u8>,
    record: &Record,
    masker: &Masker,
    erase: &[ErasePath],
) -> serde_json::Result<()> {
    let entry = &record.decided.entry;
    let batch_index = record.decided.batch_index;
    let kind = entry.kind();
    let decision = match batch_index {
        Some(_) => kind.batch_label(),
        None => kind.label(),
    };
    let mut input = entry.input(masker);
    let detail = entry.detail(masker);
    let (outcome, reasons) = (entry.outcome(), entry.reasons());
    for path in erase {
        path.erase(&mut input);
    }
    let meta = record.decided.meta();
    let event = Event {
        decision_id: meta.decision_id.to_string(),
        timestamp: record.timestamp.to_string(),
        decision,
        batch_index,
        input,
        outcome,
        detail,
        reason_codes: reasons.iter().map(|r| r.code.as_str()).collect(),
        matched_rules: matched_rules(reasons),
        locale: &meta.locale,
        bundle: Bundle {
            name: &meta.bundle_name,
            revision: &meta.bundle_revision,
            digest: &meta.bundle_digest,
        },
        eval_us: u64::try_from(record.eval.as_micros()).unwrap_or(u64::MAX),
        caller: record.context.caller.as_deref(),
        trace_id: record.context.trace_id.as_deref(),
        shadow: record.decided.shadow.as_deref(),
    };
    serde_json::to_writer(&mut *out, &event)?;
    out.push(b'\n');
    Ok(())
}

/// The rule ids behind the reasons, each once, in reason order.
fn matched_rules(reasons: &[Reason]) -> Vec<&str> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for id in reasons.iter().filter_map(|r| r.rule_id.as_ref()) {
        if seen.insert(id.as_str(), ()).is_none() {
            out.push(id.as_str());
        }
    }
    out
}

/// The trace id of a W3C `traceparent` value
/// (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`), if valid.
pub fn trace_id(traceparent: &str) -> Option<String> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let valid = hex(version, 2)
        && version != "ff"
        // Version 00 has exactly four fields; later versions may add more.
        && (version != "00" || parts.next().is_none())
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && hex(flags, 2);
    valid.then(|| trace.to_owned())
}

#[cfg(test)]
mod tests {
    use super::trace_id;

    #[test]
    fn traceparent_is_parsed_per_w3c() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(
            trace_id(&format!("00-{id}-00f067aa0ba902b7-01")).as_deref(),
            Some(id)
        );
        assert_eq!(
            trace_id("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(trace_id(&format!("ff-{id}-00f067aa0ba902b7-01")), None);
        assert_eq!(trace_id(&format!("00-{id}-0000000000000000-01")), None);
        assert_eq!(
            trace_id(&format!("00-{}-00f067aa0ba902b7-01", id.to_uppercase())),
            None
        );
        assert_eq!(trace_id("garbage"), None);
    }
}
