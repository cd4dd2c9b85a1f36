//! A one-off read of a folder as a stream of [`Message`]s, like the file sources.
//!
//! [`ImapSource`] selects the folder, decides where to start from the cursor (continuing, or
//! after a renumbering reading again while skipping known hashes), and fetches in batches up to
//! the UIDNEXT seen at the start, so one read covers the folder as it was. Each message's id is
//! its RFC 5092 URL without the user (`imaps://HOST:PORT/FOLDER;UIDVALIDITY=V/;UID=N`), stable
//! across runs; its provenance index is the UID. A message that cannot be fetched becomes an
//! error item. A failure of the connection itself (after the retries) ends the stream and is
//! kept for [`ImapSource::take_error`], so the caller can tell "done" from "cut off".

use std::collections::{HashSet, VecDeque};

use super::{Cursor, Fetched, ImapError, ImapUrl, Mailbox, MessageError, Resume, Selection};
use crate::email::{Content, EmailError, Message, Provenance, SourceKind};

/// The messages of one folder, read once.
pub struct ImapSource<M: Mailbox> {
    mailbox: M,
    url: ImapUrl,
    sel: Selection,
    cursor: Cursor,
    batch: usize,
    /// Highest UID fetched so far (handed out or skipped).
    fetched_to: u32,
    queue: VecDeque<Message>,
    known: HashSet<String>,
    skipped: u64,
    error: Option<ImapError>,
}

impl<M: Mailbox> ImapSource<M> {
    /// Select `url.folder` on `mailbox` and plan the read. `stored` is the saved cursor (if
    /// any); `known` holds the SHA-256 (hex) of messages already done, used only after a
    /// renumbering; `batch` is how many messages one FETCH asks for.
    pub fn open(
        mut mailbox: M,
        url: &ImapUrl,
        stored: Option<Cursor>,
        known: HashSet<String>,
        batch: usize,
    ) -> Result<(ImapSource<M>, Resume), ImapError> {
        let sel = mailbox.select(&url.folder)?;
        let (cursor, resume) = Cursor::resume(stored, &url.folder_url(), &sel);
        let fetched_to = cursor.last_uid;
        Ok((
            ImapSource {
                mailbox,
                url: url.clone(),
                sel,
                cursor,
                batch: batch.max(1),
                fetched_to,
                queue: VecDeque::new(),
                known,
                skipped: 0,
                error: None,
            },
            resume,
        ))
    }

    /// What SELECT said at the start.
    pub fn selection(&self) -> Selection {
        self.sel
    }

    /// The cursor the read started from (advance it from the records written, then save).
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// Messages skipped because their hash was already done (after a renumbering).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The error that ended the stream early, if any.
    pub fn take_error(&mut self) -> Option<ImapError> {
        self.error.take()
    }

    /// The mailbox back, to log out or go on with it.
    pub fn into_mailbox(self) -> M {
        self.mailbox
    }

    /// The mailbox, for keywords or moves after the read.
    pub fn mailbox(&mut self) -> &mut M {
        &mut self.mailbox
    }

    /// Fetch batches until one yields a message to hand out, the snapshot is read, or the
    /// connection fails.
    fn refill(&mut self) {
        while self.queue.is_empty()
            && self.error.is_none()
            && self.fetched_to.saturating_add(1) < self.sel.uidnext
        {
            let batch = match self.mailbox.fetch_since(self.fetched_to, self.batch) {
                Ok(b) => b,
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            };
            if batch.is_empty() {
                // The rest below UIDNEXT was expunged meanwhile.
                self.fetched_to = self.sel.uidnext;
            }
            for f in batch {
                if f.uid >= self.sel.uidnext {
                    self.fetched_to = self.sel.uidnext;
                    break;
                }
                self.fetched_to = self.fetched_to.max(f.uid);
                if let Ok(raw) = &f.content {
                    if self.cursor.skip(f.uid, raw, &self.known) {
                        self.skipped += 1;
                        continue;
                    }
                }
                self.queue
                    .push_back(to_message(&self.url, self.sel.uidvalidity, f));
            }
        }
    }
}

impl<M: Mailbox> Iterator for ImapSource<M> {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        if self.queue.is_empty() && self.error.is_none() {
            self.refill();
        }
        self.queue.pop_front()
    }
}

/// One fetched message as a source [`Message`].
pub fn to_message(url: &ImapUrl, uidvalidity: u32, f: Fetched) -> Message {
    let id = url.message_id(uidvalidity, f.uid);
    let content = match f.content {
        Ok(raw) => Ok(Content::Raw(raw)),
        Err(MessageError::TooLarge { size, limit }) => Err(EmailError::TooLarge { size, limit }),
        Err(e @ MessageError::NoBody) => Err(EmailError::Read {
            path: id.clone(),
            source: std::io::Error::other(e.to_string()),
        }),
    };
    Message {
        id,
        provenance: Provenance {
            path: url.folder_url(),
            kind: SourceKind::Imap,
            index: Some(u64::from(f.uid)),
            offset: None,
        },
        content,
    }
}
