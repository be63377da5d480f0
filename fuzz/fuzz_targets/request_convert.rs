//! Arbitrary bytes as each request message, decoded with prost and
//! converted as the server does (limits, then `Wire::convert`): a request
//! or field violations, never a panic. A request that converts is decided
//! on the demo bundle by the native evaluator and by the CEL interpreter,
//! which must agree, and its decision is encoded back to the wire.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use tollgate::{
    domain::Answer,
    engine::{ChargeFundingType, PaymentLinkType, PlanChangeType},
    grpc::convert::{Bounded, Limits, Wire},
};

/// 2026-12-01T00:00:00Z, the server clock of every input.
const NOW: i64 = 1_795_996_800;

fn run<T: Wire>(bytes: &[u8])
where
    T::Decision: std::fmt::Debug,
{
    let Ok(message) = T::PbRequest::decode(bytes) else {
        return;
    };
    if message.check(&Limits::default()).is_err() {
        return;
    }
    let now = jiff::Timestamp::from_second(NOW).expect("in range");
    let Ok(req) = T::convert(message, now) else {
        return;
    };
    let (native, interpreted) = tollgate_fuzz::demo();
    let a = T::decide(native, &req);
    let b = T::decide(interpreted, &req);
    match (&a, &b) {
        (Ok(a), Ok(b)) => {
            let id = |d: &T::Decision| format!("{:?}", d.meta().decision_id);
            let a_shown = format!("{a:?}").replace(&id(a), "ID");
            let b_shown = format!("{b:?}").replace(&id(b), "ID");
            assert_eq!(a_shown, b_shown, "native and interpreted decisions differ");
            let _ = T::PbDecision::from(a).encode_to_vec();
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "native and interpreted errors differ"),
        _ => panic!("one evaluator decided, the other did not: {a:?} / {b:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 3 {
        0 => run::<PlanChangeType>(bytes),
        1 => run::<PaymentLinkType>(bytes),
        _ => run::<ChargeFundingType>(bytes),
    }
});
