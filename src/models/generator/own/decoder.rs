//! The decoder forward pass shared by the llama-family architectures, on the own kernels: RMS
//! norms, rotary embeddings (GGUF llama layout), grouped-query attention, a SiLU-gated
//! feed-forward. Each architecture file reads its weights into [`Weights`] and its shape into
//! [`Config`].
//!
//! One forward is one pool job; per layer the threads split the rows of each matrix (so every
//! output value is computed by one thread in a fixed order: the result does not depend on the
//! thread count) and the (token, head) pairs of attention, and meet at barriers in between.
//! The KV cache ([`super::attention`]) is f16 and remembers which tokens it holds, so a prompt
//! that starts like the previous one (the same system prompt) only computes its new tokens.

use super::attention::{self, chunk_partials, combine, partial_len, KvCache, LayerCache, Work};
use super::pool::{share, Barrier, Pool};
use super::quant::{matmul_rows, Kernel, QActs, QMatrix, RawActs, Unsupported, BLOCK};
use crate::models::generator::model::LanguageModel;
use crate::models::ModelError;

/// The shape of a decoder.
#[derive(Debug, Clone)]
pub struct Config {
    /// Transformer layers.
    pub layers: usize,
    /// Hidden size.
    pub dim: usize,
    /// Feed-forward size.
    pub ff: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Size of one head.
    pub head_dim: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// RMS norm epsilon.
    pub eps: f32,
    /// RoPE frequency base.
    pub rope_base: f32,
    /// Which elements of a head RoPE rotates together.
    pub rope: Rope,
}

/// How rotary embeddings pair the elements of a head (llama.cpp's rope types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rope {
    /// Neighbours `(2i, 2i + 1)`: GGUF llama files (their Q and K rows are permuted for it).
    Pairs,
    /// The two halves, `(i, i + head_dim / 2)` ("NeoX"): qwen2, qwen3, gemma3.
    Halves,
}

impl Config {
    /// Width of the query rows and of the attention output (`heads * head_dim`).
    pub fn q_dim(&self) -> usize {
        self.heads * self.head_dim
    }
}

/// The weights of one transformer block.
pub struct Layer {
    /// RMS norm before attention.
    pub attn_norm: Vec<f32>,
    /// Q, K and V stacked.
    pub qkv: QMatrix,
    /// Biases of Q, K and V, stacked likewise (qwen2).
    pub qkv_bias: Option<Vec<f32>>,
    /// RMS norms of each query and each key head before RoPE (qwen3).
    pub qk_norm: Option<(Vec<f32>, Vec<f32>)>,
    /// Attention output projection.
    pub wo: QMatrix,
    /// RMS norm before the feed-forward.
    pub ffn_norm: Vec<f32>,
    /// Feed-forward gate (SiLU).
    pub gate: QMatrix,
    /// Feed-forward up projection.
    pub up: QMatrix,
    /// Feed-forward down projection.
    pub down: QMatrix,
}

/// Every weight of a model, as an architecture's loader reads them from its file.
pub struct Weights {
    /// Token embeddings (`vocab` rows).
    pub embed: QMatrix,
    /// Output projection; `None`: tied to the embeddings.
    pub output: Option<QMatrix>,
    /// Final RMS norm.
    pub out_norm: Vec<f32>,
    /// The blocks.
    pub layers: Vec<Layer>,
}

/// Scratch buffers for a forward over up to `tokens` tokens.
struct Scratch {
    tokens: usize,
    x: Vec<f32>,
    /// The normed residual, quantised: one copy per thread.
    xq: Vec<QActs>,
    qkv: Vec<f32>,
    attn: Vec<f32>,
    aq: QActs,
    hq: QActs,
    h: Vec<f32>,
    g: Vec<f32>,
    logits: Vec<f32>,
    /// Attention partials when one token's chunks are spread over the threads.
    parts: Vec<f32>,
}

/// A decoder-only transformer on the own kernels.
pub struct Decoder {
    cfg: Config,
    embed: QMatrix,
    output: Option<QMatrix>,
    out_norm: Vec<f32>,
    layers: Vec<Layer>,
    kernel: Kernel,
    pool: Pool,
    /// Keys and values of the cached tokens.
    kv: KvCache,
    /// The tokens whose keys and values the cache holds, in order.
    cached: Vec<u32>,
    /// `cos`, `sin` per position and frequency.
    rope: Vec<(f32, f32)>,
    scratch: Scratch,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("cfg", &self.cfg)
            .field("kernel", &self.kernel)
            .finish()
    }
}

/// Raw pointer to an f32 buffer that threads write disjoint parts of between barriers.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: used only for disjoint writes separated by barriers (see `forward`).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// # Safety
    /// The range must be in bounds and no other thread may touch it while the slice lives.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, len: usize) -> &mut [f32] {
        std::slice::from_raw_parts_mut(self.0.add(start), len)
    }

    /// # Safety
    /// The range must be in bounds and no thread may write it while the slice lives.
    unsafe fn read(&self, start: usize, len: usize) -> &[f32] {
        std::slice::from_raw_parts(self.0.add(start), len)
    }

    /// # Safety
    /// In bounds, and no other thread touches index `i` at the same time.
    unsafe fn add(&self, i: usize, v: f32) {
        *self.0.add(i) += v;
    }

    /// # Safety
    /// As for [`Shared::add`].
    unsafe fn set(&self, i: usize, v: f32) {
        *self.0.add(i) = v;
    }
}

/// Read access to activations that `RawActs` writers fill between barriers.
#[derive(Clone, Copy)]
struct ActsRef(*const QActs);
// SAFETY: read only after the barrier that ends the step writing them.
unsafe impl Send for ActsRef {}
unsafe impl Sync for ActsRef {}

impl ActsRef {
    /// # Safety
    /// No thread may write the activations while the reference lives.
    unsafe fn get(&self) -> &QActs {
        &*self.0
    }
}

impl Decoder {
    /// A decoder over `weights` computing with `threads` threads and the `kernel` SIMD kernels.
    /// The matrix shapes must fit `cfg`.
    pub fn new(
        cfg: Config,
        weights: Weights,
        threads: usize,
        kernel: Kernel,
    ) -> Result<Self, Unsupported> {
        let Weights {
            embed,
            output,
            out_norm,
            layers,
        } = weights;
        let (dim, kv, qd, hd) = (
            cfg.dim,
            cfg.kv_heads * cfg.head_dim,
            cfg.q_dim(),
            cfg.head_dim,
        );
        for l in &layers {
            let shapes_ok = l.qkv.rows() == qd + 2 * kv
                && l.qkv.cols() == dim
                && l.wo.rows() == dim
                && l.wo.cols() == qd
                && l.qkv_bias.as_ref().is_none_or(|b| b.len() == qd + 2 * kv)
                && l.qk_norm
                    .as_ref()
                    .is_none_or(|(q, k)| q.len() == hd && k.len() == hd)
                && l.gate.rows() == cfg.ff
                && l.up.rows() == cfg.ff
                && l.gate.cols() == dim
                && l.down.rows() == dim
                && l.down.cols() == cfg.ff
                && l.attn_norm.len() == dim
                && l.ffn_norm.len() == dim;
            if !shapes_ok {
                return Err(Unsupported("unexpected matrix shapes".into()));
            }
        }
        if layers.len() != cfg.layers || out_norm.len() != dim {
            return Err(Unsupported("unexpected layer count or norm size".into()));
        }
        if embed.cols() != dim
            || embed.rows() != cfg.vocab
            || output
                .as_ref()
                .is_some_and(|o| o.cols() != dim || o.rows() != cfg.vocab)
        {
            return Err(Unsupported("unexpected embedding shape".into()));
        }
        if !cfg.ff.is_multiple_of(BLOCK) {
            return Err(Unsupported("feed-forward size".into()));
        }
        if !kernel.supported() {
            return Err(Unsupported(format!(
                "this CPU cannot run {}",
                kernel.name()
            )));
        }
        let n_layers = cfg.layers;
        let scratch = Scratch::new(&cfg, 1, threads.max(1));
        Ok(Decoder {
            embed,
            output,
            out_norm,
            layers,
            kernel,
            pool: Pool::new(threads),
            kv: KvCache::new(n_layers, cfg.kv_heads, cfg.head_dim),
            cached: Vec::new(),
            rope: Vec::new(),
            scratch,
            cfg,
        })
    }

    /// Append `tokens` after the cached ones and return the logits after the last of them.
    fn run(&mut self, tokens: &[u32]) -> Result<Vec<f32>, String> {
        if tokens.is_empty() {
            return Err("no tokens".into());
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= self.cfg.vocab) {
            return Err(format!("token id {bad} is outside the vocabulary"));
        }
        let cfg = self.cfg.clone();
        let pos0 = self.cached.len();
        let n = tokens.len();
        let end = pos0 + n;
        let kv = cfg.kv_heads * cfg.head_dim;
        self.kv.reserve(end);
        let half = cfg.head_dim / 2;
        while self.rope.len() < end * half {
            let p = self.rope.len() / half;
            let i = self.rope.len() % half;
            let freq = cfg.rope_base.powf(-(2.0 * i as f32) / cfg.head_dim as f32);
            let angle = p as f32 * freq;
            self.rope.push((angle.cos(), angle.sin()));
        }
        let threads = self.pool.threads();
        if self.scratch.tokens < n {
            self.scratch = Scratch::new(&cfg, n, threads);
        }
        // Few (token, kv head) pairs to go round the threads (decoding): spread each token's
        // position chunks over them, combining after a barrier. Either way the same bits.
        let group = cfg.heads / cfg.kv_heads;
        let pl = partial_len(cfg.head_dim);
        let max_chunks = attention::chunks(end);
        let split = n * cfg.kv_heads < 4 * threads;
        let parts_len = n * cfg.kv_heads * max_chunks * group * pl;
        if split && self.scratch.parts.len() < parts_len {
            self.scratch.parts.resize(parts_len, 0.0);
        }
        for (t, &id) in tokens.iter().enumerate() {
            self.embed.dequantize_row(
                id as usize,
                &mut self.scratch.x[t * cfg.dim..(t + 1) * cfg.dim],
            );
        }

        let s = &mut self.scratch;
        let x = Shared(s.x.as_mut_ptr());
        let qkv = Shared(s.qkv.as_mut_ptr());
        let attn = Shared(s.attn.as_mut_ptr());
        let h = Shared(s.h.as_mut_ptr());
        let g = Shared(s.g.as_mut_ptr());
        let logits = Shared(s.logits.as_mut_ptr());
        let parts = Shared(s.parts.as_mut_ptr());
        let (aq_raw, hq_raw) = (s.aq.raw(), s.hq.raw());
        let xq_raw: Vec<RawActs> = s.xq.iter_mut().map(|a| a.raw()).collect();
        let xq: Vec<ActsRef> = s.xq.iter().map(|a| ActsRef(a)).collect();
        let (aq, hq) = (ActsRef(&s.aq), ActsRef(&s.hq));
        let caches: Vec<LayerCache> = (0..cfg.layers).map(|l| self.kv.layer(l)).collect();
        let layers = &self.layers;
        let rope = &self.rope;
        let kernel = self.kernel;
        let head = self.output.as_ref().unwrap_or(&self.embed);
        let out_norm = &self.out_norm;

        let job = |tid: usize, barrier: &Barrier| {
            let (my_xq_raw, my_xq) = (xq_raw[tid], xq[tid]);
            // This thread's normed row, reused for every token and layer.
            let mut normed = vec![0f32; cfg.dim];
            // This thread's attention buffers and (unsplit) partials.
            let mut work = Work::new(cfg.head_dim, group);
            let mut local = vec![0f32; if split { 0 } else { max_chunks * group * pl }];
            let (dim, hd, qd) = (cfg.dim, cfg.head_dim, cfg.q_dim());
            let qkv_w = qd + 2 * kv;
            let scale = 1.0 / (hd as f32).sqrt();
            // SAFETY (whole job): every write below goes to a range owned by this thread in the
            // current step (its tokens, rows or heads from `share`), and every read of data
            // written by other threads comes after the barrier that ends their step.
            unsafe {
                for (l, layer) in layers.iter().enumerate() {
                    // 1. Norm and quantise the residual: every thread all tokens, into its own
                    //    buffer (cheaper than a barrier).
                    for t in 0..n {
                        rms_norm(x.read(t * dim, dim), &layer.attn_norm, cfg.eps, &mut normed);
                        my_xq_raw.set_blocks(t, &normed, 0);
                    }
                    // 2. Q, K, V: rows split in whole heads; bias, QK norm and RoPE on this
                    //    thread's query and key heads; its key and value rows into the cache.
                    let rows = share(qkv_w, tid, threads, hd);
                    let store = |t: usize, r: usize, v: f32| qkv.set(t * qkv_w + r, v);
                    match &layer.qkv_bias {
                        Some(b) => matmul_rows(
                            kernel,
                            &layer.qkv,
                            my_xq.get(),
                            n,
                            rows.clone(),
                            |t, r, v| store(t, r, v + b[r]),
                        ),
                        None => {
                            matmul_rows(kernel, &layer.qkv, my_xq.get(), n, rows.clone(), store)
                        }
                    }
                    for t in 0..n {
                        let p = pos0 + t;
                        let cs = &rope[p * hd / 2..(p + 1) * hd / 2];
                        for start in (rows.start..rows.end.min(qd + kv)).step_by(hd) {
                            let head = qkv.slice(t * qkv_w + start, hd);
                            if let Some((qn, kn)) = &layer.qk_norm {
                                let w = if start < qd { qn } else { kn };
                                rms_norm_in_place(head, w, cfg.eps);
                            }
                            rotate(head, cs, cfg.rope);
                        }
                        for (value, lo) in [(false, qd), (true, qd + kv)] {
                            let r = rows.start.max(lo)..rows.end.min(lo + kv);
                            if !r.is_empty() {
                                let x = qkv.read(t * qkv_w + r.start, r.len());
                                caches[l].store(value, p, r.start - lo, x);
                            }
                        }
                    }
                    barrier.wait();
                    // 4. Attention, quantised per head for the output projection.
                    let cache = &caches[l];
                    let (heads, kvh_n) = (cfg.heads, cfg.kv_heads);
                    let gpl = group * pl;
                    if split {
                        // Units (token, kv head, chunk) round-robin; partials to the shared
                        // scratch `[token][kv head][chunk][group][partial]`; then (token, head).
                        let mut unit = 0;
                        for t in 0..n {
                            let len = pos0 + t + 1;
                            for kvh in 0..kvh_n {
                                for c in 0..attention::chunks(len) {
                                    if unit % threads == tid {
                                        let q = qkv.read(t * qkv_w + kvh * group * hd, group * hd);
                                        let base = ((t * kvh_n + kvh) * max_chunks + c) * gpl;
                                        let out = parts.slice(base, gpl);
                                        chunk_partials(
                                            cache, kvh, c, len, q, scale, &mut work, out,
                                        );
                                    }
                                    unit += 1;
                                }
                            }
                        }
                        barrier.wait();
                        for unit in (tid..n * heads).step_by(threads) {
                            let (t, hh) = (unit / heads, unit % heads);
                            let (kvh, g) = (hh / group, hh % group);
                            let nc = attention::chunks(pos0 + t + 1);
                            let base = (t * kvh_n + kvh) * max_chunks * gpl + g * pl;
                            let out = attn.slice(t * qd + hh * hd, hd);
                            combine(parts.read(base, nc * gpl - g * pl), nc, gpl, out);
                            aq_raw.set_blocks(t, out, hh * hd / BLOCK);
                        }
                    } else {
                        // Units (token, kv head) round-robin (later tokens attend to more
                        // positions), each over all its chunks.
                        for unit in (tid..n * kvh_n).step_by(threads) {
                            let (t, kvh) = (unit / kvh_n, unit % kvh_n);
                            let len = pos0 + t + 1;
                            let nc = attention::chunks(len);
                            let q = qkv.read(t * qkv_w + kvh * group * hd, group * hd);
                            for c in 0..nc {
                                let out = &mut local[c * gpl..(c + 1) * gpl];
                                chunk_partials(cache, kvh, c, len, q, scale, &mut work, out);
                            }
                            for g in 0..group {
                                let hh = kvh * group + g;
                                let out = attn.slice(t * qd + hh * hd, hd);
                                combine(&local[g * pl..nc * gpl], nc, gpl, out);
                                aq_raw.set_blocks(t, out, hh * hd / BLOCK);
                            }
                        }
                    }
                    barrier.wait();
                    // 5. Output projection added to the residual: rows split.
                    let rows = share(dim, tid, threads, 16);
                    matmul_rows(kernel, &layer.wo, aq.get(), n, rows, |t, r, v| {
                        x.add(t * dim + r, v)
                    });
                    barrier.wait();
                    // 6. Norm and quantise: every thread all tokens, into its own buffer.
                    for t in 0..n {
                        rms_norm(x.read(t * dim, dim), &layer.ffn_norm, cfg.eps, &mut normed);
                        my_xq_raw.set_blocks(t, &normed, 0);
                    }
                    // 7. Gate and up, SiLU, quantised: rows split in whole blocks.
                    let rows = share(cfg.ff, tid, threads, BLOCK);
                    let ff = cfg.ff;
                    matmul_rows(
                        kernel,
                        &layer.gate,
                        my_xq.get(),
                        n,
                        rows.clone(),
                        |t, r, v| g.set(t * ff + r, v),
                    );
                    matmul_rows(
                        kernel,
                        &layer.up,
                        my_xq.get(),
                        n,
                        rows.clone(),
                        |t, r, v| h.set(t * ff + r, v),
                    );
                    for t in 0..n {
                        let hs = h.slice(t * ff + rows.start, rows.len());
                        let gs = g.read(t * ff + rows.start, rows.len());
                        for (hv, gv) in hs.iter_mut().zip(gs) {
                            *hv *= gv / (1.0 + (-gv).exp());
                        }
                        hq_raw.set_blocks(t, hs, rows.start / BLOCK);
                    }
                    barrier.wait();
                    // 8. Down projection added to the residual: rows split.
                    let rows = share(dim, tid, threads, 16);
                    matmul_rows(kernel, &layer.down, hq.get(), n, rows, |t, r, v| {
                        x.add(t * dim + r, v)
                    });
                    barrier.wait();
                }
                // Logits of the last token: its norm (thread 0), then rows split.
                rms_norm(x.read((n - 1) * dim, dim), out_norm, cfg.eps, &mut normed);
                my_xq_raw.set_blocks(0, &normed, 0);
                let rows = share(cfg.vocab, tid, threads, 64);
                matmul_rows(kernel, head, my_xq.get(), 1, rows, |_, r, v| {
                    logits.set(r, v)
                });
            }
        };
        self.pool
            .run(&job)
            .map_err(|_| "a generator thread failed".to_string())?;
        self.cached.extend_from_slice(tokens);
        Ok(self.scratch.logits.clone())
    }
}

impl LanguageModel for Decoder {
    fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>, ModelError> {
        self.run(tokens).map_err(ModelError::Generation)
    }

    fn cached(&self) -> &[u32] {
        &self.cached
    }

    fn truncate(&mut self, n: usize) {
        self.cached.truncate(n);
    }

    fn describe(&self) -> String {
        format!(
            "own ({}, {} threads)",
            self.kernel.name(),
            self.pool.threads()
        )
    }
}

impl Scratch {
    fn new(cfg: &Config, tokens: usize, threads: usize) -> Self {
        let kv = cfg.kv_heads * cfg.head_dim;
        Scratch {
            tokens,
            x: vec![0.0; tokens * cfg.dim],
            xq: (0..threads).map(|_| QActs::new(tokens, cfg.dim)).collect(),
            qkv: vec![0.0; tokens * (cfg.q_dim() + 2 * kv)],
            attn: vec![0.0; tokens * cfg.q_dim()],
            aq: QActs::new(tokens, cfg.q_dim()),
            hq: QActs::new(tokens, cfg.ff),
            h: vec![0.0; tokens * cfg.ff],
            g: vec![0.0; tokens * cfg.ff],
            logits: vec![0.0; cfg.vocab],
            parts: Vec::new(),
        }
    }
}

/// `x = x / rms(x) * w` in place.
fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
    let ms = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let inv = 1.0 / (ms + eps).sqrt();
    for (v, g) in x.iter_mut().zip(w) {
        *v = *v * inv * g;
    }
}

/// Rotate one head by the `(cos, sin)` of its position.
fn rotate(head: &mut [f32], cs: &[(f32, f32)], style: Rope) {
    match style {
        Rope::Pairs => {
            for (pair, &(c, s)) in head.chunks_exact_mut(2).zip(cs) {
                let (a, b) = (pair[0], pair[1]);
                pair[0] = a * c - b * s;
                pair[1] = a * s + b * c;
            }
        }
        Rope::Halves => {
            let (lo, hi) = head.split_at_mut(head.len() / 2);
            for ((a, b), &(c, s)) in lo.iter_mut().zip(hi.iter_mut()).zip(cs) {
                let (x, y) = (*a, *b);
                *a = x * c - y * s;
                *b = x * s + y * c;
            }
        }
    }
}

/// `out = x / rms(x) * w`.
fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let ms = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let inv = 1.0 / (ms + eps).sqrt();
    for ((o, v), g) in out.iter_mut().zip(x).zip(w) {
        *o = v * inv * g;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::generator::own::quant::QKind;

    /// A tiny random Q8_0 llama (2 layers, 4 query heads and 2 kv heads of 32).
    fn tiny(threads: usize) -> Decoder {
        let mut seed = 11u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        let mut matrix = |rows: usize, cols: usize| {
            let mut data = Vec::new();
            for _ in 0..rows * cols / BLOCK {
                let d = half::f16::from_f32(0.002 + (next() % 100) as f32 * 2e-4);
                data.extend_from_slice(&d.to_bits().to_le_bytes());
                data.extend((0..BLOCK).map(|_| next() as u8));
            }
            QMatrix::from_ggml(QKind::Q8_0, rows, cols, &data).unwrap()
        };
        let cfg = Config {
            layers: 2,
            dim: 128,
            ff: 256,
            heads: 4,
            kv_heads: 2,
            head_dim: 32,
            vocab: 64,
            eps: 1e-5,
            rope_base: 10_000.0,
            rope: Rope::Pairs,
        };
        let layers = (0..cfg.layers)
            .map(|_| Layer {
                attn_norm: vec![1.0; cfg.dim],
                qkv: matrix(cfg.dim + 2 * 64, cfg.dim),
                qkv_bias: None,
                qk_norm: None,
                wo: matrix(cfg.dim, cfg.dim),
                ffn_norm: vec![1.0; cfg.dim],
                gate: matrix(cfg.ff, cfg.dim),
                up: matrix(cfg.ff, cfg.dim),
                down: matrix(cfg.dim, cfg.ff),
            })
            .collect();
        let weights = Weights {
            embed: matrix(cfg.vocab, cfg.dim),
            output: None,
            out_norm: vec![1.0; cfg.dim],
            layers,
        };
        Decoder::new(cfg, weights, threads, Kernel::best()).unwrap()
    }

    #[test]
    fn long_contexts_give_the_same_bits_however_the_work_is_split() {
        // 300 positions: five attention chunks. One forward over all of them (chunks per
        // token on one thread), against a prefix and then one token at a time (each token's
        // chunks spread over the threads), at 1 and 3 threads.
        let tokens: Vec<u32> = (0..300u32).map(|i| (i * 7 + 3) % 64).collect();
        let mut whole = tiny(1);
        let reference = whole.run(&tokens).unwrap();
        assert!(reference.iter().all(|v| v.is_finite()));
        for threads in [1, 3] {
            let mut m = tiny(threads);
            m.run(&tokens[..200]).unwrap();
            let mut last = Vec::new();
            for &t in &tokens[200..] {
                last = m.run(&[t]).unwrap();
            }
            assert_eq!(last, reference, "{threads} threads");
            // Cutting the cache back and recomputing gives the same bits again.
            m.truncate(150);
            assert_eq!(m.run(&tokens[150..]).unwrap(), reference);
        }
    }
}
