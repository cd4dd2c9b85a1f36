//! The own CPU forward for llama-family GGUF models: the file's Q4_1 / Q8_0 weights laid out for
//! SIMD, hand-written dot-product kernels (AVX-512 VNNI, AVX2, portable), one job per forward on
//! a small thread pool, and a KV cache that keeps a shared prompt prefix between calls.
//!
//! candle runs each operation of the graph as its own parallel loop, with a barrier, an
//! allocation and a copy after each; at batch 1 with a 135M model those dominate. Here a forward
//! pass is one job with a handful of barriers per layer and no allocation inside the layer loop.
//!
//! Layout: [`decoder`] is the forward shared by every architecture, [`quant`] the weight layouts
//! and kernels, [`pool`] the threads, [`gguf`] the file reading; one file per architecture
//! ([`llama`]) reads its metadata and tensors into the decoder, and is one line in the
//! generator's architecture table.

mod decoder;
mod gguf;
pub mod llama;
mod pool;
mod quant;

pub use decoder::Decoder;
pub use gguf::GgufReader;
pub use quant::{Kernel, Unsupported};

/// How the own forward runs.
#[derive(Debug, Clone, Copy)]
pub struct OwnOptions {
    /// Threads computing.
    pub threads: usize,
    /// The SIMD kernels (supported by this CPU).
    pub kernel: Kernel,
}

/// Loads one architecture into the own forward (an entry of the architecture table).
pub type OwnLoad = fn(GgufReader, &OwnOptions) -> Result<Decoder, Unsupported>;
