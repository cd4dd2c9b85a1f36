//! `mailroom eval summaries --data FILE.jsonl`: ROUGE-1/2/L F1 (max and mean over the
//! references), faithfulness failure rate, fallback rate, mean length and seconds per message
//! for one method and style, next to the baselines scored the same way: the first sentence of
//! the raw body, the first sentence of the cleaned body (greeting, quotes and signature
//! dropped), the first 8 words, the subject line, and for threads the first 120 words of the
//! raw and of the cleaned text.
//!
//! Reads AESLC-style lines `{"id", "body", "subject"?, "references": [...]}` and BC3 threads
//! `{"listno", "name", "emails": [{"from", "subject", "text", ...}], "summaries": [{"summary"}]}`.
//! The subject is not shown to the summariser unless `--with-subject`: AESLC references are
//! subject lines, so showing the original one leaks the answer.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::{Deserialize, Serialize};

use mailroom::email::Email;
use mailroom::summarize::{rouge, sentences, Method, Summarizer, SummaryInput, ThreadMessage};
use mailroom::text::{self, PrepareOptions};

use super::summarize::{Models, SummaryArgs};
use super::{ModelArgs, Outcome};

/// Arguments of `eval summaries`.
#[derive(Debug, Args)]
pub struct EvalSummariesArgs {
    #[command(flatten)]
    models: ModelArgs,
    #[command(flatten)]
    summary: SummaryArgs,
    /// JSON lines with references (AESLC or BC3 format).
    #[arg(long, required = true)]
    data: PathBuf,
    /// Score only the first N items (after --skip).
    #[arg(long)]
    limit: Option<usize>,
    /// Skip the first N items (to score a slice the defaults were not tuned on).
    #[arg(long, default_value_t = 0)]
    skip: usize,
    /// Show the original subject to the summariser (leaks the answer on AESLC).
    #[arg(long)]
    with_subject: bool,
    /// Write the report as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Write every item's summaries and scores as JSON lines to FILE.
    #[arg(long, value_name = "FILE")]
    predictions: Option<PathBuf>,
}

/// One item to summarise, with its references.
struct Item {
    id: String,
    input: SummaryInput,
    raw_body: String,
    subject: Option<String>,
    references: Vec<String>,
}

#[derive(Deserialize)]
struct AeslcLine {
    id: Option<String>,
    body: String,
    subject: Option<String>,
    references: Vec<String>,
}

#[derive(Deserialize)]
struct Bc3Email {
    from: Option<String>,
    subject: Option<String>,
    text: String,
}

#[derive(Deserialize)]
struct Bc3Summary {
    summary: String,
}

#[derive(Deserialize)]
struct Bc3Line {
    listno: Option<String>,
    name: Option<String>,
    emails: Vec<Bc3Email>,
    summaries: Vec<Bc3Summary>,
}

/// Clean a body the way the product does (quotes, signatures, disclaimers stripped).
fn clean_body(body: &str) -> String {
    let email = Email::from_parts(None, None, body);
    text::prepare(
        &email,
        &PrepareOptions {
            max_tokens: usize::MAX / 4,
            ..PrepareOptions::default()
        },
    )
    .body
}

fn parse_line(line: &str, n: usize) -> anyhow::Result<Item> {
    let v: serde_json::Value = serde_json::from_str(line)?;
    if v.get("emails").is_some() {
        let t: Bc3Line = serde_json::from_value(v)?;
        let mut body = String::new();
        let mut messages = Vec::new();
        for e in &t.emails {
            let cleaned = clean_body(&e.text);
            messages.push(ThreadMessage {
                from: e.from.clone(),
                body: cleaned.clone(),
            });
            if let Some(f) = e.from.as_deref() {
                body.push_str(&format!("{f} wrote:\n"));
            }
            body.push_str(cleaned.trim());
            body.push_str("\n\n");
        }
        let subject = t
            .emails
            .first()
            .and_then(|e| e.subject.clone())
            .or(t.name.clone());
        Ok(Item {
            id: t.listno.or(t.name).unwrap_or_else(|| format!("#{n}")),
            raw_body: t
                .emails
                .iter()
                .map(|e| e.text.as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
            input: SummaryInput {
                from: None,
                subject: None,
                body,
                messages,
            },
            subject,
            references: t.summaries.into_iter().map(|s| s.summary).collect(),
        })
    } else {
        let a: AeslcLine = serde_json::from_value(v)?;
        Ok(Item {
            id: a.id.unwrap_or_else(|| format!("#{n}")),
            input: SummaryInput {
                from: None,
                subject: None,
                body: clean_body(&a.body),
                messages: Vec::new(),
            },
            raw_body: a.body,
            subject: a.subject,
            references: a.references,
        })
    }
}

/// Scores of one system over the data.
#[derive(Debug, Default, Clone, Serialize)]
struct SystemReport {
    system: String,
    n: usize,
    /// Mean over items of the best F1 over references ×100: ROUGE-1, ROUGE-2, ROUGE-L.
    rouge_max: [f64; 3],
    /// Mean over items of the mean F1 over references ×100.
    rouge_mean: [f64; 3],
    mean_words: f64,
    /// Share of summaries failing the faithfulness check (before any fallback).
    faithfulness_failure_rate: Option<f64>,
    /// Share of summaries shown with `needs_review` set.
    flagged_rate: Option<f64>,
    /// Share of summaries written by a fallback method.
    fallback_rate: Option<f64>,
    /// Share of summaries whose first attempt was retried.
    retry_rate: Option<f64>,
    seconds_per_message: f64,
}

#[derive(Default)]
struct Acc {
    n: usize,
    max: [f64; 3],
    mean: [f64; 3],
    words: usize,
    unfaithful: usize,
    flagged: usize,
    fallback: usize,
    retried: usize,
    secs: f64,
}

impl Acc {
    fn add(&mut self, text: &str, refs: &[&str]) -> rouge::MultiRef {
        let s = rouge::score_multi(text, refs);
        self.n += 1;
        for i in 0..3 {
            self.max[i] += s.max[i];
            self.mean[i] += s.mean[i];
        }
        self.words += text.split_whitespace().count();
        s
    }

    fn report(&self, system: &str, model: bool) -> SystemReport {
        let n = self.n.max(1) as f64;
        let rate = |k: usize| model.then_some(k as f64 / n);
        SystemReport {
            system: system.to_string(),
            n: self.n,
            rouge_max: self.max.map(|x| 100.0 * x / n),
            rouge_mean: self.mean.map(|x| 100.0 * x / n),
            mean_words: self.words as f64 / n,
            faithfulness_failure_rate: rate(self.unfaithful),
            flagged_rate: rate(self.flagged),
            fallback_rate: rate(self.fallback),
            retry_rate: rate(self.retried),
            seconds_per_message: self.secs / n,
        }
    }
}

fn first_words(text: &str, n: usize) -> String {
    text.split_whitespace()
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run `eval summaries`.
pub fn run(args: EvalSummariesArgs) -> anyhow::Result<Outcome> {
    let file = std::fs::File::open(&args.data)
        .with_context(|| format!("opening {}", args.data.display()))?;
    let mut items = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() || n < args.skip {
            continue;
        }
        if args.limit.is_some_and(|l| items.len() >= l) {
            break;
        }
        items.push(
            parse_line(&line, n)
                .with_context(|| format!("{}: line {}", args.data.display(), n + 1))?,
        );
    }
    if items.is_empty() {
        bail!("{}: no items", args.data.display());
    }
    let method: Method = args.summary.method.into();
    let style = args.summary.style;
    let mut models = Models::load(&args.models, method)?;
    let summarizer = Summarizer::new(args.summary.options());
    let system = format!("{method}/{}", mailroom::summarize::Style::from(style));
    let thread = items[0]
        .references
        .iter()
        .map(|r| r.split_whitespace().count())
        .sum::<usize>()
        / items[0].references.len().max(1)
        > 40;

    let mut acc = Acc::default();
    let mut base_first = Acc::default();
    let mut base_first_clean = Acc::default();
    let mut base_120_clean = Acc::default();
    let mut base_8 = Acc::default();
    let mut base_subject = Acc::default();
    let mut base_120 = Acc::default();
    let mut preds = match &args.predictions {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let started = Instant::now();
    for (k, item) in items.iter().enumerate() {
        let refs: Vec<&str> = item.references.iter().map(String::as_str).collect();
        let mut input = item.input.clone();
        if args.with_subject {
            input.subject = item.subject.clone();
        }
        let t = Instant::now();
        let summary = models.summarize(&summarizer, method, &input)?;
        acc.secs += t.elapsed().as_secs_f64();
        let scores = acc.add(&summary.text, &refs);
        let unfaithful = match &summary.fallback {
            Some(f) => f
                .rejected_faithfulness
                .as_ref()
                .is_some_and(|r| !r.passed()),
            None => !summary.faithfulness.passed(),
        };
        acc.unfaithful += usize::from(unfaithful);
        acc.flagged += usize::from(summary.needs_review);
        acc.fallback += usize::from(summary.fallback.is_some());
        acc.retried += usize::from(summary.attempts.len() > 1);

        base_first.add(&sentences::first_as_is(&item.raw_body), &refs);
        let first = sentences::split(&item.input.body)
            .into_iter()
            .next()
            .unwrap_or_default();
        base_first_clean.add(&first, &refs);
        base_8.add(&first_words(&item.raw_body, 8), &refs);
        if let Some(s) = &item.subject {
            base_subject.add(s, &refs);
        }
        base_120.add(&first_words(&item.raw_body, 120), &refs);
        base_120_clean.add(&first_words(&item.input.body, 120), &refs);
        if let Some(w) = preds.as_mut() {
            serde_json::to_writer(
                &mut *w,
                &serde_json::json!({"id": item.id, "summary": summary, "rouge": scores, "references": refs}),
            )?;
            w.write_all(b"\n")?;
        }
        if (k + 1) % 10 == 0 || k + 1 == items.len() {
            eprintln!(
                "{}/{} items, {:.1} s/message",
                k + 1,
                items.len(),
                acc.secs / acc.n.max(1) as f64
            );
        }
    }
    if let Some(mut w) = preds {
        w.flush()?;
    }
    let mut reports = vec![acc.report(&system, true)];
    if !thread {
        // One-line baselines mean nothing against ~120-word thread summaries.
        reports.push(base_first.report("baseline: first sentence", false));
        reports.push(base_first_clean.report("baseline: first sentence, greeting dropped", false));
        reports.push(base_8.report("baseline: first 8 words", false));
        if base_subject.n > 0 {
            reports.push(base_subject.report("baseline: subject line", false));
        }
    }
    if thread {
        reports.push(base_120.report("baseline: first 120 words", false));
        reports.push(base_120_clean.report("baseline: first 120 words, cleaned", false));
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({
                "data": args.data,
                "items": items.len(),
                "method": method,
                "style": mailroom::summarize::Style::from(style),
                "options": summarizer.options(),
                "seconds": started.elapsed().as_secs_f64(),
                "systems": reports,
            }),
        )?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{} items from {}\n{:<44} {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6} | {:>6} {:>7} {:>7} {:>6}",
            items.len(),
            args.data.display(),
            "system (ROUGE F1 x100: max | mean over refs)",
            "R1",
            "R2",
            "RL",
            "R1",
            "R2",
            "RL",
            "words",
            "unfaith",
            "fallbk",
            "s/msg"
        )?;
        for r in &reports {
            let pct = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v));
            writeln!(
                out,
                "{:<44} {:>6.1} {:>6.1} {:>6.1} | {:>6.1} {:>6.1} {:>6.1} | {:>6.1} {:>7} {:>7} {:>6.2}",
                r.system,
                r.rouge_max[0],
                r.rouge_max[1],
                r.rouge_max[2],
                r.rouge_mean[0],
                r.rouge_mean[1],
                r.rouge_mean[2],
                r.mean_words,
                pct(r.faithfulness_failure_rate),
                pct(r.fallback_rate),
                r.seconds_per_message
            )?;
        }
    }
    Ok(Outcome::Ok)
}
