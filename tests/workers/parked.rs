//! The queue on one machine (SQLite): enqueueing twice queues nothing more, a message the
//! parser refuses is parked with its error record (the one triage writes) and never tried
//! again, `queue status` and `queue failed` say so, and a stored message is not queued again.

use std::time::Duration;

use super::{assert_same_records, exported, status, stored_records, triaged, WorkerProc};
use crate::util::{mailroom_ok, root};

#[test]
fn a_refused_message_is_parked_with_its_error_record_and_the_rest_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let inbox = root().join("examples/inbox");
    let mut names: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    for n in names.iter().take(5) {
        std::fs::copy(inbox.join(n), mail.join(n)).unwrap();
    }
    std::fs::write(mail.join("blank.eml"), "\n  \n").unwrap();
    std::fs::write(
        mail.join("web-form.jsonl"),
        "{\"id\":\"form-1\",\"from\":\"resident@example.org\",\"subject\":\"Streetlight out\",\
         \"body\":\"The streetlight outside 4 Mill Lane has been out for a week.\"}\n",
    )
    .unwrap();
    let url = format!("sqlite:{}", dir.path().join("q.db").display());
    let enqueue = || {
        let out = mailroom_ok(&["enqueue", mail.to_str().unwrap(), "--store", &url]);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(enqueue().contains("queued 7 messages"));
    assert!(enqueue().contains("queued 0 messages (7 already queued"));
    let s = status(&url);
    assert_eq!(
        (s["queued"].as_i64(), s["depth"].as_i64()),
        (Some(7), Some(7))
    );
    assert!(s["oldest_queued_ms"].as_i64().unwrap() >= 0);

    let args = [
        "--summary",
        "none",
        "--exit-when-idle",
        "--cpu-threads",
        "1",
    ];
    let mut w = WorkerProc::start(dir.path(), &url, "solo", &args);
    let exit = w.wait(Duration::from_secs(300));
    assert!(exit.success(), "{}", w.log());
    assert!(
        w.log().contains("6 done, 1 parked, 0 retried"),
        "{}",
        w.log()
    );

    let s = status(&url);
    assert_eq!(
        [&s["queued"], &s["claimed"], &s["done"], &s["failed"]].map(|v| v.as_i64().unwrap()),
        [0, 0, 6, 1],
        "{s}"
    );
    let failed = mailroom_ok(&["queue", "failed", "--store", &url]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&failed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["attempts"], 1, "parked at once: never tried again");
    assert_eq!(lines[0]["error"]["error"]["stage"], "parse");
    assert_eq!(lines[0]["error"]["error"]["kind"], "not_a_message");

    // Every message has its one record, the parked one its error record: triage's, each.
    let stored = stored_records(&url);
    assert_eq!(
        exported(&url).len(),
        stored.len(),
        "export writes every stored record"
    );
    let triage = triaged(&[&mail], &["--summary", "none"]);
    assert_same_records(&stored, &triage);
    let form = stored.values().find(|r| r["id"] == "form-1").unwrap();
    assert_eq!(form["source"]["kind"], "jsonl");
    assert!(enqueue().contains("queued 0 messages (0 already queued, 7 already stored"));
}

#[test]
fn ingest_with_queue_leaves_the_triage_to_the_workers() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = root().join("examples/inbox");
    let url = format!("sqlite:{}", dir.path().join("q.db").display());
    let ingest = || {
        let out = mailroom_ok(&[
            "ingest",
            "--queue",
            inbox.to_str().unwrap(),
            "--store",
            &url,
        ]);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let first = ingest();
    assert!(first.contains("queued 20 messages"), "{first}");
    assert!(
        !first.contains("stored 20"),
        "nothing triaged here: {first}"
    );
    assert!(ingest().contains("queued 0 messages (20 already queued"));
    assert_eq!(status(&url)["queued"].as_i64(), Some(20));
    assert!(stored_records(&url).is_empty());

    let args = ["--summary", "none", "--exit-when-idle"];
    let mut w = WorkerProc::start(dir.path(), &url, "solo", &args);
    assert!(w.wait(Duration::from_secs(300)).success(), "{}", w.log());
    let triage = triaged(&[&inbox], &["--summary", "none"]);
    assert_same_records(&stored_records(&url), &triage);
}
