//! `mailroom models list | verify | path ID`.

use clap::Subcommand;
use mailroom::models::Role;

use super::{ModelArgs, Outcome};

/// Model store commands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the models of the manifest and whether each is installed.
    List {
        #[command(flatten)]
        models: ModelArgs,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Verify every file of the installed models (or of the given references) by SHA-256.
    Verify {
        #[command(flatten)]
        models: ModelArgs,
        /// Manifest ids, folders, .gguf files or hf: references (default: every manifest model).
        refs: Vec<String>,
    },
    /// Print the folder or file of a model.
    Path {
        #[command(flatten)]
        models: ModelArgs,
        /// A manifest id, folder, .gguf file or hf: reference.
        id: String,
    },
}

/// Run a models command.
pub fn run(cmd: ModelsCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ModelsCommand::List { models, json } => {
            let store = models.store()?;
            if !json {
                outln!(
                    "{:<30} {:<10} {:<12} {:<10} INSTALLED",
                    "ID",
                    "ROLE",
                    "FORMAT",
                    "LICENCE"
                );
            }
            for m in &store.manifest().models {
                let installed = m
                    .files
                    .iter()
                    .all(|f| store.model_dir(&m.id).join(&f.name).is_file());
                if json {
                    let line = serde_json::json!({
                        "id": m.id, "role": m.role, "format": m.format, "licence": m.licence,
                        "default": m.default, "installed": installed,
                        "files": m.files.iter().map(|f| serde_json::json!({"name": f.name, "sha256": f.sha256})).collect::<Vec<_>>(),
                    });
                    outln!("{line}");
                } else {
                    outln!(
                        "{:<30} {:<10} {:<12} {:<10} {}",
                        m.id,
                        m.role,
                        m.format,
                        m.licence,
                        if installed {
                            "yes"
                        } else {
                            "no (run models/fetch)"
                        }
                    );
                }
            }
            Ok(Outcome::Ok)
        }
        ModelsCommand::Verify { models, refs } => {
            let store = models.store()?;
            let refs: Vec<String> = if refs.is_empty() {
                store
                    .manifest()
                    .models
                    .iter()
                    .map(|m| m.id.clone())
                    .collect()
            } else {
                refs
            };
            let mut failed = 0;
            for r in &refs {
                match store.resolve(r) {
                    Ok(m) => {
                        for f in &m.files {
                            let pin = if f.pinned {
                                "verified"
                            } else {
                                "hashed (no pin)"
                            };
                            outln!("ok  {}  {}  {}  {pin}", m.id, f.sha256, f.path.display());
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        outln!("BAD {r}: {e}");
                    }
                }
            }
            Ok(match failed {
                0 => Outcome::Ok,
                n if n == refs.len() => Outcome::Fatal,
                _ => Outcome::SomeFailed,
            })
        }
        ModelsCommand::Path { models, id } => {
            let store = models.store()?;
            let m = store.resolve(&id)?;
            let path = match m.role {
                Role::Generator => m.weights().map(|f| f.path.clone()),
                Role::Encoder | Role::Heads => m
                    .files
                    .first()
                    .and_then(|f| f.path.parent().map(|p| p.to_path_buf())),
            };
            match path {
                Some(p) => outln!("{}", p.display()),
                None => anyhow::bail!("model {id} has no files"),
            }
            Ok(Outcome::Ok)
        }
    }
}
