//! End to end per message: classify (zero-shot, no summary) and triage with an extractive or an
//! abstractive summary, on messages of the example inbox.

use criterion::{Criterion, Throughput};
use mailroom::classify::Taxonomy;
use mailroom::email::{Content, Message, Provenance, SourceKind};
use mailroom::models::{Device, Encoder, Generator, Role};
use mailroom::pipeline::{Engine, EngineConfig, SummaryMode};
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
    let Some(store) = super::store() else { return };
    let inbox = super::inbox();
    if inbox.is_empty() {
        return;
    }
    let mut g = c.benchmark_group("cpu_triage");
    for (name, mode, n) in [
        ("classify", SummaryMode::None, inbox.len()),
        ("extractive", SummaryMode::Extractive, inbox.len()),
        ("abstractive", SummaryMode::Abstractive, 2),
    ] {
        let enc =
            Encoder::load(&store.resolve_default(Role::Encoder).unwrap(), &Device::Cpu).unwrap();
        let gen = (mode == SummaryMode::Abstractive).then(|| {
            Generator::load(
                &store.resolve_default(Role::Generator).unwrap(),
                &Device::Cpu,
            )
            .unwrap()
        });
        let config = EngineConfig {
            summary: mode,
            ..EngineConfig::default()
        };
        let engine = Engine::new(
            enc,
            gen,
            Some(Taxonomy::default_taxonomy()),
            Vec::new(),
            config,
        )
        .unwrap();
        let sample = &inbox[..n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(name, |b| {
            b.iter(|| black_box(engine.triage(messages(sample))))
        });
    }
    g.finish();
}
