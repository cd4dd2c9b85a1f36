//! Heads from few labels (issue 17): a department starts with tens of corrections, not
//! thousands. Four ways to fit a head, and the rule that picks one from the number of labelled
//! messages per label:
//!
//! - **prototype**: per label, the mean direction of its labelled embeddings mixed with the
//!   taxonomy's own label prototype (its description and examples) weighted as
//!   [`PRIOR_WEIGHT`] messages; a message's score is its cosine with each prototype plus the
//!   label's taxonomy bias; the temperature is fitted on leave-one-out scores of the labelled
//!   messages (the taxonomy's while there are too few). A label nobody has labelled yet still
//!   has the taxonomy's prototype, so it can be predicted from the first correction on.
//! - **blend**: the logistic head's logits plus the prototype's calibrated scores, with one
//!   temperature fitted on inner out-of-fold logits of the sum.
//! - **residual**: the logistic head fitted as a correction of the taxonomy's prototype
//!   decision (its calibrated logits a fixed offset; weights and biases penalised towards it),
//!   so that few labels stay near the prior and more move away from it. On the learning
//!   curves it beats the blend in every cell measured (public category and priority, random
//!   and source-held-out splits, 8 to 32 per label), hence `auto` picks it where it picked the
//!   blend; an axis of its own, with no prior, still gets the blend.
//! - **logistic**: [`fit::fit`], unchanged.
//!
//! Prototypes are weight rows on the embedding columns, so every head this module fits is the
//! same linear model over features that [`crate::classify::Head`] already reads: no new file
//! format, and a logistic head (the shipped ones) keeps its bytes.
//!
//! The thresholds of the rule come from the learning curves in the README (`mailroom eval
//! curve`).

use serde::{Deserialize, Serialize};

use crate::classify::calibrate::{fit_temperature, Calibration};
use crate::classify::features::{FeatureSpec, Featurizer};
use crate::classify::head::{FewShotMeta, Fitted};
use crate::classify::logreg::LogReg;
use crate::classify::{ClassifyError, Embed, Taxonomy, ZeroShot};

use super::fit::{
    add_prior, fit, fit_uncalibrated, logits_of, stratified_folds, TrainConfig, TrainSet,
};

/// Weight of the taxonomy's label prototype, in labelled messages.
pub const PRIOR_WEIGHT: f32 = 2.0;
/// Below this median of labelled messages per label, `auto` fits the prototype head.
pub const PROTOTYPE_BELOW: usize = 8;
/// From this median on, `auto` fits the logistic head (between the two: the residual head).
pub const LOGISTIC_FROM: usize = 24;
/// Fewest leave-one-out scores a prototype head fits its own temperature on.
const MIN_CALIBRATION: usize = 12;

/// Which head to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HeadMethod {
    /// Chosen by the number of labelled messages per label ([`HeadMethod::resolve`]).
    #[default]
    Auto,
    /// Multinomial logistic regression ([`fit::fit`]).
    Logistic,
    /// Prototypes: class means mixed with the taxonomy's label prototypes.
    Prototype,
    /// The logistic head plus the prototypes.
    Blend,
    /// Logistic regression that learns a correction of the taxonomy's zero-shot decision: the
    /// zero-shot logits are a fixed offset while fitting, and the penalty pulls the weights
    /// towards the zero-shot head instead of towards nothing, so that few labels stay close
    /// to zero-shot and many move away from it. Needs the taxonomy's axis (else logistic).
    Residual,
}

impl HeadMethod {
    /// Every method `auto` can pick, in the order reports list them.
    pub const CONCRETE: [HeadMethod; 4] = [
        HeadMethod::Prototype,
        HeadMethod::Blend,
        HeadMethod::Logistic,
        HeadMethod::Residual,
    ];

    /// The name as written on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            HeadMethod::Auto => "auto",
            HeadMethod::Logistic => "logistic",
            HeadMethod::Prototype => "prototype",
            HeadMethod::Blend => "blend",
            HeadMethod::Residual => "residual",
        }
    }

    /// The method to fit on labelled messages with `counts` per label: `auto` becomes
    /// prototype below a median of [`PROTOTYPE_BELOW`] per label, residual (the blend when
    /// there is no taxonomy prior) below [`LOGISTIC_FROM`], logistic from there on. Without embeddings only the logistic head can
    /// be fitted.
    pub fn resolve(self, counts: &[usize], embeddings: bool) -> HeadMethod {
        if !embeddings {
            return HeadMethod::Logistic;
        }
        match self {
            HeadMethod::Auto => match median(counts) {
                m if m < PROTOTYPE_BELOW => HeadMethod::Prototype,
                m if m < LOGISTIC_FROM => HeadMethod::Residual,
                _ => HeadMethod::Logistic,
            },
            m => m,
        }
    }
}

impl std::str::FromStr for HeadMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "auto" => Ok(HeadMethod::Auto),
            "logistic" => Ok(HeadMethod::Logistic),
            "prototype" => Ok(HeadMethod::Prototype),
            "blend" => Ok(HeadMethod::Blend),
            "residual" => Ok(HeadMethod::Residual),
            other => Err(format!(
                "head method {other:?}: expected auto, logistic, prototype, blend or residual"
            )),
        }
    }
}

/// The median of `counts` (the lower middle value; 0 when empty).
pub fn median(counts: &[usize]) -> usize {
    let mut v = counts.to_vec();
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

/// The taxonomy's label prototypes of one axis, in the axis's label order.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelPrior {
    /// Normalised mean embedding of each label's description and examples.
    pub prototypes: Vec<Vec<f32>>,
    /// Each label's taxonomy bias.
    pub bias: Vec<f32>,
    /// The axis's zero-shot temperature.
    pub temperature: f32,
}

impl LabelPrior {
    /// The prior of `axis` when the taxonomy has it with exactly `labels` (None otherwise).
    pub fn build(
        taxonomy: &Taxonomy,
        axis: &str,
        labels: &[String],
        encoder: &dyn Embed,
    ) -> Result<Option<LabelPrior>, ClassifyError> {
        let Some(a) = taxonomy.axis(axis) else {
            return Ok(None);
        };
        if a.label_names() != labels {
            return Ok(None);
        }
        let mut one = taxonomy.clone();
        one.axes.retain(|x| x.name == axis);
        let z = ZeroShot::build(one, encoder)?;
        let (p, b, t) = z.prototypes(axis)?;
        Ok(Some(LabelPrior {
            prototypes: p.to_vec(),
            bias: b.to_vec(),
            temperature: t,
        }))
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn normalise(v: &mut [f32]) -> bool {
    let n = dot(v, v).sqrt();
    if n <= 1e-12 {
        return false;
    }
    v.iter_mut().for_each(|x| *x /= n);
    true
}

/// The bias of a label with neither labelled messages nor a prior: never predicted.
const ABSENT: f32 = -30.0;

/// Prototype rows and biases from per-label sums of embeddings (`sums`, `counts`).
fn rows(sums: &[Vec<f32>], prior: Option<&LabelPrior>, w: f32) -> (Vec<Vec<f32>>, Vec<f32>) {
    let mut out = Vec::new();
    let mut bias = Vec::new();
    for (c, s) in sums.iter().enumerate() {
        let mut v = s.clone();
        if let Some(p) = prior {
            for (a, b) in v.iter_mut().zip(&p.prototypes[c]) {
                *a += w * b;
            }
        }
        let ok = normalise(&mut v);
        bias.push(match (ok, prior) {
            (false, _) => ABSENT,
            (true, Some(p)) => p.bias[c],
            (true, None) => 0.0,
        });
        out.push(v);
    }
    (out, bias)
}

/// Fit a prototype head on messages `idx` of `set` (their embeddings), mixing in `prior`
/// weighted as `prior_weight` messages per label.
pub fn fit_prototype(
    set: &TrainSet,
    idx: &[usize],
    prior: Option<&LabelPrior>,
    prior_weight: f32,
) -> Fitted {
    let d = set
        .embedding_dim()
        .max(prior.and_then(|p| p.prototypes.first()).map_or(0, Vec::len));
    let k = set.labels.len();
    let w = if prior.is_some() { prior_weight } else { 0.0 };
    let mut sums = vec![vec![0.0f32; d]; k];
    let mut counts = vec![0usize; k];
    for &i in idx {
        if let Some(e) = set.embedding(i) {
            for (a, b) in sums[set.y[i]].iter_mut().zip(e) {
                *a += b;
            }
            counts[set.y[i]] += 1;
        }
    }
    let (protos, bias) = rows(&sums, prior, w);
    // Leave-one-out scores: each labelled message against its own label's prototype without
    // it (skipped where nothing would be left), the others as fitted.
    let mut logits = Vec::new();
    let mut ys = Vec::new();
    for &i in idx {
        let (Some(e), c) = (set.embedding(i), set.y[i]) else {
            continue;
        };
        if counts[c] < 2 && w == 0.0 {
            continue;
        }
        let mut own = sums[c].clone();
        for (a, b) in own.iter_mut().zip(e) {
            *a -= b;
        }
        if let Some(p) = prior {
            for (a, b) in own.iter_mut().zip(&p.prototypes[c]) {
                *a += w * b;
            }
        }
        normalise(&mut own);
        let z: Vec<f32> = (0..k)
            .map(|j| {
                let row = if j == c { &own } else { &protos[j] };
                dot(row, e) + bias[j]
            })
            .collect();
        logits.push(z);
        ys.push(c);
    }
    let labelled = counts.iter().filter(|&&n| n > 0).count();
    let calibration = if logits.len() >= MIN_CALIBRATION && labelled >= 2 {
        fit_temperature(&logits, &ys)
    } else {
        Calibration {
            method: "taxonomy".into(),
            temperature: prior.map_or(0.05, |p| p.temperature),
            ..Calibration::default()
        }
    };
    let spec = FeatureSpec {
        words: false,
        chars: false,
        embedding: true,
        structure: false,
        shape: false,
        header_flags: false,
        voice: false,
        urgency: false,
        embedding_weight: 1.0,
        ..FeatureSpec::default()
    };
    let featurizer = Featurizer::fit(spec, &[], d);
    Fitted {
        featurizer,
        model: LogReg {
            classes: k,
            dim: d,
            weight: protos.into_iter().flatten().collect(),
            bias,
            iterations: 0,
            objective: f64::NAN,
        },
        calibration,
        l2: 0.0,
        prior_shift: 0.0,
    }
}

/// Fit the blend on messages `idx`: the logistic head (`config`, uncalibrated) plus the
/// prototype head; one temperature on inner out-of-fold logits of the sum. Falls back to the
/// logistic head when its features leave out the embedding.
pub fn fit_blend(
    set: &TrainSet,
    idx: &[usize],
    config: &TrainConfig,
    prior: Option<&LabelPrior>,
    prior_weight: f32,
) -> Fitted {
    if !config.features.embedding || set.embedding_dim() == 0 {
        return fit(set, idx, config);
    }
    let uncalibrated = TrainConfig {
        calibration_folds: 0,
        ..config.clone()
    };
    let lr = fit(set, idx, &uncalibrated);
    let mut blend = add_prior(&lr, &fit_prototype(set, idx, prior, prior_weight));
    let k = config.calibration_folds;
    if k >= 2 {
        // The inner folds refit with what the grids chose for all of `idx`.
        let mut chosen = uncalibrated.clone();
        chosen.options.l2 = lr.l2;
        chosen.features.embedding_weight = lr.featurizer.spec.embedding_weight;
        let folds = stratified_folds(idx, &set.y, k, config.seed ^ 0x5eed);
        let mut logits = Vec::new();
        let mut ys = Vec::new();
        for f in 0..k {
            let part = |held: bool| -> Vec<usize> {
                idx.iter()
                    .zip(&folds)
                    .filter(|p| (*p.1 == f) == held)
                    .map(|p| *p.0)
                    .collect()
            };
            let (train, held) = (part(false), part(true));
            if train.is_empty() || held.is_empty() {
                continue;
            }
            let m = add_prior(
                &fit_uncalibrated(set, &train, &chosen),
                &fit_prototype(set, &train, prior, prior_weight),
            );
            for &i in &held {
                logits.push(logits_of(&m, set, i));
                ys.push(set.y[i]);
            }
        }
        blend.calibration = fit_temperature(&logits, &ys);
    }
    blend
}

/// Fit a head on messages `idx` of `set` by `method` (`auto` resolved on their counts), with
/// the taxonomy's `prior` for the prototypes. Returns the fitted model and, for a few-label
/// head, what to record in its metadata (None for the logistic head, which is exactly
/// [`fit::fit`]).
pub fn fit_head(
    set: &TrainSet,
    idx: &[usize],
    config: &TrainConfig,
    prior: Option<&LabelPrior>,
) -> (Fitted, Option<FewShotMeta>) {
    let mut counts = vec![0usize; set.labels.len()];
    for &i in idx {
        counts[set.y[i]] += 1;
    }
    let method = config.method.resolve(
        &counts,
        config.features.embedding && set.embedding_dim() > 0,
    );
    let meta = |name: &str| FewShotMeta {
        method: name.into(),
        prior_weight: if prior.is_some() { PRIOR_WEIGHT } else { 0.0 },
        median_per_label: median(&counts),
    };
    match method {
        HeadMethod::Prototype => (
            fit_prototype(set, idx, prior, PRIOR_WEIGHT),
            Some(meta("prototype")),
        ),
        HeadMethod::Blend => (
            fit_blend(set, idx, config, prior, PRIOR_WEIGHT),
            Some(meta("blend")),
        ),
        HeadMethod::Residual => match prior {
            Some(p) => (fit_residual(set, idx, config, p), Some(meta("residual"))),
            // An axis of its own has no zero-shot decision to correct.
            None => (
                fit_blend(set, idx, config, prior, PRIOR_WEIGHT),
                Some(meta("blend")),
            ),
        },
        HeadMethod::Logistic | HeadMethod::Auto => (fit(set, idx, config), None),
    }
}

/// Fit the residual head on messages `idx`: the logistic head ([`fit`], its grids and
/// temperature included) over the zero-shot prior of the taxonomy's `prior`.
pub fn fit_residual(
    set: &TrainSet,
    idx: &[usize],
    config: &TrainConfig,
    prior: &LabelPrior,
) -> Fitted {
    if !config.features.embedding || set.embedding_dim() == 0 {
        return fit(set, idx, config);
    }
    let zero_shot = fit_prototype(set, &[], Some(prior), 1.0);
    let mut with_prior = set.clone();
    with_prior.prior = Some(std::sync::Arc::new(zero_shot));
    fit(&with_prior, idx, config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::logreg::softmax;
    use crate::classify::Document;
    use crate::learn::fit::probabilities;

    /// Three labels along three axes of a 4-d space, with noise on the fourth.
    fn set(per_label: usize) -> TrainSet {
        let mut docs = Vec::new();
        let mut y = Vec::new();
        let mut emb = Vec::new();
        for i in 0..per_label * 3 {
            let c = i % 3;
            let mut e = vec![0.05f32; 4];
            e[c] = 1.0;
            e[3] = ((i * 7) % 5) as f32 * 0.1;
            normalise(&mut e);
            docs.push(Document::new("", format!("message {i} of {c}")));
            y.push(c);
            emb.push(e);
        }
        TrainSet::new(
            vec!["a".into(), "b".into(), "c".into()],
            docs,
            y,
            emb,
            &FeatureSpec {
                min_df: 1,
                ..FeatureSpec::default()
            },
        )
    }

    fn prior() -> LabelPrior {
        let mut p = Vec::new();
        for c in 0..3 {
            let mut v = vec![0.0f32; 4];
            v[c] = 1.0;
            p.push(v);
        }
        LabelPrior {
            prototypes: p,
            bias: vec![0.0, 0.0, 0.0],
            temperature: 0.07,
        }
    }

    #[test]
    fn prototypes_are_class_means_and_calibrated() {
        let s = set(10);
        let all: Vec<usize> = (0..s.len()).collect();
        let f = fit_prototype(&s, &all, None, 0.0);
        assert_eq!(f.model.dim, 4);
        assert_eq!(f.calibration.method, "temperature");
        for i in 0..s.len() {
            let p = probabilities(&f, &s, i);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            assert_eq!(crate::learn::metrics::argmax(&p), s.y[i]);
        }
        // The row of label b is the normalised mean of b's embeddings.
        let mut mean = vec![0.0f32; 4];
        for i in (0..s.len()).filter(|&i| s.y[i] == 1) {
            for (a, b) in mean.iter_mut().zip(&s.embeddings[i]) {
                *a += b;
            }
        }
        normalise(&mut mean);
        for (w, m) in f.model.weight[4..8].iter().zip(&mean) {
            assert!((w - m).abs() < 1e-5);
        }
    }

    #[test]
    fn a_label_nobody_labelled_is_still_decided_by_its_taxonomy_prototype() {
        let s = set(4);
        // Only labels a and b labelled.
        let idx: Vec<usize> = (0..s.len()).filter(|&i| s.y[i] != 2).collect();
        let without = fit_prototype(&s, &idx, None, 0.0);
        let with = fit_prototype(&s, &idx, Some(&prior()), PRIOR_WEIGHT);
        let c = (0..s.len()).find(|&i| s.y[i] == 2).unwrap();
        assert_ne!(
            crate::learn::metrics::argmax(&probabilities(&without, &s, c)),
            2
        );
        assert_eq!(
            crate::learn::metrics::argmax(&probabilities(&with, &s, c)),
            2
        );
        assert_eq!(without.model.bias[2], ABSENT);
    }

    #[test]
    fn with_no_labels_the_prototype_head_is_the_taxonomy() {
        let s = set(2);
        let f = fit_prototype(&s, &[], Some(&prior()), PRIOR_WEIGHT);
        assert_eq!(f.calibration.temperature, 0.07);
        assert_eq!(f.model.weight[..4], [1.0, 0.0, 0.0, 0.0]);
        let p = probabilities(&f, &s, 1);
        let z: Vec<f32> = (0..3)
            .map(|c| dot(&prior().prototypes[c], &s.embeddings[1]))
            .collect();
        let expect = softmax(&z, 0.07);
        for (a, b) in p.iter().zip(&expect) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn the_blend_is_one_linear_head_over_the_logistic_features() {
        let s = set(12);
        let all: Vec<usize> = (0..s.len()).collect();
        let config = TrainConfig {
            features: FeatureSpec {
                min_df: 1,
                ..FeatureSpec::default()
            },
            ..TrainConfig::default()
        };
        let lr = fit(
            &s,
            &all,
            &TrainConfig {
                calibration_folds: 0,
                ..config.clone()
            },
        );
        let p = fit_prototype(&s, &all, Some(&prior()), PRIOR_WEIGHT);
        let b = fit_blend(&s, &all, &config, Some(&prior()), PRIOR_WEIGHT);
        assert_eq!(b.model.dim, lr.model.dim);
        assert_eq!(b.calibration.method, "temperature");
        // Its logits are the logistic head's plus the prototype's calibrated scores.
        for i in [0, 5, 10] {
            let zb = logits_of(&b, &s, i);
            let zl = logits_of(&lr, &s, i);
            let zp = logits_of(&p, &s, i);
            for c in 0..3 {
                let want = zl[c] + zp[c] / p.calibration.temperature;
                assert!((zb[c] - want).abs() < 1e-3 * want.abs().max(1.0), "{zb:?}");
            }
        }
    }

    #[test]
    fn the_rule_picks_by_the_median_per_label() {
        let auto = HeadMethod::Auto;
        assert_eq!(auto.resolve(&[3, 2, 0, 5], true), HeadMethod::Prototype);
        assert_eq!(auto.resolve(&[12, 9, 0, 15], true), HeadMethod::Residual);
        assert_eq!(auto.resolve(&[80, 30, 40, 60], true), HeadMethod::Logistic);
        assert_eq!(auto.resolve(&[3, 2, 0, 5], false), HeadMethod::Logistic);
        assert_eq!(
            HeadMethod::Blend.resolve(&[300, 300], true),
            HeadMethod::Blend
        );
        // The shipped category and priority heads are trained on public/ plus the taxonomy's
        // examples (at least 4 per label): the rule keeps them logistic, bit for bit.
        assert_eq!(
            auto.resolve(&[124, 53, 37, 64, 14, 93, 28, 9], true),
            HeadMethod::Logistic
        );
        assert_eq!("blend".parse::<HeadMethod>(), Ok(HeadMethod::Blend));
        assert!("nearest".parse::<HeadMethod>().is_err());
    }
}
