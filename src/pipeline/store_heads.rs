//! The heads a store keeps in use (one active head per axis, promoted by an admin): read from
//! the store, verified by SHA-256 against the hash stored beside them, and handed to the
//! [`EngineBuilder`](super::EngineBuilder) so that an engine writing to that store decides
//! with them instead of the shipped default heads (a head named with `--head` still wins).
//!
//! A long-running engine (the desk, a worker) compares [`active_ids`] with what it was built
//! with and builds again when an admin promoted or rolled back a head.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::classify::ClassifyError;
use crate::store::{BlockingStore, Store};

use super::PipelineError;

/// A head of the store, its bytes checked against its stored SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreHead {
    /// Its id in the store.
    pub id: i64,
    /// Its axis.
    pub axis: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// The head file's bytes.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for StoreHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHead")
            .field("id", &self.id)
            .field("axis", &self.axis)
            .field("sha256", &self.sha256)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl StoreHead {
    /// How errors name it.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("store:head/{}", self.id))
    }

    /// Check the bytes against the stored hash.
    pub fn verify(&self) -> Result<(), PipelineError> {
        let found = hex::encode(Sha256::digest(&self.data));
        if found == self.sha256 {
            return Ok(());
        }
        Err(PipelineError::Head {
            path: self.path(),
            source: ClassifyError::Head {
                path: self.path(),
                reason: format!(
                    "its bytes hash to {found}, not to the stored SHA-256 {}",
                    self.sha256
                ),
            },
        })
    }
}

/// One head of the store, read and verified.
pub async fn store_head(store: &Store, id: i64) -> Result<Option<StoreHead>, PipelineError> {
    let Some(h) = store.head(id).await? else {
        return Ok(None);
    };
    let Some(data) = store.head_data(id).await? else {
        return Ok(None);
    };
    let head = StoreHead {
        id: h.id,
        axis: h.axis,
        sha256: h.sha256,
        data,
    };
    head.verify()?;
    Ok(Some(head))
}

/// The active head of every axis, read and verified.
pub async fn active_heads(store: &Store) -> Result<Vec<StoreHead>, PipelineError> {
    let mut out = Vec::new();
    for h in store.active_heads().await? {
        if let Some(head) = store_head(store, h.id).await? {
            out.push(head);
        }
    }
    Ok(out)
}

/// [`active_heads`] for sync callers.
pub fn active_heads_blocking(store: &BlockingStore) -> Result<Vec<StoreHead>, PipelineError> {
    store.block_on(active_heads(store.store()))
}

/// The ids of the active heads, by axis: cheap to compare, to notice a promotion.
pub async fn active_ids(store: &Store) -> Result<Vec<(String, i64)>, PipelineError> {
    Ok(store
        .active_heads()
        .await?
        .into_iter()
        .map(|h| (h.axis, h.id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_must_match_the_stored_hash() {
        let data = b"not really a head".to_vec();
        let good = StoreHead {
            id: 3,
            axis: "category".into(),
            sha256: hex::encode(Sha256::digest(&data)),
            data,
        };
        assert!(good.verify().is_ok());
        let mut bad = good.clone();
        bad.data.push(b'!');
        let e = bad.verify().unwrap_err().to_string();
        assert!(e.contains("store:head/3"), "{e}");
        assert!(!format!("{good:?}").contains("really"));
    }
}
