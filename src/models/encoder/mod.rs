//! The encoder role: BERT-family sentence embeddings from safetensors + tokenizer.json +
//! config.json, as sentence-transformers computes them: truncate at `max_len` tokens (256 for
//! all-MiniLM-L6-v2, whose tokenizer.json itself says 128), pad to the longest input of the batch,
//! masked mean pooling, L2 normalisation.
//!
//! This file owns tokenisation, batching and normalisation; an [`EmbeddingModel`] computes the
//! mean-pooled hidden states, one implementation per file:
//! - [`bert_own`]: mailroom's own BERT forward for the CPU (on the SIMD [`kernels`]);
//! - [`bert_candle`]: candle-transformers' BERT, for GPU devices.
//!
//! The own forward's dense layers compute in f32, bf16 or int8 ([`Precision`]).

use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use candle_transformers::models::bert::Config as BertConfig;
use tokenizers::Tokenizer;

mod bert_candle;
mod bert_own;
mod checkpoint;
// The int8 dense layers' VNNI intrinsics, each with its safety argument.
#[allow(unsafe_code)]
mod int8;
// The encoder's SIMD intrinsics and gemm call, each with its safety argument.
#[allow(unsafe_code)]
mod kernels;

use bert_candle::CandleBert;
use bert_own::OwnBert;
use checkpoint::Checkpoint;
pub use kernels::Precision;

use super::{ModelError, ResolvedModel, Role};

/// Most (sequences x length^2) in one encoder batch: 8 sequences of 256 tokens, 32 of 128.
pub const ATTENTION_BUDGET: usize = 8 * 256 * 256;

/// How the encoder batches and truncates.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// Longest input in tokens, special tokens included (sentence-transformers' `max_seq_length`).
    pub max_len: usize,
    /// Inputs per forward pass.
    pub batch_size: usize,
    /// How the CPU forward computes its dense layers; `None`: the fastest this CPU runs
    /// ([`Precision::best`]: bf16 on AVX-512 BF16 CPUs, else f32). Ignored on GPUs (f32).
    pub precision: Option<Precision>,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            max_len: 256,
            batch_size: 32,
            precision: None,
        }
    }
}

/// A loaded sentence encoder.
pub struct Encoder {
    model: Box<dyn EmbeddingModel>,
    tokenizer: Tokenizer,
    options: EncoderOptions,
    dim: usize,
    /// Token ids the tokenizer puts before and after a single sequence (`[CLS]`, `[SEP]`).
    prefix: Vec<u32>,
    suffix: Vec<u32>,
    id: String,
    sha256: String,
    load_ms: f64,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("id", &self.id)
            .field("dim", &self.dim)
            .field("max_len", &self.options.max_len)
            .finish()
    }
}

/// What an encoder implementation computes: the mean over each sequence's tokens of the last
/// hidden states, not normalised (an empty sequence pools to zeros). Sequences come with their
/// special tokens and at most `max_len` long.
trait EmbeddingModel: Send + Sync {
    /// One pooled vector per sequence.
    fn pooled(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>, ModelError>;
    /// How the dense layers compute.
    fn precision(&self) -> Precision;
}

#[derive(serde::Deserialize)]
struct ArchProbe {
    #[serde(default)]
    model_type: Option<String>,
}

impl Encoder {
    /// Load a resolved encoder with the default options.
    pub fn load(model: &ResolvedModel, device: &Device) -> Result<Self, ModelError> {
        Self::load_with(model, device, EncoderOptions::default())
    }

    /// Load a resolved encoder.
    pub fn load_with(
        model: &ResolvedModel,
        device: &Device,
        options: EncoderOptions,
    ) -> Result<Self, ModelError> {
        model.expect_role(Role::Encoder)?;
        let start = Instant::now();
        let need = |name: &str| {
            model.file(name).ok_or_else(|| ModelError::Invalid {
                path: name.into(),
                reason: format!("model '{}' has no {name}", model.id),
            })
        };
        let config_file = need("config.json")?;
        let tokenizer_file = need("tokenizer.json")?;
        let weights_file = need("model.safetensors")?;

        let config = read_config(&config_file.path)?;
        let tokenizer = load_tokenizer(&tokenizer_file.path)?;

        let not_safetensors = |e: String| {
            ModelError::invalid(
                &weights_file.path,
                format!("not a valid safetensors file: {e}"),
            )
        };
        let fit = |e: String| {
            ModelError::invalid(&weights_file.path, format!("does not fit config.json: {e}"))
        };
        let pad_id = config.pad_token_id as u32;
        let bert: Box<dyn EmbeddingModel> = if device.is_cpu() {
            let precision = options.precision.unwrap_or_else(Precision::best);
            if !precision.supported() {
                return Err(ModelError::invalid(
                    &weights_file.path,
                    format!("this CPU cannot compute the encoder in {precision}"),
                ));
            }
            let checkpoint = Checkpoint::open(&weights_file.path).map_err(not_safetensors)?;
            Box::new(OwnBert::load(&checkpoint, &config, precision).map_err(fit)?)
        } else {
            let bytes = std::fs::read(&weights_file.path)
                .map_err(|e| ModelError::io(&weights_file.path, e))?;
            let tensors = candle_core::safetensors::load_buffer(&bytes, device)
                .map_err(|e| not_safetensors(e.to_string()))?;
            drop(bytes);
            Box::new(CandleBert::load(tensors, &config, device, pad_id).map_err(fit)?)
        };

        let specials = tokenizer
            .encode("", true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?
            .get_ids()
            .to_vec();
        let (prefix, suffix) = match specials.as_slice() {
            [] => (vec![], vec![]),
            [one] => (vec![*one], vec![]),
            [first, .., last] => (vec![*first], vec![*last]),
        };
        let load_ms = start.elapsed().as_secs_f64() * 1e3;
        tracing::info!(model = %model.id, load_ms, "encoder loaded");
        Ok(Encoder {
            model: bert,
            tokenizer,
            dim: config.hidden_size,
            options,
            prefix,
            suffix,
            id: model.id.clone(),
            sha256: weights_file.sha256.clone(),
            load_ms,
        })
    }

    /// The model id (manifest id, path or `hf:` reference).
    pub fn model_id(&self) -> &str {
        &self.id
    }

    /// The SHA-256 of the weights file.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Longest input in tokens, special tokens included.
    pub fn max_len(&self) -> usize {
        self.options.max_len
    }

    /// How the dense layers compute (`f32` on GPUs).
    pub fn precision(&self) -> Precision {
        self.model.precision()
    }

    /// Milliseconds it took to load.
    pub fn load_ms(&self) -> f64 {
        self.load_ms
    }

    /// Tokens in `text` without special tokens and without truncation.
    pub fn count_tokens(&self, text: &str) -> usize {
        self.raw_ids(text).map(|ids| ids.len()).unwrap_or(0)
    }

    fn raw_ids(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        // `encode_fast` skips offset tracking we do not need.
        let enc = self
            .tokenizer
            .encode_fast(text, false)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The text of token ids (special tokens skipped), as the tokenizer decodes it.
    pub fn decode(&self, ids: &[u32]) -> Result<String, ModelError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    /// Content tokens that fit in one model input beside the special tokens.
    fn window(&self) -> usize {
        self.options
            .max_len
            .saturating_sub(self.prefix.len() + self.suffix.len())
            .max(1)
    }

    /// Token ids of `text` as the model sees it: special tokens added, truncated at `max_len`
    /// (the content is cut, the special tokens kept, as sentence-transformers does).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let ids = self.raw_ids(text)?;
        Ok(self.wrap(&ids[..ids.len().min(self.window())]))
    }

    /// One L2-normalised embedding per text; each text truncated at `max_len` tokens.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let ids = texts
            .iter()
            .map(|t| self.encode(t))
            .collect::<Result<Vec<_>, _>>()?;
        self.embed_ids(&ids)
    }

    /// One embedding per text covering the whole text: the text is cut into windows of at most
    /// `max_len` tokens, each window embedded, and the window embeddings averaged (weighted by
    /// their token counts) and normalised again.
    pub fn embed_long(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let window = self.window();
        let mut chunks: Vec<Vec<u32>> = Vec::new();
        let mut owner: Vec<(usize, usize)> = Vec::new(); // (text index, tokens in chunk)
        for (i, text) in texts.iter().enumerate() {
            let ids = self.raw_ids(text)?;
            if ids.is_empty() {
                chunks.push(self.wrap(&[]));
                owner.push((i, 1));
                continue;
            }
            for piece in ids.chunks(window) {
                chunks.push(self.wrap(piece));
                owner.push((i, piece.len()));
            }
        }
        let vectors = self.embed_ids(&chunks)?;
        let mut out = vec![vec![0f32; self.dim]; texts.len()];
        for ((i, n), v) in owner.into_iter().zip(vectors) {
            for (o, x) in out[i].iter_mut().zip(v) {
                *o += x * n as f32;
            }
        }
        for v in &mut out {
            normalise(v);
        }
        Ok(out)
    }

    fn wrap(&self, ids: &[u32]) -> Vec<u32> {
        let mut v = Vec::with_capacity(ids.len() + self.prefix.len() + self.suffix.len());
        v.extend_from_slice(&self.prefix);
        v.extend_from_slice(ids);
        v.extend_from_slice(&self.suffix);
        v
    }

    /// Embed token id sequences (special tokens already in place). Sequences are sorted by length
    /// and batched so that padding stays small; results come back in input order.
    ///
    /// A batch holds at most `batch_size` sequences and at most [`ATTENTION_BUDGET`] of
    /// (sequences x length^2): attention scores grow with the square of the length, and 32
    /// sequences of 256 tokens would hold 100 MB of them per layer at once.
    pub fn embed_ids(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let len_of = |i: usize| ids[i].len().min(self.options.max_len).max(1);
        let mut out = vec![Vec::new(); ids.len()];
        let mut start = 0;
        while start < order.len() {
            // Sorted ascending: the last sequence of a batch is its longest.
            let mut end = start + 1;
            while end < order.len()
                && end - start < self.options.batch_size.max(1)
                && (end + 1 - start) * len_of(order[end]).pow(2) <= ATTENTION_BUDGET
            {
                end += 1;
            }
            let batch = &order[start..end];
            let seqs: Vec<&[u32]> = batch
                .iter()
                .map(|&i| &ids[i][..ids[i].len().min(self.options.max_len)])
                .collect();
            let vectors = self.forward(&seqs)?;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
            start = end;
        }
        Ok(out)
    }

    fn forward(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut rows = self.model.pooled(seqs)?;
        for r in &mut rows {
            normalise(r);
        }
        Ok(rows)
    }
}

fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

fn read_config(path: &Path) -> Result<BertConfig, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    let probe: ArchProbe = serde_json::from_str(&text)
        .map_err(|e| ModelError::invalid(path, format!("not a JSON model config: {e}")))?;
    match probe.model_type.as_deref() {
        Some("bert") | None => {}
        Some(other) => {
            return Err(ModelError::UnsupportedArch {
                path: path.to_path_buf(),
                arch: other.to_string(),
                supported: "bert",
            })
        }
    }
    serde_json::from_str(&text).map_err(|e| ModelError::invalid(path, format!("BERT config: {e}")))
}

fn load_tokenizer(path: &Path) -> Result<Tokenizer, ModelError> {
    let mut tokenizer = Tokenizer::from_file(path)
        .map_err(|e| ModelError::invalid(path, format!("not a tokenizer.json: {e}")))?;
    // tokenizer.json may carry its own truncation and fixed padding (128 for all-MiniLM-L6-v2);
    // mailroom truncates at `max_len` itself and pads to the longest input of each batch.
    tokenizer
        .with_truncation(None)
        .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}
