//! `mailroom embed TEXT...`: one JSON array per text on stdout.

use std::io::Write;

use clap::Args;

use super::{ModelArgs, Outcome};

/// Arguments of `embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    models: ModelArgs,
    /// Embed the whole of each text (mean over 256-token windows) instead of truncating it.
    #[arg(long)]
    long: bool,
    /// The texts to embed (`-` reads one text per line from stdin).
    #[arg(required = true)]
    texts: Vec<String>,
}

/// Run `embed`.
pub fn run(args: EmbedArgs) -> anyhow::Result<Outcome> {
    let texts: Vec<String> = if args.texts == ["-"] {
        std::io::stdin().lines().collect::<Result<_, _>>()?
    } else {
        args.texts
    };
    let encoder = args.models.load_encoder()?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let start = std::time::Instant::now();
    let vectors = if args.long {
        encoder.embed_long(&refs)?
    } else {
        encoder.embed(&refs)?
    };
    let secs = start.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    for v in &vectors {
        serde_json::to_writer(&mut out, v)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!(
        "{} texts, {} dims, load {:.0} ms, embed {:.1} ms ({:.1} texts/s)",
        vectors.len(),
        encoder.dim(),
        encoder.load_ms(),
        secs * 1e3,
        vectors.len() as f64 / secs.max(1e-9)
    );
    Ok(Outcome::Ok)
}
