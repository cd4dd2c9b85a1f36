//! Lines to stdout for the commands' tables and reports (`outln!`). A reader that stops
//! reading (`mailroom models list | head -1`) ends the command quietly with exit code 0, as it
//! asked; `println!` would panic there. Any other write error is told and exits with 2.

use std::io::Write;

/// Write one line to stdout.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(2);
    }
}
