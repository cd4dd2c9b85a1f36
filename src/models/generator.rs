//! The generator role: GGUF chat models through candle-transformers' quantized models, chosen by
//! the file's `general.architecture` (llama family incl. SmolLM2, qwen2, qwen3, gemma3).
//!
//! Speed: candle has no SIMD kernel for Q4_1 (or Q5_0/Q5_1) on x86, so by default those weights are
//! requantised to Q8_0 at load, which has one. Q8_0 holds the Q4_1 values almost exactly (8 bits
//! per weight where the file has 4 plus a per-block offset); the logit difference this costs is
//! measured by the `generator_requantised_logits_stay_close` test and reported in the README.
//! `WeightFormat::Native` keeps the file's own formats.
//!
//! Llama-family files whose matrices are Q4_1 / Q8_0 (the default SmolLM2) run on the own
//! forward in [`super::fastlm`] instead (`Backend::Own`, the default): the file's weights as they
//! are, hand-written SIMD kernels, and a KV cache that keeps the prompt prefix shared with the
//! previous call. Anything it does not support falls back to candle's models.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;
use std::time::Instant;

use candle_core::quantized::gguf_file::{self, Content, TensorInfo};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::{
    quantized_gemma3, quantized_llama, quantized_qwen2, quantized_qwen3,
};
use serde::Serialize;
use tokenizers::Tokenizer;

use super::chat::{ChatTemplate, Message};
use super::fastlm::FastLlama;
use super::gguf_tokenizer::tokenizer_from_gguf;
use super::{ModelError, ResolvedModel, Role};

/// Which weight formats the loaded model computes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WeightFormat {
    /// Requantise formats without a SIMD kernel (Q4_1, Q5_0, Q5_1) to Q8_0 at load.
    #[default]
    FastQ8,
    /// Use the file's formats as they are.
    Native,
    /// Dequantise every quantised weight to f32: the file's exact weight values with no
    /// activation quantisation. Slow and 4x the memory; the reference for accuracy checks.
    F32,
}

impl WeightFormat {
    /// The format a tensor stored as `t` is computed in.
    fn target(self, t: GgmlDType) -> GgmlDType {
        match self {
            WeightFormat::FastQ8 if slow_format(t) => GgmlDType::Q8_0,
            WeightFormat::F32
                if !matches!(t, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16) =>
            {
                GgmlDType::F32
            }
            _ => t,
        }
    }
}

/// Which implementation runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// The own forward where the model is supported (llama family, Q4_1/Q8_0 matrices, CPU),
    /// else candle.
    #[default]
    Own,
    /// candle-transformers' quantised models.
    Candle,
}

/// How to load a generator.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Weight formats to compute with (candle backend; the own one always uses the file's).
    pub weights: WeightFormat,
    /// Which implementation runs the model.
    pub backend: Backend,
    /// Threads for the own backend (default: candle's thread count).
    pub threads: Option<usize>,
}

/// How to generate.
#[derive(Debug, Clone, Serialize)]
pub struct GenOpts {
    /// Most tokens to generate.
    pub max_new_tokens: usize,
    /// Sampling temperature; `None` (the default) is greedy decoding.
    pub temperature: Option<f64>,
    /// Nucleus sampling threshold, used with a temperature.
    pub top_p: Option<f64>,
    /// Seed for sampling.
    pub seed: u64,
    /// Keep generating past end-of-turn tokens (for benchmarks that need a fixed length).
    pub ignore_eos: bool,
}

impl Default for GenOpts {
    fn default() -> Self {
        GenOpts {
            max_new_tokens: 256,
            temperature: None,
            top_p: None,
            seed: 299_792_458,
            ignore_eos: false,
        }
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model ended its turn (EOS or end-of-turn token).
    Eos,
    /// `max_new_tokens` were generated.
    MaxTokens,
    /// The context window is full.
    ContextFull,
}

/// The result of one generation.
#[derive(Debug, Clone, Serialize)]
pub struct Generation {
    /// The generated text, special tokens removed.
    pub text: String,
    /// The generated token ids (stop token excluded).
    pub tokens: Vec<u32>,
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Why it stopped.
    pub stop: StopReason,
    /// Milliseconds spent on the prompt (prefill).
    pub prompt_ms: f64,
    /// Milliseconds spent generating after the prompt.
    pub decode_ms: f64,
    /// Prompt tokens whose keys and values were kept from the previous call (a shared prefix).
    pub reused_tokens: usize,
}

enum Arch {
    Own(Box<FastLlama>),
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
    Qwen3(quantized_qwen3::ModelWeights),
    Gemma3(quantized_gemma3::ModelWeights),
}

impl Arch {
    fn forward(&mut self, x: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Arch::Own(_) => unreachable!("the own backend takes token ids"),
            Arch::Llama(m) => m.forward(x, pos),
            Arch::Qwen2(m) => m.forward(x, pos),
            Arch::Qwen3(m) => m.forward(x, pos),
            Arch::Gemma3(m) => m.forward(x, pos),
        }
    }

    fn clear(&mut self) {
        match self {
            Arch::Own(m) => m.clear(),
            Arch::Llama(m) => m.clear_kv_cache(),
            Arch::Qwen2(m) => m.clear_kv_cache(),
            Arch::Qwen3(m) => m.clear_kv_cache(),
            // The gemma3 model resets its cache when a sequence starts at position 0.
            Arch::Gemma3(_) => {}
        }
    }
}

const SUPPORTED: &str = "llama (SmolLM2, Llama, Mistral), qwen2, qwen3, gemma3";

/// A loaded GGUF chat model. Not `Sync`: one thread owns it (it holds the KV cache).
pub struct Generator {
    model: Arch,
    arch: String,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    stop_ids: Vec<u32>,
    bos: Option<u32>,
    context: usize,
    device: Device,
    id: String,
    sha256: String,
    format: WeightFormat,
    load_ms: f64,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("id", &self.id)
            .field("arch", &self.arch)
            .field("context", &self.context)
            .finish()
    }
}

impl Generator {
    /// Load a resolved generator with the default options.
    pub fn load(model: &ResolvedModel, device: &Device) -> Result<Self, ModelError> {
        Self::load_with(model, device, &LoadOptions::default())
    }

    /// Load a resolved generator.
    pub fn load_with(
        model: &ResolvedModel,
        device: &Device,
        options: &LoadOptions,
    ) -> Result<Self, ModelError> {
        model.expect_role(Role::Generator)?;
        let start = Instant::now();
        let weights = model
            .file_with_suffix(".gguf")
            .ok_or_else(|| ModelError::Invalid {
                path: model.id.clone().into(),
                reason: "no .gguf file".into(),
            })?;
        let path = &weights.path;
        let file = File::open(path).map_err(|e| ModelError::io(path, e))?;
        let mut reader = BufReader::new(file);
        let content = Content::read(&mut reader)
            .map_err(|e| ModelError::invalid(path, format!("not a readable GGUF file: {e}")))?;
        let md_str = |k: &str| {
            content
                .metadata
                .get(k)
                .and_then(|v| v.to_string().ok())
                .cloned()
        };
        let arch = md_str("general.architecture").unwrap_or_default();
        if !matches!(
            arch.as_str(),
            "llama" | "mistral" | "qwen2" | "qwen3" | "gemma3"
        ) {
            return Err(ModelError::UnsupportedArch {
                path: path.clone(),
                arch,
                supported: SUPPORTED,
            });
        }
        let context = content
            .metadata
            .get(&format!("{arch}.context_length"))
            .and_then(|v| v.to_u32().ok())
            .map(|v| v as usize)
            .unwrap_or(2048);

        // Tokenizer: tokenizer.json beside the file, else built from the GGUF metadata.
        let beside = path.with_file_name("tokenizer.json");
        let tokenizer = if beside.is_file() {
            Tokenizer::from_file(&beside)
                .map_err(|e| ModelError::invalid(&beside, format!("not a tokenizer.json: {e}")))?
        } else {
            tokenizer_from_gguf(&content, path)?
        };
        let token_str = |key: &str| {
            content
                .metadata
                .get(key)
                .and_then(|v| v.to_u32().ok())
                .and_then(|id| tokenizer.id_to_token(id).map(|s| (id, s)))
        };
        let eos = token_str("tokenizer.ggml.eos_token_id");
        let bos = token_str("tokenizer.ggml.bos_token_id");
        let add_bos = content
            .metadata
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(false);
        let mut stop_ids: Vec<u32> = eos.iter().map(|(id, _)| *id).collect();
        for t in [
            "<|im_end|>",
            "<|endoftext|>",
            "<end_of_turn>",
            "<|eot_id|>",
            "<|end|>",
        ] {
            if let Some(id) = tokenizer.token_to_id(t) {
                if !stop_ids.contains(&id) {
                    stop_ids.push(id);
                }
            }
        }
        let template = ChatTemplate::new(
            md_str("tokenizer.chat_template"),
            bos.as_ref().map(|(_, s)| s.clone()).unwrap_or_default(),
            eos.as_ref().map(|(_, s)| s.clone()).unwrap_or_default(),
        );

        let fmt = options.weights;
        let own = if options.backend == Backend::Own && device.is_cpu() && fmt != WeightFormat::F32
        {
            let threads = options
                .threads
                .unwrap_or_else(candle_core::utils::get_num_threads);
            match FastLlama::from_gguf(&content, &mut reader, threads) {
                Ok(m) => Some(Box::new(m)),
                Err(e) => {
                    tracing::debug!(reason = %e.0, "own backend unsupported; using candle");
                    None
                }
            }
        } else {
            None
        };
        let model_weights = if let Some(m) = own {
            Arch::Own(m)
        } else {
            Self::candle_model(&arch, content, &mut reader, device, path, fmt)?
        };
        let load_ms = start.elapsed().as_secs_f64() * 1e3;
        tracing::info!(model = %model.id, arch = %arch, load_ms, "generator loaded");
        Ok(Generator {
            model: model_weights,
            arch,
            tokenizer,
            template,
            stop_ids,
            bos: if add_bos { bos.map(|(id, _)| id) } else { None },
            context,
            device: device.clone(),
            id: model.id.clone(),
            sha256: weights.sha256.clone(),
            format: fmt,
            load_ms,
        })
    }

    fn candle_model(
        arch: &str,
        content: Content,
        reader: &mut BufReader<File>,
        device: &Device,
        path: &Path,
        fmt: WeightFormat,
    ) -> Result<Arch, ModelError> {
        let needs_requant = content
            .tensor_infos
            .values()
            .any(|t| fmt.target(t.ggml_dtype) != t.ggml_dtype);
        if needs_requant {
            let (content, mut cursor) = requantise(&content, reader, path, fmt)?;
            build_arch(arch, content, &mut cursor, device, path)
        } else {
            build_arch(arch, content, reader, device, path)
        }
    }

    /// What runs the model, for reports: `own (avx512-vnni, 2 threads)` or `candle`.
    pub fn backend(&self) -> String {
        match &self.model {
            Arch::Own(m) => format!("own ({}, {} threads)", m.kernel().name(), m.threads()),
            _ => "candle".to_string(),
        }
    }

    /// Forget the cached prompt prefix (the next call computes its whole prompt).
    pub fn clear_cache(&mut self) {
        self.model.clear();
    }

    /// The model id (manifest id, path or `hf:` reference).
    pub fn model_id(&self) -> &str {
        &self.id
    }

    /// The SHA-256 of the GGUF file.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The GGUF architecture name.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// The context window in tokens.
    pub fn context_len(&self) -> usize {
        self.context
    }

    /// The weight formats it computes with.
    pub fn weight_format(&self) -> WeightFormat {
        match self.model {
            Arch::Own(_) => WeightFormat::Native,
            _ => self.format,
        }
    }

    /// Milliseconds it took to load.
    pub fn load_ms(&self) -> f64 {
        self.load_ms
    }

    /// Token ids of `text`, special tokens in the text parsed as such, no BOS added.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        self.tokenizer
            .encode_fast(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    /// Text of token ids, special tokens removed.
    pub fn detokenize(&self, ids: &[u32]) -> Result<String, ModelError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    /// The prompt text for an optional system turn and a user turn, rendered with the model's
    /// chat template and ending where the assistant's answer begins.
    pub fn chat_prompt(&self, system: Option<&str>, user: &str) -> Result<String, ModelError> {
        let mut messages = Vec::with_capacity(2);
        if let Some(s) = system {
            messages.push(Message {
                role: "system",
                content: s,
            });
        }
        messages.push(Message {
            role: "user",
            content: user,
        });
        self.template.render(&messages)
    }

    /// Token ids of a chat prompt, with BOS where the model wants one.
    pub fn chat_ids(&self, system: Option<&str>, user: &str) -> Result<Vec<u32>, ModelError> {
        let text = self.chat_prompt(system, user)?;
        let mut ids = self.tokenize(&text)?;
        if let Some(bos) = self.bos {
            if ids.first() != Some(&bos) {
                ids.insert(0, bos);
            }
        }
        Ok(ids)
    }

    /// Answer a user turn (with an optional system turn).
    pub fn chat(
        &mut self,
        system: Option<&str>,
        user: &str,
        opts: &GenOpts,
    ) -> Result<Generation, ModelError> {
        let ids = self.chat_ids(system, user)?;
        self.generate(&ids, opts)
    }

    /// The logits after `ids` (for checks and benchmarks).
    pub fn logits(&mut self, ids: &[u32]) -> Result<Vec<f32>, ModelError> {
        self.model.clear();
        if let Arch::Own(m) = &mut self.model {
            return m.forward(ids).map_err(ModelError::Generation);
        }
        let input = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        let logits = self.model.forward(&input, 0)?;
        Ok(logits.squeeze(0)?.to_vec1()?)
    }

    /// Generate from prompt token ids. Fails with [`ModelError::ContextOverflow`] when the prompt
    /// alone does not leave room for one new token; stops at the context window otherwise.
    pub fn generate(&mut self, prompt: &[u32], opts: &GenOpts) -> Result<Generation, ModelError> {
        if prompt.is_empty() || prompt.len() >= self.context {
            return Err(ModelError::ContextOverflow {
                prompt_tokens: prompt.len(),
                max_new_tokens: opts.max_new_tokens,
                context: self.context,
            });
        }
        let sampling = match opts.temperature {
            Some(t) if t > 0.0 => match opts.top_p {
                Some(p) if p > 0.0 && p < 1.0 => Sampling::TopP { p, temperature: t },
                _ => Sampling::All { temperature: t },
            },
            _ => Sampling::ArgMax,
        };
        let mut sampler = LogitsProcessor::from_sampling(opts.seed, sampling);

        let t0 = Instant::now();
        let (logits, reused_tokens) = self.prefill(prompt)?;
        let mut next = sampler.sample(&logits)?;
        let prompt_ms = t0.elapsed().as_secs_f64() * 1e3;

        let t1 = Instant::now();
        let mut tokens = Vec::new();
        let mut pos = prompt.len();
        let stop = loop {
            if !opts.ignore_eos && self.stop_ids.contains(&next) {
                break StopReason::Eos;
            }
            tokens.push(next);
            if tokens.len() >= opts.max_new_tokens {
                break StopReason::MaxTokens;
            }
            if pos + 1 >= self.context {
                break StopReason::ContextFull;
            }
            let logits = self.step(next, pos)?;
            pos += 1;
            next = sampler.sample(&logits)?;
        };
        let decode_ms = t1.elapsed().as_secs_f64() * 1e3;
        let text = self.detokenize(&tokens)?;
        Ok(Generation {
            text,
            tokens,
            prompt_tokens: prompt.len(),
            stop,
            prompt_ms,
            decode_ms,
            reused_tokens,
        })
    }

    /// Run the prompt and return the logits after it, and how many prompt tokens were reused
    /// from the cache (the own backend keeps the prefix shared with the previous prompt).
    fn prefill(&mut self, prompt: &[u32]) -> Result<(Tensor, usize), ModelError> {
        if let Arch::Own(m) = &mut self.model {
            let shared = m
                .cached()
                .iter()
                .zip(prompt)
                .take_while(|(a, b)| a == b)
                .count()
                .min(prompt.len() - 1);
            m.truncate(shared);
            let logits = m
                .forward(&prompt[shared..])
                .map_err(ModelError::Generation)?;
            let n = logits.len();
            return Ok((Tensor::from_vec(logits, n, &Device::Cpu)?, shared));
        }
        self.model.clear();
        let input = Tensor::new(prompt, &self.device)?.unsqueeze(0)?;
        Ok((self.model.forward(&input, 0)?.squeeze(0)?, 0))
    }

    /// Feed one generated token at position `pos` and return the next logits.
    fn step(&mut self, token: u32, pos: usize) -> Result<Tensor, ModelError> {
        if let Arch::Own(m) = &mut self.model {
            let logits = m.forward(&[token]).map_err(ModelError::Generation)?;
            let n = logits.len();
            return Ok(Tensor::from_vec(logits, n, &Device::Cpu)?);
        }
        let input = Tensor::new(&[token], &self.device)?.unsqueeze(0)?;
        Ok(self.model.forward(&input, pos)?.squeeze(0)?)
    }
}

/// Formats candle has no SIMD dot-product kernel for on x86.
fn slow_format(t: GgmlDType) -> bool {
    matches!(t, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

/// Rewrite the tensors whose format `fmt` changes into an in-memory tensor area, one tensor at a
/// time, and return a `Content` describing it.
fn requantise<R: Read + Seek>(
    content: &Content,
    reader: &mut R,
    path: &Path,
    fmt: WeightFormat,
) -> Result<(Content, Cursor<Vec<u8>>), ModelError> {
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut data: Vec<u8> = Vec::new();
    let mut infos = std::collections::HashMap::with_capacity(names.len());
    for name in names {
        let info = &content.tensor_infos[name];
        let qt = content
            .tensor(reader, name, &Device::Cpu)
            .map_err(|e| ModelError::invalid(path, format!("tensor {name}: {e}")))?;
        let last_dim = info.shape.dims().last().copied().unwrap_or(0);
        let target = fmt.target(info.ggml_dtype);
        let qt = if target != info.ggml_dtype && last_dim % target.block_size() == 0 {
            let f = qt.dequantize(&Device::Cpu)?;
            QTensor::quantize(&f, target)?
        } else {
            qt
        };
        let bytes = qt.data()?;
        let offset = data.len() as u64;
        data.extend_from_slice(&bytes);
        data.resize(data.len().div_ceil(32) * 32, 0);
        infos.insert(
            name.clone(),
            TensorInfo {
                ggml_dtype: qt.dtype(),
                shape: info.shape.clone(),
                offset,
            },
        );
    }
    let content = Content {
        magic: content.magic,
        metadata: content.metadata.clone(),
        tensor_infos: infos,
        tensor_data_offset: 0,
    };
    Ok((content, Cursor::new(data)))
}

fn build_arch<R: Read + Seek>(
    arch: &str,
    content: gguf_file::Content,
    reader: &mut R,
    device: &Device,
    path: &Path,
) -> Result<Arch, ModelError> {
    let bad = |e: candle_core::Error| {
        ModelError::invalid(path, format!("cannot build the {arch} model: {e}"))
    };
    Ok(match arch {
        "llama" | "mistral" => Arch::Llama(
            quantized_llama::ModelWeights::from_gguf(content, reader, device).map_err(bad)?,
        ),
        "qwen2" => Arch::Qwen2(
            quantized_qwen2::ModelWeights::from_gguf(content, reader, device).map_err(bad)?,
        ),
        "qwen3" => Arch::Qwen3(
            quantized_qwen3::ModelWeights::from_gguf(content, reader, device).map_err(bad)?,
        ),
        "gemma3" => Arch::Gemma3(
            quantized_gemma3::ModelWeights::from_gguf(content, reader, device).map_err(bad)?,
        ),
        other => {
            return Err(ModelError::UnsupportedArch {
                path: path.to_path_buf(),
                arch: other.to_string(),
                supported: SUPPORTED,
            })
        }
    })
}
