//! One decision-log event: what the handler hands over (cheap: the domain
//! request and decision, moved, not copied) and the JSON line the writer
//! makes of it, off the request path.

use std::{fmt, time::Duration};

use jiff::Timestamp;

use super::{
    json::JsonWriter,
    mask::{ErasePath, Masker},
};
use crate::domain::{DecisionKind, DecisionMeta, Reason};

/// The version of the line format, written as the line's `v`: 2 since the
/// lines use the proto3 JSON mapping (camelCase, full enum names) and
/// `input` is the request message itself.
pub const FORMAT_VERSION: u64 = 2;

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
    /// The prefix of the outcome's proto enum values (`VERDICT`).
    fn outcome_prefix(&self) -> &'static str;
    /// The decision's reasons.
    fn reasons(&self) -> &[Reason];
    /// Writes the request the rules saw as the proto3 JSON of its request
    /// message, ids masked: an object `tollgate eval` reads back.
    fn input(&self, w: &mut JsonWriter<'_>, masker: &Masker);
    /// Writes the decision's own fields (timing, actions, steps) as members
    /// of the line's object, ids masked.
    fn detail(&self, w: &mut JsonWriter<'_>, masker: &Masker);
}

/// A decision as the handler answered it, with the request the rules saw.
#[derive(Debug)]
pub struct Decided {
    /// The request and its decision.
    pub entry: Box<dyn Logged>,
    /// Its index in a stream, for a streamed decision.
    pub batch_index: Option<u64>,
}

impl Decided {
    /// A unary call's decision.
    pub fn new(entry: Box<dyn Logged>) -> Self {
        Self {
            entry,
            batch_index: None,
        }
    }

    /// The decision of item `index` of a stream.
    pub fn batch(index: u64, entry: Box<dyn Logged>) -> Self {
        Self {
            entry,
            batch_index: Some(index),
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

/// Writes `record` as one JSON line (with the newline) into `out`.
pub fn write_line(out: &mut Vec<u8>, record: &Record, masker: &Masker, erase: &[ErasePath]) {
    let entry = &record.decided.entry;
    let batch_index = record.decided.batch_index;
    let kind = entry.kind();
    let meta = record.decided.meta();
    let reasons = entry.reasons();
    let mut w = JsonWriter::new(out, erase);
    w.object(|w| {
        w.field("v", |w| w.u64(FORMAT_VERSION));
        w.field("decisionId", |w| w.plain(&meta.decision_id));
        w.field("timestamp", |w| w.timestamp(record.timestamp));
        w.field("decision", |w| {
            w.str(match batch_index {
                Some(_) => kind.batch_label(),
                None => kind.label(),
            });
        });
        if let Some(index) = batch_index {
            w.field("batchIndex", |w| w.u64(index));
        }
        w.field("input", |w| w.erasing(|w| entry.input(w, masker)));
        w.field("outcome", |w| {
            w.enum_value(entry.outcome_prefix(), entry.outcome());
        });
        entry.detail(w, masker);
        w.field("reasonCodes", |w| {
            w.array(|w| reasons.iter().for_each(|r| w.str(r.code.as_str())));
        });
        w.field("matchedRules", |w| {
            w.array(|w| {
                // Each rule once, in reason order; a decision has few reasons.
                for (i, id) in reasons.iter().enumerate() {
                    let Some(id) = &id.rule_id else { continue };
                    let earlier = reasons.get(..i).unwrap_or_default();
                    if !earlier.iter().any(|r| r.rule_id.as_ref() == Some(id)) {
                        w.str(id.as_str());
                    }
                }
            });
        });
        w.field("locale", |w| w.str(&meta.locale));
        w.field("bundle", |w| {
            w.object(|w| {
                w.field("name", |w| w.str(&meta.bundle_name));
                w.field("revision", |w| w.str(&meta.bundle_revision));
                w.field("digest", |w| w.str(&meta.bundle_digest));
            });
        });
        w.field("evalUs", |w| {
            w.u64(u64::try_from(record.eval.as_micros()).unwrap_or(u64::MAX));
        });
        w.field("caller", |w| match &record.context.caller {
            Some(c) => w.str(c),
            None => w.null(),
        });
        w.field("traceId", |w| match &record.context.trace_id {
            Some(t) => w.str(t),
            None => w.null(),
        });
    });
    out.push(b'\n');
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
