//! Learning: labelled corpora, training heads, evaluating classifiers and summaries.
//!
//! The CLI (and the desk) call this layer; it reads mail through the pipeline (so training sees
//! what triage sees), fits and scores with `classify`'s models, and writes heads and reports.
//!
//! - [`corpus`]: labelled mail (labels CSV, a folder per label, JSON lines) and reference-
//!   summary corpora (AESLC, BC3).
//! - [`data`]: labelled mail for one axis, parsed and embedded ([`data::load`]).
//! - [`fit`]: folds, fitting and cross-validation of a logistic-regression head.
//! - [`curve`], [`active`]: learning curves, and which labels to ask for first.
//! - [`fewshot`]: heads from few labels (prototypes, blend) and the rule that picks one.
//! - [`train`]: a head from labelled mail, with its cross-validated metrics.
//! - [`eval`]: scores of a head, of zero-shot, or of cross-validation.
//! - [`from_store`], [`compare`]: a candidate head from the store's reviewed mail, compared
//!   with the head in use on the newer messages it did not train on.
//! - [`metrics`], [`plot`]: the scores and their SVG plots; [`summaries`]: ROUGE evaluation.

pub mod active;
pub mod cache;
pub mod choices;
pub mod compare;
pub mod corpus;
pub mod curve;
pub mod data;
pub mod eval;
pub mod fewshot;
pub mod fit;
pub mod from_store;
pub mod metrics;
pub mod plot;
pub mod summaries;
pub mod train;

use std::path::PathBuf;

/// Errors of the learning layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LearnError {
    /// Labelled data could not be read or does not fit the axis.
    #[error("data {}: {reason}", path.display())]
    Data {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A setting is not valid (a flag value, a label that is not on the axis).
    #[error("{0}")]
    Invalid(String),
    /// The classifier failed (a head, the taxonomy, the encoder).
    #[error(transparent)]
    Classify(#[from] crate::classify::ClassifyError),
    /// The engine or its models could not be loaded.
    #[error(transparent)]
    Pipeline(Box<crate::pipeline::PipelineError>),
}

impl From<crate::pipeline::PipelineError> for LearnError {
    fn from(e: crate::pipeline::PipelineError) -> Self {
        LearnError::Pipeline(Box::new(e))
    }
}

impl LearnError {
    fn io(path: &std::path::Path, source: std::io::Error) -> LearnError {
        LearnError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
