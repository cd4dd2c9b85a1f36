//! Tests of date finding and resolution; the reference is Monday 13 May 2024 unless said.

use jiff::civil::date;

use super::*;

fn monday() -> Reference {
    Reference::new(date(2024, 5, 13), ReferenceSource::DateHeader)
}

fn find(text: &str) -> Vec<DateHit> {
    find_dates(text, &monday(), &DateOptions::default())
}

/// The single hit in `text`, checked to be the slice its span names.
fn one(text: &str) -> DateHit {
    let hits = find(text);
    assert_eq!(hits.len(), 1, "{text:?}: {hits:#?}");
    let h = hits.into_iter().next().unwrap();
    assert_eq!(&text[h.span.clone()], h.text);
    h
}

#[test]
fn reference_from_header_or_processing_time() {
    let r = Reference::for_message(Some("2024-05-13T07:42:10+01:00"), Timestamp::UNIX_EPOCH);
    assert_eq!(r.date, date(2024, 5, 13));
    assert_eq!(r.source, ReferenceSource::DateHeader);
    assert_eq!(r.utc_offset_minutes, Some(60));
    let r = Reference::for_message(Some("2023-07-19T12:00:00Z"), Timestamp::UNIX_EPOCH);
    assert_eq!(r.utc_offset_minutes, Some(0));
    let r = Reference::for_message(Some("2022-11-30T13:25:09-05:00"), Timestamp::UNIX_EPOCH);
    assert_eq!(r.utc_offset_minutes, Some(-300));
    for bad in [
        None,
        Some(""),
        Some("yesterday"),
        Some("2024-13-45T00:00:00Z"),
    ] {
        let r = Reference::for_message(bad, "2024-06-01T23:30:00Z".parse().unwrap());
        assert_eq!(r.source, ReferenceSource::ProcessingTime, "{bad:?}");
        assert_eq!(r.date, date(2024, 6, 1));
    }
}

#[test]
fn absolute_dates_with_month_names() {
    let h = one("We need comments by 17:00 on Friday 17 May 2024 at the latest.");
    assert_eq!(h.text, "by 17:00 on Friday 17 May 2024");
    assert_eq!(
        (h.start, h.deadline, h.start_days),
        (date(2024, 5, 17), true, 4)
    );
    let h = one("The hearing is on May 29th, 2024.");
    assert_eq!(h.start, date(2024, 5, 29));
    assert!(h.guesses.is_empty());
    let h = one("I tripped over on 24 January 2025 and fractured my knee.");
    assert_eq!(h.start, date(2025, 1, 24));
    let h = one("the 1st of June");
    assert_eq!(h.start, date(2024, 6, 1));
    let h = one("Payment was taken on 17-Jan-2024.");
    assert_eq!(h.start, date(2024, 1, 17));
    let hits = find("I drove down this road yesterday (saturday 25th may) and hit it.");
    assert_eq!(hits.len(), 2);
    assert_eq!(
        (hits[0].text.as_str(), hits[0].start_days),
        ("yesterday", -1)
    );
    assert_eq!(
        (hits[1].text.as_str(), hits[1].start),
        ("saturday 25th may", date(2024, 5, 25))
    );
}

#[test]
fn year_is_the_nearest_one_and_marked() {
    let h = one("It was reported on 3 December.");
    assert_eq!(h.start, date(2023, 12, 3));
    assert_eq!(h.guesses, vec![Guess::Year]);
    let h = one("Please reply by 2 June.");
    assert_eq!(h.start, date(2024, 6, 2));
    assert!(h.deadline);
    assert_eq!(h.end_days, 20);
    // The weekday picks the year when it can: Friday 10 January is in 2025.
    let h = one("The appointment is Friday 10 January.");
    assert_eq!(h.start, date(2025, 1, 10));
}

#[test]
fn numeric_dates_and_their_order() {
    // Unambiguous ones decide the others in the same text.
    let hits = find("I wrote on 24/01/2024 and again on 03/04/2024.");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].start, date(2024, 1, 24));
    assert!(hits[0].guesses.is_empty());
    assert_eq!(hits[1].start, date(2024, 4, 3));
    assert_eq!(hits[1].guesses, vec![Guess::DayMonthOrder]);
    let hits = find("Charged on 01/31/2024, refunded on 03/04/2024.");
    assert_eq!(hits[1].start, date(2024, 3, 4));
    // Alone: day first by default, month first when told or for a header west of UTC.
    assert_eq!(one("Due 03/04/2024.").start, date(2024, 4, 3));
    let us = DateOptions {
        order: Some(DayMonthOrder::MonthFirst),
    };
    assert_eq!(
        find_dates("Due 03/04/24.", &monday(), &us)[0].start,
        date(2024, 3, 4)
    );
    let mut west = monday();
    west.utc_offset_minutes = Some(-300);
    let hits = find_dates("Due 03/04/2024.", &west, &DateOptions::default());
    assert_eq!(hits[0].start, date(2024, 3, 4));
    // ISO, dots, two-digit years.
    assert_eq!(one("Dated 2024-05-17.").start, date(2024, 5, 17));
    assert_eq!(one("Meter read 17.05.24 at noon").start, date(2024, 5, 17));
    assert_eq!(one("Sent 2024-05-10T09:30:00Z").start, date(2024, 5, 10));
}

#[test]
fn numbers_that_are_not_dates() {
    for text in [
        "We are open 24/7.",
        "About 3/4 of the road is flooded.",
        "Reference LIC/2024/0562 and 12/34/56.",
        "Call 0800 12 34 56 or 01632 960 123.",
        "It costs £12.05 and 1.5 litres.",
        "Version 1.2.3 of the form, page 10-12.",
        "The bin was 31/02/2024 full.",
        "XX/XX/2023 and XXXX",
        "Scores were 10/10 for service.",
        "Section 3952 of the Act, 5 ILCS § 140/6(c).",
        "Step 1 may take a while.",
        "I sat down on the sun lounger.",
        "We may be able to march on.",
    ] {
        let hits = find(text);
        assert!(hits.is_empty(), "{text:?}: {hits:#?}");
    }
}

#[test]
fn relative_days_and_periods() {
    let h = one("Please can someone come out today.");
    assert_eq!((h.start_days, h.deadline), (0, false));
    assert_eq!(one("Tomorrow morning is fine").start, date(2024, 5, 14));
    assert_eq!(one("the day after tomorrow").start_days, 2);
    assert_eq!(one("It happened yesterday.").start_days, -1);
    let h = one("Pay the full amount within 7 days.");
    assert_eq!(
        (h.start, h.end, h.deadline, h.days_away()),
        (date(2024, 5, 13), date(2024, 5, 20), true, 7)
    );
    let h = one("You must respond within seven (7) days of this notice.");
    assert_eq!(h.end_days, 7);
    // Working days skip the weekend: 5 working days from Monday is next Monday.
    let h = one("a response within 5 business days, as the statute requires");
    assert_eq!(h.end, date(2024, 5, 20));
    let h = one("within 14 working days");
    assert_eq!(h.end, date(2024, 5, 31));
    assert_eq!(one("within 48 hours").end_days, 2);
    assert_eq!(one("within a fortnight").end_days, 14);
    let h = one("I will write again in two weeks' time.");
    assert_eq!((h.start_days, h.deadline), (14, false));
    assert_eq!(one("in 3 months").start, date(2024, 8, 13));
    assert_eq!(one("28 days from the date of this letter").start_days, 28);
    assert_eq!(one("I called three days ago.").start_days, -3);
    assert_eq!(one("over the next 10 days").end_days, 10);
}

#[test]
fn weeks_months_and_their_ends() {
    let h = one("I am away next week.");
    assert_eq!((h.start, h.end), (date(2024, 5, 20), date(2024, 5, 26)));
    let h = one("sometime this week");
    assert_eq!((h.start, h.end), (date(2024, 5, 13), date(2024, 5, 19)));
    let h = one("Please fix it by the end of the week.");
    assert_eq!((h.start, h.deadline), (date(2024, 5, 17), true));
    assert_eq!(h.text, "by the end of the week");
    let h = one("by the end of the month");
    assert_eq!(h.start, date(2024, 5, 31));
    assert_eq!(one("end of next month").start, date(2024, 6, 30));
    let h = one("It got worse last month.");
    assert_eq!((h.start, h.end), (date(2024, 4, 1), date(2024, 4, 30)));
    assert_eq!(one("this weekend").start, date(2024, 5, 18));
    let h = one("before the end of June");
    assert_eq!((h.start, h.deadline), (date(2024, 6, 30), true));
    let h = one("Statements for March 2024 are attached.");
    assert_eq!((h.start, h.end), (date(2024, 3, 1), date(2024, 3, 31)));
    assert_eq!(one("by the end of the year").start, date(2024, 12, 31));
}

#[test]
fn weekdays_by_qualifier_and_tense() {
    let h = one("Can you send it by Friday?");
    assert_eq!(
        (h.start, h.deadline, h.text.as_str()),
        (date(2024, 5, 17), true, "by Friday")
    );
    assert_eq!(one("next Friday").start, date(2024, 5, 24));
    assert_eq!(one("this Friday").start, date(2024, 5, 17));
    assert_eq!(one("last Friday").start, date(2024, 5, 10));
    assert_eq!(one("since Saturday").start, date(2024, 5, 11));
    assert_eq!(one("on Mon").start, date(2024, 5, 20));
    // Bare weekdays follow the tense of their sentence.
    let h = one("Her boiler stopped working on Saturday night.");
    assert_eq!(h.start, date(2024, 5, 11));
    assert_eq!(h.text, "Saturday night");
    assert_eq!(h.guesses, vec![Guess::Direction]);
    assert_eq!(
        one("I will be at home on Wednesday.").start,
        date(2024, 5, 15)
    );
    // Recurring days are not dates.
    assert!(find("Bins are collected every Tuesday and on Fridays.").is_empty());
}

#[test]
fn deadline_cues_and_close_of_business() {
    let h = one("The deadline is 31 May 2024.");
    assert_eq!(h.text, "deadline is 31 May 2024");
    assert!(h.deadline);
    let h = one("no later than 20 May 2024");
    assert!(h.deadline && h.text.starts_with("no later than"));
    let h = one("on or before 1 June 2024");
    assert!(h.deadline);
    let h = one("Please reply by close of business.");
    assert_eq!((h.start_days, h.deadline), (0, true));
    let h = one("We need it by close of business on Friday.");
    assert_eq!((h.start, h.deadline), (date(2024, 5, 17), true));
    assert_eq!(h.text, "by close of business on Friday");
    let h = one("EOD tomorrow please");
    assert_eq!((h.start_days, h.deadline), (1, true));
    // Not a deadline: a date after a plain preposition.
    assert!(!one("We met on 2 May 2024.").deadline);
    // "cob" in lower case is bread, not business.
    assert!(find("a cheese cob").is_empty());
}

#[test]
fn spans_are_char_boundaries_in_unicode_text() {
    let text = "Liebe Grüße — bitte bis 17. Mai? Nein: by Friday ✓ and “tomorrow”.";
    let hits = find(text);
    assert_eq!(hits.len(), 2, "{hits:#?}");
    for h in &hits {
        assert_eq!(&text[h.span.clone()], h.text);
    }
    // Nothing panics on odd input.
    for text in [
        "",
        "by",
        "within 999 years",
        "in 99999999999999999999 days",
        "31/12/99",
        "end of",
        "é by é",
    ] {
        let _ = find(text);
    }
}
