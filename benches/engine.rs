//! Engine-only benchmarks: every demo decision case with the native
//! evaluator, the CEL interpreter (one program per rule on a per-request
//! activation: the naive baseline) and, for plan changes, a hand-written
//! Rust function of the same rules; explain on; bundle compile time and
//! evaluation time as bundles grow to 10,000 rules and 10,000 merchants.
//! Allocations per decision are counted by `benches/allocations.rs`, apart,
//! so its counting allocator does not slow these timings; these run on the
//! server's allocator, so a decision costs here what it costs in `serve`.
//!
//! `cargo bench --bench engine` (add `-- plan_change` to filter).

#![allow(clippy::expect_used, clippy::indexing_slicing, reason = "bench code")]

use std::{fmt::Write as _, hint::black_box, time::Duration};

use criterion::{BenchmarkId, Criterion};
use tollgate::{
    bundle::{self, BundleFiles, Catalog},
    domain::{EffectiveTiming, PlanChange, RequesterRole},
    engine,
};

#[path = "common/cases.rs"]
#[allow(dead_code, reason = "the decision-log records are not used here")]
mod cases;

use cases::{cases, demo, demo_files};

// The allocator `tollgate serve` runs on (`src/main.rs`): a decision's
// allocations cost here what they cost in the server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The demo plan-change rules written by hand: the floor for policy work.
fn handwritten(
    catalog: &Catalog,
    r: &PlanChange,
) -> (bool, Option<EffectiveTiming>, Vec<&'static str>) {
    let (s, t) = (
        catalog.plans.get(&r.from_plan),
        catalog.plans.get(&r.to_plan),
    );
    let same = r.from_plan == r.to_plan;
    let contract = |p: Option<&bundle::Plan>| {
        p.and_then(|p| p.attributes.get("contract_only"))
            .and_then(serde_json::Value::as_bool)
            == Some(true)
    };
    let delta = s.zip(t).map(|(s, t)| t.rank - s.rank);
    let down = delta.is_some_and(|d| d < 0);
    let mut deny = Vec::new();
    if same {
        deny.push("SAME_PLAN");
    }
    if s.is_none() {
        deny.push("UNKNOWN_PLAN");
    }
    if t.is_none() {
        deny.push("UNKNOWN_PLAN");
    }
    if r.requester.role == RequesterRole::Reseller && (contract(s) || contract(t)) {
        deny.push("RESELLER_NOT_PERMITTED");
    }
    if let Some(t) = t {
        for (metric, limit) in &t.limits {
            match r.usage.get(metric) {
                Some(v) if !same && v > limit => deny.push("USAGE_EXCEEDS_TARGET_LIMIT"),
                None if down => deny.push("USAGE_NOT_REPORTED"),
                _ => {}
            }
        }
    }
    if !deny.is_empty() {
        return (false, None, deny);
    }
    let in_commitment = r.billing.commitment_end.is_some_and(|e| e > r.as_of);
    let over_quota = t.is_some_and(|t| {
        t.quotas
            .iter()
            .any(|(m, q)| r.period_usage.get(m).is_some_and(|v| v > q))
    });
    match delta {
        Some(d) if d > 0 => (true, Some(EffectiveTiming::Immediate), vec!["UPGRADE"]),
        Some(d) if d < 0 && in_commitment => (
            true,
            Some(EffectiveTiming::EndOfTerm),
            vec!["IN_COMMITMENT_TERM"],
        ),
        Some(d) if d < 0 && over_quota => (
            true,
            Some(EffectiveTiming::NextBillingCycle),
            vec!["PERIOD_USAGE_EXCEEDS_TARGET_QUOTA"],
        ),
        Some(d) if d < 0 => (true, Some(EffectiveTiming::Immediate), vec!["DOWNGRADE"]),
        _ => (false, None, vec!["NO_MATCHING_RULE"]),
    }
}

fn engine_benches(c: &mut Criterion) {
    let native = demo();
    let interpreted = demo().interpreted();
    let cases = cases(&native);

    let mut g = c.benchmark_group("plan_change");
    for (name, req) in &cases.plan_change {
        g.bench_with_input(BenchmarkId::new("native", name), req, |b, r| {
            b.iter(|| engine::decide_plan_change(&native, black_box(r)));
        });
        g.bench_with_input(BenchmarkId::new("cel_interpreter", name), req, |b, r| {
            b.iter(|| engine::decide_plan_change(&interpreted, black_box(r)));
        });
        g.bench_with_input(BenchmarkId::new("handwritten", name), req, |b, r| {
            b.iter(|| handwritten(&native.catalog, black_box(r)));
        });
    }
    if let Some((name, req)) = cases
        .plan_change
        .iter()
        .find(|(n, _)| n.contains("one_reason_per_metric"))
    {
        let mut req = req.clone();
        req.explain = true;
        g.bench_with_input(BenchmarkId::new("native_explain", name), &req, |b, r| {
            b.iter(|| engine::decide_plan_change(&native, black_box(r)));
        });
    }
    g.finish();

    let mut g = c.benchmark_group("payment_link");
    for (name, req) in &cases.payment_link {
        g.bench_with_input(BenchmarkId::new("native", name), req, |b, r| {
            b.iter(|| engine::decide_payment_link(&native, black_box(r)));
        });
        g.bench_with_input(BenchmarkId::new("cel_interpreter", name), req, |b, r| {
            b.iter(|| engine::decide_payment_link(&interpreted, black_box(r)));
        });
    }
    g.finish();

    let mut g = c.benchmark_group("charge_funding");
    for (name, req) in &cases.charge_funding {
        g.bench_with_input(BenchmarkId::new("native", name), req, |b, r| {
            b.iter(|| engine::decide_charge_funding(&native, black_box(r)));
        });
        g.bench_with_input(BenchmarkId::new("cel_interpreter", name), req, |b, r| {
            b.iter(|| engine::decide_charge_funding(&interpreted, black_box(r)));
        });
    }
    g.finish();
}

/// The demo bundle plus `rules` plan-change rules and `merchants` merchants
/// (each with a link rule) that cannot apply to the demo requests: they are
/// scoped to synthetic plans and merchants.
pub fn synthetic(rules: usize, merchants: usize) -> BundleFiles {
    let mut files = demo_files();
    let plans = rules.div_ceil(10).max(1);
    let mut y = String::from("plans:\n");
    for p in 0..plans {
        let _ = writeln!(
            y,
            "  - {{ id: syn-plan-{p}, rank: {}, limits: {{ users: {p} }} }}",
            10 + p
        );
    }
    if rules > 0 {
        y.push_str("plan_change_rules:\n");
    }
    for r in 0..rules {
        let _ = write!(
            y,
            "  - id: syn-rule-{r}\n    from_plans: [syn-plan-{}]\n    when: request.usage.users > {r}.0 && change.upgrade\n    effect: deny\n    reason: {{ code: SYNTHETIC_LIMIT, message: {{ en: \"users over {r}: {{request.usage.users}}\", ja: \"利用者数が {r} を超えています: {{request.usage.users}}\" }} }}\n",
            r % plans
        );
    }
    if merchants > 0 {
        y.push_str("merchants:\n");
        for m in 0..merchants {
            let _ = writeln!(
                y,
                "  - {{ id: syn-merchant-{m}, currency: JPY, accepted_methods: [CREDIT_CARD], min_health_score: {}, allow_split: true }}",
                m % 100
            );
        }
        y.push_str("payment_link_rules:\n");
        for m in 0..merchants {
            let _ = write!(
                y,
                "  - id: syn-link-{m}\n    merchants: [syn-merchant-{m}]\n    when: request.health.score < merchant.min_health_score + {m}\n    effect: deny\n    reason: {{ code: SYNTHETIC_HEALTH, message: {{ en: \"health {{request.health.score}}\", ja: \"健全度 {{request.health.score}}\" }} }}\n"
            );
        }
    }
    files.insert("synthetic.yaml", y.into_bytes());
    files
}

fn scaling_benches(c: &mut Criterion) {
    let demo = demo();
    let cases = cases(&demo);
    let (_, upgrade) = cases
        .plan_change
        .iter()
        .find(|(n, _)| n == "upgrade_is_immediate")
        .expect("upgrade case");
    let (_, link) = cases
        .payment_link
        .iter()
        .find(|(n, _)| n == "an_accepted_active_second_method_links")
        .expect("link case");

    let mut g = c.benchmark_group("bundle_size");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for rules in [10, 100, 1_000, 10_000] {
        let files = synthetic(rules, 0);
        g.bench_with_input(BenchmarkId::new("compile_rules", rules), &files, |b, f| {
            b.iter(|| bundle::compile(black_box(f)).expect("compiles"));
        });
        let compiled = bundle::compile(&files).expect("compiles");
        g.bench_with_input(
            BenchmarkId::new("plan_change_rules", rules),
            upgrade,
            |b, r| {
                b.iter(|| engine::decide_plan_change(&compiled, black_box(r)));
            },
        );
    }
    for merchants in [10, 100, 1_000, 10_000] {
        let files = synthetic(0, merchants);
        g.bench_with_input(
            BenchmarkId::new("compile_merchants", merchants),
            &files,
            |b, f| {
                b.iter(|| bundle::compile(black_box(f)).expect("compiles"));
            },
        );
        let compiled = bundle::compile(&files).expect("compiles");
        g.bench_with_input(
            BenchmarkId::new("payment_link_merchants", merchants),
            link,
            |b, r| {
                b.iter(|| engine::decide_payment_link(&compiled, black_box(r)));
            },
        );
    }
    g.finish();

    // What a reload of the demo costs the serving process: compile and run
    // the bundle's tests, from nothing and after the active revision (whose
    // parsed expressions are reused: `bundle::compile_after`).
    let mut g = c.benchmark_group("reload");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    let files = demo_files();
    let active = bundle::compile(&files).expect("demo compiles");
    g.bench_function("demo_verify", |b| {
        b.iter(|| engine::verify(black_box(&files)).expect("verifies"));
    });
    g.bench_function("demo_verify_after_active", |b| {
        b.iter(|| engine::verify_after(black_box(&files), &active).expect("verifies"));
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    engine_benches(&mut c);
    scaling_benches(&mut c);
    c.final_summary();
}
