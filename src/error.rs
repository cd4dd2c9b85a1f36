//! The top-level error: each layer has its own error enum, composed here, so that a caller of
//! the library can hold any of them with its source chain intact.

use thiserror::Error;

/// Any error mailroom's library can return.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A message could not be read or parsed.
    #[error(transparent)]
    Email(#[from] crate::email::EmailError),
    /// A model could not be found, verified, loaded or run.
    #[error(transparent)]
    Model(#[from] crate::models::ModelError),
    /// The taxonomy, a head or a decision failed.
    #[error(transparent)]
    Classify(#[from] crate::classify::ClassifyError),
    /// A summary could not be made.
    #[error(transparent)]
    Summarize(#[from] crate::summarize::SummaryError),
    /// A library of standard lines for replies could not be read or used.
    #[error(transparent)]
    Replies(#[from] crate::replies::RepliesError),
    /// The engine could not be built or a run could not write its output.
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
    /// Training or evaluation failed.
    #[error(transparent)]
    Learn(#[from] crate::learn::LearnError),
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
