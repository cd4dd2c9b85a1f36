//! The model-independent parts of learning from the store: ordering the reviewed messages in
//! time and splitting them (train on the older, test on the newer), scoring probabilities
//! (macro-F1, accuracy, calibration, the review share at the thresholds in use), and the
//! comparison of a candidate head against the head in use that an admin decides on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::classify::ReviewPolicy;

use super::metrics::{evaluate, review_outcome};

/// Share of the reviewed messages (the newest) a candidate is tested on by default.
pub const DEFAULT_TEST_SHARE: f64 = 0.3;

/// The time split of `n` messages ordered oldest first: how many train (the first ones) and
/// how many test (the rest). At least one of each; `None` below two messages.
pub fn time_split(n: usize, test_share: f64) -> Option<(usize, usize)> {
    if n < 2 {
        return None;
    }
    let share = if test_share.is_finite() {
        test_share.clamp(0.0, 1.0)
    } else {
        DEFAULT_TEST_SHARE
    };
    let test = ((n as f64 * share).round() as usize).clamp(1, n - 1);
    Some((n - test, test))
}

/// Scores of one head on the test messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Messages scored.
    pub n: usize,
    /// Mean F1 over the labels present.
    pub macro_f1: f64,
    /// Share given their true label.
    pub accuracy: f64,
    /// Expected calibration error of the top probability.
    pub ece: f64,
    /// Share sent to review at the thresholds in use.
    pub review_share: f64,
}

/// Score probabilities `probs` (columns in `labels` order) against true labels `y`, with the
/// review share under `policy`.
pub fn score(labels: &[String], y: &[usize], probs: &[Vec<f32>], policy: &ReviewPolicy) -> Scores {
    let r = evaluate(labels, y, probs, 0.95, None);
    let review = review_outcome(labels, y, probs, policy, None);
    Scores {
        n: y.len(),
        macro_f1: r.macro_f1,
        accuracy: r.accuracy,
        ece: r.ece,
        review_share: review.reviewed,
    }
}

/// What a candidate is compared with, for people: `store head 7`, `shipped head`, `zero-shot`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InUse {
    /// Its kind: `store`, `shipped`, `zero_shot` or `none`.
    pub kind: String,
    /// The store head's id, for `store`.
    pub id: Option<i64>,
    /// SHA-256 of the head's bytes (not for zero-shot).
    pub sha256: Option<String>,
}

impl InUse {
    /// For people.
    pub fn describe(&self) -> String {
        let sha = |s: &Option<String>| {
            s.as_deref()
                .map(|s| format!(" {}", &s[..s.len().min(12)]))
                .unwrap_or_default()
        };
        match (self.kind.as_str(), self.id) {
            ("store", Some(id)) => format!("store head {id}{}", sha(&self.sha256)),
            ("shipped", _) => format!("shipped head{}", sha(&self.sha256)),
            ("zero_shot", _) => "zero-shot".into(),
            _ => "nothing".into(),
        }
    }
}

/// A candidate against the head in use, on reviewed mail neither trained on (the newest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The axis.
    pub axis: String,
    /// What decides the axis now.
    pub in_use: InUse,
    /// Reviewed messages the comparison's candidate trained on (the older ones).
    pub n_train: usize,
    /// Reviewed messages both were tested on (the newer ones).
    pub n_test: usize,
    /// The time the test messages start at (ms since the epoch): trained before, tested from.
    pub split_ms: i64,
    /// The candidate trained on the older messages.
    pub candidate: Scores,
    /// The head in use, on the same messages (`None` when nothing decides the axis).
    pub current: Option<Scores>,
    /// The review threshold both are scored at (the one in use).
    pub threshold: f32,
    /// Label thresholds both are scored at.
    pub label_thresholds: BTreeMap<String, f32>,
    /// Reviewed messages the final candidate trained on (all of them).
    pub n_final: usize,
}

impl Comparison {
    /// Whether the candidate scores at least as well as the head in use on macro-F1.
    pub fn candidate_wins(&self) -> bool {
        self.current
            .as_ref()
            .is_none_or(|c| self.candidate.macro_f1 >= c.macro_f1)
    }

    /// The comparison as lines for people.
    pub fn lines(&self) -> Vec<String> {
        let row = |name: &str, s: &Scores| {
            format!(
                "{name:<12} macro-F1 {:.3}  accuracy {:.3}  ECE {:.3}  to review {:>5.1} %  (n {})",
                s.macro_f1,
                s.accuracy,
                s.ece,
                100.0 * s.review_share,
                s.n
            )
        };
        let mut out = vec![format!(
            "axis {}: trained on the {} older reviewed messages, tested on the {} newer ones \
             (threshold {:.2})",
            self.axis, self.n_train, self.n_test, self.threshold
        )];
        out.push(row("candidate", &self.candidate));
        match &self.current {
            Some(c) => out.push(row("in use", c) + &format!("  [{}]", self.in_use.describe())),
            None => out.push("in use       nothing decides this axis yet".into()),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_trains_on_older_and_tests_on_newer() {
        assert_eq!(time_split(0, 0.3), None);
        assert_eq!(time_split(1, 0.3), None);
        assert_eq!(time_split(2, 0.3), Some((1, 1)));
        assert_eq!(time_split(3, 0.3), Some((2, 1)));
        assert_eq!(time_split(10, 0.3), Some((7, 3)));
        assert_eq!(time_split(10, 0.0), Some((9, 1)));
        assert_eq!(time_split(10, 1.0), Some((1, 9)));
        assert_eq!(time_split(100, f64::NAN), Some((70, 30)));
    }

    #[test]
    fn scores_and_review_share() {
        let labels = vec!["a".to_string(), "b".to_string()];
        let y = vec![0, 1, 1, 0];
        let probs = vec![
            vec![0.9, 0.1],
            vec![0.2, 0.8],
            vec![0.6, 0.4],
            vec![0.55, 0.45],
        ];
        let policy = ReviewPolicy::default().for_axis(0.7, &BTreeMap::new());
        let s = score(&labels, &y, &probs, &policy);
        assert_eq!(s.n, 4);
        assert!((s.accuracy - 0.75).abs() < 1e-9);
        // Two of four are below 0.7.
        assert!((s.review_share - 0.5).abs() < 1e-9, "{s:?}");
        assert!(s.macro_f1 > 0.6 && s.macro_f1 < 0.8, "{s:?}");
    }

    #[test]
    fn comparison_reads_for_people() {
        let s = |f1| Scores {
            n: 3,
            macro_f1: f1,
            accuracy: 0.5,
            ece: 0.1,
            review_share: 0.2,
        };
        let mut c = Comparison {
            axis: "category".into(),
            in_use: InUse {
                kind: "store".into(),
                id: Some(4),
                sha256: Some("abcdef0123456789".into()),
            },
            n_train: 7,
            n_test: 3,
            split_ms: 0,
            candidate: s(0.6),
            current: Some(s(0.5)),
            threshold: 0.5,
            label_thresholds: BTreeMap::new(),
            n_final: 10,
        };
        assert!(c.candidate_wins());
        let text = c.lines().join("\n");
        assert!(text.contains("store head 4 abcdef012345"), "{text}");
        assert!(
            text.contains("7 older") && text.contains("3 newer"),
            "{text}"
        );
        c.current = Some(s(0.7));
        assert!(!c.candidate_wins());
        c.current = None;
        assert!(c.candidate_wins());
    }
}
