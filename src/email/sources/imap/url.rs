//! Mailbox URLs: `imaps://USER@HOST[:PORT]/FOLDER` and `imap://…`, parsed and checked.
//!
//! This module owns the URL form a user types and the rule for plaintext: `imap://` is allowed
//! only to a loopback host or when the caller says insecure plaintext is allowed (the final
//! check on the resolved addresses happens at connect time). A password in the URL is refused:
//! passwords come from a file or the environment, never from a command line. It also encodes
//! folder names in IMAP's modified UTF-7 (RFC 3501 §5.1.3). It must not connect or log.

use std::fmt;
use std::net::IpAddr;

use super::ImapError;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS from the first byte (`imaps://`, port 993 by default).
    Tls,
    /// No encryption (`imap://`, port 143 by default): loopback only unless allowed.
    Plaintext,
}

/// A parsed mailbox URL.
#[derive(Clone, PartialEq, Eq)]
pub struct ImapUrl {
    /// TLS or plaintext.
    pub transport: Transport,
    /// The login name (percent-decoded: `team%40example.org` is `team@example.org`).
    pub user: String,
    /// The host name or IP address (IPv6 without brackets).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// The folder, decoded (`INBOX` when the URL has none).
    pub folder: String,
}

/// Debug leaves the user out: it is often an email address, which logs must not carry.
impl fmt::Debug for ImapUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapUrl")
            .field("transport", &self.transport)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

impl ImapUrl {
    /// Parse `imaps://USER@HOST[:PORT][/FOLDER]` or `imap://…`. The user is required; a
    /// password in the URL is an error.
    pub fn parse(s: &str) -> Result<ImapUrl, ImapError> {
        let bad = |reason: &str| ImapError::Url {
            reason: reason.to_string(),
        };
        let (transport, rest) = if let Some(r) = strip_prefix_ci(s, "imaps://") {
            (Transport::Tls, r)
        } else if let Some(r) = strip_prefix_ci(s, "imap://") {
            (Transport::Plaintext, r)
        } else {
            return Err(bad("a mailbox URL starts with imaps:// (or imap://)"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let Some(at) = authority.rfind('@') else {
            return Err(bad("the URL names no user: imaps://USER@HOST/FOLDER"));
        };
        let (userinfo, hostport) = (&authority[..at], &authority[at + 1..]);
        if userinfo.contains(':') {
            return Err(bad(
                "a password does not belong in the URL; give it in a file or the environment",
            ));
        }
        let user = percent_decode(userinfo).ok_or_else(|| bad("bad %-escape in the user"))?;
        if user.is_empty() {
            return Err(bad("the user is empty"));
        }
        let (host, port) = split_host_port(hostport).ok_or_else(|| bad("bad host or port"))?;
        let port = port.unwrap_or(match transport {
            Transport::Tls => 993,
            Transport::Plaintext => 143,
        });
        let folder = path.trim_end_matches('/');
        let folder = percent_decode(folder).ok_or_else(|| bad("bad %-escape in the folder"))?;
        let folder = if folder.is_empty() {
            "INBOX".to_string()
        } else {
            folder
        };
        if folder.chars().any(|c| c.is_control()) {
            return Err(bad("the folder name holds a control character"));
        }
        Ok(ImapUrl {
            transport,
            user,
            host,
            port,
            folder,
        })
    }

    /// Refuse plaintext to a host that is not loopback unless `allow_plaintext`. Names other
    /// than `localhost` are refused here; the connection checks the resolved addresses again.
    pub fn check_transport(&self, allow_plaintext: bool) -> Result<(), ImapError> {
        if self.transport == Transport::Tls || allow_plaintext || self.is_loopback_name() {
            Ok(())
        } else {
            Err(ImapError::PlaintextRefused {
                host: self.host.clone(),
            })
        }
    }

    /// Whether the host is written as a loopback address or `localhost`.
    pub fn is_loopback_name(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// The folder URL without the user: `imaps://HOST:PORT/FOLDER`, for provenance.
    pub fn folder_url(&self) -> String {
        let scheme = match self.transport {
            Transport::Tls => "imaps",
            Transport::Plaintext => "imap",
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "{scheme}://{host}:{}/{}",
            self.port,
            percent_encode(&self.folder)
        )
    }

    /// The folder URL with the user: `imaps://USER@HOST:PORT/FOLDER` (user %-encoded), the key
    /// of a watcher's position, so that two users' folders of the same name never share one.
    /// Not for logs.
    pub fn position_key(&self) -> String {
        let folder_url = self.folder_url();
        match folder_url.split_once("://") {
            Some((scheme, rest)) => {
                format!(
                    "{scheme}://{}@{rest}",
                    percent_encode(&self.user).replace('/', "%2F")
                )
            }
            None => folder_url,
        }
    }

    /// A stable id for one message (RFC 5092 form, without the user):
    /// `imaps://HOST:PORT/FOLDER;UIDVALIDITY=V/;UID=N`.
    pub fn message_id(&self, uidvalidity: u32, uid: u32) -> String {
        format!("{};UIDVALIDITY={uidvalidity}/;UID={uid}", self.folder_url())
    }

    /// This URL with another folder.
    pub fn with_folder(&self, folder: &str) -> ImapUrl {
        ImapUrl {
            folder: folder.to_string(),
            ..self.clone()
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &rest[..end];
        host.parse::<std::net::Ipv6Addr>().ok()?;
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return None,
        };
        (host, port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':');
    if host.is_empty() || !host.chars().all(ok_char) {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p > 0)?),
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encode a folder name in IMAP's modified UTF-7: printable ASCII as is (`&` as `&-`), other
/// characters as `&` + modified base64 of their UTF-16 + `-`.
pub fn encode_folder(name: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let digits = chunk.len() + 1;
            for k in 0..digits {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            }
        }
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_a_user_types() {
        let u = ImapUrl::parse("imaps://team%40dept.example@mail.example.org/INBOX/Cases").unwrap();
        assert_eq!(u.transport, Transport::Tls);
        assert_eq!(u.user, "team@dept.example");
        assert_eq!(u.host, "mail.example.org");
        assert_eq!(u.port, 993);
        assert_eq!(u.folder, "INBOX/Cases");

        let u = ImapUrl::parse("IMAP://bob@[::1]:1143").unwrap();
        assert_eq!(u.transport, Transport::Plaintext);
        assert_eq!((u.host.as_str(), u.port), ("::1", 1143));
        assert_eq!(u.folder, "INBOX");
        assert_eq!(u.folder_url(), "imap://[::1]:1143/INBOX");

        let u = ImapUrl::parse("imaps://a@b.example/Entw%C3%BCrfe").unwrap();
        assert_eq!(u.folder, "Entwürfe");
        assert_eq!(
            u.message_id(7, 42),
            "imaps://b.example:993/Entw%C3%BCrfe;UIDVALIDITY=7/;UID=42"
        );
    }

    #[test]
    fn refuses_bad_urls_with_a_reason() {
        for (url, says) in [
            ("https://a@b/INBOX", "imaps://"),
            ("imaps://mail.example.org/INBOX", "no user"),
            ("imaps://bob:secret@mail.example.org/", "password"),
            ("imaps://bob@mail.example.org:99999/", "port"),
            ("imaps://bob@mail example/", "host"),
            ("imaps://bob@h/%ZZ", "%-escape"),
            ("imaps://@h/", "empty"),
        ] {
            let e = ImapUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(says), "{url}: {e}");
        }
    }

    #[test]
    fn plaintext_only_to_loopback_unless_allowed() {
        let remote = ImapUrl::parse("imap://bob@mail.example.org/").unwrap();
        let e = remote.check_transport(false).unwrap_err().to_string();
        assert!(
            e.contains("mail.example.org") && e.contains("plaintext"),
            "{e}"
        );
        assert!(remote.check_transport(true).is_ok());
        for host in ["127.0.0.1", "localhost", "[::1]"] {
            let u = ImapUrl::parse(&format!("imap://bob@{host}:1143/")).unwrap();
            assert!(u.check_transport(false).is_ok(), "{host}");
        }
        let tls = ImapUrl::parse("imaps://bob@mail.example.org/").unwrap();
        assert!(tls.check_transport(false).is_ok());
    }

    #[test]
    fn the_position_key_names_the_user() {
        let u = ImapUrl::parse("imaps://team%40dept.example@mail.example:9993/Cases").unwrap();
        assert_eq!(
            u.position_key(),
            "imaps://team%40dept.example@mail.example:9993/Cases"
        );
        assert_eq!(u.folder_url(), "imaps://mail.example:9993/Cases");
    }

    #[test]
    fn debug_leaves_the_user_out() {
        let u = ImapUrl::parse("imaps://someone%40example.org@h/").unwrap();
        assert!(!format!("{u:?}").contains("someone"));
    }

    #[test]
    fn folder_names_in_modified_utf7() {
        assert_eq!(encode_folder("INBOX"), "INBOX");
        assert_eq!(encode_folder("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode_folder("R&D"), "R&-D");
        assert_eq!(encode_folder("日本語"), "&ZeVnLIqe-");
        assert_eq!(
            encode_folder("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
    }
}
