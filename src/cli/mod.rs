//! The command line: one file per command. Only this module (and `main.rs`) reads the
//! environment, prints to stdout, or decides exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `println!` for the commands: see [`stdout`].
macro_rules! outln {
    () => {
        $crate::cli::stdout::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::stdout::line(format_args!($($arg)*))
    };
}

mod bench;
mod bench_triage;
mod classify;
mod common;
mod desk;
mod embed;
mod eval;
mod eval_curve;
mod eval_summaries;
mod generate;
mod groups;
mod heads;
mod ingest;
mod learning;
mod mailbox;
mod models;
mod output;
mod parse;
mod queue;
mod serve;
mod stdout;
mod summarize;
mod train;
mod triage;
mod watch;
mod worker;

pub use common::{existing_inputs, in_unit_interval, init_tracing, ModelArgs};

use mailroom::pipeline::Method;

/// mailroom: classify and summarise email on your own machine.
#[derive(Debug, Parser)]
#[command(name = "mailroom", version, about, long_about = None)]
pub struct Cli {
    /// Write logs as JSON lines on stderr (content is never logged above trace level).
    #[arg(long, global = true)]
    pub log_json: bool,
    /// CPU threads per model operation. Default: all cores for single-model commands; 1 per
    /// model for commands that run both models side by side (triage, serve).
    #[arg(long, global = true, env = "MAILROOM_THREADS", value_name = "N")]
    pub cpu_threads: Option<usize>,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every mailroom command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, verify or locate models in the model store.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Embed each TEXT with the encoder; one JSON array per text on stdout.
    Embed(embed::EmbedArgs),
    /// Run the generator on PROMPT as a user chat turn; the text on stdout, counts on stderr.
    Generate(generate::GenerateArgs),
    /// Triage messages: classify on every axis, summarise, one record per message.
    Triage(triage::TriageArgs),
    /// Measure model speed on this machine (embeddings/s, prompt and decode tokens/s, RSS).
    Bench(bench::BenchArgs),
    /// Classify each message on every axis (zero-shot taxonomy plus trained heads); JSON lines.
    Classify(classify::ClassifyArgs),
    /// Train a classification head for an axis on labelled mail and write it to HEAD, or on a
    /// store's reviewed mail (--from-store) as a candidate to compare and promote.
    Train(train::TrainArgs),
    /// Score a head, zero-shot, or a cross-validated head on labelled mail.
    Eval(eval::EvalArgs),
    /// Parse and prepare mail; one JSON line per message with exactly what the models see.
    Parse(parse::ParseArgs),
    /// Serve the HTTP API (triage, classify, summarize, health, metrics, OpenAPI).
    Serve(serve::ServeArgs),
    /// Summarise each message (abstractive or extractive, checked against the source); JSON lines.
    Summarize(summarize::SummarizeArgs),
    /// Serve the desk, the caseworkers' web page over a store; `desk user ...` manages accounts.
    Desk(desk::DeskArgs),
    /// Triage messages into a store (SQLite or PostgreSQL) for the desk; idempotent.
    Ingest(ingest::IngestArgs),
    /// Write every stored record as JSON lines, with the corrections applied and marked.
    Export(ingest::ExportArgs),
    /// List the groups of near-duplicate messages in a store (campaigns, repeats), largest first.
    Groups(groups::GroupsArgs),
    /// The store's heads: list, show, promote, discard, roll back.
    Heads(heads::HeadsArgs),
    /// Put messages in the store's job queue for workers (one job per message; idempotent).
    Enqueue(queue::EnqueueArgs),
    /// Claim queued messages in batches, triage them and store each record with its job's state.
    Worker(worker::WorkerArgs),
    /// The job queue: jobs per state, depth, oldest job, lapsed leases; parked jobs.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// Watch a mailbox folder (imaps://…) and triage new mail as it comes, into a store or a
    /// JSON lines file, each message exactly once; optionally tag it and move junk.
    Watch(watch::WatchArgs),
}

/// How a command ended, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything ran and every message succeeded: exit 0.
    Ok,
    /// The command ran but some messages (or files) failed: exit 1.
    SomeFailed,
    /// Nothing could run (bad arguments, missing model): exit 2.
    Fatal,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::SomeFailed => ExitCode::from(1),
            Outcome::Fatal => ExitCode::from(2),
        }
    }
}

/// Set the number of threads candle uses for each operation. Must run before any model code:
/// candle builds its thread pool once, from `CANDLE_NUM_THREADS`, on first use.
pub fn configure_threads(cli: &Cli) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let side_by_side = cli.command.runs_models_side_by_side();
    // Commands that run both models at once give each model one core. Single-model commands use
    // every core. candle's kernel threads spin at a barrier after each operation (25,000 spins
    // by default): when anything else wants the cores, 2-thread decoding fell from 84 to 3.7
    // tok/s on a 2-core machine. A 2,000-spin limit keeps 82 tok/s when quiet and 29 under that
    // load (one thread: 57 and 51).
    let threads = cli
        .cpu_threads
        .unwrap_or(if side_by_side { 1 } else { cores });
    if std::env::var_os("CANDLE_BARRIER_POOL_SPIN_LIMIT").is_none() {
        std::env::set_var("CANDLE_BARRIER_POOL_SPIN_LIMIT", "2000");
    }
    if cli.cpu_threads.is_some() || std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", threads.max(1).to_string());
    }
    if cli.cpu_threads.is_some() || std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", threads.max(1).to_string());
    }
}

impl Command {
    /// Whether this command keeps the encoder and the generator busy at the same time.
    fn runs_models_side_by_side(&self) -> bool {
        match self {
            Command::Triage(_) | Command::Serve(_) | Command::Ingest(_) | Command::Watch(_) => true,
            // A worker without the generator runs the encoder alone: every core for it.
            Command::Worker(w) => w.summary == "abstractive",
            _ => false,
        }
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Models(cmd) => models::run(cmd),
        Command::Embed(args) => embed::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Triage(args) => triage::run(args),
        Command::Classify(args) => classify::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Parse(args) => parse::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Summarize(args) => summarize::run(args),
        Command::Desk(args) => desk::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Export(args) => ingest::export(args),
        Command::Groups(args) => groups::run(args),
        Command::Heads(args) => heads::run(args),
        Command::Enqueue(args) => queue::run_enqueue(args),
        Command::Worker(args) => worker::run(args),
        Command::Queue(cmd) => queue::run(cmd),
        Command::Watch(args) => watch::run(args),
    }
}

/// The default model store folder: `MAILROOM_MODELS`, else `./models` when it holds a
/// manifest, else the store of the source tree this binary was built from.
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MAILROOM_MODELS") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("models");
    if local.join("models.toml").is_file() {
        return local;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models"))
}

/// `--summary` of `triage`: `auto` is abstractive when the operator names a generator, else
/// extractive (the default generator's summaries measure below extractive ones).
pub fn default_summary(value: &str, models: &common::ModelArgs) -> Option<Method> {
    match value {
        "auto" if models.generator.is_some() => Some(Method::Abstractive),
        "auto" => Some(Method::Extractive),
        other => method_or_none(other),
    }
}

/// A `--summary` value: a method, or `none` for no summary.
pub fn method_or_none(value: &str) -> Option<Method> {
    <Method as clap::ValueEnum>::from_str(value, true).ok()
}
