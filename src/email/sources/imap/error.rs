//! What can go wrong talking to a mail server, and whether trying again can help.
//!
//! [`ImapError`] is the error of a mailbox operation; [`MessageError`] is why one message could
//! not be fetched (it becomes an error item, the batch goes on). Messages name the host and the
//! folder, never the user (often an email address) or a password.

use std::time::Duration;

use thiserror::Error;

/// An IMAP operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImapError {
    /// The mailbox URL could not be used.
    #[error("bad mailbox URL: {reason}")]
    Url {
        /// What is wrong with it.
        reason: String,
    },
    /// `imap://` to a host that is not loopback, without leave for insecure plaintext.
    #[error(
        "refusing plaintext IMAP to {host}: the password would cross the network unencrypted; \
         use imaps:// or allow insecure plaintext explicitly"
    )]
    PlaintextRefused {
        /// The host.
        host: String,
    },
    /// The trusted certificates could not be loaded.
    #[error("TLS roots: {reason}")]
    Roots {
        /// What failed (file, parse, none found).
        reason: String,
    },
    /// A credentials file could not be read or is empty.
    #[error("{path}: {reason}")]
    Credentials {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The TCP connection could not be made.
    #[error("connecting to {host}:{port}: {source}")]
    Connect {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The server's certificate is not trusted or does not name the host.
    #[error(
        "the certificate of {host} is not trusted ({reason}); if the department has its own \
         certificate authority, give its PEM file as the CA file"
    )]
    Certificate {
        /// The host.
        host: String,
        /// What rustls said of the certificate.
        reason: String,
    },
    /// The TLS handshake failed for a reason other than the certificate.
    #[error("TLS with {host}: {source}")]
    Tls {
        /// The host.
        host: String,
        /// The handshake error.
        #[source]
        source: std::io::Error,
    },
    /// The server refused the login.
    #[error("authentication failed at {host} ({mechanism}): the server said {server:?}")]
    Auth {
        /// The host.
        host: String,
        /// LOGIN or XOAUTH2.
        mechanism: &'static str,
        /// The server's words.
        server: String,
    },
    /// The folder does not exist or cannot be selected.
    #[error("folder {folder:?} cannot be opened: {server}")]
    NoSuchFolder {
        /// The folder.
        folder: String,
        /// The server's words (or "does not exist").
        server: String,
    },
    /// No message with this UID in the selected folder.
    #[error("no message with UID {uid} in {folder:?}")]
    NoSuchMessage {
        /// The folder.
        folder: String,
        /// The UID.
        uid: u32,
    },
    /// A keyword that IMAP cannot carry or that mailroom must not set (system flags).
    #[error("invalid keyword {keyword:?}: {reason}")]
    Keyword {
        /// The keyword.
        keyword: String,
        /// Why.
        reason: &'static str,
    },
    /// An operation needs a selected folder.
    #[error("no folder is selected")]
    NotSelected,
    /// After a reconnect the folder's UIDVALIDITY differs: UIDs no longer name the same
    /// messages, so nothing is done by UID until the caller selects again.
    #[error("UIDVALIDITY of {folder:?} changed from {old} to {new}; UIDs were renumbered")]
    UidValidityChanged {
        /// The folder.
        folder: String,
        /// The UIDVALIDITY before.
        old: u32,
        /// The UIDVALIDITY now.
        new: u32,
    },
    /// No answer within the time allowed.
    #[error("{op} at {host}: no answer within {after:?}")]
    Timeout {
        /// The step (connect, TLS, LOGIN, FETCH, …).
        op: &'static str,
        /// The host.
        host: String,
        /// The time allowed.
        after: Duration,
    },
    /// The server closed the connection (shutdown, restart, network).
    #[error("{host} closed the connection")]
    Closed {
        /// The host.
        host: String,
    },
    /// The server refused a command.
    #[error("{command} refused by {host}: {server}")]
    Refused {
        /// The command.
        command: &'static str,
        /// The host.
        host: String,
        /// The server's words.
        server: String,
    },
    /// The server's answer made no sense to the client library, or a transport error.
    #[error("{command} at {host}: {source}")]
    Protocol {
        /// The command.
        command: &'static str,
        /// The host.
        host: String,
        /// The client library's error.
        #[source]
        source: async_imap::error::Error,
    },
}

impl ImapError {
    /// Whether reconnecting and trying again may succeed (network trouble, a restart), as
    /// opposed to errors that stay until someone changes something (password, certificate,
    /// folder, URL).
    pub fn is_transient(&self) -> bool {
        match self {
            ImapError::Connect { .. } | ImapError::Timeout { .. } | ImapError::Closed { .. } => {
                true
            }
            ImapError::Protocol { source, .. } => matches!(
                source,
                async_imap::error::Error::Io(_) | async_imap::error::Error::ConnectionLost
            ),
            _ => false,
        }
    }

    /// Whether the connection is unusable after this error (state unknown or gone).
    pub(crate) fn breaks_connection(&self) -> bool {
        self.is_transient() || matches!(self, ImapError::Protocol { .. })
    }
}

/// Why one message could not be fetched. The message becomes an error item; the batch goes on.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageError {
    /// The server reports the message larger than the cap; it was not downloaded.
    #[error("message is {size} bytes, over the {limit}-byte limit (not downloaded)")]
    TooLarge {
        /// RFC822.SIZE as the server reports it.
        size: u64,
        /// The cap in force.
        limit: u64,
    },
    /// The server listed the message but sent no body for it.
    #[error("the server sent no body for this message")]
    NoBody,
}

/// Map a client-library error on `command` to an [`ImapError`].
pub(crate) fn from_lib(
    command: &'static str,
    host: &str,
    e: async_imap::error::Error,
) -> ImapError {
    use async_imap::error::Error as E;
    match e {
        E::No(s) | E::Bad(s) => ImapError::Refused {
            command,
            host: host.to_string(),
            server: server_text(&s),
        },
        E::ConnectionLost => ImapError::Closed {
            host: host.to_string(),
        },
        E::Io(io) if is_closed(&io) => ImapError::Closed {
            host: host.to_string(),
        },
        source => ImapError::Protocol {
            command,
            host: host.to_string(),
            source,
        },
    }
}

fn is_closed(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
    )
}

/// The server's own words from async-imap's debug rendering of a refusal
/// (`code: …, info: Some("…")` or `Outcome { code: …, information: Some("…") }`), with the
/// response code in brackets when there is one.
pub(crate) fn server_text(s: &str) -> String {
    let info = ["information: Some(\"", "info: Some(\""]
        .iter()
        .find_map(|key| s.find(key).map(|i| &s[i + key.len()..]))
        .and_then(|rest| rest.rfind("\")").map(|j| &rest[..j]))
        .map(|t| t.replace("\\\"", "\""));
    let code = s
        .find("code: Some(")
        .map(|i| &s[i + 11..])
        .and_then(|rest| rest.split_once(')'))
        .map(|(c, _)| c.to_string());
    match (code, info) {
        (Some(c), Some(i)) => format!("[{c}] {i}"),
        (None, Some(i)) => i,
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_keeps_the_words_and_the_code() {
        assert_eq!(
            server_text("code: Some(Nonexistent), info: Some(\"Mailbox doesn't exist: Nope\")"),
            "[Nonexistent] Mailbox doesn't exist: Nope"
        );
        assert_eq!(
            server_text("code: None, info: Some(\"Authentication failed.\")"),
            "Authentication failed."
        );
        assert_eq!(
            server_text(
                "outcome: Outcome { code: None, information: Some(\"Mailbox doesn't exist: X\") }"
            ),
            "Mailbox doesn't exist: X"
        );
        assert_eq!(server_text("odd"), "odd");
    }

    #[test]
    fn transient_errors_are_the_network_ones() {
        let closed = ImapError::Closed { host: "h".into() };
        assert!(closed.is_transient() && closed.breaks_connection());
        let auth = ImapError::Auth {
            host: "h".into(),
            mechanism: "LOGIN",
            server: "no".into(),
        };
        assert!(!auth.is_transient() && !auth.breaks_connection());
        let eof = from_lib(
            "FETCH",
            "h",
            async_imap::error::Error::Io(std::io::ErrorKind::UnexpectedEof.into()),
        );
        assert!(matches!(eof, ImapError::Closed { .. }));
    }
}
