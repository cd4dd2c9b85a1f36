//! Preparing text: quote and signature stripping must hold on the golden fixtures (each reply
//! style, LF and CRLF), and the token budget must keep head and tail and report the cut.

use mailroom::email;
use mailroom::text::{self, PrepareOptions, Prepared, RemovedKind};

use crate::util;

fn prepared(rel: &str, crlf: bool) -> Prepared {
    let mut raw = std::fs::read(util::fixture(rel)).unwrap();
    if crlf {
        let lf: Vec<u8> = raw.iter().copied().filter(|&b| b != b'\r').collect();
        raw = lf
            .iter()
            .flat_map(|&b| {
                if b == b'\n' {
                    vec![b'\r', b'\n']
                } else {
                    vec![b]
                }
            })
            .collect();
    }
    let e = email::parse(&raw).unwrap();
    text::prepare(&e, &PrepareOptions::default())
}

/// (fixture, text the body keeps, texts the body must lose, kinds removed)
const CASES: &[(&str, &str, &[&str], &[RemovedKind])] = &[
    (
        "eml/real/001.eml",
        "Tuesday morning works for me",
        &["wrote:", "We can send an engineer", "Best regards"],
        &[RemovedKind::Quote, RemovedKind::Signature],
    ),
    (
        "eml/real/002.eml",
        "revised drawings will be uploaded",
        &[
            "Original Message",
            "Drawings 3 and 4",
            "CONFIDENTIALITY",
            "Senior Architect",
        ],
        &[RemovedKind::Quote, RemovedKind::Signature],
    ),
    (
        "eml/real/003.eml",
        "I would like to appeal the charge",
        &[
            "Sent from my iPhone",
            "penalty charge notice has been issued",
        ],
        &[RemovedKind::Quote, RemovedKind::Signature],
    ),
    (
        "eml/real/004.eml",
        "Is the larger room free",
        &[
            "Library wrote:",
            "small meeting room is booked",
            "Reading Circle",
        ],
        &[RemovedKind::Quote, RemovedKind::Signature],
    ),
    (
        "eml/real/010.eml",
        "plays loud music every night",
        &["Forwarded message", "From: Rita Gomez"],
        &[RemovedKind::ForwardHeader],
    ),
    (
        "eml/real/017.eml",
        "close Elm Grove between 12:00 and 18:00",
        &["Forwarded by", "Street party on 8 June", "04:55 PM"],
        &[RemovedKind::ForwardHeader],
    ),
    (
        "eml/real/012.eml",
        "Je vous envoie le formulaire",
        &["a écrit", "Le formulaire d'inscription", "Cordialement"],
        &[RemovedKind::Quote, RemovedKind::Signature],
    ),
    (
        "eml/real/013.eml",
        "leider kann ich den Termin",
        &["schrieb", "Ihr Termin ist am", "Viele Grüße"],
        &[RemovedKind::Quote, RemovedKind::Signature],
    ),
];

#[test]
fn quotes_and_signatures_stripped_on_fixtures() {
    let mut ran = 0;
    for &(rel, keeps, loses, kinds) in CASES {
        for crlf in [false, true] {
            ran += 1;
            let p = prepared(rel, crlf);
            assert!(
                p.body.contains(keeps),
                "{rel} crlf={crlf}: lost {keeps:?}:\n{}",
                p.body
            );
            for gone in loses {
                assert!(
                    !p.text.contains(gone),
                    "{rel} crlf={crlf}: kept {gone:?}:\n{}",
                    p.text
                );
            }
            for kind in kinds {
                assert!(
                    p.removed.iter().any(|r| r.kind == *kind),
                    "{rel} crlf={crlf}: nothing removed as {kind:?}: {:?}",
                    p.removed
                );
            }
            // What was removed is kept for the record, verbatim enough to find it.
            let removed: String = p.removed.iter().map(|r| r.text.as_str()).collect();
            assert!(
                loses.iter().all(|g| removed.contains(g)),
                "{rel}: {removed}"
            );
        }
    }
    assert!(ran > 0);
}

#[test]
fn languages_on_fixtures() {
    for (rel, code) in [
        ("eml/real/001.eml", "eng"),
        ("eml/real/012.eml", "fra"),
        ("eml/real/013.eml", "deu"),
        ("eml/rfc/008.eml", "deu"),
    ] {
        let p = prepared(rel, false);
        assert_eq!(p.language.map(|l| l.code), Some(code), "{rel}");
    }
}

#[test]
fn text_is_what_the_models_see() {
    let p = prepared("eml/rfc/007.eml", false);
    assert_eq!(
        p.text,
        "From: Lee Wong <lee.wong@example.com>\nSubject: Proof of address for my claim\n\
         Attachments: council-tax-bill.pdf\n\n\
         Please find attached the council tax bill as proof of address for claim 55123."
    );
    assert!(p.truncation.is_none());
    assert_eq!(p.tokens, text::estimate_tokens(&p.text));
}

#[test]
fn budget_keeps_head_and_tail_with_a_real_counter() {
    let raw = std::fs::read(util::fixture("eml/real/010.eml")).unwrap();
    let e = email::parse(&raw).unwrap();
    // A counter that is not the default estimate: one token per character.
    let chars = |s: &str| s.chars().count();
    let opts = PrepareOptions {
        max_tokens: 200,
        count_tokens: Some(&chars),
        ..PrepareOptions::default()
    };
    let p = text::prepare(&e, &opts);
    assert!(p.tokens <= 200, "{} tokens", p.tokens);
    let t = p.truncation.expect("the body is over 200 characters");
    assert!(p.text.starts_with("From: Officer Jones"));
    assert!(p.text.contains(text::MARKER.trim()));
    assert!(p.text.trim_end().ends_with("Rita Gomez"), "{}", p.text);
    assert_eq!(t.kept_tokens + t.dropped_tokens, t.total_tokens);
    let [a, b] = t.dropped_range;
    assert!(a < b && b <= p.body.len());
    assert_eq!(p.body[a..b].chars().count(), t.dropped_chars);
}

#[test]
fn no_strip_keeps_everything() {
    let raw = std::fs::read(util::fixture("eml/real/001.eml")).unwrap();
    let e = email::parse(&raw).unwrap();
    let opts = PrepareOptions {
        strip_quotes: false,
        strip_signatures: false,
        ..PrepareOptions::default()
    };
    let p = text::prepare(&e, &opts);
    assert!(p.body.contains("wrote:") && p.body.contains("Best regards"));
    assert!(p.removed.is_empty());
}
