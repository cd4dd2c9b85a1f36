//! SHA-256 verification of model files, with a cache keyed by path, size and mtime so a second
//! load does not re-hash 100 MB.
//!
//! The cache is a small JSON file (`.sha256-cache.json`) in the model store folder. It only ever
//! remembers hashes that were computed from the file's bytes; a file whose size or mtime changed
//! is hashed again. A cache that cannot be read or written is ignored.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ModelError;

/// The SHA-256 of a file's bytes, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| ModelError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    mtime_ns: u128,
    sha256: String,
}

/// Remembers the hashes of files by (path, size, mtime).
#[derive(Debug)]
pub(crate) struct HashCache {
    file: Option<PathBuf>,
    entries: Mutex<BTreeMap<String, Stamp>>,
}

impl HashCache {
    /// A cache stored in `file` (or in memory only when `None`).
    pub(crate) fn new(file: Option<PathBuf>) -> Self {
        let entries = file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        HashCache {
            file,
            entries: Mutex::new(entries),
        }
    }

    fn stamp_of(path: &Path) -> Result<(u64, u128), ModelError> {
        let meta = std::fs::metadata(path).map_err(|e| ModelError::io(path, e))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Ok((meta.len(), mtime_ns))
    }

    /// The SHA-256 of `path`, from the cache when its size and mtime are unchanged.
    pub(crate) fn sha256(&self, path: &Path) -> Result<String, ModelError> {
        let key = std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .to_string_lossy()
            .into_owned();
        let (size, mtime_ns) = Self::stamp_of(path)?;
        if let Ok(entries) = self.entries.lock() {
            if let Some(s) = entries.get(&key) {
                if s.size == size && s.mtime_ns == mtime_ns && mtime_ns != 0 {
                    return Ok(s.sha256.clone());
                }
            }
        }
        let sha256 = sha256_file(path)?;
        tracing::debug!(path = %path.display(), size, "hashed model file");
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                key,
                Stamp {
                    size,
                    mtime_ns,
                    sha256: sha256.clone(),
                },
            );
            self.save(&entries);
        }
        Ok(sha256)
    }

    /// Check `path` against a pinned hash.
    pub(crate) fn verify(&self, path: &Path, expected: &str) -> Result<String, ModelError> {
        let actual = self.sha256(path)?;
        if actual.eq_ignore_ascii_case(expected) {
            Ok(actual)
        } else {
            self.forget(path);
            Err(ModelError::HashMismatch {
                path: path.to_path_buf(),
                expected: expected.to_ascii_lowercase(),
                actual,
            })
        }
    }

    fn forget(&self, path: &Path) {
        let key = std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .to_string_lossy()
            .into_owned();
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&key);
            self.save(&entries);
        }
    }

    fn save(&self, entries: &BTreeMap<String, Stamp>) {
        let Some(file) = &self.file else { return };
        let Ok(json) = serde_json::to_vec_pretty(entries) else {
            return;
        };
        // Write then rename, so a reader never sees half a file.
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, json).is_ok() && std::fs::rename(&tmp, file).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hash_and_mismatch_names_both_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.bin");
        std::fs::write(&f, b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let cache = HashCache::new(Some(dir.path().join("cache.json")));
        assert_eq!(cache.verify(&f, abc).unwrap(), abc);
        // Served from the cache file by a fresh cache object.
        let again = HashCache::new(Some(dir.path().join("cache.json")));
        assert_eq!(again.entries.lock().unwrap().len(), 1);
        let err = again.verify(&f, &"0".repeat(64)).unwrap_err().to_string();
        assert!(
            err.contains(abc) && err.contains(&"0".repeat(64)) && err.contains("w.bin"),
            "{err}"
        );
    }

    #[test]
    fn a_changed_file_is_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.bin");
        std::fs::write(&f, b"abc").unwrap();
        let cache = HashCache::new(None);
        let first = cache.sha256(&f).unwrap();
        std::fs::write(&f, b"abcd").unwrap();
        assert_ne!(cache.sha256(&f).unwrap(), first);
    }
}
