//! Payment-link and charge-funding requests in, their decisions out.

use jiff::Timestamp;

use super::{finish, meta, reason, timestamp};
use crate::{
    domain::{
        AutoCharge, ChargeFunding, ChargeFundingDecision, ChargeFundingInput, EnumInput,
        FundingOutcome, FundingSource, HealthIndex, Languages, LinkOutcome, MethodInput,
        MethodStatus, MethodType, PaymentLink, PaymentLinkDecision, PaymentLinkInput,
        RequiredAction, Violations, WalletInput,
    },
    grpc::pb,
};

fn methods(methods: Vec<pb::PaymentMethod>) -> Vec<MethodInput> {
    methods
        .into_iter()
        .map(|m| MethodInput {
            id: m.id,
            kind: method_type(m.r#type),
            status: method_status(m.status),
            fallback_rank: m.fallback_rank,
        })
        .collect()
}

/// The proto method type as the domain's, without a detour through its
/// name; a number this build does not know is quoted as it is.
fn method_type(value: i32) -> EnumInput<MethodType> {
    use pb::PaymentMethodType as P;
    EnumInput::Typed(match P::try_from(value) {
        Ok(P::Unspecified) => return EnumInput::Unset,
        Ok(P::Balance) => MethodType::Balance,
        Ok(P::CreditCard) => MethodType::CreditCard,
        Ok(P::DebitCard) => MethodType::DebitCard,
        Ok(P::BankAccount) => MethodType::BankAccount,
        Ok(P::Postpaid) => MethodType::Postpaid,
        Ok(P::Points) => MethodType::Points,
        Err(_) => return EnumInput::Text(value.to_string()),
    })
}

/// The proto method status as the domain's, like [`method_type`].
fn method_status(value: i32) -> EnumInput<MethodStatus> {
    use pb::PaymentMethodStatus as P;
    EnumInput::Typed(match P::try_from(value) {
        Ok(P::Unspecified) => return EnumInput::Unset,
        Ok(P::Active) => MethodStatus::Active,
        Ok(P::Suspended) => MethodStatus::Suspended,
        Ok(P::Expired) => MethodStatus::Expired,
        Err(_) => return EnumInput::Text(value.to_string()),
    })
}

fn auto_charge(a: Option<pb::AutoCharge>) -> Option<AutoCharge> {
    a.map(|a| AutoCharge {
        enabled: a.enabled,
        source_method_id: a.source_method_id,
        threshold_minor: a.threshold_minor,
        amount_minor: a.amount_minor,
    })
}

/// The wallet part of either payment request: both messages name these
/// fields alike, so one expansion serves both.
macro_rules! wallet_input {
    ($req:ident, $bad:ident, $accept:ident) => {
        WalletInput {
            user_id: $req.user_id,
            merchant_id: $req.merchant_id,
            methods: methods($req.methods),
            auto_charge: auto_charge($req.auto_charge),
            attributes: $req.attributes,
            as_of: timestamp(&mut $bad, "as_of", $req.as_of.as_ref()),
            explain: $req.explain,
            locale: $req.locale,
            accept_language: $accept.clone(),
        }
    };
}

/// Validates a link request; `now` stands in for a missing `as_of`, the
/// call's `accept` languages for an empty `locale`.
pub fn payment_link(
    req: pb::PaymentLinkRequest,
    now: Timestamp,
    accept: &Languages,
) -> Result<PaymentLink, Violations> {
    let mut bad = Violations::default();
    let input = PaymentLinkInput {
        wallet: wallet_input!(req, bad, accept),
        health: req.health.map(|h| HealthIndex {
            score: h.score,
            signals: h.signals,
        }),
    };
    finish(bad, PaymentLink::parse(input, now))
}

/// Validates a funding request; `now` stands in for a missing `as_of`, the
/// call's `accept` languages for an empty `locale`.
pub fn charge_funding(
    req: pb::ChargeFundingRequest,
    now: Timestamp,
    accept: &Languages,
) -> Result<ChargeFunding, Violations> {
    let mut bad = Violations::default();
    let input = ChargeFundingInput {
        wallet: wallet_input!(req, bad, accept),
        currency: req.amount.as_ref().map(|a| a.currency.clone()),
        amount_minor: req.amount.as_ref().map_or(0, |a| a.amount_minor),
        balance_minor: req.balance_minor,
    };
    finish(bad, ChargeFunding::parse(input, now))
}

impl From<&PaymentLinkDecision> for pb::PaymentLinkDecision {
    fn from(d: &PaymentLinkDecision) -> Self {
        Self {
            outcome: match d.outcome {
                LinkOutcome::Link => pb::LinkOutcome::Link,
                LinkOutcome::RequireAction => pb::LinkOutcome::RequireAction,
                LinkOutcome::Deny => pb::LinkOutcome::Deny,
            } as i32,
            required_actions: d
                .required_actions
                .iter()
                .map(|a| match a {
                    RequiredAction::AddPaymentMethod => pb::RequiredAction::AddPaymentMethod,
                    RequiredAction::EnableAutoCharge => pb::RequiredAction::EnableAutoCharge,
                    RequiredAction::AdjustAutoCharge => pb::RequiredAction::AdjustAutoCharge,
                    RequiredAction::ReactivatePaymentMethod => {
                        pb::RequiredAction::ReactivatePaymentMethod
                    }
                } as i32)
                .collect(),
            reasons: d.reasons.iter().map(reason).collect(),
            meta: Some(meta(&d.meta)),
        }
    }
}

impl From<&ChargeFundingDecision> for pb::ChargeFundingDecision {
    fn from(d: &ChargeFundingDecision) -> Self {
        Self {
            outcome: match d.outcome {
                FundingOutcome::Approve => pb::FundingOutcome::Approve,
                FundingOutcome::Decline => pb::FundingOutcome::Decline,
            } as i32,
            steps: d
                .steps
                .iter()
                .map(|s| pb::FundingStep {
                    source: match s.source {
                        FundingSource::Balance => pb::FundingSource::Balance,
                        FundingSource::AutoCharge => pb::FundingSource::AutoCharge,
                        FundingSource::PaymentMethod => pb::FundingSource::PaymentMethod,
                    } as i32,
                    method_id: s.method_id.clone(),
                    amount_minor: s.amount_minor,
                })
                .collect(),
            reasons: d.reasons.iter().map(reason).collect(),
            meta: Some(meta(&d.meta)),
            currency: d.currency.to_string(),
        }
    }
}
