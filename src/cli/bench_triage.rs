//! `mailroom bench --triage DIR`: what a user of `triage` feels, messages per second of the whole
//! pipeline (parse, prepare, embed, classify on every axis, summarise, records) over the messages
//! of DIR, with the engine `triage` builds from the same flags. The messages are read into memory
//! first (the disk is not measured), a few are triaged once to warm up, then all of them are
//! triaged through the same streaming run as `triage`, records serialised as JSON lines and
//! dropped. The peak RSS is read right after, before any other measurement of `bench` runs.

use std::path::PathBuf;
use std::time::Instant;

use mailroom::pipeline::{read_inputs, EngineBuilder, Limits, Message, Output, SourceOptions};
use serde::Serialize;

use super::common::{ClassifierArgs, ModelArgs};

/// Messages triaged once before the measured run.
const WARM_UP: usize = 8;

/// `triage` in the report.
#[derive(Debug, Serialize)]
pub struct TriageReport {
    /// The folder (or file) the messages came from.
    pub input: String,
    /// Messages measured (records and error records).
    pub messages: usize,
    /// Of them, error records.
    pub failed: usize,
    /// The summary method (`--triage-summary`).
    pub summary: String,
    /// Analyser threads.
    pub jobs: usize,
    /// Messages triaged once before the measured run.
    pub warm_up: usize,
    pub seconds: f64,
    pub messages_per_s: f64,
    /// Bytes of the raw messages per second.
    pub mb_per_s: f64,
    /// Peak RSS of the process when the triage was done (MB): both models, if the summary
    /// method loads the generator, and every message in memory.
    pub peak_rss_mb: Option<f64>,
}

/// Triage every message of `input` with the engine built from the flags; see the module text.
pub fn bench(
    input: &PathBuf,
    summary: &str,
    models: &ModelArgs,
    classifier: &ClassifierArgs,
) -> anyhow::Result<TriageReport> {
    let limits = Limits::default();
    let messages: Vec<Message> =
        read_inputs(std::slice::from_ref(input), &SourceOptions { limits }).collect();
    anyhow::ensure!(
        !messages.is_empty(),
        "--triage {}: no messages found there",
        input.display()
    );
    let bytes: usize = messages.iter().map(raw_len).sum();
    let method = super::default_summary(summary, models);
    let builder = EngineBuilder::new(models.spec())
        .summary(method)
        .limits(limits);
    let engine = classifier.apply(builder).build()?;
    let jobs = engine.config().jobs;
    let none = Default::default();
    let mut sink = Vec::new();
    let mut emit = |out: &Output| -> std::io::Result<()> {
        sink.clear();
        serde_json::to_writer(&mut sink, out)?;
        Ok(())
    };
    let warm_up = WARM_UP.min(messages.len());
    let again = read_inputs(std::slice::from_ref(input), &SourceOptions { limits });
    engine.run(again.take(warm_up), &none, &mut emit)?;
    let start = Instant::now();
    let stats = engine.run(messages.into_iter(), &none, &mut emit)?;
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    let n = stats.triaged + stats.failed;
    Ok(TriageReport {
        input: input.display().to_string(),
        messages: n,
        failed: stats.failed,
        summary: method.map_or("none".to_string(), |m| m.to_string()),
        jobs,
        warm_up,
        seconds,
        messages_per_s: n as f64 / seconds,
        mb_per_s: bytes as f64 / 1e6 / seconds,
        peak_rss_mb: super::bench::peak_rss_mb(),
    })
}

fn raw_len(m: &Message) -> usize {
    match &m.content {
        Ok(mailroom::pipeline::Content::Raw(raw)) => raw.len(),
        _ => 0,
    }
}

/// The table lines of the report.
pub fn print(t: &TriageReport) {
    outln!(
        "\ntriage of {} messages from {} ({} summaries, {} analyser threads, after {} to warm up)",
        t.messages,
        t.input,
        t.summary,
        t.jobs,
        t.warm_up
    );
    outln!(
        "  {:.1} messages/s, {:.2} MB/s, {:.1} s, {} failed",
        t.messages_per_s,
        t.mb_per_s,
        t.seconds,
        t.failed
    );
    if let Some(rss) = t.peak_rss_mb {
        outln!("  peak RSS after the triage: {rss:.0} MB");
    }
}
