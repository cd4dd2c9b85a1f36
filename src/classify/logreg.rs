//! Multinomial logistic regression over sparse features: L2 penalty, per-class weights for
//! imbalance, fitted by full-batch L-BFGS. Deterministic: no sampling, a fixed update order.
//!
//! The objective is the class-weighted mean cross-entropy plus `l2 / 2 * |W|^2` (biases are not
//! penalised), so `l2` means the same thing whatever the number of messages.

use serde::{Deserialize, Serialize};

use super::features::SparseVec;

/// How to weight each class in the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every message weighs the same.
    None,
    /// Each class weighs in total as much as any other: `n / (k * n_c)`.
    #[default]
    Balanced,
    /// Halfway: `sqrt(n / (k * n_c))`, for very unbalanced data.
    Sqrt,
}

/// Options for fitting a [`LogReg`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// L2 penalty on the weights.
    pub l2: f64,
    /// Class weighting.
    pub class_weight: ClassWeight,
    /// Maximum L-BFGS iterations.
    pub max_iter: usize,
    /// Stop when the relative decrease of the objective falls below this.
    pub tol: f64,
    /// L-BFGS history length.
    pub history: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            l2: 1e-4,
            class_weight: ClassWeight::Balanced,
            max_iter: 300,
            tol: 1e-7,
            history: 7,
        }
    }
}

/// A fitted multinomial logistic regression: `logits = W x + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogReg {
    /// Number of classes.
    pub classes: usize,
    /// Number of features.
    pub dim: usize,
    /// Weights, row-major `[classes, dim]`.
    pub weight: Vec<f32>,
    /// Biases, `[classes]`.
    pub bias: Vec<f32>,
    /// L-BFGS iterations used.
    pub iterations: usize,
    /// Final objective value.
    pub objective: f64,
}

/// Softmax of `z / temperature`, numerically stable.
pub fn softmax(z: &[f32], temperature: f32) -> Vec<f32> {
    let t = if temperature > 0.0 { temperature } else { 1.0 };
    let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = z.iter().map(|&v| ((v - m) / t).exp()).collect();
    let s: f32 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Per-class weights for labels `y` over `k` classes.
pub fn class_weights(y: &[usize], k: usize, mode: ClassWeight) -> Vec<f64> {
    let mut counts = vec![0usize; k];
    for &c in y {
        counts[c] += 1;
    }
    let n = y.len() as f64;
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                return 0.0;
            }
            let w = n / (k as f64 * c as f64);
            match mode {
                ClassWeight::None => 1.0,
                ClassWeight::Balanced => w,
                ClassWeight::Sqrt => w.sqrt(),
            }
        })
        .collect()
}

struct Problem<'a> {
    x: &'a [SparseVec],
    y: &'a [usize],
    /// Fixed logits added to each message's (a prior the weights learn a correction of).
    offset: Option<&'a [Vec<f32>]>,
    sample_w: Vec<f64>,
    k: usize,
    d: usize,
    l2: f64,
}

impl Problem<'_> {
    /// Objective and gradient at `theta` = `[W (k*d) | b (k)]`.
    fn eval(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (k, d) = (self.k, self.d);
        grad.iter_mut().for_each(|g| *g = 0.0);
        let (w, b) = theta.split_at(k * d);
        let mut loss = 0.0;
        let mut z = vec![0.0f64; k];
        for (i, xi) in self.x.iter().enumerate() {
            let sw = self.sample_w[i];
            if sw == 0.0 {
                continue;
            }
            let off = self.offset.and_then(|o| o.get(i));
            for c in 0..k {
                let row = &w[c * d..(c + 1) * d];
                let mut s = b[c] + off.and_then(|o| o.get(c)).map_or(0.0, |&v| v as f64);
                for &(j, v) in xi {
                    s += row[j as usize] * v as f64;
                }
                z[c] = s;
            }
            let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            loss += sw * (lse - z[self.y[i]]);
            for c in 0..k {
                let mut g = (z[c] - lse).exp();
                if c == self.y[i] {
                    g -= 1.0;
                }
                g *= sw;
                if g == 0.0 {
                    continue;
                }
                let grow = &mut grad[c * d..(c + 1) * d];
                for &(j, v) in xi {
                    grow[j as usize] += g * v as f64;
                }
                grad[k * d + c] += g;
            }
        }
        let mut reg = 0.0;
        // Over a prior, the biases are a correction too and are penalised with the weights
        // (else they learn the training mail's label shares, which other senders do not share).
        let penalised = if self.offset.is_some() {
            k * d + k
        } else {
            k * d
        };
        for (g, &t) in grad[..penalised].iter_mut().zip(theta) {
            *g += self.l2 * t;
            reg += t * t;
        }
        loss + 0.5 * self.l2 * reg
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl LogReg {
    /// Fit on features `x` with labels `y` in `0..classes`; `dim` is the feature width.
    pub fn fit(
        x: &[SparseVec],
        y: &[usize],
        classes: usize,
        dim: usize,
        opts: &TrainOptions,
    ) -> LogReg {
        Self::fit_with_offset(x, y, classes, dim, opts, None)
    }

    /// Fit as [`LogReg::fit`] with fixed logits `offset[i]` added to message `i`'s: the
    /// weights learn a correction of a prior (the penalty pulls them towards the prior, not
    /// towards zero). The returned model's logits leave the offset out.
    pub fn fit_with_offset(
        x: &[SparseVec],
        y: &[usize],
        classes: usize,
        dim: usize,
        opts: &TrainOptions,
        offset: Option<&[Vec<f32>]>,
    ) -> LogReg {
        let cw = class_weights(y, classes, opts.class_weight);
        let total: f64 = y.iter().map(|&c| cw[c]).sum::<f64>().max(1e-12);
        let problem = Problem {
            x,
            y,
            offset,
            sample_w: y.iter().map(|&c| cw[c] / total).collect(),
            k: classes,
            d: dim,
            l2: opts.l2,
        };
        let n = classes * dim + classes;
        let mut theta = vec![0.0f64; n];
        let mut grad = vec![0.0f64; n];
        let mut f = problem.eval(&theta, &mut grad);
        let mut s_hist: Vec<Vec<f64>> = Vec::new();
        let mut y_hist: Vec<Vec<f64>> = Vec::new();
        let mut new_theta = vec![0.0f64; n];
        let mut new_grad = vec![0.0f64; n];
        let mut iterations = 0;
        for it in 0..opts.max_iter {
            iterations = it + 1;
            // Two-loop recursion for the direction.
            let mut q = grad.clone();
            let m = s_hist.len();
            let mut alpha = vec![0.0; m];
            for i in (0..m).rev() {
                let rho = 1.0 / dot(&y_hist[i], &s_hist[i]);
                alpha[i] = rho * dot(&s_hist[i], &q);
                for (qj, yj) in q.iter_mut().zip(&y_hist[i]) {
                    *qj -= alpha[i] * yj;
                }
            }
            let gamma = if m > 0 {
                dot(&s_hist[m - 1], &y_hist[m - 1]) / dot(&y_hist[m - 1], &y_hist[m - 1])
            } else {
                1.0 / dot(&grad, &grad).sqrt().max(1e-12)
            };
            q.iter_mut().for_each(|v| *v *= gamma);
            for i in 0..m {
                let rho = 1.0 / dot(&y_hist[i], &s_hist[i]);
                let beta = rho * dot(&y_hist[i], &q);
                for (qj, sj) in q.iter_mut().zip(&s_hist[i]) {
                    *qj += (alpha[i] - beta) * sj;
                }
            }
            // q is the ascent direction; step along -q with backtracking (Armijo).
            let mut slope = -dot(&grad, &q);
            if slope >= 0.0 {
                // Not a descent direction: restart from steepest descent.
                s_hist.clear();
                y_hist.clear();
                let g = dot(&grad, &grad).sqrt().max(1e-12);
                q = grad.iter().map(|v| v / g).collect();
                slope = -dot(&grad, &q);
            }
            let mut step = 1.0;
            let mut new_f;
            let mut accepted = false;
            for _ in 0..30 {
                for j in 0..n {
                    new_theta[j] = theta[j] - step * q[j];
                }
                new_f = problem.eval(&new_theta, &mut new_grad);
                if new_f <= f + 1e-4 * step * slope {
                    accepted = true;
                    let s: Vec<f64> = new_theta.iter().zip(&theta).map(|(a, b)| a - b).collect();
                    let yv: Vec<f64> = new_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
                    if dot(&s, &yv) > 1e-12 {
                        s_hist.push(s);
                        y_hist.push(yv);
                        if s_hist.len() > opts.history {
                            s_hist.remove(0);
                            y_hist.remove(0);
                        }
                    }
                    std::mem::swap(&mut theta, &mut new_theta);
                    std::mem::swap(&mut grad, &mut new_grad);
                    let rel = (f - new_f) / f.abs().max(1e-12);
                    f = new_f;
                    if rel < opts.tol {
                        return Self::from_theta(&theta, classes, dim, iterations, f);
                    }
                    break;
                }
                step *= 0.5;
            }
            if !accepted {
                break;
            }
        }
        Self::from_theta(&theta, classes, dim, iterations, f)
    }

    fn from_theta(
        theta: &[f64],
        classes: usize,
        dim: usize,
        iterations: usize,
        objective: f64,
    ) -> LogReg {
        LogReg {
            classes,
            dim,
            weight: theta[..classes * dim].iter().map(|&v| v as f32).collect(),
            bias: theta[classes * dim..].iter().map(|&v| v as f32).collect(),
            iterations,
            objective,
        }
    }

    /// The logits of one feature vector.
    pub fn logits(&self, x: &[(u32, f32)]) -> Vec<f32> {
        (0..self.classes)
            .map(|c| {
                let row = &self.weight[c * self.dim..(c + 1) * self.dim];
                self.bias[c]
                    + x.iter()
                        .filter(|p| (p.0 as usize) < self.dim)
                        .map(|&(j, v)| row[j as usize] * v)
                        .sum::<f32>()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three separable blobs on sparse axes, with noise features.
    fn toy() -> (Vec<SparseVec>, Vec<usize>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..60u32 {
            let c = (i % 3) as usize;
            let noise = 3 + (i * 7) % 5;
            x.push(vec![(c as u32, 1.0), (noise, 0.5)]);
            y.push(c);
        }
        (x, y)
    }

    #[test]
    fn learns_separable_classes() {
        let (x, y) = toy();
        let m = LogReg::fit(&x, &y, 3, 8, &TrainOptions::default());
        for (xi, &yi) in x.iter().zip(&y) {
            let p = softmax(&m.logits(xi), 1.0);
            let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            assert_eq!(best, yi);
        }
        assert!(m.iterations > 1);
    }

    #[test]
    fn deterministic() {
        let (x, y) = toy();
        let a = LogReg::fit(&x, &y, 3, 8, &TrainOptions::default());
        let b = LogReg::fit(&x, &y, 3, 8, &TrainOptions::default());
        assert_eq!(a, b);
    }

    #[test]
    fn strong_l2_shrinks_weights() {
        let (x, y) = toy();
        let weak = LogReg::fit(&x, &y, 3, 8, &TrainOptions::default());
        let strong = LogReg::fit(
            &x,
            &y,
            3,
            8,
            &TrainOptions {
                l2: 1.0,
                ..TrainOptions::default()
            },
        );
        let norm = |m: &LogReg| m.weight.iter().map(|v| v * v).sum::<f32>();
        assert!(norm(&strong) < norm(&weak));
    }

    #[test]
    fn balanced_weights_sum_like_counts() {
        let y = [0, 0, 0, 1];
        let w = class_weights(&y, 3, ClassWeight::Balanced);
        assert!((w[0] * 3.0 - w[1]).abs() < 1e-9);
        assert_eq!(w[2], 0.0);
    }

    #[test]
    fn softmax_temperature() {
        let p = softmax(&[2.0, 0.0], 1.0);
        let q = softmax(&[2.0, 0.0], 2.0);
        assert!(p[0] > q[0] && q[0] > 0.5);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
