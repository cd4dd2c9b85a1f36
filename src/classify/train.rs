//! Training and cross-validation of heads: stratified seeded folds, the feature vocabulary fitted
//! on training messages only, logistic regression, and a temperature fitted on messages the
//! model did not see (out-of-fold logits from inner folds, then one final fit on everything).

use serde::{Deserialize, Serialize};

use super::calibrate::{fit_temperature, Calibration};
use super::features::{terms, FeatureSpec, Featurizer, Terms};
use super::logreg::{softmax, LogReg, TrainOptions};
use super::Document;

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

    fn embedding_dim(&self) -> usize {
        self.embeddings.iter().map(Vec::len).max().unwrap_or(0)
    }

    fn embedding(&self, i: usize) -> Option<&[f32]> {
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
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            features: FeatureSpec::default(),
            options: TrainOptions::default(),
            calibration_folds: 3,
            seed: 17,
        }
    }
}

/// A fitted model: vocabulary, weights and calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The features.
    pub featurizer: Featurizer,
    /// The weights.
    pub model: LogReg,
    /// The calibration.
    pub calibration: Calibration,
}

impl Fitted {
    /// Uncalibrated logits of message `i` of `set`.
    fn logits(&self, set: &TrainSet, i: usize) -> Vec<f32> {
        let x = self
            .featurizer
            .transform(&set.docs[i], &set.terms[i], set.embedding(i));
        self.model.logits(&x)
    }

    /// Calibrated probabilities of message `i` of `set`.
    pub fn probabilities(&self, set: &TrainSet, i: usize) -> Vec<f32> {
        softmax(&self.logits(set, i), self.calibration.temperature)
    }
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
    let model = LogReg::fit(&x, &y, set.labels.len(), featurizer.dim(), &config.options);
    Fitted {
        featurizer,
        model,
        calibration: Calibration::default(),
    }
}

/// Fit on messages `idx` of `set` and calibrate a temperature on inner out-of-fold logits.
pub fn fit(set: &TrainSet, idx: &[usize], config: &TrainConfig) -> Fitted {
    let calibration = if config.calibration_folds >= 2 {
        let folds = stratified_folds(idx, &set.y, config.calibration_folds, config.seed ^ 0x5eed);
        let mut logits = Vec::new();
        let mut ys = Vec::new();
        for f in 0..config.calibration_folds {
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
                logits.push(m.logits(set, i));
                ys.push(set.y[i]);
            }
        }
        fit_temperature(&logits, &ys)
    } else {
        Calibration::default()
    };
    let mut fitted = fit_uncalibrated(set, idx, config);
    fitted.calibration = calibration;
    fitted
}

/// K-fold cross-validation: calibrated out-of-fold probabilities for every message of `set`.
pub fn cross_validate(set: &TrainSet, folds: usize, config: &TrainConfig) -> Vec<Vec<f32>> {
    let all: Vec<usize> = (0..set.len()).collect();
    let fold = stratified_folds(&all, &set.y, folds, config.seed);
    let mut probs = vec![Vec::new(); set.len()];
    for f in 0..folds.max(1) {
        let train: Vec<usize> = all.iter().copied().filter(|&i| fold[i] != f).collect();
        let test: Vec<usize> = all.iter().copied().filter(|&i| fold[i] == f).collect();
        if train.is_empty() || test.is_empty() {
            continue;
        }
        let m = fit(set, &train, config);
        tracing::debug!(
            fold = f,
            iterations = m.model.iterations,
            temperature = m.calibration.temperature,
            "fold fitted"
        );
        for i in test {
            probs[i] = m.probabilities(set, i);
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
        let report = crate::classify::metrics::evaluate(&s.labels, &s.y, &probs, 0.9, None);
        assert!(report.accuracy > 0.95, "{}", report.to_table());
    }
}
