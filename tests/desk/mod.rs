//! The desk as people and tools use it, on SQLite and on a real PostgreSQL server (the store
//! tests' server, `crate::store::pg_server`):
//!
//! - `browser.rs`: the real binary and a real headless Chromium driven over WebDriver: log in,
//!   the queue of the triaged example inbox, an urgent message with its marks, a correction with
//!   the keyboard, hostile messages shown as text, log out; screenshots in
//!   `target/desk-screenshots/`.
//! - `learning.rs`: learning from corrections in a real browser: correct, train, compare,
//!   promote, and the next message decided by the new head.
//! - `api.rs`: the JSON contract and the OpenAPI document, in process.
//! - `replies.rs`: the suggested standard lines on the message page, in process and in the
//!   browser.
//! - `security.rs`: sessions, CSRF, roles, the login limit, hostile text, in process.
//!
//! This file holds the helpers: databases, an in-process client with a cookie, the real server
//! and the browser.

mod api;
mod browser;
mod groups;
mod learning;
mod replies;
mod security;

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use mailroom::desk::{self, DeskConfig, DeskState};
use mailroom::store::{Role, Store};
use tower::ServiceExt;

/// A database for one test case, and what keeps it alive.
pub struct Db {
    /// Its store URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A new SQLite or PostgreSQL database.
pub async fn db(postgres: bool) -> Db {
    if postgres {
        let server = crate::store::pg_server::server();
        Db {
            url: server.fresh_db().await,
            _dir: None,
        }
    } else {
        let dir = tempfile::tempdir().unwrap();
        Db {
            url: format!("sqlite:{}", dir.path().join("desk.db").display()),
            _dir: Some(dir),
        }
    }
}

/// Run an async case on a runtime of its own.
pub fn run<F: Future<Output = ()>>(case: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(case)
}

/// One case, as a test on each engine: `both!(name, |postgres| async move { ... });`
macro_rules! both {
    ($name:ident, $case:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                crate::desk::run(($case)(false));
            }

            #[test]
            fn postgres() {
                crate::desk::run(($case)(true));
            }
        }
    };
}
pub(crate) use both;

/// The password every test account has.
pub const PASSWORD: &str = "correct horse battery";

/// A desk in process: the router over a store, with a reviewer `ann` and an admin `boss`.
pub struct Local {
    /// The store.
    pub store: Store,
    /// The desk's state (to hand it an engine, or not).
    pub state: DeskState,
    _db: Db,
}

impl Local {
    /// A desk over a new database with default settings.
    pub async fn new(postgres: bool) -> Local {
        Local::with(postgres, DeskConfig::default()).await
    }

    /// A desk over a new database with these settings.
    pub async fn with(postgres: bool, config: DeskConfig) -> Local {
        let db = db(postgres).await;
        let store = Store::open(&db.url).await.unwrap();
        store
            .add_account("test", "ann", Role::Reviewer, PASSWORD)
            .await
            .unwrap();
        store
            .add_account("test", "boss", Role::Admin, PASSWORD)
            .await
            .unwrap();
        let state = DeskState::new(store.clone(), config);
        Local {
            store,
            state,
            _db: db,
        }
    }

    /// Send one request.
    pub async fn send(&self, req: Request<Body>) -> Answer {
        let res = desk::app(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Log in (as the browser would: a form POST) and return the session.
    pub async fn login(&self, name: &str) -> Session {
        let a = self
            .send(form(
                "/login",
                None,
                &[("username", name), ("password", PASSWORD)],
            ))
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
        let cookie = a.cookie().expect("a session cookie");
        let s = self.send(get("/api/session", Some(&cookie))).await.json();
        Session {
            cookie,
            csrf: s["csrf_token"].as_str().unwrap().to_string(),
        }
    }
}

/// A logged-in session: the cookie to send and the CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    /// `mailroom_session=...`.
    pub cookie: String,
    /// The CSRF token.
    pub csrf: String,
}

/// An answer.
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: axum::http::HeaderMap,
    /// Its body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    /// The session cookie set, as `name=value`.
    pub fn cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(desk::SESSION_COOKIE))
            .map(|v| v.split(';').next().unwrap_or("").to_string())
    }

    /// Where a redirect goes.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }
}

/// A GET, with a cookie when given.
pub fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path).header(header::HOST, "desk.test");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::empty()).unwrap()
}

/// A form POST (`application/x-www-form-urlencoded`), with a cookie when given.
pub fn form(path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Request<Body> {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut r = Request::post(path)
        .header(header::HOST, "desk.test")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::from(body)).unwrap()
}

/// Percent-encode a form value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A JSON POST with a session and a CSRF token (either may be left out).
pub fn post_json(
    path: &str,
    cookie: Option<&str>,
    csrf: Option<&str>,
    body: serde_json::Value,
) -> Request<Body> {
    let mut r = Request::post(path)
        .header(header::HOST, "desk.test")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    if let Some(t) = csrf {
        r = r.header("x-csrf-token", t);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The real binary and a real browser.

/// `mailroom desk` on a free loopback port; killed when dropped.
pub struct Server {
    /// Its port.
    pub port: u16,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Start `mailroom desk --store URL` (extractive summaries for its API: no generator).
    pub fn start(url: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailroom"))
            .current_dir(crate::util::root())
            .args([
                "desk",
                "--store",
                url,
                "--port",
                "0",
                "--summary",
                "extractive",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mailroom desk starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("mailroom: desk on http://127.0.0.1:") {
                    let _ = tx.send(addr.parse::<u16>().ok());
                }
                eprintln!("[desk] {line}");
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .ok()
            .flatten()
            .expect("the desk says where it listens");
        Server { port, child }
    }

    /// The base URL.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP/1.1 request over TCP: `(status, headers, body)`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, Vec<u8>) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        let split = all
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer");
        let head = String::from_utf8_lossy(&all[..split]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut body = all[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        (status, head, body)
    }

    /// Log in over TCP: the cookie and the CSRF token.
    pub fn login(&self, name: &str) -> Session {
        let body = format!("username={name}&password=correct%20horse%20battery");
        let (status, head, _) = self.request(
            "POST",
            "/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        );
        assert_eq!(status, 303, "{head}");
        let cookie = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.eq_ignore_ascii_case("set-cookie")).then(|| v.trim().to_string())
            })
            .and_then(|v| v.split(';').next().map(str::to_string))
            .expect("a session cookie");
        let (_, _, body) = self.request("GET", "/api/session", &[("Cookie", &cookie)], b"");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        Session {
            cookie,
            csrf: v["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    /// Give the desk a message through `POST /api/messages`, waiting for the models to load.
    pub fn add_message(&self, s: &Session, raw: &[u8]) -> serde_json::Value {
        let t = Instant::now();
        loop {
            let (status, head, body) = self.request(
                "POST",
                "/api/messages",
                &[
                    ("Cookie", &s.cookie),
                    ("X-CSRF-Token", &s.csrf),
                    ("Content-Type", "message/rfc822"),
                ],
                raw,
            );
            match status {
                200 | 201 => return serde_json::from_slice(&body).unwrap(),
                503 if t.elapsed() < Duration::from_secs(300) => {
                    std::thread::sleep(Duration::from_millis(500))
                }
                _ => panic!(
                    "POST /api/messages: {status} {head} {}",
                    String::from_utf8_lossy(&body)
                ),
            }
        }
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
    out
}

/// Add the test accounts with the binary (`desk user add`), as an operator would.
pub fn add_accounts(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    for (name, role) in [("ann", "reviewer"), ("boss", "admin")] {
        crate::util::mailroom_ok(&[
            "desk",
            "user",
            "add",
            name,
            "--role",
            role,
            "--password-file",
            pw.to_str().unwrap(),
            "--store",
            url,
        ]);
    }
    let out = crate::util::mailroom_ok(&["desk", "user", "list", "--store", url]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("ann\treviewer\tactive"), "{list}");
    assert!(list.contains("boss\tadmin\tactive"), "{list}");
}

/// Where the browser tests leave their screenshots.
pub fn screenshots() -> std::path::PathBuf {
    let dir = crate::util::root().join("target/desk-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `chromedriver` on a free loopback port driving a headless Chromium with its own profile;
/// both end when dropped.
pub struct Browser {
    /// The WebDriver client.
    pub client: fantoccini::Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Start the driver and a browser session.
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver runs (install Chromium and its driver: \
                 apt-get install -y chromium chromium-driver; .ci/run does)",
            );
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--window-size=1366,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let t = Instant::now();
        let client = loop {
            let attempt = fantoccini::ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
            match attempt {
                Ok(c) => break c,
                Err(e) if t.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("cannot start a Chromium session: {e}"),
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Save a screenshot as `target/desk-screenshots/NAME.png`.
    pub async fn screenshot(&self, name: String) {
        match self.client.screenshot().await {
            Ok(png) => std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap(),
            Err(e) => eprintln!("screenshot {name}: {e}"),
        }
    }

    /// End the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
