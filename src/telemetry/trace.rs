//! Tracing: the subscriber, W3C `traceparent` and OTLP span export.
//!
//! Logs go to stderr, pretty or JSON, filtered by `RUST_LOG` (default
//! `info`). Every gRPC call gets a span ([`RpcSpanLayer`]) at DEBUG level
//! under the target [`RPC_TARGET`]. The two consumers filter separately:
//!
//! - the log layer's filter is `RUST_LOG`, so at the default `info` it never
//!   enables the span, and without export a call pays one cached callsite
//!   check for it, not a span;
//! - the OpenTelemetry layer, present only with `--otlp-endpoint`, has its
//!   own filter that enables exactly the [`RPC_TARGET`] spans, so every call
//!   is exported whatever `RUST_LOG` says, and nothing else is.
//!
//! Export runs on a batch processor (its own thread) and a one-thread tokio
//! runtime of its own for the gRPC channel, so exporting never takes a
//! request worker and the runtime outlives the server's for the last flush
//! ([`Telemetry::shutdown`]).

use std::io::IsTerminal as _;

use anyhow::Context as _;
use opentelemetry::{KeyValue, trace::TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing::Level;
use tracing_subscriber::{
    EnvFilter, Layer as _, filter::Targets, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

mod rpc;

pub use rpc::{
    InCallSpan, RpcFuture, RpcSpan, RpcSpanLayer, decision_span, record_decision, traced,
};

/// The target of the per-call spans, the only ones exported.
pub const RPC_TARGET: &str = "tollgate::rpc";

/// The service name of exported spans when neither the flag nor
/// `OTEL_SERVICE_NAME` gives one.
const SERVICE_NAME: &str = "tollgate";

/// How long the last flush may take at exit.
const FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What [`init`] installs: the log format and, when serving, where spans
/// go. Built from the command line by the caller; tracing knows nothing of
/// flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceSettings {
    /// How logs are written on stderr.
    pub format: LogFormat,
    /// The OTLP/gRPC collector to export a span per call to; no export when
    /// `None`.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of exported spans; without it
    /// `OTEL_SERVICE_NAME`, then `tollgate`.
    pub otlp_service_name: Option<String>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The installed subscriber's exporter, if any. Shut it down (or drop it)
/// after the server has stopped: pending spans are flushed then.
#[derive(Debug, Default)]
pub struct Telemetry {
    export: Option<Export>,
}

#[derive(Debug)]
struct Export {
    provider: SdkTracerProvider,
    // Drives the exporter's gRPC channel; dropped after the last flush.
    runtime: tokio::runtime::Runtime,
}

/// Installs the process-wide subscriber: logs on stderr in the format
/// `settings` asks for and, with an OTLP endpoint, span export.
///
/// # Errors
/// The exporter cannot be built, or a subscriber is already installed.
pub fn init(settings: &TraceSettings) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let logs = match settings.format {
        LogFormat::Pretty => logs.boxed(),
        LogFormat::Json => logs.json().boxed(),
    }
    .with_filter(filter);
    let export = match &settings.otlp_endpoint {
        Some(endpoint) => Some(export(endpoint, settings.otlp_service_name.as_deref())?),
        None => None,
    };
    let spans = export.as_ref().map(|e| {
        tracing_opentelemetry::layer()
            .with_tracer(e.provider.tracer("tollgate"))
            // The span's fields are the story; thread and source location
            // would add attributes to every span for nothing.
            .with_threads(false)
            .with_location(false)
            .with_filter(Targets::new().with_target(RPC_TARGET, Level::DEBUG))
    });
    tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init()
        .context("installing the log subscriber")?;
    if let Some(endpoint) = &settings.otlp_endpoint {
        tracing::info!(endpoint = %endpoint, "exporting spans over OTLP");
    }
    Ok(Telemetry { export })
}

fn export(endpoint: &str, service_name: Option<&str>) -> anyhow::Result<Export> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otlp-export")
        .enable_all()
        .build()
        .context("starting the span export runtime")?;
    // The tonic channel spawns its worker on the runtime it is built in.
    let exporter = {
        let _runtime = runtime.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .with_context(|| format!("--otlp-endpoint `{endpoint}`"))?
    };
    // `Resource::builder` reads OTEL_SERVICE_NAME and
    // OTEL_RESOURCE_ATTRIBUTES; the flag wins over both.
    let from_env = std::env::var_os("OTEL_SERVICE_NAME").is_some_and(|v| !v.is_empty());
    let mut resource = Resource::builder()
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    match service_name {
        Some(name) => resource = resource.with_service_name(name.to_owned()),
        None if !from_env => resource = resource.with_service_name(SERVICE_NAME),
        None => {}
    }
    let provider = SdkTracerProvider::builder()
        .with_resource(resource.build())
        .with_batch_exporter(exporter)
        .build();
    Ok(Export { provider, runtime })
}

impl Telemetry {
    /// Flushes pending spans (bounded by a timeout) and stops the exporter;
    /// logging goes on. A no-op without export.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(Export { provider, runtime }) = self.export.take() {
            if let Err(e) = provider.shutdown_with_timeout(FLUSH_TIMEOUT) {
                tracing::warn!(error = %e, "spans may be lost: the exporter did not flush");
            }
            // Flushed or timed out: nothing left on it is worth waiting for.
            runtime.shutdown_background();
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.stop();
    }
}
