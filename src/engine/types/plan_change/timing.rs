//! Effective instants: calendar arithmetic in the billing time zone. An
//! instant is never before `as_of`: a commitment end or a schedule already
//! past takes effect at once.

use jiff::{Timestamp, ToSpan, Zoned, civil::Date, tz::TimeZone};

use crate::{
    bundle::TimingSpec,
    domain::{AnchorDay, BillingField, PlanChange},
};

/// Why an effective instant cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The request lacks `field`; `needs` says what the timing needs, as
    /// the end of a sentence about the rule ("takes effect at ...").
    Missing {
        /// The field to send.
        field: BillingField,
        /// What the timing needs.
        needs: &'static str,
    },
    /// The calendar arithmetic failed (a date out of range).
    Failed(String),
}

/// The concrete instant a change allowed with `spec` takes effect, or why
/// it cannot be computed from the request.
pub fn effective_at(spec: &TimingSpec, req: &PlanChange) -> Result<Timestamp, Unavailable> {
    let billing = &req.billing;
    let tz = &billing.time_zone;
    let instant = match spec {
        TimingSpec::Immediate => req.as_of,
        TimingSpec::NextBillingCycle => match (billing.current_period_end, billing.anchor_day) {
            (Some(end), _) if end > req.as_of => end,
            (_, Some(anchor)) => {
                next_anchor_boundary(req.as_of, anchor, tz).map_err(Unavailable::Failed)?
            }
            (Some(_), None) => {
                return Err(Unavailable::Missing {
                    field: BillingField::AnchorDay,
                    needs: "takes effect at the next billing cycle: `billing.current_period_end` \
                            is not after `as_of`, so the next boundary needs `billing.anchor_day`",
                });
            }
            (None, None) => {
                return Err(Unavailable::Missing {
                    field: BillingField::CurrentPeriodEnd,
                    needs: "takes effect at the next billing cycle, which needs \
                            `billing.current_period_end` or `billing.anchor_day`",
                });
            }
        },
        TimingSpec::EndOfTerm => match billing.commitment_end {
            Some(end) => end,
            None => {
                return Err(Unavailable::Missing {
                    field: BillingField::CommitmentEnd,
                    needs: "takes effect at the end of the commitment term, which needs \
                            `billing.commitment_end`",
                });
            }
        },
        TimingSpec::ScheduledAt(ts) => *ts,
        TimingSpec::ScheduledOn(date) => midnight(*date, tz).map_err(Unavailable::Failed)?,
        TimingSpec::ScheduledAfterDays(days) => {
            let local = req.as_of.to_zoned(tz.clone()).date();
            let date = local
                .checked_add(i64::from(*days).days())
                .map_err(|e| Unavailable::Failed(format!("{days} days after `as_of`: {e}")))?;
            midnight(date, tz).map_err(Unavailable::Failed)?
        }
    };
    // A term that has already ended, or a schedule already past (even
    // `after_days: 0`, whose midnight began before `as_of`), lets the
    // change happen now: never in the past.
    Ok(instant.max(req.as_of))
}

/// The first period boundary strictly after `as_of`: the anchor day (clamped
/// to the month's last day) at 00:00 in `tz`.
pub fn next_anchor_boundary(
    as_of: Timestamp,
    anchor: AnchorDay,
    tz: &TimeZone,
) -> Result<Timestamp, String> {
    let local: Zoned = as_of.to_zoned(tz.clone());
    let first_of_month = local.date().first_of_month();
    for months in 0..=1 {
        let month = first_of_month
            .checked_add(months.months())
            .map_err(|e| format!("next billing cycle: {e}"))?;
        let day = anchor.get().min(month.days_in_month());
        let date = Date::new(month.year(), month.month(), day)
            .map_err(|e| format!("next billing cycle: {e}"))?;
        let boundary = midnight(date, tz)?;
        if boundary > as_of {
            return Ok(boundary);
        }
    }
    Err("next billing cycle: no boundary within two months".to_owned())
}

/// 00:00 on `date` in `tz` (the first instant after a gap when midnight is skipped).
fn midnight(date: Date, tz: &TimeZone) -> Result<Timestamp, String> {
    date.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| format!("midnight on {date}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BillingInput, PlanChangeInput};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A request at `as_of` with this calendar in Tokyo.
    fn req(as_of: &str, billing: BillingInput) -> PlanChange {
        let input = PlanChangeInput {
            tenant_id: "t1".to_owned(),
            from_plan: "a".to_owned(),
            to_plan: "b".to_owned(),
            requester_role: Some("TENANT".to_owned()).into(),
            billing: BillingInput {
                time_zone: "Asia/Tokyo".to_owned(),
                ..billing
            },
            as_of: Some(at(as_of)),
            ..PlanChangeInput::default()
        };
        PlanChange::parse(input, Timestamp::UNIX_EPOCH).unwrap()
    }

    fn plain(as_of: &str) -> PlanChange {
        req(as_of, BillingInput::default())
    }

    #[test]
    fn a_schedule_already_past_takes_effect_at_as_of() {
        let april = Date::new(2026, 4, 1).unwrap();
        let cases = [
            // (timing, as_of, effective)
            (
                TimingSpec::ScheduledOn(april),
                "2026-03-10T09:00:00Z",
                "2026-03-31T15:00:00Z",
            ),
            (
                TimingSpec::ScheduledOn(april),
                "2026-05-07T02:00:00Z",
                "2026-05-07T02:00:00Z",
            ),
            // 10:00 in Tokyo on the day itself: its midnight is past.
            (
                TimingSpec::ScheduledOn(april),
                "2026-04-01T01:00:00Z",
                "2026-04-01T01:00:00Z",
            ),
            (
                TimingSpec::ScheduledAt(at("2026-04-01T00:00:00Z")),
                "2026-04-01T00:00:00.000000001Z",
                "2026-04-01T00:00:00.000000001Z",
            ),
            (
                TimingSpec::ScheduledAt(at("2026-04-01T00:00:00Z")),
                "2026-03-31T23:59:59Z",
                "2026-04-01T00:00:00Z",
            ),
            // Today's midnight began before `as_of`.
            (
                TimingSpec::ScheduledAfterDays(0),
                "2026-03-10T09:00:00Z",
                "2026-03-10T09:00:00Z",
            ),
            (
                TimingSpec::ScheduledAfterDays(1),
                "2026-03-10T09:00:00Z",
                "2026-03-10T15:00:00Z",
            ),
        ];
        for (spec, as_of, want) in cases {
            assert_eq!(
                effective_at(&spec, &plain(as_of)),
                Ok(at(want)),
                "{spec:?} at {as_of}"
            );
        }
    }

    #[test]
    fn a_term_already_ended_takes_effect_at_as_of() {
        let ended = BillingInput {
            commitment_end: Some(at("2001-01-01T00:00:00Z")),
            ..BillingInput::default()
        };
        let r = req("2026-03-10T09:00:00Z", ended);
        assert_eq!(effective_at(&TimingSpec::EndOfTerm, &r), Ok(r.as_of));
    }

    #[test]
    fn a_missing_date_names_the_field_to_send() {
        let missing = |spec: TimingSpec, r: &PlanChange| match effective_at(&spec, r) {
            Err(Unavailable::Missing { field, .. }) => Some(field),
            _ => None,
        };
        let now = "2026-03-10T09:00:00Z";
        let r = plain(now);
        assert_eq!(
            missing(TimingSpec::NextBillingCycle, &r),
            Some(BillingField::CurrentPeriodEnd)
        );
        assert_eq!(
            missing(TimingSpec::EndOfTerm, &r),
            Some(BillingField::CommitmentEnd)
        );
        let ends_now = BillingInput {
            current_period_end: Some(at(now)),
            ..BillingInput::default()
        };
        assert_eq!(
            missing(TimingSpec::NextBillingCycle, &req(now, ends_now)),
            Some(BillingField::AnchorDay)
        );
        let anchored = BillingInput {
            current_period_end: Some(at(now)),
            anchor_day: 1,
            ..BillingInput::default()
        };
        // 1 April 00:00 in Tokyo.
        assert_eq!(
            effective_at(&TimingSpec::NextBillingCycle, &req(now, anchored)),
            Ok(at("2026-03-31T15:00:00Z"))
        );
    }
}
