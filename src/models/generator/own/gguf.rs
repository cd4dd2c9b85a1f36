//! Reading a GGUF file's metadata and tensors into the own forward's layouts: what every
//! architecture's loader needs. Anything the own kernels cannot take is [`Unsupported`], and the
//! caller falls back to candle.

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::GgmlDType;
use candle_core::Device;

use super::quant::{QKind, QMatrix, Unsupported};
use crate::models::generator::model::ReadSeek;

/// A GGUF file open for loading.
pub struct GgufReader<'a> {
    content: &'a Content,
    reader: &'a mut dyn ReadSeek,
    arch: String,
}

fn kind_of(t: GgmlDType) -> Option<QKind> {
    match t {
        GgmlDType::Q4_1 => Some(QKind::Q4_1),
        GgmlDType::Q8_0 => Some(QKind::Q8_0),
        _ => None,
    }
}

impl<'a> GgufReader<'a> {
    /// Open `content` (read from `reader`).
    pub fn new(content: &'a Content, reader: &'a mut dyn ReadSeek) -> Self {
        let arch = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        GgufReader {
            content,
            reader,
            arch,
        }
    }

    /// `general.architecture`.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// The metadata value `<arch>.<key>`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(&format!("{}.{key}", self.arch))
    }

    /// `<arch>.<key>` as a count.
    pub fn count(&self, key: &str) -> Result<usize, Unsupported> {
        self.get(key)
            .and_then(|v| v.to_u32().ok())
            .map(|v| v as usize)
            .ok_or_else(|| Unsupported(format!("no {}.{key}", self.arch)))
    }

    /// `<arch>.<key>` as a float, or `default`.
    pub fn float_or(&self, key: &str, default: f32) -> f32 {
        self.get(key)
            .and_then(|v| v.to_f32().ok())
            .unwrap_or(default)
    }

    /// Whether the file has a tensor of this name.
    pub fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// The tensor `name` as a matrix for the kernels (Q4_1 or Q8_0).
    pub fn matrix(&mut self, name: &str) -> Result<QMatrix, Unsupported> {
        let info = self
            .content
            .tensor_infos
            .get(name)
            .ok_or_else(|| Unsupported(format!("no tensor {name}")))?;
        let (dtype, dims) = (info.ggml_dtype, info.shape.dims().to_vec());
        let kind = kind_of(dtype).ok_or_else(|| Unsupported(format!("{name} is {dtype:?}")))?;
        let qt = self
            .content
            .tensor(&mut self.reader, name, &Device::Cpu)
            .map_err(|e| Unsupported(format!("{name}: {e}")))?;
        let data = qt.data().map_err(|e| Unsupported(format!("{name}: {e}")))?;
        // candle gives GGUF shapes as (rows, cols).
        let (rows, cols) = match dims.as_slice() {
            [r, c] => (*r, *c),
            _ => return Err(Unsupported(format!("{name} is not a matrix"))),
        };
        QMatrix::from_ggml(kind, rows, cols, &data)
    }

    /// The tensor `name` as `n` f32 values (norm weights, biases).
    pub fn vector(&mut self, name: &str, n: usize) -> Result<Vec<f32>, Unsupported> {
        let qt = self
            .content
            .tensor(&mut self.reader, name, &Device::Cpu)
            .map_err(|e| Unsupported(format!("{name}: {e}")))?;
        let v: Vec<f32> = qt
            .dequantize(&Device::Cpu)
            .and_then(|t| t.flatten_all()?.to_vec1())
            .map_err(|e| Unsupported(format!("{name}: {e}")))?;
        if v.len() != n {
            return Err(Unsupported(format!("{name} has {} values", v.len())));
        }
        Ok(v)
    }
}
