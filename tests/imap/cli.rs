//! Driving the `mailroom` binary against the test Dovecot: the login flags, a watcher process
//! (started, waited on, stopped with SIGTERM or killed with SIGKILL) and reading what it wrote.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Dovecot, PASSWORD};
use crate::util::root;

/// The test user's password in a file, and the flags that log in with it.
pub struct Login {
    _dir: tempfile::TempDir,
    /// `--ca-file CA --password-file FILE`.
    pub args: Vec<String>,
}

impl Login {
    /// The login of the test user on `server`, trusting its CA.
    pub fn new(server: &Dovecot) -> Login {
        Login::with_password(server, PASSWORD)
    }

    /// A login with another password.
    pub fn with_password(server: &Dovecot, password: &str) -> Login {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, format!("{password}\n")).unwrap();
        Login {
            args: vec![
                "--ca-file".into(),
                server.ca().display().to_string(),
                "--password-file".into(),
                file.display().to_string(),
            ],
            _dir: dir,
        }
    }
}

/// `imaps://clerk%40dept.example@127.0.0.1:PORT/FOLDER` as a user types it.
pub fn url(server: &Dovecot, folder: &str) -> String {
    format!(
        "imaps://clerk%40dept.example@127.0.0.1:{}/{folder}",
        server.tls_port
    )
}

/// Run `mailroom ARGS…` in the repository (so it finds the models) and wait for it.
pub fn mailroom(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .current_dir(root())
        .env_remove("MAILROOM_IMAP_PASSWORD")
        .args(args)
        .output()
        .expect("mailroom runs")
}

/// A free loopback port.
pub fn free_port() -> u16 {
    super::free_port()
}

/// A `mailroom watch` process.
pub struct Watcher {
    child: Option<Child>,
    stderr: PathBuf,
}

impl Watcher {
    /// Start `mailroom watch URL LOGIN… ARGS…`, its stderr in `dir/watch-N.log`.
    pub fn start(url: &str, login: &Login, args: &[&str], dir: &Path) -> Watcher {
        let n = std::fs::read_dir(dir).map_or(0, |d| d.count());
        let stderr = dir.join(format!("watch-{n}.log"));
        let log = std::fs::File::create(&stderr).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mailroom"))
            .current_dir(root())
            .env_remove("MAILROOM_IMAP_PASSWORD")
            .arg("watch")
            .arg(url)
            .args(&login.args)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mailroom watch starts");
        Watcher {
            child: Some(child),
            stderr,
        }
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Wait until `done()` holds, or fail after `limit` (or when the watcher exits).
    pub fn wait_until(&mut self, limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !done() {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!(
                    "the watcher exited ({status}) before {what}:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {limit:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then wait (at most `limit`) for it to exit.
    pub fn terminate(mut self, limit: Duration) -> (ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -TERM {}", child.id()))
            .status();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status, self.stderr());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "the watcher did not stop within {limit:?} of SIGTERM:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL (`kill -9`): no chance to finish anything.
    pub fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The complete JSON lines of `path` (a torn last line is left out).
pub fn records(path: &Path) -> Vec<Value> {
    let text = std::fs::read(path).unwrap_or_default();
    let complete = text
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&text[..0], |i| &text[..=i]);
    String::from_utf8_lossy(complete)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// How many records each message hash has.
pub fn by_hash(records: &[Value]) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for r in records {
        let sha = r["input_sha256"].as_str().expect("a hash").to_string();
        *n.entry(sha).or_insert(0) += 1;
    }
    n
}

/// The records in a store (`sqlite:PATH`), through `mailroom export`.
pub fn store_records(store: &str) -> Vec<Value> {
    let out = mailroom(&["export".into(), "--store".into(), store.into()]);
    assert!(
        out.status.success(),
        "export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// How many messages a SQLite store holds (read while the watcher writes).
pub fn store_count(db: &Path) -> i64 {
    if !db.exists() {
        return 0;
    }
    let url = format!("sqlite:{}", db.display());
    match mailroom::store::BlockingStore::open(&url) {
        Ok(s) => s.block_on(s.store().count()).unwrap_or(0),
        Err(_) => 0,
    }
}

/// How many jobs a SQLite store's queue holds, in any state.
pub fn job_count(db: &Path) -> i64 {
    if !db.exists() {
        return 0;
    }
    let url = format!("sqlite:{}", db.display());
    match mailroom::store::BlockingStore::open(&url) {
        Ok(s) => s
            .block_on(s.store().job_counts())
            .map(|c| c.queued + c.claimed + c.done + c.failed)
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// `GET /metrics` on 127.0.0.1:`port`: each sample's value by name.
pub fn metrics(port: u16) -> HashMap<String, f64> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("the metrics port answers");
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |b| b.1);
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// The `$Mailroom…` keywords and whether `\Seen` is set, by message hash, for every message of
/// `folder` (read over a fresh connection, as a mail client would).
pub fn marks_in(server: &Dovecot, folder: &str) -> HashMap<String, (Vec<String>, bool)> {
    use mailroom::email::sources::imap::{sha256_hex, Mailbox};
    let mut m = server.open(folder);
    let flags: HashMap<u32, Vec<String>> = m.flags("1:*").unwrap().into_iter().collect();
    let mut out = HashMap::new();
    for f in m.fetch_since(0, 100_000).unwrap() {
        let raw = f.content.unwrap();
        let all = flags.get(&f.uid).cloned().unwrap_or_default();
        let seen = all.iter().any(|x| x == "\\Seen");
        let mut ours: Vec<String> = all
            .into_iter()
            .filter(|x| x.starts_with("$Mailroom"))
            .collect();
        ours.sort();
        out.insert(sha256_hex(&raw), (ours, seen));
    }
    out
}
