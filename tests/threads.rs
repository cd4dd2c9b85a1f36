//! Conversations: `triage --threads` groups replies with their thread and puts the thread's
//! summary on its last message; `summarize --thread` summarises BC3 mailing-list threads given
//! as mbox files better than their first 120 words.

use std::io::Write;
use std::path::Path;

use serde_json::Value;

use crate::util::{mailroom_ok, shared_data};

fn write_mbox(path: &Path, messages: &[(String, String)]) {
    let mut f = std::fs::File::create(path).unwrap();
    for (headers, body) in messages {
        writeln!(f, "From sender@example.org Thu Jan  1 00:00:00 1970").unwrap();
        write!(f, "{headers}\n\n").unwrap();
        for line in body.lines() {
            // mboxrd: a body line starting with "From " is quoted.
            let quote = if line.starts_with("From ") { ">" } else { "" };
            writeln!(f, "{quote}{line}").unwrap();
        }
        writeln!(f).unwrap();
    }
}

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn triage_threads_groups_replies_and_summarises_the_conversation_on_its_last_message() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("inbox.mbox");
    let h = |id: &str, parent: Option<&str>, from: &str, subject: &str, date: &str| {
        let mut s = format!(
            "From: {from}\nTo: streets@council.example.gov\nSubject: {subject}\nMessage-ID: <{id}>\nDate: {date}"
        );
        if let Some(p) = parent {
            s.push_str(&format!("\nIn-Reply-To: <{p}>\nReferences: <{p}>"));
        }
        s
    };
    write_mbox(
        &mbox,
        &[
            (
                h("a@x", None, "Ann Lee <ann@example.org>", "Broken street light on Mill Lane", "Mon, 6 May 2024 09:00:00 +0100"),
                "Hello,\n\nThe street light outside 14 Mill Lane has not worked for two weeks. The pavement is completely dark at night.\n\nAnn".into(),
            ),
            (
                h("other@x", None, "Bob Smith <bob@example.org>", "Council tax band", "Mon, 6 May 2024 10:00:00 +0100"),
                "Dear team,\n\nI think my council tax band is wrong. Could you check it please?\n\nBob".into(),
            ),
            (
                h("b@x", Some("a@x"), "Streets Team <streets@council.example.gov>", "Re: Broken street light on Mill Lane", "Tue, 7 May 2024 11:00:00 +0100"),
                "Dear Ms Lee,\n\nThank you for your report. An engineer will visit within five working days.\n\nStreets Team".into(),
            ),
            (
                h("c@x", Some("b@x"), "Ann Lee <ann@example.org>", "Re: Broken street light on Mill Lane", "Wed, 15 May 2024 08:30:00 +0100"),
                "Hello,\n\nNobody has come yet and the light is still off. When will the engineer visit?\n\nAnn".into(),
            ),
        ],
    );
    let out = mailroom_ok(&[
        "triage",
        "--threads",
        "--summary",
        "extractive",
        mbox.to_str().unwrap(),
    ]);
    let records = lines(&out.stdout);
    assert_eq!(records.len(), 4);
    // Conversation by conversation: the street light thread (3 messages, oldest first), then
    // the council tax message alone.
    let conv = |r: &Value| r["conversation"]["id"].as_str().unwrap_or("").to_string();
    assert_eq!(conv(&records[0]), "a@x");
    assert_eq!(conv(&records[1]), "a@x");
    assert_eq!(conv(&records[2]), "a@x");
    assert_eq!(conv(&records[3]), "other@x");
    let positions: Vec<u64> = records[..3]
        .iter()
        .map(|r| r["conversation"]["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, vec![0, 1, 2]);
    assert_eq!(records[2]["id"], "c@x");
    // Only the last message of a conversation carries its summary, naming who said what.
    assert!(records[0]["conversation"].get("summary").is_none());
    let summary = records[2]["conversation"]["summary"]["text"]
        .as_str()
        .unwrap();
    assert!(summary.contains("Ann:"), "{summary}");
    assert!(
        summary.contains("Streets:") || summary.contains("engineer"),
        "{summary}"
    );
    let open: Vec<&str> = records[2]["conversation"]["open"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(open, vec!["When will the engineer visit?"]);
    // A conversation of one message has no conversation summary.
    assert!(records[3]["conversation"].get("summary").is_none());
    assert_eq!(records[3]["conversation"]["size"], 1);
}

#[test]
fn bc3_threads_as_mbox_conversations_beat_their_first_120_words() {
    let Some(data) = shared_data("summaries/bc3-dev.jsonl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut references: Vec<Vec<String>> = Vec::new();
    let mut baselines: Vec<String> = Vec::new();
    let mut files = Vec::new();
    for (n, line) in std::fs::read_to_string(&data).unwrap().lines().enumerate() {
        let t: Value = serde_json::from_str(line).unwrap();
        let emails = t["emails"].as_array().unwrap();
        let mut messages = Vec::new();
        for (i, e) in emails.iter().enumerate() {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
            let mut headers = format!(
                "From: {}\nTo: {}\nSubject: {}\nMessage-ID: <bc3-{n}-{i}@example.org>",
                s("from"),
                s("to"),
                s("subject")
            );
            if i > 0 {
                headers.push_str(&format!("\nIn-Reply-To: <bc3-{n}-{}@example.org>", i - 1));
            }
            if !s("received").is_empty() {
                headers.push_str(&format!("\nDate: {}", s("received")));
            }
            messages.push((headers, s("text")));
        }
        let raw: Vec<String> = emails
            .iter()
            .map(|e| e["text"].as_str().unwrap_or("").to_string())
            .collect();
        let words: Vec<&str> = raw.iter().flat_map(|t| t.split_whitespace()).collect();
        baselines.push(words[..words.len().min(120)].join(" "));
        references.push(
            t["summaries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["summary"].as_str().unwrap().to_string())
                .collect(),
        );
        let path = dir.path().join(format!("{n:02}.mbox"));
        write_mbox(&path, &messages);
        files.push(path.to_string_lossy().to_string());
    }
    let mut args = vec![
        "summarize",
        "--thread",
        "--style",
        "brief",
        "--summary-words",
        "120",
    ];
    args.extend(files.iter().map(String::as_str));
    let out = mailroom_ok(&args);
    let conversations = lines(&out.stdout);
    assert_eq!(
        conversations.len(),
        references.len(),
        "one conversation per thread"
    );
    let (mut ours, mut lead) = (0.0, 0.0);
    for ((c, refs), base) in conversations.iter().zip(&references).zip(&baselines) {
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        let text = c["summary"]["text"].as_str().unwrap();
        assert!(
            text.split_whitespace().count() <= 125,
            "over the budget: {text}"
        );
        ours += mailroom::summarize::rouge::score_multi(text, &refs).max[0];
        lead += mailroom::summarize::rouge::score_multi(base, &refs).max[0];
    }
    let n = references.len() as f64;
    eprintln!(
        "BC3 as mbox: ROUGE-1 {:.1} against {:.1} for the first 120 words",
        100.0 * ours / n,
        100.0 * lead / n
    );
    assert!(ours > lead, "{ours} <= {lead}");
}
