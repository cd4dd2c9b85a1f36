//! `mailroom train --axis A --data D --out HEAD`: fit a logistic-regression head on labelled
//! mail, calibrate it on held-back folds, record its cross-validated metrics, and write the head
//! file. Also home of the data and feature flags `eval` shares; the work is `learn::train`.
//!
//! `mailroom train --from-store S --axis A`: train a candidate head on the store's reviewed
//! mail, compare it with the head in use on the newer reviewed messages, print the comparison
//! and add the candidate to the store (`mailroom heads promote ID` puts it in use).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use mailroom::learn::choices::FitChoices;
use mailroom::learn::data::DataSpec;
use mailroom::learn::train::{train, TrainRequest};

use super::common::ModelArgs;
use super::Outcome;

/// Which labelled data, for which axis.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// The axis: one of the taxonomy's (its labels and aliases apply) or a new one, whose labels
    /// are those found in the data.
    #[arg(long)]
    pub axis: String,
    /// Labelled mail: a labels CSV (`path,label`), a folder holding labels.csv, a folder per
    /// label, or JSON lines. Repeat to combine sets. (`train --from-store` needs none.)
    #[arg(long, value_name = "D")]
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

impl DataArgs {
    /// The library's description of this data.
    pub fn spec(&self) -> DataSpec {
        DataSpec {
            axis: self.axis.clone(),
            data: self.data.clone(),
            maps: self.maps.clone(),
            unlabelled_as: self.unlabelled_as.clone(),
            taxonomy: self.taxonomy.clone(),
            cache: self.cache.clone(),
        }
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
    /// Which head: `auto` picks by the median of labelled messages per label (prototypes of
    /// the labelled embeddings mixed with the taxonomy's label prototypes below 8, those
    /// prototypes blended with logistic regression below 24, logistic regression from there;
    /// measured in the README), or `logistic`, `prototype`, `blend`.
    #[arg(long = "head-method", default_value = "auto")]
    pub method: String,
}

impl FitArgs {
    /// The library's fitting choices.
    pub fn choices(&self) -> FitChoices {
        FitChoices {
            features: self.features.clone(),
            l2: self.l2.clone(),
            prior_shift: self.prior_shift.clone(),
            class_weight: self.class_weight.clone(),
            hash_bits: self.hash_bits,
            min_df: self.min_df,
            embedding_weight: self.embedding_weight.clone(),
            structure_weight: self.structure_weight,
            char_weight: self.char_weight,
            calibration_folds: self.calibration_folds,
            seed: self.seed,
            method: self.method.clone(),
        }
    }
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
    /// Where to write the head (a safetensors file with JSON metadata); with --from-store,
    /// optional: the candidate is also written there.
    #[arg(long, value_name = "HEAD")]
    out: Option<PathBuf>,
    /// Train from this store's reviewed mail (corrections and accepted decisions) instead of
    /// --data, and add the head as a candidate.
    #[arg(long, value_name = "URL")]
    from_store: Option<String>,
    /// With --from-store: the share of the reviewed messages (the newest) the candidate and
    /// the head in use are compared on.
    #[arg(long, default_value_t = mailroom::learn::compare::DEFAULT_TEST_SHARE)]
    test_share: f64,
    /// With --from-store: train with the --features/--l2/... flags instead of the head in
    /// use's own features and options.
    #[arg(long)]
    own_fit: bool,
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

/// Print "embedding N messages (S s)" on stderr every 250 messages and at the end.
pub fn embedding_progress() -> impl FnMut(usize, usize) {
    let start = Instant::now();
    let mut last = 0;
    move |done, total| {
        if done >= last + 250 || done == total {
            eprint!(
                "\rembedding {done} messages ({:.0} s)   ",
                start.elapsed().as_secs_f64()
            );
            last = done;
        }
    }
}

/// Run `train`.
pub fn run(args: TrainArgs) -> anyhow::Result<Outcome> {
    if let Some(url) = args.from_store.clone() {
        return from_store(&args, &url);
    }
    if args.data.data.is_empty() {
        eprintln!(
            "error: give labelled mail with --data D (or train from a store with --from-store URL)"
        );
        return Ok(Outcome::Fatal);
    }
    let Some(out) = args.out.clone() else {
        eprintln!("error: give the head file to write with --out HEAD");
        return Ok(Outcome::Fatal);
    };
    let req = TrainRequest {
        data: args.data.spec(),
        fit: args.fit.choices(),
        label_thresholds: args.data.label_thresholds.clone(),
        folds: args.folds,
        review_threshold: args.review_threshold,
        target_precision: args.target_precision,
        out: out.clone(),
    };
    let mut embedded = false;
    let mut progress = embedding_progress();
    let t = train(&req, &args.models.spec(), |d, n| {
        embedded = true;
        progress(d, n)
    })?;
    if embedded {
        eprintln!();
    }
    if t.unmapped > 0 {
        eprintln!(
            "note: {} messages have labels outside axis {} and are left out",
            t.unmapped, args.data.axis
        );
    }
    let head = &t.head;
    eprintln!(
        "{} messages ({} unreadable); {}",
        t.counts.iter().sum::<usize>(),
        t.unreadable,
        head.meta
            .labels
            .iter()
            .zip(&t.counts)
            .map(|(l, c)| format!("{l} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(cv) = &t.cv {
        if let Some((threshold, coverage)) = cv.threshold {
            eprintln!(
                "precision {:.2} on decided mail at threshold {threshold:.3}: {:.1} % decided without review",
                args.target_precision,
                100.0 * coverage
            );
        }
        if let Some(o) = &cv.review {
            eprintln!(
                "with label thresholds {:?}: {:.1} % to review, accuracy {:.3} on the rest",
                head.meta.label_review_thresholds,
                100.0 * o.reviewed,
                o.decided_accuracy
            );
        }
        let m = &cv.metrics;
        eprintln!(
            "{}-fold CV: accuracy {:.3}, macro-F1 {:.3}, ECE {:.3}, accuracy at 80 % coverage {:.3} ({:.0} s)",
            m.folds, m.accuracy, m.macro_f1, m.ece, m.accuracy_at_80, cv.seconds
        );
    }
    if t.chose {
        eprintln!(
            "inner cross-validation chose L2 {:e}, embedding weight {}",
            head.meta.options.l2, head.featurizer.spec.embedding_weight
        );
    }
    eprintln!(
        "wrote {} ({} features, temperature {:.3})",
        out.display(),
        head.model.dim,
        head.meta.calibration.temperature
    );
    Ok(Outcome::Ok)
}

/// `train --from-store`: a candidate from the store's reviewed mail, compared and added.
fn from_store(args: &TrainArgs, url: &str) -> anyhow::Result<Outcome> {
    use mailroom::learn::from_store::StoreTrainRequest;
    use mailroom::pipeline::store_heads::store_head;

    let store = match mailroom::store::BlockingStore::open(url) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: opening the store {url}: {e:#}");
            return Ok(Outcome::Fatal);
        }
    };
    let axis = &args.data.axis;
    let examples = store.block_on(store.store().training_examples(axis))?;
    eprintln!("{} reviewed messages for axis {axis}", examples.len());
    let active = match store.block_on(store.store().active_head(axis))? {
        Some(h) => store.block_on(store_head(store.store(), h.id))?,
        None => None,
    };
    let req = StoreTrainRequest {
        axis: axis.clone(),
        test_share: args.test_share,
        fit: args.own_fit.then(|| args.fit.choices()),
        cache: args.data.cache.clone(),
    };
    let actor = super::desk::actor();
    let count = examples.len();
    store.block_on(store.store().audit_training(&actor, axis, count, None))?;
    let mut progress = embedding_progress();
    let (row, comparison) = match super::learning::candidate(
        &examples,
        active.as_ref(),
        &req,
        &args.models.spec(),
        &mut progress,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!();
            eprintln!("error: {e:#}");
            let why = format!("{e:#}");
            let audit = store
                .store()
                .audit_training(&actor, axis, count, Some(&why));
            if let Err(e) = store.block_on(audit) {
                eprintln!("error: auditing the failed run: {e:#}");
            }
            return Ok(Outcome::Fatal);
        }
    };
    eprintln!();
    if let Some(out) = &args.out {
        std::fs::write(out, &row.data)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    let head = store.block_on(store.store().add_head(&actor, &row))?;
    for line in comparison.lines() {
        outln!("{line}");
    }
    outln!(
        "added candidate head {} ({}@{}); put it in use with: mailroom heads --store URL promote {}",
        head.id,
        head.axis,
        &head.sha256[..12],
        head.id
    );
    Ok(Outcome::Ok)
}
