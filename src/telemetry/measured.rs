//! What the metrics need to know of a decision: its type, its outcome as a
//! label value, and its reasons. The domain knows nothing of metrics, so
//! the mapping lives here.

use crate::domain::{
    ChargeFundingDecision, FundingOutcome, LinkOutcome, PaymentLinkDecision, PlanChangeDecision,
    Reason, Verdict,
};

/// The decision types, each with its fixed outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionKind {
    /// `DecidePlanChange` and `DecidePlanChanges`.
    PlanChange,
    /// `DecidePaymentLink`.
    PaymentLink,
    /// `DecideChargeFunding`.
    ChargeFunding,
}

impl DecisionKind {
    /// Every decision type, in [`index`](Self::index) order.
    pub const ALL: [Self; 3] = [Self::PlanChange, Self::PaymentLink, Self::ChargeFunding];

    /// The position of this type in [`ALL`](Self::ALL).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The `decision` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::PlanChange => "plan_change",
            Self::PaymentLink => "payment_link",
            Self::ChargeFunding => "charge_funding",
        }
    }

    /// Every `outcome` label value a decision of this type can have.
    pub fn outcomes(self) -> &'static [&'static str] {
        match self {
            Self::PlanChange => &["allow", "deny"],
            Self::PaymentLink => &["link", "require_action", "deny"],
            Self::ChargeFunding => &["approve", "decline"],
        }
    }
}

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
