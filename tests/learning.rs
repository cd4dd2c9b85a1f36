//! Learning from corrections with the command line, on real mail (`../shared/data/public`;
//! the test says so and checks nothing when it is absent): messages ingested into a SQLite
//! store, their true category revealed as corrections (or accepted when the model had it),
//! `train --from-store` trains and compares a candidate and adds it, `heads promote` puts it in
//! use, and the next message ingested is decided by it, its record naming it; `heads rollback`
//! goes back to the shipped head.

use std::path::Path;

use mailroom::store::{BlockingStore, MessageId};
use serde_json::Value;

use crate::util::{mailroom, mailroom_ok, shared_data};

/// `path -> category` of public/labels.csv.
fn categories(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("labels.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() >= 3).then(|| (f[0].to_string(), f[1].to_string()))
        })
        .collect()
}

/// The record stored for the message read from `file`.
fn record_of(store: &str, file: &str) -> Value {
    let out = mailroom_ok(&["export", "--store", store]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| {
            r["source"]["path"]
                .as_str()
                .is_some_and(|p| p.ends_with(file))
        })
        .unwrap_or_else(|| panic!("no record for {file}"))
}

fn category(record: &Value) -> Value {
    record["classification"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["axis"] == "category")
        .cloned()
        .expect("a category decision")
}

#[test]
fn corrections_train_a_head_that_decides_once_promoted() {
    let Some(public) = shared_data("public") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let labels = categories(&public);
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    for (file, _) in &labels[..14] {
        std::fs::copy(public.join(file), mail.join(file)).unwrap();
    }
    let ingest = |path: &Path| {
        mailroom_ok(&[
            "ingest",
            path.to_str().unwrap(),
            "--store",
            &store,
            "--summary",
            "none",
        ])
    };
    ingest(&mail);

    // Nothing reviewed yet: nothing to train on, and the command says so (exit 2).
    let none = mailroom(&["train", "--from-store", &store, "--axis", "category"]);
    assert_eq!(
        none.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );

    // Reveal the true category: a correction where the model was wrong, else an accept.
    {
        let bs = BlockingStore::open(&store).unwrap();
        let s = bs.store();
        for i in 1..=bs.block_on(s.count()).unwrap() {
            let m = bs.block_on(s.message(MessageId(i))).unwrap().unwrap();
            let file = Path::new(m.source.as_deref().unwrap()).file_name().unwrap();
            let truth = &labels
                .iter()
                .find(|(f, _)| f.as_str() == file.to_string_lossy())
                .unwrap()
                .1;
            if m.item.category.as_ref().map(|l| &l.label) != Some(truth) {
                bs.block_on(s.correct(MessageId(i), "test", "category", truth))
                    .unwrap();
            } else {
                bs.block_on(s.accept(MessageId(i), "test")).unwrap();
            }
        }
    }

    let out = mailroom_ok(&["train", "--from-store", &store, "--axis", "category"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("candidate") && text.contains("in use"),
        "{text}"
    );
    assert!(
        text.contains("shipped head"),
        "compared with the shipped head: {text}"
    );
    assert!(text.contains("tested on the 4 newer"), "{text}");
    let id: String = text
        .split("added candidate head ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("the candidate's id")
        .to_string();
    let shown = mailroom_ok(&["heads", "--store", &store, "show", &id]);
    let head: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(head["state"], "candidate");
    assert_eq!(head["comparison"]["n_train"], 10);
    assert_eq!(head["comparison"]["n_test"], 4);
    let seen = head["meta"]["store"]["examples"].as_array().unwrap();
    assert_eq!(seen.len(), 14, "the head records every store row it saw");
    assert!(seen.iter().all(|e| e["row"].as_i64().is_some()));
    let sha = head["sha256"].as_str().unwrap().to_string();

    // Promoted, it decides the next message ingested, and the record names it.
    mailroom_ok(&["heads", "--store", &store, "promote", &id]);
    let list = mailroom_ok(&["heads", "--store", &store, "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("in use"));
    let next = dir.path().join("next");
    std::fs::create_dir(&next).unwrap();
    let (file, _) = &labels[14];
    std::fs::copy(public.join(file), next.join(file)).unwrap();
    ingest(&next);
    let record = record_of(&store, file);
    let c = category(&record);
    assert_eq!(c["method"], "head");
    assert_eq!(c["source"], format!("category@{}", &sha[..12]), "{c}");
    let heads = record["models"]["heads"].as_array().unwrap();
    assert!(
        heads.iter().any(|h| h["sha256"] == sha.as_str()),
        "{heads:?}"
    );

    // Rolled back, the shipped head decides again.
    let back = mailroom_ok(&["heads", "--store", &store, "rollback", "category"]);
    assert!(String::from_utf8_lossy(&back.stdout).contains("shipped head"));
    let (file, _) = &labels[15];
    std::fs::copy(public.join(file), next.join(file)).unwrap();
    ingest(&next);
    let c = category(&record_of(&store, file));
    assert_eq!(c["method"], "head");
    assert_ne!(c["source"], format!("category@{}", &sha[..12]), "{c}");
}
