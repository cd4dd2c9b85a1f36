//! End to end per message: classify (zero-shot, no summary) and triage with an extractive or an
//! abstractive summary, on messages of the example inbox.

use criterion::{Criterion, Throughput};
use mailroom::pipeline::{
    Content, EngineBuilder, Message, Method, ModelSpec, Provenance, SourceKind,
};
use std::hint::black_box;

fn messages(inbox: &[Vec<u8>]) -> Vec<Message> {
    inbox
        .iter()
        .enumerate()
        .map(|(i, raw)| Message {
            id: format!("m{i}"),
            provenance: Provenance {
                path: "bench".into(),
                kind: SourceKind::Eml,
                index: Some(i as u64),
                offset: None,
            },
            content: Ok(Content::Raw(raw.clone())),
        })
        .collect()
}

/// `cpu_triage/{classify,extractive,abstractive}`, per message.
pub fn bench(c: &mut Criterion) {
    if super::store().is_none() {
        return;
    }
    let inbox = super::inbox();
    if inbox.is_empty() {
        return;
    }
    let spec = ModelSpec {
        models_dir: std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models")),
        ..ModelSpec::default()
    };
    let mut g = c.benchmark_group("cpu_triage");
    for (name, summary, n) in [
        ("classify", None, inbox.len()),
        ("extractive", Some(Method::Extractive), inbox.len()),
        ("abstractive", Some(Method::Abstractive), 2),
    ] {
        let engine = EngineBuilder::new(spec.clone())
            .summary(summary)
            .jobs(Some(1))
            .build()
            .unwrap();
        let sample = &inbox[..n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(name, |b| {
            b.iter(|| black_box(engine.triage(messages(sample))))
        });
    }
    g.finish();
}
