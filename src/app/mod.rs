//! Wiring: runs each subcommand with the parts it needs; `serve` here, the
//! one-shot bundle tools in `tools.rs`.

mod coverage_report;
mod diff;
mod graph;
mod lint_report;
mod playground;
pub mod proto_json;
mod replay;
mod revision;
mod test_report;
mod tools;

use std::sync::Arc;

use anyhow::Context as _;

use crate::{
    bundle::{limits::STACK_SIZE, signature::TrustedKeys},
    config::{self, Cli, Command, LogFormat, ServeArgs},
    decision_log::DecisionLog,
    grpc,
    live::LiveBundle,
    reload::{self, BundleSource, BundleStore},
    telemetry::{admin, scrape::Exposition, trace},
};

/// How a command ended, as a process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// The bundle or request is invalid, or a test failed.
    Failed = 1,
    /// `tollgate test`: the bundle does not parse, compile or validate, so
    /// no test ran.
    Invalid = 2,
}

/// What tracing needs from the command line: the log format and, when
/// serving, span export.
pub fn trace_settings(cli: &Cli) -> trace::TraceSettings {
    let format = match cli.log_format {
        LogFormat::Pretty => trace::LogFormat::Pretty,
        LogFormat::Json => trace::LogFormat::Json,
    };
    match &cli.command {
        Command::Serve(args) => trace::TraceSettings {
            format,
            otlp_endpoint: args.trace.otlp_endpoint.clone(),
            otlp_service_name: args.trace.otlp_service_name.clone(),
        },
        _ => trace::TraceSettings {
            format,
            ..trace::TraceSettings::default()
        },
    }
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
            // Workers evaluate decisions and the blocking pool compiles and
            // tests bundles: both on the stack the one-shot tools get.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_stack_size(STACK_SIZE)
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(serve(*args))?;
            Ok(Exit::Ok)
        }
        Command::Check(args) => {
            let keys = tool_keys(&args.verify, args.path.as_ref())?;
            on_server_stack(move || Ok(tools::check(&args, keys.as_ref())))
        }
        Command::Test(args) => {
            let keys = tool_keys(&args.verify, args.path.as_ref())?;
            on_server_stack(move || tools::test(&args, keys.as_ref()))
        }
        Command::Lint(args) => on_server_stack(move || Ok(lint_report::lint(&args))),
        Command::Graph(args) => on_server_stack(move || graph::graph(&args)),
        Command::Sign(args) => tools::sign(&args),
        Command::Eval(args) => on_server_stack(move || tools::eval(&args)),
        Command::Diff(args) => on_server_stack(move || diff::run(&args)),
        Command::Replay(args) => on_server_stack(move || replay::run(&args)),
        Command::Schema => {
            println!("{:#}", crate::bundle::json_schema());
            Ok(Exit::Ok)
        }
    }
}

/// The keys `check` or `test` verify the bundle at `path` with; a key that
/// cannot be read, or keys with the embedded demo, are bad configuration.
fn tool_keys(
    verify: &config::VerifyArgs,
    path: Option<&std::path::PathBuf>,
) -> anyhow::Result<Option<TrustedKeys>> {
    verify
        .keys(&config::source(path))
        .map_err(|e| config::ConfigError::Invalid(format!("{e:#}")).into())
}

/// Runs a one-shot tool on a thread with the stack the server's threads
/// have, not on the main thread's (8 MiB on Linux, set by `ulimit -s`), so
/// that a bundle `check` accepts is one `serve` survives.
fn on_server_stack(
    tool: impl FnOnce() -> anyhow::Result<Exit> + Send + 'static,
) -> anyhow::Result<Exit> {
    let thread = std::thread::Builder::new()
        .name("tollgate-tool".to_owned())
        .stack_size(STACK_SIZE)
        .spawn(tool)
        .context("starting the tool's thread")?;
    match thread.join() {
        Ok(result) => result,
        // The panic has been reported; end the process as it would have.
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    // Configuration first: a bad setting or file is bad configuration
    // (exit 64), found before anything binds.
    let invalid = |e: anyhow::Error| config::ConfigError::Invalid(format!("{e:#}"));
    let source = args.source().map_err(invalid)?;
    let verification_keys = args.verify.keys(&source).map_err(invalid)?.map(Arc::new);
    let decision_log = match args.decision_log().map_err(invalid)? {
        Some(settings) => DecisionLog::start(settings)?,
        None => DecisionLog::off(),
    };
    let tls = args.tls.settings().map_err(invalid)?;
    let shadow = args
        .shadow_source()
        .map_err(invalid)?
        .map(|source| ShadowSource {
            source,
            sample: args.shadow_sample,
            queue: usize::try_from(args.shadow_queue).unwrap_or(usize::MAX),
        });
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
        verification_keys,
        shadow,
        playground: args.admin.playground,
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
    /// The keys every bundle must be signed with; any bundle when `None`.
    pub verification_keys: Option<Arc<TrustedKeys>>,
    /// A candidate bundle decided beside the active one (`--shadow-bundle`).
    pub shadow: Option<ShadowSource>,
    /// Serve the playground (`/ui`) on the admin port.
    pub playground: bool,
}

/// Where the shadow bundle comes from and how much it sees.
#[derive(Debug)]
pub struct ShadowSource {
    /// Its source, read, verified and watched like the active bundle's.
    pub source: BundleSource,
    /// Fraction of decisions also decided with it.
    pub sample: f64,
    /// Decisions waiting for it before more are dropped.
    pub queue: usize,
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
    let keys = options.verification_keys;
    let store = Arc::new(BundleStore::verifying(source, keys.clone()));
    // A bad initial bundle does not stop the server: it stays NOT_SERVING
    // and the watcher activates the first good bundle that appears.
    let _watch = reload::start(store.clone(), poll).await?;
    // The candidate: a second store, verified and kept current the same
    // way; it never decides an answer, so it has no part in readiness.
    let mut shadow_watch = None;
    let shadow = match options.shadow {
        Some(shadow) => {
            let store = Arc::new(BundleStore::verifying(shadow.source, keys));
            shadow_watch = Some(reload::start(store.clone(), poll).await?);
            Some(grpc::ShadowOptions {
                live: store,
                sample: shadow.sample,
                queue: shadow.queue,
            })
        }
        None => None,
    };
    let _shadow_watch = shadow_watch;
    // The servers read the bundle; only `reload` knows how it arrives.
    let live: Arc<dyn LiveBundle> = store;
    let server = grpc::ServerOptions {
        decision_log: options.decision_log,
        shadow,
        ..options.server
    };
    let Some(admin_listener) = options.admin else {
        return grpc::serve(listener, live, server, shutdown).await;
    };
    let admin = admin::Admin {
        exposition: Exposition::new(
            server.metrics.clone(),
            live.clone(),
            server.decision_log.clone(),
        ),
        live: live.clone(),
        max_bundle_age: server.max_bundle_age,
        graph: Arc::new(graph::Drawer::default()),
        playground: if options.playground {
            Some(Arc::new(playground::LivePlayground::new(
                live.clone(),
                listener.local_addr()?,
                server.tls.is_none(),
            )?))
        } else {
            None
        },
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
    let served = grpc::serve(listener, live, server, shutdown).await;
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
