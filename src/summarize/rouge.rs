//! ROUGE-1, ROUGE-2 and ROUGE-L F1 computed as the `rouge-score` package does with
//! `use_stemmer=True`: lower-case, every run of characters outside `[a-z0-9]` is a separator,
//! tokens longer than 3 characters are Porter-stemmed (NLTK's default mode), ROUGE-N counts
//! clipped n-gram matches, ROUGE-L uses the longest common subsequence over the whole text
//! (`rougeL`, not the sentence-split `rougeLsum`).

use std::collections::HashMap;

use serde::Serialize;

use super::porter;

/// Precision, recall and F1 of one ROUGE measure, each between 0 and 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Prf {
    /// Matches over the candidate's units.
    pub precision: f64,
    /// Matches over the reference's units.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
}

impl Prf {
    fn new(matches: usize, cand: usize, reference: usize) -> Prf {
        let precision = if cand == 0 {
            0.0
        } else {
            matches as f64 / cand as f64
        };
        let recall = if reference == 0 {
            0.0
        } else {
            matches as f64 / reference as f64
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Prf {
            precision,
            recall,
            f1,
        }
    }
}

/// ROUGE-1, ROUGE-2 and ROUGE-L of one candidate against one reference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rouge {
    /// Unigram overlap.
    pub rouge1: Prf,
    /// Bigram overlap.
    pub rouge2: Prf,
    /// Longest common subsequence.
    pub rouge_l: Prf,
}

/// `rouge-score`'s tokenizer with stemming.
pub fn tokenize(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(|t| {
            if t.len() > 3 {
                porter::stem(t)
            } else {
                t.to_string()
            }
        })
        .collect()
}

fn ngrams(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut map = HashMap::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *map.entry(w).or_insert(0) += 1;
        }
    }
    map
}

fn rouge_n(cand: &[String], reference: &[String], n: usize) -> Prf {
    let c = ngrams(cand, n);
    let r = ngrams(reference, n);
    let matches: usize = c
        .iter()
        .map(|(g, &k)| k.min(r.get(g).copied().unwrap_or(0)))
        .sum();
    Prf::new(matches, c.values().sum(), r.values().sum())
}

fn lcs(a: &[String], b: &[String]) -> usize {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Score a candidate against one reference.
pub fn score(candidate: &str, reference: &str) -> Rouge {
    let c = tokenize(candidate);
    let r = tokenize(reference);
    let l = lcs(&c, &r);
    Rouge {
        rouge1: rouge_n(&c, &r, 1),
        rouge2: rouge_n(&c, &r, 2),
        rouge_l: Prf::new(l, c.len(), r.len()),
    }
}

/// F1 of a candidate against several references: the best and the mean per measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct MultiRef {
    /// Best F1 over the references: ROUGE-1, ROUGE-2, ROUGE-L.
    pub max: [f64; 3],
    /// Mean F1 over the references: ROUGE-1, ROUGE-2, ROUGE-L.
    pub mean: [f64; 3],
}

/// Score a candidate against every reference (empty references give zeros).
pub fn score_multi(candidate: &str, references: &[&str]) -> MultiRef {
    let mut out = MultiRef::default();
    if references.is_empty() {
        return out;
    }
    for r in references {
        let s = score(candidate, r);
        for (i, f) in [s.rouge1.f1, s.rouge2.f1, s.rouge_l.f1]
            .into_iter()
            .enumerate()
        {
            out.max[i] = out.max[i].max(f);
            out.mean[i] += f / references.len() as f64;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn rouge_score_package_examples() {
        // rouge_score.rouge_scorer.RougeScorer(["rouge1","rouge2","rougeL"], use_stemmer=True)
        let s = score(
            "The quick brown dog jumps on the log.",
            "The quick brown fox jumps over the lazy dog",
        );
        close(s.rouge1.precision, 6.0 / 8.0);
        close(s.rouge1.recall, 6.0 / 9.0);
        close(s.rouge1.f1, 0.7058823529411765);
        close(s.rouge2.f1, 4.0 / 15.0);
        close(s.rouge_l.f1, 0.5882352941176471);
        // Stemming: "meetings" and "meeting" are one token.
        let s = score("meetings confirmed", "meeting confirmation");
        close(s.rouge1.f1, 1.0);
        close(s.rouge2.f1, 1.0);
    }

    #[test]
    fn tokenizer_matches_rouge_score() {
        assert_eq!(
            tokenize("Re: Q3-budget, £1,200 (final)!"),
            vec!["re", "q3", "budget", "1", "200", "final"]
        );
        assert!(tokenize("").is_empty());
        let s = score("", "anything");
        close(s.rouge1.f1, 0.0);
    }

    #[test]
    fn multi_reference_max_and_mean() {
        let m = score_multi(
            "meeting confirmed",
            &["meeting confirmation", "fee questions"],
        );
        close(m.max[0], 1.0);
        close(m.mean[0], 0.5);
    }
}
