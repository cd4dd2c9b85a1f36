//! What a caller chooses when loading a generator and generating, and what generation returns.

use serde::Serialize;

use super::own::Kernel;

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

/// Which implementation runs the model (the CLI's `--backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Implementation {
    /// The own forward where the model is supported (see the architecture table; Q4_1/Q8_0
    /// matrices, CPU), else candle.
    #[default]
    Own,
    /// candle-transformers' quantised models.
    Candle,
}

/// How to load a generator.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Weight formats to compute with (candle; the own forward always uses the file's).
    pub weights: WeightFormat,
    /// Which implementation runs the model.
    pub implementation: Implementation,
    /// Threads for the own forward (default: candle's thread count).
    pub threads: Option<usize>,
    /// SIMD kernels for the own forward (default, or when this CPU lacks the one asked for: the
    /// fastest it has).
    pub kernel: Option<Kernel>,
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
