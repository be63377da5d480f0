//! The vocabulary of Tollgate: requests, decisions and the values they carry,
//! each built only valid. Nothing here knows about gRPC, files or clocks.

mod decision;
mod ids;
mod plan_change;
mod violation;

pub use decision::{
    DecisionId, DecisionMeta, EffectiveTiming, PlanChangeDecision, Reason, RuleTrace, Verdict,
};
pub use ids::{ReasonCode, RuleId};
pub use plan_change::{
    AnchorDay, Billing, BillingInput, PlanChange, PlanChangeInput, Requester, RequesterRole,
};
pub use violation::{FieldViolation, Violations};
