//! Classification: the taxonomy, zero-shot decisions over encoder embeddings, trained heads
//! (logistic regression over TF-IDF, embeddings and structure features, temperature-calibrated)
//! and the review rule. Fitting heads and scoring them live in [`crate::learn`].
//!
//! This module decides labels from a [`Document`] (the prepared subject and body plus a few
//! structure signals, built by the pipeline) and, where needed, its encoder embedding. It does
//! not parse mail, run the encoder itself (it takes anything that implements [`Embed`]), print,
//! or read the environment.
//!
//! ```text
//! Document + embedding ──► ZeroShot (taxonomy axes)  ─┐
//!                      └─► Head (trained axes)       ─┴─► Classifier ──► Vec<AxisResult>
//! ```

use std::path::PathBuf;

use serde::{Serialize, Serializer};
use thiserror::Error;

pub mod calibrate;
pub mod cues;
pub mod evidence;
pub mod features;
pub mod head;
pub mod logreg;
pub mod review;
pub mod shape;
pub mod taxonomy;
pub mod zeroshot;

pub use head::Head;
pub use review::{ReviewPolicy, ReviewReason};
pub use taxonomy::Taxonomy;
pub use zeroshot::ZeroShot;

/// Body characters the encoder embeds (about three 256-token chunks): on CPU the encoder costs
/// about 0.3 s per chunk, and the first three chunks carry the intent of nearly all mail; the
/// n-gram features still read up to [`features::FeatureSpec::max_chars`].
pub const EMBED_MAX_CHARS: usize = 3_000;

/// What the classifier sees of one message.
///
/// Built from a parsed and prepared email by the pipeline, or directly (tests, JSON
/// inputs with only a subject and a body).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// The subject line ("" when none).
    pub subject: String,
    /// The prepared body text (quotes and signatures stripped, within the token budget).
    pub body: String,
    /// Number of attachments.
    pub attachments: usize,
    /// The message had no plain-text part (its text was rendered from HTML).
    pub html_only: bool,
    /// Bulk or list mail by its headers.
    pub bulk: bool,
    /// An automatic reply by its headers.
    pub auto_reply: bool,
    /// The message parsed without problems.
    pub clean: bool,
    /// Share of the message's text that did not fit the token budget (0 = nothing dropped).
    pub truncated: f32,
    /// Words the sender wrote above any forwarded or quoted message (a forward with no note of
    /// its own has 0).
    pub own_words: usize,
    /// The body carries a forwarded message.
    pub forwarded: bool,
    /// The body quotes an earlier message.
    pub quoted: bool,
    /// Addresses in To.
    pub to: usize,
    /// Addresses in Cc.
    pub cc: usize,
}

/// Words written above the first forwarded or original-message marker, quoted lines skipped.
pub fn own_words(body: &str) -> usize {
    shape::shape(body).own_words
}

impl Document {
    /// A clean document from a subject and a body.
    pub fn new(subject: impl Into<String>, body: impl Into<String>) -> Self {
        let body = body.into();
        let shape = shape::shape(&body);
        Document {
            subject: subject.into(),
            own_words: shape.own_words,
            forwarded: shape.forwarded,
            quoted: shape.quoted,
            body,
            clean: true,
            ..Document::default()
        }
    }

    /// The text the encoder embeds: subject, blank line, body; at most [`EMBED_MAX_CHARS`]
    /// characters of the body (its head), which the encoder pools over 256-token chunks.
    pub fn encoder_text(&self) -> String {
        let body: String = self.body.chars().take(EMBED_MAX_CHARS).collect();
        match (self.subject.trim().is_empty(), body.trim().is_empty()) {
            (true, _) => body,
            (false, true) => self.subject.trim().to_string(),
            (false, false) => format!("{}\n\n{}", self.subject.trim(), body),
        }
    }
}

/// Anything that turns texts into L2-normalised sentence embeddings (the encoder, or a fake in
/// tests).
pub trait Embed {
    /// Embeddings of short texts (truncated to the encoder's window).
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ClassifyError>;
    /// Embeddings of whole texts, pooled over chunks of the encoder's window.
    fn embed_long(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ClassifyError>;
    /// The encoder's model id.
    fn model_id(&self) -> &str;
    /// SHA-256 of the encoder's weights.
    fn sha256(&self) -> &str;
}

impl Embed for crate::models::Encoder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ClassifyError> {
        Ok(crate::models::Encoder::embed(self, texts)?)
    }
    fn embed_long(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ClassifyError> {
        Ok(crate::models::Encoder::embed_long(self, texts)?)
    }
    fn model_id(&self) -> &str {
        crate::models::Encoder::model_id(self)
    }
    fn sha256(&self) -> &str {
        crate::models::Encoder::sha256(self)
    }
}

/// Errors of the classification layer.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClassifyError {
    /// The taxonomy file is not valid.
    #[error("taxonomy: {0}")]
    Taxonomy(String),
    /// A head file could not be read or is not a mailroom head.
    #[error("head {path}: {reason}")]
    Head {
        /// The head file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A head was trained on another encoder than the one loaded.
    #[error(
        "head {path} was trained with encoder {expected} (sha256 {expected_sha}), not {found}"
    )]
    EncoderMismatch {
        /// The head file.
        path: PathBuf,
        /// The encoder id the head expects.
        expected: String,
        /// Its weights' SHA-256.
        expected_sha: String,
        /// The encoder id (and hash) loaded.
        found: String,
    },
    /// A head was trained for another version of the taxonomy than the one loaded.
    #[error(
        "head {path} was trained for taxonomy {expected}, not {found}: retrain it, or pass \
         --taxonomy with the version it was trained for"
    )]
    TaxonomyMismatch {
        /// The head file.
        path: PathBuf,
        /// The taxonomy (name@version) the head was trained for.
        expected: String,
        /// The taxonomy loaded.
        found: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The encoder failed.
    #[error(transparent)]
    Model(#[from] crate::models::ModelError),
    /// An input was not usable (e.g. an embedding missing where a head needs one).
    #[error("{0}")]
    Input(String),
}

/// How an axis was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Prototypes from the taxonomy's descriptions and examples.
    ZeroShot,
    /// A trained head.
    Head,
    /// The urgency evidence (a strong cue, or weak cues of two kinds) made a priority
    /// decision urgent; the probabilities are the model's.
    Evidence,
    /// The message was decided junk above its threshold, so a priority the model called
    /// urgent became the likeliest other label: junk is never answered first.
    JunkRule,
}

/// Label probabilities in label order, written as a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct Probabilities(pub Vec<(String, f32)>);

impl Serialize for Probabilities {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, &((*v as f64 * 1e4).round() / 1e4))?;
        }
        m.end()
    }
}

/// The decision on one axis for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AxisResult {
    /// The axis (`category`, `priority`, `junk`, or a head's own axis).
    pub axis: String,
    /// The most probable label.
    pub label: String,
    /// Its calibrated probability.
    pub probability: f32,
    /// Every label's probability, in label order.
    pub probabilities: Probabilities,
    /// Whether a person should look at this decision.
    pub needs_review: bool,
    /// Why, when `needs_review` (empty otherwise).
    pub reasons: Vec<ReviewReason>,
    /// How the axis was decided.
    pub method: Method,
    /// The taxonomy (`name@version`) or head (`axis@sha256 prefix`) behind the decision.
    pub source: String,
    /// The urgency evidence behind a priority decision (`danger "no heating" (no heating)`),
    /// set by the pipeline from the deterministic detectors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

impl AxisResult {
    /// Build from label probabilities, applying the review policy.
    pub fn decide(
        axis: &str,
        labels: &[String],
        probs: Vec<f32>,
        method: Method,
        source: String,
        policy: &ReviewPolicy,
        doc: &Document,
    ) -> AxisResult {
        let mut best = 0;
        for (i, p) in probs.iter().enumerate() {
            if *p > probs[best] {
                best = i;
            }
        }
        let probability = probs.get(best).copied().unwrap_or(0.0);
        let label = labels.get(best).cloned().unwrap_or_default();
        let reasons = policy.reasons(&label, probability, doc);
        AxisResult {
            axis: axis.to_string(),
            label,
            probability,
            probabilities: Probabilities(labels.iter().cloned().zip(probs).collect()),
            needs_review: !reasons.is_empty(),
            reasons,
            method,
            source,
            evidence: Vec::new(),
        }
    }
}

/// The classifier the pipeline calls: the taxonomy's zero-shot axes plus any trained heads (a
/// head replaces the zero-shot decision of its axis, or adds a new axis).
#[derive(Debug, Clone)]
pub struct Classifier {
    zero_shot: Option<ZeroShot>,
    heads: Vec<Head>,
    policy: ReviewPolicy,
}

impl Classifier {
    /// A classifier from zero-shot prototypes and heads (either may be empty).
    pub fn new(zero_shot: Option<ZeroShot>, heads: Vec<Head>) -> Classifier {
        Classifier {
            zero_shot,
            heads,
            policy: ReviewPolicy::default(),
        }
    }

    /// Change the operator's parts of the review rule (truncation limit, threshold override);
    /// the axis and label thresholds come from the taxonomy and the heads.
    pub fn with_policy(mut self, policy: ReviewPolicy) -> Classifier {
        self.policy = policy;
        self
    }

    /// The trained heads, in the order given.
    pub fn heads(&self) -> &[Head] {
        &self.heads
    }

    /// Whether any axis needs the encoder embedding (zero-shot always does).
    pub fn needs_embedding(&self) -> bool {
        self.zero_shot.is_some() || self.heads.iter().any(Head::needs_embedding)
    }

    /// The axes this classifier answers, in output order.
    pub fn axes(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .zero_shot
            .iter()
            .flat_map(|z| z.axes().map(str::to_string))
            .collect();
        for h in &self.heads {
            if !v.contains(&h.meta.axis) {
                v.push(h.meta.axis.clone());
            }
        }
        v
    }

    /// Classify one message on every axis. `embedding` is the chunk-pooled embedding of
    /// [`Document::encoder_text`]; pass `None` only when [`Classifier::needs_embedding`] is false.
    pub fn classify(
        &self,
        doc: &Document,
        embedding: Option<&[f32]>,
    ) -> Result<Vec<AxisResult>, ClassifyError> {
        let mut out = Vec::new();
        if let Some(z) = &self.zero_shot {
            let e = embedding
                .ok_or_else(|| ClassifyError::Input("zero-shot needs an embedding".into()))?;
            for axis in z.axes() {
                if self.heads.iter().any(|h| h.meta.axis == axis) {
                    continue;
                }
                out.push(z.classify_axis(axis, doc, e, &self.policy)?);
            }
        }
        for h in &self.heads {
            out.push(h.classify(doc, embedding, &self.policy)?);
        }
        let order = self.axes();
        out.sort_by_key(|r| order.iter().position(|a| *a == r.axis));
        Ok(out)
    }
}
