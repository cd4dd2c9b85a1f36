//! One round of a worker: the engine's streaming run over messages claimed from the queue a
//! batch at a time, each output stored with its job's state as it comes out.
//!
//! The claim is lazy: the run asks for the next message, and when the batch in hand is used up
//! the next batch is claimed, so the encoder and the analysers stay busy across batches. A round
//! ends when the queue has nothing to claim, after `cap` jobs (so that a worker holds a bounded
//! number of jobs, not everything its channels could take), on a store failure, or at shutdown;
//! what was claimed but not started is given back then.

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::time::{Duration, Instant};

use crate::email::Message;
use crate::pipeline::ingest::stored_message;
use crate::pipeline::Output;
use crate::store::{Job, StoreError, StoreResult};

use super::heartbeat::Held;
use super::outcome::{decide, Verdict};
use super::{transient, Worker};

/// How a round ended.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RoundEnd {
    /// Jobs claimed in the round.
    pub(super) claimed: usize,
    /// The store failed (claiming, or writing past the shutdown grace): back off.
    pub(super) store_trouble: bool,
}

struct State<'r, 'e> {
    worker: &'r Worker<'e>,
    held: &'r Held,
    cap: usize,
    buffer: VecDeque<Job>,
    in_flight: VecDeque<Job>,
    end: RoundEnd,
}

impl Worker<'_> {
    /// Run one round (see the module documentation).
    pub(super) fn round(&self, held: &Held) -> Result<RoundEnd, crate::pipeline::PipelineError> {
        let batch = self.engine.config().batch.max(1);
        let jobs = self.engine.config().jobs.max(1);
        let state = RefCell::new(State {
            worker: self,
            held,
            cap: batch * (jobs * 2).max(2),
            buffer: VecDeque::new(),
            in_flight: VecDeque::new(),
            end: RoundEnd::default(),
        });
        let started = Instant::now();
        // After a promotion or a rollback, this round's messages are decided by the head now
        // in use (the rest of the engine's settings are the same, so the state keeps using
        // the engine the worker was made with).
        let followed = self.followed_engine()?;
        let engine = followed.as_deref().unwrap_or(self.engine);
        let messages = std::iter::from_fn(|| state.borrow_mut().next_message());
        engine.run(messages, &HashSet::new(), |out| {
            state.borrow_mut().finish(out);
            Ok(())
        })?;
        let mut state = state.into_inner();
        state.release_unstarted();
        if state.end.claimed > 0 {
            let ms = started.elapsed().as_millis() as u64;
            self.stats.count(&self.stats.busy_ms, ms);
        }
        Ok(state.end)
    }
}

impl State<'_, '_> {
    /// The next message for the engine: from the batch in hand, else from a new claim.
    fn next_message(&mut self) -> Option<Message> {
        let w = self.worker;
        loop {
            if w.shutdown.is_requested() {
                return None;
            }
            if let Some(job) = self.buffer.pop_front() {
                match super::job::message_of(&job) {
                    Ok(m) => {
                        self.in_flight.push_back(job);
                        return Some(m);
                    }
                    Err(reason) => {
                        self.park_unreadable(&job, &reason);
                        continue;
                    }
                }
            }
            if self.end.store_trouble || self.end.claimed >= self.cap {
                return None;
            }
            let batch = w.engine.config().batch.max(1) as u32;
            match w
                .rt
                .block_on(w.store.claim(&w.opts.id, batch, w.opts.lease))
            {
                Ok(jobs) if jobs.is_empty() => return None,
                Ok(jobs) => {
                    let again = jobs.iter().filter(|j| j.attempts > 1).count();
                    w.stats.count(&w.stats.claimed, jobs.len() as u64);
                    w.stats.count(&w.stats.claimed_again, again as u64);
                    let n = self.held.insert(jobs.iter().map(|j| j.id));
                    w.stats.set_in_flight(n);
                    self.end.claimed += jobs.len();
                    tracing::debug!(jobs = jobs.len(), again, "claimed");
                    self.buffer.extend(jobs);
                }
                Err(e) => {
                    w.stats.count(&w.stats.store_errors, 1);
                    tracing::warn!(error = %e, "claiming jobs failed; backing off");
                    self.end.store_trouble = true;
                    return None;
                }
            }
        }
    }

    /// Store one output with its job's state, as its verdict says.
    fn finish(&mut self, out: &Output) {
        let w = self.worker;
        let Some(job) = self.in_flight.pop_front() else {
            tracing::error!("an output with no job in flight; ignored");
            return;
        };
        // Off the heartbeat first: a job whose completion commits is no longer ours to renew.
        let n = self.held.remove(job.id);
        w.stats.set_in_flight(n);
        let Ok(message) = super::job::message_of(&job) else {
            return; // it was readable when started; nothing else can change it
        };
        if message.id != out.id() {
            tracing::error!(job = job.id, "output out of step with the jobs in flight");
        }
        let max = w
            .opts
            .max_attempts
            .map_or(job.max_attempts, |m| job.max_attempts.min(i64::from(m)));
        let verdict = decide(out, job.attempts, max, w.opts.retry_base);
        let id = w.opts.id.as_str();
        let store = &w.store;
        let written = match verdict {
            Verdict::Done => {
                let effect = stored_message(out, &message, w.engine);
                self.write("storing a record", || {
                    store.complete(id, job.id, Some(&effect))
                })
                .map(|c| {
                    if !c.lease_held {
                        tracing::info!(job = job.id, "finished a job whose lease had lapsed");
                    }
                    &w.stats.done
                })
            }
            Verdict::Park => {
                let effect = stored_message(out, &message, w.engine);
                let error = serde_json::to_string(out).unwrap_or_else(|_| "{}".into());
                self.write("parking a job", || {
                    store.park(id, job.id, &error, Some(&effect))
                })
                .map(|_| &w.stats.parked)
            }
            Verdict::Retry(delay) => {
                let error = serde_json::to_string(out).unwrap_or_else(|_| "{}".into());
                self.write("failing a job", || store.fail(id, job.id, &error, delay))
                    .map(|_| &w.stats.retried)
            }
        };
        if let Some(counter) = written {
            w.stats.count(counter, 1);
        }
    }

    /// A job whose message cannot be rebuilt: parked at once with the reason (no record: there
    /// is no message to give one to).
    fn park_unreadable(&mut self, job: &Job, reason: &str) {
        let w = self.worker;
        let n = self.held.remove(job.id);
        w.stats.set_in_flight(n);
        let error =
            serde_json::json!({"error": {"stage": "read", "kind": "job", "message": reason}});
        let error = error.to_string();
        if self
            .write("parking a job", || {
                w.store.park(&w.opts.id, job.id, &error, None)
            })
            .is_some()
        {
            w.stats.count(&w.stats.parked, 1);
        }
    }

    /// Give back what was claimed and not started (at shutdown, or after a store failure).
    fn release_unstarted(&mut self) {
        let w = self.worker;
        let ids: Vec<i64> = self
            .buffer
            .drain(..)
            .map(|j| j.id)
            .chain(self.in_flight.drain(..).map(|j| j.id))
            .collect();
        if ids.is_empty() {
            return;
        }
        for id in &ids {
            let n = self.held.remove(*id);
            w.stats.set_in_flight(n);
        }
        if let Some(n) = self.write("giving jobs back", || w.store.release(&w.opts.id, &ids)) {
            w.stats.count(&w.stats.released, n);
        }
    }

    /// Run a store write, trying again while the database is away (a restart, a lost
    /// connection); `None` when it failed for good, or still failed `shutdown_grace` after a
    /// shutdown was asked for (the job's lease then lapses and another worker takes it).
    fn write<T, F, Fut>(&mut self, what: &'static str, call: F) -> Option<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        let w = self.worker;
        let mut delay = Duration::from_millis(100);
        let mut since_shutdown: Option<Instant> = None;
        loop {
            let err: StoreError = match w.rt.block_on(call()) {
                Ok(v) => return Some(v),
                Err(e) => e,
            };
            w.stats.count(&w.stats.store_errors, 1);
            if !transient(&err) {
                tracing::error!(error = %err, "{what} failed");
                return None;
            }
            if w.shutdown.is_requested() {
                let t = *since_shutdown.get_or_insert_with(Instant::now);
                if t.elapsed() > w.opts.shutdown_grace {
                    tracing::error!(error = %err, "{what} still failing at shutdown; giving up");
                    self.end.store_trouble = true;
                    return None;
                }
            }
            tracing::warn!(error = %err, "{what} failed; trying again in {delay:?}");
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}
