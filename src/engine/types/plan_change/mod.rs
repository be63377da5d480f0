//! The plan-change decision: facts from the request and catalogue, the
//! combining rule, and the effective instant of an allow.

mod timing;

use std::collections::BTreeMap;

use jiff::Timestamp;

use timing::Unavailable;
pub use timing::next_anchor_boundary;

use crate::{
    bundle::{
        CompiledBundle, Effect, ForEach, PlanChangeWant, RuleSet, Scope, TestCase, TestRequest,
        TimingSpec, WantKind,
        facts::{Table, item::Items},
        types::plan_change::facts::{self, PlanChangeCtx, PlanChangeFacts},
    },
    domain::{
        PlanChange, PlanChangeDecision, PlanChangeInput, Reason, ReasonCode, Verdict, Violations,
    },
    engine::{
        DecideError, DecisionType, codes, combine,
        coverage::{NoObserver, Observe},
        env::Decision,
        meta,
    },
};

/// May a tenant move from one plan to another, and when?
pub struct PlanChangeType;

impl DecisionType for PlanChangeType {
    type Ctx = PlanChangeFacts;
    type Payload = TimingSpec;
    type Request = PlanChange;
    type Decision = PlanChangeDecision;

    fn rules(bundle: &CompiledBundle) -> &RuleSet<TimingSpec> {
        &bundle.plan_change
    }

    fn table() -> Table<PlanChangeFacts> {
        facts::TABLE
    }

    fn in_scope(ctx: &PlanChangeCtx<'_>, scope: &Scope) -> bool {
        let req = ctx.req;
        (scope.from_plans.is_empty() || scope.from_plans.contains(&req.from_plan))
            && (scope.to_plans.is_empty() || scope.to_plans.contains(&req.to_plan))
            && (scope.requesters.is_empty() || scope.requesters.contains(&req.requester.role))
            && scope.merchants.is_empty()
    }

    fn items<'a>(ctx: &'a PlanChangeCtx<'_>, for_each: ForEach) -> Items<'a> {
        let req = ctx.req;
        let items = match for_each {
            ForEach::SourceLimits => ctx.source.map(|p| (&p.limits, &req.usage)),
            ForEach::TargetLimits => ctx.target.map(|p| (&p.limits, &req.usage)),
            ForEach::SourceQuotas => ctx.source.map(|p| (&p.quotas, &req.period_usage)),
            ForEach::TargetQuotas => ctx.target.map(|p| (&p.quotas, &req.period_usage)),
        };
        items.map_or_else(Items::none, |(limits, values)| {
            Items::new(limits, values, &ctx.catalog.metrics)
        })
    }

    type Input = PlanChangeInput;
    type Want = PlanChangeWant;

    fn test_case(test: &TestCase) -> Option<(&PlanChangeInput, &PlanChangeWant)> {
        match (&test.request, &test.want.kind) {
            (TestRequest::PlanChange(input), WantKind::PlanChange(want)) => Some((input, want)),
            _ => None,
        }
    }

    fn parse(input: PlanChangeInput, now: Timestamp) -> Result<PlanChange, Violations> {
        PlanChange::parse(input, now)
    }

    fn summary(d: &PlanChangeDecision) -> String {
        let t = d
            .timing
            .map_or(String::new(), |t| format!(" {}", t.as_str()));
        format!("{}{t}", d.verdict.as_str())
    }

    fn compare(d: &PlanChangeDecision, want: &PlanChangeWant) -> (String, Option<String>) {
        let summary = Self::summary(d);
        let want = match want {
            PlanChangeWant::Decided(want) => want,
            PlanChangeWant::MissingFact(subject) => {
                let mismatch = format!("want a precondition failure for `{subject}`");
                return (summary, Some(mismatch));
            }
            PlanChangeWant::Invalid(fields) => {
                let mismatch = format!("want an invalid request ({})", fields.join(", "));
                return (summary, Some(mismatch));
            }
        };
        let mismatch = if d.verdict != want.verdict {
            Some(format!("want verdict {}", want.verdict.as_str()))
        } else if want.timing.is_some() && d.timing != want.timing {
            let w = want.timing.map_or("", |t| t.as_str());
            Some(format!("want timing {w}"))
        } else if want.effective_at.is_some() && d.effective_at != want.effective_at {
            let g = d.effective_at.map_or("none".to_owned(), |t| t.to_string());
            let w = want.effective_at.map_or(String::new(), |t| t.to_string());
            Some(format!("want effective_at {w}, got {g}"))
        } else if let Some(w) = want.unknown_metrics.as_ref()
            && *w != d.unknown_metrics
        {
            let g = d.unknown_metrics.join(", ");
            let w = w.join(", ");
            Some(format!("want unknown_metrics [{w}] (undeclared: [{g}])"))
        } else {
            None
        };
        (summary, mismatch)
    }

    fn missing_fact(want: &PlanChangeWant) -> Option<&str> {
        match want {
            PlanChangeWant::MissingFact(subject) => Some(subject.as_str()),
            PlanChangeWant::Decided(_) | PlanChangeWant::Invalid(_) => None,
        }
    }

    fn invalid_fields(want: &PlanChangeWant) -> Option<&[String]> {
        match want {
            PlanChangeWant::Invalid(fields) => Some(fields),
            PlanChangeWant::Decided(_) | PlanChangeWant::MissingFact(_) => None,
        }
    }

    fn explain(req: &mut PlanChange) {
        req.explain = true;
    }

    fn decide_observed<O: Observe>(
        bundle: &CompiledBundle,
        req: &PlanChange,
        obs: &mut O,
    ) -> Result<PlanChangeDecision, DecideError> {
        decide_plan_change_observed(bundle, req, obs)
    }
}

/// Decides whether `req` may change plans, and when, under `bundle`; or,
/// when the deciding allow rule's timing needs a billing date `req` lacks,
/// names it.
pub fn decide_plan_change(
    bundle: &CompiledBundle,
    req: &PlanChange,
) -> Result<PlanChangeDecision, DecideError> {
    decide_plan_change_observed(bundle, req, &mut NoObserver)
}

/// [`decide_plan_change`], with `obs` shown every condition evaluated.
pub fn decide_plan_change_observed<O: Observe>(
    bundle: &CompiledBundle,
    req: &PlanChange,
    obs: &mut O,
) -> Result<PlanChangeDecision, DecideError> {
    let ctx = PlanChangeCtx::new(req, &bundle.catalog);
    if !ctx.metrics.misplaced.is_empty() {
        return Err(DecideError::Invalid(ctx.metrics.misplaced.clone()));
    }
    let unknown_metrics = ctx.metrics.unknown.clone();
    let locale = bundle.locales.pick(&req.languages);
    let facts = Decision::new(facts::TABLE, &ctx, &bundle.env, locale);
    let combined = combine::combine::<PlanChangeType, O>(
        &bundle.plan_change,
        &req.from_plan,
        &facts,
        req.explain,
        obs,
    );
    let mut meta = meta::meta(bundle, req.as_of, combined.trace, locale);
    let deny = |reasons, meta| PlanChangeDecision {
        verdict: Verdict::Deny,
        timing: None,
        effective_at: None,
        reasons,
        meta,
        unknown_metrics: unknown_metrics.clone(),
    };
    if !combined.denies.is_empty() {
        return Ok(deny(combined.denies, meta));
    }
    let Some((rule, reasons)) = combined.decided else {
        let reason = Reason {
            code: ReasonCode::engine(codes::NO_MATCHING_RULE),
            message: format!(
                "no rule allows a change from `{}` to `{}`",
                req.from_plan, req.to_plan
            ),
            rule_id: None,
            details: BTreeMap::new(),
        };
        return Ok(deny(vec![reason], meta));
    };
    let Effect::Allow(spec) = &rule.effect else {
        // `combine` only decides with allow rules; fail closed all the same.
        return Ok(deny(
            vec![combine::error_reason(rule, "a deny rule decided")],
            meta,
        ));
    };
    match timing::effective_at(spec, req) {
        Ok(at) => Ok(PlanChangeDecision {
            verdict: Verdict::Allow,
            timing: Some(spec.timing()),
            effective_at: Some(at),
            reasons,
            meta,
            unknown_metrics,
        }),
        // Not a deny: the policy allows; the caller must send the date.
        Err(Unavailable::Missing { field, needs }) => Err(DecideError::MissingFact {
            subject: field.as_str(),
            rule: rule.id.clone(),
            description: format!("rule `{}` {needs}", rule.id),
        }),
        Err(Unavailable::Failed(e)) => {
            if let Some(t) = meta.trace.iter_mut().find(|t| t.rule_id == rule.id) {
                t.note = e.clone();
            }
            let reason = Reason {
                code: ReasonCode::engine(codes::EFFECTIVE_TIME_UNAVAILABLE),
                message: format!(
                    "rule `{}` allows the change but its effective instant is unknown: {e}",
                    rule.id
                ),
                rule_id: Some(rule.id.clone()),
                details: BTreeMap::from([("timing".into(), spec.timing().as_str().to_owned())]),
            };
            Ok(deny(vec![reason], meta))
        }
    }
}
