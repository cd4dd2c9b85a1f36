//! Where a watcher's records go, and where its position is kept: the store (records and
//! position in one transaction, through [`Engine::ingest_at`]), the store's job queue (the
//! messages queued for workers and the position in one transaction: the watcher triages
//! nothing), or a JSON lines file (records written, flushed and synced, then the position saved
//! beside it, atomically).
//!
//! Either way a record is never written twice: the store is idempotent by message hash; the
//! file's ids are read back when it is opened (a torn last line is cut and redone), so
//! messages written by a run killed before it saved its position are skipped, not written
//! again. Both also answer for a restart: the records of given messages (to finish their
//! marks) and the hashes already done (after a renumbering).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::email::sources::imap::Cursor;
use crate::email::Message;
use crate::store::{BlockingStore, CursorUpdate, Enqueued, DEFAULT_MAX_ATTEMPTS};

use super::super::engine::Engine;
use super::super::ingest::MailboxPosition;
use super::super::record::Output;
use super::super::resume::open_for_resume;
use super::super::worker::job_for;
use super::super::PipelineError;

/// Where the records go.
#[derive(Debug, Clone, Copy)]
pub enum Sink<'a> {
    /// Into the store (the desk's queue), with the position in the store.
    Store(&'a BlockingStore),
    /// Into the store's job queue, for `mailroom worker`s to triage, with the position in the
    /// store.
    Queue(&'a BlockingStore),
    /// JSON lines appended to this file, the position in `FILE.imap-cursor.json`.
    File(&'a Path),
}

/// Counts of one write.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Written {
    pub triaged: u64,
    pub queued: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// An opened sink.
pub(super) enum Out<'a> {
    Store {
        store: &'a BlockingStore,
        key: String,
        /// Queue the messages for workers instead of triaging them.
        queue: bool,
    },
    File {
        path: PathBuf,
        file: File,
        cursor_path: PathBuf,
        /// Ids of records in the file beyond the saved position (written by a run that died
        /// before saving it).
        done: HashSet<String>,
    },
}

impl<'a> Out<'a> {
    /// Open the sink for the mailbox whose position is kept under `key`; a torn last line of
    /// the file is cut (and counted in the second value, in bytes).
    pub fn open(sink: Sink<'a>, key: &str) -> Result<(Out<'a>, u64), PipelineError> {
        Ok(match sink {
            Sink::Store(store) | Sink::Queue(store) => (
                Out::Store {
                    store,
                    key: key.to_string(),
                    queue: matches!(sink, Sink::Queue(_)),
                },
                0,
            ),
            Sink::File(path) => {
                let (file, state) = open_for_resume(path)?;
                (
                    Out::File {
                        path: path.to_path_buf(),
                        file,
                        cursor_path: Cursor::path_beside(path),
                        done: state.done,
                    },
                    state.torn_bytes,
                )
            }
        })
    }

    /// The saved position (and how far marks are done), if any.
    pub fn load(&mut self, key: &str) -> Result<Option<Cursor>, PipelineError> {
        match self {
            Out::File { cursor_path, .. } => Ok(Cursor::load(cursor_path, key)?),
            Out::Store { store, .. } => {
                let Some(c) = store.block_on(store.store().cursor(key))? else {
                    return Ok(None);
                };
                let marks = store.block_on(store.store().cursor(&marks_key(key)))?;
                let uid = |v: i64| u32::try_from(v).unwrap_or(0);
                Ok(Some(Cursor {
                    folder: key.to_string(),
                    uidvalidity: uid(c.uidvalidity),
                    last_uid: uid(c.last_uid),
                    hash_check_below: None,
                    marked_through: marks
                        .filter(|m| m.uidvalidity == c.uidvalidity)
                        .map(|m| uid(m.last_uid)),
                }))
            }
        }
    }

    /// Keep of the file's ids only those of `prefix` (this folder and UIDVALIDITY) above
    /// `after`: the only ones that can come again.
    pub fn prune(&mut self, prefix: &str, after: u32) {
        if let Out::File { done, .. } = self {
            done.retain(|id| uid_in(id, prefix).is_some_and(|u| u > after));
        }
    }

    /// Whether the messages are queued for workers (no engine, no records here).
    pub fn queues(&self) -> bool {
        matches!(self, Out::Store { queue: true, .. })
    }

    /// Triage `messages` and make their records safe (or, for the queue, queue them); the
    /// store also moves its position to the highest UID among them, in the same transaction.
    /// `on_output` sees each output. Every sink but the queue needs the engine.
    pub fn write(
        &mut self,
        engine: Option<&Engine>,
        messages: impl Iterator<Item = Message>,
        cursor: &Cursor,
        mut on_output: impl FnMut(&Output),
    ) -> Result<Written, PipelineError> {
        if let Out::Store {
            store,
            key,
            queue: true,
        } = self
        {
            return queue_jobs(store, key, cursor, messages);
        }
        let Some(engine) = engine else {
            return Err(PipelineError::Output(std::io::Error::other(
                "this watch writes records and was given no engine",
            )));
        };
        match self {
            Out::Store { store, key, .. } => {
                let position = MailboxPosition {
                    mailbox: key.clone(),
                    uidvalidity: cursor.uidvalidity,
                };
                let s = engine.ingest_at(messages, store, Some(&position), on_output)?;
                Ok(Written {
                    triaged: s.stored as u64,
                    failed: s.failed as u64,
                    skipped: s.existed as u64,
                    ..Written::default()
                })
            }
            Out::File { file, done, .. } => {
                let s = engine.run(messages, done, |out| {
                    let mut line = serde_json::to_string(out).map_err(std::io::Error::other)?;
                    line.push('\n');
                    file.write_all(line.as_bytes())?;
                    on_output(out);
                    Ok(())
                })?;
                file.sync_data()?;
                Ok(Written {
                    triaged: s.triaged as u64,
                    failed: s.failed as u64,
                    skipped: s.skipped as u64,
                    ..Written::default()
                })
            }
        }
    }

    /// Save the position (the store's moves with its records; this saves it on its own, for
    /// messages passed over without a record, and after a renumbering).
    pub fn save(&mut self, cursor: &Cursor) -> Result<(), PipelineError> {
        match self {
            Out::File { cursor_path, .. } => Ok(cursor.save(cursor_path)?),
            Out::Store { store, key, .. } => {
                store.block_on(store.store().set_cursor(&CursorUpdate {
                    mailbox: key.clone(),
                    uidvalidity: i64::from(cursor.uidvalidity),
                    last_uid: i64::from(cursor.last_uid),
                }))?;
                Ok(())
            }
        }
    }

    /// Save how far the marks are done.
    pub fn save_marks(&mut self, cursor: &Cursor) -> Result<(), PipelineError> {
        match self {
            Out::File { cursor_path, .. } => Ok(cursor.save(cursor_path)?),
            Out::Store { store, key, .. } => {
                store.block_on(store.store().set_cursor(&CursorUpdate {
                    mailbox: marks_key(key),
                    uidvalidity: i64::from(cursor.uidvalidity),
                    last_uid: i64::from(cursor.marked_through.unwrap_or(0)),
                }))?;
                Ok(())
            }
        }
    }

    /// The records already written of the messages `wanted` (id and SHA-256), by id.
    pub fn records(
        &self,
        wanted: &[(String, String)],
    ) -> Result<HashMap<String, Value>, PipelineError> {
        let mut found = HashMap::new();
        match self {
            Out::Store { store, .. } => {
                for (id, sha) in wanted {
                    let s = store.store();
                    let Some(mid) = store.block_on(s.find(sha))? else {
                        continue;
                    };
                    if let Some(m) = store.block_on(s.message(mid))? {
                        if let Ok(v) = serde_json::from_str::<Value>(&m.record_json) {
                            found.insert(id.clone(), v);
                        }
                    }
                }
            }
            Out::File { path, .. } => {
                let ids: HashSet<&str> = wanted.iter().map(|w| w.0.as_str()).collect();
                scan(path, |v| {
                    if let Some(id) = v["id"].as_str().filter(|id| ids.contains(id)) {
                        found.insert(id.to_string(), v.clone());
                    }
                })?;
            }
        }
        Ok(found)
    }

    /// SHA-256 of every message with a record in the file (the store checks hashes itself).
    pub fn known_hashes(&self) -> Result<HashSet<String>, PipelineError> {
        let mut known = HashSet::new();
        if let Out::File { path, .. } = self {
            scan(path, |v| {
                if let Some(sha) = v["input_sha256"].as_str() {
                    known.insert(sha.to_string());
                }
            })?;
        }
        Ok(known)
    }
}

/// Queue the readable `messages` as jobs and move the position of `key` to the highest UID
/// among them, in one transaction. A message that cannot be read is queued anyway when it has
/// bytes (the worker parks it with its error record); one without bytes is only counted.
fn queue_jobs(
    store: &BlockingStore,
    key: &str,
    cursor: &Cursor,
    messages: impl Iterator<Item = Message>,
) -> Result<Written, PipelineError> {
    let mut jobs = Vec::new();
    let mut written = Written::default();
    let mut last_uid = None;
    for m in messages {
        let uid = m.provenance.index.and_then(|i| i64::try_from(i).ok());
        last_uid = last_uid.max(uid);
        match job_for(&m, DEFAULT_MAX_ATTEMPTS) {
            Some(job) => jobs.push(job),
            None => written.failed += 1,
        }
    }
    let Some(last_uid) = last_uid else {
        return Ok(written);
    };
    let position = CursorUpdate {
        mailbox: key.to_string(),
        uidvalidity: i64::from(cursor.uidvalidity),
        last_uid,
    };
    let queued = store.block_on(store.store().enqueue_at(&jobs, Some(&position)))?;
    for q in queued {
        match q {
            Enqueued::Queued(_) => written.queued += 1,
            Enqueued::AlreadyQueued(_) | Enqueued::AlreadyStored(_) => written.skipped += 1,
        }
    }
    Ok(written)
}

/// The store's key for how far the marks of the mailbox `key` are done.
fn marks_key(key: &str) -> String {
    format!("{key}#marks")
}

/// The UID of a message id `PREFIX<uid>`.
pub(super) fn uid_in(id: &str, prefix: &str) -> Option<u32> {
    id.strip_prefix(prefix)?.parse().ok()
}

/// Call `each` with every complete JSON line of the file.
fn scan(path: &Path, mut each: impl FnMut(&Value)) -> std::io::Result<()> {
    let reader = BufReader::new(File::open(path)?);
    for line in reader.split(b'\n') {
        if let Ok(v) = serde_json::from_slice::<Value>(&line?) {
            each(&v);
        }
    }
    Ok(())
}
