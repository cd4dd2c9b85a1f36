//! `mailroom eval --axis A --data D [--head H | --zero-shot] [--folds K] [--json] [--plot DIR]`:
//! score a head, the taxonomy's zero-shot decisions, or (by default) a head trained by k-fold
//! cross-validation, on labelled mail.

use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use mailroom::learn::eval::{evaluate_request, spread_line, EvalRequest, Scored};
use serde_json::json;

use super::common::ModelArgs;
use super::train::{embedding_progress, DataArgs, FitArgs};
use super::Outcome;

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
    /// Learning curves: macro-F1 after k labelled messages per label, per head method.
    Curve(Box<super::eval_curve::CurveArgs>),
    /// Simulated active learning: macro-F1 against labels revealed, per order of asking.
    Active(Box<super::eval_curve::ActiveArgs>),
}

/// Run `eval`.
pub fn run(mut args: EvalArgs) -> anyhow::Result<Outcome> {
    match args.what.take() {
        Some(EvalCommand::Summaries(a)) => return super::eval_summaries::run(*a),
        Some(EvalCommand::Curve(a)) => return super::eval_curve::run_curve(*a),
        Some(EvalCommand::Active(a)) => return super::eval_curve::run_active(*a),
        None => {}
    }
    let Some(data) = args.data.take() else {
        bail!("eval needs --axis and --data (or the `summaries` subcommand)");
    };
    if data.data.is_empty() {
        bail!("eval needs --data D: the labelled mail to score on");
    }
    let scored = match (&args.head, args.zero_shot) {
        (Some(h), _) => Scored::Head(h.clone()),
        (None, true) => Scored::ZeroShot,
        (None, false) => Scored::CrossValidation {
            folds: args.folds,
            repeats: args.repeats,
        },
    };
    let req = EvalRequest {
        data: data.spec(),
        fit: args.fit.choices(),
        label_thresholds: data.label_thresholds.clone(),
        scored,
        target_precision: args.target_precision,
        negative_label: args.negative_label.clone(),
        plot: args.plot.clone(),
        predictions: args.predictions.clone(),
    };
    let mut embedded = false;
    let mut progress = embedding_progress();
    let e = evaluate_request(&req, &args.models.spec(), |d, n| {
        embedded = true;
        progress(d, n)
    })?;
    if embedded {
        eprintln!();
    }
    if e.unmapped > 0 {
        eprintln!(
            "note: {} messages have labels outside axis {} and are left out",
            e.unmapped, e.axis
        );
    }
    for note in &e.notes {
        eprintln!("{note}");
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = json!({
            "axis": e.axis,
            "method": e.method,
            "unreadable": e.unreadable,
            "seconds": e.seconds,
            "details": e.details,
            "report": e.report,
        });
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "axis {} — {} — {} messages ({} unreadable), {:.0} s\n",
            e.axis, e.method, e.messages, e.unreadable, e.seconds
        )?;
        write!(out, "{}", e.report.to_table())?;
        if let Some(sp) = e.details.get("spread") {
            writeln!(out, "{}", spread_line(sp))?;
        }
    }
    Ok(Outcome::Ok)
}
