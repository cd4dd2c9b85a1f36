//! `mailroom triage imaps://…`: a folder read once gives the records that triaging the same
//! messages as files gives; a wrong password, an untrusted certificate or a missing folder is
//! a clear error and exit 2, before any model loads.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailroom::email::sources::imap::Mailbox;
use serde_json::Value;

use super::cli::{mailroom, records, url, Login};
use super::read::{corpus, corpus_of};
use super::{Dovecot, PASSWORD};

/// A record without what depends on where and when it was read: its id (the IMAP URL with
/// UIDVALIDITY and UID, or the Message-ID / path for a file), its `source`, its timings.
fn comparable(r: &Value) -> Value {
    let mut r = r.clone();
    for k in ["id", "source", "timings_ms"] {
        r.as_object_mut().unwrap().remove(k);
    }
    r
}

fn args(parts: &[&str], login: &Login) -> Vec<String> {
    let mut v: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
    v.extend(login.args.iter().cloned());
    v
}

/// Append `corpus` to the server's INBOX and write the same bytes (IMAP's CRLF form) as one
/// file each under `dir/files`, which is returned.
fn fill_inbox(server: &Dovecot, corpus: &[(PathBuf, Vec<u8>)], dir: &Path) -> PathBuf {
    let files = dir.join("files");
    std::fs::create_dir(&files).unwrap();
    let mut writer = server.open("INBOX");
    for (i, (_, raw)) in corpus.iter().enumerate() {
        writer.append("INBOX", raw, "").unwrap();
        std::fs::write(files.join(format!("{i:04}.eml")), raw).unwrap();
    }
    writer.logout();
    files
}

#[test]
fn imap_triage_of_500_messages_equals_triage_of_the_same_files() {
    let server = Dovecot::start();
    let corpus = corpus();
    let dir = tempfile::tempdir().unwrap();
    let files = fill_inbox(&server, &corpus, dir.path());
    let login = Login::new(&server);
    let imap_out = dir.path().join("imap.jsonl");
    let file_out = dir.path().join("files.jsonl");

    let start = Instant::now();
    let out = mailroom(&args(
        &[
            "triage",
            &url(&server, "INBOX"),
            "--summary",
            "none",
            "--progress",
            "--out",
            imap_out.to_str().unwrap(),
        ],
        &login,
    ));
    let secs = start.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    eprintln!(
        "triage imaps:// of {} messages, --summary none: {secs:.1} s with model loading ({:.1} messages/s)",
        corpus.len(),
        corpus.len() as f64 / secs
    );
    let out = mailroom(&[
        "triage".into(),
        files.display().to_string(),
        "--summary".into(),
        "none".into(),
        "--out".into(),
        file_out.display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let from_imap = records(&imap_out);
    let from_files = records(&file_out);
    assert_eq!(from_imap.len(), corpus.len());
    assert_eq!(from_files.len(), corpus.len());
    let mut m = server.open("INBOX");
    let uidvalidity = m.select("INBOX").unwrap().uidvalidity;
    let folder = server.url("INBOX");
    for (n, (a, b)) in from_imap.iter().zip(&from_files).enumerate() {
        let uid = n as u32 + 1;
        assert_eq!(a["id"], folder.message_id(uidvalidity, uid));
        assert_eq!(a["source"]["kind"], "imap");
        assert_eq!(a["source"]["index"], uid);
        assert_eq!(
            comparable(a),
            comparable(b),
            "UID {uid} and {}",
            corpus[n].0.display()
        );
    }
    let seen = m
        .flags("1:*")
        .unwrap()
        .into_iter()
        .filter(|(_, f)| f.iter().any(|x| x == "\\Seen"))
        .count();
    assert_eq!(seen, 0, "the read marked messages read");
}

/// A measurement for the note, run by hand (`cargo test --release --test tests
/// imap_one_off_read_of_2000 -- --ignored --nocapture`): 2,000 messages read once from the folder
/// with the default summary, against triaging the same messages as files in the same run.
#[test]
#[ignore = "a measurement (about 10 minutes on 2 cores), run by hand"]
fn imap_one_off_read_of_2000_messages_against_the_same_files() {
    let server = Dovecot::start();
    let corpus = corpus_of(2000, 1);
    let dir = tempfile::tempdir().unwrap();
    let files = fill_inbox(&server, &corpus, dir.path());
    let login = Login::new(&server);
    let mut rate = Vec::new();
    for (what, input) in [
        ("imaps://", url(&server, "INBOX")),
        ("files", files.display().to_string()),
    ] {
        let out_file = dir.path().join(format!("{}.jsonl", rate.len()));
        let start = Instant::now();
        let mut argv = vec![
            "triage".into(),
            input,
            "--out".into(),
            out_file.display().to_string(),
        ];
        if what == "imaps://" {
            argv.extend(login.args.iter().cloned());
        }
        let out = mailroom(&argv);
        let secs = start.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(records(&out_file).len(), corpus.len());
        eprintln!(
            "triage {what} of {} messages, default summary: {secs:.1} s with model loading ({:.2} messages/s)",
            corpus.len(),
            corpus.len() as f64 / secs
        );
        rate.push(corpus.len() as f64 / secs);
    }
    eprintln!("imaps:// / files: {:.3}", rate[0] / rate[1]);
}

/// `mailroom ARGS…` must fail with exit 2 quickly (before loading models), saying `words`.
fn fails_clearly(args: &[String], words: &[&str]) -> String {
    let start = Instant::now();
    let out = mailroom(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    for w in words {
        assert!(err.contains(w), "{args:?}: no {w:?} in {err}");
    }
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{args:?} took {:?}",
        start.elapsed()
    );
    assert!(!err.contains(PASSWORD) && !err.contains("clerk"), "{err}");
    err
}

#[test]
fn imap_wrong_password_untrusted_certificate_and_missing_folder_exit_2() {
    let server = Dovecot::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.jsonl");
    let out = out.to_str().unwrap();
    let good = Login::new(&server);
    let wrong = Login::with_password(&server, "not the password");
    let inbox = url(&server, "INBOX");
    for cmd in [vec!["triage", &inbox], vec!["watch", &inbox, "--out", out]] {
        fails_clearly(&args(&cmd, &wrong), &["authentication failed"]);
        let mut untrusted = args(&cmd, &good);
        untrusted[cmd.len() + 1] = server.other_ca().display().to_string();
        fails_clearly(&untrusted, &["not trusted", "CA file"]);
        let mut missing = args(&cmd, &good);
        missing[1] = url(&server, "Cases/2025");
        fails_clearly(&missing, &["Cases/2025", "does not exist"]);
    }
    fails_clearly(
        &args(
            &["watch", &inbox, "--out", out, "--move-junk", "Spam"],
            &good,
        ),
        &["\"Spam\"", "does not exist"],
    );
    // No password at all: said so, with where to put one.
    let no_password = mailroom(&[
        "triage".into(),
        inbox.clone(),
        "--ca-file".into(),
        server.ca().display().to_string(),
    ]);
    assert_eq!(no_password.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_password.stderr).contains("MAILROOM_IMAP_PASSWORD"));
    // Plaintext to a host that is not loopback is refused before anything is sent.
    let plain = mailroom(&args(
        &["triage", "imap://clerk@mail.example.org/INBOX"],
        &good,
    ));
    assert_eq!(plain.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("refusing plaintext"));
}
