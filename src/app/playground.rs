//! The admin port's playground decides with `tollgate eval`'s JSON
//! functions (`proto_json`) and encodes the status as `GetBundleStatus` does; this is the
//! [`Playground`] `telemetry` serves, so `telemetry` needs no `grpc`.

use std::{net::SocketAddr, sync::Arc};

use prost_reflect::DescriptorPool;

use super::proto_json::{self, DecideJson, Undecided};
use crate::{
    engine::{ChargeFundingType, PaymentLinkType, PlanChangeType},
    grpc::convert::{self, Wire},
    live::LiveBundle,
    telemetry::playground::{Kind, Playground, Refusal},
};

/// The playground over the live bundle.
pub(super) struct LivePlayground {
    live: Arc<dyn LiveBundle>,
    pool: DescriptorPool,
    grpc: SocketAddr,
    plaintext: bool,
}

/// One decision type: its name on the wire and how the playground decides it.
struct Decider {
    name: &'static str,
    decide: fn(&DecideJson<'_>, &str) -> Result<String, Undecided>,
}

const fn decider<T: Wire>() -> Decider {
    Decider {
        name: T::NAME,
        decide: decide_as::<T>,
    }
}

fn decide_as<T: Wire>(eval: &DecideJson<'_>, text: &str) -> Result<String, Undecided> {
    eval.decide::<T>(text)
}

/// Every decision type, in the order the page shows them.
const DECIDERS: [Decider; 3] = [
    decider::<PlanChangeType>(),
    decider::<PaymentLinkType>(),
    decider::<ChargeFundingType>(),
];

/// `PlanChange` → `plan-change`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

impl LivePlayground {
    /// The playground for `live`, whose gRPC port listens on `grpc`.
    pub(super) fn new(
        live: Arc<dyn LiveBundle>,
        grpc: SocketAddr,
        plaintext: bool,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            live,
            pool: proto_json::pool()?,
            grpc,
            plaintext,
        })
    }
}

impl Playground for LivePlayground {
    fn kinds(&self) -> Vec<Kind> {
        DECIDERS
            .iter()
            .map(|d| Kind {
                slug: slug(d.name),
                method: format!("tollgate.v1.DecisionService/Decide{}", d.name),
            })
            .collect()
    }

    fn status(&self) -> Result<String, Refusal> {
        let active = self.live.snapshot();
        let status = convert::bundle_status(active.as_deref(), &self.live.status());
        proto_json::to_json(&self.pool, "tollgate.v1.BundleStatus", &status)
            .map_err(|e| Refusal::Internal(format!("{e:#}")))
    }

    fn decide(&self, kind: &str, body: &str) -> Result<String, Refusal> {
        let decider = DECIDERS
            .iter()
            .find(|d| slug(d.name) == kind)
            .ok_or_else(|| Refusal::UnknownKind(kind.to_owned()))?;
        // One snapshot for the whole decision.
        let active = self.live.snapshot().ok_or(Refusal::NoBundle)?;
        let eval = DecideJson {
            pool: &self.pool,
            bundle: &active.bundle,
            now: jiff::Timestamp::now(),
        };
        (decider.decide)(&eval, body).map_err(|undecided| {
            let message = undecided.message("request body");
            match undecided {
                Undecided::Malformed(_) | Undecided::Invalid(_) => Refusal::BadRequest(message),
                Undecided::Failed(_) => Refusal::Precondition(message),
            }
        })
    }

    fn grpc_target(&self) -> (String, bool) {
        // An unspecified address listens on loopback too.
        let address = if self.grpc.ip().is_unspecified() || self.grpc.ip().is_loopback() {
            format!("localhost:{}", self.grpc.port())
        } else {
            self.grpc.to_string()
        };
        (address, self.plaintext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_kebab_case() {
        assert_eq!(slug("PlanChange"), "plan-change");
        assert_eq!(slug("ChargeFunding"), "charge-funding");
    }
}
