//! Long mail for the generator: a body over the input budget is summarised in chunks (then the
//! chunk summaries together) or cut to its start and end with a visible mark.

use crate::models::{GenOpts, Generator};

use super::{
    abstractive, sentences, LongInfo, LongMail, Style, SummaryError, SummaryInput, SummaryOptions,
    Timings, Tokens, DEFAULT_BRIEF_WORDS,
};

/// A body over the budget, in sentences with their token counts.
struct Split {
    sents: Vec<String>,
    lens: Vec<usize>,
    budget: usize,
    total: usize,
}

/// The body to prompt with: whole when within the budget; otherwise chunk summaries or the
/// start and end with a visible cut.
pub(super) fn fit_body(
    opts: &SummaryOptions,
    gen: &mut Generator,
    input: &SummaryInput,
    timings: &mut Timings,
    tokens: &mut Tokens,
) -> Result<(String, Option<LongInfo>), SummaryError> {
    let budget = opts.input_tokens.max(64);
    let total = gen.tokenize(&input.body)?.len();
    if total <= budget {
        return Ok((input.body.trim().to_string(), None));
    }
    let sents = sentences::split(&input.body);
    let lens: Vec<usize> = sents
        .iter()
        .map(|s| gen.tokenize(s).map(|t| t.len() + 1))
        .collect::<Result<_, _>>()?;
    let split = Split {
        sents,
        lens,
        budget,
        total,
    };
    match opts.long_mail {
        LongMail::Cut => Ok(cut(&split)),
        LongMail::Chunk => {
            let chunks = chunks(&split, opts.max_chunks);
            let body = summarise_chunks(gen, input, &chunks.0, budget, timings, tokens)?;
            let info = LongInfo {
                strategy: LongMail::Chunk,
                total,
                chunks: chunks.0.len(),
                dropped: chunks.1,
            };
            Ok((body, Some(info)))
        }
    }
}

/// The start (three quarters of the budget) and the end (a quarter) of the body, whole
/// sentences, with a visible cut between them.
fn cut(split: &Split) -> (String, Option<LongInfo>) {
    let Split {
        sents,
        lens,
        budget,
        total,
    } = split;
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
    let info = LongInfo {
        strategy: LongMail::Cut,
        total: *total,
        chunks: 0,
        dropped: t.saturating_sub(h),
    };
    (body, Some(info))
}

/// Consecutive chunks of whole sentences within the budget; beyond `max_chunks` the middle
/// ones are dropped (requests and deadlines sit at the start and the end). Also returns how
/// many were dropped.
fn chunks(split: &Split, max_chunks: usize) -> (Vec<String>, usize) {
    let mut chunks: Vec<String> = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut used = 0;
    for (s, &l) in split.sents.iter().zip(&split.lens) {
        if !cur.is_empty() && used + l > split.budget {
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
    let max = max_chunks.max(2);
    let dropped = chunks.len().saturating_sub(max);
    if dropped > 0 {
        let last = chunks.pop().unwrap_or_default();
        chunks.truncate(max - 1);
        chunks.push(last);
    }
    (chunks, dropped)
}

/// One brief summary per chunk, one per line; a chunk the model could not summarise
/// contributes its lead sentence.
fn summarise_chunks(
    gen: &mut Generator,
    input: &SummaryInput,
    chunks: &[String],
    budget: usize,
    timings: &mut Timings,
    tokens: &mut Tokens,
) -> Result<String, SummaryError> {
    let opts = GenOpts {
        max_new_tokens: abstractive::max_new_tokens(Style::Brief, DEFAULT_BRIEF_WORDS),
        ..GenOpts::default()
    };
    let mut parts = Vec::new();
    for c in chunks {
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
            parts.push(sentences::split(&c).into_iter().next().unwrap_or_default());
        }
    }
    Ok(parts.join("\n"))
}
