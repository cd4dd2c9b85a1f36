//! Learning curves (issue 17): macro-F1 and accuracy after `k` labelled messages per label, for
//! each way of fitting a head, mean ± sd over seeds, with the taxonomy's zero-shot decisions
//! as the `k = 0` baseline.
//!
//! Two splits. **random**: per label, `min(k, half of the label's messages)` drawn at random
//! (fixed seeds) for training, the rest for testing. **source** (when the labels CSV has a
//! `source` column): each source with at least [`MIN_GROUP`] messages is held out in turn,
//! the `k` per label drawn from the other sources only: how well what was learned on one
//! channel carries to another.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::classify::logreg::softmax;
use crate::classify::{ClassifyError, Embed, ZeroShot};
use crate::pipeline::ModelSpec;

use super::choices::FitChoices;
use super::corpus::split_csv_line;
use super::data::{self, DataSpec, Loaded};
use super::eval::mean_sd;
use super::fewshot::{fit_head, HeadMethod, LabelPrior};
use super::fit::{probabilities, TrainConfig, TrainSet};
use super::metrics::evaluate;
use super::LearnError;

/// Fewest messages a source needs to be held out in the source split.
pub const MIN_GROUP: usize = 20;

/// A learning-curve measurement.
#[derive(Debug, Clone)]
pub struct CurveRequest {
    /// The labelled data and its axis.
    pub data: DataSpec,
    /// Features and fitting (the method is set per row).
    pub fit: FitChoices,
    /// Labelled messages per label to train on.
    pub per_class: Vec<usize>,
    /// Seeds `0..seeds` for the draws.
    pub seeds: u64,
    /// The methods to measure (`auto` included when named).
    pub methods: Vec<HeadMethod>,
}

/// Mean and standard deviation over runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
}

impl Spread {
    fn of(v: &[f64]) -> Spread {
        let (mean, sd) = mean_sd(v);
        Spread { mean, sd }
    }
}

/// One point of a curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// `random` or `source`.
    pub split: String,
    /// The method.
    pub method: String,
    /// Labelled messages per label asked for.
    pub per_class: usize,
    /// Training messages actually drawn, mean over runs.
    pub trained: f64,
    /// Macro-F1 on the test messages.
    pub macro_f1: Spread,
    /// Accuracy on the test messages.
    pub accuracy: Spread,
    /// Runs (seeds, times held-out sources).
    pub runs: usize,
    /// For `auto`: the method it chose in each run, counted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chose: Vec<(String, usize)>,
}

/// A measured learning curve.
#[derive(Debug, Clone, Serialize)]
pub struct Curve {
    /// The axis.
    pub axis: String,
    /// Labels, in order.
    pub labels: Vec<String>,
    /// Messages per label.
    pub counts: Vec<usize>,
    /// Zero-shot on every message (macro-F1, accuracy), when the taxonomy has the axis.
    pub zero_shot: Option<(f64, f64)>,
    /// The sources held out in the source split, with their messages.
    pub sources: Vec<(String, usize)>,
    /// The points, by split, then `per_class`, then method.
    pub points: Vec<CurvePoint>,
    /// Messages that could not be read.
    pub unreadable: usize,
}

/// A small deterministic generator (SplitMix64).
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `v` shuffled with `seed`.
pub(crate) fn shuffled(v: &[usize], seed: u64) -> Vec<usize> {
    let mut state = seed ^ 0xc0ffee;
    let mut keyed: Vec<(u64, usize)> = v.iter().map(|&i| (splitmix(&mut state), i)).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Per label, up to `k` of `candidates` drawn with `seed` (at most half of the label's
/// candidates when `keep_half`, so that each label keeps messages to test on).
pub fn sample_per_class(
    y: &[usize],
    candidates: &[usize],
    k: usize,
    seed: u64,
    keep_half: bool,
) -> Vec<usize> {
    let labels = y.iter().copied().max().map_or(0, |m| m + 1);
    let mut out = Vec::new();
    for c in 0..labels {
        let of: Vec<usize> = candidates.iter().copied().filter(|&i| y[i] == c).collect();
        let cap = if keep_half { of.len() / 2 } else { of.len() };
        out.extend(
            shuffled(&of, seed.wrapping_mul(31).wrapping_add(c as u64))
                .into_iter()
                .take(k.min(cap)),
        );
    }
    out.sort_unstable();
    out
}

/// The `source` column of the labels CSVs among `paths`, keyed by message id (the file's
/// path as the corpus reader writes it); empty when no CSV has one.
pub fn sources(paths: &[std::path::PathBuf]) -> Result<HashMap<String, String>, LearnError> {
    let mut out = HashMap::new();
    for p in paths {
        let csv = if p.is_dir() {
            p.join("labels.csv")
        } else {
            p.clone()
        };
        if csv.extension().and_then(|e| e.to_str()) != Some("csv") || !csv.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&csv).map_err(|e| LearnError::io(&csv, e))?;
        let base = csv.parent().unwrap_or(Path::new("."));
        let mut lines = text.lines();
        let header = split_csv_line(lines.next().unwrap_or(""));
        let col = |n: &str| header.iter().position(|h| h.trim() == n);
        let (Some(pc), Some(sc)) = (col("path"), col("source")) else {
            continue;
        };
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let f = split_csv_line(line);
            if let (Some(path), Some(src)) = (f.get(pc), f.get(sc)) {
                let id = base.join(path.trim()).display().to_string();
                out.insert(id, src.trim().to_string());
            }
        }
    }
    Ok(out)
}

/// Zero-shot macro-F1 and accuracy on every message of `loaded` (None: not a taxonomy axis).
pub fn zero_shot_scores(loaded: &Loaded, axis: &str) -> Result<Option<(f64, f64)>, LearnError> {
    let (Some(encoder), Some(a)) = (&loaded.encoder, loaded.taxonomy.axis(axis)) else {
        return Ok(None);
    };
    let set = &loaded.set;
    if a.label_names() != set.labels {
        return Ok(None);
    }
    let z = ZeroShot::build(loaded.taxonomy.clone(), encoder as &dyn Embed)?;
    let probs = set
        .embeddings
        .iter()
        .map(|e| {
            let s: Vec<f32> = z
                .scores(axis, e)?
                .iter()
                .zip(&a.labels)
                .map(|(s, l)| s + l.bias)
                .collect();
            Ok(softmax(&s, a.temperature))
        })
        .collect::<Result<Vec<_>, ClassifyError>>()?;
    let r = evaluate(&set.labels, &set.y, &probs, 0.95, None);
    Ok(Some((r.macro_f1, r.accuracy)))
}

/// Fit `method` on `train`, score on `test`: (macro-F1, accuracy, the method used).
pub fn score(
    set: &TrainSet,
    train: &[usize],
    test: &[usize],
    config: &TrainConfig,
    prior: Option<&LabelPrior>,
) -> (f64, f64, String) {
    let (fitted, few) = fit_head(set, train, config, prior);
    let probs: Vec<Vec<f32>> = test
        .iter()
        .map(|&i| probabilities(&fitted, set, i))
        .collect();
    let y: Vec<usize> = test.iter().map(|&i| set.y[i]).collect();
    let r = evaluate(&set.labels, &y, &probs, 0.95, None);
    let used = few.map_or("logistic".to_string(), |f| f.method);
    (r.macro_f1, r.accuracy, used)
}

/// Measure the curves. `progress` is called with (embedded, total) while embedding, then
/// `point` with each point as it is measured.
pub fn learning_curve(
    req: &CurveRequest,
    models: &ModelSpec,
    progress: impl FnMut(usize, usize),
    mut point: impl FnMut(&CurvePoint),
) -> Result<Curve, LearnError> {
    let base = req.fit.config(&req.data.axis)?;
    let loaded = data::load(&req.data, &base.features, models, true, progress)?;
    let set = &loaded.set;
    let prior = match &loaded.encoder {
        Some(e) => LabelPrior::build(&loaded.taxonomy, &req.data.axis, &set.labels, e)?,
        None => None,
    };
    let zero_shot = zero_shot_scores(&loaded, &req.data.axis)?;
    let by_id = sources(&req.data.data)?;
    let group: Vec<Option<&String>> = set.ids.iter().map(|id| by_id.get(id)).collect();
    let mut held: Vec<(String, usize)> = Vec::new();
    for g in group.iter().flatten() {
        match held.iter_mut().find(|(n, _)| n == *g) {
            Some(h) => h.1 += 1,
            None => held.push(((*g).clone(), 1)),
        }
    }
    held.retain(|(_, n)| *n >= MIN_GROUP);
    held.sort();
    let all: Vec<usize> = (0..set.len()).collect();
    let mut points = Vec::new();
    let splits: &[&str] = if held.len() >= 2 {
        &["random", "source"]
    } else {
        &["random"]
    };
    for &split in splits {
        for &k in &req.per_class {
            for &method in &req.methods {
                let config = TrainConfig {
                    method,
                    ..base.clone()
                };
                let (mut f1, mut acc, mut trained) = (Vec::new(), Vec::new(), Vec::new());
                let mut chose: Vec<(String, usize)> = Vec::new();
                for seed in 0..req.seeds {
                    let runs: Vec<(Vec<usize>, Vec<usize>)> = if split == "random" {
                        let train = sample_per_class(&set.y, &all, k, seed, true);
                        let test = all
                            .iter()
                            .copied()
                            .filter(|i| train.binary_search(i).is_err())
                            .collect();
                        vec![(train, test)]
                    } else {
                        held.iter()
                            .map(|(g, _)| {
                                let (test, rest): (Vec<usize>, Vec<usize>) =
                                    all.iter().partition(|&&i| group[i] == Some(g));
                                (sample_per_class(&set.y, &rest, k, seed, false), test)
                            })
                            .collect()
                    };
                    for (train, test) in runs {
                        let (f, a, used) = score(set, &train, &test, &config, prior.as_ref());
                        f1.push(f);
                        acc.push(a);
                        trained.push(train.len() as f64);
                        match chose.iter_mut().find(|(m, _)| *m == used) {
                            Some(c) => c.1 += 1,
                            None => chose.push((used, 1)),
                        }
                    }
                }
                let p = CurvePoint {
                    split: split.to_string(),
                    method: method.as_str().to_string(),
                    per_class: k,
                    trained: mean_sd(&trained).0,
                    macro_f1: Spread::of(&f1),
                    accuracy: Spread::of(&acc),
                    runs: f1.len(),
                    chose: if method == HeadMethod::Auto {
                        chose
                    } else {
                        Vec::new()
                    },
                };
                point(&p);
                points.push(p);
            }
        }
    }
    Ok(Curve {
        axis: req.data.axis.clone(),
        labels: set.labels.clone(),
        counts: set.counts(),
        zero_shot,
        sources: held,
        points,
        unreadable: loaded.failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded_per_label_and_leave_half_to_test() {
        let y: Vec<usize> = (0..40).map(|i| usize::from(i % 4 == 0)).collect();
        let all: Vec<usize> = (0..40).collect();
        let a = sample_per_class(&y, &all, 8, 3, true);
        assert_eq!(a, sample_per_class(&y, &all, 8, 3, true));
        assert_ne!(a, sample_per_class(&y, &all, 8, 4, true));
        // Label 1 has 10 messages: at most 5 drawn; label 0 has 30: 8.
        assert_eq!(a.iter().filter(|&&i| y[i] == 1).count(), 5);
        assert_eq!(a.iter().filter(|&&i| y[i] == 0).count(), 8);
        let b = sample_per_class(&y, &all, 8, 3, false);
        assert_eq!(b.iter().filter(|&&i| y[i] == 1).count(), 8);
    }
}
