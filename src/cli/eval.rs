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
use mailroom::classify::metrics::evaluate;
use mailroom::classify::plot::{coverage_svg, reliability_svg};
use mailroom::classify::train::cross_validate;
use mailroom::classify::{Embed, Head, ZeroShot};
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
        let c = args.fit.config()?;
        (c.features, format!("{}-fold cross-validation", args.folds))
    };
    let loaded = load(&data, &spec, &args.models, spec.embedding)?;
    let set = &loaded.set;
    let mut extra = serde_json::Map::new();
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
        let config = args.fit.config()?;
        extra.insert("features".into(), json!(config.features.groups()));
        extra.insert("config".into(), serde_json::to_value(&config)?);
        cross_validate(set, args.folds, &config)
    };
    let negative = args
        .negative_label
        .clone()
        .or_else(|| set.labels.iter().find(|l| *l == "legitimate").cloned());
    let report = evaluate(
        &set.labels,
        &set.y,
        &probs,
        args.target_precision,
        negative.as_deref(),
    );
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
    }
    Ok(Outcome::Ok)
}
