//! The plan-change part of a bundle: the variables its rules read, timings,
//! per-metric iteration, and its test requests.

use std::sync::Arc;

use jiff::{Timestamp, civil::Date};
use serde_saphyr::Spanned;

pub mod facts;
mod test_case;

pub use test_case::input;
pub(crate) use test_case::test;

use crate::bundle::{
    Effect, ForEach, Location,
    facts::declared,
    model::{Catalog, Rule, TimingSpec},
    problems::Problems,
    rules::{self, Common},
    schema::RuleDoc,
    vars::Vars,
};
use crate::domain::{EffectiveTiming, RuleId};

/// The variables a plan-change condition or template may read.
pub fn vars(catalog: &Catalog, for_each: bool) -> Vars {
    let attributes: Vec<String> = catalog.attribute_defaults.keys().cloned().collect();
    let vars = Vars::of(declared(facts::TABLE), &attributes);
    if for_each { vars.with_item() } else { vars }
}

pub(crate) fn rule(
    p: &mut Problems,
    env: &rules::Compiler<'_>,
    file: &Arc<str>,
    doc: &Spanned<RuleDoc>,
    common: Common,
) -> Option<Rule<TimingSpec>> {
    let d = &doc.value;
    let id = &common.id;
    let for_each = match &d.for_each {
        None => None,
        Some(f) => match ForEach::parse(&f.value) {
            Some(fe) => Some(fe),
            None => {
                p.at(
                    file,
                    f.into(),
                    format!(
                        "rule `{id}`: for_each: `{}` is not one of `source.limits`, `source.quotas`, `target.limits`, `target.quotas`",
                        f.value
                    ),
                );
                return None;
            }
        },
    };
    const SECTION: &str = "plan_change_rules";
    rules::forbid_top_up(p, file, id, SECTION, d);
    rules::forbid(
        p,
        file,
        id,
        SECTION,
        "merchants",
        d.merchants.first().map(Into::into),
    );
    rules::forbid(
        p,
        file,
        id,
        SECTION,
        "actions",
        d.actions.as_ref().map(Into::into),
    );
    rules::forbid(
        p,
        file,
        id,
        SECTION,
        "funding",
        d.funding.as_ref().map(Into::into),
    );
    let effect = rules::effect(p, file, id, d, "deny", &["allow"], |p, _| {
        timing(p, file, id, d)
    })?;
    if matches!(effect, Effect::Deny)
        && let Some(t) = &d.timing
    {
        p.at(
            file,
            t.into(),
            format!("rule `{id}`: timing: a deny rule has no timing"),
        );
        return None;
    }
    let parts = rules::condition_and_reason(
        p,
        env,
        file,
        id,
        d,
        match for_each {
            Some(_) => &env.vars.plan_change_for_each,
            None => &env.vars.plan_change,
        },
    )?;
    Some(rules::assemble(file, doc, common, parts, for_each, effect))
}

fn timing(p: &mut Problems, file: &str, id: &RuleId, d: &RuleDoc) -> Option<TimingSpec> {
    let Some(t) = &d.timing else {
        p.at(
            file,
            (&d.effect).into(),
            format!("rule `{id}`: an allow rule needs a `timing`"),
        );
        return None;
    };
    let timing = EffectiveTiming::parse(&t.value.to_ascii_uppercase());
    let schedule = d.schedule.as_ref();
    match (timing, schedule) {
        (None, _) => {
            p.at(
                file,
                t.into(),
                format!(
                    "rule `{id}`: timing: `{}` is not one of `immediate`, `next_billing_cycle`, `end_of_term`, `scheduled`",
                    t.value
                ),
            );
            None
        }
        (Some(EffectiveTiming::Scheduled), None) => {
            p.at(
                file,
                t.into(),
                format!(
                    "rule `{id}`: timing `scheduled` needs a `schedule` with `at` or `after_days`"
                ),
            );
            None
        }
        (Some(EffectiveTiming::Scheduled), Some(s)) => {
            let at: Location = s.into();
            match (&s.value.at, s.value.after_days) {
                (Some(when), None) => {
                    // An instant first, and a date only as `YYYY-MM-DD`:
                    // the date parser reads the date of
                    // `2026-04-01T09:00:00+09:00` and drops its time.
                    if let Ok(ts) = when.parse::<Timestamp>() {
                        Some(TimingSpec::ScheduledAt(ts))
                    } else if let Some(date) = when
                        .parse::<Date>()
                        .ok()
                        .filter(|_| when.len() == "2026-04-01".len())
                    {
                        Some(TimingSpec::ScheduledOn(date))
                    } else {
                        p.at(file, at, format!("rule `{id}`: schedule: at: `{when}` is not a date or an RFC 3339 instant"));
                        None
                    }
                }
                (None, Some(days)) => Some(TimingSpec::ScheduledAfterDays(days)),
                _ => {
                    p.at(
                        file,
                        at,
                        format!("rule `{id}`: schedule: give exactly one of `at` and `after_days`"),
                    );
                    None
                }
            }
        }
        (Some(_), Some(s)) => {
            p.at(
                file,
                s.into(),
                format!("rule `{id}`: schedule: only a `scheduled` timing has a schedule"),
            );
            None
        }
        (Some(EffectiveTiming::Immediate), None) => Some(TimingSpec::Immediate),
        (Some(EffectiveTiming::NextBillingCycle), None) => Some(TimingSpec::NextBillingCycle),
        (Some(EffectiveTiming::EndOfTerm), None) => Some(TimingSpec::EndOfTerm),
    }
}
