//! One live IMAP connection: log in, select, fetch, store keywords, move, idle.
//!
//! Every network step runs under the command timeout. Bodies are fetched with `BODY.PEEK[]`
//! so nothing is marked `\Seen`, and only after their `RFC822.SIZE` is known, so a message over
//! the cap is never downloaded. A move uses `MOVE` where the server has it; otherwise `COPY`,
//! `\Deleted` on that message and `UID EXPUNGE` of that UID alone (UIDPLUS), or, lacking
//! UIDPLUS, no expunge at all: a plain `EXPUNGE` would remove every message someone else had
//! marked deleted. Reconnecting is not done here (see `client`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::types::{Fetch, Flag, UnsolicitedResponse};
use futures_util::TryStreamExt;
use imap_proto::{Response, Status};

use super::auth::{Credentials, XOAuth2};
use super::error::from_lib;
use super::tls::{self, Stream};
use super::url::encode_folder;
use super::{Fetched, ImapConfig, ImapError, MessageError, Moved, Selection, Wake};

/// Bytes asked for in one `UID FETCH … BODY.PEEK[]`, so one command stays well inside the
/// command timeout on a slow link (a single message larger than this is fetched alone).
const FETCH_CHUNK_BYTES: u64 = 16 * 1024 * 1024;

/// What the server can do, from CAPABILITY after login.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Caps {
    pub idle: bool,
    pub mv: bool,
    pub uidplus: bool,
}

/// A logged-in connection.
pub(crate) struct Conn {
    /// `None` only while IDLE holds it, or after IDLE failed.
    session: Option<async_imap::Session<Stream>>,
    pub caps: Caps,
    host: String,
    limit: Duration,
    /// The selected folder and what SELECT said.
    pub selected: Option<(String, Selection)>,
}

impl Conn {
    /// Connect, log in and read the capabilities.
    pub async fn open(
        cfg: &ImapConfig,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> Result<Conn, ImapError> {
        let url = &cfg.url;
        let host = url.host.clone();
        let limit = cfg.timeouts.command;
        let stream = tls::open(url, tls, cfg.allow_plaintext, cfg.timeouts.connect).await?;
        let mut client = async_imap::Client::new(stream);
        let greeting = timed(limit, "greeting", &host, client.read_response())
            .await?
            .map_err(|e| from_lib("greeting", &host, e.into()))?;
        match greeting.as_ref().map(|g| g.parsed()) {
            Some(Response::Data {
                status: Status::Ok | Status::PreAuth,
                ..
            }) => {}
            _ => return Err(ImapError::Closed { host }),
        }
        let mechanism = cfg.credentials.mechanism();
        let login = async {
            match &cfg.credentials {
                Credentials::Password(p) => client.login(&url.user, p.expose()).await,
                Credentials::OAuth2(token) => {
                    let mut auth = XOAuth2 {
                        user: &url.user,
                        token,
                        sent: false,
                    };
                    client.authenticate("XOAUTH2", &mut auth).await
                }
            }
        };
        let mut session = match timed(limit, "login", &host, login).await? {
            Ok(s) => s,
            Err((async_imap::error::Error::No(s), _)) => {
                return Err(ImapError::Auth {
                    host,
                    mechanism,
                    server: super::error::server_text(&s),
                })
            }
            Err((e, _)) => return Err(from_lib("login", &host, e)),
        };
        let caps = timed(limit, "CAPABILITY", &host, session.capabilities())
            .await?
            .map_err(|e| from_lib("CAPABILITY", &host, e))?;
        let caps = Caps {
            idle: caps.has_str("IDLE"),
            mv: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
        };
        tracing::debug!(host = %host, port = url.port, ?caps, "imap: logged in");
        Ok(Conn {
            session: Some(session),
            caps,
            host,
            limit,
            selected: None,
        })
    }

    fn session(&mut self) -> Result<&mut async_imap::Session<Stream>, ImapError> {
        self.session.as_mut().ok_or(ImapError::Closed {
            host: self.host.clone(),
        })
    }

    /// SELECT `folder`.
    pub async fn select(&mut self, folder: &str) -> Result<Selection, ImapError> {
        self.selected = None;
        let (host, limit) = (self.host.clone(), self.limit);
        let name = encode_folder(folder);
        let s = self.session()?;
        let mailbox = match timed(limit, "SELECT", &host, s.select(&name)).await? {
            Ok(m) => m,
            Err(async_imap::error::Error::No(text)) => {
                return Err(ImapError::NoSuchFolder {
                    folder: folder.to_string(),
                    server: folder_refusal(&text),
                })
            }
            Err(e) => return Err(from_lib("SELECT", &host, e)),
        };
        let uidvalidity = mailbox.uid_validity.ok_or_else(|| ImapError::Refused {
            command: "SELECT",
            host: host.clone(),
            server: "no UIDVALIDITY in the answer".into(),
        })?;
        let uidnext = match mailbox.uid_next {
            Some(n) => n,
            None => self.highest_uid().await?.map_or(1, |u| u.saturating_add(1)),
        };
        let sel = Selection {
            uidvalidity,
            uidnext,
            exists: mailbox.exists,
            keywords_allowed: mailbox.permanent_flags.contains(&Flag::MayCreate),
        };
        self.selected = Some((folder.to_string(), sel));
        Ok(sel)
    }

    /// Check with STATUS that `folder` exists and can be opened, without selecting it.
    pub async fn status(&mut self, folder: &str) -> Result<(), ImapError> {
        let (host, limit) = (self.host.clone(), self.limit);
        let name = encode_folder(folder);
        let s = self.session()?;
        match timed(limit, "STATUS", &host, s.status(&name, "(UIDVALIDITY)")).await? {
            Ok(_) => Ok(()),
            Err(async_imap::error::Error::No(text)) => Err(ImapError::NoSuchFolder {
                folder: folder.to_string(),
                server: folder_refusal(&text),
            }),
            Err(e) => Err(from_lib("STATUS", &host, e)),
        }
    }

    fn folder(&self) -> Result<&str, ImapError> {
        self.selected
            .as_ref()
            .map(|(f, _)| f.as_str())
            .ok_or(ImapError::NotSelected)
    }

    /// The highest UID in the selected folder (`None` when it is empty).
    pub async fn highest_uid(&mut self) -> Result<Option<u32>, ImapError> {
        Ok(self.fetch_meta("*").await?.last().map(|m| m.0))
    }

    /// `UID FETCH set (UID RFC822.SIZE)`: (uid, size) sorted by UID.
    async fn fetch_meta(&mut self, set: &str) -> Result<Vec<(u32, u64)>, ImapError> {
        let fetches = self.collect("UID FETCH", set, "(UID RFC822.SIZE)").await?;
        let mut out: Vec<(u32, u64)> = fetches
            .iter()
            .filter_map(|f| Some((f.uid?, u64::from(f.size.unwrap_or(0)))))
            .collect();
        out.sort_unstable();
        out.dedup_by_key(|m| m.0);
        Ok(out)
    }

    async fn collect(
        &mut self,
        command: &'static str,
        set: &str,
        query: &str,
    ) -> Result<Vec<Fetch>, ImapError> {
        self.folder()?;
        let (host, limit) = (self.host.clone(), self.limit);
        let s = self.session()?;
        let fut = async {
            let stream = s.uid_fetch(set, query).await?;
            stream.try_collect::<Vec<Fetch>>().await
        };
        timed(limit, command, &host, fut)
            .await?
            .map_err(|e| from_lib(command, &host, e))
    }

    /// Messages with UID > `after`, at most `max`, in UID order.
    pub async fn fetch_since(
        &mut self,
        after: u32,
        max: usize,
        cap: u64,
    ) -> Result<Vec<Fetched>, ImapError> {
        let Some(first) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        // `n:*` also matches the last message when its UID is below n: filter.
        let set = format!("{first}:*");
        let mut meta = self.fetch_meta(&set).await?;
        if meta.len() < max && self.drain_news()? {
            // Mail that came after this connection's last sync is announced (EXISTS) at the
            // end of the FETCH but not in it (Dovecot does so): ask once more.
            meta = self.fetch_meta(&set).await?;
        }
        meta.retain(|m| m.0 > after);
        meta.truncate(max);
        let mut bodies: HashMap<u32, Vec<u8>> = HashMap::new();
        let wanted: Vec<(u32, u64)> = meta.iter().copied().filter(|m| m.1 <= cap).collect();
        for chunk in byte_chunks(&wanted, FETCH_CHUNK_BYTES) {
            let set = uid_set(chunk);
            for f in self.collect("UID FETCH", &set, "(UID BODY.PEEK[])").await? {
                if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                    bodies.insert(uid, body.to_vec());
                }
            }
        }
        Ok(meta
            .into_iter()
            .map(|(uid, size)| Fetched {
                uid,
                size,
                content: if size > cap {
                    Err(MessageError::TooLarge { size, limit: cap })
                } else {
                    bodies.remove(&uid).ok_or(MessageError::NoBody)
                },
            })
            .collect())
    }

    /// Flags of the messages in `set` (`1:*`, `5`, …) as the server spells them.
    pub async fn flags(&mut self, set: &str) -> Result<Vec<(u32, Vec<String>)>, ImapError> {
        let fetches = self.collect("UID FETCH", set, "(UID FLAGS)").await?;
        let mut out: Vec<(u32, Vec<String>)> = fetches
            .iter()
            .filter_map(|f| Some((f.uid?, f.flags().map(|x| flag_name(&x)).collect())))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Add `keywords` to message `uid`; an error when no such message.
    pub async fn set_keywords(&mut self, uid: u32, keywords: &[&str]) -> Result<(), ImapError> {
        for k in keywords {
            check_keyword(k)?;
        }
        let folder = self.folder()?.to_string();
        if keywords.is_empty() {
            return Ok(());
        }
        let query = format!("+FLAGS ({})", keywords.join(" "));
        let (host, limit) = (self.host.clone(), self.limit);
        let s = self.session()?;
        let fut = async {
            let stream = s.uid_store(uid.to_string(), &query).await?;
            stream.try_collect::<Vec<Fetch>>().await
        };
        let answered = timed(limit, "UID STORE", &host, fut)
            .await?
            .map_err(|e| from_lib("UID STORE", &host, e))?;
        // Without .SILENT the server answers with the message's flags: none means no message.
        if answered.is_empty() && !self.exists(uid).await? {
            return Err(ImapError::NoSuchMessage { folder, uid });
        }
        Ok(())
    }

    async fn exists(&mut self, uid: u32) -> Result<bool, ImapError> {
        Ok(self
            .fetch_meta(&uid.to_string())
            .await?
            .iter()
            .any(|m| m.0 == uid))
    }

    /// Move message `uid` to `dest`, touching no other message.
    pub async fn move_to(&mut self, uid: u32, dest: &str) -> Result<Moved, ImapError> {
        let folder = self.folder()?.to_string();
        if !self.exists(uid).await? {
            return Err(ImapError::NoSuchMessage { folder, uid });
        }
        let (set, name) = (uid.to_string(), encode_folder(dest));
        let caps = self.caps;
        let (host, limit) = (self.host.clone(), self.limit);
        let s = self.session()?;
        let refused = |text: String| ImapError::NoSuchFolder {
            folder: dest.to_string(),
            server: folder_refusal(&text),
        };
        if caps.mv {
            return match timed(limit, "UID MOVE", &host, s.uid_mv(&set, &name)).await? {
                Ok(()) => Ok(Moved::Moved),
                Err(async_imap::error::Error::No(t)) => Err(refused(t)),
                Err(e) => Err(from_lib("UID MOVE", &host, e)),
            };
        }
        match timed(limit, "UID COPY", &host, s.uid_copy(&set, &name)).await? {
            Ok(()) => {}
            Err(async_imap::error::Error::No(t)) => return Err(refused(t)),
            Err(e) => return Err(from_lib("UID COPY", &host, e)),
        }
        let store = async {
            let stream = s.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?;
            stream.try_collect::<Vec<Fetch>>().await
        };
        timed(limit, "UID STORE", &host, store)
            .await?
            .map_err(|e| from_lib("UID STORE", &host, e))?;
        if !caps.uidplus {
            return Ok(Moved::CopiedAndFlagged);
        }
        let s = self.session()?;
        let expunge = async {
            let stream = s.uid_expunge(&set).await?;
            stream.try_collect::<Vec<u32>>().await
        };
        timed(limit, "UID EXPUNGE", &host, expunge)
            .await?
            .map_err(|e| from_lib("UID EXPUNGE", &host, e))?;
        Ok(Moved::CopiedAndExpunged)
    }

    /// APPEND `raw` to `folder` with `flags` (`\Seen`, keywords; empty for none).
    pub async fn append(&mut self, folder: &str, raw: &[u8], flags: &str) -> Result<(), ImapError> {
        let (host, limit) = (self.host.clone(), self.limit);
        let name = encode_folder(folder);
        let flags = (!flags.is_empty()).then(|| format!("({flags})"));
        let s = self.session()?;
        match timed(
            limit,
            "APPEND",
            &host,
            s.append(&name, flags.as_deref(), None, raw),
        )
        .await?
        {
            Ok(()) => Ok(()),
            Err(async_imap::error::Error::No(t)) => Err(ImapError::Refused {
                command: "APPEND",
                host,
                server: super::error::server_text(&t),
            }),
            Err(e) => Err(from_lib("APPEND", &host, e)),
        }
    }

    /// Wait up to `wait` for a change in the selected folder: IDLE where the server has it,
    /// else sleep and NOOP. When `stop` is set the wait ends early (as a timeout).
    pub async fn idle_or_poll(
        &mut self,
        wait: Duration,
        stop: Option<&AtomicBool>,
    ) -> Result<Wake, ImapError> {
        self.folder()?;
        if self.drain_news()? {
            return Ok(Wake::Changed);
        }
        if !self.caps.idle {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopped(stop) => return Ok(Wake::Timeout),
            }
            let (host, limit) = (self.host.clone(), self.limit);
            let s = self.session()?;
            timed(limit, "NOOP", &host, s.noop())
                .await?
                .map_err(|e| from_lib("NOOP", &host, e))?;
            return Ok(if self.drain_news()? {
                Wake::Changed
            } else {
                Wake::Timeout
            });
        }
        let (host, limit) = (self.host.clone(), self.limit);
        let closed = || ImapError::Closed { host: host.clone() };
        let session = self.session.take().ok_or_else(closed)?;
        let mut handle = session.idle();
        timed(limit, "IDLE", &host, handle.init())
            .await?
            .map_err(|e| from_lib("IDLE", &host, e))?;
        let woke = {
            // The library restarts its timer on every keepalive ("* OK Still here"); the outer
            // timeout holds the whole wait to `wait`. Dropping the read is safe: the stream
            // keeps what it had buffered.
            let (fut, _stop) = handle.wait_with_timeout(wait);
            tokio::select! {
                r = tokio::time::timeout(wait, fut) => match r {
                    Err(_) => IdleResponse::Timeout,
                    Ok(r) => r.map_err(|e| from_lib("IDLE", &host, e))?,
                },
                _ = stopped(stop) => IdleResponse::Timeout,
            }
        };
        let wake = match woke {
            IdleResponse::Timeout => Wake::Timeout,
            IdleResponse::NewData(d) => match d.parsed() {
                Response::Data {
                    status: Status::Bye,
                    ..
                } => return Err(closed()),
                _ => Wake::Changed,
            },
            IdleResponse::ManualInterrupt => Wake::Changed,
        };
        let session = timed(limit, "DONE", &host, handle.done())
            .await?
            .map_err(|e| from_lib("DONE", &host, e))?;
        self.session = Some(session);
        self.drain_news()?;
        Ok(wake)
    }

    /// Empty the queue of unsolicited responses; true when one announced new messages.
    fn drain_news(&mut self) -> Result<bool, ImapError> {
        let s = self.session()?;
        let mut news = false;
        while let Ok(r) = s.unsolicited_responses.try_recv() {
            news |= matches!(
                r,
                UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
            );
        }
        Ok(news)
    }

    /// LOGOUT, best effort.
    pub async fn logout(&mut self) {
        if let Some(s) = self.session.as_mut() {
            let _ = tokio::time::timeout(Duration::from_secs(2), s.logout()).await;
        }
    }
}

/// Resolves once `stop` is set (checked every 100 ms); never without a flag.
pub(crate) async fn stopped(stop: Option<&AtomicBool>) {
    let Some(stop) = stop else {
        return std::future::pending().await;
    };
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Await `fut` for at most `limit`.
async fn timed<T>(
    limit: Duration,
    op: &'static str,
    host: &str,
    fut: impl Future<Output = T>,
) -> Result<T, ImapError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| ImapError::Timeout {
            op,
            host: host.to_string(),
            after: limit,
        })
}

fn folder_refusal(text: &str) -> String {
    let t = super::error::server_text(text);
    let lower = t.to_ascii_lowercase();
    if [
        "[nonexistent]",
        "[trycreate]",
        "doesn't exist",
        "does not exist",
    ]
    .iter()
    .any(|k| lower.contains(k))
    {
        format!("it does not exist (the server said {t:?})")
    } else {
        format!("the server said {t:?}")
    }
}

fn flag_name(f: &Flag<'_>) -> String {
    match f {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Recent => "\\Recent".into(),
        Flag::MayCreate => "\\*".into(),
        Flag::Custom(c) => c.to_string(),
    }
}

/// A keyword must be an IMAP atom and not a system flag (`\Seen`, `\Deleted`, …).
pub(crate) fn check_keyword(k: &str) -> Result<(), ImapError> {
    let bad = |reason| ImapError::Keyword {
        keyword: k.to_string(),
        reason,
    };
    if k.is_empty() {
        return Err(bad("empty"));
    }
    if k.starts_with('\\') {
        return Err(bad(
            "system flags are not keywords; mailroom never sets them",
        ));
    }
    if k.len() > 128 {
        return Err(bad("longer than 128 bytes"));
    }
    let atom = |c: char| c.is_ascii_graphic() && !"(){%*\"\\]".contains(c);
    if !k.chars().all(atom) {
        return Err(bad("only printable ASCII without spaces or (){%*\"\\]"));
    }
    Ok(())
}

/// UIDs (sorted) as an IMAP set with ranges: `1:3,5,9:10`.
pub(crate) fn uid_set(uids: &[(u32, u64)]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i].0;
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1].0 == end + 1 {
            i += 1;
            end = uids[i].0;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if end > start {
            out.push_str(&format!("{start}:{end}"));
        } else {
            out.push_str(&start.to_string());
        }
        i += 1;
    }
    out
}

/// Split (uid, size) into runs of at most `budget` bytes (a larger message alone).
fn byte_chunks(items: &[(u32, u64)], budget: u64) -> Vec<&[(u32, u64)]> {
    let mut out = Vec::new();
    let (mut start, mut used) = (0, 0u64);
    for (i, &(_, size)) in items.iter().enumerate() {
        if i > start && used + size > budget {
            out.push(&items[start..i]);
            (start, used) = (i, 0);
        }
        used += size;
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_use_ranges() {
        let u = |v: &[u32]| v.iter().map(|&x| (x, 0)).collect::<Vec<_>>();
        assert_eq!(uid_set(&u(&[1, 2, 3, 5, 9, 10])), "1:3,5,9:10");
        assert_eq!(uid_set(&u(&[7])), "7");
        assert_eq!(uid_set(&u(&[])), "");
    }

    #[test]
    fn chunks_respect_the_byte_budget() {
        let items = [(1, 6), (2, 6), (3, 20), (4, 1), (5, 1)];
        let c = byte_chunks(&items, 12);
        let uids: Vec<Vec<u32>> = c.iter().map(|s| s.iter().map(|m| m.0).collect()).collect();
        assert_eq!(uids, vec![vec![1, 2], vec![3], vec![4, 5]]);
        assert!(byte_chunks(&[], 10).is_empty());
    }

    #[test]
    fn keywords_must_be_atoms_and_not_system_flags() {
        assert!(check_keyword("$MailroomUrgent").is_ok());
        assert!(check_keyword("mailroom/category:complaint").is_ok());
        for k in ["\\Seen", "\\Deleted", "two words", "", "a(b", "quote\"d"] {
            assert!(check_keyword(k).is_err(), "{k}");
        }
    }
}
