//! The llama architecture (GGUF `general.architecture = "llama"`: SmolLM2, Llama 2/3, Mistral
//! files converted as llama; Touvron et al. 2023) for the own forward: its metadata keys and
//! tensor names, read into the shared [`Decoder`]. The qwen family's files differ from it in a
//! few switches ([`Family`]), so their loaders call [`load_family`].

use super::decoder::{Config, Decoder, Layer, Rope, Weights};
use super::gguf::GgufReader;
use super::quant::{QMatrix, Unsupported, BLOCK};
use super::OwnOptions;

/// What sets an architecture of the llama family apart.
pub struct Family {
    /// Its `general.architecture`.
    pub arch: &'static str,
    /// How RoPE pairs the elements of a head.
    pub rope: Rope,
    /// Q, K and V have biases (`blk.N.attn_{q,k,v}.bias`).
    pub qkv_bias: bool,
    /// Queries and keys are RMS-normed per head (`blk.N.attn_{q,k}_norm.weight`).
    pub qk_norm: bool,
}

/// Load a llama GGUF whose matrices are Q4_1 or Q8_0 with widths divisible by 64; anything else
/// is `Unsupported` (the caller then uses candle's model).
pub fn load(g: GgufReader, options: &OwnOptions) -> Result<Decoder, Unsupported> {
    let family = Family {
        arch: "llama",
        rope: Rope::Pairs,
        qkv_bias: false,
        qk_norm: false,
    };
    load_family(g, options, &family)
}

/// Load a file of the llama family described by `family`.
pub fn load_family(
    mut g: GgufReader,
    options: &OwnOptions,
    family: &Family,
) -> Result<Decoder, Unsupported> {
    if g.arch() != family.arch {
        return Err(Unsupported(format!("architecture {}", g.arch())));
    }
    let dim = g.count("embedding_length")?;
    let heads = g.count("attention.head_count")?;
    let kv_heads = g.count("attention.head_count_kv").unwrap_or(heads);
    let head_dim = g
        .count("attention.key_length")
        .unwrap_or(dim / heads.max(1));
    if g.count("attention.value_length").unwrap_or(head_dim) != head_dim {
        return Err(Unsupported("keys and values of different sizes".into()));
    }
    if heads == 0
        || kv_heads == 0
        || !heads.is_multiple_of(kv_heads)
        || !head_dim.is_multiple_of(BLOCK)
    {
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
        rope: family.rope,
    };
    let embed = g.matrix("token_embd.weight")?;
    cfg.vocab = embed.rows();
    let output = if g.has_tensor("output.weight") {
        Some(g.matrix("output.weight")?)
    } else {
        None
    };
    let (qd, kv) = (cfg.q_dim(), kv_heads * head_dim);
    let mut layers = Vec::with_capacity(cfg.layers);
    for l in 0..cfg.layers {
        let p = format!("blk.{l}");
        let q = g.matrix(&format!("{p}.attn_q.weight"))?;
        let k = g.matrix(&format!("{p}.attn_k.weight"))?;
        let v = g.matrix(&format!("{p}.attn_v.weight"))?;
        let qkv_bias = if family.qkv_bias {
            let mut b = g.vector(&format!("{p}.attn_q.bias"), qd)?;
            b.extend(g.vector(&format!("{p}.attn_k.bias"), kv)?);
            b.extend(g.vector(&format!("{p}.attn_v.bias"), kv)?);
            Some(b)
        } else {
            None
        };
        let qk_norm = if family.qk_norm {
            Some((
                g.vector(&format!("{p}.attn_q_norm.weight"), head_dim)?,
                g.vector(&format!("{p}.attn_k_norm.weight"), head_dim)?,
            ))
        } else {
            None
        };
        layers.push(Layer {
            attn_norm: g.vector(&format!("{p}.attn_norm.weight"), dim)?,
            qkv: QMatrix::stack(&[q, k, v])?,
            qkv_bias,
            qk_norm,
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
