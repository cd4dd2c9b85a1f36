//! People named in a message: the addressee of the salutation ("Dear Ms Patel,"), the sender
//! of a sign-off or "my name is ...", and people named with a title ("Mr Frank Hollis").

use std::sync::LazyLock;

use regex::Regex;

use super::{fact, KeyFact, KeyFactKind, Role, Source};

/// A capitalised name of one to three words ("Ann", "Mary-Jane O'Neill", "Daniel Okafor").
const NAME: &str = r"[A-Z][a-zA-Z'’\-]+(?:\s+[A-Z][a-zA-Z'’\-]+){0,2}";

static SALUTATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?m)^\s*(?:Dear|Hello|Hi|Good (?:morning|afternoon|evening))\s+((?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Cllr|Councillor)\.?\s+)?{NAME})\s*[,:!]?\s*$"
    ))
    .expect("static regex")
});

static MY_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i:\bmy name is)\s+({NAME})")).expect("static regex"));

static TITLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Cllr|Councillor|Sir|Dame)\.?\s+{NAME}"
    ))
    .expect("static regex")
});

static SIGN_OFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:best|best wishes|all the best|kind regards|warm regards|best regards|regards|many thanks|thanks|thank you|cheers|sincerely|yours sincerely|yours faithfully|yours truly|respectfully|take care)[\s,.!]*$")
        .expect("static regex")
});

/// Capitalised words that are not names.
const NOT_NAMES: &[&str] = &[
    "sir",
    "madam",
    "all",
    "team",
    "colleagues",
    "whom",
    "to",
    "the",
    "council",
    "customer",
    "services",
    "department",
    "thanks",
    "thank",
    "regards",
    "kind",
    "best",
    "sincerely",
    "yours",
    "faithfully",
    "officer",
    "manager",
    "there",
    "everyone",
    "friends",
    "neighbours",
    "member",
    "public",
    "resident",
    "residents",
    "support",
    "housing",
    "repairs",
    "licensing",
    "environmental",
    "health",
    "please",
    "sent",
    "from",
    "my",
    "iphone",
    "street",
    "road",
    "lane",
    "close",
    "avenue",
    "drive",
    "court",
    "mobile",
    "tel",
    "phone",
    "email",
    "re",
    "consumer",
    "financial",
    "protection",
    "bureau",
    "agency",
    "office",
    "foia",
    "records",
    "direct",
    "desk",
    "bulletin",
    "service",
    "savings",
    "newsletter",
    "ltd",
    "limited",
    "inc",
    "llc",
    "plc",
    "digital",
    "news",
    "info",
    "noreply",
    "admin",
    "helpdesk",
    "group",
    "solutions",
    "centre",
    "center",
    "unit",
    "it",
    "hr",
    "sales",
    "marketing",
    "accounts",
];

/// Whether `s` reads as a person's name: one to four capitalised words, none a common word.
pub fn is_name(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    !words.is_empty()
        && words.len() <= 4
        && s.chars().count() <= 40
        && words.iter().all(|w| {
            let w = w.trim_matches(|c: char| c == ',' || c == '.');
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars().all(|c| c.is_alphabetic() || "'’-.".contains(c))
                && !NOT_NAMES.contains(&w.to_lowercase().as_str())
        })
}

/// Push the people named in `text` (a subject, body or signature).
pub fn find(text: &str, source: Source, out: &mut Vec<KeyFact>) {
    let push = |span: std::ops::Range<usize>, role: Role, out: &mut Vec<KeyFact>| {
        let mut f = fact(KeyFactKind::Person, span, text, None);
        f.role = Some(role);
        out.push(f);
    };
    for c in SALUTATION.captures_iter(text) {
        let Some(m) = c.get(1) else { continue };
        let bare = m.as_str().split_whitespace().last().unwrap_or("");
        if is_name(m.as_str()) || (is_title(m.as_str()) && is_name(bare)) {
            push(m.range(), Role::Addressee, out);
        }
    }
    for c in MY_NAME.captures_iter(text) {
        if let Some(m) = c.get(1).filter(|m| is_name(m.as_str())) {
            push(m.range(), Role::Sender, out);
        }
    }
    for m in TITLED.find_iter(text) {
        let name = m
            .as_str()
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ");
        if is_name(&name) {
            push(m.range(), Role::Mentioned, out);
        }
    }
    if let Some(span) = sign_off_name(text, source) {
        push(span, Role::Sender, out);
    }
}

fn is_title(s: &str) -> bool {
    let first = s
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches('.');
    [
        "Mr",
        "Mrs",
        "Ms",
        "Miss",
        "Mx",
        "Dr",
        "Prof",
        "Cllr",
        "Councillor",
    ]
    .contains(&first)
}

/// The name line after a sign-off: the first line of a signature block, or the last line of
/// a body that still ends with its sign-off.
fn sign_off_name(text: &str, source: Source) -> Option<std::ops::Range<usize>> {
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if !trimmed.trim().is_empty() {
            let lead = trimmed.len() - trimmed.trim_start().len();
            lines.push((at + lead, trimmed.trim_start()));
        }
        at += line.len();
    }
    let candidates: Vec<usize> = match source {
        Source::Signature => lines
            .iter()
            .position(|(_, l)| SIGN_OFF.is_match(l))
            .map(|i| i + 1)
            .into_iter()
            .collect(),
        _ => {
            let n = lines.len();
            (n >= 2 && SIGN_OFF.is_match(lines[n - 2].1))
                .then_some(n - 1)
                .into_iter()
                .collect()
        }
    };
    let i = *candidates.first()?;
    let (start, line) = *lines.get(i)?;
    let name = line.trim_end_matches([',', '.']);
    is_name(name).then(|| start..start + name.len())
}
