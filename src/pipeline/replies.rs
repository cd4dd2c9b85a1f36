//! Standard lines for replies in the pipeline: which library the engine loads (the example
//! library of the built-in taxonomy by default), its paragraphs embedded once when the engine
//! is built, and per message the best paragraphs filled from the record's own key facts.
//! Junk and automatic replies get none: nobody answers them.

use std::path::PathBuf;
use std::sync::Arc;

use crate::classify::Taxonomy;
use crate::models::Encoder;
use crate::replies::{Library, RankInput, Ranker, Suggestions};

use super::engine::Engine;
use super::record::Record;
use super::PipelineError;

/// Which library of standard lines the records' `replies` come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReplyLibrary {
    /// None: records carry no `replies`.
    Off,
    /// The example library shipped for the built-in taxonomy (used only with that taxonomy).
    #[default]
    Default,
    /// A library file (an error when it does not fit the taxonomy in use).
    File(PathBuf),
}

/// The library `choice` names, checked against `taxonomy` and embedded; `None` when off, or
/// when the default library does not fit the operator's own taxonomy.
pub(super) fn load(
    choice: &ReplyLibrary,
    taxonomy: &Taxonomy,
    encoder: &Encoder,
) -> Result<Option<Arc<Ranker>>, PipelineError> {
    let library = match choice {
        ReplyLibrary::Off => return Ok(None),
        ReplyLibrary::Default => Library::default_library(),
        ReplyLibrary::File(path) => Library::load(path)?,
    };
    let labels = taxonomy
        .axis("category")
        .map(|a| a.label_names())
        .unwrap_or_default();
    match library.check_taxonomy(&taxonomy.name, &labels) {
        Ok(()) => {}
        Err(_) if *choice == ReplyLibrary::Default => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let texts = library.encoder_texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let embeddings = encoder.embed(&refs)?;
    Ok(Some(Arc::new(Ranker::new(library, embeddings)?)))
}

impl Engine {
    /// The standard lines for a record just decided, with the message's embedding.
    pub(super) fn suggest_replies(
        &self,
        r: &Record,
        embedding: Option<&[f32]>,
    ) -> Option<Suggestions> {
        let ranker = self.replies.as_ref()?;
        if r.classification
            .iter()
            .any(|a| a.axis == "junk" && a.label != "legitimate")
        {
            return Some(ranker.skipped("junk"));
        }
        if r.auto_reply {
            return Some(ranker.skipped("auto_reply"));
        }
        let category = r
            .classification
            .iter()
            .find(|a| a.axis == "category")
            .map(|a| a.probabilities.0.as_slice());
        Some(ranker.rank(
            &RankInput {
                category,
                embedding,
                facts: &r.key_facts,
            },
            None,
        ))
    }
}
