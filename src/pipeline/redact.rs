//! `--redact`: mask personal data in the text fields of a record before it is written.
//!
//! Masked, in this order (earlier patterns win where they overlap): email addresses, IBANs
//! (checked with the ISO 7064 mod-97 rule), payment card numbers (13–19 digits passing the Luhn
//! check), UK National Insurance numbers, sort codes (`12-34-56`), phone numbers (UK and
//! international forms), 8-digit account numbers, and UK postcodes. Over-masking a number that
//! only looks like one of these is the safe error; the record says that redaction ran.

use std::sync::OnceLock;

use regex::{Captures, Regex};

use super::record::{Record, ReviewNote};
use super::threads::ConversationInfo;

struct Rule {
    re: Regex,
    mask: &'static str,
    check: Option<fn(&str) -> bool>,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let rule = |pattern: &str, mask, check| Rule {
            re: Regex::new(pattern).expect("redaction pattern compiles"),
            mask,
            check,
        };
        vec![
            rule(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}", "[EMAIL]", None),
            rule(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", "[IBAN]", Some(iban_ok)),
            rule(r"\b\d(?:[ \-]?\d){12,18}\b", "[CARD]", Some(luhn_ok)),
            // Any two letters: the prefix rules exclude some (QQ, the usual example), but a
            // mistyped or made-up number is still personal data in context.
            rule(r"(?i)\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", "[NI_NUMBER]", None),
            rule(r"\b\d{2}-\d{2}-\d{2}\b", "[SORT_CODE]", None),
            rule(r"(?:\+\d{1,3}[ \-]?(?:\(0\)[ \-]?)?\d{2,5}(?:[ \-]?\d{2,4}){2,3}|\b0\d{2,4}[ \-]?\d{3,4}[ \-]?\d{3,4})\b", "[PHONE]", None),
            rule(r"\b\d{8}\b", "[ACCOUNT]", None),
            rule(r"(?i)\b[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}\b", "[POSTCODE]", None),
        ]
    })
}

/// Mask personal data in `text`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for rule in rules() {
        if !rule.re.is_match(&out) {
            continue;
        }
        out = rule
            .re
            .replace_all(&out, |c: &Captures<'_>| {
                let m = &c[0];
                match rule.check {
                    Some(ok) if !ok(m) => m.to_string(),
                    _ => rule.mask.to_string(),
                }
            })
            .into_owned();
    }
    out
}

/// Luhn check over the digits of `s`.
fn luhn_ok(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// IBAN mod-97 check.
fn iban_ok(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() < 15 || compact.len() > 34 {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem: u64 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c.to_digit(36) {
            Some(v) => v as u64,
            None => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Mask personal data in a record's text fields (`--redact`).
pub(super) fn redact_record(r: &mut Record) {
    r.redacted = true;
    r.from = r.from.as_deref().map(redact);
    r.subject = r.subject.as_deref().map(redact);
    for a in &mut r.attachments {
        a.name = a.name.as_deref().map(redact);
    }
    if let Some(s) = &mut r.summary {
        s.text = redact(&s.text);
        for u in &mut s.faithfulness.unsupported {
            u.text = redact(&u.text);
        }
        if let Some(f) = &mut s.fallback {
            f.rejected = redact(&f.rejected);
            if let Some(rf) = &mut f.rejected_faithfulness {
                for u in &mut rf.unsupported {
                    u.text = redact(&u.text);
                }
            }
        }
    }
    for n in &mut r.review {
        match n {
            ReviewNote::UnfaithfulSummary { unsupported } => {
                for u in unsupported.iter_mut() {
                    *u = redact(u);
                }
            }
            ReviewNote::PromptInjection { texts } => {
                for t in texts.iter_mut() {
                    *t = redact(t);
                }
            }
            _ => {}
        }
    }
    for f in &mut r.key_facts {
        let masked = redact(&f.text);
        if masked != f.text {
            // The normalised value is the same personal datum in another form.
            f.text = masked;
            f.value = None;
        }
    }
    if let Some(replies) = &mut r.replies {
        for s in &mut replies.suggestions {
            s.map_filled(redact);
        }
    }
    if let Some(e) = &mut r.evidence {
        e.line = redact(&e.line);
        for c in &mut e.summary.evidence {
            c.text = redact(&c.text);
            c.detail = redact(&c.detail);
        }
    }
    for i in &mut r.injection {
        i.hit.text = redact(&i.hit.text);
    }
    if let Some(c) = &mut r.conversation {
        redact_conversation(c);
    }
}

/// Mask personal data in a conversation's summary and open questions.
pub(super) fn redact_conversation(c: &mut ConversationInfo) {
    if let Some(s) = &mut c.summary {
        s.text = redact(&s.text);
        for u in &mut s.faithfulness.unsupported {
            u.text = redact(&u.text);
        }
    }
    for q in &mut c.open {
        *q = redact(q);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_each_kind() {
        let cases = [
            (
                "write to jane.doe@example.gov.uk today",
                "write to [EMAIL] today",
            ),
            (
                "IBAN GB82 WEST 1234 5698 7654 32 please",
                "IBAN [IBAN] please",
            ),
            ("card 4111 1111 1111 1111 expired", "card [CARD] expired"),
            (
                "NI number QQ 12 34 56 C on file",
                "NI number [NI_NUMBER] on file",
            ),
            ("sort code 12-34-56 and", "sort code [SORT_CODE] and"),
            ("account 12345678 closed", "account [ACCOUNT] closed"),
            ("call 020 7946 0958 now", "call [PHONE] now"),
            ("or +44 7700 900123.", "or [PHONE]."),
            ("living at SW1A 1AA since", "living at [POSTCODE] since"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn leaves_ordinary_text_and_numbers_alone() {
        let s = "The meeting on 2024-11-29 at 15:30 costs £1,200 for 3 people (ref 4821).";
        assert_eq!(redact(s), s);
        // Not Luhn-valid, not a card.
        assert_eq!(
            redact("order 1234 5678 9012 3456"),
            "order 1234 5678 9012 3456"
        );
        // Not a valid IBAN.
        assert!(!redact("GB00 WEST 1234 5698 7654 32").contains("[IBAN]"));
    }
}
