//! The decision types by name, for metrics, logs and traces.

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
