//! `mailroom triage INPUT...`: parse, prepare, classify on every axis, summarise, and write one
//! record per message (JSON lines by default; `--format table|csv` for people and spreadsheets).
//! The input may also be one mailbox folder, `imaps://USER@HOST[:PORT]/FOLDER`, read once.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mailroom::pipeline::{
    read_inputs, resume, EngineBuilder, Limits, Message, Output, PipelineError, SourceOptions,
    DEFAULT_MAX_SIZE,
};

use super::common::{ClassifierArgs, ModelArgs, SummaryArgs};
use super::mailbox::{is_mailbox_url, MailboxArgs};
use super::output::{CutBack, Format, RecordWriter, WholeRecords};
use super::Outcome;

/// Arguments of `triage`.
#[derive(Debug, Args)]
pub struct TriageArgs {
    #[command(flatten)]
    models: ModelArgs,
    /// Files, folders, mbox files, Maildir folders, JSON lines files, `-` for stdin, or one
    /// mailbox folder: imaps://USER@HOST[:PORT]/FOLDER (read once; nothing is marked read).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    mailbox: MailboxArgs,
    /// Write records to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Skip messages whose ids are already in --out (and redo a torn last line).
    #[arg(long, requires = "out")]
    resume: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// Summary method: abstractive (the generator, checked against the message), extractive
    /// (central sentences chosen with the encoder), lead (the first sentences), none, or auto:
    /// abstractive when --generator names a generator, else extractive (with the default
    /// 135M generator, extractive summaries measure better: README "Summaries").
    #[arg(long, default_value = "auto", value_parser = ["auto", "abstractive", "extractive", "lead", "none"])]
    summary: String,
    #[command(flatten)]
    summary_options: SummaryArgs,
    #[command(flatten)]
    classifier: ClassifierArgs,
    /// Mask email addresses, phone numbers, NI numbers, postcodes, bank details and card numbers
    /// in the record's text fields.
    #[arg(long)]
    redact: bool,
    /// Analyser threads (parse, prepare, embed, classify). Default: the cores left after the
    /// generator's.
    #[arg(long)]
    jobs: Option<usize>,
    /// Messages per encoder batch.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Largest message in bytes; larger ones get an error record.
    #[arg(long, default_value_t = DEFAULT_MAX_SIZE)]
    max_size: usize,
    /// Group the messages into conversations (References, In-Reply-To, then subject and
    /// participants): records come out conversation by conversation, each with its place, and
    /// a conversation's last record carries the conversation's summary and open questions.
    /// Reads every input before the first record.
    #[arg(long)]
    threads: bool,
    /// Show a progress bar on stderr even when it is not a terminal.
    #[arg(long)]
    progress: bool,
}

/// Run `triage`.
pub fn run(args: TriageArgs) -> anyhow::Result<Outcome> {
    if args.resume && args.format != Format::Jsonl {
        anyhow::bail!("--resume works with --format jsonl only");
    }
    // A mailbox is opened before the models load, so that a wrong password or certificate
    // is told at once.
    let mut folder = match args.inputs.iter().find(|p| is_mailbox_url(p)) {
        Some(_) if args.inputs.len() > 1 => {
            anyhow::bail!("a mailbox URL is read on its own: give it as the only input")
        }
        Some(url) => {
            let url = url.to_string_lossy();
            let cfg = args.mailbox.config(&url, args.max_size)?;
            Some(super::mailbox::open_source(cfg)?)
        }
        None => None,
    };
    let present = match folder {
        Some(_) => Vec::new(),
        None => match super::existing_inputs(&args.inputs) {
            Some(p) => p,
            None => return Ok(Outcome::Fatal),
        },
    };

    let summary = super::default_summary(&args.summary, &args.models);
    let limits = Limits {
        max_size: args.max_size,
        ..Limits::default()
    };
    let builder = EngineBuilder::new(args.models.spec())
        .summary(summary)
        .summary_options(args.summary_options.options())
        .redact(args.redact)
        .jobs(args.jobs)
        .batch(args.batch)
        .limits(limits);
    let engine = args.classifier.apply(builder).build()?;
    let axes = engine.axes();

    let (sink, done): (Box<dyn Write>, _) = match &args.out {
        Some(path) if args.resume => {
            let (file, state) = resume::open_for_resume(path)
                .with_context(|| format!("resuming {}", path.display()))?;
            if state.torn_bytes > 0 {
                eprintln!(
                    "resume: cut a torn last record ({} bytes); it will be redone",
                    state.torn_bytes
                );
            }
            (Box::new(WholeRecords::new(file, path)?), state.done)
        }
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("creating {}", path.display()))?;
            (Box::new(WholeRecords::new(file, path)?), Default::default())
        }
        None => (Box::new(std::io::stdout().lock()), Default::default()),
    };
    let mut writer = RecordWriter::new(sink, args.format, &axes)?;

    let total = folder.as_ref().map(|f| u64::from(f.selection().exists));
    let progress = progress_bar(args.progress, &present, total, limits);
    let start = Instant::now();
    let messages: Box<dyn Iterator<Item = Message> + '_> = match folder.as_mut() {
        Some(f) => Box::new(f),
        None => Box::new(read_inputs(&present, &SourceOptions { limits })),
    };
    let emit = |out: &Output| {
        progress.inc(1);
        writer.write(out)
    };
    let stats = if args.threads {
        engine.run_threads(messages, &done, emit)
    } else {
        engine.run(messages, &done, emit)
    };
    let finished = match stats {
        Ok(s) => writer.finish().map(|()| s).map_err(PipelineError::from),
        Err(e) => Err(e),
    };
    let stats = match finished {
        Ok(s) => s,
        Err(PipelineError::Output(e)) => {
            progress.finish_and_clear();
            return match e.get_ref().and_then(|i| i.downcast_ref::<CutBack>()) {
                Some(cut) => {
                    eprintln!(
                        "error: {cut}. Free some space, then run the same command with --resume \
                         to finish the job."
                    );
                    Ok(Outcome::Fatal)
                }
                None => Err(anyhow::Error::new(e).context("writing the records")),
            };
        }
        Err(e) => return Err(e.into()),
    };
    progress.finish_and_clear();
    let cut_off = folder.as_mut().and_then(|f| f.take_error());
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let n = stats.triaged + stats.failed;
    eprintln!(
        "triaged {} messages ({} failed, {} need review, {} skipped as already done) in {secs:.1} s: {:.2} messages/s",
        stats.triaged,
        stats.failed,
        stats.needs_review,
        stats.skipped,
        n as f64 / secs
    );
    if let Some(f) = folder {
        f.into_mailbox().logout();
    }
    if let Some(e) = cut_off {
        eprintln!("error: the read of the folder was cut off: {e:#}");
        return Ok(Outcome::Fatal);
    }
    Ok(
        if stats.failed > 0 || (total.is_none() && present.len() < args.inputs.len()) {
            Outcome::SomeFailed
        } else {
            Outcome::Ok
        },
    )
}

/// A progress bar on stderr when it is a terminal (or when asked), counting messages; the total
/// (and so the ETA) is `total` when known (a mailbox folder), else a count of the inputs done
/// on a background thread.
fn progress_bar(
    force: bool,
    inputs: &[PathBuf],
    total: Option<u64>,
    limits: Limits,
) -> ProgressBar {
    if !(force || std::io::stderr().is_terminal()) {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} {pos}/{len} messages  {per_sec}  elapsed {elapsed}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    if let Some(n) = total {
        pb.set_length(n);
    } else if !inputs.iter().any(|p| p.as_os_str() == "-") {
        let inputs = inputs.to_vec();
        let counter = pb.clone();
        std::thread::spawn(move || {
            let n = read_inputs(&inputs, &SourceOptions { limits }).count();
            counter.set_length(n as u64);
        });
    }
    pb
}
