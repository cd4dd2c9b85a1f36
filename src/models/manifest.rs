//! `models/models.toml`: every model mailroom knows by id, with its files and their SHA-256.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ModelError, Role};

/// The parsed manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// The models, in file order.
    #[serde(default, rename = "model")]
    pub models: Vec<ModelEntry>,
}

/// One model of the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEntry {
    /// The id used on the command line and in records.
    pub id: String,
    /// Encoder or generator.
    pub role: Role,
    /// `gguf` or `safetensors`.
    pub format: String,
    /// Whether `models/fetch` installs it.
    #[serde(default)]
    pub default: bool,
    /// The licence of the weights.
    #[serde(default)]
    pub licence: String,
    /// One line on what it is.
    #[serde(default)]
    pub description: String,
    /// Where the weights were first published.
    #[serde(default)]
    pub upstream: String,
    /// The Python package (name==version) that carries the files.
    #[serde(default)]
    pub package: Option<String>,
    /// Carried in the repository itself (the default heads): verified, never downloaded.
    #[serde(default)]
    pub in_repository: bool,
    /// For encoders: the longest input in tokens.
    #[serde(default)]
    pub max_seq_length: Option<usize>,
    /// The files, each pinned by SHA-256.
    pub files: Vec<FileEntry>,
}

/// One pinned file of a model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    /// The file name inside `models/<id>/`.
    pub name: String,
    /// Where the file sits inside the source package.
    #[serde(default)]
    pub source: Option<String>,
    /// The pinned SHA-256, lowercase hex.
    pub sha256: String,
}

impl Manifest {
    /// Read and validate a manifest file.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Self::parse(&text).map_err(|reason| ModelError::Manifest {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parse and validate manifest text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut seen = std::collections::HashSet::new();
        for m in &manifest.models {
            if !seen.insert(m.id.as_str()) {
                return Err(format!("model id '{}' appears twice", m.id));
            }
            if m.files.is_empty() {
                return Err(format!("model '{}' lists no files", m.id));
            }
            for f in &m.files {
                let ok = f.sha256.len() == 64 && f.sha256.bytes().all(|b| b.is_ascii_hexdigit());
                if !ok {
                    return Err(format!(
                        "model '{}': file {}: sha256 must be 64 hex digits",
                        m.id, f.name
                    ));
                }
                if f.name.contains('/') || f.name.contains("..") {
                    return Err(format!(
                        "model '{}': file name '{}' must be a plain name",
                        m.id, f.name
                    ));
                }
            }
        }
        Ok(manifest)
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.id == id)
    }

    /// The default model of a role (the first marked `default`).
    pub fn default_for(&self, role: Role) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.role == role && m.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_manifest_parses_and_has_both_defaults() {
        let text = include_str!("../../models/models.toml");
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.default_for(Role::Encoder).unwrap().id, "all-minilm-l6-v2");
        assert_eq!(
            m.default_for(Role::Generator).unwrap().id,
            "smollm2-135m-instruct-q4_1"
        );
    }

    #[test]
    fn bad_hashes_and_duplicate_ids_are_rejected() {
        let bad = "[[model]]\nid='a'\nrole='encoder'\nformat='x'\n[[model.files]]\nname='f'\nsha256='abc'\n";
        assert!(Manifest::parse(bad).unwrap_err().contains("64 hex"));
        let h = "0".repeat(64);
        let one = format!("[[model]]\nid='a'\nrole='encoder'\nformat='x'\n[[model.files]]\nname='f'\nsha256='{h}'\n");
        assert!(Manifest::parse(&format!("{one}{one}"))
            .unwrap_err()
            .contains("twice"));
    }
}
