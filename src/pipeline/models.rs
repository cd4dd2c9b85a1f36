//! Which models to load and from where: the one place the engine, the learning layer and the
//! server turn a [`ModelSpec`] (what the operator's flags say) into a verified, loaded encoder
//! or generator.

use std::path::PathBuf;

use crate::models::{
    device_from_name, Device, Encoder, EncoderOptions, Generator, HfCache, Implementation, Kernel,
    LoadOptions, ModelError, Precision, ResolvedModel, Role, Store, StoreOptions, WeightFormat,
};

use super::PipelineError;

/// Where the models come from and how to run them. Every field has the meaning of the CLI flag
/// of the same name; [`ModelSpec::default`] is the default model store of the working
/// directory and the default models on the CPU.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// The model store folder (holds `models.toml` and one folder per model).
    pub models_dir: PathBuf,
    /// The local hub cache for `hf:` references (`None`: no `hf:` references).
    pub hf_cache: Option<PathBuf>,
    /// Whether `hf:` models missing from the cache may be downloaded.
    pub allow_download: bool,
    /// The encoder reference (manifest id, folder, `hf:`), or the store's default.
    pub encoder: Option<String>,
    /// The generator reference (manifest id, `.gguf` file, folder, `hf:`), or the default.
    pub generator: Option<String>,
    /// `cpu`, `cuda[:N]` or `metal`.
    pub device: String,
    /// Encoder dense-layer precision on the CPU (`None`: bf16 where the CPU has it).
    pub encoder_precision: Option<Precision>,
    /// Which implementation runs the generator.
    pub generator_implementation: Implementation,
    /// Keep the GGUF file's own weight formats (candle) instead of requantising to Q8_0.
    pub native_weights: bool,
    /// Force a slower dot-product kernel of the own forward (`None`: the best the CPU has).
    pub kernel: Option<Kernel>,
}

impl Default for ModelSpec {
    fn default() -> Self {
        ModelSpec {
            models_dir: PathBuf::from("models"),
            hf_cache: None,
            allow_download: false,
            encoder: None,
            generator: None,
            device: "cpu".into(),
            encoder_precision: None,
            generator_implementation: Implementation::Own,
            native_weights: false,
            kernel: None,
        }
    }
}

impl ModelSpec {
    /// Open the model store.
    pub fn store(&self) -> Result<Store, PipelineError> {
        Store::open_with(
            &self.models_dir,
            StoreOptions {
                hf_cache: self.hf_cache.clone().map(HfCache),
                allow_download: self.allow_download,
            },
        )
        .map_err(|source| PipelineError::Store {
            dir: self.models_dir.clone(),
            source,
        })
    }

    /// The device.
    pub fn device(&self) -> Result<Device, PipelineError> {
        Ok(device_from_name(&self.device)?)
    }

    /// Resolve (and verify) the model of a role: the spec's reference, or the store's default.
    pub fn resolve(&self, store: &Store, role: Role) -> Result<ResolvedModel, PipelineError> {
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
    pub fn load_encoder(&self) -> Result<Encoder, PipelineError> {
        let store = self.store()?;
        let model = self.resolve(&store, Role::Encoder)?;
        let options = EncoderOptions {
            precision: self.encoder_precision,
            ..EncoderOptions::default()
        };
        Encoder::load_with(&model, &self.device()?, options)
            .map_err(|e| loading("encoder", &model, e))
    }

    /// Load the generator.
    pub fn load_generator(&self) -> Result<Generator, PipelineError> {
        let store = self.store()?;
        let model = self.resolve(&store, Role::Generator)?;
        let options = LoadOptions {
            weights: if self.native_weights {
                WeightFormat::Native
            } else {
                WeightFormat::FastQ8
            },
            implementation: self.generator_implementation,
            threads: None,
            kernel: self.kernel,
        };
        Generator::load_with(&model, &self.device()?, &options)
            .map_err(|e| loading("generator", &model, e))
    }
}

fn loading(role: &'static str, model: &ResolvedModel, source: ModelError) -> PipelineError {
    PipelineError::Load {
        role,
        id: model.id.clone(),
        source,
    }
}
