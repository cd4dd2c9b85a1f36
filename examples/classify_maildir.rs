//! Classify every message of a Maildir (or any folder, mbox or JSON lines file) with the
//! library, as a program that embeds mailroom would: build an engine in classify mode, stream
//! the messages through it, print one line per message.
//!
//! ```text
//! models/fetch && cargo run --release --example classify_maildir -- ~/Maildir/INBOX
//! ```

use std::path::PathBuf;

use mailroom::pipeline::{read_inputs, EngineBuilder, Mode, ModelSpec, Output, SourceOptions};

fn main() -> anyhow::Result<()> {
    let folder = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("usage: classify_maildir FOLDER"))?;
    let models = ModelSpec {
        models_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models")),
        ..ModelSpec::default()
    };
    let engine = EngineBuilder::new(models).mode(Mode::Classify).build()?;
    let messages = read_inputs(&[folder], &SourceOptions::default());
    let stats = engine.run(messages, &Default::default(), |out| {
        match out {
            Output::Record(r) => {
                let decisions: Vec<String> = r
                    .classification
                    .iter()
                    .map(|a| format!("{}={} ({:.2})", a.axis, a.label, a.probability))
                    .collect();
                let review = if r.needs_review { " [review]" } else { "" };
                println!("{}: {}{review}", r.id, decisions.join(", "));
            }
            Output::Error(e) => {
                println!("{}: error at {}: {}", e.id, e.error.stage, e.error.message)
            }
        }
        Ok(())
    })?;
    eprintln!(
        "{} classified, {} failed, {} need review",
        stats.triaged, stats.failed, stats.needs_review
    );
    Ok(())
}
