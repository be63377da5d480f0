//! Malformed requests: `INVALID_ARGUMENT` with a `google.rpc.BadRequest`
//! naming every bad field, in proto field names.

use tollgate::grpc::pb::{self, EffectiveTiming, RequesterRole};

use crate::support::{AS_OF, Server, bad_fields, metrics, request, requester, ts};

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
    assert_eq!(rejected(req).await, ["requester.role"]);
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
