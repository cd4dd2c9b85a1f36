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
//! let store = Store::open_default()?;
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
mod porter;
pub mod rouge;
pub mod sentences;

use std::time::Instant;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::models::{Encoder, GenOpts, Generator, ModelError};

pub use abstractive::Defect;
pub use faithful::{FactKind, Faithfulness, Unsupported};

/// Default word budget of a `brief` summary.
pub const DEFAULT_BRIEF_WORDS: usize = 40;
/// Default word budget of a `headline`.
pub const DEFAULT_HEADLINE_WORDS: usize = 10;
/// Default generator tokens of body given to one generation; longer mail is chunked or cut.
pub const DEFAULT_INPUT_TOKENS: usize = 512;
/// Default most chunks summarised for one long message.
pub const DEFAULT_MAX_CHUNKS: usize = 4;
/// Default lead bias of extractive selection (see [`extractive::scores`]); measured on AESLC
/// dev (400 items, headline): lead bias 0.0 → ROUGE-1 23.1, 0.2 → 32.1, 0.5 → 35.8, 1.0 → 36.3.
pub const DEFAULT_LEAD_BIAS: f32 = 1.0;

/// How a summary is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
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

/// Errors of summarisation: only the models can fail.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SummaryError {
    /// The generator or encoder failed.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Summarises messages with fixed options.
#[derive(Debug, Clone, Default)]
pub struct Summarizer {
    opts: SummaryOptions,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

impl Summarizer {
    /// A summariser with these options.
    pub fn new(opts: SummaryOptions) -> Summarizer {
        Summarizer { opts }
    }

    /// The options.
    pub fn options(&self) -> &SummaryOptions {
        &self.opts
    }

    /// Summarise with the generator; falls back to extractive (with `enc`) or lead sentences
    /// (without) when generation degenerates twice, or under `strict` when the summary fails
    /// the faithfulness check. Deterministic: greedy decoding, fixed prompts.
    pub fn abstractive(
        &self,
        gen: &mut Generator,
        enc: Option<&Encoder>,
        input: &SummaryInput,
    ) -> Result<Summary, SummaryError> {
        let start = Instant::now();
        let style = self.opts.style;
        let words = self.opts.word_budget();
        let facts = faithful::SourceFacts::new(&input.source_text());
        let mut timings = Timings::default();
        let mut tokens = Tokens::default();
        let mut attempts = Vec::new();

        if input.body.trim().is_empty()
            && input.subject.as_deref().is_none_or(|s| s.trim().is_empty())
        {
            let mut s = self.fallback_summary(enc, input, start)?;
            s.requested = Method::Abstractive;
            return Ok(s);
        }

        // Long mail: chunk or cut to the input budget.
        let (body, long) = self.fit_body(gen, input, &mut timings, &mut tokens)?;

        let email =
            abstractive::email_block(input.from.as_deref(), input.subject.as_deref(), &body);
        let gen_opts = GenOpts {
            max_new_tokens: abstractive::max_new_tokens(style, words),
            ..GenOpts::default()
        };
        let tries = if self.opts.retry { 2 } else { 1 };
        let mut accepted: Option<abstractive::Cleaned> = None;
        let mut last_raw = String::new();
        for attempt in 0..tries {
            let p = abstractive::prompt(style, words, &email, attempt);
            let g = gen.chat(p.system.as_deref(), &p.user, &gen_opts)?;
            timings.prompt_ms += g.prompt_ms;
            timings.decode_ms += g.decode_ms;
            tokens.prompt += g.prompt_tokens;
            tokens.generated += g.tokens.len();
            let cleaned = abstractive::clean(&g.text, style, words);
            let defect = abstractive::assess(&g.text, &cleaned.text, style);
            tracing::debug!(
                attempt,
                ?defect,
                tokens = g.tokens.len(),
                "generated summary"
            );
            attempts.push(Attempt {
                prompt: attempt,
                defect,
                tokens: g.tokens.len(),
            });
            last_raw = g.text;
            if defect.is_none() {
                accepted = Some(cleaned);
                break;
            }
        }
        let model = Some(gen.model_id().to_string());

        // The extractive (or lead) summary that replaces a rejected abstractive one, carrying
        // the generator's attempts, timings and tokens.
        let replace = |reason, rejected: String, rejected_faithfulness| {
            let mut s = self.fallback_summary(enc, input, start)?;
            s.requested = Method::Abstractive;
            s.attempts = attempts.clone();
            s.fallback = Some(Fallback {
                reason,
                to: s.method,
                rejected,
                rejected_faithfulness,
            });
            s.long = long.clone();
            add(&mut s.timings, &timings);
            s.tokens = tokens;
            s.timings.total_ms = ms(start);
            Ok(s)
        };

        let Some(cleaned) = accepted else {
            return replace(
                FallbackReason::Degenerate,
                last_raw.trim().to_string(),
                None,
            );
        };

        let faithfulness = faithful::check_with(&cleaned.text, &facts);
        if self.opts.strict && !faithfulness.passed() {
            return replace(FallbackReason::Unfaithful, cleaned.text, Some(faithfulness));
        }
        timings.total_ms = ms(start);
        Ok(Summary {
            needs_review: !faithfulness.passed(),
            text: cleaned.text,
            method: Method::Abstractive,
            requested: Method::Abstractive,
            style,
            words,
            faithfulness,
            trimmed: cleaned.trimmed,
            attempts,
            fallback: None,
            long,
            model,
            timings,
            tokens,
        })
    }

    /// Summarise by choosing the most central sentences with the encoder. Fast and faithful
    /// by construction (checked anyway).
    pub fn extractive(&self, enc: &Encoder, input: &SummaryInput) -> Result<Summary, SummaryError> {
        self.select_sentences(Some(enc), input, Instant::now())
    }

    /// The first sentences within the budget, no model (a baseline, and the fallback when no
    /// encoder is loaded).
    pub fn lead(&self, input: &SummaryInput) -> Summary {
        match self.select_sentences(None, input, Instant::now()) {
            Ok(s) => s,
            // Without an encoder nothing can fail.
            Err(_) => unreachable_summary(self.opts.style, self.opts.word_budget()),
        }
    }

    fn fallback_summary(
        &self,
        enc: Option<&Encoder>,
        input: &SummaryInput,
        start: Instant,
    ) -> Result<Summary, SummaryError> {
        self.select_sentences(enc, input, start)
    }

    fn select_sentences(
        &self,
        enc: Option<&Encoder>,
        input: &SummaryInput,
        start: Instant,
    ) -> Result<Summary, SummaryError> {
        let style = self.opts.style;
        let words = self.opts.word_budget();
        let mut timings = Timings::default();
        if let Some(enc) = enc.filter(|_| style == Style::Brief && input.messages.len() > 1) {
            return self.select_thread(enc, input, start);
        }
        let mut all = sentences::split(&input.body);
        if all.is_empty() {
            // Nothing but a subject (or nothing at all): the subject is the best we have.
            if let Some(s) = input.subject.as_deref().filter(|s| !s.trim().is_empty()) {
                all.push(s.trim().to_string());
            }
        }
        let total = all.len();
        let long = (total > extractive::MAX_SENTENCES).then(|| LongInfo {
            strategy: LongMail::Cut,
            total,
            chunks: 0,
            dropped: total - extractive::MAX_SENTENCES,
        });
        all.truncate(extractive::MAX_SENTENCES);
        let counts: Vec<usize> = all.iter().map(|s| s.split_whitespace().count()).collect();
        let (scores, method, model) = match enc {
            Some(enc) if all.len() > 1 => {
                let t = Instant::now();
                let refs: Vec<&str> = all.iter().map(String::as_str).collect();
                let emb = enc.embed(&refs)?;
                let subject = match input.subject.as_deref().filter(|s| !s.trim().is_empty()) {
                    Some(s) => enc.embed(&[s])?.into_iter().next(),
                    None => None,
                };
                timings.embed_ms = ms(t);
                (
                    extractive::scores(&emb, subject.as_deref(), &counts, self.opts.lead_bias),
                    Method::Extractive,
                    Some(enc.model_id().to_string()),
                )
            }
            Some(enc) => (
                vec![1.0; all.len()],
                Method::Extractive,
                Some(enc.model_id().to_string()),
            ),
            None => (
                (0..all.len())
                    .map(|i| {
                        let frag = (counts[i] as f32 / 5.0).min(1.0);
                        frag / (1.0 + i as f32)
                    })
                    .collect(),
                Method::Lead,
                None,
            ),
        };
        let (text, trimmed) = extractive::select(&all, &scores, style, words);
        let faithfulness = faithful::check(&text, &input.source_text());
        timings.total_ms = ms(start);
        Ok(Summary {
            needs_review: !faithfulness.passed(),
            text,
            method,
            requested: method,
            style,
            words,
            faithfulness,
            trimmed,
            attempts: Vec::new(),
            fallback: None,
            long,
            model,
            timings,
            tokens: Tokens::default(),
        })
    }

    /// Extractive brief of a thread: each message's most central sentence (against the whole
    /// thread), then further sentences by score while the budget lasts, shown in thread order
    /// after their sender's first name ("Jacob: ...").
    fn select_thread(
        &self,
        enc: &Encoder,
        input: &SummaryInput,
        start: Instant,
    ) -> Result<Summary, SummaryError> {
        let words = self.opts.word_budget();
        let mut timings = Timings::default();
        // (message, position in message, sentence)
        let mut sents: Vec<(usize, usize, String)> = Vec::new();
        let mut total = 0;
        for (m, msg) in input.messages.iter().enumerate() {
            let split = sentences::split(&msg.body);
            total += split.len();
            sents.extend(
                split
                    .into_iter()
                    .take(extractive::MAX_THREAD_SENTENCES)
                    .enumerate()
                    .map(|(i, s)| (m, i, s)),
            );
        }
        let t = Instant::now();
        let refs: Vec<&str> = sents.iter().map(|s| s.2.as_str()).collect();
        let emb = if refs.is_empty() {
            Vec::new()
        } else {
            enc.embed(&refs)?
        };
        timings.embed_ms = ms(t);
        let positions: Vec<(usize, usize)> = sents.iter().map(|s| (s.0, s.1)).collect();
        let counts: Vec<usize> = sents
            .iter()
            .map(|s| s.2.split_whitespace().count())
            .collect();
        let scores = extractive::thread_scores(&emb, &positions, &counts, self.opts.lead_bias);
        let senders: Vec<Option<String>> = input
            .messages
            .iter()
            .map(|m| m.from.as_deref().and_then(extractive::first_name))
            .collect();
        let (text, trimmed) = extractive::select_thread(&sents, &scores, &senders, words);
        let faithfulness = faithful::check(&text, &input.source_text());
        timings.total_ms = ms(start);
        Ok(Summary {
            needs_review: !faithfulness.passed(),
            text,
            method: Method::Extractive,
            requested: Method::Extractive,
            style: Style::Brief,
            words,
            faithfulness,
            trimmed,
            attempts: Vec::new(),
            fallback: None,
            long: (total > sents.len()).then(|| LongInfo {
                strategy: LongMail::Cut,
                total,
                chunks: 0,
                dropped: total - sents.len(),
            }),
            model: Some(enc.model_id().to_string()),
            timings,
            tokens: Tokens::default(),
        })
    }

    /// The body to prompt with: whole when within the budget; otherwise chunk summaries or the
    /// start and end with a visible cut.
    fn fit_body(
        &self,
        gen: &mut Generator,
        input: &SummaryInput,
        timings: &mut Timings,
        tokens: &mut Tokens,
    ) -> Result<(String, Option<LongInfo>), SummaryError> {
        let budget = self.opts.input_tokens.max(64);
        let total = gen.tokenize(&input.body)?.len();
        if total <= budget {
            return Ok((input.body.trim().to_string(), None));
        }
        let sents = sentences::split(&input.body);
        let lens: Vec<usize> = sents
            .iter()
            .map(|s| gen.tokenize(s).map(|t| t.len() + 1))
            .collect::<Result<_, _>>()?;
        match self.opts.long_mail {
            LongMail::Cut => {
                let (head, tail) = (budget * 3 / 4, budget / 4);
                let mut used = 0;
                let mut h = 0;
                while h < sents.len() && used + lens[h] <= head {
                    used += lens[h];
                    h += 1;
                }
                let mut t = sents.len();
                let mut tail_used = 0;
                while t > h && tail_used + lens[t - 1] <= tail {
                    tail_used += lens[t - 1];
                    t -= 1;
                }
                let h = h.max(1).min(sents.len());
                let mut body = sents[..h].join(" ");
                if t > h {
                    body.push_str("\n[…]\n");
                    body.push_str(&sents[t..].join(" "));
                }
                Ok((
                    body,
                    Some(LongInfo {
                        strategy: LongMail::Cut,
                        total,
                        chunks: 0,
                        dropped: t.saturating_sub(h),
                    }),
                ))
            }
            LongMail::Chunk => {
                let mut chunks: Vec<String> = Vec::new();
                let mut cur: Vec<&str> = Vec::new();
                let mut used = 0;
                for (s, &l) in sents.iter().zip(&lens) {
                    if !cur.is_empty() && used + l > budget {
                        chunks.push(cur.join(" "));
                        cur.clear();
                        used = 0;
                    }
                    cur.push(s);
                    used += l;
                }
                if !cur.is_empty() {
                    chunks.push(cur.join(" "));
                }
                let n = chunks.len();
                let max = self.opts.max_chunks.max(2);
                let dropped = n.saturating_sub(max);
                if dropped > 0 {
                    // Keep the start and the end: requests and deadlines sit there.
                    let last = chunks.pop().unwrap_or_default();
                    chunks.truncate(max - 1);
                    chunks.push(last);
                }
                let opts = GenOpts {
                    max_new_tokens: abstractive::max_new_tokens(Style::Brief, DEFAULT_BRIEF_WORDS),
                    ..GenOpts::default()
                };
                let mut parts = Vec::new();
                for c in &chunks {
                    // A chunk that alone overflows the budget (one huge "sentence") is cut.
                    let c: String = c.chars().take(budget * 6).collect();
                    let email = abstractive::email_block(None, input.subject.as_deref(), &c);
                    let p = abstractive::prompt(Style::Brief, DEFAULT_BRIEF_WORDS, &email, 0);
                    let g = gen.chat(p.system.as_deref(), &p.user, &opts)?;
                    timings.prompt_ms += g.prompt_ms;
                    timings.decode_ms += g.decode_ms;
                    tokens.prompt += g.prompt_tokens;
                    tokens.generated += g.tokens.len();
                    let cleaned = abstractive::clean(&g.text, Style::Brief, DEFAULT_BRIEF_WORDS);
                    if abstractive::assess(&g.text, &cleaned.text, Style::Brief).is_none() {
                        parts.push(cleaned.text);
                    } else {
                        // A chunk the model could not summarise contributes its lead sentence.
                        parts.push(sentences::split(&c).into_iter().next().unwrap_or_default());
                    }
                }
                Ok((
                    parts.join("\n"),
                    Some(LongInfo {
                        strategy: LongMail::Chunk,
                        total,
                        chunks: chunks.len(),
                        dropped,
                    }),
                ))
            }
        }
    }
}

fn add(into: &mut Timings, from: &Timings) {
    into.prompt_ms += from.prompt_ms;
    into.decode_ms += from.decode_ms;
    into.embed_ms += from.embed_ms;
}

fn unreachable_summary(style: Style, words: usize) -> Summary {
    Summary {
        text: String::new(),
        method: Method::Lead,
        requested: Method::Lead,
        style,
        words,
        faithfulness: Faithfulness::default(),
        needs_review: true,
        trimmed: false,
        attempts: Vec::new(),
        fallback: None,
        long: None,
        model: None,
        timings: Timings::default(),
        tokens: Tokens::default(),
    }
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
            words: Some(4),
            ..SummaryOptions::default()
        })
        .lead(&input);
        assert_eq!(h.text, "Can I pay £70");
    }

    #[test]
    fn empty_body_uses_the_subject() {
        let input = SummaryInput::new(None, Some("Quarterly figures"), "  ");
        let s = Summarizer::default().lead(&input);
        assert_eq!(s.text, "Quarterly figures");
    }
}
