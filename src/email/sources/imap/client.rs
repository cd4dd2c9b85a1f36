//! [`ImapMailbox`]: the [`Mailbox`] trait over a real server, with reconnects.
//!
//! Each call runs on a private single-threaded tokio runtime. When a call fails for a reason
//! that may pass (timeout, dropped connection, server restart), the connection is dropped and
//! remade after the [`Backoff`](super::Backoff) delay, the folder is selected again and its
//! UIDVALIDITY compared with the one seen before (a change is an error, never silently
//! accepted), and the call is tried again. Errors that will not pass by waiting (password,
//! certificate, folder) are returned at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::session::Conn;
use super::url::Transport;
use super::{Fetched, ImapConfig, ImapError, Mailbox, Moved, Selection, Wake};

/// Counters for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailboxStats {
    /// Successful logins, the first included.
    pub connects: u64,
    /// Logins after the first (each after a lost connection).
    pub reconnects: u64,
    /// Operations that failed and were tried again.
    pub retries: u64,
}

/// A mailbox on an IMAP server.
pub struct ImapMailbox {
    cfg: ImapConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    rt: tokio::runtime::Runtime,
    conn: Option<Conn>,
    /// The folder the caller selected and its UIDVALIDITY, restored after a reconnect.
    want: Option<(String, u32)>,
    stats: MailboxStats,
    /// Set by the caller to end waits early and stop retrying.
    stop: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for ImapMailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapMailbox")
            .field("url", &self.cfg.url)
            .field("connected", &self.conn.is_some())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl ImapMailbox {
    /// Connect and log in (retrying network failures per the backoff). Wrong credentials, an
    /// untrusted certificate or plaintext off loopback fail at once with a clear error.
    pub fn connect(cfg: ImapConfig) -> Result<ImapMailbox, ImapError> {
        cfg.url.check_transport(cfg.allow_plaintext)?;
        let tls = match cfg.url.transport {
            Transport::Tls => Some(super::tls::client_config(&cfg.roots)?),
            Transport::Plaintext => None,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| ImapError::Connect {
                host: cfg.url.host.clone(),
                port: cfg.url.port,
                source,
            })?;
        let mut mailbox = ImapMailbox {
            cfg,
            tls,
            rt,
            conn: None,
            want: None,
            stats: MailboxStats::default(),
            stop: None,
        };
        mailbox.call("connect", async |_c: &mut Conn| Ok(()))?;
        Ok(mailbox)
    }

    /// The configuration in use.
    pub fn config(&self) -> &ImapConfig {
        &self.cfg
    }

    /// Connection counters.
    pub fn stats(&self) -> MailboxStats {
        self.stats
    }

    /// Whether the server offers IDLE (else [`Mailbox::idle_or_poll`] polls), as of the
    /// current connection.
    pub fn has_idle(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.caps.idle)
    }

    /// End IDLE and poll waits early (as a timeout) once `flag` is set, and give up retrying
    /// a failed operation then instead of waiting for the next attempt.
    pub fn stop_on(&mut self, flag: Arc<AtomicBool>) {
        self.stop = Some(flag);
    }

    /// The highest UID in the selected folder now (`None` when it is empty): how far the
    /// folder goes, for a watcher's lag.
    pub fn newest_uid(&mut self) -> Result<Option<u32>, ImapError> {
        self.selected()?;
        self.call("FETCH UID", async |c: &mut Conn| c.highest_uid().await)
    }

    /// Check that `folder` exists and can be opened (STATUS), without leaving the folder
    /// selected now.
    pub fn check_folder(&mut self, folder: &str) -> Result<(), ImapError> {
        self.call("STATUS", async |c: &mut Conn| c.status(folder).await)
    }

    /// APPEND a message to `folder` with `flags` (IMAP flag list without parentheses, empty
    /// for none). For tests, imports and tools; triage never appends.
    pub fn append(&mut self, folder: &str, raw: &[u8], flags: &str) -> Result<(), ImapError> {
        self.call("APPEND", async |c: &mut Conn| {
            c.append(folder, raw, flags).await
        })
    }

    /// The flags and keywords of the messages in `uid_set` (`1:*`, `7`, `3:9`) of the selected
    /// folder, sorted by UID.
    pub fn flags(&mut self, uid_set: &str) -> Result<Vec<(u32, Vec<String>)>, ImapError> {
        self.selected()?;
        self.call("FETCH FLAGS", async |c: &mut Conn| c.flags(uid_set).await)
    }

    /// Log out and close the connection.
    pub fn logout(mut self) {
        if let Some(mut c) = self.conn.take() {
            self.rt.block_on(c.logout());
        }
    }

    fn selected(&self) -> Result<(), ImapError> {
        self.want.as_ref().map(|_| ()).ok_or(ImapError::NotSelected)
    }

    /// Run `op` on a live connection, (re)connecting and retrying transient failures.
    fn call<T>(
        &mut self,
        what: &'static str,
        mut op: impl AsyncFnMut(&mut Conn) -> Result<T, ImapError>,
    ) -> Result<T, ImapError> {
        let ImapMailbox {
            cfg,
            tls,
            rt,
            conn,
            want,
            stats,
            stop,
        } = self;
        let stopped = || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed));
        rt.block_on(async {
            let mut attempt = 0u32;
            loop {
                let result = match conn.as_mut() {
                    Some(c) => op(c).await,
                    None => match reopen(cfg, tls.as_ref(), want.as_ref()).await {
                        Ok(c) => {
                            stats.connects += 1;
                            if stats.connects > 1 {
                                stats.reconnects += 1;
                                tracing::info!(host = %cfg.url.host, "imap: reconnected");
                            }
                            let c = conn.insert(c);
                            if c.selected.as_ref().map(|s| s.1.uidvalidity)
                                != want.as_ref().map(|w| w.1)
                            {
                                let (folder, old) = want.clone().unwrap_or_default();
                                let new = c.selected.as_ref().map_or(0, |s| s.1.uidvalidity);
                                *want = None;
                                return Err(ImapError::UidValidityChanged { folder, old, new });
                            }
                            continue;
                        }
                        Err(e) => Err(e),
                    },
                };
                match result {
                    Ok(v) => return Ok(v),
                    Err(e) => {
                        if e.breaks_connection() {
                            *conn = None;
                        }
                        if !e.is_transient() || attempt >= cfg.backoff.attempts || stopped() {
                            return Err(e);
                        }
                        let delay = cfg.backoff.delay(attempt);
                        tracing::warn!(
                            host = %cfg.url.host, op = what, error = %e, ?delay,
                            "imap: will retry"
                        );
                        stats.retries += 1;
                        attempt += 1;
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = super::session::stopped(stop.as_deref()) => {}
                        }
                    }
                }
            }
        })
    }
}

/// Connect, log in and select the wanted folder again.
async fn reopen(
    cfg: &ImapConfig,
    tls: Option<&Arc<rustls::ClientConfig>>,
    want: Option<&(String, u32)>,
) -> Result<Conn, ImapError> {
    let mut c = Conn::open(cfg, tls).await?;
    if let Some((folder, _)) = want {
        c.select(folder).await?;
    }
    Ok(c)
}

impl Mailbox for ImapMailbox {
    fn select(&mut self, folder: &str) -> Result<Selection, ImapError> {
        self.want = None;
        let sel = self.call("SELECT", async |c: &mut Conn| c.select(folder).await)?;
        self.want = Some((folder.to_string(), sel.uidvalidity));
        Ok(sel)
    }

    fn fetch_since(&mut self, after_uid: u32, max: usize) -> Result<Vec<Fetched>, ImapError> {
        self.selected()?;
        let cap = self.cfg.max_size;
        self.call("FETCH", async |c: &mut Conn| {
            c.fetch_since(after_uid, max, cap).await
        })
    }

    fn set_keywords(&mut self, uid: u32, keywords: &[&str]) -> Result<(), ImapError> {
        self.selected()?;
        self.call("STORE", async |c: &mut Conn| {
            c.set_keywords(uid, keywords).await
        })
    }

    fn move_to(&mut self, uid: u32, folder: &str) -> Result<Moved, ImapError> {
        self.selected()?;
        self.call("MOVE", async |c: &mut Conn| c.move_to(uid, folder).await)
    }

    fn idle_or_poll(&mut self, timeout: Duration) -> Result<Wake, ImapError> {
        self.selected()?;
        let mut first = true;
        let stop = self.stop.clone();
        self.call("IDLE", async |c: &mut Conn| {
            if std::mem::take(&mut first) {
                c.idle_or_poll(timeout, stop.as_deref()).await
            } else {
                // Reconnected: mail may have come while the connection was down.
                Ok(Wake::Changed)
            }
        })
    }
}
