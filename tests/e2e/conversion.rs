//! Request conversion, proto to domain: every field of each request reaches
//! the rules as sent (enums by name, timestamps to the nanosecond), and an
//! unset field takes its default. Read back from the decision log, whose
//! `input` is the request the rules saw, with ids in clear.

use serde_json::{Value, json};
use tollgate::{
    decision_log::Settings,
    grpc::pb::{
        self,
        PaymentMethodStatus::{Active, Expired, Suspended},
        PaymentMethodType::{Balance, BankAccount, CreditCard, DebitCard, Points, Postpaid},
        RequesterRole,
    },
};

use crate::{
    decision_log::Logged,
    support::{
        AS_OF, auto_charge, funding_like, link_request, method, metrics, money, request, requester,
        ts,
    },
};

/// A server logging every decision with ids in clear.
async fn logging_in_clear() -> Logged {
    Logged::start(|s| Settings { mask: false, ..s }).await
}

/// Stops the server and returns the `input` of every decision it logged.
async fn inputs(logged: Logged) -> Vec<Value> {
    let events = logged.events().await;
    events.into_iter().map(|e| e["input"].clone()).collect()
}

#[tokio::test]
async fn every_plan_change_field_reaches_the_rules() {
    let logged = logging_in_clear().await;
    let server = &logged.server;
    let every = pb::PlanChangeRequest {
        tenant_id: "t-7".to_owned(),
        from_plan: "premium".to_owned(),
        to_plan: "standard".to_owned(),
        requester: Some(pb::Requester {
            role: RequesterRole::Reseller.into(),
            id: "r-42".to_owned(),
        }),
        usage: metrics(&[("users", 10.5), ("storage_gb", 20.0)]),
        period_usage: metrics(&[("api_calls", 150_000.0)]),
        billing: Some(pb::Billing {
            current_period_start: Some(ts("2026-02-28T15:00:00Z")),
            current_period_end: Some(ts("2026-03-31T15:00:00.25Z")),
            commitment_end: Some(ts("2026-01-01T00:00:00Z")),
            anchor_day: 31,
            time_zone: "Asia/Tokyo".to_owned(),
        }),
        attributes: [("channel".to_owned(), "web".to_owned())].into(),
        as_of: Some(ts("2026-03-10T09:00:00.123456789Z")),
        explain: true,
        locale: "ja-JP".to_owned(),
    };
    server.decide(every).await;
    // Unset: no requester id, no usage, no billing, no attributes; an
    // anchor day of 0 is no anchor day, no time zone is UTC.
    let mut unset = request("free", "standard");
    unset.billing = Some(pb::Billing::default());
    server.decide(unset).await;
    for role in [
        RequesterRole::Tenant,
        RequesterRole::Provider,
        RequesterRole::Operator,
    ] {
        let mut req = request("free", "standard");
        req.requester = requester(role);
        server.decide(req).await;
    }

    let inputs = inputs(logged).await;
    assert_eq!(
        inputs[0],
        json!({
            "tenant_id": "t-7",
            "from_plan": "premium",
            "to_plan": "standard",
            "requester": { "role": "RESELLER", "id": "r-42" },
            "usage": { "users": 10.5, "storage_gb": 20.0 },
            "period_usage": { "api_calls": 150_000.0 },
            "billing": {
                "current_period_start": "2026-02-28T15:00:00Z",
                "current_period_end": "2026-03-31T15:00:00.25Z",
                "commitment_end": "2026-01-01T00:00:00Z",
                "anchor_day": 31,
                "time_zone": "Asia/Tokyo",
            },
            "attributes": { "channel": "web" },
            "as_of": "2026-03-10T09:00:00.123456789Z",
            "explain": true,
        })
    );
    assert_eq!(
        inputs[1],
        json!({
            "tenant_id": "t1",
            "from_plan": "free",
            "to_plan": "standard",
            "requester": { "role": "TENANT", "id": "" },
            "usage": {},
            "period_usage": {},
            "billing": {
                "current_period_start": null,
                "current_period_end": null,
                "commitment_end": null,
                "anchor_day": null,
                "time_zone": "UTC",
            },
            "attributes": {},
            "as_of": AS_OF,
            "explain": false,
        })
    );
    let roles: Vec<&Value> = inputs[2..]
        .iter()
        .map(|i| &i["requester"]["role"])
        .collect();
    assert_eq!(roles, ["TENANT", "PROVIDER", "OPERATOR"]);
}

#[tokio::test]
async fn every_payment_field_reaches_the_rules() {
    let logged = logging_in_clear().await;
    let server = &logged.server;
    let mut every = link_request(
        "video-stream",
        80,
        vec![
            method("wallet", Balance, Active, 0),
            method("card-1", CreditCard, Suspended, 3),
            method("debit-1", DebitCard, Expired, 2),
            method("bank-1", BankAccount, Active, 1),
            method("later-1", Postpaid, Suspended, 0),
            method("points", Points, Expired, 0),
        ],
    );
    every.user_id = "u-9".to_owned();
    every.auto_charge = Some(pb::AutoCharge {
        threshold_minor: 500,
        ..auto_charge("bank-1", 3000).expect("auto-charge")
    });
    every.health = Some(pb::HealthIndex {
        score: 80,
        signals: metrics(&[("shortfalls_90d", 2.0)]),
    });
    every.attributes = [("channel".to_owned(), "app".to_owned())].into();
    every.as_of = Some(ts("2026-03-10T09:00:00.5Z"));
    every.explain = true;
    let mut charge = funding_like(&every);
    charge.amount = money("EUR", 4321);
    charge.balance_minor = 1234;
    // Unset: no methods, no auto-charge, no health (a score of 0); a
    // fallback rank of 0 is no rank (above).
    let mut unset = link_request("ride-share", 0, vec![]);
    unset.health = None;
    server.decide(every).await;
    server.decide(charge).await;
    server.decide(unset).await;

    let inputs = inputs(logged).await;
    let wallet = json!({
        "user_id": "u-9",
        "merchant_id": "video-stream",
        "methods": [
            { "id": "wallet", "type": "BALANCE", "status": "ACTIVE", "fallback_rank": null },
            { "id": "card-1", "type": "CREDIT_CARD", "status": "SUSPENDED", "fallback_rank": 3 },
            { "id": "debit-1", "type": "DEBIT_CARD", "status": "EXPIRED", "fallback_rank": 2 },
            { "id": "bank-1", "type": "BANK_ACCOUNT", "status": "ACTIVE", "fallback_rank": 1 },
            { "id": "later-1", "type": "POSTPAID", "status": "SUSPENDED", "fallback_rank": null },
            { "id": "points", "type": "POINTS", "status": "EXPIRED", "fallback_rank": null },
        ],
        "auto_charge": {
            "enabled": true,
            "source_method_id": "bank-1",
            "threshold_minor": 500,
            "amount_minor": 3000,
        },
        "attributes": { "channel": "app" },
        "as_of": "2026-03-10T09:00:00.5Z",
        "explain": true,
    });
    assert_eq!(
        inputs[0],
        json!({
            "wallet": wallet,
            "health": { "score": 80, "signals": { "shortfalls_90d": 2.0 } },
        })
    );
    assert_eq!(
        inputs[1],
        json!({
            "wallet": wallet,
            "amount": { "currency": "EUR", "minor": 4321 },
            "balance_minor": 1234,
        })
    );
    assert_eq!(
        inputs[2],
        json!({
            "wallet": {
                "user_id": "u1",
                "merchant_id": "ride-share",
                "methods": [],
                "auto_charge": {
                    "enabled": false,
                    "source_method_id": "",
                    "threshold_minor": 0,
                    "amount_minor": 0,
                },
                "attributes": {},
                "as_of": AS_OF,
                "explain": false,
            },
            "health": { "score": 0, "signals": {} },
        })
    );
}
