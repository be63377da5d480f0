//! One decision-log event: what the handler hands over (the domain request
//! and decision, moved, not copied) and the JSON line made of it, by the
//! pool of encoders the handlers' threads share.

use std::{fmt, sync::Arc, time::Duration};

use jiff::Timestamp;

use super::{
    json::JsonWriter,
    mask::{ErasePath, Masker},
};
use crate::domain::{DecisionId, DecisionKind, DecisionMeta, Reason};

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
    /// What the shadow bundle answered instead, for an event that records
    /// a disagreement (`--shadow-bundle`); `None` for a live decision.
    pub shadow: Option<Box<ShadowAnswer>>,
}

/// What the shadow bundle answered for a request where it disagrees with
/// the answer given: written as the event's `shadow` member, beside the
/// answered `outcome` and `bundle`.
#[derive(Debug, Clone)]
pub struct ShadowAnswer {
    /// Its outcome without the enum prefix (`DENY`); empty when it gave no
    /// decision.
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
#[derive(Debug, Clone)]
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

/// Makes the log's lines: the masker (and its cache of hashes), the erased
/// paths, and the bundle provenance of the last line, encoded once per
/// bundle.
#[derive(Debug)]
pub struct LineEncoder {
    masker: Masker,
    erase: Vec<ErasePath>,
    bundle: Option<Provenance>,
}

/// A bundle's `{"name":…,"revision":…,"digest":…}`, encoded.
#[derive(Debug)]
struct Provenance {
    name: Arc<str>,
    revision: Arc<str>,
    digest: Arc<str>,
    json: Vec<u8>,
}

impl LineEncoder {
    /// An encoder masking with `masker` and leaving out `erase`.
    pub fn new(masker: Masker, erase: Vec<ErasePath>) -> Self {
        Self {
            masker,
            erase,
            bundle: None,
        }
    }

    /// Writes `record` as one JSON line (with the newline) into `out`.
    pub fn write(&mut self, out: &mut Vec<u8>, record: &Record) {
        let meta = record.decided.meta();
        let same = self.bundle.as_ref().is_some_and(|p| {
            Arc::ptr_eq(&p.digest, &meta.bundle_digest)
                && Arc::ptr_eq(&p.name, &meta.bundle_name)
                && Arc::ptr_eq(&p.revision, &meta.bundle_revision)
        });
        if !same {
            let mut json = Vec::new();
            JsonWriter::new(&mut json, &[]).object(|w| {
                w.field("name", |w| w.str(&meta.bundle_name));
                w.field("revision", |w| w.str(&meta.bundle_revision));
                w.field("digest", |w| w.str(&meta.bundle_digest));
            });
            self.bundle = Some(Provenance {
                name: Arc::clone(&meta.bundle_name),
                revision: Arc::clone(&meta.bundle_revision),
                digest: Arc::clone(&meta.bundle_digest),
                json,
            });
        }
        let bundle = self.bundle.as_ref().map_or(&b"null"[..], |p| &p.json);
        line(out, record, &self.masker, &self.erase, bundle);
    }
}

/// Line encoders for the threads that log, each with its own hash cache and
/// line buffer: one is taken per line, and one is made when every other is
/// in use, so there are as many as threads ever encoded at once (and all of
/// them idle whenever none encodes).
#[derive(Debug)]
pub(super) struct Encoders {
    pool: std::sync::Mutex<Pool>,
}

#[derive(Debug)]
struct Pool {
    idle: Vec<PooledEncoder>,
    /// What a new encoder masks with (its cache stays empty).
    masker: Masker,
    erase: Vec<ErasePath>,
}

/// An encoder and the buffer of its last line.
#[derive(Debug)]
pub(super) struct PooledEncoder {
    encoder: LineEncoder,
    line: Vec<u8>,
}

impl PooledEncoder {
    /// `record` as one JSON line with its newline, valid until the next.
    pub(super) fn line(&mut self, record: &Record) -> &[u8] {
        self.line.clear();
        self.encoder.write(&mut self.line, record);
        &self.line
    }
}

impl Encoders {
    /// Encoders masking with (a copy of) `masker` and leaving out `erase`.
    pub(super) fn new(masker: Masker, erase: Vec<ErasePath>) -> Self {
        Self {
            pool: std::sync::Mutex::new(Pool {
                idle: Vec::new(),
                masker,
                erase,
            }),
        }
    }

    /// An idle encoder, or a new one.
    pub(super) fn take(&self) -> PooledEncoder {
        let mut pool = self.pool();
        if let Some(encoder) = pool.idle.pop() {
            return encoder;
        }
        PooledEncoder {
            encoder: LineEncoder::new(pool.masker.clone(), pool.erase.clone()),
            line: Vec::with_capacity(1024),
        }
    }

    /// How many encoders are idle: every one made, when none is in use.
    #[cfg(test)]
    pub(super) fn idle(&self) -> usize {
        self.pool().idle.len()
    }

    /// Returns an encoder taken with [`Encoders::take`].
    pub(super) fn put(&self, encoder: PooledEncoder) {
        self.pool().idle.push(encoder);
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        // Independent encoders: a panic elsewhere leaves the pool whole.
        self.pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn line(out: &mut Vec<u8>, record: &Record, masker: &Masker, erase: &[ErasePath], bundle: &[u8]) {
    let entry = &record.decided.entry;
    let batch_index = record.decided.batch_index;
    let kind = entry.kind();
    let meta = record.decided.meta();
    let reasons = entry.reasons();
    let mut w = JsonWriter::new(out, erase);
    w.object(|w| {
        w.field("v", |w| w.u64(FORMAT_VERSION));
        w.field("decisionId", |w| {
            w.ascii(
                meta.decision_id
                    .encode(&mut [0; DecisionId::TEXT_LEN])
                    .as_bytes(),
            );
        });
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
        // Each rule once, in reason order; a decision has few reasons.
        let any_rule = reasons.iter().any(|r| r.rule_id.is_some());
        w.field_if(any_rule, "matchedRules", |w| {
            w.array(|w| {
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
        w.field("bundle", |w| w.raw(bundle));
        w.field("evalUs", |w| {
            w.u64(u64::try_from(record.eval.as_micros()).unwrap_or(u64::MAX));
        });
        if let Some(caller) = &record.context.caller {
            w.field("caller", |w| w.str(caller));
        }
        if let Some(trace) = &record.context.trace_id {
            w.field("traceId", |w| w.str(trace));
        }
        if let Some(shadow) = &record.decided.shadow {
            w.field("shadow", |w| {
                write_shadow(w, entry.outcome_prefix(), shadow)
            });
        }
    });
    out.push(b'\n');
}

/// The `shadow` member of a disagreement's line: the candidate's answer,
/// spelt as the answered one is.
fn write_shadow(w: &mut JsonWriter<'_>, prefix: &str, shadow: &ShadowAnswer) {
    w.object(|w| {
        w.field("outcome", |w| match shadow.outcome {
            "" => w.null(),
            outcome => w.enum_value(prefix, outcome),
        });
        w.field("decision", |w| w.str(&shadow.decision));
        w.field("reasonCodes", |w| {
            w.array(|w| shadow.reason_codes.iter().for_each(|c| w.str(c)));
        });
        w.field("bundle", |w| {
            w.object(|w| {
                w.field("name", |w| w.str(&shadow.bundle.name));
                w.field("revision", |w| w.str(&shadow.bundle.revision));
                w.field("digest", |w| w.str(&shadow.bundle.digest));
            });
        });
    });
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
pub(super) mod tests {
    use std::sync::Arc;

    use super::{CallContext, Decided, LineEncoder, Record, trace_id};
    use crate::{
        decision_log::Masker,
        domain::{
            DecisionId, DecisionMeta, PlanChange, PlanChangeDecision, PlanChangeInput, Verdict,
        },
    };

    /// A plan-change record of bundle `name`, `revision`, `digest`.
    pub(in crate::decision_log) fn record(
        name: &Arc<str>,
        revision: &Arc<str>,
        digest: &Arc<str>,
    ) -> Record {
        let input = PlanChangeInput {
            tenant_id: "t1".to_owned(),
            from_plan: "free".to_owned(),
            to_plan: "standard".to_owned(),
            requester_role: Some("TENANT".to_owned()).into(),
            ..PlanChangeInput::default()
        };
        let request = PlanChange::parse(input, jiff::Timestamp::UNIX_EPOCH).unwrap();
        let decision = PlanChangeDecision {
            verdict: Verdict::Deny,
            timing: None,
            effective_at: None,
            reasons: Vec::new(),
            meta: DecisionMeta {
                decision_id: DecisionId::generate(),
                bundle_name: Arc::clone(name),
                bundle_revision: Arc::clone(revision),
                bundle_digest: Arc::clone(digest),
                evaluated_at: jiff::Timestamp::UNIX_EPOCH,
                trace: Vec::new(),
                locale: Arc::from("en"),
            },
            unknown_metrics: Vec::new(),
        };
        Record {
            decided: Decided::new(Box::new((request, decision))),
            timestamp: jiff::Timestamp::UNIX_EPOCH,
            eval: std::time::Duration::ZERO,
            context: CallContext::default(),
        }
    }

    #[test]
    fn the_provenance_follows_the_bundle_of_each_line() {
        let mut encoder = LineEncoder::new(Masker::keyed(b"k"), Vec::new());
        let (name, digest): (Arc<str>, Arc<str>) = (Arc::from("b"), Arc::from("d"));
        let (r1, r2): (Arc<str>, Arc<str>) = (Arc::from("r1"), Arc::from("r2"));
        // The same bundle twice (the encoding kept), another, then the first again.
        for revision in [&r1, &r1, &r2, &r1] {
            let mut line = Vec::new();
            encoder.write(&mut line, &record(&name, revision, &digest));
            let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
            let want = serde_json::json!({"name": "b", "revision": &**revision, "digest": "d"});
            assert_eq!(v["bundle"], want);
            assert_eq!(line.last(), Some(&b'\n'));
        }
    }

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
