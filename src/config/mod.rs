//! The command line: one typed struct, with `TOLLGATE_*` environment
//! fallbacks, validated before anything binds.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand, ValueEnum};

use crate::{
    decision_log::{self, ErasePath, Overflow, Target},
    reload::BundleSource,
};

mod admin;
mod file;
mod remote;
mod signing;
mod tls;
mod tools;
mod trace;

pub use admin::AdminArgs;
pub use file::{Loaded, effective, parse_from};
pub use remote::{BundleArg, RemoteArgs};
pub use signing::{KeyArg, SignArgs, VerifyArgs};
pub use tls::TlsArgs;
pub use tools::{
    CheckArgs, DiffArgs, EvalArgs, GraphArgs, GraphDecision, GraphFormat, LintArgs, ReplayArgs,
    ReportArgs, TestArgs, TestFormat,
};
pub use trace::TraceArgs;

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
    Serve(Box<ServeArgs>),
    /// Validate a bundle (parse, compile, run its tests); exit 1 with
    /// `file:line:column: message` lines if anything is wrong.
    Check(CheckArgs),
    /// Run a bundle's own tests and print a summary: exit 0 when all
    /// passed, 1 when a test failed, 2 when the bundle does not parse,
    /// compile or validate (or its signature does not verify).
    Test(TestArgs),
    /// Static checks of a bundle that need no test (unguarded optional
    /// reads, rules that never match or never decide, plan-change gaps,
    /// `check`'s warnings): exit 0 clean or only warnings, 1 a deny-level
    /// finding, 2 when the bundle does not compile.
    Lint(LintArgs),
    /// Draw the catalogue's plans and, per requester role, each change as
    /// an edge coloured by what the rules answer (lint's corpus), as SVG
    /// or DOT.
    Graph(GraphArgs),
    /// Sign a bundle directory: write its `.signatures.json` (OPA's bundle
    /// signature format), listing every YAML file with its SHA-256.
    Sign(SignArgs),
    /// Evaluate one request against a bundle and print the decision as JSON.
    Eval(EvalArgs),
    /// What changes from bundle OLD to bundle NEW: their differences in the
    /// bundle's terms, then every decision that changes over both bundles'
    /// tests and a corpus generated from their plans and merchants. Exit 2
    /// when a bundle does not compile; with `--fail-on-change`, 1 when a
    /// decision changes.
    Diff(DiffArgs),
    /// Decide the inputs of a decision log again with bundle `--bundle`
    /// and report, grouped as `diff` does, every decision that changes
    /// (against the outcomes the log recorded, or `--against` another
    /// bundle), and every line that could not be replayed and why. Streams
    /// the log. Exit 2 when a bundle does not compile; with
    /// `--fail-on-change`, 1 when a decision changes.
    Replay(ReplayArgs),
    /// Print the JSON Schema of bundle files (every file has the same
    /// shape), for editors: `schema/bundle.schema.json` in the repository.
    Schema,
}

/// Bad configuration: the process exits 64 (sysexits `EX_USAGE`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The command line is wrong (or help or the version was asked for:
    /// clap's exit code is then 0).
    #[error("{0}")]
    Usage(clap::Error),
    /// The config file cannot be read or has a bad setting.
    #[error("{at}: {message}")]
    File {
        /// `path` or `path:line:column`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// A setting is wrong in a way only seen when it is used (an empty key
    /// file, a certificate that does not parse).
    #[error("{0}")]
    Invalid(String),
}

impl ConfigError {
    /// Prints the error (clap prints its own usage errors, help and version)
    /// and returns the exit code: 0 for help and the version, else 64
    /// (sysexits `EX_USAGE`).
    pub fn report(&self) -> u8 {
        match self {
            Self::Usage(e) => {
                let _ = e.print();
                if e.exit_code() == 0 { 0 } else { 64 }
            }
            other => {
                eprintln!("tollgate: {other}");
                64
            }
        }
    }
}

/// Parses the process's command line with its config file.
pub fn parse() -> Result<Loaded, ConfigError> {
    parse_from(std::env::args_os())
}

/// `tollgate serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A YAML file of settings, keyed by these flags' long names
    /// (`request-timeout: 2s`). Precedence: flags, then `TOLLGATE_*`
    /// variables, then the file, then the defaults.
    #[arg(long, value_name = "PATH", env = "TOLLGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the effective configuration (secrets redacted), each value with
    /// where it came from, and exit without serving.
    #[arg(long)]
    pub check_config: bool,
    /// Address to listen on for gRPC.
    #[arg(long, default_value = "127.0.0.1:50051", env = "TOLLGATE_LISTEN")]
    pub listen: SocketAddr,
    /// Bundle directory or `.tar.gz`, watched for changes (SIGHUP also
    /// reloads), or the `http://` or `https://` URL of a `.tar.gz`, polled
    /// (see `--bundle-poll-min`). Without it, the embedded demo bundle is served.
    #[arg(long, value_name = "PATH|URL", value_parser = remote::bundle_arg, env = "TOLLGATE_BUNDLE")]
    pub bundle: Option<BundleArg>,
    /// A candidate bundle (directory, `.tar.gz` or URL) loaded beside the
    /// active one, with the same reload and validation: each sampled
    /// decision is also decided with it, off the response path, and
    /// compared (`tollgate_shadow_decisions_total`, the decision log,
    /// `GetBundleStatus`). The answer is always the active bundle's.
    #[arg(long, value_name = "PATH|URL", value_parser = remote::bundle_arg, env = "TOLLGATE_SHADOW_BUNDLE")]
    pub shadow_bundle: Option<BundleArg>,
    /// Fraction of decisions also decided with the shadow bundle, 0.0 to
    /// 1.0, chosen by decision id.
    #[arg(long, default_value_t = 1.0, value_name = "RATE", value_parser = sample_rate,
          env = "TOLLGATE_SHADOW_SAMPLE")]
    pub shadow_sample: f64,
    /// Decisions waiting for the shadow bundle; when full, more are not
    /// shadowed (`tollgate_shadow_dropped_total`), never waited for.
    #[arg(long, default_value_t = 4096, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), env = "TOLLGATE_SHADOW_QUEUE")]
    pub shadow_queue: u32,
    /// Also re-read the bundle every this many seconds, in case a file
    /// system does not deliver change events (0 turns polling off; the
    /// embedded bundle is never polled).
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
    /// The longest a call may take (`500ms`, `2s`, `1m`); a client's shorter
    /// `grpc-timeout` wins. Past it: DEADLINE_EXCEEDED.
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = duration,
          env = "TOLLGATE_REQUEST_TIMEOUT")]
    pub request_timeout: Duration,
    /// Calls in flight across all connections (an open stream counts until
    /// it ends); more are refused at once with RESOURCE_EXHAUSTED.
    #[arg(long, default_value_t = 1024, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), env = "TOLLGATE_MAX_CONCURRENT_REQUESTS")]
    pub max_concurrent_requests: u32,
    /// Streams one connection may have open at once (HTTP/2
    /// SETTINGS_MAX_CONCURRENT_STREAMS): one connection's share of
    /// --max-concurrent-requests. More are refused with REFUSED_STREAM.
    #[arg(long, default_value_t = 128, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), env = "TOLLGATE_MAX_CONCURRENT_STREAMS")]
    pub max_concurrent_streams: u32,
    /// How long a call waits for its client's next request message (a
    /// stream's next request); past it the call ends with DEADLINE_EXCEEDED
    /// and its slot is free.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = duration,
          env = "TOLLGATE_MESSAGE_TIMEOUT")]
    pub message_timeout: Duration,
    /// Open gRPC connections at once; one more is closed as soon as it is
    /// accepted (tollgate_connections_refused_total).
    #[arg(long, default_value_t = 4096, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), env = "TOLLGATE_MAX_CONNECTIONS")]
    pub max_connections: u32,
    /// From accepting a connection to its HTTP/2 preface (the TLS handshake
    /// included); a connection that has not sent it by then is closed.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = duration,
          env = "TOLLGATE_HANDSHAKE_TIMEOUT")]
    pub handshake_timeout: Duration,
    /// A connection with no call in flight and none for this long is
    /// closed (keepalive pings do not count); clients reconnect on their
    /// next call.
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = duration,
          env = "TOLLGATE_IDLE_TIMEOUT")]
    pub idle_timeout: Duration,
    /// The largest request message, in bytes; larger is RESOURCE_EXHAUSTED.
    #[arg(long, default_value_t = 65536, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(1..), env = "TOLLGATE_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: u32,
    /// Entries of each request map (`usage`, `period_usage`, `attributes`,
    /// `health.signals`); more is INVALID_ARGUMENT.
    #[arg(long, default_value_t = 256, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), env = "TOLLGATE_MAX_MAP_ENTRIES")]
    pub max_map_entries: u32,
    /// Payment methods of a payment request; more is INVALID_ARGUMENT.
    #[arg(long, default_value_t = 32, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), env = "TOLLGATE_MAX_METHODS")]
    pub max_methods: u32,
    /// On SIGTERM or Ctrl-C, how long in-flight calls may run on after the
    /// listener closes (`10s`); then the process exits 0 regardless.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = duration,
          env = "TOLLGATE_SHUTDOWN_GRACE")]
    pub shutdown_grace: Duration,
    /// HTTP/2 keepalive: how often the server pings an idle connection, so
    /// dead peers (and load balancers that dropped it) are noticed.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = duration,
          env = "TOLLGATE_KEEPALIVE_INTERVAL")]
    pub keepalive_interval: Duration,
    /// How long a keepalive ping may go unanswered before the connection is
    /// closed.
    #[arg(long, default_value = "20s", value_name = "DURATION", value_parser = duration,
          env = "TOLLGATE_KEEPALIVE_TIMEOUT")]
    pub keepalive_timeout: Duration,
    /// Log tenant, user and payment method ids in clear (test environments
    /// only: masking is on by default).
    #[arg(long, env = "TOLLGATE_DECISION_LOG_UNMASKED")]
    pub decision_log_unmasked: bool,
    /// The admin HTTP port: metrics and health.
    #[command(flatten)]
    pub admin: AdminArgs,
    /// TLS, mutual TLS and the caller policy.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Span export.
    #[command(flatten)]
    pub trace: TraceArgs,
    /// Polling a remote bundle.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The keys bundles must be signed with.
    #[command(flatten)]
    pub verify: VerifyArgs,
}

impl ServeArgs {
    /// The bundle source; fails on remote-source flags that do not fit.
    pub fn source(&self) -> anyhow::Result<BundleSource> {
        self.remote.source(self.bundle.as_ref())
    }

    /// The shadow bundle's source, `None` without one. A URL is polled like
    /// `--bundle`'s, but never cached: `--bundle-cache` keeps the active
    /// bundle's last good download only.
    pub fn shadow_source(&self) -> anyhow::Result<Option<BundleSource>> {
        Ok(match &self.shadow_bundle {
            None => None,
            Some(BundleArg::Path(p)) => Some(BundleSource::Path(p.clone())),
            Some(url) => {
                let mut source = self.remote.source(Some(url))?;
                if let BundleSource::Remote(remote) = &mut source {
                    remote.cache = None;
                }
                Some(source)
            }
        })
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

    /// The transport settings and request limits.
    pub fn server_options(&self) -> crate::grpc::ServerOptions {
        let size = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        crate::grpc::ServerOptions {
            request_timeout: self.request_timeout,
            max_concurrent_requests: size(self.max_concurrent_requests),
            max_concurrent_streams: self.max_concurrent_streams,
            message_timeout: self.message_timeout,
            connections: crate::grpc::ConnectionLimits {
                max_connections: size(self.max_connections),
                handshake_timeout: self.handshake_timeout,
                idle_timeout: self.idle_timeout,
            },
            max_message_bytes: size(self.max_message_bytes),
            limits: crate::grpc::Limits {
                max_map_entries: size(self.max_map_entries),
                max_methods: size(self.max_methods),
            },
            shutdown_grace: self.shutdown_grace,
            keepalive: self.keepalive_interval,
            keepalive_timeout: self.keepalive_timeout,
            ..crate::grpc::ServerOptions::default()
        }
    }

    /// The poll interval, if polling is on.
    pub fn poll(&self) -> Option<Duration> {
        (self.poll_interval > 0).then(|| Duration::from_secs(self.poll_interval))
    }
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

/// Parses a duration: a whole number with a unit, `ms`, `s` or `m`.
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration such as `500ms`, `2s` or `1m`");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(format!("`{s}`: the duration must be more than zero"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("1m"), Ok(Duration::from_secs(60)));
        for bad in ["", "2", "s", "2h", "-1s", "1.5s", "0s"] {
            assert!(duration(bad).is_err(), "`{bad}`");
        }
    }
}
