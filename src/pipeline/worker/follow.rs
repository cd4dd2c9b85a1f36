//! A worker that follows the store's heads in use: before each round it compares the store's
//! active heads with those its engine was built on, and after a promotion or a rollback builds
//! the engine again (on the same loaded models) so that the next batch is decided by the head
//! now active. A head that cannot be used stops the worker with the reason, rather than
//! deciding with a head the store no longer has in use.

use std::cell::RefCell;
use std::sync::Arc;

use crate::pipeline::engine::Engine;
use crate::pipeline::store_heads::{active_heads, active_ids};
use crate::pipeline::{EngineBuilder, PipelineError};

use super::Worker;

/// The builder and the heads the current engine was built on.
pub(super) struct Follow {
    builder: EngineBuilder,
    built_on: RefCell<Vec<(String, i64)>>,
    engine: RefCell<Option<Arc<Engine>>>,
}

impl<'e> Worker<'e> {
    /// Follow the store's active heads: the worker's engine was built by `builder` on the heads
    /// `ids` (axis, head id); when they change, it is built again before the next round.
    pub fn follow_store_heads(mut self, builder: EngineBuilder, ids: Vec<(String, i64)>) -> Self {
        self.follow = Some(Follow {
            builder,
            built_on: RefCell::new(ids),
            engine: RefCell::new(None),
        });
        self
    }

    /// The engine for the next round when it is no longer the one the worker was made with.
    pub(super) fn followed_engine(&self) -> Result<Option<Arc<Engine>>, PipelineError> {
        let Some(f) = &self.follow else {
            return Ok(None);
        };
        // The store not answering (a restart) is the round's business, not a reason to stop:
        // the engine stays as it is until the heads can be read.
        let unread = |e: PipelineError| {
            tracing::warn!(error = %e, "cannot read the store's heads in use; keeping the engine");
            Ok(f.engine.borrow().clone())
        };
        let ids = match self.rt.block_on(active_ids(&self.store)) {
            Ok(ids) => ids,
            Err(e) => return unread(e),
        };
        if *f.built_on.borrow() != ids {
            let heads = match self.rt.block_on(active_heads(&self.store)) {
                Ok(h) => h,
                Err(e @ PipelineError::Records(_)) => return unread(e),
                Err(e) => return Err(e),
            };
            let engine = f
                .builder
                .clone()
                .reuse_models(self.engine)
                .store_heads(heads)
                .build()?;
            tracing::info!(
                heads = ids.len(),
                "the worker's engine now uses the store's active heads"
            );
            *f.engine.borrow_mut() = Some(Arc::new(engine));
            *f.built_on.borrow_mut() = ids;
        }
        Ok(f.engine.borrow().clone())
    }
}
