//! `mailroom ingest SOURCE... --store S`: triage every message not yet in the store and store
//! it with its record (idempotent by message hash: a second run adds nothing); `mailroom export
//! --store S`: every stored record as JSON lines, corrections applied and marked.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mailroom::pipeline::{read_inputs, EngineBuilder, Limits, SourceOptions, DEFAULT_MAX_SIZE};
use mailroom::store::BlockingStore;

use super::common::{ClassifierArgs, ModelArgs, SummaryArgs};
use super::Outcome;

/// The store flag every store command shares.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The store: `sqlite:PATH` (one file, created when missing) or `postgres://USER@HOST/DB`.
    #[arg(long = "store", env = "MAILROOM_STORE", value_name = "URL")]
    pub url: String,
}

impl StoreArgs {
    /// Open (and create or upgrade) the store.
    pub fn open(&self) -> anyhow::Result<BlockingStore> {
        BlockingStore::open(&self.url).with_context(|| format!("opening the store {}", self.url))
    }
}

/// Arguments of `ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    models: ModelArgs,
    #[command(flatten)]
    classifier: ClassifierArgs,
    /// Files, folders, mbox files, Maildir folders, JSON lines files, or `-` for stdin.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Summary method: extractive (central sentences, the default), abstractive (the
    /// generator, checked against the message), lead, or none.
    #[arg(long, default_value = "extractive", value_parser = ["abstractive", "extractive", "lead", "none"])]
    summary: String,
    #[command(flatten)]
    summary_options: SummaryArgs,
    /// Messages per encoder batch.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Largest message in bytes; larger ones get an error record.
    #[arg(long, default_value_t = DEFAULT_MAX_SIZE)]
    max_size: usize,
    /// Show a progress bar on stderr even when it is not a terminal.
    #[arg(long)]
    progress: bool,
    /// Do not triage here: put the messages in the store's job queue for `mailroom worker`s
    /// (the same as `mailroom enqueue`); no model is loaded.
    #[arg(long)]
    queue: bool,
}

/// Run `ingest`.
pub fn run(args: IngestArgs) -> anyhow::Result<Outcome> {
    let Some(present) = super::existing_inputs(&args.inputs) else {
        return Ok(Outcome::Fatal);
    };
    let store = args.store.open()?;
    if args.queue {
        let failed = super::queue::queue_inputs(
            &store,
            &present,
            args.max_size,
            mailroom::store::DEFAULT_MAX_ATTEMPTS,
        )?;
        return Ok(if failed || present.len() < args.inputs.len() {
            Outcome::SomeFailed
        } else {
            Outcome::Ok
        });
    }
    let limits = Limits {
        max_size: args.max_size,
        ..Limits::default()
    };
    let builder = EngineBuilder::new(args.models.spec())
        .summary(super::method_or_none(&args.summary))
        .summary_options(args.summary_options.options())
        .batch(args.batch)
        .limits(limits);
    let heads = mailroom::pipeline::store_heads::active_heads_blocking(&store)?;
    let engine = args.classifier.apply(builder).store_heads(heads).build()?;
    let progress = if args.progress || std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template("{spinner} {pos} messages stored  {per_sec}  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb
    } else {
        ProgressBar::hidden()
    };
    let start = Instant::now();
    let messages = read_inputs(&present, &SourceOptions { limits });
    let stats = engine.ingest(messages, &store, |_| progress.inc(1))?;
    progress.finish_and_clear();
    eprintln!(
        "stored {} messages ({} failed, {} need review, {} already stored) in {:.1} s",
        stats.stored,
        stats.failed,
        stats.needs_review,
        stats.existed,
        start.elapsed().as_secs_f64()
    );
    Ok(if stats.failed > 0 || present.len() < args.inputs.len() {
        Outcome::SomeFailed
    } else {
        Outcome::Ok
    })
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Write the records to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Run `export`.
pub fn export(args: ExportArgs) -> anyhow::Result<Outcome> {
    let store = args.store.open()?;
    let mut sink: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let summary = store.block_on(store.store().export(&mut sink))?;
    sink.flush()?;
    eprintln!(
        "exported {} records ({} with corrections)",
        summary.records, summary.corrected
    );
    Ok(Outcome::Ok)
}
