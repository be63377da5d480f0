//! Effective instants of NEXT_BILLING_CYCLE: anchor days clamped to short
//! months, boundaries, time zones and DST. Every expected instant is worked
//! out by hand (local time and offset in the comment), not by the code under
//! test; offsets are from the IANA rules for 2026-2028.

use tollgate::grpc::pb::{self, EffectiveTiming};

use crate::support::{Server, assert_deny, metrics, request, rfc3339, ts};

/// A downgrade that the demo bundle sends to the next billing cycle
/// (`downgrade-over-quota`): usage fits `standard`, period usage is over its
/// `api_calls` quota.
fn over_quota(billing: pb::Billing, as_of: &str) -> pb::PlanChangeRequest {
    let mut req = request("premium", "standard");
    req.usage = metrics(&[("users", 10.0), ("storage_gb", 20.0)]);
    req.period_usage = metrics(&[("api_calls", 250_000.0)]);
    req.billing = Some(billing);
    req.as_of = Some(ts(as_of));
    req
}

fn anchored(anchor_day: u32, time_zone: &str) -> pb::Billing {
    pb::Billing {
        anchor_day,
        time_zone: time_zone.to_owned(),
        ..Default::default()
    }
}

/// The effective instant of an over-quota downgrade, checking it is an
/// ALLOW at the next billing cycle.
async fn next_cycle(server: &Server, billing: pb::Billing, as_of: &str) -> String {
    let d = server.decide(over_quota(billing, as_of)).await;
    assert_eq!(d.verdict(), pb::Verdict::Allow, "{d:#?}");
    assert_eq!(d.timing(), EffectiveTiming::NextBillingCycle, "{d:#?}");
    assert_eq!(d.reasons[0].code, "PERIOD_USAGE_EXCEEDS_TARGET_QUOTA");
    rfc3339(d.effective_at.as_ref())
}

#[tokio::test]
async fn anchor_31_clamps_to_february_28_in_a_common_year() {
    let server = Server::embedded().await;
    // 2026-02-28 00:00 JST (+09:00).
    assert_eq!(
        next_cycle(&server, anchored(31, "Asia/Tokyo"), "2026-02-10T09:00:00Z").await,
        "2026-02-27T15:00:00Z"
    );
}

#[tokio::test]
async fn anchor_31_clamps_to_february_29_in_a_leap_year() {
    let server = Server::embedded().await;
    // 2028-02-29 00:00 JST (+09:00).
    assert_eq!(
        next_cycle(&server, anchored(31, "Asia/Tokyo"), "2028-02-10T09:00:00Z").await,
        "2028-02-28T15:00:00Z"
    );
    // 2028-02-29 00:00 UTC.
    assert_eq!(
        next_cycle(&server, anchored(30, "UTC"), "2028-02-10T09:00:00Z").await,
        "2028-02-29T00:00:00Z"
    );
}

#[tokio::test]
async fn anchor_31_clamps_to_april_30() {
    let server = Server::embedded().await;
    // 2026-04-30 00:00 UTC.
    assert_eq!(
        next_cycle(&server, anchored(31, "UTC"), "2026-04-10T09:00:00Z").await,
        "2026-04-30T00:00:00Z"
    );
}

#[tokio::test]
async fn anchor_31_returns_to_day_31_after_a_clamped_month() {
    let server = Server::embedded().await;
    // After the clamped 2026-02-28 boundary: 2026-03-31 00:00 UTC.
    assert_eq!(
        next_cycle(&server, anchored(31, "UTC"), "2026-02-28T12:00:00Z").await,
        "2026-03-31T00:00:00Z"
    );
}

#[tokio::test]
async fn as_of_exactly_on_a_boundary_moves_to_the_next_months_boundary() {
    let server = Server::embedded().await;
    // as_of is 2026-05-15 00:00 UTC itself; next is 2026-06-15 00:00 UTC.
    assert_eq!(
        next_cycle(&server, anchored(15, "UTC"), "2026-05-15T00:00:00Z").await,
        "2026-06-15T00:00:00Z"
    );
    // as_of is 2026-02-28 00:00 JST (the clamped boundary); next is
    // 2026-03-31 00:00 JST.
    assert_eq!(
        next_cycle(&server, anchored(31, "Asia/Tokyo"), "2026-02-27T15:00:00Z").await,
        "2026-03-30T15:00:00Z"
    );
    // One second before that boundary still lands on it.
    assert_eq!(
        next_cycle(&server, anchored(31, "Asia/Tokyo"), "2026-02-27T14:59:59Z").await,
        "2026-02-27T15:00:00Z"
    );
}

#[tokio::test]
async fn december_rolls_over_into_january() {
    let server = Server::embedded().await;
    // 2027-01-15 00:00 UTC.
    assert_eq!(
        next_cycle(&server, anchored(15, "UTC"), "2026-12-20T09:00:00Z").await,
        "2027-01-15T00:00:00Z"
    );
}

#[tokio::test]
async fn boundary_uses_the_local_date_in_the_billing_time_zone() {
    let server = Server::embedded().await;
    // 2026-03-31T16:00Z is already 2026-04-01 01:00 JST, past the April
    // boundary: next is 2026-05-01 00:00 JST (+09:00).
    assert_eq!(
        next_cycle(&server, anchored(1, "Asia/Tokyo"), "2026-03-31T16:00:00Z").await,
        "2026-04-30T15:00:00Z"
    );
    // 2026-04-01T02:00Z is still 2026-03-31 22:00 EDT: next is
    // 2026-04-01 00:00 EDT (-04:00).
    assert_eq!(
        next_cycle(
            &server,
            anchored(1, "America/New_York"),
            "2026-04-01T02:00:00Z"
        )
        .await,
        "2026-04-01T04:00:00Z"
    );
}

#[tokio::test]
async fn new_york_boundaries_follow_daylight_saving_time() {
    let server = Server::embedded().await;
    let ny = |day| anchored(day, "America/New_York");
    // DST starts 2026-03-08 at 02:00, so that midnight is still EST (-05:00).
    assert_eq!(
        next_cycle(&server, ny(8), "2026-03-01T12:00:00Z").await,
        "2026-03-08T05:00:00Z"
    );
    // From that boundary, the next is 2026-04-08 00:00 EDT (-04:00).
    assert_eq!(
        next_cycle(&server, ny(8), "2026-03-08T05:00:00Z").await,
        "2026-04-08T04:00:00Z"
    );
    // DST ends 2026-11-01 at 02:00, so that midnight is still EDT (-04:00).
    assert_eq!(
        next_cycle(&server, ny(1), "2026-10-15T12:00:00Z").await,
        "2026-11-01T04:00:00Z"
    );
    // From that boundary, the next is 2026-12-01 00:00 EST (-05:00).
    assert_eq!(
        next_cycle(&server, ny(1), "2026-11-01T04:00:00Z").await,
        "2026-12-01T05:00:00Z"
    );
}

#[tokio::test]
async fn lord_howe_half_hour_dst_shift_moves_the_boundary_by_thirty_minutes() {
    let server = Server::embedded().await;
    let lh = |day| anchored(day, "Australia/Lord_Howe");
    // DST (+11:00) ends 2026-04-05 at 02:00, so that midnight is +11:00.
    assert_eq!(
        next_cycle(&server, lh(5), "2026-03-15T00:00:00Z").await,
        "2026-04-04T13:00:00Z"
    );
    // 2026-04-06 00:00 is standard time, +10:30.
    assert_eq!(
        next_cycle(&server, lh(6), "2026-03-15T00:00:00Z").await,
        "2026-04-05T13:30:00Z"
    );
}

#[tokio::test]
async fn a_skipped_midnight_starts_the_period_at_the_end_of_the_gap() {
    let server = Server::embedded().await;
    // Havana springs forward at midnight on 2026-03-08: 00:00 CST (-05:00)
    // becomes 01:00 CDT (-04:00); the first instant of that day is 05:00Z.
    assert_eq!(
        next_cycle(
            &server,
            anchored(8, "America/Havana"),
            "2026-03-01T12:00:00Z"
        )
        .await,
        "2026-03-08T05:00:00Z"
    );
    // Santiago springs forward at midnight on 2026-09-06: 00:00 -04 becomes
    // 01:00 -03; the first instant of that day is 04:00Z.
    assert_eq!(
        next_cycle(
            &server,
            anchored(6, "America/Santiago"),
            "2026-08-20T12:00:00Z"
        )
        .await,
        "2026-09-06T04:00:00Z"
    );
}

#[tokio::test]
async fn a_repeated_or_shifted_midnight_starts_the_period_when_the_day_first_begins() {
    let server = Server::embedded().await;
    // Havana falls back at 01:00 CDT on 2026-11-01 to 00:00 CST, so local
    // midnight happens twice; the day begins at the first, 00:00 CDT (-04:00).
    assert_eq!(
        next_cycle(
            &server,
            anchored(1, "America/Havana"),
            "2026-10-15T12:00:00Z"
        )
        .await,
        "2026-11-01T04:00:00Z"
    );
    // Santiago falls back at 2026-04-05 00:00 -03 to 2026-04-04 23:00 -04, so
    // 2026-04-05 begins once, at 00:00 -04.
    assert_eq!(
        next_cycle(
            &server,
            anchored(5, "America/Santiago"),
            "2026-03-20T12:00:00Z"
        )
        .await,
        "2026-04-05T04:00:00Z"
    );
}

#[tokio::test]
async fn current_period_end_after_as_of_wins_over_anchor_day() {
    let server = Server::embedded().await;
    let billing = pb::Billing {
        current_period_start: Some(ts("2026-01-20T00:00:00Z")),
        current_period_end: Some(ts("2026-02-20T00:00:00Z")),
        anchor_day: 31,
        time_zone: "Asia/Tokyo".to_owned(),
        ..Default::default()
    };
    assert_eq!(
        next_cycle(&server, billing, "2026-02-10T09:00:00Z").await,
        "2026-02-20T00:00:00Z"
    );
}

#[tokio::test]
async fn current_period_end_not_after_as_of_falls_back_to_anchor_day() {
    let server = Server::embedded().await;
    let billing = pb::Billing {
        current_period_end: Some(ts("2026-02-10T09:00:00Z")),
        anchor_day: 31,
        time_zone: "Asia/Tokyo".to_owned(),
        ..Default::default()
    };
    // The stale period end equals as_of; the anchor gives 2026-02-28 00:00 JST.
    assert_eq!(
        next_cycle(&server, billing, "2026-02-10T09:00:00Z").await,
        "2026-02-27T15:00:00Z"
    );
}

#[tokio::test]
async fn next_billing_cycle_without_period_end_or_anchor_day_is_denied() {
    let server = Server::embedded().await;
    let stale_end = pb::Billing {
        current_period_end: Some(ts("2026-01-01T00:00:00Z")),
        ..Default::default()
    };
    for billing in [pb::Billing::default(), anchored(0, "Asia/Tokyo"), stale_end] {
        let d = server
            .decide(over_quota(billing.clone(), "2026-02-10T09:00:00Z"))
            .await;
        assert_deny(&d, &["EFFECTIVE_TIME_UNAVAILABLE"]);
        let reason = &d.reasons[0];
        assert_eq!(reason.rule_id, "downgrade-over-quota", "{billing:?}");
        assert_eq!(
            reason.details["timing"], "NEXT_BILLING_CYCLE",
            "{billing:?}"
        );
        assert!(reason.message.contains("billing."), "{reason:?}");
    }
}
