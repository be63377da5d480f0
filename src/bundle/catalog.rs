//! The plan catalogue: plans with their ranks, limits, quotas and declared
//! attributes (defaults filled in), the declared metrics and the resellers'
//! terms.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::{
    Location,
    metrics::{self, Metrics},
    model::{Catalog, IdMap, Plan},
    parse::Parsed,
    problems::Problems,
    resellers,
    schema::PlanDoc,
};

pub(super) fn catalog(p: &mut Problems, parsed: &[Parsed]) -> Catalog {
    let mut defaults: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for f in parsed {
        for (key, value) in &f.doc.plan_attributes {
            if defaults.insert(key.clone(), value.clone()).is_some() {
                p.at(
                    &f.file,
                    Location::default(),
                    format!("plan attribute `{key}` is declared twice"),
                );
            }
        }
    }
    let metrics = metrics::metrics(p, parsed);
    let mut plans = IdMap::default();
    for f in parsed {
        for doc in &f.doc.plans {
            if let Some(plan) = plan(p, &f.file, doc, &defaults, &metrics) {
                if plans.contains_key(&plan.id) {
                    p.at(
                        &f.file,
                        doc.into(),
                        format!("plan `{}` is defined twice", plan.id),
                    );
                } else {
                    plans.insert(plan.id.clone(), plan);
                }
            }
        }
    }
    let resellers = resellers::resellers(p, parsed, &plans);
    Catalog {
        plans,
        attribute_defaults: defaults,
        metrics,
        resellers,
    }
}

fn plan(
    p: &mut Problems,
    file: &str,
    doc: &Spanned<PlanDoc>,
    defaults: &BTreeMap<String, serde_json::Value>,
    declared: &Metrics,
) -> Option<Plan> {
    let at = Location::from(doc);
    let d = &doc.value;
    let before = p.errors.len();
    if d.id.trim().is_empty() {
        p.at(file, at, "plan id is empty");
    }
    for (kind, metrics) in [("limits", &d.limits), ("quotas", &d.quotas)] {
        for (metric, value) in metrics {
            if !value.is_finite() || *value < 0.0 {
                p.at(
                    file,
                    at,
                    format!(
                        "plan `{}`: {kind}: `{metric}` must be a finite number >= 0",
                        d.id
                    ),
                );
            }
        }
    }
    let mut attributes = defaults.clone();
    for (key, value) in &d.attributes {
        match defaults.get(key) {
            None => p.at(
                file,
                at,
                format!(
                    "plan `{}`: attribute `{key}` is not declared in `plan_attributes`",
                    d.id
                ),
            ),
            Some(default) if std::mem::discriminant(default) != std::mem::discriminant(value) => p
                .at(
                    file,
                    at,
                    format!(
                        "plan `{}`: attribute `{key}` has a different type than its default",
                        d.id
                    ),
                ),
            Some(_) => {
                attributes.insert(key.clone(), value.clone());
            }
        }
    }
    if p.errors.len() > before {
        return None;
    }
    // Reported, but the plan stays: rules and resellers naming it are
    // checked as usual rather than all failing with `unknown plan`.
    metrics::check_plan(p, file, at, d, declared);
    Some(Plan {
        id: d.id.clone(),
        description: d.description.clone().unwrap_or_default(),
        rank: d.rank,
        limits: d.limits.clone(),
        quotas: d.quotas.clone(),
        attributes,
    })
}
