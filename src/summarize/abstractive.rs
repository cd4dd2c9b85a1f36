//! Prompts for the generator, and the clean-up and quality checks of what it writes.
//!
//! The prompts were tried on the default SmolLM2-135M-Instruct (greedy) against Enron mail
//! with human one-line summaries (AESLC dev) and on the example inbox. What that model does:
//! - with the email *before* the instruction it summarises; with the instruction first it
//!   often answers the email instead, or says it "cannot read emails";
//! - asked for a subject line it writes `Subject: ...`, which is the shape we want (the
//!   prefix is stripped); asked for "the topic" it writes "This email is about ...";
//! - asked for two sentences it starts "The sender wants/is asking ...", the useful shape for
//!   the person who answers;
//! - it sometimes stops after a fragment, loops on a phrase, or apologises: [`assess`] finds
//!   these and the caller retries with the other prompt, then falls back to extractive.

use std::collections::HashMap;

use serde::Serialize;

use super::Style;

/// One prompt: an optional system turn and the user turn.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// The system turn.
    pub system: Option<String>,
    /// The user turn.
    pub user: String,
}

/// The email as the prompt shows it: sender, subject, body.
pub fn email_block(from: Option<&str>, subject: Option<&str>, body: &str) -> String {
    let mut s = String::new();
    if let Some(f) = from.filter(|f| !f.trim().is_empty()) {
        s.push_str("From: ");
        s.push_str(f.trim());
        s.push('\n');
    }
    if let Some(sub) = subject.filter(|s| !s.trim().is_empty()) {
        s.push_str("Subject: ");
        s.push_str(sub.trim());
        s.push('\n');
    }
    if !s.is_empty() {
        s.push('\n');
    }
    s.push_str(body.trim());
    s
}

/// The prompt for `style`, attempt `attempt` (0: primary, 1: the retry prompt).
pub fn prompt(style: Style, words: usize, email: &str, attempt: usize) -> Prompt {
    match (style, attempt) {
        (Style::Headline, 0) => Prompt {
            system: Some("You write short email subject lines.".into()),
            user: format!(
                "Email:\n{email}\n\nWrite a subject line of 3 to {} words for this email. Reply with the subject line only.",
                words.max(3)
            ),
        },
        (Style::Headline, _) => Prompt {
            system: None,
            user: format!("{email}\n\nWhat is the topic of this email? Answer in a few words."),
        },
        (Style::Brief, 0) => Prompt {
            system: Some("You summarise emails in two short sentences.".into()),
            user: format!(
                "Email:\n{email}\n\nSummarise the email in two short sentences. Say what the sender wants."
            ),
        },
        (Style::Brief, _) => Prompt {
            system: Some("You are a helpful assistant who reads emails for a busy colleague.".into()),
            user: format!(
                "{email}\n\nIn one or two sentences, what does the writer of this email say and ask for?"
            ),
        },
    }
}

/// Most tokens to generate for a word budget: English runs ~1.3 tokens a word; the margin lets
/// the model finish its sentence, and the clean-up trims what is over.
pub fn max_new_tokens(style: Style, words: usize) -> usize {
    match style {
        Style::Headline => (words * 2).clamp(12, 40),
        Style::Brief => (words * 2).clamp(24, 200),
    }
}

/// What was wrong with a generated text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Defect {
    /// Nothing usable was left after the clean-up.
    Empty,
    /// Too few words to be a summary.
    Terse,
    /// The text repeats itself.
    Loop,
    /// The model refused, apologised or talked about itself.
    Refusal,
}

const PREAMBLES: &[&str] = &[
    "sure! ",
    "sure, ",
    "sure. ",
    "certainly! ",
    "certainly, ",
    "of course! ",
    "of course, ",
    "okay, ",
    "ok, ",
];

/// Lines or leading phrases that introduce the answer rather than being it.
fn strip_intro(s: &str) -> &str {
    let mut t = s.trim();
    loop {
        let before = t;
        let lower = t.to_lowercase();
        for p in PREAMBLES {
            if lower.starts_with(p) {
                t = t[p.len()..].trim_start();
                break;
            }
        }
        let lower = t.to_lowercase();
        for head in [
            "here is",
            "here's",
            "here are",
            "this is a summary",
            "summary of the email",
            "the summary",
            "a summary",
        ] {
            if lower.starts_with(head) {
                // "Here is a summary of the email: ..." → after the colon (or line end).
                if let Some(pos) = t.find([':', '\n']) {
                    t = t[pos + 1..].trim_start();
                }
                break;
            }
        }
        for label in [
            "subject line:",
            "subject:",
            "summary:",
            "title:",
            "headline:",
            "topic:",
            "answer:",
            "re:",
        ] {
            if t.to_lowercase().starts_with(label) {
                t = t[label.len()..].trim_start();
            }
        }
        if t == before {
            return t;
        }
    }
}

/// Remove markdown emphasis, quotes around the whole text, bullets and stray whitespace.
fn tidy(s: &str) -> String {
    let s = s.replace("**", "").replace("__", "");
    let s = s
        .lines()
        .map(|l| {
            let l = l.trim();
            l.strip_prefix("- ")
                .or_else(|| l.strip_prefix("* "))
                .or_else(|| l.strip_prefix("• "))
                .unwrap_or(l)
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = s.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| t.strip_prefix('“').and_then(|x| x.strip_suffix('”')))
        .unwrap_or(t);
    t.trim().to_string()
}

/// Sentences that talk about the task or the model, not the email.
fn is_meta_sentence(s: &str) -> bool {
    let l = s.to_lowercase();
    [
        "as an ai",
        "as a text-based",
        "language model",
        "i hope this helps",
        "let me know if you",
        "feel free to",
        "i can't",
        "i cannot",
        "i'm sorry",
        "i am sorry",
        "i apologize",
        "i don't have",
        "i do not have",
        "in two short sentences",
        "in one or two sentences",
        "summarise the email",
        "summarize the email",
        "reply with the subject line",
        "write a subject line",
    ]
    .iter()
    .any(|p| l.contains(p))
}

/// Split text into sentences at `.`, `!`, `?` followed by a space (good enough for model
/// output, which has no email layout).
fn sentences(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        if matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_none_or(|n| n.is_whitespace()) {
            let prev_word = cur
                .trim_end_matches(['.', '!', '?'])
                .rsplit(' ')
                .next()
                .unwrap_or("")
                .to_lowercase();
            if c == '.'
                && matches!(
                    prev_word.as_str(),
                    "mr" | "mrs" | "ms" | "dr" | "st" | "e.g" | "i.e"
                )
            {
                continue;
            }
            out.push(cur.trim().to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The result of cleaning a generated text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned {
    /// The text to show.
    pub text: String,
    /// True when an unfinished last sentence was removed or the text was cut to the budget.
    pub trimmed: bool,
}

/// Clean a generated text for `style` within `words`.
///
/// Brief: preamble and meta sentences removed, an unfinished last sentence dropped when a
/// complete one precedes it, whole sentences kept up to ~1.25× the word budget.
/// Headline: the first line, without labels, quotes or a final full stop, at most `words` words.
pub fn clean(raw: &str, style: Style, words: usize) -> Cleaned {
    let mut trimmed = false;
    match style {
        Style::Headline => {
            let body = strip_intro(raw);
            let first = body
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !is_meta_sentence(l))
                .unwrap_or("");
            let first = strip_intro(first);
            let mut t = tidy(first);
            // "This email is about X." → "X"
            for lead in [
                "this email is about ",
                "the email is about ",
                "the topic of this email is ",
                "the topic is ",
                "this email is regarding ",
            ] {
                if t.to_lowercase().starts_with(lead) {
                    t = t[lead.len()..].to_string();
                }
            }
            // A vocative copied from the body ("Patti, This sounds like ...") goes.
            if let Some((head, rest)) = t.split_once(", ") {
                if !head.contains(' ')
                    && head.chars().next().is_some_and(char::is_uppercase)
                    && rest.split_whitespace().count() >= 2
                {
                    t = rest.to_string();
                }
            }
            // A headline is one phrase: cut at the first sentence end.
            if let Some(first_sentence) = sentences(&t).into_iter().next() {
                if first_sentence.len() < t.len() {
                    trimmed = true;
                }
                t = first_sentence;
            }
            let ws: Vec<&str> = t.split_whitespace().collect();
            if ws.len() > words {
                trimmed = true;
                t = ws[..words].join(" ");
            }
            let t = t
                .trim_end_matches(['.', ',', ';', ':', '-', '–'])
                .trim()
                .to_string();
            Cleaned {
                text: capitalise(&t),
                trimmed,
            }
        }
        Style::Brief => {
            let body = strip_intro(raw);
            let t = tidy(body);
            let mut kept: Vec<String> = sentences(&t)
                .into_iter()
                .map(|s| strip_intro(&s).to_string())
                .filter(|s| !s.is_empty() && !is_meta_sentence(s))
                .collect();
            // An unfinished last sentence goes when something complete precedes it.
            if kept.len() > 1 && kept.last().is_some_and(|s| !s.ends_with(['.', '!', '?'])) {
                kept.pop();
                trimmed = true;
            }
            let budget = words + words / 4;
            let mut out: Vec<String> = Vec::new();
            let mut n = 0;
            for s in kept {
                let w = s.split_whitespace().count();
                if !out.is_empty() && n + w > budget {
                    trimmed = true;
                    break;
                }
                n += w;
                out.push(s);
            }
            let mut text = out.join(" ");
            if !text.is_empty() && !text.ends_with(['.', '!', '?']) {
                // A lone unfinished sentence: keep it, visibly unfinished.
                text = text.trim_end_matches([',', ';', ':', '-']).to_string();
                text.push('…');
                trimmed = true;
            }
            Cleaned {
                text: capitalise(&text),
                trimmed,
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Minimum words for a usable summary of each style.
pub fn min_words(style: Style) -> usize {
    match style {
        Style::Headline => 2,
        Style::Brief => 6,
    }
}

/// Find what is wrong with a raw generation and its clean form, if anything.
pub fn assess(raw: &str, cleaned: &str, style: Style) -> Option<Defect> {
    let lower = raw.to_lowercase();
    if [
        "as an ai",
        "as a text-based",
        "language model",
        "i'm sorry",
        "i am sorry",
        "i cannot",
        "i can't",
        "i apologize",
    ]
    .iter()
    .any(|p| lower.contains(p))
        && cleaned.split_whitespace().count() < min_words(style)
    {
        return Some(Defect::Refusal);
    }
    if cleaned.trim().is_empty() {
        return Some(if lower.contains("sorry") || lower.contains("as an ai") {
            Defect::Refusal
        } else {
            Defect::Empty
        });
    }
    if is_loop(raw) || is_loop(cleaned) {
        return Some(Defect::Loop);
    }
    let words = cleaned
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count();
    if words < min_words(style) {
        return Some(Defect::Terse);
    }
    None
}

/// A text loops when a 3-word phrase comes back 3 times or more, or when under 40 % of the
/// words of a text of 15 words or more are distinct.
pub fn is_loop(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let mut counts: HashMap<&[String], usize> = HashMap::new();
    for g in words.windows(3) {
        let c = counts.entry(g).or_insert(0);
        *c += 1;
        if *c >= 3 {
            return true;
        }
    }
    if words.len() >= 15 {
        let distinct: std::collections::HashSet<&String> = words.iter().collect();
        if (distinct.len() as f64) < 0.4 * words.len() as f64 {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brief_cleanup_removes_preamble_meta_and_unfinished_sentence() {
        let c = clean(
            "Sure! Here is a summary of the email:\n\n**The sender wants to confirm a meeting on Tuesday.** They ask for the room number. I hope this helps! The meeting will be",
            Style::Brief,
            40,
        );
        assert_eq!(
            c.text,
            "The sender wants to confirm a meeting on Tuesday. They ask for the room number."
        );
        assert!(c.trimmed);
    }

    #[test]
    fn brief_cleanup_keeps_whole_sentences_within_budget() {
        let c = clean(
            "One two three four five six. Seven eight nine ten eleven twelve. Thirteen fourteen.",
            Style::Brief,
            8,
        );
        assert_eq!(c.text, "One two three four five six.");
        let c = clean("The sender asks about the fee and", Style::Brief, 40);
        assert_eq!(c.text, "The sender asks about the fee and…");
    }

    #[test]
    fn headline_cleanup() {
        let c = clean(
            "Subject: \"Meeting confirmation for Tuesday.\"\n\nDear all,",
            Style::Headline,
            10,
        );
        assert_eq!(c.text, "Meeting confirmation for Tuesday");
        let c = clean(
            "This email is about a meeting with the board.",
            Style::Headline,
            10,
        );
        assert_eq!(c.text, "A meeting with the board");
        let c = clean(
            "Subject: Please Authorize the Product for 1/14 of the above products. Please ensure",
            Style::Headline,
            10,
        );
        assert_eq!(
            c.text,
            "Please Authorize the Product for 1/14 of the above products"
        );
        let c = clean(
            "Subject: Patti, This sounds like an opportunity",
            Style::Headline,
            10,
        );
        assert_eq!(c.text, "This sounds like an opportunity");
        let c = clean("Sure! Subject line: Re: Budget review", Style::Headline, 10);
        assert_eq!(c.text, "Budget review");
    }

    #[test]
    fn defects_are_found() {
        let raw = "I'm sorry, but as a text-based AI I cannot read emails.";
        let c = clean(raw, Style::Brief, 40);
        assert_eq!(assess(raw, &c.text, Style::Brief), Some(Defect::Refusal));
        assert_eq!(
            assess("Meeting.", "Meeting.", Style::Brief),
            Some(Defect::Terse)
        );
        let looped = "the meeting is on the meeting is on the meeting is on Tuesday";
        assert_eq!(assess(looped, looped, Style::Brief), Some(Defect::Loop));
        assert_eq!(assess("", "", Style::Headline), Some(Defect::Empty));
        let ok = "The sender wants to confirm a meeting on Tuesday at 9:00.";
        assert_eq!(assess(ok, ok, Style::Brief), None);
        assert_eq!(
            assess("Budget review", "Budget review", Style::Headline),
            None
        );
    }

    #[test]
    fn prompts_put_the_email_first() {
        let e = email_block(Some("Ann <a@example.org>"), Some("Fee"), "Body text.");
        assert_eq!(e, "From: Ann <a@example.org>\nSubject: Fee\n\nBody text.");
        for style in [Style::Brief, Style::Headline] {
            for attempt in 0..2 {
                let p = prompt(style, 10, &e, attempt);
                assert!(p.user.find("Body text.") < p.user.rfind('?').or(p.user.rfind('.')));
            }
        }
    }
}
