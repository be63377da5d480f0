//! The command line: one typed struct, with `TOLLGATE_*` environment
//! fallbacks, validated before anything binds.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand, ValueEnum};

use crate::{
    decision_log::{self, ErasePath, Overflow, Target},
    reload::BundleSource,
};

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
    /// Write one JSON line per decision to `stdout` or to a file (appended;
    /// SIGUSR1 reopens it). Off when absent.
    #[arg(long, value_name = "stdout|PATH", env = "TOLLGATE_DECISION_LOG")]
    pub decision_log: Option<PathBuf>,
    /// Decision-log events queued before the overflow policy applies.
    #[arg(long, default_value_t = 8192, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), env = "TOLLGATE_DECISION_LOG_QUEUE")]
    pub decision_log_queue: u32,
    /// When the queue is full: `drop` answers the decision and counts the
    /// lost event; `block` waits for room, putting the sink's speed on the
    /// request path.
    #[arg(long, value_enum, default_value_t = Overflow::Drop, env = "TOLLGATE_DECISION_LOG_OVERFLOW")]
    pub decision_log_overflow: Overflow,
    /// Fraction of decisions logged, 0.0 to 1.0, chosen by decision id.
    #[arg(long, default_value_t = 1.0, value_name = "RATE", value_parser = sample_rate,
          env = "TOLLGATE_DECISION_LOG_SAMPLE")]
    pub decision_log_sample: f64,
    /// The key of the HMAC-SHA256 hashes that replace tenant, user and
    /// payment method ids. Without a key (or a key file) a random key is
    /// drawn per process, so hashes do not join across restarts.
    #[arg(
        long,
        value_name = "KEY",
        env = "TOLLGATE_DECISION_LOG_HASH_KEY",
        hide_env_values = true,
        conflicts_with = "decision_log_hash_key_file"
    )]
    pub decision_log_hash_key: Option<String>,
    /// A file holding the hash key (a trailing newline is ignored).
    #[arg(long, value_name = "PATH", env = "TOLLGATE_DECISION_LOG_HASH_KEY_FILE")]
    pub decision_log_hash_key_file: Option<PathBuf>,
    /// Fields of the event's input to remove, as dotted paths
    /// (`input.attributes.email`), comma-separated.
    #[arg(long, value_name = "FIELD,...", value_delimiter = ',', value_parser = ErasePath::parse,
          env = "TOLLGATE_DECISION_LOG_ERASE")]
    pub decision_log_erase: Vec<ErasePath>,
    /// Rotate the decision-log file when it would grow past this many bytes:
    /// it is renamed to `PATH.1` and a new one started (0 never rotates).
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        env = "TOLLGATE_DECISION_LOG_MAX_BYTES"
    )]
    pub decision_log_max_bytes: u64,
    /// Log tenant, user and payment method ids in clear (test environments
    /// only: masking is on by default).
    #[arg(long, env = "TOLLGATE_DECISION_LOG_UNMASKED")]
    pub decision_log_unmasked: bool,
}

impl ServeArgs {
    /// The bundle source.
    pub fn source(&self) -> BundleSource {
        source(self.bundle.as_ref())
    }

    /// The decision-log settings, `None` when it is off; reads the key file.
    pub fn decision_log(&self) -> anyhow::Result<Option<decision_log::Settings>> {
        let Some(path) = &self.decision_log else {
            return Ok(None);
        };
        let target = if path.as_os_str() == "stdout" {
            Target::Stdout
        } else {
            Target::File(path.clone())
        };
        let hash_key = match (
            &self.decision_log_hash_key,
            &self.decision_log_hash_key_file,
        ) {
            (Some(key), _) => Some(key.as_bytes().to_vec()),
            (None, Some(file)) => {
                let mut key = std::fs::read(file).map_err(|e| {
                    anyhow::anyhow!("--decision-log-hash-key-file `{}`: {e}", file.display())
                })?;
                while key.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    key.pop();
                }
                anyhow::ensure!(
                    !key.is_empty(),
                    "--decision-log-hash-key-file `{}`: the file is empty",
                    file.display()
                );
                Some(key)
            }
            (None, None) => None,
        };
        if let Some(key) = &hash_key {
            anyhow::ensure!(!key.is_empty(), "--decision-log-hash-key: the key is empty");
        }
        Ok(Some(decision_log::Settings {
            queue: usize::try_from(self.decision_log_queue).unwrap_or(usize::MAX),
            overflow: self.decision_log_overflow,
            sample: self.decision_log_sample,
            hash_key,
            mask: !self.decision_log_unmasked,
            erase: self.decision_log_erase.clone(),
            max_bytes: self.decision_log_max_bytes,
            ..decision_log::Settings::new(target)
        }))
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

/// Parses a sampling rate in 0.0..=1.0.
fn sample_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("`{s}` is not a rate between 0.0 and 1.0")),
    }
}
