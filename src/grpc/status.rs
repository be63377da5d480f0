//! The one mapping from our errors to gRPC statuses: bad input is
//! `INVALID_ARGUMENT` with a `google.rpc.BadRequest` naming every field, a
//! request lacking a fact the deciding rule needs is `FAILED_PRECONDITION`
//! with a `google.rpc.PreconditionFailure` naming it, no bundle is
//! `UNAVAILABLE`, and bugs are `INTERNAL` with details only in the log.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt as _};

use crate::{domain::Violations, engine::DecideError};

/// Why a request could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The request is malformed.
    #[error("invalid request: {0}")]
    Invalid(Violations),
    /// The deciding rule needs a fact the request lacks: no decision.
    #[error("failed precondition: {0}")]
    Precondition(DecideError),
    /// No bundle has been activated yet.
    #[error("no policy bundle is active yet")]
    NoBundle,
}

impl From<DecideError> for RequestError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::Invalid(violations) => Self::Invalid(violations),
            e @ DecideError::MissingFact { .. } => Self::Precondition(e),
        }
    }
}

impl From<Violations> for RequestError {
    fn from(v: Violations) -> Self {
        Self::Invalid(v)
    }
}

impl From<RequestError> for Status {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Invalid(violations) => {
                let fields: Vec<FieldViolation> = violations
                    .iter()
                    .map(|v| FieldViolation::new(v.field.clone(), v.description.clone()))
                    .collect();
                Status::with_error_details(
                    Code::InvalidArgument,
                    format!("invalid request: {violations}"),
                    ErrorDetails::with_bad_request(fields),
                )
            }
            RequestError::Precondition(ref failure) => Status::with_error_details(
                Code::FailedPrecondition,
                e.to_string(),
                ErrorDetails::with_precondition_failure_violation(
                    failure.kind(),
                    failure.subject().unwrap_or_default(),
                    failure.description(),
                ),
            ),
            RequestError::NoBundle => Status::unavailable("no policy bundle is active yet"),
        }
    }
}
