//! Allocations per decision for every demo case, with the native evaluator
//! and with the CEL interpreter. Apart from `engine.rs` because the counting
//! global allocator slows every allocation it counts.
//!
//! Also allocations per decision-log line.
//!
//! `cargo bench --bench allocations`

#![allow(clippy::expect_used, clippy::indexing_slicing, reason = "bench code")]

use std::{collections::BTreeMap, hint::black_box};

use tollgate::engine;

#[path = "common/cases.rs"]
mod cases;

use cases::{cases, demo};

/// Allocations per decision, for every demo case and both evaluators.
fn main() {
    let native = demo();
    let interpreted = demo().interpreted();
    let cases = cases(&native);
    let mut rows: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let count = |f: &dyn Fn()| allocation_counter::measure(f).count_total;
    for (name, r) in &cases.plan_change {
        let a = count(&|| drop(black_box(engine::decide_plan_change(&native, r))));
        let b = count(&|| drop(black_box(engine::decide_plan_change(&interpreted, r))));
        rows.insert(format!("plan_change/{name}"), (a, b));
    }
    for (name, r) in &cases.payment_link {
        let a = count(&|| drop(black_box(engine::decide_payment_link(&native, r))));
        let b = count(&|| drop(black_box(engine::decide_payment_link(&interpreted, r))));
        rows.insert(format!("payment_link/{name}"), (a, b));
    }
    for (name, r) in &cases.charge_funding {
        let a = count(&|| drop(black_box(engine::decide_charge_funding(&native, r))));
        let b = count(&|| drop(black_box(engine::decide_charge_funding(&interpreted, r))));
        rows.insert(format!("charge_funding/{name}"), (a, b));
    }
    println!("allocations per decision (native / cel_interpreter):");
    for (name, (a, b)) in rows {
        println!("  {a:>4} / {b:>5}  {name}");
    }
    // One decision-log line per type, masked, into a warm reused buffer.
    println!("allocations per decision-log line (masked, warm buffer):");
    let encoder = std::cell::RefCell::new(cases::encoder());
    let line = std::cell::RefCell::new(Vec::with_capacity(4096));
    for (kind, name, record) in cases::records() {
        let write = || {
            let mut line = line.borrow_mut();
            line.clear();
            encoder.borrow_mut().write(&mut line, black_box(&record));
        };
        // Warm: the first line fills the encoder's caches (hashes, provenance).
        write();
        let n = count(&write);
        println!("  {n:>4}  {kind} ({name})");
    }
}
