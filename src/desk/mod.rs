//! The desk: the caseworkers' web page over the store (`mailroom desk`). Server-rendered HTML
//! (maud templates, checked when the crate compiles), one stylesheet and one small script for
//! keyboard shortcuts, both embedded in the binary; every action is a plain form POST that works
//! without the script. A JSON API under `/api/` gives other tools and tests the same work.
//!
//! Who may do what is decided here, on the server: a login session (an HTTP-only, `Secure`,
//! `SameSite=Strict` cookie whose token the store keeps only hashed), a CSRF token per session
//! that every form and every API write sends back, roles (a reviewer works the queue; an admin
//! also manages accounts), a login rate limit, and idle sessions that expire. Every response
//! carries a Content-Security-Policy that allows no inline script and nothing from elsewhere.
//!
//! The desk is a peer over the [`pipeline`](crate::pipeline) and the [`store`](crate::store):
//! it reads and changes the store, and triages the messages `POST /api/messages` brings with an
//! [`Engine`](crate::pipeline::Engine) handed to it once loaded ([`DeskState::set_engine`]). It
//! never reads the environment and never logs a message's content.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /login`, `POST /login`, `POST /logout` | sessions |
//! | `GET /` | the queue: filters, counts, search, pages |
//! | `GET /messages/{id}` | a message: summary, facts, evidence, decisions, text, history |
//! | `GET /messages/{id}/original` | its headers and original text, as text |
//! | `POST /messages/{id}/{accept,label,assign,note,status}` | the actions |
//! | `POST /groups/{id}/{accept,label,status}` | the same for every member of a group of near-duplicates |
//! | `GET /overview` | volumes, review share, corrections per label, as SVG charts |
//! | `GET /accounts`, `POST /accounts...` | accounts (admins only) |
//! | `GET /learning`, `POST /learning/...` | heads trained from corrections: train, compare, promote, discard, roll back (admins only) |
//! | `GET /help` | the keyboard shortcuts |
//! | `/api/...` | the JSON contract, see [`openapi`] |

mod actions;
mod api;
mod assets;
mod auth;
mod charts;
mod error;
mod filters;
mod group_actions;
mod highlight;
mod intake;
mod learning;
mod limiter;
pub mod openapi;
mod pages;
mod record;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Semaphore;

pub use learning::{TrainJob, TrainStatus, TrainedHead, Trainer};
pub use limiter::LoginLimits;

use crate::pipeline::{Engine, EngineBuilder};
use crate::store::Store;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "mailroom_session";

/// Settings of the desk. Every default lives in [`DeskConfig::default`].
#[derive(Debug, Clone)]
pub struct DeskConfig {
    /// A session unused for this long ends.
    pub session_idle: Duration,
    /// A session ends this long after login, however much it is used.
    pub session_lifetime: Duration,
    /// How wrong passwords are slowed.
    pub login: LoginLimits,
    /// Largest request body (a message given to `POST /api/messages`).
    pub max_body_bytes: usize,
    /// Messages per queue page.
    pub page_size: u64,
    /// Days of daily volume on the overview.
    pub overview_days: u32,
    /// `POST /api/messages` queues messages for workers instead of triaging them (no engine).
    pub queue: bool,
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            session_idle: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 3600),
            login: LoginLimits::default(),
            max_body_bytes: 4 * 1024 * 1024,
            page_size: 50,
            overview_days: 30,
            queue: false,
        }
    }
}

/// Where the engine for `POST /api/messages` stands.
enum EngineSlot {
    /// Loaded; with the store's active heads (axis, id) it was built on, when it follows them.
    Ready(Arc<Engine>, Option<Vec<(String, i64)>>),
    /// The store's active heads changed and cannot be used (why); this engine, built on the
    /// heads before, no longer triages, but its models serve the next rebuild.
    Stale(Arc<Engine>, String),
    /// Loading failed; the desk works on, but cannot triage new messages.
    Failed(String),
}

struct Shared {
    store: Store,
    config: DeskConfig,
    limiter: limiter::LoginLimiter,
    /// Password checks run one or two at a time: argon2 is slow on purpose, and a flood of
    /// logins must not take every core from the caseworkers.
    password_checks: Semaphore,
    engine: RwLock<Option<EngineSlot>>,
    /// Builds the engine again on other store heads (set when the engine follows the store).
    rebuild: OnceLock<EngineBuilder>,
    /// One rebuild at a time.
    reload: tokio::sync::Mutex<()>,
    /// Trains candidate heads (the command line hands it over).
    trainer: OnceLock<Arc<dyn Trainer>>,
    /// Training per axis since the desk started.
    training: Mutex<BTreeMap<String, TrainStatus>>,
}

/// The desk's shared state: the store, the settings, the login limiter and (once loaded) the
/// engine. Cheap to clone.
#[derive(Clone)]
pub struct DeskState(Arc<Shared>);

impl std::fmt::Debug for DeskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeskState")
            .field("store", &self.0.store)
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

impl DeskState {
    /// A desk over `store`. It serves at once; `POST /api/messages` answers 503 until
    /// [`DeskState::set_engine`].
    pub fn new(store: Store, config: DeskConfig) -> DeskState {
        let limiter = limiter::LoginLimiter::new(config.login.clone());
        DeskState(Arc::new(Shared {
            store,
            config,
            limiter,
            password_checks: Semaphore::new(2),
            engine: RwLock::new(None),
            rebuild: OnceLock::new(),
            reload: tokio::sync::Mutex::new(()),
            trainer: OnceLock::new(),
            training: Mutex::new(BTreeMap::new()),
        }))
    }

    /// Hand over the engine that triages new messages. Only the first call counts.
    pub fn set_engine(&self, engine: Arc<Engine>) {
        let mut slot = self.slot_mut();
        if slot.is_none() {
            *slot = Some(EngineSlot::Ready(engine, None));
        }
    }

    /// Record that the engine could not be loaded (`POST /api/messages` then says why, once).
    pub fn engine_failed(&self, why: String) {
        let mut slot = self.slot_mut();
        if slot.is_none() {
            *slot = Some(EngineSlot::Failed(why));
        }
    }

    fn slot(&self) -> RwLockReadGuard<'_, Option<EngineSlot>> {
        self.0.engine.read().unwrap_or_else(|p| p.into_inner())
    }

    fn slot_mut(&self) -> RwLockWriteGuard<'_, Option<EngineSlot>> {
        self.0.engine.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The settings.
    pub fn config(&self) -> &DeskConfig {
        &self.0.config
    }

    /// Delete expired and idle sessions (the server runs this now and then).
    pub async fn purge_sessions(&self) -> Result<u64, crate::store::StoreError> {
        self.0
            .store
            .purge_sessions(self.0.config.session_idle)
            .await
    }

    fn engine(&self) -> Result<Arc<Engine>, error::Fail> {
        match &*self.slot() {
            Some(EngineSlot::Ready(e, _)) => Ok(Arc::clone(e)),
            Some(EngineSlot::Stale(_, why) | EngineSlot::Failed(why)) => {
                Err(error::Fail::EngineFailed(why.clone()))
            }
            None => Err(error::Fail::NotReady),
        }
    }
}

/// Every route, as `(method, path)`; `GET /api/openapi.json` documents the `/api/` ones and
/// `POST /login` (a test checks both lists against the router).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/"),
    ("GET", "/messages/{id}"),
    ("GET", "/messages/{id}/original"),
    ("POST", "/messages/{id}/accept"),
    ("POST", "/messages/{id}/label"),
    ("POST", "/messages/{id}/assign"),
    ("POST", "/messages/{id}/note"),
    ("POST", "/messages/{id}/status"),
    ("POST", "/groups/{id}/accept"),
    ("POST", "/groups/{id}/label"),
    ("POST", "/groups/{id}/status"),
    ("GET", "/overview"),
    ("GET", "/help"),
    ("GET", "/accounts"),
    ("POST", "/accounts"),
    ("POST", "/accounts/{name}/role"),
    ("POST", "/accounts/{name}/disabled"),
    ("POST", "/accounts/{name}/password"),
    ("GET", "/learning"),
    ("POST", "/learning/train"),
    ("POST", "/learning/heads/{id}/promote"),
    ("POST", "/learning/heads/{id}/discard"),
    ("POST", "/learning/rollback"),
    ("GET", "/assets/desk.css"),
    ("GET", "/assets/desk.js"),
    ("GET", "/healthz"),
    ("GET", "/api/session"),
    ("GET", "/api/queue"),
    ("POST", "/api/messages"),
    ("GET", "/api/messages/{id}"),
    ("POST", "/api/messages/{id}/labels"),
    ("POST", "/api/messages/{id}/status"),
    ("GET", "/api/openapi.json"),
];

/// The router: pages, actions, the API, the assets, and the security headers on every answer.
pub fn app(state: DeskState) -> Router {
    let pages = Router::new()
        .route("/login", get(pages::login::show).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/", get(pages::queue::show))
        .route("/messages/{id}", get(pages::message::show))
        .route("/messages/{id}/original", get(pages::message::original))
        .route("/messages/{id}/accept", post(actions::accept))
        .route("/messages/{id}/label", post(actions::label))
        .route("/messages/{id}/assign", post(actions::assign))
        .route("/messages/{id}/note", post(actions::note))
        .route("/messages/{id}/status", post(actions::status))
        .route("/groups/{id}/accept", post(group_actions::accept))
        .route("/groups/{id}/label", post(group_actions::label))
        .route("/groups/{id}/status", post(group_actions::status))
        .route("/overview", get(pages::overview::show))
        .route("/help", get(pages::help))
        .route(
            "/accounts",
            get(pages::accounts::show).post(pages::accounts::add),
        )
        .route("/accounts/{name}/role", post(pages::accounts::role))
        .route("/accounts/{name}/disabled", post(pages::accounts::disabled))
        .route("/accounts/{name}/password", post(pages::accounts::password))
        .route("/learning", get(pages::learning::show))
        .route("/learning/train", post(pages::learning::train))
        .route(
            "/learning/heads/{id}/promote",
            post(pages::learning::promote),
        )
        .route(
            "/learning/heads/{id}/discard",
            post(pages::learning::discard),
        )
        .route("/learning/rollback", post(pages::learning::rollback))
        .route("/assets/desk.css", get(assets::css))
        .route("/assets/desk.js", get(assets::js))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { error::Page(error::Fail::NotFound) });
    let api = Router::new()
        .route("/session", get(api::session))
        .route("/queue", get(api::queue))
        .route("/messages", post(api::add_message))
        .route("/messages/{id}", get(api::message))
        .route("/messages/{id}/labels", post(api::label))
        .route("/messages/{id}/status", post(api::status))
        .route("/openapi.json", get(api::openapi))
        .fallback(|| async { error::Api(error::Fail::NotFound) })
        .method_not_allowed_fallback(|| async { error::Api(error::Fail::MethodNotAllowed) });
    let limit = state.config().max_body_bytes;
    Router::new()
        .merge(pages)
        .nest("/api", api)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn(auth::same_origin))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(security_headers))
        // Request spans: method and path only, never bodies or queries (a search is content).
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("desk", method = %req.method(), path = %req.uri().path())
                })
                // Internal errors log themselves (`error::Fail`); a 503 while loading is no error.
                .on_failure(()),
        )
        .with_state(state)
}

/// The Content-Security-Policy: this origin's script and style only, no inline script, no
/// framing, forms only to this origin.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}
