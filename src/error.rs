//! The top-level error: each layer has its own error enum, composed here.

use thiserror::Error;

/// Any error mailroom's library can return.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A model could not be found, verified, loaded or run.
    #[error(transparent)]
    Model(#[from] crate::models::ModelError),
    /// Reading or writing a file outside the model store failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: std::path::PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A `Result` with mailroom's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
