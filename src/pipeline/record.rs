//! The triage record: one JSON object per message, versioned, carrying everything needed to
//! audit and reproduce the decision (input hash, model hashes, taxonomy hash, mailroom version).

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::classify::{AxisResult, ReviewReason};
use crate::email::{Attachment, Content, Message, Provenance};
use crate::summarize::facts::KeyFact;
use crate::summarize::Summary;
use crate::text::Truncation;

use super::analysis::{InjectionFinding, ReferenceDay, UrgencyEvidence};

/// The record schema name and version, written into every record. Bump the number when a field
/// changes meaning or is removed; adding a field keeps it.
pub const RECORD_SCHEMA: &str = "mailroom.triage/1";

/// A model as recorded: its id and the SHA-256 of its weights.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ModelRef {
    /// Manifest id, path or `hf:` reference.
    pub id: String,
    /// SHA-256 of the weights file.
    pub sha256: String,
}

/// The models behind a run.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct ModelsInfo {
    /// The encoder.
    pub encoder: Option<ModelRef>,
    /// The generator, when summaries are abstractive.
    pub generator: Option<ModelRef>,
    /// Trained heads, by file SHA-256.
    pub heads: Vec<ModelRef>,
}

/// The taxonomy behind the zero-shot axes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TaxonomyInfo {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// SHA-256 of its canonical TOML serialisation.
    pub sha256: String,
}

/// Why a message needs a person, as recorded.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReviewNote {
    /// An axis decision needs review.
    Axis {
        /// The axis.
        axis: String,
        /// Why.
        reason: ReviewReason,
    },
    /// The summary states facts the message does not support.
    UnfaithfulSummary {
        /// The unsupported facts as they appear in the summary.
        unsupported: Vec<String>,
    },
    /// The message could not be parsed cleanly.
    UncleanParse {
        /// What was not clean.
        warnings: Vec<String>,
    },
    /// The message holds text addressed to the model; it was set aside (the models did not
    /// read it). The spans are in the record's `injection`.
    PromptInjection {
        /// The texts set aside, as found.
        texts: Vec<String>,
    },
    /// The body is longer than the detectors read: urgency evidence and key facts come from
    /// its first `analysed_bytes` only.
    AnalysisCut {
        /// Bytes of the body the detectors read.
        analysed_bytes: usize,
        /// Bytes of the body.
        body_bytes: usize,
    },
}

/// Milliseconds per stage for one message. Encoder work is batched across messages; a
/// message's `embed_ms` is its share of its batch.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq)]
pub struct StageTimings {
    /// Parsing the raw bytes.
    pub parse_ms: f64,
    /// Preparing the text.
    pub prepare_ms: f64,
    /// Embedding (share of the batch).
    pub embed_ms: f64,
    /// Deciding every axis.
    pub classify_ms: f64,
    /// Summarising.
    pub summarize_ms: f64,
}

/// The record of one message that went through triage.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// [`RECORD_SCHEMA`].
    pub schema: &'static str,
    /// The message id (Message-ID when unique in the run, else source path and index).
    pub id: String,
    /// Where the message came from.
    pub source: Provenance,
    /// SHA-256 of the raw message bytes (or of the JSON line's fields).
    pub input_sha256: String,
    /// The sender.
    pub from: Option<String>,
    /// The subject.
    pub subject: Option<String>,
    /// The Date header, RFC 3339.
    pub date: Option<String>,
    /// ISO 639-3 code of the detected language.
    pub language: Option<String>,
    /// Attachments, listed (never opened).
    pub attachments: Vec<Attachment>,
    /// Bulk or list mail by its headers.
    pub bulk: bool,
    /// An automatic reply by its headers.
    pub auto_reply: bool,
    /// Per axis: label, probability, every label's probability, review flags.
    pub classification: Vec<AxisResult>,
    /// Whether a person must look at this message.
    pub needs_review: bool,
    /// Why (empty when `needs_review` is false).
    pub review: Vec<ReviewNote>,
    /// The summary, unless summaries were turned off.
    pub summary: Option<Summary>,
    /// The day relative dates ("by Friday", "within 7 days") were resolved against: the Date
    /// header's, or the day of processing when the message has none (`source` says which).
    pub reference_date: Option<ReferenceDay>,
    /// Urgency evidence: each cue with its span, what it adds up to, the one line that says why.
    pub evidence: Option<UrgencyEvidence>,
    /// Key facts a reply needs (references, amounts, dates and deadlines, addresses, phones,
    /// people, attachments), each a span of the message.
    pub key_facts: Vec<KeyFact>,
    /// Standard lines proposed for the reply (the library's best paragraphs, placeholders
    /// filled from `key_facts`), when the engine has a library.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies: Option<crate::replies::Suggestions>,
    /// Text addressed to the model, with its spans; set aside before the models read the mail.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub injection: Vec<InjectionFinding>,
    /// What of the message did not fit the models' token budget.
    pub truncation: Option<Truncation>,
    /// Whether `--redact` masked personal data in the text fields.
    pub redacted: bool,
    /// Milliseconds per stage.
    pub timings_ms: StageTimings,
    /// The message's conversation (`--threads`): its id, this message's place, and on its last
    /// message the conversation's summary and open questions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<super::threads::ConversationInfo>,
    /// The models, with their hashes.
    pub models: ModelsInfo,
    /// The taxonomy, with its hash.
    pub taxonomy: Option<TaxonomyInfo>,
    /// The mailroom version that made this record.
    pub mailroom_version: &'static str,
}

/// Why a message has no triage record.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    /// The stage that failed: `read`, `parse`, `classify`, `summarize`.
    pub stage: &'static str,
    /// A stable error kind.
    pub kind: String,
    /// A description for people (no message content).
    pub message: String,
}

/// The record of a message that could not be triaged: the batch goes on without it.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRecord {
    /// [`RECORD_SCHEMA`].
    pub schema: &'static str,
    /// The message id.
    pub id: String,
    /// Where the message came from.
    pub source: Provenance,
    /// SHA-256 of the raw bytes, when they could be read.
    pub input_sha256: Option<String>,
    /// What went wrong.
    pub error: ErrorBody,
    /// The mailroom version.
    pub mailroom_version: &'static str,
}

impl ErrorRecord {
    /// The error record of `m`, failed at `stage` (`read`, `parse`, `classify`, `summarize`).
    pub fn for_message(m: &Message, stage: &'static str, kind: String, message: String) -> Self {
        ErrorRecord {
            schema: RECORD_SCHEMA,
            id: m.id.clone(),
            source: m.provenance.clone(),
            input_sha256: input_sha256(m),
            error: ErrorBody {
                stage,
                kind,
                message,
            },
            mailroom_version: crate::VERSION,
        }
    }
}

/// SHA-256 (hex) of some bytes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of what was read for a message: its raw bytes, or its JSON fields.
pub fn input_sha256(m: &Message) -> Option<String> {
    match &m.content {
        Ok(Content::Raw(raw)) => Some(sha256_hex(raw)),
        Ok(Content::Parts {
            from,
            subject,
            body,
        }) => {
            let v = serde_json::json!({"from": from, "subject": subject, "body": body});
            Some(sha256_hex(v.to_string().as_bytes()))
        }
        Err(_) => None,
    }
}

/// One line of output.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Output {
    /// A triaged message.
    Record(Box<Record>),
    /// A message that failed.
    Error(Box<ErrorRecord>),
}

impl Output {
    /// The message id.
    pub fn id(&self) -> &str {
        match self {
            Output::Record(r) => &r.id,
            Output::Error(e) => &e.id,
        }
    }

    /// Whether this is an error record.
    pub fn is_error(&self) -> bool {
        matches!(self, Output::Error(_))
    }
}
