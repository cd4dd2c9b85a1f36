//! Sentence splitting for email bodies: paragraphs, list items and short lines are units of
//! their own; inside a paragraph, sentences end at `.`, `!` or `?` followed by a space and a
//! capital or digit, except after common abbreviations. Greetings and sign-offs are dropped,
//! since a summary never needs "Hi Phillip," or "Thanks,".

use std::sync::OnceLock;

use regex::Regex;

/// Words after which a full stop does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "no", "vs", "etc", "e.g", "i.e", "eg", "ie", "approx", "dept",
    "inc", "ltd", "co", "jr", "sr", "prof", "ref", "tel", "fig", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat",
    "sun", "a.m", "p.m", "u.s", "u.k",
];

fn bullet_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"^\s*(?:[-*•–·>]+|\d{1,2}[.)]|[a-z][.)])\s+").expect("valid regex")
    })
}

fn greeting_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"(?i)^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|morning|afternoon|greetings|all|team)\b[^.!?]{0,40}[,:!]?$",
        )
        .expect("valid regex")
    })
}

fn signoff_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"(?i)^(?:thanks?(?: you)?(?: (?:very|so) much)?(?: again)?|many thanks|thx|cheers|regards|kind regards|best regards|warm regards|best wishes|best|yours (?:sincerely|faithfully|truly)|sincerely|all the best|talk soon|take care)[,.!]*$",
        )
        .expect("valid regex")
    })
}

/// True for a line that only greets or signs off.
pub fn is_greeting_or_signoff(s: &str) -> bool {
    let t = s.trim();
    greeting_re().is_match(t) || signoff_re().is_match(t)
}

/// Split `body` into sentences, in order, greetings and sign-offs removed.
pub fn split(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut para: Vec<String> = Vec::new();
    let flush = |para: &mut Vec<String>, out: &mut Vec<String>| {
        if !para.is_empty() {
            let text = para.join(" ");
            for s in split_paragraph(&text) {
                push(out, s);
            }
            para.clear();
        }
    };
    for line in body.lines() {
        let t = line.trim();
        if t.is_empty() {
            flush(&mut para, &mut out);
            continue;
        }
        if let Some(m) = bullet_re().find(t) {
            // A list item is its own unit (without its bullet).
            flush(&mut para, &mut out);
            para.push(t[m.end()..].to_string());
            flush(&mut para, &mut out);
            continue;
        }
        if is_greeting_or_signoff(t) {
            flush(&mut para, &mut out);
            continue;
        }
        // A tab-laid-out table row or a line ending without punctuation that is followed by
        // a new line starting with a capital is often a heading or field: keep lines as they
        // come but join wrapped prose.
        para.push(t.to_string());
        if t.contains('\t') || t.ends_with(':') {
            flush(&mut para, &mut out);
        }
    }
    flush(&mut para, &mut out);
    out
}

fn push(out: &mut Vec<String>, s: String) {
    // A greeting glued to the first sentence ("Hi Phillip,  This message ...") is split off.
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() || is_greeting_or_signoff(&s) {
        return;
    }
    if !s.chars().any(char::is_alphanumeric) {
        return;
    }
    out.push(s);
}

/// The first sentence of `body` as it stands: lines joined, nothing dropped, so a greeting
/// ("Hi Phillip,  This message ...") stays glued to it. The plain "first sentence" baseline
/// of `eval summaries`.
pub fn first_as_is(body: &str) -> String {
    let text = body.split_whitespace().collect::<Vec<_>>().join(" ");
    split_at_ends(&text, false)
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// Split one paragraph at sentence ends.
fn split_paragraph(text: &str) -> Vec<String> {
    split_at_ends(text, true)
}

/// Split at sentence ends, and after a leading greeting when `greetings`.
fn split_at_ends(text: &str, greetings: bool) -> Vec<String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for (k, &(i, c)) in chars.iter().enumerate() {
        let end_here = match c {
            '.' | '!' | '?' => {
                // Closing quotes or brackets belong to the sentence.
                let mut j = k + 1;
                while j < chars.len() && matches!(chars[j].1, '"' | '\'' | ')' | '’' | '”') {
                    j += 1;
                }
                let next_space = j < chars.len() && chars[j].1.is_whitespace();
                let mut n = j;
                while n < chars.len() && chars[n].1.is_whitespace() {
                    n += 1;
                }
                let next_starts = n < chars.len()
                    && (chars[n].1.is_uppercase()
                        || chars[n].1.is_ascii_digit()
                        || matches!(chars[n].1, '"' | '“' | '('));
                next_space && next_starts && !(c == '.' && is_abbreviation(&text[start..i]))
            }
            // "Hi Phillip,  This message": a greeting then two spaces.
            ',' if greetings => {
                let head = text[start..i].trim();
                greeting_re().is_match(head)
                    && head.split_whitespace().count() <= 3
                    && chars.get(k + 1).is_some_and(|x| x.1.is_whitespace())
            }
            _ => false,
        };
        if end_here {
            let s = text[start..=i + c.len_utf8() - 1].trim().to_string();
            if !s.is_empty() {
                out.push(s);
            }
            start = i + c.len_utf8();
        }
    }
    let tail = text[start..].trim();
    if !tail.is_empty() {
        out.push(tail.to_string());
    }
    out
}

/// Does `before` end with an abbreviation or an initial ("J.")?
fn is_abbreviation(before: &str) -> bool {
    let last = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
        .to_lowercase();
    if last.chars().count() == 1 && last.chars().all(char::is_alphabetic) {
        return true;
    }
    ABBREVIATIONS.contains(&last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_prose_lists_and_drops_greetings() {
        let body = "Hi Phillip,  This message is to confirm our meeting with Mr. Brown on Tuesday.\n\
            Attendees will be Monica Brown and Sheri Righi.\nLet me know if you have any questions!\n\n\
            Items:\n- the budget\n- the 2.5 m draw\n\nThanks,\nJane";
        let s = split(body);
        assert_eq!(
            s,
            vec![
                "This message is to confirm our meeting with Mr. Brown on Tuesday.",
                "Attendees will be Monica Brown and Sheri Righi.",
                "Let me know if you have any questions!",
                "Items:",
                "the budget",
                "the 2.5 m draw",
                "Jane",
            ]
        );
    }

    #[test]
    fn keeps_numbers_and_abbreviations_together() {
        let s = split("The fee is £1,200.50 per year, e.g. for St. Anne's. It is due on 1 June.");
        assert_eq!(
            s,
            vec![
                "The fee is £1,200.50 per year, e.g. for St. Anne's.",
                "It is due on 1 June."
            ]
        );
        assert!(split("").is_empty());
        assert_eq!(
            first_as_is("Hi Ann,  the fee is £1,200.50.\nIt is due."),
            "Hi Ann, the fee is £1,200.50."
        );
        assert!(split("Thanks,\n\nRegards").is_empty());
    }
}
