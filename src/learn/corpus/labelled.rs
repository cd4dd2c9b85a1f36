//! Labelled data for `train` and `eval`, in three shapes:
//!
//! - a labels CSV with columns `path,label` (paths relative to the CSV's folder), given as the
//!   file or as a folder holding `labels.csv`;
//! - a folder with one subfolder per label, each holding message files;
//! - JSON lines, one object per message: `label` plus `raw` (the RFC 822 text), `path`, or
//!   `subject` and `body` (or `text`). A line without `label` gets an empty one, which the
//!   caller fills in (`--unlabelled-as`) or refuses.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::learn::LearnError;

/// Where a labelled message's content comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// A message file.
    File(PathBuf),
    /// Raw message bytes.
    Raw(Vec<u8>),
    /// Already-decoded text.
    Text {
        /// Subject.
        subject: String,
        /// Body.
        body: String,
    },
}

/// One labelled message.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Where it came from (path, or file and line), for error messages.
    pub id: String,
    /// Its label as written in the data.
    pub label: String,
    /// Its content.
    pub content: Content,
}

fn data_err(path: &Path, reason: impl Into<String>) -> LearnError {
    LearnError::Data {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read(path: &Path) -> Result<String, LearnError> {
    std::fs::read_to_string(path).map_err(|source| LearnError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Load labelled messages from `path` (see the module docs for the shapes).
pub fn load(path: &Path) -> Result<Vec<Item>, LearnError> {
    load_axis(path, None)
}

/// As [`load`], for `axis`: a labels CSV with no `label` column may carry the labels in a
/// column named after the axis (such as `category` and `priority` in `public/labels.csv`).
pub fn load_axis(path: &Path, axis: Option<&str>) -> Result<Vec<Item>, LearnError> {
    if path.is_dir() {
        let csv = path.join("labels.csv");
        if csv.is_file() {
            return load_csv(&csv, axis);
        }
        return load_folders(path);
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => load_csv(path, axis),
        Some("jsonl") | Some("json") | Some("ndjson") => load_jsonl(path),
        _ => Err(data_err(
            path,
            "expected a labels .csv, a .jsonl file, or a folder",
        )),
    }
}

/// Split one CSV line into fields (double quotes may wrap a field; `""` is a quote).
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

fn load_csv(path: &Path, axis: Option<&str>) -> Result<Vec<Item>, LearnError> {
    let text = read(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut lines = text.lines();
    let header = split_csv_line(lines.next().ok_or_else(|| data_err(path, "empty CSV"))?);
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let label = col("label").or_else(|| axis.and_then(&col));
    let (pc, lc) = match (col("path"), label) {
        (Some(p), Some(l)) => (p, l),
        _ => {
            return Err(data_err(
                path,
                "the header must name columns `path` and `label` (or the axis)",
            ))
        }
    };
    let mut items = Vec::new();
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f = split_csv_line(line);
        let (Some(p), Some(l)) = (f.get(pc), f.get(lc)) else {
            return Err(data_err(path, format!("line {}: too few columns", n + 2)));
        };
        let file = base.join(p.trim());
        items.push(Item {
            id: file.display().to_string(),
            label: l.trim().to_string(),
            content: Content::File(file),
        });
    }
    Ok(items)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, LearnError> {
    let rd = std::fs::read_dir(dir).map_err(|source| LearnError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    Ok(v)
}

fn load_folders(path: &Path) -> Result<Vec<Item>, LearnError> {
    let mut items = Vec::new();
    for sub in sorted_entries(path)? {
        if !sub.is_dir() {
            continue;
        }
        let label = sub
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if label.starts_with('.') {
            continue;
        }
        for f in sorted_entries(&sub)? {
            if f.is_file()
                && !f
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                items.push(Item {
                    id: f.display().to_string(),
                    label: label.clone(),
                    content: Content::File(f),
                });
            }
        }
    }
    if items.is_empty() {
        return Err(data_err(
            path,
            "no labels.csv and no label subfolders with files",
        ));
    }
    Ok(items)
}

#[derive(Deserialize)]
struct JsonItem {
    /// Absent in unlabelled sets (e.g. a folder of mail known to be all legitimate); the
    /// item then has an empty label for the caller to fill in.
    #[serde(default)]
    label: String,
    raw: Option<String>,
    path: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    text: Option<String>,
}

fn load_jsonl(path: &Path) -> Result<Vec<Item>, LearnError> {
    let text = read(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let j: JsonItem = serde_json::from_str(line)
            .map_err(|e| data_err(path, format!("line {}: {e}", n + 1)))?;
        let content = if let Some(raw) = j.raw {
            Content::Raw(raw.into_bytes())
        } else if let Some(p) = j.path {
            Content::File(base.join(p))
        } else if j.subject.is_some() || j.body.is_some() || j.text.is_some() {
            Content::Text {
                subject: j.subject.unwrap_or_default(),
                body: j.body.or(j.text).unwrap_or_default(),
            }
        } else {
            return Err(data_err(
                path,
                format!("line {}: needs raw, path, or subject/body", n + 1),
            ));
        };
        items.push(Item {
            id: format!("{}:{}", path.display(), n + 1),
            label: j.label,
            content,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_quotes() {
        assert_eq!(split_csv_line(r#"a,"b,c","d""e""#), ["a", "b,c", "d\"e"]);
    }

    #[test]
    fn loads_all_three_shapes() {
        let dir = std::env::temp_dir().join(format!("mailroom-dataset-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("csv/x")).unwrap();
        std::fs::write(
            dir.join("csv/labels.csv"),
            "path,label,subset\nx/1.eml,ham,easy\n",
        )
        .unwrap();
        let items = load(&dir.join("csv")).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].label, "ham");
        assert_eq!(items[0].content, Content::File(dir.join("csv/x/1.eml")));

        std::fs::create_dir_all(dir.join("folders/spam")).unwrap();
        std::fs::write(dir.join("folders/spam/a.eml"), "Subject: x\n\ny").unwrap();
        let items = load(&dir.join("folders")).unwrap();
        assert_eq!(items[0].label, "spam");

        std::fs::write(
            dir.join("d.jsonl"),
            "{\"label\":\"urgent\",\"subject\":\"s\",\"body\":\"b\"}\n{\"label\":\"x\",\"raw\":\"Subject: a\\n\\nb\"}\n",
        )
        .unwrap();
        let items = load(&dir.join("d.jsonl")).unwrap();
        assert_eq!(items.len(), 2);
        assert!(matches!(items[1].content, Content::Raw(_)));
        // An unlabelled line (a set of mail known to be of one kind) loads with an empty label.
        std::fs::write(dir.join("u.jsonl"), "{\"subject\":\"s\",\"body\":\"b\"}\n").unwrap();
        let items = load(&dir.join("u.jsonl")).unwrap();
        assert_eq!(items[0].label, "");
        assert!(load(&dir.join("missing.txt")).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
