//! The lease heartbeat: a task on the worker's runtime that renews the leases of every job the
//! worker holds, three times per lease, while the worker's own thread is busy with the models.
//! A worker that dies stops renewing; its leases lapse and the next claim takes the jobs over.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::store::Store;

use super::stats::WorkerStats;

/// The jobs a worker holds, shared with its heartbeat.
#[derive(Debug, Clone, Default)]
pub(super) struct Held(Arc<Mutex<BTreeSet<i64>>>);

impl Held {
    fn lock(&self) -> MutexGuard<'_, BTreeSet<i64>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub(super) fn insert(&self, ids: impl IntoIterator<Item = i64>) -> usize {
        let mut g = self.lock();
        g.extend(ids);
        g.len()
    }

    pub(super) fn remove(&self, id: i64) -> usize {
        let mut g = self.lock();
        g.remove(&id);
        g.len()
    }

    fn ids(&self) -> Vec<i64> {
        self.lock().iter().copied().collect()
    }
}

/// The running heartbeat; stops when dropped.
pub(super) struct Heartbeat {
    pub(super) held: Held,
    task: JoinHandle<()>,
}

impl Heartbeat {
    /// Start renewing, every `lease / 3`, the leases of the jobs in the returned `held`.
    pub(super) fn start(
        rt: &Handle,
        store: Store,
        worker: String,
        lease: Duration,
        stats: Arc<WorkerStats>,
    ) -> Heartbeat {
        let held = Held::default();
        let every = (lease / 3).max(Duration::from_millis(50));
        let task = rt.spawn(beat(store, worker, lease, every, held.clone(), stats));
        Heartbeat { held, task }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn beat(
    store: Store,
    worker: String,
    lease: Duration,
    every: Duration,
    held: Held,
    stats: Arc<WorkerStats>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ids = held.ids();
        if ids.is_empty() {
            continue;
        }
        match store.renew(&worker, &ids, lease).await {
            Ok(kept) => {
                // A job finished meanwhile has left `held` (before its completion commits), so
                // what is missing and still held here was really lost.
                let current = held.lock();
                let lost = ids
                    .iter()
                    .filter(|id| kept.binary_search(id).is_err() && current.contains(id))
                    .count();
                drop(current);
                if lost > 0 {
                    stats.count(&stats.leases_lost, lost as u64);
                    tracing::warn!(
                        lost,
                        "leases lapsed before renewal; other workers may be doing these jobs too \
                         (their effect is stored once)"
                    );
                    for id in ids.iter().filter(|id| kept.binary_search(id).is_err()) {
                        held.remove(*id);
                    }
                }
            }
            Err(e) => {
                stats.count(&stats.store_errors, 1);
                tracing::warn!(error = %e, "renewing leases failed; trying again");
            }
        }
    }
}
