//! Resolving a model reference to verified files on disk.
//!
//! A reference is, in this order of precedence:
//! 1. `hf:owner/repo` or `hf:owner/repo:file` — the local hub cache (the `HF_HOME` layout that
//!    hf-hub writes), downloading through hf-hub only when the store allows it;
//! 2. a path to a `.gguf` file or a model folder;
//! 3. a manifest id — `models/<id>/`, every file checked against its pinned SHA-256.
//!
//! Nothing here touches the network unless [`StoreOptions::allow_download`] is set.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::manifest::{Manifest, ModelEntry};
use super::verify::HashCache;
use super::{ModelError, Role};

/// Where the local hub cache lives (the folder that holds `models--owner--repo/`).
#[derive(Debug, Clone)]
pub struct HfCache(pub PathBuf);

/// How a [`Store`] may find models.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// The hub cache to read `hf:` references from (`$HF_HOME/hub`); `None` disables `hf:`.
    pub hf_cache: Option<HfCache>,
    /// Whether `hf:` references missing from the cache may be downloaded.
    pub allow_download: bool,
}

/// The model store: a folder with `models.toml` and one subfolder per installed model.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    manifest: Manifest,
    options: StoreOptions,
    hashes: HashCache,
}

/// A file of a resolved model, with the SHA-256 it was verified against.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedFile {
    /// The file on disk.
    pub path: PathBuf,
    /// Its SHA-256 (computed from its bytes, or served from the size+mtime cache).
    pub sha256: String,
    /// Whether the hash was checked against a pin (manifest, or the hub's own content hash).
    pub pinned: bool,
}

/// A model reference resolved to verified files.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedModel {
    /// The id to record: the manifest id, `hf:owner/repo[:file]`, or the path given.
    pub id: String,
    /// Encoder or generator.
    pub role: Role,
    /// The files, verified.
    pub files: Vec<VerifiedFile>,
}

impl ResolvedModel {
    /// The file with this name, if the model has it.
    pub fn file(&self, name: &str) -> Option<&VerifiedFile> {
        self.files
            .iter()
            .find(|f| f.path.file_name().is_some_and(|n| n == name))
    }

    /// The first file whose name ends with `suffix`.
    pub fn file_with_suffix(&self, suffix: &str) -> Option<&VerifiedFile> {
        self.files
            .iter()
            .find(|f| f.path.to_string_lossy().ends_with(suffix))
    }

    /// The weights file (`.gguf` or `model.safetensors`): the one whose hash identifies the model.
    pub fn weights(&self) -> Option<&VerifiedFile> {
        self.file_with_suffix(".gguf")
            .or_else(|| self.file_with_suffix(".safetensors"))
    }

    /// Check the role before loading.
    pub fn expect_role(&self, role: Role) -> Result<(), ModelError> {
        if self.role == role {
            Ok(())
        } else {
            Err(ModelError::WrongRole {
                id: self.id.clone(),
                expected: role,
                actual: self.role,
            })
        }
    }
}

const ENCODER_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

impl Store {
    /// Open the store in `root` (which must hold `models.toml`), with no hub access.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, ModelError> {
        Self::open_with(root, StoreOptions::default())
    }

    /// Open the store in `root` with the given options.
    pub fn open_with(root: impl AsRef<Path>, options: StoreOptions) -> Result<Self, ModelError> {
        let root = root.as_ref().to_path_buf();
        let manifest = Manifest::load(&root.join("models.toml"))?;
        let hashes = HashCache::new(Some(root.join(".sha256-cache.json")));
        Ok(Store {
            root,
            manifest,
            options,
            hashes,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The store folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder a manifest model is installed in.
    pub fn model_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// The default model of a role, resolved and verified.
    pub fn resolve_default(&self, role: Role) -> Result<ResolvedModel, ModelError> {
        let entry = self
            .manifest
            .default_for(role)
            .ok_or_else(|| ModelError::Unknown {
                reference: format!("<default {role}>"),
            })?;
        self.resolve_entry(entry)
    }

    /// Resolve a reference (manifest id, path, or `hf:owner/repo[:file]`) to verified files.
    pub fn resolve(&self, reference: &str) -> Result<ResolvedModel, ModelError> {
        if let Some(hf) = reference.strip_prefix("hf:") {
            return self.resolve_hf(reference, hf);
        }
        if let Some(entry) = self.manifest.get(reference) {
            return self.resolve_entry(entry);
        }
        let path = Path::new(reference);
        if path.exists() {
            return self.resolve_path(reference, path);
        }
        Err(ModelError::Unknown {
            reference: reference.to_string(),
        })
    }

    fn resolve_entry(&self, entry: &ModelEntry) -> Result<ResolvedModel, ModelError> {
        let dir = self.model_dir(&entry.id);
        let mut files = Vec::with_capacity(entry.files.len());
        for f in &entry.files {
            let path = dir.join(&f.name);
            if !path.is_file() {
                return Err(ModelError::Missing {
                    id: entry.id.clone(),
                    path,
                });
            }
            let sha256 = self.hashes.verify(&path, &f.sha256)?;
            files.push(VerifiedFile {
                path,
                sha256,
                pinned: true,
            });
        }
        Ok(ResolvedModel {
            id: entry.id.clone(),
            role: entry.role,
            files,
        })
    }

    /// A local `.gguf` file or model folder. Files that match a manifest pin by name and size are
    /// checked against it; others are hashed and recorded unpinned.
    fn resolve_path(&self, reference: &str, path: &Path) -> Result<ResolvedModel, ModelError> {
        let (role, paths) = if path.is_file() {
            if !has_ext(path, "gguf") {
                return Err(ModelError::invalid(
                    path,
                    "a model file must be a .gguf (or give the folder of an encoder)",
                ));
            }
            (Role::Generator, vec![path.to_path_buf()])
        } else {
            let ggufs = list_with_ext(path, "gguf")?;
            match ggufs.len() {
                1 => (Role::Generator, ggufs),
                n if n > 1 => {
                    return Err(ModelError::invalid(
                        path,
                        format!("{n} .gguf files here; name the one to use"),
                    ))
                }
                _ => {
                    let files: Vec<PathBuf> = ENCODER_FILES.iter().map(|f| path.join(f)).collect();
                    if let Some(missing) = files.iter().find(|f| !f.is_file()) {
                        return Err(ModelError::invalid(
                            path,
                            format!(
                                "not a model folder: no .gguf file, and {} is missing",
                                missing.file_name().unwrap_or_default().to_string_lossy()
                            ),
                        ));
                    }
                    (Role::Encoder, files)
                }
            }
        };
        let mut files = Vec::new();
        for p in paths {
            let sha256 = self.hashes.sha256(&p)?;
            let pin = self.pin_for(&p);
            if let Some(expected) = pin {
                if !expected.eq_ignore_ascii_case(&sha256) {
                    return Err(ModelError::HashMismatch {
                        path: p,
                        expected: expected.to_string(),
                        actual: sha256,
                    });
                }
            }
            files.push(VerifiedFile {
                path: p,
                sha256,
                pinned: pin.is_some(),
            });
        }
        Ok(ResolvedModel {
            id: reference.to_string(),
            role,
            files,
        })
    }

    /// The manifest pin for a file with this name, if exactly one manifest file has the name.
    fn pin_for(&self, path: &Path) -> Option<&str> {
        let name = path.file_name()?.to_str()?;
        if ENCODER_FILES.contains(&name) {
            // Generic names: a folder of another encoder has them too.
            return None;
        }
        let mut pins = self
            .manifest
            .models
            .iter()
            .flat_map(|m| m.files.iter())
            .filter(|f| f.name == name);
        let first = pins.next()?;
        pins.next().is_none().then_some(first.sha256.as_str())
    }

    fn resolve_hf(&self, reference: &str, spec: &str) -> Result<ResolvedModel, ModelError> {
        let (repo, file) = match spec.split_once(':') {
            Some((r, f)) => (r, Some(f)),
            None => (spec, None),
        };
        if repo.split('/').count() != 2 || repo.split('/').any(str::is_empty) {
            return Err(ModelError::Unknown {
                reference: reference.to_string(),
            });
        }
        let cache = self
            .options
            .hf_cache
            .as_ref()
            .ok_or_else(|| ModelError::NotCached {
                reference: reference.to_string(),
                file: file.unwrap_or("(any)").to_string(),
                cache: PathBuf::from("(no hub cache configured)"),
            })?;
        let snapshot = snapshot_dir(&cache.0, repo);
        let wanted: Vec<String> = match file {
            Some(f) => vec![f.to_string()],
            None => {
                let listed = match &snapshot {
                    Some(dir) => list_names(dir),
                    None => Vec::new(),
                };
                let listed = if listed.is_empty() && self.options.allow_download {
                    self.remote_listing(reference, cache, repo)?
                } else {
                    listed
                };
                choose_files(reference, &listed)?
            }
        };
        let role = if wanted.iter().any(|f| f.ends_with(".gguf")) {
            Role::Generator
        } else {
            Role::Encoder
        };
        let mut files = Vec::new();
        for name in &wanted {
            let path = match snapshot
                .as_ref()
                .map(|d| d.join(name))
                .filter(|p| p.is_file())
            {
                Some(p) => p,
                None if self.options.allow_download => {
                    self.download(reference, cache, repo, name)?
                }
                None => {
                    return Err(ModelError::NotCached {
                        reference: reference.to_string(),
                        file: name.clone(),
                        cache: cache.0.clone(),
                    })
                }
            };
            files.push(self.verify_hub_file(&path)?);
        }
        Ok(ResolvedModel {
            id: reference.to_string(),
            role,
            files,
        })
    }

    /// Hub cache files are symlinks to `blobs/<etag>`: for LFS files the etag is the SHA-256 of
    /// the content, for small files the git blob SHA-1. Either way the bytes are checked.
    fn verify_hub_file(&self, path: &Path) -> Result<VerifiedFile, ModelError> {
        let blob = std::fs::canonicalize(path).map_err(|e| ModelError::io(path, e))?;
        let etag = blob
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let is_hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
        if etag.len() == 64 && is_hex(&etag) {
            let sha256 = self.hashes.verify(path, &etag)?;
            return Ok(VerifiedFile {
                path: path.to_path_buf(),
                sha256,
                pinned: true,
            });
        }
        let sha256 = self.hashes.sha256(path)?;
        let pinned = if etag.len() == 40 && is_hex(&etag) {
            let actual = git_blob_sha1(path)?;
            if actual != etag {
                return Err(ModelError::HashMismatch {
                    path: path.to_path_buf(),
                    expected: format!("git blob {etag}"),
                    actual: format!("git blob {actual}"),
                });
            }
            true
        } else {
            false
        };
        Ok(VerifiedFile {
            path: path.to_path_buf(),
            sha256,
            pinned,
        })
    }

    fn api(&self, reference: &str, cache: &HfCache) -> Result<hf_hub::api::sync::Api, ModelError> {
        hf_hub::api::sync::ApiBuilder::new()
            .with_cache_dir(cache.0.clone())
            .with_progress(false)
            .build()
            .map_err(|e| ModelError::Download {
                reference: reference.to_string(),
                reason: e.to_string(),
            })
    }

    fn download(
        &self,
        reference: &str,
        cache: &HfCache,
        repo: &str,
        file: &str,
    ) -> Result<PathBuf, ModelError> {
        tracing::info!(
            reference,
            file,
            "downloading model file (downloads allowed)"
        );
        self.api(reference, cache)?
            .model(repo.to_string())
            .get(file)
            .map_err(|e| ModelError::Download {
                reference: reference.to_string(),
                reason: format!("{file}: {e}"),
            })
    }

    fn remote_listing(
        &self,
        reference: &str,
        cache: &HfCache,
        repo: &str,
    ) -> Result<Vec<String>, ModelError> {
        let info = self
            .api(reference, cache)?
            .model(repo.to_string())
            .info()
            .map_err(|e| ModelError::Download {
                reference: reference.to_string(),
                reason: e.to_string(),
            })?;
        Ok(info.siblings.into_iter().map(|s| s.rfilename).collect())
    }
}

/// `<cache>/models--owner--repo/snapshots/<commit of refs/main>`, when present.
fn snapshot_dir(cache: &Path, repo: &str) -> Option<PathBuf> {
    let base = cache.join(format!("models--{}", repo.replace('/', "--")));
    let commit = std::fs::read_to_string(base.join("refs").join("main")).ok()?;
    let dir = base.join("snapshots").join(commit.trim());
    dir.is_dir().then_some(dir)
}

/// Which files of a repo make the model, when no file was named.
fn choose_files(reference: &str, listed: &[String]) -> Result<Vec<String>, ModelError> {
    let ggufs: Vec<&String> = listed.iter().filter(|f| f.ends_with(".gguf")).collect();
    match ggufs.len() {
        1 => return Ok(vec![ggufs[0].clone()]),
        n if n > 1 => {
            return Err(ModelError::invalid(
                reference,
                format!(
                    "{n} .gguf files in this repository; name one as {reference}:FILE ({})",
                    ggufs
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
        _ => {}
    }
    if ENCODER_FILES.iter().all(|f| listed.iter().any(|l| l == f)) {
        return Ok(ENCODER_FILES.iter().map(|s| s.to_string()).collect());
    }
    if listed.is_empty() {
        return Err(ModelError::NotCached {
            reference: reference.to_string(),
            file: "(any)".into(),
            cache: PathBuf::from("(not in the hub cache)"),
        });
    }
    Err(ModelError::invalid(
        reference,
        "neither a .gguf file nor config.json + tokenizer.json + model.safetensors",
    ))
}

fn has_ext(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

fn list_with_ext(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, ModelError> {
    let rd = std::fs::read_dir(dir).map_err(|e| ModelError::io(dir, e))?;
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && has_ext(p, ext))
        .collect();
    out.sort();
    Ok(out)
}

fn list_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The git blob SHA-1 of a file: SHA-1 of `blob <len>\0<bytes>`.
fn git_blob_sha1(path: &Path) -> Result<String, ModelError> {
    use sha1::{Digest, Sha1};
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(&bytes);
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choosing_files_from_a_repo_listing() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            choose_files("hf:a/b", &l(&["README.md", "m.Q4.gguf"])).unwrap(),
            vec!["m.Q4.gguf"]
        );
        let err = choose_files("hf:a/b", &l(&["x.gguf", "y.gguf"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("hf:a/b:FILE"), "{err}");
        assert_eq!(
            choose_files(
                "hf:a/b",
                &l(&["config.json", "tokenizer.json", "model.safetensors"])
            )
            .unwrap()
            .len(),
            3
        );
    }

    #[test]
    fn git_blob_hash_matches_git() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x");
        std::fs::write(&f, b"hello\n").unwrap();
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_sha1(&f).unwrap(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }
}
