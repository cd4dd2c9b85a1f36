//! The shape of a message's body as a conversation: how many words the sender wrote above any
//! forwarded or quoted message, whether it forwards one, whether it quotes a reply.
//!
//! Read from the decoded body (before quotes are stripped), never from raw headers, so it says
//! the same of a 2001 Lotus Notes forward and a 2025 Outlook one. Two Enron genres are defined by
//! absence ("empty message", "empty, attachment missing"): a forward with "fyi" or nothing above
//! it, which the n-grams of the forwarded text cannot see.

use std::sync::LazyLock;

use regex::Regex;

/// What the body looks like as a conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Words above the first forwarded or quoted message (quoted `>` lines skipped).
    pub own_words: usize,
    /// The body carries a forwarded message (a forward marker or a forwarded header block).
    pub forwarded: bool,
    /// The body quotes an earlier message (`>` lines, "On … wrote:", "Original Message").
    pub quoted: bool,
}

/// A date and time alone on a line, as Lotus Notes writes it above a header block.
static LOTUS_DATE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(:\d{2})?\s*(am|pm)?$")
        .expect("static regex")
});

/// Lines that open a forwarded header block (`From:`, Lotus Notes' `Sent by:`, `To:`).
static HEADER_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\*?(from|sent by|to|de|von)\s?:\*?\s").expect("static regex")
});

fn is_forward_marker(lower: &str) -> bool {
    lower.starts_with("begin forwarded message")
        || (lower.starts_with("-----") && lower.contains("forward"))
        || (lower.starts_with("---") && lower.contains("forwarded by"))
}

fn is_quote_marker(lower: &str) -> bool {
    lower.starts_with("-----original message")
        || lower.starts_with("----- original message")
        || (lower.starts_with("on ") && lower.trim_end().ends_with("wrote:"))
}

/// A short line naming the sender of a Lotus Notes header block ("Jane Doe", "Jane Doe@ORG"):
/// part of the block, not of the note above it.
fn is_name_line(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    !words.is_empty()
        && words.len() <= 4
        && (line.contains('@')
            || words
                .iter()
                .all(|w| w.chars().next().is_some_and(char::is_uppercase)))
}

/// The shape of `body` (the decoded body, quotes not yet stripped).
pub fn shape(body: &str) -> Shape {
    let mut s = Shape::default();
    // Words of each own line, so a header block's name lines can be taken back.
    let mut own: Vec<(usize, bool)> = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        let lower = t.to_ascii_lowercase();
        if is_forward_marker(&lower) {
            s.forwarded = true;
            break;
        }
        if is_quote_marker(&lower) {
            s.quoted = true;
            break;
        }
        if HEADER_START.is_match(t) || LOTUS_DATE_LINE.is_match(t) {
            // A header block: a forward or a reply in Outlook / Lotus Notes style. The name
            // lines right above it belong to it.
            s.forwarded = true;
            while own.last().is_some_and(|&(_, name)| name) {
                own.pop();
            }
            break;
        }
        if t.starts_with('>') {
            s.quoted = true;
            continue;
        }
        if t.is_empty() {
            // A blank line separates the note from a name line below it.
            own.push((0, false));
            continue;
        }
        own.push((t.split_whitespace().count(), is_name_line(t)));
    }
    if !s.quoted {
        s.quoted = body.lines().any(|l| l.trim_start().starts_with('>'));
    }
    s.own_words = own.iter().map(|p| p.0).sum();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lotus_forward_with_a_short_note() {
        let body = "fyi\nJane Roe\nSent by: Jane Roe\n03/24/2001 04:26 PM\n\nTo: A B/ORG@ORG\n\
                    cc:\nSubject: rates\n\nThe forwarded text is long and about rates.";
        let s = shape(body);
        assert_eq!(s.own_words, 1);
        assert!(s.forwarded);
        assert!(!s.quoted);
    }

    #[test]
    fn a_forward_marker_and_nothing_above() {
        let body = "---------------------- Forwarded by Jo Bloggs/ORG on 08/16/2000 08:16\n\
                    AM ---------------------------\n\nSome forwarded news text.";
        assert_eq!(
            shape(body),
            Shape {
                own_words: 0,
                forwarded: true,
                quoted: false
            }
        );
    }

    #[test]
    fn a_reply_with_quotes() {
        let body = "Thursday works for me.\n\nOn Tue, 3 Jun 2025, Sam wrote:\n> Can we meet?";
        let s = shape(body);
        assert_eq!(s.own_words, 4);
        assert!(s.quoted);
        assert!(!s.forwarded);
        let s = shape("Yes.\n\n-----Original Message-----\nFrom: x\nSent: y\n\nold text");
        assert_eq!((s.own_words, s.quoted), (1, true));
    }

    #[test]
    fn a_plain_note_is_all_own_words() {
        let s = shape("Please send me the figures by Friday.\n\nThanks,\nAnn");
        assert_eq!(s.own_words, 9);
        assert!(!s.forwarded && !s.quoted);
    }
}
