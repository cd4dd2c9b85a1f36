//! `mailroom train --axis A --data D --out HEAD`: fit a logistic-regression head on labelled
//! mail, calibrate it on held-back folds, record its cross-validated metrics, and write the head
//! file. Also home of the data and feature flags `eval` shares.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use mailroom::classify::cache::EmbeddingCache;
use mailroom::classify::dataset;
use mailroom::classify::features::FeatureSpec;
use mailroom::classify::head::{EncoderRef, Head, TrainingMetrics};
use mailroom::classify::input::build_set;
use mailroom::classify::logreg::{ClassWeight, TrainOptions};
use mailroom::classify::metrics::{evaluate, review_outcome};
use mailroom::classify::review::parse_label_thresholds;
use mailroom::classify::train::{cross_validate, fit, TrainConfig, TrainSet};
use mailroom::classify::{Embed, ReviewPolicy, Taxonomy};
use mailroom::models::Encoder;

use super::{ModelArgs, Outcome};

/// Which labelled data, for which axis.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// The axis: one of the taxonomy's (its labels and aliases apply) or a new one, whose labels
    /// are those found in the data.
    #[arg(long)]
    pub axis: String,
    /// Labelled mail: a labels CSV (`path,label`), a folder holding labels.csv, a folder per
    /// label, or JSON lines. Repeat to combine sets.
    #[arg(long, required = true, value_name = "D")]
    pub data: Vec<PathBuf>,
    /// Rename a data label, `FROM=TO` (repeatable); `FROM=` drops it.
    #[arg(long = "map", value_name = "FROM=TO")]
    pub maps: Vec<String>,
    /// The label of JSON lines that carry none (e.g. a set of mail known to be legitimate,
    /// such as `summaries/aeslc-dev.jsonl`); without it such lines are an error.
    #[arg(long, value_name = "LABEL")]
    pub unlabelled_as: Option<String>,
    /// Taxonomy TOML (default: the built-in public-service taxonomy).
    #[arg(long, value_name = "FILE")]
    pub taxonomy: Option<PathBuf>,
    /// Cache encoder embeddings here, keyed by encoder hash and text hash.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// The probability a decision for LABEL needs before it is taken without review, instead of
    /// the axis threshold (repeatable; `none` for no label threshold). Default for a new head:
    /// `legitimate=0.8` on the junk axis (a wrong "legitimate" lets junk reach staff unseen;
    /// measured in the README), none elsewhere. `eval --head` / `--zero-shot` default to the
    /// head's / the taxonomy's.
    #[arg(long = "label-threshold", value_name = "LABEL=P")]
    pub label_thresholds: Vec<String>,
}

/// The label threshold a junk head gets by default (see [`DataArgs::label_thresholds`]).
pub const JUNK_LEGITIMATE_THRESHOLD: f32 = 0.8;

impl DataArgs {
    /// The label review thresholds the flags name (None when none is given, empty for
    /// `none`); each must be one of `labels`.
    pub fn label_threshold_flags(
        &self,
        labels: &[String],
    ) -> anyhow::Result<Option<BTreeMap<String, f32>>> {
        if self.label_thresholds.is_empty() {
            return Ok(None);
        }
        if self.label_thresholds.iter().any(|f| f == "none") {
            return Ok(Some(BTreeMap::new()));
        }
        let m = parse_label_thresholds(&self.label_thresholds)
            .map_err(|e| anyhow::anyhow!("--label-threshold {e}"))?;
        if let Some(l) = m.keys().find(|l| !labels.contains(l)) {
            bail!(
                "--label-threshold {l}: not a label of axis {} ({labels:?})",
                self.axis
            );
        }
        Ok(Some(m))
    }

    /// The label review thresholds for a new head: the flags', else `legitimate` at
    /// [`JUNK_LEGITIMATE_THRESHOLD`] on the junk axis, else none.
    pub fn label_thresholds(&self, labels: &[String]) -> anyhow::Result<BTreeMap<String, f32>> {
        Ok(match self.label_threshold_flags(labels)? {
            Some(m) => m,
            None if self.axis == "junk" && labels.iter().any(|l| l == "legitimate") => {
                BTreeMap::from([("legitimate".to_string(), JUNK_LEGITIMATE_THRESHOLD)])
            }
            None => BTreeMap::new(),
        })
    }
}

/// Feature and fitting flags.
#[derive(Debug, Clone, Args)]
pub struct FitArgs {
    /// Feature groups, comma-separated: words, chars, embedding, structure, shape, headers; or
    /// `auto`: all but `headers`, and for the `junk` axis also without `shape` (length and
    /// conversation shape learn which source the dev mail came from, not whether it is junk:
    /// with them a junk head flags 3.9 % of Enron business mail, without them 0.18 %).
    #[arg(long, default_value = "auto")]
    pub features: String,
    /// L2 penalty, or several comma-separated to choose from by inner cross-validation on the
    /// training messages (macro-F1).
    #[arg(long, default_value = "1e-4")]
    pub l2: String,
    /// Prior shift, or several comma-separated to choose from by inner cross-validation
    /// (macro-F1): each label's bias gains `-shift * ln(its share of the training mail)`, so
    /// rare labels are predicted more often (0: none).
    #[arg(long, default_value = "0")]
    pub prior_shift: String,
    /// Class weights: balanced, sqrt or none.
    #[arg(long, default_value = "balanced")]
    pub class_weight: String,
    /// Bits of the n-gram hash space.
    #[arg(long, default_value_t = 20)]
    pub hash_bits: u32,
    /// Minimum messages a term must appear in.
    #[arg(long, default_value_t = 2)]
    pub min_df: u32,
    /// Weight of the embedding group relative to each TF-IDF group, or several comma-separated
    /// to choose from by inner cross-validation (macro-F1, with every --l2 value). `auto`: 1,2.
    #[arg(long, default_value = "auto")]
    pub embedding_weight: String,
    /// Weight of the structure group.
    #[arg(long, default_value_t = 1.0)]
    pub structure_weight: f32,
    /// Weight of the character n-gram group.
    #[arg(long, default_value_t = 1.0)]
    pub char_weight: f32,
    /// Inner folds whose out-of-fold logits fit the temperature (0: no calibration).
    #[arg(long, default_value_t = 3)]
    pub calibration_folds: usize,
    /// Seed for fold assignment.
    #[arg(long, default_value_t = 17)]
    pub seed: u64,
}

impl FitArgs {
    /// The feature groups `--features` names for `axis` (resolving `auto`).
    pub fn groups(&self, axis: &str) -> &str {
        match (self.features.trim(), axis) {
            ("auto", "junk") => "words,chars,embedding,structure",
            ("auto", _) => "words,chars,embedding,structure,shape",
            (list, _) => list,
        }
    }

    /// The training configuration these flags describe for `axis`.
    pub fn config(&self, axis: &str) -> anyhow::Result<TrainConfig> {
        let mut features =
            FeatureSpec::from_groups(self.groups(axis)).map_err(anyhow::Error::msg)?;
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
            other => bail!("--class-weight {other}: expected balanced, sqrt or none"),
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
        })
    }
}

/// A comma-separated list of numbers, each accepted by `ok`.
fn grid<T: std::str::FromStr>(
    list: &str,
    flag: &str,
    expected: &str,
    ok: impl Fn(&T) -> bool,
) -> anyhow::Result<Vec<T>> {
    list.split(',')
        .map(|v| {
            v.trim()
                .parse::<T>()
                .ok()
                .filter(&ok)
                .with_context(|| format!("{flag} {v}: expected {expected}"))
        })
        .collect()
}

/// Arguments of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    fit: FitArgs,
    #[command(flatten)]
    models: ModelArgs,
    /// Where to write the head (a safetensors file with JSON metadata).
    #[arg(long, value_name = "HEAD")]
    out: PathBuf,
    /// Cross-validation folds for the metrics recorded in the head (0: skip).
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Review threshold recorded in the head (top probability below it goes to review).
    /// Default: the cross-validated threshold that reaches --target-precision on the decided
    /// mail, or 0.5 without cross-validation.
    #[arg(long)]
    review_threshold: Option<f32>,
    /// Precision the default review threshold aims for.
    #[arg(long, default_value_t = 0.95)]
    target_precision: f64,
}

/// Labelled data loaded for an axis, with the encoder when the features need it.
pub struct Loaded {
    /// The training set.
    pub set: TrainSet,
    /// Messages that could not be read.
    pub failed: usize,
    /// The encoder, when loaded.
    pub encoder: Option<Encoder>,
    /// The taxonomy.
    pub taxonomy: Taxonomy,
}

/// The taxonomy the flags name.
pub fn taxonomy(path: Option<&PathBuf>) -> anyhow::Result<Taxonomy> {
    Ok(match path {
        Some(p) => Taxonomy::load(p)?,
        None => Taxonomy::default_taxonomy(),
    })
}

/// Load the labelled data, map its labels onto the axis, parse every message and (when
/// `need_encoder`) embed it.
pub fn load(
    data: &DataArgs,
    spec: &FeatureSpec,
    models: &ModelArgs,
    need_encoder: bool,
) -> anyhow::Result<Loaded> {
    let taxonomy = taxonomy(data.taxonomy.as_ref())?;
    let mut items = Vec::new();
    for d in &data.data {
        items.extend(dataset::load(d).with_context(|| format!("reading {}", d.display()))?);
    }
    let unlabelled = items.iter().filter(|i| i.label.trim().is_empty()).count();
    if unlabelled > 0 {
        let Some(label) = &data.unlabelled_as else {
            bail!(
                "{unlabelled} messages carry no label (first: {}); name one with --unlabelled-as",
                items
                    .iter()
                    .find(|i| i.label.trim().is_empty())
                    .map_or("", |i| i.id.as_str())
            );
        };
        for i in items.iter_mut().filter(|i| i.label.trim().is_empty()) {
            i.label = label.clone();
        }
    }
    let mut maps = Vec::new();
    for m in &data.maps {
        let (from, to) = m
            .split_once('=')
            .with_context(|| format!("--map {m}: expected FROM=TO"))?;
        maps.push((from.to_string(), to.to_string()));
    }
    let axis = taxonomy.axis(&data.axis).cloned();
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
    if unmapped > 0 {
        eprintln!(
            "note: {unmapped} messages have labels outside axis {} and are left out",
            data.axis
        );
    }
    let encoder = if need_encoder {
        Some(models.load_encoder()?)
    } else {
        None
    };
    let cache = match (&data.cache, &encoder) {
        (Some(dir), Some(e)) => {
            let precision = match e.precision() {
                mailroom::models::Precision::F32 => "",
                mailroom::models::Precision::Bf16 => "bf16",
                mailroom::models::Precision::Int8 => "int8",
            };
            Some(EmbeddingCache::new(dir, e.sha256(), precision))
        }
        _ => None,
    };
    let start = Instant::now();
    let total = items.len();
    let mut last = 0;
    let progress = |done: usize| {
        if done >= last + 250 || done == total {
            eprint!(
                "\rembedding {done} messages ({:.0} s)   ",
                start.elapsed().as_secs_f64()
            );
            last = done;
        }
    };
    let (set, failed) = build_set(
        &items,
        labels,
        map,
        spec,
        encoder.as_ref().map(|e| (e as &dyn Embed, cache.as_ref())),
        progress,
    )?;
    if need_encoder {
        eprintln!();
    }
    if set.is_empty() {
        bail!("no labelled messages for axis {}", data.axis);
    }
    Ok(Loaded {
        set,
        failed,
        encoder,
        taxonomy,
    })
}

/// Run `train`.
pub fn run(args: TrainArgs) -> anyhow::Result<Outcome> {
    let config = args.fit.config(&args.data.axis)?;
    let loaded = load(
        &args.data,
        &config.features,
        &args.models,
        config.features.embedding,
    )?;
    let set = &loaded.set;
    let label_thresholds = args.data.label_thresholds(&set.labels)?;
    let counts = set.counts();
    eprintln!(
        "{} messages ({} unreadable); {}",
        set.len(),
        loaded.failed,
        set.labels
            .iter()
            .zip(&counts)
            .map(|(l, c)| format!("{l} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut cv_threshold = None;
    let metrics = if args.folds >= 2 {
        let start = Instant::now();
        let probs = cross_validate(set, args.folds, &config);
        let r = evaluate(&set.labels, &set.y, &probs, args.target_precision, None);
        cv_threshold = r.threshold_for_target.as_ref().map(|p| p.threshold as f32);
        if let Some(p) = &r.threshold_for_target {
            eprintln!(
                "precision {:.2} on decided mail at threshold {:.3}: {:.1} % decided without review",
                args.target_precision,
                p.threshold,
                100.0 * p.coverage
            );
        }
        if !label_thresholds.is_empty() {
            let policy = ReviewPolicy::default().for_axis(
                args.review_threshold.or(cv_threshold).unwrap_or(0.5),
                &label_thresholds,
            );
            let o = review_outcome(&set.labels, &set.y, &probs, &policy, None);
            eprintln!(
                "with label thresholds {label_thresholds:?}: {:.1} % to review, accuracy {:.3} on the rest",
                100.0 * o.reviewed,
                o.decided_accuracy
            );
        }
        eprintln!(
            "{}-fold CV: accuracy {:.3}, macro-F1 {:.3}, ECE {:.3}, accuracy at 80 % coverage {:.3} ({:.0} s)",
            args.folds,
            r.accuracy,
            r.macro_f1,
            r.ece,
            r.at_coverage.first().map_or(f64::NAN, |p| p.accuracy),
            start.elapsed().as_secs_f64()
        );
        Some(TrainingMetrics {
            folds: args.folds,
            accuracy: r.accuracy,
            macro_f1: r.macro_f1,
            ece: r.ece,
            accuracy_at_80: r.at_coverage.first().map_or(f64::NAN, |p| p.accuracy),
            per_label_f1: r.per_label.iter().map(|l| l.f1).collect(),
        })
    } else {
        None
    };
    let all: Vec<usize> = (0..set.len()).collect();
    let fitted = fit(set, &all, &config);
    let chosen_l2 = fitted.l2;
    if config.l2_grid.len() > 1 || config.embedding_weight_grid.len() > 1 {
        eprintln!(
            "inner cross-validation chose L2 {chosen_l2:e}, embedding weight {}",
            fitted.featurizer.spec.embedding_weight
        );
    }
    let encoder = loaded.encoder.as_ref().map(|e| EncoderRef {
        id: e.model_id().to_string(),
        sha256: e.sha256().to_string(),
    });
    let mut head = Head::from_fitted(
        &args.data.axis,
        set.labels.clone(),
        fitted,
        encoder,
        counts,
        TrainOptions {
            l2: chosen_l2,
            ..config.options.clone()
        },
        config.seed,
    );
    head.meta.review_threshold = args.review_threshold.or(cv_threshold).unwrap_or(0.5);
    head.meta.label_review_thresholds = label_thresholds;
    head.meta.metrics = metrics;
    head.save(&args.out)?;
    eprintln!(
        "wrote {} ({} features, temperature {:.3})",
        args.out.display(),
        head.model.dim,
        head.meta.calibration.temperature
    );
    Ok(Outcome::Ok)
}
