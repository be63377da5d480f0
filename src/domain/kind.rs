//! The decision types by name, and what every decision answers whatever
//! its type: written once here for metrics, logs, traces and bundle tests.

use super::{ChargeFundingDecision, DecisionMeta, PaymentLinkDecision, PlanChangeDecision, Reason};

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

    /// The decision-log name of a decision of this type answered in a
    /// stream (only plan changes have a streaming RPC).
    pub fn batch_label(self) -> &'static str {
        match self {
            Self::PlanChange => "plan_change_batch",
            Self::PaymentLink | Self::ChargeFunding => self.label(),
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

/// What every decision answers, whatever its type.
pub trait Answer {
    /// The decision type.
    const KIND: DecisionKind;
    /// The outcome as the proto names it without its prefix (`ALLOW`,
    /// `REQUIRE_ACTION`).
    fn outcome(&self) -> &'static str;
    /// Its reasons (their codes come from the bundle, so they are bounded).
    fn reasons(&self) -> &[Reason];
    /// Its provenance.
    fn meta(&self) -> &DecisionMeta;

    /// The outcome as a metric label value, one of `KIND.outcomes()`
    /// (`allow`, `require_action`).
    fn outcome_label(&self) -> &'static str {
        let outcome = self.outcome();
        Self::KIND
            .outcomes()
            .iter()
            .find(|o| o.eq_ignore_ascii_case(outcome))
            .copied()
            .unwrap_or("unknown")
    }
}

impl Answer for PlanChangeDecision {
    const KIND: DecisionKind = DecisionKind::PlanChange;
    fn outcome(&self) -> &'static str {
        self.verdict.as_str()
    }
    fn reasons(&self) -> &[Reason] {
        &self.reasons
    }
    fn meta(&self) -> &DecisionMeta {
        &self.meta
    }
}

impl Answer for PaymentLinkDecision {
    const KIND: DecisionKind = DecisionKind::PaymentLink;
    fn outcome(&self) -> &'static str {
        self.outcome.as_str()
    }
    fn reasons(&self) -> &[Reason] {
        &self.reasons
    }
    fn meta(&self) -> &DecisionMeta {
        &self.meta
    }
}

impl Answer for ChargeFundingDecision {
    const KIND: DecisionKind = DecisionKind::ChargeFunding;
    fn outcome(&self) -> &'static str {
        self.outcome.as_str()
    }
    fn reasons(&self) -> &[Reason] {
        &self.reasons
    }
    fn meta(&self) -> &DecisionMeta {
        &self.meta
    }
}
