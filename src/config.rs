//! The command line: one typed struct, with `TOLLGATE_*` environment
//! fallbacks, validated before anything binds.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand, ValueEnum};

use crate::reload::BundleSource;

/// Tollgate: a policy decision point for subscription billing and payments.
///
/// Tollgate answers questions such as "may this tenant move from plan A to
/// plan B, and when?" from a policy bundle (YAML rules with CEL conditions
/// and a plan catalogue). It decides; the caller executes.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about, long_about)]
pub struct Cli {
    /// Log format on stderr; the level comes from RUST_LOG (default `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty, env = "TOLLGATE_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the gRPC API, hot-reloading the bundle when it changes.
    Serve(ServeArgs),
    /// Validate a bundle (parse, compile, run its tests); exit 1 with
    /// `file:line:column: message` lines if anything is wrong.
    Check {
        /// Bundle directory or `.tar.gz`; the embedded demo bundle when omitted.
        path: Option<PathBuf>,
    },
    /// Run a bundle's own tests and print a summary.
    Test {
        /// Bundle directory or `.tar.gz`; the embedded demo bundle when omitted.
        path: Option<PathBuf>,
    },
    /// Evaluate one request against a bundle and print the decision as JSON.
    Eval(EvalArgs),
    /// Drive a running server over gRPC and report throughput, latency
    /// percentiles and errors (a load generator).
    Bench(crate::loadgen::BenchArgs),
}

/// `tollgate serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on for gRPC.
    #[arg(long, default_value = "127.0.0.1:50051", env = "TOLLGATE_LISTEN")]
    pub listen: SocketAddr,
    /// Bundle directory or `.tar.gz`, watched for changes (SIGHUP also
    /// reloads). Without it, the embedded demo bundle is served.
    #[arg(long, env = "TOLLGATE_BUNDLE")]
    pub bundle: Option<PathBuf>,
    /// Also re-read the bundle every this many seconds, in case a file
    /// system does not deliver change events (0 turns polling off).
    #[arg(long, default_value_t = 30, env = "TOLLGATE_POLL_INTERVAL")]
    pub poll_interval: u64,
}

impl ServeArgs {
    /// The bundle source.
    pub fn source(&self) -> BundleSource {
        source(self.bundle.as_ref())
    }

    /// The poll interval, if polling is on.
    pub fn poll(&self) -> Option<Duration> {
        (self.poll_interval > 0).then(|| Duration::from_secs(self.poll_interval))
    }
}

/// `tollgate eval`: exactly one request.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("request").required(true).multiple(false)))]
pub struct EvalArgs {
    /// Bundle directory or `.tar.gz`; the embedded demo bundle when omitted.
    pub path: Option<PathBuf>,
    /// A `tollgate.v1.PlanChangeRequest` in proto JSON (`-` reads stdin).
    #[arg(long, value_name = "FILE.json", group = "request")]
    pub plan_change: Option<PathBuf>,
    /// A `tollgate.v1.PaymentLinkRequest` in proto JSON (`-` reads stdin).
    #[arg(long, value_name = "FILE.json", group = "request")]
    pub payment_link: Option<PathBuf>,
    /// A `tollgate.v1.ChargeFundingRequest` in proto JSON (`-` reads stdin).
    #[arg(long, value_name = "FILE.json", group = "request")]
    pub charge_funding: Option<PathBuf>,
}

/// The source named by an optional path.
pub fn source(path: Option<&PathBuf>) -> BundleSource {
    path.map_or(BundleSource::Embedded, |p| BundleSource::Path(p.clone()))
}
