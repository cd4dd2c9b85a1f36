//! Criterion benchmarks, one module per stage: `cargo bench` (or `cargo bench -- embed` for one).
//!
//! Inputs are deterministic: the example inbox (`examples/inbox`) for the mail stages, fixed
//! texts for the models. Model benchmarks skip themselves with a notice when the default models
//! are not installed (run `models/fetch`).

use criterion::{criterion_group, criterion_main};

mod benchmarks;

criterion_group!(
    name = benches;
    config = benchmarks::config();
    targets = benchmarks::mail::bench, benchmarks::models::bench, benchmarks::triage::bench,
        benchmarks::store::bench
);
criterion_main!(benches);
