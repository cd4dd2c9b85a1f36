//! The streaming run: messages flow through a small pipeline of threads.
//!
//! ```text
//! reader ──batches──► analysers (parse, prepare, embed the batch, classify, [sentences])
//!                          │                      └──► generator thread (abstractive) ─┐
//!                          └──────────────────────────────────────────────────────────┴─► writer
//! ```
//!
//! Encoder work is batched across messages; the generator (one thread, it owns its KV cache)
//! works on one message while the analysers prepare the next ones. The writer puts records back
//! in input order, so the output is the same whatever the thread timing.

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::email::Message;
use crate::summarize::Method;

use super::engine::Engine;
use super::record::Output;
use super::stages::Pending;
use super::PipelineError;

/// Counts of a finished run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RunStats {
    /// Messages triaged (records written).
    pub triaged: usize,
    /// Messages that failed (error records written).
    pub failed: usize,
    /// Messages skipped because their ids were already in the output (`--resume`).
    pub skipped: usize,
    /// Messages that need review.
    pub needs_review: usize,
}

/// Puts outputs back in input order and hands them to the caller's `emit`.
struct Reorder<F> {
    emit: F,
    next: usize,
    waiting: BTreeMap<usize, Output>,
    stats: RunStats,
    failure: Option<std::io::Error>,
}

impl<F: FnMut(&Output) -> std::io::Result<()>> Reorder<F> {
    fn new(emit: F) -> Self {
        Reorder {
            emit,
            next: 0,
            waiting: BTreeMap::new(),
            stats: RunStats::default(),
            failure: None,
        }
    }

    fn push(&mut self, seq: usize, out: Output) {
        self.waiting.insert(seq, out);
        while self.failure.is_none() {
            let Some(out) = self.waiting.remove(&self.next) else {
                break;
            };
            self.next += 1;
            match &out {
                Output::Record(r) => {
                    self.stats.triaged += 1;
                    self.stats.needs_review += usize::from(r.needs_review);
                }
                Output::Error(_) => self.stats.failed += 1,
            }
            if let Err(e) = (self.emit)(&out) {
                self.failure = Some(e);
            }
        }
    }
}

impl Engine {
    /// Triage a stream of messages, skipping ids in `skip`, and hand each output to `emit` in
    /// input order. Per-message failures become error records; only an `emit` failure stops the
    /// run. The calling thread reads the messages and writes the outputs; analysers and the
    /// generator run on threads of their own.
    pub fn run<I, F>(
        &self,
        messages: I,
        skip: &HashSet<String>,
        emit: F,
    ) -> Result<RunStats, PipelineError>
    where
        I: Iterator<Item = Message>,
        F: FnMut(&Output) -> std::io::Result<()>,
    {
        let jobs = self.config.jobs.max(1);
        let batch_size = self.config.batch.max(1);
        let abstractive = self.config.summary_method() == Some(Method::Abstractive);
        let (batch_tx, batch_rx) = sync_channel::<Vec<(usize, Message)>>(jobs * 2);
        let (gen_tx, gen_rx) = sync_channel::<(usize, Pending)>(batch_size * 2);
        let (out_tx, out_rx) = sync_channel::<(usize, Output)>(batch_size * 4);
        let batch_rx = Arc::new(Mutex::new(batch_rx));
        let mut writer = Reorder::new(emit);

        std::thread::scope(|scope| {
            for _ in 0..jobs {
                let rx = Arc::clone(&batch_rx);
                let out_tx = out_tx.clone();
                let gen_tx = gen_tx.clone();
                scope.spawn(move || self.analyse_all(&rx, abstractive, &gen_tx, &out_tx));
            }
            drop(gen_tx);
            if abstractive {
                let out_tx = out_tx.clone();
                scope.spawn(move || self.summarise_all(gen_rx, out_tx));
            } else {
                drop(gen_rx);
            }
            drop(out_tx);
            feed(messages, skip, batch_size, batch_tx, &out_rx, &mut writer);
            if writer.failure.is_none() {
                for (s, out) in out_rx.iter() {
                    writer.push(s, out);
                    if writer.failure.is_some() {
                        break;
                    }
                }
            }
            // Dropping the receiver unblocks every sender; the scope then joins them.
            drop(out_rx);
        });
        match writer.failure {
            Some(e) => Err(PipelineError::Output(e)),
            None => Ok(writer.stats),
        }
    }

    /// An analyser thread: take batches until the reader is done; hand each message on to the
    /// generator thread (abstractive) or, finished, to the writer.
    fn analyse_all(
        &self,
        rx: &Mutex<Receiver<Vec<(usize, Message)>>>,
        abstractive: bool,
        gen_tx: &SyncSender<(usize, Pending)>,
        out_tx: &SyncSender<(usize, Output)>,
    ) {
        loop {
            let batch = match rx.lock().map(|r| r.recv()) {
                Ok(Ok(b)) => b,
                _ => return,
            };
            for (seq, slot) in self.analyse(batch) {
                let sent = match slot {
                    Ok(p) if abstractive => gen_tx.send((seq, p)).is_ok(),
                    Ok(p) => out_tx.send((seq, self.finish(p))).is_ok(),
                    Err(out) => out_tx.send((seq, out)).is_ok(),
                };
                if !sent {
                    return;
                }
            }
        }
    }

    /// The generator thread: abstractive summaries, one message at a time.
    fn summarise_all(&self, rx: Receiver<(usize, Pending)>, tx: SyncSender<(usize, Output)>) {
        for (seq, pending) in rx {
            if tx.send((seq, self.finish(pending))).is_err() {
                return;
            }
        }
    }
}

/// Read on the calling thread, handing batches to the analysers; while they are busy, write what
/// is ready, so that no channel fills up with nobody draining it.
fn feed<I, F>(
    messages: I,
    skip: &HashSet<String>,
    batch_size: usize,
    batch_tx: SyncSender<Vec<(usize, Message)>>,
    out_rx: &Receiver<(usize, Output)>,
    writer: &mut Reorder<F>,
) where
    I: Iterator<Item = Message>,
    F: FnMut(&Output) -> std::io::Result<()>,
{
    let mut seq = 0usize;
    let mut batch = Vec::with_capacity(batch_size);
    let mut messages = messages.peekable();
    while writer.failure.is_none() {
        let Some(m) = messages.next() else { break };
        if skip.contains(&m.id) {
            writer.stats.skipped += 1;
            continue;
        }
        batch.push((seq, m));
        seq += 1;
        if batch.len() < batch_size && messages.peek().is_some() {
            continue;
        }
        let mut pending = std::mem::take(&mut batch);
        loop {
            match batch_tx.try_send(pending) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => {
                    pending = back;
                    if let Ok((s, out)) = out_rx.recv_timeout(Duration::from_millis(20)) {
                        writer.push(s, out);
                    }
                }
                Err(TrySendError::Disconnected(_)) => break,
            }
        }
        while let Ok((s, out)) = out_rx.try_recv() {
            writer.push(s, out);
        }
    }
    if !batch.is_empty() {
        let _ = batch_tx.send(batch);
    }
}
