//! The position in a folder: UIDVALIDITY and the highest UID done, and the rule when the
//! server renumbers.
//!
//! A UID names a message only together with the folder's UIDVALIDITY. While UIDVALIDITY stays,
//! work continues after the highest UID done. When it changes (the server rebuilt its index,
//! the folder was recreated), every UID may name another message: the change is reported
//! ([`Resume::Renumbered`]), the folder is read again from the start, and each message that was
//! already in the folder when the change was seen is skipped when its SHA-256 is among those
//! already done, instead of reprocessing everything blindly or trusting UIDs that no longer
//! mean anything. The cursor is saved by the caller only after the records are safe; saving is
//! atomic (write, fsync, rename).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Selection;

/// Where work stands in one folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The folder (`imaps://HOST:PORT/FOLDER`, no user), so a cursor is never applied to
    /// another folder.
    pub folder: String,
    /// The UIDVALIDITY the UIDs belong to.
    pub uidvalidity: u32,
    /// The highest UID done (0: none).
    pub last_uid: u32,
    /// After a renumbering: messages with a UID below this were in the folder when the change
    /// was seen, and are checked by hash before they are processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_check_below: Option<u32>,
    /// A watcher that sets keywords or moves junk: the highest UID whose marks are done (they
    /// are made after the records are safe, so this may trail `last_uid` after a crash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marked_through: Option<u32>,
}

/// What to do on (re)opening a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// No cursor yet: from the first message.
    Fresh,
    /// Same UIDVALIDITY: after UID `after`.
    Continue {
        /// The highest UID done.
        after: u32,
    },
    /// UIDVALIDITY changed: report it; read from the start, skipping known hashes.
    Renumbered {
        /// UIDVALIDITY in the cursor.
        old: u32,
        /// UIDVALIDITY now.
        new: u32,
    },
}

/// Why a cursor file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CursorError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a cursor.
    #[error("{path}: not a mailroom IMAP cursor: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The cursor belongs to another folder.
    #[error("{path} is the position in {found}, not in {wanted}")]
    OtherFolder {
        /// The file.
        path: PathBuf,
        /// The folder it names.
        found: String,
        /// The folder being read.
        wanted: String,
    },
}

impl Cursor {
    /// Decide where to start in `folder` given the stored cursor (if any) and what SELECT
    /// said; returns the cursor to carry on with and the decision to report.
    pub fn resume(stored: Option<Cursor>, folder: &str, sel: &Selection) -> (Cursor, Resume) {
        let fresh = |hash_check_below| Cursor {
            folder: folder.to_string(),
            uidvalidity: sel.uidvalidity,
            last_uid: 0,
            hash_check_below,
            marked_through: None,
        };
        match stored {
            None => (fresh(None), Resume::Fresh),
            Some(c) if c.uidvalidity == sel.uidvalidity => {
                let after = c.last_uid;
                (c, Resume::Continue { after })
            }
            Some(c) => (
                fresh(Some(sel.uidnext)),
                Resume::Renumbered {
                    old: c.uidvalidity,
                    new: sel.uidvalidity,
                },
            ),
        }
    }

    /// Mark `uid` done (the cursor only moves forward).
    pub fn advance(&mut self, uid: u32) {
        self.last_uid = self.last_uid.max(uid);
    }

    /// Whether message `uid` must be checked against known hashes before processing.
    pub fn needs_hash_check(&self, uid: u32) -> bool {
        self.hash_check_below.is_some_and(|b| uid < b)
    }

    /// Whether a message should be skipped: it was in the folder before a renumbering and its
    /// hash is among those already done.
    pub fn skip(&self, uid: u32, raw: &[u8], known: &HashSet<String>) -> bool {
        self.needs_hash_check(uid) && known.contains(&sha256_hex(raw))
    }

    /// The usual place for the cursor of an output file: `FILE.imap-cursor.json`.
    pub fn path_beside(out: &Path) -> PathBuf {
        let mut name = out.as_os_str().to_owned();
        name.push(".imap-cursor.json");
        PathBuf::from(name)
    }

    /// Read the cursor at `path` for `folder`; `None` when there is no file.
    pub fn load(path: &Path, folder: &str) -> Result<Option<Cursor>, CursorError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CursorError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let c: Cursor = serde_json::from_str(&text).map_err(|source| CursorError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        if c.folder != folder {
            return Err(CursorError::OtherFolder {
                path: path.to_path_buf(),
                found: c.folder,
                wanted: folder.to_string(),
            });
        }
        Ok(Some(c))
    }

    /// Write the cursor to `path` atomically: a temporary file beside it, fsync, rename.
    pub fn save(&self, path: &Path) -> Result<(), CursorError> {
        let io = |source| CursorError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let json = serde_json::to_vec(self).map_err(|e| io(std::io::Error::other(e)))?;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

/// SHA-256 of the raw message, hex: the same as a triage record's `input_sha256`.
pub fn sha256_hex(raw: &[u8]) -> String {
    hex::encode(Sha256::digest(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(uidvalidity: u32, uidnext: u32) -> Selection {
        Selection {
            uidvalidity,
            uidnext,
            exists: 0,
            keywords_allowed: true,
        }
    }

    #[test]
    fn continues_while_uidvalidity_holds() {
        let (mut c, r) = Cursor::resume(None, "f", &sel(7, 10));
        assert_eq!(r, Resume::Fresh);
        c.advance(5);
        c.advance(3);
        assert_eq!(c.last_uid, 5);
        let (c2, r) = Cursor::resume(Some(c.clone()), "f", &sel(7, 12));
        assert_eq!(r, Resume::Continue { after: 5 });
        assert_eq!(c2, c);
        assert!(!c2.needs_hash_check(1));
    }

    #[test]
    fn a_renumbering_is_reported_and_handled_by_hash() {
        let mut old = Cursor::resume(None, "f", &sel(7, 10)).0;
        old.advance(9);
        let (c, r) = Cursor::resume(Some(old), "f", &sel(8, 4));
        assert_eq!(r, Resume::Renumbered { old: 7, new: 8 });
        assert_eq!((c.uidvalidity, c.last_uid), (8, 0));
        let known: HashSet<String> = [sha256_hex(b"done before")].into();
        assert!(c.skip(1, b"done before", &known));
        assert!(!c.skip(2, b"never seen", &known));
        // Messages that arrived after the change are new whatever their hash.
        assert!(!c.skip(4, b"done before", &known));
    }

    #[test]
    fn saves_atomically_and_refuses_another_folders_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("results.jsonl");
        let p = Cursor::path_beside(&out);
        assert!(p
            .to_string_lossy()
            .ends_with("results.jsonl.imap-cursor.json"));
        assert_eq!(Cursor::load(&p, "f").unwrap(), None);
        let mut c = Cursor::resume(None, "imaps://h:993/INBOX", &sel(3, 1)).0;
        c.advance(41);
        c.save(&p).unwrap();
        c.advance(42);
        c.save(&p).unwrap();
        let back = Cursor::load(&p, "imaps://h:993/INBOX").unwrap().unwrap();
        assert_eq!(back.last_uid, 42);
        let e = Cursor::load(&p, "imaps://h:993/Other")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Other"), "{e}");
        std::fs::write(&p, "{").unwrap();
        assert!(matches!(
            Cursor::load(&p, "f"),
            Err(CursorError::Parse { .. })
        ));
    }
}
