//! The plan-change part of a bundle: the variables its rules read, timings,
//! per-metric iteration, and its test requests.

use std::sync::Arc;

use jiff::{Timestamp, civil::Date};
use serde_saphyr::Spanned;

pub mod facts;

use crate::bundle::{
    Effect, ForEach, Location,
    facts::declared,
    model::{Catalog, PlanChangeWant, Rule, TestRequest, TimingSpec, WantKind},
    problems::Problems,
    rules::{self, Common},
    schema::{PlanChangeDoc, RuleDoc, WantDoc},
    vars::Vars,
};
use crate::domain::{BillingInput, EffectiveTiming, PlanChange, PlanChangeInput, RuleId, Verdict};

/// The variables a plan-change condition or template may read.
pub fn vars(catalog: &Catalog, for_each: bool) -> Vars {
    let attributes: Vec<String> = catalog.attribute_defaults.keys().cloned().collect();
    let vars = Vars::of(declared(facts::TABLE), &attributes);
    if for_each { vars.with_item() } else { vars }
}

pub(crate) fn rule(
    p: &mut Problems,
    env: &cel::Env,
    catalog: &Catalog,
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
    let parts =
        rules::condition_and_reason(p, env, file, id, d, &vars(catalog, for_each.is_some()))?;
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
                    if let Ok(date) = when.parse::<Date>() {
                        Some(TimingSpec::ScheduledOn(date))
                    } else if let Ok(ts) = when.parse::<Timestamp>() {
                        Some(TimingSpec::ScheduledAt(ts))
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

/// Turns a test's request into the domain's unvalidated input.
pub fn input(doc: &PlanChangeDoc) -> PlanChangeInput {
    let requester = doc.requester.as_ref();
    PlanChangeInput {
        tenant_id: doc.tenant_id.clone(),
        from_plan: doc.from_plan.clone(),
        to_plan: doc.to_plan.clone(),
        requester_role: requester.and_then(|r| r.role.clone()).into(),
        requester_id: requester.map(|r| r.id.clone()).unwrap_or_default(),
        usage: doc.usage.clone(),
        period_usage: doc.period_usage.clone(),
        billing: BillingInput {
            current_period_start: doc.billing.current_period_start,
            current_period_end: doc.billing.current_period_end,
            commitment_end: doc.billing.commitment_end,
            anchor_day: doc.billing.anchor_day,
            time_zone: doc.billing.time_zone.clone(),
        },
        attributes: doc.attributes.clone(),
        as_of: doc.as_of,
        explain: doc.explain,
    }
}

pub(crate) fn test(
    p: &mut Problems,
    file: &Arc<str>,
    at: Location,
    name: &str,
    doc: &PlanChangeDoc,
    want: &WantDoc,
) -> Option<(TestRequest, WantKind)> {
    let before = p.errors.len();
    let request = input(doc);
    if let Err(violations) = PlanChange::parse(request.clone(), Timestamp::UNIX_EPOCH) {
        p.at(
            file,
            at,
            format!("test `{name}`: plan_change: {violations}"),
        );
    }
    if want.outcome.is_some() || want.required_actions.is_some() || want.steps.is_some() {
        p.at(
            file,
            at,
            format!("test `{name}`: want: a plan change has a `verdict`, not `outcome`, `required_actions` or `steps`"),
        );
    }
    let verdict = match want
        .verdict
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("ALLOW" | "VERDICT_ALLOW") => Some(Verdict::Allow),
        Some("DENY" | "VERDICT_DENY") => Some(Verdict::Deny),
        Some(other) => {
            p.at(
                file,
                at,
                format!("test `{name}`: want: verdict: `{other}` is not `ALLOW` or `DENY`"),
            );
            None
        }
        None => {
            p.at(
                file,
                at,
                format!("test `{name}`: want: `verdict` is required"),
            );
            None
        }
    };
    let timing = want.timing.as_ref().and_then(|t| {
        let parsed = EffectiveTiming::parse(&t.to_ascii_uppercase());
        if parsed.is_none() {
            p.at(
                file,
                at,
                format!("test `{name}`: want: timing: `{t}` is not an effective timing"),
            );
        }
        parsed
    });
    if verdict == Some(Verdict::Deny) && (want.timing.is_some() || want.effective_at.is_some()) {
        p.at(
            file,
            at,
            format!("test `{name}`: want: a deny has no timing or effective_at"),
        );
    }
    if p.errors.len() > before {
        return None;
    }
    Some((
        TestRequest::PlanChange(request),
        WantKind::PlanChange(PlanChangeWant {
            verdict: verdict?,
            timing,
            effective_at: want.effective_at,
        }),
    ))
}
