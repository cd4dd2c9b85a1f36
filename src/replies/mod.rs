//! Standard lines for replies: a department's library of approved paragraphs ([`Library`],
//! TOML, versioned like the taxonomy), ranked against one message ([`Ranker`]) by its category
//! decision and the encoder, with each paragraph's placeholders filled from the message's own
//! key facts ([`fill`]): a filled placeholder is always a span of the message, an empty one
//! stays visibly empty.
//!
//! It proposes text for a person to edit; nothing here sends anything. It takes the category
//! probabilities, an embedding and the key facts as plain values: the pipeline loads the
//! library, embeds its paragraphs once and calls [`Ranker::rank`] per message.

pub mod fill;
pub mod library;
pub mod rank;

pub use fill::Part;
pub use library::{Library, Paragraph, PlaceholderSpec, Ranking};
pub use rank::{RankInput, Ranker, Suggestion, Suggestions};

/// Why a library could not be read or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepliesError {
    /// The TOML did not parse (an unknown key-fact kind is reported here).
    #[error("replies library: {0}")]
    Parse(String),
    /// The library parsed but is not valid (unknown placeholder, unknown category, ...).
    #[error("replies library: {0}")]
    Invalid(String),
    /// A library file could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A library file is not valid.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: Box<RepliesError>,
    },
}
