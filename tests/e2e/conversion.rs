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
    // The proto3 JSON of each request: the message's own field names,
    // full enum names, int64 as strings, a field at its default (an empty
    // string, map or list, 0, false) left out as proto3 JSON leaves it out.
    assert_eq!(
        inputs[0],
        json!({
            "tenantId": "t-7",
            "fromPlan": "premium",
            "toPlan": "standard",
            "requester": { "role": "REQUESTER_ROLE_RESELLER", "id": "r-42" },
            "usage": { "users": 10.5, "storage_gb": 20.0 },
            "periodUsage": { "api_calls": 150_000.0 },
            "billing": {
                "currentPeriodStart": "2026-02-28T15:00:00Z",
                "currentPeriodEnd": "2026-03-31T15:00:00.25Z",
                "commitmentEnd": "2026-01-01T00:00:00Z",
                "anchorDay": 31,
                "timeZone": "Asia/Tokyo",
            },
            "attributes": { "channel": "web" },
            "asOf": "2026-03-10T09:00:00.123456789Z",
            "explain": true,
            // The bundle locale that answered `ja-JP`.
            "locale": "ja",
        })
    );
    assert_eq!(
        inputs[1],
        json!({
            "tenantId": "t1",
            "fromPlan": "free",
            "toPlan": "standard",
            "requester": { "role": "REQUESTER_ROLE_TENANT" },
            "billing": { "timeZone": "UTC" },
            "asOf": AS_OF,
            "locale": "en",
        })
    );
    let roles: Vec<&Value> = inputs[2..]
        .iter()
        .map(|i| &i["requester"]["role"])
        .collect();
    assert_eq!(
        roles,
        [
            "REQUESTER_ROLE_TENANT",
            "REQUESTER_ROLE_PROVIDER",
            "REQUESTER_ROLE_OPERATOR"
        ]
    );
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
    let methods = json!([
        { "id": "wallet", "type": "PAYMENT_METHOD_TYPE_BALANCE", "status": "PAYMENT_METHOD_STATUS_ACTIVE" },
        { "id": "card-1", "type": "PAYMENT_METHOD_TYPE_CREDIT_CARD", "status": "PAYMENT_METHOD_STATUS_SUSPENDED", "fallbackRank": 3 },
        { "id": "debit-1", "type": "PAYMENT_METHOD_TYPE_DEBIT_CARD", "status": "PAYMENT_METHOD_STATUS_EXPIRED", "fallbackRank": 2 },
        { "id": "bank-1", "type": "PAYMENT_METHOD_TYPE_BANK_ACCOUNT", "status": "PAYMENT_METHOD_STATUS_ACTIVE", "fallbackRank": 1 },
        { "id": "later-1", "type": "PAYMENT_METHOD_TYPE_POSTPAID", "status": "PAYMENT_METHOD_STATUS_SUSPENDED" },
        { "id": "points", "type": "PAYMENT_METHOD_TYPE_POINTS", "status": "PAYMENT_METHOD_STATUS_EXPIRED" },
    ]);
    let auto_charge = json!({
        "enabled": true,
        "sourceMethodId": "bank-1",
        "thresholdMinor": "500",
        "amountMinor": "3000",
    });
    assert_eq!(
        inputs[0],
        json!({
            "userId": "u-9",
            "merchantId": "video-stream",
            "health": { "score": 80, "signals": { "shortfalls_90d": 2.0 } },
            "methods": methods,
            "autoCharge": auto_charge,
            "attributes": { "channel": "app" },
            "asOf": "2026-03-10T09:00:00.5Z",
            "explain": true,
            "locale": "en",
        })
    );
    assert_eq!(
        inputs[1],
        json!({
            "userId": "u-9",
            "merchantId": "video-stream",
            "amount": { "currency": "EUR", "amountMinor": "4321" },
            "balanceMinor": "1234",
            "methods": methods,
            "autoCharge": auto_charge,
            "attributes": { "channel": "app" },
            "asOf": "2026-03-10T09:00:00.5Z",
            "explain": true,
            "locale": "en",
        })
    );
    // No health index is not a health index of 0: it is left out.
    assert_eq!(
        inputs[2],
        json!({
            "userId": "u1",
            "merchantId": "ride-share",
            "autoCharge": {},
            "asOf": AS_OF,
            "locale": "en",
        })
    );
}
