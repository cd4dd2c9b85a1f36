//! Credentials: a password or an OAuth2 bearer token, kept out of logs and debug output.
//!
//! The library never reads the environment; the CLI reads `MAILROOM_IMAP_PASSWORD` (or a
//! file) and hands the value in as a [`Secret`]. Files are read here so that every caller
//! trims them the same way. Nothing in this module logs.

use std::fmt;
use std::path::Path;

use super::ImapError;

/// A password or token. `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value (from the environment, say).
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// Read a secret from a file: the first line, without its line ending. An empty or
    /// missing file is an error naming the file (not its content).
    pub fn from_file(path: &Path) -> Result<Secret, ImapError> {
        let err = |reason: String| ImapError::Credentials {
            path: path.display().to_string(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.len() > 64 * 1024 {
            return Err(err("over 64 KiB: not a password or token file".into()));
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let first = text.lines().next().unwrap_or("");
        if first.is_empty() {
            return Err(err("empty".into()));
        }
        Ok(Secret(first.to_string()))
    }

    /// The value, for the login command only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How to log in. The user comes from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// IMAP `LOGIN` with a password.
    Password(Secret),
    /// SASL `XOAUTH2` with a bearer token (obtained elsewhere; mailroom does not refresh it).
    OAuth2(Secret),
}

impl Credentials {
    /// The mechanism's name, for error messages.
    pub fn mechanism(&self) -> &'static str {
        match self {
            Credentials::Password(_) => "LOGIN",
            Credentials::OAuth2(_) => "XOAUTH2",
        }
    }
}

/// The XOAUTH2 client response: `user=U^Aauth=Bearer T^A^A`. On failure the server sends an
/// error challenge, which is answered with an empty response as the mechanism requires.
pub(crate) struct XOAuth2<'a> {
    pub user: &'a str,
    pub token: &'a Secret,
    pub sent: bool,
}

impl async_imap::Authenticator for &mut XOAuth2<'_> {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        if self.sent {
            return String::new();
        }
        self.sent = true;
        xoauth2_response(self.user, self.token)
    }
}

pub(crate) fn xoauth2_response(user: &str, token: &Secret) -> String {
    format!("user={user}\x01auth=Bearer {}\x01\x01", token.expose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        let c = Credentials::Password(s);
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn reads_the_first_line_of_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret pass\r\n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), "s3cret pass");
        std::fs::write(&p, "\n").unwrap();
        let e = Secret::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("empty") && e.contains("pw"), "{e}");
        let e = Secret::from_file(&dir.path().join("none")).unwrap_err();
        assert!(e.to_string().contains("none"));
    }

    #[test]
    fn xoauth2_response_format() {
        assert_eq!(
            xoauth2_response("a@b", &Secret::new("tok")),
            "user=a@b\x01auth=Bearer tok\x01\x01"
        );
    }
}
