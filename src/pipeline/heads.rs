//! The heads an engine classifies with: those the operator names, then the store's active
//! heads (for an engine that writes to a store), then the shipped default heads of the
//! built-in taxonomy (listed in the model manifest with role `heads`, verified by
//! SHA-256 like any model) for every axis no named head decides. Each is checked against the
//! loaded encoder and taxonomy: a named head that does not fit is refused by name; a default
//! head whose encoder is not the one loaded is left out, with a warning, so that its axis is
//! decided zero-shot.

use std::path::{Path, PathBuf};

use crate::classify::head::TaxonomyRef;
use crate::classify::Head;
use crate::models::Encoder;

use super::models::ModelSpec;
use super::store_heads::StoreHead;
use super::PipelineError;

/// Where a head came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// Named by the operator (`--head`).
    Named,
    /// The store's active head for its axis (verified against its stored SHA-256).
    Store,
    /// Shipped with the default models.
    Default,
}

/// A head read from its file, not yet checked.
#[derive(Debug)]
pub(super) struct Candidate {
    path: PathBuf,
    head: Head,
    origin: Origin,
}

impl Candidate {
    /// Whether it reads the message embedding.
    pub(super) fn needs_embedding(&self) -> bool {
        self.head.needs_embedding()
    }
}

/// Read the named heads, then the store's heads for the axes they leave, then (when
/// `defaults`) the default heads for the axes left after those.
pub(super) fn load(
    named: &[PathBuf],
    stored: &[StoreHead],
    models: &ModelSpec,
    defaults: bool,
) -> Result<Vec<Candidate>, PipelineError> {
    let mut out = Vec::new();
    for path in named {
        out.push(Candidate {
            head: read(path)?,
            path: path.clone(),
            origin: Origin::Named,
        });
    }
    for s in stored {
        s.verify()?;
        let head = Head::from_bytes(&s.data).map_err(|reason| PipelineError::Head {
            path: s.path(),
            source: crate::classify::ClassifyError::Head {
                path: s.path(),
                reason,
            },
        })?;
        if out.iter().any(|c| c.head.meta.axis == head.meta.axis) {
            continue;
        }
        out.push(Candidate {
            head,
            path: s.path(),
            origin: Origin::Store,
        });
    }
    if !defaults {
        return Ok(out);
    }
    let Some(model) = models.default_heads()? else {
        return Ok(out);
    };
    for file in &model.files {
        let head = read(&file.path)?;
        if out.iter().any(|c| c.head.meta.axis == head.meta.axis) {
            continue;
        }
        out.push(Candidate {
            head,
            path: file.path.clone(),
            origin: Origin::Default,
        });
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Head, PipelineError> {
    Head::load(path).map_err(|source| PipelineError::Head {
        path: path.to_path_buf(),
        source,
    })
}

/// Check every candidate against the loaded encoder and taxonomy; the heads that stay.
pub(super) fn check(
    candidates: Vec<Candidate>,
    encoder: Option<&Encoder>,
    taxonomy: Option<&TaxonomyRef>,
) -> Result<Vec<Head>, PipelineError> {
    let mut heads = Vec::with_capacity(candidates.len());
    for c in candidates {
        let refused = |source| PipelineError::Head {
            path: c.path.clone(),
            source,
        };
        if let Some(t) = taxonomy {
            c.head.check_taxonomy(&c.path, t).map_err(refused)?;
        }
        if let Some(e) = encoder {
            if let Err(err) = c.head.check_encoder(&c.path, e.model_id(), e.sha256()) {
                match c.origin {
                    Origin::Named | Origin::Store => return Err(refused(err)),
                    Origin::Default => {
                        tracing::warn!(
                            axis = %c.head.meta.axis,
                            "the default head for this axis was trained with another encoder; \
                             the axis is decided zero-shot"
                        );
                        continue;
                    }
                }
            }
        }
        heads.push(c.head);
    }
    Ok(heads)
}
