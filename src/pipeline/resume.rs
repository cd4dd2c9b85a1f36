//! `--out FILE --resume`: find the ids already written, and cut a torn last line left by a
//! killed run, so that every message ends up in the file exactly once.
//!
//! The writer writes each record as one `write` of a whole line and flushes it, so a killed run
//! leaves at most one incomplete line, at the end. That line (no newline, or not JSON) is cut
//! and its message done again.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// What resuming found in the output file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResumeState {
    /// Ids of the complete records already in the file.
    pub done: HashSet<String>,
    /// Bytes of a torn last line that were cut (0 when the file ended cleanly).
    pub torn_bytes: u64,
}

/// Open `path` for appending, after reading the ids it holds and cutting a torn last line.
/// A missing file is created empty.
pub fn open_for_resume(path: &Path) -> std::io::Result<(File, ResumeState)> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let mut state = ResumeState::default();
    let mut good_end = 0u64;
    let mut offset = 0u64;
    let mut reader = BufReader::new(&file);
    let mut line = Vec::new();
    let mut line_no = 0usize;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        offset += n as u64;
        let complete = line.last() == Some(&b'\n');
        let id = serde_json::from_slice::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(String::from));
        match (complete, id) {
            (true, Some(id)) => {
                state.done.insert(id);
                good_end = offset;
            }
            _ => {
                // Only the last line may be torn; anything else is not our file.
                let mut rest = Vec::new();
                std::io::Read::read_to_end(&mut reader, &mut rest)?;
                if !rest.is_empty() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "{}: line {line_no} is not a mailroom record; not resuming into it",
                            path.display()
                        ),
                    ));
                }
                break;
            }
        }
    }
    drop(reader);
    let len = file.metadata()?.len();
    if len > good_end {
        state.torn_bytes = len - good_end;
        file.set_len(good_end)?;
    }
    file.seek(SeekFrom::End(0))?;
    Ok((file, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_line_is_cut_and_ids_collected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.jsonl");
        std::fs::write(&p, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\",\"summ").unwrap();
        let (_f, st) = open_for_resume(&p).unwrap();
        assert_eq!(st.done, HashSet::from(["a".to_string(), "b".to_string()]));
        assert_eq!(st.torn_bytes, 15);
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"id\":\"a\"}\n{\"id\":\"b\"}\n"
        );
    }

    #[test]
    fn clean_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.jsonl");
        let (_f, st) = open_for_resume(&p).unwrap();
        assert!(st.done.is_empty() && p.exists());
        std::fs::write(&p, "{\"id\":\"a\"}\n").unwrap();
        let (_f, st) = open_for_resume(&p).unwrap();
        assert_eq!(st.torn_bytes, 0);
        assert_eq!(st.done.len(), 1);
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        std::fs::write(&p, "hello\nworld\n").unwrap();
        assert!(open_for_resume(&p).is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "hello\nworld\n");
    }
}
