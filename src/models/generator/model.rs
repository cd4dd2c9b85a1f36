//! What a generator implementation does, whatever the architecture or the code running it: take
//! token ids after the ones it holds in its cache and return the logits after the last.
//!
//! [`super::Generator`] owns tokenisation, chat templates, sampling and stopping; a
//! [`LanguageModel`] only runs the network. Implementations: the own forward
//! ([`super::own::Decoder`]) and candle's quantised models ([`super::candle::CandleModel`]).

use std::io::{Read, Seek};

use crate::models::ModelError;

/// A causal language model with a KV cache. One thread owns it.
pub trait LanguageModel: Send {
    /// Append `tokens` after the cached ones and return the logits after the last of them.
    fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>, ModelError>;

    /// The tokens whose keys and values the cache holds and a later call may keep (empty for an
    /// implementation that cannot keep a prefix).
    fn cached(&self) -> &[u32];

    /// Keep only the first `n` cached tokens, `n <= cached().len()`; 0 empties the cache.
    fn truncate(&mut self, n: usize);

    /// What runs the model, for reports: `own (avx512-vnni, 2 threads)` or `candle`.
    fn describe(&self) -> String;
}

/// A GGUF file being read: what the loaders take.
pub trait ReadSeek: Read + Seek {}

impl<T: Read + Seek> ReadSeek for T {}
