//! The flags that point a command at a mailbox (`imaps://USER@HOST[:PORT]/FOLDER`): how to log
//! in, whom to trust, plaintext only when asked. The password comes from a file or
//! `MAILROOM_IMAP_PASSWORD`, never from a flag value, and is never printed or logged.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use mailroom::pipeline::imap::{
    Credentials, ImapConfig, ImapMailbox, ImapSource, ImapUrl, Resume, Secret, TlsRoots,
};

/// The environment variable that may hold the mailbox password.
pub const PASSWORD_VAR: &str = "MAILROOM_IMAP_PASSWORD";

/// How to reach a mailbox.
#[derive(Debug, Clone, Args)]
pub struct MailboxArgs {
    /// A file whose first line is the mailbox password (else MAILROOM_IMAP_PASSWORD).
    #[arg(long, value_name = "FILE", conflicts_with = "oauth_token_file")]
    pub password_file: Option<PathBuf>,
    /// Log in with XOAUTH2, the bearer token in the first line of FILE (mailroom does not
    /// refresh it).
    #[arg(long, value_name = "FILE")]
    pub oauth_token_file: Option<PathBuf>,
    /// Trust only the certificate authorities in this PEM file (a department's own CA)
    /// instead of the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Allow imap:// (no encryption) to a host that is not loopback: the password and the
    /// mail then cross the network in the clear.
    #[arg(long)]
    pub insecure_plaintext: bool,
}

/// Whether a command-line input is a mailbox URL rather than a path.
pub fn is_mailbox_url(input: &std::path::Path) -> bool {
    input.to_str().is_some_and(|s| {
        let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
        lower.starts_with("imaps://") || lower.starts_with("imap://")
    })
}

impl MailboxArgs {
    /// The configuration for the mailbox `url`, with the credentials read now.
    pub fn config(&self, url: &str, max_size: usize) -> anyhow::Result<ImapConfig> {
        let url = ImapUrl::parse(url)?;
        let credentials = match (&self.oauth_token_file, &self.password_file) {
            (Some(f), _) => Credentials::OAuth2(Secret::from_file(f)?),
            (None, Some(f)) => Credentials::Password(Secret::from_file(f)?),
            (None, None) => match std::env::var(PASSWORD_VAR) {
                Ok(p) if !p.is_empty() => Credentials::Password(Secret::new(p)),
                _ => anyhow::bail!(
                    "no mailbox password: give --password-file FILE, set {PASSWORD_VAR}, or \
                     --oauth-token-file FILE for XOAUTH2"
                ),
            },
        };
        let mut cfg = ImapConfig::new(url, credentials);
        if let Some(ca) = &self.ca_file {
            cfg.roots = TlsRoots::CaFile(ca.clone());
        }
        cfg.allow_plaintext = self.insecure_plaintext;
        cfg.max_size = max_size as u64;
        Ok(cfg)
    }
}

/// A one-off read of the folder: connected, selected, every message from the first.
pub fn open_source(cfg: ImapConfig) -> anyhow::Result<ImapSource<ImapMailbox>> {
    let url = cfg.url.clone();
    let mailbox = ImapMailbox::connect(cfg)?;
    let (source, resume) = ImapSource::open(mailbox, &url, None, HashSet::new(), 64)
        .with_context(|| format!("opening {}", url.folder_url()))?;
    debug_assert_eq!(resume, Resume::Fresh);
    Ok(source)
}
