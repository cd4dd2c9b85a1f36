//! Reference-summary corpora for `eval summaries`: AESLC-style lines
//! `{"id", "body", "subject"?, "references": [...]}` and BC3 threads
//! `{"listno", "name", "emails": [{"from", "subject", "text", ...}], "summaries": [{"summary"}]}`.
//! Bodies are cleaned as triage cleans them; a thread becomes one input with its messages in
//! order.

use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;

use crate::pipeline::document::clean_body;
use crate::pipeline::{SummaryInput, ThreadMessage};

use super::super::LearnError;

/// One item to summarise, with its references.
#[derive(Debug, Clone)]
pub struct Item {
    /// The item's id (AESLC `id`, BC3 `listno` or `name`, else `#line`).
    pub id: String,
    /// What the summariser sees (no subject: AESLC references are subject lines).
    pub input: SummaryInput,
    /// The body as written (for the lead baselines).
    pub raw_body: String,
    /// The original subject, when the corpus has one.
    pub subject: Option<String>,
    /// The human reference summaries.
    pub references: Vec<String>,
}

#[derive(Deserialize)]
struct AeslcLine {
    id: Option<String>,
    body: String,
    subject: Option<String>,
    references: Vec<String>,
}

#[derive(Deserialize)]
struct Bc3Email {
    from: Option<String>,
    subject: Option<String>,
    text: String,
}

#[derive(Deserialize)]
struct Bc3Summary {
    summary: String,
}

#[derive(Deserialize)]
struct Bc3Line {
    listno: Option<String>,
    name: Option<String>,
    emails: Vec<Bc3Email>,
    summaries: Vec<Bc3Summary>,
}

/// Read the items of `path`, skipping the first `skip` lines, at most `limit` items.
pub fn load(path: &Path, skip: usize, limit: Option<usize>) -> Result<Vec<Item>, LearnError> {
    let file = std::fs::File::open(path).map_err(|e| LearnError::io(path, e))?;
    let mut items = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| LearnError::io(path, e))?;
        if line.trim().is_empty() || n < skip {
            continue;
        }
        if limit.is_some_and(|l| items.len() >= l) {
            break;
        }
        items.push(parse_line(&line, n).map_err(|e| LearnError::Data {
            path: path.to_path_buf(),
            reason: format!("line {}: {e}", n + 1),
        })?);
    }
    if items.is_empty() {
        return Err(LearnError::Data {
            path: path.to_path_buf(),
            reason: "no items".into(),
        });
    }
    Ok(items)
}

/// One line of either format (a BC3 line has `emails`).
pub fn parse_line(line: &str, n: usize) -> Result<Item, serde_json::Error> {
    let v: serde_json::Value = serde_json::from_str(line)?;
    if v.get("emails").is_some() {
        Ok(thread(serde_json::from_value(v)?, n))
    } else {
        let a: AeslcLine = serde_json::from_value(v)?;
        Ok(Item {
            id: a.id.unwrap_or_else(|| format!("#{n}")),
            input: SummaryInput {
                from: None,
                subject: None,
                body: clean_body(&a.body),
                messages: Vec::new(),
            },
            raw_body: a.body,
            subject: a.subject,
            references: a.references,
        })
    }
}

fn thread(t: Bc3Line, n: usize) -> Item {
    let mut body = String::new();
    let mut messages = Vec::new();
    for e in &t.emails {
        let cleaned = clean_body(&e.text);
        messages.push(ThreadMessage {
            from: e.from.clone(),
            body: cleaned.clone(),
        });
        if let Some(f) = e.from.as_deref() {
            body.push_str(&format!("{f} wrote:\n"));
        }
        body.push_str(cleaned.trim());
        body.push_str("\n\n");
    }
    let subject = t
        .emails
        .first()
        .and_then(|e| e.subject.clone())
        .or(t.name.clone());
    Item {
        id: t.listno.or(t.name).unwrap_or_else(|| format!("#{n}")),
        raw_body: t
            .emails
            .iter()
            .map(|e| e.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n"),
        input: SummaryInput {
            from: None,
            subject: None,
            body,
            messages,
        },
        subject,
        references: t.summaries.into_iter().map(|s| s.summary).collect(),
    }
}
