//! The `mailroom` binary: parse the command line, install logging, run, map the outcome to an
//! exit code (0 all fine, 1 some messages failed, 2 nothing could run).

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_tracing(args.log_json);
    cli::configure_threads(&args);
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            cli::Outcome::Fatal.into()
        }
    }
}
