//! Weekdays (`by Friday`, `next Tuesday`, `last Monday`) and expressions counted from the
//! reference day (`tomorrow`, `end of the month`, `next week`, `within 7 days`, `in two
//! weeks`, `3 days ago`, `close of business`).

use std::ops::Range;
use std::sync::LazyLock;

use jiff::civil::{Date, Weekday};
use regex::{Captures, Regex};

use super::{
    add_days, add_months, add_working_days, floor_char_boundary, monday_of, weekday_from,
    Candidate, DateKind, Guess, Reference, WEEKDAY_ALT,
};

/// Counts as people write them: digits, words, "a", "a couple of", "seven (7)".
const NUM: &str = r"(\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty[\- ]one|twenty[\- ]eight|twenty|thirty|forty[\- ]eight|forty[\- ]five|sixty|ninety|(?:a\s+)?couple(?:\s+of)?)(?:\s*\(\d{1,3}\))?";

/// Units of a period.
const UNIT: &str = r"(working\s+|business\s+|calendar\s+|clear\s+)?(days?|weeks?|fortnights?|months?|hours?|years?)";

/// `within 7 days`, `in the next two weeks`, `over the next 48 hours`.
static WITHIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(within(?:\s+the\s+next)?|in\s+the\s+next|over\s+the\s+next|in\s+the\s+coming)\s+{NUM}\s+{UNIT}\b"
    ))
    .expect("static regex")
});

/// `in two weeks`, `in 3 days' time`.
static IN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\bin\s+{NUM}\s+{UNIT}(?:'s|')?(?:\s+time)?\b"
    ))
    .expect("static regex")
});

/// `14 days from today`, `28 days from the date of this letter`.
static FROM_NOW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b{NUM}\s+{UNIT}\s+(?:from|after)\s+(?:now|today|(?:the\s+)?(?:date\s+of\s+)?this\s+(?:letter|e-?mail|notice|message))\b"
    ))
    .expect("static regex")
});

/// `three days ago`.
static AGO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)\b{NUM}\s+{UNIT}\s+ago\b")).expect("static regex"));

/// Days named from the reference: `today`, `tomorrow morning`, `the day after tomorrow`.
static DAY_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:the\s+)?(day\s+after\s+tomorrow|day\s+before\s+yesterday)\b|\b(today|tonight|tomorrow|yesterday)\b|\bthis\s+(morning|afternoon|evening)\b")
        .expect("static regex")
});

/// `this week`, `next month`, `the end of the month`, `end of next week`.
static PERIOD_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:(?:the\s+)?(end)\s+of\s+)?(?:(this|next|last|the\s+following|the\s+previous|the)\s+)?(week(?:end)?|month|year)\b|\b(?:the\s+)?week\s+after\s+next\b")
        .expect("static regex")
});

/// `close of business`, `end of play`, `end of the day`, `COB`, `EOD`.
static CLOSE_OF_BUSINESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i:\b(?:the\s+)?(?:close|end)\s+of\s+(?:business|play|(?:the\s+)?(?:working\s+)?day)\b)|\b(?:COB|EOD|EOP)\b")
        .expect("static regex")
});

/// A weekday with what qualifies it.
static WEEKDAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:(last|past|previous|since|next|this\s+coming|this|coming|on|every|each)\s+)?({WEEKDAY_ALT})\b\.?(?:\s+(?:morning|afternoon|evening|night|lunchtime))?"
    ))
    .expect("static regex")
});

/// Future-tense markers in a weekday's sentence.
static FUTURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(will|shall|going to|please|could you|can you|can someone|would|need|needs|must|should|i'll|we'll|you'll|won't|is due|are due|is scheduled|is booked|is planned|are scheduled|expected|hope to|plan to|intend to|let me know)\b")
        .expect("static regex")
});

/// Past-tense markers in a weekday's sentence.
static PAST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(was|were|had|did|didn't|went|came|got|ago|yesterday|broke|told|said|sent|made|left|took|saw|spoke|wrote|rang|fell|hit|paid|\w{3,}ed)\b")
        .expect("static regex")
});

/// A deadline word right before a weekday: it lies ahead.
static AFTER_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:by|before|until|till|than|due|deadline)(?:\s+(?:\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm)?|noon|midday))?(?:\s+on)?\s+$")
        .expect("static regex")
});

/// Push every weekday and relative expression in `text`.
pub(super) fn find(text: &str, reference: &Reference, out: &mut Vec<Candidate>) {
    let r = reference.date;
    for c in WITHIN.captures_iter(text) {
        if let Some((span, end)) = period(&c, r, 2, 1) {
            let mut cand = Candidate::range(span, DateKind::Period, r, end);
            cand.deadline = true;
            out.push(cand);
        }
    }
    for re in [&*IN, &*FROM_NOW] {
        for c in re.captures_iter(text) {
            if let Some((span, day)) = period(&c, r, 1, 1) {
                out.push(Candidate::day(span, DateKind::Period, day));
            }
        }
    }
    for c in AGO.captures_iter(text) {
        if let Some((span, day)) = period(&c, r, 1, -1) {
            out.push(Candidate::day(span, DateKind::Period, day));
        }
    }
    for c in DAY_WORD.captures_iter(text) {
        if let Some(cand) = day_word(&c, r) {
            out.push(cand);
        }
    }
    for c in PERIOD_WORD.captures_iter(text) {
        if let Some(cand) = period_word(&c, r) {
            out.push(cand);
        }
    }
    for m in CLOSE_OF_BUSINESS.find_iter(text) {
        let mut cand = Candidate::day(m.range(), DateKind::Relative, r);
        cand.deadline = true;
        cand.joins_next = true;
        out.push(cand);
    }
    for c in WEEKDAY.captures_iter(text) {
        if let Some(cand) = weekday(text, &c, r) {
            out.push(cand);
        }
    }
}

/// The match's span and the day `sign` × its period away from `r`.
fn period(c: &Captures<'_>, r: Date, first: usize, sign: i64) -> Option<(Range<usize>, Date)> {
    Some((c.get(0)?.range(), period_end(r, c, first, sign)?))
}

/// The day `sign` × the period in groups `first` (count), `first + 1` (working), `first + 2`
/// (unit) away from `r`.
fn period_end(r: Date, c: &Captures<'_>, first: usize, sign: i64) -> Option<Date> {
    let n = count(c.get(first)?.as_str())?;
    let working = c
        .get(first + 1)
        .is_some_and(|w| matches!(w.as_str().trim(), "working" | "business"));
    let unit = c.get(first + 2)?.as_str().to_ascii_lowercase();
    let n = n * sign;
    if unit.starts_with("hour") {
        return add_days(r, n / 24);
    }
    if unit.starts_with("day") {
        if !(-3_650..=3_650).contains(&n) {
            return None;
        }
        return if working {
            add_working_days(r, n)
        } else {
            add_days(r, n)
        };
    }
    if unit.starts_with("fortnight") {
        return add_days(r, 14 * n);
    }
    if unit.starts_with("week") {
        return add_days(r, 7 * n);
    }
    if unit.starts_with("month") {
        return add_months(r, n);
    }
    add_months(r, 12 * n)
}

/// A count written as digits or words.
fn count(s: &str) -> Option<i64> {
    let s = s.to_ascii_lowercase();
    let s = s.split('(').next().unwrap_or("").trim().replace('-', " ");
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    if s.contains("couple") {
        return Some(2);
    }
    const WORDS: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    if let Some(i) = WORDS.iter().position(|w| *w == s) {
        return Some(i as i64);
    }
    Some(match s.as_str() {
        "a" | "an" => 1,
        "twenty one" => 21,
        "twenty eight" => 28,
        "thirty" => 30,
        "forty five" => 45,
        "forty eight" => 48,
        "sixty" => 60,
        "ninety" => 90,
        _ => return None,
    })
}

fn day_word(c: &Captures<'_>, r: Date) -> Option<Candidate> {
    let m = c.get(0)?;
    let word = c
        .get(1)
        .or_else(|| c.get(2))
        .or_else(|| c.get(3))?
        .as_str()
        .to_ascii_lowercase();
    let offset = if word.starts_with("day after") {
        2
    } else if word.starts_with("day before") {
        -2
    } else {
        match word.as_str() {
            "tomorrow" => 1,
            "yesterday" => -1,
            _ => 0,
        }
    };
    Some(Candidate::day(
        m.range(),
        DateKind::Relative,
        add_days(r, offset)?,
    ))
}

fn period_word(c: &Captures<'_>, r: Date) -> Option<Candidate> {
    let m = c.get(0)?;
    let whole = m.as_str().to_ascii_lowercase();
    if whole.contains("after next") {
        let monday = add_days(monday_of(r)?, 14)?;
        return Some(Candidate::range(
            m.range(),
            DateKind::Relative,
            monday,
            add_days(monday, 6)?,
        ));
    }
    let end = c.get(1).is_some();
    let which = c
        .get(2)
        .map(|w| w.as_str().to_ascii_lowercase())
        .unwrap_or_default();
    let which = which.split_whitespace().last().unwrap_or("the");
    let unit = c.get(3)?.as_str().to_ascii_lowercase();
    let shift = match which {
        "next" | "following" => 1,
        "last" | "previous" => -1,
        // "the week" means this week only after "end of".
        "the" if !end => return None,
        _ => 0,
    };
    let (start, last) = match unit.as_str() {
        "week" => {
            let monday = add_days(monday_of(r)?, 7 * shift)?;
            (monday, add_days(monday, 6)?)
        }
        "weekend" => {
            let saturday = add_days(monday_of(r)?, 7 * shift + 5)?;
            (saturday, add_days(saturday, 1)?)
        }
        "month" => {
            let first = add_months(r.first_of_month(), shift)?;
            (first, first.last_of_month())
        }
        _ => {
            let first = Date::new(r.year().checked_add(shift as i16)?, 1, 1).ok()?;
            (first, Date::new(first.year(), 12, 31).ok()?)
        }
    };
    if end {
        // End of a week is its Friday; of a month or year its last day.
        let day = if unit == "week" {
            add_days(start, 4)?
        } else {
            last
        };
        return Some(Candidate::day(m.range(), DateKind::Relative, day));
    }
    Some(Candidate::range(m.range(), DateKind::Relative, start, last))
}

fn weekday(text: &str, c: &Captures<'_>, r: Date) -> Option<Candidate> {
    let m = c.get(0)?;
    let name = c.get(2)?.as_str();
    let qualifier = c
        .get(1)
        .map(|q| q.as_str().to_ascii_lowercase())
        .unwrap_or_default();
    let qualifier = qualifier.split_whitespace().collect::<Vec<_>>().join(" ");
    // Short forms count only capitalised and after a qualifier ("on Sat"): "sat", "wed" and
    // "sun" are words too. Every full name has six letters or more.
    if name.len() < 6 && (qualifier.is_empty() || name.starts_with(|ch: char| ch.is_lowercase())) {
        return None;
    }
    let wd = weekday_from(name)?;
    let mut guesses = Vec::new();
    let day = match qualifier.as_str() {
        "every" | "each" => return None,
        "last" | "past" | "previous" | "since" => r.nth_weekday(-1, wd).ok()?,
        "next" => next_weeks(r, wd)?,
        "this" => this_weeks(r, wd)?,
        "this coming" | "coming" => r.nth_weekday(1, wd).ok()?,
        _ if AFTER_CUE.is_match(&text[..m.start()]) => r.nth_weekday(1, wd).ok()?,
        _ => {
            let (past, guessed) = past_tense(text, m.start(), m.end());
            if guessed {
                guesses.push(Guess::Direction);
            }
            if past {
                r.nth_weekday(-1, wd).ok()?
            } else {
                r.nth_weekday(1, wd).ok()?
            }
        }
    };
    // The qualifier "on" belongs to the cue, not the date: keep the span from the name.
    let start = if matches!(qualifier.as_str(), "on" | "every" | "each") {
        c.get(2)?.start()
    } else {
        m.start()
    };
    let mut cand = Candidate::day(start..m.end(), DateKind::Weekday, day);
    cand.guesses = guesses;
    Some(cand)
}

/// `next Friday`: the Friday of next week.
fn next_weeks(r: Date, wd: Weekday) -> Option<Date> {
    add_days(monday_of(r)?, 7 + i64::from(wd.to_monday_zero_offset()))
}

/// `this Friday`: the Friday of this week when still ahead, else the next one.
fn this_weeks(r: Date, wd: Weekday) -> Option<Date> {
    let d = add_days(monday_of(r)?, i64::from(wd.to_monday_zero_offset()))?;
    if d > r {
        Some(d)
    } else {
        r.nth_weekday(1, wd).ok()
    }
}

/// How far, in bytes, a sentence is looked for on either side of a weekday.
const SENTENCE_REACH: usize = 400;

/// Whether the sentence around `start..end` is in the past tense, and whether only a weak
/// reading of its tense decided (no marker either way counts as future, guessed).
///
/// The sentence is looked for within [`SENTENCE_REACH`] bytes either side: a text without
/// full stops (a megabyte on one line) must not be read whole for each weekday in it.
fn past_tense(text: &str, start: usize, end: usize) -> (bool, bool) {
    let lo = floor_char_boundary(text, start.saturating_sub(SENTENCE_REACH));
    let hi = floor_char_boundary(text, end.saturating_add(SENTENCE_REACH));
    let from = text[lo..start]
        .rfind(['.', '!', '?', '\n'])
        .map_or(lo, |i| lo + i + 1);
    let to = text[end..hi]
        .find(['.', '!', '?', '\n'])
        .map_or(hi, |i| end + i);
    let from = floor_char_boundary(text, from);
    let sentence = &text[from..to];
    if FUTURE.is_match(sentence) {
        return (false, true);
    }
    (PAST.is_match(sentence), true)
}
