//! `ingest` and `export`: triaged mail goes into the store once per message however often it
//! is ingested, a run killed with `kill -9` loses nothing once it is run again, and every record
//! comes back out as JSON lines.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{mailroom, mailroom_ok, root, shared_data};

fn export(store: &str) -> Vec<Value> {
    let out = mailroom_ok(&["export", "--store", store]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn ingest_twice_adds_nothing_and_export_gives_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("desk.db").display());
    let inbox = root().join("examples/inbox");
    let first = mailroom_ok(&["ingest", inbox.to_str().unwrap(), "--store", &store]);
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(err.contains("stored 20 messages"), "{err}");
    let again = mailroom_ok(&["ingest", inbox.to_str().unwrap(), "--store", &store]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("stored 0 messages") && err.contains("20 already stored"),
        "{err}"
    );
    let records = export(&store);
    assert_eq!(records.len(), 20);
    // The stored record is the triage record, with its summary and decisions.
    let heating = records
        .iter()
        .find(|r| r["id"] == "20240513064210.4471@mail.example.com")
        .expect("the no-heating message is stored");
    assert_eq!(heating["schema"], "mailroom.triage/1");
    assert!(heating["summary"]["text"].as_str().unwrap().len() > 10);
    assert_eq!(heating["classification"].as_array().unwrap().len(), 3);
}

#[test]
fn ingest_killed_mid_run_then_run_again_stores_every_message_exactly_once() {
    let Some(spam) = shared_data("spamassassin") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // 2,000 real messages: the first of the easy ham, hard ham and spam folders in name order.
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let mut files: Vec<_> = walk(&spam);
    files.sort();
    files.truncate(2000);
    for (i, f) in files.iter().enumerate() {
        std::fs::copy(f, mail.join(format!("{i:04}.eml"))).unwrap();
    }
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    // Parse, prepare and store only: no model work, so the kill lands on the store path.
    let args = [
        "ingest",
        mail.to_str().unwrap(),
        "--store",
        &store,
        "--no-zero-shot",
        "--summary",
        "none",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let db = dir.path().join("s.db");
    let start = Instant::now();
    // Wait until a few batches are committed (the database and its WAL have grown).
    loop {
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let wal = dir.path().join("s.db-wal");
        if size(&db) + size(&wal) > 2_000_000 || start.elapsed() > Duration::from_secs(120) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = export(&store).len();
    assert!(
        partial > 0 && partial < 2000,
        "the kill landed mid-run ({partial} stored)"
    );
    let out = mailroom(&args);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = export(&store);
    assert_eq!(records.len(), 2000, "every message stored, none twice");
    let mut by_sha: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *by_sha
            .entry(r["input_sha256"].as_str().unwrap_or("").to_string())
            .or_default() += 1;
    }
    assert!(by_sha.values().all(|&n| n == 1), "a message stored twice");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.file_name().is_some_and(|n| n != "labels.csv") {
            out.push(p);
        }
    }
    out
}
