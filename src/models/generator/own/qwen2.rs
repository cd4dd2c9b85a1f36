//! The qwen2 architecture (GGUF `general.architecture = "qwen2"`: Qwen2 and Qwen2.5; Qwen Team
//! 2024) for the own forward: llama's block with biases on Q, K and V and RoPE over the two
//! halves of each head.

use super::decoder::{Decoder, Rope};
use super::gguf::GgufReader;
use super::llama::{load_family, Family};
use super::quant::Unsupported;
use super::OwnOptions;

/// Load a qwen2 GGUF (Q4_1 / Q8_0 matrices).
pub fn load(g: GgufReader, options: &OwnOptions) -> Result<Decoder, Unsupported> {
    let family = Family {
        arch: "qwen2",
        rope: Rope::Halves,
        qkv_bias: true,
        qk_norm: false,
    };
    load_family(g, options, &family)
}
