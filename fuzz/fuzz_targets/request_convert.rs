//! Arbitrary bytes as each request message, decoded with prost and
//! converted as the server does (limits, then `Wire::convert`): a request
//! or field violations, never a panic. A request that converts is decided
//! on the demo bundle by the native evaluator and by the CEL interpreter,
//! which must agree, and its decision is encoded back to the wire.
//!
//! The input is a type byte (0 plan change, 1 payment link, 2 charge
//! funding), a length byte N, N bytes of the call's `accept-language`, then
//! the message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use tollgate::{
    domain::{Answer, Languages},
    engine::{ChargeFundingType, PaymentLinkType, PlanChangeType},
    grpc::convert::{Bounded, Limits, Wire},
};

/// 2026-12-01T00:00:00Z, the server clock of every input.
const NOW: i64 = 1_795_996_800;

fn run<T: Wire>(accept: &str, bytes: &[u8])
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
    // As the server does: a malformed header is no preference.
    let accept = Languages::accept_language(accept).unwrap_or_default();
    let Ok(req) = T::convert(message, now, &accept) else {
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
    let [kind, len, rest @ ..] = data else {
        return;
    };
    let (accept, bytes) = rest.split_at(usize::from(*len).min(rest.len()));
    let accept = String::from_utf8_lossy(accept);
    match kind % 3 {
        0 => run::<PlanChangeType>(&accept, bytes),
        1 => run::<PaymentLinkType>(&accept, bytes),
        _ => run::<ChargeFundingType>(&accept, bytes),
    }
});
