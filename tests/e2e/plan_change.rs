//! `DecidePlanChange` over gRPC: every part of a decision arrives intact
//! (verdict, timing, effective instant, reasons with rule id, message and
//! details, provenance, the explain trace). What the demo bundle decides is
//! the demo's own tests' and `tests/cases/plan_change/`'s business.

use tollgate::grpc::pb::{self, EffectiveTiming, RequesterRole, Verdict};

use crate::support::{
    AFTER_ALLOW, AFTER_DENY, AS_OF, OUT_OF_SCOPE, Server, assert_provenance, metrics, reason,
    request, rfc3339, trace, ts,
};

#[tokio::test]
async fn a_plan_change_decision_arrives_intact() {
    let server = Server::embedded().await;
    let status = server.status().await;

    // tests/cases/plan_change/downgrade_over_quota_waits_for_period_end.yaml,
    // explained.
    let mut req = request("premium", "standard");
    req.usage = metrics(&[("users", 10.0), ("storage_gb", 20.0)]);
    req.period_usage = metrics(&[("api_calls", 150_000.0)]);
    req.billing = Some(pb::Billing {
        current_period_start: Some(ts("2026-02-28T15:00:00Z")),
        current_period_end: Some(ts("2026-03-31T15:00:00Z")),
        anchor_day: 1,
        time_zone: "Asia/Tokyo".to_owned(),
        ..Default::default()
    });
    req.explain = true;
    let d = server.decide(req).await;
    assert_eq!(d.verdict(), Verdict::Allow, "{d:#?}");
    assert_eq!(d.timing(), EffectiveTiming::NextBillingCycle, "{d:#?}");
    assert_eq!(rfc3339(d.effective_at.as_ref()), "2026-03-31T15:00:00Z");
    assert_eq!(
        d.reasons,
        [reason(
            "PERIOD_USAGE_EXCEEDS_TARGET_QUOTA",
            "downgrade-over-quota",
            "api_calls this period is 150000, over the `standard` quota of 100000; \
             the downgrade waits for the next billing cycle",
            &[
                ("metric", "api_calls"),
                ("current", "150000"),
                ("limit", "100000")
            ],
        )]
    );
    assert_provenance(&d, &status, AS_OF);
    assert_eq!(
        trace(&d),
        [
            ("same-plan", "deny", false, false, ""),
            ("unknown-source-plan", "deny", false, false, ""),
            ("unknown-target-plan", "deny", false, false, ""),
            ("reseller-contract-only", "deny", false, false, OUT_OF_SCOPE),
            ("unknown-reseller", "deny", false, false, OUT_OF_SCOPE),
            ("outside-reseller-plans", "deny", false, false, OUT_OF_SCOPE),
            (
                "outside-reseller-directions",
                "deny",
                false,
                false,
                OUT_OF_SCOPE
            ),
            ("tenant-contract-only", "deny", false, false, ""),
            ("usage-within-target-limits", "deny", false, false, ""),
            ("downgrade-usage-reported", "deny", false, false, ""),
            ("downgrade-period-usage-reported", "deny", false, false, ""),
            (
                "operator-catalogue-migration",
                "allow",
                false,
                false,
                OUT_OF_SCOPE
            ),
            ("upgrade-immediate", "allow", false, false, ""),
            ("downgrade-in-commitment", "allow", false, false, ""),
            ("downgrade-over-quota", "allow", true, true, ""),
            ("downgrade-immediate", "allow", false, false, AFTER_ALLOW),
        ]
    );

    // A deny carries no timing and no instant, and every reason of every
    // matching deny rule, each of those rules decisive.
    // tests/cases/plan_change/reseller_off_contract_only_over_limits.yaml,
    // to `standard` and explained.
    let mut req = request("enterprise", "standard");
    req.requester = Some(pb::Requester {
        role: RequesterRole::Reseller.into(),
        id: "reseller-7".to_owned(),
    });
    req.usage = metrics(&[("users", 120.0)]);
    req.explain = true;
    let d = server.decide(req).await;
    assert_eq!(d.verdict(), Verdict::Deny, "{d:#?}");
    assert_eq!(d.timing(), EffectiveTiming::Unspecified, "{d:#?}");
    assert_eq!(d.effective_at, None, "{d:#?}");
    assert_eq!(
        d.reasons,
        [
            reason(
                "RESELLER_NOT_PERMITTED",
                "reseller-contract-only",
                "a reseller cannot move a tenant to or from a contract-only plan \
                 (`enterprise` -> `standard`)",
                &[("plan", "enterprise"), ("requester_role", "RESELLER")],
            ),
            reason(
                "USAGE_EXCEEDS_TARGET_LIMIT",
                "usage-within-target-limits",
                "users is 120, over the `standard` limit of 50",
                &[("metric", "users"), ("current", "120"), ("limit", "50")],
            ),
            reason(
                "USAGE_NOT_REPORTED",
                "downgrade-usage-reported",
                "storage_gb must be reported to move down to `standard`, which limits it to 100",
                &[
                    ("metric", "storage_gb"),
                    ("limit", "100"),
                    ("field", "usage")
                ],
            ),
            reason(
                "USAGE_NOT_REPORTED",
                "downgrade-period-usage-reported",
                "api_calls this period must be reported to move down to `standard`, \
                 whose quota is 100000",
                &[
                    ("metric", "api_calls"),
                    ("limit", "100000"),
                    ("field", "period_usage"),
                ],
            ),
        ]
    );
    assert_provenance(&d, &status, AS_OF);
    let t = trace(&d);
    let decisive: Vec<&str> = t.iter().filter(|r| r.3).map(|r| r.0).collect();
    let denies = [
        "reseller-contract-only",
        "usage-within-target-limits",
        "downgrade-usage-reported",
        "downgrade-period-usage-reported",
    ];
    assert_eq!(decisive, denies, "every matching deny rule decides");
    let allows: Vec<&str> = t.iter().filter(|r| r.1 == "allow").map(|r| r.4).collect();
    // The operator's migration rule is out of a reseller's scope.
    let evaluated = [OUT_OF_SCOPE, AFTER_DENY, AFTER_DENY, AFTER_DENY, AFTER_DENY];
    assert_eq!(allows, evaluated, "no allow rule is evaluated: {t:?}");
}
