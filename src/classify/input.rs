//! From parsed mail and the model layer to what the classifier reads: [`Document`] from an
//! [`Email`], labelled [`Item`]s to a [`TrainSet`], and the [`Embed`] implementation for the
//! encoder.

use crate::email::{BodyFormat, Email};
use crate::models::Encoder;
use crate::text::{PrepareOptions, Prepared};

use super::cache::EmbeddingCache;
use super::dataset::{Content, Item};
use super::features::FeatureSpec;
use super::train::TrainSet;
use super::{ClassifyError, Document, Embed};

impl Document {
    /// The classifier's view of a parsed and prepared email: the cleaned body (quotes,
    /// signatures and disclaimers stripped), the truncation share of the prepared text.
    pub fn from_prepared(email: &Email, prepared: &Prepared) -> Document {
        let truncated = prepared.truncation.as_ref().map_or(0.0, |t| {
            t.dropped_tokens as f32 / t.total_tokens.max(1) as f32
        });
        Document::from_email(email, &prepared.body, truncated)
    }

    /// The classifier's view of a parsed email. `body` is the text the models see (the prepared
    /// text when the caller has it, else `email.body`); `truncated` is the share of it that did
    /// not fit the token budget.
    pub fn from_email(email: &Email, body: &str, truncated: f32) -> Document {
        let shape = super::shape::shape(&email.body);
        Document {
            subject: email.subject.clone().unwrap_or_default(),
            body: body.to_string(),
            attachments: email.attachments.len(),
            html_only: email.body_format == BodyFormat::Html,
            bulk: email.is_bulk,
            auto_reply: email.is_auto_reply,
            clean: email.is_clean(),
            truncated,
            own_words: shape.own_words,
            forwarded: shape.forwarded,
            quoted: shape.quoted,
            to: email.to.len(),
            cc: email.cc.len(),
        }
    }
}

impl Embed for Encoder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ClassifyError> {
        Ok(Encoder::embed(self, texts)?)
    }
    fn embed_long(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ClassifyError> {
        Ok(Encoder::embed_long(self, texts)?)
    }
    fn model_id(&self) -> &str {
        Encoder::model_id(self)
    }
    fn sha256(&self) -> &str {
        Encoder::sha256(self)
    }
}

/// Read and parse one labelled item into a [`Document`]. A message that cannot be read or
/// parsed is an error for that item only.
pub fn item_document(item: &Item) -> Result<Document, ClassifyError> {
    let email = match &item.content {
        Content::File(path) => {
            let raw = std::fs::read(path).map_err(|source| ClassifyError::Io {
                path: path.clone(),
                source,
            })?;
            parse(&raw, &item.id)?
        }
        Content::Raw(raw) => parse(raw, &item.id)?,
        Content::Text { subject, body } => Email::from_parts(None, Some(subject), body),
    };
    Ok(Document::from_prepared(
        &email,
        &crate::text::prepare(&email, &PrepareOptions::default()),
    ))
}

fn parse(raw: &[u8], id: &str) -> Result<Email, ClassifyError> {
    // mbox exports start with a `From ` line that is not a header.
    let raw = if raw.starts_with(b"From ") {
        raw.iter()
            .position(|&b| b == b'\n')
            .map_or(raw, |p| &raw[p + 1..])
    } else {
        raw
    };
    crate::email::parse(raw).map_err(|e| ClassifyError::Data {
        path: id.into(),
        reason: format!("cannot parse: {e}"),
    })
}

/// Build a training set from labelled items: `labels` in order, each item's label mapped by
/// `map` (None: skip the item). Items that fail to parse are skipped and counted. Embeddings
/// are computed (through `cache` when given) only when `encoder` is given.
pub fn build_set(
    items: &[Item],
    labels: Vec<String>,
    map: impl Fn(&str) -> Option<String>,
    spec: &FeatureSpec,
    encoder: Option<(&dyn Embed, Option<&EmbeddingCache>)>,
    progress: impl FnMut(usize),
) -> Result<(TrainSet, usize), ClassifyError> {
    let mut docs = Vec::new();
    let mut y = Vec::new();
    let mut ids = Vec::new();
    let mut failed = 0;
    for item in items {
        let Some(label) = map(&item.label) else {
            continue;
        };
        let Some(c) = labels.iter().position(|l| *l == label) else {
            continue;
        };
        match item_document(item) {
            Ok(d) => {
                docs.push(d);
                y.push(c);
                ids.push(item.id.clone());
            }
            Err(e) => {
                tracing::warn!(error = %e, "skipping a labelled message");
                failed += 1;
            }
        }
    }
    let embeddings = match encoder {
        Some((enc, cache)) => {
            let texts: Vec<String> = docs.iter().map(Document::encoder_text).collect();
            match cache {
                Some(c) => c.embed_long(enc, &texts, 16, progress)?,
                None => {
                    let mut out = Vec::new();
                    let mut progress = progress;
                    for chunk in texts.chunks(16) {
                        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                        out.extend(enc.embed_long(&refs)?);
                        progress(out.len());
                    }
                    out
                }
            }
        }
        None => Vec::new(),
    };
    let mut set = TrainSet::new(labels, docs, y, embeddings, spec);
    set.ids = ids;
    Ok((set, failed))
}
