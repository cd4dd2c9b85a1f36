//! Fuzz the files an operator writes: taxonomy, replies library, model manifest (the first
//! byte picks which). Any bytes must give a value or an error, never a panic or a hang.
//!
//! ```text
//! cargo +nightly fuzz run -O config_files -- -timeout=5
//! ```
//! Seed the corpus with `taxonomy/default.toml`, `taxonomy/replies/public-service.toml` and
//! `models/models.toml`, each behind a first byte of 0, 1 and 2:
//! `for k in 0 1 2; do ...; done` as in `tests/config_files.rs`, which runs the same property
//! on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../check.rs"]
#[allow(dead_code)] // each target calls its own check
mod check;

fuzz_target!(|data: &[u8]| check::check_config(data));
