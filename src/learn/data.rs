//! Labelled mail for one axis: read the corpora, map their labels onto the axis, parse and
//! prepare every message through the pipeline (so training sees what triage sees), and embed it
//! when the features need the encoder (through the on-disk cache when given).

use std::path::PathBuf;

use crate::classify::features::FeatureSpec;
use crate::classify::{Document, Embed, Taxonomy};
use crate::models::{Encoder, Precision};
use crate::pipeline::document::{labelled_document, Labelled};
use crate::pipeline::{load_taxonomy, ModelSpec};

use super::cache::EmbeddingCache;
use super::corpus::{self, Content, Item};
use super::fit::TrainSet;
use super::LearnError;

/// Which labelled data, for which axis.
#[derive(Debug, Clone, Default)]
pub struct DataSpec {
    /// The axis: one of the taxonomy's (its labels and aliases apply) or a new one, whose
    /// labels are those found in the data.
    pub axis: String,
    /// Labelled corpora (labels CSV, folder per label, JSON lines), combined.
    pub data: Vec<PathBuf>,
    /// Label renames, `FROM=TO`; `FROM=` drops the label.
    pub maps: Vec<String>,
    /// The label of JSON lines that carry none.
    pub unlabelled_as: Option<String>,
    /// The taxonomy (default: the built-in one).
    pub taxonomy: Option<PathBuf>,
    /// Cache encoder embeddings in this folder.
    pub cache: Option<PathBuf>,
}

/// Labelled data loaded for an axis, with the encoder when the features need it.
pub struct Loaded {
    /// The training set.
    pub set: TrainSet,
    /// Messages that could not be read.
    pub failed: usize,
    /// Messages whose labels are not on the axis (left out).
    pub unmapped: usize,
    /// The encoder, when loaded.
    pub encoder: Option<Encoder>,
    /// The taxonomy.
    pub taxonomy: Taxonomy,
}

/// Load the labelled data, map its labels onto the axis, parse every message and (when
/// `need_encoder`) embed it. `progress` is called with the number of messages embedded so far.
pub fn load(
    spec: &DataSpec,
    features: &FeatureSpec,
    models: &ModelSpec,
    need_encoder: bool,
    progress: impl FnMut(usize, usize),
) -> Result<Loaded, LearnError> {
    let taxonomy = load_taxonomy(spec.taxonomy.as_ref())?;
    let items = read_items(spec)?;
    let maps = parse_maps(&spec.maps)?;
    let axis = taxonomy.axis(&spec.axis).cloned();
    let map = |l: &str| -> Option<String> {
        let l = maps
            .iter()
            .find(|(f, _)| f == l)
            .map_or(l.to_string(), |(_, t)| t.clone());
        if l.is_empty() {
            return None;
        }
        match &axis {
            Some(a) => a.resolve_label(&l).map(str::to_string),
            None => Some(l),
        }
    };
    let labels: Vec<String> = match &axis {
        Some(a) => a.label_names(),
        None => {
            let mut v: Vec<String> = items.iter().filter_map(|i| map(&i.label)).collect();
            v.sort();
            v.dedup();
            v
        }
    };
    let unmapped = items.iter().filter(|i| map(&i.label).is_none()).count();
    let encoder = if need_encoder {
        Some(models.load_encoder()?)
    } else {
        None
    };
    let cache = match (&spec.cache, &encoder) {
        (Some(dir), Some(e)) => {
            let precision = match e.precision() {
                Precision::F32 => "",
                Precision::Bf16 => "bf16",
                Precision::Int8 => "int8",
            };
            Some(EmbeddingCache::new(dir, e.sha256(), precision))
        }
        _ => None,
    };
    let total = items.len();
    let mut progress = progress;
    let (set, failed) = build_set(
        &items,
        labels,
        map,
        features,
        encoder.as_ref().map(|e| (e as &dyn Embed, cache.as_ref())),
        |done| progress(done, total),
    )?;
    if set.is_empty() {
        return Err(LearnError::Invalid(format!(
            "no labelled messages for axis {}",
            spec.axis
        )));
    }
    Ok(Loaded {
        set,
        failed,
        unmapped,
        encoder,
        taxonomy,
    })
}

/// Every corpus's items, with unlabelled JSON lines given `unlabelled_as` (or refused).
fn read_items(spec: &DataSpec) -> Result<Vec<Item>, LearnError> {
    let mut items = Vec::new();
    for d in &spec.data {
        items.extend(corpus::labelled::load_axis(d, Some(&spec.axis))?);
    }
    let unlabelled = items.iter().filter(|i| i.label.trim().is_empty()).count();
    if unlabelled > 0 {
        let Some(label) = &spec.unlabelled_as else {
            return Err(LearnError::Invalid(format!(
                "{unlabelled} messages carry no label (first: {}); name one with --unlabelled-as",
                items
                    .iter()
                    .find(|i| i.label.trim().is_empty())
                    .map_or("", |i| i.id.as_str())
            )));
        };
        for i in items.iter_mut().filter(|i| i.label.trim().is_empty()) {
            i.label = label.clone();
        }
    }
    Ok(items)
}

fn parse_maps(maps: &[String]) -> Result<Vec<(String, String)>, LearnError> {
    maps.iter()
        .map(|m| {
            m.split_once('=')
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .ok_or_else(|| LearnError::Invalid(format!("--map {m}: expected FROM=TO")))
        })
        .collect()
}

/// Read and parse one labelled item into a [`Document`]. A message that cannot be read or
/// parsed is an error for that item only.
pub fn item_document(item: &Item) -> Result<Document, LearnError> {
    let unparsable = |e: crate::email::EmailError| LearnError::Data {
        path: item.id.clone().into(),
        reason: format!("cannot parse: {e}"),
    };
    match &item.content {
        Content::File(path) => {
            let raw = std::fs::read(path).map_err(|e| LearnError::io(path, e))?;
            labelled_document(Labelled::Raw(&raw)).map_err(unparsable)
        }
        Content::Raw(raw) => labelled_document(Labelled::Raw(raw)).map_err(unparsable),
        Content::Text { subject, body } => {
            labelled_document(Labelled::Text { subject, body }).map_err(unparsable)
        }
    }
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
) -> Result<(TrainSet, usize), LearnError> {
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
        Some((enc, cache)) => embed_all(enc, cache, &docs, progress)?,
        None => Vec::new(),
    };
    let mut set = TrainSet::new(labels, docs, y, embeddings, spec);
    set.ids = ids;
    Ok((set, failed))
}

fn embed_all(
    enc: &dyn Embed,
    cache: Option<&EmbeddingCache>,
    docs: &[Document],
    mut progress: impl FnMut(usize),
) -> Result<Vec<Vec<f32>>, LearnError> {
    let texts: Vec<String> = docs.iter().map(Document::encoder_text).collect();
    if let Some(c) = cache {
        return c.embed_long(enc, &texts, 16, progress);
    }
    let mut out = Vec::new();
    for chunk in texts.chunks(16) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        out.extend(enc.embed_long(&refs)?);
        progress(out.len());
    }
    Ok(out)
}
