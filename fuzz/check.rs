//! The property every input must hold, shared by the `cargo fuzz` target and the stable
//! stress test (`tests/email.rs`, `stress_mutations`): parse + prepare give an `Email` or an
//! error, never a panic; a truncation report is consistent with the prepared body.

use mailroom::email::{self, EmailError};
use mailroom::text::{self, PrepareOptions};

/// Check one input. The first byte picks a token budget, so tiny budgets and the cut logic
/// are exercised too. Panics on a violation.
pub fn check(data: &[u8]) {
    let (budget, raw) = match data.split_first() {
        Some((b, rest)) => ([0usize, 1, 8, 64, 512][*b as usize % 5], rest),
        None => (512, data),
    };
    match email::parse(raw) {
        Ok(e) => {
            let chars = |s: &str| s.chars().count();
            let counters: [Option<text::TokenCounter<'_>>; 2] = [None, Some(&chars)];
            for count in counters {
                let opts = PrepareOptions {
                    max_tokens: budget,
                    count_tokens: count,
                    ..PrepareOptions::default()
                };
                let p = text::prepare(&e, &opts);
                if let Some(t) = &p.truncation {
                    assert!(t.dropped_range[0] <= t.dropped_range[1]);
                    assert!(t.dropped_range[1] <= p.body.len());
                    assert_eq!(t.kept_tokens + t.dropped_tokens, t.total_tokens);
                }
            }
        }
        // `parse` turns a parser panic into this error; here it is a crash.
        Err(EmailError::ParserFailed) => panic!("the MIME parser panicked"),
        Err(_) => {}
    }
    let _ = email::html_to_text(&String::from_utf8_lossy(raw));
}

/// The files an operator writes or carries in: a taxonomy, a library of standard lines for
/// replies, a model manifest. Any text gives a value or a clear error, never a panic; what
/// loads also gives its id and hash. The first byte picks the kind.
pub fn check_config(data: &[u8]) {
    let (kind, rest) = match data.split_first() {
        Some((b, rest)) => (*b % 3, rest),
        None => (0, data),
    };
    let text = String::from_utf8_lossy(rest);
    match kind {
        0 => {
            if let Ok(t) = mailroom::classify::Taxonomy::from_toml(&text) {
                let _ = t.id();
                for a in &t.axes {
                    let _ = (a.label_names(), a.label_thresholds(), t.axis(&a.name));
                }
            }
        }
        1 => {
            if let Ok(l) = mailroom::replies::Library::from_toml(&text) {
                let _ = (l.id(), l.sha256());
            }
        }
        _ => {
            let _ = mailroom::models::Manifest::parse(&text);
        }
    }
}
