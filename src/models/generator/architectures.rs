//! The generator architectures mailroom knows, by GGUF `general.architecture`: for each, the own
//! forward where one exists and candle's quantised model, which takes everything else (other
//! weight formats, GPU devices, `--backend candle`).
//!
//! Adding an architecture to the own forward is a file under `own/` and its loader in the `own`
//! column here.

use super::candle::{self, CandleBuild};
use super::own::{self, OwnLoad};

/// One architecture.
pub struct Architecture {
    /// Its `general.architecture` value.
    pub name: &'static str,
    /// The own forward's loader, if it has one.
    pub own: Option<OwnLoad>,
    /// candle's model.
    pub candle: CandleBuild,
}

/// Every architecture, in the order the error message lists them.
pub const ARCHITECTURES: &[Architecture] = &[
    Architecture {
        name: "llama",
        own: Some(own::llama::load),
        candle: candle::llama,
    },
    Architecture {
        name: "mistral",
        own: None,
        candle: candle::llama,
    },
    Architecture {
        name: "qwen2",
        own: None,
        candle: candle::qwen2,
    },
    Architecture {
        name: "qwen3",
        own: None,
        candle: candle::qwen3,
    },
    Architecture {
        name: "gemma3",
        own: None,
        candle: candle::gemma3,
    },
];

/// What the error for an unknown architecture lists.
pub const SUPPORTED: &str = "llama (SmolLM2, Llama, Mistral), qwen2, qwen3, gemma3";

/// The architecture called `name`.
pub fn find(name: &str) -> Option<&'static Architecture> {
    ARCHITECTURES.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_message_names_every_architecture() {
        for a in ARCHITECTURES {
            assert!(SUPPORTED.to_lowercase().contains(a.name), "{}", a.name);
        }
    }
}
