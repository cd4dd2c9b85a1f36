//! The corpora `train` and `eval` read: labelled mail ([`labelled`]: a labels CSV, a folder per
//! label, JSON lines) and reference summaries ([`summaries`]: AESLC lines and BC3 threads).

pub mod labelled;
pub mod summaries;

pub use labelled::{load, split_csv_line, Content, Item};
