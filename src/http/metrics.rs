//! Prometheus metrics, kept by hand: request counts by route and status, latency histograms,
//! queue depth per lane, tokens generated, labels decided per axis, and the review rate. The
//! text exposition format is small enough not to need a crate.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::pipeline::Output;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct State {
    requests: BTreeMap<(String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    overloaded: BTreeMap<&'static str, u64>,
    tokens_generated: u64,
    tokens_prompt: u64,
    labels: BTreeMap<(String, String), u64>,
    messages: u64,
    failed: u64,
    needs_review: u64,
}

/// The server's counters.
#[derive(Default)]
pub(crate) struct Metrics {
    state: Mutex<State>,
}

/// A lane's queue as the metrics page shows it.
pub(crate) struct LaneGauge {
    pub(crate) lane: &'static str,
    pub(crate) depth: usize,
    pub(crate) capacity: usize,
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut s = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut s)
    }

    /// Count one answered request.
    pub(crate) fn request(&self, route: &str, status: u16, seconds: f64) {
        self.with(|s| {
            *s.requests.entry((route.to_string(), status)).or_default() += 1;
            let h = s.latency.entry(route.to_string()).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        });
    }

    /// Count a request refused because a lane was full.
    pub(crate) fn overloaded(&self, lane: &'static str) {
        self.with(|s| *s.overloaded.entry(lane).or_default() += 1);
    }

    /// Count the decisions, reviews and tokens of finished messages.
    pub(crate) fn outputs(&self, outputs: &[Output]) {
        self.with(|s| {
            for o in outputs {
                s.messages += 1;
                match o {
                    Output::Record(r) => {
                        s.needs_review += u64::from(r.needs_review);
                        for a in &r.classification {
                            *s.labels
                                .entry((a.axis.clone(), a.label.clone()))
                                .or_default() += 1;
                        }
                        if let Some(sum) = &r.summary {
                            s.tokens_generated += sum.tokens.generated as u64;
                            s.tokens_prompt += sum.tokens.prompt as u64;
                        }
                    }
                    Output::Error(_) => s.failed += 1,
                }
            }
        });
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self, lanes: &[LaneGauge], ready: bool) -> String {
        let mut out = String::new();
        self.with(|s| {
            let w = &mut out;
            let _ = writeln!(w, "# HELP mailroom_up Whether the models are loaded and warmed (1) or not yet (0).");
            let _ = writeln!(w, "# TYPE mailroom_up gauge");
            let _ = writeln!(w, "mailroom_up {}", u8::from(ready));

            let _ = writeln!(w, "# HELP mailroom_http_requests_total HTTP requests answered, by route and status.");
            let _ = writeln!(w, "# TYPE mailroom_http_requests_total counter");
            for ((route, status), n) in &s.requests {
                let _ = writeln!(
                    w,
                    "mailroom_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }

            let _ = writeln!(w, "# HELP mailroom_http_request_duration_seconds Time to answer a request, by route.");
            let _ = writeln!(w, "# TYPE mailroom_http_request_duration_seconds histogram");
            for (route, h) in &s.latency {
                let route = escape(route);
                for (b, c) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(
                        w,
                        "mailroom_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {c}"
                    );
                }
                let _ = writeln!(
                    w,
                    "mailroom_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    w,
                    "mailroom_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    w,
                    "mailroom_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }

            let _ = writeln!(w, "# HELP mailroom_queue_depth Messages queued or in work, by model lane.");
            let _ = writeln!(w, "# TYPE mailroom_queue_depth gauge");
            for l in lanes {
                let _ = writeln!(w, "mailroom_queue_depth{{lane=\"{}\"}} {}", l.lane, l.depth);
            }
            let _ = writeln!(w, "# HELP mailroom_queue_capacity Most messages a lane holds before answering 429.");
            let _ = writeln!(w, "# TYPE mailroom_queue_capacity gauge");
            for l in lanes {
                let _ = writeln!(w, "mailroom_queue_capacity{{lane=\"{}\"}} {}", l.lane, l.capacity);
            }
            let _ = writeln!(w, "# HELP mailroom_overloaded_total Requests refused with 429 because a lane was full.");
            let _ = writeln!(w, "# TYPE mailroom_overloaded_total counter");
            for l in lanes {
                let n = s.overloaded.get(l.lane).copied().unwrap_or(0);
                let _ = writeln!(w, "mailroom_overloaded_total{{lane=\"{}\"}} {n}", l.lane);
            }

            let _ = writeln!(w, "# HELP mailroom_generated_tokens_total Tokens written by the generator.");
            let _ = writeln!(w, "# TYPE mailroom_generated_tokens_total counter");
            let _ = writeln!(w, "mailroom_generated_tokens_total {}", s.tokens_generated);
            let _ = writeln!(w, "# HELP mailroom_prompt_tokens_total Prompt tokens read by the generator.");
            let _ = writeln!(w, "# TYPE mailroom_prompt_tokens_total counter");
            let _ = writeln!(w, "mailroom_prompt_tokens_total {}", s.tokens_prompt);

            let _ = writeln!(w, "# HELP mailroom_labels_total Decisions made, by axis and label.");
            let _ = writeln!(w, "# TYPE mailroom_labels_total counter");
            for ((axis, label), n) in &s.labels {
                let _ = writeln!(
                    w,
                    "mailroom_labels_total{{axis=\"{}\",label=\"{}\"}} {n}",
                    escape(axis),
                    escape(label)
                );
            }

            let _ = writeln!(w, "# HELP mailroom_messages_total Messages processed, by outcome.");
            let _ = writeln!(w, "# TYPE mailroom_messages_total counter");
            let ok = s.messages - s.failed;
            let _ = writeln!(w, "mailroom_messages_total{{outcome=\"record\"}} {ok}");
            let _ = writeln!(w, "mailroom_messages_total{{outcome=\"error\"}} {}", s.failed);
            let _ = writeln!(w, "# HELP mailroom_needs_review_total Records sent to a person for review.");
            let _ = writeln!(w, "# TYPE mailroom_needs_review_total counter");
            let _ = writeln!(w, "mailroom_needs_review_total {}", s.needs_review);
            let _ = writeln!(w, "# HELP mailroom_review_rate Share of records sent to review since start.");
            let _ = writeln!(w, "# TYPE mailroom_review_rate gauge");
            let rate = if ok > 0 {
                s.needs_review as f64 / ok as f64
            } else {
                0.0
            };
            let _ = writeln!(w, "mailroom_review_rate {rate}");
        });
        out
    }
}
