//! Three workers on 2,000 real messages, one killed with `kill -9` in the middle and another
//! stopped and started again: every message ends with exactly one record, the record `triage`
//! writes for the same file, and no job is left claimed. Reads `../shared/data/spamassassin`
//! (and says so when it is absent); a smaller run on `../shared/data/public` with the default
//! classifier and extractive summaries shows the records equal triage's with the models at work.

use std::time::Duration;

use super::{
    assert_same_records, exported, jobs_where, real_mail, status, stored_records, triaged,
    wait_for, WorkerProc,
};
use crate::store::pg_server;
use crate::util::mailroom_ok;

/// No model work (`--summary none --no-zero-shot`): the test exercises the queue, not the
/// models. Short leases, so that the dead worker's jobs are taken over within seconds.
const QUEUE_ONLY: [&str; 8] = [
    "--summary",
    "none",
    "--no-zero-shot",
    "--lease",
    "2",
    "--poll",
    "1",
    "--batch=16",
];

#[test]
fn three_workers_one_killed_one_restarted_every_message_once_as_triage_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mail) = real_mail("spamassassin", 2000, dir.path()) else {
        return;
    };
    let url = super::rt().block_on(pg_server::server().fresh_db());
    let out = mailroom_ok(&["enqueue", mail.to_str().unwrap(), "--store", &url]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("queued 2000 messages"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut w1 = WorkerProc::start(dir.path(), &url, "w1", &QUEUE_ONLY);
    let mut w2 = WorkerProc::start(dir.path(), &url, "w2", &QUEUE_ONLY);
    let mut w3 = WorkerProc::start(dir.path(), &url, "w3", &QUEUE_ONLY);
    wait_for(&url, Duration::from_secs(300), &[&w1, &w2, &w3], |s| {
        s["done"].as_i64().unwrap() >= 400
    });

    // kill -9 w2 while it holds jobs: frozen first, so that what it holds cannot change
    // between the look and the kill.
    let held = loop {
        w2.signal("STOP");
        let held = jobs_where(&url, "state = 'claimed' AND worker_id = 'w2'");
        if !held.is_empty() {
            break held;
        }
        w2.signal("CONT");
        std::thread::sleep(Duration::from_millis(30));
    };
    w2.signal("KILL");
    assert!(!w2.wait(Duration::from_secs(10)).success());

    // Stop w3 (SIGTERM: it finishes the batch in hand) and start it again.
    w3.stop();
    assert!(
        jobs_where(&url, "state = 'claimed' AND worker_id = 'w3'").is_empty(),
        "a worker stopped by SIGTERM holds nothing"
    );
    let mut w3b = WorkerProc::start(dir.path(), &url, "w3b", &QUEUE_ONLY);

    wait_for(&url, Duration::from_secs(600), &[&w1, &w3b], |s| {
        s["queued"] == 0 && s["claimed"] == 0
    });
    w1.stop();
    w3b.stop();

    let s = status(&url);
    assert_eq!(
        (
            s["done"].as_i64().unwrap() + s["failed"].as_i64().unwrap(),
            s["claimed"].as_i64()
        ),
        (2000, Some(0)),
        "{s}"
    );
    // What w2 held when it died was taken over by the others and finished.
    let ids: Vec<String> = held.iter().map(|(id, _, _)| id.to_string()).collect();
    let after = jobs_where(&url, &format!("id IN ({})", ids.join(",")));
    assert_eq!(after.len(), held.len());
    for (id, attempts, worker) in &after {
        assert!(*attempts >= 2, "job {id} was claimed again after the kill");
        assert_ne!(
            worker.as_deref(),
            Some("w2"),
            "job {id} finished by another worker"
        );
    }
    for w in ["w1", "w3", "w3b"] {
        assert!(
            !jobs_where(&url, &format!("worker_id = '{w}' AND state = 'done'")).is_empty(),
            "{w} did some of the work"
        );
    }

    let stored = stored_records(&url);
    assert_eq!(
        exported(&url).len(),
        stored.len(),
        "export writes every stored record"
    );
    let triage = triaged(&[&mail], &["--summary", "none", "--no-zero-shot"]);
    assert_eq!(stored.len(), 2000);
    assert_same_records(&stored, &triage);
}

#[test]
fn records_with_the_default_classifier_equal_triage() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mail) = real_mail("public", 96, dir.path()) else {
        return;
    };
    let _ = crate::util::store(); // names models/fetch when the models are absent
    let url = super::rt().block_on(pg_server::server().fresh_db());
    mailroom_ok(&["enqueue", mail.to_str().unwrap(), "--store", &url]);
    let args = [
        "--summary",
        "extractive",
        "--batch",
        "8",
        "--cpu-threads",
        "1",
    ];
    let mut a = WorkerProc::start(dir.path(), &url, "a", &args);
    let mut b = WorkerProc::start(dir.path(), &url, "b", &args);
    wait_for(&url, Duration::from_secs(600), &[&a, &b], |s| {
        s["queued"] == 0 && s["claimed"] == 0
    });
    a.stop();
    b.stop();
    let stored = stored_records(&url);
    assert_eq!(
        exported(&url).len(),
        stored.len(),
        "export writes every stored record"
    );
    let triage = triaged(&[&mail], &["--summary", "extractive"]);
    assert_same_records(&stored, &triage);
    let any = stored.values().next().unwrap();
    assert_eq!(any["classification"].as_array().unwrap().len(), 3, "{any}");
    assert_eq!(any["summary"]["method"], "extractive");
}
