//! Parse and prepare throughput on the example inbox.

use criterion::{Criterion, Throughput};
use mailroom::text::PrepareOptions;
use std::hint::black_box;

/// `cpu_parse`, `cpu_prepare`.
pub fn bench(c: &mut Criterion) {
    let inbox = super::inbox();
    if inbox.is_empty() {
        eprintln!("skipping mail benchmarks: examples/inbox is empty");
        return;
    }
    let bytes: usize = inbox.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("cpu_mail");
    g.throughput(Throughput::Elements(inbox.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for raw in &inbox {
                let _ = black_box(mailroom::email::parse(raw));
            }
        })
    });
    let emails: Vec<_> = inbox
        .iter()
        .filter_map(|r| mailroom::email::parse(r).ok())
        .collect();
    let opts = PrepareOptions::default();
    g.bench_function("prepare", |b| {
        b.iter(|| {
            for e in &emails {
                black_box(mailroom::text::prepare(e, &opts));
            }
        })
    });
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("parse_and_prepare_bytes", |b| {
        b.iter(|| {
            for raw in &inbox {
                if let Ok(e) = mailroom::email::parse(raw) {
                    black_box(mailroom::text::prepare(&e, &opts));
                }
            }
        })
    });
    g.finish();
}
