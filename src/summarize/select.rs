//! Summaries made of the message's own sentences: extractive (the most central sentences by the
//! encoder, see [`super::extractive`]) and lead (the first sentences, no model), for one message
//! or a thread. Faithful by construction; checked anyway.

use std::time::Instant;

use crate::models::Encoder;

use super::{
    extractive, faithful, ms, sentences as split, LongInfo, LongMail, Method, Style, Summary,
    SummaryError, SummaryInput, SummaryOptions, Timings, Tokens,
};

/// A summary of chosen sentences: the most central ones by the encoder (`enc`), or without it
/// the first ones (lead). A thread's brief goes to [`thread`].
pub(super) fn sentences(
    opts: &SummaryOptions,
    enc: Option<&Encoder>,
    input: &SummaryInput,
    start: Instant,
) -> Result<Summary, SummaryError> {
    let style = opts.style;
    let words = opts.word_budget();
    let mut timings = Timings::default();
    if let Some(enc) = enc.filter(|_| style == Style::Brief && input.messages.len() > 1) {
        return thread(opts, enc, input, start);
    }
    let mut all = split::split(&input.body);
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
                extractive::scores(&emb, subject.as_deref(), &counts, opts.lead_bias),
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
fn thread(
    opts: &SummaryOptions,
    enc: &Encoder,
    input: &SummaryInput,
    start: Instant,
) -> Result<Summary, SummaryError> {
    let words = opts.word_budget();
    let mut timings = Timings::default();
    // (message, position in message, sentence)
    let mut sents: Vec<(usize, usize, String)> = Vec::new();
    let mut total = 0;
    for (m, msg) in input.messages.iter().enumerate() {
        let split = split::split(&msg.body);
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
    let scores = extractive::thread_scores(&emb, &positions, &counts, opts.lead_bias);
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
