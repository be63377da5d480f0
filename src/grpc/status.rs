//! The one mapping from our errors to gRPC statuses: bad input is
//! `INVALID_ARGUMENT` with a `google.rpc.BadRequest` naming every field, no
//! bundle is `UNAVAILABLE`, and bugs are `INTERNAL` with details only in the log.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt as _};

use crate::domain::Violations;

/// Why a request could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The request is malformed.
    #[error("invalid request: {0}")]
    Invalid(Violations),
    /// No bundle has been activated yet.
    #[error("no policy bundle is active yet")]
    NoBundle,
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
            RequestError::NoBundle => Status::unavailable("no policy bundle is active yet"),
        }
    }
}
