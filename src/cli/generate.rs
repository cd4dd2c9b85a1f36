//! `mailroom generate PROMPT`: the prompt as a user chat turn; the text on stdout, counts and
//! timings on stderr.

use clap::Args;
use mailroom::models::GenOpts;

use super::{ModelArgs, Outcome};

/// Arguments of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    models: ModelArgs,
    /// An optional system turn.
    #[arg(long)]
    system: Option<String>,
    /// Most tokens to generate.
    #[arg(long, default_value_t = GenOpts::default().max_new_tokens)]
    max_tokens: usize,
    /// Sampling temperature (default: greedy decoding, deterministic).
    #[arg(long)]
    temperature: Option<f64>,
    /// Nucleus sampling threshold (with --temperature).
    #[arg(long)]
    top_p: Option<f64>,
    /// Seed for sampling.
    #[arg(long, default_value_t = GenOpts::default().seed)]
    seed: u64,
    /// The user turn (`-` reads it from stdin).
    prompt: String,
}

/// Run `generate`.
pub fn run(args: GenerateArgs) -> anyhow::Result<Outcome> {
    let prompt = if args.prompt == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        args.prompt
    };
    let mut generator = args.models.load_generator()?;
    let opts = GenOpts {
        max_new_tokens: args.max_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        seed: args.seed,
        ..GenOpts::default()
    };
    let out = generator.chat(args.system.as_deref(), &prompt, &opts)?;
    outln!("{}", out.text.trim());
    let n = out.tokens.len();
    eprintln!(
        "prompt {} tokens in {:.0} ms ({:.1} tok/s); generated {} tokens in {:.0} ms ({:.1} tok/s); stop: {:?}; load {:.0} ms",
        out.prompt_tokens,
        out.prompt_ms,
        out.prompt_tokens as f64 / (out.prompt_ms / 1e3).max(1e-9),
        n,
        out.decode_ms,
        // The first generated token comes out of the prompt pass.
        n.saturating_sub(1) as f64 / (out.decode_ms / 1e3).max(1e-9),
        out.stop,
        generator.load_ms()
    );
    Ok(Outcome::Ok)
}
