//! Build a tokenizer from GGUF metadata when no tokenizer.json sits beside the file.
//!
//! candle's own `TokenizerFromGguf` is not used: for SmolLM2 it adds a prefix space, which
//! changes the ids of text that follows special tokens. This module follows llama.cpp instead:
//! the `tokenizer.ggml.pre` name selects the pre-tokenizer (SmolLM2: every digit on its own, then
//! GPT-2 byte-level without a prefix space), and tokens whose type is control (3) or user-defined
//! (4) become special tokens that are matched in the text (`<|im_start|>` in a prompt is one
//! token). The tokenizer is described as tokenizer.json data and loaded by the `tokenizers` crate,
//! so the byte-level BPE itself is the same code Hugging Face uses.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use serde_json::{json, Value as Json};
use tokenizers::Tokenizer;

use super::ModelError;

/// llama.cpp's token types.
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// GPT-2's pre-tokenizer pattern with llama-3 style case-insensitive contractions, for the
/// `llama-bpe` family (digits in groups of up to three).
const LLAMA3_PATTERN: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2's pattern: like llama-3 but every digit on its own.
const QWEN2_PATTERN: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Build the tokenizer described by a GGUF file's metadata.
pub fn tokenizer_from_gguf(content: &Content, path: &Path) -> Result<Tokenizer, ModelError> {
    let md = &content.metadata;
    let get_str = |k: &str| md.get(k).and_then(|v| v.to_string().ok()).cloned();
    let model = get_str("tokenizer.ggml.model").unwrap_or_default();
    if model != "gpt2" {
        return Err(ModelError::invalid(
            path,
            format!(
                "the GGUF tokenizer model '{model}' cannot be built from metadata here; \
                 put the model's tokenizer.json beside the .gguf file"
            ),
        ));
    }
    let tokens = string_array(md, "tokenizer.ggml.tokens", path)?;
    let merges = string_array(md, "tokenizer.ggml.merges", path)?;
    let types: Vec<i32> = match md.get("tokenizer.ggml.token_type") {
        Some(Value::Array(a)) => a.iter().map(|v| v.to_i32().unwrap_or(1)).collect(),
        _ => vec![1; tokens.len()],
    };
    let pre = get_str("tokenizer.ggml.pre").unwrap_or_else(|| "default".into());

    let vocab: serde_json::Map<String, Json> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), json!(i)))
        .collect();
    let added: Vec<Json> = tokens
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            matches!(
                types.get(*i).copied(),
                Some(TOKEN_TYPE_CONTROL) | Some(TOKEN_TYPE_USER_DEFINED)
            )
        })
        .map(|(i, t)| {
            json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();

    let byte_level = |use_regex: bool| {
        json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
               "use_regex": use_regex})
    };
    let split = |pattern: &str| {
        json!({"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated",
               "invert": false})
    };
    let pre_tokenizer = match pre.as_str() {
        "smollm" => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level(true)]}),
        "qwen2" | "deepseek-r1-qwen" => json!({"type": "Sequence", "pretokenizers": [
            split(QWEN2_PATTERN), byte_level(false)]}),
        "llama-bpe" | "llama3" | "smaug-bpe" => json!({"type": "Sequence", "pretokenizers": [
            split(LLAMA3_PATTERN), byte_level(false)]}),
        "default" | "gpt2" | "gpt-2" => byte_level(true),
        other => {
            return Err(ModelError::invalid(
                path,
                format!(
                    "unknown GGUF pre-tokenizer '{other}'; put the model's tokenizer.json beside \
                     the .gguf file"
                ),
            ))
        }
    };

    let spec = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
                    "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null,
            "continuing_subword_prefix": null, "end_of_word_suffix": null,
            "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": merges,
        }
    });
    spec.to_string()
        .parse::<Tokenizer>()
        .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))
}

fn string_array(
    md: &HashMap<String, Value>,
    key: &str,
    path: &Path,
) -> Result<Vec<String>, ModelError> {
    match md.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.to_string().cloned())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ModelError::invalid(path, format!("{key}: {e}"))),
        _ => Err(ModelError::invalid(
            path,
            format!("GGUF metadata has no {key}"),
        )),
    }
}
