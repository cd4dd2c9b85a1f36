//! Summarise one `.eml` file with the library: build an engine in summarize mode (extractive by
//! default, `--abstractive` for the generator), triage the message, print the summary and what
//! its faithfulness check found.
//!
//! ```text
//! models/fetch && cargo run --release --example summarize_eml -- examples/inbox/13-deadline-licence-renewal.eml
//! ```

use std::path::PathBuf;

use mailroom::pipeline::{
    read_inputs, EngineBuilder, Method, Mode, ModelSpec, Output, SourceOptions,
};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("usage: summarize_eml FILE.eml [--abstractive]"))?;
    let method = match args.next().as_deref() {
        Some("--abstractive") => Method::Abstractive,
        _ => Method::Extractive,
    };
    let models = ModelSpec {
        models_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models")),
        ..ModelSpec::default()
    };
    let engine = EngineBuilder::new(models)
        .mode(Mode::Summarize)
        .summary(Some(method))
        .build()?;
    let messages: Vec<_> = read_inputs(&[file], &SourceOptions::default()).collect();
    for out in engine.triage(messages) {
        match out {
            Output::Record(r) => {
                let Some(s) = r.summary else { continue };
                println!("{} ({}): {}", r.id, s.method, s.text);
                for u in &s.faithfulness.unsupported {
                    println!("  not in the message: {:?} {}", u.kind, u.text);
                }
            }
            Output::Error(e) => {
                println!("{}: error at {}: {}", e.id, e.error.stage, e.error.message)
            }
        }
    }
    Ok(())
}
