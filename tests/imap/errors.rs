//! Clear errors: a wrong password, an untrusted certificate, a folder that does not exist,
//! plaintext, a silent server; and XOAUTH2 with a token file.

use std::time::{Duration, Instant};

use mailroom::email::sources::imap::{
    Backoff, Credentials, ImapConfig, ImapError, ImapMailbox, ImapUrl, Mailbox, Secret, Timeouts,
    TlsRoots,
};

use super::{Dovecot, PASSWORD, TOKEN};

fn connect_err(cfg: ImapConfig) -> ImapError {
    match ImapMailbox::connect(cfg) {
        Ok(_) => panic!("connected, but it should not have"),
        Err(e) => e,
    }
}

#[test]
fn imap_wrong_password_is_an_authentication_error_without_the_password() {
    let server = Dovecot::start();
    let mut cfg = server.config("INBOX");
    cfg.credentials = Credentials::Password(Secret::new("not-the-password"));
    let start = Instant::now();
    let e = connect_err(cfg);
    assert!(matches!(e, ImapError::Auth { .. }), "{e:?}");
    assert!(!e.is_transient());
    let text = format!("{e:#}");
    assert!(text.contains("authentication failed"), "{text}");
    assert!(
        !text.contains("not-the-password") && !text.contains("clerk"),
        "{text}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "no retries on a refused login"
    );
}

#[test]
fn imap_untrusted_certificate_is_named_as_such() {
    let server = Dovecot::start();
    let mut cfg = server.config("INBOX");
    cfg.roots = TlsRoots::CaFile(server.other_ca());
    let e = connect_err(cfg);
    assert!(matches!(e, ImapError::Certificate { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("not trusted") && text.contains("CA file"),
        "{text}"
    );
}

#[test]
fn imap_missing_folder_is_a_clear_error() {
    let server = Dovecot::start();
    let mut m = ImapMailbox::connect(server.config("Cases/2025")).unwrap();
    let e = m.select("Cases/2025").unwrap_err();
    assert!(matches!(e, ImapError::NoSuchFolder { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("Cases/2025") && text.contains("does not exist"),
        "{text}"
    );
    // The connection is still good.
    assert!(m.select("INBOX").is_ok());
    let e = m.fetch_since(0, 1);
    assert!(e.is_ok(), "{e:?}");
}

#[test]
fn imap_plaintext_works_on_loopback_and_is_refused_elsewhere() {
    let server = Dovecot::start();
    let mut cfg = server.config("INBOX");
    cfg.url = ImapUrl::parse(&format!(
        "imap://clerk%40dept.example@127.0.0.1:{}/INBOX",
        server.plain_port
    ))
    .unwrap();
    let mut m = ImapMailbox::connect(cfg.clone()).unwrap();
    m.append("INBOX", &super::note(1, "over plaintext"), "")
        .unwrap();
    m.select("INBOX").unwrap();
    assert_eq!(m.fetch_since(0, 5).unwrap().len(), 1);

    cfg.url = ImapUrl::parse("imap://clerk@mail.example.org/INBOX").unwrap();
    let e = connect_err(cfg);
    assert!(matches!(e, ImapError::PlaintextRefused { .. }), "{e:?}");
}

#[test]
fn imap_xoauth2_with_a_token_file() {
    let server = Dovecot::start();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let mut cfg = server.config("INBOX");
    cfg.url = ImapUrl::parse(&format!(
        "imaps://robot%40dept.example@127.0.0.1:{}/",
        server.tls_port
    ))
    .unwrap();
    cfg.credentials = Credentials::OAuth2(Secret::from_file(&token_file).unwrap());
    let mut m = ImapMailbox::connect(cfg.clone()).unwrap();
    let sel = m.select("INBOX").unwrap();
    assert_eq!(sel.exists, 0);

    cfg.credentials = Credentials::OAuth2(Secret::new(PASSWORD.replace(' ', "")));
    let e = connect_err(cfg);
    assert!(
        matches!(
            e,
            ImapError::Auth {
                mechanism: "XOAUTH2",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn imap_a_server_that_never_answers_times_out() {
    // A listener that accepts and stays silent: no greeting ever comes.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        let conn = listener.accept();
        std::thread::sleep(Duration::from_secs(4));
        drop(conn);
    });
    let mut cfg = ImapConfig::new(
        ImapUrl::parse(&format!("imap://clerk@127.0.0.1:{port}/")).unwrap(),
        Credentials::Password(Secret::new("x")),
    );
    cfg.timeouts = Timeouts {
        connect: Duration::from_secs(1),
        command: Duration::from_secs(1),
    };
    cfg.backoff = Backoff {
        attempts: 0,
        ..Backoff::default()
    };
    let start = Instant::now();
    let e = connect_err(cfg);
    assert!(
        matches!(e, ImapError::Timeout { op: "greeting", .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("no answer within 1s"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(3));
    hold.join().unwrap();
}

#[test]
fn imap_connection_refused_is_retried_then_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = ImapConfig::new(
        ImapUrl::parse(&format!("imap://clerk@127.0.0.1:{port}/")).unwrap(),
        Credentials::Password(Secret::new("x")),
    );
    cfg.backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(100),
        attempts: 3,
    };
    let start = Instant::now();
    let e = connect_err(cfg);
    assert!(matches!(e, ImapError::Connect { .. }), "{e:?}");
    assert!(e.is_transient());
    // 50 + 100 + 100 ms of backoff between the four attempts.
    assert!(start.elapsed() >= Duration::from_millis(250));
}
