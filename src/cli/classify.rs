//! `mailroom classify INPUT... [--head H ...]`: one JSON line per message with, per axis, the
//! label, its probability, every label's probability, and `needs_review` with its reasons. The
//! engine runs in classify mode, the same code as `POST /v1/classify`; a message that cannot be
//! read or classified gets its error record.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde::Serialize;

use mailroom::pipeline::{
    read_inputs, AxisResult, EngineBuilder, Limits, Mode, Output, Provenance, SourceOptions,
};

use super::common::{ClassifierArgs, ModelArgs};
use super::Outcome;

/// Arguments of `classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    models: ModelArgs,
    #[command(flatten)]
    classifier: ClassifierArgs,
    /// Files, folders, mbox files, Maildir folders, JSON lines files, or `-` for stdin.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Messages embedded per encoder call.
    #[arg(long, default_value_t = 16)]
    batch: usize,
}

/// A classify line: the record's classification with the message's id and source.
#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    source: &'a Provenance,
    classification: &'a [AxisResult],
}

/// Run `classify`.
pub fn run(args: ClassifyArgs) -> anyhow::Result<Outcome> {
    let Some(present) = super::existing_inputs(&args.inputs) else {
        return Ok(Outcome::Fatal);
    };
    let builder = EngineBuilder::new(args.models.spec())
        .mode(Mode::Classify)
        .batch(args.batch)
        .jobs(Some(1));
    let engine = args.classifier.apply(builder).build()?;
    let limits = Limits::default();
    let start = Instant::now();
    let messages = read_inputs(&present, &SourceOptions { limits });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let stats = engine.run(messages, &Default::default(), |o| {
        let line = match o {
            Output::Record(r) => serde_json::to_string(&Line {
                id: &r.id,
                source: &r.source,
                classification: &r.classification,
            }),
            Output::Error(e) => serde_json::to_string(e),
        }
        .map_err(std::io::Error::other)?;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")
    })?;
    out.flush()?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let total = stats.triaged + stats.failed;
    eprintln!(
        "classified {total} messages ({} errors) on {} axes in {secs:.2} s: {:.1} emails/s",
        stats.failed,
        engine.axes().len(),
        total as f64 / secs
    );
    Ok(if stats.failed > 0 || present.len() < args.inputs.len() {
        Outcome::SomeFailed
    } else {
        Outcome::Ok
    })
}
