//! The store's error type: what failed, with the database error kept as the source.

use thiserror::Error;

/// Any error the store can return.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store URL is not one the store understands.
    #[error("store URL {url:?}: {reason} (expected sqlite:PATH or postgres://USER@HOST/DB)")]
    Url {
        /// The URL as given, with any password masked.
        url: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Connecting to the database failed.
    #[error("cannot open the {engine} store: {source}")]
    Connect {
        /// `sqlite` or `postgres`.
        engine: &'static str,
        /// The database error.
        #[source]
        source: sqlx::Error,
    },
    /// Bringing the schema up to date failed, or the database was made by a newer mailroom.
    #[error("store schema: {source}")]
    Migrate {
        /// The migration error (it names the version involved).
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("store: {what}: {source}")]
    Query {
        /// What the store was doing.
        what: &'static str,
        /// The database error.
        #[source]
        source: sqlx::Error,
    },
    /// The thing asked for does not exist.
    #[error("store: no {what} with id {id}")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A value given to the store is not valid (an unknown status or role, a bad JSON record).
    #[error("store: invalid {what}: {reason}")]
    Invalid {
        /// What was invalid.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The change conflicts with the stored state (a name already taken, a head in the wrong state).
    #[error("store: {0}")]
    Conflict(String),
    /// Hashing or checking a password failed.
    #[error("store: password hashing: {0}")]
    Password(String),
    /// A blocking call could not run (the runtime could not start or a task panicked).
    #[error("store: runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// Writing an export failed.
    #[error("store: export write: {0}")]
    Write(#[source] std::io::Error),
}

/// A `Result` with [`StoreError`].
pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// Wrap a database error with what the store was doing: `.map_err(query("put message"))`.
pub(crate) fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { what, source }
}
