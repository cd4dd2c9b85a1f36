//! `eval`: score a trained head, the taxonomy's zero-shot decisions, or (by default) a head
//! trained by k-fold cross-validation, on labelled mail; with what the review rule does, the
//! spread over repeated cross-validations, plots and per-message predictions.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use crate::classify::calibrate::fit_temperature;
use crate::classify::features::FeatureSpec;
use crate::classify::logreg::softmax;
use crate::classify::{ClassifyError, Embed, Head, Probabilities, ReviewPolicy, ZeroShot};
use crate::pipeline::ModelSpec;

use super::choices::{label_threshold_flags, label_thresholds, FitChoices};
use super::data::{self, DataSpec, Loaded};
use super::fit::{cross_validate, stratified_folds, TrainSet};
use super::metrics::{argmax, evaluate, review_outcome, Report};
use super::plot::{coverage_svg, reliability_svg};
use super::LearnError;

/// What to score.
#[derive(Debug, Clone, PartialEq)]
pub enum Scored {
    /// This trained head.
    Head(PathBuf),
    /// The taxonomy's zero-shot decisions.
    ZeroShot,
    /// A head trained by k-fold cross-validation, repeated with this many fold seeds.
    CrossValidation {
        /// Folds.
        folds: usize,
        /// Repeats (seeds `seed`, `seed + 1`, ...); the report is the first repeat's.
        repeats: u64,
    },
}

/// An evaluation.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    /// The labelled data and its axis.
    pub data: DataSpec,
    /// Features and fitting (cross-validation only).
    pub fit: FitChoices,
    /// Label review thresholds as written (`LABEL=P`, or `none`); default: the head's or the
    /// taxonomy's, or for cross-validation what `train` would record.
    pub label_thresholds: Vec<String>,
    /// What to score.
    pub scored: Scored,
    /// The precision to find a review threshold for.
    pub target_precision: f64,
    /// The label whose false-positive rate to report (default: `legitimate` when present).
    pub negative_label: Option<String>,
    /// Write reliability.svg and coverage.svg into this folder.
    pub plot: Option<PathBuf>,
    /// Write each message's decision as JSON lines to this file.
    pub predictions: Option<PathBuf>,
}

/// What `eval` found.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The axis.
    pub axis: String,
    /// What was scored, for people.
    pub method: String,
    /// Messages scored.
    pub messages: usize,
    /// Messages that could not be read.
    pub unreadable: usize,
    /// Messages whose labels are not on the axis (left out).
    pub unmapped: usize,
    /// Seconds it took.
    pub seconds: f64,
    /// Method-specific details (features and config, the spread over repeats, temperatures).
    pub details: serde_json::Map<String, serde_json::Value>,
    /// Informational lines for people (e.g. the NLL-optimal temperature).
    pub notes: Vec<String>,
    /// The scores.
    pub report: Report,
}

/// Run an evaluation. `progress` is called with (embedded, total).
pub fn evaluate_request(
    req: &EvalRequest,
    models: &ModelSpec,
    progress: impl FnMut(usize, usize),
) -> Result<Evaluation, LearnError> {
    let start = Instant::now();
    let (spec, method) = match &req.scored {
        Scored::Head(h) => (
            Head::load(h)?.meta.features.clone(),
            format!("head {}", h.display()),
        ),
        Scored::ZeroShot => (
            FeatureSpec {
                embedding: true,
                ..FeatureSpec::default()
            },
            "zero-shot".to_string(),
        ),
        Scored::CrossValidation { folds, .. } => (
            req.fit.config(&req.data.axis)?.features,
            format!("{folds}-fold cross-validation"),
        ),
    };
    let loaded = data::load(&req.data, &spec, models, spec.embedding, progress)?;
    let mut out = Scores::default();
    let flags = label_threshold_flags(&req.label_thresholds, &req.data.axis, &loaded.set.labels)?;
    let probs = match &req.scored {
        Scored::Head(h) => head_scores(h, req, &loaded, flags.clone(), &mut out)?,
        Scored::ZeroShot => zero_shot_scores(req, &loaded, flags.clone(), &mut out)?,
        Scored::CrossValidation { folds, repeats } => {
            cv_scores(req, &loaded.set, *folds, *repeats, &mut out)?
        }
    };
    let set = &loaded.set;
    let negative = req
        .negative_label
        .clone()
        .or_else(|| set.labels.iter().find(|l| *l == "legitimate").cloned());
    let mut report = evaluate(
        &set.labels,
        &set.y,
        &probs,
        req.target_precision,
        negative.as_deref(),
    );
    let (threshold, labels) = match out.rule {
        Some(r) => r,
        None => (
            report
                .threshold_for_target
                .as_ref()
                .map_or(0.5, |p| p.threshold as f32),
            label_thresholds(&req.label_thresholds, &req.data.axis, &set.labels)?,
        ),
    };
    report.review = Some(review_outcome(
        &set.labels,
        &set.y,
        &probs,
        &ReviewPolicy::default().for_axis(threshold, &labels),
        negative.as_deref(),
    ));
    if let Some(dir) = &req.plot {
        write_plots(dir, &report, &format!("{} ({method})", req.data.axis))?;
    }
    if let Some(path) = &req.predictions {
        write_predictions(path, set, &probs).map_err(|e| LearnError::io(path, e))?;
    }
    Ok(Evaluation {
        axis: req.data.axis.clone(),
        method,
        messages: set.len(),
        unreadable: loaded.failed,
        unmapped: loaded.unmapped,
        seconds: start.elapsed().as_secs_f64(),
        details: out.details,
        notes: out.notes,
        report,
    })
}

/// What scoring produced besides the probabilities.
#[derive(Default)]
struct Scores {
    /// The review rule to report: the head's or the taxonomy's (`None`: what `train` would
    /// record, found from the report).
    rule: Option<(f32, BTreeMap<String, f32>)>,
    details: serde_json::Map<String, serde_json::Value>,
    notes: Vec<String>,
}

fn head_scores(
    path: &Path,
    req: &EvalRequest,
    loaded: &Loaded,
    flags: Option<BTreeMap<String, f32>>,
    out: &mut Scores,
) -> Result<Vec<Vec<f32>>, LearnError> {
    let set = &loaded.set;
    let head = Head::load(path)?;
    if head.meta.axis != req.data.axis {
        return Err(LearnError::Invalid(format!(
            "head {} decides axis {}, not {}",
            path.display(),
            head.meta.axis,
            req.data.axis
        )));
    }
    if let Some(e) = &loaded.encoder {
        head.check_encoder(path, e.model_id(), e.sha256())?;
    }
    if head.meta.labels != set.labels {
        return Err(LearnError::Invalid(format!(
            "head labels {:?} differ from the data's {:?}",
            head.meta.labels, set.labels
        )));
    }
    out.rule = Some((
        head.meta.review_threshold,
        flags.unwrap_or_else(|| head.meta.label_review_thresholds.clone()),
    ));
    Ok((0..set.len())
        .map(|i| {
            let e = set.embeddings.get(i).map(Vec::as_slice);
            head.probabilities(&set.docs[i], e)
        })
        .collect::<Result<_, _>>()?)
}

fn zero_shot_scores(
    req: &EvalRequest,
    loaded: &Loaded,
    flags: Option<BTreeMap<String, f32>>,
    out: &mut Scores,
) -> Result<Vec<Vec<f32>>, LearnError> {
    let set = &loaded.set;
    let encoder = loaded
        .encoder
        .as_ref()
        .ok_or_else(|| LearnError::Invalid("zero-shot needs the encoder".into()))?;
    let axis = loaded
        .taxonomy
        .axis(&req.data.axis)
        .ok_or_else(|| {
            LearnError::Invalid(format!("axis {} is not in the taxonomy", req.data.axis))
        })?
        .clone();
    let z = ZeroShot::build(loaded.taxonomy.clone(), encoder as &dyn Embed)?;
    let scores: Vec<Vec<f32>> = set
        .embeddings
        .iter()
        .map(|e| {
            let s = z.scores(&axis.name, e)?;
            Ok(s.iter()
                .zip(&axis.labels)
                .map(|(s, l)| s + l.bias)
                .collect())
        })
        .collect::<Result<_, ClassifyError>>()?;
    out.rule = Some((
        axis.review_threshold,
        flags.unwrap_or_else(|| axis.label_thresholds()),
    ));
    let best = fit_temperature(&scores, &set.y);
    out.details
        .insert("taxonomy".into(), json!(loaded.taxonomy.id()));
    out.details
        .insert("temperature".into(), json!(axis.temperature));
    out.details
        .insert("nll_optimal_temperature".into(), json!(best.temperature));
    out.notes.push(format!(
        "zero-shot: taxonomy temperature {}, NLL-optimal on this data {:.4}",
        axis.temperature, best.temperature
    ));
    Ok(scores
        .iter()
        .map(|s| softmax(s, axis.temperature))
        .collect())
}

fn cv_scores(
    req: &EvalRequest,
    set: &TrainSet,
    folds: usize,
    repeats: u64,
    out: &mut Scores,
) -> Result<Vec<Vec<f32>>, LearnError> {
    let config = req.fit.config(&req.data.axis)?;
    out.details
        .insert("features".into(), json!(config.features.groups()));
    out.details.insert(
        "config".into(),
        serde_json::to_value(&config).map_err(|e| LearnError::Invalid(e.to_string()))?,
    );
    let mut first = None;
    let mut spread = Spread::default();
    for r in 0..repeats.max(1) {
        let mut c = config.clone();
        c.seed = config.seed.wrapping_add(r);
        let probs = cross_validate(set, folds, &c);
        spread.add(set, &probs, folds, c.seed);
        first.get_or_insert(probs);
    }
    out.details.insert("spread".into(), spread.summary());
    Ok(first.unwrap_or_default())
}

fn write_plots(dir: &Path, report: &Report, title: &str) -> Result<(), LearnError> {
    std::fs::create_dir_all(dir).map_err(|e| LearnError::io(dir, e))?;
    for (name, svg) in [
        ("reliability.svg", reliability_svg(report, title)),
        ("coverage.svg", coverage_svg(report, title)),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, svg).map_err(|e| LearnError::io(&p, e))?;
    }
    Ok(())
}

/// One JSON line per message: its id, true label, predicted label and probabilities.
fn write_predictions(path: &Path, set: &TrainSet, probs: &[Vec<f32>]) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (i, p) in probs.iter().enumerate() {
        let best = argmax(p);
        let line = json!({
            "id": set.ids.get(i).cloned().unwrap_or_else(|| i.to_string()),
            "label": set.labels[set.y[i]],
            "predicted": set.labels.get(best),
            "probability": (p.get(best).copied().unwrap_or(0.0) as f64 * 1e4).round() / 1e4,
            "correct": best == set.y[i],
            "probabilities": Probabilities(set.labels.iter().cloned().zip(p.iter().copied()).collect()),
        });
        serde_json::to_writer(&mut w, &line)?;
        writeln!(w)?;
    }
    w.flush()
}

/// Macro-F1 of every cross-validation repeat (pooled over its folds) and of every single fold.
#[derive(Debug, Default)]
struct Spread {
    repeats: Vec<f64>,
    folds: Vec<f64>,
}

/// Mean and standard deviation.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    (
        m,
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt(),
    )
}

impl Spread {
    fn add(&mut self, set: &TrainSet, probs: &[Vec<f32>], k: usize, seed: u64) {
        self.repeats
            .push(evaluate(&set.labels, &set.y, probs, 0.95, None).macro_f1);
        let all: Vec<usize> = (0..set.len()).collect();
        let fold = stratified_folds(&all, &set.y, k, seed);
        for f in 0..k.max(1) {
            let idx: Vec<usize> = all.iter().copied().filter(|&i| fold[i] == f).collect();
            if idx.is_empty() {
                continue;
            }
            let y: Vec<usize> = idx.iter().map(|&i| set.y[i]).collect();
            let p: Vec<Vec<f32>> = idx.iter().map(|&i| probs[i].clone()).collect();
            self.folds
                .push(evaluate(&set.labels, &y, &p, 0.95, None).macro_f1);
        }
    }

    fn summary(&self) -> serde_json::Value {
        let (rm, rsd) = mean_sd(&self.repeats);
        let (fm, fsd) = mean_sd(&self.folds);
        json!({
            "repeat_macro_f1": self.repeats,
            "repeat_mean": rm,
            "repeat_sd": rsd,
            "fold_macro_f1": self.folds,
            "fold_mean": fm,
            "fold_sd": fsd,
        })
    }
}

/// The spread of macro-F1 over repeats and folds, as a line for people.
pub fn spread_line(v: &serde_json::Value) -> String {
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let n = |k: &str| v[k].as_array().map_or(0, Vec::len);
    format!(
        "macro-F1 over {} repeats: {:.3} ± {:.3} (sd); over {} single folds: {:.3} ± {:.3}",
        n("repeat_macro_f1"),
        f("repeat_mean"),
        f("repeat_sd"),
        n("fold_macro_f1"),
        f("fold_mean"),
        f("fold_sd")
    )
}
