//! The plan-change decision: facts from the request and catalogue, the
//! combining rule, and the effective instant of an allow.

use std::{
    cell::OnceCell,
    collections::{BTreeMap, HashMap},
};

use super::{
    codes,
    combine::{self, Facts, Items},
    native::Lookup,
    timing,
    value::{MapRef, V},
    values::{self, map, metrics, strings, timestamp},
};
use crate::{
    bundle::{CompiledBundle, Effect, Field, ForEach, Plan, PlanField, Scope, Side},
    domain::{PlanChange, PlanChangeDecision, Reason, ReasonCode, Verdict},
};

struct PlanChangeFacts<'a> {
    bundle: &'a CompiledBundle,
    req: &'a PlanChange,
    source: Option<&'a Plan>,
    target: Option<&'a Plan>,
    rank_delta: Option<i64>,
    ctx: OnceCell<cel::Context<'static, 'static>>,
}

/// An unknown plan has no limits or quotas.
static NO_METRICS: BTreeMap<String, f64> = BTreeMap::new();

impl Lookup for PlanChangeFacts<'_> {
    fn field(&self, field: Field) -> Option<V<'_>> {
        let req = self.req;
        let b = &req.billing;
        let delta = self.rank_delta;
        Some(match field {
            Field::TenantId => V::str(&req.tenant_id),
            Field::FromPlan => V::str(&req.from_plan),
            Field::ToPlan => V::str(&req.to_plan),
            Field::RequesterRole => V::str(req.requester.role.as_str()),
            Field::RequesterId => V::str(&req.requester.id),
            Field::Usage => V::Map(MapRef::Metrics(&req.usage)),
            Field::PeriodUsage => V::Map(MapRef::Metrics(&req.period_usage)),
            Field::PeriodStart => V::Ts(b.current_period_start?),
            Field::PeriodEnd => V::Ts(b.current_period_end?),
            Field::CommitmentEnd => V::Ts(b.commitment_end?),
            Field::AnchorDay => V::Int(i64::from(b.anchor_day?.get())),
            Field::TimeZone => V::str(&b.time_zone_name),
            Field::Attributes => V::Map(MapRef::Strings(&req.attributes)),
            Field::AsOf => V::Ts(req.as_of),
            Field::Plan(side, f) => {
                let (id, plan) = match side {
                    Side::Source => (&req.from_plan, self.source),
                    Side::Target => (&req.to_plan, self.target),
                };
                match (f, plan) {
                    (PlanField::Id, _) => V::str(id),
                    (PlanField::Known, p) => V::Bool(p.is_some()),
                    (PlanField::Rank, p) => V::Int(p.map_or(-1, |p| p.rank)),
                    (PlanField::Limits, p) => {
                        V::Map(MapRef::Metrics(p.map_or(&NO_METRICS, |p| &p.limits)))
                    }
                    (PlanField::Quotas, p) => {
                        V::Map(MapRef::Metrics(p.map_or(&NO_METRICS, |p| &p.quotas)))
                    }
                    (PlanField::Attributes, p) => V::Map(MapRef::Json(
                        p.map_or(&self.bundle.catalog.attribute_defaults, |p| &p.attributes),
                    )),
                }
            }
            Field::SamePlan => V::Bool(req.from_plan == req.to_plan),
            Field::Upgrade => V::Bool(delta.is_some_and(|d| d > 0)),
            Field::Downgrade => V::Bool(delta.is_some_and(|d| d < 0)),
            Field::Lateral => V::Bool(req.from_plan != req.to_plan && delta == Some(0)),
            Field::RankDelta => V::Int(delta.unwrap_or(0)),
            Field::InCommitment => V::Bool(b.commitment_end.is_some_and(|end| end > req.as_of)),
            _ => return None,
        })
    }
}

impl Facts for PlanChangeFacts<'_> {
    fn in_scope(&self, scope: &Scope) -> bool {
        (scope.from_plans.is_empty() || scope.from_plans.contains(&self.req.from_plan))
            && (scope.to_plans.is_empty() || scope.to_plans.contains(&self.req.to_plan))
            && (scope.requesters.is_empty() || scope.requesters.contains(&self.req.requester.role))
            && scope.merchants.is_empty()
    }

    fn items(&self, for_each: ForEach) -> Items<'_> {
        let req = self.req;
        let items = match for_each {
            ForEach::SourceLimits => self.source.map(|p| (&p.limits, &req.usage)),
            ForEach::TargetLimits => self.target.map(|p| (&p.limits, &req.usage)),
            ForEach::SourceQuotas => self.source.map(|p| (&p.quotas, &req.period_usage)),
            ForEach::TargetQuotas => self.target.map(|p| (&p.quotas, &req.period_usage)),
        };
        items.map_or_else(Items::none, |(limits, values)| Items::new(limits, values))
    }

    fn context(&self) -> &cel::Context<'static, 'static> {
        self.ctx
            .get_or_init(|| context(self.bundle, self.req, self.source, self.target))
    }
}

/// Decides whether `req` may change plans, and when, under `bundle`.
pub fn decide_plan_change(bundle: &CompiledBundle, req: &PlanChange) -> PlanChangeDecision {
    let source = bundle.catalog.plans.get(&req.from_plan);
    let target = bundle.catalog.plans.get(&req.to_plan);
    let facts = PlanChangeFacts {
        bundle,
        req,
        source,
        target,
        rank_delta: source.zip(target).map(|(s, t)| t.rank - s.rank),
        ctx: OnceCell::new(),
    };
    let combined = combine::combine(
        &bundle.plan_change_rules,
        bundle.plan_change_index.candidates(&req.from_plan),
        &facts,
        req.explain,
    );
    let mut meta = values::meta(bundle, req.as_of, combined.trace);
    let deny = |reasons, meta| PlanChangeDecision {
        verdict: Verdict::Deny,
        timing: None,
        effective_at: None,
        reasons,
        meta,
    };
    if !combined.denies.is_empty() {
        return deny(combined.denies, meta);
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
        return deny(vec![reason], meta);
    };
    let Effect::Allow(spec) = &rule.effect else {
        // `combine` only decides with allow rules; fail closed all the same.
        return deny(
            vec![combine::error_reason(rule, "a deny rule decided")],
            meta,
        );
    };
    match timing::effective_at(spec, req) {
        Ok(at) => PlanChangeDecision {
            verdict: Verdict::Allow,
            timing: Some(spec.timing()),
            effective_at: Some(at),
            reasons,
            meta,
        },
        Err(e) => {
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
                details: BTreeMap::from([("timing".to_owned(), spec.timing().as_str().to_owned())]),
            };
            deny(vec![reason], meta)
        }
    }
}

fn context(
    bundle: &CompiledBundle,
    req: &PlanChange,
    source: Option<&Plan>,
    target: Option<&Plan>,
) -> cel::Context<'static, 'static> {
    let mut ctx = cel::Context::with_env(bundle.env.clone());
    ctx.add_variable_from_value("request", request_value(req));
    ctx.add_variable_from_value("source", plan_value(bundle, &req.from_plan, source));
    ctx.add_variable_from_value("target", plan_value(bundle, &req.to_plan, target));
    let ranks = source.zip(target).map(|(s, t)| t.rank - s.rank);
    let same = req.from_plan == req.to_plan;
    let in_commitment = req
        .billing
        .commitment_end
        .is_some_and(|end| end > req.as_of);
    ctx.add_variable_from_value(
        "change",
        map([
            ("same_plan", cel::Value::Bool(same)),
            ("upgrade", cel::Value::Bool(ranks.is_some_and(|d| d > 0))),
            ("downgrade", cel::Value::Bool(ranks.is_some_and(|d| d < 0))),
            ("lateral", cel::Value::Bool(!same && ranks == Some(0))),
            ("rank_delta", cel::Value::Int(ranks.unwrap_or(0))),
            ("in_commitment", cel::Value::Bool(in_commitment)),
        ]),
    );
    ctx
}

fn plan_value(bundle: &CompiledBundle, id: &str, plan: Option<&Plan>) -> cel::Value {
    match plan {
        Some(p) => p.cel.clone(),
        None => map([
            ("id", cel::Value::from(id.to_owned())),
            ("known", cel::Value::Bool(false)),
            ("rank", cel::Value::Int(-1)),
            ("limits", map::<0>([])),
            ("quotas", map::<0>([])),
            ("attributes", bundle.catalog.unknown_attributes.clone()),
        ]),
    }
}

fn request_value(req: &PlanChange) -> cel::Value {
    let b = &req.billing;
    let mut billing: HashMap<String, cel::Value> = HashMap::from([(
        "time_zone".to_owned(),
        cel::Value::from(b.time_zone_name.clone()),
    )]);
    for (key, ts) in [
        ("current_period_start", b.current_period_start),
        ("current_period_end", b.current_period_end),
        ("commitment_end", b.commitment_end),
    ] {
        if let Some(ts) = ts {
            billing.insert(key.to_owned(), timestamp(ts));
        }
    }
    if let Some(day) = b.anchor_day {
        billing.insert(
            "anchor_day".to_owned(),
            cel::Value::Int(i64::from(day.get())),
        );
    }
    map([
        ("tenant_id", cel::Value::from(req.tenant_id.clone())),
        ("from_plan", cel::Value::from(req.from_plan.clone())),
        ("to_plan", cel::Value::from(req.to_plan.clone())),
        (
            "requester",
            map([
                ("role", cel::Value::from(req.requester.role.as_str())),
                ("id", cel::Value::from(req.requester.id.clone())),
            ]),
        ),
        ("usage", metrics(&req.usage)),
        ("period_usage", metrics(&req.period_usage)),
        ("billing", cel::Value::from(billing)),
        ("attributes", strings(&req.attributes)),
        ("as_of", timestamp(req.as_of)),
    ])
}
