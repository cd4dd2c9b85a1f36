//! Triage into the store: every message not yet stored (by the SHA-256 of what was read) is
//! triaged and stored with its record, its raw bytes and the columns the desk's queue sorts and
//! filters on, one transaction per batch. Running it twice adds nothing; a run killed part way
//! loses at most the batch in hand, which the next run redoes.
//!
//! Messages read from a mailbox ([`Engine::ingest_at`]) also move the mailbox's position in the
//! store, in the same transaction as their records, so that it never runs ahead of them.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

use crate::email::{Content, Message};
use crate::store::{BlockingStore, CursorUpdate, Label, NewMessage, Signature};
use crate::text::{self, PrepareOptions};

use super::conversations::ThreadKey;
use super::engine::Engine;
use super::record::{input_sha256, Output, Record, ReviewNote};
use super::PipelineError;

/// Records committed per transaction.
pub const INGEST_BATCH: usize = 32;

/// Counts of an ingest run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Messages triaged and stored now.
    pub stored: usize,
    /// Messages already in the store (not triaged again).
    pub existed: usize,
    /// Messages stored with an error record.
    pub failed: usize,
    /// Stored messages that need review.
    pub needs_review: usize,
}

/// What is kept of a message while the engine triages it: its bytes and its search text.
struct Kept {
    raw: Vec<u8>,
    body: String,
    conversation: Option<String>,
    message_id: Option<String>,
    source: String,
}

/// A mailbox whose messages are ingested in UID order, each with its UID as its provenance
/// index (as the IMAP source gives them): the store's position in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxPosition {
    /// The mailbox's key in the store.
    pub mailbox: String,
    /// The UIDVALIDITY the UIDs belong to.
    pub uidvalidity: u32,
}

impl MailboxPosition {
    fn at(&self, uid: u64) -> CursorUpdate {
        CursorUpdate {
            mailbox: self.mailbox.clone(),
            uidvalidity: i64::from(self.uidvalidity),
            last_uid: i64::try_from(uid).unwrap_or(i64::MAX),
        }
    }
}

impl Engine {
    /// Triage and store every message of `messages` that the store does not hold yet;
    /// `on_output` sees each output as it is stored (for a progress bar). Per-message failures
    /// are stored as error records; a store failure stops the run.
    pub fn ingest<I, F>(
        &self,
        messages: I,
        store: &BlockingStore,
        on_output: F,
    ) -> Result<IngestStats, PipelineError>
    where
        I: Iterator<Item = Message>,
        F: FnMut(&Output),
    {
        self.ingest_at(messages, store, None, on_output)
    }

    /// [`Engine::ingest`] for messages read from a mailbox in UID order: each transaction also
    /// advances `position` to the UID of its last record; the last one to the highest UID
    /// read (messages already stored count as done). `None` is plain [`Engine::ingest`].
    pub fn ingest_at<I, F>(
        &self,
        messages: I,
        store: &BlockingStore,
        position: Option<&MailboxPosition>,
        mut on_output: F,
    ) -> Result<IngestStats, PipelineError>
    where
        I: Iterator<Item = Message>,
        F: FnMut(&Output),
    {
        let mut stats = IngestStats::default();
        let existed = Cell::new(0usize);
        let highest_read = Cell::new(0u64);
        let kept: RefCell<HashMap<String, Kept>> = RefCell::new(HashMap::new());
        let mut seen: HashSet<String> = HashSet::new();
        let fresh = messages.filter(|m| {
            let index = m.provenance.index.unwrap_or(0);
            highest_read.set(highest_read.get().max(index));
            let Some(sha) = input_sha256(m) else {
                return true; // unreadable: it gets an error record
            };
            let known = !seen.insert(sha.clone())
                || store
                    .block_on(store.store().find(&sha))
                    .ok()
                    .flatten()
                    .is_some();
            if known {
                existed.set(existed.get() + 1);
            } else {
                kept.borrow_mut().insert(sha, keep(m, self));
            }
            !known
        });
        let mut batch: Vec<NewMessage> = Vec::with_capacity(INGEST_BATCH);
        self.run(fresh, &HashSet::new(), |out| {
            let k = out_sha(out).and_then(|s| kept.borrow_mut().remove(&s));
            batch.push(stored_from(out, k));
            match out {
                Output::Record(r) => {
                    stats.stored += 1;
                    stats.needs_review += usize::from(r.needs_review);
                }
                Output::Error(_) => stats.failed += 1,
            }
            if batch.len() >= INGEST_BATCH {
                let at = position.map(|p| p.at(out_index(out)));
                flush(store, &mut batch, at.as_ref())?;
            }
            on_output(out);
            Ok(())
        })?;
        let at = position
            .filter(|_| highest_read.get() > 0)
            .map(|p| p.at(highest_read.get()));
        flush(store, &mut batch, at.as_ref())?;
        stats.existed = existed.get();
        Ok(stats)
    }
}

/// Commit a batch of rows, and the position when given, in one transaction.
fn flush(
    store: &BlockingStore,
    batch: &mut Vec<NewMessage>,
    position: Option<&CursorUpdate>,
) -> std::io::Result<()> {
    if batch.is_empty() && position.is_none() {
        return Ok(());
    }
    store
        .block_on(store.store().put_batch(batch, position))
        .map_err(std::io::Error::other)?;
    batch.clear();
    Ok(())
}

/// The provenance index of an output's message (its UID for a mailbox).
fn out_index(out: &Output) -> u64 {
    let source = match out {
        Output::Record(r) => &r.source,
        Output::Error(e) => &e.source,
    };
    source.index.unwrap_or(0)
}

fn out_sha(out: &Output) -> Option<String> {
    match out {
        Output::Record(r) => Some(r.input_sha256.clone()),
        Output::Error(e) => e.input_sha256.clone(),
    }
}

/// The bytes (raw, or the JSON fields of a parts message), the body text for search and the
/// conversation key of a message, read before it goes into the engine.
fn keep(m: &Message, engine: &Engine) -> Kept {
    let raw = match &m.content {
        Ok(Content::Raw(raw)) => raw.clone(),
        Ok(Content::Parts {
            from,
            subject,
            body,
        }) => serde_json::json!({"from": from, "subject": subject, "body": body})
            .to_string()
            .into_bytes(),
        Err(_) => Vec::new(),
    };
    let email = m.parse(&engine.config.limits).ok();
    let body = email
        .as_ref()
        .map(|e| text::prepare(e, &PrepareOptions::default()).body)
        .unwrap_or_default();
    let conversation = email
        .as_ref()
        .map(ThreadKey::of)
        .and_then(|k| k.parents.first().cloned().or_else(|| k.message_id.clone()));
    Kept {
        raw,
        body,
        conversation,
        message_id: email.and_then(|e| e.message_id),
        source: m.provenance.path.clone(),
    }
}

/// The store row of one output: the record (or error record), the message's bytes and body
/// text when known, and the queue's columns.
fn stored_from(out: &Output, kept: Option<Kept>) -> NewMessage {
    let record_json = serde_json::to_string(out).unwrap_or_else(|_| "{}".into());
    let mut m = NewMessage {
        record_json,
        record_schema: Some(super::record::RECORD_SCHEMA.to_string()),
        ..NewMessage::default()
    };
    if let Some(k) = kept {
        m.raw_size = k.raw.len() as u64;
        m.raw = Some(k.raw);
        // The near-duplicate signature of the prepared body (quotes and signatures stripped),
        // so that campaign copies and repeats join one group in the store.
        m.similarity = Signature::of(&k.body);
        m.body_text = k.body;
        m.conversation_key = k.conversation;
        m.header_message_id = k.message_id;
        m.source = Some(k.source);
    }
    match out {
        Output::Record(r) => fill_from_record(&mut m, r),
        Output::Error(e) => {
            // A message that could not be read has no bytes to hash: its identity is then
            // the hash of its id, stable across runs (so storing it again adds nothing).
            m.sha256 = e.input_sha256.clone().unwrap_or_else(|| {
                super::record::sha256_hex(format!("mailroom:unread:{}", e.id).as_bytes())
            });
            m.error_kind = Some(e.error.kind.clone());
            m.needs_review = true;
            m.review_reasons = vec![format!("error:{}", e.error.stage)];
            if m.source.is_none() {
                m.source = Some(e.source.path.clone());
            }
        }
    }
    m
}

/// The store row of a message the caller triaged itself (the desk's `POST /api/messages`).
pub fn stored_message(out: &Output, message: &Message, engine: &Engine) -> NewMessage {
    stored_from(out, Some(keep(message, engine)))
}

fn fill_from_record(m: &mut NewMessage, r: &Record) {
    m.sha256 = r.input_sha256.clone();
    let label = |axis: &str| {
        r.classification
            .iter()
            .find(|a| a.axis == axis)
            .map(|a| Label::new(a.label.clone(), a.probability as f64))
    };
    m.category = label("category");
    m.priority = label("priority");
    m.junk = label("junk");
    m.urgent = m.priority.as_ref().is_some_and(|p| p.label == "urgent");
    m.needs_review = r.needs_review;
    m.review_reasons = r.review.iter().map(reason_name).collect();
    m.date_ms = r
        .date
        .as_deref()
        .and_then(|d| d.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond());
    m.sender = r.from.clone();
    m.subject = r.subject.clone();
    if let Some(c) = &r.conversation {
        m.conversation_key = Some(c.id.clone());
    }
    m.model_version = Some(
        r.models
            .heads
            .iter()
            .chain(r.models.encoder.iter())
            .map(|h| format!("{}@{}", h.id, &h.sha256[..h.sha256.len().min(12)]))
            .collect::<Vec<_>>()
            .join(","),
    );
    m.taxonomy_version = r
        .taxonomy
        .as_ref()
        .map(|t| format!("{}@{}", t.name, t.version));
}

/// A review note's stable short name: `axis:reason` for an axis, else the note's kind.
fn reason_name(n: &ReviewNote) -> String {
    match n {
        ReviewNote::Axis { axis, reason } => {
            let v = serde_json::to_value(reason).unwrap_or_default();
            let kind = v["reason"].as_str().unwrap_or("review").to_string();
            format!("{axis}:{kind}")
        }
        ReviewNote::UnfaithfulSummary { .. } => "unfaithful_summary".into(),
        ReviewNote::UncleanParse { .. } => "unclean_parse".into(),
        ReviewNote::PromptInjection { .. } => "prompt_injection".into(),
        ReviewNote::AnalysisCut { .. } => "analysis_cut".into(),
    }
}
