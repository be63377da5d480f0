//! Running a bundle's own tests: before every swap, and by `tollgate test`.

use jiff::Timestamp;

use super::{codes, decide_plan_change};
use crate::{
    bundle::{BundleError, BundleErrors, BundleFiles, CompiledBundle, TestCase, TestRequest},
    domain::PlanChange,
};

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
    let TestRequest::PlanChange(input) = &test.request;
    let req = match PlanChange::parse(input.clone(), Timestamp::now()) {
        Ok(r) => r,
        Err(v) => return Some(format!("invalid request: {v}")),
    };
    let d = decide_plan_change(bundle, &req);
    let codes_got: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
    let got = || {
        let timing = d
            .timing
            .map_or(String::new(), |t| format!(" {}", t.as_str()));
        format!("{}{timing} [{}]", d.verdict.as_str(), codes_got.join(", "))
    };
    if let Some(r) = d
        .reasons
        .iter()
        .find(|r| r.code.as_str() == codes::POLICY_EVALUATION_ERROR)
    {
        return Some(format!("hit a policy evaluation error: {}", r.message));
    }
    let want = &test.want;
    if d.verdict != want.verdict {
        return Some(format!(
            "want verdict {}, got {}",
            want.verdict.as_str(),
            got()
        ));
    }
    if want.timing.is_some() && d.timing != want.timing {
        let w = want.timing.map_or("", |t| t.as_str());
        return Some(format!("want timing {w}, got {}", got()));
    }
    if let Some(at) = want.effective_at
        && d.effective_at != Some(at)
    {
        let g = d.effective_at.map_or("none".to_owned(), |t| t.to_string());
        return Some(format!("want effective_at {at}, got {g}"));
    }
    if let Some(reasons) = &want.reasons
        && *reasons != codes_got
    {
        return Some(format!(
            "want reasons [{}], got {}",
            reasons.join(", "),
            got()
        ));
    }
    None
}
