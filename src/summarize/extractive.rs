//! Extractive summaries: the most central sentences of the email by encoder similarity, with a
//! bias towards the start of the email, kept in their original order. Every word comes from
//! the source, so the result is faithful by construction (a sentence cut to the budget ends
//! with "…").

use super::{compress, Style};

/// Most sentences embedded per message: later ones are rarely central, and this bounds time.
pub const MAX_SENTENCES: usize = 64;

/// Scores each sentence: cosine similarity to the centroid of all sentences (and the subject,
/// when there is one), plus `lead_bias / (1 + position)`, times a penalty for fragments of
/// fewer than 5 words.
pub fn scores(
    embeddings: &[Vec<f32>],
    subject: Option<&[f32]>,
    words: &[usize],
    lead_bias: f32,
) -> Vec<f32> {
    let n = embeddings.len();
    if n == 0 {
        return Vec::new();
    }
    let dim = embeddings[0].len();
    let mut centroid = vec![0f32; dim];
    for e in embeddings {
        for (c, x) in centroid.iter_mut().zip(e) {
            *c += x;
        }
    }
    if let Some(s) = subject {
        for (c, x) in centroid.iter_mut().zip(s) {
            // The sender's own subject line weighs as much as a quarter of the body.
            *c += x * (n as f32 / 4.0).max(1.0);
        }
    }
    let norm = centroid
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(1e-12);
    centroid.iter_mut().for_each(|x| *x /= norm);
    embeddings
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let cos: f32 = e.iter().zip(&centroid).map(|(a, b)| a * b).sum();
            let frag = (words.get(i).copied().unwrap_or(5) as f32 / 5.0).min(1.0);
            (cos + lead_bias / (1.0 + i as f32)) * frag
        })
        .collect()
}

/// Pick sentences by score within the word budget and join them in their original order.
/// Returns the text and whether a sentence was cut.
pub fn select(sentences: &[String], scores: &[f32], style: Style, words: usize) -> (String, bool) {
    if sentences.is_empty() {
        return (String::new(), false);
    }
    // Fragments of one or two words ("Ann", "Items:") only when nothing else is left.
    let n = sentences.len().min(scores.len());
    let mut order: Vec<usize> = (0..n)
        .filter(|&i| sentences[i].split_whitespace().count() >= 3)
        .collect();
    if order.is_empty() {
        order = (0..n).collect();
    }
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let count = |s: &String| s.split_whitespace().count();
    let mut chosen: Vec<usize> = Vec::new();
    let mut used = 0;
    let limit = match style {
        Style::Headline => 1,
        // Two or three sentences at the default 40 words; more for a larger budget (threads).
        Style::Brief => (words / 15).max(3),
    };
    for &i in &order {
        let w = count(&sentences[i]);
        if chosen.is_empty() || (used + w <= words && chosen.len() < limit) {
            chosen.push(i);
            used += w;
        }
        if used >= words || chosen.len() >= limit {
            break;
        }
    }
    chosen.sort_unstable();
    let mut cut = false;
    let parts: Vec<String> = chosen
        .iter()
        .map(|&i| {
            let s = &sentences[i];
            let ws: Vec<&str> = s.split_whitespace().collect();
            if style == Style::Headline {
                let (h, c) = compress::headline(s, words);
                cut |= c;
                h
            } else if ws.len() > words {
                cut = true;
                let t = ws[..words].join(" ");
                format!("{}…", t.trim_end_matches([',', ';', ':']))
            } else {
                s.clone()
            }
        })
        .collect();
    (parts.join(" "), cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_sentences_in_order() {
        let e = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.8, 0.6]];
        let w = vec![6, 6, 6];
        let s = scores(&e, None, &w, 0.0);
        assert!(s[2] > s[0] && s[2] > s[1]);
        let sents: Vec<String> = ["A a a a a a.", "B b b b b b.", "C c c c c c."]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (t, cut) = select(&sents, &s, Style::Brief, 12);
        assert!(!cut);
        // The two best, in their original order.
        assert!(t == "A a a a a a. C c c c c c." || t == "B b b b b b. C c c c c c.");
        let (t, cut) = select(&sents, &s, Style::Headline, 3);
        assert_eq!(t, "C c c");
        assert!(cut);
    }

    #[test]
    fn lead_bias_favours_the_start() {
        let e = vec![vec![0.6, 0.8], vec![0.8, 0.6]];
        let s = scores(&e, None, &[6, 6], 1.0);
        assert!(s[0] > s[1]);
    }
}
