//! Shared inputs and settings of the benchmarks.

use std::path::PathBuf;
use std::time::Duration;

use criterion::Criterion;

pub mod mail;
pub mod models;
pub mod store;
pub mod triage;

/// Short runs: the model benchmarks take seconds per iteration on a small CPU.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

/// The raw messages of the example inbox, sorted by name.
pub fn inbox() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/inbox");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|x| x == "eml"));
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// The default model store, or `None` (with a notice) when the models are not installed.
pub fn store() -> Option<mailroom::models::Store> {
    use mailroom::models::Role;
    let store =
        mailroom::models::Store::open(concat!(env!("CARGO_MANIFEST_DIR"), "/models")).ok()?;
    for role in [Role::Encoder, Role::Generator] {
        if let Err(e) = store.resolve_default(role) {
            eprintln!("skipping model benchmarks: {e}");
            return None;
        }
    }
    Some(store)
}

/// A deterministic English text of at least `tokens` tokens.
pub fn filler() -> String {
    let words = "the council received your request about the housing benefit payment for march \
                 and will reply within ten working days please quote reference number when you \
                 write again we apologise for the delay caused by the system upgrade last week";
    (0..40)
        .map(|i| format!("{words} paragraph {i}. "))
        .collect()
}
