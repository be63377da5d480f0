//! Running a bundle's own tests: before every swap, and by `tollgate test`.

use jiff::Timestamp;

use super::{codes, decide_charge_funding, decide_payment_link, decide_plan_change};
use crate::{
    bundle::{
        BundleError, BundleErrors, BundleFiles, CompiledBundle, TestCase, TestRequest, WantKind,
    },
    domain::{ChargeFunding, FundingStep, PaymentLink, PlanChange},
};

/// The evaluation instant of a bundle test that gives no `as_of`.
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
    TestReport {
        outcomes: bundle
            .tests
            .iter()
            .map(|t| TestOutcome {
                name: t.name.clone(),
                location: format!("{}:{}", t.file, t.at.line),
                failure: run_one(bundle, t),
            })
            .collect(),
    }
}

/// Compiles `files` and runs the bundle's tests: the whole gate a bundle
/// passes before it may serve.
pub fn verify(files: &BundleFiles) -> Result<(CompiledBundle, TestReport), BundleErrors> {
    let bundle = crate::bundle::compile(files)?;
    let report = run_tests(&bundle);
    let mut errors = BundleErrors::default();
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
    // Bundle tests never read the clock: a test without `as_of` is evaluated
    // at the fixed instant below, so it gives the same answer on every reload.
    let now = TEST_CLOCK;
    let (reasons, summary, mismatch) = match (&test.request, &test.want.kind) {
        (
            TestRequest::PlanChange(input),
            WantKind::PlanChange {
                verdict,
                timing,
                effective_at,
            },
        ) => {
            let req = match PlanChange::parse(input.clone(), now) {
                Ok(r) => r,
                Err(v) => return Some(format!("invalid request: {v}")),
            };
            let d = decide_plan_change(bundle, &req);
            let t = d
                .timing
                .map_or(String::new(), |t| format!(" {}", t.as_str()));
            let summary = format!("{}{t}", d.verdict.as_str());
            let mismatch = if d.verdict != *verdict {
                Some(format!("want verdict {}", verdict.as_str()))
            } else if timing.is_some() && d.timing != *timing {
                Some(format!("want timing {}", timing.map_or("", |t| t.as_str())))
            } else if effective_at.is_some() && d.effective_at != *effective_at {
                let g = d.effective_at.map_or("none".to_owned(), |t| t.to_string());
                Some(format!(
                    "want effective_at {}, got {g}",
                    effective_at.map_or(String::new(), |t| t.to_string())
                ))
            } else {
                None
            };
            (d.reasons, summary, mismatch)
        }
        (
            TestRequest::PaymentLink(input),
            WantKind::PaymentLink {
                outcome,
                required_actions,
            },
        ) => {
            let req = match PaymentLink::parse(input.clone(), now) {
                Ok(r) => r,
                Err(v) => return Some(format!("invalid request: {v}")),
            };
            let d = decide_payment_link(bundle, &req);
            let actions: Vec<&str> = d.required_actions.iter().map(|a| a.as_str()).collect();
            let summary = format!("{} {actions:?}", d.outcome.as_str());
            let mismatch = if d.outcome != *outcome {
                Some(format!("want outcome {}", outcome.as_str()))
            } else if required_actions
                .as_ref()
                .is_some_and(|w| *w != d.required_actions)
            {
                let w: Vec<&str> = required_actions
                    .iter()
                    .flatten()
                    .map(|a| a.as_str())
                    .collect();
                Some(format!("want required_actions {w:?}"))
            } else {
                None
            };
            (d.reasons, summary, mismatch)
        }
        (TestRequest::ChargeFunding(input), WantKind::ChargeFunding { outcome, steps }) => {
            let req = match ChargeFunding::parse(input.clone(), now) {
                Ok(r) => r,
                Err(v) => return Some(format!("invalid request: {v}")),
            };
            let d = decide_charge_funding(bundle, &req);
            let summary = format!("{} [{}]", d.outcome.as_str(), steps_text(&d.steps));
            let mismatch = if d.outcome != *outcome {
                Some(format!("want outcome {}", outcome.as_str()))
            } else if steps.as_ref().is_some_and(|w| *w != d.steps) {
                Some(format!(
                    "want steps [{}]",
                    steps_text(steps.as_deref().unwrap_or_default())
                ))
            } else {
                None
            };
            (d.reasons, summary, mismatch)
        }
        _ => {
            return Some(
                "the request and the expectations are of different decision types".to_owned(),
            );
        }
    };
    let codes_got: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
    let got = format!("got {summary} [{}]", codes_got.join(", "));
    if let Some(r) = reasons
        .iter()
        .find(|r| r.code.as_str() == codes::POLICY_EVALUATION_ERROR)
    {
        return Some(format!("hit a policy evaluation error: {}", r.message));
    }
    if let Some(m) = mismatch {
        return Some(format!("{m}, {got}"));
    }
    match &test.want.reasons {
        Some(want) if *want != codes_got => {
            Some(format!("want reasons [{}], {got}", want.join(", ")))
        }
        _ => None,
    }
}

fn steps_text(steps: &[FundingStep]) -> String {
    steps
        .iter()
        .map(|s| format!("{} {} {}", s.source.as_str(), s.method_id, s.amount_minor))
        .collect::<Vec<_>>()
        .join(", ")
}
