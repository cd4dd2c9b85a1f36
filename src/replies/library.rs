//! The library of standard lines: approved paragraphs in TOML, named and versioned like the
//! taxonomy, each for some labels of the taxonomy's `category` axis, with `{placeholders}`
//! declared once per library and each mapped to the kind of key fact that fills it.
//!
//! [`Library::from_toml`] parses and validates (ids unique, every placeholder declared, braces
//! balanced); [`Library::check_taxonomy`] checks the paragraphs' categories against the labels
//! of the taxonomy in use. The library is identified in records by `name@version` and the
//! SHA-256 of its canonical serialisation.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::summarize::facts::{KeyFactKind, Role};

use super::RepliesError;

/// The example library for the default taxonomy's TOML source.
pub const DEFAULT_TOML: &str = include_str!("../../taxonomy/replies/public-service.toml");

/// What fills a placeholder: a key fact of this kind (and, for people, this role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceholderSpec {
    /// The kind of key fact.
    pub kind: KeyFactKind,
    /// For `person`: the part the person plays (any, when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// How suggestions are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ranking {
    /// Weight of the category fit in the score; the encoder's cosine has `1 - category_weight`.
    #[serde(default = "default_category_weight")]
    pub category_weight: f32,
    /// Paragraphs none of whose categories has at least this probability are not proposed.
    #[serde(default = "default_min_category_fit")]
    pub min_category_fit: f32,
    /// How many paragraphs a message gets.
    #[serde(default = "default_top")]
    pub top: usize,
}

fn default_category_weight() -> f32 {
    0.5
}
fn default_min_category_fit() -> f32 {
    0.05
}
fn default_top() -> usize {
    3
}

impl Default for Ranking {
    fn default() -> Self {
        Ranking {
            category_weight: default_category_weight(),
            min_category_fit: default_min_category_fit(),
            top: default_top(),
        }
    }
}

/// One approved paragraph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paragraph {
    /// Stable id (lower case, digits, `-`, `_`).
    pub id: String,
    /// A title for people.
    pub title: String,
    /// Labels of the taxonomy's `category` axis it answers.
    pub categories: Vec<String>,
    /// The kind of message it answers, in a sentence (read by the encoder, with the title).
    #[serde(default)]
    pub when: String,
    /// The text, with `{placeholders}`.
    pub text: String,
}

/// A piece of a paragraph's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text.
    Text(String),
    /// A placeholder, by name.
    Slot(String),
}

/// A library of standard lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Library {
    /// Name.
    pub name: String,
    /// Version, recorded with every suggestion.
    pub version: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The name of the taxonomy whose `category` labels the paragraphs name.
    pub taxonomy: String,
    /// Placeholder name to what fills it.
    pub placeholders: BTreeMap<String, PlaceholderSpec>,
    /// How suggestions are ranked.
    #[serde(default)]
    pub ranking: Ranking,
    /// The paragraphs, in library order.
    #[serde(rename = "paragraph")]
    pub paragraphs: Vec<Paragraph>,
}

impl Library {
    /// Parse and validate a library from TOML.
    pub fn from_toml(src: &str) -> Result<Library, RepliesError> {
        let lib: Library = toml::from_str(src).map_err(|e| RepliesError::Parse(e.to_string()))?;
        lib.validate()?;
        Ok(lib)
    }

    /// Read a library file.
    pub fn load(path: &Path) -> Result<Library, RepliesError> {
        let src = std::fs::read_to_string(path).map_err(|source| RepliesError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Library::from_toml(&src).map_err(|e| RepliesError::File {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// The example library for the default taxonomy.
    pub fn default_library() -> Library {
        // A unit test checks the shipped file parses, so this cannot fail in a release.
        Library::from_toml(DEFAULT_TOML).unwrap_or_else(|e| panic!("default replies library: {e}"))
    }

    /// `name@version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// SHA-256 (hex) of its canonical TOML serialisation.
    pub fn sha256(&self) -> String {
        let canonical = toml::to_string(self).unwrap_or_default();
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }

    /// Check that the library is for the taxonomy `name` and that every paragraph's categories
    /// are labels of its `category` axis (`labels`).
    pub fn check_taxonomy(&self, name: &str, labels: &[String]) -> Result<(), RepliesError> {
        if self.taxonomy != name {
            return Err(RepliesError::Invalid(format!(
                "library {} is for the taxonomy {}, not {name}",
                self.id(),
                self.taxonomy
            )));
        }
        for p in &self.paragraphs {
            for c in &p.categories {
                if !labels.contains(c) {
                    return Err(RepliesError::Invalid(format!(
                        "paragraph {}: unknown category {c} (the category labels of {name} are: {})",
                        p.id,
                        labels.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), RepliesError> {
        let bad = |m: String| Err(RepliesError::Invalid(m));
        if self.paragraphs.is_empty() {
            return bad("no paragraphs".into());
        }
        let r = &self.ranking;
        if !(0.0..=1.0).contains(&r.category_weight) || !(0.0..=1.0).contains(&r.min_category_fit) {
            return bad("ranking: category_weight and min_category_fit must be in [0, 1]".into());
        }
        if r.top == 0 {
            return bad("ranking: top must be at least 1".into());
        }
        for (name, spec) in &self.placeholders {
            if !valid_name(name) {
                return bad(format!(
                    "placeholder {name}: names are lower case letters, digits and _"
                ));
            }
            if spec.role.is_some() && spec.kind != KeyFactKind::Person {
                return bad(format!("placeholder {name}: only a person has a role"));
            }
        }
        for (i, p) in self.paragraphs.iter().enumerate() {
            if !valid_id(&p.id) {
                return bad(format!(
                    "paragraph {:?}: ids are lower case letters, digits, - and _",
                    p.id
                ));
            }
            if self.paragraphs[..i].iter().any(|q| q.id == p.id) {
                return bad(format!("paragraph {} twice", p.id));
            }
            if p.categories.is_empty() {
                return bad(format!("paragraph {}: no categories", p.id));
            }
            if p.text.trim().is_empty() {
                return bad(format!("paragraph {}: empty text", p.id));
            }
            let segments = segments(&p.text)
                .map_err(|m| RepliesError::Invalid(format!("paragraph {}: {m}", p.id)))?;
            for s in segments {
                if let Segment::Slot(name) = s {
                    if !self.placeholders.contains_key(&name) {
                        let known: Vec<&str> =
                            self.placeholders.keys().map(String::as_str).collect();
                        return bad(format!(
                            "paragraph {}: unknown placeholder {{{name}}} (declared: {})",
                            p.id,
                            known.join(", ")
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Paragraph {
    /// The text in pieces: literal text and placeholders (validated when the library loaded).
    pub fn segments(&self) -> Vec<Segment> {
        segments(&self.text).unwrap_or_else(|_| vec![Segment::Text(self.text.clone())])
    }

    /// What the encoder reads of it: the title, the kind of message it answers, and the text
    /// with each placeholder as its name.
    pub fn encoder_text(&self) -> String {
        let plain: String = self
            .segments()
            .into_iter()
            .map(|s| match s {
                Segment::Text(t) => t,
                Segment::Slot(n) => n,
            })
            .collect();
        format!("{}. {}\n\n{}", self.title, self.when, plain)
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Split a text into literal pieces and `{placeholder}`s; a brace that opens no placeholder or
/// closes none is an error (so that a typo never reaches a reply as literal braces).
fn segments(text: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(format!(
                "a '}}' without its '{{' near {:?}",
                near(rest, open)
            ));
        }
        let Some(len) = rest[open + 1..].find(['{', '}']) else {
            return Err(format!(
                "a '{{' without its '}}' near {:?}",
                near(rest, open)
            ));
        };
        let close = open + 1 + len;
        if !rest[close..].starts_with('}') {
            return Err(format!(
                "a '{{' without its '}}' near {:?}",
                near(rest, open)
            ));
        }
        let name = &rest[open + 1..close];
        if !valid_name(name) {
            return Err(format!(
                "placeholder {{{name}}}: names are lower case letters, digits and _"
            ));
        }
        if open > 0 {
            out.push(Segment::Text(rest[..open].to_string()));
        }
        out.push(Segment::Slot(name.to_string()));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest.to_string()));
    }
    Ok(out)
}

fn near(s: &str, at: usize) -> String {
    s[at..].chars().take(24).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib(paragraph: &str) -> String {
        format!(
            "name = \"t\"\nversion = \"1\"\ntaxonomy = \"public-service\"\n\
             [placeholders]\nname = {{ kind = \"person\", role = \"sender\" }}\n\
             reference = {{ kind = \"reference\" }}\n\
             [[paragraph]]\n{paragraph}\n"
        )
    }

    fn error(src: &str) -> String {
        Library::from_toml(src).unwrap_err().to_string()
    }

    #[test]
    fn the_example_library_parses_and_fits_the_default_taxonomy() {
        let l = Library::default_library();
        assert_eq!(l.id(), "public-service-replies@1.0.0");
        assert!(l.paragraphs.len() >= 20);
        let labels: Vec<String> = [
            "complaint",
            "information_request",
            "case_update",
            "payment_or_debt",
            "appointment_or_meeting",
            "application",
            "feedback",
            "other",
        ]
        .map(String::from)
        .to_vec();
        l.check_taxonomy("public-service", &labels).unwrap();
        for label in &labels {
            let n = l
                .paragraphs
                .iter()
                .filter(|p| p.categories.contains(label))
                .count();
            assert!(n >= 2, "{label} has {n} paragraphs");
        }
        toml::to_string(&l).expect("the library serialises");
        assert_eq!(l.sha256(), Library::default_library().sha256());
    }

    #[test]
    fn an_unknown_placeholder_is_named_with_the_declared_ones() {
        let e = error(&lib(
            "id = \"a\"\ntitle = \"A\"\ncategories = [\"complaint\"]\ntext = \"Dear {nmae}\"",
        ));
        assert!(e.contains("paragraph a: unknown placeholder {nmae}"), "{e}");
        assert!(e.contains("declared: name, reference"), "{e}");
    }

    #[test]
    fn an_unknown_category_is_named_with_the_taxonomy_labels() {
        let l = Library::from_toml(&lib(
            "id = \"a\"\ntitle = \"A\"\ncategories = [\"compliant\"]\ntext = \"Dear {name}\"",
        ))
        .unwrap();
        let labels = vec!["complaint".to_string(), "other".to_string()];
        let e = l
            .check_taxonomy("public-service", &labels)
            .unwrap_err()
            .to_string();
        assert!(e.contains("paragraph a: unknown category compliant"), "{e}");
        assert!(e.contains("complaint, other"), "{e}");
        let e = l
            .check_taxonomy("housing", &labels)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is for the taxonomy public-service, not housing"),
            "{e}"
        );
    }

    #[test]
    fn unbalanced_braces_duplicate_ids_and_bad_kinds_are_errors() {
        let e = error(&lib(
            "id = \"a\"\ntitle = \"A\"\ncategories = [\"other\"]\ntext = \"Dear {name\"",
        ));
        assert!(e.contains("without its '}'"), "{e}");
        let e = error(&lib(
            "id = \"a\"\ntitle = \"A\"\ncategories = [\"other\"]\ntext = \"a } b\"",
        ));
        assert!(e.contains("without its '{'"), "{e}");
        let two = "id = \"a\"\ntitle = \"A\"\ncategories = [\"other\"]\ntext = \"x\"\n\
                   [[paragraph]]\nid = \"a\"\ntitle = \"B\"\ncategories = [\"other\"]\ntext = \"y\"";
        assert!(error(&lib(two)).contains("paragraph a twice"));
        let kind = lib("id = \"a\"\ntitle = \"A\"\ncategories = [\"other\"]\ntext = \"x\"")
            .replace("kind = \"reference\"", "kind = \"shoe_size\"");
        assert!(error(&kind).contains("shoe_size"), "{}", error(&kind));
    }

    #[test]
    fn segments_split_text_and_placeholders() {
        assert_eq!(
            segments("Dear {name}, ref {reference}.").unwrap(),
            vec![
                Segment::Text("Dear ".into()),
                Segment::Slot("name".into()),
                Segment::Text(", ref ".into()),
                Segment::Slot("reference".into()),
                Segment::Text(".".into()),
            ]
        );
    }
}
