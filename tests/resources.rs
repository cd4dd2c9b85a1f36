//! Resources (Hardening, item 3): an `--out` file system that fills during a run, and hostile
//! messages (a megabyte header line, ten thousand recipients, a thousand parts, 25 MB) handled
//! within the caps, with an error record where one must be. Hostile messages are made here, at
//! run time; nothing big is committed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use crate::util;

fn lines(s: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(s)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:.200}")))
        .collect()
}

/// A tmpfs of `bytes` mounted on `dir`, unmounted when dropped (whatever the test did).
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mount, or say why not: `None` when mounting is refused (not root) and
    /// `MAILROOM_REQUIRE_TMPFS` is unset; a panic when it is set.
    fn mount(dir: &Path, bytes: u64) -> Option<Tmpfs> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir)
            .output();
        let why = match out {
            Ok(o) if o.status.success() => return Some(Tmpfs(dir.to_path_buf())),
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => e.to_string(),
        };
        let msg = format!("cannot mount a tmpfs on {} ({why})", dir.display());
        crate::util::absent(
            &msg,
            "MAILROOM_REQUIRE_TMPFS",
            "this test checks nothing without it (run as root)",
        );
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// `n` distinct messages (new Message-IDs) made from the example inbox.
fn corpus(dir: &Path, n: usize) {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(util::root().join("examples/inbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    sources.sort();
    for i in 0..n {
        let raw = std::fs::read_to_string(&sources[i % sources.len()]).unwrap();
        let raw = raw.replacen("Message-ID: <", &format!("Message-ID: <full{i}."), 1);
        std::fs::write(dir.join(format!("m{i:04}.eml")), raw).unwrap();
    }
}

fn without_timings(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove("timings_ms");
    }
    v
}

#[test]
fn out_on_a_full_disk_is_cut_to_whole_records_and_resume_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    corpus(&mail, 30);
    let triage = |out: &Path, resume: bool| {
        let mut a = vec![
            "triage",
            mail.to_str().unwrap(),
            "--summary",
            "none",
            "--out",
            out.to_str().unwrap(),
        ];
        if resume {
            a.push("--resume");
        }
        let t = Instant::now();
        let o = util::mailroom(&a);
        eprintln!("mailroom {a:?}: {:.1} s", t.elapsed().as_secs_f64());
        o
    };
    // The reference, on an ordinary disk.
    let full = tmp.path().join("full.jsonl");
    let out = triage(&full, false);
    assert_eq!(out.status.code(), Some(0));
    let size = std::fs::metadata(&full).unwrap().len();

    // A tmpfs with room for about half the records: a ballast file takes the rest.
    let disk = tmp.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let page = 4096;
    let total = (2 * size / page + 16) * page;
    let Some(_mount) = Tmpfs::mount(&disk, total) else {
        return;
    };
    let ballast = disk.join("ballast");
    std::fs::write(
        &ballast,
        vec![0u8; (total - size / 2) as usize / page as usize * page as usize],
    )
    .unwrap();
    let part = disk.join("out.jsonl");
    let out = triage(&part, false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no space left") && stderr.contains(part.to_str().unwrap()),
        "one clear error naming the file: {stderr}"
    );
    let bytes = std::fs::read(&part).unwrap();
    assert!(
        bytes.is_empty() || bytes.ends_with(b"\n"),
        "no torn last line"
    );
    let written = lines(&bytes).len();
    eprintln!("{written} of 30 records fit before the disk was full");
    assert!(written < 30, "the disk never filled");

    // Space freed: --resume finishes the job, every message exactly once.
    std::fs::remove_file(&ballast).unwrap();
    let out = triage(&part, true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let by_id = |v: Vec<Value>| -> HashMap<String, Value> {
        v.into_iter()
            .map(|r| (r["id"].as_str().unwrap().to_string(), without_timings(r)))
            .collect()
    };
    let got = lines(&std::fs::read(&part).unwrap());
    assert_eq!(got.len(), 30, "every message exactly once");
    let (got, want) = (by_id(got), by_id(lines(&std::fs::read(&full).unwrap())));
    assert_eq!(got.len(), 30, "no duplicate ids");
    for (id, r) in &want {
        assert_eq!(
            got.get(id),
            Some(r),
            "record {id} differs from the reference"
        );
    }
}

/// One message with these headers (each line ends in `\n`) and body.
fn message(id: &str, headers: &str, body: &str) -> String {
    format!(
        "From: Ann Lee <ann@example.org>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <{id}@example.org>\n{headers}\n{body}"
    )
}

fn multipart(id: &str, parts: usize) -> String {
    let mut body = String::new();
    for i in 0..parts - 1 {
        body.push_str(&format!(
            "--B\nContent-Type: text/plain\n\npart {i}: the heating is broken\n"
        ));
    }
    body.push_str("--B--\n");
    message(
        id,
        "Subject: parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n",
        &body,
    )
}

#[test]
fn hostile_messages_are_handled_within_the_caps() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let write = |name: &str, s: String| std::fs::write(d.join(name), s).unwrap();
    let unit = "please fix the heating by Friday 12 March 2024 ref AB123 ";
    write(
        "a-subject.eml",
        message(
            "subject",
            &format!("Subject: {}\n", unit.repeat(1_000_000 / unit.len())),
            "The heating is broken.\n",
        ),
    );
    let to: Vec<String> = (0..10_000)
        .map(|i| format!("User {i} <u{i}@example.org>"))
        .collect();
    write(
        "b-recipients.eml",
        message(
            "recipients",
            &format!("To: {}\nSubject: many\n", to.join(", ")),
            "The heating is broken.\n",
        ),
    );
    write("c-parts.eml", multipart("parts", 1_000));
    write("d-too-many-parts.eml", multipart("too-many-parts", 1_001));
    // A megabyte line of bare weekdays (the sentence around each was once read whole).
    write(
        "e-weekdays.eml",
        message(
            "weekdays",
            "Subject: line\n",
            &"we met on Saturday and ".repeat(1_000_000 / 23),
        ),
    );
    let line = "The boiler has failed again and the flat is cold, please send someone soon.\n";
    write(
        "f-25mb.eml",
        message(
            "big",
            "Subject: big\n",
            &line.repeat(25_000_000 / line.len()),
        ),
    );
    write(
        "g-over.eml",
        message(
            "over",
            "Subject: over\n",
            &line.repeat(27_000_000 / line.len()),
        ),
    );

    let t = Instant::now();
    let out = util::mailroom(&["triage", d.to_str().unwrap(), "--summary", "none"]);
    let secs = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("triage of the hostile messages: {secs:.1} s; {stderr}");
    assert_eq!(out.status.code(), Some(1), "some failed: {stderr}");
    let records = lines(&out.stdout);
    assert_eq!(records.len(), 7, "one record each");
    let kinds: Vec<&str> = records
        .iter()
        .filter_map(|r| r["error"]["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["too_many_parts", "too_large"],
        "error records where they must be"
    );
    let by: HashMap<String, Value> = records
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect();
    let rec = |id: &str| &by[&format!("{id}@example.org")];
    let warnings = |id: &str| -> String {
        rec(id)["review"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "unclean_parse")
            .map(|n| n["warnings"].to_string())
            .collect()
    };
    for id in ["subject", "recipients", "parts", "weekdays", "big"] {
        assert!(rec(id)["error"].is_null(), "{id}: {}", rec(id)["error"]);
        eprintln!("{id}: {}", rec(id)["timings_ms"]);
    }
    let subject = rec("subject")["subject"].as_str().unwrap();
    assert_eq!(subject.chars().count(), 2_000);
    assert!(rec("subject")["needs_review"].as_bool().unwrap());
    assert!(
        warnings("subject").contains("Subject of 999")
            && warnings("subject").contains("cut to its first 2000"),
        "the cut is visible: {}",
        warnings("subject")
    );
    assert!(
        warnings("recipients")
            .contains("To addresses: 10000 found, the first 1000 kept, 9000 dropped"),
        "{}",
        warnings("recipients")
    );
    assert!(rec("big")["truncation"]["dropped_tokens"].as_u64().unwrap() > 0);
    // The detectors read the start of a 25 MB body, and the record says so.
    let cut: Vec<&Value> = rec("big")["review"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "analysis_cut")
        .collect();
    assert_eq!(cut.len(), 1, "{}", rec("big")["review"]);
    let analysed = cut[0]["analysed_bytes"].as_u64().unwrap();
    assert!((200_000..=262_144).contains(&analysed), "{analysed}");
    assert!(cut[0]["body_bytes"].as_u64().unwrap() > 24_000_000);
    assert!(
        rec("big").to_string().len() < 4_000_000,
        "a bounded record: {} bytes",
        rec("big").to_string().len()
    );
    assert!(rec("parts")["review"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["kind"] != "analysis_cut"));
    assert!(secs < 60.0, "took {secs:.1} s");
}
