//! An on-disk embedding cache keyed by (encoder weights SHA-256, SHA-256 of the text): one small
//! little-endian f32 file per text under `<dir>/<encoder sha prefix>/<text sha>.f32`. Writing is
//! best effort (a failed write only costs a recomputation); a file of the wrong size is ignored.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::classify::Embed;
use crate::learn::LearnError;

/// The cache folder and the encoder it belongs to.
#[derive(Debug, Clone)]
pub struct EmbeddingCache {
    dir: PathBuf,
}

impl EmbeddingCache {
    /// A cache under `dir` for the encoder with weights hash `encoder_sha256`, computing in
    /// `precision` (`""` for f32, e.g. `"bf16"` otherwise: the embeddings differ slightly).
    pub fn new(dir: &Path, encoder_sha256: &str, precision: &str) -> EmbeddingCache {
        let mut name: String = encoder_sha256.chars().take(16).collect();
        if !precision.is_empty() {
            name = format!("{name}-{precision}");
        }
        EmbeddingCache {
            dir: dir.join(name),
        }
    }

    fn file(&self, text: &str, long: bool) -> PathBuf {
        let mut h = Sha256::new();
        h.update([u8::from(long)]);
        h.update(text.as_bytes());
        self.dir.join(format!("{}.f32", hex::encode(h.finalize())))
    }

    /// The cached embedding of `text`, if any.
    pub fn get(&self, text: &str, long: bool) -> Option<Vec<f32>> {
        let b = std::fs::read(self.file(text, long)).ok()?;
        if b.is_empty() || b.len() % 4 != 0 {
            return None;
        }
        Some(
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        )
    }

    /// Store the embedding of `text` (best effort).
    pub fn put(&self, text: &str, long: bool, v: &[f32]) {
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        let path = self.file(text, long);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }

    /// Embed `texts` (pooled over chunks), computing only what is not cached, `batch` at a time.
    /// `progress` is called with the number of texts done so far.
    pub fn embed_long(
        &self,
        encoder: &dyn Embed,
        texts: &[String],
        batch: usize,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, LearnError> {
        let mut out: Vec<Option<Vec<f32>>> = texts.iter().map(|t| self.get(t, true)).collect();
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        let mut done = texts.len() - missing.len();
        progress(done);
        for chunk in missing.chunks(batch.max(1)) {
            let refs: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            let vs = encoder.embed_long(&refs)?;
            for (&i, v) in chunk.iter().zip(vs) {
                self.put(&texts[i], true, &v);
                out[i] = Some(v);
            }
            done += chunk.len();
            progress(done);
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::zeroshot::tests::FakeEncoder;

    #[test]
    fn caches_by_text_and_encoder() {
        let dir = std::env::temp_dir().join(format!("mailroom-cache-{}", std::process::id()));
        let c = EmbeddingCache::new(&dir, "abcdef", "");
        assert!(c.get("hello", true).is_none());
        let texts = vec!["hello world".to_string(), "bye".to_string()];
        let a = c.embed_long(&FakeEncoder, &texts, 8, |_| {}).unwrap();
        assert_eq!(c.get("hello world", true).unwrap(), a[0]);
        assert!(c.get("hello world", false).is_none());
        assert!(EmbeddingCache::new(&dir, "other", "")
            .get("hello world", true)
            .is_none());
        // Another precision of the same encoder has its own entries.
        assert!(EmbeddingCache::new(&dir, "abcdef", "bf16")
            .get("hello world", true)
            .is_none());
        std::fs::remove_dir_all(&dir).ok();
    }
}
