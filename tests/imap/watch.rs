//! `mailroom watch`: new mail triaged within seconds of its APPEND (with the latency printed),
//! metrics and the status line, SIGTERM; `kill -9` mid-batch then a restart writes every message
//! exactly once (into a file and into the store); Dovecot restarted under the watcher; a
//! renumbered folder reported and handled by message hash.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use mailroom::email::sources::imap::{sha256_hex, Cursor, Mailbox};

use super::cli::{
    by_hash, free_port, job_count, mailroom, metrics, records, store_count, store_records, url,
    Login, Watcher,
};
use super::read::corpus;
use super::{note, Dovecot};

/// Classification with the encoder, no summary: the watcher's own cost is what is measured.
const CLASSIFY: &[&str] = &["--summary", "none"];
/// No model at all: parse, prepare, record (for the tests of the mailbox side only).
const NO_MODELS: &[&str] = &["--no-zero-shot", "--summary", "none"];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[test]
fn imap_watch_triages_new_mail_within_seconds_and_stops_on_sigterm() {
    let server = Dovecot::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("records.jsonl");
    let mut writer = server.open("INBOX");
    for n in 0..3 {
        writer
            .append("INBOX", &note(n, "before the watcher"), "")
            .unwrap();
    }
    let login = Login::new(&server);
    let port = free_port();
    let (port_s, out_s) = (port.to_string(), out.display().to_string());
    let mut args = vec![
        "--out",
        &out_s,
        "--metrics-port",
        &port_s,
        "--status-every",
        "1",
    ];
    args.extend(CLASSIFY);
    let mut w = Watcher::start(&url(&server, "INBOX"), &login, &args, dir.path());
    w.wait_until(Duration::from_secs(180), "the first 3 records", || {
        records(&out).len() == 3
    });

    // 50 more, one every 150 ms; each record's arrival timed from the end of its APPEND.
    let mail: Vec<Vec<u8>> = corpus().into_iter().take(50).map(|(_, raw)| raw).collect();
    let mut appended: Vec<(String, Instant)> = Vec::new();
    let mut arrived: std::collections::HashMap<String, Instant> = Default::default();
    let mut next = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrived.len() < mail.len() + 3 && Instant::now() < deadline {
        if next < mail.len()
            && appended
                .last()
                .is_none_or(|(_, t)| t.elapsed() >= Duration::from_millis(150))
        {
            writer.append("INBOX", &mail[next], "").unwrap();
            appended.push((sha256_hex(&mail[next]), Instant::now()));
            next += 1;
        }
        for r in records(&out) {
            let sha = r["input_sha256"].as_str().unwrap().to_string();
            arrived.entry(sha).or_insert_with(Instant::now);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut latency: Vec<Duration> = appended
        .iter()
        .map(|(sha, t)| match arrived.get(sha) {
            Some(a) => a.saturating_duration_since(*t),
            None => panic!("no record for an appended message:\n{}", w.stderr()),
        })
        .collect();
    latency.sort();
    eprintln!(
        "watch latency, APPEND to record, {} messages: p50 {:?}, p99 {:?}, max {:?}",
        latency.len(),
        percentile(&latency, 0.5),
        percentile(&latency, 0.99),
        latency.last().unwrap()
    );
    // IDLE wakes the watcher for each message: the typical one is in within seconds. The
    // slowest is given room for a loaded CI machine running other suites beside this one.
    assert!(
        percentile(&latency, 0.5) < Duration::from_secs(10)
            && *latency.last().unwrap() < Duration::from_secs(60),
        "{latency:?}"
    );

    let m = metrics(port);
    assert_eq!(m["mailroom_watch_messages_triaged_total"], 53.0, "{m:?}");
    assert_eq!(m["mailroom_watch_messages_seen_total"], 53.0);
    assert_eq!(m["mailroom_watch_messages_failed_total"], 0.0);
    assert_eq!(m["mailroom_watch_lag_messages"], 0.0);
    assert_eq!(m["mailroom_watch_idle"], 1.0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !w.stderr().contains("watch: 53 seen, 53 triaged") {
        assert!(Instant::now() < deadline, "no status line: {}", w.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }

    let (status, err) = w.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status}: {err}");
    assert!(
        err.contains("stopped after") && err.contains("53 triaged"),
        "{err}"
    );
    let all = records(&out);
    assert_eq!(all.len(), 53);
    assert!(by_hash(&all).values().all(|&n| n == 1));
    // The position is kept beside the records, under the folder's URL with its user.
    let cursor = Cursor::load(&Cursor::path_beside(&out), &url(&server, "INBOX"))
        .unwrap()
        .unwrap();
    assert_eq!(cursor.last_uid, 53);
    let seen = writer
        .flags("1:*")
        .unwrap()
        .into_iter()
        .filter(|(_, f)| f.iter().any(|x| x == "\\Seen"))
        .count();
    assert_eq!(seen, 0, "nothing marked read");
}

/// Where a watcher writes, and how the test reads it back.
#[derive(Clone, Copy)]
enum Into {
    File,
    Store,
    /// The store's job queue (`--queue`), triaged afterwards by a worker.
    Queue,
}

fn killed_mid_batch_then_restarted(into: Into) {
    let server = Dovecot::start();
    let dir = tempfile::tempdir().unwrap();
    let mail: Vec<Vec<u8>> = corpus()
        .into_iter()
        .map(|(_, raw)| raw)
        .collect::<Vec<_>>()
        .into_iter()
        .filter({
            let mut seen = HashSet::new();
            move |raw| seen.insert(sha256_hex(raw))
        })
        .take(130)
        .collect();
    let (first, later) = mail.split_at(mail.len() - 10);
    let mut writer = server.open("INBOX");
    for raw in first {
        writer.append("INBOX", raw, "").unwrap();
    }
    let out = dir.path().join("records.jsonl");
    let db = dir.path().join("desk.db");
    let store = format!("sqlite:{}", db.display());
    let sink: Vec<String> = match into {
        Into::File => vec!["--out".into(), out.display().to_string()],
        Into::Store => vec!["--store".into(), store.clone()],
        Into::Queue => vec!["--store".into(), store.clone(), "--queue".into()],
    };
    let count = || match into {
        Into::File => records(&out).len(),
        Into::Store => store_count(&db) as usize,
        Into::Queue => job_count(&db) as usize,
    };
    let mut args: Vec<&str> = sink.iter().map(String::as_str).collect();
    args.extend(CLASSIFY);
    let login = Login::new(&server);
    let inbox = url(&server, "INBOX");

    let mut w = Watcher::start(&inbox, &login, &args, dir.path());
    // Queueing loads no model and is quick: kill it as soon as the first jobs are in.
    let before_kill = if matches!(into, Into::Queue) { 1 } else { 20 };
    w.wait_until(Duration::from_secs(180), "the first records", || {
        count() >= before_kill
    });
    w.kill();
    let at_kill = count();
    if !matches!(into, Into::Queue) {
        assert!(at_kill < first.len(), "the kill came after the last record");
    }
    // Mail goes on arriving while the watcher is down.
    for raw in later {
        writer.append("INBOX", raw, "").unwrap();
    }

    let mut w = Watcher::start(&inbox, &login, &args, dir.path());
    w.wait_until(Duration::from_secs(240), "every record", || {
        count() >= mail.len()
    });
    let (status, err) = w.terminate(Duration::from_secs(60));
    assert!(status.success(), "{err}");
    if let Into::Queue = into {
        assert_eq!(store_count(&db), 0, "the watcher triaged nothing itself");
        assert!(
            err.contains(&format!("{} queued", mail.len() - at_kill)),
            "{err}"
        );
        let worker = mailroom(
            &["worker", "--store", &store, "--exit-when-idle"]
                .iter()
                .chain(CLASSIFY)
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        );
        assert!(
            worker.status.success(),
            "{}",
            String::from_utf8_lossy(&worker.stderr)
        );
    }
    let all = match into {
        Into::File => records(&out),
        Into::Store | Into::Queue => store_records(&store),
    };
    let n = by_hash(&all);
    let want: HashSet<String> = mail.iter().map(|r| sha256_hex(r)).collect();
    let got: HashSet<String> = n.keys().cloned().collect();
    assert_eq!(got, want, "every message, none skipped");
    let twice: Vec<_> = n.iter().filter(|(_, &c)| c > 1).collect();
    assert!(twice.is_empty(), "written more than once: {twice:?}");
    assert_eq!(all.len(), mail.len());
    eprintln!(
        "killed with {at_kill} of {} records written; after the restart {} records, each once",
        first.len(),
        all.len()
    );
}

#[test]
fn imap_watch_into_a_file_killed_mid_batch_then_restarted_writes_each_message_once() {
    killed_mid_batch_then_restarted(Into::File);
}

#[test]
fn imap_watch_into_the_store_killed_mid_batch_then_restarted_stores_each_message_once() {
    killed_mid_batch_then_restarted(Into::Store);
}

#[test]
fn imap_watch_into_the_job_queue_killed_mid_batch_then_restarted_queues_each_message_once() {
    killed_mid_batch_then_restarted(Into::Queue);
}

#[test]
fn imap_watch_goes_on_after_dovecot_restarts_under_it() {
    let mut server = Dovecot::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("records.jsonl");
    let out_s = out.display().to_string();
    let port = free_port();
    let port_s = port.to_string();
    let mut writer = server.open("INBOX");
    for n in 0..3 {
        writer
            .append("INBOX", &note(n, "before the restart"), "")
            .unwrap();
    }
    let mut args = vec!["--out", &out_s, "--metrics-port", &port_s];
    args.extend(NO_MODELS);
    let login = Login::new(&server);
    let mut w = Watcher::start(&url(&server, "INBOX"), &login, &args, dir.path());
    w.wait_until(Duration::from_secs(60), "3 records", || {
        records(&out).len() == 3
    });

    server.restart();
    let mut writer = server.open("INBOX");
    for n in 3..6 {
        writer
            .append("INBOX", &note(n, "after the restart"), "")
            .unwrap();
    }
    w.wait_until(
        Duration::from_secs(60),
        "the records after the restart",
        || records(&out).len() == 6,
    );
    let m = metrics(port);
    assert!(m["mailroom_watch_reconnects_total"] >= 1.0, "{m:?}");
    let (status, err) = w.terminate(Duration::from_secs(30));
    assert!(status.success(), "{err}");
    assert!(by_hash(&records(&out)).values().all(|&n| n == 1));
}

#[test]
fn imap_watch_reports_a_renumbered_folder_and_skips_what_was_done_by_hash() {
    let mut server = Dovecot::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("records.jsonl");
    let out_s = out.display().to_string();
    let mut writer = server.open("INBOX");
    let old: Vec<Vec<u8>> = (0..4)
        .map(|n| note(n, "triaged before the change"))
        .collect();
    for raw in &old {
        writer.append("INBOX", raw, "").unwrap();
    }
    let before = writer.select("INBOX").unwrap().uidvalidity;
    drop(writer);
    let mut args = vec!["--out", out_s.as_str()];
    args.extend(NO_MODELS);
    let login = Login::new(&server);
    let mut w = Watcher::start(&url(&server, "INBOX"), &login, &args, dir.path());
    w.wait_until(Duration::from_secs(60), "4 records", || {
        records(&out).len() == 4
    });

    // The server loses its index (a restore, a migration): the folder is renumbered.
    server.stop();
    std::thread::sleep(Duration::from_millis(1100));
    for e in std::fs::read_dir(server.maildir()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file()
            && p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("dovecot")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    server.restart();
    let mut writer = server.open("INBOX");
    assert_ne!(writer.select("INBOX").unwrap().uidvalidity, before);
    let new = note(9, "arrived after the change");
    writer.append("INBOX", &new, "").unwrap();

    w.wait_until(Duration::from_secs(90), "the new message's record", || {
        records(&out).len() >= 5
    });
    std::thread::sleep(Duration::from_millis(500));
    let (status, err) = w.terminate(Duration::from_secs(30));
    assert!(status.success(), "{err}");
    assert!(
        err.contains("UIDVALIDITY changed"),
        "the change is reported: {err}"
    );
    let all = records(&out);
    assert_eq!(all.len(), 5, "the four done before are not written again");
    let n = by_hash(&all);
    assert_eq!(n.get(&sha256_hex(&new)), Some(&1));
    assert!(old.iter().all(|r| n.get(&sha256_hex(r)) == Some(&1)));
}
