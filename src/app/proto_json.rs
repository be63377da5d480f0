//! Requests and decisions as a person types and reads them: the proto3 JSON
//! mapping, read leniently (either field spelling, `tenantId` or
//! `tenant_id`; either enum name, `REQUESTER_ROLE_TENANT` or `TENANT`) and
//! written canonically (camelCase, full enum names, int64 as strings).
//! `tollgate eval` and the admin playground both go through these.

use anyhow::Context as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
    SerializeOptions,
};
use serde_json::Value;

use crate::{
    bundle::CompiledBundle,
    domain::{Languages, Violations},
    engine,
    grpc::{convert::Wire, pb},
};

/// The descriptors of every Tollgate message.
pub fn pool() -> anyhow::Result<DescriptorPool> {
    DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).context("descriptor set")
}

/// Reads message `name` (`tollgate.v1.PlanChangeRequest`) from proto JSON
/// `text`, accepting short enum names as well as full ones.
pub fn from_json<T: prost::Message + Default>(
    pool: &DescriptorPool,
    name: &str,
    text: &str,
) -> anyhow::Result<T> {
    let desc = pool
        .get_message_by_name(name)
        .with_context(|| format!("no message `{name}`"))?;
    let invalid = || format!("not a valid `{name}` in proto JSON");
    let mut value: Value = serde_json::from_str(text).with_context(invalid)?;
    full_enum_names(&desc, &mut value);
    let message = DynamicMessage::deserialize(desc, value).with_context(invalid)?;
    Ok(message.transcode_to::<T>()?)
}

/// Writes `message` as message `name` in the proto3 JSON mapping, indented.
/// Every field is written, defaults included, so a zero amount or index is
/// shown rather than left for the reader to infer.
pub fn to_json<T: prost::Message>(
    pool: &DescriptorPool,
    name: &str,
    message: &T,
) -> anyhow::Result<String> {
    let desc = pool
        .get_message_by_name(name)
        .with_context(|| format!("no message `{name}`"))?;
    let mut dynamic = DynamicMessage::new(desc);
    dynamic.transcode_from(message)?;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::pretty(&mut out);
    dynamic.serialize_with_options(
        &mut ser,
        &SerializeOptions::new().skip_default_fields(false),
    )?;
    Ok(String::from_utf8(out)?)
}

/// Rewrites, in place, every enum value of `value` (a JSON form of a
/// `desc` message) given by its short name (`TENANT`) to its full name
/// (`REQUESTER_ROLE_TENANT`); anything else is left for the proto JSON
/// reader to accept or refuse.
pub fn full_enum_names(desc: &MessageDescriptor, value: &mut Value) {
    let Value::Object(members) = value else {
        return;
    };
    for (key, member) in members.iter_mut() {
        let field = desc
            .get_field_by_json_name(key)
            .or_else(|| desc.get_field_by_name(key));
        if let Some(field) = field {
            field_value(&field, member);
        }
    }
}

fn field_value(field: &FieldDescriptor, value: &mut Value) {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return;
        };
        let (Value::Object(entries), Some(value_field)) = (value, entry.get_field_by_name("value"))
        else {
            return;
        };
        for v in entries.values_mut() {
            single(&value_field.kind(), v);
        }
    } else if let (true, Value::Array(items)) = (field.is_list(), &mut *value) {
        for item in items {
            single(&field.kind(), item);
        }
    } else {
        single(&field.kind(), value);
    }
}

fn single(kind: &Kind, value: &mut Value) {
    match kind {
        Kind::Enum(e) => {
            if let Value::String(name) = value
                && let Some(full) = full_name(e, name)
            {
                *name = full;
            }
        }
        Kind::Message(m) => full_enum_names(m, value),
        _ => {}
    }
}

/// The full name of `e`'s value named `short` without the enum's prefix
/// (`TENANT` in `RequesterRole`: `REQUESTER_ROLE_TENANT`); `None` when
/// `short` is a full name already or names nothing.
fn full_name(e: &EnumDescriptor, short: &str) -> Option<String> {
    if e.get_value_by_name(short).is_some() {
        return None;
    }
    let full = format!("{}_{short}", screaming_snake(e.name()));
    e.get_value_by_name(&full).map(|_| full)
}

/// `RequesterRole` as `REQUESTER_ROLE`: the prefix protobuf's style guide
/// gives every value of an enum.
fn screaming_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Why a JSON request got no decision.
#[derive(Debug)]
pub enum Undecided {
    /// Not JSON, or not the request message.
    Malformed(anyhow::Error),
    /// The request is invalid: every bad field.
    Invalid(Violations),
    /// The deciding rule needs a fact the request lacks, or the rules
    /// failed: the message the server's status would carry.
    Failed(String),
}

impl Undecided {
    /// What `tollgate eval` prints for it, and the playground answers:
    /// `shown` names where the request came from (a path, `request body`).
    pub fn message(&self, shown: &str) -> String {
        match self {
            Self::Malformed(e) => format!("tollgate: `{shown}`: {e:#}"),
            Self::Invalid(violations) => violations
                .iter()
                .map(|v| format!("invalid request: {}: {}", v.field, v.description))
                .collect::<Vec<_>>()
                .join("\n"),
            // What the request lacks, as the server's `FAILED_PRECONDITION` says it.
            Self::Failed(failure) => format!("failed precondition: {failure}"),
        }
    }
}

/// Decides proto JSON requests against one bundle, as `tollgate eval` does.
pub struct DecideJson<'a> {
    /// The message descriptors ([`pool`]).
    pub pool: &'a DescriptorPool,
    /// The bundle that decides.
    pub bundle: &'a CompiledBundle,
    /// The instant a request without `asOf` is decided at.
    pub now: jiff::Timestamp,
}

impl DecideJson<'_> {
    /// Reads `tollgate.v1.{NAME}Request` from `text`, decides, and returns
    /// `tollgate.v1.{NAME}Decision` in proto3 JSON.
    pub fn decide<T: Wire>(&self, text: &str) -> Result<String, Undecided> {
        let request_type = format!("tollgate.v1.{}Request", T::NAME);
        let request = from_json::<T::PbRequest>(self.pool, &request_type, text)
            .map_err(Undecided::Malformed)?;
        // JSON has no call metadata: the request's `locale` field alone chooses.
        let req =
            T::convert(request, self.now, &Languages::default()).map_err(Undecided::Invalid)?;
        let decision = match T::decide(self.bundle, &req) {
            Ok(decision) => T::PbDecision::from(&decision),
            Err(engine::DecideError::Invalid(violations)) => {
                return Err(Undecided::Invalid(violations));
            }
            Err(failure) => return Err(Undecided::Failed(failure.to_string())),
        };
        to_json(
            self.pool,
            &format!("tollgate.v1.{}Decision", T::NAME),
            &decision,
        )
        .map_err(Undecided::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_enum_names_become_full_ones_at_every_depth() {
        let pool = pool().unwrap();
        let desc = pool
            .get_message_by_name("tollgate.v1.ChargeFundingRequest")
            .unwrap();
        let mut v = serde_json::json!({
            "methods": [
                {"type": "CREDIT_CARD", "status": "PAYMENT_METHOD_STATUS_ACTIVE"},
                {"type": "NOT_A_TYPE", "status": 1}
            ],
            "unknown": "TENANT"
        });
        full_enum_names(&desc, &mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "methods": [
                    {"type": "PAYMENT_METHOD_TYPE_CREDIT_CARD", "status": "PAYMENT_METHOD_STATUS_ACTIVE"},
                    {"type": "NOT_A_TYPE", "status": 1}
                ],
                "unknown": "TENANT"
            })
        );
        assert_eq!(screaming_snake("PaymentMethodType"), "PAYMENT_METHOD_TYPE");
    }

    #[test]
    fn a_zero_index_is_printed() {
        let pool = pool().unwrap();
        let first = pb::PlanChangeResult {
            index: 0,
            result: Some(pb::plan_change_result::Result::Decision(
                pb::PlanChangeDecision::default(),
            )),
        };
        let json = to_json(&pool, "tollgate.v1.PlanChangeResult", &first).unwrap();
        let v: Value = serde_json::from_str(&json).unwrap();
        // uint64 is a string in proto3 JSON.
        assert_eq!(v["index"], "0", "{json}");
        assert_eq!(v["decision"]["verdict"], "VERDICT_UNSPECIFIED", "{json}");
    }
}
