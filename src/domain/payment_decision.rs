//! What the payment decisions answer: a link outcome with actions to prompt,
//! or a funding plan of ordered steps.

use super::{Currency, DecisionMeta, Reason};

/// The outcome of a link request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Link now.
    Link,
    /// Prompt the user for the required actions first.
    RequireAction,
    /// Do not link.
    Deny,
}

impl LinkOutcome {
    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Link => "LINK",
            Self::RequireAction => "REQUIRE_ACTION",
            Self::Deny => "DENY",
        }
    }

    /// Parses `LINK` or `LINK_OUTCOME_LINK`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.strip_prefix("LINK_OUTCOME_").unwrap_or(s) {
            "LINK" => Some(Self::Link),
            "REQUIRE_ACTION" => Some(Self::RequireAction),
            "DENY" => Some(Self::Deny),
            _ => None,
        }
    }
}

/// What the user must do before linking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredAction {
    /// Set up a second payment method.
    AddPaymentMethod,
    /// Switch on auto-charge.
    EnableAutoCharge,
    /// Reactivate a suspended or expired method.
    ReactivatePaymentMethod,
    /// Raise an auto-charge that is on but below the merchant's criterion.
    AdjustAutoCharge,
}

impl RequiredAction {
    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AddPaymentMethod => "ADD_PAYMENT_METHOD",
            Self::EnableAutoCharge => "ENABLE_AUTO_CHARGE",
            Self::ReactivatePaymentMethod => "REACTIVATE_PAYMENT_METHOD",
            Self::AdjustAutoCharge => "ADJUST_AUTO_CHARGE",
        }
    }

    /// Parses `ENABLE_AUTO_CHARGE` or `REQUIRED_ACTION_ENABLE_AUTO_CHARGE`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.strip_prefix("REQUIRED_ACTION_").unwrap_or(s) {
            "ADD_PAYMENT_METHOD" => Some(Self::AddPaymentMethod),
            "ENABLE_AUTO_CHARGE" => Some(Self::EnableAutoCharge),
            "REACTIVATE_PAYMENT_METHOD" => Some(Self::ReactivatePaymentMethod),
            "ADJUST_AUTO_CHARGE" => Some(Self::AdjustAutoCharge),
            _ => None,
        }
    }
}

/// The answer to a link request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLinkDecision {
    /// Link, require action, or deny.
    pub outcome: LinkOutcome,
    /// What to prompt, in order; empty unless `RequireAction`.
    pub required_actions: Vec<RequiredAction>,
    /// Every reason, in rule order.
    pub reasons: Vec<Reason>,
    /// Provenance.
    pub meta: DecisionMeta,
}

/// Approve or decline a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundingOutcome {
    /// Execute the steps.
    Approve,
    /// Do not charge.
    Decline,
}

impl FundingOutcome {
    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "APPROVE",
            Self::Decline => "DECLINE",
        }
    }

    /// Parses `APPROVE` or `FUNDING_OUTCOME_APPROVE`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.strip_prefix("FUNDING_OUTCOME_").unwrap_or(s) {
            "APPROVE" => Some(Self::Approve),
            "DECLINE" => Some(Self::Decline),
            _ => None,
        }
    }
}

/// Where a funding step draws money from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundingSource {
    /// Pay from the balance.
    Balance,
    /// Top up the balance from the auto-charge source (not a payment itself).
    AutoCharge,
    /// Pay with a preset fallback method.
    PaymentMethod,
}

impl FundingSource {
    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Balance => "BALANCE",
            Self::AutoCharge => "AUTO_CHARGE",
            Self::PaymentMethod => "PAYMENT_METHOD",
        }
    }

    /// Parses `BALANCE` or `FUNDING_SOURCE_BALANCE`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.strip_prefix("FUNDING_SOURCE_").unwrap_or(s) {
            "BALANCE" => Some(Self::Balance),
            "AUTO_CHARGE" => Some(Self::AutoCharge),
            "PAYMENT_METHOD" => Some(Self::PaymentMethod),
            _ => None,
        }
    }

    /// Whether the step pays the merchant (an auto-charge only tops up).
    pub fn is_payment(self) -> bool {
        !matches!(self, Self::AutoCharge)
    }
}

/// One step of a funding plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingStep {
    /// Where the money comes from.
    pub source: FundingSource,
    /// The method drawn on; the balance method's id (or empty) for BALANCE.
    pub method_id: String,
    /// Minor units, > 0.
    pub amount_minor: i64,
}

/// The answer to a funding request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeFundingDecision {
    /// Approve or decline.
    pub outcome: FundingOutcome,
    /// Steps in execution order; empty on a decline.
    pub steps: Vec<FundingStep>,
    /// The currency of every step.
    pub currency: Currency,
    /// Every reason.
    pub reasons: Vec<Reason>,
    /// Provenance.
    pub meta: DecisionMeta,
}
