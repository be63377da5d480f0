//! Plan-change bundle tests: the request as the domain's input, and the
//! decision a test wants, or the billing field it wants the request to lack.

use std::sync::Arc;

use jiff::Timestamp;

use crate::bundle::{
    Location,
    model::{PlanChangeDecisionWant, PlanChangeWant, TestRequest, WantKind},
    problems::Problems,
    schema::{PlanChangeDoc, WantDoc},
};
use crate::domain::{
    BillingField, BillingInput, EffectiveTiming, Languages, PlanChange, PlanChangeInput, Verdict,
};

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
        locale: doc.locale.clone(),
        accept_language: Languages::default(),
    }
}

/// A plan-change test: its request, and the decision it wants or the
/// billing field it wants the request to lack. `as_of` is the instant the
/// test runs at (its own or its file's default).
pub(crate) fn test(
    p: &mut Problems,
    (file, at, name): (&Arc<str>, Location, &str),
    doc: &PlanChangeDoc,
    want: &WantDoc,
    as_of: Option<Timestamp>,
) -> Option<(TestRequest, WantKind)> {
    let before = p.errors.len();
    let request = input(doc);
    // Validated at the instant the test runs at, as `current_period_start`
    // is judged against it; a test without one is reported by the caller.
    let now = as_of.unwrap_or(Timestamp::UNIX_EPOCH);
    if let Err(violations) = PlanChange::parse(request.clone(), now) {
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
    let want = match (&want.precondition, &want.invalid) {
        (Some(_), Some(_)) => {
            p.at(
                file,
                at,
                format!("test `{name}`: want: `precondition` and `invalid` exclude each other"),
            );
            None
        }
        (Some(subject), None) => missing_fact(p, (file, at, name), subject, want),
        (None, Some(fields)) => refused(p, (file, at, name), fields, want),
        (None, None) => decided(p, (file, at, name), want).map(PlanChangeWant::Decided),
    };
    if p.errors.len() > before {
        return None;
    }
    Some((
        TestRequest::PlanChange(request),
        WantKind::PlanChange(want?),
    ))
}

/// A test that wants no decision names nothing about one.
fn no_decision(
    p: &mut Problems,
    (file, at, name): (&Arc<str>, Location, &str),
    what: &str,
    want: &WantDoc,
) {
    let decided = [
        ("verdict", want.verdict.is_some()),
        ("timing", want.timing.is_some()),
        ("effective_at", want.effective_at.is_some()),
        ("reasons", want.reasons.is_some()),
        ("unknown_metrics", want.unknown_metrics.is_some()),
    ];
    for (key, _) in decided.iter().filter(|(_, given)| *given) {
        p.at(
            file,
            at,
            format!("test `{name}`: want: {what} has no decision, so no `{key}`"),
        );
    }
}

/// `want: { invalid: ['usage["api_calls"]'] }`: the fields refused, and
/// nothing about a decision.
fn refused(
    p: &mut Problems,
    (file, at, name): (&Arc<str>, Location, &str),
    fields: &[String],
    want: &WantDoc,
) -> Option<PlanChangeWant> {
    no_decision(p, (file, at, name), "an invalid request", want);
    if fields.is_empty() {
        p.at(
            file,
            at,
            format!("test `{name}`: want: invalid: name the fields refused"),
        );
        return None;
    }
    Some(PlanChangeWant::Invalid(fields.to_vec()))
}

/// `want: { precondition: billing.anchor_day }`: a billing field, and
/// nothing about a decision.
fn missing_fact(
    p: &mut Problems,
    (file, at, name): (&Arc<str>, Location, &str),
    subject: &str,
    want: &WantDoc,
) -> Option<PlanChangeWant> {
    no_decision(p, (file, at, name), "a precondition failure", want);
    if BillingField::parse(subject).is_none() {
        let fields: Vec<String> = BillingField::ALL
            .iter()
            .map(|f| format!("`{}`", f.as_str()))
            .collect();
        p.at(
            file,
            at,
            format!(
                "test `{name}`: want: precondition: `{subject}` is not one of {}",
                fields.join(", ")
            ),
        );
        return None;
    }
    Some(PlanChangeWant::MissingFact(subject.to_owned()))
}

/// The decision a test wants: a verdict, and for an allow maybe a timing
/// and an instant.
fn decided(
    p: &mut Problems,
    (file, at, name): (&Arc<str>, Location, &str),
    want: &WantDoc,
) -> Option<PlanChangeDecisionWant> {
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
                format!("test `{name}`: want: `verdict` or `precondition` is required"),
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
    Some(PlanChangeDecisionWant {
        verdict: verdict?,
        timing,
        effective_at: want.effective_at,
        unknown_metrics: want.unknown_metrics.clone(),
    })
}
