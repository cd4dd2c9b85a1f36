//! candle-transformers' BERT (`candle_transformers::models::bert`, Apache-2.0 / MIT) as an
//! [`EmbeddingModel`]: the batch padded to its longest sequence, an attention mask over the
//! padding, and masked mean pooling. Used on GPU devices, where candle's kernels run; the CPU uses
//! the own forward in [`super::bert_own`].

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};

use super::{EmbeddingModel, Precision};
use crate::models::ModelError;

/// candle's BERT on a device.
pub struct CandleBert {
    model: BertModel,
    device: Device,
    pad_id: u32,
}

impl CandleBert {
    /// Build from the checkpoint's tensors (already on `device`).
    pub fn load(
        tensors: HashMap<String, Tensor>,
        config: &BertConfig,
        device: &Device,
        pad_id: u32,
    ) -> Result<Self, String> {
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        let model = BertModel::load(vb, config).map_err(|e| e.to_string())?;
        Ok(CandleBert {
            model,
            device: device.clone(),
            pad_id,
        })
    }
}

impl EmbeddingModel for CandleBert {
    fn pooled(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>, ModelError> {
        let b = seqs.len();
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let mut input = vec![self.pad_id; b * len];
        let mut mask = vec![0u32; b * len];
        for (row, s) in seqs.iter().enumerate() {
            input[row * len..row * len + s.len()].copy_from_slice(s);
            mask[row * len..row * len + s.len()].fill(1);
        }
        let input = Tensor::from_vec(input, (b, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (b, len), &self.device)?;
        let types = input.zeros_like()?;
        let hidden = self.model.forward(&input, &types, Some(&mask))?; // (b, len, dim)
        let maskf = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (b, len, 1)
        let summed = hidden.broadcast_mul(&maskf)?.sum(1)?; // (b, dim)
        let counts = maskf.sum(1)?.clamp(1e-9, f64::INFINITY)?; // (b, 1)
        let mean = summed.broadcast_div(&counts)?;
        Ok(mean.to_vec2()?)
    }

    fn precision(&self) -> Precision {
        Precision::F32
    }
}
