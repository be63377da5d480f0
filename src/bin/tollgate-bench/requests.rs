//! The requests the load generator sends: varied, valid, realistic requests
//! for the demo bundle, covering most of its rules (allows at each timing,
//! denies, links, required actions, funding plans and declines).
//!
//! They are plain values built once; [`super::schedule`] encodes them.

use std::collections::BTreeMap;

use tollgate::grpc::pb;

/// 2026-03-10T09:00:00Z, the `as_of` of most requests.
const AS_OF: i64 = 1_773_133_200;
/// 2026-02-28T15:00:00Z and 2026-03-31T15:00:00Z: a billing period in Tokyo.
const PERIOD: (i64, i64) = (1_772_290_800, 1_774_969_200);
/// 2026-12-31T15:00:00Z, the end of a commitment term.
const COMMITMENT_END: i64 = 1_798_729_200;

fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A tenant's plan change as a billing platform would send it: a monthly
/// period in Tokyo, stock usage and this period's metered usage.
fn plan_change(
    tenant: &str,
    (from, to): (&str, &str),
    (role, requester_id): (pb::RequesterRole, &str),
    (users, storage_gb, api_calls): (f64, f64, f64),
    commitment_end: Option<i64>,
) -> pb::PlanChangeRequest {
    pb::PlanChangeRequest {
        tenant_id: tenant.to_owned(),
        from_plan: from.to_owned(),
        to_plan: to.to_owned(),
        requester: Some(pb::Requester {
            role: role.into(),
            id: requester_id.to_owned(),
        }),
        usage: metrics(&[("users", users), ("storage_gb", storage_gb)]),
        period_usage: metrics(&[("api_calls", api_calls)]),
        billing: Some(pb::Billing {
            current_period_start: ts(PERIOD.0),
            current_period_end: ts(PERIOD.1),
            commitment_end: commitment_end.and_then(ts),
            anchor_day: 1,
            time_zone: "Asia/Tokyo".to_owned(),
        }),
        attributes: strings(&[("channel", "self-service"), ("region", "jp")]),
        as_of: ts(AS_OF),
        explain: false,
        locale: String::new(),
    }
}

/// Plan changes: upgrades, downgrades at each timing, and denies (usage over
/// the target's limits, a reseller and a contract-only plan, an unknown plan).
/// The first is the one `--write-grpc-body` writes: a downgrade in a
/// commitment term, which runs most of the rules.
pub fn plan_changes() -> Vec<pb::PlanChangeRequest> {
    use pb::RequesterRole::{Operator, Provider, Reseller, Tenant};
    vec![
        plan_change(
            "t-10482",
            ("premium", "standard"),
            (Tenant, ""),
            (12.0, 40.0, 31_200.0),
            Some(COMMITMENT_END),
        ),
        plan_change(
            "t-10483",
            ("free", "standard"),
            (Tenant, ""),
            (3.0, 0.8, 640.0),
            None,
        ),
        plan_change(
            "t-20991",
            ("standard", "premium"),
            (Reseller, "reseller-7"),
            (48.0, 95.5, 88_000.0),
            None,
        ),
        plan_change(
            "t-31007",
            ("premium", "standard"),
            (Tenant, ""),
            (30.0, 80.0, 250_000.0),
            None,
        ),
        plan_change(
            "t-31008",
            ("standard", "free"),
            (Operator, "ops-kato"),
            (2.0, 0.5, 120.0),
            None,
        ),
        // Denied: 120 users and 250 GB do not fit in standard.
        plan_change(
            "t-40112",
            ("premium", "standard"),
            (Reseller, "reseller-7"),
            (120.0, 250.0, 410_000.0),
            None,
        ),
        // Denied: resellers may not sell the contract-only enterprise plan.
        plan_change(
            "t-40113",
            ("premium", "enterprise"),
            (Reseller, "reseller-7"),
            (420.0, 900.0, 900_000.0),
            None,
        ),
        plan_change(
            "t-40114",
            ("premium", "enterprise"),
            (Provider, "sales-3"),
            (420.0, 900.0, 900_000.0),
            Some(COMMITMENT_END),
        ),
        // Denied: `platinum` is not in the catalogue.
        plan_change(
            "t-50020",
            ("standard", "platinum"),
            (Tenant, ""),
            (20.0, 10.0, 5_000.0),
            None,
        ),
        plan_change(
            "t-50021",
            ("standard", "free"),
            (Tenant, ""),
            (3.0, 1.0, 900.0),
            None,
        ),
    ]
}

fn method(
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

fn auto_charge(source: &str, threshold_minor: i64, amount_minor: i64) -> Option<pb::AutoCharge> {
    Some(pb::AutoCharge {
        enabled: true,
        source_method_id: source.to_owned(),
        threshold_minor,
        amount_minor,
    })
}

/// A wallet's methods: the balance, plus what each user set up.
fn wallet(kind: usize) -> Vec<pb::PaymentMethod> {
    use pb::{
        PaymentMethodStatus::{Active, Expired, Suspended},
        PaymentMethodType::{Balance, BankAccount, CreditCard, DebitCard, Postpaid},
    };
    let mut methods = vec![method("wallet", Balance, Active, 0)];
    match kind % 5 {
        0 => methods.push(method("card-1", CreditCard, Active, 1)),
        1 => {
            methods.push(method("bank-1", BankAccount, Active, 1));
            methods.push(method("card-1", CreditCard, Active, 2));
        }
        2 => methods.push(method("card-1", CreditCard, Expired, 0)),
        3 => {
            methods.push(method("debit-1", DebitCard, Suspended, 0));
            methods.push(method("later-1", Postpaid, Active, 0));
        }
        _ => {}
    }
    methods
}

/// Link requests to both demo merchants (and one unknown merchant): links by
/// auto-charge or a second method, required actions, and denies.
pub fn payment_links() -> Vec<pb::PaymentLinkRequest> {
    let cases: [(&str, &str, usize, u32, bool); 8] = [
        ("u-100231", "video-stream", 0, 72, false),
        ("u-100232", "video-stream", 1, 55, true),
        ("u-100233", "ride-share", 1, 81, true),
        ("u-100234", "ride-share", 0, 90, false),
        ("u-100235", "video-stream", 2, 66, false),
        ("u-100236", "video-stream", 4, 47, false),
        // Denied: a health score under video-stream's minimum of 40.
        ("u-100237", "video-stream", 0, 31, false),
        // Denied: not a merchant of the demo bundle.
        ("u-100238", "bookshop", 3, 88, false),
    ];
    cases
        .iter()
        .map(
            |&(user, merchant, kind, score, auto)| pb::PaymentLinkRequest {
                user_id: user.to_owned(),
                merchant_id: merchant.to_owned(),
                methods: wallet(kind),
                auto_charge: if auto {
                    auto_charge("bank-1", 1_000, 5_000)
                } else {
                    None
                },
                health: Some(pb::HealthIndex {
                    score,
                    signals: metrics(&[("shortfalls_90d", f64::from(100 - score) / 20.0)]),
                }),
                attributes: strings(&[("app_version", "8.14.2"), ("platform", "ios")]),
                as_of: ts(AS_OF),
                explain: false,
                locale: String::new(),
            },
        )
        .collect()
}

/// Charges in JPY (and one in USD): covered by the balance, topped up by
/// auto-charge, split with a fallback method, and declined.
pub fn charge_fundings() -> Vec<pb::ChargeFundingRequest> {
    let cases: [(&str, &str, &str, i64, i64, usize, bool); 8] = [
        ("u-100231", "video-stream", "JPY", 1_980, 5_000, 0, false),
        ("u-100232", "video-stream", "JPY", 3_000, 1_000, 1, false),
        ("u-100233", "ride-share", "JPY", 2_450, 300, 1, true),
        ("u-100234", "ride-share", "JPY", 1_200, 1_200, 4, false),
        ("u-100235", "video-stream", "JPY", 4_800, 500, 0, true),
        ("u-100236", "video-stream", "JPY", 12_000, 0, 1, false),
        // Declined: nothing can fund the shortfall.
        ("u-100237", "ride-share", "JPY", 5_600, 2_000, 0, false),
        // Declined: video-stream charges in JPY.
        ("u-100238", "video-stream", "USD", 1_299, 5_000, 1, false),
    ];
    cases
        .iter()
        .map(
            |&(user, merchant, currency, amount, balance, kind, auto)| pb::ChargeFundingRequest {
                user_id: user.to_owned(),
                merchant_id: merchant.to_owned(),
                amount: Some(pb::Money {
                    currency: currency.to_owned(),
                    amount_minor: amount,
                }),
                balance_minor: balance,
                methods: wallet(kind),
                auto_charge: if auto {
                    auto_charge(if kind == 0 { "card-1" } else { "bank-1" }, 1_000, 3_000)
                } else {
                    None
                },
                attributes: strings(&[("order_id", "ord-7f3a9c"), ("platform", "android")]),
                as_of: ts(AS_OF),
                explain: false,
                locale: String::new(),
            },
        )
        .collect()
}
