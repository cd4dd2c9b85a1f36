//! `mailroom classify INPUT... [--head H ...]`: one JSON line per message with, per axis, the
//! label, its probability, every label's probability, and `needs_review` with its reasons. A
//! message that cannot be read is a record too: `{"id", "source", "error": {"kind", "message"}}`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use mailroom::classify::{AxisResult, Classifier, Document, Embed, Head, ReviewPolicy, ZeroShot};
use mailroom::email::{self, Limits, Message, Provenance, SourceOptions};
use mailroom::text::{self, PrepareOptions};

use super::common::{ErrorBody, ErrorRecord};
use super::{ModelArgs, Outcome};

/// Arguments of `classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    models: ModelArgs,
    /// Files, folders, mbox files, Maildir folders, JSON lines files, or `-` for stdin.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// A trained head (repeatable): it decides its axis instead of zero-shot, or adds its axis.
    #[arg(long = "head", value_name = "HEAD")]
    heads: Vec<PathBuf>,
    /// Taxonomy TOML for zero-shot axes (default: the built-in public-service taxonomy).
    #[arg(long, value_name = "FILE")]
    taxonomy: Option<PathBuf>,
    /// Only the heads' axes: no zero-shot.
    #[arg(long)]
    no_zero_shot: bool,
    /// Send a decision to review when more than this share of the text was cut to fit.
    #[arg(long, default_value_t = 0.5, value_parser = super::probability)]
    max_truncated: f32,
    /// Send a decision to review when its top probability is below this, on every axis and
    /// label (instead of the thresholds of the taxonomy and the heads).
    #[arg(long, value_parser = super::probability)]
    review_threshold: Option<f32>,
    /// Messages embedded per encoder call.
    #[arg(long, default_value_t = 16)]
    batch: usize,
}

#[derive(Serialize)]
struct Record<'a> {
    id: &'a str,
    source: &'a Provenance,
    classification: &'a [AxisResult],
}

/// Run `classify`.
pub fn run(args: ClassifyArgs) -> anyhow::Result<Outcome> {
    let Some(present) = super::existing_inputs(&args.inputs) else {
        return Ok(Outcome::Fatal);
    };
    let mut heads = Vec::new();
    for h in &args.heads {
        heads.push((h.clone(), Head::load(h)?));
    }
    let need_encoder = !args.no_zero_shot || heads.iter().any(|(_, h)| h.needs_embedding());
    let encoder = if need_encoder {
        Some(args.models.load_encoder()?)
    } else {
        None
    };
    if let Some(e) = &encoder {
        for (path, h) in &heads {
            h.check_encoder(path, e.model_id(), e.sha256())?;
        }
    }
    let zero_shot = match (&encoder, args.no_zero_shot) {
        (Some(e), false) => {
            let taxonomy = super::train::taxonomy(args.taxonomy.as_ref())?;
            Some(ZeroShot::build(taxonomy, e as &dyn Embed).context("embedding the taxonomy")?)
        }
        _ => None,
    };
    let classifier = Classifier::new(zero_shot, heads.into_iter().map(|(_, h)| h).collect())
        .with_policy(ReviewPolicy {
            max_truncated: args.max_truncated,
            override_threshold: args.review_threshold,
            ..ReviewPolicy::default()
        });

    let limits = Limits::default();
    let opts = PrepareOptions::default();
    let start = Instant::now();
    let mut messages = email::read_inputs(&present, &SourceOptions { limits });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut total, mut failed) = (0usize, 0usize);
    loop {
        let batch: Vec<Message> = messages.by_ref().take(args.batch.max(1)).collect();
        if batch.is_empty() {
            break;
        }
        // Parse and prepare; keep the errors in place.
        let docs: Vec<Result<Document, email::EmailError>> = batch
            .iter()
            .map(|m| {
                m.parse(&limits).map(|e| {
                    let p = text::prepare(&e, &opts);
                    Document::from_prepared(&e, &p)
                })
            })
            .collect();
        let texts: Vec<String> = docs
            .iter()
            .filter_map(|d| d.as_ref().ok().map(Document::encoder_text))
            .collect();
        let mut embeddings = match &encoder {
            Some(e) if classifier.needs_embedding() => {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                e.embed_long(&refs)?.into_iter()
            }
            _ => Vec::new().into_iter(),
        };
        for (m, d) in batch.iter().zip(docs) {
            total += 1;
            let line = match d {
                Ok(doc) => {
                    let e = embeddings.next();
                    match classifier.classify(&doc, e.as_deref()) {
                        Ok(results) => serde_json::to_string(&Record {
                            id: &m.id,
                            source: &m.provenance,
                            classification: &results,
                        })?,
                        Err(err) => {
                            failed += 1;
                            serde_json::to_string(&ErrorRecord {
                                id: &m.id,
                                source: &m.provenance,
                                error: ErrorBody {
                                    kind: "classify",
                                    message: format!("{err:#}"),
                                },
                            })?
                        }
                    }
                }
                Err(err) => {
                    failed += 1;
                    tracing::debug!(id = %m.id, kind = err.kind(), "message could not be read");
                    serde_json::to_string(&ErrorRecord {
                        id: &m.id,
                        source: &m.provenance,
                        error: ErrorBody {
                            kind: err.kind(),
                            message: format!("{err:#}"),
                        },
                    })?
                }
            };
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "classified {total} messages ({failed} errors) on {} axes in {secs:.2} s: {:.1} emails/s",
        classifier.axes().len(),
        total as f64 / secs
    );
    Ok(if failed > 0 || present.len() < args.inputs.len() {
        Outcome::SomeFailed
    } else {
        Outcome::Ok
    })
}
