//! A set of byte spans that never overlap, for detectors that keep the best of overlapping
//! hits: whether a new span overlaps one kept is answered in logarithmic time, so that a
//! text with many thousands of hits stays linear-ish rather than quadratic.

use std::collections::BTreeMap;
use std::ops::Range;

/// Spans kept so far, none overlapping another.
#[derive(Debug, Default)]
pub struct Disjoint {
    /// start → end.
    spans: BTreeMap<usize, usize>,
}

impl Disjoint {
    /// Keep `span` unless it overlaps a span kept already; whether it was kept.
    pub fn take(&mut self, span: &Range<usize>) -> bool {
        // Kept spans are disjoint, so the one starting last before `span` ends is the only
        // one that can reach into it.
        let overlaps = self
            .spans
            .range(..span.end)
            .next_back()
            .is_some_and(|(_, &end)| end > span.start);
        if !overlaps {
            self.spans.insert(span.start, span.end);
        }
        !overlaps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_spans_clear_of_those_kept() {
        let mut d = Disjoint::default();
        assert!(d.take(&(10..20)));
        assert!(!d.take(&(15..25)), "overlaps the end");
        assert!(!d.take(&(5..11)), "overlaps the start");
        assert!(!d.take(&(12..14)), "inside");
        assert!(!d.take(&(0..40)), "around");
        assert!(d.take(&(20..30)), "touching is not overlapping");
        assert!(d.take(&(0..10)));
        assert!(!d.take(&(29..31)));
    }
}
