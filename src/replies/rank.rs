//! Ranking the library's paragraphs against one message: the category fit (the highest
//! probability the message's `category` decision gives any of the paragraph's categories, so
//! that a paragraph for many categories is not favoured over one for exactly this one) filters
//! and weighs; the encoder's cosine between the message and the paragraph (its title, the kind of
//! message it answers and its text, embedded once when the library is loaded) orders within it.

use serde::Serialize;

use crate::summarize::facts::KeyFact;

use super::fill::{fill, render, Part};
use super::library::Library;
use super::RepliesError;

/// A library with its paragraphs' embeddings: what ranks and fills.
#[derive(Debug, Clone)]
pub struct Ranker {
    library: Library,
    sha256: String,
    embeddings: Vec<Vec<f32>>,
}

/// What a message brings to the ranking.
#[derive(Debug, Clone, Copy)]
pub struct RankInput<'a> {
    /// Every label of the `category` axis with its probability (`None`: no category decision;
    /// every paragraph fits).
    pub category: Option<&'a [(String, f32)]>,
    /// The message's embedding (`None`: category fit alone).
    pub embedding: Option<&'a [f32]>,
    /// The message's key facts, in record order.
    pub facts: &'a [KeyFact],
}

/// One proposed paragraph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// The paragraph's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// What it was ranked by: `category_weight * category_fit + (1 - category_weight) *
    /// similarity`.
    pub score: f32,
    /// The highest probability of any of the paragraph's categories.
    pub category_fit: f32,
    /// Cosine between the message and the paragraph.
    pub similarity: Option<f32>,
    /// The filled text: an empty placeholder reads `[name]`.
    pub text: String,
    /// The text in pieces, each placeholder filled (with where in the message) or missing.
    pub parts: Vec<Part>,
}

impl Suggestion {
    /// Change each filled placeholder's text (redaction), keeping `text` in step.
    pub fn map_filled(&mut self, f: impl Fn(&str) -> String) {
        for p in &mut self.parts {
            if let Part::Filled { text, .. } = p {
                *text = f(text);
            }
        }
        self.text = render(&self.parts);
    }
}

/// The standard lines proposed for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestions {
    /// The library, `name@version`.
    pub library: String,
    /// SHA-256 of the library's canonical serialisation.
    pub sha256: String,
    /// Why none are proposed (`junk`, `auto_reply`), when so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Best first.
    pub suggestions: Vec<Suggestion>,
}

impl Ranker {
    /// A ranker over `library` with one embedding per paragraph, in library order (of
    /// [`Library::encoder_texts`]).
    pub fn new(library: Library, embeddings: Vec<Vec<f32>>) -> Result<Ranker, RepliesError> {
        if embeddings.len() != library.paragraphs.len() {
            return Err(RepliesError::Invalid(format!(
                "{} embeddings for {} paragraphs",
                embeddings.len(),
                library.paragraphs.len()
            )));
        }
        let sha256 = library.sha256();
        Ok(Ranker {
            library,
            sha256,
            embeddings,
        })
    }

    /// The library.
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// No suggestions, and why.
    pub fn skipped(&self, why: &str) -> Suggestions {
        Suggestions {
            library: self.library.id(),
            sha256: self.sha256.clone(),
            skipped: Some(why.to_string()),
            suggestions: Vec::new(),
        }
    }

    /// The best `top` paragraphs for a message (the library's `ranking.top` when `None`),
    /// filled from its facts.
    pub fn rank(&self, input: &RankInput<'_>, top: Option<usize>) -> Suggestions {
        let r = self.library.ranking;
        let mut scored: Vec<(usize, f32, f32, Option<f32>)> = self
            .library
            .paragraphs
            .iter()
            .zip(&self.embeddings)
            .enumerate()
            .filter_map(|(i, (p, e))| {
                let fit = match input.category {
                    Some(probs) => probs
                        .iter()
                        .filter(|(l, _)| p.categories.contains(l))
                        .map(|(_, v)| *v)
                        .fold(0.0, f32::max),
                    None => 1.0,
                };
                if fit < r.min_category_fit {
                    return None;
                }
                let sim = input.embedding.map(|m| cosine(m, e));
                let score = match sim {
                    Some(s) => r.category_weight * fit + (1.0 - r.category_weight) * s,
                    None => fit,
                };
                Some((i, score, fit, sim))
            })
            .collect();
        // Best first; ties keep library order (the sort is stable).
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(top.unwrap_or(r.top));
        let suggestions = scored
            .into_iter()
            .map(|(i, score, category_fit, similarity)| {
                let p = &self.library.paragraphs[i];
                let parts = fill(&self.library, p, input.facts);
                Suggestion {
                    id: p.id.clone(),
                    title: p.title.clone(),
                    score,
                    category_fit,
                    similarity,
                    text: render(&parts),
                    parts,
                }
            })
            .collect();
        Suggestions {
            library: self.library.id(),
            sha256: self.sha256.clone(),
            skipped: None,
            suggestions,
        }
    }
}

impl Library {
    /// What the encoder reads of each paragraph, in library order.
    pub fn encoder_texts(&self) -> Vec<String> {
        self.paragraphs.iter().map(|p| p.encoder_text()).collect()
    }
}

/// Cosine of two embeddings (L2-normalised by the encoder, but not assumed).
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library() -> Library {
        Library::from_toml(
            "name = \"t\"\nversion = \"1\"\ntaxonomy = \"x\"\n\
             [placeholders]\nreference = { kind = \"reference\" }\n\
             [[paragraph]]\nid = \"pay\"\ntitle = \"P\"\ncategories = [\"payment\"]\ntext = \"Account {reference}.\"\n\
             [[paragraph]]\nid = \"moan\"\ntitle = \"M\"\ncategories = [\"complaint\"]\ntext = \"Sorry.\"\n\
             [[paragraph]]\nid = \"moan-pay\"\ntitle = \"MP\"\ncategories = [\"complaint\", \"payment\"]\ntext = \"Sorry about {reference}.\"\n\
             [[paragraph]]\nid = \"thanks\"\ntitle = \"T\"\ncategories = [\"feedback\"]\ntext = \"Thanks.\"\n",
        )
        .unwrap()
    }

    fn ranker() -> Ranker {
        // Four directions: the message will point mostly at "moan".
        let e = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.6, 0.8, 0.0],
            vec![0.0, 0.0, 1.0],
        ];
        Ranker::new(library(), e).unwrap()
    }

    fn probs(v: &[(&str, f32)]) -> Vec<(String, f32)> {
        v.iter().map(|(l, p)| (l.to_string(), *p)).collect()
    }

    #[test]
    fn category_fit_filters_and_the_encoder_orders() {
        let r = ranker();
        let cat = probs(&[("payment", 0.5), ("complaint", 0.48), ("feedback", 0.02)]);
        let emb = [0.0, 1.0, 0.0];
        let out = r.rank(
            &RankInput {
                category: Some(&cat),
                embedding: Some(&emb),
                facts: &[],
            },
            Some(4),
        );
        let ids: Vec<&str> = out.suggestions.iter().map(|s| s.id.as_str()).collect();
        // moan: 0.5*0.48 + 0.5*1 = 0.74; moan-pay: 0.5*max(0.5, 0.48) + 0.5*0.8 = 0.65;
        // pay: 0.5*0.5 = 0.25; thanks is below the minimum fit.
        assert_eq!(ids, ["moan", "moan-pay", "pay"]);
        assert!((out.suggestions[0].score - 0.74).abs() < 1e-5);
        assert!((out.suggestions[1].category_fit - 0.5).abs() < 1e-6);
        assert_eq!(out.suggestions[0].similarity, Some(1.0));
        assert_eq!(out.suggestions[1].text, "Sorry about [reference].");
        assert_eq!(
            r.rank(
                &RankInput {
                    category: Some(&cat),
                    embedding: Some(&emb),
                    facts: &[]
                },
                None
            )
            .suggestions
            .len(),
            3
        );
    }

    #[test]
    fn without_an_embedding_the_category_alone_ranks_in_library_order_on_ties() {
        let r = ranker();
        let cat = probs(&[("payment", 0.9), ("complaint", 0.1)]);
        let out = r.rank(
            &RankInput {
                category: Some(&cat),
                embedding: None,
                facts: &[],
            },
            Some(4),
        );
        let ids: Vec<&str> = out.suggestions.iter().map(|s| s.id.as_str()).collect();
        // pay and moan-pay tie at 0.9: library order.
        assert_eq!(ids, ["pay", "moan-pay", "moan"]);
        assert_eq!(out.suggestions[1].similarity, None);
    }

    #[test]
    fn embeddings_must_match_the_paragraphs() {
        let e = Ranker::new(library(), vec![vec![1.0]])
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 embeddings for 4 paragraphs"), "{e}");
    }
}
