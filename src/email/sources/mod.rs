//! Where messages come from: a single `.eml`, a folder of them (recursive), mbox (mboxo and
//! mboxrd), Maildir (`cur/`, `new/`), JSON lines, `-` for stdin, or an IMAP folder ([`imap`]).
//!
//! [`read_inputs`] streams: files are opened one at a time and mbox / JSON lines are read
//! message by message, so a 2 GB mbox is never held in memory at once. Every message gets a
//! stable id and its [`Provenance`]; a message that cannot be read is an item with an error,
//! never the end of the stream.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{parse_with, Email, EmailError, Limits};

pub mod imap;
mod jsonl;
mod mbox;

/// What kind of source a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// One message per file.
    Eml,
    /// An mbox file (mboxo or mboxrd).
    Mbox,
    /// A file in a Maildir `cur/` or `new/` folder.
    Maildir,
    /// A JSON lines file (or stream).
    Jsonl,
    /// A message in an IMAP folder (`index` is its UID).
    Imap,
}

/// Where a message came from, precisely enough to find it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// The file path as given or found while walking a folder; `-` for stdin.
    pub path: String,
    /// The kind of source.
    pub kind: SourceKind,
    /// The 0-based position of the message in an mbox or JSON lines file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// The byte offset where the message (or its JSON line) starts in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// What a source holds for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Raw RFC 822 bytes.
    Raw(Vec<u8>),
    /// A message given as fields (JSON lines `{"from","subject","body"}`).
    Parts {
        /// The sender, `Name <addr>` or a bare address.
        from: Option<String>,
        /// The subject.
        subject: Option<String>,
        /// The body text.
        body: String,
    },
}

/// One message from a source: its id, where it came from, and its content or why it could not
/// be read.
#[derive(Debug)]
pub struct Message {
    /// Stable id: the Message-ID (or the JSON line's `id`) when present and not already used in
    /// this run, else `path` (single files) or `path#index` (mbox, JSON lines).
    pub id: String,
    /// Where it came from.
    pub provenance: Provenance,
    /// The content, or why it could not be read.
    pub content: Result<Content, EmailError>,
}

impl Message {
    /// Parse the content into an [`Email`] under `limits`.
    pub fn parse(&self, limits: &Limits) -> Result<Email, EmailError> {
        match &self.content {
            Ok(Content::Raw(raw)) => parse_with(raw, limits),
            Ok(Content::Parts {
                from,
                subject,
                body,
            }) => Ok(Email::from_parts(from.as_deref(), subject.as_deref(), body)),
            Err(e) => Err(clone_error(e)),
        }
    }

    /// Size of the content in bytes (0 when it could not be read).
    pub fn size(&self) -> usize {
        match &self.content {
            Ok(Content::Raw(r)) => r.len(),
            Ok(Content::Parts {
                from,
                subject,
                body,
            }) => {
                body.len()
                    + from.as_ref().map_or(0, String::len)
                    + subject.as_ref().map_or(0, String::len)
            }
            Err(_) => 0,
        }
    }
}

/// Errors hold `io::Error`, which is not `Clone`; rebuild an equivalent one.
fn clone_error(e: &EmailError) -> EmailError {
    match e {
        EmailError::TooLarge { size, limit } => EmailError::TooLarge {
            size: *size,
            limit: *limit,
        },
        EmailError::TooDeep { depth, limit } => EmailError::TooDeep {
            depth: *depth,
            limit: *limit,
        },
        EmailError::TooManyParts { parts, limit } => EmailError::TooManyParts {
            parts: *parts,
            limit: *limit,
        },
        EmailError::NotAMessage { reason } => EmailError::NotAMessage { reason },
        EmailError::ParserFailed => EmailError::ParserFailed,
        EmailError::Read { path, source } => EmailError::Read {
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        EmailError::Json { source } => EmailError::Json {
            source: serde_json::Error::io(std::io::Error::other(source.to_string())),
        },
        EmailError::JsonShape => EmailError::JsonShape,
    }
}

/// How sources are read.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Caps; `max_size` applies while reading, so an oversized message is never held whole.
    pub limits: Limits,
}

/// Read one file whole, refusing it when larger than the default size cap. For labels files
/// whose `path` column names single `.eml` files.
pub fn read_file(path: &Path) -> Result<Vec<u8>, EmailError> {
    read_capped(path, super::DEFAULT_MAX_SIZE)
}

fn read_capped(path: &Path, max: usize) -> Result<Vec<u8>, EmailError> {
    let err = |source| EmailError::Read {
        path: path.display().to_string(),
        source,
    };
    let file = File::open(path).map_err(err)?;
    let len = file.metadata().map_err(err)?.len();
    if len > max as u64 {
        return Err(EmailError::TooLarge {
            size: len,
            limit: max as u64,
        });
    }
    let mut buf = Vec::with_capacity(len as usize);
    file.take(max as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(err)?;
    if buf.len() > max {
        return Err(EmailError::TooLarge {
            size: buf.len() as u64,
            limit: max as u64,
        });
    }
    Ok(buf)
}

/// Stream every message from `inputs` (files, folders, `-` for stdin) in a stable order:
/// inputs as given, folders walked in name order.
pub fn read_inputs(inputs: &[PathBuf], opts: &SourceOptions) -> Inputs {
    Inputs {
        queue: inputs.iter().cloned().collect(),
        current: None,
        seen: HashSet::new(),
        limits: opts.limits,
    }
}

/// A message as a reader yields it, before the id is settled.
pub(crate) struct Item {
    provenance: Provenance,
    content: Result<Content, EmailError>,
    /// The id the content proposes (Message-ID or JSON `id`).
    proposed_id: Option<String>,
}

/// A reader of one file or stream that yields messages.
type Reader = Box<dyn Iterator<Item = Item> + Send>;

/// The iterator returned by [`read_inputs`].
pub struct Inputs {
    queue: VecDeque<PathBuf>,
    current: Option<Reader>,
    seen: HashSet<String>,
    limits: Limits,
}

impl Iterator for Inputs {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        loop {
            if let Some(reader) = self.current.as_mut() {
                if let Some(item) = reader.next() {
                    return Some(self.settle(item));
                }
                self.current = None;
            }
            let path = self.queue.pop_front()?;
            match self.open(&path) {
                Ok(Some(reader)) => self.current = Some(reader),
                Ok(None) => {}
                Err(e) => {
                    let item = Item {
                        provenance: Provenance {
                            path: path.display().to_string(),
                            kind: SourceKind::Eml,
                            index: None,
                            offset: None,
                        },
                        content: Err(e),
                        proposed_id: None,
                    };
                    return Some(self.settle(item));
                }
            }
        }
    }
}

impl Inputs {
    /// Give the item its id: the proposed one when unused so far, else its path (and index).
    fn settle(&mut self, item: Item) -> Message {
        let id = match item.proposed_id {
            Some(id) if !self.seen.contains(&id) => id,
            _ => {
                let p = &item.provenance;
                let base = match p.index {
                    Some(i) => format!("{}#{}", p.path, i),
                    None => p.path.clone(),
                };
                let mut id = base.clone();
                let mut k = 1;
                while self.seen.contains(&id) {
                    k += 1;
                    id = format!("{base}~{k}");
                }
                id
            }
        };
        self.seen.insert(id.clone());
        Message {
            id,
            provenance: item.provenance,
            content: item.content,
        }
    }

    /// Open one input: expand a folder into the queue (returns `None`), or make a reader.
    fn open(&mut self, path: &Path) -> Result<Option<Reader>, EmailError> {
        let read_err = |source| EmailError::Read {
            path: path.display().to_string(),
            source,
        };
        if path.as_os_str() == "-" {
            let stdin = BufReader::with_capacity(1 << 16, std::io::stdin());
            return Ok(Some(stream_reader(
                Box::new(stdin),
                "-".into(),
                self.limits,
            )));
        }
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files).map_err(read_err)?;
            for f in files.into_iter().rev() {
                self.queue.push_front(f);
            }
            return Ok(None);
        }
        let display = path.display().to_string();
        let file = File::open(path).map_err(read_err)?;
        let len = meta.len();
        let mut buf = BufReader::with_capacity(1 << 16, file);
        let head = buf.fill_buf().map_err(read_err)?;
        let kind = sniff(path, head);
        Ok(Some(match kind {
            SourceKind::Mbox => {
                Box::new(mbox::MboxReader::new(Box::new(buf), display, self.limits))
            }
            SourceKind::Jsonl => {
                Box::new(jsonl::JsonlReader::new(Box::new(buf), display, self.limits))
            }
            kind => {
                let max = self.limits.max_size;
                let content = if len > max as u64 {
                    Err(EmailError::TooLarge {
                        size: len,
                        limit: max as u64,
                    })
                } else {
                    read_rest(buf, len as usize, max)
                        .map_err(read_err)
                        // The file may have grown since its size was read.
                        .and_then(|raw| capped(raw, max))
                };
                Box::new(std::iter::once(single_item(display, kind, content)))
            }
        }))
    }
}

/// Read what is left of `input`, at most `max + 1` bytes (the caller checks the size).
fn read_rest(input: impl Read, hint: usize, max: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(hint.min(max) + 1);
    input.take(max as u64 + 1).read_to_end(&mut out)?;
    Ok(out)
}

/// `raw`, or `TooLarge` when it is over `max` bytes.
fn capped(raw: Vec<u8>, max: usize) -> Result<Vec<u8>, EmailError> {
    if raw.len() > max {
        Err(EmailError::TooLarge {
            size: raw.len() as u64,
            limit: max as u64,
        })
    } else {
        Ok(raw)
    }
}

/// A single-message item from raw bytes.
fn single_item(path: String, kind: SourceKind, content: Result<Vec<u8>, EmailError>) -> Item {
    let proposed_id = content.as_ref().ok().and_then(|r| scan_message_id(r));
    Item {
        provenance: Provenance {
            path,
            kind,
            index: None,
            offset: None,
        },
        content: content.map(Content::Raw),
        proposed_id,
    }
}

/// A reader for stdin: mbox when it starts with `From `, JSON lines when it starts with `{`,
/// else one message.
fn stream_reader(mut input: Box<dyn BufRead + Send>, path: String, limits: Limits) -> Reader {
    let head = match input.fill_buf() {
        Ok(h) => h,
        Err(source) => {
            return Box::new(std::iter::once(Item {
                provenance: Provenance {
                    path: path.clone(),
                    kind: SourceKind::Eml,
                    index: None,
                    offset: None,
                },
                content: Err(EmailError::Read { path, source }),
                proposed_id: None,
            }))
        }
    };
    match sniff(Path::new(""), head) {
        SourceKind::Mbox => Box::new(mbox::MboxReader::new(input, path, limits)),
        SourceKind::Jsonl => Box::new(jsonl::JsonlReader::new(input, path, limits)),
        kind => {
            let content = read_rest(input, 0, limits.max_size)
                .map_err(|source| EmailError::Read {
                    path: path.clone(),
                    source,
                })
                .and_then(|raw| capped(raw, limits.max_size));
            Box::new(std::iter::once(single_item(path, kind, content)))
        }
    }
}

/// Tell the kind of a file from its name and first bytes.
fn sniff(path: &Path, head: &[u8]) -> SourceKind {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if matches!(ext.as_deref(), Some("jsonl" | "ndjson")) {
        return SourceKind::Jsonl;
    }
    if matches!(ext.as_deref(), Some("mbox" | "mbx")) {
        return SourceKind::Mbox;
    }
    let trimmed = head.trim_ascii_start();
    if trimmed.starts_with(b"{") {
        return SourceKind::Jsonl;
    }
    if head.starts_with(b"From ") {
        return SourceKind::Mbox;
    }
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str());
    if matches!(parent, Some("cur" | "new")) {
        let grand = path.parent().and_then(Path::parent);
        if grand.is_some_and(|g| g.join("cur").is_dir() || g.join("new").is_dir()) {
            return SourceKind::Maildir;
        }
    }
    SourceKind::Eml
}

/// Extensions that are never mail; a folder walk skips them (labels, manifests, expected
/// outputs, images).
const NOT_MAIL: &[&str] = &[
    "csv", "json", "md", "toml", "yaml", "yml", "xml", "py", "rs", "sh", "js", "html", "htm",
    "png", "jpg", "jpeg", "gif", "pdf", "zip", "gz", "tar", "lock", "out",
];

/// Collect files under `dir`, sorted by name, skipping hidden entries, Maildir `tmp/` folders
/// and files that are never mail.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    let is_maildir = dir.join("cur").is_dir() || dir.join("new").is_dir();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        // Symlinks are followed by metadata(); a loop is cut by the depth of real paths only,
        // so skip symlinked folders.
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if is_maildir && name == "tmp" {
                continue;
            }
            walk(&p, out)?;
        } else if meta.is_file() || (meta.file_type().is_symlink() && p.is_file()) {
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            let upper = name.to_ascii_uppercase();
            if ext.as_deref().is_some_and(|e| NOT_MAIL.contains(&e))
                || upper.starts_with("README")
                || upper.starts_with("LICENSE")
                || upper.starts_with("SOURCE")
            {
                continue;
            }
            out.push(p);
        }
    }
    Ok(())
}

/// Find the Message-ID in the header block without a full parse; `None` when absent or empty.
pub(crate) fn scan_message_id(raw: &[u8]) -> Option<String> {
    let raw = &raw[..raw.len().min(256 * 1024)];
    let mut lines = raw.split(|&b| b == b'\n').peekable();
    let mut first = true;
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if first && line.starts_with(b"From ") {
            first = false;
            continue;
        }
        first = false;
        if line.is_empty() {
            return None;
        }
        if line.len() >= 11 && line[..11].eq_ignore_ascii_case(b"message-id:") {
            let mut value = line[11..].to_vec();
            while let Some(next) = lines.peek() {
                if next.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                    value.extend_from_slice(next);
                    lines.next();
                } else {
                    break;
                }
            }
            let value = String::from_utf8_lossy(&value);
            let value = value.trim();
            let id = match (value.find('<'), value.rfind('>')) {
                (Some(a), Some(b)) if a < b => &value[a + 1..b],
                _ => value,
            };
            let id = id.trim();
            return (!id.is_empty()).then(|| id.to_string());
        }
    }
    None
}

/// Read one line (newline included) from `input`, keeping at most `keep` of its bytes, so an
/// endless line never fills memory; returns (kept bytes, the line's full length), or `None` at
/// the end of the input.
fn read_capped_line(
    input: &mut dyn BufRead,
    keep: usize,
) -> std::io::Result<Option<(Vec<u8>, u64)>> {
    let mut bytes = Vec::new();
    let mut len = 0u64;
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok((len > 0).then_some((bytes, len)));
        }
        let (chunk, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let room = keep.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = chunk.len();
        len += n as u64;
        input.consume(n);
        if found {
            return Ok(Some((bytes, len)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_message_id() {
        assert_eq!(
            scan_message_id(b"From x\nSubject: a\nMessage-Id:\n <a@b>\n\nbody").as_deref(),
            Some("a@b")
        );
        assert_eq!(scan_message_id(b"Subject: a\n\nMessage-ID: <x@y>\n"), None);
        assert_eq!(scan_message_id(b"Message-ID: <>\n\n"), None);
    }

    #[test]
    fn sniffs_kinds() {
        assert_eq!(sniff(Path::new("a.eml"), b"From: x"), SourceKind::Eml);
        assert_eq!(sniff(Path::new("a"), b"From x@y Mon"), SourceKind::Mbox);
        assert_eq!(sniff(Path::new("a"), b"  {\"id\""), SourceKind::Jsonl);
        assert_eq!(sniff(Path::new("a.jsonl"), b""), SourceKind::Jsonl);
    }
}
