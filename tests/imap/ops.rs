//! Showing answers in the mailbox: keywords set and read back, a message moved (with MOVE and,
//! on a server without it, with COPY), and nothing else touched.

use mailroom::email::sources::imap::{ImapError, Mailbox, Moved};

use super::{note, Dovecot};

fn flags_of(m: &mut mailroom::email::sources::imap::ImapMailbox, uid: u32) -> Vec<String> {
    let mut f = m
        .flags(&uid.to_string())
        .unwrap()
        .into_iter()
        .find(|(u, _)| *u == uid)
        .map(|(_, f)| f)
        .unwrap_or_else(|| panic!("no UID {uid}"));
    f.retain(|x| x != "\\Recent");
    f.sort();
    f
}

#[test]
fn imap_keywords_are_set_and_read_back_on_that_message_only() {
    let server = Dovecot::start();
    let mut m = server.open("INBOX");
    for n in 1..=3 {
        m.append("INBOX", &note(n, "my bin was not collected"), "")
            .unwrap();
    }
    let sel = m.select("INBOX").unwrap();
    assert!(sel.keywords_allowed, "Dovecot lets clients create keywords");
    m.set_keywords(2, &["$MailroomUrgent", "$MailroomReview"])
        .unwrap();
    m.set_keywords(2, &["$MailroomUrgent"]).unwrap(); // again: no change, no error

    // Read back over a fresh connection, as a mail client would see them.
    let mut reader = server.open("INBOX");
    assert_eq!(
        flags_of(&mut reader, 2),
        ["$MailroomReview", "$MailroomUrgent"]
    );
    assert!(flags_of(&mut reader, 1).is_empty());
    assert!(flags_of(&mut reader, 3).is_empty());

    for bad in ["\\Seen", "\\Deleted", "two words"] {
        let e = m.set_keywords(1, &["$MailroomJunk", bad]).unwrap_err();
        assert!(matches!(e, ImapError::Keyword { .. }), "{bad}: {e}");
    }
    assert!(
        flags_of(&mut reader, 1).is_empty(),
        "a refused list sets nothing"
    );
    let e = m.set_keywords(99, &["$MailroomJunk"]).unwrap_err();
    assert!(matches!(e, ImapError::NoSuchMessage { uid: 99, .. }), "{e}");
}

#[test]
fn imap_move_takes_one_message_to_the_junk_folder() {
    let server = Dovecot::start();
    let mut m = server.open("INBOX");
    for n in 1..=3 {
        m.append("INBOX", &note(n, "cheap watches"), "").unwrap();
    }
    m.select("INBOX").unwrap();
    assert_eq!(m.move_to(2, "Junk").unwrap(), Moved::Moved);

    let mut inbox = server.open("INBOX");
    let left: Vec<u32> = inbox
        .fetch_since(0, 10)
        .unwrap()
        .iter()
        .map(|f| f.uid)
        .collect();
    assert_eq!(left, [1, 3]);
    let mut junk = server.open("Junk");
    let moved = junk.fetch_since(0, 10).unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        moved[0].content.as_deref().ok(),
        Some(&note(2, "cheap watches")[..])
    );
    assert!(!flags_of(&mut junk, moved[0].uid).contains(&"\\Seen".to_string()));

    let e = m.move_to(2, "Junk").unwrap_err();
    assert!(matches!(e, ImapError::NoSuchMessage { uid: 2, .. }), "{e}");
    let e = m.move_to(1, "No Such Folder").unwrap_err().to_string();
    assert!(
        e.contains("No Such Folder") && e.contains("does not exist"),
        "{e}"
    );
}

#[test]
fn imap_move_without_the_move_extension_expunges_only_the_moved_message() {
    // Dovecot's capabilities without MOVE: the client must COPY, flag and UID EXPUNGE.
    let server = Dovecot::start_with(
        "protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID \
         ENABLE IDLE SORT THREAD=REFERENCES UIDPLUS UNSELECT CHILDREN NAMESPACE\n}\n",
    );
    let mut m = server.open("INBOX");
    for n in 1..=3 {
        m.append("INBOX", &note(n, "win a prize"), "").unwrap();
    }
    // The clerk had marked message 4 deleted in their client, not yet purged.
    m.append("INBOX", &note(4, "old draft"), "\\Deleted")
        .unwrap();
    m.select("INBOX").unwrap();
    assert_eq!(m.move_to(2, "Junk").unwrap(), Moved::CopiedAndExpunged);

    let mut inbox = server.open("INBOX");
    let left: Vec<u32> = inbox
        .fetch_since(0, 10)
        .unwrap()
        .iter()
        .map(|f| f.uid)
        .collect();
    assert_eq!(left, [1, 3, 4], "only the moved message left the folder");
    assert_eq!(flags_of(&mut inbox, 4), ["\\Deleted"]);
    let mut junk = server.open("Junk");
    let moved = junk.fetch_since(0, 10).unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        moved[0].content.as_deref().ok(),
        Some(&note(2, "win a prize")[..])
    );
    assert!(
        flags_of(&mut junk, moved[0].uid).is_empty(),
        "the copy carries no \\Deleted"
    );
}
