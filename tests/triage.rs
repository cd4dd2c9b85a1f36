//! The triage command end to end on the real models (issue 5).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util;

fn inbox() -> PathBuf {
    util::root().join("examples/inbox")
}

fn lines(s: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(s)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// A record without the fields that measure time (everything else is deterministic).
fn without_timings(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("timings_ms");
                m.remove("timings");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

#[test]
fn r5_triage_example_inbox_gives_a_full_record_per_message() {
    let out = util::mailroom(&[
        "triage",
        inbox().to_str().unwrap(),
        "--summary",
        "extractive",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = lines(&out.stdout);
    let emls = std::fs::read_dir(inbox())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "eml")
        })
        .count();
    assert_eq!(records.len(), emls);
    for r in &records {
        assert_eq!(r["schema"], "mailroom.triage/1");
        assert!(r["input_sha256"].as_str().unwrap().len() == 64);
        let axes: Vec<&str> = r["classification"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["axis"].as_str().unwrap())
            .collect();
        assert_eq!(axes, ["category", "priority", "junk"], "{}", r["id"]);
        for a in r["classification"].as_array().unwrap() {
            let p = a["probability"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&p));
        }
        assert_eq!(r["summary"]["method"], "extractive");
        assert!(
            !r["summary"]["text"].as_str().unwrap().is_empty(),
            "{}",
            r["id"]
        );
        assert_eq!(
            r["models"]["encoder"]["sha256"],
            "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
        );
        assert_eq!(r["taxonomy"]["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(
            r["needs_review"].as_bool().unwrap(),
            !r["review"].as_array().unwrap().is_empty()
                || r["classification"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["needs_review"] == true)
        );
    }
    // Junk decided above its threshold is never urgent (the phishing message reads as urgent
    // to the priority head: "your mailbox will be closed"), and the record says why.
    let axis = |r: &Value, name: &str| -> Value {
        r["classification"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["axis"] == name)
            .cloned()
            .unwrap()
    };
    let mut decided_junk = 0;
    for r in &records {
        let junk = axis(r, "junk");
        if junk["label"] != "legitimate" && junk["needs_review"] == false {
            decided_junk += 1;
            let priority = axis(r, "priority");
            assert_ne!(priority["label"], "urgent", "{}", r["id"]);
            assert_ne!(priority["method"], "evidence", "{}", r["id"]);
        }
    }
    assert!(decided_junk >= 1, "the example inbox has sure junk");
    let phishing = records
        .iter()
        .find(|r| {
            r["source"]["path"]
                .as_str()
                .unwrap()
                .contains("05-phishing")
        })
        .unwrap();
    assert_eq!(axis(phishing, "priority")["method"], "junk_rule");
    // The French and German messages are recognised as such.
    let lang: HashMap<&str, &str> = records
        .iter()
        .map(|r| {
            (
                r["source"]["path"].as_str().unwrap(),
                r["language"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(lang
        .iter()
        .any(|(p, l)| p.contains("french") && *l == "fra"));
    assert!(lang
        .iter()
        .any(|(p, l)| p.contains("german") && *l == "deu"));
}

#[test]
fn r5_abstractive_summary_is_checked_and_deterministic() {
    let msg = inbox().join("04-meeting-request.eml");
    let run = || {
        let out = util::mailroom(&["triage", msg.to_str().unwrap(), "--summary", "abstractive"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        lines(&out.stdout).remove(0)
    };
    // With no generator named, the default summary is the extractive one (it measures better
    // than the default generator's).
    let out = util::mailroom_ok(&["triage", msg.to_str().unwrap()]);
    let d = lines(&out.stdout).remove(0);
    assert_eq!(d["summary"]["requested"], "extractive");
    assert!(d["models"]["generator"].is_null(), "{}", d["models"]);
    let (a, b) = (run(), run());
    assert_eq!(without_timings(a.clone()), without_timings(b));
    let s = &a["summary"];
    assert_eq!(s["requested"], "abstractive");
    assert!(s["faithfulness"]["checked"].as_bool().unwrap());
    assert_eq!(
        a["models"]["generator"]["sha256"],
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    );
    assert!(s["text"].as_str().unwrap().split_whitespace().count() >= 3);
}

/// A folder of `n` distinct messages made from the example inbox (new Message-IDs).
fn corpus(dir: &Path, n: usize) {
    let sources: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(inbox())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        v.sort();
        v
    };
    for i in 0..n {
        let raw = std::fs::read_to_string(&sources[i % sources.len()]).unwrap();
        let raw = raw.replacen("Message-ID: <", &format!("Message-ID: <copy{i}."), 1);
        std::fs::write(dir.join(format!("m{i:04}.eml")), raw).unwrap();
    }
}

#[test]
fn r5_killed_run_resumes_with_every_message_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    corpus(&mail, 100);
    let args = |out: &Path| -> Vec<String> {
        [
            "triage",
            mail.to_str().unwrap(),
            "--summary",
            "none",
            "--batch",
            "2",
            "--jobs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };

    // The reference: one uninterrupted run.
    let full = tmp.path().join("full.jsonl");
    let out = util::mailroom(&args(&full).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0));

    // Start, wait for some records, SIGKILL.
    let part = tmp.path().join("part.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .args(args(&part))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let n = std::fs::read_to_string(&part)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if n >= 10 || start.elapsed() > Duration::from_secs(120) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let written = std::fs::read_to_string(&part).unwrap().lines().count();
    assert!(
        written < 100,
        "the run finished before it could be killed ({written} records)"
    );
    // Simulate the worst case too: a torn last line.
    let mut bytes = std::fs::read(&part).unwrap();
    bytes.extend_from_slice(b"{\"schema\":\"mailroom.triage/1\",\"id\":\"half");
    std::fs::write(&part, bytes).unwrap();

    let mut resume = args(&part);
    resume.push("--resume".into());
    let out = util::mailroom(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("torn"));

    let got = lines(&std::fs::read(&part).unwrap());
    let want = lines(&std::fs::read(&full).unwrap());
    assert_eq!(got.len(), 100, "every message exactly once");
    let by_id = |v: Vec<Value>| -> HashMap<String, Value> {
        v.into_iter()
            .map(|r| (r["id"].as_str().unwrap().to_string(), without_timings(r)))
            .collect()
    };
    let (got, want) = (by_id(got), by_id(want));
    assert_eq!(got.len(), 100, "no duplicate ids");
    for (id, r) in &want {
        assert_eq!(
            got.get(id),
            Some(r),
            "record {id} differs from the uninterrupted run"
        );
    }
}

#[test]
fn r5_bad_messages_get_error_records_and_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        inbox().join("20-thank-you.eml"),
        tmp.path().join("a-good.eml"),
    )
    .unwrap();
    let mut big = std::fs::read(inbox().join("16-pothole-report.eml")).unwrap();
    big.extend(std::iter::repeat_n(b'x', 5000));
    std::fs::write(tmp.path().join("b-big.eml"), big).unwrap();
    std::fs::write(tmp.path().join("c-empty.eml"), b"").unwrap();
    let out = util::mailroom(&[
        "triage",
        tmp.path().to_str().unwrap(),
        "--summary",
        "none",
        "--max-size",
        "4000",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let records = lines(&out.stdout);
    assert_eq!(records.len(), 3, "a record for every message");
    assert!(records[0]["classification"].is_array());
    assert!(
        records[1]["error"]["message"].as_str().unwrap().len() > 5,
        "{}",
        records[1]
    );
    // No input at all: exit 2.
    let out = util::mailroom(&["triage", "/no/such/folder"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn r5_redact_masks_personal_data_and_formats_work() {
    let tmp = tempfile::tempdir().unwrap();
    let jsonl = tmp.path().join("in.jsonl");
    std::fs::write(
        &jsonl,
        "{\"id\":\"m1\",\"from\":\"Jane Doe <jane.doe@example.org>\",\"subject\":\"Call me on 020 7946 0958\",\"body\":\"My NI number is QQ 12 34 56 C and my sort code is 12-34-56, account 12345678. I live at SW1A 1AA. Please call 020 7946 0958 about the refund to IBAN GB82 WEST 1234 5698 7654 32.\"}\n",
    )
    .unwrap();
    let out = util::mailroom(&[
        "triage",
        jsonl.to_str().unwrap(),
        "--summary",
        "extractive",
        "--redact",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for secret in [
        "jane.doe@example.org",
        "7946 0958",
        "QQ 12 34 56 C",
        "12-34-56",
        "12345678",
        "SW1A 1AA",
        "GB82 WEST",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let r = lines(&out.stdout).remove(0);
    assert_eq!(r["redacted"], true);
    assert!(r["summary"]["text"]
        .as_str()
        .unwrap()
        .contains("[NI_NUMBER]"));

    let out = util::mailroom(&[
        "triage",
        jsonl.to_str().unwrap(),
        "--summary",
        "none",
        "--format",
        "csv",
    ]);
    let csv = String::from_utf8_lossy(&out.stdout);
    let mut rows = csv.lines();
    assert!(rows
        .next()
        .unwrap()
        .starts_with("id,from,subject,date,category,category_probability"));
    assert!(rows.next().unwrap().starts_with("m1,"));
    let out = util::mailroom(&[
        "triage",
        jsonl.to_str().unwrap(),
        "--summary",
        "none",
        "--format",
        "table",
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.lines().next().unwrap().contains("CATEGORY") && table.contains("m1"));
}

#[test]
fn r20_bench_triage_measures_the_whole_triage_of_a_folder() {
    // `bench --triage DIR`: every message of the folder triaged as `triage` does, the rate in
    // the JSON as `triage.messages_per_s`, with the triage's own peak RSS.
    let dir = inbox();
    let emls = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .count();
    let out = util::mailroom_ok(&[
        "bench",
        "--json",
        "--triage",
        dir.to_str().unwrap(),
        "--no-encoder",
        "--no-generator",
        "--bandwidth-mib",
        "0",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &report["triage"];
    assert_eq!(t["messages"], emls, "{t}");
    assert_eq!(t["failed"], 0, "{t}");
    assert_eq!(t["summary"], "extractive", "the default, as in triage: {t}");
    let rate = t["messages_per_s"].as_f64().unwrap();
    let (n, secs) = (
        t["messages"].as_f64().unwrap(),
        t["seconds"].as_f64().unwrap(),
    );
    assert!(rate > 0.0 && (rate - n / secs).abs() < 1e-6 * rate, "{t}");
    assert!(
        t["peak_rss_mb"].as_f64().unwrap() > 50.0,
        "the models loaded: {t}"
    );
    assert!(report["encoder"].is_null() && report["generator"].is_null());

    // A folder without mail is a clear error, not a rate of nothing.
    let empty = tempfile::tempdir().unwrap();
    let out = util::mailroom(&["bench", "--triage", empty.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no messages found"), "{err}");
}

#[test]
fn a_reader_that_stops_reading_ends_the_command_quietly() {
    // `mailroom models list | head -1`, `mailroom bench | head`: stdout closed by its reader
    // before the command writes. The command ends with 0 and no panic; a full disk is an error.
    for args in [
        &["models", "list"][..],
        &[
            "bench",
            "--no-encoder",
            "--no-generator",
            "--bandwidth-mib",
            "0",
        ][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailroom"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let out = Command::new(env!("CARGO_BIN_EXE_mailroom"))
            .args(["models", "list"])
            .stdout(full)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("writing to stdout"), "{err}");
    }
}
