//! Why a request gets no decision at all: the deciding rule needs a fact
//! the request did not send. Not a deny: the caller fixes the request.

use crate::domain::RuleId;

/// A request that cannot be decided as sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// The rule that decides needs `subject`, which the request lacks (for
    /// a plan change: a billing date its timing is computed from).
    #[error("the request lacks `{subject}`: {description}")]
    MissingFact {
        /// The missing field, in proto field names (`billing.current_period_end`).
        subject: &'static str,
        /// The rule that needs it.
        rule: RuleId,
        /// What the rule needs and why, naming the rule.
        description: String,
    },
}

impl DecideError {
    /// The kind of failure, stable, for the `type` of a
    /// `google.rpc.PreconditionFailure` violation.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingFact { .. } => "MISSING_BILLING_FACT",
        }
    }

    /// The missing field (the violation's `subject`).
    pub fn subject(&self) -> &'static str {
        match self {
            Self::MissingFact { subject, .. } => subject,
        }
    }

    /// What failed, naming the rule (the violation's `description`).
    pub fn description(&self) -> &str {
        match self {
            Self::MissingFact { description, .. } => description,
        }
    }
}
