//! mailroom: self-hosted email triage.
//!
//! mailroom reads email as it really comes (`.eml`, mbox, Maildir, JSON lines), classifies each
//! message (category, priority, junk risk) with calibrated probabilities and an explicit
//! "needs review" route, and writes a short summary for the person who will answer it. Small open
//! transformer models run locally through candle; no email content leaves the machine.
//!
//! Data flows one way:
//!
//! ```text
//! bytes ──► email ──► text ──► models ──► classify / summarize ──► pipeline ──► cli / http
//! ```
//!
//! - [`email`]: raw bytes to [`email::Email`]; the mail sources (eml, mbox, Maildir, JSONL, stdin).
//! - [`text`]: an `Email` to the prepared text the models see (quotes and signatures stripped,
//!   token budget fitted).
//! - [`models`]: the verified model store and the two model roles, [`models::Encoder`] (sentence
//!   embeddings) and [`models::Generator`] (GGUF chat models).
//! - [`classify`] and [`summarize`]: decisions and summaries built on the model roles.
//! - [`store`]: messages, records, review work, accounts and the work queue in SQLite or
//!   PostgreSQL, for the desk, the mailbox watcher and the workers.
//!
//! ```no_run
//! use mailroom::models::{Device, Encoder, Store};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::open_default()?;
//! let encoder = Encoder::load(&store.resolve("all-minilm-l6-v2")?, &Device::Cpu)?;
//! let vectors = encoder.embed(&["Please move my appointment to Friday."])?;
//! assert_eq!(vectors[0].len(), 384);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod classify;
pub mod email;
pub mod error;
pub mod http;
pub mod models;
pub mod pipeline;
pub mod store;
pub mod summarize;
pub mod text;

pub use error::{Error, Result};

/// The mailroom version, as recorded in every output record.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
