//! An [`Email`] to the [`Prepared`] text the models see.
//!
//! Preparation strips quoted replies, forwarded-message headers, signatures and disclaimers
//! (keeping what it removed, so a record can show it), normalises whitespace, detects the
//! language, and fits a token budget by keeping the head and the tail of the body and reporting
//! the cut. It needs no model: the token count is a function the caller may pass, with a cheap
//! estimate by default.
//!
//! It must not parse MIME (that is `email`) nor call a model.

use serde::Serialize;

use crate::email::Email;

mod budget;
pub mod dates;
pub mod injection;
mod language;
mod normalize;
mod quotes;
mod signature;
pub mod spans;

pub use budget::{estimate_tokens, Truncation, MARKER};
use normalize::join_lines;
pub use normalize::normalize;
pub use quotes::is_forward_subject;

/// Default token budget for [`Prepared::text`]: what a BERT-family encoder takes in one pass.
pub const DEFAULT_MAX_TOKENS: usize = 512;
/// Default share of the body budget kept from the start of the body; the rest comes from its
/// end, where requests and deadlines often sit.
pub const DEFAULT_HEAD_FRACTION: f32 = 0.75;

/// A token-counting function: how many tokens a model's tokenizer makes of a text.
pub type TokenCounter<'a> = &'a (dyn Fn(&str) -> usize + Sync);

/// How to prepare an email.
#[derive(Clone, Copy)]
pub struct PrepareOptions<'a> {
    /// Budget for [`Prepared::text`], header lines included.
    pub max_tokens: usize,
    /// Share of the body budget kept from the start (0.0 to 1.0).
    pub head_fraction: f32,
    /// Strip quoted replies and forwarded-message headers.
    pub strip_quotes: bool,
    /// Strip signatures, mobile footers and disclaimers.
    pub strip_signatures: bool,
    /// Counts tokens; `None` uses [`estimate_tokens`].
    pub count_tokens: Option<TokenCounter<'a>>,
}

impl Default for PrepareOptions<'_> {
    fn default() -> Self {
        PrepareOptions {
            max_tokens: DEFAULT_MAX_TOKENS,
            head_fraction: DEFAULT_HEAD_FRACTION,
            strip_quotes: true,
            strip_signatures: true,
            count_tokens: None,
        }
    }
}

impl std::fmt::Debug for PrepareOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrepareOptions")
            .field("max_tokens", &self.max_tokens)
            .field("head_fraction", &self.head_fraction)
            .field("strip_quotes", &self.strip_quotes)
            .field("strip_signatures", &self.strip_signatures)
            .field("count_tokens", &self.count_tokens.map(|_| "custom"))
            .finish()
    }
}

/// What kind of text was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovedKind {
    /// Quoted history of a reply.
    Quote,
    /// The header block of a forwarded message (its text is kept).
    ForwardHeader,
    /// A signature, sign-off block or mobile footer.
    Signature,
    /// A legal disclaimer or confidentiality notice.
    Disclaimer,
}

/// A piece of the body removed during preparation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// What it was.
    pub kind: RemovedKind,
    /// The removed text, normalised.
    pub text: String,
}

/// The detected language of the body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Language {
    /// ISO 639-3 code (`eng`, `fra`, `deu`).
    pub code: &'static str,
    /// Detector confidence, 0 to 1.
    pub confidence: f64,
    /// Whether the detector considers the guess reliable.
    pub reliable: bool,
}

/// The text a model sees, and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prepared {
    /// Exactly what the models see: `From:` and `Subject:` lines, the attachment names, a
    /// blank line, then the cleaned body, within the token budget.
    pub text: String,
    /// The cleaned body alone, not truncated.
    pub body: String,
    /// What was removed from the body, in order.
    pub removed: Vec<Removed>,
    /// The detected language of the body (or subject), if any.
    pub language: Option<Language>,
    /// Tokens in `text`, by the counting function in use.
    pub tokens: usize,
    /// What was cut to fit the budget, if anything.
    pub truncation: Option<Truncation>,
}

/// Longest subject kept in the header lines, in characters.
const MAX_SUBJECT_CHARS: usize = 300;
/// Attachment names listed in the header lines.
const MAX_ATTACHMENTS_LISTED: usize = 10;

/// Prepare `email` for the models.
pub fn prepare(email: &Email, opts: &PrepareOptions<'_>) -> Prepared {
    let count: &dyn Fn(&str) -> usize = match opts.count_tokens {
        Some(f) => f,
        None => &estimate_tokens,
    };
    let (body, removed) = clean_body(email, opts);
    let header = header_lines(email);
    let header_tokens = count(&header);
    let body_budget = opts.max_tokens.saturating_sub(header_tokens);
    let (fitted, truncation, body_tokens) = match opts.count_tokens {
        Some(f) => budget::fit(&body, body_budget, opts.head_fraction, f),
        None => budget::fit_estimated(&body, body_budget, opts.head_fraction),
    };
    let text = if header.is_empty() {
        fitted
    } else if fitted.is_empty() {
        header.trim_end().to_string()
    } else {
        format!("{header}\n{fitted}")
    };
    let language = detect_language(&body, email.subject.as_deref());
    // The estimate is additive over whitespace-separated pieces; a real tokenizer is asked.
    let tokens = match (opts.count_tokens, &truncation) {
        (None, None) => header_tokens + body_tokens,
        _ => count(&text),
    };
    Prepared {
        tokens,
        text,
        body,
        removed,
        language,
        truncation,
    }
}

/// Normalise, strip quotes and signatures, normalise again.
fn clean_body(email: &Email, opts: &PrepareOptions<'_>) -> (String, Vec<Removed>) {
    let normalized = normalize(&email.body);
    let mut removed = Vec::new();
    if !opts.strip_quotes && !opts.strip_signatures {
        return (normalized, removed);
    }
    let lines: Vec<&str> = normalized.lines().collect();
    let mut kept = lines.clone();
    if opts.strip_quotes {
        let forward = email.subject.as_deref().is_some_and(is_forward_subject);
        kept = quotes::strip_quotes(&kept, forward, &mut removed);
    }
    if opts.strip_signatures {
        kept = signature::strip_signature(&kept, &mut removed);
    }
    let cleaned = join_lines(&kept);
    if cleaned.is_empty() && !normalized.is_empty() {
        // Everything looked like quote or signature: better the whole text than nothing.
        return (normalized, Vec::new());
    }
    (cleaned, removed)
}

/// `From:`, `Subject:` and `Attachments:` lines, each ending in a newline.
fn header_lines(email: &Email) -> String {
    let mut h = String::new();
    if let Some(from) = &email.from {
        let from = normalize(&from.to_string());
        if !from.is_empty() {
            h.push_str("From: ");
            h.push_str(&from);
            h.push('\n');
        }
    }
    if let Some(subject) = &email.subject {
        let subject = normalize(subject).replace('\n', " ");
        if !subject.is_empty() {
            h.push_str("Subject: ");
            h.extend(subject.chars().take(MAX_SUBJECT_CHARS));
            h.push('\n');
        }
    }
    let names: Vec<String> = email
        .attachments
        .iter()
        .filter_map(|a| a.name.as_deref())
        .map(|n| normalize(n).replace('\n', " "))
        .filter(|n| !n.is_empty())
        .take(MAX_ATTACHMENTS_LISTED)
        .collect();
    if !names.is_empty() {
        h.push_str("Attachments: ");
        h.push_str(&names.join(", "));
        h.push('\n');
    }
    h
}

fn detect_language(body: &str, subject: Option<&str>) -> Option<Language> {
    let letters = body.chars().filter(|c| c.is_alphabetic()).take(20).count();
    match subject {
        Some(s) if letters < 20 => language::detect(&format!("{s}\n{body}")),
        _ => language::detect(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepares_text_with_header_lines() {
        let email = Email::from_parts(
            Some("Ann Lee <ann@example.org>"),
            Some("Bin collection"),
            "Hello,\n\nmy bin was not collected on Monday. Could you send someone?\n\nKind regards,\nAnn\n\nOn Mon, 8 Jan 2024, Council <c@x> wrote:\n> Thanks for your message.",
        );
        let p = prepare(&email, &PrepareOptions::default());
        assert_eq!(
            p.text,
            "From: Ann Lee <ann@example.org>\nSubject: Bin collection\n\nHello,\n\nmy bin was not collected on Monday. Could you send someone?"
        );
        assert_eq!(p.removed.len(), 2);
        assert_eq!(p.language.as_ref().map(|l| l.code), Some("eng"));
        assert!(p.truncation.is_none());
    }

    #[test]
    fn budget_counts_header_and_reports_cut() {
        let body: String = (0..400).map(|i| format!("word{i} ")).collect();
        let email = Email::from_parts(Some("a@b"), Some("s"), &body);
        let words = |s: &str| s.split_whitespace().count();
        let opts = PrepareOptions {
            max_tokens: 50,
            count_tokens: Some(&words),
            ..PrepareOptions::default()
        };
        let p = prepare(&email, &opts);
        assert!(p.tokens <= 50, "{}", p.tokens);
        let t = p.truncation.unwrap();
        assert_eq!(t.total_tokens, 400);
        assert!(p.text.contains("word399"));
        assert!(p.text.contains(MARKER.trim()));
        assert_eq!(p.body.split_whitespace().count(), 400);
    }

    #[test]
    fn all_quote_keeps_text() {
        let email = Email::from_parts(None, None, "> only a quote\n> here");
        let p = prepare(&email, &PrepareOptions::default());
        assert_eq!(p.body, "> only a quote\n> here");
        assert!(p.removed.is_empty());
    }
}
