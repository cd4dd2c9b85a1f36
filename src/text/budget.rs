//! Fitting text into a token budget: keep the head and the tail, cut the middle at word
//! boundaries, and report exactly what was cut. Works with any token-counting function; the
//! default is a cheap estimate so that no model is needed.

use serde::Serialize;

/// What was cut from the body to fit the budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Truncation {
    /// Tokens of the whole body, by the counting function in use.
    pub total_tokens: usize,
    /// Tokens kept (head plus tail).
    pub kept_tokens: usize,
    /// Tokens dropped (`total_tokens - kept_tokens`).
    pub dropped_tokens: usize,
    /// Tokens kept from the start of the body.
    pub head_tokens: usize,
    /// Tokens kept from the end of the body.
    pub tail_tokens: usize,
    /// Characters dropped.
    pub dropped_chars: usize,
    /// Byte range of the dropped middle in `Prepared::body`, `[start, end)`.
    pub dropped_range: [usize; 2],
}

/// The marker put where the middle was cut.
pub const MARKER: &str = "\n[...]\n";

/// A cheap token estimate close to (slightly above) what BERT WordPiece and small-LLM BPE
/// tokenizers produce on English: one token per six letters of a word (at least one), one per
/// punctuation mark and one per CJK character.
pub fn estimate_tokens(text: &str) -> usize {
    let mut tokens = 0usize;
    let mut run = 0usize;
    if text.is_ascii() {
        for &b in text.as_bytes() {
            if b.is_ascii_alphanumeric() {
                run += 1;
                continue;
            }
            tokens += run.div_ceil(6);
            run = 0;
            if !b.is_ascii_whitespace() {
                tokens += 1;
            }
        }
        return tokens + run.div_ceil(6);
    }
    for c in text.chars() {
        if c.is_alphanumeric() && !is_cjk(c) {
            run += 1;
            continue;
        }
        tokens += run.div_ceil(6);
        run = 0;
        if !c.is_whitespace() {
            tokens += 1;
        }
    }
    tokens + run.div_ceil(6)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// [`fit`] for the default estimate, in one linear pass: [`estimate_tokens`] is additive over
/// whitespace-separated words, so prefix counts are running sums.
pub fn fit_estimated(
    body: &str,
    budget: usize,
    head_fraction: f32,
) -> (String, Option<Truncation>, usize) {
    let total = estimate_tokens(body);
    if total <= budget {
        return (body.to_string(), None, total);
    }
    // (start, end, cumulative tokens up to and including this word)
    let mut words: Vec<(usize, usize, usize)> = Vec::new();
    let mut total = 0usize;
    let mut start = None;
    for (i, c) in body
        .char_indices()
        .chain(std::iter::once((body.len(), ' ')))
    {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                total += estimate_tokens(&body[s..i]);
                words.push((s, i, total));
                start = None;
            }
            _ => {}
        }
    }
    if total <= budget {
        return (body.to_string(), None, total);
    }
    let marker = estimate_tokens(MARKER.trim());
    let usable = budget.saturating_sub(marker);
    let head_budget = ((usable as f32) * head_fraction.clamp(0.0, 1.0)).floor() as usize;
    let tail_budget = usable - head_budget;
    // Words kept at the head: those whose running sum fits.
    let head_words = words.partition_point(|w| w.2 <= head_budget);
    let head_tokens = if head_words == 0 {
        0
    } else {
        words[head_words - 1].2
    };
    let head_end = if head_words == 0 {
        0
    } else {
        words[head_words - 1].1
    };
    // First tail word: the earliest after the head whose suffix fits.
    let first_tail = (head_words..words.len())
        .find(|&k| total - if k == 0 { 0 } else { words[k - 1].2 } <= tail_budget)
        .unwrap_or(words.len());
    let tail_start = words
        .get(first_tail)
        .map_or(body.len(), |w| w.0)
        .max(head_end);
    let tail_tokens = total
        - if first_tail == 0 {
            0
        } else {
            words[first_tail - 1].2
        };
    let head = body[..head_end].trim_end();
    let tail = body[tail_start..].trim_start();
    let mut text = String::with_capacity(head.len() + tail.len() + MARKER.len());
    text.push_str(head);
    text.push_str(MARKER);
    text.push_str(tail);
    let kept = head_tokens + tail_tokens;
    let truncation = Truncation {
        total_tokens: total,
        kept_tokens: kept,
        dropped_tokens: total - kept,
        head_tokens,
        tail_tokens,
        dropped_chars: body[head_end..tail_start].chars().count(),
        dropped_range: [head_end, tail_start],
    };
    (text.trim().to_string(), Some(truncation), total)
}

/// Byte offsets where the body may be cut: the end of every word.
fn word_ends(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut prev_ws = true;
    for (i, c) in text.char_indices() {
        let ws = c.is_whitespace();
        if ws && !prev_ws {
            ends.push(i);
        }
        prev_ws = ws;
    }
    ends.push(text.len());
    ends
}

/// Fit `body` into `budget` tokens, keeping `head_fraction` of the budget from the start and
/// the rest from the end. Returns the fitted text, what was cut (`None` when it fit) and the
/// token count of the whole body.
pub fn fit(
    body: &str,
    budget: usize,
    head_fraction: f32,
    count: &dyn Fn(&str) -> usize,
) -> (String, Option<Truncation>, usize) {
    let total = count(body);
    if total <= budget {
        return (body.to_string(), None, total);
    }
    let marker = count(MARKER.trim());
    let usable = budget.saturating_sub(marker);
    let head_budget = ((usable as f32) * head_fraction.clamp(0.0, 1.0)).floor() as usize;
    let tail_budget = usable - head_budget;

    // A token rarely covers more than 32 bytes: search only that far for the cut points, so
    // the cost stays O(budget log n) counting calls on short slices.
    let ends = word_ends(body);
    let head_window = head_budget.saturating_mul(32).max(64);
    let head_cands: Vec<usize> = std::iter::once(0)
        .chain(ends.iter().copied().filter(|&e| e <= head_window))
        .collect();
    // Largest cut whose prefix fits.
    let (mut lo, mut hi) = (0usize, head_cands.len() - 1);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if count(&body[..head_cands[mid]]) <= head_budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let head_end = head_cands[lo];

    // Tail cut points: starts of words.
    let tail_window = body
        .len()
        .saturating_sub(tail_budget.saturating_mul(32).max(64));
    let mut tail_cands: Vec<usize> = body
        .char_indices()
        .zip(body.char_indices().skip(1))
        .filter(|((_, a), (_, b))| a.is_whitespace() && !b.is_whitespace())
        .map(|(_, (j, _))| j)
        .filter(|&j| j >= head_end.max(tail_window))
        .collect();
    tail_cands.push(body.len());
    // Smallest start whose suffix fits.
    let (mut lo, mut hi) = (0usize, tail_cands.len() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if count(&body[tail_cands[mid]..]) <= tail_budget {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let tail_start = tail_cands[lo].max(head_end);

    let head = body[..head_end].trim_end();
    let tail = body[tail_start..].trim_start();
    let head_tokens = count(head);
    let tail_tokens = count(tail);
    let kept = head_tokens + tail_tokens;
    let mut text = String::with_capacity(head.len() + tail.len() + MARKER.len());
    text.push_str(head);
    text.push_str(MARKER);
    text.push_str(tail);
    let truncation = Truncation {
        total_tokens: total,
        kept_tokens: kept,
        dropped_tokens: total.saturating_sub(kept),
        head_tokens,
        tail_tokens,
        dropped_chars: body[head_end..tail_start].chars().count(),
        dropped_range: [head_end, tail_start],
    };
    (text.trim().to_string(), Some(truncation), total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> usize {
        s.split_whitespace().count()
    }

    #[test]
    fn estimate_is_reasonable() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("Hello, world!"), 4);
        assert_eq!(estimate_tokens("日本語"), 3);
    }

    #[test]
    fn keeps_head_and_tail() {
        let body: String = (0..100).map(|i| format!("w{i} ")).collect();
        let (text, t, _) = fit(body.trim(), 20, 0.75, &words);
        let t = t.unwrap();
        assert!(text.starts_with("w0 w1"), "{text}");
        assert!(text.ends_with("w98 w99"), "{text}");
        assert!(words(&text) <= 20, "{text}");
        assert_eq!(t.total_tokens, 100);
        assert_eq!(t.kept_tokens, t.head_tokens + t.tail_tokens);
        assert_eq!(t.dropped_tokens, 100 - t.kept_tokens);
        assert!(t.head_tokens >= 13 && t.tail_tokens >= 4, "{t:?}");
        let (text, t, _) = fit("short text", 20, 0.75, &words);
        assert_eq!(text, "short text");
        assert!(t.is_none());
    }

    #[test]
    fn estimated_fit_matches_generic_fit() {
        let body: String = (0..300)
            .map(|i| format!("word{i}, établissement{i}\n"))
            .collect();
        for budget in [0, 1, 5, 50, 200, 5000] {
            let a = fit(&body, budget, 0.75, &estimate_tokens);
            let b = fit_estimated(&body, budget, 0.75);
            assert_eq!(a, b, "budget {budget}");
        }
    }

    #[test]
    fn tiny_budget_does_not_panic() {
        for b in 0..4 {
            let (text, t, _) = fit("a b c d e f g", b, 0.5, &words);
            assert!(t.is_some());
            assert!(words(&text) <= b.max(1), "{b}: {text}");
        }
        let (_, t, _) = fit("oneverylongwordwithoutanyspaces", 0, 0.5, &estimate_tokens);
        assert!(t.is_some());
    }
}
