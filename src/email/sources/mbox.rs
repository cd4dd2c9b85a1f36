//! Streaming mbox reader (mboxo and mboxrd). One message is held at a time, and never more
//! than the size cap of it: past the cap the rest is skipped up to the next separator and the
//! message becomes a `TooLarge` error item.
//!
//! A separator is a line starting with `From ` that looks like `From sender date` (a token, then
//! a time such as `10:00`) and follows a blank line or the start of the file; lines quoted as
//! `>From ` (any number of `>`) lose one `>`, which reads mboxrd exactly and mboxo as well as
//! it can be read.

use std::io::BufRead;

use super::{scan_message_id, Content, Item, Provenance, SourceKind};
use crate::email::{EmailError, Limits};

pub(super) struct MboxReader {
    input: Box<dyn BufRead + Send>,
    path: String,
    limits: Limits,
    index: u64,
    /// Bytes consumed so far.
    pos: u64,
    /// Where the next message (its separator line) starts.
    next_start: u64,
    at_start: bool,
    done: bool,
}

/// One line, of which at most `keep` bytes were kept.
struct Line {
    bytes: Vec<u8>,
    /// The whole line's length, newline included.
    len: u64,
}

impl MboxReader {
    pub(super) fn new(input: Box<dyn BufRead + Send>, path: String, limits: Limits) -> Self {
        MboxReader {
            input,
            path,
            limits,
            index: 0,
            pos: 0,
            next_start: 0,
            at_start: true,
            done: false,
        }
    }

    /// Read one line, keeping at most `keep` bytes of it; `None` at end of input.
    fn read_line(&mut self, keep: usize) -> std::io::Result<Option<Line>> {
        let line = super::read_capped_line(&mut self.input, keep)?;
        Ok(line.map(|(bytes, len)| {
            self.pos += len;
            Line { bytes, len }
        }))
    }

    fn item(&self, index: u64, offset: u64, content: Result<Content, EmailError>) -> Item {
        let proposed_id = match &content {
            Ok(Content::Raw(r)) => scan_message_id(r),
            _ => None,
        };
        Item {
            provenance: Provenance {
                path: self.path.clone(),
                kind: SourceKind::Mbox,
                index: Some(index),
                offset: Some(offset),
            },
            content,
            proposed_id,
        }
    }
}

/// Does this line look like an mbox separator (`From sender Mon Jan  1 10:00:00 2024`)?
fn is_separator(line: &[u8], prev_blank: bool) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let rest = rest.trim_ascii();
    let Some(sp) = rest.iter().position(|&b| b == b' ' || b == b'\t') else {
        return false;
    };
    let date = &rest[sp..];
    let has_time = date
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && w[1] == b':' && w[2].is_ascii_digit());
    if !has_time {
        return false;
    }
    if prev_blank {
        return true;
    }
    // Without a blank line before it, accept only the asctime form with a weekday.
    let date = date.trim_ascii_start();
    ["Mon ", "Tue ", "Wed ", "Thu ", "Fri ", "Sat ", "Sun "]
        .iter()
        .any(|d| date.starts_with(d.as_bytes()))
}

impl Iterator for MboxReader {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        let max = self.limits.max_size;
        let start = self.next_start;
        let index = self.index;
        let mut msg: Vec<u8> = Vec::new();
        let mut size = 0u64;
        let mut oversize = false;
        let mut prev_blank = true;
        let mut read_any = false;
        loop {
            // Keep enough of every line to recognise a separator, and all of it while the
            // message is under the cap.
            let keep = if oversize {
                256
            } else {
                (max + 1).saturating_sub(msg.len()).max(256)
            };
            let line = match self.read_line(keep) {
                Ok(l) => l,
                Err(source) => {
                    self.done = true;
                    let e = EmailError::Read {
                        path: self.path.clone(),
                        source,
                    };
                    self.index += 1;
                    return Some(self.item(index, start, Err(e)));
                }
            };
            let Some(line) = line else {
                self.done = true;
                break;
            };
            read_any = true;
            let first = self.at_start;
            self.at_start = false;
            if is_separator(&line.bytes, prev_blank) {
                if first {
                    // The separator of this very message.
                    continue;
                }
                self.next_start = self.pos - line.len;
                break;
            }
            let content = line.bytes.strip_suffix(b"\n").unwrap_or(&line.bytes);
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            prev_blank = content.is_empty();
            size += line.len;
            if oversize {
                continue;
            }
            if size > max as u64 {
                oversize = true;
                msg = Vec::new();
                continue;
            }
            // mboxrd / mboxo: `>From ` (with one or more `>`) loses one `>`.
            let unquoted = {
                let gts = content.iter().take_while(|&&b| b == b'>').count();
                gts > 0 && content[gts..].starts_with(b"From ")
            };
            if unquoted {
                msg.extend_from_slice(&line.bytes[1..]);
            } else {
                msg.extend_from_slice(&line.bytes);
            }
        }
        self.index += 1;
        if oversize {
            return Some(self.item(
                index,
                start,
                Err(EmailError::TooLarge {
                    size,
                    limit: max as u64,
                }),
            ));
        }
        // The blank line before the next separator belongs to the mbox format.
        if msg.ends_with(b"\r\n\r\n") {
            msg.truncate(msg.len() - 2);
        } else if msg.ends_with(b"\n\n") {
            msg.truncate(msg.len() - 1);
        }
        // End of input with nothing read, or only blank lines after the last message.
        if self.done && msg.iter().all(u8::is_ascii_whitespace) && (index > 0 || !read_any) {
            return None;
        }
        Some(self.item(index, start, Ok(Content::Raw(msg))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(data: &[u8], max: usize) -> Vec<Item> {
        let limits = Limits {
            max_size: max,
            ..Limits::default()
        };
        MboxReader::new(
            Box::new(std::io::Cursor::new(data.to_vec())),
            "m".into(),
            limits,
        )
        .collect()
    }

    fn raw(i: &Item) -> &[u8] {
        match &i.content {
            Ok(Content::Raw(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn splits_and_unquotes() {
        let data = b"From a@b Mon Jan  1 10:00:00 2024\nSubject: one\n\n>From here\n>>From there\nFrom the start\n\nFrom c@d Tue Jan  2 10:00:00 2024\nMessage-ID: <x@y>\n\ntwo\n";
        let items = read(data, 1000);
        assert_eq!(items.len(), 2);
        assert_eq!(
            raw(&items[0]),
            b"Subject: one\n\nFrom here\n>From there\nFrom the start\n"
        );
        assert_eq!(raw(&items[1]), b"Message-ID: <x@y>\n\ntwo\n");
        assert_eq!(items[1].proposed_id.as_deref(), Some("x@y"));
        assert_eq!(items[1].provenance.offset, Some(88));
        assert_eq!(items[1].provenance.index, Some(1));
    }

    #[test]
    fn oversize_message_is_an_error_and_the_next_one_reads() {
        let mut data = b"From a@b Mon Jan  1 10:00:00 2024\nSubject: big\n\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 5000));
        data.extend_from_slice(b"\n\nFrom c@d Tue Jan  2 10:00:00 2024\nSubject: small\n\nok\n");
        let items = read(&data, 1000);
        assert_eq!(items.len(), 2);
        assert!(matches!(items[0].content, Err(EmailError::TooLarge { .. })));
        assert_eq!(raw(&items[1]), b"Subject: small\n\nok\n");
    }

    #[test]
    fn empty_input_has_no_messages() {
        assert!(read(b"", 100).is_empty());
        assert_eq!(read(b"From a@b Mon Jan  1 10:00:00 2024\n", 100).len(), 1);
    }
}
