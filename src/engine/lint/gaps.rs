//! Plan-change gaps, by evaluation over a generated corpus of boundary
//! requests (not a proof): for every ordered pair of catalogue plans and
//! every requester role, requests with usage unreported, at zero, at, and
//! just above the target plan's limits and quotas (all metrics together,
//! and each alone); for resellers each reseller with terms and an unknown
//! one; a billing calendar with and without a commitment term running;
//! and each request attribute value a rule compares with. What the corpus
//! reaches is recorded per pair and role: allows (with their timing),
//! denies (with their codes), or only `NO_MATCHING_RULE`.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{Timestamp, ToSpan as _};

use crate::{
    bundle::{CompiledBundle, Lit, Node, facts::FactRef},
    domain::{EnumInput, PlanChangeInput, RequesterRole, Verdict},
    engine::{DecisionType as _, PlanChangeType, codes},
};

/// What the corpus reached for one pair and role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairOutcome {
    /// Timings of the allows reached (`IMMEDIATE`, ...).
    pub allows: BTreeSet<String>,
    /// Reason codes of the denies reached, `NO_MATCHING_RULE` apart.
    pub denies: BTreeSet<String>,
    /// Whether some request reached only `NO_MATCHING_RULE`.
    pub no_match: bool,
}

impl PairOutcome {
    /// Some request fell through every rule to `NO_MATCHING_RULE`: the
    /// rules do not answer it.
    pub fn gap(&self) -> bool {
        self.no_match
    }
}

/// One pair of plans and one role.
#[derive(Debug, Clone)]
pub struct Gap {
    /// Source plan.
    pub from: String,
    /// Target plan.
    pub to: String,
    /// The requester role.
    pub role: &'static str,
    /// The file of the first plan-change rule, where a gap is reported.
    pub file: String,
    /// What the corpus reached.
    pub outcome: PairOutcome,
}

const ROLES: [RequesterRole; 4] = [
    RequesterRole::Tenant,
    RequesterRole::Reseller,
    RequesterRole::Provider,
    RequesterRole::Operator,
];

/// Every pair and role with what the corpus reached, and the corpus size.
pub(super) fn plan_change(bundle: &CompiledBundle) -> (Vec<Gap>, usize) {
    let mut plans: Vec<&str> = bundle.catalog.plans.keys().map(String::as_str).collect();
    plans.sort_unstable();
    let file = bundle
        .plan_change
        .rules
        .first()
        .map_or_else(String::new, |r| r.file.to_string());
    let attributes = compared_attributes(bundle);
    // 2026-03-10T09:00:00Z, as the demo's tests; any instant would do.
    let as_of = Timestamp::from_second(1_773_133_200).unwrap_or(Timestamp::UNIX_EPOCH);
    let mut out = Vec::new();
    let mut corpus = 0;
    for from in &plans {
        for to in plans.iter().filter(|t| *t != from) {
            for role in ROLES {
                let mut outcome = PairOutcome::default();
                for input in requests(bundle, from, to, role, &attributes, as_of) {
                    corpus += 1;
                    record(bundle, input, &mut outcome);
                }
                out.push(Gap {
                    from: (*from).to_owned(),
                    to: (*to).to_owned(),
                    role: role.as_str(),
                    file: file.clone(),
                    outcome,
                });
            }
        }
    }
    (out, corpus)
}

fn record(bundle: &CompiledBundle, input: PlanChangeInput, outcome: &mut PairOutcome) {
    let Ok(req) = PlanChangeType::parse(input, Timestamp::UNIX_EPOCH) else {
        return;
    };
    let Ok(d) = PlanChangeType::decide(bundle, &req) else {
        // A missing billing date: the corpus always sends one, so only a
        // rule needing more than that lands here.
        return;
    };
    match d.verdict {
        Verdict::Allow => {
            outcome
                .allows
                .insert(d.timing.map_or("ALLOW", |t| t.as_str()).to_owned());
        }
        Verdict::Deny => {
            for r in &d.reasons {
                if r.code.as_str() == codes::NO_MATCHING_RULE {
                    outcome.no_match = true;
                } else {
                    outcome.denies.insert(r.code.as_str().to_owned());
                }
            }
        }
    }
}

/// The boundary requests of one pair and role.
fn requests(
    bundle: &CompiledBundle,
    from: &str,
    to: &str,
    role: RequesterRole,
    attributes: &[(String, String)],
    as_of: Timestamp,
) -> Vec<PlanChangeInput> {
    let target = bundle.catalog.plans.get(to);
    let limits: Vec<(&String, &f64)> = target
        .map(|p| p.limits.iter().collect())
        .unwrap_or_default();
    let quotas: Vec<(&String, &f64)> = target
        .map(|p| p.quotas.iter().collect())
        .unwrap_or_default();
    // (usage, period_usage) variants.
    let mut usages: Vec<(BTreeMap<String, f64>, BTreeMap<String, f64>)> = vec![Default::default()];
    for f in [|_: f64| 0.0, |l: f64| l, |l: f64| l + 1.0] {
        usages.push((
            limits.iter().map(|(m, l)| ((*m).clone(), f(**l))).collect(),
            quotas.iter().map(|(m, l)| ((*m).clone(), f(**l))).collect(),
        ));
    }
    for (m, l) in &limits {
        let (mut usage, period) = usages.get(1).cloned().unwrap_or_default();
        usage.insert((*m).clone(), **l + 1.0);
        usages.push((usage, period));
    }
    for (m, l) in &quotas {
        let (usage, mut period) = usages.get(1).cloned().unwrap_or_default();
        period.insert((*m).clone(), **l + 1.0);
        usages.push((usage, period));
    }
    let ids: Vec<String> = if role == RequesterRole::Reseller {
        let mut ids: Vec<String> = bundle.catalog.resellers.keys().cloned().collect();
        ids.sort();
        ids.push("lint-unknown-reseller".to_owned());
        ids
    } else {
        vec!["lint".to_owned()]
    };
    let mut attribute_sets: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
    attribute_sets.extend(
        attributes
            .iter()
            .map(|(k, v)| BTreeMap::from([(k.clone(), v.clone())])),
    );
    let mut out = Vec::new();
    for id in &ids {
        for (usage, period_usage) in &usages {
            for commitment in [None, as_of.checked_add(2_000.hours()).ok()] {
                for attrs in &attribute_sets {
                    let mut input = PlanChangeInput {
                        tenant_id: "lint".to_owned(),
                        from_plan: from.to_owned(),
                        to_plan: to.to_owned(),
                        requester_role: EnumInput::Typed(role),
                        requester_id: id.clone(),
                        usage: usage.clone(),
                        period_usage: period_usage.clone(),
                        attributes: attrs.clone(),
                        as_of: Some(as_of),
                        ..PlanChangeInput::default()
                    };
                    input.billing.current_period_end = as_of.checked_add(200.hours()).ok();
                    input.billing.commitment_end = commitment;
                    out.push(input);
                }
            }
        }
    }
    out
}

/// `(key, value)` of every `request.attributes.KEY == 'VALUE'` a
/// plan-change rule compares.
fn compared_attributes(bundle: &CompiledBundle) -> Vec<(String, String)> {
    let table = PlanChangeType::table();
    let mut out = BTreeSet::new();
    for rule in &bundle.plan_change.rules {
        if let Some(node) = rule.condition.as_ref().and_then(|c| c.native.as_ref()) {
            collect(node, &|f| table.path(f) == "request.attributes", &mut out);
        }
    }
    out.into_iter().collect()
}

fn collect(
    node: &Node,
    is_attributes: &dyn Fn(FactRef) -> bool,
    out: &mut BTreeSet<(String, String)>,
) {
    match node {
        Node::Cmp(_, a, b) => {
            for (x, y) in [(a, b), (b, a)] {
                if let (Node::Key(map, k), Node::Lit(Lit::Str(v))) = (&**x, &**y)
                    && matches!(&**map, Node::Field(f) if is_attributes(*f))
                {
                    out.insert((k.to_string(), v.to_string()));
                }
            }
        }
        Node::And(a, b) | Node::Or(a, b) => {
            collect(a, is_attributes, out);
            collect(b, is_attributes, out);
        }
        Node::Cond(c, a, b) => {
            collect(c, is_attributes, out);
            collect(a, is_attributes, out);
            collect(b, is_attributes, out);
        }
        Node::Not(x) => collect(x, is_attributes, out),
        _ => {}
    }
}
