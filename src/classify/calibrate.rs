//! Temperature scaling: one number `T` so that `softmax(logits / T)` has the lowest negative
//! log-likelihood on messages the model did not train on. It changes confidence, never the label.

use serde::{Deserialize, Serialize};

/// A fitted calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// How it was fitted: `"temperature"` or `"none"`.
    pub method: String,
    /// The temperature dividing the logits.
    pub temperature: f32,
    /// Messages it was fitted on.
    pub fitted_on: usize,
    /// Mean negative log-likelihood on those messages before calibration (T = 1); None when
    /// not calibrated.
    pub nll_before: Option<f32>,
    /// ... and after.
    pub nll_after: Option<f32>,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            method: "none".into(),
            temperature: 1.0,
            fitted_on: 0,
            nll_before: None,
            nll_after: None,
        }
    }
}

/// Mean negative log-likelihood of labels `y` under `softmax(logits / t)`.
pub fn nll(logits: &[Vec<f32>], y: &[usize], t: f64) -> f64 {
    if logits.is_empty() {
        return 0.0;
    }
    let mut total = 0.0;
    for (z, &c) in logits.iter().zip(y) {
        let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
        let lse = m / t
            + z.iter()
                .map(|&v| (v as f64 / t - m / t).exp())
                .sum::<f64>()
                .ln();
        total += lse - z[c] as f64 / t;
    }
    total / logits.len() as f64
}

/// Fit a temperature on held-out `logits` with true labels `y` (golden-section search on
/// `ln T` in `[-4, 4]`).
pub fn fit_temperature(logits: &[Vec<f32>], y: &[usize]) -> Calibration {
    if logits.is_empty() {
        return Calibration::default();
    }
    let f = |u: f64| nll(logits, y, u.exp());
    let (mut a, mut b) = (-4.0f64, 4.0f64);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..60 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    let t = ((a + b) / 2.0).exp();
    Calibration {
        method: "temperature".into(),
        temperature: t as f32,
        fitted_on: logits.len(),
        nll_before: Some(nll(logits, y, 1.0) as f32),
        nll_after: Some(nll(logits, y, t) as f32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overconfident_logits_get_a_temperature_above_one() {
        // Logits say 0.9999 but the label is right only 3 times in 4.
        let logits: Vec<Vec<f32>> = (0..40).map(|_| vec![10.0, 0.0]).collect();
        let y: Vec<usize> = (0..40).map(|i| usize::from(i % 4 == 0)).collect();
        let cal = fit_temperature(&logits, &y);
        assert!(cal.temperature > 1.0);
        assert!(cal.nll_after < cal.nll_before);
        // Calibrated probability of the top class is close to 0.75.
        let p = crate::classify::logreg::softmax(&logits[0], cal.temperature);
        assert!((p[0] - 0.75).abs() < 0.01, "{p:?}");
    }

    #[test]
    fn empty_is_identity() {
        assert_eq!(fit_temperature(&[], &[]).temperature, 1.0);
    }
}
