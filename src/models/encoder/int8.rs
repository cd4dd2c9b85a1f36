//! The encoder's int8 dense layers: `y = x·Wᵀ + b` with `W` quantised to int8 per output row
//! (symmetric, scale `max|w| / 127`) and each input row (token) quantised to int8 on the fly per
//! run of [`GROUP`] channels (symmetric, scale `max|x| / 127` over the run), the products summed
//! in i32 by AVX-512 VNNI `vpdpbusd` (64 multiply-adds per instruction, twice bf16's
//! `vdpbf16ps`) and each run's sum scaled into an f32 accumulator.
//!
//! A scale per run rather than per token: a few channels of BERT's layer-norm outputs run far
//! larger than the rest and take the int8 range of every token. Measured on the 12 reference
//! texts, lowest cosine against the f32 forward: 0.988 with a scale per token, 0.9943 per run of
//! 64, 0.9948 per run of 32 (and 0.987 with SmoothQuant-style channel smoothing from the layer
//! norms' scales instead): short of issue 20's 0.999, so int8 is opt-in, never the default.
//!
//! `vpdpbusd` multiplies unsigned by signed bytes, so inputs are stored offset by 128 (`u = q +
//! 128`) and the offset taken out afterwards with the weights' sums over each run:
//! `Σ q w = Σ u w − 128 Σ w`. Each output is computed by one thread in a fixed order: the same
//! input gives the same bits at any thread count.

/// Input channels per activation scale.
pub const GROUP: usize = 64;
/// Columns of one packed panel (4 registers of 16 i32 lanes).
const PANEL: usize = 64;
/// Rows of one micro-tile: 3 rows x 4 registers, each an i32 and an f32 accumulator.
const MR: usize = 3;

/// Whether this CPU has the instructions (AVX-512 F/BW and VNNI).
pub fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether a `(n, k)` layer can be computed in int8 here.
pub fn fits(n: usize, k: usize) -> bool {
    supported() && n.is_multiple_of(PANEL) && k.is_multiple_of(GROUP) && k > 0
}

/// Weights quantised and packed for the kernel.
pub struct Int8Weights {
    n: usize,
    k: usize,
    /// `[n/64][k/4][64][4]`: one k-quad of a panel is four registers of (column, quad) lanes.
    panels: Vec<i8>,
    /// Per output row: the quantisation scale.
    scale: Vec<f32>,
    /// `[n/64][k/GROUP][64]`: `128 · Σ q` over each run, the input offset's contribution.
    offset: Vec<i32>,
}

impl Int8Weights {
    /// Quantise and pack row-major `(n, k)` weights (`fits(n, k)` must hold).
    pub fn new(w: &[f32], n: usize, k: usize) -> Self {
        assert!(w.len() == n * k && n.is_multiple_of(PANEL) && k.is_multiple_of(GROUP));
        let (kq, ng) = (k / 4, k / GROUP);
        let mut panels = vec![0i8; n * k];
        let mut scale = vec![0f32; n];
        let mut offset = vec![0i32; n * ng];
        for row in 0..n {
            let ws = &w[row * k..(row + 1) * k];
            let amax = ws.iter().fold(0f32, |a, v| a.max(v.abs()));
            let s = amax / 127.0;
            let inv = if s > 0.0 { 1.0 / s } else { 0.0 };
            let (panel, c) = (row / PANEL, row % PANEL);
            for (j, &v) in ws.iter().enumerate() {
                let q = (v * inv).round().clamp(-127.0, 127.0) as i8;
                offset[(panel * ng + j / GROUP) * PANEL + c] += 128 * q as i32;
                panels[((panel * kq + j / 4) * PANEL + c) * 4 + j % 4] = q;
            }
            scale[row] = s;
        }
        Int8Weights {
            n,
            k,
            panels,
            scale,
            offset,
        }
    }

    /// `y[m, n] = x[m, k]·Wᵀ + b` for the rows of `x`, single-threaded (the caller splits rows).
    pub fn forward(&self, x: &[f32], bias: &[f32], y: &mut [f32]) {
        let (n, k) = (self.n, self.k);
        let m = x.len() / k;
        assert!(x.len() == m * k && y.len() == m * n && bias.len() == n);
        let mut xu = vec![0u8; m * k];
        let mut xs = vec![0f32; m * k / GROUP];
        for ((run, u), s) in x
            .chunks_exact(GROUP)
            .zip(xu.chunks_exact_mut(GROUP))
            .zip(&mut xs)
        {
            let amax = run.iter().fold(0f32, |a, v| a.max(v.abs()));
            *s = amax / 127.0;
            let inv = if *s > 0.0 { 1.0 / *s } else { 0.0 };
            for (o, &v) in u.iter_mut().zip(run) {
                *o = ((v * inv).round().clamp(-127.0, 127.0) as i32 + 128) as u8;
            }
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Int8Weights` exist only where `fits` held, so the CPU has avx512f/bw/vnni;
        // the lengths are asserted above and inside.
        unsafe {
            gemm_avx512(self, &xu, &xs, bias, y, m)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (xu, xs);
    }
}

/// All panels and row tiles of one call.
///
/// # Safety
/// The CPU must have avx512f, avx512bw and avx512vnni.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn gemm_avx512(
    w: &Int8Weights,
    x: &[u8],
    xs: &[f32],
    bias: &[f32],
    y: &mut [f32],
    m: usize,
) {
    let (n, k) = (w.n, w.k);
    let ng = k / GROUP;
    assert!(x.len() >= m * k && xs.len() >= m * ng && y.len() >= m * n);
    assert!(w.panels.len() >= n * k && w.offset.len() >= n * ng);
    for panel in 0..n / PANEL {
        let tile = Tile {
            w: w.panels.as_ptr().add(panel * PANEL * k),
            ws: w.scale.as_ptr().add(panel * PANEL),
            off: w.offset.as_ptr().add(panel * ng * PANEL),
            b: bias.as_ptr().add(panel * PANEL),
            k,
            ldy: n,
        };
        let mut r = 0;
        while r < m {
            let xr = x.as_ptr().add(r * k);
            let sr = xs.as_ptr().add(r * ng);
            let yr = y.as_mut_ptr().add(r * n + panel * PANEL);
            // SAFETY (all arms): rows r..r+rows are inside x, xs and y (asserted above).
            match m - r {
                1 => micro::<1>(&tile, xr, sr, yr),
                2 => micro::<2>(&tile, xr, sr, yr),
                _ => micro::<MR>(&tile, xr, sr, yr),
            }
            r += MR;
        }
    }
}

/// One panel's weights, scales, offsets and bias.
#[cfg(target_arch = "x86_64")]
struct Tile {
    w: *const i8,
    ws: *const f32,
    off: *const i32,
    b: *const f32,
    k: usize,
    ldy: usize,
}

/// `R` rows x 64 columns over the whole k, scaled and biased on store.
///
/// # Safety
/// avx512f/bw/vnni; `x` points at `R` rows of `k` bytes, `xs` at `R` rows of `k / GROUP`
/// scales, `y` at `R` rows of stride `ldy` with 64 writable f32 each, and the tile at one panel.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn micro<const R: usize>(t: &Tile, x: *const u8, xs: *const f32, y: *mut f32) {
    use std::arch::x86_64::*;
    let (k, ng) = (t.k, t.k / GROUP);
    let mut accf = [[_mm512_setzero_ps(); 4]; R];
    for g in 0..ng {
        let mut acc = [[_mm512_setzero_si512(); 4]; R];
        for p in g * GROUP / 4..(g + 1) * GROUP / 4 {
            let wp = t.w.add(p * PANEL * 4) as *const __m512i;
            let w0 = _mm512_loadu_si512(wp);
            let w1 = _mm512_loadu_si512(wp.add(1));
            let w2 = _mm512_loadu_si512(wp.add(2));
            let w3 = _mm512_loadu_si512(wp.add(3));
            for (i, a) in acc.iter_mut().enumerate() {
                let quad = (x.add(i * k + 4 * p) as *const i32).read_unaligned();
                let xv = _mm512_set1_epi32(quad);
                a[0] = _mm512_dpbusd_epi32(a[0], xv, w0);
                a[1] = _mm512_dpbusd_epi32(a[1], xv, w1);
                a[2] = _mm512_dpbusd_epi32(a[2], xv, w2);
                a[3] = _mm512_dpbusd_epi32(a[3], xv, w3);
            }
        }
        let off = t.off.add(g * PANEL);
        for (i, (a, f)) in acc.iter().zip(accf.iter_mut()).enumerate() {
            let sx = _mm512_set1_ps(*xs.add(i * ng + g));
            for j in 0..4 {
                let o = _mm512_loadu_si512(off.add(16 * j) as *const __m512i);
                let ints = _mm512_cvtepi32_ps(_mm512_sub_epi32(a[j], o));
                f[j] = _mm512_fmadd_ps(ints, sx, f[j]);
            }
        }
    }
    for (i, f) in accf.iter().enumerate() {
        for (j, v) in f.iter().enumerate() {
            let ws = _mm512_loadu_ps(t.ws.add(16 * j));
            let bias = _mm512_loadu_ps(t.b.add(16 * j));
            _mm512_storeu_ps(y.add(i * t.ldy + 16 * j), _mm512_fmadd_ps(*v, ws, bias));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(i: usize) -> f32 {
        ((i as f32 * 0.618_034).fract() - 0.5) * 2.0 + ((i % 7) as f32 - 3.0) * 0.05
    }

    #[test]
    fn int8_dense_matches_the_quantised_product() {
        if !supported() {
            eprintln!("no AVX-512 VNNI on this CPU: the int8 kernel is not exercised");
            return;
        }
        for (m, n, k) in [(1, 64, 64), (7, 128, 192), (13, 192, 384)] {
            // One large channel, as BERT's layer norms produce.
            let x: Vec<f32> = (0..m * k)
                .map(|i| if i % k == 5 { 20.0 } else { det(i) })
                .collect();
            let w: Vec<f32> = (0..n * k).map(|i| det(i + 12345) * 0.1).collect();
            let b: Vec<f32> = (0..n).map(|i| det(i + 999)).collect();
            let q = Int8Weights::new(&w, n, k);
            let mut y = vec![0f32; m * n];
            q.forward(&x, &b, &mut y);
            for i in 0..m {
                let xr = &x[i * k..(i + 1) * k];
                for j in 0..n {
                    let wr = &w[j * k..(j + 1) * k];
                    let sw = wr.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
                    let iw = 1.0 / sw;
                    // The integer products of the rounded values per run, scaled.
                    let mut want = 0f64;
                    for (xg, wg) in xr.chunks(GROUP).zip(wr.chunks(GROUP)) {
                        let sx = xg.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
                        let ix = 1.0 / sx;
                        let ints: i64 = xg
                            .iter()
                            .zip(wg)
                            .map(|(a, c)| ((a * ix).round() as i64) * ((c * iw).round() as i64))
                            .sum();
                        want += ints as f64 * sx as f64;
                    }
                    let want = (want * sw as f64) as f32 + b[j];
                    let got = y[i * n + j];
                    assert!(
                        (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "{got} vs {want}"
                    );
                    // And within the rounding bound of the f32 product: half a step of each
                    // run's input scale times |w|, half a weight step times |x|, and their product.
                    let exact: f32 = xr.iter().zip(wr).map(|(a, c)| a * c).sum::<f32>() + b[j];
                    let mut bound = 1e-3f32;
                    for (xg, wg) in xr.chunks(GROUP).zip(wr.chunks(GROUP)) {
                        let sx = xg.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
                        bound += sx / 2.0 * wg.iter().map(|v| v.abs()).sum::<f32>()
                            + sw / 2.0 * xg.iter().map(|v| v.abs()).sum::<f32>()
                            + GROUP as f32 * sx * sw / 4.0;
                    }
                    assert!(
                        (got - exact).abs() <= bound,
                        "{got} vs {exact} (bound {bound})"
                    );
                }
            }
        }
    }
}
