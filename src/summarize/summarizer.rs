//! The [`Summarizer`]: one entry point per method (abstractive, extractive, lead) and the
//! fallbacks between them. Abstractive summaries are generated (retried once with a second
//! prompt when the output is terse, loops or refuses) and checked; sentence-choosing summaries
//! live in [`super::select`], long-mail handling in [`super::long`].

use std::time::Instant;

use crate::models::{Encoder, GenOpts, Generator};

use super::{
    abstractive, faithful, long, ms, select, Attempt, Faithfulness, Fallback, FallbackReason,
    LongInfo, Method, Style, Summary, SummaryError, SummaryInput, SummaryOptions, Timings, Tokens,
};

/// Summarises messages with fixed options.
#[derive(Debug, Clone, Default)]
pub struct Summarizer {
    opts: SummaryOptions,
}

/// What the generator produced for one message: the accepted cleaned text (if any attempt was
/// free of defects), the last raw output, every attempt, and the time and tokens spent.
struct Generated {
    accepted: Option<abstractive::Cleaned>,
    last_raw: String,
    attempts: Vec<Attempt>,
    long: Option<LongInfo>,
    timings: Timings,
    tokens: Tokens,
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
        if input.body.trim().is_empty()
            && input.subject.as_deref().is_none_or(|s| s.trim().is_empty())
        {
            let mut s = select::sentences(&self.opts, enc, input, start)?;
            s.requested = Method::Abstractive;
            return Ok(s);
        }
        let g = self.generate(gen, input)?;
        let Some(cleaned) = g.accepted.clone() else {
            let rejected = rejected(FallbackReason::Degenerate, g.last_raw.trim(), None);
            return self.replace(enc, input, start, g, rejected);
        };
        let facts = faithful::SourceFacts::new(&input.source_text());
        let faithfulness = faithful::check_with(&cleaned.text, &facts);
        if self.opts.strict && !faithfulness.passed() {
            let rejected = rejected(
                FallbackReason::Unfaithful,
                &cleaned.text,
                Some(faithfulness),
            );
            return self.replace(enc, input, start, g, rejected);
        }
        let mut timings = g.timings;
        timings.total_ms = ms(start);
        Ok(Summary {
            needs_review: !faithfulness.passed(),
            text: cleaned.text,
            method: Method::Abstractive,
            requested: Method::Abstractive,
            style: self.opts.style,
            words: self.opts.word_budget(),
            faithfulness,
            trimmed: cleaned.trimmed,
            attempts: g.attempts,
            fallback: None,
            long: g.long,
            model: Some(gen.model_id().to_string()),
            timings,
            tokens: g.tokens,
        })
    }

    /// Summarise by choosing the most central sentences with the encoder. Fast and faithful
    /// by construction (checked anyway).
    pub fn extractive(&self, enc: &Encoder, input: &SummaryInput) -> Result<Summary, SummaryError> {
        select::sentences(&self.opts, Some(enc), input, Instant::now())
    }

    /// The first sentences within the budget, no model (a baseline, and the fallback when no
    /// encoder is loaded).
    pub fn lead(&self, input: &SummaryInput) -> Summary {
        match select::sentences(&self.opts, None, input, Instant::now()) {
            Ok(s) => s,
            // Without an encoder nothing can fail.
            Err(_) => unreachable_summary(self.opts.style, self.opts.word_budget()),
        }
    }

    /// Fit the body to the input budget, then generate with the primary prompt and, when its
    /// output has a defect and retries are on, once more with the second prompt.
    fn generate(
        &self,
        gen: &mut Generator,
        input: &SummaryInput,
    ) -> Result<Generated, SummaryError> {
        let style = self.opts.style;
        let words = self.opts.word_budget();
        let mut timings = Timings::default();
        let mut tokens = Tokens::default();
        // Long mail: chunk or cut to the input budget.
        let (body, long) = long::fit_body(&self.opts, gen, input, &mut timings, &mut tokens)?;
        let email =
            abstractive::email_block(input.from.as_deref(), input.subject.as_deref(), &body);
        let gen_opts = GenOpts {
            max_new_tokens: abstractive::max_new_tokens(style, words),
            ..GenOpts::default()
        };
        let tries = if self.opts.retry { 2 } else { 1 };
        let mut out = Generated {
            accepted: None,
            last_raw: String::new(),
            attempts: Vec::new(),
            long,
            timings,
            tokens,
        };
        for attempt in 0..tries {
            let p = abstractive::prompt(style, words, &email, attempt);
            let g = gen.chat(p.system.as_deref(), &p.user, &gen_opts)?;
            out.timings.prompt_ms += g.prompt_ms;
            out.timings.decode_ms += g.decode_ms;
            out.tokens.prompt += g.prompt_tokens;
            out.tokens.generated += g.tokens.len();
            let cleaned = abstractive::clean(&g.text, style, words);
            let defect = abstractive::assess(&g.text, &cleaned.text, style);
            tracing::debug!(
                attempt,
                ?defect,
                tokens = g.tokens.len(),
                "generated summary"
            );
            out.attempts.push(Attempt {
                prompt: attempt,
                defect,
                tokens: g.tokens.len(),
            });
            out.last_raw = g.text;
            if defect.is_none() {
                out.accepted = Some(cleaned);
                break;
            }
        }
        Ok(out)
    }

    /// The extractive (or lead) summary that replaces a rejected abstractive one, carrying
    /// the generator's attempts, timings and tokens; `fallback.to` is set to its method.
    fn replace(
        &self,
        enc: Option<&Encoder>,
        input: &SummaryInput,
        start: Instant,
        g: Generated,
        mut fallback: Fallback,
    ) -> Result<Summary, SummaryError> {
        let mut s = select::sentences(&self.opts, enc, input, start)?;
        s.requested = Method::Abstractive;
        s.attempts = g.attempts;
        fallback.to = s.method;
        s.fallback = Some(fallback);
        s.long = g.long;
        add(&mut s.timings, &g.timings);
        s.tokens = g.tokens;
        s.timings.total_ms = ms(start);
        Ok(s)
    }
}

/// A rejected abstractive text, for the record (`to` is filled in by [`Summarizer::replace`]).
fn rejected(reason: FallbackReason, text: &str, faithfulness: Option<Faithfulness>) -> Fallback {
    Fallback {
        reason,
        to: Method::Lead,
        rejected: text.to_string(),
        rejected_faithfulness: faithfulness,
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
