//! Integration tests: one binary (`cargo test --release`), one module per area.

mod stress;
mod util;

mod architecture;

mod classify;
mod config_files;
mod fewshot;
mod heads;

mod models;
mod replies;
mod resources;
mod triage;

mod email;
mod http;
mod imap;
mod ingest;
mod learning;

mod injection;
mod text;
mod threads;

mod summarize;

mod store;

mod campaigns;
mod desk;
mod workers;
