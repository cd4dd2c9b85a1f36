//! Fuzz the HTTP request parsing: method, route, Content-Type, bearer token and body through
//! the real router and lanes, over an engine that needs no model files. Every answer must be
//! one the OpenAPI document lists, never a 5xx (see `check::check_http`).
//!
//! ```text
//! cargo +nightly fuzz run -O http_request -- -timeout=10
//! ```
//! `tests/http/mutate.rs` (`http_check_holds_under_mutation`) runs the same property on stable
//! Rust and says how to seed the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../check.rs"]
#[allow(dead_code)] // each target calls its own check
mod check;

fuzz_target!(|data: &[u8]| {
    check::check_http(data);
});
