//! Tokenize, embed (batch 1, 8, 32; 128 and 256 tokens; f32 and the CPU's default precision) and generate (256-token prompt, 64 new
//! tokens) on the default models.

use criterion::{BenchmarkId, Criterion, Throughput};
use mailroom::models::{Device, Encoder, EncoderOptions, GenOpts, Generator, Precision, Role};
use std::hint::black_box;

/// `cpu_tokenize`, `cpu_embed`, `cpu_generate`.
pub fn bench(c: &mut Criterion) {
    let Some(store) = super::store() else { return };
    let enc = Encoder::load(&store.resolve_default(Role::Encoder).unwrap(), &Device::Cpu).unwrap();
    let mut gen = Generator::load(
        &store.resolve_default(Role::Generator).unwrap(),
        &Device::Cpu,
    )
    .unwrap();
    let text = super::filler();

    let mut g = c.benchmark_group("cpu_tokenize");
    let n = gen.tokenize(&text).unwrap().len();
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("generator", |b| {
        b.iter(|| black_box(gen.tokenize(&text).unwrap()))
    });
    let n = enc.count_tokens(&text);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("encoder", |b| b.iter(|| black_box(enc.count_tokens(&text))));
    g.finish();

    // Texts of exactly 128 and 256 tokens ([CLS] and [SEP] included), embedded with tokenisation
    // as `mailroom bench` and sentence-transformers do, in f32 and in the CPU's default precision.
    let full = enc.encode(&text).unwrap();
    let mut precisions = vec![Precision::F32];
    if Precision::best() != Precision::F32 {
        precisions.push(Precision::best());
    }
    let mut g = c.benchmark_group("cpu_embed");
    for precision in precisions {
        let enc = Encoder::load_with(
            &store.resolve_default(Role::Encoder).unwrap(),
            &Device::Cpu,
            EncoderOptions {
                precision: Some(precision),
                ..EncoderOptions::default()
            },
        )
        .unwrap();
        for tokens in [128usize, 256] {
            let piece = enc.decode(&full[1..tokens - 1]).unwrap();
            for batch in [1usize, 8, 32] {
                let inputs = vec![piece.as_str(); batch];
                g.throughput(Throughput::Elements(batch as u64));
                g.bench_with_input(
                    BenchmarkId::new(format!("{precision}_{tokens}_tokens"), batch),
                    &inputs,
                    |b, inputs| b.iter(|| black_box(enc.embed(inputs).unwrap())),
                );
            }
        }
    }
    g.finish();

    let prompt: Vec<u32> = gen.tokenize(&text).unwrap()[..256].to_vec();
    let mut g = c.benchmark_group("cpu_generate");
    g.throughput(Throughput::Elements(256));
    g.bench_function("prompt_256", |b| {
        let opts = GenOpts {
            max_new_tokens: 1,
            ignore_eos: true,
            ..GenOpts::default()
        };
        b.iter(|| black_box(gen.generate(&prompt, &opts).unwrap()))
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("prompt_256_new_64", |b| {
        let opts = GenOpts {
            max_new_tokens: 64,
            ignore_eos: true,
            ..GenOpts::default()
        };
        b.iter(|| black_box(gen.generate(&prompt, &opts).unwrap()))
    });
    g.finish();
}
