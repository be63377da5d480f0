//! Effective instants: calendar arithmetic in the billing time zone.

use jiff::{Timestamp, ToSpan, Zoned, civil::Date, tz::TimeZone};

use crate::{
    bundle::TimingSpec,
    domain::{AnchorDay, PlanChange},
};

/// The concrete instant a change allowed with `spec` takes effect, or why
/// it cannot be computed from the request.
pub fn effective_at(spec: &TimingSpec, req: &PlanChange) -> Result<Timestamp, String> {
    let billing = &req.billing;
    let tz = &billing.time_zone;
    match spec {
        TimingSpec::Immediate => Ok(req.as_of),
        TimingSpec::NextBillingCycle => match (billing.current_period_end, billing.anchor_day) {
            (Some(end), _) if end > req.as_of => Ok(end),
            (_, Some(anchor)) => next_anchor_boundary(req.as_of, anchor, tz),
            (Some(_), None) => {
                Err("`billing.current_period_end` is not after `as_of` and no `billing.anchor_day` is given".to_owned())
            }
            (None, None) => {
                Err("next billing cycle needs `billing.current_period_end` or `billing.anchor_day`".to_owned())
            }
        },
        // A term that has already ended lets the change happen now.
        TimingSpec::EndOfTerm => match billing.commitment_end {
            Some(end) => Ok(end.max(req.as_of)),
            None => Err("end of term needs `billing.commitment_end`".to_owned()),
        },
        TimingSpec::ScheduledAt(ts) => Ok(*ts),
        TimingSpec::ScheduledOn(date) => midnight(*date, tz),
        TimingSpec::ScheduledAfterDays(days) => {
            let local = req.as_of.to_zoned(tz.clone()).date();
            let date = local
                .checked_add(i64::from(*days).days())
                .map_err(|e| format!("{days} days after `as_of`: {e}"))?;
            midnight(date, tz)
        }
    }
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
