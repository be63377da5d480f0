//! Malformed requests: `INVALID_ARGUMENT` with a `google.rpc.BadRequest`
//! naming every bad field, in proto field names.

use tollgate::grpc::pb::{
    self, EffectiveTiming,
    PaymentMethodStatus::{Active, Suspended},
    PaymentMethodType::{BankAccount, CreditCard},
    RequesterRole,
};

use crate::support::{
    AS_OF, Server, auto_charge, bad_fields, balance_method, funding_request, link_request, method,
    metrics, request, requester, ts,
};

/// The field names of the violations `req` is rejected with.
async fn rejected(req: pb::PlanChangeRequest) -> Vec<String> {
    let server = Server::embedded().await;
    bad_fields(&server.decide_err(req).await)
}

#[tokio::test]
async fn missing_tenant_id_is_invalid() {
    let mut req = request("free", "standard");
    req.tenant_id = String::new();
    assert_eq!(rejected(req.clone()).await, ["tenant_id"]);
    req.tenant_id = "  ".to_owned();
    assert_eq!(rejected(req).await, ["tenant_id"]);
}

#[tokio::test]
async fn missing_from_plan_is_invalid() {
    assert_eq!(rejected(request("", "standard")).await, ["from_plan"]);
}

#[tokio::test]
async fn missing_to_plan_is_invalid() {
    assert_eq!(rejected(request("free", "")).await, ["to_plan"]);
}

#[tokio::test]
async fn requester_without_a_role_is_invalid() {
    let mut req = request("free", "standard");
    req.requester = requester(RequesterRole::Unspecified);
    assert_eq!(rejected(req.clone()).await, ["requester.role"]);
    req.requester = None;
    assert_eq!(rejected(req).await, ["requester.role"]);
}

#[tokio::test]
async fn requester_role_outside_the_enum_is_invalid() {
    let mut req = request("free", "standard");
    req.requester = Some(pb::Requester {
        role: 99,
        id: String::new(),
    });
    let status = Server::embedded().await.decide_err(req).await;
    assert_eq!(bad_fields(&status), ["requester.role"]);
    // A number with no name in this build is quoted as the proto would name it.
    let want = "requester.role: `REQUESTER_ROLE_99` is not a requester role";
    assert!(status.message().contains(want), "{status:?}");
}

#[tokio::test]
async fn negative_usage_is_invalid() {
    let mut req = request("free", "standard");
    req.usage = metrics(&[("users", -1.0)]);
    assert_eq!(rejected(req).await, [r#"usage["users"]"#]);
}

#[tokio::test]
async fn negative_period_usage_is_invalid() {
    let mut req = request("free", "standard");
    req.period_usage = metrics(&[("api_calls", -0.5)]);
    assert_eq!(rejected(req).await, [r#"period_usage["api_calls"]"#]);
}

#[tokio::test]
async fn nan_and_infinite_usage_and_period_usage_are_invalid() {
    let mut req = request("free", "standard");
    req.usage = metrics(&[("users", f64::NAN), ("storage_gb", f64::INFINITY)]);
    req.period_usage = metrics(&[("api_calls", f64::NEG_INFINITY), ("prints", f64::NAN)]);
    let mut fields = rejected(req).await;
    fields.sort();
    assert_eq!(
        fields,
        [
            r#"period_usage["api_calls"]"#,
            r#"period_usage["prints"]"#,
            r#"usage["storage_gb"]"#,
            r#"usage["users"]"#,
        ]
    );
}

#[tokio::test]
async fn empty_metric_name_is_invalid() {
    let mut req = request("free", "standard");
    req.usage = metrics(&[("", 1.0)]);
    assert_eq!(rejected(req).await, ["usage"]);
}

#[tokio::test]
async fn unknown_time_zone_is_invalid() {
    let mut req = request("free", "standard");
    req.billing = Some(pb::Billing {
        time_zone: "Mars/Olympus_Mons".to_owned(),
        ..Default::default()
    });
    assert_eq!(rejected(req).await, ["billing.time_zone"]);
}

#[tokio::test]
async fn anchor_day_32_is_invalid() {
    let mut req = request("free", "standard");
    req.billing = Some(pb::Billing {
        anchor_day: 32,
        ..Default::default()
    });
    assert_eq!(rejected(req).await, ["billing.anchor_day"]);
}

#[tokio::test]
async fn anchor_day_0_means_unset_and_is_accepted() {
    let server = Server::embedded().await;
    let mut req = request("free", "standard");
    req.billing = Some(pb::Billing {
        anchor_day: 0,
        ..Default::default()
    });
    let d = server.decide(req).await;
    assert_eq!(d.verdict(), pb::Verdict::Allow, "{d:#?}");
    assert_eq!(d.timing(), EffectiveTiming::Immediate, "{d:#?}");
}

#[tokio::test]
async fn period_end_not_after_period_start_is_invalid() {
    let mut req = request("free", "standard");
    req.billing = Some(pb::Billing {
        current_period_start: Some(ts("2026-03-01T00:00:00Z")),
        current_period_end: Some(ts("2026-03-01T00:00:00Z")),
        ..Default::default()
    });
    assert_eq!(rejected(req).await, ["billing.current_period_end"]);
}

#[tokio::test]
async fn out_of_range_timestamps_are_invalid() {
    let mut req = request("free", "standard");
    req.as_of = Some(prost_types::Timestamp {
        seconds: ts(AS_OF).seconds,
        nanos: 2_000_000_000,
    });
    req.billing = Some(pb::Billing {
        commitment_end: Some(prost_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        }),
        ..Default::default()
    });
    let mut fields = rejected(req).await;
    fields.sort();
    assert_eq!(fields, ["as_of", "billing.commitment_end"]);
}

#[tokio::test]
async fn several_bad_fields_give_one_violation_each() {
    let mut req = request("", "");
    req.tenant_id = String::new();
    req.requester = None;
    req.usage = metrics(&[("users", -3.0)]);
    req.billing = Some(pb::Billing {
        anchor_day: 32,
        time_zone: "Nowhere/Special".to_owned(),
        ..Default::default()
    });
    let mut fields = rejected(req).await;
    fields.sort();
    assert_eq!(
        fields,
        [
            "billing.anchor_day",
            "billing.time_zone",
            "from_plan",
            "requester.role",
            "tenant_id",
            "to_plan",
            r#"usage["users"]"#,
        ]
    );
}

// --- payments ------------------------------------------------------------

/// The sorted field names `req` is rejected with by DecidePaymentLink.
async fn rejected_link(server: &Server, req: pb::PaymentLinkRequest) -> Vec<String> {
    let mut fields = bad_fields(&server.decide_link_err(req).await);
    fields.sort();
    fields
}

/// The sorted field names `req` is rejected with by DecideChargeFunding.
async fn rejected_funding(server: &Server, req: pb::ChargeFundingRequest) -> Vec<String> {
    let mut fields = bad_fields(&server.decide_funding_err(req).await);
    fields.sort();
    fields
}

/// A valid link request, to break one field at a time.
fn link() -> pb::PaymentLinkRequest {
    link_request(
        "video-stream",
        80,
        vec![balance_method(), method("card-1", CreditCard, Active, 1)],
    )
}

/// A valid funding request, to break one field at a time.
fn funding() -> pb::ChargeFundingRequest {
    funding_request(
        "video-stream",
        3000,
        1000,
        vec![balance_method(), method("card-1", CreditCard, Active, 1)],
    )
}

#[tokio::test]
async fn payment_requests_without_user_or_merchant_are_invalid() {
    let server = Server::embedded().await;
    for (user, merchant, want) in [
        ("", "video-stream", vec!["user_id"]),
        (" ", "video-stream", vec!["user_id"]),
        ("u1", "", vec!["merchant_id"]),
        ("u1", "\t", vec!["merchant_id"]),
        ("", "", vec!["merchant_id", "user_id"]),
    ] {
        let mut req = link();
        req.user_id = user.to_owned();
        req.merchant_id = merchant.to_owned();
        assert_eq!(rejected_link(&server, req).await, want);
        let mut req = funding();
        req.user_id = user.to_owned();
        req.merchant_id = merchant.to_owned();
        assert_eq!(rejected_funding(&server, req).await, want);
    }
}

#[tokio::test]
async fn a_charge_of_zero_or_less_is_invalid() {
    let server = Server::embedded().await;
    for amount in [0, -1, i64::MIN] {
        let mut req = funding();
        req.amount = Some(pb::Money {
            currency: "JPY".to_owned(),
            amount_minor: amount,
        });
        assert_eq!(
            rejected_funding(&server, req).await,
            ["amount.amount_minor"]
        );
    }
}

#[tokio::test]
async fn a_charge_without_amount_or_currency_is_invalid() {
    let server = Server::embedded().await;
    let mut req = funding();
    req.amount = Some(pb::Money {
        currency: String::new(),
        amount_minor: 3000,
    });
    assert_eq!(rejected_funding(&server, req).await, ["amount.currency"]);

    // No amount at all: neither part is there.
    let mut req = funding();
    req.amount = None;
    assert_eq!(
        rejected_funding(&server, req).await,
        ["amount.amount_minor", "amount.currency"]
    );
}

#[tokio::test]
async fn a_currency_that_is_not_three_upper_case_letters_is_invalid() {
    let server = Server::embedded().await;
    for currency in ["jpy", "Jpy", "JP", "JPYY", "JP1", " JP", "ÉUR", "円"] {
        let mut req = funding();
        req.amount = Some(pb::Money {
            currency: currency.to_owned(),
            amount_minor: 3000,
        });
        let status = server.decide_funding_err(req).await;
        assert_eq!(bad_fields(&status), ["amount.currency"], "{currency:?}");
        assert!(
            status.message().contains("is not an ISO 4217 code"),
            "{status:?}"
        );
    }
}

#[tokio::test]
async fn a_negative_balance_is_invalid() {
    let server = Server::embedded().await;
    let mut req = funding();
    req.balance_minor = -1;
    assert_eq!(rejected_funding(&server, req).await, ["balance_minor"]);
}

#[tokio::test]
async fn a_method_id_listed_twice_is_invalid() {
    let server = Server::embedded().await;
    let methods = vec![
        method("card-1", CreditCard, Active, 1),
        method("card-1", BankAccount, Active, 2),
    ];
    let mut req = link();
    req.methods = methods.clone();
    let status = server.decide_link_err(req).await;
    assert_eq!(bad_fields(&status), ["methods[1].id"]);
    assert!(
        status.message().contains("`card-1` is listed twice"),
        "{status:?}"
    );
    let mut req = funding();
    req.methods = methods;
    assert_eq!(rejected_funding(&server, req).await, ["methods[1].id"]);
}

#[tokio::test]
async fn a_method_without_id_is_invalid() {
    let server = Server::embedded().await;
    let mut req = link();
    req.methods.push(method("", BankAccount, Active, 0));
    assert_eq!(rejected_link(&server, req).await, ["methods[2].id"]);
}

#[tokio::test]
async fn a_method_of_unspecified_or_unknown_type_or_status_is_invalid() {
    let server = Server::embedded().await;
    let unspecified = pb::PaymentMethod {
        id: "m".to_owned(),
        ..Default::default()
    };
    let mut req = link();
    req.methods.push(unspecified.clone());
    assert_eq!(
        rejected_link(&server, req).await,
        ["methods[2].status", "methods[2].type"]
    );
    let mut req = funding();
    req.methods.insert(0, unspecified);
    assert_eq!(
        rejected_funding(&server, req).await,
        ["methods[0].status", "methods[0].type"]
    );

    // One of the two unset, or a number outside the enum.
    for (kind, status, violation) in [
        (0, Active as i32, "methods[0].type: is required"),
        (CreditCard as i32, 0, "methods[0].status: is required"),
        (
            99,
            Active as i32,
            "methods[0].type: `99` is not a payment method type",
        ),
        (
            CreditCard as i32,
            99,
            "methods[0].status: `99` is not a payment method status",
        ),
    ] {
        let mut req = link();
        req.methods = vec![pb::PaymentMethod {
            id: "m".to_owned(),
            r#type: kind,
            status,
            fallback_rank: 0,
        }];
        let status = server.decide_link_err(req).await;
        let field = violation.split(':').next().unwrap_or_default();
        assert_eq!(bad_fields(&status), [field]);
        assert!(status.message().contains(violation), "{status:?}");
    }
}

#[tokio::test]
async fn an_auto_charge_source_that_names_no_listed_method_is_invalid() {
    let server = Server::embedded().await;
    let mut req = link();
    req.auto_charge = auto_charge("bank-9", 1000);
    let status = server.decide_link_err(req).await;
    assert_eq!(bad_fields(&status), ["auto_charge.source_method_id"]);
    assert!(
        status.message().contains("`bank-9` names no listed method"),
        "{status:?}"
    );
    // Even when switched off.
    let mut req = funding();
    req.auto_charge = Some(pb::AutoCharge {
        enabled: false,
        source_method_id: "bank-9".to_owned(),
        ..Default::default()
    });
    assert_eq!(
        rejected_funding(&server, req).await,
        ["auto_charge.source_method_id"]
    );
}

#[tokio::test]
async fn auto_charge_enabled_without_a_source_is_invalid() {
    let server = Server::embedded().await;
    let mut req = link();
    req.auto_charge = auto_charge("", 1000);
    assert_eq!(
        rejected_link(&server, req).await,
        ["auto_charge.source_method_id"]
    );
    let mut req = funding();
    req.auto_charge = auto_charge("", 1000);
    assert_eq!(
        rejected_funding(&server, req).await,
        ["auto_charge.source_method_id"]
    );
}

#[tokio::test]
async fn negative_auto_charge_amounts_are_invalid() {
    let server = Server::embedded().await;
    let negative = Some(pb::AutoCharge {
        enabled: true,
        source_method_id: "card-1".to_owned(),
        threshold_minor: -1,
        amount_minor: -1000,
    });
    let mut req = link();
    req.auto_charge = negative.clone();
    assert_eq!(
        rejected_link(&server, req).await,
        ["auto_charge.amount_minor", "auto_charge.threshold_minor"]
    );
    let mut req = funding();
    req.auto_charge = negative;
    assert_eq!(
        rejected_funding(&server, req).await,
        ["auto_charge.amount_minor", "auto_charge.threshold_minor"]
    );
}

#[tokio::test]
async fn a_health_score_over_100_is_invalid() {
    let server = Server::embedded().await;
    for score in [101, u32::MAX] {
        let mut req = link();
        req.health = Some(pb::HealthIndex {
            score,
            signals: Default::default(),
        });
        assert_eq!(rejected_link(&server, req).await, ["health.score"]);
    }
}

#[tokio::test]
async fn non_finite_health_signals_are_invalid() {
    let server = Server::embedded().await;
    let mut req = link();
    req.health = Some(pb::HealthIndex {
        score: 80,
        signals: metrics(&[
            ("shortfalls_90d", f64::NAN),
            ("days_negative", f64::INFINITY),
            ("overdrafts", f64::NEG_INFINITY),
            ("fine", 1.5),
        ]),
    });
    assert_eq!(
        rejected_link(&server, req).await,
        [
            r#"health.signals["days_negative"]"#,
            r#"health.signals["overdrafts"]"#,
            r#"health.signals["shortfalls_90d"]"#,
        ]
    );
}

#[tokio::test]
async fn an_out_of_range_as_of_is_invalid_for_payments_too() {
    let server = Server::embedded().await;
    let bad = Some(prost_types::Timestamp {
        seconds: ts(AS_OF).seconds,
        nanos: -1,
    });
    let mut req = link();
    req.as_of = bad;
    assert_eq!(rejected_link(&server, req).await, ["as_of"]);
    let mut req = funding();
    req.as_of = bad;
    assert_eq!(rejected_funding(&server, req).await, ["as_of"]);
}

#[tokio::test]
async fn several_bad_payment_fields_give_one_violation_each() {
    let server = Server::embedded().await;
    let mut req = link();
    req.user_id = String::new();
    req.methods = vec![
        method("card-1", CreditCard, Active, 1),
        method("card-1", CreditCard, Suspended, 0),
        pb::PaymentMethod {
            id: "m".to_owned(),
            ..Default::default()
        },
    ];
    req.auto_charge = Some(pb::AutoCharge {
        enabled: true,
        source_method_id: "nowhere".to_owned(),
        threshold_minor: -5,
        amount_minor: 1000,
    });
    req.health = Some(pb::HealthIndex {
        score: 150,
        signals: metrics(&[("x", f64::NAN)]),
    });
    assert_eq!(
        rejected_link(&server, req).await,
        [
            "auto_charge.source_method_id",
            "auto_charge.threshold_minor",
            "health.score",
            r#"health.signals["x"]"#,
            "methods[1].id",
            "methods[2].status",
            "methods[2].type",
            "user_id",
        ]
    );

    let mut req = funding();
    req.merchant_id = String::new();
    req.amount = Some(pb::Money {
        currency: "yen".to_owned(),
        amount_minor: -3000,
    });
    req.balance_minor = -1;
    req.methods.push(method("wallet", BankAccount, Active, 0));
    req.auto_charge = auto_charge("", -1);
    assert_eq!(
        rejected_funding(&server, req).await,
        [
            "amount.amount_minor",
            "amount.currency",
            "auto_charge.amount_minor",
            "auto_charge.source_method_id",
            "balance_minor",
            "merchant_id",
            "methods[2].id",
        ]
    );
}

#[tokio::test]
async fn an_unknown_merchant_is_not_invalid() {
    let server = Server::embedded().await;
    let mut req = link();
    req.merchant_id = "bookshop".to_owned();
    let d = server.decide_link(req).await;
    assert_eq!(d.outcome(), pb::LinkOutcome::Deny, "{d:#?}");
    assert_eq!(d.reasons[0].code, "UNKNOWN_MERCHANT");
    let mut req = funding();
    req.merchant_id = "bookshop".to_owned();
    let d = server.decide_funding(req).await;
    assert_eq!(d.outcome(), pb::FundingOutcome::Decline, "{d:#?}");
    assert_eq!(d.reasons[0].code, "UNKNOWN_MERCHANT");
}
