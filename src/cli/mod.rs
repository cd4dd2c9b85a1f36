//! The command line: one file per command. Only this module (and `main.rs`) reads the
//! environment, prints to stdout, or decides exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod classify;
mod common;
mod embed;
mod eval;
mod generate;
mod models;
mod parse;
mod train;

pub use common::{init_tracing, ModelArgs};

/// mailroom: classify and summarise email on your own machine.
#[derive(Debug, Parser)]
#[command(name = "mailroom", version, about, long_about = None)]
pub struct Cli {
    /// Write logs as JSON lines on stderr (content is never logged above trace level).
    #[arg(long, global = true)]
    pub log_json: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every mailroom command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, verify or locate models in the model store.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Embed each TEXT with the encoder; one JSON array per text on stdout.
    Embed(embed::EmbedArgs),
    /// Run the generator on PROMPT as a user chat turn; the text on stdout, counts on stderr.
    Generate(generate::GenerateArgs),
    /// Classify each message on every axis (zero-shot taxonomy plus trained heads); JSON lines.
    Classify(classify::ClassifyArgs),
    /// Train a classification head for an axis on labelled mail and write it to HEAD.
    Train(train::TrainArgs),
    /// Score a head, zero-shot, or a cross-validated head on labelled mail.
    Eval(eval::EvalArgs),
    /// Parse and prepare mail; one JSON line per message with exactly what the models see.
    Parse(parse::ParseArgs),
}

/// How a command ended, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything ran and every message succeeded: exit 0.
    Ok,
    /// The command ran but some messages (or files) failed: exit 1.
    SomeFailed,
    /// Nothing could run (bad arguments, missing model): exit 2.
    Fatal,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::SomeFailed => ExitCode::from(1),
            Outcome::Fatal => ExitCode::from(2),
        }
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Models(cmd) => models::run(cmd),
        Command::Embed(args) => embed::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Classify(args) => classify::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Parse(args) => parse::run(args),
    }
}

/// The default model store folder: `MAILROOM_MODELS`, else `./models` when it holds a
/// manifest, else the store of the source tree this binary was built from.
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MAILROOM_MODELS") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("models");
    if local.join("models.toml").is_file() {
        return local;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models"))
}
