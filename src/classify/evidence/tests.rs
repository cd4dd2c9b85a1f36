//! Detector tests on synthetic messages written for them; reference day Monday 13 May 2024.

use jiff::civil::date;

use super::*;
use crate::text::dates::ReferenceSource;

fn reference() -> Reference {
    Reference::new(date(2024, 5, 13), ReferenceSource::DateHeader)
}

fn run(subject: &str, body: &str) -> EvidenceSummary {
    let s = detect(&EvidenceInput {
        subject: (!subject.is_empty()).then_some(subject),
        body,
        reference: reference(),
    });
    for e in &s.evidence {
        let text = if e.field == Field::Subject {
            subject
        } else {
            body
        };
        assert_eq!(&text[e.span.clone()], e.text, "span must point at its text");
    }
    s
}

/// The (kind, detail) pairs found in a body.
fn found(body: &str) -> Vec<(EvidenceKind, String)> {
    run("", body)
        .evidence
        .into_iter()
        .map(|e| (e.kind, e.detail))
        .collect()
}

fn has(body: &str, kind: EvidenceKind) -> bool {
    found(body).iter().any(|(k, _)| *k == kind)
}

#[test]
fn no_heating_for_an_elderly_mother_is_urgent() {
    let s = run(
        "URGENT - no heating or hot water at 14 Larch Close",
        "My mother, who is 84, has had no heating since Saturday. She has a heart condition. \
         Please can someone come out today.",
    );
    assert!(s.urgent);
    assert!(s.kinds.contains(&EvidenceKind::Danger));
    assert!(s.kinds.contains(&EvidenceKind::Vulnerability));
    let subject_hit = s
        .evidence
        .iter()
        .find(|e| e.field == Field::Subject)
        .unwrap();
    assert_eq!(subject_hit.text, "no heating");
    let details: Vec<&str> = s.evidence.iter().map(|e| e.detail.as_str()).collect();
    assert!(
        details.contains(&"elderly") && details.contains(&"illness"),
        "{details:?}"
    );
    assert!(s.line().starts_with("urgent: "), "{}", s.line());
}

#[test]
fn injuries_that_happened_count_and_imagined_ones_do_not() {
    for body in [
        "I tripped over the raised slab on Monday and fractured my knee.",
        "My friend fell on the loose paving and has broken a bone in each hand.",
        "A pedestrian fell after slipping on the loose stones.",
        "Many people have tripped over it.",
        "I was knocked off my bike by the pothole.",
        "She was taken to hospital after the fall.",
    ] {
        assert!(has(body, EvidenceKind::Danger), "{body}");
        assert!(run("", body).urgent, "{body}");
    }
    for body in [
        "Someone could fall and be injured.",
        "It is only a matter of time before somebody is seriously injured.",
        "This is an accident waiting to happen.",
        "The slab is a trip hazard and dangerous.",
        "Children might trip over it on the way to school.",
        "It could cause an injury to a cyclist.",
        "Nobody was hurt, thankfully.",
        "The fence has fallen into disrepair.",
        "I fell behind with my payments.",
        "The street lights are broken again.",
        "There is no danger to anyone.",
    ] {
        let s = run("", body);
        assert!(
            !s.evidence.iter().any(|e| e.kind == EvidenceKind::Danger),
            "{body}: {:#?}",
            s.evidence
        );
    }
    // Generic hazard words are a feature, not evidence.
    let s = run(
        "Dangerous pothole",
        "This is dangerous, please fix it urgently.",
    );
    assert!(s.evidence.is_empty() && !s.urgent);
    assert_eq!(s.generic_hazards, 3);
}

#[test]
fn specific_dangers() {
    let cases = [
        ("I can smell gas outside the flats.", "gas"),
        (
            "There are exposed wires hanging from the lamp post.",
            "electrics",
        ),
        (
            "The branches are now resting on electricity/telephone wires.",
            "electrics",
        ),
        (
            "Water is pouring through the ceiling into the electrics.",
            "flooding indoors",
        ),
        ("The edge of the road has collapsed.", "collapse"),
        ("A sinkhole has opened in the pavement.", "collapse"),
        (
            "The manhole cover is missing outside number 4.",
            "cover missing",
        ),
        ("A huge dead branch is about to snap off.", "falling tree"),
        ("Daily near misses at this junction.", "near miss"),
        (
            "Our boiler has stopped working and we have a newborn.",
            "no heating or water",
        ),
    ];
    for (body, detail) in cases {
        let f = found(body);
        assert!(
            f.iter()
                .any(|(k, d)| *k == EvidenceKind::Danger && d == detail),
            "{body}: {f:?}"
        );
    }
    assert!(!has(
        "There is no gas leak, the engineer checked.",
        EvidenceKind::Danger
    ));
    assert!(!has(
        "Cars are not giving way at the junction.",
        EvidenceKind::Danger
    ));
}

#[test]
fn road_defects_need_a_fast_road_or_no_way_round() {
    assert!(run("Pothole", "It is on the bend and you cannot avoid it.").urgent);
    assert!(run("", "Deep pothole on the M5 slip road at junction 11a.").urgent);
    assert!(run("", "A crater in the lane, I hit it at 50mph.").urgent);
    // "Unavoidable" without a road defect is something else.
    assert!(!run("", "The delay was unavoidable, I understand.").urgent);
    // A pothole on a quiet road is routine.
    assert!(
        !run(
            "Pothole",
            "There is a pothole outside number 12 on Elm Road."
        )
        .urgent
    );
}

#[test]
fn legal_action_under_way_or_threatened() {
    for body in [
        "The bank has started foreclosure on my home.",
        "My car was repossessed last week.",
        "This account is in litigation and must be deleted.",
        "They filed a lawsuit against me in county court.",
        "The landlord is evicting us next month.",
        "Bailiffs came to the door this morning.",
        "A judgment was entered against me for a debt I do not owe.",
        "I am in bankruptcy and they still call me.",
    ] {
        let s = run("", body);
        assert!(
            s.kinds.contains(&EvidenceKind::Legal) && s.urgent,
            "{body}: {s:#?}"
        );
    }
    let s = run(
        "",
        "If this is not resolved I am prepared to take legal action.",
    );
    assert!(s.kinds.contains(&EvidenceKind::Legal));
    assert!(!s.urgent, "a threat alone is weak");
    for body in [
        "He lives at 6 Rowan Court.",
        "The tennis court nets are torn.",
        "In my judgement the repair was poor.",
        "I do not want to take legal action.",
        "My hearing aid battery is flat.",
    ] {
        assert!(!has(body, EvidenceKind::Legal), "{body}");
    }
}

#[test]
fn vulnerable_people_and_topics_that_are_not() {
    for (body, detail) in [
        ("My neighbour is elderly and lives alone.", "elderly"),
        (
            "We cannot take my grandfather out in his wheelchair.",
            "disabled",
        ),
        ("Three of them are registered disabled.", "disabled"),
        ("Dangerous situation for two 75 year olds.", "elderly"),
        ("My Mum (81) cannot walk to the bus stop.", "elderly"),
        ("I am pregnant and the flat is damp.", "pregnant"),
        ("My husband has dementia.", "illness"),
        ("My little boy fell down the hole.", "child"),
        ("I am his full-time carer.", "carer"),
    ] {
        let f = found(body);
        assert!(
            f.iter()
                .any(|(k, d)| *k == EvidenceKind::Vulnerability && d == detail),
            "{body}: {f:?}"
        );
    }
    for body in [
        "I am writing about my child benefit payment.",
        "The disabled parking bay is always taken.",
        "Cars speed round the blind bend.",
        "The pavement is 80 metres long and she is 90 metres away.",
        "My account was disabled without notice.",
        "I have lived here since I was a child.",
        "The baby swings in the park are broken.",
        "Walk to Benhall Infant School.",
    ] {
        assert!(
            !has(body, EvidenceKind::Vulnerability),
            "{body}: {:?}",
            found(body)
        );
    }
}

#[test]
fn distress_threats_self_harm_and_hardship() {
    assert!(run("", "This has caused me considerable distress.").urgent);
    assert!(run("", "I can't cope with this any more.").urgent);
    let s = run("", "I am so worried about it.");
    assert!(s.kinds == vec![EvidenceKind::Distress] && !s.urgent);
    assert!(run("", "The collector keeps harassing me with calls.")
        .kinds
        .contains(&EvidenceKind::Threat));
    assert!(run("", "My ex threatened to kill me.").urgent);
    assert!(!has("Violent storms are forecast.", EvidenceKind::Threat));
    let s = run("", "Some days I feel like I want to end my life.");
    assert!(s.kinds.contains(&EvidenceKind::SelfHarm) && s.urgent);
    let s = run("", "They froze my account and I can't pay my rent.");
    assert!(s.kinds.contains(&EvidenceKind::Hardship) && s.urgent);
    assert!(run("", "I lost my job and was evicted.").urgent);
    assert!(run("", "The bank placed a hard hold on my funds.").urgent);
    // Closing an account is weak on its own.
    assert!(!run("", "They closed my credit card account.").urgent);
}

#[test]
fn near_deadlines_only() {
    let s = run("", "Please reply by Friday or the application lapses.");
    let d = s
        .evidence
        .iter()
        .find(|e| e.kind == EvidenceKind::Deadline)
        .unwrap();
    assert_eq!((d.text.as_str(), d.strong), ("by Friday", true));
    assert_eq!(d.detail, "deadline in 4 days (2024-05-17)");
    assert_eq!(s.nearest_deadline_days, Some(4));
    let s = run("", "I must pay the full amount within 7 days.");
    assert_eq!(s.nearest_deadline_days, Some(7));
    assert!(!s.urgent, "a week away is weak");
    assert!(run("", "We need it by close of business tomorrow.").urgent);
    // Far, past, statutory or not a deadline.
    for body in [
        "Please reply by 30 June.",
        "It was due on 2 May.",
        "I look forward to your response within 5 business days, as the statute requires.",
        "I will be at home tomorrow.",
        "I am out of the office until Friday.",
    ] {
        assert!(!has(body, EvidenceKind::Deadline), "{body}");
    }
}

#[test]
fn features_and_line() {
    let s = run(
        "",
        "The bank started foreclosure. I am in tears. Reply by tomorrow.",
    );
    let f = s.features();
    assert_eq!(f.len(), FEATURE_NAMES.len());
    assert!(f[0] > 0.0 && f[1] > 0.0 && f[4] > 0.0 && f[11] == 1.0);
    assert!(f[13] > 0.9);
    let empty = run("Bin collection", "My bin was missed on Tuesday.");
    assert!(empty.evidence.is_empty() && empty.features().iter().all(|x| *x == 0.0));
    assert_eq!(empty.line(), "no urgency evidence");
    // Nothing panics on odd text.
    for body in ["", "é", "by", "no", "\u{0}", "(((", "fell"] {
        let _ = run(body, body);
    }
}
