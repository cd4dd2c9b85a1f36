//! Key facts: what a reply needs, each a span of the message, so faithful by construction.
//!
//! [`extract`] finds reference and case numbers, amounts with their currency, dates and
//! deadlines (resolved by [`crate::text::dates`]), street addresses and postcodes (UK and
//! US), phone numbers, email addresses, the people named (the sender from the From header,
//! a sign-off or "my name is"; the addressee of the salutation; people named with a title),
//! and attachments. Every [`KeyFact`] says which text its span points into ([`Source`]) and
//! carries a normalised value where one makes sense (`GBP 1245.60`, `2024-05-17`,
//! `NB4 7QT`, `+447700900123`). [`short_line`] gives the one-line form for tables.
//!
//! It takes plain strings ([`FactsInput`]) and knows nothing of MIME or the models.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::text::dates::{find_dates, DateKind, DateOptions, Reference};

mod people;

#[cfg(test)]
mod tests;

/// What kind of fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyFactKind {
    /// A reference, case, account or application number.
    Reference,
    /// A sum of money.
    Amount,
    /// A deadline (`by Friday 17 May`, `within 7 days`).
    Deadline,
    /// Any other date.
    Date,
    /// A street address (with its town and postcode when written together).
    Address,
    /// A postcode or ZIP code on its own.
    Postcode,
    /// A phone number.
    Phone,
    /// An email address.
    Email,
    /// A person named.
    Person,
    /// An attached file.
    Attachment,
}

/// Which text a fact's span points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "field", content = "index")]
pub enum Source {
    /// [`FactsInput::subject`].
    Subject,
    /// [`FactsInput::body`].
    Body,
    /// [`FactsInput::signature`].
    Signature,
    /// [`FactsInput::from`].
    From,
    /// The attachment name at this index of [`FactsInput::attachments`].
    Attachment(usize),
}

/// The part a person plays in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Who wrote it.
    Sender,
    /// Who it is written to.
    Addressee,
    /// Someone else it names.
    Mentioned,
}

/// One fact, a span of one of the message's texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyFact {
    /// What kind.
    pub kind: KeyFactKind,
    /// Which text `span` points into.
    pub source: Source,
    /// Byte offsets into that text.
    pub span: Range<usize>,
    /// The text of the span.
    pub text: String,
    /// A normalised value, where one makes sense.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// For a person, the part they play.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

impl KeyFact {
    /// `kind: text (value)`, for listings.
    pub fn line(&self) -> String {
        let kind = format!("{:?}", self.kind).to_lowercase();
        let role = self
            .role
            .map(|r| format!(" {r:?}").to_lowercase())
            .unwrap_or_default();
        match &self.value {
            Some(v) if *v != self.text => format!("{kind}{role}: {} ({v})", self.text),
            _ => format!("{kind}{role}: {}", self.text),
        }
    }
}

/// What facts are taken from: the texts of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactsInput<'a> {
    /// The subject line.
    pub subject: Option<&'a str>,
    /// The prepared body (`Prepared::body`).
    pub body: &'a str,
    /// The signature block prepare removed, if any (the sign-off names the sender).
    pub signature: Option<&'a str>,
    /// The From header's display name, if any.
    pub from: Option<&'a str>,
    /// Attachment file names.
    pub attachments: Vec<&'a str>,
    /// The day dates are resolved against.
    pub reference: Reference,
}

impl<'a> FactsInput<'a> {
    /// Facts from a body alone, dates against `reference`.
    pub fn new(body: &'a str, reference: Reference) -> FactsInput<'a> {
        FactsInput {
            subject: None,
            body,
            signature: None,
            from: None,
            attachments: Vec::new(),
            reference,
        }
    }
}

/// Money: a currency sign or code next to a number (`£1,245.60`, `$85`, `{$1500.00}`,
/// `EUR 40`, `150 pounds`).
static AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:(£|\$|€|\b(?:gbp|usd|eur|us\$)\s?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?(?:\s?(k|m|bn|million|thousand|billion)\b)?|\b(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?\s?(pounds|dollars|euros|gbp|usd|eur)\b)")
        .expect("static regex")
});

/// A reference after its cue word: `account number 40018832`, `ref: AB-1234`, `case #55`.
static CUED_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:ref(?:erence)?s?|ref's|case|account|acct|claim|application|complaint|ticket|invoice|policy|order|customer|booking|permit|licen[cs]e|pcn|penalty charge notice|council tax|crime|incident|loan|membership|tenancy|report|request|file|contract|routing|tracking|confirmation)(?:\s+(?:no\.?|number|num|#|id|ref(?:erence)?|code))?\s*(?:is|was)?\s*[:#]?\s*((?:[A-Z0-9][A-Z0-9/\-]{2,}[0-9][A-Z0-9/\-]*|[0-9]{4,})(?:\s+(?:and|&)\s+[0-9]{4,})?)")
        .expect("static regex")
});

/// A reference by its shape alone: letters and digits joined by `/` or `-` (`LIC/2024/0562`,
/// `HR-2024-118`), or capitals then six digits or more (`NB12345678`).
static SHAPED_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:[A-Z]{2,6}[/\-]\d{2,6}(?:[/\-][A-Z0-9]{1,8})+|[A-Z]{1,4}\d{6,12})\b")
        .expect("static regex")
});

/// UK postcodes (upper case, with or without the space) and US state + ZIP.
static POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}|(?:A[LKZR]|C[AOT]|D[EC]|F[L]|G[A]|H[I]|I[DLNA]|K[SY]|L[A]|M[EDAINSOT]|N[EVHJMYCD]|O[HKR]|P[A]|R[I]|S[CD]|T[NX]|U[T]|V[TA]|W[AVIY])\s\d{5}(?:-\d{4})?)\b")
        .expect("static regex")
});

/// A street address: a house number, one to four words, a street type; then an optional
/// town and postcode.
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][A-Za-z'’\-]+\s+){1,4}(?:Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Close|Drive|Dr|Way|Court|Ct|Crescent|Cres|Place|Pl|Gardens|Gdns|Grove|Terrace|Row|Square|Sq|Park|Hill|Walk|Mews|Parade|Boulevard|Blvd|Highway|Hwy|Circle|Cir|Trail|Parkway|Pkwy|View|Rise|Green|Market Square)\b(?:,\s*(?:[A-Z][a-z]+(?:\s[A-Z][a-z]+)?))?(?:,?\s+(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]{2}\s\d{5}(?:-\d{4})?))?")
        .expect("static regex")
});

/// Phone numbers: UK (`07700 900123`, `01632 960 123`, `+44 7700 900123`, `(0117) 496
/// 0000`) and North American (`(555) 010-2030`, `555-010-2030`, `+1 555 010 2030`).
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+44\s?\(?0?\)?\s?|\b0|\(0)(?:\d{2,4}\)?[\s\-]?\d{3,4}[\s\-]?\d{3,4})\b|(?:\+1[\s.\-]?)?(?:\(\d{3}\)\s?|\b\d{3}[\s.\-])\d{3}[\s.\-]\d{4}\b")
        .expect("static regex")
});

/// Email addresses.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+\b").expect("static regex")
});

/// Every key fact of one message: subject, body, signature, sender, attachments, in that
/// order; within a text in text order.
pub fn extract(input: &FactsInput<'_>) -> Vec<KeyFact> {
    let mut out = Vec::new();
    let texts = [
        (Source::Subject, input.subject.unwrap_or("")),
        (Source::Body, input.body),
        (Source::Signature, input.signature.unwrap_or("")),
    ];
    for (source, text) in texts {
        if text.is_empty() {
            continue;
        }
        let mut facts = Vec::new();
        amounts(text, &mut facts);
        references(text, &mut facts);
        addresses(text, &mut facts);
        phones_and_emails(text, &mut facts);
        if source != Source::Signature {
            dates(text, &input.reference, &mut facts);
        }
        people::find(text, source, &mut facts);
        let mut facts = drop_overlaps(facts);
        for f in &mut facts {
            f.source = source;
        }
        out.extend(facts);
    }
    if let Some(name) = input.from.map(str::trim).filter(|n| people::is_name(n)) {
        let mut f = fact(KeyFactKind::Person, 0..name.len(), name, None);
        f.source = Source::From;
        f.role = Some(Role::Sender);
        out.push(f);
    }
    for (i, name) in input.attachments.iter().enumerate() {
        let mut f = fact(KeyFactKind::Attachment, 0..name.len(), name, None);
        f.source = Source::Attachment(i);
        out.push(f);
    }
    out
}

/// A fact on `text[span]` (source set by the caller).
fn fact(kind: KeyFactKind, span: Range<usize>, text: &str, value: Option<String>) -> KeyFact {
    KeyFact {
        kind,
        source: Source::Body,
        text: text[span.clone()].to_string(),
        span,
        value,
        role: None,
    }
}

fn amounts(text: &str, out: &mut Vec<KeyFact>) {
    for c in AMOUNT.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let (currency, whole, cents, scale) = match (c.get(1), c.get(5)) {
            (Some(cur), _) => (cur.as_str(), c.get(2), c.get(3), c.get(4)),
            (None, Some(_)) => (
                c.get(7).map_or("", |x| x.as_str()),
                c.get(5),
                c.get(6),
                None,
            ),
            _ => continue,
        };
        let code = match currency.trim().to_ascii_lowercase().as_str() {
            "£" | "gbp" | "pounds" => "GBP",
            "$" | "usd" | "us$" | "dollars" => "USD",
            "€" | "eur" | "euros" => "EUR",
            _ => continue,
        };
        let mut number = whole.map_or(String::new(), |w| w.as_str().replace(',', ""));
        if let Some(c) = cents {
            number.push_str(c.as_str());
        }
        if let Some(s) = scale {
            number = format!("{number} {}", s.as_str().to_ascii_lowercase());
        }
        out.push(fact(
            KeyFactKind::Amount,
            m.range(),
            text,
            Some(format!("{code} {number}")),
        ));
    }
}

fn references(text: &str, out: &mut Vec<KeyFact>) {
    for c in CUED_REFERENCE.captures_iter(text) {
        let Some(m) = c.get(1) else { continue };
        let token = m.as_str().trim_end_matches(['-', '/']);
        let span = m.start()..m.start() + token.len();
        // Years and short numbers after "report" or "request" are not references.
        if token.len() == 4 && token.chars().all(|ch| ch.is_ascii_digit()) {
            continue;
        }
        for part in split_list(text, span) {
            let value = text[part.clone()].to_ascii_uppercase();
            out.push(fact(KeyFactKind::Reference, part, text, Some(value)));
        }
    }
    for m in SHAPED_REFERENCE.find_iter(text) {
        let value = m.as_str().to_string();
        out.push(fact(KeyFactKind::Reference, m.range(), text, Some(value)));
    }
}

/// `6117710 and 5982663` as two spans.
fn split_list(text: &str, span: Range<usize>) -> Vec<Range<usize>> {
    let s = &text[span.clone()];
    let mut parts = Vec::new();
    let mut at = span.start;
    for piece in s.split_inclusive(char::is_whitespace) {
        let word = piece.trim_end();
        if !word.is_empty() && word != "and" && word != "&" {
            parts.push(at..at + word.len());
        }
        at += piece.len();
    }
    parts
}

fn addresses(text: &str, out: &mut Vec<KeyFact>) {
    for m in ADDRESS.find_iter(text) {
        let value = m.as_str().split_whitespace().collect::<Vec<_>>().join(" ");
        out.push(fact(KeyFactKind::Address, m.range(), text, Some(value)));
    }
    for m in POSTCODE.find_iter(text) {
        let raw: String = m.as_str().split_whitespace().collect();
        // UK postcodes normalise to "outward inward"; a US ZIP keeps its state.
        let value = if raw.chars().last().is_some_and(|c| c.is_ascii_alphabetic()) {
            let (out_code, in_code) = raw.split_at(raw.len() - 3);
            format!("{out_code} {in_code}")
        } else {
            m.as_str().to_string()
        };
        out.push(fact(KeyFactKind::Postcode, m.range(), text, Some(value)));
    }
}

fn phones_and_emails(text: &str, out: &mut Vec<KeyFact>) {
    for m in PHONE.find_iter(text) {
        let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
        let value = if m.as_str().starts_with("+44")
            || (digits.starts_with('0') && !m.as_str().starts_with("+1"))
        {
            let national = digits.trim_start_matches("44").trim_start_matches('0');
            if !(9..=10).contains(&national.len()) {
                continue;
            }
            format!("+44{national}")
        } else {
            let national = digits.trim_start_matches('1');
            if national.len() != 10 {
                continue;
            }
            format!("+1{national}")
        };
        out.push(fact(KeyFactKind::Phone, m.range(), text, Some(value)));
    }
    for m in EMAIL.find_iter(text) {
        let value = m.as_str().to_ascii_lowercase();
        out.push(fact(KeyFactKind::Email, m.range(), text, Some(value)));
    }
}

fn dates(text: &str, reference: &Reference, out: &mut Vec<KeyFact>) {
    for h in find_dates(text, reference, &DateOptions::default()) {
        let kind = if h.deadline {
            KeyFactKind::Deadline
        } else {
            KeyFactKind::Date
        };
        // A bare month or a vague period ("this week") is not worth a fact unless a deadline.
        if !h.deadline && h.kind == DateKind::Relative && h.start != h.end {
            continue;
        }
        let value = if h.deadline || h.start == h.end {
            h.end.to_string()
        } else {
            format!("{}..{}", h.start, h.end)
        };
        out.push(fact(kind, h.span, text, Some(value)));
    }
}

/// Where facts overlap, keep the first by kind preference (an address over the postcode in
/// it, an amount or a date over a reference or phone inside it), then the longer.
fn drop_overlaps(mut facts: Vec<KeyFact>) -> Vec<KeyFact> {
    let rank = |k: KeyFactKind| match k {
        KeyFactKind::Email => 0,
        KeyFactKind::Address => 1,
        KeyFactKind::Amount => 2,
        KeyFactKind::Deadline | KeyFactKind::Date => 3,
        KeyFactKind::Reference => 4,
        KeyFactKind::Phone => 5,
        KeyFactKind::Postcode => 6,
        _ => 7,
    };
    facts.sort_by_key(|f| (rank(f.kind), std::cmp::Reverse(f.span.len()), f.span.start));
    let mut taken = crate::text::spans::Disjoint::default();
    let mut kept: Vec<KeyFact> = Vec::new();
    for f in facts {
        if taken.take(&f.span) {
            kept.push(f);
        }
    }
    kept.sort_by_key(|f| f.span.start);
    kept
}

/// The one-line form for tables: the most useful facts first (deadlines, references,
/// amounts, addresses, phones, the sender), each value once, at most `max` of them, joined
/// by ` · `.
pub fn short_line(facts: &[KeyFact], max: usize) -> String {
    let order = [
        KeyFactKind::Deadline,
        KeyFactKind::Reference,
        KeyFactKind::Amount,
        KeyFactKind::Address,
        KeyFactKind::Postcode,
        KeyFactKind::Phone,
        KeyFactKind::Date,
        KeyFactKind::Person,
        KeyFactKind::Email,
        KeyFactKind::Attachment,
    ];
    let mut seen: Vec<String> = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    for kind in order {
        for f in facts.iter().filter(|f| f.kind == kind) {
            if kind == KeyFactKind::Person && f.role != Some(Role::Sender) {
                continue;
            }
            let key = f.value.clone().unwrap_or_else(|| f.text.clone());
            // An address also written in full elsewhere ("14 Larch Close") is shown once.
            let in_longer = kind == KeyFactKind::Address
                && facts.iter().any(|o| {
                    o.kind == kind && o.text.len() > f.text.len() && o.text.starts_with(&f.text)
                });
            if seen.contains(&key) || in_longer || parts.len() >= max {
                continue;
            }
            seen.push(key);
            let shown = match kind {
                KeyFactKind::Deadline => format!("due {}", f.value.as_deref().unwrap_or(&f.text)),
                KeyFactKind::Date => f.value.clone().unwrap_or_else(|| f.text.clone()),
                _ => f.text.split_whitespace().collect::<Vec<_>>().join(" "),
            };
            parts.push(shown);
        }
    }
    parts.join(" · ")
}
