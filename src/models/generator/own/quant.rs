//! Quantised weight matrices and the dot-product kernels of the own forward.
//!
//! Weights keep the values of the GGUF file exactly (Q4_1 and Q8_0 blocks of 32) but are laid out
//! for SIMD: per row, the 4-bit values of two neighbouring blocks share one 32-byte run (block
//! `2p` in the low nibbles, block `2p + 1` in the high ones), Q8_0 values are stored offset to
//! unsigned bytes, and the block scales live in their own f16 arrays, unpadded (the kernel reads
//! them in groups of 16).
//! Activations are quantised per block of 32 to signed bytes with an f32 scale (like llama.cpp's
//! Q8_1), so a row dot product is, per block, `d_w * d_a * Σ q_w q_a + m_w * (d_a * Σ q_a)`:
//! - Q4_1: `w = d * q + m` with `q` in 0..=15;
//! - Q8_0 stored as `u = q + 128`: `w = d * q = d * u - 128 d`, so `m = -128 d`.
//!
//! Kernels: AVX-512 VNNI (`vpdpbusd`, 64 weights per step), AVX2 (`vpmaddubsw`, 32 per step) and
//! a portable one; the fastest the CPU has is chosen at run time. All three add the same integer
//! products per block, so they differ only in float rounding of the per-block sums.

use half::f16;

/// Values per quantisation block.
pub const BLOCK: usize = 32;
/// Blocks per scale group (one 512-bit vector of f32 scales).
const GROUP: usize = 16;

/// The block formats the own forward computes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QKind {
    /// 4-bit values with a scale and a minimum per block.
    Q4_1,
    /// 8-bit values with a scale per block.
    Q8_0,
}

/// A quantised matrix, one row per output.
#[derive(Debug, Clone)]
pub struct QMatrix {
    kind: QKind,
    rows: usize,
    cols: usize,
    /// Blocks per row.
    nb: usize,
    /// `nb` rounded up to a whole number of scale groups (the kernel's loop count).
    nb_pad: usize,
    /// Bytes of values per row.
    row_bytes: usize,
    qs: Vec<u8>,
    d: Vec<u16>,
    /// Q4_1 minimums (empty for Q8_0).
    m: Vec<u16>,
}

/// Why a tensor cannot be laid out for the own kernels.
#[derive(Debug)]
pub struct Unsupported(pub String);

impl QMatrix {
    /// Lay out `rows` x `cols` weights given as GGUF blocks (`Q4_1`: d f16, m f16, 16 bytes;
    /// `Q8_0`: d f16, 32 signed bytes). `cols` must be a multiple of 64.
    pub fn from_ggml(
        kind: QKind,
        rows: usize,
        cols: usize,
        data: &[u8],
    ) -> Result<Self, Unsupported> {
        if !cols.is_multiple_of(2 * BLOCK) {
            return Err(Unsupported(format!(
                "{cols} columns is not a multiple of 64"
            )));
        }
        let nb = cols / BLOCK;
        let block_bytes = match kind {
            QKind::Q4_1 => 20,
            QKind::Q8_0 => 34,
        };
        if data.len() != rows * nb * block_bytes {
            return Err(Unsupported(format!(
                "{} bytes for {rows}x{cols} {kind:?}",
                data.len()
            )));
        }
        let nb_pad = nb.div_ceil(GROUP) * GROUP;
        let row_bytes = match kind {
            QKind::Q4_1 => nb * 16,
            QKind::Q8_0 => nb * 32,
        };
        let mut qs = vec![0u8; rows * row_bytes];
        // Scales are stored unpadded (row `r` at `r * nb`); the kernel reads whole groups of 16,
        // so a row's last group runs into the next row's scales (multiplied by the zero padding
        // of the activations) and the arrays end with one group of slack.
        let mut d = vec![0u16; rows * nb + GROUP];
        let mut m = match kind {
            QKind::Q4_1 => vec![0u16; rows * nb + GROUP],
            QKind::Q8_0 => Vec::new(),
        };
        let half = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
        for r in 0..rows {
            let src = &data[r * nb * block_bytes..(r + 1) * nb * block_bytes];
            let dst = &mut qs[r * row_bytes..(r + 1) * row_bytes];
            for b in 0..nb {
                let blk = &src[b * block_bytes..(b + 1) * block_bytes];
                d[r * nb + b] = half(&blk[0..2]);
                match kind {
                    QKind::Q4_1 => {
                        m[r * nb + b] = half(&blk[2..4]);
                        let vals = &blk[4..20];
                        // GGUF: byte j holds value j (low nibble) and value j + 16 (high).
                        let (pair, shift) = (b / 2, 4 * (b % 2));
                        for j in 0..16 {
                            dst[pair * 32 + j] |= (vals[j] & 0x0F) << shift;
                            dst[pair * 32 + j + 16] |= (vals[j] >> 4) << shift;
                        }
                    }
                    QKind::Q8_0 => {
                        for j in 0..32 {
                            dst[b * 32 + j] = blk[2 + j] ^ 0x80;
                        }
                    }
                }
            }
        }
        Ok(QMatrix {
            kind,
            rows,
            cols,
            nb,
            nb_pad,
            row_bytes,
            qs,
            d,
            m,
        })
    }

    /// Stack matrices with the same format and width (e.g. Q, K and V) into one.
    pub fn stack(parts: &[QMatrix]) -> Result<Self, Unsupported> {
        let first = parts
            .first()
            .ok_or_else(|| Unsupported("nothing to stack".into()))?;
        if parts
            .iter()
            .any(|p| p.kind != first.kind || p.cols != first.cols)
        {
            return Err(Unsupported(
                "stacked matrices differ in format or width".into(),
            ));
        }
        let mut out = QMatrix {
            rows: parts.iter().map(|p| p.rows).sum(),
            qs: Vec::new(),
            d: Vec::new(),
            m: Vec::new(),
            ..first.clone()
        };
        for p in parts {
            out.qs.extend_from_slice(&p.qs);
            out.d.extend_from_slice(&p.d[..p.rows * p.nb]);
            if !p.m.is_empty() {
                out.m.extend_from_slice(&p.m[..p.rows * p.nb]);
            }
        }
        out.d.resize(out.d.len() + GROUP, 0);
        if !out.m.is_empty() {
            out.m.resize(out.m.len() + GROUP, 0);
        }
        Ok(out)
    }

    /// Output rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Ask the CPU to start loading row `r` into cache.
    #[inline(always)]
    fn prefetch(&self, r: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let qs = self.qs[r * self.row_bytes..(r + 1) * self.row_bytes].as_ptr();
            for off in (0..self.row_bytes).step_by(64) {
                // SAFETY: prefetching is a hint and never faults; the address is in the row.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(qs.add(off) as *const i8) };
            }
            let scales = [&self.d, &self.m];
            for v in scales.into_iter().filter(|v| !v.is_empty()) {
                let p = v[r * self.nb..(r + 1) * self.nb].as_ptr();
                for off in (0..self.nb).step_by(32) {
                    // SAFETY: as above.
                    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.add(off) as *const i8) };
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = r;
    }

    /// Row `r` as f32 (the embedding lookup).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        for (b, chunk) in out[..self.cols].chunks_exact_mut(BLOCK).enumerate() {
            let d = f16::from_bits(self.d[r * self.nb + b]).to_f32();
            let m = self.min(r, b, d);
            for (j, o) in chunk.iter_mut().enumerate() {
                *o = d * self.value(r, b, j) as f32 + m;
            }
        }
    }

    fn min(&self, r: usize, b: usize, d: f32) -> f32 {
        match self.kind {
            QKind::Q4_1 => f16::from_bits(self.m[r * self.nb + b]).to_f32(),
            QKind::Q8_0 => -128.0 * d,
        }
    }

    /// The unsigned stored value `j` of block `b` in row `r`.
    fn value(&self, r: usize, b: usize, j: usize) -> u8 {
        let row = &self.qs[r * self.row_bytes..];
        match self.kind {
            QKind::Q4_1 => (row[(b / 2) * 32 + j] >> (4 * (b % 2))) & 0x0F,
            QKind::Q8_0 => row[b * 32 + j],
        }
    }
}

/// Activations of several tokens quantised per block of 32 for the kernels.
#[derive(Debug, Clone, Default)]
pub struct QActs {
    cols: usize,
    nb_pad: usize,
    q: Vec<i8>,
    /// Scale per block.
    d: Vec<f32>,
    /// `d * Σ q` per block.
    s: Vec<f32>,
}

impl QActs {
    /// Room for `tokens` rows of `cols` values.
    pub fn new(tokens: usize, cols: usize) -> Self {
        let nb_pad = (cols / BLOCK).div_ceil(GROUP) * GROUP;
        QActs {
            cols,
            nb_pad,
            q: vec![0; tokens * cols],
            d: vec![0.0; tokens * nb_pad],
            s: vec![0.0; tokens * nb_pad],
        }
    }

    /// Tokens there is room for.
    pub fn tokens(&self) -> usize {
        self.q.len() / self.cols.max(1)
    }

    /// Quantise the whole row `t` from `x`.
    #[cfg(test)]
    pub fn set(&mut self, t: usize, x: &[f32]) {
        let (q, d, s) = self.row_parts(t);
        quantize_blocks(x, q, d, s);
    }

    #[cfg(test)]
    fn row_parts(&mut self, t: usize) -> (&mut [i8], &mut [f32], &mut [f32]) {
        let (c, n) = (self.cols, self.nb_pad);
        (
            &mut self.q[t * c..(t + 1) * c],
            &mut self.d[t * n..(t + 1) * n],
            &mut self.s[t * n..(t + 1) * n],
        )
    }

    /// Raw parts for writers on several threads.
    pub fn raw(&mut self) -> RawActs {
        RawActs {
            cols: self.cols,
            nb_pad: self.nb_pad,
            q: self.q.as_mut_ptr(),
            d: self.d.as_mut_ptr(),
            s: self.s.as_mut_ptr(),
        }
    }
}

/// Pointers into a [`QActs`] so that threads can quantise disjoint blocks of it at once.
#[derive(Clone, Copy)]
pub struct RawActs {
    cols: usize,
    nb_pad: usize,
    q: *mut i8,
    d: *mut f32,
    s: *mut f32,
}

// SAFETY: a RawActs is only a set of pointers; the users guarantee disjoint writes and that no
// one reads the blocks being written until a barrier.
unsafe impl Send for RawActs {}
unsafe impl Sync for RawActs {}

impl RawActs {
    /// Quantise `x` (whole blocks) into token `t` from block `first` on.
    ///
    /// # Safety
    /// No other thread may touch the same blocks of the same token until the writers meet at a
    /// barrier; `t` must be within the activations' tokens and the blocks within its columns.
    pub unsafe fn set_blocks(&self, t: usize, x: &[f32], first: usize) {
        let nb = x.len() / BLOCK;
        assert!(first + nb <= self.cols / BLOCK, "blocks out of range");
        let q =
            std::slice::from_raw_parts_mut(self.q.add(t * self.cols + first * BLOCK), nb * BLOCK);
        let d = std::slice::from_raw_parts_mut(self.d.add(t * self.nb_pad + first), nb);
        let s = std::slice::from_raw_parts_mut(self.s.add(t * self.nb_pad + first), nb);
        quantize_blocks(x, q, d, s);
    }
}

/// Quantise the whole blocks of `x` into `q` (values), `d` (scales) and `s` (scaled sums).
fn quantize_blocks(x: &[f32], q: &mut [i8], d: &mut [f32], s: &mut [f32]) {
    for b in 0..x.len() / BLOCK {
        let xs = &x[b * BLOCK..(b + 1) * BLOCK];
        let amax = xs.iter().fold(0f32, |a, v| a.max(v.abs()));
        let scale = amax / 127.0;
        let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        let mut sum = 0i32;
        for (o, v) in q[b * BLOCK..(b + 1) * BLOCK].iter_mut().zip(xs) {
            let v = (v * inv).round() as i32;
            *o = v as i8;
            sum += v;
        }
        d[b] = scale;
        s[b] = scale * sum as f32;
    }
}

/// Which SIMD dot-product kernels the own generator forward runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// AVX-512 with VNNI.
    Avx512Vnni,
    /// AVX2 with FMA and F16C.
    Avx2,
    /// Plain Rust.
    Portable,
}

impl Kernel {
    /// Whether this CPU can run `self`.
    pub fn supported(self) -> bool {
        match self {
            Kernel::Portable => true,
            Kernel::Avx2 => Self::best() != Kernel::Portable,
            Kernel::Avx512Vnni => Self::best() == Kernel::Avx512Vnni,
        }
    }

    /// The fastest kernel this CPU supports.
    pub fn best() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vnni")
                && is_x86_feature_detected!("f16c")
                && is_x86_feature_detected!("fma")
            {
                return Kernel::Avx512Vnni;
            }
            if is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
            {
                return Kernel::Avx2;
            }
        }
        Kernel::Portable
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512Vnni => "avx512-vnni",
            Kernel::Avx2 => "avx2",
            Kernel::Portable => "portable",
        }
    }
}

impl std::str::FromStr for Kernel {
    type Err = String;

    /// The names of [`Kernel::name`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Kernel::Avx512Vnni, Kernel::Avx2, Kernel::Portable]
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown kernel '{s}' (avx512-vnni, avx2, portable)"))
    }
}

/// Rows ahead whose weights are prefetched while a row is computed (one token at a time the
/// kernel waits on memory; the hardware prefetcher alone does not run far enough ahead).
const PREFETCH_ROWS: usize = 4;

/// Calls `sink(t, r, W[r] · acts[t])` for every row in `rows` and token `t` in `0..n`.
pub fn matmul_rows(
    kernel: Kernel,
    w: &QMatrix,
    acts: &QActs,
    n: usize,
    rows: std::ops::Range<usize>,
    mut sink: impl FnMut(usize, usize, f32),
) {
    assert_eq!(acts.cols, w.cols, "activation width");
    assert!(n <= acts.tokens(), "token range");
    assert!(rows.end <= w.rows, "row range");
    let mut t = 0;
    while t < n {
        let tile = if n - t >= 8 {
            8
        } else if n - t >= 4 {
            4
        } else {
            1
        };
        for r in rows.clone() {
            if tile == 1 && r + PREFETCH_ROWS < rows.end {
                w.prefetch(r + PREFETCH_ROWS);
            }
            let mut res = [0f32; 8];
            match tile {
                8 => rows_dot::<8>(kernel, w, acts, t, r, &mut res),
                4 => rows_dot::<4>(kernel, w, acts, t, r, &mut res),
                _ => rows_dot::<1>(kernel, w, acts, t, r, &mut res),
            }
            for (k, v) in res[..tile].iter().enumerate() {
                sink(t + k, r, *v);
            }
        }
        t += tile;
    }
}

#[inline(always)]
fn rows_dot<const T: usize>(
    kernel: Kernel,
    w: &QMatrix,
    a: &QActs,
    token0: usize,
    r: usize,
    res: &mut [f32; 8],
) {
    match kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Decoder::new` takes a kernel only when `Kernel::supported` says the CPU has
        // its features (and the tests check the same before calling).
        Kernel::Avx512Vnni => unsafe {
            match w.kind {
                QKind::Q4_1 => x86::dot_vnni::<T, true>(w, a, token0, r, res),
                QKind::Q8_0 => x86::dot_vnni::<T, false>(w, a, token0, r, res),
            }
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Kernel::Avx2 => unsafe {
            match w.kind {
                QKind::Q4_1 => x86::dot_avx2::<T, true>(w, a, token0, r, res),
                QKind::Q8_0 => x86::dot_avx2::<T, false>(w, a, token0, r, res),
            }
        },
        _ => {
            for (t, o) in res.iter_mut().enumerate().take(T) {
                *o = dot_portable(w, a, token0 + t, r);
            }
        }
    }
}

/// The reference dot product: integer sums per block, then the scales.
fn dot_portable(w: &QMatrix, a: &QActs, t: usize, r: usize) -> f32 {
    let mut main = 0f32;
    let mut mins = 0f32;
    let aq = &a.q[t * a.cols..(t + 1) * a.cols];
    for b in 0..w.nb {
        let mut sum = 0i32;
        for j in 0..BLOCK {
            sum += w.value(r, b, j) as i32 * aq[b * BLOCK + j] as i32;
        }
        let dw = f16::from_bits(w.d[r * w.nb + b]).to_f32();
        main += dw * a.d[t * a.nb_pad + b] * sum as f32;
        mins += w.min(r, b, dw) * a.s[t * a.nb_pad + b];
    }
    main + mins
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{QActs, QMatrix, BLOCK, GROUP};
    use std::arch::x86_64::*;

    /// Lane pattern selecting scale `2p` for lanes 0..8 and `2p + 1` for lanes 8..16.
    #[inline(always)]
    unsafe fn pair_index(p: usize) -> __m512i {
        let lo = _mm256_set1_epi32(2 * p as i32);
        let hi = _mm256_set1_epi32(2 * p as i32 + 1);
        _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1)
    }

    /// AVX-512 VNNI: 64 weights (two blocks) per step, up to 8 tokens sharing each weight load.
    ///
    /// # Safety
    /// The CPU must have avx512f/bw/vl/vnni, f16c and fma; `r` must be a row of `w` and
    /// `token0 + T` within `a`'s tokens (checked by `matmul_rows`).
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    pub unsafe fn dot_vnni<const T: usize, const Q4: bool>(
        w: &QMatrix,
        a: &QActs,
        token0: usize,
        r: usize,
        res: &mut [f32; 8],
    ) {
        let qs = w.qs.as_ptr().add(r * w.row_bytes);
        let dw_ptr = w.d.as_ptr().add(r * w.nb);
        let mw_ptr = if Q4 {
            w.m.as_ptr().add(r * w.nb)
        } else {
            dw_ptr
        };
        let mut acc = [_mm512_setzero_ps(); T];
        let mut accm = [_mm512_setzero_ps(); T];
        let mask = _mm256_set1_epi8(0x0F);
        let pairs = w.nb / 2;
        let mut pair = 0;
        for g in 0..w.nb_pad / GROUP {
            let dw = _mm512_cvtph_ps(_mm256_loadu_si256(dw_ptr.add(g * GROUP) as *const __m256i));
            let mw = if Q4 {
                _mm512_cvtph_ps(_mm256_loadu_si256(mw_ptr.add(g * GROUP) as *const __m256i))
            } else {
                _mm512_mul_ps(dw, _mm512_set1_ps(-128.0))
            };
            let mut dd = [_mm512_setzero_ps(); T];
            for t in 0..T {
                let tok = token0 + t;
                let ad = _mm512_loadu_ps(a.d.as_ptr().add(tok * a.nb_pad + g * GROUP));
                let as_ = _mm512_loadu_ps(a.s.as_ptr().add(tok * a.nb_pad + g * GROUP));
                dd[t] = _mm512_mul_ps(dw, ad);
                accm[t] = _mm512_fmadd_ps(mw, as_, accm[t]);
            }
            let end = (pair + GROUP / 2).min(pairs);
            let mut p = 0;
            while pair < end {
                let wv = if Q4 {
                    let x = _mm256_loadu_si256(qs.add(pair * 32) as *const __m256i);
                    let lo = _mm256_and_si256(x, mask);
                    let hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), mask);
                    _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1)
                } else {
                    _mm512_loadu_si512(qs.add(pair * 64) as *const _)
                };
                let idx = pair_index(p);
                for t in 0..T {
                    let tok = token0 + t;
                    let av = _mm512_loadu_si512(
                        a.q.as_ptr().add(tok * a.cols + pair * 2 * BLOCK) as *const _
                    );
                    let dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, av);
                    let scale = _mm512_permutexvar_ps(idx, dd[t]);
                    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[t]);
                }
                pair += 1;
                p += 1;
            }
        }
        for t in 0..T {
            res[t] = _mm512_reduce_add_ps(_mm512_add_ps(acc[t], accm[t]));
        }
    }

    #[inline(always)]
    unsafe fn hsum256(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// AVX2: one block (32 weights) per step.
    ///
    /// # Safety
    /// The CPU must have avx2, fma and f16c; bounds as for [`dot_vnni`].
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_avx2<const T: usize, const Q4: bool>(
        w: &QMatrix,
        a: &QActs,
        token0: usize,
        r: usize,
        res: &mut [f32; 8],
    ) {
        let qs = w.qs.as_ptr().add(r * w.row_bytes);
        let dw_ptr = w.d.as_ptr().add(r * w.nb);
        let mut acc = [_mm256_setzero_ps(); T];
        let mut mins = [0f32; T];
        let mask = _mm256_set1_epi8(0x0F);
        let ones = _mm256_set1_epi16(1);
        for b in 0..w.nb {
            let dw = half::f16::from_bits(*dw_ptr.add(b)).to_f32();
            let mw = if Q4 {
                half::f16::from_bits(w.m[r * w.nb + b]).to_f32()
            } else {
                -128.0 * dw
            };
            // Q4_1 values as unsigned bytes; Q8_0 back to signed bytes (the sign trick below
            // keeps vpmaddubsw from saturating).
            let wv = if Q4 {
                let x = _mm256_loadu_si256(qs.add((b / 2) * 32) as *const __m256i);
                if b % 2 == 0 {
                    _mm256_and_si256(x, mask)
                } else {
                    _mm256_and_si256(_mm256_srli_epi16(x, 4), mask)
                }
            } else {
                let x = _mm256_loadu_si256(qs.add(b * 32) as *const __m256i);
                _mm256_xor_si256(x, _mm256_set1_epi8(-128))
            };
            for t in 0..T {
                let tok = token0 + t;
                let av = _mm256_loadu_si256(
                    a.q.as_ptr().add(tok * a.cols + b * BLOCK) as *const __m256i
                );
                let prod = if Q4 {
                    _mm256_maddubs_epi16(wv, av)
                } else {
                    _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(av, wv))
                };
                let sum = _mm256_madd_epi16(prod, ones);
                let ad = *a.d.get_unchecked(tok * a.nb_pad + b);
                let scale = _mm256_set1_ps(dw * ad);
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), scale, acc[t]);
                if Q4 {
                    mins[t] += mw * *a.s.get_unchecked(tok * a.nb_pad + b);
                }
            }
        }
        for t in 0..T {
            res[t] = hsum256(acc[t]) + mins[t];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random stream for test data.
    fn lcg(seed: &mut u64) -> u32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) as u32
    }

    fn ggml_blocks(kind: QKind, rows: usize, cols: usize, seed: &mut u64) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..rows * cols / BLOCK {
            let d = f16::from_f32(0.001 + (lcg(seed) % 1000) as f32 * 1e-5);
            out.extend_from_slice(&d.to_bits().to_le_bytes());
            match kind {
                QKind::Q4_1 => {
                    let m = f16::from_f32(-((lcg(seed) % 100) as f32) * 1e-3);
                    out.extend_from_slice(&m.to_bits().to_le_bytes());
                    out.extend((0..16).map(|_| lcg(seed) as u8));
                }
                QKind::Q8_0 => out.extend((0..32).map(|_| lcg(seed) as u8)),
            }
        }
        out
    }

    /// The f32 value of weight `(r, c)` straight from the GGUF blocks.
    fn ggml_value(kind: QKind, data: &[u8], cols: usize, r: usize, c: usize) -> f32 {
        let nb = cols / BLOCK;
        let (b, j) = (c / BLOCK, c % BLOCK);
        let bb = if kind == QKind::Q4_1 { 20 } else { 34 };
        let blk = &data[(r * nb + b) * bb..(r * nb + b + 1) * bb];
        let d = f16::from_bits(u16::from_le_bytes([blk[0], blk[1]])).to_f32();
        match kind {
            QKind::Q4_1 => {
                let m = f16::from_bits(u16::from_le_bytes([blk[2], blk[3]])).to_f32();
                let q = if j < 16 {
                    blk[4 + j] & 0x0F
                } else {
                    blk[4 + j - 16] >> 4
                };
                d * q as f32 + m
            }
            QKind::Q8_0 => d * (blk[2 + j] as i8) as f32,
        }
    }

    fn check(kind: QKind, kernel: Kernel) {
        let (rows, cols, tokens) = (13, 576, 11);
        let mut seed = 7;
        let data = ggml_blocks(kind, rows, cols, &mut seed);
        let w = QMatrix::from_ggml(kind, rows, cols, &data).unwrap();
        let xs: Vec<Vec<f32>> = (0..tokens)
            .map(|_| {
                (0..cols)
                    .map(|_| (lcg(&mut seed) % 2001) as f32 / 1000.0 - 1.0)
                    .collect()
            })
            .collect();
        let mut acts = QActs::new(tokens, cols);
        for (t, x) in xs.iter().enumerate() {
            acts.set(t, x);
        }
        let mut out = vec![0f32; tokens * rows];
        matmul_rows(kernel, &w, &acts, tokens, 0..rows, |t, r, v| {
            out[t * rows + r] = v
        });
        let mut row = vec![0f32; cols];
        for r in 0..rows {
            w.dequantize_row(r, &mut row);
            for (c, v) in row.iter().enumerate() {
                assert_eq!(*v, ggml_value(kind, &data, cols, r, c), "layout r{r} c{c}");
            }
            for (t, x) in xs.iter().enumerate() {
                let exact: f32 = row.iter().zip(x).map(|(a, b)| a * b).sum();
                let reference = dot_portable(&w, &acts, t, r);
                let got = out[t * rows + r];
                // The kernel adds the same integer sums as the portable path.
                assert!(
                    (got - reference).abs() <= 1e-4 * (1.0 + reference.abs()),
                    "{kernel:?} {got} vs {reference}"
                );
                // Activation quantisation costs little against the exact f32 product.
                let norm: f32 = row.iter().map(|v| v.abs()).sum::<f32>() / 127.0;
                assert!(
                    (got - exact).abs() <= norm + 1e-3,
                    "{kernel:?} {got} vs exact {exact}"
                );
            }
        }
    }

    #[test]
    fn kernels_match_the_file_values() {
        for kind in [QKind::Q4_1, QKind::Q8_0] {
            check(kind, Kernel::Portable);
            let best = Kernel::best();
            if best != Kernel::Portable {
                check(kind, Kernel::Avx2);
            }
            if best == Kernel::Avx512Vnni {
                check(kind, Kernel::Avx512Vnni);
            }
        }
    }

    #[test]
    fn stacking_keeps_rows() {
        let mut seed = 3;
        let a = ggml_blocks(QKind::Q4_1, 2, 128, &mut seed);
        let b = ggml_blocks(QKind::Q4_1, 3, 128, &mut seed);
        let (ma, mb) = (
            QMatrix::from_ggml(QKind::Q4_1, 2, 128, &a).unwrap(),
            QMatrix::from_ggml(QKind::Q4_1, 3, 128, &b).unwrap(),
        );
        let s = QMatrix::stack(&[ma.clone(), mb.clone()]).unwrap();
        let (mut x, mut y) = (vec![0f32; 128], vec![0f32; 128]);
        s.dequantize_row(3, &mut x);
        mb.dequantize_row(1, &mut y);
        assert_eq!(x, y);
        assert!(QMatrix::from_ggml(QKind::Q4_1, 1, 96, &a[..60]).is_err());
    }
}
