//! Every fact a plan-change rule reads, declared once: the request, the
//! source and target plans from the catalogue, and what the change is
//! (derived once per decision when the context is built), the metrics the
//! request reports that the catalogue does not declare, and the terms of
//! the reseller asking.

use std::collections::BTreeMap;

use crate::{
    bundle::{
        Catalog, Direction, Plan, RequestMetrics, Reseller,
        facts::{Context, Fact, Keys, List, MapRef, Table, Ty, V},
    },
    domain::{PlanChange, RequesterRole},
};

/// What plan-change facts are read from: the request, its plans, and the
/// facts derived from them.
pub struct PlanChangeCtx<'a> {
    /// The request.
    pub req: &'a PlanChange,
    /// The catalogue.
    pub catalog: &'a Catalog,
    /// The source plan, when the catalogue has it.
    pub source: Option<&'a Plan>,
    /// The target plan, when the catalogue has it.
    pub target: Option<&'a Plan>,
    /// Target rank minus source rank, when both plans are known.
    pub rank_delta: Option<i64>,
    /// The request's metrics against the catalogue's declarations.
    pub metrics: RequestMetrics,
    /// The terms of the reseller asking, when a reseller asks and the
    /// bundle knows it.
    pub reseller: Option<&'a Reseller>,
}

impl<'a> PlanChangeCtx<'a> {
    /// The context of `req` under `catalog`, with its derived facts.
    pub fn new(req: &'a PlanChange, catalog: &'a Catalog) -> Self {
        let source = catalog.plans.get(&req.from_plan);
        let target = catalog.plans.get(&req.to_plan);
        Self {
            req,
            catalog,
            source,
            target,
            rank_delta: source.zip(target).map(|(s, t)| t.rank - s.rank),
            metrics: catalog.metrics.check(&req.usage, &req.period_usage),
            reseller: (req.requester.role == RequesterRole::Reseller)
                .then(|| catalog.resellers.get(&req.requester.id))
                .flatten(),
        }
    }

    /// The reseller's id: the requester's, when a reseller asks.
    fn reseller_id(&self) -> &'a str {
        match self.req.requester.role {
            RequesterRole::Reseller => &self.req.requester.id,
            _ => "",
        }
    }

    /// The directions the reseller may move a tenant to the target plan in.
    fn reseller_directions(&self) -> &'a [Direction] {
        self.reseller
            .map_or(&[], |r| r.directions(&self.req.to_plan))
    }

    fn plan(&self, side: Side) -> (&'a str, Option<&'a Plan>) {
        match side {
            Side::Source => (&self.req.from_plan, self.source),
            Side::Target => (&self.req.to_plan, self.target),
        }
    }
}

/// The context family of plan-change facts.
pub struct PlanChangeFacts;

impl Context for PlanChangeFacts {
    type Of<'a> = PlanChangeCtx<'a>;
}

#[derive(Clone, Copy)]
enum Side {
    Source,
    Target,
}

/// An unknown plan has no limits or quotas.
static NO_METRICS: BTreeMap<String, f64> = BTreeMap::new();

fn rank<'a>(c: &'a PlanChangeCtx<'_>, side: Side) -> V<'a> {
    V::Int(c.plan(side).1.map_or(-1, |p| p.rank))
}

fn limits<'a>(c: &'a PlanChangeCtx<'_>, side: Side) -> V<'a> {
    V::Map(MapRef::Metrics(
        c.plan(side).1.map_or(&NO_METRICS, |p| &p.limits),
    ))
}

fn quotas<'a>(c: &'a PlanChangeCtx<'_>, side: Side) -> V<'a> {
    V::Map(MapRef::Metrics(
        c.plan(side).1.map_or(&NO_METRICS, |p| &p.quotas),
    ))
}

fn attributes<'a>(c: &'a PlanChangeCtx<'_>, side: Side) -> V<'a> {
    let defaults = &c.catalog.attribute_defaults;
    V::Map(MapRef::Json(
        c.plan(side).1.map_or(defaults, |p| &p.attributes),
    ))
}

type F = Fact<PlanChangeFacts>;
const PLAN_ATTRIBUTES: Keys = Keys::PlanAttributes;

/// The facts of a plan-change decision.
pub const TABLE: Table<PlanChangeFacts> = Table(&JOINED);

static JOINED: [F; FACTS.len() + RESELLER.len()] = Table::join(&[FACTS, RESELLER]);

fn strings<'a>(items: impl Iterator<Item = &'a str>) -> V<'a> {
    V::List(List::Owned(items.map(V::str).collect()))
}

const FACTS: &[F] = &[
    F::new("request.tenant_id", Ty::Str, "the tenant", |c| {
        Some(V::str(&c.req.tenant_id))
    }),
    F::new("request.from_plan", Ty::Str, "the source plan id", |c| {
        Some(V::str(&c.req.from_plan))
    }),
    F::new("request.to_plan", Ty::Str, "the target plan id", |c| {
        Some(V::str(&c.req.to_plan))
    }),
    F::new(
        "request.requester.role",
        Ty::Str,
        "`TENANT`, `RESELLER`, `PROVIDER` or `OPERATOR`",
        |c| Some(V::str(c.req.requester.role.as_str())),
    ),
    F::new("request.requester.id", Ty::Str, "who asks", |c| {
        Some(V::str(&c.req.requester.id))
    }),
    F::new("request.usage", Ty::Metrics, "stock usage by metric", |c| {
        Some(V::Map(MapRef::Metrics(&c.req.usage)))
    }),
    F::new(
        "request.period_usage",
        Ty::Metrics,
        "this period's usage by metric",
        |c| Some(V::Map(MapRef::Metrics(&c.req.period_usage))),
    ),
    F::new(
        "request.billing.current_period_start",
        Ty::Timestamp,
        "start of the current billing period",
        |c| Some(V::Ts(c.req.billing.current_period_start?)),
    )
    .optional(),
    F::new(
        "request.billing.current_period_end",
        Ty::Timestamp,
        "end of the current billing period",
        |c| Some(V::Ts(c.req.billing.current_period_end?)),
    )
    .optional(),
    F::new(
        "request.billing.commitment_end",
        Ty::Timestamp,
        "end of the contract's commitment term",
        |c| Some(V::Ts(c.req.billing.commitment_end?)),
    )
    .optional(),
    F::new(
        "request.billing.anchor_day",
        Ty::Int,
        "day of the month billing periods start (1-31)",
        |c| Some(V::Int(i64::from(c.req.billing.anchor_day?.get()))),
    )
    .optional(),
    F::new(
        "request.billing.time_zone",
        Ty::Str,
        "the billing time zone (IANA)",
        |c| Some(V::str(&c.req.billing.time_zone_name)),
    ),
    F::new(
        "request.attributes",
        Ty::Strings,
        "free-form attributes",
        |c| Some(V::Map(MapRef::Strings(&c.req.attributes))),
    ),
    F::new(
        "request.unknown_metrics",
        Ty::StrList,
        "reported metrics (`usage`, `period_usage`) the catalogue does not declare, sorted; none when it declares no metrics",
        |c| Some(strings(c.metrics.unknown.iter().map(String::as_str))),
    ),
    F::new(
        "request.as_of",
        Ty::Timestamp,
        "the decision instant",
        |c| Some(V::Ts(c.req.as_of)),
    ),
    F::new("source.id", Ty::Str, "the source plan id", |c| {
        Some(V::str(c.plan(Side::Source).0))
    }),
    F::new(
        "source.known",
        Ty::Bool,
        "whether the catalogue has it",
        |c| Some(V::Bool(c.source.is_some())),
    ),
    F::new("source.rank", Ty::Int, "its rank; -1 when unknown", |c| {
        Some(rank(c, Side::Source))
    }),
    F::new("source.limits", Ty::Metrics, "its stock limits", |c| {
        Some(limits(c, Side::Source))
    }),
    F::new("source.quotas", Ty::Metrics, "its per-period quotas", |c| {
        Some(quotas(c, Side::Source))
    }),
    F::new(
        "source.attributes",
        Ty::Data,
        "its declared attributes",
        |c| Some(attributes(c, Side::Source)),
    )
    .keys(PLAN_ATTRIBUTES),
    F::new("target.id", Ty::Str, "the target plan id", |c| {
        Some(V::str(c.plan(Side::Target).0))
    }),
    F::new(
        "target.known",
        Ty::Bool,
        "whether the catalogue has it",
        |c| Some(V::Bool(c.target.is_some())),
    ),
    F::new("target.rank", Ty::Int, "its rank; -1 when unknown", |c| {
        Some(rank(c, Side::Target))
    }),
    F::new("target.limits", Ty::Metrics, "its stock limits", |c| {
        Some(limits(c, Side::Target))
    }),
    F::new("target.quotas", Ty::Metrics, "its per-period quotas", |c| {
        Some(quotas(c, Side::Target))
    }),
    F::new(
        "target.attributes",
        Ty::Data,
        "its declared attributes",
        |c| Some(attributes(c, Side::Target)),
    )
    .keys(PLAN_ATTRIBUTES),
    F::new(
        "change.same_plan",
        Ty::Bool,
        "source and target are one plan",
        |c| Some(V::Bool(c.req.from_plan == c.req.to_plan)),
    ),
    F::new("change.upgrade", Ty::Bool, "the target ranks higher", |c| {
        Some(V::Bool(c.rank_delta.is_some_and(|d| d > 0)))
    }),
    F::new(
        "change.downgrade",
        Ty::Bool,
        "the target ranks lower",
        |c| Some(V::Bool(c.rank_delta.is_some_and(|d| d < 0))),
    ),
    F::new(
        "change.lateral",
        Ty::Bool,
        "another plan of the same rank",
        |c| {
            Some(V::Bool(
                c.req.from_plan != c.req.to_plan && c.rank_delta == Some(0),
            ))
        },
    ),
    F::new(
        "change.rank_delta",
        Ty::Int,
        "target rank minus source rank; 0 when a plan is unknown",
        |c| Some(V::Int(c.rank_delta.unwrap_or(0))),
    ),
    F::new(
        "change.in_commitment",
        Ty::Bool,
        "the commitment term has not ended at `as_of`",
        |c| {
            let b = &c.req.billing;
            Some(V::Bool(
                b.commitment_end.is_some_and(|end| end > c.req.as_of),
            ))
        },
    ),
];

/// The terms of the reseller asking (seed 000 §0005).
const RESELLER: &[F] = &[
    F::new(
        "reseller.id",
        Ty::Str,
        "`request.requester.id` when a reseller asks, else empty",
        |c| Some(V::str(c.reseller_id())),
    ),
    F::new(
        "reseller.known",
        Ty::Bool,
        "a reseller asks and the bundle's `resellers` has its id",
        |c| Some(V::Bool(c.reseller.is_some())),
    ),
    F::new(
        "reseller.plans",
        Ty::StrList,
        "the plans its terms let it move a tenant to; none when unknown",
        |c| {
            let plans = c.reseller.map_or(&[][..], |r| &r.plans);
            Some(V::List(List::Strings(plans)))
        },
    ),
    F::new(
        "reseller.sells_target",
        Ty::Bool,
        "its terms let it move a tenant to the target plan",
        |c| Some(V::Bool(c.reseller.is_some_and(|r| r.sells(&c.req.to_plan)))),
    ),
    F::new(
        "reseller.directions",
        Ty::StrList,
        "the directions (`upgrade`, `downgrade`, `lateral`) its terms let it move a tenant to the target plan in",
        |c| Some(strings(c.reseller_directions().iter().map(|d| d.as_str()))),
    ),
    F::new(
        "reseller.direction_allowed",
        Ty::Bool,
        "this change's direction is one of `reseller.directions`; false when a plan is unknown",
        |c| {
            let allowed = c
                .rank_delta
                .is_some_and(|d| c.reseller_directions().contains(&Direction::of(d)));
            Some(V::Bool(allowed))
        },
    ),
];
