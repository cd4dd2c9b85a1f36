//! Training and cross-validation of heads: stratified seeded folds, the feature vocabulary fitted
//! on training messages only, logistic regression, and a temperature fitted on messages the
//! model did not see (out-of-fold logits from inner folds, then one final fit on everything).

use serde::{Deserialize, Serialize};

use crate::classify::calibrate::{fit_temperature, Calibration};
use crate::classify::features::{terms, FeatureSpec, Featurizer, Terms};
use crate::classify::head::Fitted;
use crate::classify::logreg::{softmax, LogReg, TrainOptions};
use crate::classify::Document;

/// Labelled messages ready for training: documents, their hashed terms and embeddings.
#[derive(Debug, Clone, Default)]
pub struct TrainSet {
    /// Label names; `y` indexes into it.
    pub labels: Vec<String>,
    /// The messages.
    pub docs: Vec<Document>,
    /// Hashed terms of each message (for the spec's hash size).
    pub terms: Vec<Terms>,
    /// Embedding of each message (empty vectors when not computed).
    pub embeddings: Vec<Vec<f32>>,
    /// True label of each message.
    pub y: Vec<usize>,
    /// Where each message came from (path, or file and line); empty when not known.
    pub ids: Vec<String>,
    /// A prior head over the embedding (the taxonomy's zero-shot decision as a prototype
    /// head): when set, every logistic fit on this set learns a correction of the prior's
    /// calibrated logits, and the fitted head carries the prior in its weights
    /// ([`crate::learn::fewshot::HeadMethod::Residual`]).
    pub prior: Option<std::sync::Arc<Fitted>>,
}

impl TrainSet {
    /// Build a set, hashing every document's terms for `spec`.
    pub fn new(
        labels: Vec<String>,
        docs: Vec<Document>,
        y: Vec<usize>,
        embeddings: Vec<Vec<f32>>,
        spec: &FeatureSpec,
    ) -> TrainSet {
        let all = FeatureSpec {
            words: true,
            chars: true,
            ..spec.clone()
        };
        let terms = docs.iter().map(|d| terms(d, &all)).collect();
        TrainSet {
            labels,
            docs,
            terms,
            embeddings,
            y,
            ids: Vec::new(),
            prior: None,
        }
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether there are no messages.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Messages per label.
    pub fn counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.labels.len()];
        for &y in &self.y {
            c[y] += 1;
        }
        c
    }

    /// Width of the embeddings (0 when none was computed).
    pub fn embedding_dim(&self) -> usize {
        self.embeddings.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// The embedding of message `i`, when computed.
    pub fn embedding(&self, i: usize) -> Option<&[f32]> {
        self.embeddings
            .get(i)
            .filter(|e| !e.is_empty())
            .map(Vec::as_slice)
    }
}

/// How to train a head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Features.
    pub features: FeatureSpec,
    /// Logistic regression options.
    pub options: TrainOptions,
    /// Inner folds for the out-of-fold logits the temperature is fitted on (0 or 1: no
    /// calibration).
    pub calibration_folds: usize,
    /// Seed for fold assignment.
    pub seed: u64,
    /// L2 penalties to choose from by inner cross-validation (macro-F1 of the out-of-fold
    /// predictions on the training messages only); empty: use `options.l2`.
    #[serde(default)]
    pub l2_grid: Vec<f64>,
    /// Embedding group weights to choose from the same way (with every L2 penalty of the grid);
    /// empty: use `features.embedding_weight`.
    #[serde(default)]
    pub embedding_weight_grid: Vec<f32>,
    /// Prior shifts to choose from by inner cross-validation (macro-F1): a shift `s` adds
    /// `-s * ln(share of the label in training)` to each label's bias, favouring rare labels.
    /// Empty: no shift.
    #[serde(default)]
    pub prior_shift_grid: Vec<f32>,
    /// Which kind of head to fit ([`crate::learn::fewshot::fit_head`]); [`fit`] itself is
    /// always the logistic head.
    #[serde(default)]
    pub method: crate::learn::fewshot::HeadMethod,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            features: FeatureSpec::default(),
            options: TrainOptions::default(),
            calibration_folds: 3,
            seed: 17,
            l2_grid: Vec::new(),
            embedding_weight_grid: Vec::new(),
            prior_shift_grid: Vec::new(),
            method: crate::learn::fewshot::HeadMethod::default(),
        }
    }
}

/// Uncalibrated logits of message `i` of `set`.
pub fn logits_of(f: &Fitted, set: &TrainSet, i: usize) -> Vec<f32> {
    let x = f
        .featurizer
        .transform(&set.docs[i], &set.terms[i], set.embedding(i));
    f.model.logits(&x)
}

/// Calibrated probabilities of message `i` of `set` under `f`.
pub fn probabilities(f: &Fitted, set: &TrainSet, i: usize) -> Vec<f32> {
    softmax(&logits_of(f, set, i), f.calibration.temperature)
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Assign each of `idx` (with labels `y[idx]`) to one of `k` folds, stratified by label and
/// shuffled with `seed`. Returns the fold of each element of `idx`.
pub fn stratified_folds(idx: &[usize], y: &[usize], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let mut state = seed;
    let mut order: Vec<(usize, u64)> = idx
        .iter()
        .enumerate()
        .map(|(p, _)| (p, splitmix(&mut state)))
        .collect();
    order.sort_by_key(|&(p, r)| (y[idx[p]], r));
    let mut fold = vec![0; idx.len()];
    // Deal each label's messages round-robin, continuing where the previous label stopped so
    // small labels do not all land in fold 0.
    for (n, &(p, _)) in order.iter().enumerate() {
        fold[p] = n % k;
    }
    fold
}

/// Fit features and weights on messages `idx` of `set`, without calibration.
pub fn fit_uncalibrated(set: &TrainSet, idx: &[usize], config: &TrainConfig) -> Fitted {
    let train_terms: Vec<Terms> = idx
        .iter()
        .map(|&i| Terms {
            words: if config.features.words {
                set.terms[i].words.clone()
            } else {
                Vec::new()
            },
            chars: if config.features.chars {
                set.terms[i].chars.clone()
            } else {
                Vec::new()
            },
        })
        .collect();
    let featurizer = Featurizer::fit(config.features.clone(), &train_terms, set.embedding_dim());
    let x: Vec<_> = idx
        .iter()
        .map(|&i| featurizer.transform(&set.docs[i], &set.terms[i], set.embedding(i)))
        .collect();
    let y: Vec<usize> = idx.iter().map(|&i| set.y[i]).collect();
    let k = set.labels.len();
    let prior = set
        .prior
        .as_deref()
        .filter(|_| featurizer.embedding_dim > 0 && config.features.embedding);
    let Some(prior) = prior else {
        let model = LogReg::fit(&x, &y, k, featurizer.dim(), &config.options);
        return Fitted {
            featurizer,
            model,
            calibration: Calibration::default(),
            l2: config.options.l2,
            prior_shift: 0.0,
        };
    };
    // The prior's logits of each message, as the folded head will compute them.
    let zero = Fitted {
        featurizer: featurizer.clone(),
        model: LogReg {
            classes: k,
            dim: featurizer.dim(),
            weight: vec![0.0; k * featurizer.dim()],
            bias: vec![0.0; k],
            iterations: 0,
            objective: f64::NAN,
        },
        calibration: Calibration::default(),
        l2: config.options.l2,
        prior_shift: 0.0,
    };
    let only_prior = add_prior(&zero, prior);
    let offset: Vec<Vec<f32>> = x.iter().map(|xi| only_prior.model.logits(xi)).collect();
    let model =
        LogReg::fit_with_offset(&x, &y, k, featurizer.dim(), &config.options, Some(&offset));
    add_prior(
        &Fitted {
            featurizer,
            model,
            calibration: Calibration::default(),
            l2: config.options.l2,
            prior_shift: 0.0,
        },
        prior,
    )
}

/// Add prototype head `p`'s calibrated scores (its weights over the embedding, divided by
/// its temperature) to head `lr`'s logits (same labels); `lr` must read the embedding. The
/// result is the same linear model, so a head file keeps its format.
pub fn add_prior(lr: &Fitted, p: &Fitted) -> Fitted {
    let mut out = lr.clone();
    let f = &lr.featurizer;
    let offset = f.words.len() + f.chars.len();
    let scale = 1.0 / p.calibration.temperature.max(1e-6);
    // The logistic head sees the embedding times its group weight.
    let per_column = scale / f.spec.embedding_weight.max(1e-6);
    let dim = lr.model.dim;
    for c in 0..lr.model.classes {
        for j in 0..f.embedding_dim.min(p.model.dim) {
            out.model.weight[c * dim + offset + j] +=
                per_column * p.model.weight[c * p.model.dim + j];
        }
        out.model.bias[c] += scale * p.model.bias[c];
    }
    out
}

/// `-ln(share)` of each label among messages `idx` (0 for a label with no message).
fn neg_log_priors(set: &TrainSet, idx: &[usize]) -> Vec<f32> {
    let mut counts = vec![0usize; set.labels.len()];
    for &i in idx {
        counts[set.y[i]] += 1;
    }
    let n = idx.len().max(1) as f32;
    counts
        .iter()
        .map(|&c| if c == 0 { 0.0 } else { -(c as f32 / n).ln() })
        .collect()
}

fn shifted(logits: &[Vec<f32>], shift: f32, nlp: &[f32]) -> Vec<Vec<f32>> {
    logits
        .iter()
        .map(|z| z.iter().zip(nlp).map(|(v, p)| v + shift * p).collect())
        .collect()
}

/// Out-of-fold uncalibrated logits and their labels.
type OutOfFold = (Vec<Vec<f32>>, Vec<usize>);

/// Out-of-fold uncalibrated logits (and their labels) of messages `idx` over `k` inner folds.
fn inner_logits(set: &TrainSet, idx: &[usize], config: &TrainConfig, k: usize) -> OutOfFold {
    let folds = stratified_folds(idx, &set.y, k, config.seed ^ 0x5eed);
    let mut logits = Vec::new();
    let mut ys = Vec::new();
    for f in 0..k {
        let train: Vec<usize> = idx
            .iter()
            .zip(&folds)
            .filter(|p| *p.1 != f)
            .map(|p| *p.0)
            .collect();
        let held: Vec<usize> = idx
            .iter()
            .zip(&folds)
            .filter(|p| *p.1 == f)
            .map(|p| *p.0)
            .collect();
        if train.is_empty() || held.is_empty() {
            continue;
        }
        let m = fit_uncalibrated(set, &train, config);
        for &i in &held {
            logits.push(logits_of(&m, set, i));
            ys.push(set.y[i]);
        }
    }
    (logits, ys)
}

/// Macro-F1 of the argmax of `logits` against `y` over `k` labels (labels absent from `y`
/// and never predicted do not count).
fn macro_f1(logits: &[Vec<f32>], y: &[usize], k: usize) -> f64 {
    let mut tp = vec![0usize; k];
    let mut pred = vec![0usize; k];
    let mut truth = vec![0usize; k];
    for (z, &t) in logits.iter().zip(y) {
        let p = crate::learn::metrics::argmax(z);
        pred[p] += 1;
        truth[t] += 1;
        if p == t {
            tp[t] += 1;
        }
    }
    let mut sum = 0.0;
    let mut n = 0;
    for c in 0..k {
        if truth[c] + pred[c] == 0 {
            continue;
        }
        n += 1;
        sum += 2.0 * tp[c] as f64 / (truth[c] + pred[c]) as f64;
    }
    sum / n.max(1) as f64
}

/// Fit on messages `idx` of `set` and calibrate a temperature on inner out-of-fold logits.
/// With an L2 or embedding-weight grid, the inner folds also choose the penalty and the weight:
/// the pair whose out-of-fold predictions have the best macro-F1 (the lower log-loss on a
/// tie), whose logits then fit the temperature; with a prior-shift grid, the same logits
/// choose the shift.
pub fn fit(set: &TrainSet, idx: &[usize], config: &TrainConfig) -> Fitted {
    let calibrate = config.calibration_folds >= 2;
    let mut config = config.clone();
    let mut oof = None;
    let mut l2s = config.l2_grid.clone();
    if l2s.is_empty() {
        l2s.push(config.options.l2);
    }
    l2s.sort_by(|a, b| b.total_cmp(a));
    let mut weights = config.embedding_weight_grid.clone();
    if weights.is_empty() || !config.features.embedding {
        weights = vec![config.features.embedding_weight];
    }
    weights.sort_by(f32::total_cmp);
    if l2s.len() * weights.len() > 1 {
        let k = config.calibration_folds.max(3);
        // (L2, embedding weight), (macro-F1, -NLL), out-of-fold logits.
        type Candidate = ((f64, f32), (f64, f64), OutOfFold);
        let mut best: Option<Candidate> = None;
        for &l2 in &l2s {
            for &w in &weights {
                let mut c = config.clone();
                c.options.l2 = l2;
                c.features.embedding_weight = w;
                let (logits, ys) = inner_logits(set, idx, &c, k);
                // Macro-F1 first; on a tie (the argmax does not see the scale of the logits),
                // the lower negative log-likelihood.
                let score = (
                    macro_f1(&logits, &ys, set.labels.len()),
                    -crate::classify::calibrate::nll(&logits, &ys, 1.0),
                );
                tracing::debug!(
                    l2,
                    embedding_weight = w,
                    f1 = score.0,
                    "inner cross-validation"
                );
                if best.as_ref().is_none_or(|b| score > b.1) {
                    best = Some(((l2, w), score, (logits, ys)));
                }
            }
        }
        if let Some(((l2, w), _, logits)) = best {
            config.options.l2 = l2;
            config.features.embedding_weight = w;
            oof = Some(logits);
        }
    } else {
        config.options.l2 = l2s[0];
        config.features.embedding_weight = weights[0];
    }
    let nlp = neg_log_priors(set, idx);
    let mut shift = 0.0f32;
    if config.prior_shift_grid.len() > 1 {
        let (logits, ys) = oof.get_or_insert_with(|| {
            inner_logits(set, idx, &config, config.calibration_folds.max(3))
        });
        let mut best = f64::NEG_INFINITY;
        let mut grid = config.prior_shift_grid.clone();
        grid.sort_by(f32::total_cmp);
        for s in grid {
            let score = macro_f1(&shifted(logits, s, &nlp), ys, set.labels.len());
            tracing::debug!(
                shift = s,
                score,
                "inner cross-validation of the prior shift"
            );
            if score > best {
                best = score;
                shift = s;
            }
        }
    } else if let Some(&s) = config.prior_shift_grid.first() {
        shift = s;
    }
    let calibration = if calibrate {
        let (logits, ys) = match oof {
            Some(o) => o,
            None => inner_logits(set, idx, &config, config.calibration_folds),
        };
        fit_temperature(&shifted(&logits, shift, &nlp), &ys)
    } else {
        Calibration::default()
    };
    let mut fitted = fit_uncalibrated(set, idx, &config);
    for (b, p) in fitted.model.bias.iter_mut().zip(&nlp) {
        *b += shift * p;
    }
    fitted.prior_shift = shift;
    fitted.calibration = calibration;
    fitted
}

/// K-fold cross-validation: calibrated out-of-fold probabilities for every message of `set`.
pub fn cross_validate(set: &TrainSet, folds: usize, config: &TrainConfig) -> Vec<Vec<f32>> {
    cross_validate_by(set, folds, config.seed, |train| fit(set, train, config))
}

/// K-fold cross-validation with any way of fitting (`fit_on` fits on the training messages of
/// a fold): calibrated out-of-fold probabilities for every message of `set`.
pub fn cross_validate_by(
    set: &TrainSet,
    folds: usize,
    seed: u64,
    fit_on: impl Fn(&[usize]) -> Fitted,
) -> Vec<Vec<f32>> {
    let all: Vec<usize> = (0..set.len()).collect();
    let fold = stratified_folds(&all, &set.y, folds, seed);
    let mut probs = vec![Vec::new(); set.len()];
    for f in 0..folds.max(1) {
        let train: Vec<usize> = all.iter().copied().filter(|&i| fold[i] != f).collect();
        let test: Vec<usize> = all.iter().copied().filter(|&i| fold[i] == f).collect();
        if train.is_empty() || test.is_empty() {
            continue;
        }
        let m = fit_on(&train);
        tracing::debug!(
            fold = f,
            iterations = m.model.iterations,
            temperature = m.calibration.temperature,
            "fold fitted"
        );
        for i in test {
            probs[i] = probabilities(&m, set, i);
        }
    }
    probs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> TrainSet {
        let mut docs = Vec::new();
        let mut y = Vec::new();
        let topics = [
            ("invoice", "please pay the overdue invoice balance now"),
            ("meeting", "can we meet on friday in the office room"),
            ("win", "congratulations you won a free prize click here"),
        ];
        for i in 0..45 {
            let (s, b) = topics[i % 3];
            docs.push(Document::new(
                format!("{s} {i}"),
                format!("{b} number {i} extra{}", i % 5),
            ));
            y.push(i % 3);
        }
        let spec = FeatureSpec {
            embedding: false,
            min_df: 1,
            ..FeatureSpec::default()
        };
        TrainSet::new(
            vec!["a".into(), "b".into(), "c".into()],
            docs,
            y,
            Vec::new(),
            &spec,
        )
    }

    fn config() -> TrainConfig {
        TrainConfig {
            features: FeatureSpec {
                embedding: false,
                min_df: 1,
                ..FeatureSpec::default()
            },
            ..TrainConfig::default()
        }
    }

    #[test]
    fn folds_are_stratified_and_seeded() {
        let y: Vec<usize> = (0..30).map(|i| usize::from(i % 3 == 0)).collect();
        let idx: Vec<usize> = (0..30).collect();
        let f = stratified_folds(&idx, &y, 5, 1);
        assert_eq!(f, stratified_folds(&idx, &y, 5, 1));
        for k in 0..5 {
            let ones = (0..30).filter(|&i| f[i] == k && y[i] == 1).count();
            assert_eq!(ones, 2);
        }
    }

    #[test]
    fn cross_validation_separates_topics() {
        let s = set();
        let probs = cross_validate(&s, 3, &config());
        let report = crate::learn::metrics::evaluate(&s.labels, &s.y, &probs, 0.9, None);
        assert!(report.accuracy > 0.95, "{}", report.to_table());
    }

    #[test]
    fn inner_cross_validation_chooses_the_embedding_weight() {
        // Only the embedding tells the labels apart (the words are the same for all): a weight
        // of 0.01 under this penalty leaves every probability near a third, 10 separates them.
        let mut docs = Vec::new();
        let mut y = Vec::new();
        let mut emb = Vec::new();
        for i in 0..45 {
            docs.push(Document::new("note", format!("same words {}", i % 7)));
            y.push(i % 3);
            let mut e = vec![0.1f32; 3];
            e[i % 3] = 1.0;
            emb.push(e);
        }
        let spec = FeatureSpec {
            words: false,
            chars: false,
            structure: false,
            shape: false,
            embedding: true,
            min_df: 1,
            ..FeatureSpec::default()
        };
        let s = TrainSet::new(
            vec!["a".into(), "b".into(), "c".into()],
            docs,
            y,
            emb,
            &spec,
        );
        let all: Vec<usize> = (0..s.len()).collect();
        let c = TrainConfig {
            features: spec,
            options: TrainOptions {
                l2: 0.1,
                ..TrainOptions::default()
            },
            embedding_weight_grid: vec![0.01, 10.0],
            ..TrainConfig::default()
        };
        let m = fit(&s, &all, &c);
        assert_eq!(m.featurizer.spec.embedding_weight, 10.0);
        assert_eq!(crate::learn::metrics::argmax(&probabilities(&m, &s, 1)), 1);
    }

    #[test]
    fn inner_cross_validation_chooses_from_the_grid() {
        let s = set();
        let all: Vec<usize> = (0..s.len()).collect();
        let c = TrainConfig {
            l2_grid: vec![1e-4, 1e3],
            prior_shift_grid: vec![0.0, 1.0],
            ..config()
        };
        let m = fit(&s, &all, &c);
        // A penalty of 1000 flattens every logit (same argmax, far worse log-loss): the inner
        // folds must reject it.
        assert_eq!(m.l2, 1e-4);
        assert!(m.prior_shift == 0.0 || m.prior_shift == 1.0);
        let p = probabilities(&m, &s, 0);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn a_prior_shift_favours_the_rare_label() {
        // Two labels, one nine times rarer; the same ambiguous message scores higher for the
        // rare label once the shift is folded into the biases.
        let mut docs = Vec::new();
        let mut y = Vec::new();
        for i in 0..40 {
            let rare = i % 10 == 0;
            let body = if rare { "alpha shared" } else { "beta shared" };
            docs.push(Document::new("", format!("{body} {i}")));
            y.push(usize::from(rare));
        }
        let spec = FeatureSpec {
            embedding: false,
            chars: false,
            min_df: 1,
            ..FeatureSpec::default()
        };
        let s = TrainSet::new(
            vec!["common".into(), "rare".into()],
            docs,
            y,
            Vec::new(),
            &spec,
        );
        let all: Vec<usize> = (0..s.len()).collect();
        let base = TrainConfig {
            features: spec,
            calibration_folds: 0,
            ..TrainConfig::default()
        };
        let plain = fit(&s, &all, &base);
        let shifted = fit(
            &s,
            &all,
            &TrainConfig {
                prior_shift_grid: vec![1.0],
                ..base
            },
        );
        assert_eq!(shifted.prior_shift, 1.0);
        let gap = |m: &Fitted| m.model.bias[1] - m.model.bias[0];
        let expect = (0.9f32 / 0.1).ln();
        assert!((gap(&shifted) - gap(&plain) - expect).abs() < 1e-4);
    }
}
