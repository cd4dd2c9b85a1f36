//! Fuzz parse + prepare: any bytes must give an `Email` or an error, never a panic or a hang.
//!
//! ```text
//! cargo +nightly fuzz run -O parse_prepare -- -max_len=262144 -timeout=5
//! ```
//! `-O` builds the release profile of `fuzz/Cargo.toml`: optimised, with debug assertions and
//! overflow checks in every crate but mail-parser, whose `debug_assert!` ("Invalid part ID,
//! could not find multipart") malformed multipart mail trips within seconds (in a release build
//! that message parses). Without `-O`, cargo-fuzz turns debug assertions on everywhere.
//! Seed the corpus with real mail first, for example every message of
//! `../shared/data/mime-tests` copied into `fuzz/corpus/parse_prepare/` (git-ignored). Commit
//! any crasher as a regression fixture under `tests/fixtures/eml/malformed/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../check.rs"]
#[allow(dead_code)] // each target calls its own check
mod check;

fuzz_target!(|data: &[u8]| check::check(data));
