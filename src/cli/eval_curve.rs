//! `mailroom eval curve --axis A --data D [--per-class 8,16,32,64,128] [--seeds 5]
//! [--method auto,prototype,blend,logistic]`: learning curves, macro-F1 and accuracy after k
//! labelled messages per label, mean ± sd over seeds, zero-shot as k = 0; and
//! `mailroom eval active --axis A --data D [--batch 20] [--rounds 8] [--order ...] [--seeds 3]`:
//! macro-F1 against labels revealed, for each order of asking. The work is `learn::curve` and
//! `learn::active`.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use mailroom::learn::active::{simulate, ActiveRequest, Order};
use mailroom::learn::curve::{learning_curve, CurvePoint, CurveRequest};
use mailroom::learn::fewshot::HeadMethod;

use super::common::ModelArgs;
use super::train::{embedding_progress, DataArgs, FitArgs};
use super::Outcome;

/// Arguments of `eval curve`.
#[derive(Debug, Args)]
pub struct CurveArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    fit: FitArgs,
    #[command(flatten)]
    models: ModelArgs,
    /// Labelled messages per label to train on (at most half of each label's messages in the
    /// random split), comma-separated.
    #[arg(long, default_value = "8,16,32,64,128")]
    per_class: String,
    /// Seeds for the draws (0, 1, ...).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=50))]
    seeds: u64,
    /// Methods to measure, comma-separated: prototype, blend, logistic, auto.
    #[arg(long = "method", default_value = "prototype,blend,logistic,auto")]
    methods: String,
    /// Write the curves as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

fn list<T: std::str::FromStr<Err = String>>(s: &str, flag: &str) -> anyhow::Result<Vec<T>> {
    s.split(',')
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().parse::<T>().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<T>>>()
        .with_context(|| format!("{flag} {s}"))
}

fn cell(p: &CurvePoint) -> String {
    format!(
        "{:.3} ± {:.3} ({:.3})",
        p.macro_f1.mean, p.macro_f1.sd, p.accuracy.mean
    )
}

/// Run `eval curve`.
pub fn run_curve(args: CurveArgs) -> anyhow::Result<Outcome> {
    let per_class: Vec<usize> = args
        .per_class
        .split(',')
        .map(|v| v.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--per-class {}", args.per_class))?;
    let methods: Vec<HeadMethod> = list(&args.methods, "--method")?;
    let req = CurveRequest {
        data: args.data.spec(),
        fit: args.fit.choices(),
        per_class,
        seeds: args.seeds,
        methods,
    };
    let mut progress = embedding_progress();
    let mut embedded = false;
    let curve = learning_curve(
        &req,
        &args.models.spec(),
        |d, n| {
            embedded = true;
            progress(d, n)
        },
        |p| {
            tracing::info!(split = %p.split, method = %p.method, k = p.per_class, f1 = p.macro_f1.mean, "curve point");
        },
    )?;
    if embedded {
        eprintln!();
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &curve)?;
        writeln!(out)?;
        return Ok(Outcome::Ok);
    }
    let counts: Vec<String> = curve
        .labels
        .iter()
        .zip(&curve.counts)
        .map(|(l, c)| format!("{l} {c}"))
        .collect();
    writeln!(
        out,
        "axis {} — {} messages ({} unreadable): {}",
        curve.axis,
        curve.counts.iter().sum::<usize>(),
        curve.unreadable,
        counts.join(", ")
    )?;
    writeln!(
        out,
        "macro-F1 mean ± sd over {} seeds (accuracy); random split: k per label drawn, at most half of a label, the rest tested",
        args.seeds
    )?;
    if !curve.sources.is_empty() {
        let s: Vec<String> = curve
            .sources
            .iter()
            .map(|(g, n)| format!("{g} {n}"))
            .collect();
        writeln!(
            out,
            "source split: each source held out in turn ({}), k per label drawn from the others",
            s.join(", ")
        )?;
    }
    if let Some((f1, acc)) = curve.zero_shot {
        writeln!(out, "zero-shot (k = 0, every message): {f1:.3} ({acc:.3})")?;
    }
    let methods: Vec<&str> = req.methods.iter().map(|m| m.as_str()).collect();
    let mut split = "";
    for p in &curve.points {
        if p.split != split {
            split = &p.split;
            writeln!(out, "\n{split} split")?;
            write!(out, "{:>5} {:>8}", "k", "trained")?;
            for m in &methods {
                write!(out, "  {m:>26}")?;
            }
            writeln!(out)?;
        }
        if p.method != methods[0] {
            continue;
        }
        write!(out, "{:>5} {:>8.1}", p.per_class, p.trained)?;
        for m in &methods {
            let q = curve
                .points
                .iter()
                .find(|q| q.split == p.split && q.per_class == p.per_class && q.method == *m);
            write!(out, "  {:>26}", q.map(cell).unwrap_or_default())?;
        }
        let chose = curve
            .points
            .iter()
            .find(|q| q.split == p.split && q.per_class == p.per_class && !q.chose.is_empty());
        if let Some(c) = chose {
            let c: Vec<String> = c.chose.iter().map(|(m, n)| format!("{m}×{n}")).collect();
            write!(out, "  auto: {}", c.join(" "))?;
        }
        writeln!(out)?;
    }
    Ok(Outcome::Ok)
}

/// Arguments of `eval active`.
#[derive(Debug, Args)]
pub struct ActiveArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    fit: FitArgs,
    #[command(flatten)]
    models: ModelArgs,
    /// Labels revealed per round.
    #[arg(long, default_value_t = 20)]
    batch: usize,
    /// Rounds.
    #[arg(long, default_value_t = 8)]
    rounds: usize,
    /// Orders to compare, comma-separated: random, uncertain, diverse, mixed.
    #[arg(long, default_value = "random,uncertain,diverse,mixed")]
    order: String,
    /// Seeds (each its own test split and random order).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=50))]
    seeds: u64,
    /// Write the result as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

/// Run `eval active`.
pub fn run_active(args: ActiveArgs) -> anyhow::Result<Outcome> {
    let orders: Vec<Order> = list(&args.order, "--order")?;
    let req = ActiveRequest {
        data: args.data.spec(),
        fit: args.fit.choices(),
        batch: args.batch.max(1),
        rounds: args.rounds,
        orders: orders.clone(),
        seeds: args.seeds,
    };
    let mut progress = embedding_progress();
    let mut embedded = false;
    let a = simulate(&req, &args.models.spec(), |d, n| {
        embedded = true;
        progress(d, n)
    })?;
    if embedded {
        eprintln!();
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &a)?;
        writeln!(out)?;
        return Ok(Outcome::Ok);
    }
    writeln!(
        out,
        "axis {} — pool {} messages, test {} (per seed); macro-F1 mean ± sd over {} seeds (accuracy) after N labels",
        a.axis, a.pool, a.test, args.seeds
    )?;
    write!(out, "{:>6}", "labels")?;
    for o in &orders {
        write!(out, "  {:>24}", o.as_str())?;
    }
    writeln!(out)?;
    let first = orders[0].as_str();
    for p in a.points.iter().filter(|p| p.order == first) {
        write!(out, "{:>6}", p.labels)?;
        for o in &orders {
            let q = a
                .points
                .iter()
                .find(|q| q.order == o.as_str() && q.labels == p.labels);
            let c = q.map(|q| {
                format!(
                    "{:.3} ± {:.3} ({:.3})",
                    q.macro_f1.mean, q.macro_f1.sd, q.accuracy.mean
                )
            });
            write!(out, "  {:>24}", c.unwrap_or_default())?;
        }
        writeln!(out)?;
    }
    Ok(Outcome::Ok)
}
