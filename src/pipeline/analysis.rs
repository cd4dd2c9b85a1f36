//! What the deterministic analyses find in a prepared message before any model reads it: the
//! day relative dates resolve against, text addressed to the model (set aside, so it changes
//! neither the decisions nor the summary), urgency evidence, and key facts. Spans in the record
//! point into the prepared body as `mailroom parse` shows it (`prepared.body`), or into the
//! subject; evidence and facts are found in the text the models read (injected text set aside)
//! and mapped back.

use jiff::Timestamp;
use serde::Serialize;

use crate::classify::evidence::{self, EvidenceInput, EvidenceSummary, Field};
use crate::email::Email;
use crate::summarize::facts::{self, FactsInput, KeyFact, Source};
use crate::text::dates::{Reference, ReferenceSource};
use crate::text::injection::{self, InjectionHit, SetAside};
use crate::text::{Prepared, RemovedKind};

/// Text addressed to the model, found in the subject or the prepared body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InjectionFinding {
    /// `subject` or `body`.
    pub field: Field,
    /// What was found, with its span in that field.
    #[serde(flatten)]
    pub hit: InjectionHit,
}

/// The day dates were resolved against, as the record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReferenceDay {
    /// The day (`2024-05-13`).
    pub date: jiff::civil::Date,
    /// `date_header`, or `processing_time` when the message has no readable Date header.
    pub source: ReferenceSource,
}

/// The urgency evidence as the record carries it: the one line that says why, and the cues.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UrgencyEvidence {
    /// One line a person reads to see why (`urgent: danger "no heating" (no heating); ...`).
    pub line: String,
    /// The cues, what they add up to, and the features a priority head may read.
    #[serde(flatten)]
    pub summary: EvidenceSummary,
}

impl From<EvidenceSummary> for UrgencyEvidence {
    fn from(summary: EvidenceSummary) -> Self {
        UrgencyEvidence {
            line: summary.line(),
            summary,
        }
    }
}

/// Most bytes of the body the detectors read (urgency evidence, dates, key facts): far more
/// than any letter a person writes, and the models read only the head and tail of the body
/// within their token budget. Beyond it the detectors' work grows faster than the text.
pub const MAX_ANALYSED_BYTES: usize = 256 * 1024;

/// The body was longer than the detectors read: evidence and key facts come from its first
/// `analysed_bytes` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AnalysisCut {
    /// Bytes of the body the detectors read.
    pub analysed_bytes: usize,
    /// Bytes of the body the models were given to read from (injected text set aside).
    pub body_bytes: usize,
}

/// Everything the analyses found in one message.
#[derive(Debug, Clone)]
pub struct Findings {
    /// The reference day.
    pub reference: Reference,
    /// Text addressed to the model.
    pub injection: Vec<InjectionFinding>,
    /// The subject the models read (injected text set aside), when it differs.
    pub subject: Option<String>,
    /// The body the models read, when it differs from the prepared body.
    pub body: Option<String>,
    /// Urgency evidence.
    pub evidence: EvidenceSummary,
    /// Key facts.
    pub facts: Vec<KeyFact>,
    /// Set when the detectors read only the start of a very long body.
    pub cut: Option<AnalysisCut>,
}

impl Findings {
    /// The reference day as recorded.
    pub fn reference_day(&self) -> ReferenceDay {
        ReferenceDay {
            date: self.reference.date,
            source: self.reference.source,
        }
    }
}

/// Analyse one parsed and prepared message processed at `now`.
pub fn analyse(email: &Email, prepared: &Prepared, now: Timestamp) -> Findings {
    let reference = Reference::for_message(email.date.as_deref(), now);
    let subject = email.subject.as_deref().unwrap_or("");
    let (subject_hits, subject_aside) = injection::guard(subject);
    let (body_hits, body_aside) = injection::guard(&prepared.body);
    let read_subject = subject_aside.changed().then(|| subject_aside.text.clone());
    let read_body = body_aside.changed().then(|| body_aside.text.clone());
    let subject_read = read_subject.as_deref().unwrap_or(subject);
    let body_whole = read_body.as_deref().unwrap_or(&prepared.body);
    let mut end = crate::text::dates::floor_char_boundary(body_whole, MAX_ANALYSED_BYTES);
    if end < body_whole.len() {
        // At a space, so that no number or word is read half (a cut "£70" would be "£7").
        end = body_whole[..end].rfind(char::is_whitespace).unwrap_or(end);
    }
    let body_read = &body_whole[..end];
    let cut = (end < body_whole.len()).then_some(AnalysisCut {
        analysed_bytes: end,
        body_bytes: body_whole.len(),
    });

    let mut evidence = evidence::detect(&EvidenceInput {
        subject: (!subject_read.is_empty()).then_some(subject_read),
        body: body_read,
        reference,
    });
    for e in &mut evidence.evidence {
        let aside = match e.field {
            Field::Subject => &subject_aside,
            Field::Body => &body_aside,
        };
        e.span = back(aside, &e.span);
    }
    let signature = prepared
        .removed
        .iter()
        .find(|r| r.kind == RemovedKind::Signature)
        .map(|r| r.text.as_str());
    let from_name = email.from.as_ref().and_then(|f| f.name.as_deref());
    let mut key_facts = facts::extract(&FactsInput {
        subject: (!subject_read.is_empty()).then_some(subject_read),
        body: body_read,
        signature,
        from: from_name,
        attachments: email
            .attachments
            .iter()
            .filter_map(|a| a.name.as_deref())
            .collect(),
        reference,
    });
    for f in &mut key_facts {
        match f.source {
            Source::Subject => f.span = back(&subject_aside, &f.span),
            Source::Body => f.span = back(&body_aside, &f.span),
            _ => {}
        }
    }
    let injection = subject_hits
        .into_iter()
        .map(|hit| InjectionFinding {
            field: Field::Subject,
            hit,
        })
        .chain(body_hits.into_iter().map(|hit| InjectionFinding {
            field: Field::Body,
            hit,
        }))
        .collect();
    Findings {
        reference,
        injection,
        subject: read_subject,
        body: read_body,
        evidence,
        facts: key_facts,
        cut,
    }
}

/// A span of the text the models read, as a span of the original text.
fn back(aside: &SetAside, span: &std::ops::Range<usize>) -> std::ops::Range<usize> {
    if !aside.changed() {
        return span.clone();
    }
    let start = aside.to_original(span.start);
    let end = aside.to_original(span.end).max(start);
    start..end
}
