//! The admin HTTP port: `/metrics`, `/healthz`, `/readyz`, the active
//! bundle's plan graph (`/bundle/graph.svg`) and the playground (`/ui`), on
//! a listener of its own so that scrapes and probes never queue behind gRPC
//! traffic or count against its limits.

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use tokio::net::TcpListener;

use super::{
    playground::{self, Playground},
    scrape::{Exposition, Format},
};
use crate::{
    bundle::CompiledBundle,
    domain::DecisionKind,
    live::{LiveBundle, Readiness},
};

/// Draws a bundle's plan graph, or a payments picture, as SVG (`tollgate
/// graph`'s pictures); implemented where the command lives, so this port
/// does not import it.
pub trait PlanGraph: Send + Sync {
    /// The SVG document of `decision`'s picture, or why it could not be
    /// drawn.
    fn svg(&self, bundle: &CompiledBundle, decision: DecisionKind) -> Result<String, String>;
}

/// What the admin port reports on.
pub struct Admin {
    /// `/metrics`.
    pub exposition: Exposition,
    /// The bundle whose presence and age `/readyz` reports.
    pub live: Arc<dyn LiveBundle>,
    /// `--max-bundle-age`: older is not ready.
    pub max_bundle_age: Option<Duration>,
    /// `/bundle/graph.svg`.
    pub graph: Arc<dyn PlanGraph>,
    /// `/ui`, the playground; not served when `None`.
    pub playground: Option<Arc<dyn Playground>>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("max_bundle_age", &self.max_bundle_age)
            .finish_non_exhaustive()
    }
}

/// Serves the admin port on an already-bound `listener` until `shutdown`
/// resolves (the same signal that stops gRPC).
pub async fn serve(
    listener: TcpListener,
    admin: Admin,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let ui = admin
        .playground
        .clone()
        .map(|p| playground::routes(p, admin.live.clone()));
    let mut app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/bundle/graph.svg", get(graph))
        .with_state(Arc::new(admin));
    if let Some(ui) = ui {
        app = app.merge(ui);
    }
    tracing::info!(addr = %listener.local_addr()?, "serving admin HTTP");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// `/metrics` in the format the scraper's `Accept` asks for: OpenMetrics
/// when named, else the text format 0.0.4.
async fn metrics(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    match admin.exposition.render(format) {
        Ok(body) => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
        Err(_) => {
            tracing::error!("encoding the metrics failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding the metrics failed\n",
            )
                .into_response()
        }
    }
}

/// Alive while the process runs: a probe that fails only when the process
/// cannot answer at all, so a restart could help.
async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(admin): State<Arc<Admin>>) -> Response {
    let readiness = Readiness::of(admin.live.as_ref(), admin.max_bundle_age);
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, format!("{readiness}\n")).into_response()
}

/// The decision type `?decision=` names (`plan-change`, the default,
/// `payment-link`, `charge-funding`; `_` for `-` too), or the bad value.
fn graph_decision(uri: &Uri) -> Result<DecisionKind, String> {
    let value = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("decision="));
    let Some(value) = value else {
        return Ok(DecisionKind::PlanChange);
    };
    DecisionKind::ALL
        .into_iter()
        .find(|k| k.label() == value.replace('-', "_"))
        .ok_or_else(|| {
            format!(
                "decision: `{value}` is not a decision type (plan-change, payment-link, charge-funding)\n"
            )
        })
}

/// The active bundle's plan graph (or, with `?decision=`, a payments
/// picture) as SVG, drawn off the async workers (it evaluates lint's
/// corpus); 503 while no bundle is active, 400 for an unknown decision.
async fn graph(State(admin): State<Arc<Admin>>, uri: Uri) -> Response {
    let decision = match graph_decision(&uri) {
        Ok(d) => d,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let Some(active) = admin.live.snapshot() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no active bundle\n").into_response();
    };
    let drawer = admin.graph.clone();
    match tokio::task::spawn_blocking(move || drawer.svg(&active.bundle, decision)).await {
        Ok(Ok(svg)) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "drawing the plan graph failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot draw the plan graph: {e}\n"),
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "drawing the plan graph failed\n",
        )
            .into_response(),
    }
}
