//! The review rule: when a decision goes to a person, and why. The record carries every reason
//! that applied, not only the first.

use serde::{Deserialize, Serialize};

use super::Document;

/// Why a decision needs a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ReviewReason {
    /// The top probability is below the axis threshold.
    LowConfidence {
        /// The top probability.
        probability: f32,
        /// The axis threshold.
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
    /// Review when the top probability is below this.
    pub threshold: f32,
    /// Review when more than this share of the text was dropped.
    pub max_truncated: f32,
}

impl Default for ReviewPolicy {
    fn default() -> Self {
        ReviewPolicy {
            threshold: 0.5,
            max_truncated: 0.5,
        }
    }
}

impl ReviewPolicy {
    /// The same policy with another threshold.
    pub fn with_threshold(&self, threshold: f32) -> ReviewPolicy {
        ReviewPolicy {
            threshold,
            ..self.clone()
        }
    }

    /// Every reason that applies to a decision with top probability `probability` on `doc`.
    pub fn reasons(&self, probability: f32, doc: &Document) -> Vec<ReviewReason> {
        let mut v = Vec::new();
        if probability < self.threshold {
            v.push(ReviewReason::LowConfidence {
                probability,
                threshold: self.threshold,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_reported() {
        let p = ReviewPolicy::default();
        let mut d = Document::new("s", "b");
        assert!(p.reasons(0.9, &d).is_empty());
        d.clean = false;
        d.truncated = 0.8;
        let r = p.reasons(0.3, &d);
        assert_eq!(r.len(), 3);
        let j = serde_json::to_string(&r[0]).unwrap();
        assert!(j.contains("\"reason\":\"low_confidence\""), "{j}");
    }
}
