//! `tollgate-bench`'s command line: the flags, the RPC mix, and the checked
//! [`Settings`] a run is made from.

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

/// Drive a running Tollgate server (or the floor) over gRPC and report
/// throughput, latency percentiles and errors: Tollgate's load generator.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "tollgate-bench", version)]
pub struct BenchArgs {
    /// The server to drive.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub target: String,
    /// HTTP/2 connections to open.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Calls in flight at any time, over all connections.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Measure for this many seconds (10 when neither this nor --requests is given).
    #[arg(long, value_name = "SECS", conflicts_with = "requests")]
    pub duration: Option<f64>,
    /// Measure exactly this many calls, then stop.
    #[arg(long, value_name = "N")]
    pub requests: Option<u64>,
    /// Seconds of calls before measuring starts, not counted.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub warmup: f64,
    /// At most this many calls per second in total, spread evenly over the
    /// calls in flight (each starts a call every concurrency/RATE seconds,
    /// later when the previous one is slow, never in a burst): a fixed,
    /// moderate load for a soak. Without it, every call in flight starts
    /// the next as soon as the last is answered.
    #[arg(long, value_name = "CALLS_PER_SEC")]
    pub rate: Option<f64>,
    /// Weights of the decision RPCs, e.g. `plan_change=2,charge_funding=1`,
    /// or a single RPC.
    #[arg(long, default_value = "plan_change=1,payment_link=1,charge_funding=1")]
    pub mix: Mix,
    /// `decision` calls Tollgate; `floor` calls the floor server's echo RPC
    /// with messages the size of the mix's requests and decisions.
    #[arg(long, value_enum, default_value_t = Target::Decision)]
    pub rpc: Target,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also report the CPU time this process (the server) used per call.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Write the mix's first request as a length-prefixed gRPC message
    /// (for `h2load -d`) and exit.
    #[arg(long, value_name = "FILE")]
    pub write_grpc_body: Option<PathBuf>,
    /// Decode a length-prefixed gRPC response to the mix's first RPC, print
    /// it and exit.
    #[arg(long, value_name = "FILE", conflicts_with = "write_grpc_body")]
    pub decode_grpc_response: Option<PathBuf>,
    /// TLS and mutual TLS.
    #[command(flatten)]
    pub tls: crate::tls::BenchTlsArgs,
}

/// What the load generator calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Tollgate's decision RPCs.
    Decision,
    /// The floor's `bench.v1.FloorService/Echo`.
    Floor,
}

impl Target {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Decision => "decision",
            Self::Floor => "floor",
        }
    }
}

/// One of Tollgate's decision RPCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rpc {
    /// `DecidePlanChange`.
    PlanChange,
    /// `DecidePaymentLink`.
    PaymentLink,
    /// `DecideChargeFunding`.
    ChargeFunding,
}

impl Rpc {
    /// Every RPC, in the order of the proto.
    pub const ALL: [Self; 3] = [Self::PlanChange, Self::PaymentLink, Self::ChargeFunding];

    /// The name in `--mix` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::PlanChange => "plan_change",
            Self::PaymentLink => "payment_link",
            Self::ChargeFunding => "charge_funding",
        }
    }

    /// The gRPC method path.
    pub fn path(self) -> &'static str {
        match self {
            Self::PlanChange => "/tollgate.v1.DecisionService/DecidePlanChange",
            Self::PaymentLink => "/tollgate.v1.DecisionService/DecidePaymentLink",
            Self::ChargeFunding => "/tollgate.v1.DecisionService/DecideChargeFunding",
        }
    }
}

/// Relative weights of the RPCs; at least one is positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix(Vec<(Rpc, u32)>);

impl Mix {
    /// The RPCs with a positive weight, in the order given.
    pub fn weights(&self) -> impl Iterator<Item = (Rpc, u32)> + '_ {
        self.0.iter().copied().filter(|(_, w)| *w > 0)
    }

    /// The first RPC with a positive weight.
    pub fn first(&self) -> Option<Rpc> {
        self.weights().next().map(|(rpc, _)| rpc)
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let mut weights: Vec<(Rpc, u32)> = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
            let rpc = Rpc::ALL
                .into_iter()
                .find(|r| r.name() == name.trim())
                .ok_or_else(|| {
                    format!("unknown RPC `{name}`: use plan_change, payment_link or charge_funding")
                })?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("weight of `{name}`: `{weight}` is not a whole number"))?;
            if weights.iter().any(|(r, _)| *r == rpc) {
                return Err(format!("`{name}` is given twice"));
            }
            weights.push((rpc, weight));
        }
        let mix = Self(weights);
        match mix.first() {
            Some(_) => Ok(mix),
            None => Err("the mix has no RPC with a positive weight".to_owned()),
        }
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (rpc, weight)) in self.weights().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(f, "{sep}{}={weight}", rpc.name())?;
        }
        Ok(())
    }
}

/// When the measured part of a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this long.
    After(Duration),
    /// After this many calls.
    Count(u64),
}

/// A checked run: what [`crate::run`] needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server's URL.
    pub target: String,
    /// HTTP/2 connections, at least 1.
    pub connections: usize,
    /// Calls in flight, at least 1.
    pub concurrency: usize,
    /// When measuring stops.
    pub stop: Stop,
    /// Calls made before measuring.
    pub warmup: Duration,
    /// With `--rate`: how often each call in flight starts the next.
    pub period: Option<Duration>,
    /// The RPC weights.
    pub mix: Mix,
    /// Tollgate or the floor.
    pub rpc: Target,
    /// A process whose CPU time is reported per call.
    pub server_pid: Option<u32>,
    /// TLS (with a client certificate for mutual TLS); `None` for
    /// plaintext. Every connection makes its own handshake.
    pub tls: Option<tonic::transport::ClientTlsConfig>,
}

impl TryFrom<&BenchArgs> for Settings {
    type Error = anyhow::Error;

    fn try_from(args: &BenchArgs) -> anyhow::Result<Self> {
        anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
        anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
        let seconds = |flag: &str, secs: f64| {
            Duration::try_from_secs_f64(secs)
                .map_err(|_| anyhow::anyhow!("{flag}: `{secs}` is not a number of seconds"))
        };
        let stop = match (args.requests, args.duration) {
            (Some(0), _) => anyhow::bail!("--requests must be at least 1"),
            (Some(n), _) => Stop::Count(n),
            (None, Some(secs)) => Stop::After(seconds("--duration", secs)?),
            (None, None) => Stop::After(Duration::from_secs(10)),
        };
        let period = match args.rate {
            None => None,
            Some(rate) if rate.is_finite() && rate > 0.0 => Some(
                Duration::try_from_secs_f64(args.concurrency as f64 / rate)
                    .map_err(|_| anyhow::anyhow!("--rate: `{rate}` is too low"))?,
            ),
            Some(rate) => {
                anyhow::bail!("--rate must be a positive number of calls per second, not `{rate}`")
            }
        };
        Ok(Self {
            target: args.target.clone(),
            connections: args.connections,
            concurrency: args.concurrency,
            stop,
            warmup: seconds("--warmup", args.warmup)?,
            period,
            mix: args.mix.clone(),
            rpc: args.rpc,
            server_pid: args.server_pid,
            tls: args.tls.config(&args.target)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_is_weights_or_a_single_rpc() {
        let mix: Mix = "plan_change=2, charge_funding=1".parse().unwrap();
        assert_eq!(
            mix.weights().collect::<Vec<_>>(),
            [(Rpc::PlanChange, 2), (Rpc::ChargeFunding, 1)]
        );
        assert_eq!(mix.to_string(), "plan_change=2,charge_funding=1");
        let single: Mix = "payment_link".parse().unwrap();
        assert_eq!(single.first(), Some(Rpc::PaymentLink));
    }

    #[test]
    fn a_bad_mix_says_why() {
        for (spec, why) in [
            ("plan_chnage=1", "unknown RPC `plan_chnage`"),
            ("plan_change=x", "not a whole number"),
            ("plan_change,plan_change=2", "given twice"),
            ("plan_change=0", "no RPC with a positive weight"),
            ("", "no RPC with a positive weight"),
        ] {
            let err = spec.parse::<Mix>().unwrap_err();
            assert!(err.contains(why), "{spec}: {err}");
        }
    }
}
