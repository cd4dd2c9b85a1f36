//! The "Suggested standard lines" panel of the message page: the paragraphs the record's
//! `replies` proposes, each shown with the words taken from this message highlighted and the
//! placeholders it has no fact for visibly empty, then in a text box the caseworker edits and
//! copies into their own mail client. Nothing is sent from here. The text box works without
//! script (select and copy); the copy button is hidden until the desk's script shows it.
//!
//! Read leniently from the record's JSON, like [`crate::desk::record`]: a record without
//! `replies` (older, or triaged without a library) shows no panel.

use maud::{html, Markup};
use serde_json::Value;

/// A piece of a suggested paragraph.
#[derive(Debug, Clone, PartialEq)]
pub enum PartView {
    /// The library's words.
    Text(String),
    /// A placeholder filled with words of the message.
    Filled {
        /// The placeholder.
        placeholder: String,
        /// The words.
        text: String,
    },
    /// A placeholder with nothing found for it.
    Missing(String),
}

/// One suggested paragraph.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionView {
    /// The paragraph's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The score it was ranked by.
    pub score: Option<f64>,
    /// The filled text (`[name]` where empty).
    pub text: String,
    /// The text in pieces.
    pub parts: Vec<PartView>,
}

/// What the record proposes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RepliesView {
    /// The library, `name@version`.
    pub library: String,
    /// Why none were proposed.
    pub skipped: Option<String>,
    /// Best first.
    pub suggestions: Vec<SuggestionView>,
}

/// The record's `replies`, when it has them.
pub fn parse(record_json: &str) -> Option<RepliesView> {
    let v: Value = serde_json::from_str(record_json).ok()?;
    let r = v.get("replies")?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let suggestions = r
        .get("suggestions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| SuggestionView {
                    id: s(x, "id"),
                    title: s(x, "title"),
                    score: x.get("score").and_then(Value::as_f64),
                    text: s(x, "text"),
                    parts: x
                        .get("parts")
                        .and_then(Value::as_array)
                        .map(|ps| ps.iter().map(part).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(RepliesView {
        library: s(r, "library"),
        skipped: r.get("skipped").and_then(Value::as_str).map(String::from),
        suggestions,
    })
}

fn part(p: &Value) -> PartView {
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match p.get("kind").and_then(Value::as_str) {
        Some("filled") => PartView::Filled {
            placeholder: s("placeholder"),
            text: s("text"),
        },
        Some("missing") => PartView::Missing(s("placeholder")),
        _ => PartView::Text(s("text")),
    }
}

fn skipped_why(why: &str) -> &str {
    match why {
        "junk" => "this message looks like junk, and junk gets no reply",
        "auto_reply" => "this message is an automatic reply",
        _ => why,
    }
}

/// The panel for a stored record (nothing when the record has no `replies`).
pub fn panel(record_json: &str) -> Markup {
    let Some(r) = parse(record_json) else {
        return html! {};
    };
    html! {
        section.card #replies aria-labelledby="replies-title" {
            h2 #replies-title { "Suggested standard lines" }
            @if let Some(why) = &r.skipped {
                p.muted { "None: " (skipped_why(why)) "." }
            } @else if r.suggestions.is_empty() {
                p.muted { "None of the library's paragraphs fits this message." }
            } @else {
                p.legend.muted {
                    "From " (r.library) ". " mark.fact.filled { "Marked" }
                    ": words taken from this message. "
                    span.missing { "[name]" } ": not found in it; fill in by hand. "
                    "Nothing is sent from here: edit the text and copy it into your own mail."
                }
                @for (i, s) in r.suggestions.iter().enumerate() {
                    @let box_id = format!("reply-{}", i + 1);
                    article.reply data-reply=(s.id) {
                        h3 { (s.title)
                            @if let Some(score) = s.score { " " span.muted { (format!("({score:.2})")) } } }
                        p.preview { @for p in &s.parts {
                            @match p {
                                PartView::Text(t) => { (t) }
                                PartView::Filled { placeholder, text } => {
                                    mark.fact.filled title=(placeholder) { (text) }
                                }
                                PartView::Missing(name) => {
                                    span.missing title="not found in this message" { "[" (name) "]" }
                                }
                            }
                        } }
                        label for=(box_id) { "Edit, then copy into your reply" }
                        textarea id=(box_id) rows="7" spellcheck="true" { (s.text) }
                        button type="button" hidden data-copy=(box_id) { "Copy" }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"id":"x","replies":{"library":"public-service-replies@1.0.0",
        "sha256":"ab","suggestions":[{"id":"payment-arrangement","title":"Setting up","score":0.61,
        "category_fit":0.9,"similarity":0.4,"text":"Dear Priya <b>, balance of [amount].",
        "parts":[{"kind":"text","text":"Dear "},{"kind":"filled","placeholder":"name",
        "text":"Priya <b>","source":{"field":"body"},"span":{"start":0,"end":5}},
        {"kind":"text","text":", balance of "},{"kind":"missing","placeholder":"amount"},
        {"kind":"text","text":"."}]}]}}"#;

    #[test]
    fn the_panel_marks_filled_and_empty_placeholders_and_escapes_the_message_words() {
        let html = panel(RECORD).into_string();
        assert!(html.contains("Suggested standard lines"));
        assert!(
            html.contains(r#"<mark class="fact filled" title="name">Priya &lt;b&gt;</mark>"#),
            "{html}"
        );
        assert!(
            html.contains(
                r#"<span class="missing" title="not found in this message">[amount]</span>"#
            ),
            "{html}"
        );
        assert!(html.contains(r#"<textarea id="reply-1" rows="7" spellcheck="true">Dear Priya &lt;b&gt;, balance of [amount].</textarea>"#), "{html}");
        assert!(
            html.contains(r#"<button type="button" hidden data-copy="reply-1">"#),
            "{html}"
        );
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn no_replies_no_panel_and_junk_says_why() {
        assert_eq!(panel(r#"{"id":"x"}"#).into_string(), "");
        let junk = r#"{"replies":{"library":"l@1","skipped":"junk","suggestions":[]}}"#;
        assert!(panel(junk).into_string().contains("junk gets no reply"));
    }
}
