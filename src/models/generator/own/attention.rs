//! Attention over the KV cache for the own forward.
//!
//! The cache holds keys and values in f16 (half the memory and half the bytes read per decoded
//! token of f32), per layer laid out `[kv head][position][head dim]` so that one head's keys are
//! one contiguous run.
//!
//! Causal attention is computed in chunks of [`CHUNK`] positions. Each chunk gives, per query
//! head, a partial result (its largest score, the sum of `exp(score - max)`, and the
//! `exp`-weighted sum of values), and the partials are combined in chunk order. A chunk may run on
//! any thread: decoding one token spreads the chunks of a long context over every thread, and the
//! result is the same bits whichever thread ran which chunk and however many there are.
//!
//! The query heads that share a key/value head (grouped-query attention) are computed together,
//! so each key and value is read once per group.

use half::f16;
use half::slice::HalfFloatSliceExt;

/// Positions per chunk.
pub const CHUNK: usize = 64;

/// Per-layer f16 keys and values, `[kv head][position][head dim]`, room for `cap` positions.
#[derive(Debug, Default)]
pub struct KvCache {
    kv_heads: usize,
    head_dim: usize,
    cap: usize,
    k: Vec<Vec<f16>>,
    v: Vec<Vec<f16>>,
}

impl KvCache {
    /// An empty cache for `layers` layers of `kv_heads` heads of `head_dim`.
    pub fn new(layers: usize, kv_heads: usize, head_dim: usize) -> Self {
        KvCache {
            kv_heads,
            head_dim,
            cap: 0,
            k: vec![Vec::new(); layers],
            v: vec![Vec::new(); layers],
        }
    }

    /// Make room for `positions`, keeping what is stored.
    pub fn reserve(&mut self, positions: usize) {
        if positions <= self.cap {
            return;
        }
        let cap = positions.next_power_of_two().max(256);
        let (old, hd) = (self.cap, self.head_dim);
        for buf in self.k.iter_mut().chain(self.v.iter_mut()) {
            let mut grown = vec![f16::ZERO; self.kv_heads * cap * hd];
            for h in 0..self.kv_heads {
                grown[h * cap * hd..(h * cap + old) * hd]
                    .copy_from_slice(&buf[h * old * hd..(h + 1) * old * hd]);
            }
            *buf = grown;
        }
        self.cap = cap;
    }

    /// Raw access to layer `l` for the threads of one forward.
    pub fn layer(&mut self, l: usize) -> LayerCache {
        LayerCache {
            k: self.k[l].as_mut_ptr(),
            v: self.v[l].as_mut_ptr(),
            cap: self.cap,
            hd: self.head_dim,
        }
    }
}

/// Pointers to one layer's keys and values, shared by the threads of a forward, which write
/// disjoint positions and heads and read only what a barrier has published.
#[derive(Clone, Copy)]
pub struct LayerCache {
    k: *mut f16,
    v: *mut f16,
    cap: usize,
    hd: usize,
}

// SAFETY: only pointers; the forward's barriers order the writes before the reads.
unsafe impl Send for LayerCache {}
unsafe impl Sync for LayerCache {}

impl LayerCache {
    /// Store key (`value == false`) or value values `x` for position `p`, from element `i` of
    /// the row `[kv head][head dim]` on.
    ///
    /// # Safety
    /// `p` below the capacity and `i + x.len()` within a row; no other thread touches these
    /// elements until a barrier.
    pub unsafe fn store(&self, value: bool, p: usize, i: usize, x: &[f32]) {
        let base = if value { self.v } else { self.k };
        for (j, &v) in x.iter().enumerate() {
            let e = i + j;
            let (h, d) = (e / self.hd, e % self.hd);
            *base.add((h * self.cap + p) * self.hd + d) = f16::from_f32(v);
        }
    }

    /// Keys and values of kv head `h` at positions `lo..hi`.
    ///
    /// # Safety
    /// `hi` within the capacity, and no thread writes these positions while they are read.
    unsafe fn rows(&self, h: usize, lo: usize, hi: usize) -> (&[f16], &[f16]) {
        let start = (h * self.cap + lo) * self.hd;
        let len = (hi - lo) * self.hd;
        (
            std::slice::from_raw_parts(self.k.add(start), len),
            std::slice::from_raw_parts(self.v.add(start), len),
        )
    }
}

/// Floats of one partial result: max, sum, then `head_dim` weighted values.
pub fn partial_len(hd: usize) -> usize {
    hd + 2
}

/// Chunks covering `positions`.
pub fn chunks(positions: usize) -> usize {
    positions.div_ceil(CHUNK)
}

/// Per-thread buffers for [`chunk_partials`].
pub struct Work {
    keys: Vec<f32>,
    values: Vec<f32>,
    scores: Vec<f32>,
}

impl Work {
    /// Buffers for heads of `hd` in groups of `group`.
    pub fn new(hd: usize, group: usize) -> Self {
        Work {
            keys: vec![0.0; CHUNK * hd],
            values: vec![0.0; CHUNK * hd],
            scores: vec![0.0; CHUNK * group],
        }
    }
}

/// The partial results of the `group` query heads in `q` (`group * hd` values, one head after
/// the other) over chunk `c` of kv head `h`'s positions below `len`, into `out`
/// (`group * partial_len(hd)`).
///
/// # Safety
/// As for [`LayerCache::rows`] for positions below `len`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn chunk_partials(
    cache: &LayerCache,
    h: usize,
    c: usize,
    len: usize,
    q: &[f32],
    scale: f32,
    work: &mut Work,
    out: &mut [f32],
) {
    let hd = cache.hd;
    let group = q.len() / hd;
    let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(len));
    let m = hi - lo;
    let (k16, v16) = cache.rows(h, lo, hi);
    let keys = &mut work.keys[..m * hd];
    k16.convert_to_f32_slice(keys);
    for (g, qg) in q.chunks_exact(hd).enumerate() {
        let scores = &mut work.scores[g * CHUNK..g * CHUNK + m];
        for (s, k) in scores.iter_mut().zip(keys.chunks_exact(hd)) {
            *s = dot(qg, k) * scale;
        }
    }
    let values = &mut work.values[..m * hd];
    v16.convert_to_f32_slice(values);
    let pl = partial_len(hd);
    for g in 0..group {
        let scores = &mut work.scores[g * CHUNK..g * CHUNK + m];
        let max = scores.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        for s in scores.iter_mut() {
            *s = exp_nonpositive(*s - max);
        }
        let sum: f32 = scores.iter().sum();
        let o = &mut out[g * pl..(g + 1) * pl];
        o[0] = max;
        o[1] = sum;
        let acc = &mut o[2..];
        acc.fill(0.0);
        for (w, v) in scores.iter().zip(values.chunks_exact(hd)) {
            for (a, x) in acc.iter_mut().zip(v) {
                *a = w.mul_add(*x, *a);
            }
        }
    }
}

/// Combine the partials of one query head (`partials`: its chunks' `partial_len(hd)` runs, in
/// chunk order, `stride` floats apart) into its attention output `out`.
pub fn combine(partials: &[f32], chunks: usize, stride: usize, out: &mut [f32]) {
    let max = (0..chunks).fold(f32::NEG_INFINITY, |a, c| a.max(partials[c * stride]));
    let mut sum = 0f32;
    out.fill(0.0);
    for c in 0..chunks {
        let p = &partials[c * stride..];
        let w = exp_nonpositive(p[0] - max);
        sum += w * p[1];
        for (o, a) in out.iter_mut().zip(&p[2..]) {
            *o = w.mul_add(*a, *o);
        }
    }
    let inv = 1.0 / sum;
    out.iter_mut().for_each(|o| *o *= inv);
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
            acc[i] = x[i].mul_add(y[i], acc[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `e^x` for `x <= 0` (softmax after subtracting the maximum), relative error below 2e-7, in
/// straight-line code the compiler vectorises (libm's `expf` is a call per value).
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn det(i: usize) -> f32 {
        ((i as f32 * 0.618_034).fract() - 0.5) * 2.0
    }

    #[test]
    fn chunked_attention_matches_plain_softmax() {
        let (kv_heads, hd, group, len) = (2, 64, 3, 3 * CHUNK + 17);
        let mut cache = KvCache::new(1, kv_heads, hd);
        cache.reserve(10);
        let early = cache.layer(0);
        let row: Vec<f32> = (0..kv_heads * hd).map(|i| det(i + 5)).collect();
        // SAFETY: single-threaded; positions within the capacity.
        unsafe { early.store(false, 0, 0, &row) };
        cache.reserve(len); // grows and keeps position 0
        let lc = cache.layer(0);
        let mut keys = vec![vec![0f32; kv_heads * hd]; len];
        let mut vals = vec![vec![0f32; kv_heads * hd]; len];
        for p in 0..len {
            for e in 0..kv_heads * hd {
                keys[p][e] = if p == 0 { row[e] } else { det(p * 1000 + e) };
                vals[p][e] = det(p * 7777 + e + 3);
            }
            // SAFETY: as above.
            unsafe {
                if p > 0 {
                    lc.store(false, p, 0, &keys[p]);
                }
                lc.store(true, p, 0, &vals[p]);
            }
        }
        let round = |x: f32| f16::from_f32(x).to_f32();
        let q: Vec<f32> = (0..group * hd).map(|i| det(i + 99) * 2.0).collect();
        let scale = 0.125;
        let pl = partial_len(hd);
        let n_chunks = chunks(len);
        let mut work = Work::new(hd, group);
        for h in 0..kv_heads {
            let mut parts = vec![0f32; n_chunks * group * pl];
            for c in 0..n_chunks {
                // SAFETY: as above.
                unsafe {
                    chunk_partials(
                        &lc,
                        h,
                        c,
                        len,
                        &q,
                        scale,
                        &mut work,
                        &mut parts[c * group * pl..(c + 1) * group * pl],
                    )
                };
            }
            for g in 0..group {
                let mut out = vec![0f32; hd];
                combine(&parts[g * pl..], n_chunks, group * pl, &mut out);
                // Reference: softmax over every position in f64 on the f16-rounded cache.
                let qg = &q[g * hd..(g + 1) * hd];
                let s: Vec<f64> = (0..len)
                    .map(|p| {
                        (0..hd)
                            .map(|d| qg[d] as f64 * round(keys[p][h * hd + d]) as f64)
                            .sum::<f64>()
                            * scale as f64
                    })
                    .collect();
                let m = s.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for d in 0..hd {
                    let want: f64 = (0..len)
                        .map(|p| e[p] / z * round(vals[p][h * hd + d]) as f64)
                        .sum();
                    assert!((out[d] as f64 - want).abs() < 1e-5, "{} vs {want}", out[d]);
                }
            }
        }
    }
}
