//! Why a request gets no decision at all: the deciding rule needs a fact
//! the request did not send, or the request contradicts what the bundle
//! declares. Not a deny: the caller fixes the request.

use crate::domain::{RuleId, Violations};

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
    /// The request is well formed but contradicts the bundle's
    /// declarations (a period metric sent in `usage`): gRPC
    /// `INVALID_ARGUMENT` naming every such field, like any bad input.
    #[error("invalid request: {0}")]
    Invalid(Violations),
}

impl DecideError {
    /// The kind of failure, stable, for the `type` of a
    /// `google.rpc.PreconditionFailure` violation.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingFact { .. } => "MISSING_BILLING_FACT",
            Self::Invalid(_) => "INVALID_ARGUMENT",
        }
    }

    /// The missing field (the violation's `subject`); `None` for an
    /// invalid request, whose fields are its violations.
    pub fn subject(&self) -> Option<&'static str> {
        match self {
            Self::MissingFact { subject, .. } => Some(subject),
            Self::Invalid(_) => None,
        }
    }

    /// What failed, naming the rule (the violation's `description`).
    pub fn description(&self) -> String {
        match self {
            Self::MissingFact { description, .. } => description.clone(),
            Self::Invalid(violations) => violations.to_string(),
        }
    }
}
