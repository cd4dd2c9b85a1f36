//! Learning from the people who review the mail: a head for one axis trained on the store's
//! reviewed messages ([`TrainingExample`]: each message once, with its final label, a
//! correction or a confirmed decision), read through the pipeline and embedded as `train`
//! does, and compared with the head in use before anyone can put it in use.
//!
//! The comparison is honest about time: the reviewed messages are ordered by date, a
//! candidate is fitted on the older ones and it and the head in use (the store's active head,
//! else the shipped head, else zero-shot) are scored on the newer ones, at the review
//! thresholds in use. The head that is stored as a candidate is then fitted on all of them;
//! its metadata names every store row it saw. This layer does not touch the store: the caller
//! reads the examples and stores the result.

use std::path::PathBuf;

use serde_json::json;

use crate::classify::head::{EncoderRef, Head, TaxonomyRef};
use crate::classify::logreg::TrainOptions;
use crate::classify::{Embed, ReviewPolicy, Taxonomy, ZeroShot};
use crate::models::Precision;
use crate::pipeline::{load_taxonomy, ModelSpec, TrainingExample};

use super::cache::EmbeddingCache;
use super::choices::FitChoices;
use super::compare::{score, time_split, Comparison, InUse, DEFAULT_TEST_SHARE};
use super::corpus::{Content, Item};
use super::data::build_set;
use super::fewshot::{fit_head, LabelPrior};
use super::fit::{probabilities, TrainConfig, TrainSet};
use super::metrics::argmax;
use super::LearnError;

/// What to train from the store.
#[derive(Debug, Clone)]
pub struct StoreTrainRequest {
    /// The axis.
    pub axis: String,
    /// Share of the reviewed messages (the newest) the comparison tests on.
    pub test_share: f64,
    /// Features and fitting; `None`: train as the head in use was trained (its features and
    /// options), or with the defaults when no head decides the axis.
    pub fit: Option<FitChoices>,
    /// Cache encoder embeddings in this folder.
    pub cache: Option<PathBuf>,
}

impl StoreTrainRequest {
    /// A request for `axis` with the defaults.
    pub fn new(axis: &str) -> StoreTrainRequest {
        StoreTrainRequest {
            axis: axis.to_string(),
            test_share: DEFAULT_TEST_SHARE,
            fit: None,
            cache: None,
        }
    }
}

/// What decides the axis now, that a candidate must beat.
#[derive(Debug, Clone)]
pub enum Current {
    /// The store's active head (its id, and the head read from its verified bytes).
    Store(i64, Box<Head>),
    /// The shipped default head.
    Shipped(Box<Head>),
    /// The taxonomy, zero-shot.
    ZeroShot,
    /// Nothing (an axis of its own with no head yet).
    Nothing,
}

impl Current {
    /// The head in use for `axis` when the store has none: the shipped default head, else
    /// zero-shot when the built-in taxonomy has the axis.
    pub fn shipped(models: &ModelSpec, axis: &str) -> Result<Current, LearnError> {
        if let Some(m) = models.default_heads()? {
            for f in &m.files {
                let head = Head::load(&f.path)?;
                if head.meta.axis == axis {
                    return Ok(Current::Shipped(Box::new(head)));
                }
            }
        }
        Ok(if Taxonomy::default_taxonomy().axis(axis).is_some() {
            Current::ZeroShot
        } else {
            Current::Nothing
        })
    }

    /// The store's active head `id`, from its bytes (verified by the caller against the
    /// stored SHA-256).
    pub fn from_store(id: i64, data: &[u8]) -> Result<Current, LearnError> {
        let head = Head::from_bytes(data)
            .map_err(|e| LearnError::Invalid(format!("store head {id}: {e}")))?;
        Ok(Current::Store(id, Box::new(head)))
    }

    fn head(&self) -> Option<&Head> {
        match self {
            Current::Store(_, h) | Current::Shipped(h) => Some(h),
            _ => None,
        }
    }

    fn in_use(&self) -> InUse {
        let (kind, id) = match self {
            Current::Store(id, _) => ("store", Some(*id)),
            Current::Shipped(_) => ("shipped", None),
            Current::ZeroShot => ("zero_shot", None),
            Current::Nothing => ("none", None),
        };
        InUse {
            kind: kind.into(),
            id,
            sha256: self.head().map(|h| h.sha256.clone()),
        }
    }
}

/// A candidate trained from the store, with its comparison.
#[derive(Debug)]
pub struct StoreTrained {
    /// The head fitted on every reviewed message.
    pub head: Head,
    /// Its file's bytes (what the store keeps).
    pub bytes: Vec<u8>,
    /// The comparison with the head in use.
    pub comparison: Comparison,
    /// The store metadata: which rows it saw, the split, its labels.
    pub meta: serde_json::Value,
    /// Reviewed messages left out (no bytes kept, unreadable, or a label not on the axis).
    pub left_out: usize,
}

/// Reviewed messages as a training set, in their order: the set, and the example of each of
/// its messages.
pub struct Reviewed {
    /// The set (labels of the axis, documents, embeddings).
    pub set: TrainSet,
    /// Index into the examples of each message of the set.
    pub example: Vec<usize>,
    /// Examples left out.
    pub left_out: usize,
    /// The encoder's reference.
    pub encoder: EncoderRef,
    /// The taxonomy's label prototypes of the axis (for a few-label head), when the built-in
    /// taxonomy has it with these labels.
    pub prior: Option<LabelPrior>,
}

/// The labels of `axis`: the taxonomy's, or those the examples use for an axis of its own.
fn axis_labels(taxonomy: &Taxonomy, axis: &str, examples: &[TrainingExample]) -> Vec<String> {
    match taxonomy.axis(axis) {
        Some(a) => a.label_names(),
        None => {
            let mut v: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
            v.sort();
            v.dedup();
            v
        }
    }
}

/// A stored message's content: raw RFC 822, or the JSON fields of a message given as parts.
fn content(raw: &[u8]) -> Content {
    if raw.first() == Some(&b'{') {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(raw) {
            if let Some(body) = v["body"].as_str() {
                return Content::Text {
                    subject: v["subject"].as_str().unwrap_or_default().to_string(),
                    body: body.to_string(),
                };
            }
        }
    }
    Content::Raw(raw.to_vec())
}

/// Parse and embed reviewed messages for `axis`, keeping their order.
pub fn reviewed_set(
    examples: &[TrainingExample],
    axis: &str,
    config: &TrainConfig,
    models: &ModelSpec,
    cache: Option<&PathBuf>,
    progress: impl FnMut(usize, usize),
) -> Result<Reviewed, LearnError> {
    let taxonomy = load_taxonomy(None)?;
    let labels = axis_labels(&taxonomy, axis, examples);
    let tax_axis = taxonomy.axis(axis).cloned();
    let items: Vec<Item> = examples
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            e.raw.as_ref().map(|raw| Item {
                id: i.to_string(),
                label: e.label.clone(),
                content: content(raw),
            })
        })
        .collect();
    let map = |l: &str| match &tax_axis {
        Some(a) => a.resolve_label(l).map(str::to_string),
        None => Some(l.to_string()),
    };
    let encoder = models.load_encoder()?;
    let cache = cache.map(|dir| {
        let precision = match encoder.precision() {
            Precision::F32 => "",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
        };
        EmbeddingCache::new(dir, encoder.sha256(), precision)
    });
    let total = items.len();
    let mut progress = progress;
    let (set, _) = build_set(
        &items,
        labels,
        map,
        &config.features,
        Some((&encoder as &dyn Embed, cache.as_ref())),
        |done| progress(done, total),
    )?;
    let example: Vec<usize> = set.ids.iter().filter_map(|id| id.parse().ok()).collect();
    let prior = LabelPrior::build(&taxonomy, axis, &set.labels, &encoder as &dyn Embed)?;
    Ok(Reviewed {
        prior,
        left_out: examples.len() - set.len(),
        example,
        encoder: EncoderRef {
            id: encoder.model_id().to_string(),
            sha256: encoder.sha256().to_string(),
        },
        set,
    })
}

/// The training configuration: the request's choices, else the head in use's features and
/// options, else the defaults for the axis.
pub fn config_for(req: &StoreTrainRequest, current: &Current) -> Result<TrainConfig, LearnError> {
    if let Some(choices) = &req.fit {
        return choices.config(&req.axis);
    }
    match current.head() {
        Some(h) => Ok(TrainConfig {
            features: h.meta.features.clone(),
            options: h.meta.options.clone(),
            seed: h.meta.seed,
            ..TrainConfig::default()
        }),
        None => FitChoices::default().config(&req.axis),
    }
}

/// The review rule in use for the axis: the head's thresholds, else the taxonomy's.
fn rule_in_use(current: &Current, axis: &str) -> (f32, std::collections::BTreeMap<String, f32>) {
    if let Some(h) = current.head() {
        return (
            h.meta.review_threshold,
            h.meta.label_review_thresholds.clone(),
        );
    }
    match Taxonomy::default_taxonomy().axis(axis) {
        Some(a) => (a.review_threshold, a.label_thresholds()),
        None => (0.5, Default::default()),
    }
}

/// The head in use's probabilities of messages `idx`, in the set's label order.
pub fn current_probabilities(
    current: &Current,
    set: &TrainSet,
    idx: &[usize],
    axis: &str,
    models: &ModelSpec,
) -> Result<Option<Vec<Vec<f32>>>, LearnError> {
    let reorder = |names: &[String], p: Vec<f32>| -> Vec<f32> {
        set.labels
            .iter()
            .map(|l| names.iter().position(|n| n == l).map_or(0.0, |j| p[j]))
            .collect()
    };
    match current {
        Current::Store(_, h) | Current::Shipped(h) => Ok(Some(
            idx.iter()
                .map(|&i| {
                    let e = set.embeddings.get(i).map(Vec::as_slice);
                    Ok(reorder(&h.meta.labels, h.probabilities(&set.docs[i], e)?))
                })
                .collect::<Result<_, LearnError>>()?,
        )),
        Current::ZeroShot => {
            let taxonomy = Taxonomy::default_taxonomy();
            let Some(a) = taxonomy.axis(axis).cloned() else {
                return Ok(None);
            };
            let encoder = models.load_encoder()?;
            let z = ZeroShot::build(taxonomy, &encoder as &dyn Embed)?;
            let names = a.label_names();
            Ok(Some(
                idx.iter()
                    .map(|&i| {
                        let s = z.scores(axis, &set.embeddings[i])?;
                        let s: Vec<f32> =
                            s.iter().zip(&a.labels).map(|(s, l)| s + l.bias).collect();
                        Ok(reorder(
                            &names,
                            crate::classify::logreg::softmax(&s, a.temperature),
                        ))
                    })
                    .collect::<Result<_, LearnError>>()?,
            ))
        }
        Current::Nothing => Ok(None),
    }
}

/// Train a candidate for `req.axis` from the reviewed `examples` (oldest first, as
/// `Store::training_examples` gives them), compare it with `current` on the newest, and fit
/// the candidate to store on all of them. `progress` is called with (embedded, total).
pub fn train_from_store(
    examples: &[TrainingExample],
    current: &Current,
    req: &StoreTrainRequest,
    models: &ModelSpec,
    progress: impl FnMut(usize, usize),
) -> Result<StoreTrained, LearnError> {
    let config = config_for(req, current)?;
    let r = reviewed_set(
        examples,
        &req.axis,
        &config,
        models,
        req.cache.as_ref(),
        progress,
    )?;
    let set = &r.set;
    let Some((n_train, n_test)) = time_split(set.len(), req.test_share) else {
        return Err(LearnError::Invalid(format!(
            "axis {}: {} reviewed messages usable for training; at least 2 are needed (one \
             older to train on, one newer to test on)",
            req.axis,
            set.len()
        )));
    };
    let train: Vec<usize> = (0..n_train).collect();
    let test: Vec<usize> = (n_train..set.len()).collect();
    let (threshold, label_thresholds) = rule_in_use(current, &req.axis);
    let policy = ReviewPolicy::default().for_axis(threshold, &label_thresholds);
    let y_test: Vec<usize> = test.iter().map(|&i| set.y[i]).collect();
    // Few corrections fit a prototype or blend head, many the logistic one (`auto`, as
    // `mailroom train` does), always with the taxonomy's label prototypes as the prior.
    let early = fit_head(set, &train, &config, r.prior.as_ref()).0;
    let cand: Vec<Vec<f32>> = test
        .iter()
        .map(|&i| probabilities(&early, set, i))
        .collect();
    let now = current_probabilities(current, set, &test, &req.axis, models)?;
    let split_ms = examples[r.example[n_train]].time_ms();
    let comparison = Comparison {
        axis: req.axis.clone(),
        in_use: current.in_use(),
        n_train,
        n_test,
        split_ms,
        candidate: score(&set.labels, &y_test, &cand, &policy),
        current: now.map(|p| score(&set.labels, &y_test, &p, &policy)),
        threshold,
        label_thresholds: label_thresholds.clone(),
        n_final: set.len(),
    };
    let all: Vec<usize> = (0..set.len()).collect();
    let (fitted, few_shot) = fit_head(set, &all, &config, r.prior.as_ref());
    let l2 = fitted.l2;
    let mut head = Head::from_fitted(
        &req.axis,
        set.labels.clone(),
        fitted,
        Some(r.encoder.clone()),
        set.counts(),
        TrainOptions {
            l2,
            ..config.options.clone()
        },
        config.seed,
    );
    head.meta.few_shot = few_shot;
    head.meta.review_threshold = threshold;
    head.meta.label_review_thresholds = label_thresholds;
    let taxonomy = Taxonomy::default_taxonomy();
    if taxonomy.axis(&req.axis).is_some() {
        head.meta.taxonomy = Some(TaxonomyRef {
            name: taxonomy.name.clone(),
            version: taxonomy.version.clone(),
        });
    }
    let bytes = head.to_bytes().map_err(LearnError::Invalid)?;
    head = Head::from_bytes(&bytes).map_err(LearnError::Invalid)?;
    let meta = store_meta(examples, &r, n_train, &comparison, &head);
    Ok(StoreTrained {
        head,
        bytes,
        comparison,
        meta,
        left_out: r.left_out,
    })
}

/// The candidate's store metadata: every store row it saw (message, label, where the label
/// came from), which of them the comparison trained and tested on, and its labels.
fn store_meta(
    examples: &[TrainingExample],
    r: &Reviewed,
    n_train: usize,
    c: &Comparison,
    head: &Head,
) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = r
        .example
        .iter()
        .map(|&i| {
            let e = &examples[i];
            json!({
                "message": e.message_id,
                "label": e.label,
                "source": e.source,
                "row": e.row_id,
            })
        })
        .collect();
    let ids = |range: &[usize]| -> Vec<i64> {
        range
            .iter()
            .map(|&i| examples[i].message_id.0)
            .collect::<Vec<_>>()
    };
    json!({
        "trained_from": "store",
        "axis": c.axis,
        "labels": head.meta.labels,
        "counts": head.meta.trained_on,
        "features": head.meta.features.groups(),
        "encoder": head.meta.encoder,
        "in_use_when_trained": c.in_use,
        "examples": rows,
        "comparison_train_messages": ids(&r.example[..n_train]),
        "comparison_test_messages": ids(&r.example[n_train..]),
        "left_out": r.left_out,
    })
}

/// The predicted label of each probability row (for people and scripts).
pub fn predicted<'a>(labels: &'a [String], probs: &[Vec<f32>]) -> Vec<&'a str> {
    probs.iter().map(|p| labels[argmax(p)].as_str()).collect()
}
