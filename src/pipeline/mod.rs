//! The one door into the engine. Every peer (the CLI, the HTTP API, the desk, the learning
//! layer) builds an [`Engine`] with [`EngineBuilder`] and calls it; this is the only module where
//! `email`, `text`, the model roles, `classify` and `summarize` meet.
//!
//! - [`EngineBuilder`] loads what a [`Mode`] needs (taxonomy, heads, encoder, generator) from a
//!   [`ModelSpec`] and checks that it fits together.
//! - [`Engine::run`] streams messages through analyser threads and the generator thread and hands
//!   back one [`Output`] per message, in input order ([`stream`]); [`Engine::triage`] does a few
//!   on the calling thread; [`Engine::summarize`] summarises a text that is not a message.
//! - [`lanes`]: the model worker threads of a server, behind bounded queues.
//! - [`inspect`]: the parsed and prepared message, for people (`mailroom parse`).
//! - [`record`]: the record every message gets (or its error record).
//! - [`worker`]: workers over the store's job queue (`enqueue`, `worker`), past one machine.
//! - [`ingest`]: triage into the store; [`watch`]: a mailbox folder watched, its new mail
//!   triaged into the store or a file exactly once, its answer shown in the mailbox on request.
//!
//! The types peers need from the layers below are re-exported here, so that a peer needs no
//! other door.

pub mod analysis;
mod builder;
pub mod conversations;
pub mod document;
mod engine;
mod heads;
pub mod ingest;
pub mod inspect;
pub mod lanes;
mod models;
mod record;
pub mod redact;
mod replies;
pub mod resume;
mod stages;
pub mod store_heads;
pub mod stream;
pub mod threads;
pub mod watch;
pub mod worker;

pub use builder::{load_taxonomy, EngineBuilder};
pub use engine::{Engine, EngineConfig, Mode};
pub use models::ModelSpec;
pub use record::{
    input_sha256, ErrorBody, ErrorRecord, ModelRef, ModelsInfo, Output, Record, ReviewNote,
    StageTimings, TaxonomyInfo, RECORD_SCHEMA,
};
pub use replies::ReplyLibrary;
pub use store_heads::StoreHead;
pub use stream::RunStats;

pub use crate::classify::{AxisResult, ReviewPolicy};
/// The mailbox client (IMAP), for the commands that read a mailbox.
pub use crate::email::sources::imap;
pub(crate) use crate::email::sources::scan_message_id;
pub use crate::email::{
    read_inputs, Content, Limits, Message, Provenance, SourceKind, SourceOptions,
    DEFAULT_MAX_DEPTH, DEFAULT_MAX_PARTS, DEFAULT_MAX_SIZE,
};
pub use crate::models::{Implementation, Kernel, Precision};
pub use crate::replies::{Part as ReplyPart, Suggestion, Suggestions};
pub use crate::store::{LabelSource, TrainingExample};
pub use crate::summarize::facts::short_line as key_facts_line;
pub use crate::summarize::{
    LongMail, Method, Style, Summary, SummaryInput, SummaryOptions, ThreadMessage,
    DEFAULT_INPUT_TOKENS, DEFAULT_LEAD_BIAS, DEFAULT_MAX_CHUNKS,
};
pub use crate::text::DEFAULT_MAX_TOKENS;

/// Errors that stop a run or keep an engine from being built (per-message failures become
/// error records instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The taxonomy or the classifier could not be built.
    #[error(transparent)]
    Classify(#[from] crate::classify::ClassifyError),
    /// The library of standard lines for replies could not be loaded or does not fit.
    #[error(transparent)]
    Replies(#[from] crate::replies::RepliesError),
    /// A head file could not be loaded.
    #[error("loading head {}: {source}", path.display())]
    Head {
        /// The head file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: crate::classify::ClassifyError,
    },
    /// The model store could not be opened.
    #[error("opening the model store {}: {source}", dir.display())]
    Store {
        /// The store folder.
        dir: std::path::PathBuf,
        /// Why.
        #[source]
        source: crate::models::ModelError,
    },
    /// A model could not be loaded.
    #[error("loading {role} {id}: {source}")]
    Load {
        /// `encoder` or `generator`.
        role: &'static str,
        /// The model's id.
        id: String,
        /// Why.
        #[source]
        source: crate::models::ModelError,
    },
    /// A model could not be found or verified.
    #[error(transparent)]
    Model(#[from] crate::models::ModelError),
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
    /// The mailbox could not be read or changed.
    #[error(transparent)]
    Mailbox(#[from] crate::email::sources::imap::ImapError),
    /// A mailbox position file could not be read or written.
    #[error(transparent)]
    Position(#[from] crate::email::sources::imap::CursorError),
    /// The store failed.
    #[error(transparent)]
    Records(#[from] crate::store::StoreError),
    /// A watcher's settings do not fit the mailbox.
    #[error("{0}")]
    Watch(String),
}
