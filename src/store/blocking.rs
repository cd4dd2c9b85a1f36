//! The store for sync callers (the CLI): a [`Store`] with its own small tokio runtime, so that
//! code without an async runtime can call any store method through [`BlockingStore::block_on`].
//! Must not be used from inside an async runtime (block_on would panic there); async code uses
//! [`Store`] directly.

use std::future::Future;

use super::error::{StoreError, StoreResult};
use super::{Store, StoreOptions};

/// A store and the runtime that drives it.
#[derive(Debug)]
pub struct BlockingStore {
    runtime: tokio::runtime::Runtime,
    store: Store,
}

impl BlockingStore {
    /// Open the store at `url` (see [`Store::open`]).
    pub fn open(url: &str) -> StoreResult<BlockingStore> {
        BlockingStore::open_with(url, &StoreOptions::default())
    }

    /// Open with options.
    pub fn open_with(url: &str, opts: &StoreOptions) -> StoreResult<BlockingStore> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StoreError::Runtime)?;
        let store = runtime.block_on(Store::open_with(url, opts))?;
        Ok(BlockingStore { runtime, store })
    }

    /// The async store, to build calls for [`BlockingStore::block_on`].
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Run a store call to completion: `bs.block_on(bs.store().put(&msg))`.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.runtime.block_on(fut)
    }
}

impl Drop for BlockingStore {
    fn drop(&mut self) {
        // Close the pool inside its runtime, so that SQLite checkpoints and connections shut
        // down cleanly rather than being dropped mid-task.
        let store = self.store.clone();
        self.runtime.block_on(async move { store.close().await });
    }
}
