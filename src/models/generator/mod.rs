//! The generator role: GGUF chat models, chosen by the file's `general.architecture` from the
//! table in [`architectures`] (llama family incl. SmolLM2, qwen2, qwen3, gemma3).
//!
//! This file owns what every architecture shares: the tokenizer (tokenizer.json beside the file,
//! else built from the GGUF metadata in [`tokenizer`]), the chat template ([`chat`]), stop
//! tokens, sampling, the context limit and prompt-prefix reuse. The network itself is a
//! [`LanguageModel`]: the own forward ([`own`]: the file's weights as they are, hand-written SIMD
//! kernels, a KV cache that keeps the prompt prefix shared with the previous call) where the
//! table has one and the model fits it, else candle's quantised models ([`candle`]).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::Instant;

use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use tokenizers::Tokenizer;

mod architectures;
mod candle;
mod chat;
mod model;
mod options;
#[allow(unsafe_code)] // the own forward's SIMD kernels and thread pool
mod own;
mod tokenizer;

use architectures::{Architecture, SUPPORTED};
use candle::CandleModel;
use chat::{ChatTemplate, Message};
use model::LanguageModel;
pub use options::{GenOpts, Generation, Implementation, LoadOptions, StopReason, WeightFormat};
pub use own::Kernel;
use own::{GgufReader, OwnOptions};
pub use tokenizer::tokenizer_from_gguf;

use super::{ModelError, ResolvedModel, Role};

/// A loaded GGUF chat model. Not `Sync`: one thread owns it (it holds the KV cache).
pub struct Generator {
    model: Box<dyn LanguageModel>,
    arch: String,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    stop_ids: Vec<u32>,
    bos: Option<u32>,
    context: usize,
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

/// The tokens that matter beside the text: stop tokens, BOS, and what the chat template needs.
struct Specials {
    stop_ids: Vec<u32>,
    bos: Option<u32>,
    template: ChatTemplate,
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
        let arch = metadata_str(&content, "general.architecture").unwrap_or_default();
        let Some(architecture) = architectures::find(&arch) else {
            return Err(ModelError::UnsupportedArch {
                path: path.clone(),
                arch,
                supported: SUPPORTED,
            });
        };
        let context = content
            .metadata
            .get(&format!("{arch}.context_length"))
            .and_then(|v| v.to_u32().ok())
            .map(|v| v as usize)
            .unwrap_or(2048);
        let tokenizer = load_tokenizer(&content, path)?;
        let specials = specials(&content, &tokenizer);
        let (network, format) =
            build_model(architecture, content, &mut reader, device, path, options)?;
        let load_ms = start.elapsed().as_secs_f64() * 1e3;
        tracing::info!(model = %model.id, arch = %arch, load_ms, "generator loaded");
        Ok(Generator {
            model: network,
            arch,
            tokenizer,
            template: specials.template,
            stop_ids: specials.stop_ids,
            bos: specials.bos,
            context,
            id: model.id.clone(),
            sha256: weights.sha256.clone(),
            format,
            load_ms,
        })
    }

    /// What runs the model, for reports: `own (avx512-vnni, 2 threads)` or `candle`.
    pub fn implementation(&self) -> String {
        self.model.describe()
    }

    /// Forget the cached prompt prefix (the next call computes its whole prompt).
    pub fn clear_cache(&mut self) {
        self.model.truncate(0);
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
        self.format
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
        self.model.truncate(0);
        self.model.forward(ids)
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
        let mut next = sampler.sample(&cpu_tensor(logits)?)?;
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
            let logits = self.model.forward(&[next])?;
            pos += 1;
            next = sampler.sample(&cpu_tensor(logits)?)?;
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
    /// from the cache (the prefix shared with the previous prompt, where the model keeps one).
    fn prefill(&mut self, prompt: &[u32]) -> Result<(Vec<f32>, usize), ModelError> {
        let shared = self
            .model
            .cached()
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count()
            .min(prompt.len() - 1);
        self.model.truncate(shared);
        Ok((self.model.forward(&prompt[shared..])?, shared))
    }
}

/// Logits as the sampler takes them.
fn cpu_tensor(logits: Vec<f32>) -> Result<Tensor, ModelError> {
    let n = logits.len();
    Ok(Tensor::from_vec(logits, n, &Device::Cpu)?)
}

fn metadata_str(content: &Content, key: &str) -> Option<String> {
    content
        .metadata
        .get(key)
        .and_then(|v| v.to_string().ok())
        .cloned()
}

/// tokenizer.json beside the file, else the tokenizer built from the GGUF metadata.
fn load_tokenizer(content: &Content, path: &Path) -> Result<Tokenizer, ModelError> {
    let beside = path.with_file_name("tokenizer.json");
    if beside.is_file() {
        Tokenizer::from_file(&beside)
            .map_err(|e| ModelError::invalid(&beside, format!("not a tokenizer.json: {e}")))
    } else {
        tokenizer_from_gguf(content, path)
    }
}

/// Stop tokens (EOS and the end-of-turn tokens the vocabulary has), BOS where the file asks for
/// one, and the chat template.
fn specials(content: &Content, tokenizer: &Tokenizer) -> Specials {
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
        metadata_str(content, "tokenizer.chat_template"),
        bos.as_ref().map(|(_, s)| s.clone()).unwrap_or_default(),
        eos.as_ref().map(|(_, s)| s.clone()).unwrap_or_default(),
    );
    Specials {
        stop_ids,
        bos: if add_bos { bos.map(|(id, _)| id) } else { None },
        template,
    }
}

/// The own forward where the options, the device and the table allow it and the file fits it,
/// else candle's model; with the weight format it computes in.
fn build_model(
    architecture: &Architecture,
    content: Content,
    reader: &mut BufReader<File>,
    device: &Device,
    path: &Path,
    options: &LoadOptions,
) -> Result<(Box<dyn LanguageModel>, WeightFormat), ModelError> {
    let fmt = options.weights;
    let own_loader = architecture.own.filter(|_| {
        options.implementation == Implementation::Own && device.is_cpu() && fmt != WeightFormat::F32
    });
    if let Some(load) = own_loader {
        let own_options = OwnOptions {
            threads: options
                .threads
                .unwrap_or_else(candle_core::utils::get_num_threads),
            kernel: options
                .kernel
                .filter(|k| k.supported())
                .unwrap_or_else(Kernel::best),
        };
        match load(GgufReader::new(&content, reader), &own_options) {
            Ok(m) => return Ok((Box::new(m), WeightFormat::Native)),
            Err(e) => tracing::debug!(reason = %e.0, "own forward unsupported; using candle"),
        }
    }
    let m = CandleModel::load(
        architecture.name,
        architecture.candle,
        content,
        reader,
        device,
        path,
        fmt,
    )?;
    Ok((Box::new(m), fmt))
}
