//! The one place where proto meets domain: requests are validated into
//! domain types (naming every bad field), decisions are encoded back.

mod limits;
mod payment;
mod plan_change;
mod wire;

pub use limits::{Bounded, Limits};

pub use payment::{charge_funding, payment_link};
pub use plan_change::plan_change;
pub use wire::Wire;

use jiff::Timestamp;

use super::pb;
use crate::{
    domain::{DecisionMeta, Reason, RuleTrace, Violations},
    live::{Active, ReloadError, ReloadStatus},
};

/// The range of `google.protobuf.Timestamp`: 0001-01-01T00:00:00Z to
/// 9999-12-31T23:59:59.999999999Z, in seconds since the epoch.
const PROTO_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// Converts a proto timestamp, recording a violation when it is outside
/// the range protobuf defines (what its own JSON encoder accepts), so a
/// decision never echoes an instant a client cannot decode.
fn timestamp(
    bad: &mut Violations,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
) -> Option<Timestamp> {
    let ts = ts?;
    // Proto timestamps keep `nanos` in 0..=999_999_999, even before 1970.
    let valid = (0..1_000_000_000).contains(&ts.nanos) && PROTO_SECONDS.contains(&ts.seconds);
    match Timestamp::new(ts.seconds, ts.nanos) {
        Ok(t) if valid => Some(t),
        // Valid in protobuf, but in the last 26 hours of year 9999, which
        // jiff (and so the calendar arithmetic) cannot represent.
        Err(_) if valid => {
            bad.push(
                field,
                format!(
                    "`{}s {}ns` is after {}, the last instant Tollgate computes with",
                    ts.seconds,
                    ts.nanos,
                    Timestamp::MAX
                ),
            );
            None
        }
        _ => {
            bad.push(
                field,
                format!("`{}s {}ns` is not a valid timestamp", ts.seconds, ts.nanos),
            );
            None
        }
    }
}

/// Combines the violations found while converting with the domain's own.
pub(super) fn finish<T>(
    mut bad: Violations,
    parsed: Result<T, Violations>,
) -> Result<T, Violations> {
    match parsed {
        Ok(value) => bad.into_result(value),
        Err(more) => {
            bad.extend(more);
            Err(bad)
        }
    }
}

/// Encodes an instant.
pub fn to_proto_timestamp(ts: Timestamp) -> prost_types::Timestamp {
    // jiff rounds toward zero (-0.5 s is 0 s and -500 ms); proto wants
    // whole seconds toward negative infinity and non-negative nanos.
    let (seconds, nanos) = (ts.as_second(), ts.subsec_nanosecond());
    if nanos < 0 {
        prost_types::Timestamp {
            seconds: seconds - 1,
            nanos: nanos + 1_000_000_000,
        }
    } else {
        prost_types::Timestamp { seconds, nanos }
    }
}

pub(super) fn reason(r: &Reason) -> pb::Reason {
    pb::Reason {
        code: r.code.as_str().to_owned(),
        message: r.message.clone(),
        rule_id: r
            .rule_id
            .as_ref()
            .map(|id| id.as_str().to_owned())
            .unwrap_or_default(),
        details: r
            .details
            .iter()
            .map(|(k, v)| ((**k).to_owned(), v.clone()))
            .collect(),
    }
}

pub(super) fn meta(m: &DecisionMeta) -> pb::DecisionMeta {
    pb::DecisionMeta {
        // Copied, not formatted: these are written on every decision.
        decision_id: m.decision_id.text(),
        bundle_revision: String::from(&*m.bundle_revision),
        bundle_digest: String::from(&*m.bundle_digest),
        trace: m.trace.iter().map(trace).collect(),
        bundle_name: String::from(&*m.bundle_name),
        evaluated_at: Some(to_proto_timestamp(m.evaluated_at)),
        locale: String::from(&*m.locale),
    }
}

fn trace(t: &RuleTrace) -> pb::RuleTrace {
    pb::RuleTrace {
        rule_id: t.rule_id.to_string(),
        matched: t.matched,
        effect: t.effect.clone(),
        note: t.note.clone(),
        decisive: t.decisive,
    }
}

/// Encodes one failed request of a stream.
pub fn request_error(e: &crate::grpc::status::RequestError) -> pb::RequestError {
    use crate::grpc::status::RequestError as E;
    match e {
        E::Invalid(violations) => pb::RequestError {
            code: "INVALID_ARGUMENT".to_owned(),
            message: e.to_string(),
            field_violations: violations
                .iter()
                .map(|v| pb::FieldViolation {
                    field: v.field.clone(),
                    description: v.description.clone(),
                })
                .collect(),
            precondition_violations: Vec::new(),
        },
        E::Precondition(failure) => pb::RequestError {
            code: "FAILED_PRECONDITION".to_owned(),
            message: e.to_string(),
            field_violations: Vec::new(),
            precondition_violations: vec![pb::PreconditionViolation {
                r#type: failure.kind().to_owned(),
                subject: failure.subject().unwrap_or_default().to_owned(),
                description: failure.description(),
            }],
        },
        E::NoBundle => pb::RequestError {
            code: "UNAVAILABLE".to_owned(),
            message: e.to_string(),
            ..Default::default()
        },
    }
}

/// Encodes the bundle status. The last reload error becomes its message:
/// a bundle's problems one per line, `file:line:column: message`.
pub fn bundle_status(active: Option<&Active>, status: &ReloadStatus) -> pb::BundleStatus {
    let mut out = pb::BundleStatus {
        last_reload_error: status
            .last_error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        last_reload_attempt_at: status.last_attempt_at.map(to_proto_timestamp),
        from_cache: status.from_cache && active.is_some(),
        last_reload_failure: status
            .last_error
            .as_ref()
            .map(|e| e.kind().as_str().to_owned())
            .unwrap_or_default(),
        last_reload_problems: match &status.last_error {
            Some(ReloadError::Bundle(problems)) => problems
                .iter()
                .map(|p| pb::BundleProblem {
                    file: p.file.clone(),
                    line: u32::try_from(p.line).unwrap_or(u32::MAX),
                    column: u32::try_from(p.column).unwrap_or(u32::MAX),
                    message: p.message.clone(),
                })
                .collect(),
            _ => Vec::new(),
        },
        ..Default::default()
    };
    if let Some(a) = active {
        out.name = a.bundle.name.to_string();
        out.revision = a.bundle.revision.to_string();
        out.digest = a.bundle.digest.to_string();
        out.loaded_at = Some(to_proto_timestamp(a.loaded_at));
        out.source = a.source.clone();
        out.rule_count = u32::try_from(a.bundle.rule_count()).unwrap_or(u32::MAX);
        out.test_count = u32::try_from(a.test_count).unwrap_or(u32::MAX);
        out.verified_key_id = a.verified_by.clone().unwrap_or_default();
    }
    out
}
