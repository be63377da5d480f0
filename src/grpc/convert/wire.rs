//! Each decision type as the wire carries it: its proto messages, their
//! conversion, and its decision-log entry (the request and decision as
//! [`Logged`]). The handlers and `tollgate eval`
//! go through this one trait, not a match on the type.

use jiff::Timestamp;

use super::{Bounded, payment, plan_change};
use crate::{
    decision_log::{Decided, Logged},
    domain::{Languages, Violations},
    engine::{ChargeFundingType, DecisionType, PaymentLinkType, PlanChangeType},
    grpc::pb,
};

/// A decision type on the wire.
pub trait Wire: DecisionType {
    /// The message names: `tollgate.v1.{NAME}Request`, `...Decision`.
    const NAME: &'static str;
    /// The request message.
    type PbRequest: prost::Message + Default + Bounded;
    /// The decision message.
    type PbDecision: prost::Message + for<'a> From<&'a Self::Decision>;

    /// Validates a request message, naming every bad field; `now` stands
    /// in for a missing `as_of`, `accept` (the call's `accept-language`)
    /// for an empty `locale`.
    fn convert(
        req: Self::PbRequest,
        now: Timestamp,
        accept: &Languages,
    ) -> Result<Self::Request, Violations>;
    /// The decision-log entry of an answered request.
    fn logged(decided: Box<(Self::Request, Self::Decision)>) -> Decided
    where
        (Self::Request, Self::Decision): Logged + 'static,
    {
        Decided::new(decided)
    }
}

impl Wire for PlanChangeType {
    const NAME: &'static str = "PlanChange";
    type PbRequest = pb::PlanChangeRequest;
    type PbDecision = pb::PlanChangeDecision;

    fn convert(
        req: pb::PlanChangeRequest,
        now: Timestamp,
        accept: &Languages,
    ) -> Result<Self::Request, Violations> {
        plan_change::plan_change(req, now, accept)
    }
}

impl Wire for PaymentLinkType {
    const NAME: &'static str = "PaymentLink";
    type PbRequest = pb::PaymentLinkRequest;
    type PbDecision = pb::PaymentLinkDecision;

    fn convert(
        req: pb::PaymentLinkRequest,
        now: Timestamp,
        accept: &Languages,
    ) -> Result<Self::Request, Violations> {
        payment::payment_link(req, now, accept)
    }
}

impl Wire for ChargeFundingType {
    const NAME: &'static str = "ChargeFunding";
    type PbRequest = pb::ChargeFundingRequest;
    type PbDecision = pb::ChargeFundingDecision;

    fn convert(
        req: pb::ChargeFundingRequest,
        now: Timestamp,
        accept: &Languages,
    ) -> Result<Self::Request, Violations> {
        payment::charge_funding(req, now, accept)
    }
}
