//! The operator's training choices as written (feature groups, grids of L2 penalties and
//! weights, label review thresholds) and the one place they become a [`TrainConfig`]: the CLI
//! passes the strings through, the desk will too.

use std::collections::BTreeMap;

use crate::classify::features::FeatureSpec;
use crate::classify::logreg::{ClassWeight, TrainOptions};
use crate::classify::review::parse_label_thresholds;

use super::fit::TrainConfig;
use super::LearnError;

/// The label threshold a junk head gets by default: a wrong "legitimate" lets junk reach staff
/// unseen (measured in the README).
pub const JUNK_LEGITIMATE_THRESHOLD: f32 = 0.8;

/// Feature and fitting choices, as the operator writes them.
#[derive(Debug, Clone)]
pub struct FitChoices {
    /// Feature groups, comma-separated (words, chars, embedding, structure, shape, headers), or
    /// `auto`: all but `headers`, and for the `junk` axis also without `shape`.
    pub features: String,
    /// L2 penalty, or several comma-separated to choose from by inner cross-validation.
    pub l2: String,
    /// Prior shift, or several comma-separated to choose from by inner cross-validation.
    pub prior_shift: String,
    /// Class weights: balanced, sqrt or none.
    pub class_weight: String,
    /// Bits of the n-gram hash space.
    pub hash_bits: u32,
    /// Minimum messages a term must appear in.
    pub min_df: u32,
    /// Weight of the embedding group (or a comma-separated grid; `auto`: 1,2).
    pub embedding_weight: String,
    /// Weight of the structure group.
    pub structure_weight: f32,
    /// Weight of the character n-gram group.
    pub char_weight: f32,
    /// Inner folds whose out-of-fold logits fit the temperature (0: no calibration).
    pub calibration_folds: usize,
    /// Seed for fold assignment.
    pub seed: u64,
    /// Which head: `auto` (by labelled messages per label: prototypes, then the blend, then
    /// logistic regression; see [`super::fewshot`]), `logistic`, `prototype` or `blend`.
    pub method: String,
}

impl Default for FitChoices {
    fn default() -> Self {
        FitChoices {
            features: "auto".into(),
            l2: "1e-4".into(),
            prior_shift: "0".into(),
            class_weight: "balanced".into(),
            hash_bits: 20,
            min_df: 2,
            embedding_weight: "auto".into(),
            structure_weight: 1.0,
            char_weight: 1.0,
            calibration_folds: 3,
            seed: 17,
            method: "auto".into(),
        }
    }
}

impl FitChoices {
    /// The feature groups these choices name for `axis` (resolving `auto`). Length and
    /// conversation shape learn which source the dev mail came from, not whether it is junk:
    /// with them a junk head flags 3.9 % of Enron business mail, without them 0.18 %.
    pub fn groups(&self, axis: &str) -> &str {
        match (self.features.trim(), axis) {
            ("auto", "junk") => "words,chars,embedding,structure",
            ("auto", _) => "words,chars,embedding,structure,shape",
            (list, _) => list,
        }
    }

    /// The training configuration for `axis`.
    pub fn config(&self, axis: &str) -> Result<TrainConfig, LearnError> {
        let mut features =
            FeatureSpec::from_groups(self.groups(axis)).map_err(LearnError::Invalid)?;
        features.hash_bits = self.hash_bits;
        features.min_df = self.min_df;
        let weights = match self.embedding_weight.trim() {
            "auto" => "1,2",
            list => list,
        };
        let embedding_weight_grid = grid(
            weights,
            "--embedding-weight",
            "a positive number",
            |x: &f32| x.is_finite() && *x > 0.0,
        )?;
        features.embedding_weight = embedding_weight_grid[0];
        features.structure_weight = self.structure_weight;
        features.char_weight = self.char_weight;
        let class_weight = match self.class_weight.as_str() {
            "balanced" => ClassWeight::Balanced,
            "sqrt" => ClassWeight::Sqrt,
            "none" => ClassWeight::None,
            other => {
                return Err(LearnError::Invalid(format!(
                    "--class-weight {other}: expected balanced, sqrt or none"
                )))
            }
        };
        let l2_grid = grid(&self.l2, "--l2", "a non-negative number", |x: &f64| {
            x.is_finite() && *x >= 0.0
        })?;
        let prior_shift_grid = grid(&self.prior_shift, "--prior-shift", "a number", |x: &f32| {
            x.is_finite()
        })?;
        Ok(TrainConfig {
            features,
            prior_shift_grid,
            l2_grid: if l2_grid.len() > 1 {
                l2_grid.clone()
            } else {
                Vec::new()
            },
            options: TrainOptions {
                l2: l2_grid[0],
                class_weight,
                ..TrainOptions::default()
            },
            embedding_weight_grid: if embedding_weight_grid.len() > 1 {
                embedding_weight_grid
            } else {
                Vec::new()
            },
            calibration_folds: self.calibration_folds,
            seed: self.seed,
            method: self
                .method
                .parse()
                .map_err(|e| LearnError::Invalid(format!("--method: {e}")))?,
        })
    }
}

/// A comma-separated list of numbers, each accepted by `ok`.
fn grid<T: std::str::FromStr>(
    list: &str,
    flag: &str,
    expected: &str,
    ok: impl Fn(&T) -> bool,
) -> Result<Vec<T>, LearnError> {
    list.split(',')
        .map(|v| {
            v.trim()
                .parse::<T>()
                .ok()
                .filter(&ok)
                .ok_or_else(|| LearnError::Invalid(format!("{flag} {v}: expected {expected}")))
        })
        .collect()
}

/// The label review thresholds `flags` name (`LABEL=P`, or `none`): `None` when no flag is
/// given, empty for `none`; each label must be one of `labels` of `axis`.
pub fn label_threshold_flags(
    flags: &[String],
    axis: &str,
    labels: &[String],
) -> Result<Option<BTreeMap<String, f32>>, LearnError> {
    if flags.is_empty() {
        return Ok(None);
    }
    if flags.iter().any(|f| f == "none") {
        return Ok(Some(BTreeMap::new()));
    }
    let m = parse_label_thresholds(flags)
        .map_err(|e| LearnError::Invalid(format!("--label-threshold {e}")))?;
    if let Some(l) = m.keys().find(|l| !labels.contains(l)) {
        return Err(LearnError::Invalid(format!(
            "--label-threshold {l}: not a label of axis {axis} ({labels:?})"
        )));
    }
    Ok(Some(m))
}

/// The label review thresholds for a new head: the flags', else `legitimate` at
/// [`JUNK_LEGITIMATE_THRESHOLD`] on the junk axis, else none.
pub fn label_thresholds(
    flags: &[String],
    axis: &str,
    labels: &[String],
) -> Result<BTreeMap<String, f32>, LearnError> {
    Ok(match label_threshold_flags(flags, axis, labels)? {
        Some(m) => m,
        None if axis == "junk" && labels.iter().any(|l| l == "legitimate") => {
            BTreeMap::from([("legitimate".to_string(), JUNK_LEGITIMATE_THRESHOLD)])
        }
        None => BTreeMap::new(),
    })
}
