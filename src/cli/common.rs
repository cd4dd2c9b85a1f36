//! What several commands share: model flags, opening the store, loading the models, logging.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use mailroom::email::Provenance;
use mailroom::models::{
    device_from_name, Device, Encoder, EncoderOptions, Generator, HfCache, Implementation,
    LoadOptions, Precision, ResolvedModel, Role, Store, StoreOptions, WeightFormat,
};
use serde::Serialize;

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
    /// Open the model store these flags name.
    pub fn store(&self) -> anyhow::Result<Store> {
        let dir = self
            .models_dir
            .clone()
            .unwrap_or_else(super::default_models_dir);
        Store::open_with(
            &dir,
            StoreOptions {
                hf_cache: hf_cache_dir().map(HfCache),
                allow_download: self.allow_download,
            },
        )
        .with_context(|| format!("opening the model store {}", dir.display()))
    }

    /// The device these flags name.
    pub fn device(&self) -> anyhow::Result<Device> {
        Ok(device_from_name(&self.device)?)
    }

    /// Resolve (and verify) the model of a role: the flag's reference, or the default.
    pub fn resolve(&self, store: &Store, role: Role) -> anyhow::Result<ResolvedModel> {
        let reference = match role {
            Role::Encoder => self.encoder.as_deref(),
            Role::Generator => self.generator.as_deref(),
        };
        let resolved = match reference {
            Some(r) => store.resolve(r),
            None => store.resolve_default(role),
        }?;
        resolved.expect_role(role)?;
        Ok(resolved)
    }

    /// Load the encoder.
    pub fn load_encoder(&self) -> anyhow::Result<Encoder> {
        let store = self.store()?;
        let model = self.resolve(&store, Role::Encoder)?;
        let precision = match self.encoder_precision.as_str() {
            "f32" => Some(Precision::F32),
            "bf16" => Some(Precision::Bf16),
            "int8" => Some(Precision::Int8),
            _ => None,
        };
        let options = EncoderOptions {
            precision,
            ..EncoderOptions::default()
        };
        Encoder::load_with(&model, &self.device()?, options)
            .with_context(|| format!("loading encoder {}", model.id))
    }

    /// Load the generator.
    pub fn load_generator(&self) -> anyhow::Result<Generator> {
        let store = self.store()?;
        let model = self.resolve(&store, Role::Generator)?;
        let options = LoadOptions {
            weights: if self.native_weights {
                WeightFormat::Native
            } else {
                WeightFormat::FastQ8
            },
            implementation: match self.backend {
                BackendArg::Own => Implementation::Own,
                BackendArg::Candle => Implementation::Candle,
            },
            threads: None,
            // MAILROOM_KERNEL=avx2|portable forces slower kernels of the own forward.
            kernel: std::env::var("MAILROOM_KERNEL")
                .ok()
                .and_then(|k| k.parse().ok()),
        };
        Generator::load_with(&model, &self.device()?, &options)
            .with_context(|| format!("loading generator {}", model.id))
    }
}

/// The JSON line of a message a command could not handle (`parse`, `classify`, `summarize`):
/// `{"id", "source", "error": {"kind", "message"}}`.
#[derive(Serialize)]
pub struct ErrorRecord<'a> {
    /// The message id.
    pub id: &'a str,
    /// Where the message came from.
    pub source: &'a Provenance,
    /// What went wrong.
    pub error: ErrorBody,
}

/// The error of an [`ErrorRecord`].
#[derive(Serialize)]
pub struct ErrorBody {
    /// A stable error kind.
    pub kind: &'static str,
    /// A description for people (no message content).
    pub message: String,
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

/// Install the tracing subscriber: `RUST_LOG` (default `mailroom=info`), text or JSON on stderr.
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
