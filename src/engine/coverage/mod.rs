//! What a bundle's own tests exercise (`tollgate test --coverage`): per
//! rule, how many tests matched it and how many evaluated it without a
//! match (and, for `for_each` rules, over how many items); per reason code,
//! whether any test produced it; per condition, every operand of `&&`,
//! `||` and `?:` seen true and false.
//!
//! The combining rule reports each condition it evaluates to an
//! [`Observe`]r. Serving passes [`NoObserver`], whose empty method is
//! inlined away in the monomorphised code, so the serving path does no
//! coverage work; the [`Recorder`] used here re-walks each native
//! condition tree beside the real evaluation (conditions the CEL
//! interpreter runs count for rules, not branches).

mod branches;

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

pub use branches::{Operand, Point};

use super::{
    ChargeFundingType, DecisionType, EvalError, PaymentLinkType, PlanChangeType, TEST_CLOCK,
};
use crate::{
    bundle::{CompiledBundle, Expr, Rule, TestCase, facts::Lookup},
    domain::{Answer as _, RuleId},
};

/// Sees every condition the combining rule evaluates.
pub trait Observe {
    /// `rule`'s `condition` (`None`: it has none) was evaluated on `facts`
    /// (once per request, or once per `for_each` item) and `held`.
    fn condition(
        &mut self,
        rule: &RuleId,
        condition: Option<&Expr>,
        facts: &dyn Lookup,
        held: &Result<bool, EvalError>,
    );
}

/// The observer of the serving path: sees nothing, costs nothing.
pub struct NoObserver;

impl Observe for NoObserver {
    #[inline(always)]
    fn condition(
        &mut self,
        _: &RuleId,
        _: Option<&Expr>,
        _: &dyn Lookup,
        _: &Result<bool, EvalError>,
    ) {
    }
}

/// How one rule fared in one test.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    evaluations: usize,
    matches: usize,
    errors: usize,
}

/// Records what the tests exercise.
#[derive(Default)]
struct Recorder {
    /// The current test's rules.
    test: HashMap<RuleId, Tally>,
    /// Operand outcomes over every test.
    seen: branches::Seen,
}

impl Observe for Recorder {
    fn condition(
        &mut self,
        rule: &RuleId,
        condition: Option<&Expr>,
        facts: &dyn Lookup,
        held: &Result<bool, EvalError>,
    ) {
        let tally = self.test.entry(rule.clone()).or_default();
        tally.evaluations += 1;
        match held {
            Ok(true) => tally.matches += 1,
            Ok(false) => {}
            Err(_) => tally.errors += 1,
        }
        if let Some(node) = condition.and_then(|c| c.native.as_ref()) {
            branches::walk(node, facts, &mut self.seen);
        }
    }
}

/// The coverage of a bundle by its tests.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// The tests run.
    pub tests: usize,
    /// Every rule, in bundle order (plan change, payment link, charge funding).
    pub rules: Vec<RuleCoverage>,
    /// Every reason code a rule can give, in first-use order.
    pub codes: Vec<CodeCoverage>,
}

/// One rule's coverage.
#[derive(Debug, Clone)]
pub struct RuleCoverage {
    /// The rule.
    pub id: RuleId,
    /// Its effect as written.
    pub effect: String,
    /// The file it is written in.
    pub file: Arc<str>,
    /// The line of its `id`.
    pub line: u64,
    /// The line of its `when`, if it has one.
    pub condition_line: Option<u64>,
    /// Whether it is a `for_each` rule.
    pub for_each: bool,
    /// Tests in which it matched (for `for_each`: on at least one item).
    pub tests_matched: usize,
    /// Tests that evaluated it without a match or an error.
    pub tests_not_matched: usize,
    /// Tests in which its condition failed (fail closed).
    pub tests_failed: usize,
    /// Condition evaluations over every test (items, for `for_each`).
    pub evaluations: usize,
    /// Of those, the ones that held.
    pub evaluations_matched: usize,
    /// Its decision points; `None` when the CEL interpreter runs its
    /// condition (no branch data), empty when it has no `&&`, `||`, `?:`.
    pub branches: Option<Vec<Point>>,
}

impl RuleCoverage {
    /// Whether a test matched it.
    pub fn covered(&self) -> bool {
        self.tests_matched > 0
    }
}

/// One reason code: which rules give it, how many tests produced it.
#[derive(Debug, Clone)]
pub struct CodeCoverage {
    /// The code.
    pub code: String,
    /// The rules that give it.
    pub rules: Vec<RuleId>,
    /// Tests whose decision carried it.
    pub tests: usize,
}

impl Coverage {
    /// Rules matched by some test, and all rules.
    pub fn rules_covered(&self) -> (usize, usize) {
        let covered = self.rules.iter().filter(|r| r.covered()).count();
        (covered, self.rules.len())
    }

    /// Branch outcomes seen (each operand true, each operand false), and
    /// all of them, over the natively evaluated conditions.
    pub fn branches_covered(&self) -> (usize, usize) {
        let outcomes = self
            .rules
            .iter()
            .flat_map(|r| r.branches.iter().flatten())
            .flat_map(|p| &p.operands)
            .map(|o| usize::from(o.when_true > 0) + usize::from(o.when_false > 0));
        let total = self
            .rules
            .iter()
            .flat_map(|r| r.branches.iter().flatten())
            .map(|p| 2 * p.operands.len())
            .sum();
        (outcomes.sum(), total)
    }

    /// Rules whose condition the interpreter runs (no branch data).
    pub fn interpreted(&self) -> usize {
        self.rules.iter().filter(|r| r.branches.is_none()).count()
    }
}

/// `covered` of `total` as a percentage; 100 when there is nothing to cover.
pub fn percent((covered, total): (usize, usize)) -> f64 {
    if total == 0 {
        return 100.0;
    }
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let p = covered as f64 * 100.0 / total as f64;
    p
}

/// Runs the tests of `bundle` that `select` accepts and measures what they
/// exercise. Whether each test passes is [`run_selected`](super::run_selected)'s
/// business; this only watches.
pub fn coverage(bundle: &CompiledBundle, select: impl Fn(&str) -> bool) -> Coverage {
    let mut rec = Recorder::default();
    let mut tallies: HashMap<RuleId, [usize; 5]> = HashMap::new();
    let mut produced: HashMap<String, usize> = HashMap::new();
    let mut tests = 0;
    for test in bundle.tests.iter().filter(|t| select(&t.name)) {
        tests += 1;
        let _ = observe::<PlanChangeType>(bundle, test, &mut rec, &mut produced)
            .or_else(|| observe::<PaymentLinkType>(bundle, test, &mut rec, &mut produced))
            .or_else(|| observe::<ChargeFundingType>(bundle, test, &mut rec, &mut produced));
        for (id, t) in rec.test.drain() {
            let [matched, not_matched, failed, evaluations, held] = tallies.entry(id).or_default();
            if t.errors > 0 {
                *failed += 1;
            } else if t.matches > 0 {
                *matched += 1;
            } else {
                *not_matched += 1;
            }
            *evaluations += t.evaluations;
            *held += t.matches;
        }
    }
    let mut rules = Vec::new();
    describe::<PlanChangeType>(bundle, &tallies, &rec.seen, &mut rules);
    describe::<PaymentLinkType>(bundle, &tallies, &rec.seen, &mut rules);
    describe::<ChargeFundingType>(bundle, &tallies, &rec.seen, &mut rules);
    let mut codes: Vec<CodeCoverage> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (code, rule) in [
        codes_of::<PlanChangeType>(bundle),
        codes_of::<PaymentLinkType>(bundle),
        codes_of::<ChargeFundingType>(bundle),
    ]
    .into_iter()
    .flatten()
    {
        let at = *index.entry(code.clone()).or_insert_with(|| {
            codes.push(CodeCoverage {
                tests: produced.get(&code).copied().unwrap_or_default(),
                code,
                rules: Vec::new(),
            });
            codes.len() - 1
        });
        if let Some(c) = codes.get_mut(at) {
            c.rules.push(rule);
        }
    }
    Coverage {
        tests,
        rules,
        codes,
    }
}

/// Decides `test` with `rec` watching if it is one of `T`'s, counting the
/// reason codes of its decision; `None` if it is not.
fn observe<T: DecisionType>(
    bundle: &CompiledBundle,
    test: &TestCase,
    rec: &mut Recorder,
    produced: &mut HashMap<String, usize>,
) -> Option<()> {
    let (input, _) = T::test_case(test)?;
    let Ok(req) = T::parse(input.clone(), TEST_CLOCK) else {
        return Some(());
    };
    if let Ok(decision) = T::decide_observed(bundle, &req, rec) {
        let mut codes: Vec<&str> = decision.reasons().iter().map(|r| r.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            *produced.entry(code.to_owned()).or_default() += 1;
        }
    }
    Some(())
}

fn describe<T: DecisionType>(
    bundle: &CompiledBundle,
    tallies: &HashMap<RuleId, [usize; 5]>,
    seen: &branches::Seen,
    out: &mut Vec<RuleCoverage>,
) {
    let table = T::table();
    let name = |f| table.path(f);
    out.extend(
        T::rules(bundle)
            .rules
            .iter()
            .map(|rule: &Rule<T::Payload>| {
                let [matched, not_matched, failed, evaluations, held] =
                    tallies.get(&rule.id).copied().unwrap_or_default();
                let branches = match &rule.condition {
                    None => Some(Vec::new()),
                    Some(c) => c
                        .native
                        .as_ref()
                        .map(|node| branches::points(node, seen, &name)),
                };
                RuleCoverage {
                    id: rule.id.clone(),
                    effect: rule.effect_label.clone(),
                    file: rule.file.clone(),
                    line: rule.at.line,
                    condition_line: rule.condition_at.as_ref().map(|at| at.line),
                    for_each: rule.for_each.is_some(),
                    tests_matched: matched,
                    tests_not_matched: not_matched,
                    tests_failed: failed,
                    evaluations,
                    evaluations_matched: held,
                    branches,
                }
            }),
    );
}

fn codes_of<T: DecisionType>(bundle: &CompiledBundle) -> Vec<(String, RuleId)> {
    T::rules(bundle)
        .rules
        .iter()
        .map(|r| (r.reason.code.as_str().to_owned(), r.id.clone()))
        .collect()
}
