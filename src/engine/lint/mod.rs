//! `tollgate lint`: checks that need no test, each with a stable id
//! ([`LINT_CHECKS`]), a place and a short why. Static where the question is
//! decidable from the compiled rules (unguarded optional reads; rules that
//! never match or are pre-empted, for comparisons of one fact with
//! constants, "unknown" otherwise); the plan-change gaps and the payment
//! gaps (every merchant × link and funding outcome) by evaluating generated
//! corpora of boundary requests, stated as such; the warnings of
//! `tollgate check` through `CompiledBundle::warnings_at`.

mod gaps;
mod guards;
mod payments;
mod reach;

use std::collections::BTreeSet;

use jiff::Timestamp;

pub use gaps::{Gap, PairOutcome};
pub use payments::{MerchantGap, Reached};

use super::{ChargeFundingType, PaymentLinkType, PlanChangeType};
use crate::bundle::{CompiledBundle, LINT_CHECKS, Severity, TestRequest};

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// Where, `file:line` (`file` alone when it has no line).
    pub file: String,
    /// The line; 0 when none.
    pub line: u64,
    /// The check's id.
    pub check: &'static str,
    /// Its severity in this bundle.
    pub severity: Severity,
    /// What was found.
    pub message: String,
}

impl Finding {
    /// `file:line`, or the file when there is no line.
    pub fn location(&self) -> String {
        if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}", self.file, self.line)
        }
    }

    /// The check's one-line why.
    pub fn why(&self) -> &'static str {
        LINT_CHECKS
            .iter()
            .find(|c| c.id == self.check)
            .map_or("", |c| c.why)
    }
}

/// What `tollgate lint` found.
#[derive(Debug, Clone)]
pub struct LintReport {
    /// Every finding not allowed, sorted by file and line.
    pub findings: Vec<Finding>,
    /// Rules whose reachability the static check could not decide.
    pub undecided: usize,
    /// The plan-change corpus: every catalogue pair and role, and what
    /// the generated requests reached.
    pub gaps: Vec<Gap>,
    /// Requests in the generated corpus.
    pub corpus: usize,
    /// The payment corpus: every merchant × payment decision, and what the
    /// generated requests reached.
    pub payments: Vec<MerchantGap>,
    /// Requests in the generated payment corpus.
    pub payment_corpus: usize,
}

impl LintReport {
    /// Findings at deny level.
    pub fn denied(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Deny)
            .count()
    }
}

/// A finding before its severity is looked up.
pub(crate) struct Raw {
    pub file: String,
    pub line: u64,
    pub check: &'static str,
    pub message: String,
}

/// Runs every check on `bundle` at `now` (for the schedule dates).
pub fn lint(bundle: &CompiledBundle, now: Timestamp) -> LintReport {
    let mut raw = Vec::new();
    guards::check::<PlanChangeType>(bundle, &mut raw);
    guards::check::<PaymentLinkType>(bundle, &mut raw);
    guards::check::<ChargeFundingType>(bundle, &mut raw);
    let mut undecided = 0;
    undecided += reach::check::<PlanChangeType>(bundle, &mut raw);
    undecided += reach::check::<PaymentLinkType>(bundle, &mut raw);
    undecided += reach::check::<ChargeFundingType>(bundle, &mut raw);
    let (gaps, corpus) = gaps::plan_change(bundle);
    for g in gaps.iter().filter(|g| g.outcome.gap()) {
        let reached = match (g.outcome.allows.is_empty(), g.outcome.denies.is_empty()) {
            (true, true) => "no request reaches any rule".to_owned(),
            (true, false) => "no request is allowed, some are denied".to_owned(),
            (false, _) => "some requests are allowed".to_owned(),
        };
        raw.push(Raw {
            file: g.file.clone(),
            line: 0,
            check: "plan-change-gap",
            message: format!(
                "`{}` -> `{}` asked by {}: some generated requests reach only NO_MATCHING_RULE ({reached})",
                g.from, g.to, g.role
            ),
        });
    }
    let (payments, payment_corpus) = payments::payments(bundle, now);
    for p in payments.iter().filter(|p| p.reached.gap()) {
        let reached: Vec<&str> = p.reached.outcomes.keys().copied().collect();
        let reached = if reached.is_empty() {
            "no request reaches any rule".to_owned()
        } else {
            format!("others reach {}", reached.join(", "))
        };
        raw.push(Raw {
            file: p.file.clone(),
            line: p.line,
            check: "payment-gap",
            message: format!(
                "merchant `{}`: {}: some generated requests reach only NO_MATCHING_RULE ({reached}), e.g. {}",
                p.merchant,
                p.decision.label(),
                p.reached.example.as_deref().unwrap_or("?")
            ),
        });
    }
    warnings(bundle, now, &mut raw);
    metrics(bundle, &mut raw);
    let mut findings: Vec<Finding> = raw
        .into_iter()
        .filter_map(|r| {
            let severity = bundle.lint.severity(r.check);
            (severity != Severity::Allow).then_some(Finding {
                file: r.file,
                line: r.line,
                check: r.check,
                severity,
                message: r.message,
            })
        })
        .collect();
    findings.sort();
    findings.dedup();
    LintReport {
        findings,
        undecided,
        gaps,
        corpus,
        payments,
        payment_corpus,
    }
}

/// `tollgate check`'s warnings, as `schedule-past` (those that depend on
/// the clock) and `compile-warning` (those found while compiling).
fn warnings(bundle: &CompiledBundle, now: Timestamp, out: &mut Vec<Raw>) {
    for w in bundle.warnings_at(now) {
        let check = if bundle.warnings.contains(&w) {
            "compile-warning"
        } else {
            "schedule-past"
        };
        out.push(Raw {
            file: w.file.clone(),
            line: w.line,
            check,
            message: w.message.clone(),
        });
    }
}

/// Metrics some plan limits that no test reports.
fn metrics(bundle: &CompiledBundle, out: &mut Vec<Raw>) {
    let mut reported = BTreeSet::new();
    for t in &bundle.tests {
        if let TestRequest::PlanChange(input) = &t.request {
            reported.extend(input.usage.keys().cloned());
            reported.extend(input.period_usage.keys().cloned());
        }
    }
    let mut limited: BTreeSet<(&str, &str)> = BTreeSet::new();
    for plan in bundle.catalog.plans.values() {
        for metric in plan.limits.keys().chain(plan.quotas.keys()) {
            limited.insert((metric.as_str(), plan.id.as_str()));
        }
    }
    let mut done = BTreeSet::new();
    for (metric, plan) in limited {
        if reported.contains(metric) || !done.insert(metric) {
            continue;
        }
        out.push(Raw {
            file: "plans.yaml".to_owned(),
            line: 0,
            check: "metric-never-reported",
            message: format!(
                "metric `{metric}` is limited (plan `{plan}`, ...) but no test reports it"
            ),
        });
    }
}
