//! The store: messages, their triage records, the review work on them, people, and the work
//! queue, in SQLite (one file, embedded, the default: `sqlite:PATH`) or PostgreSQL (a shared
//! server: `postgres://USER@HOST/DB`), with one schema and one set of migrations for both.
//!
//! The store knows nothing of HTTP, the CLI or the pipeline's types: it takes a message's bytes,
//! its record as JSON, and the typed columns the queue filters and sorts on ([`NewMessage`]),
//! and gives them back. Every state change is one transaction; SQLite runs in WAL mode with
//! `synchronous = FULL`, so a commit that returned survives a crash of the process or the
//! machine. Messages are keyed by the SHA-256 of their bytes: putting one twice adds nothing.
//!
//! Both engines run the same SQL through sqlx's `Any` driver; the few places they differ (the
//! clock, row locks, the job claim, the search predicate, how the schema is rendered) live in
//! [`dialect`](Engine). The API is async (the desk is axum); [`BlockingStore`] serves sync
//! callers such as the CLI.
//!
//! ```no_run
//! use mailroom::store::{BlockingStore, NewMessage, QueueQuery};
//!
//! # fn main() -> Result<(), mailroom::store::StoreError> {
//! let store = BlockingStore::open("sqlite:desk.db")?;
//! let raw = b"Subject: hello\r\n\r\nPlease call me back.".to_vec();
//! let msg = NewMessage::new(raw, r#"{"schema":"mailroom.triage/1"}"#.into());
//! store.block_on(store.store().put(&msg))?;
//! let page = store.block_on(store.store().queue(&QueueQuery::default()))?;
//! assert_eq!(page.total, 1);
//! # Ok(()) }
//! ```

mod accounts;
mod blocking;
mod cursors;
mod dialect;
mod error;
mod export;
mod group_review;
mod groups;
mod heads;
mod jobs;
mod messages;
mod migrate;
mod queue;
mod queue_groups;
mod review;
pub mod similar;
mod stats;
mod training;
mod types;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor, Transaction};
use tokio::sync::Notify;

pub use accounts::{Account, NewSession, Role, Session, MIN_PASSWORD_CHARS};
pub use blocking::BlockingStore;
pub use cursors::{Cursor, CursorUpdate};
pub use dialect::Engine;
pub use error::{StoreError, StoreResult};
pub use export::ExportSummary;
pub use group_review::{GroupAction, GroupOutcome};
pub use groups::{Group, GroupId, MAX_VERIFIED};
pub use heads::{Head, HeadState, NewHead};
pub use jobs::{
    Completion, Enqueued, Job, JobCounts, JobState, JobWaiter, NewJob, CHANNEL,
    DEFAULT_MAX_ATTEMPTS,
};
pub use messages::{NewMessage, Put, StoredMessage, SEARCH_BODY_CHARS};
pub use migrate::SCHEMA_VERSION;
pub use queue::{
    Assignee, FacetCount, QueueCounts, QueueItem, QueueOrder, QueuePage, QueueQuery, DEFAULT_LIMIT,
    MAX_LIMIT, MIN_SEARCH_TERM_CHARS,
};
pub use review::{AuditEntry, Correction, Note, URGENT_LABEL};
pub use similar::Signature;
pub use stats::{DayCount, LabelChanges, Overview};
pub use training::{LabelSource, TrainingExample};
pub use types::{Label, MessageId, Status};

use error::query;

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections in the pool (SQLite: readers share the file; writes still take turns).
    pub max_connections: u32,
    /// How long to wait for a connection or, on SQLite, for the write lock.
    pub busy_timeout: Duration,
    /// Migrate only up to this schema version (tests of upgrades, staged roll-outs); `None`
    /// brings the schema to [`SCHEMA_VERSION`].
    pub schema_version: Option<i64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            schema_version: None,
        }
    }
}

/// A handle on the store: cheap to clone, safe to share between tasks.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    /// The connection URL, for PostgreSQL's LISTEN connection. Never logged.
    url: Arc<str>,
    /// Wakes this process's job waiters when it enqueues (SQLite has no LISTEN).
    local_jobs: Arc<Notify>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Open (creating when needed) the store at `url` and bring its schema up to date.
    pub async fn open(url: &str) -> StoreResult<Store> {
        Store::open_with(url, &StoreOptions::default()).await
    }

    /// [`Store::open`] with options.
    pub async fn open_with(url: &str, opts: &StoreOptions) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let (engine, url) = parse_url(url)?;
        let connect: AnyConnectOptions = url.parse().map_err(|source| StoreError::Connect {
            engine: engine.name(),
            source,
        })?;
        let busy_ms = opts.busy_timeout.as_millis();
        let pool = AnyPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.busy_timeout.max(Duration::from_secs(1)))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // WAL: readers never block the writer. synchronous=FULL: each commit is
                        // on disk before it returns, so an acknowledged write survives a power
                        // loss too (NORMAL would survive a process crash but could lose the
                        // last commits on power loss). Ingest batches many messages per commit,
                        // so the fsync per commit costs little.
                        let pragmas = format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms};"
                        );
                        conn.execute(pragmas.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await
            .map_err(|source| StoreError::Connect {
                engine: engine.name(),
                source,
            })?;
        migrate::run(&pool, engine, opts.schema_version).await?;
        tracing::debug!(engine = engine.name(), "store open");
        Ok(Store {
            pool,
            engine,
            url: url.into(),
            local_jobs: Arc::new(Notify::new()),
        })
    }

    /// The engine behind this store.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = $1")
                .bind(true)
                .fetch_one(&self.pool)
                .await
                .map_err(query("read schema version"))?;
        Ok(v.unwrap_or(0))
    }

    /// Close every connection (waits for those in use to come back).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begin a write transaction (on SQLite: holding the write lock from the start).
    pub(crate) async fn write_tx(&self) -> StoreResult<Transaction<'static, sqlx::Any>> {
        let tx = match self.engine.begin_write() {
            Some(begin) => self.pool.begin_with(begin).await,
            None => self.pool.begin().await,
        };
        tx.map_err(query("begin transaction"))
    }

    /// Render a query template for this store's engine (see [`Engine::sql`]).
    pub(crate) fn sql(&self, template: &'static str) -> std::borrow::Cow<'static, str> {
        self.engine.sql(template)
    }

    /// Check that the database answers (for readiness probes).
    pub async fn ping(&self) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(query("acquire"))?;
        conn.ping().await.map_err(query("ping"))
    }
}

/// Which engine a URL names, and the URL sqlx should open. `sqlite:PATH` creates the file when
/// missing (mode `rwc`).
fn parse_url(url: &str) -> StoreResult<(Engine, String)> {
    let bad = |reason| StoreError::Url {
        url: mask_password(url),
        reason,
    };
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(bad("no file path"));
        }
        if path == ":memory:" {
            return Err(bad("an in-memory store would lose everything on exit"));
        }
        let url = if path.contains('?') {
            format!("sqlite://{path}")
        } else {
            format!("sqlite://{path}?mode=rwc")
        };
        Ok((Engine::Sqlite, url))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Engine::Postgres, url.to_string()))
    } else {
        Err(bad("unknown scheme"))
    }
}

/// The URL with the password (if any) replaced by `***`, for messages.
fn mask_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("sqlite:/tmp/a.db").unwrap(),
            (Engine::Sqlite, "sqlite:///tmp/a.db?mode=rwc".into())
        );
        assert_eq!(
            parse_url("sqlite:desk.db").unwrap().1,
            "sqlite://desk.db?mode=rwc"
        );
        assert_eq!(parse_url("postgres://u@h/db").unwrap().0, Engine::Postgres);
        assert!(parse_url("mysql://x").is_err());
        assert!(parse_url("sqlite:").is_err());
        let e = parse_url("redis://u:secret@h/0").unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
    }
}
