//! What a bundle change does: two bundles decide the same requests, and
//! every decision whose outcome or reason codes differ is kept, grouped by
//! (decision type, old → new). `tollgate diff` feeds it the union of both
//! bundles' tests and a corpus generated from their declarations
//! ([`corpus`]); `tollgate replay` feeds it the decision log's inputs.

pub mod changes;
pub mod corpus;

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{ChargeFundingType, DecideError, DecisionType, PaymentLinkType, PlanChangeType};
use crate::{
    bundle::{CompiledBundle, TestRequest},
    domain::{Answer as _, DecisionKind},
};

/// How one bundle answered one request, as far as a diff compares it: the
/// decision's summary (`ALLOW IMMEDIATE`) and its reason codes in order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Outcome {
    /// The outcome and what it decides (`ALLOW IMMEDIATE`, `LINK []`), or
    /// why there is no decision (`NO DECISION: ...`).
    pub summary: String,
    /// The reason codes, in order.
    pub reasons: Vec<String>,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} [{}]", self.summary, self.reasons.join(", "))
    }
}

/// `req` decided by `bundle`, as an [`Outcome`]. A request lacking a fact
/// the deciding rule needs, or refused by the bundle's declarations, is an
/// outcome too: a bundle change can cause either.
pub fn outcome<T: DecisionType>(bundle: &CompiledBundle, req: &T::Request) -> Outcome {
    outcome_as::<T>(bundle, req, T::summary)
}

/// [`outcome`] with the decision summed up by `summary` (the bare outcome,
/// `ALLOW`, when comparing with a decision log that keeps only that).
pub fn outcome_as<T: DecisionType>(
    bundle: &CompiledBundle,
    req: &T::Request,
    summary: impl Fn(&T::Decision) -> String,
) -> Outcome {
    match T::decide(bundle, req) {
        Ok(decision) => Outcome {
            summary: summary(&decision),
            reasons: decision
                .reasons()
                .iter()
                .map(|r| r.code.as_str().to_owned())
                .collect(),
        },
        Err(DecideError::Invalid(v)) => Outcome {
            summary: format!("INVALID: {v}"),
            reasons: Vec::new(),
        },
        Err(e) => Outcome {
            summary: format!("NO DECISION: {e}"),
            reasons: Vec::new(),
        },
    }
}

/// One group of changed decisions: the same decision type, the same old
/// outcome and the same new one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    /// The decision type's label (`plan_change`).
    pub decision: &'static str,
    /// What the old bundle answered.
    pub old: Outcome,
    /// What the new bundle answers.
    pub new: Outcome,
}

/// The changed decisions of one group: how many, and the first of them.
#[derive(Debug, Default)]
pub struct Group {
    /// How many decisions changed this way.
    pub count: usize,
    /// The first [`Flips::keep`] of them, as described by the caller.
    pub requests: Vec<String>,
}

/// Every changed decision, grouped, and how many were compared. Memory is
/// bounded by the number of groups (outcome and reason-code pairs, which
/// the bundles bound) times [`Flips::keep`], whatever the number of
/// requests.
#[derive(Debug)]
pub struct Flips {
    /// The changed requests, by group.
    pub groups: BTreeMap<GroupKey, Group>,
    /// How many requests both bundles decided.
    pub compared: usize,
    /// How many requests each group keeps (the count is always whole).
    pub keep: usize,
}

impl Default for Flips {
    fn default() -> Self {
        Self::keeping(usize::MAX)
    }
}

impl Flips {
    /// No flips yet; each group keeps its first `keep` requests.
    pub fn keeping(keep: usize) -> Self {
        Self {
            groups: BTreeMap::new(),
            compared: 0,
            keep,
        }
    }

    /// Records one request both sides decided; kept when they differ.
    /// `request` is only described for a flip a group still keeps.
    pub fn record(
        &mut self,
        kind: DecisionKind,
        request: impl FnOnce() -> String,
        old: Outcome,
        new: Outcome,
    ) {
        self.compared += 1;
        if old != new {
            let key = GroupKey {
                decision: kind.label(),
                old,
                new,
            };
            let group = self.groups.entry(key).or_default();
            group.count += 1;
            if group.requests.len() < self.keep {
                group.requests.push(request());
            }
        }
    }

    /// How many decisions changed.
    pub fn changed(&self) -> usize {
        self.groups.values().map(|g| g.count).sum()
    }

    /// Groups by size, largest first (then by key).
    pub fn by_size(&self) -> Vec<(&GroupKey, &Group)> {
        let mut groups: Vec<_> = self.groups.iter().collect();
        groups.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        groups
    }
}

/// Decides `input` with both bundles and records it in `flips`, described
/// as `request`. An input that does not validate is the same under both
/// bundles (validation does not read the bundle) and is counted as same.
pub fn compare_request(
    old: &CompiledBundle,
    new: &CompiledBundle,
    input: &TestRequest,
    request: String,
    now: Timestamp,
    flips: &mut Flips,
) {
    fn both<T: DecisionType>(
        old: &CompiledBundle,
        new: &CompiledBundle,
        input: &T::Input,
        request: String,
        now: Timestamp,
        flips: &mut Flips,
    ) {
        let kind = <T::Decision as crate::domain::Answer>::KIND;
        match T::parse(input.clone(), now) {
            Ok(req) => flips.record(
                kind,
                || request,
                outcome::<T>(old, &req),
                outcome::<T>(new, &req),
            ),
            Err(_) => flips.compared += 1,
        }
    }
    match input {
        TestRequest::PlanChange(i) => both::<PlanChangeType>(old, new, i, request, now, flips),
        TestRequest::PaymentLink(i) => both::<PaymentLinkType>(old, new, i, request, now, flips),
        TestRequest::ChargeFunding(i) => {
            both::<ChargeFundingType>(old, new, i, request, now, flips);
        }
    }
}

/// What [`decisions`] compared.
#[derive(Debug, Default)]
pub struct Compared {
    /// Bundle tests of either bundle (a test both bundles hold under the
    /// same name counts once).
    pub tests: usize,
    /// Generated requests.
    pub generated: usize,
    /// The changed decisions.
    pub flips: Flips,
}

/// Both bundles decide the union of their tests and the corpus generated
/// from both bundles' declarations; `now` is the generated requests'
/// evaluation instant (tests carry their own).
pub fn decisions(old: &CompiledBundle, new: &CompiledBundle, now: Timestamp) -> Compared {
    let mut compared = Compared::default();
    let mut seen = std::collections::HashSet::new();
    for test in old.tests.iter().chain(&new.tests) {
        if !seen.insert(test.name.as_str()) {
            continue;
        }
        compared.tests += 1;
        let request = format!("test `{}` ({}:{})", test.name, test.file, test.at.line);
        compare_request(
            old,
            new,
            &test.request,
            request,
            super::TEST_CLOCK,
            &mut compared.flips,
        );
    }
    for (request, described) in corpus::generate(&[old, new], now) {
        compared.generated += 1;
        compare_request(old, new, &request, described, now, &mut compared.flips);
    }
    compared
}
