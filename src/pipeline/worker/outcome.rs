//! What becomes of a job once the engine has its output: done with its record, tried again
//! later, or parked with its error record. A message the parser refuses is refused the same way
//! by every worker, so it is parked at once; a failure in a model stage may not recur (another
//! worker, another device, memory freed), so it is tried again after a growing delay until the
//! job's attempts are used up.

use std::time::Duration;

use crate::pipeline::Output;

/// The longest wait before a failed job is tried again.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(600);

/// What to do with a job after its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Store the record and mark the job done.
    Done,
    /// Store the error record and park the job as failed: it will not be tried again.
    Park,
    /// Queue the job again after this delay; it keeps its error until then.
    Retry(Duration),
}

/// Stages whose failure is the message's own (the same bytes fail the same way everywhere).
const INPUT_STAGES: [&str; 2] = ["read", "parse"];

/// The verdict on `out`, the output of a job on its `attempt`-th attempt (1-based) of
/// `max_attempts`; a retry waits `retry_base` doubled for each attempt already made, at most
/// [`MAX_RETRY_DELAY`].
pub fn decide(out: &Output, attempt: i64, max_attempts: i64, retry_base: Duration) -> Verdict {
    match out {
        Output::Record(_) => Verdict::Done,
        Output::Error(e) if INPUT_STAGES.contains(&e.error.stage) => Verdict::Park,
        Output::Error(_) if attempt >= max_attempts => Verdict::Park,
        Output::Error(_) => Verdict::Retry(retry_delay(attempt, retry_base)),
    }
}

/// `base * 2^(attempt - 1)`, at most [`MAX_RETRY_DELAY`].
pub fn retry_delay(attempt: i64, base: Duration) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(1u32 << doublings).min(MAX_RETRY_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::{Message, Provenance, SourceKind};
    use crate::pipeline::ErrorRecord;

    fn failed(stage: &'static str) -> Output {
        let m = Message {
            id: "m".into(),
            provenance: Provenance {
                path: "m.eml".into(),
                kind: SourceKind::Eml,
                index: None,
                offset: None,
            },
            content: Ok(crate::email::Content::Raw(b"x".to_vec())),
        };
        Output::Error(Box::new(ErrorRecord::for_message(
            &m,
            stage,
            "k".into(),
            "failed".into(),
        )))
    }

    #[test]
    fn model_failures_are_retried_until_the_last_attempt() {
        let base = Duration::from_secs(5);
        let out = failed("summarize");
        assert_eq!(decide(&out, 1, 3, base), Verdict::Retry(base));
        assert_eq!(decide(&out, 2, 3, base), Verdict::Retry(base * 2));
        assert_eq!(
            decide(&out, 3, 3, base),
            Verdict::Park,
            "never retried forever"
        );
        assert_eq!(decide(&out, 9, 3, base), Verdict::Park);
    }

    #[test]
    fn input_failures_are_parked_at_once() {
        for stage in ["read", "parse"] {
            assert_eq!(
                decide(&failed(stage), 1, 5, Duration::from_secs(5)),
                Verdict::Park
            );
        }
    }

    #[test]
    fn delays_grow_and_stop_growing() {
        let base = Duration::from_secs(5);
        assert_eq!(retry_delay(0, base), base);
        assert_eq!(retry_delay(4, base), Duration::from_secs(40));
        assert_eq!(retry_delay(40, base), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(i64::MAX, Duration::MAX), MAX_RETRY_DELAY);
    }
}
