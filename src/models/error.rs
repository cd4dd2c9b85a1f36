//! Errors of the model store and the model roles.

use std::path::PathBuf;

use thiserror::Error;

/// Why a model could not be found, verified, loaded or run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The manifest (`models/models.toml`) could not be read or parsed.
    #[error("model manifest {path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The reference names no known model, folder or file.
    #[error(
        "unknown model '{reference}': not a manifest id, a folder, a .gguf file or hf:owner/repo"
    )]
    Unknown {
        /// The reference as given.
        reference: String,
    },
    /// A model the manifest knows is not on disk.
    #[error("model '{id}' is not installed: {path} is missing; run `models/fetch` to fetch the default models")]
    Missing {
        /// The model id.
        id: String,
        /// The file that is missing.
        path: PathBuf,
    },
    /// A hub model is neither in the local cache nor allowed to be downloaded.
    #[error("{reference}: {file} is not in the local hub cache ({cache}); allow downloads with --allow-download or MAILROOM_ALLOW_DOWNLOAD=1, or copy the model folder in and name its path")]
    NotCached {
        /// The `hf:` reference.
        reference: String,
        /// The file that was needed.
        file: String,
        /// The hub cache folder searched.
        cache: PathBuf,
    },
    /// Downloading from the hub failed.
    #[error("downloading {reference}: {reason}")]
    Download {
        /// The `hf:` reference.
        reference: String,
        /// What went wrong.
        reason: String,
    },
    /// A file's SHA-256 is not the pinned one.
    #[error("{path}: SHA-256 mismatch: expected {expected}, found {actual}")]
    HashMismatch {
        /// The file.
        path: PathBuf,
        /// The pinned hash.
        expected: String,
        /// The hash of the file on disk.
        actual: String,
    },
    /// Reading a model file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A model file is present but not a valid model of the expected kind.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The model's architecture is not one mailroom can run.
    #[error("{path}: unsupported architecture '{arch}' (supported: {supported})")]
    UnsupportedArch {
        /// The file.
        path: PathBuf,
        /// The architecture it declares.
        arch: String,
        /// The architectures mailroom supports for this role.
        supported: &'static str,
    },
    /// The model resolved to the wrong role (e.g. a GGUF file given as the encoder).
    #[error("model '{id}' is a {actual} model, not a {expected}")]
    WrongRole {
        /// The model id.
        id: String,
        /// The role asked for.
        expected: super::Role,
        /// The role it has.
        actual: super::Role,
    },
    /// The tokenizer could not be built or failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The prompt does not fit the model's context window.
    #[error("prompt of {prompt_tokens} tokens plus {max_new_tokens} new tokens exceeds the context window of {context} tokens")]
    ContextOverflow {
        /// Tokens in the prompt.
        prompt_tokens: usize,
        /// Tokens asked for.
        max_new_tokens: usize,
        /// The model's context length.
        context: usize,
    },
    /// The chat template could not be rendered.
    #[error("chat template: {0}")]
    Template(String),
    /// The device could not be opened.
    #[error("device: {0}")]
    Device(String),
    /// A tensor operation failed while running the model.
    #[error("model run failed: {0}")]
    Run(#[from] candle_core::Error),
    /// The own generator forward failed.
    #[error("generation failed: {0}")]
    Generation(String),
}

impl ModelError {
    /// Wrap an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            source,
        }
    }

    /// A file that is not a valid model.
    pub(crate) fn invalid(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        ModelError::Invalid {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
