//! The model store and the two model roles.
//!
//! This module owns finding model files ([`Store`]: manifest ids, local folders, `.gguf` files,
//! `hf:owner/repo` through the local hub cache), proving they are the pinned files (SHA-256,
//! cached by size and mtime), and running them on a candle [`Device`]:
//!
//! - [`Encoder`] (`encoder/`): BERT-family sentence embeddings (mean pooled, L2 normalised);
//! - [`Generator`] (`generator/`): GGUF chat models (llama family incl. SmolLM2, qwen2, qwen3,
//!   gemma3).
//!
//! A folder per role, a file per architecture or implementation inside it; the store files
//! (`store`, `manifest`, `verify`) sit here.
//!
//! It knows nothing of email, HTTP or the command line: it takes text and returns vectors or text,
//! and reads no environment variables (the CLI passes every choice in as an option).

mod encoder;
mod error;
mod generator;
mod manifest;
mod store;
mod verify;

pub use candle_core::Device;
pub use encoder::{Encoder, EncoderOptions, Precision, ATTENTION_BUDGET};
pub use error::ModelError;
pub use generator::{
    tokenizer_from_gguf, GenOpts, Generation, Generator, Implementation, Kernel, LoadOptions,
    StopReason, WeightFormat,
};
pub use manifest::{FileEntry, Manifest, ModelEntry};
pub use store::{HfCache, ResolvedModel, Store, StoreOptions, VerifiedFile};
pub use verify::sha256_file;

use serde::{Deserialize, Serialize};

/// What a model is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sentence embeddings (BERT family, safetensors).
    Encoder,
    /// Text generation (GGUF chat models).
    Generator,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Encoder => "encoder",
            Role::Generator => "generator",
        })
    }
}

/// The device to run on: `cpu`, or `cuda[:N]` / `metal` when built with those features.
pub fn device_from_name(name: &str) -> Result<Device, ModelError> {
    let name = name.trim().to_ascii_lowercase();
    let dev = match name.as_str() {
        "cpu" => Ok(Device::Cpu),
        "metal" => Device::new_metal(0),
        n if n == "cuda" || n.starts_with("cuda:") => {
            let ordinal = n
                .strip_prefix("cuda:")
                .map(|o| o.parse::<usize>())
                .transpose()
                .map_err(|_| ModelError::Device(format!("bad device '{name}'")))?
                .unwrap_or(0);
            Device::new_cuda(ordinal)
        }
        _ => {
            return Err(ModelError::Device(format!(
                "unknown device '{name}' (cpu, cuda[:N], metal)"
            )))
        }
    };
    dev.map_err(|e| ModelError::Device(format!("{name}: {e}")))
}
