//! Filling a paragraph's placeholders from one message's key facts. A placeholder takes the
//! text of the first key fact of its kind (and role) found in this message, word for word, with
//! where it was found; with no such fact it stays visibly empty (`[name]`). Nothing is ever
//! made up: the only words put into a paragraph are spans of the message.

use std::ops::Range;

use serde::Serialize;

use crate::summarize::facts::{KeyFact, Source};

use super::library::{Library, Paragraph, Segment};

/// A piece of a filled paragraph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Part {
    /// The library's own words.
    Text {
        /// The words.
        text: String,
    },
    /// A placeholder filled with a key fact of this message.
    Filled {
        /// The placeholder's name.
        placeholder: String,
        /// The fact's text, as in the message.
        text: String,
        /// Which text of the message the fact is in.
        source: Source,
        /// Where in that text (bytes).
        span: Range<usize>,
    },
    /// A placeholder this message has no fact for: it stays visibly empty.
    Missing {
        /// The placeholder's name.
        placeholder: String,
    },
}

impl Part {
    /// The part as it reads in the reply: an empty placeholder reads `[name]`.
    pub fn render(&self) -> String {
        match self {
            Part::Text { text } | Part::Filled { text, .. } => text.clone(),
            Part::Missing { placeholder } => format!("[{placeholder}]"),
        }
    }
}

/// `paragraph` with its placeholders filled from `facts` (a message's key facts, in record
/// order).
pub fn fill(library: &Library, paragraph: &Paragraph, facts: &[KeyFact]) -> Vec<Part> {
    paragraph
        .segments()
        .into_iter()
        .map(|s| match s {
            Segment::Text(text) => Part::Text { text },
            Segment::Slot(name) => {
                let found = library.placeholders.get(&name).and_then(|spec| {
                    facts.iter().find(|f| {
                        f.kind == spec.kind
                            && spec.role.is_none_or(|r| f.role == Some(r))
                            && !f.text.trim().is_empty()
                    })
                });
                match found {
                    Some(f) => Part::Filled {
                        placeholder: name,
                        text: f.text.clone(),
                        source: f.source,
                        span: f.span.clone(),
                    },
                    None => Part::Missing { placeholder: name },
                }
            }
        })
        .collect()
}

/// The parts as one text.
pub fn render(parts: &[Part]) -> String {
    parts.iter().map(Part::render).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summarize::facts::{KeyFactKind, Role};

    fn fact(kind: KeyFactKind, text: &str, role: Option<Role>) -> KeyFact {
        KeyFact {
            kind,
            source: Source::Body,
            span: 3..3 + text.len(),
            text: text.into(),
            value: None,
            role,
        }
    }

    #[test]
    fn placeholders_take_facts_of_their_kind_and_role_or_stay_empty() {
        let lib = Library::default_library();
        let p = lib
            .paragraphs
            .iter()
            .find(|p| p.id == "payment-arrangement")
            .unwrap();
        let facts = vec![
            fact(KeyFactKind::Person, "Mr Hale", Some(Role::Addressee)),
            fact(KeyFactKind::Reference, "40018832", None),
            fact(KeyFactKind::Person, "Priya Shah", Some(Role::Sender)),
        ];
        let parts = fill(&lib, p, &facts);
        let text = render(&parts);
        assert!(text.starts_with("Dear Priya Shah,"), "{text}");
        assert!(text.contains("account 40018832"), "{text}");
        assert!(text.contains("balance of [amount]"), "{text}");
        assert!(parts.contains(&Part::Missing {
            placeholder: "amount".into()
        }));
        assert!(!text.contains("Mr Hale"));
        let filled: Vec<&str> = parts
            .iter()
            .filter_map(|p| match p {
                Part::Filled { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(filled, ["Priya Shah", "40018832"]);
    }
}
