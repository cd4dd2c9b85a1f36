//! The model store and both model roles, on the real default weights (issue 2).

use std::path::Path;

use mailroom::models::{
    Device, Encoder, EncoderOptions, GenOpts, Generator, HfCache, Implementation, LoadOptions,
    ModelError, Precision, Role, StopReason, Store, StoreOptions, WeightFormat,
};
use serde::Deserialize;

use crate::util::{self, cosine};

#[derive(Deserialize)]
struct EmbeddingCase {
    text: String,
    tokens_untruncated: usize,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct Cases<T> {
    cases: Vec<T>,
}

#[derive(Deserialize)]
struct TokenCase {
    text: String,
    ids: Vec<u32>,
}

fn embedding_cases() -> Vec<EmbeddingCase> {
    let text = std::fs::read_to_string(util::fixture("reference/minilm-embeddings.json")).unwrap();
    serde_json::from_str::<Cases<EmbeddingCase>>(&text)
        .unwrap()
        .cases
}

/// Load the default encoder with its dense layers in `precision`.
fn encoder_in(precision: Precision) -> Encoder {
    let options = EncoderOptions {
        precision: Some(precision),
        ..EncoderOptions::default()
    };
    Encoder::load_with(
        &util::store().resolve_default(Role::Encoder).unwrap(),
        &Device::Cpu,
        options,
    )
    .unwrap()
}

/// Every reference text, batched together (padding to the longest in the old forward; unpadded
/// now) and one by one, has at least `min_cos` with sentence-transformers; returns the lowest.
fn check_embeddings(enc: &Encoder, min_cos: f64) -> f64 {
    let cases = embedding_cases();
    assert!(cases.len() >= 10);
    assert!(
        cases.iter().any(|c| c.tokens_untruncated > 256),
        "needs a > 256-token case"
    );
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let batched = enc.embed(&texts).unwrap();
    let mut lowest = 1f64;
    for (c, v) in cases.iter().zip(&batched) {
        let cos = cosine(v, &c.embedding);
        assert!(
            cos >= min_cos,
            "{}: cosine {cos:.6} for {:?}",
            enc.precision(),
            &c.text[..c.text.len().min(40)]
        );
        let single = enc.embed(&[c.text.as_str()]).unwrap();
        let cos_single = cosine(&single[0], &c.embedding);
        assert!(cos_single >= min_cos, "{}: {cos_single}", enc.precision());
        lowest = lowest.min(cos).min(cos_single);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
        // The tokenizer agrees on length with the reference (special tokens included).
        assert_eq!(
            enc.count_tokens(&c.text) + 2,
            c.tokens_untruncated,
            "{:?}",
            c.text
        );
    }
    // Deterministic: the same input gives the same bits.
    assert_eq!(enc.embed(&texts).unwrap(), batched);
    eprintln!("{}: lowest cosine {lowest:.7}", enc.precision());
    lowest
}

#[test]
fn r2_embeddings_match_sentence_transformers() {
    // The f32 forward is the reference path: it must agree with torch to 4 nines.
    check_embeddings(&encoder_in(Precision::F32), 0.9999);
}

#[test]
fn r7_bf16_embeddings_match_sentence_transformers() {
    // The default on AVX-512 BF16 CPUs: dense layers in bf16 with f32 accumulation.
    assert_eq!(
        util::encoder().precision(),
        Precision::best(),
        "the default is the fastest this CPU runs"
    );
    if !Precision::Bf16.supported() {
        eprintln!("no AVX-512 BF16 on this CPU: the bf16 encoder is not exercised");
        return;
    }
    check_embeddings(&encoder_in(Precision::Bf16), 0.999);
}

#[test]
fn r2_embed_long_covers_text_past_the_window() {
    let enc = util::encoder();
    let long = embedding_cases()
        .into_iter()
        .find(|c| c.tokens_untruncated > 256)
        .unwrap();
    let truncated = enc.embed(&[long.text.as_str()]).unwrap().remove(0);
    let whole = enc.embed_long(&[long.text.as_str()]).unwrap().remove(0);
    // Different (the tail counts) but still about the same thing.
    let c = cosine(&truncated, &whole);
    assert!(c < 0.9999 && c > 0.8, "cosine {c}");
    // A short text is one window: the same vector either way.
    let short = "Please move my appointment to Friday.";
    let a = enc.embed(&[short]).unwrap().remove(0);
    let b = enc.embed_long(&[short]).unwrap().remove(0);
    assert!(cosine(&a, &b) > 0.99999);
}

#[test]
fn r2_smollm2_token_ids_match_llama_cpp() {
    let text = std::fs::read_to_string(util::fixture("reference/smollm2-token-ids.json")).unwrap();
    let cases = serde_json::from_str::<Cases<TokenCase>>(&text)
        .unwrap()
        .cases;
    assert!(cases.len() >= 20);
    let gen = util::generator();
    let mut failures = Vec::new();
    for c in &cases {
        let ids = gen.tokenize(&c.text).unwrap();
        if ids != c.ids {
            failures.push(format!(
                "{:?}\n  ours: {ids:?}\n  ref:  {:?}",
                c.text, c.ids
            ));
        }
        // Decoding gives the text back (special tokens aside).
        if !c.text.contains("<|") {
            assert_eq!(gen.detokenize(&ids).unwrap(), c.text);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

const SAMPLE_EMAIL: &str = "Summarise this email in one sentence.\n\nFrom: Anna Berg\nSubject: Budget review moved\n\nDear team,\nthe quarterly budget review has been moved from Tuesday to Thursday at 14:00 in room 4B. Please bring your spreadsheets.\nRegards,\nAnna";

#[test]
fn r2_generation_is_coherent_and_deterministic() {
    let mut gen = util::generator();
    let opts = GenOpts {
        max_new_tokens: 48,
        ..GenOpts::default()
    };
    let ids = gen.chat_ids(None, SAMPLE_EMAIL).unwrap();
    assert_eq!(
        ids[0],
        gen.tokenize("<|im_start|>").unwrap()[0],
        "ChatML prompt"
    );
    let system =
        Some("You summarise emails for the person who will answer them. Be brief and factual.");
    let a = gen.chat(system, SAMPLE_EMAIL, &opts).unwrap();
    let b = gen.chat(system, SAMPLE_EMAIL, &opts).unwrap();
    assert_eq!(a.text, b.text, "greedy decoding is deterministic");
    assert_eq!(a.tokens, b.tokens);
    assert!(!a.text.contains("<|im_end|>"));
    let lower = a.text.to_lowercase();
    assert!(
        lower.contains("thursday") || lower.contains("budget"),
        "incoherent: {:?}",
        a.text
    );
    assert!(a.stop == StopReason::Eos || a.tokens.len() == 48);
}

#[test]
fn r2_max_new_tokens_and_context_are_enforced() {
    let mut gen = util::generator();
    let out = gen
        .chat(
            None,
            "Count from one to one hundred in words.",
            &GenOpts {
                max_new_tokens: 5,
                ..GenOpts::default()
            },
        )
        .unwrap();
    assert_eq!(out.tokens.len(), 5);
    assert_eq!(out.stop, StopReason::MaxTokens);
    let too_long = vec![28u32; gen.context_len()];
    match gen.generate(&too_long, &GenOpts::default()) {
        Err(ModelError::ContextOverflow {
            prompt_tokens,
            context,
            ..
        }) => {
            assert_eq!(prompt_tokens, context)
        }
        other => panic!("expected a context overflow, got {other:?}"),
    }
}

/// Max |difference| of two logit vectors, and the KL divergence of their softmaxes (p || q).
fn logit_distance(p: &[f32], q: &[f32]) -> (f32, f64) {
    let max_diff = p
        .iter()
        .zip(q)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    let softmax = |v: &[f32]| {
        let m = v.iter().copied().fold(f32::MIN, f32::max) as f64;
        let e: Vec<f64> = v.iter().map(|x| (*x as f64 - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.into_iter().map(|x| x / s).collect::<Vec<f64>>()
    };
    let (a, b) = (softmax(p), softmax(q));
    let kl = a
        .iter()
        .zip(&b)
        .filter(|(x, _)| **x > 0.0)
        .map(|(x, y)| x * (x / y.max(1e-300)).ln())
        .sum();
    (max_diff, kl)
}

#[test]
fn r2_requantised_weights_stay_close_to_the_file() {
    // Reference: the file's exact weights dequantised to f32 (no activation quantisation).
    // Both the native Q4_1 kernels and the default Q8_0 requantisation quantise activations to
    // 8 bits; the requantisation must cost no more accuracy than the native path does.
    let store = util::store();
    let model = store.resolve_default(Role::Generator).unwrap();
    let load = |weights| {
        let options = LoadOptions {
            weights,
            implementation: Implementation::Candle,
            ..LoadOptions::default()
        };
        Generator::load_with(&model, &Device::Cpu, &options).unwrap()
    };
    let mut exact = load(WeightFormat::F32);
    let mut native = load(WeightFormat::Native);
    let mut fast = load(WeightFormat::FastQ8);
    let prompts = [
        SAMPLE_EMAIL,
        "What is the capital of France?",
        "Dear Sir, I am writing to complain about my council tax bill.",
    ];
    let (mut native_worst, mut fast_worst) = ((0f32, 0f64), (0f32, 0f64));
    for p in prompts {
        let ids = exact.chat_ids(None, p).unwrap();
        let r = exact.logits(&ids).unwrap();
        let n = native.logits(&ids).unwrap();
        let f = fast.logits(&ids).unwrap();
        let top2 = |v: &[f32]| {
            let mut idx: Vec<usize> = (0..v.len()).collect();
            idx.sort_by(|a, b| v[*b].total_cmp(&v[*a]));
            (idx[0], v[idx[0]], idx[1], v[idx[1]])
        };
        let (rt, rv, _, rv2) = top2(&r);
        // Where the reference is not a near tie, the requantised model picks the same token.
        if rv - rv2 > 0.3 {
            assert_eq!(rt, top2(&f).0, "top token changed for {p:?}");
        }
        let (dn, df) = (logit_distance(&r, &n), logit_distance(&r, &f));
        native_worst = (native_worst.0.max(dn.0), native_worst.1.max(dn.1));
        fast_worst = (fast_worst.0.max(df.0), fast_worst.1.max(df.1));
    }
    eprintln!(
        "against f32 weights: native Q4_1 max|dlogit| {:.4} KL {:.2e}; requantised Q8_0 max|dlogit| {:.4} KL {:.2e}",
        native_worst.0, native_worst.1, fast_worst.0, fast_worst.1
    );
    // Measured: native 1.35 / 1.6e-2, requantised 1.88 / 3.7e-2 (activation quantisation dominates).
    assert!(fast_worst.1 < 0.1, "KL {} too large", fast_worst.1);
    assert!(
        fast_worst.0 <= native_worst.0 * 2.0 + 0.2,
        "requantised path drifts far more than the native one"
    );
}

#[test]
fn r2_own_forward_matches_the_file_at_any_thread_count() {
    // The own forward computes with the file's Q4_1/Q8_0 weights and 8-bit activations (as
    // llama.cpp does); against the exact f32 weights it must be as close as candle's native
    // Q4_1 path, pick the same top tokens, and give bit-identical logits for 1 and 3 threads.
    let store = util::store();
    let model = store.resolve_default(Role::Generator).unwrap();
    let load = |weights, implementation, threads| {
        let options = LoadOptions {
            weights,
            implementation,
            threads,
            ..LoadOptions::default()
        };
        Generator::load_with(&model, &Device::Cpu, &options).unwrap()
    };
    let mut exact = load(WeightFormat::F32, Implementation::Candle, None);
    let mut native = load(WeightFormat::Native, Implementation::Candle, None);
    let mut own1 = load(WeightFormat::Native, Implementation::Own, Some(1));
    let mut own3 = load(WeightFormat::Native, Implementation::Own, Some(3));
    assert!(
        own1.implementation().starts_with("own"),
        "{}",
        own1.implementation()
    );
    assert_eq!(native.implementation(), "candle");
    let prompts = [
        SAMPLE_EMAIL,
        "What is the capital of France?",
        "Dear Sir, I am writing to complain about my council tax bill.",
    ];
    let (mut native_worst, mut own_worst) = ((0f32, 0f64), (0f32, 0f64));
    for p in prompts {
        let ids = exact.chat_ids(None, p).unwrap();
        let r = exact.logits(&ids).unwrap();
        let n = native.logits(&ids).unwrap();
        let o = own1.logits(&ids).unwrap();
        assert_eq!(
            o,
            own3.logits(&ids).unwrap(),
            "thread count changed the logits"
        );
        let argmax = |v: &[f32]| (0..v.len()).max_by(|a, b| v[*a].total_cmp(&v[*b])).unwrap();
        let mut sorted = r.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        if sorted[0] - sorted[1] > 0.3 {
            assert_eq!(argmax(&r), argmax(&o), "top token changed for {p:?}");
        }
        let (dn, d_own) = (logit_distance(&r, &n), logit_distance(&r, &o));
        native_worst = (native_worst.0.max(dn.0), native_worst.1.max(dn.1));
        own_worst = (own_worst.0.max(d_own.0), own_worst.1.max(d_own.1));
    }
    eprintln!(
        "against f32 weights: candle Q4_1 max|dlogit| {:.4} KL {:.2e}; own max|dlogit| {:.4} KL {:.2e}",
        native_worst.0, native_worst.1, own_worst.0, own_worst.1
    );
    assert!(own_worst.1 < 0.05, "KL {} too large", own_worst.1);
    assert!(
        own_worst.0 <= native_worst.0 * 1.5 + 0.1,
        "own forward drifts further from the file than candle's"
    );
}

#[test]
fn r2_shared_prompt_prefix_is_reused_without_changing_the_answer() {
    let store = util::store();
    let model = store.resolve_default(Role::Generator).unwrap();
    let mut gen = Generator::load(&model, &Device::Cpu).unwrap();
    let system = "You summarise emails for a council's correspondence team in one sentence.";
    let a = gen.chat_ids(Some(system), SAMPLE_EMAIL).unwrap();
    let b = gen
        .chat_ids(
            Some(system),
            "Please move my appointment on Friday to next week.",
        )
        .unwrap();
    let opts = GenOpts {
        max_new_tokens: 24,
        ..GenOpts::default()
    };
    gen.clear_cache();
    let fresh = gen.generate(&b, &opts).unwrap();
    assert_eq!(fresh.reused_tokens, 0);
    gen.generate(&a, &opts).unwrap();
    let reused = gen.generate(&b, &opts).unwrap();
    let shared = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    assert!(shared > 10, "the system turn is a shared prefix");
    assert_eq!(reused.reused_tokens, shared);
    assert_eq!(reused.tokens, fresh.tokens);
    // The same prompt again reuses all but its last token.
    let again = gen.generate(&b, &opts).unwrap();
    assert_eq!(again.reused_tokens, b.len() - 1);
    assert_eq!(again.tokens, fresh.tokens);
}

fn link_or_copy(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
}

/// Lay out a hub cache as hf-hub writes it: blobs named by their etag (SHA-256 for LFS files,
/// git blob SHA-1 for small ones), snapshot entries symlinked to them, refs/main naming the commit.
fn fake_hub_repo(cache: &Path, repo: &str, files: &[(&Path, bool)]) {
    let base = cache.join(format!("models--{}", repo.replace('/', "--")));
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let snap = base.join("snapshots").join(commit);
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(base.join("blobs")).unwrap();
    std::fs::create_dir_all(base.join("refs")).unwrap();
    std::fs::write(base.join("refs/main"), commit).unwrap();
    for (file, lfs) in files {
        let etag = if *lfs {
            mailroom::models::sha256_file(file).unwrap()
        } else {
            use sha1::{Digest, Sha1};
            let bytes = std::fs::read(file).unwrap();
            let mut h = Sha1::new();
            h.update(format!("blob {}\0", bytes.len()).as_bytes());
            h.update(&bytes);
            hex::encode(h.finalize())
        };
        let blob = base.join("blobs").join(&etag);
        link_or_copy(file, &blob);
        std::os::unix::fs::symlink(
            Path::new("../../blobs").join(&etag),
            snap.join(file.file_name().unwrap()),
        )
        .unwrap();
    }
}

#[test]
fn r2_hf_references_resolve_from_the_local_hub_cache() {
    let store = util::store();
    let enc = store.resolve("all-minilm-l6-v2").unwrap();
    let gen = store.resolve("smollm2-135m-instruct-q4_1").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("hub");
    let f = |n: &str| enc.file(n).unwrap().path.clone();
    let (cfg, tok, st) = (
        f("config.json"),
        f("tokenizer.json"),
        f("model.safetensors"),
    );
    fake_hub_repo(
        &cache,
        "local/minilm",
        &[(&cfg, false), (&tok, true), (&st, true)],
    );
    let gguf = gen.weights().unwrap().path.clone();
    fake_hub_repo(&cache, "local/smol", &[(&gguf, true)]);

    let hub = Store::open_with(
        store.root(),
        StoreOptions {
            hf_cache: Some(HfCache(cache.clone())),
            allow_download: false,
        },
    )
    .unwrap();
    let m = hub.resolve("hf:local/minilm").unwrap();
    assert_eq!(m.role, Role::Encoder);
    assert!(
        m.files.iter().all(|f| f.pinned),
        "every hub file checked against its etag"
    );
    let e = Encoder::load(&m, &Device::Cpu).unwrap();
    let v = e.embed(&["hello"]).unwrap();
    let w = util::encoder().embed(&["hello"]).unwrap();
    assert!(cosine(&v[0], &w[0]) > 0.999999);

    let g = hub.resolve("hf:local/smol").unwrap();
    assert_eq!(g.role, Role::Generator);
    assert_eq!(g.weights().unwrap().sha256, gen.weights().unwrap().sha256);
    let named = hub
        .resolve("hf:local/smol:SmolLM2-135M-Instruct.Q4_1.gguf")
        .unwrap();
    assert_eq!(named.files.len(), 1);

    // Not cached and downloads not allowed: a clear error, no network.
    let err = hub.resolve("hf:someone/absent").unwrap_err().to_string();
    assert!(err.contains("--allow-download"), "{err}");
    let err = hub
        .resolve("hf:local/smol:other.gguf")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("other.gguf") && err.contains("not in the local hub cache"),
        "{err}"
    );

    // A blob whose bytes do not match its etag is refused.
    let base = cache.join("models--local--minilm");
    let bad_etag = "f".repeat(64);
    std::fs::write(base.join("blobs").join(&bad_etag), b"{}").unwrap();
    let snap = base.join("snapshots/0123456789abcdef0123456789abcdef01234567/tokenizer.json");
    std::fs::remove_file(&snap).unwrap();
    std::os::unix::fs::symlink(Path::new("../../blobs").join(&bad_etag), &snap).unwrap();
    match hub.resolve("hf:local/minilm") {
        Err(ModelError::HashMismatch { expected, .. }) => assert_eq!(expected, bad_etag),
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
}

/// A store in a temp folder whose manifest pins `files` (name, sha256) for one model.
fn temp_store(id: &str, role: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut toml =
        format!("[[model]]\nid = \"{id}\"\nrole = \"{role}\"\nformat = \"x\"\ndefault = true\n");
    for (name, sha) in files {
        toml.push_str(&format!(
            "[[model.files]]\nname = \"{name}\"\nsha256 = \"{sha}\"\n"
        ));
    }
    std::fs::write(dir.path().join("models.toml"), toml).unwrap();
    std::fs::create_dir_all(dir.path().join(id)).unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn r2_wrong_hash_names_the_file_and_both_hashes() {
    let real = util::store().resolve_default(Role::Encoder).unwrap();
    let cfg = real.file("config.json").unwrap();
    let wrong = "ab".repeat(32);
    let (dir, store) = temp_store("m", "encoder", &[("config.json", &wrong)]);
    std::fs::copy(&cfg.path, dir.path().join("m/config.json")).unwrap();
    let err = store.resolve("m").unwrap_err().to_string();
    assert!(
        err.contains("config.json") && err.contains(&wrong) && err.contains(&cfg.sha256),
        "{err}"
    );
}

#[test]
fn r2_missing_model_names_models_fetch() {
    let (_dir, store) = temp_store("m", "generator", &[("x.gguf", &"0".repeat(64))]);
    let err = store
        .resolve_default(Role::Generator)
        .unwrap_err()
        .to_string();
    assert!(err.contains("models/fetch"), "{err}");
}

#[test]
fn r2_broken_gguf_files_are_clear_errors() {
    let real = util::store().resolve_default(Role::Generator).unwrap();
    let bytes = std::fs::read(&real.weights().unwrap().path).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let store = util::store();
    let load = |name: &str, data: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, data).unwrap();
        let m = store.resolve(p.to_str().unwrap()).unwrap();
        Generator::load(&m, &Device::Cpu)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    // Truncated: the header is intact, the tensor data is cut.
    let err = load("truncated.gguf", &bytes[..bytes.len() / 3]);
    assert!(err.contains("truncated.gguf"), "{err}");
    // Not a GGUF file at all.
    let err = load(
        "text.gguf",
        b"this is not a model, just some text that is long enough",
    );
    assert!(err.contains("not a readable GGUF file"), "{err}");
    // Empty.
    let err = load("empty.gguf", b"");
    assert!(err.contains("empty.gguf"), "{err}");
    // A GGUF of an architecture mailroom does not run.
    use candle_core::quantized::gguf_file::{self, Value};
    let mut buf = std::io::Cursor::new(Vec::new());
    let arch = Value::String("falcon".into());
    gguf_file::write(&mut buf, &[("general.architecture", &arch)], &[]).unwrap();
    let err = load("falcon.gguf", buf.get_ref());
    assert!(err.contains("unsupported architecture 'falcon'"), "{err}");
}

#[test]
fn r2_broken_encoder_folders_are_clear_errors() {
    let real = util::store().resolve_default(Role::Encoder).unwrap();
    let store = util::store();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("enc");
    std::fs::create_dir(&dir).unwrap();
    for n in ["config.json", "tokenizer.json"] {
        std::fs::copy(&real.file(n).unwrap().path, dir.join(n)).unwrap();
    }
    // Safetensors with one tensor only: missing tensors.
    let t = candle_core::Tensor::zeros((2, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
    candle_core::safetensors::save(
        &std::collections::HashMap::from([("x".to_string(), t)]),
        dir.join("model.safetensors"),
    )
    .unwrap();
    let m = store.resolve(dir.to_str().unwrap()).unwrap();
    let err = Encoder::load(&m, &Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("does not fit config.json"), "{err}");
    // Not safetensors.
    std::fs::write(dir.join("model.safetensors"), b"garbage").unwrap();
    let m = store.resolve(dir.to_str().unwrap()).unwrap();
    let err = Encoder::load(&m, &Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("not a valid safetensors file"), "{err}");
    // An architecture mailroom does not run.
    std::fs::write(dir.join("config.json"), r#"{"model_type": "gpt_neox"}"#).unwrap();
    let m = store.resolve(dir.to_str().unwrap()).unwrap();
    let err = Encoder::load(&m, &Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("unsupported architecture 'gpt_neox'"), "{err}");
    // A folder with no model in it.
    let err = store
        .resolve(tmp.path().to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a model folder"), "{err}");
    // A generator given where an encoder is wanted.
    let g = store.resolve_default(Role::Generator).unwrap();
    assert!(Encoder::load(&g, &Device::Cpu)
        .unwrap_err()
        .to_string()
        .contains("not a encoder"));
}

#[test]
fn r2_cli_models_embed_generate_and_exit_codes() {
    let out = util::mailroom(&["models", "verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"));

    let out = util::mailroom(&["embed", "first text", "second text"]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<Vec<f32>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].len(), 384);

    let out = util::mailroom(&["generate", "--max-tokens", "12", "Say hello."]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tok/s"));

    // No models installed: exit 2 and a message naming models/fetch.
    let empty = tempfile::tempdir().unwrap();
    std::fs::copy(
        util::root().join("models/models.toml"),
        empty.path().join("models.toml"),
    )
    .unwrap();
    let dir = empty.path().to_str().unwrap();
    let out = util::mailroom(&["embed", "--models-dir", dir, "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("models/fetch"));
    let out = util::mailroom(&["models", "verify", "--models-dir", dir]);
    assert_eq!(out.status.code(), Some(2));
    let out = util::mailroom(&["generate", "--generator", "no-such-model", "x"]);
    assert_eq!(out.status.code(), Some(2));
}
