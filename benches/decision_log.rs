//! The decision log's encoder: one JSON line per decision type, masked under
//! a fixed key, into a reused buffer, as the handlers' threads make them. The
//! case of each type is the demo bundle test whose line is the longest.
//! Allocations per line are counted by `benches/allocations.rs`.
//!
//! `cargo bench --bench decision_log`

#![allow(clippy::expect_used, reason = "bench code")]

use std::hint::black_box;

use criterion::Criterion;

#[path = "common/cases.rs"]
#[allow(dead_code, reason = "only the decision-log records are used here")]
mod cases;

use cases::{encoder, records};

// The allocator `tollgate serve` runs on (`src/main.rs`), as in `engine.rs`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
