//! The llama architecture (GGUF `general.architecture = "llama"`: SmolLM2, Llama 2/3, Mistral
//! files converted as llama; Touvron et al. 2023) for the own forward: its metadata keys and
//! tensor names, read into the shared [`Decoder`].

use super::decoder::{Config, Decoder, Layer, Weights};
use super::gguf::GgufReader;
use super::quant::{QMatrix, Unsupported, BLOCK};
use super::OwnOptions;

/// Load a llama GGUF whose matrices are Q4_1 or Q8_0 with widths divisible by 64; anything else
/// is `Unsupported` (the caller then uses candle's model).
pub fn load(mut g: GgufReader, options: &OwnOptions) -> Result<Decoder, Unsupported> {
    if g.arch() != "llama" {
        return Err(Unsupported(format!("architecture {}", g.arch())));
    }
    let dim = g.count("embedding_length")?;
    let heads = g.count("attention.head_count")?;
    let kv_heads = g.count("attention.head_count_kv").unwrap_or(heads);
    let head_dim = dim / heads.max(1);
    if heads == 0 || kv_heads == 0 || heads % kv_heads != 0 || head_dim % BLOCK != 0 {
        return Err(Unsupported(format!("{heads} heads / {kv_heads} kv heads")));
    }
    if let Ok(rope_dim) = g.count("rope.dimension_count") {
        if rope_dim != head_dim {
            return Err(Unsupported("partial rotary embedding".into()));
        }
    }
    if g.get("rope.scaling.type").is_some() || g.get("expert_count").is_some() {
        return Err(Unsupported("rope scaling or experts".into()));
    }
    let mut cfg = Config {
        layers: g.count("block_count")?,
        dim,
        ff: g.count("feed_forward_length")?,
        heads,
        kv_heads,
        head_dim,
        vocab: 0,
        eps: g.float_or("attention.layer_norm_rms_epsilon", 1e-5),
        rope_base: g.float_or("rope.freq_base", 10_000.0),
    };
    let embed = g.matrix("token_embd.weight")?;
    cfg.vocab = embed.rows();
    let output = if g.has_tensor("output.weight") {
        Some(g.matrix("output.weight")?)
    } else {
        None
    };
    let mut layers = Vec::with_capacity(cfg.layers);
    for l in 0..cfg.layers {
        let p = format!("blk.{l}");
        let q = g.matrix(&format!("{p}.attn_q.weight"))?;
        let k = g.matrix(&format!("{p}.attn_k.weight"))?;
        let v = g.matrix(&format!("{p}.attn_v.weight"))?;
        layers.push(Layer {
            attn_norm: g.vector(&format!("{p}.attn_norm.weight"), dim)?,
            qkv: QMatrix::stack(&[q, k, v])?,
            wo: g.matrix(&format!("{p}.attn_output.weight"))?,
            ffn_norm: g.vector(&format!("{p}.ffn_norm.weight"), dim)?,
            gate: g.matrix(&format!("{p}.ffn_gate.weight"))?,
            up: g.matrix(&format!("{p}.ffn_up.weight"))?,
            down: g.matrix(&format!("{p}.ffn_down.weight"))?,
        });
    }
    let out_norm = g.vector("output_norm.weight", dim)?;
    let weights = Weights {
        embed,
        output,
        out_norm,
        layers,
    };
    Decoder::new(cfg, weights, options.threads, options.kernel)
}
