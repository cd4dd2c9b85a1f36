//! From a parsed email to what the deciding layers read: the classifier's [`Document`] and the
//! summariser's [`SummaryInput`]. The learning layer reads labelled mail through
//! [`labelled_document`], so training sees exactly what triage sees.

use crate::classify::{shape, Document};
use crate::email::{BodyFormat, Email, EmailError};
use crate::summarize::SummaryInput;
use crate::text::{self, PrepareOptions, Prepared};

/// The classifier's view of a parsed and prepared email: the cleaned body (quotes, signatures
/// and disclaimers stripped) and the share of the prepared text that did not fit its budget.
pub fn document(email: &Email, prepared: &Prepared) -> Document {
    let truncated = prepared.truncation.as_ref().map_or(0.0, |t| {
        t.dropped_tokens as f32 / t.total_tokens.max(1) as f32
    });
    let shape = shape::shape(&email.body);
    Document {
        subject: email.subject.clone().unwrap_or_default(),
        body: prepared.body.clone(),
        attachments: email.attachments.len(),
        html_only: email.body_format == BodyFormat::Html,
        bulk: email.is_bulk,
        auto_reply: email.is_auto_reply,
        clean: email.is_clean(),
        truncated,
        own_words: shape.own_words,
        forwarded: shape.forwarded,
        quoted: shape.quoted,
        to: email.to.len(),
        cc: email.cc.len(),
    }
}

/// The summariser's input: sender, subject and the cleaned body, whole (the summariser fits
/// it to its own budget).
pub fn summary_input(email: &Email, prepared: &Prepared) -> SummaryInput {
    SummaryInput::new(
        email.from.as_ref().map(|f| f.to_string()).as_deref(),
        email.subject.as_deref(),
        &prepared.body,
    )
}

/// The body cleaned as triage cleans it (quotes, signatures and disclaimers stripped), whole:
/// for texts that come without headers, such as reference-summary corpora.
pub fn clean_body(body: &str) -> String {
    let email = Email::from_parts(None, None, body);
    text::prepare(
        &email,
        &PrepareOptions {
            max_tokens: usize::MAX / 4,
            ..PrepareOptions::default()
        },
    )
    .body
}

/// A labelled message for training and evaluation.
#[derive(Debug, Clone, Copy)]
pub enum Labelled<'a> {
    /// The raw RFC 822 bytes (a leading mbox `From ` line is skipped).
    Raw(&'a [u8]),
    /// A subject and a body, already decoded.
    Text {
        /// The subject.
        subject: &'a str,
        /// The body.
        body: &'a str,
    },
}

/// Parse and prepare a labelled message with the default options, as triage would.
pub fn labelled_document(message: Labelled<'_>) -> Result<Document, EmailError> {
    let email = match message {
        Labelled::Raw(raw) => {
            // mbox exports start with a `From ` line that is not a header.
            let raw = if raw.starts_with(b"From ") {
                raw.iter()
                    .position(|&b| b == b'\n')
                    .map_or(raw, |p| &raw[p + 1..])
            } else {
                raw
            };
            crate::email::parse(raw)?
        }
        Labelled::Text { subject, body } => Email::from_parts(None, Some(subject), body),
    };
    Ok(document(
        &email,
        &text::prepare(&email, &PrepareOptions::default()),
    ))
}
