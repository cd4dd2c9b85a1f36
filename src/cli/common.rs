//! What several commands share: model flags, classifier flags, summary flags, checking inputs,
//! logging, probability flags. The flags become the library's specs here, and the environment
//! (the hub cache location) is read here, never below.

use std::path::PathBuf;

use clap::Args;
use mailroom::pipeline::{
    EngineBuilder, Implementation, LongMail, ModelSpec, Precision, ReplyLibrary, ReviewPolicy,
    Style, SummaryOptions, DEFAULT_INPUT_TOKENS, DEFAULT_LEAD_BIAS, DEFAULT_MAX_CHUNKS,
};

/// Flags that choose and locate models.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Model store folder (holds models.toml and one folder per model).
    #[arg(long, env = "MAILROOM_MODELS", value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Encoder: a manifest id, a model folder, or hf:owner/repo.
    #[arg(long, env = "MAILROOM_ENCODER", value_name = "MODEL")]
    pub encoder: Option<String>,
    /// Generator: a manifest id, a .gguf file, a folder with one, or hf:owner/repo[:file].
    #[arg(long, env = "MAILROOM_GENERATOR", value_name = "MODEL")]
    pub generator: Option<String>,
    /// Allow downloading hf: models missing from the local hub cache (off by default: no network).
    #[arg(long, env = "MAILROOM_ALLOW_DOWNLOAD", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    pub allow_download: bool,
    /// Device: cpu, cuda[:N] or metal (the last two need a build with that feature).
    #[arg(long, env = "MAILROOM_DEVICE", default_value = "cpu")]
    pub device: String,
    /// Keep the GGUF file's own weight formats instead of requantising slow ones to Q8_0
    /// (candle backend).
    #[arg(long)]
    pub native_weights: bool,
    /// Encoder dense-layer precision on the CPU: auto (bf16 where the CPU has AVX-512 BF16,
    /// else f32), f32, bf16, or int8 (AVX-512 VNNI).
    #[arg(long, env = "MAILROOM_ENCODER_PRECISION", default_value = "auto", value_parser = ["auto", "f32", "bf16", "int8"])]
    pub encoder_precision: String,
    /// Generator implementation: `own` (mailroom's kernels where the model is supported, else
    /// candle) or `candle`.
    #[arg(long, env = "MAILROOM_BACKEND", value_enum, default_value_t = BackendArg::Own)]
    pub backend: BackendArg,
}

/// The `--backend` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// mailroom's own forward (llama family, Q4_1/Q8_0), else candle.
    Own,
    /// candle-transformers' quantised models.
    Candle,
}

/// The local hub cache: `HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
fn hf_cache_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HF_HUB_CACHE") {
        return Some(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("HF_HOME") {
        return Some(PathBuf::from(p).join("hub"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
}

impl ModelArgs {
    /// The model spec these flags name.
    pub fn spec(&self) -> ModelSpec {
        ModelSpec {
            models_dir: self
                .models_dir
                .clone()
                .unwrap_or_else(super::default_models_dir),
            hf_cache: hf_cache_dir(),
            allow_download: self.allow_download,
            encoder: self.encoder.clone(),
            generator: self.generator.clone(),
            device: self.device.clone(),
            encoder_precision: match self.encoder_precision.as_str() {
                "f32" => Some(Precision::F32),
                "bf16" => Some(Precision::Bf16),
                "int8" => Some(Precision::Int8),
                _ => None,
            },
            generator_implementation: match self.backend {
                BackendArg::Own => Implementation::Own,
                BackendArg::Candle => Implementation::Candle,
            },
            native_weights: self.native_weights,
            // MAILROOM_KERNEL=avx2|portable forces slower kernels of the own forward.
            kernel: std::env::var("MAILROOM_KERNEL")
                .ok()
                .and_then(|k| k.parse().ok()),
        }
    }
}

impl ModelArgs {
    /// Open the model store these flags name (`models` commands).
    pub fn store(&self) -> anyhow::Result<mailroom::models::Store> {
        Ok(self.spec().store()?)
    }

    /// Load the encoder (single-model commands: `embed`, `bench`).
    pub fn load_encoder(&self) -> anyhow::Result<mailroom::models::Encoder> {
        Ok(self.spec().load_encoder()?)
    }

    /// Load the generator (single-model commands: `generate`, `bench`).
    pub fn load_generator(&self) -> anyhow::Result<mailroom::models::Generator> {
        Ok(self.spec().load_generator()?)
    }
}

/// Flags that choose how messages are classified (`classify`, `triage`, `serve`).
#[derive(Debug, Clone, Args)]
pub struct ClassifierArgs {
    /// A trained head (repeatable): it decides its axis instead of zero-shot, or adds an axis.
    #[arg(long = "head", value_name = "HEAD")]
    pub heads: Vec<PathBuf>,
    /// Taxonomy TOML for the zero-shot axes (default: the built-in public-service taxonomy).
    #[arg(long, value_name = "FILE")]
    pub taxonomy: Option<PathBuf>,
    /// Only the heads' axes: no zero-shot.
    #[arg(long)]
    pub no_zero_shot: bool,
    /// Do not use the shipped default heads (category, priority, junk of the built-in
    /// taxonomy): every axis no --head decides is decided zero-shot. They are used only with
    /// the built-in taxonomy.
    #[arg(long)]
    pub no_default_heads: bool,
    /// Send a decision to review when its top probability is below this, on every axis and
    /// label (instead of the thresholds of the taxonomy and the heads).
    #[arg(long, env = "MAILROOM_REVIEW_THRESHOLD", value_parser = probability)]
    pub review_threshold: Option<f32>,
    /// Send a decision to review when more than this share of the text was cut to fit.
    #[arg(long, default_value_t = 0.5, value_parser = probability)]
    pub max_truncated: f32,
    /// Library of standard lines for replies, TOML (default: the example library of the
    /// built-in taxonomy). Triage proposes its best paragraphs per message, filled from the
    /// message's key facts; nothing is sent.
    #[arg(long, value_name = "FILE", conflicts_with = "no_replies")]
    pub replies_library: Option<PathBuf>,
    /// No standard lines for replies in the records.
    #[arg(long)]
    pub no_replies: bool,
}

impl ClassifierArgs {
    /// The builder with these choices.
    pub fn apply(&self, builder: EngineBuilder) -> EngineBuilder {
        builder
            .heads(self.heads.clone())
            .taxonomy(self.taxonomy.clone())
            .zero_shot(!self.no_zero_shot)
            .default_heads(!self.no_default_heads)
            .replies(match (&self.replies_library, self.no_replies) {
                (_, true) => ReplyLibrary::Off,
                (Some(p), false) => ReplyLibrary::File(p.clone()),
                (None, false) => ReplyLibrary::Default,
            })
            .review(ReviewPolicy {
                override_threshold: self.review_threshold,
                max_truncated: self.max_truncated,
                ..ReviewPolicy::default()
            })
    }
}

/// Flags that shape a summary (`summarize`, `triage`, `eval summaries`).
#[derive(Debug, Clone, Args)]
pub struct SummaryArgs {
    /// Summary style.
    #[arg(long, value_enum, default_value_t = Style::Brief)]
    pub style: Style,
    /// Word budget (default: 40 for brief, 10 for headline).
    #[arg(long, value_name = "N")]
    pub summary_words: Option<usize>,
    /// Fall back to extractive when an abstractive summary fails the faithfulness check.
    #[arg(long)]
    pub strict: bool,
    /// Generator tokens of body per generation; longer mail is chunked or cut.
    #[arg(long, default_value_t = DEFAULT_INPUT_TOKENS)]
    pub input_tokens: usize,
    /// What to do with mail over --input-tokens.
    #[arg(long, value_enum, default_value_t = LongMail::Chunk)]
    pub long_mail: LongMail,
    /// Most chunks per long message (the middle ones are dropped beyond it, and recorded).
    #[arg(long, default_value_t = DEFAULT_MAX_CHUNKS)]
    pub max_chunks: usize,
    /// Lead bias of extractive selection.
    #[arg(long, default_value_t = DEFAULT_LEAD_BIAS)]
    pub lead_bias: f32,
    /// Do not retry a terse, looping or refusing generation with the second prompt.
    #[arg(long)]
    pub no_retry: bool,
}

impl SummaryArgs {
    /// The library options these flags name.
    pub fn options(&self) -> SummaryOptions {
        SummaryOptions {
            style: self.style,
            words: self.summary_words,
            strict: self.strict,
            input_tokens: self.input_tokens,
            long_mail: self.long_mail,
            max_chunks: self.max_chunks,
            lead_bias: self.lead_bias,
            retry: !self.no_retry,
        }
    }
}

/// The inputs that exist (`-` is stdin), each missing one reported on stderr; `None` when no
/// input exists, so the command can exit 2 having run nothing.
pub fn existing_inputs(inputs: &[PathBuf]) -> Option<Vec<PathBuf>> {
    let present: Vec<PathBuf> = inputs
        .iter()
        .filter(|p| {
            let ok = p.as_os_str() == "-" || p.exists();
            if !ok {
                eprintln!("error: {}: no such file or folder", p.display());
            }
            ok
        })
        .cloned()
        .collect();
    (!present.is_empty()).then_some(present)
}

/// Install the tracing subscriber: `RUST_LOG` (default `mailroom=warn`), text or JSON on stderr.
pub fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("mailroom=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Parse a probability flag: a number in [0, 1].
pub fn probability(s: &str) -> Result<f32, String> {
    in_unit_interval(s.parse().map_err(|_| format!("{s:?} is not a number"))?)
}

/// A probability from a settings file: `v` when it lies in [0, 1].
pub fn in_unit_interval(v: f32) -> Result<f32, String> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not in [0, 1]"))
    }
}

/// Resolves on Ctrl-C or SIGTERM: the graceful-shutdown signal of `serve` and `desk`.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
