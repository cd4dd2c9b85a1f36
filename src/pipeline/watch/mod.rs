//! Watching a mailbox folder: new mail is triaged as it comes (IDLE where the server has it,
//! polling otherwise), each message exactly once across restarts and crashes, into the store or
//! a JSON lines file; on request its answer is shown in the mailbox (keywords, junk moved).
//!
//! One step: fetch up to a batch of messages after the position (`BODY.PEEK[]`, nothing is
//! marked read), triage them, make their records safe together with the position ([`sink`]),
//! then set their marks ([`marks`]) and save how far the marks are done. A restart continues
//! after the position; messages whose records were written but whose position was not are
//! skipped by id or hash, and marks left undone are finished from the records written. A
//! UIDVALIDITY change is reported and the folder read again, skipping by hash what was done.
//!
//! Network trouble is met by the client's own reconnects and, past them, by waiting and trying
//! again here, without end, until the stop flag is set. Errors that waiting cannot mend (the
//! password, the certificate, the folder, the sink) end the watch. Setting the stop flag lets
//! the messages in hand finish, makes their records safe and returns.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::email::sources::imap::{
    sha256_hex, to_message, Backoff, Cursor, Fetched, ImapConfig, ImapError, ImapMailbox, ImapUrl,
    Mailbox, Resume,
};
use crate::email::Message;

use super::engine::Engine;
use super::PipelineError;

pub mod marks;
mod metrics;
mod sink;

pub use marks::{MarkOptions, Marks};
pub use metrics::{WatchCounts, WatchStats};
pub use sink::Sink;

use sink::Out;

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Messages fetched and triaged per step; their records are made safe together.
    pub batch: usize,
    /// How long one IDLE lasts before it is renewed (under 29 minutes).
    pub idle: Duration,
    /// Time between polls where the server has no IDLE.
    pub poll: Duration,
    /// Keywords and junk moves.
    pub marks: MarkOptions,
    /// Delays between attempts while the server stays unreachable after the client's own
    /// retries.
    pub retry: Backoff,
    /// Set it to stop: the messages in hand finish, then [`watch`] returns.
    pub stop: Arc<AtomicBool>,
    /// The counters, for the caller to show.
    pub stats: Arc<WatchStats>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            batch: 16,
            idle: Duration::from_secs(300),
            poll: Duration::from_secs(10),
            marks: MarkOptions::default(),
            retry: Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(60),
                attempts: u32::MAX,
            },
            stop: Arc::new(AtomicBool::new(false)),
            stats: Arc::new(WatchStats::default()),
        }
    }
}

/// Watch the folder of `config.url` until `opts.stop` is set, writing records to `sink`:
/// [`Watch::open`] then [`Watch::run`].
pub fn watch(
    engine: &Engine,
    config: ImapConfig,
    sink: Sink<'_>,
    opts: &WatchOptions,
) -> Result<WatchCounts, PipelineError> {
    Watch::open(config, sink, opts)?.run(engine)
}

/// A watch, opened: logged in, the folder selected, the position read.
pub struct Watch<'a> {
    mailbox: ImapMailbox,
    url: ImapUrl,
    key: String,
    out: Out<'a>,
    /// The position (`None` until the folder is first opened).
    cursor: Option<Cursor>,
    /// After a renumbering (file sink): the hashes of the messages done before it.
    known: HashSet<String>,
    /// Where the next fetch starts: the position, or below it while marks are finished.
    fetch_from: u32,
    /// The folder must be selected again (after a renumbering).
    reopen: bool,
    opts: &'a WatchOptions,
}

impl std::fmt::Debug for Watch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("url", &self.url)
            .field(
                "position",
                &self.cursor.as_ref().map(|c| (c.uidvalidity, c.last_uid)),
            )
            .finish_non_exhaustive()
    }
}

impl<'a> Watch<'a> {
    /// Connect, check the junk folder, open the sink and select the folder. Fails at once
    /// when the server cannot be logged into, its certificate is not trusted, the folder (or
    /// the junk folder) does not exist, or keywords are asked for where the server allows
    /// none: before any model needs loading.
    pub fn open(
        config: ImapConfig,
        sink: Sink<'a>,
        opts: &'a WatchOptions,
    ) -> Result<Watch<'a>, PipelineError> {
        let url = config.url.clone();
        let key = url.position_key();
        let mut mailbox = ImapMailbox::connect(config)?;
        mailbox.stop_on(Arc::clone(&opts.stop));
        if let Some(junk) = &opts.marks.move_junk {
            if *junk == url.folder {
                return Err(PipelineError::Watch(format!(
                    "the junk folder {junk:?} is the folder watched"
                )));
            }
            mailbox.check_folder(junk)?;
        }
        let (out, torn) = Out::open(sink, &key)?;
        if torn > 0 {
            tracing::warn!(
                bytes = torn,
                "watch: cut a torn last record; it will be redone"
            );
        }
        let mut w = Watch {
            mailbox,
            url,
            key,
            out,
            cursor: None,
            known: HashSet::new(),
            fetch_from: 0,
            reopen: false,
            opts,
        };
        w.open_folder()?;
        Ok(w)
    }

    /// Whether the server offers IDLE (else the folder is polled).
    pub fn has_idle(&self) -> bool {
        self.mailbox.has_idle()
    }

    /// Triage new mail with `engine` until the stop flag is set; the counts at the end.
    pub fn run(self, engine: &Engine) -> Result<WatchCounts, PipelineError> {
        self.run_with(Some(engine))
    }

    /// Queue new mail for workers (a watch opened on [`Sink::Queue`]) until the stop flag is
    /// set; the counts at the end. No model is needed.
    pub fn run_queued(self) -> Result<WatchCounts, PipelineError> {
        if !self.out.queues() {
            return Err(PipelineError::Output(std::io::Error::other(
                "only a watch into the job queue runs without an engine",
            )));
        }
        self.run_with(None)
    }

    fn run_with(mut self, engine: Option<&Engine>) -> Result<WatchCounts, PipelineError> {
        let mut attempt = 0u32;
        while !self.opts.stop.load(Ordering::Relaxed) {
            let result = if self.reopen {
                self.open_folder()
            } else {
                match self.step(engine) {
                    Ok(true) => Ok(()),
                    Ok(false) => self.wait(),
                    Err(e) => Err(e),
                }
            };
            self.note_reconnects();
            match result {
                Ok(()) => attempt = 0,
                Err(e) => {
                    self.recover(e, attempt)?;
                    attempt = attempt.saturating_add(1);
                }
            }
        }
        self.mailbox.logout();
        Ok(self.opts.stats.counts())
    }
}

/// One fetched message, as a step sees it.
struct Entry {
    uid: u32,
    id: String,
    sha: Option<String>,
    /// The message to triage; `None` when it is not triaged again (done before a
    /// renumbering, or below the position and read only to finish its marks).
    message: Option<Message>,
    /// Done before a renumbering: it has its marks already.
    renumbered: bool,
}

impl Watch<'_> {
    fn stats(&self) -> &WatchStats {
        &self.opts.stats
    }

    fn cursor(&self) -> Result<&Cursor, PipelineError> {
        self.cursor
            .as_ref()
            .ok_or(PipelineError::Mailbox(ImapError::NotSelected))
    }

    /// Select the folder and decide where to continue: from the saved position at the
    /// start, from the one in hand after a renumbering.
    fn open_folder(&mut self) -> Result<(), PipelineError> {
        let sel = self.mailbox.select(&self.url.folder)?;
        if self.opts.marks.keywords && !sel.keywords_allowed {
            return Err(PipelineError::Watch(format!(
                "the server does not let clients create keywords in {:?} (no \\* in \
                 PERMANENTFLAGS); run without --flag-keywords or ask its administrator",
                self.url.folder
            )));
        }
        let stored = match self.cursor.take() {
            Some(c) => Some(c),
            None => self.out.load(&self.key)?,
        };
        let (mut cursor, resume) = Cursor::resume(stored, &self.key, &sel);
        let folder = self.url.folder_url();
        match resume {
            Resume::Fresh => {
                tracing::info!(%folder, "watch: reading the folder from its first message")
            }
            Resume::Continue { after } => {
                tracing::info!(%folder, after, "watch: continuing after the last UID done")
            }
            Resume::Renumbered { old, new } => {
                tracing::warn!(
                    %folder, old, new,
                    "watch: the folder's UIDVALIDITY changed (UIDs renumbered); reading it \
                     again, skipping by message hash what was done"
                );
                WatchStats::add(&self.stats().renumberings, 1);
                self.out.save(&cursor)?;
            }
        }
        if cursor.hash_check_below.is_some() {
            self.known = self.out.known_hashes()?;
        }
        if self.opts.marks.any() && cursor.marked_through.is_none() {
            // Marks asked for the first time: for the mail from now on.
            cursor.marked_through = Some(cursor.last_uid);
        }
        self.fetch_from = match (self.opts.marks.any(), cursor.marked_through) {
            (true, Some(m)) => m.min(cursor.last_uid),
            _ => cursor.last_uid,
        };
        let prefix = id_prefix(&self.url, cursor.uidvalidity);
        self.out.prune(&prefix, cursor.last_uid);
        let stats = self.stats();
        stats.saw_uid(sel.uidnext.saturating_sub(1));
        stats
            .done_uid
            .store(u64::from(cursor.last_uid), Ordering::Relaxed);
        stats
            .idle
            .store(u64::from(self.mailbox.has_idle()), Ordering::Relaxed);
        self.cursor = Some(cursor);
        self.reopen = false;
        Ok(())
    }

    /// Fetch, triage, make safe and mark one batch; `false` when there was nothing to fetch.
    fn step(&mut self, engine: Option<&Engine>) -> Result<bool, PipelineError> {
        let batch = self.opts.batch.max(1);
        let fetched = self.mailbox.fetch_since(self.fetch_from, batch)?;
        if fetched.is_empty() {
            return Ok(false);
        }
        for f in &fetched {
            self.stats().saw_uid(f.uid);
        }
        if fetched.len() == batch {
            if let Some(newest) = self.mailbox.newest_uid()? {
                self.stats().saw_uid(newest);
            }
        }
        let mut entries = self.entries(fetched)?;
        let (through, marks) = self.triage(engine, &mut entries)?;
        if self.opts.marks.any() {
            self.mark(&entries, through, marks)?;
        }
        self.fetch_from = self.fetch_from.max(through);
        Ok(true)
    }

    /// The fetched messages as entries: which to triage, which were done before.
    fn entries(&self, fetched: Vec<Fetched>) -> Result<Vec<Entry>, PipelineError> {
        let cursor = self.cursor()?;
        let uidvalidity = cursor.uidvalidity;
        let mut out = Vec::with_capacity(fetched.len());
        for f in fetched {
            let sha = f.content.as_ref().ok().map(|r| sha256_hex(r));
            let renumbered = f
                .content
                .as_ref()
                .is_ok_and(|raw| cursor.skip(f.uid, raw, &self.known));
            let again = f.uid <= cursor.last_uid;
            if renumbered {
                WatchStats::add(&self.stats().skipped, 1);
            } else if !again {
                WatchStats::add(&self.stats().seen, 1);
            }
            let (uid, id) = (f.uid, self.url.message_id(uidvalidity, f.uid));
            let message = (!renumbered && !again).then(|| to_message(&self.url, uidvalidity, f));
            out.push(Entry {
                uid,
                id,
                sha,
                message,
                renumbered,
            });
        }
        Ok(out)
    }

    /// Triage the entries' messages until the stop flag is set, make their records safe and
    /// move the position. Returns the highest UID passed and the marks of the new records.
    fn triage(
        &mut self,
        engine: Option<&Engine>,
        entries: &mut [Entry],
    ) -> Result<(u32, HashMap<u32, Marks>), PipelineError> {
        let opts = self.opts;
        let stop = &opts.stop;
        let through = Cell::new(self.fetch_from);
        let last_fed = Cell::new(0u32);
        let mut queue = entries.iter_mut();
        let feed = std::iter::from_fn(|| loop {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            let e = queue.next()?;
            through.set(e.uid);
            if let Some(m) = e.message.take() {
                last_fed.set(e.uid);
                return Some(m);
            }
        });
        let mut marks = HashMap::new();
        let want_marks = opts.marks.any();
        let mut cursor = self.cursor()?.clone();
        let written = self.out.write(engine, feed, &cursor, |out| {
            if want_marks {
                let index = match out {
                    super::Output::Record(r) => r.source.index,
                    super::Output::Error(e) => e.source.index,
                };
                let uid = index.and_then(|i| u32::try_from(i).ok()).unwrap_or(0);
                marks.insert(
                    uid,
                    Marks::of(&serde_json::to_value(out).unwrap_or_default()),
                );
            }
        })?;
        let through = through.get();
        cursor.advance(through);
        if matches!(self.out, Out::File { .. }) || through > last_fed.get() {
            self.out.save(&cursor)?;
        }
        let stats = self.stats();
        WatchStats::add(&stats.triaged, written.triaged);
        WatchStats::add(&stats.queued, written.queued);
        WatchStats::add(&stats.failed, written.failed);
        WatchStats::add(&stats.skipped, written.skipped);
        stats
            .done_uid
            .store(u64::from(cursor.last_uid), Ordering::Relaxed);
        tracing::debug!(
            through,
            triaged = written.triaged,
            queued = written.queued,
            failed = written.failed,
            skipped = written.skipped,
            "watch: records safe"
        );
        self.cursor = Some(cursor);
        Ok((through, marks))
    }

    /// Set the marks of the entries above the marks position up to `through`: from `fresh`
    /// (just triaged), else from the records written before; then save the marks position.
    fn mark(
        &mut self,
        entries: &[Entry],
        through: u32,
        fresh: HashMap<u32, Marks>,
    ) -> Result<(), PipelineError> {
        let mut cursor = self.cursor()?.clone();
        let from = cursor.marked_through.unwrap_or(0);
        let pending: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.uid > from && e.uid <= through && !e.renumbered)
            .collect();
        let wanted: Vec<(String, String)> = pending
            .iter()
            .filter(|e| !fresh.contains_key(&e.uid) && e.sha.is_some())
            .map(|e| (e.id.clone(), e.sha.clone().unwrap_or_default()))
            .collect();
        let earlier = self.out.records(&wanted)?;
        for e in pending {
            let m = match (fresh.get(&e.uid), &e.sha) {
                (Some(m), _) => m.clone(),
                // Not fetched whole (too large): its record is an error record.
                (None, None) => Marks::of(&serde_json::json!({"error": {}})),
                (None, Some(_)) => match earlier.get(&e.id) {
                    Some(record) => Marks::of(record),
                    None => continue,
                },
            };
            let done = marks::apply(&mut self.mailbox, e.uid, &m, &self.opts.marks)?;
            WatchStats::add(&self.stats().keyworded, u64::from(done.keyworded));
            WatchStats::add(&self.stats().moved, u64::from(done.moved));
        }
        if through > from {
            cursor.marked_through = Some(through);
            self.out.save_marks(&cursor)?;
        }
        self.cursor = Some(cursor);
        Ok(())
    }

    /// Wait for news: IDLE, or a poll interval.
    fn wait(&mut self) -> Result<(), PipelineError> {
        let idle = self.mailbox.has_idle();
        self.stats().idle.store(u64::from(idle), Ordering::Relaxed);
        let t = if idle { self.opts.idle } else { self.opts.poll };
        self.mailbox.idle_or_poll(t)?;
        Ok(())
    }

    fn note_reconnects(&self) {
        let n = self.mailbox.stats().reconnects;
        self.stats().reconnects.fetch_max(n, Ordering::Relaxed);
    }

    /// After a failed step or wait: open the folder again after a renumbering, wait and go on
    /// after network trouble, give up on anything else.
    fn recover(&mut self, e: PipelineError, attempt: u32) -> Result<(), PipelineError> {
        match e {
            PipelineError::Mailbox(
                ImapError::UidValidityChanged { .. } | ImapError::NotSelected,
            ) => {
                self.reopen = true;
                Ok(())
            }
            PipelineError::Mailbox(e) if e.is_transient() => {
                if attempt >= self.opts.retry.attempts {
                    return Err(PipelineError::Mailbox(e));
                }
                let delay = self.opts.retry.delay(attempt);
                tracing::warn!(error = %e, ?delay, "watch: the mail server is unreachable; waiting");
                let until = std::time::Instant::now() + delay;
                while std::time::Instant::now() < until && !self.opts.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                // The client reconnects on its next call and selects the folder again.
                Ok(())
            }
            other => Err(other),
        }
    }
}

/// The id of message `uid` without the UID: `imaps://HOST:PORT/FOLDER;UIDVALIDITY=V/;UID=`.
fn id_prefix(url: &ImapUrl, uidvalidity: u32) -> String {
    let id = url.message_id(uidvalidity, 0);
    id.strip_suffix('0').unwrap_or(&id).to_string()
}
