//! The vocabulary of Tollgate: requests, decisions and the values they carry,
//! each built only valid. Nothing here knows about gRPC, files or clocks.

mod decision;
mod enum_input;
mod ids;
mod kind;
mod languages;
mod money;
mod payment;
mod payment_decision;
mod plan_change;
mod violation;

pub use decision::{
    DecisionId, DecisionMeta, DetailKey, EffectiveTiming, PlanChangeDecision, Reason, RuleTrace,
    Verdict,
};
pub use enum_input::EnumInput;
pub use ids::{IdError, ReasonCode, RuleId};
pub use kind::{Answer, DecisionKind};
pub use languages::Languages;
pub use money::{Currency, Money};
pub use payment::{
    AutoCharge, ChargeFunding, ChargeFundingInput, HealthIndex, MethodInput, MethodStatus,
    MethodType, PaymentLink, PaymentLinkInput, PaymentMethod, Wallet, WalletInput,
};
pub use payment_decision::{
    ChargeFundingDecision, FundingOutcome, FundingSource, FundingStep, LinkOutcome,
    PaymentLinkDecision, RequiredAction,
};
pub use plan_change::{
    AnchorDay, Billing, BillingField, BillingInput, PlanChange, PlanChangeInput, Requester,
    RequesterRole,
};
pub use violation::{FieldViolation, Violations};
