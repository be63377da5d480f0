//! What the benches share: the demo bundle, its test requests as decision
//! cases, and one decided record per decision type for the decision log.
//! Included by path (`#[path = "common/cases.rs"]`) so that each bench
//! chooses its own global allocator: the timing benches use the server's,
//! `allocations.rs` a counting one.

use std::time::Duration;

use tollgate::{
    bundle::{self, BundleFiles, CompiledBundle, TestRequest},
    decision_log::{CallContext, Decided, Logged, Masker, Record, event::LineEncoder},
    domain::{ChargeFunding, PaymentLink, PlanChange},
    engine::{self, TEST_CLOCK},
    reload::BundleSource,
};

pub fn demo_files() -> BundleFiles {
    BundleSource::Embedded.read().expect("demo files")
}

pub fn demo() -> CompiledBundle {
    bundle::compile(&demo_files()).expect("demo compiles")
}

/// The demo bundle's own test requests, by decision type.
pub struct Cases {
    pub plan_change: Vec<(String, PlanChange)>,
    pub payment_link: Vec<(String, PaymentLink)>,
    pub charge_funding: Vec<(String, ChargeFunding)>,
}

pub fn cases(bundle: &CompiledBundle) -> Cases {
    let mut cases = Cases {
        plan_change: Vec::new(),
        payment_link: Vec::new(),
        charge_funding: Vec::new(),
    };
    for t in &bundle.tests {
        let name = t.name.replace(' ', "_");
        match &t.request {
            TestRequest::PlanChange(i) => cases.plan_change.push((
                name,
                PlanChange::parse(i.clone(), TEST_CLOCK).expect("valid"),
            )),
            TestRequest::PaymentLink(i) => cases.payment_link.push((
                name,
                PaymentLink::parse(i.clone(), TEST_CLOCK).expect("valid"),
            )),
            TestRequest::ChargeFunding(i) => cases.charge_funding.push((
                name,
                ChargeFunding::parse(i.clone(), TEST_CLOCK).expect("valid"),
            )),
        }
    }
    cases
}

/// One decided record per type, `(type, case, record)`: the case whose
/// line is the longest.
pub fn records() -> Vec<(&'static str, String, Record)> {
    let bundle = demo();
    let cases = cases(&bundle);
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
