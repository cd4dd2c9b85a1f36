//! Calendar dates: all-numeric (`17/05/2024`, `05.17.24`, `2024-05-17`) and with a month name
//! (`17 May`, `Friday 17th May 2024`, `May 17, 2024`, `May 2024`, `the end of May`).

use std::sync::LazyLock;

use jiff::civil::{Date, Weekday};
use regex::{Captures, Regex};

use super::{
    days_between, month_number, weekday_from, Candidate, DateKind, DateOptions, DayMonthOrder,
    Guess, Reference, MONTH_ALT, WEEKDAY_ALT,
};

/// `2024-05-17`, `2024/05/17`, `2024.05.17`.
static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{4})([/.\-])(\d{1,2})([/.\-])(\d{1,2})").expect("static regex")
});

/// `17/05/2024`, `5.17.24`, `17-05-2024`, `03/04`.
static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{1,2})([/.\-])(\d{1,2})(?:([/.\-])(\d{4}|\d{2}))?\b").expect("static regex")
});

/// `Friday 17th May 2024`, `17 May`, `1st of June`, `17-May-2024`.
static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:({WEEKDAY_ALT})\.?,?\s+(?:the\s+)?)?(\d{{1,2}})(st|nd|rd|th)?(\s+of)?[\s\-]+({MONTH_ALT})\b\.?(?:,?[\s\-]+(\d{{4}})\b)?"
    ))
    .expect("static regex")
});

/// `May 17`, `Friday, May 17th, 2024`.
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:({WEEKDAY_ALT})\.?,?\s+)?({MONTH_ALT})\.?\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?"
    ))
    .expect("static regex")
});

/// `May 2024`, `the end of May`, `end of May 2024`.
static MONTH_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:(?:the\s+)?(end)\s+of\s+)?({MONTH_ALT})\b\.?(?:,?\s+(\d{{4}})\b)?"
    ))
    .expect("static regex")
});

/// Words after which an all-numeric date without a year is taken as a date.
static NUMERIC_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:on|by|from|until|till|before|after|dated|since|of|date:?)\s+$")
        .expect("static regex")
});

/// The day/month order for ambiguous numeric dates in `text` (see the module rules).
pub(super) fn order_for(text: &str, reference: &Reference, opts: &DateOptions) -> DayMonthOrder {
    let (mut day_first, mut month_first) = (0, 0);
    for c in NUMERIC.captures_iter(text) {
        let (Some(a), Some(b)) = (num(&c, 1), num(&c, 3)) else {
            continue;
        };
        if a > 12 && b <= 12 {
            day_first += 1;
        } else if b > 12 && (1..=12).contains(&a) {
            month_first += 1;
        }
    }
    if day_first > month_first {
        return DayMonthOrder::DayFirst;
    }
    if month_first > day_first {
        return DayMonthOrder::MonthFirst;
    }
    if let Some(order) = opts.order {
        return order;
    }
    match reference.utc_offset_minutes {
        Some(m) if m <= -180 => DayMonthOrder::MonthFirst,
        _ => DayMonthOrder::DayFirst,
    }
}

/// Push every calendar date in `text`.
pub(super) fn find(
    text: &str,
    reference: &Reference,
    order: DayMonthOrder,
    out: &mut Vec<Candidate>,
) {
    for c in ISO.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        if c[2] != c[4] || !clean_edges(text, m.start(), m.end(), true) {
            continue;
        }
        let (Some(y), Some(mo), Some(d)) = (num(&c, 1), num(&c, 3), num(&c, 5)) else {
            continue;
        };
        if let Some(date) = make(y, mo, d) {
            out.push(Candidate::day(m.range(), DateKind::Absolute, date));
        }
    }
    for c in NUMERIC.captures_iter(text) {
        if let Some(cand) = numeric(text, &c, reference, order) {
            out.push(cand);
        }
    }
    for c in DAY_MONTH.captures_iter(text) {
        if let Some(cand) = day_month(&c, reference) {
            out.push(cand);
        }
    }
    for c in MONTH_DAY.captures_iter(text) {
        if let Some(cand) = month_day(&c, reference) {
            out.push(cand);
        }
    }
    for c in MONTH_YEAR.captures_iter(text) {
        if let Some(cand) = month_year(&c, reference) {
            out.push(cand);
        }
    }
}

/// One all-numeric date, with its guards.
fn numeric(
    text: &str,
    c: &Captures<'_>,
    reference: &Reference,
    order: DayMonthOrder,
) -> Option<Candidate> {
    let m = c.get(0)?;
    if !clean_edges(text, m.start(), m.end(), false) {
        return None;
    }
    let (a, b) = (num(c, 1)?, num(c, 3)?);
    let year = c.get(5).and_then(|y| y.as_str().parse::<i32>().ok());
    match year {
        Some(_) if c.get(4).map(|s| s.as_str()) != c.get(2).map(|s| s.as_str()) => return None,
        None if &c[2] != "/" || (a == 24 && b == 7) => return None,
        None if !NUMERIC_CUE.is_match(&text[..m.start()]) => return None,
        _ => {}
    }
    let (day, month, guessed) = if a > 12 {
        (a, b, false)
    } else if b > 12 {
        (b, a, false)
    } else if order == DayMonthOrder::DayFirst {
        (a, b, a != b)
    } else {
        (b, a, a != b)
    };
    let mut guesses = Vec::new();
    if guessed {
        guesses.push(Guess::DayMonthOrder);
    }
    let date = match year {
        Some(y) => make(full_year(y), month, day)?,
        None => {
            guesses.push(Guess::Year);
            nearest_year(reference.date, month, day, None)?
        }
    };
    let mut cand = Candidate::day(m.range(), DateKind::Absolute, date);
    cand.guesses = guesses;
    Some(cand)
}

/// `17 May 2024`, `Friday 17th May`.
fn day_month(c: &Captures<'_>, reference: &Reference) -> Option<Candidate> {
    let m = c.get(0)?;
    let month_tok = c.get(5)?.as_str();
    let has_year = c.get(6).is_some();
    // "1 may be": a lower-case "may" counts only as "1st may", "1 of may" or with a year.
    if month_tok == "may" && c.get(3).is_none() && c.get(4).is_none() && !has_year {
        return None;
    }
    let day = num(c, 2)?;
    let month = i32::from(month_number(month_tok)?);
    let weekday = c.get(1).and_then(|w| weekday_from(w.as_str()));
    let year = c.get(6).and_then(|y| y.as_str().parse::<i32>().ok());
    calendar(m.range(), reference, year, month, day, weekday)
}

/// `May 17`, `Friday, May 17th, 2024`.
fn month_day(c: &Captures<'_>, reference: &Reference) -> Option<Candidate> {
    let m = c.get(0)?;
    let month_tok = c.get(2)?.as_str();
    // Lower-case "may 2", "mar 5" are words more often than dates.
    if month_tok.starts_with(|ch: char| ch.is_lowercase())
        && (month_tok.len() <= 4 || month_tok == "march")
    {
        return None;
    }
    let day = num(c, 3)?;
    let month = i32::from(month_number(month_tok)?);
    let weekday = c.get(1).and_then(|w| weekday_from(w.as_str()));
    let year = c.get(4).and_then(|y| y.as_str().parse::<i32>().ok());
    calendar(m.range(), reference, year, month, day, weekday)
}

/// `May 2024`, `the end of May`.
fn month_year(c: &Captures<'_>, reference: &Reference) -> Option<Candidate> {
    let m = c.get(0)?;
    let end = c.get(1).is_some();
    let month_tok = c.get(2)?.as_str();
    let year = c.get(3).and_then(|y| y.as_str().parse::<i32>().ok());
    if !end && year.is_none() {
        return None;
    }
    if month_tok.starts_with(|ch: char| ch.is_lowercase()) && month_tok.len() <= 4 && !end {
        return None;
    }
    let month = i32::from(month_number(month_tok)?);
    let (first, guesses) = match year {
        Some(y) => (make(y, month, 1)?, Vec::new()),
        None => (
            nearest_year(reference.date, month, 1, None)?,
            vec![Guess::Year],
        ),
    };
    let last = first.last_of_month();
    let mut cand = if end {
        Candidate::day(m.range(), DateKind::Absolute, last)
    } else {
        Candidate::range(m.range(), DateKind::Absolute, first, last)
    };
    cand.guesses = guesses;
    Some(cand)
}

/// A candidate for a day of a month, in `year` or the nearest year.
fn calendar(
    span: std::ops::Range<usize>,
    reference: &Reference,
    year: Option<i32>,
    month: i32,
    day: i32,
    weekday: Option<Weekday>,
) -> Option<Candidate> {
    let (date, guesses) = match year {
        Some(y) => (make(y, month, day)?, Vec::new()),
        None => (
            nearest_year(reference.date, month, day, weekday)?,
            vec![Guess::Year],
        ),
    };
    let mut cand = Candidate::day(span, DateKind::Absolute, date);
    cand.guesses = guesses;
    Some(cand)
}

/// The date `month`/`day` in the year before, of or after `reference` that lies nearest it;
/// when `weekday` is given, among the years where it falls on that weekday, if any.
fn nearest_year(reference: Date, month: i32, day: i32, weekday: Option<Weekday>) -> Option<Date> {
    let y = i32::from(reference.year());
    let options: Vec<Date> = (y - 1..=y + 1)
        .filter_map(|y| make(y, month, day))
        .collect();
    let matching: Vec<Date> = options
        .iter()
        .copied()
        .filter(|d| weekday.is_some_and(|w| d.weekday() == w))
        .collect();
    let pool = if matching.is_empty() {
        options
    } else {
        matching
    };
    pool.into_iter()
        .min_by_key(|d| days_between(reference, *d).abs())
}

/// A valid date from parts, years 1900 to 2100 only.
fn make(year: i32, month: i32, day: i32) -> Option<Date> {
    if !(1900..=2100).contains(&year) {
        return None;
    }
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

/// Two-digit years: `24` is 2024, `85` is 1985.
fn full_year(y: i32) -> i32 {
    match y {
        0..=69 => 2000 + y,
        70..=99 => 1900 + y,
        _ => y,
    }
}

fn num(c: &Captures<'_>, i: usize) -> Option<i32> {
    c.get(i)?.as_str().parse().ok()
}

/// Not part of a longer number, code or path: nothing alphanumeric or `/`, `.`, `-`, `:`,
/// currency or `#` before; nothing alphanumeric or `/` after, and no `.`/`-`/`:` then a digit.
/// `iso` allows a `T` and a time after.
fn clean_edges(text: &str, start: usize, end: usize, iso: bool) -> bool {
    let before = text[..start].chars().next_back();
    if before.is_some_and(|c| c.is_alphanumeric() || "/.-:£$€#_".contains(c)) {
        return false;
    }
    let mut after = text[end..].chars();
    match after.next() {
        Some('T') if iso => after.next().is_some_and(|c| c.is_ascii_digit()),
        Some(c) if c.is_alphanumeric() || c == '/' || c == '_' => false,
        Some('.' | '-' | ':') => !after.next().is_some_and(|c| c.is_ascii_digit()),
        _ => true,
    }
}
