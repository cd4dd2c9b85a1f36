//! Fuzz parse + prepare: any bytes must give an `Email` or an error, never a panic or a hang.
//!
//! ```text
//! cargo +nightly fuzz run -O parse_prepare -- -max_len=262144 -timeout=5
//! ```
//! `-O` builds without debug assertions, as users run it: mail-parser 0.11 has a
//! `debug_assert!` ("Invalid part ID, could not find multipart") that malformed multipart mail
//! trips within seconds; in a release build that message parses.
//! Seed the corpus with real mail first, for example every message of
//! `../shared/data/mime-tests` copied into `fuzz/corpus/parse_prepare/` (git-ignored). Commit
//! any crasher as a regression fixture under `tests/fixtures/eml/malformed/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../check.rs"]
mod check;

fuzz_target!(|data: &[u8]| check::check(data));
