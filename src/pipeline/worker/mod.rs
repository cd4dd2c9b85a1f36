//! Workers over the store's job queue, the path past one machine: [`enqueue`] puts messages in
//! the jobs table (one job per message hash), and any number of [`Worker`]s, on any number of
//! machines, claim them a batch at a time (an encoder batch), triage them with the [`Engine`]
//! and store each record together with its job's state in one transaction.
//!
//! - **Leases.** A claimed job carries a lease that the worker's heartbeat renews (three times
//!   per lease) while its thread is busy with the models. A worker that dies stops renewing; the
//!   next claim by any worker takes the job over. The record is stored by message hash, so a
//!   job finished twice (a worker that was only slow) is stored once.
//! - **Failures.** A message the parser refuses is parked at once with its error record; a
//!   failure in a model stage is tried again after a growing delay and parked with its error
//!   record when its attempts are used up ([`outcome`]). A job that kills its worker every time
//!   is parked by the claim once its attempts are used up. Nothing is retried forever.
//! - **Idle.** A worker with nothing to claim waits on LISTEN/NOTIFY (PostgreSQL) with a
//!   polling ceiling, so it wakes when work is queued without polling hard.
//! - **Shutdown.** [`Shutdown::request`] (the CLI's SIGTERM) ends the claiming: the batch in
//!   hand is finished and stored, what was claimed but not started is given back.
//! - **The database going away** (a restart, a failover): store writes are tried again with
//!   backoff until it answers; claims back off. Nothing held in memory is lost unless the
//!   worker is stopped meanwhile, and then only as a lapsed lease that another worker redoes.
//!
//! The loop runs on the caller's thread; store calls run on a tokio runtime the caller owns
//! (the same one can serve the metrics page).

mod follow;
mod heartbeat;
pub mod job;
pub mod outcome;
mod round;
pub mod stats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::store::{JobWaiter, Store, StoreError};

use super::engine::Engine;
use super::PipelineError;
use heartbeat::Heartbeat;

pub use job::{enqueue, job_for, message_of, EnqueueOptions, EnqueueStats, ENQUEUE_CHUNK};
pub use outcome::{Verdict, MAX_RETRY_DELAY};
pub use stats::{render_metrics, WorkerSnapshot, WorkerStats};

/// Errors that stop a worker or an enqueue (per-message failures are the jobs' business).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The store failed for good.
    #[error("{what}: {source}")]
    Store {
        /// What the worker was doing.
        what: &'static str,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// The engine's run failed.
    #[error(transparent)]
    Pipeline(Box<PipelineError>),
}

impl From<PipelineError> for WorkerError {
    fn from(e: PipelineError) -> Self {
        WorkerError::Pipeline(Box::new(e))
    }
}

/// How a worker works.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// This worker's name in the jobs table (unique among live workers).
    pub id: String,
    /// How long a claim holds a job without renewal: the time from a worker's death to its
    /// jobs being taken over.
    pub lease: Duration,
    /// Park a job after this many attempts even when the job allows more.
    pub max_attempts: Option<u32>,
    /// The longest idle wait between looks at the queue (LISTEN wakes it sooner).
    pub poll: Duration,
    /// The delay before a failed job's second attempt (doubled for each later one).
    pub retry_base: Duration,
    /// Stop when there is nothing to claim instead of waiting for work.
    pub exit_when_idle: bool,
    /// After a shutdown is asked for, how long a failing store write is still tried.
    pub shutdown_grace: Duration,
}

/// The default lease.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// The default idle polling ceiling.
pub const DEFAULT_POLL: Duration = Duration::from_secs(5);

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            id: "worker".into(),
            lease: DEFAULT_LEASE,
            max_attempts: None,
            poll: DEFAULT_POLL,
            retry_base: Duration::from_secs(5),
            exit_when_idle: false,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Asks a worker to stop after the batch in hand; cheap to clone, safe to call from a signal
/// handler's thread.
#[derive(Debug, Clone)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown(Arc::new(watch::channel(false).0))
    }
}

impl Shutdown {
    /// A shutdown not yet asked for.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Ask for it.
    pub fn request(&self) {
        self.0.send_replace(true);
    }

    /// Whether it was asked for.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Wait until it is asked for.
    pub async fn wait(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|asked| *asked).await;
    }
}

/// A worker: an engine, a store, and the runtime its store calls run on.
pub struct Worker<'e> {
    engine: &'e Engine,
    store: Store,
    rt: Handle,
    opts: WorkerOptions,
    stats: Arc<WorkerStats>,
    shutdown: Shutdown,
    follow: Option<follow::Follow>,
}

impl std::fmt::Debug for Worker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.opts.id)
            .finish_non_exhaustive()
    }
}

impl<'e> Worker<'e> {
    /// A worker of `engine` on `store`, whose calls run on `rt` (a multi-threaded runtime: the
    /// lease heartbeat runs there while the calling thread triages). Claims are the engine's
    /// batch size.
    pub fn new(
        engine: &'e Engine,
        store: Store,
        rt: Handle,
        opts: WorkerOptions,
        shutdown: Shutdown,
    ) -> Worker<'e> {
        Worker {
            engine,
            store,
            rt,
            opts,
            stats: Arc::new(WorkerStats::default()),
            shutdown,
            follow: None,
        }
    }

    /// The counters, for a metrics page.
    pub fn stats(&self) -> Arc<WorkerStats> {
        Arc::clone(&self.stats)
    }

    /// Work until shutdown (or, with `exit_when_idle`, until nothing is left to claim); returns
    /// the counters at the end.
    pub fn run(&self) -> Result<WorkerSnapshot, WorkerError> {
        // The LISTEN connection and pooled connections are dropped on this thread; their
        // destructors need the runtime's context.
        let _context = self.rt.enter();
        let heartbeat = Heartbeat::start(
            &self.rt,
            self.store.clone(),
            self.opts.id.clone(),
            self.opts.lease,
            Arc::clone(&self.stats),
        );
        let mut waiter: Option<JobWaiter> = None;
        let mut backoff = Duration::from_millis(200);
        while !self.shutdown.is_requested() {
            // Listen before claiming, so that a job queued after an empty claim still wakes us.
            if waiter.is_none() {
                waiter = match self.rt.block_on(self.store.job_waiter()) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for new jobs; polling");
                        None
                    }
                };
            }
            let end = self.round(&heartbeat.held)?;
            if end.store_trouble {
                self.pause(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
            backoff = Duration::from_millis(200);
            if end.claimed > 0 {
                continue;
            }
            if self.opts.exit_when_idle {
                break;
            }
            self.idle(&mut waiter);
        }
        drop(heartbeat);
        let s = self.stats.snapshot();
        tracing::info!(
            done = s.done,
            parked = s.parked,
            retried = s.retried,
            "worker stopped"
        );
        Ok(s)
    }

    /// Wait for a notification, the polling ceiling, or shutdown. A broken LISTEN connection
    /// is dropped, to be made again on the next turn.
    fn idle(&self, waiter: &mut Option<JobWaiter>) {
        let poll = self.opts.poll;
        let shutdown = self.shutdown.clone();
        let broken = self.rt.block_on(async {
            tokio::select! {
                _ = shutdown.wait() => false,
                r = async {
                    match waiter.as_mut() {
                        Some(w) => w.wait(poll).await.err(),
                        None => { tokio::time::sleep(poll).await; None }
                    }
                } => {
                    if let Some(e) = &r {
                        tracing::warn!(error = %e, "lost the LISTEN connection");
                    }
                    r.is_some()
                }
            }
        });
        if broken {
            *waiter = None;
            self.pause(Duration::from_millis(500));
        }
    }

    /// Sleep, waking early for shutdown.
    fn pause(&self, d: Duration) {
        let shutdown = self.shutdown.clone();
        let until = Instant::now() + d;
        self.rt.block_on(async move {
            tokio::select! {
                _ = shutdown.wait() => {},
                _ = tokio::time::sleep_until(until.into()) => {},
            }
        });
    }
}

/// Whether a store error may pass by itself (the database restarting, a connection lost, the
/// pool exhausted), so that the call is worth trying again.
pub(crate) fn transient(e: &StoreError) -> bool {
    let source = match e {
        StoreError::Query { source, .. } | StoreError::Connect { source, .. } => source,
        _ => return false,
    };
    match source {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            // Connection exceptions (08), shutdown (57P), resources (53), serialization and
            // deadlocks (40), and SQLite's busy/locked codes.
            c.starts_with("08")
                || c.starts_with("57P")
                || c.starts_with("53")
                || c.starts_with("40")
                || c == "5"
                || c == "6"
                || c == "517"
        }),
        _ => false,
    }
}
