//! candle-transformers' quantised models (`quantized_llama`, `quantized_qwen2`, `quantized_qwen3`,
//! `quantized_gemma3`; Apache-2.0 / MIT) as a [`LanguageModel`]: the fallback for every
//! architecture, format and device the own forward does not cover.
//!
//! Speed: candle has no SIMD kernel for Q4_1 (or Q5_0/Q5_1) on x86, so by default those weights are
//! requantised to Q8_0 at load, which has one. Q8_0 holds the Q4_1 values almost exactly (8 bits
//! per weight where the file has 4 plus a per-block offset); the logit difference this costs is
//! measured by the `r2_requantised_weights_stay_close_to_the_file` test and reported in the
//! README. [`WeightFormat::Native`] keeps the file's own formats.

use std::io::Cursor;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, TensorInfo};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::models::{
    quantized_gemma3, quantized_llama, quantized_qwen2, quantized_qwen3,
};

use super::model::{LanguageModel, ReadSeek};
use super::WeightFormat;
use crate::models::ModelError;

/// One of candle's quantised architectures.
pub enum CandleArch {
    /// `quantized_llama` (llama, mistral).
    Llama(quantized_llama::ModelWeights),
    /// `quantized_qwen2`.
    Qwen2(quantized_qwen2::ModelWeights),
    /// `quantized_qwen3`.
    Qwen3(quantized_qwen3::ModelWeights),
    /// `quantized_gemma3`.
    Gemma3(quantized_gemma3::ModelWeights),
}

/// Builds one of candle's architectures from a GGUF file (an entry of the architecture table).
pub type CandleBuild = fn(Content, &mut dyn ReadSeek, &Device) -> candle_core::Result<CandleArch>;

/// `quantized_llama`.
pub fn llama(c: Content, mut r: &mut dyn ReadSeek, d: &Device) -> candle_core::Result<CandleArch> {
    quantized_llama::ModelWeights::from_gguf(c, &mut r, d).map(CandleArch::Llama)
}

/// `quantized_qwen2`.
pub fn qwen2(c: Content, mut r: &mut dyn ReadSeek, d: &Device) -> candle_core::Result<CandleArch> {
    quantized_qwen2::ModelWeights::from_gguf(c, &mut r, d).map(CandleArch::Qwen2)
}

/// `quantized_qwen3`.
pub fn qwen3(c: Content, mut r: &mut dyn ReadSeek, d: &Device) -> candle_core::Result<CandleArch> {
    quantized_qwen3::ModelWeights::from_gguf(c, &mut r, d).map(CandleArch::Qwen3)
}

/// `quantized_gemma3`.
pub fn gemma3(c: Content, mut r: &mut dyn ReadSeek, d: &Device) -> candle_core::Result<CandleArch> {
    quantized_gemma3::ModelWeights::from_gguf(c, &mut r, d).map(CandleArch::Gemma3)
}

/// A candle model, with the position its next token goes to.
pub struct CandleModel {
    arch: CandleArch,
    device: Device,
    pos: usize,
}

impl CandleModel {
    /// Build `arch` (named `name`) from the file at `path`, requantising the tensors whose
    /// format `fmt` changes first.
    pub fn load(
        name: &str,
        build: CandleBuild,
        content: Content,
        reader: &mut dyn ReadSeek,
        device: &Device,
        path: &Path,
        fmt: WeightFormat,
    ) -> Result<Self, ModelError> {
        let bad = |e: candle_core::Error| {
            ModelError::invalid(path, format!("cannot build the {name} model: {e}"))
        };
        let needs_requant = content
            .tensor_infos
            .values()
            .any(|t| target(fmt, t.ggml_dtype) != t.ggml_dtype);
        let arch = if needs_requant {
            let (content, mut cursor) = requantise(&content, reader, path, fmt)?;
            build(content, &mut cursor, device).map_err(bad)?
        } else {
            build(content, reader, device).map_err(bad)?
        };
        Ok(CandleModel {
            arch,
            device: device.clone(),
            pos: 0,
        })
    }
}

impl LanguageModel for CandleModel {
    fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>, ModelError> {
        let x = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
        let logits = match &mut self.arch {
            CandleArch::Llama(m) => m.forward(&x, self.pos),
            CandleArch::Qwen2(m) => m.forward(&x, self.pos),
            CandleArch::Qwen3(m) => m.forward(&x, self.pos),
            CandleArch::Gemma3(m) => m.forward(&x, self.pos),
        }?;
        self.pos += tokens.len();
        Ok(logits.squeeze(0)?.to_vec1()?)
    }

    /// candle's caches cannot be cut back to a prefix: nothing is offered for reuse.
    fn cached(&self) -> &[u32] {
        &[]
    }

    fn truncate(&mut self, _n: usize) {
        // `n` is 0 (nothing is cached to keep): empty the cache.
        match &mut self.arch {
            CandleArch::Llama(m) => m.clear_kv_cache(),
            CandleArch::Qwen2(m) => m.clear_kv_cache(),
            CandleArch::Qwen3(m) => m.clear_kv_cache(),
            // The gemma3 model resets its cache when a sequence starts at position 0.
            CandleArch::Gemma3(_) => {}
        }
        self.pos = 0;
    }

    fn describe(&self) -> String {
        "candle".to_string()
    }
}

/// The format a tensor stored as `t` is computed in.
fn target(fmt: WeightFormat, t: GgmlDType) -> GgmlDType {
    match fmt {
        WeightFormat::FastQ8 if slow_format(t) => GgmlDType::Q8_0,
        WeightFormat::F32 if !matches!(t, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16) => {
            GgmlDType::F32
        }
        _ => t,
    }
}

/// Formats candle has no SIMD dot-product kernel for on x86.
fn slow_format(t: GgmlDType) -> bool {
    matches!(t, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

/// Rewrite the tensors whose format `fmt` changes into an in-memory tensor area, one tensor at a
/// time, and return a `Content` describing it.
fn requantise(
    content: &Content,
    mut reader: &mut dyn ReadSeek,
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
            .tensor(&mut reader, name, &Device::Cpu)
            .map_err(|e| ModelError::invalid(path, format!("tensor {name}: {e}")))?;
        let last_dim = info.shape.dims().last().copied().unwrap_or(0);
        let to = target(fmt, info.ggml_dtype);
        let qt = if to != info.ggml_dtype && last_dim % to.block_size() == 0 {
            let f = qt.dequantize(&Device::Cpu)?;
            QTensor::quantize(&f, to)?
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
