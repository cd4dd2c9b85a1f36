//! The model worker threads of a long-running process (the server): each lane is one OS thread
//! that runs its engine, fed by a channel whose depth is bounded by a semaphore. A caller takes
//! one permit per message or is refused at once ([`LaneError::Overloaded`]), so work never
//! piles up without bound; callers on an async runtime await the answer.
//!
//! - The **encoder lane** classifies. It drains whatever classify jobs are waiting (up to the
//!   batch size) and runs them as one engine call, so concurrent clients share encoder batches.
//! - The **generator lane** triages and summarises, one request at a time (the generator holds a
//!   KV cache and writes one summary at a time anyway).
//!
//! A job whose client has gone (timeout, disconnect) is dropped before it reaches the models.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tracing::Span;

use crate::email::{Content, Message, Provenance, SourceKind};

use super::engine::{Engine, Mode};
use super::record::{ModelRef, ModelsInfo, Output, TaxonomyInfo};

/// Why a lane could not take or finish a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LaneError {
    /// The lane is full: try again after `retry_after` seconds.
    #[error("the {lane} lane is full")]
    Overloaded {
        /// The lane.
        lane: &'static str,
        /// Seconds to wait before retrying.
        retry_after: u64,
    },
    /// The lanes are not warmed up yet, or are shutting down.
    #[error("the models are not ready")]
    NotReady,
    /// The lane's thread stopped or answered wrongly.
    #[error("{0}")]
    Failed(String),
}

/// Which model thread a job runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lane {
    /// Classification only: encoder work, batched across requests.
    Encoder,
    /// Full triage (classification and abstractive summary): one request at a time.
    Generator,
}

impl Lane {
    /// The lane's name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Lane::Encoder => "encoder",
            Lane::Generator => "generator",
        }
    }
}

/// A model as `/v1/models` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ModelEntry {
    /// Manifest id, path or `hf:` reference.
    pub id: String,
    /// SHA-256 of the weights.
    pub sha256: String,
    /// `encoder`, `generator` or `head`.
    pub role: String,
    /// The routes that use it.
    pub used_by: Vec<String>,
}

/// What `/v1/models` answers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ModelsReport {
    /// The models.
    pub models: Vec<ModelEntry>,
    /// The axes every record decides.
    pub axes: Vec<String>,
    /// The taxonomy of the zero-shot axes.
    pub taxonomy: Option<TaxonomyInfo>,
}

/// What the lanes run. [`EngineService`] is the real one; tests use fakes.
pub trait Service: Send + Sync + 'static {
    /// Process `messages` on `lane`: one output per message, in order. Called only from that
    /// lane's thread.
    fn run(&self, lane: Lane, messages: Vec<Message>) -> Vec<Output>;
    /// The models behind each lane.
    fn models(&self) -> ModelsReport;
}

/// Two engines over the same loaded models: the triage engine on the generator lane and the
/// same engine in classify mode on the encoder lane (the models are read-only and thread-safe;
/// the generator is used by the generator lane only).
#[derive(Debug)]
pub struct EngineService {
    classify: Engine,
    triage: Engine,
}

impl EngineService {
    /// Serve `triage` (which should summarise) and its classify mode.
    pub fn new(triage: Engine) -> Self {
        EngineService {
            classify: triage.with_mode(Mode::Classify),
            triage,
        }
    }
}

fn entries(info: &ModelsInfo, route: &[&str], out: &mut Vec<ModelEntry>) {
    let mut add = |m: &ModelRef, role: &str| {
        if let Some(e) = out
            .iter_mut()
            .find(|e| e.sha256 == m.sha256 && e.role == role)
        {
            for r in route {
                if !e.used_by.iter().any(|u| u == r) {
                    e.used_by.push((*r).to_string());
                }
            }
        } else {
            out.push(ModelEntry {
                id: m.id.clone(),
                sha256: m.sha256.clone(),
                role: role.to_string(),
                used_by: route.iter().map(|r| (*r).to_string()).collect(),
            });
        }
    };
    if let Some(e) = &info.encoder {
        add(e, "encoder");
    }
    if let Some(g) = &info.generator {
        add(g, "generator");
    }
    for h in &info.heads {
        add(h, "head");
    }
}

impl Service for EngineService {
    fn run(&self, lane: Lane, messages: Vec<Message>) -> Vec<Output> {
        match lane {
            Lane::Encoder => self.classify.triage(messages),
            Lane::Generator => self.triage.triage(messages),
        }
    }

    fn models(&self) -> ModelsReport {
        let mut models = Vec::new();
        entries(self.classify.models(), &["/v1/classify"], &mut models);
        entries(
            self.triage.models(),
            &["/v1/triage", "/v1/summarize"],
            &mut models,
        );
        ModelsReport {
            models,
            axes: self.classify.axes(),
            taxonomy: self.classify.taxonomy().cloned(),
        }
    }
}

struct Job {
    messages: Vec<Message>,
    reply: oneshot::Sender<Vec<Output>>,
    span: Span,
    _permit: OwnedSemaphorePermit,
}

/// One lane: its channel and the permits that bound it.
struct LaneQueue {
    lane: Lane,
    tx: mpsc::Sender<Job>,
    permits: Arc<Semaphore>,
    capacity: usize,
}

impl LaneQueue {
    /// Messages queued or in work on this lane.
    fn depth(&self) -> usize {
        self.capacity
            .saturating_sub(self.permits.available_permits())
    }

    /// The most messages this lane holds at once.
    fn capacity(&self) -> usize {
        self.capacity
    }
}

/// The running lanes: submit work, read their depth.
pub struct Lanes {
    encoder: LaneQueue,
    generator: LaneQueue,
    warmed: Arc<AtomicUsize>,
    retry_after: u64,
}

impl Lanes {
    /// Whether both lanes have finished their warm-up run.
    pub fn warmed(&self) -> bool {
        self.warmed.load(Ordering::Acquire) >= 2
    }

    /// Per lane, its name, the messages queued or in work, and its capacity.
    pub fn depths(&self) -> [(&'static str, usize, usize); 2] {
        [&self.encoder, &self.generator].map(|q| (q.lane.name(), q.depth(), q.capacity()))
    }

    fn lane(&self, lane: Lane) -> &LaneQueue {
        match lane {
            Lane::Encoder => &self.encoder,
            Lane::Generator => &self.generator,
        }
    }

    /// Queue `messages` on `lane` and wait for the outputs. Refused at once when the lane is
    /// full; the caller bounds the wait with its timeout (a job whose caller has gone is skipped).
    pub async fn submit(
        &self,
        lane: Lane,
        messages: Vec<Message>,
    ) -> Result<Vec<Output>, LaneError> {
        if !self.warmed() {
            return Err(LaneError::NotReady);
        }
        let q = self.lane(lane);
        let n = u32::try_from(messages.len().max(1)).unwrap_or(u32::MAX);
        let permit = Arc::clone(&q.permits)
            .try_acquire_many_owned(n)
            .map_err(|_| LaneError::Overloaded {
                lane: lane.name(),
                retry_after: self.retry_after,
            })?;
        let (reply, rx) = oneshot::channel();
        let expected = messages.len();
        q.tx.send(Job {
            messages,
            reply,
            span: Span::current(),
            _permit: permit,
        })
        .map_err(|_| LaneError::NotReady)?;
        let outputs = rx
            .await
            .map_err(|_| LaneError::Failed(format!("the {} lane stopped", lane.name())))?;
        if outputs.len() != expected {
            return Err(LaneError::Failed(format!(
                "the {} lane answered {} outputs for {expected} messages",
                lane.name(),
                outputs.len()
            )));
        }
        Ok(outputs)
    }
}

/// Sizes of the lanes.
#[derive(Debug, Clone, Copy)]
pub struct LaneSizes {
    /// Messages the encoder lane holds, queued or in work.
    pub encoder: usize,
    /// Messages the generator lane holds.
    pub generator: usize,
    /// Largest encoder batch built from concurrent jobs.
    pub batch: usize,
    /// Seconds a refused caller should wait.
    pub retry_after: u64,
}

/// A short synthetic message that warms each lane before the server reports ready.
fn warm_up_message() -> Message {
    Message {
        id: "warm-up".into(),
        provenance: Provenance {
            path: "warm-up".into(),
            kind: SourceKind::Jsonl,
            index: None,
            offset: None,
        },
        content: Ok(Content::Parts {
            from: Some("resident@example.org".into()),
            subject: Some("Missed bin collection".into()),
            body: "Hello, our bins on Mill Lane were not collected on Tuesday. Could someone \
                   come back this week? Thank you."
                .into(),
        }),
    }
}

/// Start one thread per lane; each warms up, then serves its channel until every sender is gone.
pub fn start(service: Arc<dyn Service>, sizes: LaneSizes) -> std::io::Result<Lanes> {
    let warmed = Arc::new(AtomicUsize::new(0));
    let mut lanes = Vec::new();
    for (lane, capacity) in [
        (Lane::Encoder, sizes.encoder),
        (Lane::Generator, sizes.generator),
    ] {
        let capacity = capacity.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let service = Arc::clone(&service);
        let warmed = Arc::clone(&warmed);
        let batch = if lane == Lane::Encoder {
            sizes.batch.max(1)
        } else {
            1
        };
        std::thread::Builder::new()
            .name(format!("mailroom-{}", lane.name()))
            .spawn(move || {
                let t = std::time::Instant::now();
                let _ = service.run(lane, vec![warm_up_message()]);
                tracing::info!(
                    lane = lane.name(),
                    ms = t.elapsed().as_millis() as u64,
                    "lane warmed up"
                );
                warmed.fetch_add(1, Ordering::AcqRel);
                serve_lane(&*service, lane, rx, batch);
            })?;
        lanes.push(LaneQueue {
            lane,
            tx,
            permits: Arc::new(Semaphore::new(capacity)),
            capacity,
        });
    }
    let generator = lanes.pop().filter(|l| l.lane == Lane::Generator);
    let encoder = lanes.pop().filter(|l| l.lane == Lane::Encoder);
    match (encoder, generator) {
        (Some(encoder), Some(generator)) => Ok(Lanes {
            encoder,
            generator,
            warmed,
            retry_after: sizes.retry_after.max(1),
        }),
        _ => Err(std::io::Error::other("lanes out of order")),
    }
}

fn serve_lane(service: &dyn Service, lane: Lane, rx: mpsc::Receiver<Job>, batch: usize) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        let mut n = jobs[0].messages.len();
        while n < batch {
            match rx.try_recv() {
                Ok(job) => {
                    n += job.messages.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        // Whoever gave up waiting (timeout, disconnect) gets no model time.
        jobs.retain(|j| !j.reply.is_closed());
        if jobs.is_empty() {
            continue;
        }
        let span = jobs[0].span.clone();
        let _entered = span.enter();
        let counts: Vec<usize> = jobs.iter().map(|j| j.messages.len()).collect();
        let mut replies = Vec::with_capacity(jobs.len());
        let mut all = Vec::with_capacity(counts.iter().sum());
        let mut permits = Vec::with_capacity(jobs.len());
        for job in jobs {
            all.extend(job.messages);
            replies.push(job.reply);
            permits.push(job._permit);
        }
        let t = std::time::Instant::now();
        let mut outputs = service.run(lane, all).into_iter();
        tracing::debug!(
            lane = lane.name(),
            requests = counts.len(),
            messages = counts.iter().sum::<usize>(),
            ms = t.elapsed().as_millis() as u64,
            "lane batch done"
        );
        // Free the queue slots before answering, so that a client that retries at once fits.
        drop(permits);
        for (reply, count) in replies.into_iter().zip(counts) {
            let part: Vec<Output> = outputs.by_ref().take(count).collect();
            let _ = reply.send(part);
        }
    }
}
