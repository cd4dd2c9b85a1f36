//! Integration tests: one binary (`cargo test --release`), one module per area.

mod util;

mod architecture;

mod classify;
mod heads;

mod models;
mod replies;
mod triage;

mod email;
mod http;
mod imap;
mod ingest;

mod text;
mod threads;

mod summarize;

mod store;

mod desk;
mod workers;
