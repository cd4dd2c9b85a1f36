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

/// Most sentences embedded per message of a thread.
pub const MAX_THREAD_SENTENCES: usize = 24;

/// Share of the lead bias given to a sentence's position in its message in a thread.
///
/// Measured on the 10 BC3 dev threads (brief, 120 words; R1/R2/RL, max over references), as
/// (position, message) bias: (0, 0) 39.2/13.6/24.6; (0.3, 0) 40.7/13.2/24.4; (1, 0)
/// 39.3/12.4/23.7; (0.3, 0.2) 41.5/14.3/25.3; (0.3, 0.5) 41.6/13.7/24.9; (1, 0.5)
/// 41.1/13.4/25.1. Ten threads: differences under a point are noise.
pub const THREAD_POSITION_BIAS: f32 = 0.3;
/// Share of the lead bias given to the message's place in the thread (the first message
/// usually states the topic the replies discuss).
pub const THREAD_MESSAGE_BIAS: f32 = 0.2;

/// Scores the sentences of a thread: cosine similarity to the centroid of the whole thread,
/// plus `lead_bias` times ([`THREAD_POSITION_BIAS`] / (1 + position in its message) +
/// [`THREAD_MESSAGE_BIAS`] / (1 + message index)), times the fragment penalty of [`scores`].
/// `positions` holds (message, position in message) per sentence.
pub fn thread_scores(
    embeddings: &[Vec<f32>],
    positions: &[(usize, usize)],
    words: &[usize],
    lead_bias: f32,
) -> Vec<f32> {
    let plain = scores(embeddings, None, words, 0.0);
    plain
        .iter()
        .zip(positions)
        .enumerate()
        .map(|(i, (s, &(m, pos)))| {
            let frag = (words.get(i).copied().unwrap_or(5) as f32 / 5.0).min(1.0);
            s + lead_bias
                * frag
                * (THREAD_POSITION_BIAS / (1.0 + pos as f32)
                    + THREAD_MESSAGE_BIAS / (1.0 + m as f32))
        })
        .collect()
}

/// The first name of a sender ("Jacob Palme <jpalme@dsv.su.se>" → "Jacob", "\"Allen, Terry\"
/// <t@x>" → "Terry", "jpalme@dsv.su.se" → "jpalme").
pub fn first_name(from: &str) -> Option<String> {
    let display = from
        .split('<')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"');
    let name = if let Some((last, first)) = display.split_once(',') {
        first
            .split_whitespace()
            .next()
            .filter(|_| !last.trim().is_empty())
    } else {
        display.split_whitespace().next()
    };
    let name = match name.filter(|n| !n.contains('@')) {
        Some(n) => n.trim_matches(|c: char| !c.is_alphanumeric()).to_string(),
        None => {
            let addr = from
                .rsplit('<')
                .next()
                .unwrap_or(from)
                .trim_end_matches('>');
            addr.split('@').next().unwrap_or("").trim().to_string()
        }
    };
    (!name.is_empty()).then_some(name)
}

/// Choose thread sentences within `words`: first every message's best sentence (of 5 words or
/// more when it has one), best messages first, then further sentences by score. Shown in
/// thread order, each message's sentences after its sender's first name. Returns the text and
/// whether a sentence was cut.
pub fn select_thread(
    sents: &[(usize, usize, String)],
    scores: &[f32],
    senders: &[Option<String>],
    words: usize,
) -> (String, bool) {
    let count = |i: usize| sents[i].2.split_whitespace().count();
    let n = sents.len().min(scores.len());
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut best_of: Vec<Option<usize>> = vec![None; senders.len().max(1)];
    for &i in &order {
        let m = sents[i].0;
        if m < best_of.len() && best_of[m].is_none_or(|b| count(b) < 5 && count(i) >= 5) {
            best_of[m] = Some(i);
        }
    }
    let mut firsts: Vec<usize> = best_of.into_iter().flatten().collect();
    firsts.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut chosen: Vec<usize> = Vec::new();
    // The sender's name costs a word each time a new message starts.
    let mut used = 0;
    let cost = |i: usize, chosen: &[usize]| {
        count(i) + usize::from(!chosen.iter().any(|&c| sents[c].0 == sents[i].0))
    };
    for &i in firsts
        .iter()
        .chain(order.iter().filter(|&&i| count(i) >= 3))
    {
        if chosen.contains(&i) {
            continue;
        }
        let c = cost(i, &chosen);
        if chosen.is_empty() || used + c <= words {
            chosen.push(i);
            used += c;
        }
    }
    chosen.sort_unstable();
    let mut cut = false;
    let mut out: Vec<String> = Vec::new();
    let mut left = words;
    let mut last_msg = usize::MAX;
    for &i in &chosen {
        let (m, _, s) = &sents[i];
        if *m != last_msg {
            if let Some(name) = senders.get(*m).and_then(Option::as_ref) {
                out.push(format!("{name}:"));
                left = left.saturating_sub(1);
            }
            last_msg = *m;
        }
        let ws: Vec<&str> = s.split_whitespace().collect();
        if ws.len() > left {
            cut = true;
            out.push(format!(
                "{}…",
                ws[..left.max(1)]
                    .join(" ")
                    .trim_end_matches([',', ';', ':'])
            ));
            break;
        }
        left -= ws.len();
        out.push(s.clone());
    }
    (out.join(" "), cut)
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
    fn thread_sentences_name_their_senders_in_order() {
        assert_eq!(
            first_name("Jacob Palme <jpalme@dsv.su.se>").as_deref(),
            Some("Jacob")
        );
        assert_eq!(
            first_name("\"Allen, Terry\" <t@x.org>").as_deref(),
            Some("Terry")
        );
        assert_eq!(first_name("jpalme@dsv.su.se").as_deref(), Some("jpalme"));
        let sents: Vec<(usize, usize, String)> = vec![
            (0, 0, "Meetings could last two weeks instead.".into()),
            (0, 1, "This is a side remark only.".into()),
            (1, 0, "Firmer scheduling would help travel plans.".into()),
            (1, 1, "One more thought on the same topic.".into()),
        ];
        let senders = vec![Some("Jacob".to_string()), Some("Terry".to_string())];
        let (t, cut) = select_thread(&sents, &[0.9, 0.1, 0.8, 0.2], &senders, 14);
        assert_eq!(
            t,
            "Jacob: Meetings could last two weeks instead. Terry: Firmer scheduling would help travel plans."
        );
        assert!(!cut);
        // A larger budget takes the next best sentence, still in thread order.
        let (t, _) = select_thread(&sents, &[0.9, 0.1, 0.8, 0.3], &senders, 21);
        assert_eq!(
            t,
            "Jacob: Meetings could last two weeks instead. Terry: Firmer scheduling would help travel plans. One more thought on the same topic."
        );
    }

    #[test]
    fn lead_bias_favours_the_start() {
        let e = vec![vec![0.6, 0.8], vec![0.8, 0.6]];
        let s = scores(&e, None, &[6, 6], 1.0);
        assert!(s[0] > s[1]);
    }
}
