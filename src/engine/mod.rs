//! Evaluation: `decide_*(&CompiledBundle, &Request) -> Decision`, pure and
//! synchronous, the same machinery for every decision type.
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
//!    instant cannot be computed is a deny `EFFECTIVE_TIME_UNAVAILABLE`.
//!    No error ever lets a request through.

mod combine;
mod plan_change;
mod render;
mod timing;
mod verify;

pub use plan_change::decide_plan_change;
pub use timing::next_anchor_boundary;
pub use verify::{TestOutcome, TestReport, run_tests, verify};

/// Reason codes the engine itself emits.
pub mod codes {
    /// Nothing matched: default deny.
    pub const NO_MATCHING_RULE: &str = "NO_MATCHING_RULE";
    /// A rule failed at run time: fail closed.
    pub const POLICY_EVALUATION_ERROR: &str = "POLICY_EVALUATION_ERROR";
    /// The deciding allow rule's effective instant could not be computed.
    pub const EFFECTIVE_TIME_UNAVAILABLE: &str = "EFFECTIVE_TIME_UNAVAILABLE";
}
