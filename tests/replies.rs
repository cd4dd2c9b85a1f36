//! Standard lines for replies on the example inbox, with the real encoder and default heads:
//! every placeholder the suggestions fill is a key fact the extractor found in that message
//! (same kind, text, source and span) and its words are in the message; every placeholder not
//! filled stays visibly empty; junk gets none. And the command line's library flags.

use std::collections::BTreeSet;

use mailroom::pipeline::inspect::{inspect, InspectOptions};
use mailroom::pipeline::{
    read_inputs, EngineBuilder, Method, ModelSpec, Output, ReplyPart, SourceOptions,
};

use crate::util::{mailroom, root};

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every text of the message a key fact may come from, whitespace squashed.
fn message_texts(m: &mailroom::pipeline::Message) -> Vec<String> {
    let i = inspect(m, &InspectOptions::default()).expect("example parses");
    let mut texts = vec![
        i.email.subject.clone().unwrap_or_default(),
        i.email.body.clone(),
        i.prepared.body.clone(),
        i.email
            .from
            .as_ref()
            .map(|f| f.to_string())
            .unwrap_or_default(),
    ];
    texts.extend(i.prepared.removed.iter().map(|r| r.text.clone()));
    texts.extend(i.email.attachments.iter().filter_map(|a| a.name.clone()));
    texts.iter().map(|t| squash(t)).collect()
}

#[test]
fn every_filled_placeholder_on_the_example_inbox_is_a_key_fact_of_the_message() {
    crate::util::store();
    let engine = EngineBuilder::new(ModelSpec {
        models_dir: root().join("models"),
        ..ModelSpec::default()
    })
    .summary(Some(Method::Lead))
    .now("2024-05-20T09:00:00Z".parse().unwrap())
    .build()
    .unwrap();
    let lib = engine
        .replies_library()
        .expect("the example library loads by default");
    assert_eq!(lib.id(), "public-service-replies@1.0.0");
    let messages: Vec<_> =
        read_inputs(&[root().join("examples/inbox")], &SourceOptions::default()).collect();
    assert_eq!(messages.len(), 20);
    let (mut filled, mut missing, mut suggested) = (0, 0, 0);
    let mut skipped = BTreeSet::new();
    for m in messages {
        let texts = message_texts(&m);
        let id = m.id.clone();
        let out = engine.triage(vec![m]).pop().unwrap();
        let Output::Record(r) = out else {
            panic!("{id}: {out:?}")
        };
        let replies = r.replies.as_ref().expect("every record has replies");
        if let Some(why) = &replies.skipped {
            skipped.insert((r.source.path.clone(), why.clone()));
            assert!(replies.suggestions.is_empty());
            continue;
        }
        assert!(!replies.suggestions.is_empty(), "{}: no suggestions", r.id);
        assert!(replies.suggestions.len() <= 3);
        for s in &replies.suggestions {
            suggested += 1;
            let mut rendered = String::new();
            for p in &s.parts {
                match p {
                    ReplyPart::Filled {
                        placeholder,
                        text,
                        source,
                        span,
                    } => {
                        filled += 1;
                        let spec = lib.placeholders[placeholder];
                        let fact = r
                            .key_facts
                            .iter()
                            .find(|f| f.text == *text && f.source == *source && f.span == *span);
                        let fact = fact.unwrap_or_else(|| {
                            panic!("{}: {{{placeholder}}} = {text:?} is no key fact", r.id)
                        });
                        assert_eq!(fact.kind, spec.kind, "{}: {{{placeholder}}}", r.id);
                        if let Some(role) = spec.role {
                            assert_eq!(fact.role, Some(role), "{}: {{{placeholder}}}", r.id);
                        }
                        let words = squash(text);
                        assert!(
                            texts.iter().any(|t| t.contains(&words)),
                            "{}: {{{placeholder}}} = {text:?} is not in the message",
                            r.id
                        );
                        rendered.push_str(text);
                    }
                    ReplyPart::Missing { placeholder } => {
                        missing += 1;
                        let kind = lib.placeholders[placeholder].kind;
                        // Empty only when the message truly has no fact to fill it with.
                        assert!(
                            !r.key_facts.iter().any(|f| f.kind == kind
                                && lib.placeholders[placeholder]
                                    .role
                                    .is_none_or(|role| f.role == Some(role))),
                            "{}: {{{placeholder}}} left empty though the message has one",
                            r.id
                        );
                        rendered.push_str(&format!("[{placeholder}]"));
                    }
                    ReplyPart::Text { text } => rendered.push_str(text),
                }
            }
            assert_eq!(rendered, s.text, "{}: the text is its parts", r.id);
            assert!(!s.text.contains('{') && !s.text.contains('}'), "{}", s.text);
        }
    }
    eprintln!("{suggested} suggestions, {filled} placeholders filled, {missing} left empty");
    assert!(filled >= 20, "only {filled} placeholders filled");
    assert!(missing > 0);
    let skipped_ids: Vec<&str> = skipped.iter().map(|(id, _)| id.as_str()).collect();
    for junk in ["05-phishing-mailbox", "06-spam-offer", "08-auto-reply"] {
        assert!(
            skipped_ids.iter().any(|id| id.contains(junk)),
            "{junk} got suggestions: {skipped:?}"
        );
    }
}

#[test]
fn the_command_line_takes_a_library_and_says_what_is_wrong_with_one() {
    crate::util::store();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let src = mailroom::replies::library::DEFAULT_TOML.replace("{reference}", "{refernce}");
    std::fs::write(&bad, src).unwrap();
    let eml = root().join("examples/inbox/02-council-tax-arrears.eml");
    let eml = eml.to_str().unwrap();
    let out = mailroom(&[
        "triage",
        "--summary",
        "lead",
        "--replies-library",
        bad.to_str().unwrap(),
        eml,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown placeholder {refernce}"), "{err}");
    assert!(err.contains("bad.toml"), "{err}");

    let out = mailroom(&["triage", "--summary", "lead", eml]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["replies"]["library"], "public-service-replies@1.0.0");
    let first = &v["replies"]["suggestions"][0];
    assert!(first["text"].as_str().unwrap().len() > 50, "{v}");

    let out = mailroom(&["triage", "--summary", "lead", "--no-replies", eml]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.get("replies").is_none());
}
