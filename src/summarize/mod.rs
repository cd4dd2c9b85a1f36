//! Summaries a person can trust: abstractive with the generator, extractive with the encoder,
//! every abstractive summary checked against its source, and ROUGE for `eval`.
//!
//! This module owns prompts, clean-up, the quality and faithfulness checks, sentence
//! selection, long-mail handling and ROUGE. It takes plain strings ([`SummaryInput`]) and
//! model handles, and knows nothing of email parsing, the command line or HTTP; the pipeline
//! adapts a prepared email into a [`SummaryInput`].
//!
//! ```no_run
//! use mailroom::models::{Device, Generator, Role, Store};
//! use mailroom::summarize::{Summarizer, SummaryInput, SummaryOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::open("models")?;
//! let mut gen = Generator::load(&store.resolve_default(Role::Generator)?, &Device::Cpu)?;
//! let input = SummaryInput::new(Some("Ann <ann@example.org>"), Some("Fee"), "Can I pay the £70 fee in May?");
//! let summary = Summarizer::new(SummaryOptions::default()).abstractive(&mut gen, None, &input)?;
//! println!("{} (faithful: {})", summary.text, summary.faithfulness.passed());
//! # Ok(()) }
//! ```

pub mod abstractive;
pub mod compress;
pub mod extractive;
pub mod facts;
pub mod faithful;
mod long;
mod porter;
pub mod readability;
pub mod rouge;
mod select;
pub mod sentences;
mod summarizer;
mod words;

use std::time::Instant;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::models::ModelError;

pub use abstractive::Defect;
pub use faithful::{FactKind, Faithfulness, Unsupported};
pub use summarizer::Summarizer;

/// Default word budget of a `brief` summary.
pub const DEFAULT_BRIEF_WORDS: usize = 40;
/// Default word budget of a `headline` (see [`compress`] for how it was chosen).
pub const DEFAULT_HEADLINE_WORDS: usize = 12;
/// Default generator tokens of body given to one generation; longer mail is chunked or cut.
pub const DEFAULT_INPUT_TOKENS: usize = 512;
/// Default most chunks summarised for one long message.
pub const DEFAULT_MAX_CHUNKS: usize = 4;
/// Default lead bias of extractive selection (see [`extractive::scores`]); measured on AESLC
/// dev (400 items, headline): lead bias 0.0 → ROUGE-1 23.1, 0.2 → 32.1, 0.5 → 35.8, 1.0 → 36.3.
pub const DEFAULT_LEAD_BIAS: f32 = 1.0;

/// How a summary is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Written by the generator.
    #[default]
    Abstractive,
    /// Central sentences chosen with the encoder.
    Extractive,
    /// The first sentences (no model; the fallback when no encoder is loaded).
    Lead,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Abstractive => "abstractive",
            Method::Extractive => "extractive",
            Method::Lead => "lead",
        })
    }
}

/// What kind of summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    /// Two or three sentences for the person who answers.
    #[default]
    Brief,
    /// A subject-like line of 4 to 10 words.
    Headline,
}

impl std::fmt::Display for Style {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Style::Brief => "brief",
            Style::Headline => "headline",
        })
    }
}

/// What to do with mail over the input budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LongMail {
    /// Summarise chunks, then summarise the chunk summaries.
    #[default]
    Chunk,
    /// Keep the start and the end, cut the middle visibly.
    Cut,
}

/// How to summarise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummaryOptions {
    /// Brief or headline.
    pub style: Style,
    /// Word budget; `None` takes the style's default.
    pub words: Option<usize>,
    /// Fall back to extractive when the abstractive summary fails the faithfulness check.
    pub strict: bool,
    /// Generator tokens of body per generation.
    pub input_tokens: usize,
    /// Chunk or cut mail over `input_tokens`.
    pub long_mail: LongMail,
    /// Most chunks per message; beyond it the middle chunks are dropped (and recorded).
    pub max_chunks: usize,
    /// Lead bias of extractive selection.
    pub lead_bias: f32,
    /// Retry with the second prompt when the first output is terse, loops or refuses.
    pub retry: bool,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        SummaryOptions {
            style: Style::Brief,
            words: None,
            strict: false,
            input_tokens: DEFAULT_INPUT_TOKENS,
            long_mail: LongMail::Chunk,
            max_chunks: DEFAULT_MAX_CHUNKS,
            lead_bias: DEFAULT_LEAD_BIAS,
            retry: true,
        }
    }
}

impl SummaryOptions {
    /// The word budget in effect.
    pub fn word_budget(&self) -> usize {
        self.words.unwrap_or(match self.style {
            Style::Brief => DEFAULT_BRIEF_WORDS,
            Style::Headline => DEFAULT_HEADLINE_WORDS,
        })
    }
}

/// What to summarise: plain strings, so this module needs no email types.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SummaryInput {
    /// The sender as shown ("Name <address>"), if known.
    pub from: Option<String>,
    /// The subject, if any.
    pub subject: Option<String>,
    /// The cleaned body (quotes and signatures already stripped), whole: this module fits it.
    pub body: String,
    /// For a thread: its messages in order (sender and cleaned body); `body` holds them all.
    /// Extractive `brief` summaries of a thread take sentences from each message and name
    /// their senders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<ThreadMessage>,
}

/// One message of a thread.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ThreadMessage {
    /// The sender as shown ("Name <address>"), if known.
    pub from: Option<String>,
    /// The cleaned body.
    pub body: String,
}

impl SummaryInput {
    /// Build an input from its parts.
    pub fn new(from: Option<&str>, subject: Option<&str>, body: &str) -> SummaryInput {
        SummaryInput {
            from: from.map(str::to_string),
            subject: subject.map(str::to_string),
            body: body.to_string(),
            messages: Vec::new(),
        }
    }

    /// Everything the summary may draw facts from: sender, subject and body.
    pub fn source_text(&self) -> String {
        let mut s = String::new();
        for part in [self.from.as_deref(), self.subject.as_deref()]
            .into_iter()
            .flatten()
        {
            s.push_str(part);
            s.push('\n');
        }
        for m in &self.messages {
            if let Some(f) = m.from.as_deref() {
                s.push_str(f);
                s.push('\n');
            }
        }
        s.push_str(&self.body);
        s
    }
}

/// One generation attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// Which prompt (0: primary, 1: retry).
    pub prompt: usize,
    /// What was wrong with its output, if anything.
    pub defect: Option<Defect>,
    /// Tokens generated.
    pub tokens: usize,
}

/// Why a summary is not of the requested method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackReason {
    /// Every generation attempt was terse, looped or refused.
    Degenerate,
    /// The abstractive summary failed the faithfulness check under `strict`.
    Unfaithful,
}

/// A fallback from the requested method.
#[derive(Debug, Clone, Serialize)]
pub struct Fallback {
    /// Why.
    pub reason: FallbackReason,
    /// The method that wrote the summary instead.
    pub to: Method,
    /// The abstractive text that was rejected (for audit; never logged).
    pub rejected: String,
    /// The faithfulness result of the rejected text, for `unfaithful`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_faithfulness: Option<Faithfulness>,
}

/// How long mail was handled.
#[derive(Debug, Clone, Serialize)]
pub struct LongInfo {
    /// `chunk` or `cut`.
    pub strategy: LongMail,
    /// Tokens (generator) or sentences (extractive) of the whole body.
    pub total: usize,
    /// Chunks summarised (chunk strategy).
    pub chunks: usize,
    /// Chunks or sentences left out.
    pub dropped: usize,
}

/// Time spent.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    /// Whole call, milliseconds.
    pub total_ms: f64,
    /// Generator prompt processing.
    pub prompt_ms: f64,
    /// Generator decoding.
    pub decode_ms: f64,
    /// Encoder.
    pub embed_ms: f64,
}

/// Token counts.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Tokens {
    /// Prompt tokens over all generations.
    pub prompt: usize,
    /// Generated tokens over all generations.
    pub generated: usize,
}

/// A summary and everything needed to audit it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The text shown to the reader.
    pub text: String,
    /// The method that wrote `text`.
    pub method: Method,
    /// The method asked for.
    pub requested: Method,
    /// Brief or headline.
    pub style: Style,
    /// The word budget.
    pub words: usize,
    /// The faithfulness check of `text`.
    pub faithfulness: Faithfulness,
    /// True when a person should check the summary (it failed the faithfulness check).
    pub needs_review: bool,
    /// True when the text was cut to the budget or lost an unfinished sentence.
    pub trimmed: bool,
    /// Generation attempts (abstractive only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// Set when another method wrote the summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// Set when the body was over the budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long: Option<LongInfo>,
    /// The model that wrote or chose the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Time spent.
    pub timings: Timings,
    /// Token counts.
    pub tokens: Tokens,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Errors of summarisation: only the models can fail.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SummaryError {
    /// The generator or encoder failed.
    #[error(transparent)]
    Model(#[from] ModelError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_needs_no_model_and_is_faithful() {
        let input = SummaryInput::new(
            Some("Ann Lee <ann@example.org>"),
            Some("Fee"),
            "Hi team,\n\nCan I pay the £70 fee on 3 May? My reference is PCN-1234.\n\nThanks,\nAnn",
        );
        let s = Summarizer::new(SummaryOptions::default()).lead(&input);
        assert_eq!(s.method, Method::Lead);
        assert_eq!(
            s.text,
            "Can I pay the £70 fee on 3 May? My reference is PCN-1234."
        );
        assert!(s.faithfulness.passed(), "{:?}", s.faithfulness);
        assert!(!s.needs_review);
        let h = Summarizer::new(SummaryOptions {
            style: Style::Headline,
            words: Some(6),
            ..SummaryOptions::default()
        })
        .lead(&input);
        assert_eq!(h.text, "Can I pay the £70 fee");
    }

    #[test]
    fn empty_body_uses_the_subject() {
        let input = SummaryInput::new(None, Some("Quarterly figures"), "  ");
        let s = Summarizer::default().lead(&input);
        assert_eq!(s.text, "Quarterly figures");
    }
}
