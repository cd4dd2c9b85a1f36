//! Date and deadline expressions in text, resolved against a reference day.
//!
//! [`find_dates`] finds what real mail writes: absolute dates (`17/05/2024`, `05/17/2024`,
//! `2024-05-17`, `17 May`, `Friday 17th May 2024`, `May 17, 2024`, `May 2024`), weekdays
//! (`by Friday`, `next Tuesday`, `last Monday`), and relative expressions (`today`,
//! `tomorrow`, `this week`, `next month`, `end of the month`, `within 7 days`, `within 14
//! working days`, `in two weeks`, `three days ago`, `by close of business`). Each hit has its
//! byte span in the text given, the day or range of days it resolves to, whether it is a
//! deadline (`by`, `before`, `no later than`, `within`, `deadline`, `due`...), how many days it
//! lies from the reference day, and which guesses the resolution had to make.
//!
//! The reference day is the message's own `Date` header (in the sender's offset) or, for a
//! message without one, the day of processing; [`Reference::source`] says which.
//!
//! Rules where the text does not decide, documented here and tested below:
//! - **Day and month order** of an all-numeric date whose two parts are both 12 or less
//!   (`03/04/2024`): the order shown by an unambiguous numeric date in the same text
//!   (`24/01/2025` means day first); else [`DateOptions::order`]; else month first when the
//!   `Date` header's offset is three hours or more west of UTC (the Americas); else day first.
//!   Such a hit carries [`Guess::DayMonthOrder`].
//! - **A date without a year** (`17 May`) takes the year that puts it nearest the reference
//!   day ([`Guess::Year`]).
//! - **A bare weekday** (`on Saturday`) is the one after the reference day, unless `last`,
//!   `since` or `past` precede it or its sentence is in the past tense and not the future, in
//!   which case it is the one before ([`Guess::Direction`] when only the tense decided).
//!   `next Friday` is the Friday of next week; `this Friday` that of the current week (Monday
//!   to Sunday) when it is still ahead, else the next one.
//! - **End of the week** is its Friday (the working week); **end of the month/year** is its
//!   last day; **close of business** is the reference day, or the day written right after it.
//! - An all-numeric date without a year (`03/04`) counts only after a preposition (`on 03/04`),
//!   since fractions and scores look the same; `24/7` never counts.
//!
//! Dates are civil days (`jiff::civil::Date`); times of day are not resolved. Uses `jiff` for
//! the calendar: checked arithmetic that returns errors instead of panicking, weekday and
//! month-end helpers, and no time-zone database needed for civil dates.

use std::ops::Range;
use std::sync::LazyLock;

use jiff::civil::{Date, Weekday};
use jiff::{Span, Timestamp};
use regex::Regex;
use serde::Serialize;

mod absolute;
mod relative;

#[cfg(test)]
mod tests;

/// Where the reference day came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceSource {
    /// The message's `Date` header.
    DateHeader,
    /// The time of processing: the message has no (valid) `Date` header.
    ProcessingTime,
}

/// The day relative expressions are resolved against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// The reference day, in the sender's offset when it came from the `Date` header.
    pub date: Date,
    /// Where it came from.
    pub source: ReferenceSource,
    /// The `Date` header's offset from UTC in minutes, when it had one.
    pub utc_offset_minutes: Option<i32>,
}

impl Reference {
    /// A reference day given directly.
    pub fn new(date: Date, source: ReferenceSource) -> Reference {
        Reference {
            date,
            source,
            utc_offset_minutes: None,
        }
    }

    /// The reference for a message whose `Date` header is `header` (RFC 3339, as in
    /// `Email::date`), processed at `processing`: the header's day in its own offset, or the
    /// UTC day of `processing` when the header is absent or unreadable.
    pub fn for_message(header: Option<&str>, processing: Timestamp) -> Reference {
        if let Some(r) = header.and_then(parse_header) {
            return r;
        }
        Reference::new(
            jiff::tz::Offset::UTC.to_datetime(processing).date(),
            ReferenceSource::ProcessingTime,
        )
    }
}

/// `2024-05-13T07:42:10+01:00` (or `Z`) to the day and offset it was written in.
fn parse_header(s: &str) -> Option<Reference> {
    let s = s.trim();
    let date: Date = s.get(..10)?.parse().ok()?;
    // The offset is whatever follows the time: `Z`, `+hh:mm` or `-hh:mm`.
    let rest = s.get(19..).unwrap_or("");
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = if rest.eq_ignore_ascii_case("z") {
        Some(0)
    } else {
        let sign = match rest.as_bytes().first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Some(Reference::new(date, ReferenceSource::DateHeader)),
        };
        let hh: i32 = rest.get(1..3)?.parse().ok()?;
        let mm: i32 = rest.get(4..6).and_then(|m| m.parse().ok()).unwrap_or(0);
        Some(sign * (hh * 60 + mm))
    };
    Some(Reference {
        date,
        source: ReferenceSource::DateHeader,
        utc_offset_minutes: offset,
    })
}

/// The order of day and month in an all-numeric date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayMonthOrder {
    /// `03/04/2024` is 3 April (UK, most of the world).
    DayFirst,
    /// `03/04/2024` is 4 March (US).
    MonthFirst,
}

/// How to find and resolve dates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateOptions {
    /// The order for ambiguous numeric dates when the text itself does not show it; `None`
    /// decides by the `Date` header's offset, then day first.
    pub order: Option<DayMonthOrder>,
}

/// What kind of expression a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateKind {
    /// A calendar date, with or without its year (`17 May 2024`, `2024-05-17`, `May 2024`).
    Absolute,
    /// A weekday (`by Friday`, `next Tuesday`).
    Weekday,
    /// A day named relative to the reference (`tomorrow`, `end of the month`, `next week`).
    Relative,
    /// A period counted from the reference (`within 7 days`, `in two weeks`, `3 days ago`).
    Period,
}

/// A guess the resolution made where the text does not decide (see the module rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Guess {
    /// The day and month order of an all-numeric date.
    DayMonthOrder,
    /// The year of a date written without one.
    Year,
    /// Whether a bare weekday lies before or after the reference day (from the tense).
    Direction,
}

/// One date or deadline expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DateHit {
    /// Byte offsets into the text given, the deadline cue (`by`, `within`) included.
    pub span: Range<usize>,
    /// The text of the span.
    pub text: String,
    /// What kind of expression.
    pub kind: DateKind,
    /// The first day it means.
    pub start: Date,
    /// The last day it means (`start` for a single day).
    pub end: Date,
    /// A deadline: `by`, `before`, `no later than`, `within`, `deadline`, `due`... (`until`
    /// is not one: "out of the office until Monday" is a duration).
    pub deadline: bool,
    /// Days from the reference day to `start` (negative: before it).
    pub start_days: i64,
    /// Days from the reference day to `end`.
    pub end_days: i64,
    /// Guesses made to resolve it; empty when the text decided everything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub guesses: Vec<Guess>,
}

impl DateHit {
    /// Days from the reference day to the moment that matters: the end of a deadline's
    /// range, the start of any other date.
    pub fn days_away(&self) -> i64 {
        if self.deadline {
            self.end_days
        } else {
            self.start_days
        }
    }
}

/// What a matcher found, before cues and distances.
#[derive(Debug, Clone)]
struct Candidate {
    span: Range<usize>,
    kind: DateKind,
    start: Date,
    end: Date,
    /// The expression is itself a deadline (`within 7 days`, `close of business`).
    deadline: bool,
    guesses: Vec<Guess>,
    /// A `close of business`-like expression that takes the date right after it, if any.
    joins_next: bool,
}

impl Candidate {
    fn day(span: Range<usize>, kind: DateKind, day: Date) -> Candidate {
        Candidate::range(span, kind, day, day)
    }

    fn range(span: Range<usize>, kind: DateKind, start: Date, end: Date) -> Candidate {
        Candidate {
            span,
            kind,
            start,
            end,
            deadline: false,
            guesses: Vec::new(),
            joins_next: false,
        }
    }
}

/// Words before a date that make it a deadline. Matched against the text just before a hit.
static DEADLINE_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:by|before|no later than|not later than|on or before|deadline(?: is| of| date)?:?|due(?: on| by| date)?:?|expires?(?: on)?|expiry(?: date)?:?|latest(?: by)?|must be (?:received|paid|returned|submitted|done|completed)(?: by| on)?)(?:\s+(?:\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm)?|noon|midday|midnight))?(?:\s+(?:the|this|on))?[\s,]*$",
    )
    .expect("static regex")
});

/// Find and resolve the date expressions in `text`, in text order, none overlapping.
pub fn find_dates(text: &str, reference: &Reference, opts: &DateOptions) -> Vec<DateHit> {
    let order = absolute::order_for(text, reference, opts);
    let mut cands = Vec::new();
    absolute::find(text, reference, order, &mut cands);
    relative::find(text, reference, &mut cands);
    let cands = join_close_of_business(text, keep_longest(cands));
    cands
        .into_iter()
        .map(|c| finish(text, reference, c))
        .collect()
}

/// Drop candidates that overlap a longer one; return the rest in text order.
fn keep_longest(mut cands: Vec<Candidate>) -> Vec<Candidate> {
    cands.sort_by_key(|c| (std::cmp::Reverse(c.span.len()), c.span.start));
    let mut kept: Vec<Candidate> = Vec::new();
    for c in cands {
        if kept
            .iter()
            .all(|k| c.span.end <= k.span.start || c.span.start >= k.span.end)
        {
            kept.push(c);
        }
    }
    kept.sort_by_key(|c| c.span.start);
    kept
}

/// `close of business` followed by a date (`on Friday`, `today`, `17 May`) becomes one
/// deadline on that date.
fn join_close_of_business(text: &str, cands: Vec<Candidate>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::with_capacity(cands.len());
    for c in cands {
        if let Some(prev) = out.last_mut() {
            let gap = text.get(prev.span.end..c.span.start).unwrap_or("x");
            let gap = gap.trim().trim_end_matches(',');
            let gap = gap.trim();
            if prev.joins_next && (gap.is_empty() || gap.eq_ignore_ascii_case("on")) {
                prev.span.end = c.span.end;
                prev.start = c.start;
                prev.end = c.end;
                prev.kind = c.kind;
                prev.guesses = c.guesses;
                prev.joins_next = false;
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Add the deadline cue before a candidate and the distances.
fn finish(text: &str, reference: &Reference, c: Candidate) -> DateHit {
    let mut start = c.span.start;
    let mut deadline = c.deadline;
    let window = floor_char_boundary(text, start.saturating_sub(48));
    if let Some(m) = DEADLINE_CUE.find(&text[window..start]) {
        start = window + m.start();
        deadline = true;
    }
    // An abbreviation's dot at the end is also a full stop: the date reads the same without.
    let mut end = c.span.end;
    if text[..end].ends_with('.') && end > c.span.start + 1 {
        end -= 1;
    }
    let span = start..end;
    DateHit {
        text: text[span.clone()].to_string(),
        span,
        kind: c.kind,
        start: c.start,
        end: c.end,
        deadline,
        start_days: days_between(reference.date, c.start),
        end_days: days_between(reference.date, c.end),
        guesses: c.guesses,
    }
}

/// The largest char boundary at or below `i`.
pub(crate) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Days from `a` to `b`.
fn days_between(a: Date, b: Date) -> i64 {
    i64::from((b - a).get_days())
}

/// `d` plus `n` days, `None` past the calendar's range.
fn add_days(d: Date, n: i64) -> Option<Date> {
    d.checked_add(Span::new().try_days(n).ok()?).ok()
}

/// `d` plus `n` months (clamped to the month's end), `None` past the calendar's range.
fn add_months(d: Date, n: i64) -> Option<Date> {
    d.checked_add(Span::new().try_months(n).ok()?).ok()
}

/// `d` plus `n` working days (Monday to Friday); `n` may be negative.
fn add_working_days(d: Date, n: i64) -> Option<Date> {
    let step = if n < 0 { -1 } else { 1 };
    let mut left = n.abs().min(5_000);
    let mut day = d;
    while left > 0 {
        day = add_days(day, step)?;
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    Some(day)
}

/// The Monday of `d`'s week.
fn monday_of(d: Date) -> Option<Date> {
    add_days(d, -i64::from(d.weekday().to_monday_zero_offset()))
}

/// A month name or abbreviation, lower case, to its number.
fn month_number(name: &str) -> Option<i8> {
    let n = name.to_ascii_lowercase();
    let n = n.trim_end_matches('.');
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let key = n.get(..3)?;
    let i = MONTHS.iter().position(|m| *m == key)?;
    Some(i as i8 + 1)
}

/// A weekday name or abbreviation to its weekday.
fn weekday_from(name: &str) -> Option<Weekday> {
    let n = name.to_ascii_lowercase();
    let key = n.get(..3)?;
    let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .position(|w| *w == key)?;
    Weekday::from_monday_zero_offset(i as i8).ok()
}

/// Regex alternation of month names and their usual abbreviations.
const MONTH_ALT: &str = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec";

/// Regex alternation of weekday names and abbreviations.
const WEEKDAY_ALT: &str = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues|tue|wed|thurs|thu|fri|sat|sun";
