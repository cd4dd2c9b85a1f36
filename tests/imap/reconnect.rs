//! The network and the server misbehaving: Dovecot restarted under a connected client (idle
//! or not), IDLE and polling waking on new mail, and a renumbered folder (UIDVALIDITY change)
//! handled by message hash.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use mailroom::email::sources::imap::{sha256_hex, ImapError, ImapSource, Mailbox, Resume, Wake};

use super::{note, Dovecot};

#[test]
fn imap_dovecot_restarted_while_connected_the_client_reconnects() {
    let mut server = Dovecot::start();
    let mut m = server.open("INBOX");
    for n in 1..=2 {
        m.append("INBOX", &note(n, "before the restart"), "")
            .unwrap();
    }
    assert_eq!(m.fetch_since(0, 10).unwrap().len(), 2);
    let before = m.select("INBOX").unwrap();
    assert_eq!(m.stats().reconnects, 0);

    server.restart();
    server
        .open("INBOX")
        .append("INBOX", &note(3, "after the restart"), "")
        .unwrap();

    let got = m
        .fetch_since(2, 10)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", server.log()));
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].content.as_deref().ok(),
        Some(&note(3, "after the restart")[..])
    );
    assert_eq!(m.stats().reconnects, 1);
    assert_eq!(m.select("INBOX").unwrap().uidvalidity, before.uidvalidity);
}

#[test]
fn imap_idle_wakes_on_new_mail() {
    let server = Dovecot::start();
    let mut m = server.open("INBOX");
    assert!(m.has_idle());
    let mut writer = server.open("INBOX");
    assert_eq!(
        m.idle_or_poll(Duration::from_millis(300)).unwrap(),
        Wake::Timeout
    );
    let start = Instant::now();
    let (wake, latency) = std::thread::scope(|s| {
        let t = s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            writer.append("INBOX", &note(1, "new mail"), "").unwrap();
            Instant::now()
        });
        let wake = m.idle_or_poll(Duration::from_secs(30)).unwrap();
        let woke = Instant::now();
        (wake, woke.saturating_duration_since(t.join().unwrap()))
    });
    assert_eq!(wake, Wake::Changed);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    eprintln!("imap idle: woke {latency:?} after the APPEND completed");
    assert_eq!(m.fetch_since(0, 10).unwrap().len(), 1);
}

#[test]
fn imap_restart_during_idle_reconnects_and_says_to_fetch() {
    let mut server = Dovecot::start();
    let mut m = server.open("INBOX");
    let start = Instant::now();
    let wake = std::thread::scope(|s| {
        let srv = &mut server;
        s.spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            srv.restart();
            srv.open("INBOX")
                .append("INBOX", &note(1, "sent during the outage"), "")
                .unwrap();
        });
        m.idle_or_poll(Duration::from_secs(30))
    });
    let wake = wake.unwrap_or_else(|e| panic!("{e:#}\n{}", server.log()));
    assert_eq!(wake, Wake::Changed);
    assert!(start.elapsed() < Duration::from_secs(25));
    assert_eq!(m.stats().reconnects, 1);
    let got = m.fetch_since(0, 10).unwrap();
    assert_eq!(got.len(), 1, "the message sent meanwhile is there");
}

#[test]
fn imap_without_idle_the_client_polls() {
    let server = Dovecot::start_with(
        "protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS \
         MOVE UNSELECT NAMESPACE\n}\n",
    );
    let mut m = server.open("INBOX");
    assert!(!m.has_idle());
    let start = Instant::now();
    assert_eq!(
        m.idle_or_poll(Duration::from_millis(500)).unwrap(),
        Wake::Timeout
    );
    assert!(start.elapsed() >= Duration::from_millis(500));
    server
        .open("INBOX")
        .append("INBOX", &note(1, "polled"), "")
        .unwrap();
    assert_eq!(
        m.idle_or_poll(Duration::from_millis(200)).unwrap(),
        Wake::Changed
    );
}

#[test]
fn imap_a_renumbered_folder_is_reported_and_read_again_by_hash() {
    let mut server = Dovecot::start();
    let mut m = server.open("INBOX");
    let old: Vec<Vec<u8>> = (1..=3).map(|n| note(n, "already triaged")).collect();
    for raw in &old {
        m.append("INBOX", raw, "").unwrap();
    }
    let url = server.url("INBOX");
    let (src, _) = ImapSource::open(server.open("INBOX"), &url, None, HashSet::new(), 10).unwrap();
    let mut cursor = src.cursor().clone();
    let done: Vec<_> = src.collect();
    assert_eq!(done.len(), 3);
    cursor.advance(3);
    let known: HashSet<String> = old.iter().map(|r| sha256_hex(r)).collect();

    // The server loses its index (restore from backup, migration): UIDs are renumbered.
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
    server
        .open("INBOX")
        .append("INBOX", &note(4, "new after the change"), "")
        .unwrap();

    // A client connected before sees the change as an error, not as other messages.
    let e = m.fetch_since(3, 10).unwrap_err();
    assert!(matches!(e, ImapError::UidValidityChanged { .. }), "{e:?}");

    let (src, resume) =
        ImapSource::open(server.open("INBOX"), &url, Some(cursor.clone()), known, 10).unwrap();
    let Resume::Renumbered { old: was, new } = resume else {
        panic!("expected a renumbering, got {resume:?}");
    };
    assert_eq!(was, cursor.uidvalidity);
    assert_ne!(new, was);
    let mut src = src;
    let fresh: Vec<_> = src.by_ref().collect();
    assert_eq!(
        src.skipped(),
        3,
        "the three done before are skipped by hash"
    );
    assert_eq!(fresh.len(), 1);
    assert!(matches!(
        &fresh[0].content,
        Ok(mailroom::email::Content::Raw(r)) if *r == note(4, "new after the change")
    ));
}
