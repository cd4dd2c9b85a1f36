//! The learning loop as the desk runs it: training a candidate head from the store's reviewed
//! mail on a blocking thread (the work itself is the [`Trainer`] the command line hands over,
//! since the desk is a peer of the learning layer, not above it), and keeping the engine that
//! triages `POST /api/messages` on the store's active heads: after a promotion or a rollback,
//! here or by another process, the next message is decided by the head now active.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::pipeline::store_heads::{active_heads, active_ids, store_head};
use crate::pipeline::{Engine, EngineBuilder, StoreHead, TrainingExample};
use crate::store::NewHead;

use super::error::Fail;
use super::{DeskState, EngineSlot};

/// What a trainer is given: the axis, its reviewed messages (oldest first) and the store's
/// active head for it, verified.
#[derive(Debug, Clone)]
pub struct TrainJob {
    /// The axis.
    pub axis: String,
    /// The reviewed messages with their final labels.
    pub examples: Vec<TrainingExample>,
    /// The store's active head of the axis, if any.
    pub active: Option<StoreHead>,
}

/// What a trainer gives back: the candidate to store, and its comparison for people.
#[derive(Debug, Clone)]
pub struct TrainedHead {
    /// The row to add as a candidate (bytes, metadata, comparison metrics).
    pub head: NewHead,
    /// The comparison, as lines.
    pub lines: Vec<String>,
}

/// Trains a candidate head (runs on a blocking thread; may take a while).
pub trait Trainer: Send + Sync {
    /// Train one.
    fn train(&self, job: TrainJob) -> Result<TrainedHead, String>;
}

/// Where training an axis stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainStatus {
    /// Running since (ms), started by.
    Running(i64, String),
    /// Added candidate head `id`.
    Done(i64, i64),
    /// Failed: why.
    Failed(i64, String),
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl DeskState {
    /// Hand over what trains candidate heads (the desk's Train button answers 503 without).
    pub fn set_trainer(&self, trainer: Arc<dyn Trainer>) {
        let _ = self.0.trainer.set(trainer);
    }

    /// Hand over the engine, built with the store's active heads `ids` (axis, head id), and
    /// the builder to build it again with when they change.
    pub fn set_engine_on_heads(
        &self,
        engine: Arc<Engine>,
        ids: Vec<(String, i64)>,
        builder: EngineBuilder,
    ) {
        let _ = self.0.rebuild.set(builder);
        let mut slot = self.slot_mut();
        if slot.is_none() {
            *slot = Some(EngineSlot::Ready(engine, Some(ids)));
        }
    }

    /// Training status of every axis trained since the desk started.
    pub fn training(&self) -> BTreeMap<String, TrainStatus> {
        match self.0.training.lock() {
            Ok(t) => t.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_training(&self, axis: &str, status: TrainStatus) {
        let mut t = match self.0.training.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        t.insert(axis.to_string(), status);
    }

    /// Start training a candidate for `axis` in the background; refused while one runs.
    pub fn start_training(&self, axis: &str, actor: &str) -> Result<(), Fail> {
        let trainer =
            self.0.trainer.get().cloned().ok_or_else(|| {
                Fail::EngineFailed("this desk was started without training".into())
            })?;
        if let Some(TrainStatus::Running(..)) = self.training().get(axis) {
            return Err(Fail::Invalid(format!("a head for {axis} is being trained")));
        }
        self.set_training(axis, TrainStatus::Running(now_ms(), actor.to_string()));
        let state = self.clone();
        let (axis, actor) = (axis.to_string(), actor.to_string());
        tokio::spawn(async move {
            let status = match state.train(&axis, &actor, trainer).await {
                Ok(id) => TrainStatus::Done(now_ms(), id),
                Err(why) => {
                    tracing::warn!(axis = %axis, error = %why, "training from the store failed");
                    TrainStatus::Failed(now_ms(), why)
                }
            };
            state.set_training(&axis, status);
        });
        Ok(())
    }

    async fn train(
        &self,
        axis: &str,
        actor: &str,
        trainer: Arc<dyn Trainer>,
    ) -> Result<i64, String> {
        let store = self.store();
        let examples = store
            .training_examples(axis)
            .await
            .map_err(|e| e.to_string())?;
        let active = match store.active_head(axis).await.map_err(|e| e.to_string())? {
            Some(h) => store_head(store, h.id).await.map_err(|e| e.to_string())?,
            None => None,
        };
        let count = examples.len();
        store
            .audit_training(actor, axis, count, None)
            .await
            .map_err(|e| e.to_string())?;
        let job = TrainJob {
            axis: axis.to_string(),
            examples,
            active,
        };
        let trained = match tokio::task::spawn_blocking(move || trainer.train(job))
            .await
            .map_err(|e| format!("training thread: {e}"))
            .and_then(|r| r)
        {
            Ok(t) => t,
            Err(why) => {
                // The failure is audited too; a failed audit write must not hide the reason.
                if let Err(e) = store.audit_training(actor, axis, count, Some(&why)).await {
                    tracing::warn!(error = %e, "auditing a failed training run");
                }
                return Err(why);
            }
        };
        let head = store
            .add_head(actor, &trained.head)
            .await
            .map_err(|e| e.to_string())?;
        Ok(head.id)
    }

    /// The engine for a new message, built again first when the store's active heads are no
    /// longer those it was built with.
    pub(super) async fn current_engine(&self) -> Result<Arc<Engine>, Fail> {
        if self.0.rebuild.get().is_some() {
            self.refresh_engine().await?;
        }
        self.engine()
    }

    /// Build the engine again on the store's active heads when they changed (one rebuild at
    /// a time; the others wait for it). A head that cannot be used stops intake with the
    /// reason, rather than deciding with a head the store no longer has in use.
    pub(super) async fn refresh_engine(&self) -> Result<(), Fail> {
        let Some(builder) = self.0.rebuild.get().cloned() else {
            return Ok(());
        };
        let _one = self.0.reload.lock().await;
        let ids = active_ids(self.store()).await.map_err(pipeline_fail)?;
        let old = match &*self.slot() {
            Some(EngineSlot::Ready(_, built)) if built.as_ref() == Some(&ids) => return Ok(()),
            Some(EngineSlot::Ready(e, _) | EngineSlot::Stale(e, _)) => Arc::clone(e),
            _ => return Ok(()),
        };
        let heads = active_heads(self.store()).await.map_err(pipeline_fail)?;
        let built = tokio::task::spawn_blocking(move || {
            builder.reuse_models(&old).store_heads(heads).build()
        })
        .await
        .map_err(|e| Fail::Internal(format!("engine thread: {e}")))?;
        let mut slot = self.slot_mut();
        match built {
            Ok(engine) => {
                tracing::info!(
                    heads = ids.len(),
                    "the desk's engine now uses the store's active heads"
                );
                *slot = Some(EngineSlot::Ready(Arc::new(engine), Some(ids)));
                Ok(())
            }
            Err(e) => {
                let why = format!("the store's active heads cannot be used: {e:#}");
                tracing::error!(error = %why, "rebuilding the desk's engine");
                let old = match slot.take() {
                    Some(EngineSlot::Ready(e, _) | EngineSlot::Stale(e, _)) => Some(e),
                    _ => None,
                };
                *slot = Some(match old {
                    Some(e) => EngineSlot::Stale(e, why.clone()),
                    None => EngineSlot::Failed(why.clone()),
                });
                Err(Fail::EngineFailed(why))
            }
        }
    }
}

fn pipeline_fail(e: crate::pipeline::PipelineError) -> Fail {
    match e {
        crate::pipeline::PipelineError::Records(s) => Fail::from(s),
        other => Fail::Internal(other.to_string()),
    }
}
