//! Every rule of the demo bundle over gRPC: verdict, timing, effective
//! instant, reason codes, rule ids and details.

use tollgate::grpc::pb::{self, EffectiveTiming, RequesterRole};

use crate::support::{
    AS_OF, Server, assert_allow, assert_deny, details, metrics, request, requester, ts,
};

#[tokio::test]
async fn same_plan_is_denied() {
    let server = Server::embedded().await;
    let d = server.decide(request("standard", "standard")).await;
    assert_deny(&d, &["SAME_PLAN"]);
    assert_eq!(d.reasons[0].rule_id, "same-plan");
    assert_eq!(
        d.reasons[0].message, "the tenant is already on `standard`",
        "{d:#?}"
    );
}

#[tokio::test]
async fn unknown_source_or_target_plan_is_denied_not_rejected() {
    let server = Server::embedded().await;

    let d = server.decide(request("legacy", "standard")).await;
    assert_deny(&d, &["UNKNOWN_PLAN"]);
    assert_eq!(d.reasons[0].rule_id, "unknown-source-plan");
    assert_eq!(
        details(&d.reasons[0]),
        [("field", "from_plan"), ("plan", "legacy")]
    );

    let d = server.decide(request("standard", "platinum")).await;
    assert_deny(&d, &["UNKNOWN_PLAN"]);
    assert_eq!(d.reasons[0].rule_id, "unknown-target-plan");
    assert_eq!(
        details(&d.reasons[0]),
        [("field", "to_plan"), ("plan", "platinum")]
    );
}

#[tokio::test]
async fn reseller_cannot_move_a_tenant_to_or_from_a_contract_only_plan() {
    let server = Server::embedded().await;

    let mut to_enterprise = request("premium", "enterprise");
    to_enterprise.requester = requester(RequesterRole::Reseller);
    let d = server.decide(to_enterprise).await;
    assert_deny(&d, &["RESELLER_NOT_PERMITTED"]);
    assert_eq!(d.reasons[0].rule_id, "reseller-contract-only");
    assert!(
        d.reasons[0].message.contains("`premium` -> `enterprise`"),
        "{d:#?}"
    );

    // Usage fits `premium`, so the contract-only rule is the only objection.
    let mut from_enterprise = request("enterprise", "premium");
    from_enterprise.requester = requester(RequesterRole::Reseller);
    from_enterprise.usage = metrics(&[("users", 10.0), ("storage_gb", 20.0)]);
    let d = server.decide(from_enterprise).await;
    assert_deny(&d, &["RESELLER_NOT_PERMITTED"]);
    assert_eq!(d.reasons[0].rule_id, "reseller-contract-only");
}

#[tokio::test]
async fn provider_may_move_a_tenant_to_a_contract_only_plan() {
    let server = Server::embedded().await;
    let mut req = request("premium", "enterprise");
    req.requester = requester(RequesterRole::Provider);
    let d = server.decide(req).await;
    assert_allow(
        &d,
        EffectiveTiming::Immediate,
        AS_OF,
        "UPGRADE",
        "upgrade-immediate",
    );
}

#[tokio::test]
async fn usage_over_target_limits_gives_one_reason_per_metric_with_details() {
    let server = Server::embedded().await;
    let mut req = request("premium", "standard");
    req.requester = requester(RequesterRole::Reseller);
    req.usage = metrics(&[("users", 120.0), ("storage_gb", 250.0)]);
    let d = server.decide(req).await;
    assert_deny(
        &d,
        &["USAGE_EXCEEDS_TARGET_LIMIT", "USAGE_EXCEEDS_TARGET_LIMIT"],
    );
    let mut got: Vec<_> = d.reasons.iter().map(details).collect();
    got.sort();
    assert_eq!(
        got,
        [
            vec![("current", "120"), ("limit", "50"), ("metric", "users")],
            vec![
                ("current", "250"),
                ("limit", "100"),
                ("metric", "storage_gb")
            ],
        ]
    );
    for r in &d.reasons {
        assert_eq!(r.rule_id, "usage-within-target-limits");
    }

    // Only the metric over its limit is named.
    let mut req = request("premium", "standard");
    req.usage = metrics(&[("users", 120.0), ("storage_gb", 20.0)]);
    let d = server.decide(req).await;
    assert_deny(&d, &["USAGE_EXCEEDS_TARGET_LIMIT"]);
    assert_eq!(d.reasons[0].details["metric"], "users");
    assert_eq!(
        d.reasons[0].message,
        "users is 120, over the `standard` limit of 50"
    );
}

#[tokio::test]
async fn downgrade_without_reported_usage_is_denied_per_missing_metric() {
    let server = Server::embedded().await;

    let mut req = request("standard", "free");
    req.usage = metrics(&[("users", 2.0)]);
    let d = server.decide(req).await;
    assert_deny(&d, &["USAGE_NOT_REPORTED"]);
    assert_eq!(d.reasons[0].rule_id, "downgrade-usage-reported");
    assert_eq!(
        details(&d.reasons[0]),
        [("limit", "1"), ("metric", "storage_gb")]
    );

    // Nothing reported: one reason per limited metric of the target.
    let d = server.decide(request("standard", "free")).await;
    assert_deny(&d, &["USAGE_NOT_REPORTED", "USAGE_NOT_REPORTED"]);
    let mut named: Vec<&str> = d
        .reasons
        .iter()
        .map(|r| r.details["metric"].as_str())
        .collect();
    named.sort_unstable();
    assert_eq!(named, ["storage_gb", "users"]);
}

#[tokio::test]
async fn upgrade_takes_effect_immediately_at_as_of() {
    let server = Server::embedded().await;
    let mut req = request("free", "standard");
    req.usage = metrics(&[("users", 3.0)]);
    let d = server.decide(req).await;
    assert_allow(
        &d,
        EffectiveTiming::Immediate,
        AS_OF,
        "UPGRADE",
        "upgrade-immediate",
    );
    assert_eq!(
        d.reasons[0].message,
        "upgrade from `free` to `standard` takes effect at once"
    );
}

#[tokio::test]
async fn downgrade_in_commitment_takes_effect_at_commitment_end() {
    let server = Server::embedded().await;
    let mut req = request("premium", "standard");
    req.usage = metrics(&[("users", 10.0), ("storage_gb", 20.0)]);
    // Over the target quota too: the commitment rule comes first and decides.
    req.period_usage = metrics(&[("api_calls", 250_000.0)]);
    req.billing = Some(pb::Billing {
        commitment_end: Some(ts("2026-12-31T15:00:00Z")),
        time_zone: "Asia/Tokyo".to_owned(),
        anchor_day: 31,
        ..Default::default()
    });
    let d = server.decide(req).await;
    assert_allow(
        &d,
        EffectiveTiming::EndOfTerm,
        "2026-12-31T15:00:00Z",
        "IN_COMMITMENT_TERM",
        "downgrade-in-commitment",
    );
    assert!(
        d.reasons[0].message.contains("2026-12-31T15:00:00Z"),
        "{d:#?}"
    );
}

#[tokio::test]
async fn downgrade_with_period_usage_over_target_quota_waits_for_next_billing_cycle() {
    let server = Server::embedded().await;
    let mut req = request("premium", "standard");
    req.usage = metrics(&[("users", 10.0), ("storage_gb", 20.0)]);
    req.period_usage = metrics(&[("api_calls", 250_000.0)]);
    req.billing = Some(pb::Billing {
        current_period_end: Some(ts("2026-04-01T00:00:00Z")),
        ..Default::default()
    });
    let d = server.decide(req).await;
    assert_allow(
        &d,
        EffectiveTiming::NextBillingCycle,
        "2026-04-01T00:00:00Z",
        "PERIOD_USAGE_EXCEEDS_TARGET_QUOTA",
        "downgrade-over-quota",
    );
    assert_eq!(
        details(&d.reasons[0]),
        [
            ("current", "250000"),
            ("limit", "100000"),
            ("metric", "api_calls")
        ]
    );
}

#[tokio::test]
async fn downgrade_that_fits_takes_effect_immediately() {
    let server = Server::embedded().await;
    let mut req = request("standard", "free");
    req.usage = metrics(&[("users", 2.0), ("storage_gb", 0.5)]);
    req.period_usage = metrics(&[("api_calls", 10.0)]);
    // A commitment that already ended does not hold the downgrade back.
    req.billing = Some(pb::Billing {
        commitment_end: Some(ts("2026-01-01T00:00:00Z")),
        ..Default::default()
    });
    let d = server.decide(req).await;
    assert_allow(
        &d,
        EffectiveTiming::Immediate,
        AS_OF,
        "DOWNGRADE",
        "downgrade-immediate",
    );
}
