//! Reading a folder back: 500 real messages equal byte for byte, nothing marked read, the size
//! cap, and the one-off source.

use std::collections::HashSet;
use std::path::PathBuf;

use mailroom::email::sources::imap::{ImapMailbox, ImapSource, Mailbox, MessageError, Resume};
use mailroom::email::{Content, EmailError, SourceKind};

use super::{note, wire_form, Dovecot};
use crate::util;

/// 500 SpamAssassin messages (every sixth in path order, ham and spam) in their IMAP wire
/// form; the project's own fixtures when `../shared/data` is absent.
pub fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    corpus_of(500, 6)
}

/// `take` SpamAssassin messages, every `step`th in path order, in their IMAP wire form; the
/// project's own fixtures when `../shared/data` is absent.
pub fn corpus_of(take: usize, step: usize) -> Vec<(PathBuf, Vec<u8>)> {
    let files: Vec<PathBuf> = match util::shared_data("spamassassin/labels.csv") {
        Some(labels) => {
            let root = labels.parent().unwrap().to_path_buf();
            std::fs::read_to_string(&labels)
                .unwrap()
                .lines()
                .skip(1)
                .filter_map(|l| l.split(',').next())
                .step_by(step)
                .take(take)
                .map(|p| root.join(p))
                .collect()
        }
        None => {
            eprintln!("NOTICE: reading the project's fixtures instead of 500 real messages");
            let mut v: Vec<PathBuf> = ["real", "rfc", "malformed"]
                .iter()
                .flat_map(|d| std::fs::read_dir(util::fixture(&format!("eml/{d}"))).unwrap())
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect();
            v.sort();
            v
        }
    };
    files
        .into_iter()
        .map(|p| {
            let raw = wire_form(&std::fs::read(&p).unwrap());
            (p, raw)
        })
        .collect()
}

fn lf(b: &[u8]) -> Vec<u8> {
    let mut out = b.to_vec();
    out.retain(|&c| c != b'\r');
    out
}

#[test]
fn imap_500_messages_read_back_byte_for_byte_and_none_marked_read() {
    let server = Dovecot::start();
    let corpus = corpus();
    let mut writer = server.open("INBOX");
    for (path, raw) in &corpus {
        writer
            .append("INBOX", raw, "")
            .unwrap_or_else(|e| panic!("APPEND {}: {e:#}", path.display()));
    }
    writer.logout();

    // The server really stored them: one Maildir file each, same content.
    let mut on_disk: Vec<Vec<u8>> = ["new", "cur"]
        .iter()
        .flat_map(|d| std::fs::read_dir(server.maildir().join(d)).unwrap())
        .map(|e| lf(&std::fs::read(e.unwrap().path()).unwrap()))
        .collect();
    let mut expected_lf: Vec<Vec<u8>> = corpus.iter().map(|(_, r)| lf(r)).collect();
    on_disk.sort();
    expected_lf.sort();
    assert!(
        on_disk == expected_lf,
        "the Maildir differs from what was appended"
    );

    let mut m = server.open("INBOX");
    let sel = m.select("INBOX").unwrap();
    assert_eq!(sel.exists as usize, corpus.len());
    assert_eq!(sel.uidnext as usize, corpus.len() + 1);
    let mut got = Vec::new();
    let mut after = 0;
    let start = std::time::Instant::now();
    loop {
        let batch = m.fetch_since(after, 128).unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 128);
        assert!(batch.windows(2).all(|w| w[0].uid < w[1].uid), "UID order");
        after = batch.last().unwrap().uid;
        got.extend(batch);
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes: u64 = got.iter().map(|f| f.size).sum();
    eprintln!(
        "imap read: {} messages, {:.1} MB in {secs:.2} s ({:.0} messages/s)",
        got.len(),
        bytes as f64 / 1e6,
        got.len() as f64 / secs
    );
    assert_eq!(got.len(), corpus.len());
    for (f, (path, raw)) in got.iter().zip(&corpus) {
        let body = f
            .content
            .as_ref()
            .unwrap_or_else(|e| panic!("UID {}: {e}", f.uid));
        assert!(
            body == raw,
            "UID {} differs from {} ({} bytes against {})",
            f.uid,
            path.display(),
            body.len(),
            raw.len()
        );
        assert_eq!(
            f.size as usize,
            raw.len(),
            "RFC822.SIZE of {}",
            path.display()
        );
    }
    // Past the end: nothing, even though `N:*` on the server matches the last message.
    assert!(m.fetch_since(after, 10).unwrap().is_empty());

    let flags = m.flags("1:*").unwrap();
    assert_eq!(flags.len(), corpus.len());
    let seen: Vec<u32> = flags
        .iter()
        .filter(|(_, f)| f.iter().any(|x| x == "\\Seen"))
        .map(|(u, _)| *u)
        .collect();
    assert!(seen.is_empty(), "marked read by the fetch: {seen:?}");
}

#[test]
fn imap_a_message_over_the_cap_is_an_error_item_and_the_batch_goes_on() {
    let server = Dovecot::start();
    let mut m = server.open("INBOX");
    let big = note(2, &"x".repeat(20_000));
    for raw in [note(1, "small"), big.clone(), note(3, "small too")] {
        m.append("INBOX", &raw, "").unwrap();
    }
    let mut cfg = server.config("INBOX");
    cfg.max_size = 10_000;
    let mut capped = ImapMailbox::connect(cfg).unwrap();
    capped.select("INBOX").unwrap();
    let got = capped.fetch_since(0, 10).unwrap();
    assert_eq!(got.iter().map(|f| f.uid).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(got[0].content.as_deref().ok(), Some(&note(1, "small")[..]));
    assert_eq!(
        got[1].content,
        Err(MessageError::TooLarge {
            size: big.len() as u64,
            limit: 10_000
        })
    );
    assert_eq!(
        got[2].content.as_deref().ok(),
        Some(&note(3, "small too")[..])
    );
}

#[test]
fn imap_source_reads_the_folder_once_and_continues_from_its_cursor() {
    let server = Dovecot::start();
    let mut m = server.open("INBOX");
    for n in 1..=5 {
        m.append("INBOX", &note(n, "please call me back"), "")
            .unwrap();
    }
    let url = server.url("INBOX");
    let (mut src, resume) = ImapSource::open(m, &url, None, HashSet::new(), 2).unwrap();
    assert_eq!(resume, Resume::Fresh);
    let uidvalidity = src.selection().uidvalidity;
    let first: Vec<_> = src.by_ref().take(3).collect();
    assert!(src.take_error().is_none());
    let ids: Vec<&str> = first.iter().map(|msg| msg.id.as_str()).collect();
    let want = |uid| url.message_id(uidvalidity, uid);
    assert_eq!(ids, [want(1), want(2), want(3)]);
    assert_eq!(first[0].provenance.kind, SourceKind::Imap);
    assert_eq!(first[0].provenance.index, Some(1));
    assert!(
        matches!(&first[2].content, Ok(Content::Raw(r)) if *r == note(3, "please call me back"))
    );

    // The records of UIDs 1..3 are safe: the cursor moves to 3; a new read starts at 4.
    let mut cursor = src.cursor().clone();
    cursor.advance(3);
    let (src, resume) =
        ImapSource::open(server.open("INBOX"), &url, Some(cursor), HashSet::new(), 2).unwrap();
    assert_eq!(resume, Resume::Continue { after: 3 });
    let rest: Vec<u64> = src.map(|msg| msg.provenance.index.unwrap()).collect();
    assert_eq!(rest, [4, 5]);
}

#[test]
fn imap_source_turns_an_oversized_message_into_an_error_record() {
    let server = Dovecot::start();
    let mut m = server.open("INBOX");
    m.append("INBOX", &note(1, &"y".repeat(5_000)), "").unwrap();
    m.append("INBOX", &note(2, "fine"), "").unwrap();
    let mut cfg = server.config("INBOX");
    cfg.max_size = 2_000;
    let capped = ImapMailbox::connect(cfg).unwrap();
    let (src, _) =
        ImapSource::open(capped, &server.url("INBOX"), None, HashSet::new(), 10).unwrap();
    let all: Vec<_> = src.collect();
    assert_eq!(all.len(), 2);
    assert!(matches!(
        all[0].content,
        Err(EmailError::TooLarge { limit: 2_000, .. })
    ));
    assert!(all[1].content.is_ok());
}
