//! The decoder forward pass shared by the llama-family architectures, on the own kernels: RMS
//! norms, rotary embeddings (GGUF llama layout), grouped-query attention, a SiLU-gated
//! feed-forward. Each architecture file reads its weights into [`Weights`] and its shape into
//! [`Config`].
//!
//! One forward is one pool job; per layer the threads split the rows of each matrix (so every
//! output value is computed by one thread in a fixed order: the result does not depend on the
//! thread count) and the (token, head) pairs of attention, and meet at barriers in between.
//! The KV cache is f32 and remembers which tokens it holds, so a prompt that starts like the
//! previous one (the same system prompt) only computes its new tokens.

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
}

/// The weights of one transformer block.
pub struct Layer {
    /// RMS norm before attention.
    pub attn_norm: Vec<f32>,
    /// Q, K and V stacked.
    pub qkv: QMatrix,
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
    /// Attention scores, one row per thread.
    scores: Vec<f32>,
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
    /// Per layer: keys and values, `[position][kv_heads * head_dim]`.
    k_cache: Vec<Vec<f32>>,
    v_cache: Vec<Vec<f32>>,
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
        let (dim, kv) = (cfg.dim, cfg.kv_heads * cfg.head_dim);
        for l in &layers {
            let shapes_ok = l.qkv.rows() == dim + 2 * kv
                && l.qkv.cols() == dim
                && l.wo.rows() == dim
                && l.wo.cols() == dim
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
        let scratch = Scratch::new(&cfg, 1, threads.max(1), 0);
        Ok(Decoder {
            embed,
            output,
            out_norm,
            layers,
            kernel,
            pool: Pool::new(threads),
            k_cache: vec![Vec::new(); n_layers],
            v_cache: vec![Vec::new(); n_layers],
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
        for (k, v) in self.k_cache.iter_mut().zip(self.v_cache.iter_mut()) {
            if k.len() < end * kv {
                let cap = (end * kv).next_power_of_two().max(256 * kv);
                k.resize(cap, 0.0);
                v.resize(cap, 0.0);
            }
        }
        let half = cfg.head_dim / 2;
        while self.rope.len() < end * half {
            let p = self.rope.len() / half;
            let i = self.rope.len() % half;
            let freq = cfg.rope_base.powf(-(2.0 * i as f32) / cfg.head_dim as f32);
            let angle = p as f32 * freq;
            self.rope.push((angle.cos(), angle.sin()));
        }
        let threads = self.pool.threads();
        if self.scratch.tokens < n || self.scratch.scores.len() < threads * end {
            self.scratch = Scratch::new(&cfg, n.max(self.scratch.tokens), threads, end);
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
        let scores = Shared(s.scores.as_mut_ptr());
        let scores_len = s.scores.len() / threads;
        let (aq_raw, hq_raw) = (s.aq.raw(), s.hq.raw());
        let xq_raw: Vec<RawActs> = s.xq.iter_mut().map(|a| a.raw()).collect();
        let xq: Vec<ActsRef> = s.xq.iter().map(|a| ActsRef(a)).collect();
        let (aq, hq) = (ActsRef(&s.aq), ActsRef(&s.hq));
        let k_cache: Vec<Shared> = self
            .k_cache
            .iter_mut()
            .map(|c| Shared(c.as_mut_ptr()))
            .collect();
        let v_cache: Vec<Shared> = self
            .v_cache
            .iter_mut()
            .map(|c| Shared(c.as_mut_ptr()))
            .collect();
        let layers = &self.layers;
        let rope = &self.rope;
        let kernel = self.kernel;
        let head = self.output.as_ref().unwrap_or(&self.embed);
        let out_norm = &self.out_norm;

        let job = |tid: usize, barrier: &Barrier| {
            let (my_xq_raw, my_xq) = (xq_raw[tid], xq[tid]);
            // This thread's normed row, reused for every token and layer.
            let mut normed = vec![0f32; cfg.dim];
            let (dim, hd) = (cfg.dim, cfg.head_dim);
            let qkv_w = dim + 2 * kv;
            let group = cfg.heads / cfg.kv_heads;
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
                    // 2. Q, K, V: rows split (in whole heads' pairs); RoPE (neighbouring pairs,
                    //    GGUF llama's layout) on this thread's query and key rows; its key and
                    //    value rows into the cache.
                    let rows = share(qkv_w, tid, threads, 16);
                    matmul_rows(
                        kernel,
                        &layer.qkv,
                        my_xq.get(),
                        n,
                        rows.clone(),
                        |t, r, v| qkv.set(t * qkv_w + r, v),
                    );
                    for t in 0..n {
                        let p = pos0 + t;
                        let cs = &rope[p * hd / 2..(p + 1) * hd / 2];
                        let rot = rows.start..rows.end.min(dim + kv);
                        if !rot.is_empty() {
                            let part = qkv.slice(t * qkv_w + rot.start, rot.len());
                            for (i, pair) in part.chunks_exact_mut(2).enumerate() {
                                let (c, s) = cs[((rot.start + 2 * i) % hd) / 2];
                                let (a, b) = (pair[0], pair[1]);
                                pair[0] = a * c - b * s;
                                pair[1] = a * s + b * c;
                            }
                        }
                        for (cache, lo) in [(&k_cache[l], dim), (&v_cache[l], dim + kv)] {
                            let r = rows.start.max(lo)..rows.end.min(lo + kv);
                            if !r.is_empty() {
                                cache
                                    .slice(p * kv + r.start - lo, r.len())
                                    .copy_from_slice(qkv.read(t * qkv_w + r.start, r.len()));
                            }
                        }
                    }
                    barrier.wait();
                    // 4. Attention: (token, head) pairs dealt round-robin (later tokens attend to more
                    //    positions); each quantises its own output.
                    let sc = scores.slice(tid * scores_len, scores_len);
                    for unit in (tid..n * cfg.heads).step_by(threads) {
                        let (t, hh) = (unit / cfg.heads, unit % cfg.heads);
                        let p = pos0 + t;
                        let q = qkv.read(t * qkv_w + hh * hd, hd);
                        let kvh = hh / group;
                        let keys = k_cache[l].read(0, (p + 1) * kv);
                        let values = v_cache[l].read(0, (p + 1) * kv);
                        let out = attn.slice(t * dim + hh * hd, hd);
                        attend(
                            q,
                            keys,
                            values,
                            kv,
                            kvh * hd,
                            p + 1,
                            scale,
                            &mut sc[..p + 1],
                            out,
                        );
                        aq_raw.set_blocks(t, out, hh * hd / BLOCK);
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
    fn new(cfg: &Config, tokens: usize, threads: usize, positions: usize) -> Self {
        let kv = cfg.kv_heads * cfg.head_dim;
        Scratch {
            tokens,
            x: vec![0.0; tokens * cfg.dim],
            xq: (0..threads).map(|_| QActs::new(tokens, cfg.dim)).collect(),
            qkv: vec![0.0; tokens * (cfg.dim + 2 * kv)],
            attn: vec![0.0; tokens * cfg.dim],
            aq: QActs::new(tokens, cfg.dim),
            hq: QActs::new(tokens, cfg.ff),
            h: vec![0.0; tokens * cfg.ff],
            g: vec![0.0; tokens * cfg.ff],
            logits: vec![0.0; cfg.vocab],
            scores: vec![0.0; threads * positions.next_power_of_two().max(256)],
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

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `e^x` for `x <= 0` (softmax after subtracting the maximum), relative error below 2e-7, in
/// straight-line code the compiler vectorises (libm's `expf` is a call per value).
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    let x = x.max(-87.0);
    // x = n ln 2 + r with |r| <= ln 2 / 2.
    let n = (x * std::f32::consts::LOG2_E).round();
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    // e^r by its Taylor series to r^7/7!.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// Causal attention of one query head over `len` cached positions.
#[allow(clippy::too_many_arguments)]
fn attend(
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    stride: usize,
    offset: usize,
    len: usize,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    let hd = q.len();
    let mut max = f32::NEG_INFINITY;
    for (j, sc) in scores.iter_mut().enumerate().take(len) {
        let k = &keys[j * stride + offset..j * stride + offset + hd];
        *sc = dot(q, k) * scale;
        max = max.max(*sc);
    }
    for sc in scores.iter_mut().take(len) {
        *sc = exp_nonpositive(*sc - max);
    }
    let sum: f32 = scores[..len].iter().sum();
    out.fill(0.0);
    for (j, sc) in scores.iter().enumerate().take(len) {
        let w = sc / sum;
        let v = &values[j * stride + offset..j * stride + offset + hd];
        for (o, vv) in out.iter_mut().zip(v) {
            *o = w.mul_add(*vv, *o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exp_nonpositive;

    #[test]
    fn fast_exp_matches_libm() {
        let mut worst = 0f32;
        for i in 0..=80_000 {
            let x = -(i as f32) * 0.001;
            let (a, b) = (exp_nonpositive(x), x.exp());
            worst = worst.max((a - b).abs() / b.max(f32::MIN_POSITIVE));
        }
        assert!(worst < 1e-6, "relative error {worst}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert!(exp_nonpositive(-1000.0) < 1e-37);
    }
}
