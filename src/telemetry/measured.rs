//! What the metrics need to know of a decision: its type, its outcome as a
//! label value, and its reasons. The domain knows nothing of metrics, so
//! the mapping lives here.

pub use crate::domain::DecisionKind;
use crate::domain::{
    ChargeFundingDecision, FundingOutcome, LinkOutcome, PaymentLinkDecision, PlanChangeDecision,
    Reason, Verdict,
};

/// A decision the metrics can count: its type, outcome and reasons.
pub trait Measured {
    /// The decision type.
    const KIND: DecisionKind;
    /// The outcome, one of `KIND.outcomes()`.
    fn outcome(&self) -> &'static str;
    /// Its reasons (their codes come from the bundle, so they are bounded).
    fn reasons(&self) -> &[Reason];
}

impl Measured for PlanChangeDecision {
    const KIND: DecisionKind = DecisionKind::PlanChange;
    fn outcome(&self) -> &'static str {
        match self.verdict {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
        }
    }
    fn reasons(&self) -> &[Reason] {
        &self.reasons
    }
}

impl Measured for PaymentLinkDecision {
    const KIND: DecisionKind = DecisionKind::PaymentLink;
    fn outcome(&self) -> &'static str {
        match self.outcome {
            LinkOutcome::Link => "link",
            LinkOutcome::RequireAction => "require_action",
            LinkOutcome::Deny => "deny",
        }
    }
    fn reasons(&self) -> &[Reason] {
        &self.reasons
    }
}

impl Measured for ChargeFundingDecision {
    const KIND: DecisionKind = DecisionKind::ChargeFunding;
    fn outcome(&self) -> &'static str {
        match self.outcome {
            FundingOutcome::Approve => "approve",
            FundingOutcome::Decline => "decline",
        }
    }
    fn reasons(&self) -> &[Reason] {
        &self.reasons
    }
}
