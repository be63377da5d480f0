//! Request builders: a valid request of each decision type at [`AS_OF`],
//! which a test changes field by field, and the small messages inside them.

use std::collections::BTreeMap;

use tollgate::grpc::pb::{
    self,
    PaymentMethodStatus::Active,
    PaymentMethodType::{Balance, BankAccount, CreditCard},
};

use super::AS_OF;

/// A plan-change request from a tenant at [`AS_OF`], with nothing else set.
pub fn request(from: &str, to: &str) -> pb::PlanChangeRequest {
    pb::PlanChangeRequest {
        tenant_id: "t1".to_owned(),
        from_plan: from.to_owned(),
        to_plan: to.to_owned(),
        requester: requester(pb::RequesterRole::Tenant),
        as_of: Some(ts(AS_OF)),
        ..Default::default()
    }
}

/// A requester with `role` and no id.
pub fn requester(role: pb::RequesterRole) -> Option<pb::Requester> {
    Some(pb::Requester {
        role: role.into(),
        id: String::new(),
    })
}

/// A usage map (also health signals).
pub fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// A payment method; `fallback_rank` 0 is not a fallback.
pub fn method(
    id: &str,
    kind: pb::PaymentMethodType,
    status: pb::PaymentMethodStatus,
    fallback_rank: u32,
) -> pb::PaymentMethod {
    pb::PaymentMethod {
        id: id.to_owned(),
        r#type: kind.into(),
        status: status.into(),
        fallback_rank,
    }
}

/// An active credit card, a fallback of `rank` (0: none).
pub fn card(id: &str, rank: u32) -> pb::PaymentMethod {
    method(id, CreditCard, Active, rank)
}

/// An active bank account, a fallback of `rank` (0: none).
pub fn bank(id: &str, rank: u32) -> pb::PaymentMethod {
    method(id, BankAccount, Active, rank)
}

/// The wallet's balance as a listed method, `wallet`.
pub fn balance_method() -> pb::PaymentMethod {
    method("wallet", Balance, Active, 0)
}

/// Auto-charge switched on, topping up `amount_minor` from `source`
/// (threshold 0).
pub fn auto_charge(source: &str, amount_minor: i64) -> Option<pb::AutoCharge> {
    Some(pb::AutoCharge {
        enabled: true,
        source_method_id: source.to_owned(),
        threshold_minor: 0,
        amount_minor,
    })
}

/// A link request from user `u1` to `merchant` at [`AS_OF`], with a health
/// `score` and `methods`.
pub fn link_request(
    merchant: &str,
    score: u32,
    methods: Vec<pb::PaymentMethod>,
) -> pb::PaymentLinkRequest {
    pb::PaymentLinkRequest {
        user_id: "u1".to_owned(),
        merchant_id: merchant.to_owned(),
        methods,
        health: Some(pb::HealthIndex {
            score,
            signals: BTreeMap::new(),
        }),
        as_of: Some(ts(AS_OF)),
        ..Default::default()
    }
}

/// An amount in `currency`.
pub fn money(currency: &str, amount_minor: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency: currency.to_owned(),
        amount_minor,
    })
}

/// A charge of `amount_minor` yen by user `u1` at `merchant` at [`AS_OF`],
/// with `balance_minor` in the wallet and `methods`.
pub fn funding_request(
    merchant: &str,
    amount_minor: i64,
    balance_minor: i64,
    methods: Vec<pb::PaymentMethod>,
) -> pb::ChargeFundingRequest {
    pb::ChargeFundingRequest {
        user_id: "u1".to_owned(),
        merchant_id: merchant.to_owned(),
        amount: money("JPY", amount_minor),
        balance_minor,
        methods,
        as_of: Some(ts(AS_OF)),
        ..Default::default()
    }
}

/// The charge of 3000 yen, with 1000 in the balance, made with the wallet
/// of `link`: its user, merchant, methods, auto-charge, attributes, instant
/// explain flag and locale.
pub fn funding_like(link: &pb::PaymentLinkRequest) -> pb::ChargeFundingRequest {
    let link = link.clone();
    pb::ChargeFundingRequest {
        user_id: link.user_id,
        merchant_id: link.merchant_id,
        amount: money("JPY", 3000),
        balance_minor: 1000,
        methods: link.methods,
        auto_charge: link.auto_charge,
        attributes: link.attributes,
        as_of: link.as_of,
        explain: link.explain,
        locale: link.locale,
    }
}

/// An RFC 3339 instant as a proto timestamp.
pub fn ts(rfc3339: &str) -> prost_types::Timestamp {
    let t: jiff::Timestamp = rfc3339.parse().expect("RFC 3339 literal");
    let nanos = t.as_nanosecond();
    prost_types::Timestamp {
        seconds: i64::try_from(nanos.div_euclid(1_000_000_000)).expect("in range"),
        nanos: i32::try_from(nanos.rem_euclid(1_000_000_000)).expect("in range"),
    }
}

/// A proto timestamp as RFC 3339 (`none` when absent), for readable asserts.
pub fn rfc3339(ts: Option<&prost_types::Timestamp>) -> String {
    ts.map_or("none".to_owned(), |t| {
        jiff::Timestamp::new(t.seconds, t.nanos)
            .map_or_else(|e| format!("invalid: {e}"), |t| t.to_string())
    })
}
