//! The HTTP API: `mailroom serve` puts [`app`] on a socket. Routes, request and response types,
//! limits (body cap, timeout, bearer token), metrics and the OpenAPI document live here; model
//! work runs on the pipeline's lanes (dedicated threads behind bounded queues, see
//! [`crate::pipeline::lanes`]): this module only queues work for them. It knows nothing of the
//! command line and never reads the environment.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /v1/triage` | classify and summarise one message (or a JSON array of a few) |
//! | `POST /v1/classify` | classify one message (no summary) |
//! | `POST /v1/summarize` | summarise one message |
//! | `GET /v1/models` | the models (ids, SHA-256, roles), axes and taxonomy |
//! | `GET /healthz` | the process is up |
//! | `GET /readyz` | the models are loaded and warmed |
//! | `GET /metrics` | Prometheus text |
//! | `GET /openapi.json` | the OpenAPI document of these routes |

mod error;
mod metrics;
pub mod openapi;
mod routes;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use error::ApiError;

use crate::pipeline::lanes::{self, LaneSizes, Lanes, ModelsReport, Service};

/// Limits and sizes of the server. Every default lives in [`HttpConfig::default`].
#[derive(Clone)]
pub struct HttpConfig {
    /// Largest request body in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Longest a request may take, queue wait included; past it the answer is 503 `timeout`.
    pub request_timeout: Duration,
    /// Messages the encoder lane (classify) holds, queued or in work, before answering 429.
    pub encoder_queue: usize,
    /// Messages the generator lane (triage, summarize) holds before answering 429.
    pub generator_queue: usize,
    /// Largest encoder batch built from concurrent classify requests.
    pub batch: usize,
    /// Most messages in one `POST /v1/triage` array.
    pub max_messages: usize,
    /// The `Retry-After` of a 429, in seconds.
    pub retry_after_secs: u64,
    /// Bearer token every route but `/healthz` and `/readyz` requires, when set.
    pub token: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(60),
            encoder_queue: 64,
            generator_queue: 8,
            batch: 16,
            max_messages: 8,
            retry_after_secs: 1,
            token: None,
        }
    }
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("request_timeout", &self.request_timeout)
            .field("encoder_queue", &self.encoder_queue)
            .field("generator_queue", &self.generator_queue)
            .field("batch", &self.batch)
            .field("max_messages", &self.max_messages)
            .field("retry_after_secs", &self.retry_after_secs)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

struct Ready {
    lanes: Lanes,
    models: ModelsReport,
}

struct Shared {
    config: HttpConfig,
    token_sha256: Option<[u8; 32]>,
    metrics: metrics::Metrics,
    ready: OnceLock<Ready>,
    draining: AtomicBool,
    requests: AtomicU64,
}

/// The server's shared state: configuration, metrics and, once started, the model lanes.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.0.config)
            .field("ready", &self.is_ready())
            .finish()
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl AppState {
    /// A server with no models yet: `/healthz` answers, `/readyz` and the model routes answer
    /// 503 until [`AppState::start`].
    pub fn new(config: HttpConfig) -> Self {
        let token_sha256 = config.token.as_deref().map(|t| sha256(t.as_bytes()));
        AppState(Arc::new(Shared {
            config,
            token_sha256,
            metrics: metrics::Metrics::default(),
            ready: OnceLock::new(),
            draining: AtomicBool::new(false),
            requests: AtomicU64::new(0),
        }))
    }

    /// Start the model lanes over `service`. Each lane warms up on its own thread; `/readyz`
    /// turns 200 when both have. Errors when the threads cannot start or when already started.
    pub fn start(&self, service: Arc<dyn Service>) -> std::io::Result<()> {
        let c = &self.0.config;
        let models = service.models();
        let lanes = lanes::start(
            service,
            LaneSizes {
                encoder: c.encoder_queue,
                generator: c.generator_queue,
                batch: c.batch,
                retry_after: c.retry_after_secs,
            },
        )?;
        self.0
            .ready
            .set(Ready { lanes, models })
            .map_err(|_| std::io::Error::other("the model lanes are already started"))
    }

    /// Whether the models are loaded and warmed and the server is not shutting down.
    pub fn is_ready(&self) -> bool {
        !self.0.draining.load(Ordering::Acquire)
            && self.0.ready.get().is_some_and(|r| r.lanes.warmed())
    }

    /// Mark the server as shutting down: `/readyz` answers 503 so load balancers stop sending;
    /// requests already accepted still finish.
    pub fn begin_shutdown(&self) {
        self.0.draining.store(true, Ordering::Release);
    }

    fn config(&self) -> &HttpConfig {
        &self.0.config
    }

    fn next_request(&self) -> u64 {
        self.0.requests.fetch_add(1, Ordering::Relaxed)
    }

    fn ready(&self) -> Result<&Ready, ApiError> {
        match self.0.ready.get() {
            Some(r) if r.lanes.warmed() => Ok(r),
            _ => Err(ApiError::NotReady),
        }
    }

    fn lanes(&self) -> Vec<metrics::LaneGauge> {
        match self.0.ready.get() {
            Some(r) => r
                .lanes
                .depths()
                .into_iter()
                .map(|(lane, depth, capacity)| metrics::LaneGauge {
                    lane,
                    depth,
                    capacity,
                })
                .collect(),
            None => Vec::new(),
        }
    }
}

/// The routes every server has; `/openapi.json` documents exactly these (a test checks it).
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/triage"),
    ("POST", "/v1/classify"),
    ("POST", "/v1/summarize"),
    ("GET", "/v1/models"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
];

/// The router: every route, the body cap, the per-request timeout, the bearer token (all routes
/// but `/healthz` and `/readyz`), metrics, and JSON answers for unknown routes and methods.
pub fn app(state: AppState) -> Router {
    let protected = Router::new()
        .route("/v1/triage", post(routes::triage))
        .route("/v1/classify", post(routes::classify))
        .route("/v1/summarize", post(routes::summarize))
        .route("/v1/models", get(routes::models))
        .route("/metrics", get(routes::metrics))
        .route("/openapi.json", get(routes::openapi))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let open = Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz));
    let limit = state.config().max_body_bytes;
    Router::new()
        .merge(protected)
        .merge(open)
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        // Request spans and timings (method and path only, never bodies). 5xx are logged by
        // `ApiError` with their detail, so the layer's own failure log stays off.
        .layer(tower_http::trace::TraceLayer::new_for_http().on_failure(()))
        .with_state(state)
}

/// Count and time every request by its route pattern (never its path: no unbounded labels).
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let t = Instant::now();
    let response = next.run(req).await;
    state.0.metrics.request(
        &route,
        response.status().as_u16(),
        t.elapsed().as_secs_f64(),
    );
    response
}

async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config().request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::Timeout {
            secs: limit.as_secs(),
        }
        .into_response(),
    }
}

/// `Authorization: Bearer <token>`, compared in constant time (as SHA-256 digests, so that the
/// comparison does not depend on the token's length either).
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(expected) = &state.0.token_sha256 {
        let given = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        let ok = given.is_some_and(|t| bool::from(sha256(t.as_bytes()).ct_eq(expected)));
        if !ok {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(req).await
}
