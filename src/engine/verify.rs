//! Running a bundle's own tests: before every swap, and by `tollgate test`.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::{ChargeFundingType, DecideError, DecisionType, PaymentLinkType, PlanChangeType, codes};
use crate::{
    bundle::{BundleError, BundleErrors, BundleFiles, CompiledBundle, Phase, TestCase},
    domain::{Answer as _, FundingStep, RuleTrace},
};

/// The `now` a bundle test's request is validated with. Never its
/// evaluation instant: every compiled test has an `as_of`, its own or its
/// file's `test_defaults`, so a test gives the same answer on every reload.
pub const TEST_CLOCK: Timestamp = Timestamp::UNIX_EPOCH;

/// How one bundle test fared.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The test's name.
    pub name: String,
    /// Where it is written, `file:line`.
    pub location: String,
    /// Why it failed; `None` when it passed.
    pub failure: Option<String>,
    /// How long deciding its request and comparing took.
    pub duration: Duration,
    /// When it failed: how every rule fared on its request, in evaluation
    /// order (the request's explain trace). Empty when it passed, or when
    /// its request was invalid or no rule decided it.
    pub trace: Vec<TraceStep>,
}

/// One rule in a failed test's explain trace, with where the rule is
/// written and the condition it tested.
#[derive(Debug, Clone)]
pub struct TraceStep {
    /// How the rule fared.
    pub rule: RuleTrace,
    /// Where the rule is written, `file:line`.
    pub location: String,
    /// Its condition as written; `None` when it has none (always holds).
    pub condition: Option<String>,
}

impl TraceStep {
    /// What happened to the rule, in a few words: `matched`, `condition
    /// false`, or the engine's note (skipped, or the evaluation error).
    pub fn verdict(&self) -> String {
        match (self.rule.matched, self.rule.note.is_empty()) {
            (true, _) => "matched".to_owned(),
            (false, true) => "condition false".to_owned(),
            (false, false) => self.rule.note.clone(),
        }
    }
}

/// The outcome of every test of a bundle.
#[derive(Debug, Clone, Default)]
pub struct TestReport {
    /// One outcome per test, in bundle order.
    pub outcomes: Vec<TestOutcome>,
}

impl TestReport {
    /// Number of failed tests.
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.failure.is_some()).count()
    }

    /// Number of passed tests.
    pub fn passed(&self) -> usize {
        self.outcomes.len() - self.failed()
    }
}

/// Runs every test of `bundle`.
pub fn run_tests(bundle: &CompiledBundle) -> TestReport {
    run_selected(bundle, |_| true)
}

/// Runs the tests of `bundle` whose names `select` accepts; a failed one
/// is run again with `explain` for its trace.
pub fn run_selected(bundle: &CompiledBundle, select: impl Fn(&str) -> bool) -> TestReport {
    TestReport {
        outcomes: bundle
            .tests
            .iter()
            .filter(|t| select(&t.name))
            .map(|t| {
                let started = Instant::now();
                let failure = run_one(bundle, t);
                let duration = started.elapsed();
                let trace = match failure {
                    Some(_) => explain_one(bundle, t),
                    None => Vec::new(),
                };
                TestOutcome {
                    name: t.name.clone(),
                    location: format!("{}:{}", t.file, t.at.line),
                    failure,
                    duration,
                    trace,
                }
            })
            .collect(),
    }
}

/// Compiles `files` and runs the bundle's tests: the whole gate a bundle
/// passes before it may serve.
pub fn verify(files: &BundleFiles) -> Result<(CompiledBundle, TestReport), BundleErrors> {
    passes_tests(crate::bundle::compile(files)?)
}

/// [`verify`] for a bundle that replaces `previous`: unchanged expressions
/// are not parsed again ([`crate::bundle::compile_after`]).
pub fn verify_after(
    files: &BundleFiles,
    previous: &CompiledBundle,
) -> Result<(CompiledBundle, TestReport), BundleErrors> {
    passes_tests(crate::bundle::compile_after(files, previous)?)
}

/// Runs `bundle`'s tests; a failing test is an error at its place.
fn passes_tests(bundle: CompiledBundle) -> Result<(CompiledBundle, TestReport), BundleErrors> {
    let report = run_tests(&bundle);
    let mut errors = BundleErrors::in_phase(Phase::Test);
    for (test, outcome) in bundle.tests.iter().zip(&report.outcomes) {
        if let Some(failure) = &outcome.failure {
            errors.push(BundleError::at(
                &test.file,
                test.at,
                format!("test `{}`: {failure}", test.name),
            ));
        }
    }
    errors.into_result((bundle, report))
}

fn run_one(bundle: &CompiledBundle, test: &TestCase) -> Option<String> {
    let outcome = check::<PlanChangeType>(bundle, test)
        .or_else(|| check::<PaymentLinkType>(bundle, test))
        .or_else(|| check::<ChargeFundingType>(bundle, test));
    outcome.unwrap_or_else(|| {
        Some("the request and the expectations are of different decision types".to_owned())
    })
}

/// The explain trace of `test`'s request: empty when the request is
/// invalid or no rule could decide it.
fn explain_one(bundle: &CompiledBundle, test: &TestCase) -> Vec<TraceStep> {
    explain::<PlanChangeType>(bundle, test)
        .or_else(|| explain::<PaymentLinkType>(bundle, test))
        .or_else(|| explain::<ChargeFundingType>(bundle, test))
        .unwrap_or_default()
}

/// `test`'s trace if it is one of `T`'s.
fn explain<T: DecisionType>(bundle: &CompiledBundle, test: &TestCase) -> Option<Vec<TraceStep>> {
    let (input, _) = T::test_case(test)?;
    let Ok(mut req) = T::parse(input.clone(), TEST_CLOCK) else {
        return Some(Vec::new());
    };
    T::explain(&mut req);
    let Ok(decision) = T::decide(bundle, &req) else {
        return Some(Vec::new());
    };
    let rules = &T::rules(bundle).rules;
    let steps = decision.meta().trace.iter().map(|step| {
        let rule = rules.iter().find(|r| r.id == step.rule_id);
        TraceStep {
            rule: step.clone(),
            location: rule.map_or_else(String::new, |r| format!("{}:{}", r.file, r.at.line)),
            condition: rule.and_then(|r| r.condition.as_ref().map(|c| c.source.clone())),
        }
    });
    Some(steps.collect())
}

/// Runs `test` if it is one of `T`'s: `Some(failure)` then, `None` if not.
fn check<T: DecisionType>(bundle: &CompiledBundle, test: &TestCase) -> Option<Option<String>> {
    let (input, want) = T::test_case(test)?;
    let req = match T::parse(input.clone(), TEST_CLOCK) {
        Ok(r) => r,
        Err(v) => return Some(Some(format!("invalid request: {v}"))),
    };
    let decision = match (T::decide(bundle, &req), T::missing_fact(want)) {
        (Ok(decision), _) => decision,
        (Err(DecideError::Invalid(v)), _) => {
            let got: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
            return Some(match T::invalid_fields(want) {
                Some(fields) if *fields == got => None,
                Some(fields) => Some(format!(
                    "want an invalid request ({}), got: {v}",
                    fields.join(", ")
                )),
                None => Some(format!("invalid request: {v}")),
            });
        }
        (Err(e), Some(subject)) if e.subject() == Some(subject) => return Some(None),
        (Err(e), Some(subject)) => {
            return Some(Some(format!(
                "want a precondition failure for `{subject}`, got: {e}"
            )));
        }
        (Err(e), None) => return Some(Some(format!("failed precondition: {e}"))),
    };
    let (summary, mismatch) = T::compare(&decision, want);
    let reasons = decision.reasons();
    let codes_got: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
    let got = format!("got {summary} [{}]", codes_got.join(", "));
    if let Some(r) = reasons
        .iter()
        .find(|r| r.code.as_str() == codes::POLICY_EVALUATION_ERROR)
    {
        return Some(Some(format!(
            "hit a policy evaluation error: {}",
            r.message
        )));
    }
    if let Some(m) = mismatch {
        return Some(Some(format!("{m}, {got}")));
    }
    if let Some(want) = &test.want.reasons
        && *want != codes_got
    {
        return Some(Some(format!("want reasons [{}], {got}", want.join(", "))));
    }
    let messages: Vec<&str> = reasons.iter().map(|r| r.message.as_str()).collect();
    Some(match &test.want.messages {
        Some(want) if *want != messages => Some(format!(
            "want messages {want:?}, got {messages:?} (locale `{}`)",
            decision.meta().locale
        )),
        _ => None,
    })
}

/// The steps of a funding plan as a test report shows them.
pub fn steps_text(steps: &[FundingStep]) -> String {
    steps
        .iter()
        .map(|s| format!("{} {} {}", s.source.as_str(), s.method_id, s.amount_minor))
        .collect::<Vec<_>>()
        .join(", ")
}
