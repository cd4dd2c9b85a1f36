//! CPU kernels for the encoder's own BERT forward (`bert_own`): dense layers (`y = x·Wᵀ + b`) in
//! f32 (the `gemm` crate, any CPU) or in bf16 with f32 accumulation (AVX-512 BF16 `vdpbf16ps`,
//! chosen at run time), and the element-wise pieces (exp, erf GELU, layer norm, softmax) written so
//! the compiler vectorises them.
//!
//! Every output element is computed by one thread in a fixed order, so results do not depend on
//! the thread count or on scheduling: the same input gives the same bits.

use rayon::prelude::*;

/// How the dense layers compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32 weights and activations (the reference; any CPU).
    F32,
    /// Weights and dense-layer inputs rounded to bf16, products accumulated in f32
    /// (AVX-512 BF16 CPUs only). Attention, layer norm, GELU and pooling stay f32.
    Bf16,
}

impl Precision {
    /// Whether this CPU can run `self`.
    pub fn supported(self) -> bool {
        match self {
            Precision::F32 => true,
            Precision::Bf16 => bf16_supported(),
        }
    }

    /// The fastest precision this CPU runs.
    pub fn best() -> Self {
        if bf16_supported() {
            Precision::Bf16
        } else {
            Precision::F32
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        })
    }
}

/// Whether the CPU has AVX-512 BF16 (`vdpbf16ps`).
pub fn bf16_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// f32 to bf16 bits, rounding to nearest even (what `vcvtneps2bf16` does for finite inputs).
#[inline(always)]
pub fn bf16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// bf16 bits back to f32 (exact).
#[cfg(test)]
fn bf16_to_f32(b: u16) -> f32 {
    f32::from_bits((b as u32) << 16)
}

/// Columns of one packed bf16 panel (4 AVX-512 registers of 16 f32 lanes).
const PANEL: usize = 64;
/// Rows of one bf16 micro-tile: 6 rows x 4 registers = 24 accumulators (of 32 zmm registers).
const MR: usize = 6;

/// A dense layer `y = x·Wᵀ + b` with `W` of shape (n, k), in the form its precision computes with.
pub struct Dense {
    n: usize,
    k: usize,
    bias: Vec<f32>,
    weights: Weights,
}

enum Weights {
    /// Row-major (n, k), as stored in the checkpoint.
    F32(Vec<f32>),
    /// bf16 in panels of 64 output columns: `[n/64][k/2][64][2]`, so that one k-pair of a panel is
    /// four consecutive registers of (column, k-pair) lanes for `vdpbf16ps`.
    Bf16Panels(Vec<u16>),
}

impl Dense {
    /// Build from row-major weights `(n, k)` and bias `n`. bf16 needs `n % 64 == 0`, `k.is_multiple_of(2)`
    /// and a CPU that has it; otherwise the layer stays f32.
    pub fn new(w: Vec<f32>, bias: Vec<f32>, n: usize, k: usize, precision: Precision) -> Self {
        assert_eq!(w.len(), n * k);
        assert_eq!(bias.len(), n);
        let weights = if precision == Precision::Bf16
            && bf16_supported()
            && n.is_multiple_of(PANEL)
            && k.is_multiple_of(2)
        {
            Weights::Bf16Panels(pack_bf16(&w, n, k))
        } else {
            Weights::F32(w)
        };
        Dense {
            n,
            k,
            bias,
            weights,
        }
    }

    /// Output width.
    pub fn n(&self) -> usize {
        self.n
    }

    /// `y[m, n] = x[m, k]·Wᵀ + b`, rows split across the rayon pool.
    pub fn forward(&self, x: &[f32], m: usize, y: &mut [f32]) {
        let (n, k) = (self.n, self.k);
        assert_eq!(x.len(), m * k);
        assert_eq!(y.len(), m * n);
        if m == 0 {
            return;
        }
        let rows = chunk_rows(m);
        match &self.weights {
            Weights::F32(w) => {
                y.par_chunks_mut(rows * n)
                    .zip(x.par_chunks(rows * k))
                    .for_each(|(yc, xc)| {
                        let mc = xc.len() / k;
                        gemm_f32(xc, w, yc, mc, n, k);
                        for row in yc.chunks_exact_mut(n) {
                            row.iter_mut().zip(&self.bias).for_each(|(o, b)| *o += b);
                        }
                    });
            }
            Weights::Bf16Panels(p) => {
                y.par_chunks_mut(rows * n)
                    .zip(x.par_chunks(rows * k))
                    .for_each(|(yc, xc)| {
                        let xb: Vec<u16> = xc.iter().map(|&v| bf16_bits(v)).collect();
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: `Bf16Panels` exists only when `bf16_supported()` said the CPU
                        // has avx512f + avx512bf16; the slice lengths are checked inside.
                        unsafe {
                            gemm_bf16_avx512(&xb, p, &self.bias, yc, xc.len() / k, n, k)
                        };
                        #[cfg(not(target_arch = "x86_64"))]
                        let _ = (xb, p);
                    });
            }
        }
    }
}

/// Rows per parallel task: a few tasks per thread (so a busy core does not hold the others up),
/// a multiple of the micro-tile height, and at most ~192 rows so a task's inputs stay in L2.
fn chunk_rows(m: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let tasks = (m / 192).max(threads).div_ceil(threads) * threads;
    m.div_ceil(tasks).div_ceil(MR).max(1) * MR
}

/// `y = x·Wᵀ` in f32 with the `gemm` crate, single-threaded (the caller splits rows).
fn gemm_f32(x: &[f32], w: &[f32], y: &mut [f32], m: usize, n: usize, k: usize) {
    assert!(x.len() >= m * k && w.len() >= n * k && y.len() >= m * n);
    // SAFETY: lhs is (m, k) row-major, rhs = Wᵀ read from W (n, k) row-major, dst (m, n)
    // row-major; the lengths are asserted above and the strides stay inside them.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            y.as_mut_ptr(),
            1,
            n as isize,
            false,
            x.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            k as isize,
            1,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// One strided f32 matrix operand: element (i, j) at `data[i * rs + j * cs]`.
pub struct Strided<'a> {
    /// The elements.
    pub data: &'a [f32],
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl Strided<'_> {
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// `dst (m, n) = scale · A (m, k) · B (k, n)`, `dst` row-major, single-threaded (`gemm` crate).
/// Used for attention, one (sequence, head) at a time.
pub fn matmul(m: usize, n: usize, k: usize, a: Strided, b: Strided, dst: &mut [f32], scale: f32) {
    assert!(a.fits(m, k) && b.fits(k, n) && dst.len() >= m * n);
    // SAFETY: every index the product reads or writes is inside the slices (asserted above).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            0.0f32,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// Pack row-major `(n, k)` f32 weights into bf16 panels `[n/64][k/2][64][2]`.
fn pack_bf16(w: &[f32], n: usize, k: usize) -> Vec<u16> {
    let mut out = vec![0u16; n * k];
    let kp = k / 2;
    for panel in 0..n / PANEL {
        for p in 0..kp {
            let base = (panel * kp + p) * PANEL * 2;
            for c in 0..PANEL {
                let row = (panel * PANEL + c) * k;
                out[base + 2 * c] = bf16_bits(w[row + 2 * p]);
                out[base + 2 * c + 1] = bf16_bits(w[row + 2 * p + 1]);
            }
        }
    }
    out
}

/// `y[m, n] = x[m, k]·Wᵀ + b` with bf16 `x` (row-major) and packed bf16 `W`, f32 accumulation.
///
/// # Safety
/// The CPU must support avx512f and avx512bf16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn gemm_bf16_avx512(
    x: &[u16],
    panels: &[u16],
    bias: &[f32],
    y: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
) {
    assert!(x.len() >= m * k && panels.len() >= n * k && bias.len() >= n && y.len() >= m * n);
    assert!(n.is_multiple_of(PANEL) && k.is_multiple_of(2));
    for panel in 0..n / PANEL {
        let w = panels.as_ptr().add(panel * PANEL * k);
        let b = bias.as_ptr().add(panel * PANEL);
        let mut r = 0;
        while r < m {
            let xr = x.as_ptr().add(r * k);
            let yr = y.as_mut_ptr().add(r * n + panel * PANEL);
            // SAFETY (all arms): rows r..r+rows are inside x and y (asserted m, k, n above);
            // the panel holds k/2 pairs of 64 columns.
            match m - r {
                1 => micro_bf16::<1>(xr, w, b, yr, k, n),
                2 => micro_bf16::<2>(xr, w, b, yr, k, n),
                3 => micro_bf16::<3>(xr, w, b, yr, k, n),
                4 => micro_bf16::<4>(xr, w, b, yr, k, n),
                5 => micro_bf16::<5>(xr, w, b, yr, k, n),
                _ => micro_bf16::<MR>(xr, w, b, yr, k, n),
            }
            r += MR;
        }
    }
}

/// One micro-tile: `R` rows x 64 columns, the whole k, bias added on store.
///
/// # Safety
/// avx512f + avx512bf16; `x` points at `R` rows of `k` bf16, `w` at one packed panel (k/2 x 128
/// bf16), `b` at 64 f32, `y` at `R` rows of stride `ldy` with 64 writable f32 each.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
#[inline]
unsafe fn micro_bf16<const R: usize>(
    x: *const u16,
    w: *const u16,
    b: *const f32,
    y: *mut f32,
    k: usize,
    ldy: usize,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); 4]; R];
    for p in 0..k / 2 {
        let wp = w.add(p * PANEL * 2) as *const __m512i;
        let w0: __m512bh = std::mem::transmute(_mm512_loadu_si512(wp));
        let w1: __m512bh = std::mem::transmute(_mm512_loadu_si512(wp.add(1)));
        let w2: __m512bh = std::mem::transmute(_mm512_loadu_si512(wp.add(2)));
        let w3: __m512bh = std::mem::transmute(_mm512_loadu_si512(wp.add(3)));
        for (i, a) in acc.iter_mut().enumerate() {
            let pair = (x.add(i * k + 2 * p) as *const i32).read_unaligned();
            let xv: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair));
            a[0] = _mm512_dpbf16_ps(a[0], xv, w0);
            a[1] = _mm512_dpbf16_ps(a[1], xv, w1);
            a[2] = _mm512_dpbf16_ps(a[2], xv, w2);
            a[3] = _mm512_dpbf16_ps(a[3], xv, w3);
        }
    }
    for (i, a) in acc.iter().enumerate() {
        for (j, v) in a.iter().enumerate() {
            let bias = _mm512_loadu_ps(b.add(16 * j));
            _mm512_storeu_ps(y.add(i * ldy + 16 * j), _mm512_add_ps(*v, bias));
        }
    }
}

/// `exp(x)` for `x <= 88`, relative error ~2e-7, branch-free so loops over it vectorise (Cephes
/// `expf`: `2^n · p(r)` with `r = x - n·ln 2`).
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' constants as published
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `erf(x)`, absolute error < 1e-6 (1.5e-7 for the formula, plus f32 rounding) (Abramowitz & Stegun 7.1.26), branch-free.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Abramowitz & Stegun's constants as published
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152 + t * 1.061_405_4))));
    let e = 1.0 - poly * exp(-a * a);
    e.copysign(x)
}

/// Exact (erf) GELU in place: `x · (1 + erf(x/√2)) / 2`.
pub fn gelu(xs: &mut [f32]) {
    xs.par_chunks_mut(16 * 1024).for_each(|c| {
        for v in c {
            *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
        }
    });
}

/// `x = LayerNorm(x + r)` row by row (rows of `gamma.len()`).
pub fn add_layer_norm(x: &mut [f32], r: Option<&[f32]>, gamma: &[f32], beta: &[f32], eps: f32) {
    let h = gamma.len();
    let rows = (4096 / h).max(1) * h;
    let norm = |xc: &mut [f32], rc: Option<&[f32]>| {
        for (i, row) in xc.chunks_exact_mut(h).enumerate() {
            if let Some(rc) = rc {
                row.iter_mut()
                    .zip(&rc[i * h..(i + 1) * h])
                    .for_each(|(a, b)| *a += b);
            }
            let mean = row.iter().sum::<f32>() / h as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    };
    match r {
        Some(r) => x
            .par_chunks_mut(rows)
            .zip(r.par_chunks(rows))
            .for_each(|(xc, rc)| norm(xc, Some(rc))),
        None => x.par_chunks_mut(rows).for_each(|xc| norm(xc, None)),
    }
}

/// Softmax of one row in place.
#[inline]
pub fn softmax(s: &mut [f32]) {
    let max = s.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    s.iter_mut().for_each(|v| *v = exp(*v - max));
    // 16 partial sums in a fixed order: vectorises, and stays deterministic.
    let mut lanes = [0f32; 16];
    let mut chunks = s.chunks_exact(16);
    for c in &mut chunks {
        lanes.iter_mut().zip(c).for_each(|(a, b)| *a += b);
    }
    let sum = lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>();
    let inv = 1.0 / sum;
    s.iter_mut().for_each(|v| *v *= inv);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(i: usize) -> f32 {
        // Deterministic values in about [-1, 1].
        ((i as f32 * 0.618_034).fract() - 0.5) * 2.0 + ((i % 7) as f32 - 3.0) * 0.05
    }

    fn reference(x: &[f32], w: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
        let mut y = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k)
                    .map(|t| x[i * k + t] as f64 * w[j * k + t] as f64)
                    .sum();
                y[i * n + j] = s as f32 + b[j];
            }
        }
        y
    }

    fn check(precision: Precision, m: usize, n: usize, k: usize) {
        let x: Vec<f32> = (0..m * k).map(det).collect();
        let w: Vec<f32> = (0..n * k).map(|i| det(i + 12345) * 0.1).collect();
        let b: Vec<f32> = (0..n).map(|i| det(i + 999)).collect();
        let round = |v: &[f32]| -> Vec<f32> {
            if precision == Precision::Bf16 {
                v.iter().map(|&a| bf16_to_f32(bf16_bits(a))).collect()
            } else {
                v.to_vec()
            }
        };
        // The kernel must match the f64 product of the inputs as that precision sees them.
        let want = reference(&round(&x), &round(&w), &b, m, n, k);
        let dense = Dense::new(w, b, n, k, precision);
        let mut y = vec![0f32; m * n];
        dense.forward(&x, m, &mut y);
        for (i, (a, e)) in y.iter().zip(&want).enumerate() {
            assert!((a - e).abs() <= 1e-4 * (1.0 + e.abs()), "{i}: {a} vs {e}");
        }
        let mut again = vec![0f32; m * n];
        dense.forward(&x, m, &mut again);
        assert_eq!(y, again, "deterministic");
    }

    #[test]
    fn f32_dense_matches_reference() {
        for (m, n, k) in [(1, 64, 8), (7, 128, 30), (131, 192, 384)] {
            check(Precision::F32, m, n, k);
        }
    }

    #[test]
    fn bf16_dense_matches_scalar_reference_on_bf16_inputs() {
        if !bf16_supported() {
            eprintln!("no AVX-512 BF16 on this CPU: the bf16 kernel is not exercised");
            return;
        }
        // Row counts that hit every micro-tile height and several tasks.
        for (m, n, k) in [(1, 64, 2), (5, 64, 8), (13, 128, 384), (257, 192, 1536)] {
            check(Precision::Bf16, m, n, k);
        }
    }

    #[test]
    fn strided_matmul_matches_reference() {
        // A (3, 5) read transposed from a (5, 3) row-major buffer, B (5, 4) with row stride 6.
        let a: Vec<f32> = (0..15).map(det).collect();
        let b: Vec<f32> = (0..30).map(|i| det(i + 77)).collect();
        let mut y = vec![0f32; 12];
        let (sa, sb) = (
            Strided {
                data: &a,
                rs: 1,
                cs: 3,
            },
            Strided {
                data: &b,
                rs: 6,
                cs: 1,
            },
        );
        matmul(3, 4, 5, sa, sb, &mut y, 0.5);
        for i in 0..3 {
            for j in 0..4 {
                let e: f32 = (0..5).map(|p| a[p * 3 + i] * b[p * 6 + j]).sum::<f32>() * 0.5;
                assert!((y[i * 4 + j] - e).abs() < 1e-5);
            }
        }
        let mut s = vec![1.0, 2.0, 3.0, -1e30];
        softmax(&mut s);
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6 && s[3] < 1e-30);
    }

    #[test]
    fn bf16_rounding_is_nearest_even() {
        assert_eq!(bf16_bits(1.0), 0x3f80);
        // 1 + 2^-8 is halfway between two bf16 values: rounds to the even one (1.0).
        assert_eq!(bf16_bits(1.0 + 1.0 / 256.0), 0x3f80);
        assert_eq!(bf16_bits(1.0 + 3.0 / 256.0), 0x3f82);
        assert_eq!(bf16_to_f32(bf16_bits(-2.5)), -2.5);
    }

    #[test]
    fn exp_and_erf_are_close_to_libm() {
        for i in 0..20_000 {
            let x = -80.0 + i as f32 * 0.004_3;
            let (a, e) = (exp(x), x.exp());
            assert!((a - e).abs() <= 3e-7 * e, "exp({x}) {a} vs {e}");
        }
        for i in 0..20_000 {
            let x = -6.0 + i as f32 * 0.0006;
            let e = libm_erf(x as f64);
            assert!(
                (erf(x) as f64 - e).abs() < 1e-6,
                "erf({x}): {} vs {e}",
                erf(x)
            );
        }
    }

    /// erf by its Taylor series / continued fraction in f64 (reference only).
    fn libm_erf(x: f64) -> f64 {
        if x.abs() < 3.0 {
            let mut sum = 0.0;
            let mut term = x;
            let mut n = 0.0;
            while term.abs() > 1e-17 {
                sum += term / (2.0 * n + 1.0);
                n += 1.0;
                term *= -x * x / n;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // Asymptotic: 1 - e^{-x²}/(x√π) (1 - 1/(2x²) + 3/(4x⁴)); |error| < 1e-6·e^{-9}.
            let x2 = x * x;
            let tail = (-x2).exp() / (x.abs() * std::f64::consts::PI.sqrt())
                * (1.0 - 1.0 / (2.0 * x2) + 3.0 / (4.0 * x2 * x2));
            (1.0 - tail).copysign(x)
        }
    }
}
