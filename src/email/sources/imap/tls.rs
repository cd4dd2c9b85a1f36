//! The byte stream under IMAP: TCP, with rustls on top for `imaps://`.
//!
//! Trust comes from the system's certificate store (rustls-native-certs) or from one PEM file
//! (a department's own CA). Certificate failures are told apart from other handshake errors
//! so the user learns what to fix. Plaintext connections are checked, after name resolution,
//! to go only to loopback addresses unless plaintext was allowed.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::url::{ImapUrl, Transport};
use super::ImapError;

/// Which certificate authorities to trust.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsRoots {
    /// The operating system's store.
    #[default]
    System,
    /// Only the certificates in this PEM file.
    CaFile(PathBuf),
}

/// Build the rustls client configuration for `roots`.
pub fn client_config(roots: &TlsRoots) -> Result<Arc<rustls::ClientConfig>, ImapError> {
    let bad = |reason: String| ImapError::Roots { reason };
    let mut store = rustls::RootCertStore::empty();
    match roots {
        TlsRoots::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(bad(format!(
                    "no usable certificate in the system store ({} errors); give a CA file",
                    found.errors.len()
                )));
            }
        }
        TlsRoots::CaFile(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| bad(format!("{}: {e}", path.display())))?;
            let (added, _ignored) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(bad(format!("{}: no certificate in it", path.display())));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A connection: TLS over TCP, or plain TCP.
#[derive(Debug)]
pub(crate) enum Stream {
    /// `imaps://`.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// `imap://`.
    Plain(TcpStream),
}

/// Resolve, connect and (for `imaps://`) complete the TLS handshake, each step under `limit`.
pub(crate) async fn open(
    url: &ImapUrl,
    tls: Option<&Arc<rustls::ClientConfig>>,
    allow_plaintext: bool,
    limit: Duration,
) -> Result<Stream, ImapError> {
    let timeout = |op| ImapError::Timeout {
        op,
        host: url.host.clone(),
        after: limit,
    };
    let connect_err = |source| ImapError::Connect {
        host: url.host.clone(),
        port: url.port,
        source,
    };
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        limit,
        tokio::net::lookup_host((url.host.as_str(), url.port)),
    )
    .await
    .map_err(|_| timeout("name lookup"))?
    .map_err(connect_err)?
    .collect();
    if url.transport == Transport::Plaintext
        && !allow_plaintext
        && !addrs.iter().all(|a| a.ip().is_loopback())
    {
        return Err(ImapError::PlaintextRefused {
            host: url.host.clone(),
        });
    }
    let tcp = tokio::time::timeout(limit, TcpStream::connect(&addrs[..]))
        .await
        .map_err(|_| timeout("connect"))?
        .map_err(connect_err)?;
    tcp.set_nodelay(true).map_err(connect_err)?;
    let config = match (url.transport, tls) {
        (Transport::Plaintext, _) => return Ok(Stream::Plain(tcp)),
        (Transport::Tls, Some(c)) => Arc::clone(c),
        (Transport::Tls, None) => {
            return Err(ImapError::Roots {
                reason: "no TLS configuration".into(),
            })
        }
    };
    let name = ServerName::try_from(url.host.clone()).map_err(|e| ImapError::Url {
        reason: format!("{}: not a valid TLS server name ({e})", url.host),
    })?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let stream = tokio::time::timeout(limit, connector.connect(name, tcp))
        .await
        .map_err(|_| timeout("TLS handshake"))?
        .map_err(|e| handshake_error(&url.host, e))?;
    Ok(Stream::Tls(Box::new(stream)))
}

fn handshake_error(host: &str, e: io::Error) -> ImapError {
    let rustls_err = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match rustls_err {
        Some(rustls::Error::InvalidCertificate(c)) => ImapError::Certificate {
            host: host.to_string(),
            reason: format!("{c:?}"),
        },
        _ => ImapError::Tls {
            host: host.to_string(),
            source: e,
        },
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(&p, "not a certificate\n").unwrap();
        let e = client_config(&TlsRoots::CaFile(p)).unwrap_err().to_string();
        assert!(e.contains("ca.pem") && e.contains("no certificate"), "{e}");
        let missing = dir.path().join("missing.pem");
        let e = client_config(&TlsRoots::CaFile(missing)).unwrap_err();
        assert!(e.to_string().contains("missing.pem"), "{e}");
    }
}
