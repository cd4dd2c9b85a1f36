//! The [`Engine`]: loaded models and settings, and the calls every peer makes (triage a few
//! messages, summarise a text); the streaming run is in [`super::stream`], the per-message
//! stages in [`super::stages`].

use std::sync::{Arc, Mutex};

use crate::classify::Classifier;
use crate::email::{Limits, Message};
use crate::models::{Encoder, Generator};
use crate::summarize::{Method, Summarizer, Summary, SummaryError, SummaryInput, SummaryOptions};
use crate::text;

use super::record::{ModelRef, ModelsInfo, Output, TaxonomyInfo};
use crate::classify::ReviewPolicy;

/// What the engine does with each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Classify on every axis and summarise (`triage`, `/v1/triage`).
    #[default]
    Triage,
    /// Classify only: no summary, no generator (`classify`, `/v1/classify`).
    Classify,
    /// Summarise only: no classification (`summarize`).
    Summarize,
}

/// Everything that shapes a run besides the models.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Classify, summarise, or both.
    pub mode: Mode,
    /// Caps on message size, MIME depth and parts.
    pub limits: Limits,
    /// Token budget of the prepared text.
    pub max_tokens: usize,
    /// Summary method (`None`: no summary). Ignored in [`Mode::Classify`].
    pub summary: Option<Method>,
    /// Summary style, length, strictness.
    pub summary_options: SummaryOptions,
    /// When a decision goes to review.
    pub review: ReviewPolicy,
    /// Mask personal data in the record's text fields.
    pub redact: bool,
    /// Analyser threads (parse, prepare, embed, classify).
    pub jobs: usize,
    /// Messages per encoder batch.
    pub batch: usize,
    /// The time of processing: relative dates in a message without a Date header resolve
    /// against its day (and the record says so).
    pub now: jiff::Timestamp,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            mode: Mode::Triage,
            limits: Limits::default(),
            max_tokens: text::DEFAULT_MAX_TOKENS,
            summary: Some(Method::Abstractive),
            summary_options: SummaryOptions::default(),
            review: ReviewPolicy::default(),
            redact: false,
            jobs: 1,
            batch: 16,
            now: jiff::Timestamp::now(),
        }
    }
}

impl EngineConfig {
    /// The summary method in effect (none when classifying only).
    pub fn summary_method(&self) -> Option<Method> {
        match self.mode {
            Mode::Classify => None,
            _ => self.summary,
        }
    }
}

/// The loaded models and settings that triage messages. Built by
/// [`EngineBuilder`](super::EngineBuilder); cheap to derive another mode from
/// ([`Engine::with_mode`]: the models are shared).
pub struct Engine {
    pub(super) encoder: Option<Arc<Encoder>>,
    pub(super) generator: Option<Arc<Mutex<Generator>>>,
    pub(super) classifier: Option<Classifier>,
    pub(super) summarizer: Summarizer,
    pub(super) config: EngineConfig,
    pub(super) models: ModelsInfo,
    pub(super) taxonomy: Option<TaxonomyInfo>,
    /// The standard lines for replies, embedded (triage only).
    pub(super) replies: Option<Arc<crate::replies::Ranker>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("mode", &self.config.mode)
            .field("models", &self.models)
            .field("taxonomy", &self.taxonomy)
            .finish()
    }
}

impl Engine {
    /// Assemble an engine from loaded parts (the builder checks that they fit together).
    pub(super) fn assemble(
        encoder: Option<Arc<Encoder>>,
        generator: Option<Arc<Mutex<Generator>>>,
        classifier: Option<Classifier>,
        taxonomy: Option<TaxonomyInfo>,
        config: EngineConfig,
    ) -> Engine {
        let abstractive = config.summary_method() == Some(Method::Abstractive);
        let generator = generator.filter(|_| abstractive);
        let summarizing_only = config.mode == Mode::Summarize;
        let classifier = classifier
            .filter(|_| !summarizing_only)
            .map(|c| c.with_policy(config.review.clone()));
        let models = ModelsInfo {
            encoder: encoder.as_ref().map(|e| ModelRef {
                id: e.model_id().to_string(),
                sha256: e.sha256().to_string(),
            }),
            generator: match &generator {
                Some(g) => {
                    let g = lock(g);
                    Some(ModelRef {
                        id: g.model_id().to_string(),
                        sha256: g.sha256().to_string(),
                    })
                }
                None => None,
            },
            heads: classifier
                .as_ref()
                .map(|c| {
                    c.heads()
                        .iter()
                        .map(|h| ModelRef {
                            id: format!("head:{}", h.meta.axis),
                            sha256: h.sha256.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        Engine {
            encoder,
            generator,
            classifier,
            summarizer: Summarizer::new(config.summary_options.clone()),
            taxonomy: taxonomy.filter(|_| !summarizing_only),
            config,
            models,
            replies: None,
        }
    }

    /// The same models in another mode (the server's classify lane beside its triage lane).
    /// A mode that needs a model this engine did not load gets none: abstractive summaries
    /// fall back as without a generator.
    pub fn with_mode(&self, mode: Mode) -> Engine {
        let mut engine = Engine::assemble(
            self.encoder.clone(),
            self.generator.clone(),
            self.classifier.clone(),
            self.taxonomy.clone(),
            EngineConfig {
                mode,
                ..self.config.clone()
            },
        );
        engine.replies = self.replies.clone().filter(|_| mode == Mode::Triage);
        engine
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The models behind this engine, with their hashes.
    pub fn models(&self) -> &ModelsInfo {
        &self.models
    }

    /// The taxonomy behind the zero-shot axes.
    pub fn taxonomy(&self) -> Option<&TaxonomyInfo> {
        self.taxonomy.as_ref()
    }

    /// The library of standard lines the records' `replies` come from, when there is one.
    pub fn replies_library(&self) -> Option<&crate::replies::Library> {
        self.replies.as_deref().map(crate::replies::Ranker::library)
    }

    /// The axes every record decides (none when summarising only).
    pub fn axes(&self) -> Vec<String> {
        self.classifier
            .as_ref()
            .map(Classifier::axes)
            .unwrap_or_default()
    }

    /// Triage a few messages on the calling thread, in order.
    pub fn triage(&self, messages: Vec<Message>) -> Vec<Output> {
        let batch: Vec<(usize, Message)> = messages.into_iter().enumerate().collect();
        self.analyse(batch)
            .into_iter()
            .map(|(_, slot)| match slot {
                Ok(p) => self.finish(p),
                Err(out) => out,
            })
            .collect()
    }

    /// Summarise a text that is not a message (a reference-summary corpus item, a thread put
    /// together by the caller) with the engine's method.
    pub fn summarize(&self, input: &SummaryInput) -> Result<Summary, SummaryError> {
        let encoder = self.encoder.as_deref();
        match (self.config.summary_method(), &self.generator, encoder) {
            (Some(Method::Abstractive), Some(g), enc) => {
                self.summarizer.abstractive(&mut lock(g), enc, input)
            }
            (Some(Method::Extractive), _, Some(enc)) => self.summarizer.extractive(enc, input),
            _ => Ok(self.summarizer.lead(input)),
        }
    }

    /// The summary options.
    pub fn summarizer(&self) -> &Summarizer {
        &self.summarizer
    }
}

/// The generator, locked; a panic on another thread never leaves it unusable.
pub(super) fn lock(g: &Mutex<Generator>) -> std::sync::MutexGuard<'_, Generator> {
    match g.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
