//! Scores for `eval`: accuracy, macro-F1, per-label precision/recall/F1, the confusion matrix,
//! expected calibration error, accuracy against coverage as the review threshold moves, and the
//! threshold that reaches a target precision.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::classify::ReviewPolicy;

/// Precision, recall and F1 of one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScores {
    /// The label.
    pub label: String,
    /// Of messages given this label, the share that had it.
    pub precision: f64,
    /// Of messages that had this label, the share given it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Messages that had this label.
    pub support: usize,
}

/// One point of the accuracy-against-coverage curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoveragePoint {
    /// Share of messages decided automatically (top probability at or above `threshold`).
    pub coverage: f64,
    /// Accuracy on those messages.
    pub accuracy: f64,
    /// The review threshold giving this coverage.
    pub threshold: f64,
}

/// One bin of the reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge of the confidence bin.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Messages in the bin.
    pub count: usize,
    /// Mean top probability in the bin.
    pub confidence: f64,
    /// Accuracy in the bin.
    pub accuracy: f64,
}

/// Binary view for a "negative" label (e.g. `legitimate` on the junk axis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinaryScores {
    /// The negative label.
    pub negative: String,
    /// Negative messages given any other label (e.g. ham called junk), as a share of negatives.
    pub false_positive_rate: f64,
    /// Other messages given any other label than the negative one (e.g. junk caught).
    pub recall: f64,
}

/// Everything `eval` reports for one axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Labels, in the order of the confusion matrix.
    pub labels: Vec<String>,
    /// Messages scored.
    pub n: usize,
    /// Share of messages given their true label.
    pub accuracy: f64,
    /// Mean F1 over labels present in the data.
    pub macro_f1: f64,
    /// Per-label scores.
    pub per_label: Vec<LabelScores>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    /// Expected calibration error of the top probability (15 equal-width bins).
    pub ece: f64,
    /// Mean negative log-likelihood of the true label.
    pub nll: f64,
    /// Reliability diagram bins.
    pub reliability: Vec<ReliabilityBin>,
    /// Accuracy at 80, 90 and 100 % coverage.
    pub at_coverage: Vec<CoveragePoint>,
    /// The full coverage curve (one point per distinct threshold, at most ~200).
    pub coverage_curve: Vec<CoveragePoint>,
    /// Lowest threshold whose accepted messages reach `target_precision`, with its coverage.
    pub threshold_for_target: Option<CoveragePoint>,
    /// The target precision asked for.
    pub target_precision: f64,
    /// Binary scores when a negative label is known.
    pub binary: Option<BinaryScores>,
    /// What a review rule does on this mail, when one was given (see [`review_outcome`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewOutcome>,
}

/// What a review rule (axis and label thresholds) does on scored mail; only the confidence
/// part of the rule, since truncation and parse problems do not depend on the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    /// The axis threshold.
    pub threshold: f32,
    /// Labels with their own threshold.
    pub label_thresholds: BTreeMap<String, f32>,
    /// Share of messages sent to review.
    pub reviewed: f64,
    /// Accuracy on the messages decided without review.
    pub decided_accuracy: f64,
    /// With a negative label: the share of its messages sent to review (e.g. legitimate mail a
    /// person must look at).
    pub negative_reviewed: Option<f64>,
    /// With a negative label: the share of the other messages given it without review (e.g.
    /// junk that reaches staff unseen).
    pub passed_as_negative: Option<f64>,
}

/// What `policy` does with `probs` against true labels `y`.
pub fn review_outcome(
    labels: &[String],
    y: &[usize],
    probs: &[Vec<f32>],
    policy: &ReviewPolicy,
    negative: Option<&str>,
) -> ReviewOutcome {
    let ni = negative.and_then(|neg| labels.iter().position(|l| l == neg));
    let (mut reviewed, mut decided, mut correct) = (0usize, 0usize, 0usize);
    let (mut neg_n, mut neg_reviewed, mut pos_n, mut passed) = (0usize, 0usize, 0usize, 0usize);
    for (&t, p) in y.iter().zip(probs) {
        let c = argmax(p);
        let to_review = p.get(c).copied().unwrap_or(0.0)
            < policy.threshold_for(labels.get(c).map_or("", String::as_str));
        if to_review {
            reviewed += 1;
        } else {
            decided += 1;
            correct += usize::from(c == t);
        }
        if let Some(ni) = ni {
            if t == ni {
                neg_n += 1;
                neg_reviewed += usize::from(to_review);
            } else {
                pos_n += 1;
                passed += usize::from(c == ni && !to_review);
            }
        }
    }
    let share = |a: usize, b: usize| a as f64 / b.max(1) as f64;
    ReviewOutcome {
        threshold: policy.override_threshold.unwrap_or(policy.threshold),
        label_thresholds: policy.label_thresholds.clone(),
        reviewed: share(reviewed, y.len()),
        decided_accuracy: share(correct, decided),
        negative_reviewed: ni.map(|_| share(neg_reviewed, neg_n)),
        passed_as_negative: ni.map(|_| share(passed, pos_n)),
    }
}

/// Index of the largest value (the first one on a tie; 0 for an empty slice).
pub fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    best
}

/// Score predicted probabilities `probs` (one row per message, columns in `labels` order)
/// against true label indices `y`.
pub fn evaluate(
    labels: &[String],
    y: &[usize],
    probs: &[Vec<f32>],
    target_precision: f64,
    negative: Option<&str>,
) -> Report {
    let k = labels.len();
    let n = y.len();
    let pred: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
    let conf: Vec<f64> = probs.iter().zip(&pred).map(|(p, &c)| p[c] as f64).collect();
    let mut confusion = vec![vec![0usize; k]; k];
    for (&t, &p) in y.iter().zip(&pred) {
        confusion[t][p] += 1;
    }
    let correct: usize = (0..k).map(|c| confusion[c][c]).sum();
    let (per_label, macro_f1) = per_label_scores(labels, &confusion);
    let (reliability, ece) = reliability(y, &pred, &conf);
    let nll = probs
        .iter()
        .zip(y)
        .map(|(p, &c)| -(p[c].max(1e-12) as f64).ln())
        .sum::<f64>()
        / n.max(1) as f64;
    let coverage = Coverage::new(y, &pred, &conf);
    Report {
        labels: labels.to_vec(),
        n,
        accuracy: correct as f64 / n.max(1) as f64,
        macro_f1,
        per_label,
        ece,
        nll,
        reliability,
        at_coverage: coverage.at(&[0.8, 0.9, 1.0]),
        coverage_curve: coverage.curve(),
        threshold_for_target: coverage.threshold_for(target_precision),
        target_precision,
        binary: negative.and_then(|neg| binary(labels, &confusion, neg)),
        confusion,
        review: None,
    }
}

/// Precision, recall and F1 per label, and macro-F1 over the labels present in the data.
fn per_label_scores(labels: &[String], confusion: &[Vec<usize>]) -> (Vec<LabelScores>, f64) {
    let k = labels.len();
    let mut per_label = Vec::new();
    let mut f1_sum = 0.0;
    let mut present = 0;
    for c in 0..k {
        let tp = confusion[c][c] as f64;
        let predicted: usize = (0..k).map(|t| confusion[t][c]).sum();
        let support: usize = confusion[c].iter().sum();
        let precision = if predicted > 0 {
            tp / predicted as f64
        } else {
            0.0
        };
        let recall = if support > 0 {
            tp / support as f64
        } else {
            0.0
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        if support > 0 {
            f1_sum += f1;
            present += 1;
        }
        per_label.push(LabelScores {
            label: labels[c].clone(),
            precision,
            recall,
            f1,
            support,
        });
    }
    (per_label, f1_sum / present.max(1) as f64)
}

/// The reliability diagram (15 bins of confidence) and the expected calibration error.
fn reliability(y: &[usize], pred: &[usize], conf: &[f64]) -> (Vec<ReliabilityBin>, f64) {
    let n = y.len();
    let bins = 15;
    let mut out = Vec::new();
    let mut ece = 0.0;
    for b in 0..bins {
        let lower = b as f64 / bins as f64;
        let upper = (b + 1) as f64 / bins as f64;
        let idx: Vec<usize> = (0..n)
            .filter(|&i| conf[i] > lower && conf[i] <= upper || (b == 0 && conf[i] <= 0.0))
            .collect();
        if idx.is_empty() {
            continue;
        }
        let c = idx.iter().map(|&i| conf[i]).sum::<f64>() / idx.len() as f64;
        let a = idx.iter().filter(|&&i| pred[i] == y[i]).count() as f64 / idx.len() as f64;
        ece += idx.len() as f64 / n as f64 * (a - c).abs();
        out.push(ReliabilityBin {
            lower,
            upper,
            count: idx.len(),
            confidence: c,
            accuracy: a,
        });
    }
    (out, ece)
}

/// Accuracy against coverage: messages sorted by confidence, most confident first.
struct Coverage<'a> {
    conf: &'a [f64],
    order: Vec<usize>,
    cum_correct: Vec<usize>,
}

impl<'a> Coverage<'a> {
    fn new(y: &[usize], pred: &[usize], conf: &'a [f64]) -> Self {
        let n = y.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| conf[b].total_cmp(&conf[a]).then(a.cmp(&b)));
        let mut cum_correct = vec![0usize; n + 1];
        for (r, &i) in order.iter().enumerate() {
            cum_correct[r + 1] = cum_correct[r] + usize::from(pred[i] == y[i]);
        }
        Coverage {
            conf,
            order,
            cum_correct,
        }
    }

    fn n(&self) -> usize {
        self.order.len()
    }

    /// The point where the `m` most confident messages are decided.
    fn point(&self, m: usize) -> CoveragePoint {
        CoveragePoint {
            coverage: m as f64 / self.n().max(1) as f64,
            accuracy: if m > 0 {
                self.cum_correct[m] as f64 / m as f64
            } else {
                1.0
            },
            threshold: if m > 0 {
                self.conf[self.order[m - 1]]
            } else {
                1.0
            },
        }
    }

    fn at(&self, shares: &[f64]) -> Vec<CoveragePoint> {
        let n = self.n();
        if n == 0 {
            return Vec::new();
        }
        shares
            .iter()
            .map(|&c| self.point(((c * n as f64).round() as usize).clamp(1, n)))
            .collect()
    }

    /// About 200 points of the curve, ending at full coverage.
    fn curve(&self) -> Vec<CoveragePoint> {
        let n = self.n();
        let step = (n / 200).max(1);
        let mut curve: Vec<CoveragePoint> = (1..=n).step_by(step).map(|m| self.point(m)).collect();
        if n > 0 && curve.last().map(|p| p.coverage) != Some(1.0) {
            curve.push(self.point(n));
        }
        curve
    }

    /// The largest coverage whose accepted set reaches the target precision, cut only between
    /// distinct confidence values.
    fn threshold_for(&self, target_precision: f64) -> Option<CoveragePoint> {
        let n = self.n();
        for m in (1..=n).rev() {
            if m < n && self.conf[self.order[m]] == self.conf[self.order[m - 1]] {
                continue;
            }
            if self.cum_correct[m] as f64 / m as f64 >= target_precision {
                return Some(self.point(m));
            }
        }
        None
    }
}

/// The rate at which `negative` messages are wrongly flagged, and the share of the others
/// caught (decided as anything but `negative`).
fn binary(labels: &[String], confusion: &[Vec<usize>], neg: &str) -> Option<BinaryScores> {
    let k = labels.len();
    let ni = labels.iter().position(|l| l == neg)?;
    let negatives = confusion[ni].iter().sum::<usize>();
    let fp = negatives - confusion[ni][ni];
    let positives: usize = (0..k)
        .filter(|&c| c != ni)
        .map(|c| confusion[c].iter().sum::<usize>())
        .sum();
    let caught: usize = (0..k)
        .filter(|&c| c != ni)
        .map(|c| positives_caught(&confusion[c], ni))
        .sum();
    Some(BinaryScores {
        negative: neg.to_string(),
        false_positive_rate: fp as f64 / negatives.max(1) as f64,
        recall: caught as f64 / positives.max(1) as f64,
    })
}

fn positives_caught(row: &[usize], negative: usize) -> usize {
    row.iter()
        .enumerate()
        .filter(|&(c, _)| c != negative)
        .map(|(_, v)| v)
        .sum()
}

impl Report {
    /// A table for people.
    pub fn to_table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "messages {}   accuracy {:.3}   macro-F1 {:.3}   ECE {:.3}   NLL {:.3}",
            self.n, self.accuracy, self.macro_f1, self.ece, self.nll
        );
        if let Some(b) = &self.binary {
            let _ = writeln!(
                s,
                "{} wrongly flagged {:.2} %   others caught {:.2} %",
                b.negative,
                100.0 * b.false_positive_rate,
                100.0 * b.recall
            );
        }
        let w = self
            .labels
            .iter()
            .map(|l| l.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(s, "\n{:w$}  precision  recall     F1  support", "label");
        for l in &self.per_label {
            let _ = writeln!(
                s,
                "{:w$}  {:9.3}  {:6.3}  {:5.3}  {:7}",
                l.label, l.precision, l.recall, l.f1, l.support
            );
        }
        let _ = writeln!(
            s,
            "\nconfusion (rows: true, columns: predicted, in label order)"
        );
        for (l, row) in self.labels.iter().zip(&self.confusion) {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:5}")).collect();
            let _ = writeln!(s, "{l:w$} {}", cells.join(""));
        }
        let _ = writeln!(s, "\ncoverage  accuracy  threshold");
        for p in &self.at_coverage {
            let _ = writeln!(
                s,
                "{:7.0} %  {:8.3}  {:9.3}",
                100.0 * p.coverage,
                p.accuracy,
                p.threshold
            );
        }
        match &self.threshold_for_target {
            Some(p) => {
                let _ = writeln!(
                    s,
                    "precision {:.2}: threshold {:.3} decides {:.1} % of mail (accuracy {:.3})",
                    self.target_precision,
                    p.threshold,
                    100.0 * p.coverage,
                    p.accuracy
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "precision {:.2}: no threshold reaches it",
                    self.target_precision
                );
            }
        }
        if let Some(r) = &self.review {
            let labels: Vec<String> = r
                .label_thresholds
                .iter()
                .map(|(l, t)| format!(", {l} {t:.2}"))
                .collect();
            let _ = write!(
                s,
                "review rule (threshold {:.3}{}): {:.1} % to review, accuracy {:.3} on the rest",
                r.threshold,
                labels.concat(),
                100.0 * r.reviewed,
                r.decided_accuracy
            );
            if let (Some(b), Some(nr), Some(pass)) =
                (&self.binary, r.negative_reviewed, r.passed_as_negative)
            {
                let _ = write!(
                    s,
                    "; {} reviewed {:.2} %, others passed as {} unseen {:.2} %",
                    b.negative,
                    100.0 * nr,
                    b.negative,
                    100.0 * pass
                );
            }
            let _ = writeln!(s);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["legitimate".into(), "spam".into()]
    }

    #[test]
    fn perfect_predictions() {
        let y = [0, 1, 0, 1];
        let p: Vec<Vec<f32>> = y
            .iter()
            .map(|&c| {
                if c == 0 {
                    vec![1.0, 0.0]
                } else {
                    vec![0.0, 1.0]
                }
            })
            .collect();
        let r = evaluate(&labels(), &y, &p, 0.95, Some("legitimate"));
        assert_eq!(r.accuracy, 1.0);
        assert_eq!(r.macro_f1, 1.0);
        assert!(r.ece < 1e-9);
        let b = r.binary.unwrap();
        assert_eq!(b.false_positive_rate, 0.0);
        assert_eq!(b.recall, 1.0);
    }

    #[test]
    fn known_confusion_and_ece() {
        // True: 0 0 1 1; predicted 0 1 1 1 with confidence 0.6 each.
        let y = [0, 0, 1, 1];
        let p = vec![
            vec![0.6, 0.4],
            vec![0.4, 0.6],
            vec![0.4, 0.6],
            vec![0.4, 0.6],
        ];
        let r = evaluate(&labels(), &y, &p, 0.9, Some("legitimate"));
        assert_eq!(r.confusion, vec![vec![1, 1], vec![0, 2]]);
        assert!((r.accuracy - 0.75).abs() < 1e-9);
        // spam: P 2/3 R 1 F1 0.8; legitimate: P 1 R 0.5 F1 2/3.
        assert!((r.macro_f1 - (0.8 + 2.0 / 3.0) / 2.0).abs() < 1e-9);
        assert!((r.ece - 0.15).abs() < 1e-6);
        assert_eq!(r.binary.as_ref().unwrap().false_positive_rate, 0.5);
    }

    #[test]
    fn coverage_keeps_the_confident_ones() {
        let y = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let mut p: Vec<Vec<f32>> = (0..9)
            .map(|i| vec![0.9 + i as f32 * 0.01, 0.1 - i as f32 * 0.01])
            .collect();
        p.push(vec![0.55, 0.45]); // wrong, least confident
        let r = evaluate(&labels(), &y, &p, 0.99, None);
        assert_eq!(r.at_coverage[2].accuracy, 0.9);
        assert_eq!(r.at_coverage[1].accuracy, 1.0);
        let t = r.threshold_for_target.clone().unwrap();
        assert!((t.coverage - 0.9).abs() < 1e-9);
        assert!((t.threshold - 0.9).abs() < 1e-6);
        assert!(r.to_table().contains("macro-F1"));
    }

    #[test]
    fn a_label_threshold_sends_unsure_legitimate_decisions_to_review() {
        // legitimate, legitimate, spam, spam: the second spam is called legitimate at 0.7.
        let y = [0, 0, 1, 1];
        let p = vec![
            vec![0.95, 0.05],
            vec![0.75, 0.25],
            vec![0.1, 0.9],
            vec![0.7, 0.3],
        ];
        let plain = ReviewPolicy::default().for_axis(0.5, &BTreeMap::new());
        let o = review_outcome(&labels(), &y, &p, &plain, Some("legitimate"));
        assert_eq!(o.reviewed, 0.0);
        assert_eq!(o.decided_accuracy, 0.75);
        assert_eq!(o.passed_as_negative, Some(0.5));
        let strict = BTreeMap::from([("legitimate".to_string(), 0.8)]);
        let o = review_outcome(
            &labels(),
            &y,
            &p,
            &plain.for_axis(0.5, &strict),
            Some("legitimate"),
        );
        assert_eq!(o.reviewed, 0.5);
        assert_eq!(o.decided_accuracy, 1.0);
        assert_eq!(o.negative_reviewed, Some(0.5));
        assert_eq!(o.passed_as_negative, Some(0.0));
        let mut r = evaluate(&labels(), &y, &p, 0.9, Some("legitimate"));
        r.review = Some(o);
        let t = r.to_table();
        assert!(
            t.contains("review rule (threshold 0.500, legitimate 0.80): 50.0 % to review"),
            "{t}"
        );
    }
}
