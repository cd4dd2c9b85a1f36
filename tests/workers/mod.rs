//! Workers over a real PostgreSQL (started by the test on loopback, see
//! `tests/store/pg_server.rs`) and serve replicas behind a real load balancer: the built binary
//! run as separate processes, killed and restarted the way an operator or a machine would.

mod kill;
mod measure;
mod parked;
mod replicas;
mod restart;

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{mailroom_ok, root};

/// A worker process; killed (SIGKILL) if the test ends without stopping it.
pub struct WorkerProc {
    pub id: String,
    pub child: Child,
    pub log: PathBuf,
}

impl WorkerProc {
    /// Start `mailroom worker --store URL --worker-id ID ARGS...`, its stderr in `dir/ID.log`.
    pub fn start(dir: &Path, url: &str, id: &str, args: &[&str]) -> WorkerProc {
        let log = dir.join(format!("{id}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_mailroom"))
            .current_dir(root())
            .args(["worker", "--store", url, "--worker-id", id])
            .args(args)
            .env_remove("MAILROOM_STORE")
            .env_remove("MAILROOM_METRICS_PORT")
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("mailroom worker starts");
        WorkerProc {
            id: id.to_string(),
            child,
            log,
        }
    }

    /// What the worker wrote on stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Send a signal (`TERM`, `KILL`, `STOP`, `CONT`).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{sig} {}", self.id);
    }

    /// Wait for the process to end (at most `limit`).
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                t.elapsed() < limit,
                "worker {} did not stop; its log:\n{}",
                self.id,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then insist that it finished cleanly.
    pub fn stop(&mut self) {
        self.signal("TERM");
        let status = self.wait(Duration::from_secs(120));
        assert!(
            status.success(),
            "worker {} exited {status}:\n{}",
            self.id,
            self.log()
        );
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The metrics port it printed.
    pub fn metrics_port(&self, limit: Duration) -> u16 {
        let t = Instant::now();
        loop {
            let log = self.log();
            if let Some(rest) = log.split("mailroom: metrics on http://").nth(1) {
                let addr = rest.split('/').next().unwrap();
                return addr.rsplit(':').next().unwrap().parse().unwrap();
            }
            assert!(t.elapsed() < limit, "no metrics port in:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A tokio runtime for the test's own store queries.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One query's rows as (i64, Option<String>) pairs, on a fresh connection.
pub fn jobs_where(url: &str, filter: &str) -> Vec<(i64, i64, Option<String>)> {
    use sqlx::{Connection, Row};
    rt().block_on(async {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let rows = sqlx::query(&format!(
            "SELECT id, attempts, worker_id FROM jobs WHERE {filter} ORDER BY id"
        ))
        .fetch_all(&mut c)
        .await
        .unwrap();
        rows.iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    })
}

/// `queue status --json`.
pub fn status(url: &str) -> Value {
    let out = mailroom_ok(&["queue", "status", "--json", "--store", url]);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Wait until `done(status)` holds, checking every 100 ms, at most `limit`; the workers' logs
/// are shown when it never does.
pub fn wait_for(
    url: &str,
    limit: Duration,
    workers: &[&WorkerProc],
    done: impl Fn(&Value) -> bool,
) {
    let t = Instant::now();
    loop {
        let s = status(url);
        if done(&s) {
            return;
        }
        if t.elapsed() > limit {
            for w in workers {
                eprintln!("--- {}\n{}", w.id, w.log());
            }
            panic!("the queue never got there: {s}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every stored record (`export`), keyed by message hash; panics on a hash stored twice.
pub fn exported(url: &str) -> HashMap<String, Value> {
    let out = mailroom_ok(&["export", "--store", url]);
    let mut by_sha = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut r: Value = serde_json::from_str(line).unwrap();
        let sha = r["desk"]["sha256"].as_str().unwrap().to_string();
        r.as_object_mut().unwrap().remove("desk");
        assert!(
            by_sha.insert(sha.clone(), r).is_none(),
            "{sha} stored twice"
        );
    }
    by_sha
}

/// Every stored record as the worker wrote it (the `records` table, not `export`, which applies
/// the desk's corrections), keyed by message hash; panics on a hash stored twice.
pub fn stored_records(url: &str) -> HashMap<String, Value> {
    use sqlx::{Connection, Row};
    const Q: &str =
        "SELECT m.sha256, r.record_json FROM records r JOIN messages m ON m.id = r.message_id";
    let rows: Vec<(String, String)> = rt().block_on(async {
        if url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            let rows = sqlx::query(Q).fetch_all(&mut c).await.unwrap();
            rows.iter().map(|r| (r.get(0), r.get(1))).collect()
        } else {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            let rows = sqlx::query(Q).fetch_all(&mut c).await.unwrap();
            rows.iter().map(|r| (r.get(0), r.get(1))).collect()
        }
    });
    let mut by_sha = HashMap::new();
    for (sha, json) in rows {
        let r: Value = serde_json::from_str(&json).unwrap();
        assert!(
            by_sha.insert(sha.clone(), r).is_none(),
            "{sha} stored twice"
        );
    }
    by_sha
}

/// `triage` of `inputs` with `args`, keyed by message hash.
pub fn triaged(inputs: &[&Path], args: &[&str]) -> HashMap<String, Value> {
    let mut all: Vec<&str> = vec!["triage"];
    all.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    all.extend(args);
    let out = crate::util::mailroom(&all);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let r: Value = serde_json::from_str(l).unwrap();
            (r["input_sha256"].as_str().unwrap().to_string(), r)
        })
        .collect()
}

/// A record without what differs between two runs of the same build on the same input: the
/// timings.
pub fn timeless(r: &Value) -> Value {
    let mut r = r.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("timings_ms");
        if let Some(s) = o.get_mut("summary").and_then(Value::as_object_mut) {
            s.remove("timings");
        }
    }
    r
}

/// Insist that the stored records are exactly triage's, timings aside.
pub fn assert_same_records(stored: &HashMap<String, Value>, triage: &HashMap<String, Value>) {
    assert_eq!(stored.len(), triage.len(), "one record per message");
    let mut differ = 0;
    for (sha, t) in triage {
        let s = stored
            .get(sha)
            .unwrap_or_else(|| panic!("message {sha} has no stored record"));
        if timeless(s) != timeless(t) {
            if differ == 0 {
                eprintln!("stored: {}\ntriage: {}", timeless(s), timeless(t));
            }
            differ += 1;
        }
    }
    assert_eq!(differ, 0, "stored records that differ from triage's");
}

/// The first `n` messages of a `../shared/data` set (files in name order, labels left out),
/// copied into `dir/mail` as `NNNN.eml`; `None` (with a notice) when the data is absent.
pub fn real_mail(set: &str, n: usize, dir: &Path) -> Option<PathBuf> {
    let src = crate::util::shared_data(set)?;
    let mut files = walk(&src);
    files.sort();
    assert!(files.len() >= n, "{set} has {} messages", files.len());
    files.truncate(n);
    let mail = dir.join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    for (i, f) in files.iter().enumerate() {
        std::fs::copy(f, mail.join(format!("{i:04}.eml"))).unwrap();
    }
    Some(mail)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_none_or(|x| x != "csv" && x != "md") {
            out.push(p);
        }
    }
    out
}

/// `GET path` on a loopback port: the status and the body.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {raw:?}")))?;
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// A free loopback port (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
