//! The review rule: when a decision goes to a person, and why. The record carries every reason
//! that applied, not only the first.
//!
//! A decision goes to review when its probability is below the threshold that applies to its
//! label: the operator's override (`--review-threshold`) when given, else the label's own
//! threshold (e.g. `legitimate` on the junk axis, where a wrong "legitimate" lets junk reach
//! staff unseen), else the axis threshold (taxonomy or head).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Document;

/// Why a decision needs a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ReviewReason {
    /// The top probability is below the threshold for its label.
    LowConfidence {
        /// The top probability.
        probability: f32,
        /// The threshold that applied.
        threshold: f32,
    },
    /// Much of the message did not fit the model's token budget.
    Truncated {
        /// Share of the text dropped.
        dropped: f32,
    },
    /// The message could not be parsed cleanly, so its text may be incomplete.
    UncleanParse,
}

/// The review rule for one axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewPolicy {
    /// Review when the top probability is below this (the axis threshold).
    pub threshold: f32,
    /// Labels whose decisions need another probability than the axis threshold.
    #[serde(default)]
    pub label_thresholds: BTreeMap<String, f32>,
    /// The operator's threshold for every axis and label, when set (wins over the others).
    #[serde(default)]
    pub override_threshold: Option<f32>,
    /// Review when more than this share of the text was dropped.
    pub max_truncated: f32,
}

impl Default for ReviewPolicy {
    fn default() -> Self {
        ReviewPolicy {
            threshold: 0.5,
            label_thresholds: BTreeMap::new(),
            override_threshold: None,
            max_truncated: 0.5,
        }
    }
}

impl ReviewPolicy {
    /// The same policy with an axis's thresholds (the operator's override, if any, stays).
    pub fn for_axis(&self, threshold: f32, label_thresholds: &BTreeMap<String, f32>) -> Self {
        ReviewPolicy {
            threshold,
            label_thresholds: label_thresholds.clone(),
            ..self.clone()
        }
    }

    /// The threshold a decision for `label` must reach.
    pub fn threshold_for(&self, label: &str) -> f32 {
        self.override_threshold.unwrap_or_else(|| {
            self.label_thresholds
                .get(label)
                .copied()
                .unwrap_or(self.threshold)
        })
    }

    /// Every reason that applies to a decision for `label` with probability `probability` on
    /// `doc`.
    pub fn reasons(&self, label: &str, probability: f32, doc: &Document) -> Vec<ReviewReason> {
        let mut v = Vec::new();
        let threshold = self.threshold_for(label);
        if probability < threshold {
            v.push(ReviewReason::LowConfidence {
                probability,
                threshold,
            });
        }
        if doc.truncated > self.max_truncated {
            v.push(ReviewReason::Truncated {
                dropped: doc.truncated,
            });
        }
        if !doc.clean {
            v.push(ReviewReason::UncleanParse);
        }
        v
    }
}

/// Parse `LABEL=P` pairs (a label's review threshold) into a map; P must lie in [0, 1].
pub fn parse_label_thresholds(pairs: &[String]) -> Result<BTreeMap<String, f32>, String> {
    let mut m = BTreeMap::new();
    for p in pairs {
        let (label, value) = p
            .split_once('=')
            .ok_or_else(|| format!("{p:?}: expected LABEL=PROBABILITY"))?;
        let v: f32 = value
            .trim()
            .parse()
            .map_err(|_| format!("{p:?}: {value:?} is not a number"))?;
        if !(0.0..=1.0).contains(&v) {
            return Err(format!("{p:?}: the threshold must be in [0, 1]"));
        }
        m.insert(label.trim().to_string(), v);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_reported() {
        let p = ReviewPolicy::default();
        let mut d = Document::new("s", "b");
        assert!(p.reasons("a", 0.9, &d).is_empty());
        d.clean = false;
        d.truncated = 0.8;
        let r = p.reasons("a", 0.3, &d);
        assert_eq!(r.len(), 3);
        let j = serde_json::to_string(&r[0]).unwrap();
        assert!(j.contains("\"reason\":\"low_confidence\""), "{j}");
    }

    #[test]
    fn a_label_threshold_applies_to_that_label_and_the_override_to_all() {
        let labels = parse_label_thresholds(&["legitimate=0.8".into()]).unwrap();
        let p = ReviewPolicy::default().for_axis(0.4, &labels);
        let d = Document::new("s", "b");
        // 0.6 is enough for spam (axis threshold 0.4) but not for legitimate (0.8).
        assert!(p.reasons("spam", 0.6, &d).is_empty());
        assert_eq!(
            p.reasons("legitimate", 0.6, &d),
            vec![ReviewReason::LowConfidence {
                probability: 0.6,
                threshold: 0.8
            }]
        );
        let o = ReviewPolicy {
            override_threshold: Some(0.7),
            ..ReviewPolicy::default()
        }
        .for_axis(0.4, &labels);
        assert_eq!(o.threshold_for("legitimate"), 0.7);
        assert_eq!(o.threshold_for("spam"), 0.7);
        assert!(parse_label_thresholds(&["x".into()]).is_err());
        assert!(parse_label_thresholds(&["x=2".into()]).is_err());
    }
}
