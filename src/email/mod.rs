//! Raw message bytes to [`Email`]: headers, one decoded text body, the attachment list.
//!
//! This module owns reading mail as it really comes. It wraps the `mail-parser` crate so that no
//! caller depends on its lifetimes or on how it models MIME parts, renders HTML-only bodies to
//! text, and enforces caps (message size, MIME depth, part count) so that a hostile message
//! becomes an [`EmailError`], never a panic or a hang. [`sources`] turns files, folders, mbox,
//! Maildir, JSON lines and stdin into a stream of messages with stable ids.
//!
//! It must not classify, strip quotes or log content above trace level; that is the job of
//! `text` and the layers after it.

use serde::Serialize;
use thiserror::Error;

mod charset;
mod extract;
mod html;
pub mod sources;

pub use html::html_to_text;
pub use sources::{
    read_file, read_inputs, Content, Message, Provenance, SourceKind, SourceOptions,
};

/// Default cap on one message's size: 25 MiB, about what common mail servers accept.
pub const DEFAULT_MAX_SIZE: usize = 25 * 1024 * 1024;
/// Default cap on MIME nesting (multiparts and attached messages). Real mail rarely goes past 6.
pub const DEFAULT_MAX_DEPTH: usize = 32;
/// Default cap on MIME parts in one message, nested messages included.
pub const DEFAULT_MAX_PARTS: usize = 1_000;
/// Default cap on one header text as kept (subject, a name or address, a list or message id),
/// in characters. Longer ones are cut, with a warning.
pub const DEFAULT_MAX_HEADER_CHARS: usize = 2_000;
/// Default cap on the recipients kept per field (To, Cc, Reply-To) and on References ids.
/// Past it the rest are dropped, with a warning that counts them.
pub const DEFAULT_MAX_RECIPIENTS: usize = 1_000;

/// Caps applied while reading and parsing one message. Over a cap, the message is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, in bytes, that is read and parsed.
    pub max_size: usize,
    /// Deepest MIME nesting accepted (the top-level part is depth 1).
    pub max_depth: usize,
    /// Most MIME parts accepted, nested messages included.
    pub max_parts: usize,
    /// Longest header text kept, in characters; longer ones are cut with a warning (not an
    /// error: the message is still triaged, and marked for review).
    pub max_header_chars: usize,
    /// Most recipients kept per field (and References ids); the rest are dropped with a
    /// warning that counts them.
    pub max_recipients: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_size: DEFAULT_MAX_SIZE,
            max_depth: DEFAULT_MAX_DEPTH,
            max_parts: DEFAULT_MAX_PARTS,
            max_header_chars: DEFAULT_MAX_HEADER_CHARS,
            max_recipients: DEFAULT_MAX_RECIPIENTS,
        }
    }
}

/// Why one message could not be read or parsed. Each is reported as an error record; a batch
/// goes on with the next message.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EmailError {
    /// The message is larger than [`Limits::max_size`].
    #[error("message is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The message size in bytes (at least this much when the source was cut off).
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// MIME parts nest deeper than [`Limits::max_depth`].
    #[error("MIME nesting depth {depth} is over the limit of {limit}")]
    TooDeep {
        /// The depth found.
        depth: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The message has more MIME parts than [`Limits::max_parts`].
    #[error("{parts} MIME parts, over the limit of {limit}")]
    TooManyParts {
        /// The number of parts found.
        parts: usize,
        /// The limit in force.
        limit: usize,
    },
    /// Nothing in the input looks like a message: it is empty or has no header at all.
    #[error("not an email message: {reason}")]
    NotAMessage {
        /// What was found instead.
        reason: &'static str,
    },
    /// The MIME parser failed unexpectedly on this input (a bug worth a fixture).
    #[error("the MIME parser failed on this message")]
    ParserFailed,
    /// The message could not be read from its source.
    #[error("{path}: {source}")]
    Read {
        /// The file (or `-` for stdin).
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON line could not be decoded as a message record.
    #[error("invalid JSON line: {source}")]
    Json {
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A JSON line decoded but holds neither `raw` nor any of `from`/`subject`/`body`.
    #[error("JSON line has neither \"raw\" nor \"from\"/\"subject\"/\"body\"")]
    JsonShape,
}

impl EmailError {
    /// A short stable name for this kind of error, used in error records.
    pub fn kind(&self) -> &'static str {
        match self {
            EmailError::TooLarge { .. } => "too_large",
            EmailError::TooDeep { .. } => "too_deep",
            EmailError::TooManyParts { .. } => "too_many_parts",
            EmailError::NotAMessage { .. } => "not_a_message",
            EmailError::ParserFailed => "parser_failed",
            EmailError::Read { .. } => "read",
            EmailError::Json { .. } => "json",
            EmailError::JsonShape => "json_shape",
        }
    }
}

/// A name and address, as found in From, To, Cc or Reply-To.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Mailbox {
    /// The display name, decoded (RFC 2047), if any.
    pub name: Option<String>,
    /// The address (`local@domain`), if any.
    pub address: Option<String>,
}

impl std::fmt::Display for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.name, &self.address) {
            (Some(n), Some(a)) => write!(f, "{n} <{a}>"),
            (Some(n), None) => f.write_str(n),
            (None, Some(a)) => f.write_str(a),
            (None, None) => Ok(()),
        }
    }
}

/// Where [`Email::body`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    /// A text/plain part (possibly several, joined).
    Plain,
    /// HTML rendered to text: the message had no usable text/plain part.
    Html,
    /// No text body at all (attachments only, or empty).
    #[default]
    None,
}

/// An attachment, listed but never decoded further or executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// The file name from Content-Disposition or Content-Type, if any.
    pub name: Option<String>,
    /// The MIME type, lower case (`application/pdf`).
    pub mime_type: String,
    /// Decoded size in bytes.
    pub size: usize,
}

/// One parsed email, independent of the parser that read it.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Email {
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// The first In-Reply-To id, without angle brackets.
    pub in_reply_to: Option<String>,
    /// References ids, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// The (first) From mailbox.
    pub from: Option<Mailbox>,
    /// To recipients (groups flattened).
    pub to: Vec<Mailbox>,
    /// Cc recipients (groups flattened).
    pub cc: Vec<Mailbox>,
    /// Reply-To mailboxes.
    pub reply_to: Vec<Mailbox>,
    /// The decoded subject.
    pub subject: Option<String>,
    /// The Date header as RFC 3339, when it parses to a valid date.
    pub date: Option<String>,
    /// List-Id, when the message came through a mailing list.
    pub list_id: Option<String>,
    /// The Auto-Submitted header value (RFC 3834), lower case.
    pub auto_submitted: Option<String>,
    /// The Precedence header value, lower case.
    pub precedence: Option<String>,
    /// Bulk mail: a mailing list, a newsletter or `Precedence: bulk/list/junk`.
    pub is_bulk: bool,
    /// An automatic reply (out of office, delivery report, `Auto-Submitted` other than `no`).
    pub is_auto_reply: bool,
    /// The decoded text body; HTML rendered to text when there is no text/plain part.
    pub body: String,
    /// Where `body` came from.
    pub body_format: BodyFormat,
    /// Attachments, in message order.
    pub attachments: Vec<Attachment>,
    /// Size of the raw message in bytes (0 for messages built from parts).
    pub size: usize,
    /// What was not clean about the parse (charset fallbacks, broken MIME, invalid bytes).
    pub warnings: Vec<String>,
}

impl Email {
    /// Build an email from a sender, subject and body alone (JSON lines without raw bytes).
    /// The sender may be `Name <addr>`, a bare address, or a name.
    pub fn from_parts(from: Option<&str>, subject: Option<&str>, body: &str) -> Email {
        let from = from
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(parse_mailbox);
        let body = body.replace("\r\n", "\n");
        let body_format = if body.trim().is_empty() {
            BodyFormat::None
        } else {
            BodyFormat::Plain
        };
        Email {
            from,
            subject: subject
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            body,
            body_format,
            ..Email::default()
        }
    }

    /// Whether the parse was clean: no charset fallback, no broken MIME, no invalid bytes.
    /// Downstream marks an unclean message for review.
    pub fn is_clean(&self) -> bool {
        self.warnings.is_empty()
    }
}

/// Parse `Name <addr>`, `<addr>`, `addr` or `Name` into a [`Mailbox`].
fn parse_mailbox(s: &str) -> Mailbox {
    if let (Some(open), Some(close)) = (s.rfind('<'), s.rfind('>')) {
        if open < close {
            let address = s[open + 1..close].trim();
            let name = s[..open].trim().trim_matches('"').trim();
            return Mailbox {
                name: (!name.is_empty()).then(|| name.to_string()),
                address: (!address.is_empty()).then(|| address.to_string()),
            };
        }
    }
    if s.contains('@') && !s.contains(char::is_whitespace) {
        Mailbox {
            name: None,
            address: Some(s.to_string()),
        }
    } else {
        Mailbox {
            name: Some(s.to_string()),
            address: None,
        }
    }
}

/// Parse one raw RFC 822 message with the default [`Limits`].
pub fn parse(raw: &[u8]) -> Result<Email, EmailError> {
    parse_with(raw, &Limits::default())
}

/// Parse one raw RFC 822 message under `limits`. A leading mbox `From ` line is skipped.
/// Never panics: a parser failure is [`EmailError::ParserFailed`].
pub fn parse_with(raw: &[u8], limits: &Limits) -> Result<Email, EmailError> {
    if raw.len() > limits.max_size {
        return Err(EmailError::TooLarge {
            size: raw.len() as u64,
            limit: limits.max_size as u64,
        });
    }
    let raw = skip_mbox_from_line(raw);
    // Blank lines (or a line of spaces) before the first header are export junk, not an empty
    // header block: real mail in the wild starts that way.
    let start = raw.iter().position(|b| !b.is_ascii_whitespace()).map(|i| {
        raw[..i]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |nl| nl + 1)
    });
    let Some(start) = start else {
        return Err(EmailError::NotAMessage {
            reason: "empty input",
        });
    };
    let raw = &raw[start..];
    // mail-parser promises never to panic; this guard keeps that promise true for our callers
    // even if a future version breaks it. The fuzz target checks `ParserFailed` never happens.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        extract::extract(raw, limits)
    }))
    .unwrap_or(Err(EmailError::ParserFailed))
}

/// Skip an mbox `From ` separator line at the very start (SpamAssassin files carry one).
fn skip_mbox_from_line(raw: &[u8]) -> &[u8] {
    if raw.starts_with(b"From ") {
        match memchr_newline(raw) {
            Some(i) => &raw[i + 1..],
            None => &[],
        }
    } else {
        raw
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_parts_parses_sender_forms() {
        let e = Email::from_parts(Some("Ann Lee <ann@example.org>"), Some(" Hi "), "Body\r\n");
        let f = e.from.unwrap();
        assert_eq!(f.name.as_deref(), Some("Ann Lee"));
        assert_eq!(f.address.as_deref(), Some("ann@example.org"));
        assert_eq!(e.subject.as_deref(), Some("Hi"));
        assert_eq!(e.body, "Body\n");
        assert_eq!(e.body_format, BodyFormat::Plain);
        let e = Email::from_parts(Some("ann@example.org"), None, "");
        assert_eq!(e.from.unwrap().address.as_deref(), Some("ann@example.org"));
        assert_eq!(e.body_format, BodyFormat::None);
    }

    #[test]
    fn empty_and_oversize_are_errors() {
        assert!(matches!(parse(b""), Err(EmailError::NotAMessage { .. })));
        assert!(matches!(
            parse(b"From x Mon Jan  1 00:00:00 2024\n"),
            Err(EmailError::NotAMessage { .. })
        ));
        let limits = Limits {
            max_size: 10,
            ..Limits::default()
        };
        assert!(matches!(
            parse_with(b"Subject: hello world\n\nbody", &limits),
            Err(EmailError::TooLarge { .. })
        ));
    }

    #[test]
    fn simple_message() {
        let raw = b"From: \"Ann\" <ann@example.org>\nTo: b@example.org, c@example.org\nSubject: =?utf-8?q?Caf=C3=A9?=\nDate: Mon, 1 Jan 2024 10:00:00 +0100\nMessage-ID: <abc@x>\n\nHello\n";
        let e = parse(raw).unwrap();
        assert_eq!(e.subject.as_deref(), Some("Café"));
        assert_eq!(e.message_id.as_deref(), Some("abc@x"));
        assert_eq!(e.to.len(), 2);
        assert_eq!(e.date.as_deref(), Some("2024-01-01T10:00:00+01:00"));
        assert_eq!(e.body.trim(), "Hello");
        assert!(e.is_clean(), "{:?}", e.warnings);
    }
}
