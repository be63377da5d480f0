//! The facts of a `for_each` item: one limit or quota of a plan, with the
//! request's value for it and the metric's declaration. Declared once, like
//! every other fact.

use std::{cell::OnceCell, collections::BTreeMap};

use super::{Context, Fact, Ty, V};
use crate::bundle::{Metric, Metrics};

/// One item of a `for_each` collection.
pub struct Item<'a> {
    /// Metric name.
    pub metric: &'a str,
    /// The plan's limit or quota.
    pub limit: f64,
    /// Where the request's value is looked up.
    values: Option<&'a BTreeMap<String, f64>>,
    /// Where the metric's declaration is looked up.
    metrics: Option<&'a Metrics>,
    /// The request's value, once looked up.
    current: OnceCell<Option<f64>>,
}

impl<'a> Item<'a> {
    /// The request's value, when reported. Looked up at the first read,
    /// not when the item is made: a condition that stops before reading
    /// it (`change.downgrade && !reported` on an upgrade) costs none.
    pub fn current(&self) -> Option<f64> {
        *self
            .current
            .get_or_init(|| self.values.and_then(|v| v.get(self.metric).copied()))
    }

    /// The metric's declaration, when the catalogue declares it; looked
    /// up when read (only `unit` and `display_name` read it).
    pub fn declared(&self) -> Option<&'a Metric> {
        self.metrics.and_then(|m| m.get(self.metric))
    }
}

/// The context family of item facts.
pub struct ItemCtx;

impl Context for ItemCtx {
    type Of<'a> = Item<'a>;
}

/// The variables a `for_each` rule reads besides its decision's facts.
pub static FACTS: &[Fact<ItemCtx>] = &[
    Fact::new("metric", Ty::Str, "the metric of this item", |i| {
        Some(V::str(i.metric))
    }),
    Fact::new(
        "limit",
        Ty::Double,
        "the plan's limit or quota for the metric",
        |i| Some(V::Float(i.limit)),
    ),
    Fact::new(
        "current",
        Ty::Double,
        "the request's value for the metric; null when not reported",
        |i| Some(i.current().map_or(V::Null, V::Float)),
    ),
    Fact::new(
        "reported",
        Ty::Bool,
        "whether the request reported the metric",
        |i| Some(V::Bool(i.current().is_some())),
    ),
    Fact::new(
        "unit",
        Ty::Str,
        "the metric's declared unit; empty when it has none",
        |i| Some(V::str(i.declared().map_or("", |m| m.unit.as_str()))),
    ),
    Fact::new(
        "display_name",
        Ty::Str,
        "the metric's declared display name (the one name, else `en`, else the first); the metric id when none",
        |i| {
            Some(V::str(
                i.declared().map_or(i.metric, |m| m.display_name("")),
            ))
        },
    ),
];

/// The items of a `for_each` collection: a plan's limits or quotas, each
/// with the request's value. Iterated in place, never collected.
pub struct Items<'a> {
    limits: std::collections::btree_map::Iter<'a, String, f64>,
    values: Option<&'a BTreeMap<String, f64>>,
    metrics: Option<&'a Metrics>,
}

impl<'a> Items<'a> {
    /// `limits`, each paired with its value in `values` and its declaration
    /// in `metrics`.
    pub fn new(
        limits: &'a BTreeMap<String, f64>,
        values: &'a BTreeMap<String, f64>,
        metrics: &'a Metrics,
    ) -> Self {
        Self {
            limits: limits.iter(),
            values: Some(values),
            metrics: Some(metrics),
        }
    }

    /// No items.
    pub fn none() -> Self {
        static EMPTY: BTreeMap<String, f64> = BTreeMap::new();
        Self {
            limits: EMPTY.iter(),
            values: None,
            metrics: None,
        }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        let (metric, limit) = self.limits.next()?;
        Some(Item {
            metric,
            limit: *limit,
            values: self.values,
            metrics: self.metrics,
            current: OnceCell::new(),
        })
    }
}
