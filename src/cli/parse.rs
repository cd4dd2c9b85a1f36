//! `mailroom parse INPUT...`: one JSON line per message with the parsed email and the prepared
//! text, so a user sees exactly what the models will see. A message that cannot be read gets
//! its error record.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use rayon::prelude::*;

use mailroom::pipeline::inspect::{inspect, InspectOptions};
use mailroom::pipeline::{
    read_inputs, Limits, Message, SourceOptions, DEFAULT_MAX_DEPTH, DEFAULT_MAX_PARTS,
    DEFAULT_MAX_SIZE, DEFAULT_MAX_TOKENS,
};

use super::Outcome;

/// Arguments of `parse`.
#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Files, folders (walked recursively), mbox files, Maildir folders, JSON lines files, or
    /// `-` for stdin.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Largest message read, in bytes; a larger one is an error record.
    #[arg(long, default_value_t = DEFAULT_MAX_SIZE, env = "MAILROOM_MAX_SIZE")]
    max_size: usize,
    /// Deepest MIME nesting accepted.
    #[arg(long, default_value_t = DEFAULT_MAX_DEPTH)]
    max_depth: usize,
    /// Most MIME parts accepted in one message.
    #[arg(long, default_value_t = DEFAULT_MAX_PARTS)]
    max_parts: usize,
    /// Token budget of the prepared text (estimated tokens; the models count their own).
    #[arg(long, default_value_t = DEFAULT_MAX_TOKENS)]
    max_tokens: usize,
    /// Keep quoted replies, signatures and disclaimers in the prepared text.
    #[arg(long)]
    no_strip: bool,
    /// Write no records, only the summary on stderr (for timing).
    #[arg(long)]
    quiet: bool,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
}

/// Messages handled per parallel batch: enough to keep every core busy, few enough that
/// memory stays bounded (at most this many messages held at once).
const BATCH: usize = 256;

/// Run `parse`.
pub fn run(args: ParseArgs) -> anyhow::Result<Outcome> {
    let Some(present) = super::existing_inputs(&args.inputs) else {
        return Ok(Outcome::Fatal);
    };
    let missing = present.len() < args.inputs.len();

    let limits = Limits {
        max_size: args.max_size,
        max_depth: args.max_depth,
        max_parts: args.max_parts,
        ..Limits::default()
    };
    let opts = InspectOptions {
        limits,
        max_tokens: args.max_tokens,
        strip: !args.no_strip,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs)
        .build()
        .context("starting worker threads")?;

    let start = Instant::now();
    let mut messages = read_inputs(&present, &SourceOptions { limits });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut total, mut failed, mut bytes) = (0usize, 0usize, 0usize);
    loop {
        let batch: Vec<Message> = messages.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        let quiet = args.quiet;
        let lines: Vec<(bool, usize, String)> =
            pool.install(|| batch.par_iter().map(|m| handle(m, &opts, quiet)).collect());
        for (ok, size, line) in lines {
            total += 1;
            bytes += size;
            if !ok {
                failed += 1;
            }
            if !quiet {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "parsed {total} messages ({failed} errors), {:.2} MB in {:.3} s: {:.1} messages/s, {:.2} MB/s",
        bytes as f64 / 1e6,
        secs,
        total as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    Ok(if failed > 0 || missing {
        Outcome::SomeFailed
    } else {
        Outcome::Ok
    })
}

/// Parse and prepare one message; returns (ok, bytes, JSON line).
fn handle(m: &Message, opts: &InspectOptions, quiet: bool) -> (bool, usize, String) {
    let size = m.size();
    let (ok, line) = match inspect(m, opts) {
        Ok(_) if quiet => return (true, size, String::new()),
        Err(_) if quiet => return (false, size, String::new()),
        Ok(record) => (true, serde_json::to_string(&record)),
        Err(error) => (false, serde_json::to_string(&error)),
    };
    match line {
        Ok(s) => (ok, size, s),
        // Serialising our own plain structs cannot fail; if it ever does, say so as a record.
        Err(e) => (
            false,
            size,
            serde_json::json!({"id": m.id, "error": {"kind": "internal", "message": e.to_string()}})
                .to_string(),
        ),
    }
}
