//! Fuzz parse + prepare: any bytes must give an `Email` or an error, never a panic or a hang.
//!
//! ```text
//! cargo +nightly fuzz run parse_prepare -- -max_len=262144 -timeout=5
//! ```
//! Seed the corpus with real mail first, for example every message of
//! `../shared/data/mime-tests` copied into `fuzz/corpus/parse_prepare/` (git-ignored). Commit
//! any crasher as a regression fixture under `tests/fixtures/eml/malformed/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../check.rs"]
mod check;

fuzz_target!(|data: &[u8]| check::check(data));
