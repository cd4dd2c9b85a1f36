//! Streaming JSON lines reader: `{"id", "raw"}` with a raw RFC 822 message, or
//! `{"id", "from", "subject", "body"}`. Blank lines are skipped; a line that does not decode is
//! an error item and reading goes on.

use std::io::BufRead;

use serde::Deserialize;

use super::{scan_message_id, Content, Item, Provenance, SourceKind};
use crate::email::{EmailError, Limits};

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    body: Option<String>,
}

pub(super) struct JsonlReader {
    input: Box<dyn BufRead + Send>,
    path: String,
    limits: Limits,
    index: u64,
    pos: u64,
    done: bool,
}

impl JsonlReader {
    pub(super) fn new(input: Box<dyn BufRead + Send>, path: String, limits: Limits) -> Self {
        JsonlReader {
            input,
            path,
            limits,
            index: 0,
            pos: 0,
            done: false,
        }
    }

    /// Read one line, keeping at most `keep` bytes; returns (kept bytes, full length).
    fn read_line(&mut self, keep: usize) -> std::io::Result<Option<(Vec<u8>, u64)>> {
        super::read_capped_line(&mut self.input, keep)
    }
}

impl Iterator for JsonlReader {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        // JSON escaping can double a raw message; allow for it before calling a line too large.
        let max_line = self
            .limits
            .max_size
            .saturating_mul(2)
            .saturating_add(64 * 1024);
        loop {
            if self.done {
                return None;
            }
            let offset = self.pos;
            let (line, len) = match self.read_line(max_line + 1) {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(source) => {
                    self.done = true;
                    let content = Err(EmailError::Read {
                        path: self.path.clone(),
                        source,
                    });
                    return Some(self.item(offset, content, None));
                }
            };
            self.pos += len;
            if line.trim_ascii().is_empty() {
                continue;
            }
            if len > max_line as u64 {
                let content = Err(EmailError::TooLarge {
                    size: len,
                    limit: max_line as u64,
                });
                return Some(self.item(offset, content, None));
            }
            let (content, id) = decode(&line, &self.limits);
            return Some(self.item(offset, content, id));
        }
    }
}

impl JsonlReader {
    fn item(
        &mut self,
        offset: u64,
        content: Result<Content, EmailError>,
        proposed_id: Option<String>,
    ) -> Item {
        let index = self.index;
        self.index += 1;
        Item {
            provenance: Provenance {
                path: self.path.clone(),
                kind: SourceKind::Jsonl,
                index: Some(index),
                offset: Some(offset),
            },
            content,
            proposed_id,
        }
    }
}

/// Decode one line into content and the id it proposes (its `id`, else the raw Message-ID).
fn decode(line: &[u8], limits: &Limits) -> (Result<Content, EmailError>, Option<String>) {
    let rec: Record = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(source) => {
            // Even a broken line may carry a usable id for the error record.
            let id = serde_json::from_slice::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("id").and_then(id_string));
            return (Err(EmailError::Json { source }), id);
        }
    };
    let id = rec.id.as_ref().and_then(id_string);
    if let Some(raw) = rec.raw {
        if raw.len() > limits.max_size {
            let e = EmailError::TooLarge {
                size: raw.len() as u64,
                limit: limits.max_size as u64,
            };
            return (Err(e), id);
        }
        let id = id.or_else(|| scan_message_id(raw.as_bytes()));
        return (Ok(Content::Raw(raw.into_bytes())), id);
    }
    if rec.from.is_none() && rec.subject.is_none() && rec.body.is_none() {
        return (Err(EmailError::JsonShape), id);
    }
    let content = Content::Parts {
        from: rec.from,
        subject: rec.subject,
        body: rec.body.unwrap_or_default(),
    };
    (Ok(content), id)
}

fn id_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_shapes_and_errors() {
        let data = "{\"id\":\"a\",\"raw\":\"Subject: x\\n\\nhi\"}\n\n{\"id\":7,\"from\":\"x@y\",\"subject\":\"s\",\"body\":\"b\"}\nnot json\n{\"id\":\"z\"}\n";
        let items: Vec<_> = JsonlReader::new(
            Box::new(std::io::Cursor::new(data.as_bytes().to_vec())),
            "f".into(),
            Limits::default(),
        )
        .collect();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].proposed_id.as_deref(), Some("a"));
        assert!(matches!(items[0].content, Ok(Content::Raw(_))));
        assert_eq!(items[1].proposed_id.as_deref(), Some("7"));
        assert!(matches!(items[1].content, Ok(Content::Parts { .. })));
        assert!(matches!(items[2].content, Err(EmailError::Json { .. })));
        assert!(matches!(items[3].content, Err(EmailError::JsonShape)));
        assert_eq!(items[3].provenance.index, Some(3));
    }
}
