//! Mail from an IMAP folder: a small [`Mailbox`] trait, its implementation over a real server
//! ([`ImapMailbox`]: async-imap on tokio, rustls), the URL form, credentials, the cursor
//! (UIDVALIDITY + highest UID done) and a one-off reader that yields [`Message`](crate::email::Message)s like the
//! other sources.
//!
//! What it promises the mailbox's owner: messages are read with `BODY.PEEK[]`, so nothing is
//! marked read; nothing is ever deleted or changed inside a message; keywords are only added
//! when asked; a move touches the moved message alone. A message over the size cap is not
//! downloaded and becomes an error item, as does one the server sends no body for; the batch
//! goes on. Network trouble (timeouts, a dropped connection, a server restart) is met with a
//! reconnect after a growing delay, and the folder is selected again with its UIDVALIDITY
//! checked, so a UID never names the wrong message.
//!
//! It must not read the environment or print: the CLI reads the password (file or
//! `MAILROOM_IMAP_PASSWORD`) and passes a [`Secret`]. Logs carry host, port, folder and counts,
//! never the user, a password, or anything from a message.
//!
//! Blocking API: [`ImapMailbox`] runs its own single-threaded tokio runtime, so it must not be
//! called from inside another runtime's task (use `spawn_blocking` there).

use std::time::Duration;

mod auth;
mod client;
mod cursor;
mod error;
mod session;
mod source;
mod tls;
mod url;

pub use auth::{Credentials, Secret};
pub use client::{ImapMailbox, MailboxStats};
pub use cursor::{sha256_hex, Cursor, CursorError, Resume};
pub use error::{ImapError, MessageError};
pub use source::{to_message, ImapSource};
pub use tls::{client_config, TlsRoots};
pub use url::{encode_folder, ImapUrl, Transport};

/// What SELECT says of a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// The folder's UIDVALIDITY: UIDs mean the same messages only while it holds.
    pub uidvalidity: u32,
    /// The UID the next message will get (so every message now has a lower one).
    pub uidnext: u32,
    /// How many messages the folder holds.
    pub exists: u32,
    /// Whether the server lets clients create keywords here (`\*` in PERMANENTFLAGS).
    pub keywords_allowed: bool,
}

/// One message as fetched: its UID and its raw bytes (as the server sends them, CRLF line
/// endings), or why it could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The UID.
    pub uid: u32,
    /// RFC822.SIZE as the server reports it.
    pub size: u64,
    /// The raw message, or why not.
    pub content: Result<Vec<u8>, MessageError>,
}

/// How a move was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// With `MOVE` (RFC 6851).
    Moved,
    /// `COPY`, `\Deleted` on the message, `UID EXPUNGE` of its UID alone (UIDPLUS).
    CopiedAndExpunged,
    /// `COPY` and `\Deleted` on the message, not expunged: without UIDPLUS an expunge would
    /// also remove other messages marked deleted. The mail client hides or purges it.
    CopiedAndFlagged,
}

/// Why [`Mailbox::idle_or_poll`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server announced a change (new mail, most often), or the connection was remade
    /// (mail may have come meanwhile): fetch again.
    Changed,
    /// The time passed without news.
    Timeout,
}

/// A folder on a mail server, as mailroom uses it.
pub trait Mailbox {
    /// Open `folder`; later calls work on it.
    fn select(&mut self, folder: &str) -> Result<Selection, ImapError>;
    /// Messages with a UID above `after_uid`, at most `max`, in UID order, fetched with
    /// `BODY.PEEK[]` (nothing is marked read).
    fn fetch_since(&mut self, after_uid: u32, max: usize) -> Result<Vec<Fetched>, ImapError>;
    /// Add IMAP keywords (`$MailroomUrgent`, …) to message `uid`; system flags are refused.
    fn set_keywords(&mut self, uid: u32, keywords: &[&str]) -> Result<(), ImapError>;
    /// Move message `uid` to `folder` and nothing else.
    fn move_to(&mut self, uid: u32, folder: &str) -> Result<Moved, ImapError>;
    /// Wait up to `timeout` for news in the folder: IDLE where the server has it, else wait
    /// and poll. Keep `timeout` under 29 minutes (RFC 2177).
    fn idle_or_poll(&mut self, timeout: Duration) -> Result<Wake, ImapError>;
}

/// Time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Name lookup, TCP connect and TLS handshake, each.
    pub connect: Duration,
    /// One command and its whole answer (a body fetch asks for at most 16 MiB at a time).
    pub command: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(15),
            command: Duration::from_secs(120),
        }
    }
}

/// Delays between reconnect attempts: `initial`, doubling up to `max`, at most `attempts`
/// retries per operation. No randomness: one watcher per mailbox has no herd to spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Retries before the error is returned.
    pub attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            attempts: 10,
        }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// Everything needed to open a mailbox.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    /// Server, user and folder.
    pub url: ImapUrl,
    /// Password or token.
    pub credentials: Credentials,
    /// Whom to trust for TLS.
    pub roots: TlsRoots,
    /// Allow `imap://` to a host that is not loopback.
    pub allow_plaintext: bool,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// Largest message downloaded, in bytes (RFC822.SIZE); larger ones become error items.
    pub max_size: u64,
}

impl ImapConfig {
    /// A configuration with the defaults: system roots, no plaintext off loopback, 15 s
    /// connect and 120 s command timeouts, 10 reconnect attempts from 0.5 s up to 30 s apart,
    /// the email layer's size cap.
    pub fn new(url: ImapUrl, credentials: Credentials) -> ImapConfig {
        ImapConfig {
            url,
            credentials,
            roots: TlsRoots::default(),
            allow_plaintext: false,
            timeouts: Timeouts::default(),
            backoff: Backoff::default(),
            max_size: crate::email::DEFAULT_MAX_SIZE as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            attempts: 5,
        };
        let d: Vec<u128> = (0..6).map(|i| b.delay(i).as_millis()).collect();
        assert_eq!(d, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(1));
    }
}
