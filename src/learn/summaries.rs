//! `eval summaries`: ROUGE-1/2/L F1 (max and mean over the references), faithfulness failure
//! rate, fallback rate, length in words, the share that reads as a clause (readability) and
//! seconds per message for the engine's method and style,
//! next to baselines scored the same way: the first sentence of the raw body, the first
//! sentence of the cleaned body (greeting, quotes and signature dropped), the first 8 words, the
//! subject line, and for threads the first 120 words of the raw and of the cleaned text.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::pipeline::Engine;
use crate::summarize::readability::readability;
use crate::summarize::{rouge, sentences};

use super::corpus::summaries::Item;
use super::LearnError;

/// Scores of one system over the data.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SystemReport {
    /// The system's name (`method/style`, or a baseline).
    pub system: String,
    /// Items scored.
    pub n: usize,
    /// Mean over items of the best F1 over references ×100: ROUGE-1, ROUGE-2, ROUGE-L.
    pub rouge_max: [f64; 3],
    /// Mean over items of the mean F1 over references ×100.
    pub rouge_mean: [f64; 3],
    /// Mean words per summary.
    pub mean_words: f64,
    /// Median words per summary.
    pub median_words: f64,
    /// Share of summaries that read as a clause with a finite verb (see
    /// [`crate::summarize::readability`]), not telegraphese.
    pub clause_share: f64,
    /// Share of summaries failing the faithfulness check (before any fallback).
    pub faithfulness_failure_rate: Option<f64>,
    /// Share of summaries shown with `needs_review` set.
    pub flagged_rate: Option<f64>,
    /// Share of summaries written by a fallback method.
    pub fallback_rate: Option<f64>,
    /// Share of summaries whose first attempt was retried.
    pub retry_rate: Option<f64>,
    /// Seconds per message.
    pub seconds_per_message: f64,
}

#[derive(Default)]
struct Acc {
    n: usize,
    max: [f64; 3],
    mean: [f64; 3],
    words: Vec<usize>,
    clauses: usize,
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
        let r = readability(text);
        self.words.push(r.words);
        self.clauses += usize::from(r.clause);
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
            mean_words: self.words.iter().sum::<usize>() as f64 / n,
            median_words: median(&self.words),
            clause_share: self.clauses as f64 / n,
            faithfulness_failure_rate: rate(self.unfaithful),
            flagged_rate: rate(self.flagged),
            fallback_rate: rate(self.fallback),
            retry_rate: rate(self.retried),
            seconds_per_message: self.secs / n,
        }
    }
}

/// The baselines, scored on the same items.
#[derive(Default)]
struct Baselines {
    first: Acc,
    first_clean: Acc,
    first_8: Acc,
    subject: Acc,
    first_120: Acc,
    first_120_clean: Acc,
}

impl Baselines {
    fn add(&mut self, item: &Item, refs: &[&str]) {
        self.first
            .add(&sentences::first_as_is(&item.raw_body), refs);
        let first = sentences::split(&item.input.body)
            .into_iter()
            .next()
            .unwrap_or_default();
        self.first_clean.add(&first, refs);
        self.first_8.add(&first_words(&item.raw_body, 8), refs);
        if let Some(s) = &item.subject {
            self.subject.add(s, refs);
        }
        self.first_120.add(&first_words(&item.raw_body, 120), refs);
        self.first_120_clean
            .add(&first_words(&item.input.body, 120), refs);
    }

    /// One-line baselines mean nothing against ~120-word thread summaries, and the reverse.
    fn reports(&self, thread: bool) -> Vec<SystemReport> {
        let mut v = Vec::new();
        if thread {
            v.push(self.first_120.report("baseline: first 120 words", false));
            v.push(
                self.first_120_clean
                    .report("baseline: first 120 words, cleaned", false),
            );
        } else {
            v.push(self.first.report("baseline: first sentence", false));
            v.push(
                self.first_clean
                    .report("baseline: first sentence, greeting dropped", false),
            );
            v.push(self.first_8.report("baseline: first 8 words", false));
            if self.subject.n > 0 {
                v.push(self.subject.report("baseline: subject line", false));
            }
        }
        v
    }
}

fn median(values: &[usize]) -> f64 {
    let mut v = values.to_vec();
    v.sort_unstable();
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2] as f64,
        n => (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0,
    }
}

/// How the reference summaries themselves read (the same readability check).
#[derive(Debug, Default, Clone, Serialize)]
pub struct ReferenceReadability {
    /// Reference summaries scored.
    pub n: usize,
    /// Mean words per reference.
    pub mean_words: f64,
    /// Median words per reference.
    pub median_words: f64,
    /// Share that read as a clause.
    pub clause_share: f64,
}

fn reference_readability(items: &[Item]) -> ReferenceReadability {
    let scored: Vec<_> = items
        .iter()
        .flat_map(|i| i.references.iter().map(|r| readability(r)))
        .collect();
    let n = scored.len().max(1) as f64;
    let words: Vec<usize> = scored.iter().map(|r| r.words).collect();
    ReferenceReadability {
        n: scored.len(),
        mean_words: words.iter().sum::<usize>() as f64 / n,
        median_words: median(&words),
        clause_share: scored.iter().filter(|r| r.clause).count() as f64 / n,
    }
}

fn first_words(text: &str, n: usize) -> String {
    text.split_whitespace()
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What to score and how.
#[derive(Debug, Clone, Copy)]
pub struct SummaryEval<'a> {
    /// The name of the system under test (`method/style`).
    pub system: &'a str,
    /// Show the original subject to the summariser (leaks the answer on AESLC).
    pub with_subject: bool,
    /// Write every item's summary and scores as JSON lines here.
    pub predictions: Option<&'a Path>,
}

/// The system's report first, then the baselines'.
#[derive(Debug, Clone, Serialize)]
pub struct SummariesReport {
    /// Items scored.
    pub items: usize,
    /// Seconds for the whole run.
    pub seconds: f64,
    /// The system, then the baselines.
    pub systems: Vec<SystemReport>,
    /// How the references read.
    pub references: ReferenceReadability,
}

/// Summarise every item with `engine` and score it and the baselines against the references.
/// `progress` is called with (items done, seconds per message so far).
pub fn evaluate(
    engine: &Engine,
    items: &[Item],
    how: SummaryEval<'_>,
    mut progress: impl FnMut(usize, f64),
) -> Result<SummariesReport, LearnError> {
    // Threads have long references; headlines one-line ones.
    let thread = items.first().is_some_and(|i| {
        i.references
            .iter()
            .map(|r| r.split_whitespace().count())
            .sum::<usize>()
            / i.references.len().max(1)
            > 40
    });
    let mut preds = match how.predictions {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| LearnError::io(p, e))?,
        )),
        None => None,
    };
    let write_err = |e: std::io::Error| LearnError::io(how.predictions.unwrap_or(Path::new("")), e);
    let mut acc = Acc::default();
    let mut baselines = Baselines::default();
    let started = Instant::now();
    for (k, item) in items.iter().enumerate() {
        let refs: Vec<&str> = item.references.iter().map(String::as_str).collect();
        let mut input = item.input.clone();
        if how.with_subject {
            input.subject = item.subject.clone();
        }
        let t = Instant::now();
        let summary = engine
            .summarize(&input)
            .map_err(|e| LearnError::Invalid(format!("summarising {}: {e:#}", item.id)))?;
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
        baselines.add(item, &refs);
        if let Some(w) = preds.as_mut() {
            let line = serde_json::json!({"id": item.id, "summary": summary, "rouge": scores, "references": refs});
            serde_json::to_writer(&mut *w, &line).map_err(|e| write_err(e.into()))?;
            w.write_all(b"\n").map_err(write_err)?;
        }
        progress(k + 1, acc.secs / acc.n.max(1) as f64);
    }
    if let Some(mut w) = preds {
        w.flush().map_err(write_err)?;
    }
    let mut systems = vec![acc.report(how.system, true)];
    systems.extend(baselines.reports(thread));
    Ok(SummariesReport {
        items: items.len(),
        seconds: started.elapsed().as_secs_f64(),
        systems,
        references: reference_readability(items),
    })
}
