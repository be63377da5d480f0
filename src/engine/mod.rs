//! Evaluation: `DecisionType::decide(&CompiledBundle, &Request) ->
//! Result<Decision, DecideError>`,
//! pure and synchronous, the same machinery for every decision type.
//!
//! # The combining rule
//!
//! Rules of a decision type are evaluated in bundle order (files in name
//! order, rules in file order):
//!
//! 1. A rule whose structural scope (`from_plans`, `to_plans`, `requesters`)
//!    does not cover the request is not applicable and is skipped.
//! 2. **Deny overrides.** Every matching `deny` rule contributes its reasons
//!    (a `for_each` rule one reason per matching item), and the verdict is
//!    DENY with all of them, not just the first.
//! 3. **First allow decides.** Otherwise the first matching `allow` rule
//!    decides the outcome (for plan changes: the timing and effective
//!    instant); its reasons are returned. Later allow rules are not
//!    evaluated.
//! 4. **Default deny.** Nothing matching is a DENY with `NO_MATCHING_RULE`.
//! 5. **Errors fail closed.** A condition or message that fails at run time
//!    (missing key, type error, a non-bool condition) is a deny reason
//!    `POLICY_EVALUATION_ERROR` naming the rule; an allow whose effective
//!    instant cannot be computed is a deny `EFFECTIVE_TIME_UNAVAILABLE`,
//!    an approve whose funding plan cannot be built is a decline
//!    `FUNDING_PLAN_UNAVAILABLE`. No error ever lets a request through.
//! 6. **Missing facts are not a verdict.** An allow whose timing needs a
//!    billing date the request did not send (`NEXT_BILLING_CYCLE` without
//!    `billing.current_period_end` after `as_of` or `billing.anchor_day`,
//!    `END_OF_TERM` without `billing.commitment_end`) gives no decision:
//!    [`DecideError::MissingFact`] names the field and the rule, and the
//!    caller asks again with it (gRPC `FAILED_PRECONDITION`). It is neither
//!    an allow nor a deny: the policy was never asked about that calendar.
//!    A timing never takes effect before `as_of`: a commitment end or a
//!    schedule already past takes effect at `as_of`.
//! 7. **Declarations are checked first.** A plan-change request that sends a
//!    metric the bundle declares in the other map (a `period` metric in
//!    `usage`) is not evaluated at all: [`DecideError::Invalid`] names each
//!    such field (gRPC `INVALID_ARGUMENT`). Metrics the bundle does not
//!    declare are no error; the decision lists them as `unknown_metrics`.
//!
//! The deny effect is spelt `deny` for plan changes and links and `decline`
//! for funding; the deciding effects are `allow` (with a timing), `link` and
//! `require_action` (with actions), and `approve` (with a funding strategy).
//! A payment request naming a merchant the bundle does not know, when the
//! bundle declares no default merchant profile, is refused with
//! `UNKNOWN_MERCHANT` before any rule runs: without settings there are no
//! facts to judge by.

mod combine;
pub mod coverage;
mod decide_error;
mod decision;
pub mod diff;
mod env;
mod error;
pub mod lint;
mod meta;
mod native;
mod render;
mod text;
pub mod types;
mod verify;

pub use decide_error::DecideError;
pub use decision::DecisionType;
pub use error::EvalError;
pub use types::{
    charge_funding::{ChargeFundingType, decide_charge_funding},
    payment_link::{PaymentLinkType, decide_payment_link},
    plan_change::{PlanChangeType, decide_plan_change, next_anchor_boundary},
};
pub use verify::{
    TEST_CLOCK, TestOutcome, TestReport, TraceStep, run_selected, run_tests, verify, verify_after,
};

/// Reason codes the engine itself emits.
pub mod codes {
    /// Nothing matched: default deny.
    pub const NO_MATCHING_RULE: &str = "NO_MATCHING_RULE";
    /// A rule failed at run time: fail closed.
    pub const POLICY_EVALUATION_ERROR: &str = "POLICY_EVALUATION_ERROR";
    /// The deciding allow rule's effective instant could not be computed.
    pub const EFFECTIVE_TIME_UNAVAILABLE: &str = "EFFECTIVE_TIME_UNAVAILABLE";
    /// The deciding approve rule's funding strategy has no valid plan.
    pub const FUNDING_PLAN_UNAVAILABLE: &str = "FUNDING_PLAN_UNAVAILABLE";
    /// The merchant is unknown and the bundle has no default profile.
    pub const UNKNOWN_MERCHANT: &str = super::types::payment::UNKNOWN_MERCHANT;
    /// A fallback candidate that could not be used (one per method).
    pub const FALLBACK_METHOD_SKIPPED: &str = super::types::payment::FALLBACK_METHOD_SKIPPED;
}
