//! `mailroom enqueue SOURCE... --store S`: put messages in the store's job queue for workers,
//! one job per message hash; `mailroom queue status [--json] --store S`: jobs per state, queue
//! depth, the oldest waiting job and lapsed leases; `mailroom queue failed --store S`: the
//! parked jobs with their errors.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use mailroom::pipeline::worker::{enqueue, EnqueueOptions};
use mailroom::pipeline::{read_inputs, Limits, SourceOptions, DEFAULT_MAX_SIZE};
use mailroom::store::{BlockingStore, JobCounts, DEFAULT_MAX_ATTEMPTS};
use serde_json::{json, Value};

use super::ingest::StoreArgs;
use super::Outcome;

/// Arguments of `enqueue`.
#[derive(Debug, Args)]
pub struct EnqueueArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Files, folders, mbox files, Maildir folders, JSON lines files, or `-` for stdin.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Attempts a job gets before it is parked as failed.
    #[arg(long, default_value_t = DEFAULT_MAX_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..))]
    max_attempts: u32,
    /// Largest message in bytes; larger ones are not queued.
    #[arg(long, default_value_t = DEFAULT_MAX_SIZE)]
    max_size: usize,
}

/// Run `enqueue`.
pub fn run_enqueue(args: EnqueueArgs) -> anyhow::Result<Outcome> {
    let Some(present) = super::existing_inputs(&args.inputs) else {
        return Ok(Outcome::Fatal);
    };
    let store = args.store.open()?;
    let failed = queue_inputs(&store, &present, args.max_size, args.max_attempts)?;
    Ok(if failed || present.len() < args.inputs.len() {
        Outcome::SomeFailed
    } else {
        Outcome::Ok
    })
}

/// Queue the messages of `inputs` (also `ingest --queue`), say what was done on stderr;
/// whether some could not be read.
pub fn queue_inputs(
    store: &BlockingStore,
    inputs: &[PathBuf],
    max_size: usize,
    max_attempts: u32,
) -> anyhow::Result<bool> {
    let limits = Limits {
        max_size,
        ..Limits::default()
    };
    let start = Instant::now();
    let messages = read_inputs(inputs, &SourceOptions { limits });
    let opts = EnqueueOptions {
        max_attempts,
        ..EnqueueOptions::default()
    };
    let stats = enqueue(messages, store, &opts)?;
    eprintln!(
        "queued {} messages ({} already queued, {} already stored, {} unreadable) in {:.1} s",
        stats.queued,
        stats.already_queued,
        stats.already_stored,
        stats.unreadable,
        start.elapsed().as_secs_f64()
    );
    Ok(stats.unreadable > 0)
}

/// `queue` subcommands.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Jobs per state (queued, claimed, done, failed), queue depth, the oldest waiting job and
    /// claimed jobs whose lease has lapsed.
    Status(StatusArgs),
    /// The parked jobs, oldest first, one JSON line each with its error (no message content).
    Failed(FailedArgs),
}

/// Arguments of `queue status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Arguments of `queue failed`.
#[derive(Debug, Args)]
pub struct FailedArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// At most this many jobs.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

/// Run a `queue` subcommand.
pub fn run(cmd: QueueCommand) -> anyhow::Result<Outcome> {
    match cmd {
        QueueCommand::Status(args) => status(args),
        QueueCommand::Failed(args) => failed(args),
    }
}

/// The status as JSON: the counts, `depth` (the queued jobs) and the oldest job's age.
pub fn status_json(c: &JobCounts) -> Value {
    json!({
        "queued": c.queued,
        "claimed": c.claimed,
        "done": c.done,
        "failed": c.failed,
        "depth": c.queued,
        "oldest_queued_ms": c.oldest_queued_ms,
        "expired_leases": c.expired_leases,
    })
}

fn status(args: StatusArgs) -> anyhow::Result<Outcome> {
    let store = args.store.open()?;
    let c = store.block_on(store.store().job_counts())?;
    if args.json {
        outln!("{}", status_json(&c));
        return Ok(Outcome::Ok);
    }
    let oldest = match c.oldest_queued_ms {
        Some(ms) => format!("{:.1} s", ms.max(0) as f64 / 1e3),
        None => "none waiting".into(),
    };
    outln!("queued   {:>10}", c.queued);
    outln!(
        "claimed  {:>10}  ({} with a lapsed lease)",
        c.claimed,
        c.expired_leases
    );
    outln!("done     {:>10}", c.done);
    outln!("failed   {:>10}", c.failed);
    outln!("depth {}, oldest queued job: {oldest}", c.queued);
    Ok(Outcome::Ok)
}

fn failed(args: FailedArgs) -> anyhow::Result<Outcome> {
    let store = args.store.open()?;
    let jobs = store.block_on(store.store().failed_jobs(args.limit))?;
    for j in jobs {
        let error = j
            .error_json
            .as_deref()
            .and_then(|e| serde_json::from_str::<Value>(e).ok())
            .unwrap_or(Value::Null);
        outln!(
            "{}",
            json!({
                "job": j.id,
                "sha256": j.sha256,
                "attempts": j.attempts,
                "max_attempts": j.max_attempts,
                "worker": j.worker_id,
                "error": error,
            })
        );
    }
    Ok(Outcome::Ok)
}
