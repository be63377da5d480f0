//! The decision log's encoder: one JSON line per decision type, masked under
//! a fixed key, into a reused buffer, as the handlers' threads make them. The
//! case of each type is the demo bundle test whose line is the longest.
//! Allocations per line are counted by `benches/allocations.rs`.
//!
//! `cargo bench --bench decision_log`

#![allow(clippy::expect_used, reason = "bench code")]

use std::{hint::black_box, time::Duration};

use criterion::Criterion;
use tollgate::{
    decision_log::{CallContext, Decided, Logged, Masker, Record, event::LineEncoder},
    engine,
};

#[path = "engine.rs"]
#[allow(dead_code, reason = "only the demo cases are used here")]
pub mod engine_bench;

/// One decided record per type, `(type, case, record)`: the case whose
/// line is the longest.
pub fn records() -> Vec<(&'static str, String, Record)> {
    let bundle = engine_bench::demo();
    let cases = engine_bench::cases(&bundle);
    let mut all: Vec<(&'static str, String, Box<dyn Logged>)> = Vec::new();
    for (name, r) in &cases.plan_change {
        if let Ok(d) = engine::decide_plan_change(&bundle, r) {
            all.push(("plan_change", name.clone(), Box::new((r.clone(), d))));
        }
    }
    for (name, r) in &cases.payment_link {
        let d = engine::decide_payment_link(&bundle, r);
        all.push(("payment_link", name.clone(), Box::new((r.clone(), d))));
    }
    for (name, r) in &cases.charge_funding {
        let d = engine::decide_charge_funding(&bundle, r);
        all.push(("charge_funding", name.clone(), Box::new((r.clone(), d))));
    }
    let mut encoder = encoder();
    let mut longest: Vec<(&'static str, String, Record, usize)> = Vec::new();
    for (kind, name, entry) in all {
        let record = Record {
            decided: Decided::new(entry),
            timestamp: engine::TEST_CLOCK,
            eval: Duration::from_micros(3),
            context: CallContext::default(),
        };
        let mut line = Vec::new();
        encoder.write(&mut line, &record);
        match longest.iter_mut().find(|(k, ..)| *k == kind) {
            Some(slot) if slot.3 >= line.len() => {}
            Some(slot) => *slot = (kind, name, record, line.len()),
            None => longest.push((kind, name, record, line.len())),
        }
    }
    longest.into_iter().map(|(k, n, r, _)| (k, n, r)).collect()
}

/// An encoder as the handlers use, masking as in production: a keyed hash of
/// every id.
pub fn encoder() -> LineEncoder {
    LineEncoder::new(Masker::keyed(b"bench key"), Vec::new())
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut encoder = encoder();
    let mut group = c.benchmark_group("decision_log_line");
    for (kind, name, record) in records() {
        let mut line = Vec::with_capacity(4096);
        encoder.write(&mut line, &record);
        println!("{kind}: case `{name}`, {} bytes", line.len());
        group.bench_function(kind, |b| {
            b.iter(|| {
                line.clear();
                encoder.write(&mut line, black_box(&record));
                black_box(&line);
            });
        });
    }
    group.finish();
    c.final_summary();
}
