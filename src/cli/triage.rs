//! `mailroom triage INPUT...`: parse, prepare, classify on every axis, summarise, and write one
//! record per message (JSON lines by default; `--format table|csv` for people and spreadsheets).

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mailroom::classify::{Head, ReviewPolicy};
use mailroom::email::{self, Limits, SourceOptions};
use mailroom::pipeline::{resume, Engine, EngineConfig, Output, Record, SummaryMode};
use mailroom::summarize::{Style, SummaryOptions};

use super::{ModelArgs, Outcome};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON record per line (the full record).
    Jsonl,
    /// A table for people at a terminal.
    Table,
    /// CSV with the main fields, for spreadsheets.
    Csv,
}

/// Summary methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryArg {
    /// Written by the generator, checked against the message.
    Abstractive,
    /// Central sentences chosen with the encoder (fast, faithful).
    Extractive,
    /// No summary.
    None,
}

/// Summary styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StyleArg {
    /// Two or three sentences.
    Brief,
    /// A subject-like line of 4 to 10 words.
    Headline,
}

/// Arguments of `triage`.
#[derive(Debug, Args)]
pub struct TriageArgs {
    #[command(flatten)]
    models: ModelArgs,
    /// Files, folders, mbox files, Maildir folders, JSON lines files, or `-` for stdin.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Write records to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Skip messages whose ids are already in --out (and redo a torn last line).
    #[arg(long, requires = "out")]
    resume: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// Summary method.
    #[arg(long, value_enum, default_value_t = SummaryArg::Abstractive)]
    summary: SummaryArg,
    /// Summary style.
    #[arg(long, value_enum, default_value_t = StyleArg::Brief)]
    style: StyleArg,
    /// Word budget of a summary (default: 40 for brief, 10 for headline).
    #[arg(long)]
    summary_words: Option<usize>,
    /// Replace an abstractive summary that fails the faithfulness check by an extractive one.
    #[arg(long)]
    strict: bool,
    /// A trained head (repeatable): it decides its axis instead of zero-shot, or adds an axis.
    #[arg(long = "head", value_name = "HEAD")]
    heads: Vec<PathBuf>,
    /// Taxonomy TOML for the zero-shot axes (default: the built-in public-service taxonomy).
    #[arg(long, value_name = "FILE")]
    taxonomy: Option<PathBuf>,
    /// Only the heads' axes: no zero-shot.
    #[arg(long)]
    no_zero_shot: bool,
    /// Send a decision to review when its top probability is below this, on every axis and
    /// label (instead of the thresholds of the taxonomy and the heads).
    #[arg(long, value_parser = super::probability)]
    review_threshold: Option<f32>,
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
    #[arg(long, default_value_t = email::DEFAULT_MAX_SIZE)]
    max_size: usize,
    /// Show a progress bar on stderr even when it is not a terminal.
    #[arg(long)]
    progress: bool,
}

/// Run `triage`.
pub fn run(args: TriageArgs) -> anyhow::Result<Outcome> {
    let Some(present) = super::existing_inputs(&args.inputs) else {
        return Ok(Outcome::Fatal);
    };
    if args.resume && args.format != Format::Jsonl {
        anyhow::bail!("--resume works with --format jsonl only");
    }

    let summary = match args.summary {
        SummaryArg::Abstractive => SummaryMode::Abstractive,
        SummaryArg::Extractive => SummaryMode::Extractive,
        SummaryArg::None => SummaryMode::None,
    };
    let heads = args
        .heads
        .iter()
        .map(|h| Head::load(h).with_context(|| format!("loading head {}", h.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let taxonomy = if args.no_zero_shot {
        None
    } else {
        Some(super::train::taxonomy(args.taxonomy.as_ref())?)
    };
    let encoder = args.models.load_encoder()?;
    for (path, h) in args.heads.iter().zip(&heads) {
        h.check_encoder(path, encoder.model_id(), encoder.sha256())?;
    }
    let generator = match summary {
        SummaryMode::Abstractive => Some(args.models.load_generator()?),
        _ => None,
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let jobs = args.jobs.unwrap_or(match summary {
        SummaryMode::Abstractive => cores.saturating_sub(1).max(1),
        _ => cores,
    });
    let review = ReviewPolicy {
        override_threshold: args.review_threshold,
        ..ReviewPolicy::default()
    };
    let limits = Limits {
        max_size: args.max_size,
        ..Limits::default()
    };
    let config = EngineConfig {
        limits,
        summary,
        summary_options: SummaryOptions {
            style: match args.style {
                StyleArg::Brief => Style::Brief,
                StyleArg::Headline => Style::Headline,
            },
            words: args.summary_words,
            strict: args.strict,
            ..SummaryOptions::default()
        },
        review,
        redact: args.redact,
        jobs,
        batch: args.batch,
        ..EngineConfig::default()
    };
    let engine = Engine::new(encoder, generator, taxonomy, heads, config)?;
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
            (Box::new(file), state.done)
        }
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("creating {}", path.display()))?;
            (Box::new(file), Default::default())
        }
        None => (Box::new(std::io::stdout().lock()), Default::default()),
    };
    let mut writer = RecordWriter::new(sink, args.format, &axes)?;

    let progress = progress_bar(args.progress, &present, limits);
    let start = Instant::now();
    let messages = email::read_inputs(&present, &SourceOptions { limits });
    let stats = engine.run(messages, &done, |out| {
        progress.inc(1);
        writer.write(out)
    })?;
    writer.finish()?;
    progress.finish_and_clear();
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
    Ok(if stats.failed > 0 || present.len() < args.inputs.len() {
        Outcome::SomeFailed
    } else {
        Outcome::Ok
    })
}

/// A progress bar on stderr when it is a terminal (or when asked), counting messages; the total
/// (and so the ETA) comes from a count of the inputs done on a background thread.
fn progress_bar(force: bool, inputs: &[PathBuf], limits: Limits) -> ProgressBar {
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
    if !inputs.iter().any(|p| p.as_os_str() == "-") {
        let inputs = inputs.to_vec();
        let counter = pb.clone();
        std::thread::spawn(move || {
            let n = email::read_inputs(&inputs, &SourceOptions { limits }).count();
            counter.set_length(n as u64);
        });
    }
    pb
}

/// Writes outputs in the chosen format; each record is written whole and flushed.
struct RecordWriter<'a> {
    out: Box<dyn Write + 'a>,
    format: Format,
    axes: Vec<String>,
}

impl<'a> RecordWriter<'a> {
    fn new(mut out: Box<dyn Write + 'a>, format: Format, axes: &[String]) -> std::io::Result<Self> {
        match format {
            Format::Csv => {
                let mut header = vec![
                    "id".to_string(),
                    "from".into(),
                    "subject".into(),
                    "date".into(),
                ];
                for a in axes {
                    header.push(a.clone());
                    header.push(format!("{a}_probability"));
                }
                header.extend(["needs_review", "review", "summary", "error"].map(String::from));
                writeln!(
                    out,
                    "{}",
                    header
                        .iter()
                        .map(|h| csv_field(h))
                        .collect::<Vec<_>>()
                        .join(",")
                )?;
            }
            Format::Table => {
                let mut line = format!("{:<28}", "ID");
                for a in axes {
                    line.push_str(&format!(" {:<24}", a.to_uppercase()));
                }
                line.push_str(" REVIEW  SUMMARY");
                writeln!(out, "{line}")?;
            }
            Format::Jsonl => {}
        }
        Ok(RecordWriter {
            out,
            format,
            axes: axes.to_vec(),
        })
    }

    fn write(&mut self, o: &Output) -> std::io::Result<()> {
        let mut line = match self.format {
            Format::Jsonl => serde_json::to_string(o).map_err(std::io::Error::other)?,
            Format::Csv => self.csv_line(o),
            Format::Table => self.table_line(o),
        };
        line.push('\n');
        self.out.write_all(line.as_bytes())?;
        self.out.flush()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn label<'r>(r: &'r Record, axis: &str) -> Option<&'r mailroom::classify::AxisResult> {
        r.classification.iter().find(|a| a.axis == axis)
    }

    fn csv_line(&self, o: &Output) -> String {
        let mut f: Vec<String> = Vec::new();
        match o {
            Output::Record(r) => {
                f.push(r.id.clone());
                f.push(r.from.clone().unwrap_or_default());
                f.push(r.subject.clone().unwrap_or_default());
                f.push(r.date.clone().unwrap_or_default());
                for a in &self.axes {
                    match Self::label(r, a) {
                        Some(x) => {
                            f.push(x.label.clone());
                            f.push(format!("{:.3}", x.probability));
                        }
                        None => f.extend([String::new(), String::new()]),
                    }
                }
                f.push(r.needs_review.to_string());
                f.push(review_text(r));
                f.push(
                    r.summary
                        .as_ref()
                        .map(|s| s.text.clone())
                        .unwrap_or_default(),
                );
                f.push(String::new());
            }
            Output::Error(e) => {
                f.push(e.id.clone());
                f.extend(std::iter::repeat_n(String::new(), 3 + 2 * self.axes.len()));
                f.extend(["true".to_string(), "error".into(), String::new()]);
                f.push(format!("{}: {}", e.error.stage, e.error.message));
            }
        }
        f.iter().map(|x| csv_field(x)).collect::<Vec<_>>().join(",")
    }

    fn table_line(&self, o: &Output) -> String {
        let id = |s: &str| truncate(s, 28);
        match o {
            Output::Record(r) => {
                let mut line = format!("{:<28}", id(&r.id));
                for a in &self.axes {
                    let cell = Self::label(r, a)
                        .map(|x| format!("{} {:.2}", x.label, x.probability))
                        .unwrap_or_default();
                    line.push_str(&format!(" {:<24}", truncate(&cell, 24)));
                }
                let summary = r.summary.as_ref().map(|s| s.text.as_str()).unwrap_or("");
                line.push_str(&format!(
                    " {:<7} {}",
                    if r.needs_review { "yes" } else { "no" },
                    truncate(summary, 100)
                ));
                line
            }
            Output::Error(e) => format!(
                "{:<28} ERROR {}: {}",
                id(&e.id),
                e.error.stage,
                truncate(&e.error.message, 100)
            ),
        }
    }
}

fn review_text(r: &Record) -> String {
    serde_json::to_string(&r.review).unwrap_or_default()
}

fn truncate(s: &str, n: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= n {
        one_line
    } else {
        let mut t: String = one_line.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
