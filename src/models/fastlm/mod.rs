//! The own CPU forward for llama-family GGUF models: the file's Q4_1 / Q8_0 weights laid out for
//! SIMD, hand-written dot-product kernels (AVX-512 VNNI, AVX2, portable), one job per forward on
//! a small thread pool, and a KV cache that keeps a shared prompt prefix between calls.
//!
//! candle runs each operation of the graph as its own parallel loop, with a barrier, an
//! allocation and a copy after each; at batch 1 with a 135M model those dominate. Here a forward
//! pass is one job with a handful of barriers per layer and no allocation inside the layer loop.

mod llama;
mod pool;
mod quant;

pub use llama::FastLlama;
