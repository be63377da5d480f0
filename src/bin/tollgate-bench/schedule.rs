//! The calls of a run, encoded once before it starts: the request pool of
//! each RPC in the mix, shuffled into one schedule that every task walks
//! from its own offset; for the floor, echo requests padded to the encoded
//! size of each real request and asking for a response the size of its
//! decision.

use anyhow::Context as _;
use bytes::Bytes;
use prost::Message as _;
use tonic::codegen::http::uri::PathAndQuery;

use tollgate::{
    domain::Languages,
    engine,
    grpc::{convert, pb},
    reload::BundleSource,
};

use crate::{
    args::{Mix, Rpc, Target},
    floor_pb, requests,
};

/// How many calls a schedule holds before it repeats.
const SCHEDULE_LEN: usize = 4096;

/// One call, ready to send: cloning it copies no message bytes.
#[derive(Debug, Clone)]
pub struct Call {
    /// The gRPC method.
    pub path: PathAndQuery,
    /// The encoded request message.
    pub body: Bytes,
}

/// The calls a run cycles through, in a fixed pseudo-random order that
/// follows the mix's weights.
pub fn calls(mix: &Mix, target: Target) -> anyhow::Result<Vec<Call>> {
    let pools = mix
        .weights()
        .map(|(rpc, weight)| {
            let bodies = match target {
                Target::Decision => encoded(rpc),
                Target::Floor => echoes(rpc)?,
            };
            let path = PathAndQuery::from_static(match target {
                Target::Decision => rpc.path(),
                Target::Floor => floor_pb::ECHO_PATH,
            });
            Ok((weight, path, bodies))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let total: u64 = pools.iter().map(|(w, _, _)| u64::from(*w)).sum();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(SCHEDULE_LEN);
    while out.len() < SCHEDULE_LEN {
        let mut pick = rng.below(total);
        let Some((_, path, bodies)) = pools.iter().find(|(w, _, _)| {
            let hit = pick < u64::from(*w);
            pick = pick.saturating_sub(u64::from(*w));
            hit
        }) else {
            anyhow::bail!("the mix has no RPC with a positive weight");
        };
        let index = usize::try_from(rng.below(bodies.len() as u64))?;
        let body = bodies.get(index).context("empty request pool")?;
        out.push(Call {
            path: path.clone(),
            body: body.clone(),
        });
    }
    Ok(out)
}

/// Every request of `rpc`'s pool, encoded.
pub fn encoded(rpc: Rpc) -> Vec<Bytes> {
    fn encode<M: prost::Message>(requests: Vec<M>) -> Vec<Bytes> {
        requests
            .iter()
            .map(|r| Bytes::from(r.encode_to_vec()))
            .collect()
    }
    match rpc {
        Rpc::PlanChange => encode(requests::plan_changes()),
        Rpc::PaymentLink => encode(requests::payment_links()),
        Rpc::ChargeFunding => encode(requests::charge_fundings()),
    }
}

/// The encoded size of each request of `rpc`'s pool and of the decision the
/// embedded demo bundle gives it. Fails if a request is not valid.
pub fn sizes(rpc: Rpc) -> anyhow::Result<Vec<(usize, usize)>> {
    let files = BundleSource::Embedded.read()?;
    let bundle = tollgate::bundle::compile(&files)?;
    let now = jiff::Timestamp::now();
    match rpc {
        Rpc::PlanChange => requests::plan_changes()
            .into_iter()
            .map(|r| {
                let len = r.encoded_len();
                let d = engine::decide_plan_change(
                    &bundle,
                    &convert::plan_change(r, now, &Languages::default())?,
                )?;
                Ok((len, pb::PlanChangeDecision::from(&d).encoded_len()))
            })
            .collect(),
        Rpc::PaymentLink => requests::payment_links()
            .into_iter()
            .map(|r| {
                let len = r.encoded_len();
                let d = engine::decide_payment_link(
                    &bundle,
                    &convert::payment_link(r, now, &Languages::default())?,
                );
                Ok((len, pb::PaymentLinkDecision::from(&d).encoded_len()))
            })
            .collect(),
        Rpc::ChargeFunding => requests::charge_fundings()
            .into_iter()
            .map(|r| {
                let len = r.encoded_len();
                let d = engine::decide_charge_funding(
                    &bundle,
                    &convert::charge_funding(r, now, &Languages::default())?,
                );
                Ok((len, pb::ChargeFundingDecision::from(&d).encoded_len()))
            })
            .collect(),
    }
}

/// Echo requests the size of `rpc`'s requests, asking for responses the
/// size of their decisions.
fn echoes(rpc: Rpc) -> anyhow::Result<Vec<Bytes>> {
    Ok(sizes(rpc)?
        .into_iter()
        .map(|(request, decision)| Bytes::from(echo(request, decision).encode_to_vec()))
        .collect())
}

/// An echo request whose encoding is `request_len` bytes (or as close as
/// the fields allow) and whose response's encoding is `response_len` bytes.
pub fn echo(request_len: usize, response_len: usize) -> floor_pb::EchoRequest {
    let response_size = u32::try_from(fill(response_len, 0)).unwrap_or(u32::MAX);
    let mut echo = floor_pb::EchoRequest {
        payload: Bytes::new(),
        response_size,
    };
    let overhead = echo.encoded_len();
    echo.payload = Bytes::from(vec![0x5a; fill(request_len, overhead)]);
    echo
}

/// The longest bytes field that, with `overhead` bytes of other fields,
/// encodes in at most `total` bytes.
pub fn fill(total: usize, overhead: usize) -> usize {
    let field = |n: usize| 1 + prost::encoding::encoded_len_varint(n as u64) + n;
    let mut n = total.saturating_sub(overhead + 1);
    while n > 0 && field(n) + overhead > total {
        n -= 1;
    }
    n
}

/// `message` as one length-prefixed gRPC message: a zero compression flag,
/// its length as four big-endian bytes, then the message.
pub fn frame(message: &[u8]) -> anyhow::Result<Vec<u8>> {
    let len = u32::try_from(message.len()).context("message over 4 GiB")?;
    let mut out = Vec::with_capacity(message.len() + 5);
    out.push(0);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Ok(out)
}

/// The message in one length-prefixed, uncompressed gRPC message.
pub fn unframe(data: &[u8]) -> anyhow::Result<&[u8]> {
    let (head, message) = data
        .split_at_checked(5)
        .context("shorter than a gRPC message prefix (5 bytes)")?;
    let (flag, len) = head.split_first().context("empty")?;
    anyhow::ensure!(*flag == 0, "compressed (flag {flag}): not supported");
    let len = u32::from_be_bytes(len.try_into()?) as usize;
    anyhow::ensure!(
        len == message.len(),
        "the prefix says {len} bytes, {} follow",
        message.len()
    );
    Ok(message)
}

/// A decoded response to `rpc`, for a person to read.
pub fn describe(target: Target, rpc: Rpc, message: &[u8]) -> anyhow::Result<String> {
    Ok(match (target, rpc) {
        (Target::Floor, _) => {
            let echo = floor_pb::EchoResponse::decode(message)?;
            format!("EchoResponse {{ payload: {} bytes }}", echo.payload.len())
        }
        (Target::Decision, Rpc::PlanChange) => {
            format!("{:#?}", pb::PlanChangeDecision::decode(message)?)
        }
        (Target::Decision, Rpc::PaymentLink) => {
            format!("{:#?}", pb::PaymentLinkDecision::decode(message)?)
        }
        (Target::Decision, Rpc::ChargeFunding) => {
            format!("{:#?}", pb::ChargeFundingDecision::decode(message)?)
        }
    })
}

/// xorshift64: a fixed, dependency-free shuffle, the same on every run.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_is_valid_and_some_are_refused() {
        for rpc in Rpc::ALL {
            let sizes = sizes(rpc).unwrap();
            assert!(sizes.len() >= 8, "{rpc:?}");
        }
        let bundle = tollgate::bundle::compile(&BundleSource::Embedded.read().unwrap()).unwrap();
        let now = jiff::Timestamp::now();
        let denied = requests::plan_changes()
            .into_iter()
            .map(|r| {
                engine::decide_plan_change(
                    &bundle,
                    &convert::plan_change(r, now, &Languages::default()).unwrap(),
                )
                .unwrap()
            })
            .map(|d| pb::PlanChangeDecision::from(&d))
            .filter(|d| d.verdict() == pb::Verdict::Deny)
            .count();
        assert!((2..=4).contains(&denied), "{denied} plan changes denied");
    }

    #[test]
    fn echoes_are_the_size_of_what_they_stand_for() {
        for (request, response) in [(40, 300), (180, 420), (130, 127), (2000, 16_500)] {
            let echo = echo(request, response);
            assert_eq!(echo.encoded_len(), request);
            let reply = floor_pb::EchoResponse {
                payload: vec![0; echo.response_size as usize].into(),
            };
            assert_eq!(reply.encoded_len(), response);
        }
    }

    #[test]
    fn the_schedule_follows_the_weights() {
        let mix: Mix = "plan_change=3,charge_funding=1".parse().unwrap();
        let calls = calls(&mix, Target::Decision).unwrap();
        let plan = calls
            .iter()
            .filter(|c| c.path.as_str() == Rpc::PlanChange.path())
            .count();
        assert_eq!(calls.len(), SCHEDULE_LEN);
        assert!((2900..3250).contains(&plan), "{plan} of {SCHEDULE_LEN}");
    }

    #[test]
    fn frames_round_trip() {
        let framed = frame(b"abc").unwrap();
        assert_eq!(framed, [0, 0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(unframe(&framed).unwrap(), b"abc");
        assert!(unframe(&framed[..6]).is_err());
    }
}
