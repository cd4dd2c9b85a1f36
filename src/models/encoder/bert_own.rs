//! mailroom's own BERT forward for the CPU (BERT: Devlin et al. 2018; weights as
//! sentence-transformers / Hugging Face `BertModel` checkpoints store them), from token embedding
//! to pooled vector, built on [`super::kernels`]. Compared with candle's general tensor graph it:
//!
//! - runs the sequences of a batch unpadded: the dense layers see only real tokens, and attention
//!   runs per sequence over its own length (no mask, no wasted rows);
//! - fuses Q, K and V into one dense layer, adds the bias on the GEMM's store, and adds the
//!   residual inside the layer norm pass, with no intermediate tensors beyond four reused buffers;
//! - computes the dense layers in bf16 with f32 accumulation on AVX-512 BF16 CPUs (or f32).
//!
//! The result equals padded, masked BERT: padding positions never reach a real token through a
//! mask that zeroes their attention weight.

use candle_transformers::models::bert::{Config as BertConfig, HiddenAct, PositionEmbeddingType};
use rayon::prelude::*;

use super::checkpoint::Checkpoint;
use super::kernels::{add_layer_norm, gelu, matmul, softmax, Dense, Precision, Strided};
use super::EmbeddingModel;
use crate::models::ModelError;

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    qkv: Dense,
    out: Dense,
    ln1: Norm,
    up: Dense,
    down: Dense,
    ln2: Norm,
}

/// A BERT encoder ready to run on the CPU.
pub struct OwnBert {
    hidden: usize,
    heads: usize,
    eps: f32,
    word: Vec<f32>,
    position: Vec<f32>,
    /// Token type 0 (sentence embeddings use one segment).
    token_type: Vec<f32>,
    max_positions: usize,
    emb_norm: Norm,
    layers: Vec<Layer>,
    precision: Precision,
}

impl OwnBert {
    /// Build from the checkpoint's tensors (names with or without a `bert.` prefix). Errors name
    /// the first tensor that is missing or has the wrong shape.
    pub fn load(
        tensors: &Checkpoint,
        config: &BertConfig,
        precision: Precision,
    ) -> Result<Self, String> {
        if config.hidden_act != HiddenAct::Gelu {
            return Err(format!(
                "hidden_act {:?}: only exact gelu is implemented",
                config.hidden_act
            ));
        }
        if config.position_embedding_type != PositionEmbeddingType::Absolute {
            return Err("only absolute position embeddings are implemented".into());
        }
        let h = config.hidden_size;
        let heads = config.num_attention_heads;
        if heads == 0 || !h.is_multiple_of(heads) {
            return Err(format!(
                "hidden_size {h} is not a multiple of {heads} heads"
            ));
        }
        let prefix = if tensors.contains("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else {
            ""
        };
        // One tensor at a time from the file, dropped once packed (see [`Checkpoint`]).
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>, String> {
            tensors.f32(&format!("{prefix}{name}"), shape)
        };
        let norm = |name: &str| -> Result<Norm, String> {
            Ok(Norm {
                gamma: get(&format!("{name}.weight"), &[h])?,
                beta: get(&format!("{name}.bias"), &[h])?,
            })
        };
        let dense = |name: &str, n: usize, k: usize| -> Result<Dense, String> {
            Ok(Dense::new(
                get(&format!("{name}.weight"), &[n, k])?,
                get(&format!("{name}.bias"), &[n])?,
                n,
                k,
                precision,
            ))
        };
        let word = get("embeddings.word_embeddings.weight", &[config.vocab_size, h])?;
        let position = get(
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, h],
        )?;
        let token_type = get(
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, h],
        )?[..h]
            .to_vec();
        let emb_norm = norm("embeddings.LayerNorm")?;
        let i = config.intermediate_size;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            // Q, K and V stacked into one (3h, h) layer.
            let mut w = Vec::with_capacity(3 * h * h);
            let mut b = Vec::with_capacity(3 * h);
            for part in ["query", "key", "value"] {
                w.extend(get(&format!("{p}.attention.self.{part}.weight"), &[h, h])?);
                b.extend(get(&format!("{p}.attention.self.{part}.bias"), &[h])?);
            }
            layers.push(Layer {
                qkv: Dense::new(w, b, 3 * h, h, precision),
                out: dense(&format!("{p}.attention.output.dense"), h, h)?,
                ln1: norm(&format!("{p}.attention.output.LayerNorm"))?,
                up: dense(&format!("{p}.intermediate.dense"), i, h)?,
                down: dense(&format!("{p}.output.dense"), h, i)?,
                ln2: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(OwnBert {
            hidden: h,
            heads,
            eps: config.layer_norm_eps as f32,
            word,
            position,
            token_type,
            max_positions: config.max_position_embeddings,
            emb_norm,
            layers,
            precision,
        })
    }

    /// Mean-pooled (not normalised) last hidden states, one per sequence. Token ids past the
    /// vocabulary and sequences past the position table are errors.
    fn mean_hidden(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>, String> {
        let h = self.hidden;
        let vocab = self.word.len() / h;
        let mut offsets = Vec::with_capacity(seqs.len() + 1);
        offsets.push(0usize);
        for s in seqs {
            if s.len() > self.max_positions {
                return Err(format!(
                    "{} tokens, more than the model's {} positions",
                    s.len(),
                    self.max_positions
                ));
            }
            if let Some(&bad) = s.iter().find(|&&t| t as usize >= vocab) {
                return Err(format!("token id {bad} outside the vocabulary ({vocab})"));
            }
            offsets.push(offsets.last().unwrap() + s.len());
        }
        let m = *offsets.last().unwrap();
        if m == 0 {
            return Ok(vec![vec![0.0; h]; seqs.len()]);
        }

        // Embeddings: word + position + token type 0, then layer norm.
        let mut x = vec![0f32; m * h];
        for (s, seq) in seqs.iter().enumerate() {
            for (pos, &id) in seq.iter().enumerate() {
                let row = &mut x[(offsets[s] + pos) * h..(offsets[s] + pos + 1) * h];
                let wv = &self.word[id as usize * h..(id as usize + 1) * h];
                let pv = &self.position[pos * h..(pos + 1) * h];
                for (((o, a), b), c) in row.iter_mut().zip(wv).zip(pv).zip(&self.token_type) {
                    *o = a + b + c;
                }
            }
        }
        add_layer_norm(
            &mut x,
            None,
            &self.emb_norm.gamma,
            &self.emb_norm.beta,
            self.eps,
        );

        let inter = self.layers.first().map(|l| l.up.n()).unwrap_or(0);
        let mut qkv = vec![0f32; m * 3 * h];
        let mut ctx = vec![0f32; m * h];
        let mut tmp = vec![0f32; m * h];
        let mut up = vec![0f32; m * inter];
        for layer in &self.layers {
            layer.qkv.forward(&x, m, &mut qkv);
            self.attention(&qkv, &offsets, &mut ctx);
            layer.out.forward(&ctx, m, &mut tmp);
            add_layer_norm(
                &mut x,
                Some(&tmp),
                &layer.ln1.gamma,
                &layer.ln1.beta,
                self.eps,
            );
            layer.up.forward(&x, m, &mut up);
            gelu(&mut up);
            layer.down.forward(&up, m, &mut tmp);
            add_layer_norm(
                &mut x,
                Some(&tmp),
                &layer.ln2.gamma,
                &layer.ln2.beta,
                self.eps,
            );
        }

        // Mean over each sequence's tokens.
        Ok(offsets
            .windows(2)
            .map(|w| {
                let mut v = vec![0f32; h];
                for row in x[w[0] * h..w[1] * h].chunks_exact(h) {
                    v.iter_mut().zip(row).for_each(|(a, b)| *a += b);
                }
                let n = (w[1] - w[0]).max(1) as f32;
                v.iter_mut().for_each(|a| *a /= n);
                v
            })
            .collect())
    }

    /// Multi-head self-attention of each sequence over itself: `qkv` rows are `[q | k | v]`,
    /// `ctx` rows get the heads' outputs side by side. One task per (sequence, head).
    fn attention(&self, qkv: &[f32], offsets: &[usize], ctx: &mut [f32]) {
        let h = self.hidden;
        let dh = h / self.heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let tasks: Vec<(usize, usize)> = (0..offsets.len() - 1)
            .flat_map(|s| (0..self.heads).map(move |hd| (s, hd)))
            .collect();
        let outs: Vec<Vec<f32>> = tasks
            .par_iter()
            .map(|&(s, hd)| {
                let (start, len) = (offsets[s], offsets[s + 1] - offsets[s]);
                // Q, K and V of this head, read in place from the qkv rows (stride 3h).
                let at = |part: usize| &qkv[(start * 3 + part) * h + hd * dh..];
                let (q, k, v) = (at(0), at(1), at(2));
                let mut scores = vec![0f32; len * len];
                let kt = Strided {
                    data: k,
                    rs: 1,
                    cs: 3 * h,
                };
                let qs = Strided {
                    data: q,
                    rs: 3 * h,
                    cs: 1,
                };
                matmul(len, len, dh, qs, kt, &mut scores, scale);
                scores.chunks_exact_mut(len).for_each(softmax);
                let mut out = vec![0f32; len * dh];
                let (ps, vs) = (
                    Strided {
                        data: &scores,
                        rs: len,
                        cs: 1,
                    },
                    Strided {
                        data: v,
                        rs: 3 * h,
                        cs: 1,
                    },
                );
                matmul(len, dh, len, ps, vs, &mut out, 1.0);
                out
            })
            .collect();
        for (&(s, hd), out) in tasks.iter().zip(outs) {
            for (t, o) in out.chunks_exact(dh).enumerate() {
                let base = (offsets[s] + t) * h + hd * dh;
                ctx[base..base + dh].copy_from_slice(o);
            }
        }
    }
}

/// Most tokens one pass of the forward holds (about 15 KB of activations each): a larger batch
/// is run as consecutive passes of whole sequences. Each sequence's vector is the same either
/// way (sequences never meet, and every output value is computed in a fixed order); only the
/// memory differs: a batch of 16 messages of four 256-token windows would hold about 250 MB of
/// activations at once, a pass of 2,048 tokens about 32 MB.
const MAX_PASS_TOKENS: usize = 2048;

/// Consecutive runs of `seqs` of at most `budget` tokens each (a longer sequence alone).
fn passes<'a, 's>(seqs: &'a [&'s [u32]], budget: usize) -> Vec<&'a [&'s [u32]]> {
    let mut out = Vec::new();
    let (mut start, mut tokens) = (0, 0);
    for (i, s) in seqs.iter().enumerate() {
        if i > start && tokens + s.len() > budget {
            out.push(&seqs[start..i]);
            (start, tokens) = (i, 0);
        }
        tokens += s.len();
    }
    if start < seqs.len() {
        out.push(&seqs[start..]);
    }
    out
}

impl EmbeddingModel for OwnBert {
    fn pooled(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut out = Vec::with_capacity(seqs.len());
        for pass in passes(seqs, MAX_PASS_TOKENS) {
            out.extend(self.mean_hidden(pass).map_err(ModelError::Tokenizer)?);
        }
        Ok(out)
    }

    fn precision(&self) -> Precision {
        self.precision
    }
}

#[cfg(test)]
mod tests {
    use super::passes;

    #[test]
    fn passes_cover_every_sequence_once_in_order_within_the_budget() {
        let lens = [3usize, 4, 2, 9, 1, 1, 5];
        let seqs: Vec<Vec<u32>> = lens.iter().map(|&n| vec![0; n]).collect();
        let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
        let split = passes(&refs, 6);
        let sizes: Vec<Vec<usize>> = split
            .iter()
            .map(|p| p.iter().map(|s| s.len()).collect())
            .collect();
        // 9 is over the budget alone: a pass of its own.
        assert_eq!(
            sizes,
            vec![vec![3], vec![4, 2], vec![9], vec![1, 1], vec![5]]
        );
        assert!(passes(&[], 6).is_empty());
        assert_eq!(passes(&refs, 1000).len(), 1);
    }
}
