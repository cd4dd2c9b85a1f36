//! `mailroom bench [--json]`: how fast the models run on this machine, with deterministic inputs
//! and warm-up runs excluded. Speed goals are ratios against baselines measured in the same run
//! (`benches/compare/`); this command supplies mailroom's side.
//!
//! The generator figures follow `llama-bench`: the prompt rate is `--prompt-tokens` read after
//! `--depth` tokens of context, the decode rate `--new-tokens` generated one at a time after
//! `--depth` tokens. The machine's read bandwidth (a STREAM-like sum over a buffer far larger
//! than the caches, on the generator's threads) gives the decode rate's ceiling for the model
//! file, and the report gives decode as a share of it. `--triage DIR` measures the whole
//! triage of a folder of messages first ([`super::bench_triage`]).

use std::time::Instant;

use clap::Args;
use mailroom::models::{Encoder, GenOpts, Generator};
use serde::Serialize;

use super::bench_triage::TriageReport;
use super::common::ClassifierArgs;
use super::{ModelArgs, Outcome};

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    models: ModelArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Seconds to spend on each measurement (after one warm-up run).
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Prompt tokens for the generator measurement.
    #[arg(long, default_value_t = 256)]
    prompt_tokens: usize,
    /// New tokens for the generator measurement.
    #[arg(long, default_value_t = 64)]
    new_tokens: usize,
    /// Tokens of context before the measured prompt and decode (as `llama-bench -d`).
    #[arg(long, default_value_t = 0)]
    depth: usize,
    /// MiB of memory the bandwidth measurement reads (0 skips it).
    #[arg(long, default_value_t = 512)]
    bandwidth_mib: usize,
    /// Skip the generator.
    #[arg(long)]
    no_generator: bool,
    /// Skip the encoder.
    #[arg(long)]
    no_encoder: bool,
    /// Also measure messages/s of the whole triage of the messages in DIR (a folder, mbox,
    /// Maildir or JSON lines file), with the engine `triage` builds from the same flags.
    #[arg(long, value_name = "DIR")]
    triage: Option<std::path::PathBuf>,
    /// The summary method of `--triage` (as `triage --summary`).
    #[arg(long, default_value = "auto", value_parser = ["auto", "abstractive", "extractive", "lead", "none"])]
    triage_summary: String,
    #[command(flatten)]
    classifier: ClassifierArgs,
}

#[derive(Debug, Serialize)]
struct Report {
    mailroom_version: &'static str,
    machine: Machine,
    triage: Option<TriageReport>,
    encoder: Option<EncoderReport>,
    generator: Option<GeneratorReport>,
    peak_rss_mb: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Machine {
    cpu: String,
    cores: usize,
    threads: usize,
    cpu_features: Vec<&'static str>,
    build_target_features: Vec<&'static str>,
    profile: &'static str,
    /// GB/s read by `threads` threads summing a buffer far larger than the caches.
    read_bandwidth_gb_s: Option<f64>,
}

#[derive(Debug, Serialize)]
struct EncoderReport {
    id: String,
    sha256: String,
    /// Precision of the dense layers (`--encoder-precision`).
    compute: mailroom::models::Precision,
    /// Embeddings/s count tokenisation: each point embeds texts, as sentence-transformers does.
    includes_tokenization: bool,
    load_ms: f64,
    embeddings_per_s: Vec<EmbedPoint>,
}

#[derive(Debug, Serialize)]
struct EmbedPoint {
    batch: usize,
    tokens: usize,
    per_s: f64,
}

#[derive(Debug, Serialize)]
struct GeneratorReport {
    id: String,
    sha256: String,
    weights: mailroom::models::WeightFormat,
    backend: String,
    load_ms: f64,
    /// Tokens of context before the prompt and the decode.
    depth: usize,
    prompt_tokens: usize,
    prompt_tok_s: f64,
    new_tokens: usize,
    decode_tok_s: f64,
    /// Bytes of the GGUF file (what decoding one token reads, near enough).
    file_bytes: u64,
    /// The decode rate the read bandwidth allows for the file: bandwidth / file size.
    decode_limit_tok_s: Option<f64>,
    /// `decode_tok_s / decode_limit_tok_s`.
    decode_share_of_limit: Option<f64>,
}

/// A deterministic, varied English text (no randomness: the same tokens every run).
fn filler() -> String {
    let words = "the council received your request about the housing benefit payment for march \
                 and will reply within ten working days please quote reference number when you \
                 write again we apologise for the delay caused by the system upgrade last week";
    let mut s = String::new();
    for i in 0..40 {
        s.push_str(words);
        s.push_str(&format!(" paragraph {i}. "));
    }
    s
}

/// Run `f` once to warm up, then repeatedly for about `seconds`; returns runs per second.
fn rate(seconds: f64, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    f()?;
    let start = Instant::now();
    let mut runs = 0usize;
    while runs < 3 || start.elapsed().as_secs_f64() < seconds {
        f()?;
        runs += 1;
    }
    Ok(runs as f64 / start.elapsed().as_secs_f64())
}

fn bench_encoder(enc: &Encoder, seconds: f64) -> anyhow::Result<EncoderReport> {
    let full = enc.encode(&filler())?; // [CLS] … [SEP], max_len tokens
    let mut points = Vec::new();
    for tokens in [128usize, 256] {
        let tokens = tokens.min(full.len());
        // The text of exactly `tokens - 2` word pieces (the same text `st_bench.py` decodes),
        // checked to give `tokens` ids again with [CLS] and [SEP].
        let text = enc.decode(&full[1..tokens - 1])?;
        anyhow::ensure!(
            enc.encode(&text)?.len() == tokens,
            "bench text is not {tokens} tokens"
        );
        for batch in [1usize, 8, 32] {
            let inputs = vec![text.as_str(); batch];
            let per_s = rate(seconds, || {
                enc.embed(&inputs)?;
                Ok(())
            })? * batch as f64;
            points.push(EmbedPoint {
                batch,
                tokens,
                per_s,
            });
        }
    }
    Ok(EncoderReport {
        id: enc.model_id().to_string(),
        sha256: enc.sha256().to_string(),
        compute: enc.precision(),
        includes_tokenization: true,
        load_ms: enc.load_ms(),
        embeddings_per_s: points,
    })
}

fn bench_generator(gen: &mut Generator, args: &BenchArgs) -> anyhow::Result<GeneratorReport> {
    let ids = gen.tokenize(&filler())?;
    let need = args.depth + args.prompt_tokens.max(1);
    anyhow::ensure!(
        need + args.new_tokens < gen.context_len(),
        "depth {} + {} prompt + {} new tokens do not fit the context of {}",
        args.depth,
        args.prompt_tokens,
        args.new_tokens,
        gen.context_len()
    );
    // The filler's tokens, repeated as far as needed: the same ids every run.
    let context: Vec<u32> = ids.iter().cycle().take(need).copied().collect();
    let depth = args.depth;
    let prompt_opts = GenOpts {
        max_new_tokens: 1,
        ignore_eos: true,
        ..GenOpts::default()
    };
    let decode_opts = GenOpts {
        max_new_tokens: args.new_tokens.max(2),
        ignore_eos: true,
        ..GenOpts::default()
    };
    // One repetition: the depth (untimed), the prompt after it, then decoding after the depth
    // (the depth's keys and values reused from the cache, the prompt's dropped).
    let once = |gen: &mut Generator| -> anyhow::Result<(f64, f64, usize)> {
        gen.clear_cache();
        if depth > 0 {
            gen.generate(&context[..depth], &prompt_opts)?;
        }
        let p = gen.generate(&context, &prompt_opts)?;
        anyhow::ensure!(
            p.reused_tokens == depth,
            "--depth needs a generator that keeps its cache between calls (the own forward)"
        );
        let d = gen.generate(&context[..depth + 1], &decode_opts)?;
        // The first new token comes out of the prompt pass.
        Ok((
            p.prompt_ms / 1e3,
            d.decode_ms / 1e3,
            d.tokens.len().saturating_sub(1),
        ))
    };
    once(gen)?; // warm-up
    let (mut prompt_s, mut decode_s, mut decoded) = (0.0, 0.0, 0usize);
    let start = Instant::now();
    let mut runs = 0;
    while runs < 2 || start.elapsed().as_secs_f64() < args.seconds {
        let (p, d, n) = once(gen)?;
        prompt_s += p;
        decode_s += d;
        decoded += n;
        runs += 1;
    }
    let decode_tok_s = decoded as f64 / decode_s;
    Ok(GeneratorReport {
        id: gen.model_id().to_string(),
        sha256: gen.sha256().to_string(),
        weights: gen.weight_format(),
        backend: gen.implementation(),
        load_ms: gen.load_ms(),
        depth,
        prompt_tokens: args.prompt_tokens.max(1),
        prompt_tok_s: (args.prompt_tokens.max(1) * runs) as f64 / prompt_s,
        new_tokens: decode_opts.max_new_tokens,
        decode_tok_s,
        file_bytes: gen.file_bytes(),
        decode_limit_tok_s: None,
        decode_share_of_limit: None,
    })
}

/// GB/s that `threads` threads read summing `mib` MiB of f32 (each thread its own part), the
/// best of five passes after one that faults the pages in.
fn read_bandwidth(mib: usize, threads: usize) -> Option<f64> {
    if mib == 0 {
        return None;
    }
    let threads = threads.max(1);
    let buf: Vec<f32> = (0..mib * 1024 * 256).map(|i| (i % 7) as f32).collect();
    let part = buf.len().div_ceil(threads);
    let pass = || {
        let start = Instant::now();
        let total: f32 = std::thread::scope(|s| {
            let handles: Vec<_> = buf.chunks(part).map(|c| s.spawn(move || sum(c))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
        });
        std::hint::black_box(total);
        start.elapsed().as_secs_f64()
    };
    pass();
    let best = (0..5).map(|_| pass()).fold(f64::INFINITY, f64::min);
    Some((buf.len() * 4) as f64 / best / 1e9)
}

/// A sum the compiler vectorises (16 independent lanes).
fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let chunks = xs.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The machine: CPU model, cores, SIMD features, and what this binary was compiled for.
fn machine(read_bandwidth_gb_s: Option<f64>) -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    #[allow(unused_mut)]
    let mut cpu_features = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        for (name, on) in [
            ("sse4.2", std::arch::is_x86_feature_detected!("sse4.2")),
            ("avx", std::arch::is_x86_feature_detected!("avx")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("f16c", std::arch::is_x86_feature_detected!("f16c")),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
            (
                "avx512vnni",
                std::arch::is_x86_feature_detected!("avx512vnni"),
            ),
            ("avxvnni", std::arch::is_x86_feature_detected!("avxvnni")),
            (
                "avx512bf16",
                std::arch::is_x86_feature_detected!("avx512bf16"),
            ),
        ] {
            if on {
                cpu_features.push(name);
            }
        }
    }
    let build_target_features = [
        ("avx", cfg!(target_feature = "avx")),
        ("avx2", cfg!(target_feature = "avx2")),
        ("fma", cfg!(target_feature = "fma")),
        ("f16c", cfg!(target_feature = "f16c")),
        ("avx512f", cfg!(target_feature = "avx512f")),
        ("neon", cfg!(target_feature = "neon")),
    ]
    .into_iter()
    .filter_map(|(n, on)| on.then_some(n))
    .collect();
    Machine {
        cpu,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        threads: std::env::var("CANDLE_NUM_THREADS")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(candle_core::utils::get_num_threads),
        cpu_features,
        build_target_features,
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        read_bandwidth_gb_s,
    }
}

/// Peak resident set size of this process in MB (Linux), from `VmHWM`.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Run `bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<Outcome> {
    // First, so that its peak RSS is the triage's own.
    let triage = match &args.triage {
        Some(dir) => Some(super::bench_triage::bench(
            dir,
            &args.triage_summary,
            &args.models,
            &args.classifier,
        )?),
        None => None,
    };
    let encoder = if args.no_encoder {
        None
    } else {
        let enc = args.models.load_encoder()?;
        Some(bench_encoder(&enc, args.seconds)?)
    };
    let threads = std::env::var("CANDLE_NUM_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(candle_core::utils::get_num_threads);
    let mut generator = if args.no_generator {
        None
    } else {
        let mut gen = args.models.load_generator()?;
        Some(bench_generator(&mut gen, &args)?)
    };
    // Read before the bandwidth buffer exists: the models' peak, not the buffer's.
    let peak_rss = peak_rss_mb();
    let bandwidth = read_bandwidth(args.bandwidth_mib, threads);
    if let (Some(g), Some(gb_s)) = (generator.as_mut(), bandwidth) {
        let limit = gb_s * 1e9 / g.file_bytes.max(1) as f64;
        g.decode_limit_tok_s = Some(limit);
        g.decode_share_of_limit = Some(g.decode_tok_s / limit);
    }
    let report = Report {
        mailroom_version: mailroom::VERSION,
        machine: machine(bandwidth),
        triage,
        encoder,
        generator,
        peak_rss_mb: peak_rss,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(Outcome::Ok)
}

fn print_table(r: &Report) {
    let m = &r.machine;
    outln!(
        "mailroom {} on {} ({} cores, {} threads)",
        r.mailroom_version,
        m.cpu,
        m.cores,
        m.threads
    );
    outln!(
        "cpu features: {}; built for: {}",
        m.cpu_features.join(" "),
        m.build_target_features.join(" ")
    );
    if let Some(bw) = m.read_bandwidth_gb_s {
        outln!("read bandwidth: {bw:.1} GB/s");
    }
    if let Some(t) = &r.triage {
        super::bench_triage::print(t);
    }
    if let Some(e) = &r.encoder {
        outln!(
            "\nencoder {} ({} dense layers, load {:.0} ms)",
            e.id,
            e.compute,
            e.load_ms
        );
        outln!("  {:>6} {:>7} {:>14}", "batch", "tokens", "embeddings/s");
        for p in &e.embeddings_per_s {
            outln!("  {:>6} {:>7} {:>14.1}", p.batch, p.tokens, p.per_s);
        }
    }
    if let Some(g) = &r.generator {
        outln!(
            "\ngenerator {} ({:?} weights, {}, load {:.0} ms)",
            g.id,
            g.weights,
            g.backend,
            g.load_ms
        );
        outln!(
            "  prompt  {:>4} tokens after {}: {:>8.1} tok/s",
            g.prompt_tokens,
            g.depth,
            g.prompt_tok_s
        );
        outln!(
            "  decode  {:>4} tokens after {}: {:>8.1} tok/s",
            g.new_tokens,
            g.depth,
            g.decode_tok_s
        );
        if let (Some(limit), Some(share)) = (g.decode_limit_tok_s, g.decode_share_of_limit) {
            outln!(
                "  decode limit for {:.0} MB at that bandwidth: {limit:.0} tok/s ({:.0} % reached)",
                g.file_bytes as f64 / 1e6,
                share * 100.0
            );
        }
    }
    if let Some(rss) = r.peak_rss_mb {
        outln!("\npeak RSS: {rss:.0} MB");
    }
}
