//! The "Suggested standard lines" panel: in process, a record the real engine made for an
//! example message shows its suggestions on the message page (filled words marked, empty
//! placeholders visible, the text in a box to edit, the copy button hidden without script); in
//! the browser (called from `browser.rs` on the triaged example inbox) the panel matches the
//! record and the script shows the copy button.

use fantoccini::{Client, Locator};
use mailroom::pipeline::{EngineBuilder, Method, ModelSpec, Output};

use super::{get, Local};
use crate::store::{message, Msg};

#[test]
fn the_message_page_shows_the_records_standard_lines() {
    crate::util::store();
    let engine = EngineBuilder::new(ModelSpec {
        models_dir: crate::util::root().join("models"),
        ..ModelSpec::default()
    })
    .summary(Some(Method::Lead))
    .build()
    .unwrap();
    let path = crate::util::root().join("examples/inbox/02-council-tax-arrears.eml");
    let m = mailroom::pipeline::read_inputs(&[path], &Default::default())
        .next()
        .unwrap();
    let Output::Record(r) = engine.triage(vec![m]).pop().unwrap() else {
        panic!("the example triages")
    };
    let replies = r.replies.clone().expect("replies");
    assert!(!replies.suggestions.is_empty());
    let record_json = serde_json::to_string(&r).unwrap();
    crate::desk::run(async move {
        let l = Local::new(false).await;
        let mut n = message(0, Msg::default());
        n.record_json = record_json;
        let id = l.store.put(&n).await.unwrap().id();
        let ann = l.login("ann").await;
        let page = l
            .send(get(&format!("/messages/{id}"), Some(&ann.cookie)))
            .await
            .text();
        assert!(page.contains("Suggested standard lines"), "{page}");
        assert!(page.contains("Nothing is sent from here"));
        for (i, s) in replies.suggestions.iter().enumerate() {
            assert!(page.contains(&format!("data-reply=\"{}\"", s.id)));
            let escaped = maud::html! { (s.text) }.into_string();
            let open = format!(
                "<textarea id=\"reply-{}\" rows=\"7\" spellcheck=\"true\">",
                i + 1
            );
            assert!(
                page.contains(&format!("{open}{escaped}</textarea>")),
                "suggestion {} is not in its text box",
                s.id
            );
            assert!(page.contains(&format!(
                "<button type=\"button\" hidden data-copy=\"reply-{}\">",
                i + 1
            )));
            for p in &s.parts {
                match p {
                    mailroom::pipeline::ReplyPart::Filled {
                        placeholder, text, ..
                    } => {
                        let t = maud::html! { (text) }.into_string();
                        assert!(page.contains(&format!(
                            "<mark class=\"fact filled\" title=\"{placeholder}\">{t}</mark>"
                        )));
                    }
                    mailroom::pipeline::ReplyPart::Missing { placeholder } => {
                        assert!(page.contains(&format!(
                            "title=\"not found in this message\">[{placeholder}]</span>"
                        )));
                    }
                    _ => {}
                }
            }
        }
        assert!(
            replies
                .suggestions
                .iter()
                .flat_map(|s| &s.parts)
                .any(|p| matches!(p, mailroom::pipeline::ReplyPart::Filled { .. })),
            "the arrears message fills at least one placeholder"
        );
    });
}

/// On an open message page of the browser: the panel shows the record's suggestions, each in a
/// text box holding its text, with the copy button the script made visible.
pub async fn shown_in_browser(c: &Client, record: &serde_json::Value) {
    let Some(suggestions) = record["replies"]["suggestions"].as_array() else {
        panic!("the desk's engine writes replies into the record: {record}")
    };
    assert!(!suggestions.is_empty() && suggestions.len() <= 3);
    let articles = c
        .find_all(Locator::Css("#replies article.reply"))
        .await
        .unwrap();
    assert_eq!(articles.len(), suggestions.len());
    for (i, s) in suggestions.iter().enumerate() {
        let boxed = c
            .find(Locator::Css(&format!("#reply-{}", i + 1)))
            .await
            .unwrap();
        let value = boxed.prop("value").await.unwrap().unwrap_or_default();
        assert_eq!(value, s["text"].as_str().unwrap());
        let button = c
            .find(Locator::Css(&format!("button[data-copy=reply-{}]", i + 1)))
            .await
            .unwrap();
        assert!(
            button.is_displayed().await.unwrap(),
            "the script shows the copy button"
        );
    }
}
