//! The per-message stages, in order: parse and prepare, embed (one encoder batch for all the
//! messages of a batch), classify, summarise with sentences (extractive, lead) — all on an
//! analyser thread — then [`Engine::finish`]: the abstractive summary (the generator's thread),
//! review notes and redaction. A message that fails at any stage becomes an error record.

use std::time::Instant;

use tracing::instrument;

use crate::classify::Document;
use crate::email::{Email, Message};
use crate::summarize::{Method, SummaryInput};
use crate::text::{self, PrepareOptions, Prepared};

use super::analysis::{self, Findings};
use super::engine::{lock, Engine};
use super::record::{
    ErrorBody, ErrorRecord, Output, Record, ReviewNote, StageTimings, RECORD_SCHEMA,
};
use super::{document, redact};

/// A message analysed up to (not including) the abstractive summary.
pub(super) struct Pending {
    pub(super) record: Record,
    pub(super) input: SummaryInput,
}

/// A message's place in its run and what became of it so far.
pub(super) type Slot = (usize, Result<Pending, Output>);

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// A message parsed, prepared and analysed.
struct Parsed {
    email: Email,
    prepared: Prepared,
    findings: Findings,
    doc: Document,
    sha: String,
    timings: StageTimings,
}

fn error(m: &Message, sha: Option<String>, stage: &'static str, kind: &str, msg: String) -> Output {
    let mut e = ErrorRecord::for_message(m, stage, kind.to_string(), msg);
    e.input_sha256 = sha;
    Output::Error(Box::new(e))
}

impl Engine {
    /// Parse, prepare, embed (one encoder batch for all), classify; sentence summaries too.
    #[instrument(name = "analyse", skip_all, fields(messages = batch.len()))]
    pub(super) fn analyse(&self, batch: Vec<(usize, Message)>) -> Vec<Slot> {
        let parsed: Vec<(usize, Message, Result<Parsed, Output>)> = batch
            .into_iter()
            .map(|(seq, m)| {
                let p = self.parse(&m);
                (seq, m, p)
            })
            .collect();
        let (mut embeddings, embed_share) = self.embed(&parsed);
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
                    out.push((seq, Err(error(&m, Some(p.sha), "classify", "encoder", msg))));
                    continue;
                }
                None => None,
            };
            let slot = self
                .decide(&m, p, embedding.as_deref(), embed_share)
                .and_then(|pending| self.summarise_with_sentences(&m, pending));
            out.push((seq, slot));
        }
        out
    }

    /// Parse and prepare one message.
    fn parse(&self, m: &Message) -> Result<Parsed, Output> {
        let opts = PrepareOptions {
            max_tokens: self.config.max_tokens,
            ..PrepareOptions::default()
        };
        let sha = super::record::input_sha256(m);
        let t = Instant::now();
        let result = m.parse(&self.config.limits);
        let parse_ms = ms(t);
        match result {
            Ok(email) => {
                let t = Instant::now();
                let prepared = text::prepare(&email, &opts);
                let findings = analysis::analyse(&email, &prepared, self.config.now);
                // The models read the text with anything addressed to them set aside.
                let mut doc = document::document(&email, &prepared);
                if let Some(b) = &findings.body {
                    doc.body = b.clone();
                }
                if let Some(s) = &findings.subject {
                    doc.subject = s.clone();
                }
                let timings = StageTimings {
                    parse_ms,
                    prepare_ms: ms(t),
                    ..StageTimings::default()
                };
                Ok(Parsed {
                    email,
                    prepared,
                    findings,
                    doc,
                    sha: sha.unwrap_or_default(),
                    timings,
                })
            }
            Err(e) => {
                let stage = if m.content.is_err() { "read" } else { "parse" };
                Err(error(m, sha, stage, e.kind(), format!("{e:#}")))
            }
        }
    }

    /// One encoder batch for every message that parsed, when the classifier needs embeddings:
    /// an embedding (or the encoder's error) per parsed message, in order, and each message's
    /// share of the batch time.
    #[instrument(name = "embed", skip_all)]
    fn embed(
        &self,
        parsed: &[(usize, Message, Result<Parsed, Output>)],
    ) -> (std::vec::IntoIter<Result<Vec<f32>, String>>, f64) {
        let texts: Vec<String> = parsed
            .iter()
            .filter_map(|(_, _, p)| p.as_ref().ok().map(|p| p.doc.encoder_text()))
            .collect();
        let needed = self.replies.is_some()
            || self
                .classifier
                .as_ref()
                .is_some_and(|c| c.needs_embedding());
        let t = Instant::now();
        let embedded = match &self.encoder {
            Some(enc) if needed && !texts.is_empty() => {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                Some(enc.embed_long(&refs))
            }
            _ => None,
        };
        let share = ms(t) / texts.len().max(1) as f64;
        let embeddings = match embedded {
            Some(Ok(v)) => v.into_iter().map(Ok).collect::<Vec<_>>(),
            Some(Err(e)) => {
                let msg = format!("{e:#}");
                (0..texts.len()).map(|_| Err(msg.clone())).collect()
            }
            None => Vec::new(),
        };
        (embeddings.into_iter(), share)
    }

    /// Classify one parsed message (when classifying) and start its record.
    #[instrument(name = "classify", skip_all)]
    fn decide(
        &self,
        m: &Message,
        p: Parsed,
        embedding: Option<&[f32]>,
        embed_share: f64,
    ) -> Result<Pending, Output> {
        let mut timings = p.timings;
        timings.embed_ms = if embedding.is_some() {
            embed_share
        } else {
            0.0
        };
        let t = Instant::now();
        let classification = match &self.classifier {
            Some(c) => c.classify(&p.doc, embedding).map_err(|e| {
                error(
                    m,
                    Some(p.sha.clone()),
                    "classify",
                    "classifier",
                    format!("{e:#}"),
                )
            })?,
            None => Vec::new(),
        };
        timings.classify_ms = ms(t);
        let input = SummaryInput::new(
            p.email.from.as_ref().map(|f| f.to_string()).as_deref(),
            p.findings.subject.as_deref().or(p.email.subject.as_deref()),
            p.findings.body.as_deref().unwrap_or(&p.prepared.body),
        );
        let mut classification = classification;
        // Junk is not made urgent by its own deadlines ("suspended in 24 hours").
        let junk = classification
            .iter()
            .any(|a| a.axis == "junk" && a.label != "legitimate");
        let decided_junk = classification
            .iter()
            .any(|a| a.axis == "junk" && a.label != "legitimate" && !a.needs_review);
        if decided_junk {
            if let Some(a) = classification.iter_mut().find(|a| a.axis == "priority") {
                not_urgent_when_junk(a);
            }
        }
        if !p.findings.evidence.evidence.is_empty() {
            if let Some(a) = classification.iter_mut().find(|a| a.axis == "priority") {
                a.evidence = p
                    .findings
                    .evidence
                    .evidence
                    .iter()
                    .map(|e| format!("{} \"{}\" ({})", e.kind, e.text, e.detail))
                    .collect();
                if p.findings.evidence.urgent && !junk {
                    urgent_by_evidence(a);
                }
            }
        }
        let mut review = Vec::new();
        if !p.email.is_clean() {
            review.push(ReviewNote::UncleanParse {
                warnings: p.email.warnings.clone(),
            });
        }
        if !p.findings.injection.is_empty() {
            review.push(ReviewNote::PromptInjection {
                texts: p
                    .findings
                    .injection
                    .iter()
                    .map(|f| f.hit.text.clone())
                    .collect(),
            });
        }
        if let Some(cut) = p.findings.cut {
            review.push(ReviewNote::AnalysisCut {
                analysed_bytes: cut.analysed_bytes,
                body_bytes: cut.body_bytes,
            });
        }
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
            review,
            summary: None,
            reference_date: Some(p.findings.reference_day()),
            evidence: Some(p.findings.evidence.into()),
            key_facts: p.findings.facts,
            replies: None,
            injection: p.findings.injection,
            truncation: p.prepared.truncation.clone(),
            redacted: false,
            timings_ms: timings,
            conversation: None,
            models: self.models.clone(),
            taxonomy: self.taxonomy.clone(),
            mailroom_version: crate::VERSION,
        };
        let mut record = record;
        record.replies = self.suggest_replies(&record, embedding);
        Ok(Pending { record, input })
    }

    /// The extractive or lead summary, on the analyser thread (abstractive waits for
    /// [`Engine::finish`]).
    #[instrument(name = "summarize", skip_all)]
    fn summarise_with_sentences(&self, m: &Message, mut p: Pending) -> Result<Pending, Output> {
        let t = Instant::now();
        match (self.config.summary_method(), &self.encoder) {
            (Some(Method::Extractive), Some(enc)) => {
                match self.summarizer.extractive(enc, &p.input) {
                    Ok(s) => p.record.summary = Some(s),
                    Err(e) => {
                        let sha = Some(p.record.input_sha256);
                        return Err(error(m, sha, "summarize", "encoder", format!("{e:#}")));
                    }
                }
            }
            (Some(Method::Extractive), None) | (Some(Method::Lead), _) => {
                p.record.summary = Some(self.summarizer.lead(&p.input));
            }
            _ => return Ok(p),
        }
        p.record.timings_ms.summarize_ms = ms(t);
        Ok(p)
    }

    /// Abstractive summary (when asked for), review notes, redaction: the final output.
    #[instrument(name = "finish", skip_all)]
    pub(super) fn finish(&self, mut p: Pending) -> Output {
        if self.config.summary_method() == Some(Method::Abstractive) {
            let t = Instant::now();
            let result = match &self.generator {
                Some(g) => {
                    self.summarizer
                        .abstractive(&mut lock(g), self.encoder.as_deref(), &p.input)
                }
                // Another mode's engine without a generator: the fallback the summariser uses.
                None => Ok(self.summarizer.lead(&p.input)),
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
        let mut notes = review_notes(r);
        notes.append(&mut r.review);
        r.review = notes;
        r.needs_review = !r.review.is_empty() || r.classification.iter().any(|a| a.needs_review);
        if self.config.redact {
            redact::redact_record(r);
        }
        Output::Record(Box::new(p.record))
    }
}

/// Why a person must look, from the axes and the summary (the parse's warnings are already in
/// the record, once).
fn review_notes(r: &Record) -> Vec<ReviewNote> {
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
    notes
}

/// The evidence rule: a message whose detectors find a strong urgency cue (or weak cues of two
/// kinds) is urgent whatever the model says, unless it is junk. On ../shared/data/public such
/// evidence was right 93 % of the time (67 of 72), where the model alone misses one urgent
/// message in five. The probabilities stay the model's; `method` says the evidence decided.
fn urgent_by_evidence(a: &mut crate::classify::AxisResult) {
    if a.label == "urgent" || !a.probabilities.0.iter().any(|(l, _)| l == "urgent") {
        return;
    }
    a.label = "urgent".into();
    a.probability = a
        .probabilities
        .0
        .iter()
        .find(|(l, _)| l == "urgent")
        .map_or(0.0, |(_, p)| *p);
    a.method = crate::classify::Method::Evidence;
    a.needs_review = false;
    a.reasons.clear();
}

/// The junk rule: a message decided junk (spam or phishing above its threshold) is not urgent,
/// whatever the priority model says, so that it never sits at the top of the queue (sure
/// phishing often reads as urgent: "your account is suspended"). The label becomes the likeliest
/// other one; the probabilities stay the model's; `method` says the rule decided.
fn not_urgent_when_junk(a: &mut crate::classify::AxisResult) {
    if a.label != "urgent" {
        return;
    }
    let Some((label, p)) = a
        .probabilities
        .0
        .iter()
        .filter(|(l, _)| l != "urgent")
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .cloned()
    else {
        return;
    };
    a.label = label;
    a.probability = p;
    a.method = crate::classify::Method::JunkRule;
    a.needs_review = false;
    a.reasons.clear();
}
