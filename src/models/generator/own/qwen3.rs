//! The qwen3 architecture (GGUF `general.architecture = "qwen3"`: Qwen3 dense models; Qwen Team
//! 2025) for the own forward: llama's block with an RMS norm on each query and key head before
//! RoPE (over the two halves of each head), and a head size of its own (`key_length`).

use super::decoder::{Decoder, Rope};
use super::gguf::GgufReader;
use super::llama::{load_family, Family};
use super::quant::Unsupported;
use super::OwnOptions;

/// Load a qwen3 GGUF (Q4_1 / Q8_0 matrices).
pub fn load(g: GgufReader, options: &OwnOptions) -> Result<Decoder, Unsupported> {
    let family = Family {
        arch: "qwen3",
        rope: Rope::Halves,
        qkv_bias: false,
        qk_norm: true,
    };
    load_family(g, options, &family)
}
