//! `watch --flag-keywords --move-junk Junk`: every message gets the keywords its record
//! calls for, only junk decided without doubt is moved, and reading the mailbox back shows no
//! message lost, none changed, none marked read.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use mailroom::email::sources::imap::sha256_hex;
use serde_json::Value;

use super::cli::{free_port, marks_in, metrics, store_records, url, Login, Watcher};
use super::{wire_form, Dovecot};
use crate::util::{self, root};

/// Spam and ham from SpamAssassin and letters from the public (some urgent); the example
/// inbox when `../shared/data` is absent.
fn mail() -> (Vec<Vec<u8>>, bool) {
    let pick = |set: &str, label: Option<&str>, n: usize| -> Vec<PathBuf> {
        let Some(labels) = util::shared_data(&format!("{set}/labels.csv")) else {
            return Vec::new();
        };
        let dir = labels.parent().unwrap().to_path_buf();
        std::fs::read_to_string(&labels)
            .unwrap()
            .lines()
            .skip(1)
            .filter(|l| label.is_none_or(|want| l.split(',').nth(1) == Some(want)))
            .filter_map(|l| l.split(',').next().map(|p| dir.join(p)))
            .step_by(7)
            .take(n)
            .collect()
    };
    let mut files = pick("spamassassin", Some("spam"), 20);
    files.extend(pick("spamassassin", Some("ham"), 15));
    files.extend(pick("public", None, 15));
    let real = !files.is_empty();
    if !real {
        eprintln!("NOTICE: the example inbox instead of real spam, ham and public letters");
        files = std::fs::read_dir(root().join("examples/inbox"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
    }
    let mut seen = HashSet::new();
    let raw = files
        .iter()
        .map(|p| wire_form(&std::fs::read(p).unwrap()))
        .filter(|r| seen.insert(sha256_hex(r)))
        .collect();
    (raw, real)
}

/// What the README promises for a record: its keywords (sorted) and whether it is moved.
fn promised(record: &Value) -> (Vec<String>, bool) {
    if record.get("error").is_some() {
        return (vec!["$MailroomReview".into()], false);
    }
    let axis = |name: &str| {
        record["classification"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["axis"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mut k = Vec::new();
    if axis("priority")["label"] == "urgent" {
        k.push("$MailroomUrgent".to_string());
    }
    if record["needs_review"] == true {
        k.push("$MailroomReview".into());
    }
    let junk = axis("junk");
    let is_junk = junk["label"] != "legitimate";
    if is_junk {
        k.push("$MailroomJunk".into());
    }
    k.push(format!(
        "$MailroomCategory_{}",
        axis("category")["label"].as_str().unwrap()
    ));
    k.sort();
    (k, is_junk && junk["needs_review"] == false)
}

#[test]
fn imap_watch_sets_keywords_and_moves_sure_junk_losing_nothing() {
    let server = Dovecot::start();
    let (mail, real) = mail();
    let mut writer = server.open("INBOX");
    for raw in &mail {
        writer.append("INBOX", raw, "").unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("desk.db").display());
    let port = free_port();
    let port_s = port.to_string();
    let args = [
        "--store",
        &store,
        "--flag-keywords",
        "--move-junk",
        "Junk",
        "--metrics-port",
        &port_s,
        "--summary",
        "none",
    ];
    let login = Login::new(&server);
    let mut w = Watcher::start(&url(&server, "INBOX"), &login, &args, dir.path());
    let n = mail.len() as f64;
    w.wait_until(Duration::from_secs(240), "every message marked", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && metrics(port)
                .get("mailroom_watch_messages_keyworded_total")
                .is_some_and(|&k| k >= n)
    });
    let m = metrics(port);
    let (status, err) = w.terminate(Duration::from_secs(30));
    assert!(status.success(), "{err}");

    let records: HashMap<String, Value> = store_records(&store)
        .into_iter()
        .map(|r| (r["input_sha256"].as_str().unwrap().to_string(), r))
        .collect();
    assert_eq!(records.len(), mail.len());
    let inbox = marks_in(&server, "INBOX");
    let junk = marks_in(&server, "Junk");
    assert_eq!(
        inbox.len() + junk.len(),
        mail.len(),
        "no message lost or doubled"
    );
    let mut moved = 0;
    for raw in &mail {
        let sha = sha256_hex(raw);
        // Found by the hash of its bytes: the message itself is unchanged.
        let (in_junk, (keywords, seen)) = match (inbox.get(&sha), junk.get(&sha)) {
            (Some(x), None) => (false, x),
            (None, Some(x)) => (true, x),
            other => panic!("message {sha} in INBOX and Junk: {other:?}"),
        };
        assert!(!seen, "{sha} marked read");
        let (want, move_it) = promised(&records[&sha]);
        assert_eq!(keywords, &want, "keywords of {sha}");
        assert_eq!(in_junk, move_it, "{sha} moved or not as promised");
        moved += usize::from(in_junk);
    }
    assert_eq!(m["mailroom_watch_messages_moved_total"], moved as f64);
    eprintln!(
        "marks: {} messages, {moved} moved to Junk, {} urgent, {} to review",
        mail.len(),
        records
            .values()
            .filter(|r| promised(r).0.contains(&"$MailroomUrgent".into()))
            .count(),
        records
            .values()
            .filter(|r| promised(r).0.contains(&"$MailroomReview".into()))
            .count()
    );
    if real {
        assert!(moved > 0, "some of the spam is junk without doubt");
        assert!(moved < mail.len(), "not everything is junk");
    }
}
