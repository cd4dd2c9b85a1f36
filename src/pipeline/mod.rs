//! Triage: parse, prepare, classify, summarise, record. The only module where `email`, `text`,
//! the model roles, `classify` and `summarize` meet.
//!
//! [`Engine::run`] streams messages through a small pipeline of threads:
//!
//! ```text
//! reader ──batches──► analysers (parse, prepare, embed the batch, classify, [extractive])
//!                          │                      └──► generator thread (abstractive) ─┐
//!                          └──────────────────────────────────────────────────────────┴─► writer
//! ```
//!
//! Encoder work is batched across messages; the generator (one thread, it owns its KV cache)
//! works on one message while the analysers prepare the next ones. The writer puts records back
//! in input order, so the output is the same whatever the thread timing.

mod record;
pub mod redact;
pub mod resume;

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use record::{
    ErrorBody, ErrorRecord, ModelRef, ModelsInfo, Output, Record, ReviewNote, StageTimings,
    TaxonomyInfo, RECORD_SCHEMA,
};

use crate::classify::{
    Classifier, ClassifyError, Document, Embed, Head, ReviewPolicy, Taxonomy, ZeroShot,
};
use crate::email::{Content, Email, Limits, Message};
use crate::models::{Encoder, Generator};
use crate::summarize::{Summarizer, Summary, SummaryInput, SummaryOptions};
use crate::text::{self, PrepareOptions};

/// How messages are summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SummaryMode {
    /// With the generator (checked against the source).
    #[default]
    Abstractive,
    /// Central sentences chosen with the encoder.
    Extractive,
    /// No summary.
    None,
}

/// Everything that shapes a triage run besides the models.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Caps on message size, MIME depth and parts.
    pub limits: Limits,
    /// Token budget of the prepared text.
    pub max_tokens: usize,
    /// Summary method.
    pub summary: SummaryMode,
    /// Summary style, length, strictness.
    pub summary_options: SummaryOptions,
    /// When a decision goes to review.
    pub review: ReviewPolicy,
    /// Mask personal data in the record's text fields.
    pub redact: bool,
    /// Analyser threads (parse, prepare, embed, classify).
    pub jobs: usize,
    /// Messages per encoder batch.
    pub batch: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            limits: Limits::default(),
            max_tokens: text::DEFAULT_MAX_TOKENS,
            summary: SummaryMode::default(),
            summary_options: SummaryOptions::default(),
            review: ReviewPolicy::default(),
            redact: false,
            jobs: 1,
            batch: 16,
        }
    }
}

/// Errors that stop a run (not per-message failures, which become error records).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The classifier could not be built (taxonomy, heads).
    #[error(transparent)]
    Classify(#[from] ClassifyError),
    /// Abstractive summaries were asked for without a generator.
    #[error("abstractive summaries need a generator")]
    NoGenerator,
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// The loaded models and settings that triage messages.
pub struct Engine {
    /// Shared: `serve` builds its classify and triage engines over one loaded encoder.
    encoder: Arc<Encoder>,
    generator: Option<Mutex<Generator>>,
    classifier: Classifier,
    summarizer: Summarizer,
    config: EngineConfig,
    models: ModelsInfo,
    taxonomy: Option<TaxonomyInfo>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("models", &self.models)
            .field("taxonomy", &self.taxonomy)
            .finish()
    }
}

/// Counts of a finished run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RunStats {
    /// Messages triaged (records written).
    pub triaged: usize,
    /// Messages that failed (error records written).
    pub failed: usize,
    /// Messages skipped because their ids were already in the output (`--resume`).
    pub skipped: usize,
    /// Messages that need review.
    pub needs_review: usize,
}

/// A message analysed up to (not including) the abstractive summary.
struct Pending {
    record: Record,
    input: SummaryInput,
}

type Slot = (usize, Result<Pending, Output>);

/// Puts outputs back in input order and hands them to the caller's `emit`.
struct Reorder<F> {
    emit: F,
    next: usize,
    waiting: BTreeMap<usize, Output>,
    stats: RunStats,
    failure: Option<std::io::Error>,
}

impl<F: FnMut(&Output) -> std::io::Result<()>> Reorder<F> {
    fn new(emit: F) -> Self {
        Reorder {
            emit,
            next: 0,
            waiting: BTreeMap::new(),
            stats: RunStats::default(),
            failure: None,
        }
    }

    fn push(&mut self, seq: usize, out: Output) {
        self.waiting.insert(seq, out);
        while self.failure.is_none() {
            let Some(out) = self.waiting.remove(&self.next) else {
                break;
            };
            self.next += 1;
            match &out {
                Output::Record(r) => {
                    self.stats.triaged += 1;
                    self.stats.needs_review += usize::from(r.needs_review);
                }
                Output::Error(_) => self.stats.failed += 1,
            }
            if let Err(e) = (self.emit)(&out) {
                self.failure = Some(e);
            }
        }
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Engine {
    /// Build an engine. `taxonomy` enables the zero-shot axes; each head decides its own axis.
    /// The encoder may be shared with other engines (pass an `Arc<Encoder>`).
    pub fn new(
        encoder: impl Into<Arc<Encoder>>,
        generator: Option<Generator>,
        taxonomy: Option<Taxonomy>,
        heads: Vec<Head>,
        config: EngineConfig,
    ) -> Result<Engine, PipelineError> {
        if config.summary == SummaryMode::Abstractive && generator.is_none() {
            return Err(PipelineError::NoGenerator);
        }
        let encoder: Arc<Encoder> = encoder.into();
        let taxonomy_info = taxonomy.as_ref().map(|t| TaxonomyInfo {
            name: t.name.clone(),
            version: t.version.clone(),
            sha256: sha256_hex(toml::to_string(t).unwrap_or_default().as_bytes()),
        });
        let models = ModelsInfo {
            encoder: Some(ModelRef {
                id: encoder.model_id().to_string(),
                sha256: encoder.sha256().to_string(),
            }),
            generator: generator
                .as_ref()
                .filter(|_| config.summary == SummaryMode::Abstractive)
                .map(|g| ModelRef {
                    id: g.model_id().to_string(),
                    sha256: g.sha256().to_string(),
                }),
            heads: heads
                .iter()
                .map(|h| ModelRef {
                    id: format!("head:{}", h.meta.axis),
                    sha256: h.sha256.clone(),
                })
                .collect(),
        };
        let zero_shot = match taxonomy {
            Some(t) => Some(ZeroShot::build(t, &*encoder as &dyn Embed)?),
            None => None,
        };
        let classifier = Classifier::new(zero_shot, heads).with_policy(config.review.clone());
        Ok(Engine {
            encoder,
            generator: generator.map(Mutex::new),
            classifier,
            summarizer: Summarizer::new(config.summary_options.clone()),
            config,
            models,
            taxonomy: taxonomy_info,
        })
    }

    /// The models behind this engine, with their hashes.
    pub fn models(&self) -> &ModelsInfo {
        &self.models
    }

    /// The taxonomy behind the zero-shot axes.
    pub fn taxonomy(&self) -> Option<&TaxonomyInfo> {
        self.taxonomy.as_ref()
    }

    /// The axes every record decides.
    pub fn axes(&self) -> Vec<String> {
        self.classifier.axes()
    }

    /// Triage a few messages on the calling thread, in order.
    pub fn triage(&self, messages: Vec<Message>) -> Vec<Output> {
        let batch: Vec<(usize, Message)> = messages.into_iter().enumerate().collect();
        self.analyse(batch)
            .into_iter()
            .map(|(_, slot)| match slot {
                Ok(p) => self.finish(p),
                Err(out) => out,
            })
            .collect()
    }

    /// Triage a stream of messages, skipping ids in `skip`, and hand each output to `emit` in
    /// input order. Per-message failures become error records; only an `emit` failure stops the
    /// run. The calling thread reads the messages and writes the outputs; analysers and the
    /// generator run on threads of their own.
    pub fn run<I, F>(
        &self,
        messages: I,
        skip: &HashSet<String>,
        emit: F,
    ) -> Result<RunStats, PipelineError>
    where
        I: Iterator<Item = Message>,
        F: FnMut(&Output) -> std::io::Result<()>,
    {
        let jobs = self.config.jobs.max(1);
        let batch_size = self.config.batch.max(1);
        let abstractive = self.config.summary == SummaryMode::Abstractive;
        let (batch_tx, batch_rx) = sync_channel::<Vec<(usize, Message)>>(jobs * 2);
        let (gen_tx, gen_rx) = sync_channel::<(usize, Pending)>(batch_size * 2);
        let (out_tx, out_rx) = sync_channel::<(usize, Output)>(batch_size * 4);
        let batch_rx = Arc::new(Mutex::new(batch_rx));
        let mut writer = Reorder::new(emit);

        std::thread::scope(|scope| {
            for _ in 0..jobs {
                let rx = Arc::clone(&batch_rx);
                let out_tx = out_tx.clone();
                let gen_tx = gen_tx.clone();
                scope.spawn(move || loop {
                    let batch = match rx.lock().map(|r| r.recv()) {
                        Ok(Ok(b)) => b,
                        _ => return,
                    };
                    for (seq, slot) in self.analyse(batch) {
                        let sent = match slot {
                            Ok(p) if abstractive => gen_tx.send((seq, p)).is_ok(),
                            Ok(p) => out_tx.send((seq, self.finish(p))).is_ok(),
                            Err(out) => out_tx.send((seq, out)).is_ok(),
                        };
                        if !sent {
                            return;
                        }
                    }
                });
            }
            drop(gen_tx);
            if abstractive {
                let out_tx = out_tx.clone();
                scope.spawn(move || self.summarise_all(gen_rx, out_tx));
            } else {
                drop(gen_rx);
            }
            drop(out_tx);

            // Read on this thread, handing batches over; while the analysers are busy, write
            // what is ready, so that no channel fills up with nobody draining it.
            let mut seq = 0usize;
            let mut batch = Vec::with_capacity(batch_size);
            let mut messages = messages.peekable();
            while writer.failure.is_none() {
                let Some(m) = messages.next() else { break };
                if skip.contains(&m.id) {
                    writer.stats.skipped += 1;
                    continue;
                }
                batch.push((seq, m));
                seq += 1;
                if batch.len() < batch_size && messages.peek().is_some() {
                    continue;
                }
                let mut pending = std::mem::take(&mut batch);
                loop {
                    match batch_tx.try_send(pending) {
                        Ok(()) => break,
                        Err(TrySendError::Full(back)) => {
                            pending = back;
                            if let Ok((s, out)) = out_rx.recv_timeout(Duration::from_millis(20)) {
                                writer.push(s, out);
                            }
                        }
                        Err(TrySendError::Disconnected(_)) => break,
                    }
                }
                while let Ok((s, out)) = out_rx.try_recv() {
                    writer.push(s, out);
                }
            }
            if !batch.is_empty() {
                let _ = batch_tx.send(batch);
            }
            drop(batch_tx);
            if writer.failure.is_none() {
                for (s, out) in out_rx.iter() {
                    writer.push(s, out);
                    if writer.failure.is_some() {
                        break;
                    }
                }
            }
            // Dropping the receiver unblocks every sender; the scope then joins them.
            drop(out_rx);
        });
        match writer.failure {
            Some(e) => Err(PipelineError::Output(e)),
            None => Ok(writer.stats),
        }
    }

    fn summarise_all(
        &self,
        rx: Receiver<(usize, Pending)>,
        tx: std::sync::mpsc::SyncSender<(usize, Output)>,
    ) {
        for (seq, pending) in rx {
            if tx.send((seq, self.finish(pending))).is_err() {
                return;
            }
        }
    }

    /// Parse, prepare, embed (one encoder batch for all), classify; extractive summaries too.
    fn analyse(&self, batch: Vec<(usize, Message)>) -> Vec<Slot> {
        struct Parsed {
            email: Email,
            prepared: text::Prepared,
            doc: Document,
            sha: String,
            timings: StageTimings,
        }
        let opts = PrepareOptions {
            max_tokens: self.config.max_tokens,
            ..PrepareOptions::default()
        };
        let mut parsed: Vec<(usize, Message, Result<Parsed, Output>)> =
            Vec::with_capacity(batch.len());
        for (seq, m) in batch {
            let sha = input_sha256(&m);
            let t = Instant::now();
            let result = m.parse(&self.config.limits);
            let parse_ms = ms(t);
            let slot = match result {
                Ok(email) => {
                    let t = Instant::now();
                    let prepared = text::prepare(&email, &opts);
                    let doc = Document::from_prepared(&email, &prepared);
                    let timings = StageTimings {
                        parse_ms,
                        prepare_ms: ms(t),
                        ..StageTimings::default()
                    };
                    Ok(Parsed {
                        email,
                        prepared,
                        doc,
                        sha: sha.unwrap_or_default(),
                        timings,
                    })
                }
                Err(e) => {
                    let stage = if m.content.is_err() { "read" } else { "parse" };
                    Err(error_output(
                        &m,
                        sha,
                        stage,
                        e.kind().to_string(),
                        format!("{e:#}"),
                    ))
                }
            };
            parsed.push((seq, m, slot));
        }

        // One encoder batch for every message that parsed.
        let texts: Vec<String> = parsed
            .iter()
            .filter_map(|(_, _, p)| p.as_ref().ok().map(|p| p.doc.encoder_text()))
            .collect();
        let t = Instant::now();
        let embedded = if self.classifier.needs_embedding() && !texts.is_empty() {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Some(self.encoder.embed_long(&refs))
        } else {
            None
        };
        let embed_share = ms(t) / texts.len().max(1) as f64;
        let mut embeddings = match embedded {
            Some(Ok(v)) => v.into_iter().map(Ok).collect::<Vec<_>>(),
            Some(Err(e)) => {
                let msg = format!("{e:#}");
                (0..texts.len()).map(|_| Err(msg.clone())).collect()
            }
            None => Vec::new(),
        }
        .into_iter();

        let mut out = Vec::with_capacity(parsed.len());
        for (seq, m, slot) in parsed {
            let p = match slot {
                Ok(p) => p,
                Err(e) => {
                    out.push((seq, Err(e)));
                    continue;
                }
            };
            let embedding = match embeddings.next() {
                Some(Ok(v)) => Some(v),
                Some(Err(msg)) => {
                    out.push((
                        seq,
                        Err(error_output(
                            &m,
                            Some(p.sha),
                            "classify",
                            "encoder".into(),
                            msg,
                        )),
                    ));
                    continue;
                }
                None => None,
            };
            let mut timings = p.timings;
            timings.embed_ms = if embedding.is_some() {
                embed_share
            } else {
                0.0
            };
            let t = Instant::now();
            let classification = match self.classifier.classify(&p.doc, embedding.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    out.push((
                        seq,
                        Err(error_output(
                            &m,
                            Some(p.sha),
                            "classify",
                            "classifier".into(),
                            format!("{e:#}"),
                        )),
                    ));
                    continue;
                }
            };
            timings.classify_ms = ms(t);
            let input = SummaryInput::new(
                p.email.from.as_ref().map(|f| f.to_string()).as_deref(),
                p.email.subject.as_deref(),
                &p.prepared.body,
            );
            let record = Record {
                schema: RECORD_SCHEMA,
                id: m.id.clone(),
                source: m.provenance.clone(),
                input_sha256: p.sha,
                from: p.email.from.as_ref().map(|f| f.to_string()),
                subject: p.email.subject.clone(),
                date: p.email.date.clone(),
                language: p.prepared.language.as_ref().map(|l| l.code.to_string()),
                attachments: p.email.attachments.clone(),
                bulk: p.email.is_bulk,
                auto_reply: p.email.is_auto_reply,
                classification,
                needs_review: false,
                review: if p.email.is_clean() {
                    Vec::new()
                } else {
                    vec![ReviewNote::UncleanParse {
                        warnings: p.email.warnings.clone(),
                    }]
                },
                summary: None,
                truncation: p.prepared.truncation.clone(),
                redacted: false,
                timings_ms: timings,
                models: self.models.clone(),
                taxonomy: self.taxonomy.clone(),
                mailroom_version: crate::VERSION,
            };
            let mut pending = Pending { record, input };
            if self.config.summary == SummaryMode::Extractive {
                let t = Instant::now();
                match self.summarizer.extractive(&self.encoder, &pending.input) {
                    Ok(s) => pending.record.summary = Some(s),
                    Err(e) => {
                        out.push((
                            seq,
                            Err(error_output(
                                &m,
                                Some(pending.record.input_sha256),
                                "summarize",
                                "encoder".into(),
                                format!("{e:#}"),
                            )),
                        ));
                        continue;
                    }
                }
                pending.record.timings_ms.summarize_ms = ms(t);
            }
            out.push((seq, Ok(pending)));
        }
        out
    }

    /// Abstractive summary (when asked for), review notes, redaction: the final output.
    fn finish(&self, mut p: Pending) -> Output {
        if self.config.summary == SummaryMode::Abstractive {
            let t = Instant::now();
            let result = match &self.generator {
                Some(g) => {
                    let mut gen = match g.lock() {
                        Ok(g) => g,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    self.summarizer
                        .abstractive(&mut gen, Some(&self.encoder), &p.input)
                }
                None => unreachable_no_generator(),
            };
            match result {
                Ok(s) => p.record.summary = Some(s),
                Err(e) => {
                    return Output::Error(Box::new(ErrorRecord {
                        schema: RECORD_SCHEMA,
                        id: p.record.id,
                        source: p.record.source,
                        input_sha256: Some(p.record.input_sha256),
                        error: ErrorBody {
                            stage: "summarize",
                            kind: "generator".into(),
                            message: format!("{e:#}"),
                        },
                        mailroom_version: crate::VERSION,
                    }))
                }
            }
            p.record.timings_ms.summarize_ms = ms(t);
        }
        let r = &mut p.record;
        let mut notes: Vec<ReviewNote> = Vec::new();
        for a in &r.classification {
            for reason in &a.reasons {
                if matches!(reason, crate::classify::ReviewReason::UncleanParse) {
                    continue; // recorded once, with its warnings
                }
                notes.push(ReviewNote::Axis {
                    axis: a.axis.clone(),
                    reason: reason.clone(),
                });
            }
        }
        if let Some(s) = &r.summary {
            if !s.faithfulness.passed() && s.faithfulness.checked {
                notes.push(ReviewNote::UnfaithfulSummary {
                    unsupported: s
                        .faithfulness
                        .unsupported
                        .iter()
                        .map(|u| u.text.clone())
                        .collect(),
                });
            }
        }
        notes.append(&mut r.review);
        r.review = notes;
        r.needs_review = !r.review.is_empty() || r.classification.iter().any(|a| a.needs_review);
        if self.config.redact {
            redact_record(r);
        }
        Output::Record(Box::new(p.record))
    }
}

/// An abstractive engine always has a generator: [`Engine::new`] refuses otherwise.
fn unreachable_no_generator() -> Result<Summary, crate::summarize::SummaryError> {
    Err(crate::summarize::SummaryError::Model(
        crate::models::ModelError::Invalid {
            path: "generator".into(),
            reason: "no generator loaded".into(),
        },
    ))
}

fn redact_record(r: &mut Record) {
    use redact::redact;
    r.redacted = true;
    r.from = r.from.as_deref().map(redact);
    r.subject = r.subject.as_deref().map(redact);
    for a in &mut r.attachments {
        a.name = a.name.as_deref().map(redact);
    }
    if let Some(s) = &mut r.summary {
        s.text = redact(&s.text);
        for u in &mut s.faithfulness.unsupported {
            u.text = redact(&u.text);
        }
        if let Some(f) = &mut s.fallback {
            f.rejected = redact(&f.rejected);
            if let Some(rf) = &mut f.rejected_faithfulness {
                for u in &mut rf.unsupported {
                    u.text = redact(&u.text);
                }
            }
        }
    }
    for n in &mut r.review {
        if let ReviewNote::UnfaithfulSummary { unsupported } = n {
            for u in unsupported.iter_mut() {
                *u = redact(u);
            }
        }
    }
}

/// SHA-256 of what was read for a message: its raw bytes, or its JSON fields.
fn input_sha256(m: &Message) -> Option<String> {
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

fn error_output(
    m: &Message,
    sha: Option<String>,
    stage: &'static str,
    kind: String,
    message: String,
) -> Output {
    Output::Error(Box::new(ErrorRecord {
        schema: RECORD_SCHEMA,
        id: m.id.clone(),
        source: m.provenance.clone(),
        input_sha256: sha,
        error: ErrorBody {
            stage,
            kind,
            message,
        },
        mailroom_version: crate::VERSION,
    }))
}
