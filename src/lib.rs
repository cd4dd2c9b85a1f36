//! mailroom: self-hosted email triage.
//!
//! mailroom reads email as it really comes (`.eml`, mbox, Maildir, JSON lines), classifies each
//! message (category, priority, junk risk) with calibrated probabilities and an explicit
//! "needs review" route, and writes a short summary for the person who will answer it. Small open
//! transformer models run locally through candle and mailroom's own forwards; no email content
//! leaves the machine.
//!
//! Data flows one way; [`pipeline`] is the one door every peer goes through:
//!
//! ```text
//! bytes ──► email ──► text ──► models ──► classify / summarize ──► pipeline ──► cli / http
//!                                      learn (train, eval, corpora) ──┘
//! ```
//!
//! - [`email`]: raw bytes to [`email::Email`]; the mail sources (eml, mbox, Maildir, JSONL, stdin).
//! - [`text`]: an `Email` to the prepared text the models see (quotes and signatures stripped,
//!   token budget fitted).
//! - [`models`]: the verified model store and the two model roles, [`models::Encoder`] (sentence
//!   embeddings) and [`models::Generator`] (GGUF chat models).
//! - [`classify`] and [`summarize`]: decisions and summaries built on the model roles.
//! - [`pipeline`]: the [`pipeline::Engine`], built by [`pipeline::EngineBuilder`]: triage,
//!   classify and summarise modes, the streaming run, the server's model lanes, the record.
//! - [`learn`]: corpora, training heads, evaluation.
//! - [`http`]: the HTTP API over the pipeline's lanes.
//! - [`store`]: messages, records, review work, accounts and the work queue in SQLite or
//!   PostgreSQL, for the desk, the mailbox watcher and the workers.
//! - [`desk`]: the caseworkers' web page over the store and the pipeline.
//!
//! ```no_run
//! use mailroom::pipeline::{read_inputs, EngineBuilder, Method, ModelSpec, Output, SourceOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = EngineBuilder::new(ModelSpec::default())
//!     .summary(Some(Method::Extractive))
//!     .build()?;
//! let inputs = vec![std::path::PathBuf::from("examples/inbox")];
//! let messages = read_inputs(&inputs, &SourceOptions::default());
//! engine.run(messages, &Default::default(), |out| {
//!     if let Output::Record(r) = out {
//!         println!("{}: {:?}", r.id, r.summary.as_ref().map(|s| &s.text));
//!     }
//!     Ok(())
//! })?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod classify;
pub mod desk;
pub mod email;
pub mod error;
pub mod http;
pub mod learn;
pub mod models;
pub mod pipeline;
pub mod replies;
pub mod store;
pub mod summarize;
pub mod text;

pub use error::{Error, Result};

/// The mailroom version, as recorded in every output record.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
