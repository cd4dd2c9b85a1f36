//! How `triage` writes its outputs: JSON lines (the whole record), a table for people at a
//! terminal, or CSV with the main fields for spreadsheets. Each record is written whole and
//! flushed, so an interrupted run leaves only whole lines (and `--resume` redoes a torn one).
//! An `--out` file that cannot take a record (the disk is full) is cut back to the end of the
//! last whole record ([`WholeRecords`]), so that it stays valid and `--resume` finishes the job.

use std::fs::File;
use std::io::{ErrorKind, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use mailroom::pipeline::{key_facts_line, AxisResult, Output, Record};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON record per line (the full record).
    Jsonl,
    /// A table for people at a terminal.
    Table,
    /// CSV with the main fields, for spreadsheets.
    Csv,
}

/// Writes outputs in the chosen format; each record is written whole and flushed.
pub struct RecordWriter<'a> {
    out: Box<dyn Write + 'a>,
    format: Format,
    axes: Vec<String>,
}

impl<'a> RecordWriter<'a> {
    /// A writer in `format` for records with these axes; writes the header line.
    pub fn new(
        mut out: Box<dyn Write + 'a>,
        format: Format,
        axes: &[String],
    ) -> std::io::Result<Self> {
        match format {
            Format::Csv => {
                let mut header = vec![
                    "id".to_string(),
                    "from".into(),
                    "subject".into(),
                    "date".into(),
                ];
                for a in axes {
                    header.push(a.clone());
                    header.push(format!("{a}_probability"));
                }
                header.extend(["needs_review", "review", "summary", "error"].map(String::from));
                writeln!(
                    out,
                    "{}",
                    header
                        .iter()
                        .map(|h| csv_field(h))
                        .collect::<Vec<_>>()
                        .join(",")
                )?;
            }
            Format::Table => {
                let mut line = format!("{:<28}", "ID");
                for a in axes {
                    line.push_str(&format!(" {:<24}", a.to_uppercase()));
                }
                line.push_str(" REVIEW  SUMMARY");
                writeln!(out, "{line}")?;
            }
            Format::Jsonl => {}
        }
        Ok(RecordWriter {
            out,
            format,
            axes: axes.to_vec(),
        })
    }

    /// Write one output, whole, and flush.
    pub fn write(&mut self, o: &Output) -> std::io::Result<()> {
        let mut line = match self.format {
            Format::Jsonl => serde_json::to_string(o).map_err(std::io::Error::other)?,
            Format::Csv => self.csv_line(o),
            Format::Table => self.table_line(o),
        };
        line.push('\n');
        self.out.write_all(line.as_bytes())?;
        self.out.flush()
    }

    /// Flush what is buffered.
    pub fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn label<'r>(r: &'r Record, axis: &str) -> Option<&'r AxisResult> {
        r.classification.iter().find(|a| a.axis == axis)
    }

    fn csv_line(&self, o: &Output) -> String {
        let mut f: Vec<String> = Vec::new();
        match o {
            Output::Record(r) => {
                f.push(r.id.clone());
                f.push(r.from.clone().unwrap_or_default());
                f.push(r.subject.clone().unwrap_or_default());
                f.push(r.date.clone().unwrap_or_default());
                for a in &self.axes {
                    match Self::label(r, a) {
                        Some(x) => {
                            f.push(x.label.clone());
                            f.push(format!("{:.3}", x.probability));
                        }
                        None => f.extend([String::new(), String::new()]),
                    }
                }
                f.push(r.needs_review.to_string());
                f.push(review_text(r));
                f.push(
                    r.summary
                        .as_ref()
                        .map(|s| s.text.clone())
                        .unwrap_or_default(),
                );
                f.push(String::new());
            }
            Output::Error(e) => {
                f.push(e.id.clone());
                f.extend(std::iter::repeat_n(String::new(), 3 + 2 * self.axes.len()));
                f.extend(["true".to_string(), "error".into(), String::new()]);
                f.push(format!("{}: {}", e.error.stage, e.error.message));
            }
        }
        f.iter().map(|x| csv_field(x)).collect::<Vec<_>>().join(",")
    }

    fn table_line(&self, o: &Output) -> String {
        let id = |s: &str| truncate(s, 28);
        match o {
            Output::Record(r) => {
                let mut line = format!("{:<28}", id(&r.id));
                for a in &self.axes {
                    let cell = Self::label(r, a)
                        .map(|x| format!("{} {:.2}", x.label, x.probability))
                        .unwrap_or_default();
                    line.push_str(&format!(" {:<24}", truncate(&cell, 24)));
                }
                let summary = r.summary.as_ref().map(|s| s.text.as_str()).unwrap_or("");
                line.push_str(&format!(
                    " {:<7} {}",
                    if r.needs_review { "yes" } else { "no" },
                    truncate(summary, 100)
                ));
                // Under the row: why it is urgent (its evidence), and the facts a reply needs.
                // When the evidence says urgent but the decision is routine, say so: a person
                // weighs the two.
                let decided = Self::label(r, "priority").is_some_and(|p| p.label == "urgent");
                let cued = r.evidence.as_ref().is_some_and(|e| e.summary.urgent);
                if let Some(e) = r.evidence.as_ref().filter(|_| decided || cued) {
                    let why = if e.summary.evidence.is_empty() {
                        "no urgency cue found in the text: the model alone calls it urgent".into()
                    } else if decided {
                        e.line.clone()
                    } else {
                        format!("the model calls it routine, but {}", e.line)
                    };
                    line.push_str(&format!("\n{:<28} why: {}", "", truncate(&why, 150)));
                }
                let facts = key_facts_line(&r.key_facts, 6);
                if !facts.is_empty() {
                    line.push_str(&format!("\n{:<28} facts: {}", "", truncate(&facts, 150)));
                }
                if let Some(rep) = r.replies.as_ref().filter(|x| !x.suggestions.is_empty()) {
                    let ids: Vec<&str> = rep.suggestions.iter().map(|s| s.id.as_str()).collect();
                    line.push_str(&format!("\n{:<28} replies: {}", "", ids.join(", ")));
                }
                line
            }
            Output::Error(e) => format!(
                "{:<28} ERROR {}: {}",
                id(&e.id),
                e.error.stage,
                truncate(&e.error.message, 100)
            ),
        }
    }
}

/// An output file that holds only whole records: bytes written since the last flush are one
/// record; when a write or flush fails (no space left, quota, I/O error), the file is cut back
/// to the end of the last whole record and the error says so ([`CutBack`]).
pub struct WholeRecords {
    file: File,
    path: PathBuf,
    /// The end of the last whole record.
    committed: u64,
    /// Bytes of the record being written.
    pending: u64,
    records: u64,
}

impl WholeRecords {
    /// Write records to `file` (at `path`) from its current end on.
    pub fn new(mut file: File, path: &Path) -> std::io::Result<Self> {
        let committed = file.seek(SeekFrom::End(0))?;
        Ok(WholeRecords {
            file,
            path: path.to_path_buf(),
            committed,
            pending: 0,
            records: 0,
        })
    }

    /// Cut the file back to the last whole record and wrap `e` to say so.
    fn cut_back(&mut self, e: std::io::Error) -> std::io::Error {
        let torn = self.pending;
        self.pending = 0;
        let cut = self
            .file
            .set_len(self.committed)
            .and_then(|()| self.file.seek(SeekFrom::Start(self.committed)).map(drop));
        std::io::Error::new(
            e.kind(),
            CutBack {
                path: self.path.clone(),
                records: self.records,
                bytes: self.committed,
                torn,
                cut: cut.err(),
                source: e,
            },
        )
    }
}

impl Write for WholeRecords {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.file.write(buf) {
            Ok(n) => {
                self.pending += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Err(e),
            Err(e) => Err(self.cut_back(e)),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Err(e) = self.file.flush() {
            return Err(self.cut_back(e));
        }
        if self.pending > 0 {
            self.committed += self.pending;
            self.pending = 0;
            self.records += 1;
        }
        Ok(())
    }
}

/// A write to the output file failed; the file was cut back to its last whole record.
#[derive(Debug)]
pub struct CutBack {
    /// The output file.
    pub path: PathBuf,
    /// Records written whole by this run.
    pub records: u64,
    /// The file's length after the cut.
    pub bytes: u64,
    /// Bytes of the unfinished record that were cut.
    pub torn: u64,
    /// Why the cut itself failed, if it did (the file may then end in a torn line, which
    /// `--resume` also cuts).
    pub cut: Option<std::io::Error>,
    /// The write error.
    pub source: std::io::Error,
}

impl CutBack {
    /// What went wrong, in words: "no space left on device" for a full disk.
    pub fn cause(&self) -> String {
        match self.source.kind() {
            ErrorKind::StorageFull => "no space left on device".to_string(),
            ErrorKind::QuotaExceeded => "disk quota exceeded".to_string(),
            _ => self.source.to_string(),
        }
    }
}

impl std::fmt::Display for CutBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} writing {}: ", self.cause(), self.path.display())?;
        match &self.cut {
            None => write!(
                f,
                "the unfinished record ({} bytes) was cut, so the file ends with its last whole \
                 record ({} bytes; {} records written by this run)",
                self.torn, self.bytes, self.records
            ),
            Some(e) => write!(f, "cutting the unfinished record failed too ({e})"),
        }
    }
}

impl std::error::Error for CutBack {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn review_text(r: &Record) -> String {
    serde_json::to_string(&r.review).unwrap_or_default()
}

fn truncate(s: &str, n: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= n {
        one_line
    } else {
        let mut t: String = one_line.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
