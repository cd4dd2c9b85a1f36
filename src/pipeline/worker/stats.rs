//! A worker's counters, shared between its loop, its lease heartbeat and whoever shows them
//! (the `--metrics-port` page), and their Prometheus text form beside the queue's own counts.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::store::JobCounts;

/// What one worker has done since it started. Every field only grows, except `in_flight`.
#[derive(Debug)]
pub struct WorkerStats {
    started: Instant,
    pub(super) claimed: AtomicU64,
    pub(super) claimed_again: AtomicU64,
    pub(super) done: AtomicU64,
    pub(super) retried: AtomicU64,
    pub(super) parked: AtomicU64,
    pub(super) released: AtomicU64,
    pub(super) leases_lost: AtomicU64,
    pub(super) store_errors: AtomicU64,
    pub(super) in_flight: AtomicU64,
    pub(super) busy_ms: AtomicU64,
}

impl Default for WorkerStats {
    fn default() -> Self {
        WorkerStats {
            started: Instant::now(),
            claimed: AtomicU64::new(0),
            claimed_again: AtomicU64::new(0),
            done: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            parked: AtomicU64::new(0),
            released: AtomicU64::new(0),
            leases_lost: AtomicU64::new(0),
            store_errors: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            busy_ms: AtomicU64::new(0),
        }
    }
}

/// A copy of a worker's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct WorkerSnapshot {
    /// Seconds since the worker started.
    pub uptime_s: f64,
    /// Jobs claimed.
    pub claimed: u64,
    /// Of which claimed before by some worker (a lapsed lease taken over, or a retry).
    pub claimed_again: u64,
    /// Jobs finished with their record stored.
    pub done: u64,
    /// Jobs that failed an attempt and were queued again.
    pub retried: u64,
    /// Jobs parked with their error record.
    pub parked: u64,
    /// Jobs given back unstarted at shutdown.
    pub released: u64,
    /// Leases found taken over or ended when the heartbeat renewed them (the worker was too
    /// slow, or the database lost them); the job's effect is still stored once.
    pub leases_lost: u64,
    /// Store calls that failed and were tried again.
    pub store_errors: u64,
    /// Jobs held now.
    pub in_flight: u64,
    /// Seconds spent in rounds with work (claiming, triaging, storing).
    pub busy_s: f64,
}

impl WorkerSnapshot {
    /// Jobs finished (done or parked) per second of uptime.
    pub fn rate(&self) -> f64 {
        (self.done + self.parked) as f64 / self.uptime_s.max(1e-9)
    }
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl WorkerStats {
    pub(super) fn count(&self, c: &AtomicU64, n: u64) {
        add(c, n);
    }

    pub(super) fn set_in_flight(&self, n: usize) {
        self.in_flight.store(n as u64, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> WorkerSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WorkerSnapshot {
            uptime_s: self.started.elapsed().as_secs_f64(),
            claimed: get(&self.claimed),
            claimed_again: get(&self.claimed_again),
            done: get(&self.done),
            retried: get(&self.retried),
            parked: get(&self.parked),
            released: get(&self.released),
            leases_lost: get(&self.leases_lost),
            store_errors: get(&self.store_errors),
            in_flight: get(&self.in_flight),
            busy_s: get(&self.busy_ms) as f64 / 1e3,
        }
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus text page of a worker: its own counters (labelled with its id) and, when the
/// store answered, the queue's counts, which every worker reports alike (aggregate them with
/// `max`, not `sum`).
pub fn render_metrics(worker: &str, s: &WorkerSnapshot, queue: Option<&JobCounts>) -> String {
    let w = escape(worker);
    let mut o = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: &[(&str, f64)]| {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in rows {
            let sep = if labels.is_empty() { "" } else { "," };
            let _ = writeln!(o, "{name}{{worker=\"{w}\"{sep}{labels}}} {v}");
        }
    };
    family(
        "mailroom_worker_jobs_total",
        "counter",
        "Jobs this worker finished, by outcome (done: record stored; parked: error record stored, not tried again; retried: queued again after a failed attempt; released: given back unstarted at shutdown).",
        &[
            ("outcome=\"done\"", s.done as f64),
            ("outcome=\"parked\"", s.parked as f64),
            ("outcome=\"retried\"", s.retried as f64),
            ("outcome=\"released\"", s.released as f64),
        ],
    );
    family(
        "mailroom_worker_claimed_total",
        "counter",
        "Jobs this worker claimed; attempt=\"again\": claimed before by some worker (a lapsed lease taken over, or a retry).",
        &[
            ("attempt=\"first\"", s.claimed.saturating_sub(s.claimed_again) as f64),
            ("attempt=\"again\"", s.claimed_again as f64),
        ],
    );
    family(
        "mailroom_worker_leases_lost_total",
        "counter",
        "Leases this worker found lapsed and taken over when renewing them.",
        &[("", s.leases_lost as f64)],
    );
    family(
        "mailroom_worker_store_errors_total",
        "counter",
        "Store calls that failed and were tried again (a database restart, a lost connection).",
        &[("", s.store_errors as f64)],
    );
    family(
        "mailroom_worker_in_flight",
        "gauge",
        "Jobs this worker holds now.",
        &[("", s.in_flight as f64)],
    );
    family(
        "mailroom_worker_busy_seconds_total",
        "counter",
        "Seconds this worker spent with work in hand.",
        &[("", s.busy_s)],
    );
    family(
        "mailroom_worker_uptime_seconds",
        "gauge",
        "Seconds since this worker started.",
        &[("", s.uptime_s)],
    );
    if let Some(c) = queue {
        render_queue(&mut o, c);
    }
    o
}

/// The queue's counts, as every worker reports them (and `queue status` prints them).
fn render_queue(o: &mut String, c: &JobCounts) {
    let _ = writeln!(
        o,
        "# HELP mailroom_jobs Jobs in the store, by state.\n# TYPE mailroom_jobs gauge"
    );
    for (state, n) in [
        ("queued", c.queued),
        ("claimed", c.claimed),
        ("done", c.done),
        ("failed", c.failed),
    ] {
        let _ = writeln!(o, "mailroom_jobs{{state=\"{state}\"}} {n}");
    }
    let _ = writeln!(
        o,
        "# HELP mailroom_queue_depth Jobs waiting for a worker (scale workers on this).\n\
         # TYPE mailroom_queue_depth gauge\nmailroom_queue_depth {}",
        c.queued
    );
    let _ = writeln!(
        o,
        "# HELP mailroom_queue_oldest_seconds Age of the oldest waiting job (0 when none waits).\n\
         # TYPE mailroom_queue_oldest_seconds gauge\nmailroom_queue_oldest_seconds {}",
        c.oldest_queued_ms.unwrap_or(0).max(0) as f64 / 1e3
    );
    let _ = writeln!(
        o,
        "# HELP mailroom_jobs_lease_expired Claimed jobs whose lease has run out (their worker stopped; the next claim takes them over).\n\
         # TYPE mailroom_jobs_lease_expired gauge\nmailroom_jobs_lease_expired {}",
        c.expired_leases
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_family_once() {
        let stats = WorkerStats::default();
        stats.count(&stats.done, 3);
        stats.count(&stats.claimed, 4);
        stats.count(&stats.claimed_again, 1);
        let counts = JobCounts {
            queued: 5,
            claimed: 1,
            done: 3,
            failed: 0,
            oldest_queued_ms: Some(1500),
            expired_leases: 0,
        };
        let page = render_metrics("host-1 \"a\"", &stats.snapshot(), Some(&counts));
        assert!(page.contains(
            "mailroom_worker_jobs_total{worker=\"host-1 \\\"a\\\"\",outcome=\"done\"} 3"
        ));
        assert!(page.contains("attempt=\"first\"} 3"));
        assert!(page.contains("mailroom_worker_leases_lost_total{worker=\"host-1 \\\"a\\\"\"} 0"));
        assert!(page.contains("mailroom_jobs{state=\"queued\"} 5"));
        assert!(page.contains("mailroom_queue_oldest_seconds 1.5"));
        for line in page.lines().filter(|l| l.starts_with("# TYPE")) {
            let name = line.split_whitespace().nth(2).unwrap();
            assert_eq!(
                page.matches(&format!("# TYPE {name} ")).count(),
                1,
                "{name}"
            );
        }
        assert!(!render_metrics("w", &stats.snapshot(), None).contains("mailroom_jobs{"));
    }
}
