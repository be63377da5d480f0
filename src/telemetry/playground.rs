//! The playground at `/ui` on the admin port: a page (embedded, no CDN)
//! that shows the live bundle's status and decides requests typed in proto
//! JSON with it, explain trace included. It only decides: nothing here
//! changes the bundle. Deciding is behind [`Playground`], which `app`
//! implements with `tollgate eval`'s JSON functions, so this module needs
//! neither `grpc` nor `app`.

mod examples;

use std::sync::Arc;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};

use crate::live::LiveBundle;

/// The largest request body `POST /ui/api/decide/...` reads; a larger one
/// is refused with 413 before it is read whole.
pub const MAX_BODY: usize = 64 * 1024;

const INDEX: &str = include_str!("playground/index.html");
const SCRIPT: &str = include_str!("playground/playground.js");
const STYLE: &str = include_str!("playground/playground.css");

/// Deciding requests in proto JSON with the live bundle, for the page.
pub trait Playground: Send + Sync {
    /// The decision types, in the order the page shows them.
    fn kinds(&self) -> Vec<Kind>;

    /// `GetBundleStatus` of the live bundle, in proto3 JSON: exactly what
    /// a gRPC client reads.
    fn status(&self) -> Result<String, Refusal>;

    /// Decides `body`, a request of the kind whose [`Kind::slug`] is
    /// `kind`, in proto JSON, with the live bundle; the decision in proto3
    /// JSON.
    fn decide(&self, kind: &str, body: &str) -> Result<String, Refusal>;

    /// Where gRPC listens, for the page's grpcurl command (`localhost:50051`),
    /// and whether it speaks plaintext.
    fn grpc_target(&self) -> (String, bool);
}

/// A decision type as the page offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    /// Its path under `/ui/api/decide/` (`plan-change`).
    pub slug: String,
    /// Its gRPC method (`tollgate.v1.DecisionService/DecidePlanChange`).
    pub method: String,
}

/// Why a request got no decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No decision type has that slug (404).
    UnknownKind(String),
    /// No bundle is active (503).
    NoBundle,
    /// Bad JSON or an invalid request: what `tollgate eval` prints (400).
    BadRequest(String),
    /// The deciding rule needs a fact the request lacks (422).
    Precondition(String),
    /// A bug: the decision could not be encoded (500).
    Internal(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::UnknownKind(kind) => {
                (StatusCode::NOT_FOUND, format!("no decision type `{kind}`"))
            }
            Self::NoBundle => (
                StatusCode::SERVICE_UNAVAILABLE,
                "no bundle is active".to_owned(),
            ),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            Self::Precondition(m) => (StatusCode::UNPROCESSABLE_ENTITY, m),
            Self::Internal(m) => {
                tracing::error!(error = %m, "the playground could not answer");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
        };
        let body = serde_json::json!({ "error": message }).to_string();
        (status, [(header::CONTENT_TYPE, JSON)], body).into_response()
    }
}

const JSON: &str = "application/json";

/// What the playground's routes read.
struct Page {
    playground: Arc<dyn Playground>,
    live: Arc<dyn LiveBundle>,
}

/// The playground's routes: `/ui` and what it loads.
pub fn routes(playground: Arc<dyn Playground>, live: Arc<dyn LiveBundle>) -> Router {
    Router::new()
        .route(
            "/ui",
            get(|| async { static_file(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/ui/",
            get(|| async { static_file(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/ui/playground.js",
            get(|| async { static_file(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/ui/playground.css",
            get(|| async { static_file(STYLE, "text/css; charset=utf-8") }),
        )
        .route("/ui/api/status", get(status))
        .route(
            "/ui/api/decide/{kind}",
            post(decide).layer(DefaultBodyLimit::max(MAX_BODY)),
        )
        .with_state(Arc::new(Page { playground, live }))
}

fn static_file(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // The page loads nothing from anywhere else, and runs no
            // script but its own.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:",
            ),
        ],
        body,
    )
        .into_response()
}

/// The bundle's status, its locales, and the decision types with the
/// README's example requests of each.
async fn status(State(page): State<Arc<Page>>) -> Result<Response, Refusal> {
    let bundle: serde_json::Value = serde_json::from_str(&page.playground.status()?)
        .map_err(|e| Refusal::Internal(e.to_string()))?;
    let (locales, default_locale) = match page.live.snapshot() {
        Some(active) => {
            let locales = &active.bundle.locales;
            (
                locales.iter().map(|l| l.tag.to_string()).collect(),
                locales.default_locale().tag.to_string(),
            )
        }
        None => (Vec::new(), String::new()),
    };
    let examples = examples::from_readme();
    let kinds: Vec<_> = page
        .playground
        .kinds()
        .into_iter()
        .map(|kind| {
            let of_kind: Vec<_> = examples
                .iter()
                .filter(|e| e.method == kind.method)
                .map(|e| {
                    serde_json::json!({
                        "title": e.title,
                        "body": e.body,
                        "locale": e.accept_language,
                    })
                })
                .collect();
            serde_json::json!({
                "slug": kind.slug,
                "method": kind.method,
                "examples": of_kind,
            })
        })
        .collect();
    let (address, plaintext) = page.playground.grpc_target();
    let body = serde_json::json!({
        "bundle": bundle,
        "locales": locales,
        "defaultLocale": default_locale,
        "kinds": kinds,
        "grpc": { "address": address, "plaintext": plaintext },
    });
    Ok(([(header::CONTENT_TYPE, JSON)], body.to_string()).into_response())
}

async fn decide(
    State(page): State<Arc<Page>>,
    Path(kind): Path<String>,
    body: String,
) -> Result<Response, Refusal> {
    let decision = page.playground.decide(&kind, &body)?;
    Ok(([(header::CONTENT_TYPE, JSON)], decision).into_response())
}
