//! The faithfulness check: every checkable fact in a summary must occur in its source.
//!
//! Checked items, in the summary: email addresses, URLs, amounts (a currency sign or code next to
//! a number), times, dates written with digits, reference numbers (tokens mixing letters and
//! digits, or digits joined by `/` or `-`), other numbers, and capitalised words that are not
//! common sentence starters (names of people, places, organisations, months and days). Then the
//! topic: a summary most of whose content words the source lacks is about something else.
//!
//! Normalisation, decided here and tested below:
//! - case is ignored everywhere ("Smith" = "smith");
//! - numbers lose thousands separators and trailing decimal zeros, so "£1,200.00" = "1200" and
//!   "1200 GBP" = "£1,200"; the currency itself is not compared (a summary that turns pounds
//!   into dollars passes this check: it is rare and the number is what a reader acts on);
//! - number words one to twenty and ordinals ("first", "28th") count as their digits;
//! - a time "9:00", "9.00", "9am" and "09:00" are all "9:00"; "9:00" also supports a bare "9";
//! - a date with digits ("10/30/01") supports its parts and the month names it could mean;
//! - reference numbers and URLs must occur verbatim (after case folding, trailing punctuation
//!   removed), since one changed character makes them wrong;
//! - a capitalised word is supported when the word occurs in the source in any case, and also
//!   when it is the possessive or plural of a source word ("Smith's").
//!
//! The check is conservative in one direction only: it can flag a faithful paraphrase (for
//! example a date reformatted into words the source does not use), and it cannot catch a wrong
//! relation between true facts. A flag means "a person should look", not "this is false".

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;

use super::words;
use serde::{Deserialize, Serialize};

/// What kind of fact an unsupported item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// An email address.
    Email,
    /// A web address.
    Url,
    /// A sum of money.
    Amount,
    /// A clock time.
    Time,
    /// A date written with digits.
    Date,
    /// A reference or account number, code or identifier.
    Reference,
    /// Any other number.
    Number,
    /// A capitalised word that no source word shares a stem with: a name of a person, place,
    /// organisation, month or day, or a Title Case word the model brought in.
    Name,
    /// A content word of a summary most of whose content words the source does not have (see
    /// [`TOPIC_MIN_WORDS`]): the summary is about something else.
    Topic,
}

/// A summary is checked for its topic when it has at least this many content words (words of
/// four letters or more, not generic: "sender", "asks", "about").
pub const TOPIC_MIN_WORDS: usize = 3;
/// ... and flagged when more than this share of them share neither a stem nor a five-letter
/// prefix with a source word.
pub const TOPIC_MAX_UNSUPPORTED: f64 = 0.5;

/// One fact of the summary that the source does not support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsupported {
    /// What kind of fact.
    pub kind: FactKind,
    /// The text as it appears in the summary.
    pub text: String,
}

/// The outcome of the faithfulness check on one summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faithfulness {
    /// Whether the check ran.
    pub checked: bool,
    /// How many facts of the summary were checked.
    pub facts: usize,
    /// The facts the source does not support (empty: the summary passed).
    pub unsupported: Vec<Unsupported>,
}

impl Faithfulness {
    /// True when the check ran and found nothing unsupported.
    pub fn passed(&self) -> bool {
        self.checked && self.unsupported.is_empty()
    }
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid regex"))
}

fn email_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"(?i)[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)+")
}

fn url_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"(?i)\b(?:https?://|www\.)[^\s<>()]+")
}

/// Any token holding a digit, with its neighbouring currency sign and unit.
fn number_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"(?i)(?P<pre>[£$€]|\b(?:gbp|usd|eur)\s?)?(?P<tok>(?:[a-z0-9]+[:/\-])*[a-z0-9]*\d[a-z0-9]*(?:[.,:/\-][a-z0-9]*\d[a-z0-9]*|[:/\-][a-z0-9]+)*)(?P<post>\s?(?:gbp|usd|eur|pounds?|dollars?|euros?|p\b|am\b|pm\b|a\.m\.|p\.m\.))?",
    )
}

fn cap_word_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"\b\p{Lu}[\p{L}'’\-]*\p{L}|\b\p{Lu}\b")
}

/// The source's facts, normalised, ready for lookups.
#[derive(Debug, Clone)]
pub struct SourceFacts {
    lower: String,
    compact: String,
    words: HashSet<String>,
    stems: HashSet<String>,
    numbers: HashSet<String>,
}

/// Drop thousands separators and trailing decimal zeros: "1,200.50" → "1200.5".
fn norm_number(t: &str) -> String {
    let t = t.replace(',', "");
    if let Some((int, frac)) = t.split_once('.') {
        if !frac.is_empty() && frac.chars().all(|c| c.is_ascii_digit()) {
            let frac = frac.trim_end_matches('0');
            let int = int.trim_start_matches('0');
            let int = if int.is_empty() { "0" } else { int };
            return if frac.is_empty() {
                int.to_string()
            } else {
                format!("{int}.{frac}")
            };
        }
    }
    if t.chars().all(|c| c.is_ascii_digit()) {
        let s = t.trim_start_matches('0');
        return if s.is_empty() { "0".into() } else { s.into() };
    }
    t
}

/// "9", "09:00", "9.00" → "9:00" (None when not a time of day).
fn norm_time(t: &str) -> Option<String> {
    let (h, m) = match t.split_once([':', '.']) {
        Some((h, m)) => (h, m),
        None => (t, "00"),
    };
    let h: u32 = h.parse().ok()?;
    if m.len() != 2 {
        return None;
    }
    let m: u32 = m.parse().ok()?;
    (h < 24 && m < 60).then(|| format!("{h}:{m:02}"))
}

/// "9am" → ("9", "am"): a time glued to its half of the day.
fn split_ampm(t: &str) -> Option<(&str, &str)> {
    for suf in ["am", "pm"] {
        if let Some(n) = t.strip_suffix(suf) {
            if !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_digit() || c == ':' || c == '.')
            {
                return Some((n, suf));
            }
        }
    }
    None
}

fn strip_ordinal(t: &str) -> &str {
    for suf in ["st", "nd", "rd", "th"] {
        if let Some(n) = t.strip_suffix(suf) {
            if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
                return n;
            }
        }
    }
    t
}

fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl SourceFacts {
    /// Index a source text (sender, subject and the whole body, joined).
    pub fn new(source: &str) -> SourceFacts {
        let lower = source.to_lowercase();
        let mut words = HashSet::new();
        for w in lower.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’')) {
            let w = w.trim_matches(|c| c == '\'' || c == '’');
            if w.is_empty() {
                continue;
            }
            words.insert(w.to_string());
            // The letter runs of a mixed token ("sw1a" -> "sw", "gb82" -> "gb"): the summary
            // check reads the letters of such a token apart from its digits.
            if w.chars().any(|c| c.is_ascii_digit()) && w.chars().any(char::is_alphabetic) {
                for run in w
                    .split(|c: char| !c.is_alphabetic())
                    .filter(|r| !r.is_empty())
                {
                    words.insert(run.to_string());
                }
            }
            for suffix in ["'s", "’s"] {
                if let Some(b) = w.strip_suffix(suffix) {
                    words.insert(b.to_string());
                }
            }
        }
        let mut numbers = HashSet::new();
        for (i, w) in words::numbers().iter().enumerate() {
            if words.contains(*w) {
                numbers.insert(i.to_string());
            }
        }
        for (i, w) in words::ordinals().iter().enumerate() {
            if words.contains(*w) {
                numbers.insert(i.to_string());
            }
        }
        for cap in number_re().captures_iter(&lower) {
            let tok = cap.name("tok").map_or("", |m| m.as_str());
            let mut post = cap.name("post").map_or("", |m| m.as_str().trim());
            let tok = match split_ampm(tok) {
                Some((n, half)) => {
                    post = half;
                    n
                }
                None => tok,
            };
            numbers.insert(norm_number(tok));
            numbers.insert(norm_number(strip_ordinal(tok)));
            if let Some(t) = norm_time(tok) {
                if tok.contains([':', '.']) || matches!(post, "am" | "pm" | "a.m." | "p.m.") {
                    numbers.insert(format!("t{t}"));
                    if let Some(h) = t.strip_suffix(":00") {
                        numbers.insert(h.to_string());
                    }
                }
            }
            // Parts of compound tokens ("10/30/01", "2023/24", "24/00317/FUL").
            let parts: Vec<&str> = tok.split(['/', '-', ':', '.']).collect();
            if parts.len() > 1 {
                for p in &parts {
                    numbers.insert(norm_number(strip_ordinal(p)));
                    if let Ok(n) = p.parse::<usize>() {
                        if (1..=12).contains(&n) && tok.contains('/') {
                            words.insert(words::months()[n - 1].to_string());
                        }
                    }
                }
            }
        }
        let stems = words.iter().map(|w| super::porter::stem(w)).collect();
        SourceFacts {
            stems,
            compact: compact(&lower),
            lower,
            words,
            numbers,
        }
    }

    /// Whether a source word shares the first five letters of `w` ("monthly" and "month",
    /// "arrangement" and "arranged"): looser than a stem, for the topic check only.
    fn has_prefix_of(&self, w: &str) -> bool {
        let prefix: String = w.chars().take(5).collect();
        prefix.chars().count() == 5 && self.words.iter().any(|s| s.starts_with(&prefix))
    }

    fn has_word(&self, w: &str) -> bool {
        let w = w.to_lowercase();
        let w = w.trim_matches(|c| c == '\'' || c == '’' || c == '-');
        // Same Porter stem: "Confirmation" is supported by "confirm", "Products" by "product"
        // (headlines come out in Title Case, so their words are capitalised, not names).
        if self.words.contains(w) || self.stems.contains(&super::porter::stem(w)) {
            return true;
        }
        for suffix in ["'s", "’s", "s'", "s"] {
            if let Some(b) = w.strip_suffix(suffix) {
                if !b.is_empty() && self.words.contains(b) {
                    return true;
                }
            }
        }
        // Hyphenated names: each part known.
        w.contains('-') && w.split('-').all(|p| p.is_empty() || self.words.contains(p))
    }
}

/// Collects the unsupported facts of one summary, each reported once.
struct Findings {
    out: Faithfulness,
    seen: HashSet<String>,
}

impl Findings {
    fn flag(&mut self, kind: FactKind, text: &str) {
        if self.seen.insert(text.to_string()) {
            self.out.unsupported.push(Unsupported {
                kind,
                text: text.to_string(),
            });
        }
    }
}

/// Check `summary` against a source already indexed.
pub fn check_with(summary: &str, source: &SourceFacts) -> Faithfulness {
    let mut f = Findings {
        out: Faithfulness {
            checked: true,
            ..Faithfulness::default()
        },
        seen: HashSet::new(),
    };
    let rest = check_addresses(summary, source, &mut f);
    check_numbers(summary, &rest, source, &mut f);
    check_names(&rest, source, &mut f);
    for w in off_topic(summary, source) {
        f.flag(FactKind::Topic, &w);
    }
    f.out
}

/// Emails and URLs; returns the summary with them blanked out, so that their parts are not
/// checked again as numbers or names.
fn check_addresses(summary: &str, source: &SourceFacts, f: &mut Findings) -> String {
    let mut rest = summary.to_string();
    for m in email_re().find_iter(summary) {
        f.out.facts += 1;
        let t = m.as_str().trim_end_matches(['.', ',']);
        if !source.lower.contains(&t.to_lowercase()) {
            f.flag(FactKind::Email, t);
        }
        rest = rest.replace(m.as_str(), " ");
    }
    for m in url_re().find_iter(&rest.clone()) {
        f.out.facts += 1;
        let t = m
            .as_str()
            .trim_end_matches(['.', ',', ';', ':', '!', '?', '"', '\'']);
        let bare = t.to_lowercase();
        let bare = bare
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        if !source.lower.contains(bare) {
            f.flag(FactKind::Url, t);
        }
        rest = rest.replace(m.as_str(), " ");
    }
    rest
}

/// Amounts, times, dates, references and plain numbers.
fn check_numbers(summary: &str, rest: &str, source: &SourceFacts, f: &mut Findings) {
    let lowered = rest.to_lowercase();
    for cap in number_re().captures_iter(&lowered) {
        let whole = cap.get(0).map_or("", |m| m.as_str()).trim();
        let tok = cap.name("tok").map_or("", |m| m.as_str());
        let pre = cap.name("pre").map(|m| m.as_str());
        let post = cap.name("post").map_or("", |m| m.as_str().trim());
        let (tok, post) = match split_ampm(tok) {
            Some((n, half)) => (n, half),
            None => (tok, post),
        };
        f.out.facts += 1;
        let (kind, ok) = number_fact(tok, pre.is_some(), post, source);
        if !ok {
            // Report the summary's own spelling.
            let text = summary_span(summary, whole).unwrap_or_else(|| whole.to_string());
            f.flag(kind, &text);
        }
    }
}

/// What kind of fact a number token is (by its currency, unit and shape), and whether the
/// source has it.
fn number_fact(tok: &str, currency: bool, post: &str, source: &SourceFacts) -> (FactKind, bool) {
    let has_letters = tok.chars().any(|c| c.is_alphabetic());
    let is_time_unit = matches!(post, "am" | "pm" | "a.m." | "p.m.");
    let amount_word = matches!(
        post,
        "gbp" | "usd" | "eur" | "pound" | "pounds" | "dollar" | "dollars" | "euro" | "euros" | "p"
    );
    if currency || amount_word {
        (FactKind::Amount, source.numbers.contains(&norm_number(tok)))
    } else if is_time_unit
        || (tok.contains(':') && norm_time(tok).is_some())
        || (tok.contains('.')
            && norm_time(tok).is_some_and(|t| source.numbers.contains(&format!("t{t}"))))
    {
        let ok = norm_time(tok).is_some_and(|t| source.numbers.contains(&format!("t{t}")))
            || (!tok.contains([':', '.']) && source.numbers.contains(tok));
        (FactKind::Time, ok)
    } else if tok.contains('/') && !has_letters {
        (
            FactKind::Date,
            source.compact.contains(&compact(tok)) || source.lower.contains(tok),
        )
    } else if (has_letters && strip_ordinal(tok) == tok) || tok.contains(['-', '/']) {
        (FactKind::Reference, source.compact.contains(&compact(tok)))
    } else {
        let n = norm_number(strip_ordinal(tok));
        (FactKind::Number, source.numbers.contains(&n))
    }
}

/// Capitalised words that read like names.
fn check_names(rest: &str, source: &SourceFacts, f: &mut Findings) {
    for m in cap_word_re().find_iter(rest) {
        let w = m.as_str();
        let lw = w.to_lowercase();
        let lw = lw.trim_end_matches(['\'', '’']);
        if words::common().contains(&lw) {
            continue;
        }
        // At the start of a sentence any word is capitalised ("Write to ..."): check it only
        // when it reads like a name, i.e. another capitalised word, a possessive or a
        // reporting verb follows ("Daniel Okafor ...", "Daniel's ...", "Daniel asks ...").
        if sentence_initial(&rest[..m.start()]) && !reads_like_name(&rest[m.end()..]) {
            continue;
        }
        f.out.facts += 1;
        if !source.has_word(w) {
            f.flag(FactKind::Name, w);
        }
    }
}

/// The content words of `summary` the source lacks, when there are enough content words and
/// more than [`TOPIC_MAX_UNSUPPORTED`] of them are missing (else none): a summary of a German
/// request about bulky waste that speaks of "making a glass of wine" names no number or name,
/// yet has nothing to do with its source.
fn off_topic(summary: &str, source: &SourceFacts) -> Vec<String> {
    let mut content = Vec::new();
    for w in summary.split(|c: char| !(c.is_alphabetic() || c == '\'' || c == '’')) {
        let w = w
            .trim_matches(|c| c == '\'' || c == '’')
            .trim_end_matches("'s")
            .trim_end_matches("’s")
            .to_lowercase();
        if w.chars().count() < 4
            || words::common().contains(&w.as_str())
            || words::framing().contains(&w.as_str())
            || content.contains(&w)
        {
            continue;
        }
        content.push(w);
    }
    if content.len() < TOPIC_MIN_WORDS {
        return Vec::new();
    }
    let n = content.len();
    let missing: Vec<String> = content
        .into_iter()
        .filter(|w| !source.has_word(w) && !source.has_prefix_of(w))
        .collect();
    if missing.len() as f64 > TOPIC_MAX_UNSUPPORTED * n as f64 {
        missing
    } else {
        Vec::new()
    }
}

/// Is a word preceded by `before` the first of its sentence?
fn sentence_initial(before: &str) -> bool {
    let t =
        before.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '“' | '(' | '\''));
    t.is_empty() || t.ends_with(['.', '!', '?', ':', '\n', '…'])
}

/// Does the text after a capitalised word suggest the word is a name?
fn reads_like_name(after: &str) -> bool {
    if after.starts_with("'s") || after.starts_with("’s") {
        return true;
    }
    let next = after
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric());
    next.chars().next().is_some_and(char::is_uppercase)
        || words::name_followers().contains(&next.to_lowercase().as_str())
}

/// The span of the summary matching `lowered` case-insensitively, to report its own casing.
fn summary_span(summary: &str, lowered: &str) -> Option<String> {
    let pos = summary.to_lowercase().find(lowered)?;
    summary.get(pos..pos + lowered.len()).map(str::to_string)
}

/// Check `summary` against `source`.
pub fn check(summary: &str, source: &str) -> Faithfulness {
    check_with(summary, &SourceFacts::new(source))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str =
        "From: Daniel Okafor <dan.okafor@example.net>\nSubject: Council tax arrears\n\
        I received a reminder dated 2 May 2024 saying I owe £1,245.60 (account number 40018832). \
        I can pay £150 a month from the 28th. Can we meet at 10:30 or 2pm on 10/30/01? \
        See https://example.org/help and my ref HB-2024-018734. I have two children.";

    fn unsupported(summary: &str) -> Vec<String> {
        check(summary, SRC)
            .unsupported
            .into_iter()
            .map(|u| u.text)
            .collect()
    }

    #[test]
    fn faithful_summaries_pass() {
        for s in [
            "Daniel Okafor owes £1245.60 and offers to pay 150 GBP a month from the 28th.",
            "Daniel asks to meet at 10.30 or 2:00 pm on 10/30/01 about council tax.",
            "The account 40018832 is in arrears since 2 May 2024; he has 2 children.",
            "He gives reference HB-2024-018734 and the link https://example.org/help.",
            "Okafor's email from dan.okafor@example.net asks for a payment plan in October.",
            "Payment plan request",
        ] {
            let f = check(s, SRC);
            assert!(f.passed(), "{s}: {:?}", f.unsupported);
            assert!(f.checked);
        }
    }

    #[test]
    fn unfaithful_facts_are_listed() {
        assert_eq!(unsupported("He owes £1,254.60."), vec!["£1,254.60"]);
        assert_eq!(unsupported("Meet at 11:30."), vec!["11:30"]);
        assert_eq!(
            unsupported("Reference HB-2024-018743."),
            vec!["HB-2024-018743"]
        );
        assert_eq!(unsupported("Mr Smith wrote."), vec!["Smith"]);
        assert_eq!(
            unsupported("Write to dan@example.net."),
            vec!["dan@example.net"]
        );
        assert_eq!(unsupported("He pays 3 times."), vec!["3"]);
        assert_eq!(
            unsupported("See https://example.com/help."),
            vec!["https://example.com/help"]
        );
        assert_eq!(
            unsupported("Meeting on 11/30/01 in London."),
            vec!["11/30/01", "London"]
        );
        let f = check("He owes £99 to Barclays.", SRC);
        assert_eq!(f.unsupported[0].kind, FactKind::Amount);
        assert_eq!(f.unsupported[1].kind, FactKind::Name);
    }

    #[test]
    fn normalisation() {
        assert_eq!(norm_number("1,200.00"), "1200");
        assert_eq!(norm_number("1,245.60"), "1245.6");
        assert_eq!(norm_time("09.00").as_deref(), Some("9:00"));
        assert_eq!(norm_time("9").as_deref(), Some("9:00"));
        assert!(norm_time("25:00").is_none());
        assert!(check("£1,200", "a fee of 1200 GBP").passed());
        assert!(check("two weeks", "2 weeks").passed());
        assert!(check("2 weeks", "two weeks").passed());
        assert!(check("by 9am", "before 9:00").passed());
    }

    #[test]
    fn letters_of_postcodes_and_ibans_are_supported() {
        let src = "I live at SW1A 1AA. Refund to IBAN GB82 WEST 1234 5698 7654 32.";
        let f = check("Refund to GB82 WEST 1234 5698 7654 32 for SW1A 1AA.", src);
        assert!(f.passed(), "{:?}", f.unsupported);
        let f = check("Refund to NL91 ABNA 0417 1643 00.", src);
        assert!(!f.passed());
    }

    #[test]
    fn a_summary_about_something_else_is_flagged_by_its_topic() {
        let src = "Betreff: Sperrmüll\nGuten Tag, ich möchte einen Termin für die Abholung von \
                   Sperrmüll vereinbaren: ein altes Sofa und zwei Schränke.";
        let f = check(
            "The sender wants to know about the process of making a glass of wine.",
            src,
        );
        let topic: Vec<&str> = f
            .unsupported
            .iter()
            .filter(|u| u.kind == FactKind::Topic)
            .map(|u| u.text.as_str())
            .collect();
        assert_eq!(topic, ["process", "glass", "wine"]);
        // Paraphrase within the topic passes: most content words are the source's own.
        let f = check(
            "Daniel received a reminder about council tax arrears and offers monthly payments.",
            SRC,
        );
        assert!(
            f.unsupported.iter().all(|u| u.kind != FactKind::Topic),
            "{:?}",
            f.unsupported
        );
        // Too few content words to judge.
        assert!(check("The sender says thanks.", src).passed());
    }
}
