//! [`EngineBuilder`]: the one way an [`Engine`] is put together (every command, the server, the
//! learning layer). It loads what the mode needs and nothing more: the taxonomy and heads to
//! classify, the encoder when an axis or the summary needs embeddings, the generator for
//! abstractive summaries; and it checks that every head fits the loaded encoder.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::classify::head::TaxonomyRef;
use crate::classify::{Classifier, Embed, ReviewPolicy, Taxonomy, ZeroShot};
use crate::email::Limits;
use crate::models::{Encoder, Generator};
use crate::summarize::{Method, SummaryOptions};

use super::engine::{Engine, EngineConfig, Mode};
use super::heads;
use super::models::ModelSpec;
use super::record::{sha256_hex, TaxonomyInfo};
use super::replies::ReplyLibrary;
use super::store_heads::StoreHead;
use super::PipelineError;

/// Builds an [`Engine`]. Defaults: triage mode, abstractive brief summaries, the built-in
/// taxonomy decided zero-shot, no heads, the default models.
#[derive(Debug, Clone)]
pub struct EngineBuilder {
    models: ModelSpec,
    config: EngineConfig,
    jobs: Option<usize>,
    taxonomy: Option<PathBuf>,
    zero_shot: bool,
    heads: Vec<PathBuf>,
    store_heads: Vec<StoreHead>,
    default_heads: bool,
    encoder: Option<Arc<Encoder>>,
    generator: Option<Arc<Mutex<Generator>>>,
    replies: ReplyLibrary,
}

impl EngineBuilder {
    /// A builder over these models.
    pub fn new(models: ModelSpec) -> Self {
        EngineBuilder {
            models,
            config: EngineConfig::default(),
            jobs: None,
            taxonomy: None,
            zero_shot: true,
            heads: Vec::new(),
            store_heads: Vec::new(),
            default_heads: true,
            encoder: None,
            generator: None,
            replies: ReplyLibrary::Default,
        }
    }

    /// Classify, summarise or both.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.config.mode = mode;
        self
    }

    /// The summary method (`None`: no summary).
    pub fn summary(mut self, method: Option<Method>) -> Self {
        self.config.summary = method;
        self
    }

    /// Summary style, length, strictness and long-mail handling.
    pub fn summary_options(mut self, options: SummaryOptions) -> Self {
        self.config.summary_options = options;
        self
    }

    /// The taxonomy TOML of the zero-shot axes (default: the built-in one).
    pub fn taxonomy(mut self, path: Option<PathBuf>) -> Self {
        self.taxonomy = path;
        self
    }

    /// Decide the taxonomy's axes zero-shot (on by default); off leaves only the heads' axes.
    pub fn zero_shot(mut self, on: bool) -> Self {
        self.zero_shot = on;
        self
    }

    /// Use the shipped default heads of the built-in taxonomy for the axes no named head
    /// decides (on by default; they apply only when no `taxonomy` file is given).
    pub fn default_heads(mut self, on: bool) -> Self {
        self.default_heads = on;
        self
    }

    /// Trained heads: each decides its axis instead of zero-shot, or adds an axis.
    pub fn heads(mut self, paths: Vec<PathBuf>) -> Self {
        self.heads = paths;
        self
    }

    /// The store's active heads ([`super::store_heads::active_heads`]): each decides its axis
    /// in place of the shipped default head; a head named with [`EngineBuilder::heads`] still
    /// wins. Refused when its bytes do not match its stored SHA-256 or its encoder is not the
    /// one loaded.
    pub fn store_heads(mut self, heads: Vec<StoreHead>) -> Self {
        self.store_heads = heads;
        self
    }

    /// The operator's part of the review rule (threshold override, truncation limit).
    pub fn review(mut self, policy: ReviewPolicy) -> Self {
        self.config.review = policy;
        self
    }

    /// Mask personal data in the records' text fields.
    pub fn redact(mut self, on: bool) -> Self {
        self.config.redact = on;
        self
    }

    /// Analyser threads (default: the cores left after the generator's).
    pub fn jobs(mut self, jobs: Option<usize>) -> Self {
        self.jobs = jobs;
        self
    }

    /// Messages per encoder batch.
    pub fn batch(mut self, batch: usize) -> Self {
        self.config.batch = batch;
        self
    }

    /// Caps on message size, MIME depth and parts.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Token budget of the prepared text.
    pub fn max_tokens(mut self, tokens: usize) -> Self {
        self.config.max_tokens = tokens;
        self
    }

    /// The time of processing (default: when the engine is built): what relative dates in a
    /// message without a Date header resolve against. Fixing it makes such records repeatable.
    pub fn now(mut self, now: jiff::Timestamp) -> Self {
        self.config.now = now;
        self
    }

    /// Use an encoder already loaded (shared with other engines) instead of loading one.
    pub fn encoder(mut self, encoder: Arc<Encoder>) -> Self {
        self.encoder = Some(encoder);
        self
    }

    /// Use the models `engine` loaded (its encoder and generator) instead of loading them
    /// again: building an engine with other heads (after a promotion) then costs little.
    pub fn reuse_models(mut self, engine: &Engine) -> Self {
        self.encoder = engine.encoder.clone();
        self.generator = engine.generator.clone();
        self
    }

    /// The library of standard lines for replies (triage only; default: the example library
    /// of the built-in taxonomy, used only with that taxonomy).
    pub fn replies(mut self, library: ReplyLibrary) -> Self {
        self.replies = library;
        self
    }

    /// Load what the mode needs and put the engine together.
    pub fn build(mut self) -> Result<Engine, PipelineError> {
        let classifying = self.config.mode != Mode::Summarize;
        let method = self.config.summary_method();
        let candidates = if classifying {
            let defaults = self.default_heads && self.taxonomy.is_none();
            heads::load(&self.heads, &self.store_heads, &self.models, defaults)?
        } else {
            Vec::new()
        };
        let taxonomy = if classifying && self.zero_shot {
            Some(load_taxonomy(self.taxonomy.as_ref())?)
        } else {
            None
        };
        let needs_encoder = match self.config.mode {
            Mode::Triage => true,
            Mode::Classify => taxonomy.is_some() || candidates.iter().any(|c| c.needs_embedding()),
            Mode::Summarize => matches!(method, Some(Method::Extractive | Method::Abstractive)),
        };
        let encoder = match self.encoder.take() {
            Some(e) => Some(e),
            None if needs_encoder => Some(Arc::new(self.models.load_encoder()?)),
            None => None,
        };
        let taxonomy_ref = taxonomy.as_ref().map(|t| TaxonomyRef {
            name: t.name.clone(),
            version: t.version.clone(),
        });
        let heads = heads::check(candidates, encoder.as_deref(), taxonomy_ref.as_ref())?;
        let generator = match (method, self.generator.take()) {
            (Some(Method::Abstractive), Some(g)) => Some(g),
            (Some(Method::Abstractive), None) => {
                Some(Arc::new(Mutex::new(self.models.load_generator()?)))
            }
            _ => None,
        };
        let replies = match (&encoder, self.config.mode) {
            (Some(enc), Mode::Triage) if self.replies != ReplyLibrary::Off => {
                let in_use = match &taxonomy {
                    Some(t) => t.clone(),
                    None => load_taxonomy(self.taxonomy.as_ref())?,
                };
                super::replies::load(&self.replies, &in_use, enc)?
            }
            _ => None,
        };
        let taxonomy_info = taxonomy.as_ref().map(info);
        let zero_shot = match (taxonomy, &encoder) {
            (Some(t), Some(e)) => Some(ZeroShot::build(t, &**e as &dyn Embed)?),
            _ => None,
        };
        let classifier = classifying.then(|| Classifier::new(zero_shot, heads));
        self.config.jobs = self.jobs.unwrap_or_else(|| default_jobs(method));
        let mut engine =
            Engine::assemble(encoder, generator, classifier, taxonomy_info, self.config);
        engine.replies = replies;
        Ok(engine)
    }
}

/// The taxonomy at `path`, or the built-in one.
pub fn load_taxonomy(path: Option<&PathBuf>) -> Result<Taxonomy, PipelineError> {
    match path {
        Some(p) => Taxonomy::load(p).map_err(PipelineError::from),
        None => Ok(Taxonomy::default_taxonomy()),
    }
}

fn info(t: &Taxonomy) -> TaxonomyInfo {
    TaxonomyInfo {
        name: t.name.clone(),
        version: t.version.clone(),
        sha256: sha256_hex(toml::to_string(t).unwrap_or_default().as_bytes()),
    }
}

/// Analyser threads by default: every core, less one for the generator when it runs.
fn default_jobs(method: Option<Method>) -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    match method {
        Some(Method::Abstractive) => cores.saturating_sub(1).max(1),
        _ => cores,
    }
}
