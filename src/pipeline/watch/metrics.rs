//! The watcher's counters, shared with whoever shows them (the CLI's status line and its
//! Prometheus endpoint): plain atomics, written by the watch loop, read at any time. Counts
//! only; nothing of a message.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters and gauges of one watch.
#[derive(Debug, Default)]
pub struct WatchStats {
    /// Messages fetched from the folder (new ones, not those read again to finish marks).
    pub seen: AtomicU64,
    /// Records written.
    pub triaged: AtomicU64,
    /// Messages queued for workers (a watch into the job queue).
    pub queued: AtomicU64,
    /// Error records written (a message too large, unreadable, unparseable).
    pub failed: AtomicU64,
    /// Messages not triaged again: already in the output or the store.
    pub skipped: AtomicU64,
    /// Messages given keywords.
    pub keyworded: AtomicU64,
    /// Junk messages moved.
    pub moved: AtomicU64,
    /// Connections remade after a loss.
    pub reconnects: AtomicU64,
    /// Times the folder's UIDVALIDITY changed under the watcher.
    pub renumberings: AtomicU64,
    /// The highest UID known in the folder.
    pub newest_uid: AtomicU64,
    /// The highest UID whose record is safe.
    pub done_uid: AtomicU64,
    /// 1 while the server is watched with IDLE, 0 while it is polled.
    pub idle: AtomicU64,
}

/// A snapshot of [`WatchStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchCounts {
    /// See [`WatchStats::seen`].
    pub seen: u64,
    /// See [`WatchStats::triaged`].
    pub triaged: u64,
    /// See [`WatchStats::queued`].
    pub queued: u64,
    /// See [`WatchStats::failed`].
    pub failed: u64,
    /// See [`WatchStats::skipped`].
    pub skipped: u64,
    /// See [`WatchStats::keyworded`].
    pub keyworded: u64,
    /// See [`WatchStats::moved`].
    pub moved: u64,
    /// See [`WatchStats::reconnects`].
    pub reconnects: u64,
    /// See [`WatchStats::renumberings`].
    pub renumberings: u64,
    /// Messages (by UID) between the newest in the folder and the last one done.
    pub lag: u64,
}

impl WatchStats {
    /// Add `n` to a counter.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Record that `uid` exists in the folder.
    pub(crate) fn saw_uid(&self, uid: u32) {
        self.newest_uid.fetch_max(u64::from(uid), Ordering::Relaxed);
    }

    /// A snapshot.
    pub fn counts(&self) -> WatchCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WatchCounts {
            seen: get(&self.seen),
            triaged: get(&self.triaged),
            queued: get(&self.queued),
            failed: get(&self.failed),
            skipped: get(&self.skipped),
            keyworded: get(&self.keyworded),
            moved: get(&self.moved),
            reconnects: get(&self.reconnects),
            renumberings: get(&self.renumberings),
            lag: get(&self.newest_uid).saturating_sub(get(&self.done_uid)),
        }
    }

    /// The Prometheus text exposition of the counters.
    pub fn prometheus(&self) -> String {
        let c = self.counts();
        let idle = self.idle.load(Ordering::Relaxed);
        let mut w = String::new();
        let rows: [(&str, &str, &str, u64); 11] = [
            (
                "mailroom_watch_messages_seen_total",
                "counter",
                "Messages fetched from the folder.",
                c.seen,
            ),
            (
                "mailroom_watch_messages_triaged_total",
                "counter",
                "Records written.",
                c.triaged,
            ),
            (
                "mailroom_watch_messages_queued_total",
                "counter",
                "Messages queued for workers (watch --queue).",
                c.queued,
            ),
            (
                "mailroom_watch_messages_failed_total",
                "counter",
                "Error records written (too large, unreadable).",
                c.failed,
            ),
            (
                "mailroom_watch_messages_skipped_total",
                "counter",
                "Messages already in the output or the store, not triaged again.",
                c.skipped,
            ),
            (
                "mailroom_watch_messages_keyworded_total",
                "counter",
                "Messages given mailroom keywords.",
                c.keyworded,
            ),
            (
                "mailroom_watch_messages_moved_total",
                "counter",
                "Junk messages moved to the junk folder.",
                c.moved,
            ),
            (
                "mailroom_watch_reconnects_total",
                "counter",
                "Connections to the mail server remade after a loss.",
                c.reconnects,
            ),
            (
                "mailroom_watch_uidvalidity_changes_total",
                "counter",
                "Times the folder was renumbered (UIDVALIDITY changed).",
                c.renumberings,
            ),
            (
                "mailroom_watch_lag_messages",
                "gauge",
                "UIDs between the newest message in the folder and the last one done.",
                c.lag,
            ),
            (
                "mailroom_watch_idle",
                "gauge",
                "1 when the server is watched with IDLE, 0 when polled.",
                idle,
            ),
        ];
        for (name, kind, help, value) in rows {
            let _ = writeln!(w, "# HELP {name} {help}");
            let _ = writeln!(w, "# TYPE {name} {kind}");
            let _ = writeln!(w, "{name} {value}");
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lag_is_the_distance_to_the_newest_uid() {
        let s = WatchStats::default();
        s.saw_uid(40);
        s.saw_uid(12);
        s.done_uid.store(35, Ordering::Relaxed);
        WatchStats::add(&s.triaged, 3);
        let c = s.counts();
        assert_eq!((c.lag, c.triaged), (5, 3));
        let text = s.prometheus();
        assert!(text.contains("\nmailroom_watch_lag_messages 5\n"), "{text}");
        assert!(text.contains("# TYPE mailroom_watch_reconnects_total counter"));
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 11);
    }
}
