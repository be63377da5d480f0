//! What a decision answers: verdict, timing, reasons and provenance.

use std::{borrow::Cow, collections::BTreeMap, fmt, sync::Arc};

use jiff::Timestamp;

use super::{ReasonCode, RuleId};

/// A unique decision id (UUIDv7: sortable by creation time), kept binary
/// and formatted only when encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecisionId(uuid::Uuid);

impl DecisionId {
    /// A fresh, unique id.
    pub fn generate() -> Self {
        // uuid's `now_v7` takes one context shared by every thread, behind
        // a lock: its counter orders ids within the process. A context per
        // thread keeps them ordered within the thread and still unique
        // across threads and replicas (each context seeds its counter from
        // the CSPRNG every millisecond, and the rest of the id is random),
        // without the lock.
        thread_local! {
            static CONTEXT: uuid::ContextV7 = const { uuid::ContextV7::new() };
        }
        CONTEXT.with(|c| Self(uuid::Uuid::new_v7(uuid::Timestamp::now(c))))
    }

    /// The id as its hyphenated lower-case text (what `Display` writes),
    /// in one allocation of its exact length.
    pub fn text(self) -> String {
        String::from(self.encode(&mut [0; DecisionId::TEXT_LEN]))
    }

    /// The length of the id's text.
    pub const TEXT_LEN: usize = uuid::fmt::Hyphenated::LENGTH;

    /// The id's text (as [`Self::text`]) written into `buf`, without
    /// allocating.
    pub fn encode(self, buf: &mut [u8; Self::TEXT_LEN]) -> &str {
        self.0.hyphenated().encode_lower(buf)
    }

    /// The id's 128 bits (for sampling by id).
    pub fn as_u128(self) -> u128 {
        self.0.as_u128()
    }
}

impl fmt::Display for DecisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The change may go ahead, at the decision's effective instant.
    Allow,
    /// The change must not be executed.
    Deny,
}

impl Verdict {
    /// `ALLOW` or `DENY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "ALLOW",
            Self::Deny => "DENY",
        }
    }
}

/// When an allowed plan change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EffectiveTiming {
    /// At the evaluation instant.
    Immediate,
    /// At the next billing period boundary.
    NextBillingCycle,
    /// At the end of the commitment term.
    EndOfTerm,
    /// At an instant the rule names.
    Scheduled,
}

impl EffectiveTiming {
    /// The upper-case name (`NEXT_BILLING_CYCLE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Immediate => "IMMEDIATE",
            Self::NextBillingCycle => "NEXT_BILLING_CYCLE",
            Self::EndOfTerm => "END_OF_TERM",
            Self::Scheduled => "SCHEDULED",
        }
    }

    /// Parses `END_OF_TERM` or `EFFECTIVE_TIMING_END_OF_TERM`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.strip_prefix("EFFECTIVE_TIMING_").unwrap_or(s) {
            "IMMEDIATE" => Some(Self::Immediate),
            "NEXT_BILLING_CYCLE" => Some(Self::NextBillingCycle),
            "END_OF_TERM" => Some(Self::EndOfTerm),
            "SCHEDULED" => Some(Self::Scheduled),
            _ => None,
        }
    }
}

/// One reason behind a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Stable machine-readable code.
    pub code: ReasonCode,
    /// Human-readable text.
    pub message: String,
    /// The rule that produced it; `None` for the engine's own reasons.
    pub rule_id: Option<RuleId>,
    /// Structured values such as `metric`, `current`, `limit`.
    pub details: BTreeMap<DetailKey, String>,
}

/// The key of a reason's detail: one the engine writes (`metric`, `limit`),
/// borrowed from the binary so a decision allocates nothing for it, or one
/// a bundle's rule names.
pub type DetailKey = Cow<'static, str>;

/// How one rule fared in one decision (kept only when `explain` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTrace {
    /// The rule.
    pub rule_id: RuleId,
    /// Its condition held.
    pub matched: bool,
    /// The rule's effect as the bundle wrote it (`deny`, `allow`, `link`...).
    pub effect: String,
    /// Why it was skipped or what failed; empty otherwise.
    pub note: String,
    /// It decided or contributed to the verdict.
    pub decisive: bool,
}

/// Provenance carried by every decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionMeta {
    /// Unique per decision.
    pub decision_id: DecisionId,
    /// The bundle's name.
    pub bundle_name: Arc<str>,
    /// The bundle's revision.
    pub bundle_revision: Arc<str>,
    /// sha256 of the bundle's content, hex.
    pub bundle_digest: Arc<str>,
    /// The instant the decision was evaluated at.
    pub evaluated_at: Timestamp,
    /// One entry per rule, when `explain` was set.
    pub trace: Vec<RuleTrace>,
    /// The bundle locale the reason messages are written in (`ja`).
    pub locale: Arc<str>,
}

/// The answer to a plan-change request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanChangeDecision {
    /// Allow or deny.
    pub verdict: Verdict,
    /// When the change takes effect; `None` on a deny.
    pub timing: Option<EffectiveTiming>,
    /// The concrete effective instant; set on every allow.
    pub effective_at: Option<Timestamp>,
    /// Every reason, in rule order.
    pub reasons: Vec<Reason>,
    /// Provenance.
    pub meta: DecisionMeta,
    /// Reported metrics the bundle's catalogue does not declare, sorted
    /// (a typo, `user` for `users`, shows here); empty when it declares none.
    pub unknown_metrics: Vec<String>,
}
