//! `mailroom eval --axis A --data D [--head H | --zero-shot] [--folds K] [--json] [--plot DIR]`:
//! score a head, the taxonomy's zero-shot decisions, or (by default) a head trained by k-fold
//! cross-validation, on labelled mail.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use mailroom::classify::calibrate::fit_temperature;
use mailroom::classify::features::FeatureSpec;
use mailroom::classify::logreg::softmax;
use mailroom::classify::metrics::{argmax, evaluate, review_outcome};
use mailroom::classify::plot::{coverage_svg, reliability_svg};
use mailroom::classify::train::{cross_validate, stratified_folds};
use mailroom::classify::{Embed, Head, Probabilities, ReviewPolicy, ZeroShot};
use serde_json::json;

use super::train::{load, DataArgs, FitArgs};
use super::{ModelArgs, Outcome};

/// Arguments of `eval`: `mailroom eval --axis A --data D ...` scores a classifier;
/// `mailroom eval summaries --data FILE.jsonl` scores summaries.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvalArgs {
    #[command(subcommand)]
    what: Option<EvalCommand>,
    /// Optional only so that `eval summaries` parses: clap cannot build a required `--axis`
    /// it never saw; [`run`] insists on it for a classifier evaluation.
    #[command(flatten)]
    data: Option<DataArgs>,
    #[command(flatten)]
    fit: FitArgs,
    #[command(flatten)]
    models: ModelArgs,
    /// Score this trained head instead of cross-validating a new one.
    #[arg(long, value_name = "HEAD", conflicts_with = "zero_shot")]
    head: Option<PathBuf>,
    /// Score the taxonomy's zero-shot decisions for the axis.
    #[arg(long)]
    zero_shot: bool,
    /// Cross-validation folds when training.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Repeat the cross-validation with this many fold seeds (--seed, --seed + 1, ...) and report
    /// the spread of macro-F1 over repeats and folds; the full report is the first repeat's.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=20))]
    repeats: u64,
    /// The precision to find a review threshold for.
    #[arg(long, default_value_t = 0.95)]
    target_precision: f64,
    /// The label whose false-positive rate to report (default: `legitimate` when present).
    #[arg(long)]
    negative_label: Option<String>,
    /// Write the report as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Write reliability.svg and coverage.svg into this folder.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Write each message's decision as JSON lines to this file (id, true label, predicted
    /// label, its probability, all probabilities), for looking at the errors. With
    /// cross-validation these are the out-of-fold decisions of the first repeat.
    #[arg(long, value_name = "FILE")]
    predictions: Option<PathBuf>,
}

/// What else `eval` scores.
#[derive(Debug, clap::Subcommand)]
pub enum EvalCommand {
    /// Score summaries against reference summaries (ROUGE, faithfulness, length, time).
    Summaries(Box<super::eval_summaries::EvalSummariesArgs>),
}

/// Run `eval`.
pub fn run(mut args: EvalArgs) -> anyhow::Result<Outcome> {
    if let Some(EvalCommand::Summaries(a)) = args.what.take() {
        return super::eval_summaries::run(*a);
    }
    let Some(data) = args.data.take() else {
        bail!("eval needs --axis and --data (or the `summaries` subcommand)");
    };
    let start = Instant::now();
    let (spec, method) = if let Some(h) = &args.head {
        let head = Head::load(h)?;
        (head.meta.features.clone(), format!("head {}", h.display()))
    } else if args.zero_shot {
        let spec = FeatureSpec {
            embedding: true,
            ..FeatureSpec::default()
        };
        (spec, "zero-shot".to_string())
    } else {
        let c = args.fit.config(&data.axis)?;
        (c.features, format!("{}-fold cross-validation", args.folds))
    };
    let loaded = load(&data, &spec, &args.models, spec.embedding)?;
    let set = &loaded.set;
    let mut extra = serde_json::Map::new();
    let flags = data.label_threshold_flags(&set.labels)?;
    // The review rule to report: the head's or the taxonomy's; for cross-validation, what
    // `train` would record (the target-precision threshold is filled in below).
    let mut rule: Option<(f32, std::collections::BTreeMap<String, f32>)> = None;
    let probs: Vec<Vec<f32>> = if let Some(h) = &args.head {
        let head = Head::load(h)?;
        if head.meta.axis != data.axis {
            bail!(
                "head {} decides axis {}, not {}",
                h.display(),
                head.meta.axis,
                data.axis
            );
        }
        if let Some(e) = &loaded.encoder {
            head.check_encoder(h, e.model_id(), e.sha256())?;
        }
        if head.meta.labels != set.labels {
            bail!(
                "head labels {:?} differ from the data's {:?}",
                head.meta.labels,
                set.labels
            );
        }
        rule = Some((
            head.meta.review_threshold,
            flags
                .clone()
                .unwrap_or_else(|| head.meta.label_review_thresholds.clone()),
        ));
        (0..set.len())
            .map(|i| {
                let e = set.embeddings.get(i).map(Vec::as_slice);
                head.probabilities(&set.docs[i], e)
            })
            .collect::<Result<_, _>>()?
    } else if args.zero_shot {
        let encoder = loaded
            .encoder
            .as_ref()
            .context("zero-shot needs the encoder")?;
        let axis = loaded
            .taxonomy
            .axis(&data.axis)
            .with_context(|| format!("axis {} is not in the taxonomy", data.axis))?
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
            .collect::<Result<_, mailroom::classify::ClassifyError>>()?;
        rule = Some((
            axis.review_threshold,
            flags.clone().unwrap_or_else(|| axis.label_thresholds()),
        ));
        let best = fit_temperature(&scores, &set.y);
        extra.insert("taxonomy".into(), json!(loaded.taxonomy.id()));
        extra.insert("temperature".into(), json!(axis.temperature));
        extra.insert("nll_optimal_temperature".into(), json!(best.temperature));
        eprintln!(
            "zero-shot: taxonomy temperature {}, NLL-optimal on this data {:.4}",
            axis.temperature, best.temperature
        );
        scores
            .iter()
            .map(|s| softmax(s, axis.temperature))
            .collect()
    } else {
        let config = args.fit.config(&data.axis)?;
        extra.insert("features".into(), json!(config.features.groups()));
        extra.insert("config".into(), serde_json::to_value(&config)?);
        let mut first = None;
        let mut spread = Spread::default();
        for r in 0..args.repeats {
            let mut c = config.clone();
            c.seed = config.seed.wrapping_add(r);
            let probs = cross_validate(set, args.folds, &c);
            spread.add(set, &probs, args.folds, c.seed);
            first.get_or_insert(probs);
        }
        extra.insert("spread".into(), spread.summary());
        first.unwrap_or_default()
    };
    let negative = args
        .negative_label
        .clone()
        .or_else(|| set.labels.iter().find(|l| *l == "legitimate").cloned());
    let mut report = evaluate(
        &set.labels,
        &set.y,
        &probs,
        args.target_precision,
        negative.as_deref(),
    );
    let (threshold, labels) = match rule {
        Some(r) => r,
        None => (
            report
                .threshold_for_target
                .as_ref()
                .map_or(0.5, |p| p.threshold as f32),
            data.label_thresholds(&set.labels)?,
        ),
    };
    report.review = Some(review_outcome(
        &set.labels,
        &set.y,
        &probs,
        &ReviewPolicy::default().for_axis(threshold, &labels),
        negative.as_deref(),
    ));
    let secs = start.elapsed().as_secs_f64();
    if let Some(dir) = &args.plot {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let title = format!("{} ({method})", data.axis);
        std::fs::write(
            dir.join("reliability.svg"),
            reliability_svg(&report, &title),
        )?;
        std::fs::write(dir.join("coverage.svg"), coverage_svg(&report, &title))?;
    }
    if let Some(path) = &args.predictions {
        write_predictions(path, set, &probs)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = json!({
            "axis": data.axis,
            "method": method,
            "unreadable": loaded.failed,
            "seconds": secs,
            "details": extra,
            "report": report,
        });
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "axis {} — {method} — {} messages ({} unreadable), {:.0} s\n",
            data.axis,
            set.len(),
            loaded.failed,
            secs
        )?;
        write!(out, "{}", report.to_table())?;
        if let Some(sp) = extra.get("spread") {
            writeln!(out, "{}", spread_line(sp))?;
        }
    }
    Ok(Outcome::Ok)
}

/// One JSON line per message: its id, true label, predicted label and probabilities.
fn write_predictions(
    path: &std::path::Path,
    set: &mailroom::classify::train::TrainSet,
    probs: &[Vec<f32>],
) -> anyhow::Result<()> {
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
    w.flush()?;
    Ok(())
}

/// Macro-F1 of every cross-validation repeat (pooled over its folds) and of every single fold.
#[derive(Debug, Default)]
struct Spread {
    repeats: Vec<f64>,
    folds: Vec<f64>,
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    (
        m,
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt(),
    )
}

impl Spread {
    fn add(
        &mut self,
        set: &mailroom::classify::train::TrainSet,
        probs: &[Vec<f32>],
        k: usize,
        seed: u64,
    ) {
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

fn spread_line(v: &serde_json::Value) -> String {
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
