//! `train`: fit a logistic-regression head on labelled mail, calibrate it on held-back folds,
//! record its cross-validated metrics and review thresholds, and write the head file.

use std::path::PathBuf;
use std::time::Instant;

use crate::classify::head::{EncoderRef, Head, TaxonomyRef, TrainingMetrics};
use crate::classify::logreg::TrainOptions;
use crate::classify::ReviewPolicy;
use crate::pipeline::ModelSpec;

use super::choices::{label_thresholds, FitChoices};
use super::data::{self, DataSpec};
use super::fewshot::{fit_head, LabelPrior};
use super::fit::cross_validate_by;
use super::metrics::{evaluate, review_outcome, ReviewOutcome};
use super::LearnError;

/// What to train.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// The labelled data and its axis.
    pub data: DataSpec,
    /// Features and fitting.
    pub fit: FitChoices,
    /// Label review thresholds as written (`LABEL=P`, or `none`).
    pub label_thresholds: Vec<String>,
    /// Cross-validation folds for the metrics recorded in the head (below 2: none).
    pub folds: usize,
    /// Review threshold recorded in the head; default: the cross-validated one that reaches
    /// `target_precision`, or 0.5 without cross-validation.
    pub review_threshold: Option<f32>,
    /// Precision the default review threshold aims for.
    pub target_precision: f64,
    /// Where to write the head.
    pub out: PathBuf,
}

/// The cross-validation `train` ran before the final fit.
#[derive(Debug, Clone)]
pub struct CrossValidation {
    /// The metrics recorded in the head.
    pub metrics: TrainingMetrics,
    /// The threshold that reaches the target precision, and the share decided without review.
    pub threshold: Option<(f64, f64)>,
    /// What the label thresholds do on the out-of-fold predictions (when any is set).
    pub review: Option<ReviewOutcome>,
    /// Seconds it took.
    pub seconds: f64,
}

/// What `train` did.
#[derive(Debug)]
pub struct Trained {
    /// The head, as written.
    pub head: Head,
    /// Messages per label.
    pub counts: Vec<usize>,
    /// Messages that could not be read.
    pub unreadable: usize,
    /// Messages whose labels are not on the axis (left out).
    pub unmapped: usize,
    /// The cross-validation, when run.
    pub cv: Option<CrossValidation>,
    /// Whether inner cross-validation chose among several L2 or embedding weights.
    pub chose: bool,
}

/// Train a head and write it to `req.out`. `progress` is called with (embedded, total).
pub fn train(
    req: &TrainRequest,
    models: &ModelSpec,
    progress: impl FnMut(usize, usize),
) -> Result<Trained, LearnError> {
    let config = req.fit.config(&req.data.axis)?;
    let loaded = data::load(
        &req.data,
        &config.features,
        models,
        config.features.embedding,
        progress,
    )?;
    let set = &loaded.set;
    let thresholds = label_thresholds(&req.label_thresholds, &req.data.axis, &set.labels)?;
    let counts = set.counts();
    // The taxonomy's label prototypes, for a few-label head (the logistic head ignores them).
    let prior = match &loaded.encoder {
        Some(e) => LabelPrior::build(&loaded.taxonomy, &req.data.axis, &set.labels, e)?,
        None => None,
    };
    let fit_on = |idx: &[usize]| fit_head(set, idx, &config, prior.as_ref()).0;
    let cv = (req.folds >= 2).then(|| {
        let start = Instant::now();
        let probs = cross_validate_by(set, req.folds, config.seed, fit_on);
        let r = evaluate(&set.labels, &set.y, &probs, req.target_precision, None);
        let cv_threshold = r.threshold_for_target.as_ref().map(|p| p.threshold as f32);
        let review = (!thresholds.is_empty()).then(|| {
            let axis_threshold = req.review_threshold.or(cv_threshold).unwrap_or(0.5);
            let policy = ReviewPolicy::default().for_axis(axis_threshold, &thresholds);
            review_outcome(&set.labels, &set.y, &probs, &policy, None)
        });
        CrossValidation {
            metrics: TrainingMetrics {
                folds: req.folds,
                accuracy: r.accuracy,
                macro_f1: r.macro_f1,
                ece: r.ece,
                accuracy_at_80: r.at_coverage.first().map_or(f64::NAN, |p| p.accuracy),
                per_label_f1: r.per_label.iter().map(|l| l.f1).collect(),
            },
            threshold: r
                .threshold_for_target
                .as_ref()
                .map(|p| (p.threshold, p.coverage)),
            review,
            seconds: start.elapsed().as_secs_f64(),
        }
    });
    let all: Vec<usize> = (0..set.len()).collect();
    let (fitted, few_shot) = fit_head(set, &all, &config, prior.as_ref());
    let chosen_l2 = fitted.l2;
    let chose = config.l2_grid.len() > 1 || config.embedding_weight_grid.len() > 1;
    let encoder = loaded.encoder.as_ref().map(|e| EncoderRef {
        id: e.model_id().to_string(),
        sha256: e.sha256().to_string(),
    });
    let mut head = Head::from_fitted(
        &req.data.axis,
        set.labels.clone(),
        fitted,
        encoder,
        counts.clone(),
        TrainOptions {
            l2: chosen_l2,
            ..config.options.clone()
        },
        config.seed,
    );
    let cv_threshold = cv.as_ref().and_then(|c| c.threshold.map(|(t, _)| t as f32));
    head.meta.review_threshold = req.review_threshold.or(cv_threshold).unwrap_or(0.5);
    head.meta.label_review_thresholds = thresholds;
    head.meta.metrics = cv.as_ref().map(|c| c.metrics.clone());
    head.meta.few_shot = few_shot;
    if loaded.taxonomy.axis(&req.data.axis).is_some() {
        head.meta.taxonomy = Some(TaxonomyRef {
            name: loaded.taxonomy.name.clone(),
            version: loaded.taxonomy.version.clone(),
        });
    }
    head.save(&req.out)?;
    Ok(Trained {
        head,
        counts,
        unreadable: loaded.failed,
        unmapped: loaded.unmapped,
        cv,
        chose,
    })
}
