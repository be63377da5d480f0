//! The terms between each reseller and the provider (seed 000 §0005): the
//! plans a reseller may move a tenant to, and, per plan, in which
//! directions. Rules read them as the `reseller` facts.

use std::collections::BTreeMap;

use super::{
    Location,
    model::{IdMap, Plan},
    parse::Parsed,
    problems::Problems,
};

/// Which way a plan change goes, by the plans' ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// To a higher rank.
    Upgrade,
    /// To a lower rank.
    Downgrade,
    /// To another plan of the same rank.
    Lateral,
}

impl Direction {
    /// Every direction, in bundle spelling order.
    pub const ALL: [Self; 3] = [Self::Upgrade, Self::Downgrade, Self::Lateral];

    /// The bundle spelling (`upgrade`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upgrade => "upgrade",
            Self::Downgrade => "downgrade",
            Self::Lateral => "lateral",
        }
    }

    /// The direction of a change by rank delta (target minus source).
    pub fn of(rank_delta: i64) -> Self {
        match rank_delta.signum() {
            1 => Self::Upgrade,
            -1 => Self::Downgrade,
            _ => Self::Lateral,
        }
    }
}

/// One reseller's terms.
#[derive(Debug, Clone)]
pub struct Reseller {
    /// The reseller id, as requests send it in `requester.id`.
    pub id: String,
    /// What the reseller is, for people.
    pub description: String,
    /// The plans it may move a tenant to, in bundle order.
    pub plans: Vec<String>,
    /// Per plan, the directions it may move a tenant to that plan in; a
    /// plan not named here: any direction.
    pub directions: BTreeMap<String, Vec<Direction>>,
}

impl Reseller {
    /// Whether it may move a tenant to `plan`.
    pub fn sells(&self, plan: &str) -> bool {
        self.plans.iter().any(|p| p == plan)
    }

    /// The directions it may move a tenant to `plan` in (every direction
    /// when its terms do not restrict them; none when it does not sell it).
    pub fn directions(&self, plan: &str) -> &[Direction] {
        if !self.sells(plan) {
            return &[];
        }
        self.directions.get(plan).map_or(&Direction::ALL, |d| d)
    }
}

/// The `resellers:` sections of every file, each plan checked against the
/// catalogue's `plans`.
pub(super) fn resellers(
    p: &mut Problems,
    parsed: &[Parsed],
    plans: &IdMap<Plan>,
) -> IdMap<Reseller> {
    let mut out = IdMap::default();
    for f in parsed {
        for doc in &f.doc.resellers {
            let at = Location::from(doc);
            let d = &doc.value;
            let before = p.errors.len();
            if d.id.trim().is_empty() {
                p.at(&f.file, at, "reseller id is empty");
            }
            for plan in &d.plans {
                if !plans.contains_key(&plan.value) {
                    p.at(
                        &f.file,
                        plan.into(),
                        format!("reseller `{}`: plans: unknown plan `{}`", d.id, plan.value),
                    );
                }
            }
            let mut directions = BTreeMap::new();
            for (plan, words) in &d.directions {
                let at = Location::from(words);
                if !d.plans.iter().any(|p| p.value == *plan) {
                    p.at(
                        &f.file,
                        at,
                        format!(
                            "reseller `{}`: directions: `{plan}` is not one of its `plans`",
                            d.id
                        ),
                    );
                }
                let mut parsed = Vec::new();
                for word in &words.value {
                    match Direction::ALL.into_iter().find(|w| w.as_str() == word) {
                        Some(w) => parsed.push(w),
                        None => p.at(
                            &f.file,
                            at,
                            format!(
                                "reseller `{}`: directions: `{word}` is not `upgrade`, `downgrade` or `lateral`",
                                d.id
                            ),
                        ),
                    }
                }
                directions.insert(plan.clone(), parsed);
            }
            if p.errors.len() > before {
                continue;
            }
            let reseller = Reseller {
                id: d.id.clone(),
                description: d.description.clone().unwrap_or_default(),
                plans: d.plans.iter().map(|p| p.value.clone()).collect(),
                directions,
            };
            if out.insert(d.id.clone(), reseller).is_some() {
                p.at(&f.file, at, format!("reseller `{}` is defined twice", d.id));
            }
        }
    }
    out
}
