//! Wiring: runs each subcommand with the parts it needs.

use std::{
    io::{Read as _, Write as _},
    sync::Arc,
};

use anyhow::Context as _;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

use crate::{
    config::{self, Command, EvalArgs, ServeArgs},
    decision_log::DecisionLog,
    engine,
    grpc::{self, pb},
    reload::{self, BundleSource, BundleStore},
    telemetry::{admin, scrape::Exposition},
};

/// How a command ended, as a process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// The bundle or request is invalid, or a test failed.
    Failed = 1,
}

/// Runs the command.
pub fn run(loaded: config::Loaded) -> anyhow::Result<Exit> {
    match loaded.cli.command {
        // Every value has been through its parser; files (keys,
        // certificates, the cache directory) are read when serving starts.
        Command::Serve(ref args) if args.check_config => {
            print!("{}", config::effective(&loaded));
            Ok(Exit::Ok)
        }
        Command::Serve(args) => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(serve(*args))?;
            Ok(Exit::Ok)
        }
        Command::Check { path } => Ok(check(path.as_ref())),
        Command::Test { path } => Ok(test(path.as_ref())),
        Command::Eval(args) => eval(&args),
        Command::Bench(args) => Ok(if crate::loadgen::command(&args)? {
            Exit::Ok
        } else {
            Exit::Failed
        }),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    // Configuration first: a bad flag or an unwritable log fails before
    // anything binds.
    args.validate()?;
    let source = args.source()?;
    let decision_log = match args.decision_log()? {
        Some(settings) => DecisionLog::start(settings)?,
        None => DecisionLog::off(),
    };
    let tls = args
        .tls
        .settings()
        .map_err(|e| config::ConfigError::Invalid(format!("{e:#}")))?;
    let admin = match args.admin.admin_listen.0 {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (--admin-listen)"))?,
        ),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let options = ServeOptions {
        decision_log,
        server: grpc::ServerOptions {
            max_bundle_age: args.admin.max_bundle_age,
            tls,
            ..args.server_options()
        },
        admin,
    };
    serve_with(listener, source, args.poll(), options, shutdown).await
}

/// The optional parts of [`serve_with`]; the default is what [`serve_on`]
/// runs with.
#[derive(Debug, Default)]
pub struct ServeOptions {
    /// Where decisions are logged (off by default). Closed, with pending
    /// events flushed, when the server stops.
    pub decision_log: DecisionLog,
    /// Transport settings and request limits (their `decision_log` is
    /// replaced by the one above); their `metrics` and `max_bundle_age`
    /// serve the admin port too.
    pub server: grpc::ServerOptions,
    /// The admin HTTP port's listener, already bound; off when `None`.
    pub admin: Option<tokio::net::TcpListener>,
}

/// Serves `source` on an already-bound listener until `shutdown` resolves:
/// loads the bundle, watches it, and runs the gRPC server. `tollgate serve`
/// and the end-to-end tests share this wiring.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    source: BundleSource,
    poll: Option<std::time::Duration>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, source, poll, ServeOptions::default(), shutdown).await
}

/// [`serve_on`] with options; the decision log is flushed and closed when
/// the server stops, whether it stopped well or not.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    source: BundleSource,
    poll: Option<std::time::Duration>,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let log = options.decision_log.clone();
    let served = serve_bundle(listener, source, poll, options, shutdown).await;
    log.close().await;
    served
}

async fn serve_bundle(
    listener: tokio::net::TcpListener,
    source: BundleSource,
    poll: Option<std::time::Duration>,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = Arc::new(BundleStore::new(source));
    // A bad initial bundle does not stop the server: it stays NOT_SERVING
    // and the watcher activates the first good bundle that appears.
    let _watch = reload::start(store.clone(), poll).await?;
    let server = grpc::ServerOptions {
        decision_log: options.decision_log,
        ..options.server
    };
    let Some(admin_listener) = options.admin else {
        return grpc::serve(listener, store, server, shutdown).await;
    };
    let admin = admin::Admin {
        exposition: Exposition::new(
            server.metrics.clone(),
            store.clone(),
            server.decision_log.clone(),
        ),
        store: store.clone(),
        max_bundle_age: server.max_bundle_age,
    };
    // The signal stops both ports. The admin port also stops when gRPC
    // ends without it: the sender is dropped with gRPC's shutdown future.
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let admin_task = tokio::spawn(admin::serve(admin_listener, admin, async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    }));
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let served = grpc::serve(listener, store, server, shutdown).await;
    // A scrape in progress may finish; a client that holds its connection
    // open does not hold the process.
    match tokio::time::timeout(std::time::Duration::from_secs(1), admin_task).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the admin port failed"),
        Ok(_) => {}
        Err(elapsed) => tracing::debug!(%elapsed, "stopped waiting for the admin port"),
    }
    served
}

/// Resolves on SIGTERM or Ctrl-C. The SIGTERM handler is installed when
/// this is called, not when the future is first polled, so a SIGTERM that
/// arrives while the server is still starting shuts it down cleanly too.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        match term {
            Some(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}

fn check(path: Option<&std::path::PathBuf>) -> Exit {
    let source = config::source(path);
    match source.read().and_then(|files| engine::verify(&files)) {
        Ok((bundle, report)) => {
            let (native, total) = bundle.native_coverage();
            println!(
                "ok: bundle `{}` revision `{}`: {} rules, {} tests passed; {native} of {total} expressions run natively",
                bundle.name,
                bundle.revision,
                bundle.rule_count(),
                report.passed()
            );
            Exit::Ok
        }
        Err(errors) => {
            report(&source, &errors);
            Exit::Failed
        }
    }
}

fn test(path: Option<&std::path::PathBuf>) -> Exit {
    let source = config::source(path);
    let Some(bundle) = compile_or_report(&source) else {
        println!("0 passed, 0 failed: the bundle does not compile");
        return Exit::Failed;
    };
    let report = engine::run_tests(&bundle);
    for o in &report.outcomes {
        match &o.failure {
            None => println!("ok    {}  ({})", o.name, o.location),
            Some(why) => println!("FAIL  {}  ({}): {why}", o.name, o.location),
        }
    }
    println!("{} passed, {} failed", report.passed(), report.failed());
    if report.failed() == 0 {
        Exit::Ok
    } else {
        Exit::Failed
    }
}

fn eval(args: &EvalArgs) -> anyhow::Result<Exit> {
    let source = config::source(args.path.as_ref());
    let Some(bundle) = compile_or_report(&source) else {
        return Ok(Exit::Failed);
    };
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).context("descriptor set")?;
    let now = jiff::Timestamp::now();
    if let Some(path) = &args.plan_change {
        decide_json(&pool, path, "PlanChange", |r| {
            grpc::convert::plan_change(r, now)
                .map(|req| pb::PlanChangeDecision::from(&engine::decide_plan_change(&bundle, &req)))
        })
    } else if let Some(path) = &args.payment_link {
        decide_json(&pool, path, "PaymentLink", |r| {
            grpc::convert::payment_link(r, now).map(|req| {
                pb::PaymentLinkDecision::from(&engine::decide_payment_link(&bundle, &req))
            })
        })
    } else if let Some(path) = &args.charge_funding {
        decide_json(&pool, path, "ChargeFunding", |r| {
            grpc::convert::charge_funding(r, now).map(|req| {
                pb::ChargeFundingDecision::from(&engine::decide_charge_funding(&bundle, &req))
            })
        })
    } else {
        anyhow::bail!("give one of --plan-change, --payment-link, --charge-funding");
    }
}

/// Reads `tollgate.v1.{kind}Request` from `path`, decides, prints
/// `tollgate.v1.{kind}Decision`; bad input is exit 1 with a message.
fn decide_json<Req, Dec>(
    pool: &DescriptorPool,
    path: &std::path::Path,
    kind: &str,
    decide: impl FnOnce(Req) -> Result<Dec, crate::domain::Violations>,
) -> anyhow::Result<Exit>
where
    Req: prost::Message + Default,
    Dec: prost::Message,
{
    let request = match from_json::<Req>(pool, &format!("tollgate.v1.{kind}Request"), path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tollgate: {e:#}");
            return Ok(Exit::Failed);
        }
    };
    match decide(request) {
        Ok(decision) => {
            let json = to_json(pool, &format!("tollgate.v1.{kind}Decision"), &decision)?;
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{json}") {
                // A reader that stops early (`| head`) is not a failure.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(Exit::Ok),
            }
        }
        Err(violations) => Ok(invalid(&violations)),
    }
}

/// The compiled bundle at `source`, or `None` after printing every problem.
fn compile_or_report(
    source: &crate::reload::BundleSource,
) -> Option<crate::bundle::CompiledBundle> {
    match source
        .read()
        .and_then(|files| crate::bundle::compile(&files))
    {
        Ok(bundle) => Some(bundle),
        Err(errors) => {
            report(source, &errors);
            None
        }
    }
}

fn report(source: &crate::reload::BundleSource, errors: &crate::bundle::BundleErrors) {
    for e in errors.iter() {
        eprintln!("{e}");
    }
    eprintln!("{source}: {} problem(s)", errors.len());
}

fn invalid(violations: &crate::domain::Violations) -> Exit {
    for v in violations.iter() {
        eprintln!("invalid request: {}: {}", v.field, v.description);
    }
    Exit::Failed
}

fn read_input(path: &std::path::Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
    }
}

fn from_json<T: prost::Message + Default>(
    pool: &DescriptorPool,
    name: &str,
    path: &std::path::Path,
) -> anyhow::Result<T> {
    let text = read_input(path)?;
    let desc = pool
        .get_message_by_name(name)
        .with_context(|| format!("no message `{name}`"))?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let shown = path.display();
    let message = DynamicMessage::deserialize(desc, &mut de)
        .with_context(|| format!("`{shown}`: not a valid `{name}` in proto JSON"))?;
    de.end()
        .with_context(|| format!("`{shown}`: trailing characters after the JSON"))?;
    Ok(message.transcode_to::<T>()?)
}

fn to_json<T: prost::Message>(
    pool: &DescriptorPool,
    name: &str,
    message: &T,
) -> anyhow::Result<String> {
    let desc = pool
        .get_message_by_name(name)
        .with_context(|| format!("no message `{name}`"))?;
    let mut dynamic = DynamicMessage::new(desc);
    dynamic.transcode_from(message)?;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::pretty(&mut out);
    dynamic.serialize_with_options(
        &mut ser,
        &SerializeOptions::new().use_proto_field_name(true),
    )?;
    Ok(String::from_utf8(out)?)
}
