//! Prints what the text analyses find in real mail, for reading and judging by hand: urgency
//! evidence, key facts, dates and text addressed to the model. The measurements in
//! `/work/notes/text/REPORT.md` were made with it.
//!
//! ```text
//! cargo run --release --example text_hits -- evidence ../shared/data/public   # labels.csv: priority
//! cargo run --release --example text_hits -- facts examples/inbox
//! cargo run --release --example text_hits -- dates ../shared/data/public
//! cargo run --release --example text_hits -- injection ../shared/data/spamassassin ...
//! cargo run --release --example text_hits -- attacks FILE.jsonl   # {"carrier": .., "attack": ..}
//! ```
//! Every message is parsed with `mailroom::email::parse` and prepared with
//! `mailroom::text::prepare` (default options); the analyses read the subject and the prepared
//! body, as the pipeline will.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mailroom::classify::evidence::{self, EvidenceInput, EvidenceKind};
use mailroom::email::{self, Email};
use mailroom::summarize::facts::{self, FactsInput};
use mailroom::text::dates::{find_dates, DateOptions, Reference};
use mailroom::text::{self, injection, PrepareOptions, Prepared};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, paths) = args.split_first().ok_or_else(|| {
        anyhow::anyhow!("usage: text_hits evidence|facts|dates|injection|attacks PATH...")
    })?;
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    match mode.as_str() {
        "evidence" => evidence_report(&paths[0]),
        "facts" => each_message(&paths, |name, email, prepared| {
            let r = reference(email);
            let f = facts::extract(&facts_input(email, prepared, r));
            println!("## {name}\n  short: {}", facts::short_line(&f, 6));
            for fact in &f {
                println!("  {}", fact.line());
            }
        }),
        "dates" => each_message(&paths, |name, email, prepared| {
            let r = reference(email);
            for h in find_dates(&prepared.body, &r, &DateOptions::default()) {
                println!(
                    "{name}\t{:?}\t{}\t{}..{}\tdeadline={}\tdays={}\t{:?}",
                    h.kind,
                    h.text,
                    h.start,
                    h.end,
                    h.deadline,
                    h.days_away(),
                    h.guesses
                );
            }
        }),
        "injection" => injection_scan(&paths),
        "attacks" => attacks(&paths[0]),
        other => anyhow::bail!("unknown mode {other}"),
    }
}

/// The reference day of a message: its Date header, else a fixed processing day (so runs
/// repeat).
fn reference(email: &Email) -> Reference {
    let fixed: jiff::Timestamp = "2025-01-01T00:00:00Z".parse().expect("valid timestamp");
    Reference::for_message(email.date.as_deref(), fixed)
}

/// The key-fact input of a parsed and prepared message: what the pipeline will build.
fn facts_input<'a>(
    email: &'a Email,
    prepared: &'a Prepared,
    reference: Reference,
) -> FactsInput<'a> {
    FactsInput {
        subject: email.subject.as_deref(),
        body: &prepared.body,
        signature: prepared
            .removed
            .iter()
            .find(|r| r.kind == text::RemovedKind::Signature)
            .map(|r| r.text.as_str()),
        from: email.from.as_ref().and_then(|m| m.name.as_deref()),
        attachments: email
            .attachments
            .iter()
            .filter_map(|a| a.name.as_deref())
            .collect(),
        reference,
    }
}

/// The byte offset at or below `i` that starts a char.
fn floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The byte offset at or above `i` that starts a char (or the end).
fn ceil(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Every message file under `paths` (files, or folders read recursively; `labels.csv`,
/// `*.json` and `*.txt` skipped), in name order.
fn message_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            while let Some(d) = stack.pop() {
                let Ok(rd) = std::fs::read_dir(&d) else {
                    continue;
                };
                for e in rd.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if !matches!(
                        path.extension().and_then(|x| x.to_str()),
                        Some("csv" | "json" | "txt" | "md" | "jsonl")
                    ) {
                        out.push(path);
                    }
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out
}

fn each_message(
    paths: &[PathBuf],
    mut f: impl FnMut(&str, &Email, &Prepared),
) -> anyhow::Result<()> {
    for path in message_files(paths) {
        let raw = std::fs::read(&path).with_context(|| path.display().to_string())?;
        let Ok(email) = email::parse(&raw) else {
            continue;
        };
        let prepared = text::prepare(&email, &PrepareOptions::default());
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        f(name, &email, &prepared);
    }
    Ok(())
}

/// Per detector: hits, messages hit, urgent and routine messages hit, recall of urgent mail;
/// and every hit with its context, for judging.
fn evidence_report(dir: &Path) -> anyhow::Result<()> {
    let labels = std::fs::read_to_string(dir.join("labels.csv")).context("labels.csv")?;
    let mut priority: BTreeMap<String, bool> = BTreeMap::new();
    for line in labels.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        if cols.len() >= 3 {
            priority.insert(cols[0].to_string(), cols[2] == "urgent");
        }
    }
    // detail -> (hits, urgent messages, routine messages)
    let mut per: BTreeMap<String, (usize, Vec<String>, Vec<String>)> = BTreeMap::new();
    let mut kind_msgs: BTreeMap<EvidenceKind, (usize, usize)> = BTreeMap::new();
    let (mut tp, mut fp, mut fnn, mut any_tp, mut any_fp) = (0, 0, 0, 0, 0);
    let total_urgent = priority.values().filter(|u| **u).count();
    each_message(&[dir.to_path_buf()], |name, email, prepared| {
        let Some(&urgent) = priority.get(name) else {
            return;
        };
        let s = evidence::detect(&EvidenceInput {
            subject: email.subject.as_deref(),
            body: &prepared.body,
            reference: reference(email),
        });
        println!(
            "## {name} {} | {}",
            if urgent { "URGENT" } else { "routine" },
            s.line()
        );
        for e in &s.evidence {
            let text = match e.field {
                evidence::Field::Subject => email.subject.as_deref().unwrap_or(""),
                evidence::Field::Body => &prepared.body,
            };
            let from = floor(text, e.span.start.saturating_sub(60));
            let to = ceil(text, e.span.end + 40);
            let ctx = text[from..to].replace('\n', " ");
            println!(
                "  - {}/{} strong={} [{}] …{}…",
                e.kind, e.detail, e.strong, e.text, ctx
            );
            let entry = per.entry(format!("{}/{}", e.kind, e.detail)).or_default();
            entry.0 += 1;
            let list = if urgent { &mut entry.1 } else { &mut entry.2 };
            if !list.contains(&name.to_string()) {
                list.push(name.to_string());
            }
        }
        for k in &s.kinds {
            let e = kind_msgs.entry(*k).or_default();
            if urgent {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        match (s.urgent, urgent) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fnn += 1,
            _ => {}
        }
        if !s.evidence.is_empty() {
            if urgent {
                any_tp += 1;
            } else {
                any_fp += 1;
            }
        }
    })?;
    println!("\n# per detector: hits, urgent messages hit, routine messages hit");
    for (d, (hits, u, r)) in &per {
        println!("{d}\t{hits}\t{}\t{}", u.len(), r.len());
    }
    println!("\n# per kind: urgent messages hit (recall of {total_urgent}), routine messages hit");
    for (k, (u, r)) in &kind_msgs {
        println!("{k}\t{u}\t{:.3}\t{r}", *u as f64 / total_urgent as f64);
    }
    println!(
        "\n# summary.urgent: tp {tp} fp {fp} fn {fnn}; precision {:.3} recall {:.3}",
        tp as f64 / (tp + fp).max(1) as f64,
        tp as f64 / (tp + fnn).max(1) as f64
    );
    println!("# any evidence: urgent messages {any_tp}/{total_urgent}, routine messages {any_fp}");
    Ok(())
}

/// Messages with text addressed to the model, with the hits: false positives on real mail.
fn injection_scan(paths: &[PathBuf]) -> anyhow::Result<()> {
    let (mut n, mut flagged) = (0usize, 0usize);
    for path in message_files(paths) {
        let Ok(raw) = std::fs::read(&path) else {
            continue;
        };
        let Ok(email) = email::parse(&raw) else {
            continue;
        };
        let prepared = text::prepare(&email, &PrepareOptions::default());
        n += 1;
        let subject = email.subject.as_deref().unwrap_or("");
        let hits: Vec<_> = injection::detect(subject)
            .into_iter()
            .chain(injection::detect(&prepared.body))
            .collect();
        if !hits.is_empty() {
            flagged += 1;
            println!("## {}", path.display());
            for h in hits {
                println!(
                    "  - {:?} [{}]",
                    h.kind,
                    h.text.chars().take(120).collect::<String>()
                );
            }
        }
    }
    println!("# {flagged} of {n} messages flagged");
    Ok(())
}

/// A JSON-lines corpus of attacks: each line `{"id", "carrier", "attack", "expect"}` where
/// `carrier` is a message body, `attack` is inserted into it and `expect` is true for an
/// attack and false for a benign look-alike.
fn attacks(file: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).context("attack corpus")?;
    let (mut caught, mut attacks, mut false_alarms, mut benign) = (0, 0, 0, 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let body = v["body"].as_str().unwrap_or("");
        let expect = v["expect"].as_bool().unwrap_or(true);
        let hit = !injection::detect(body).is_empty();
        if expect {
            attacks += 1;
            caught += usize::from(hit);
            if !hit {
                println!("MISSED {}: {}", v["id"], v["attack"].as_str().unwrap_or(""));
            }
        } else {
            benign += 1;
            false_alarms += usize::from(hit);
            if hit {
                println!("FALSE ALARM {}", v["id"]);
            }
        }
    }
    println!("# caught {caught}/{attacks}; false alarms {false_alarms}/{benign}");
    Ok(())
}
