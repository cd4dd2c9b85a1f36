//! Key-fact tests on synthetic messages (invented people, `example` domains, Ofcom drama
//! phone numbers); reference day Monday 13 May 2024.

use jiff::civil::date;

use super::*;
use crate::text::dates::ReferenceSource;

fn reference() -> Reference {
    Reference::new(date(2024, 5, 13), ReferenceSource::DateHeader)
}

fn facts(body: &str) -> Vec<KeyFact> {
    let f = extract(&FactsInput::new(body, reference()));
    for fact in &f {
        assert_eq!(
            &body[fact.span.clone()],
            fact.text,
            "faithful by construction"
        );
    }
    f
}

/// (kind, text, value) of every fact of `kind`.
fn of(body: &str, kind: KeyFactKind) -> Vec<(String, Option<String>)> {
    facts(body)
        .into_iter()
        .filter(|f| f.kind == kind)
        .map(|f| (f.text, f.value))
        .collect()
}

fn v(text: &str, value: &str) -> (String, Option<String>) {
    (text.to_string(), Some(value.to_string()))
}

#[test]
fn amounts_with_currency() {
    let body = "I owe £1,245.60 and can pay £150 a month. They charged {$36.00} twice, \
                then USD 1,200 and 40 euros. Fees of $2.5m were mentioned. Page 3 of 12.";
    assert_eq!(
        of(body, KeyFactKind::Amount),
        vec![
            v("£1,245.60", "GBP 1245.60"),
            v("£150", "GBP 150"),
            v("$36.00", "USD 36.00"),
            v("USD 1,200", "USD 1200"),
            v("40 euros", "EUR 40"),
            v("$2.5m", "USD 2.5 m"),
        ]
    );
}

#[test]
fn references_by_cue_and_by_shape() {
    let body =
        "My account number is 40018832. Application LIC/2024/0562 and case ref: HR-2024-118. \
                Penalty charge notice NB12345678. Highways were told (ref's 6117710 and 5982663). \
                The report 2023 said nothing.";
    let refs: Vec<String> = of(body, KeyFactKind::Reference)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        refs,
        vec![
            "40018832",
            "LIC/2024/0562",
            "HR-2024-118",
            "NB12345678",
            "6117710",
            "5982663"
        ]
    );
}

#[test]
fn addresses_postcodes_phones_emails() {
    let body = "She lives at 14 Larch Close, Northbrook NB4 7QT. Call me on 07700 900123 or \
                (0117) 496 0000, or +1 (555) 010-2030. Write to ann.lee@example.org. \
                The US office is 1200 Main Street, Springfield, IL 62701. Postcode gl523lu is wrong but GL52 3LU and SW1A1AA are right.";
    let addr = of(body, KeyFactKind::Address);
    assert_eq!(addr[0].0, "14 Larch Close, Northbrook NB4 7QT");
    assert_eq!(addr[1].0, "1200 Main Street, Springfield, IL 62701");
    let post: Vec<_> = of(body, KeyFactKind::Postcode)
        .into_iter()
        .map(|(_, v)| v.unwrap())
        .collect();
    assert_eq!(post, vec!["GL52 3LU", "SW1A 1AA"]);
    let phones: Vec<_> = of(body, KeyFactKind::Phone)
        .into_iter()
        .map(|(_, v)| v.unwrap())
        .collect();
    assert_eq!(
        phones,
        vec!["+447700900123", "+441174960000", "+15550102030"]
    );
    assert_eq!(
        of(body, KeyFactKind::Email),
        vec![v("ann.lee@example.org", "ann.lee@example.org")]
    );
}

#[test]
fn numbers_that_are_not_phones_or_references() {
    let body =
        "The hole is 30 cm wide and 2 feet deep. It took 2 weeks. Room 101. In 2024 the 12 bins.";
    let f = facts(body);
    assert!(
        f.iter().all(|f| !matches!(
            f.kind,
            KeyFactKind::Phone | KeyFactKind::Reference | KeyFactKind::Amount
        )),
        "{f:#?}"
    );
}

#[test]
fn dates_and_deadlines() {
    let body = "I received a notice dated 2 May 2024. Comments are needed by Friday 17 May 2024, \
                or within 7 days. It got worse this week.";
    let f = facts(body);
    let d: Vec<(KeyFactKind, String)> = f
        .iter()
        .filter(|f| matches!(f.kind, KeyFactKind::Date | KeyFactKind::Deadline))
        .map(|f| (f.kind, f.value.clone().unwrap()))
        .collect();
    assert_eq!(
        d,
        vec![
            (KeyFactKind::Date, "2024-05-02".to_string()),
            (KeyFactKind::Deadline, "2024-05-17".to_string()),
            (KeyFactKind::Deadline, "2024-05-20".to_string()),
        ]
    );
}

#[test]
fn people_by_role() {
    let body = "Dear Ms Patel,\n\nMy name is Daniel Okafor. I am writing about Mr Frank Hollis at number 6.\n\nKind regards,\nDaniel";
    let people: Vec<(String, Option<Role>)> = facts(body)
        .into_iter()
        .filter(|f| f.kind == KeyFactKind::Person)
        .map(|f| (f.text, f.role))
        .collect();
    assert_eq!(
        people,
        vec![
            ("Ms Patel".to_string(), Some(Role::Addressee)),
            ("Daniel Okafor".to_string(), Some(Role::Sender)),
            ("Mr Frank Hollis".to_string(), Some(Role::Mentioned)),
            ("Daniel".to_string(), Some(Role::Sender)),
        ]
    );
    // "Dear Sir or Madam" and "Hi all" name nobody.
    assert!(facts("Dear Sir or Madam,\n\nHi all,\n\nThanks")
        .iter()
        .all(|f| f.kind != KeyFactKind::Person));
}

#[test]
fn every_source_and_the_short_line() {
    let input = FactsInput {
        subject: Some("Council tax account 40018832"),
        body: "I can pay £150 a month. Please reply by Friday.",
        signature: Some("Kind regards,\nDaniel Okafor\n07700 900123"),
        from: Some("Daniel Okafor"),
        attachments: vec!["notice.pdf"],
        reference: reference(),
    };
    let f = extract(&input);
    let texts = |s: Source| -> &str {
        match s {
            Source::Subject => input.subject.unwrap(),
            Source::Body => input.body,
            Source::Signature => input.signature.unwrap(),
            Source::From => input.from.unwrap(),
            Source::Attachment(i) => input.attachments[i],
        }
    };
    for fact in &f {
        assert_eq!(&texts(fact.source)[fact.span.clone()], fact.text);
    }
    let sources: Vec<Source> = f.iter().map(|f| f.source).collect();
    assert!(sources.contains(&Source::Subject) && sources.contains(&Source::Signature));
    assert!(sources.contains(&Source::From) && sources.contains(&Source::Attachment(0)));
    assert_eq!(
        short_line(&f, 6),
        "due 2024-05-17 · 40018832 · £150 · 07700 900123 · Daniel Okafor · notice.pdf"
    );
    assert_eq!(f[0].line(), "reference: 40018832");
    assert!(extract(&FactsInput::new("", reference())).is_empty());
    for odd in ["£", "$,", "Dear ,", "ref:", "+44", "0", "\u{0}@\u{0}.x"] {
        let _ = facts(odd);
    }
}
