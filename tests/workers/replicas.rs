//! Two `serve` replicas behind a real load balancer (HAProxy from the system's packages,
//! installed by `.ci/run`), all on loopback: a replica still loading its models answers 503 on
//! `/readyz` and gets no traffic; once ready, either replica answers, with the same record for
//! the same message (the replicas keep no state); a replica stopped with SIGTERM finishes its
//! requests in flight and leaves the rotation without a client seeing an error.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{free_port, http_get, timeless};
use crate::util::root;

/// A child process killed when the test ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn haproxy() -> PathBuf {
    for p in [
        "/usr/sbin/haproxy",
        "/usr/bin/haproxy",
        "/usr/local/sbin/haproxy",
    ] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("HAProxy is not installed: `apt-get install -y haproxy` (.ci/run does)");
}

fn replica(dir: &Path, name: &str, port: u16) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .current_dir(root())
        .args([
            "serve",
            "--port",
            &port.to_string(),
            "--summary",
            "extractive",
        ])
        .args(["--cpu-threads", "1"])
        .env_remove("MAILROOM_TOKEN")
        .env_remove("MAILROOM_TOKEN_FILE")
        .env_remove("MAILROOM_BIND")
        .env_remove("MAILROOM_PORT")
        .stdout(Stdio::null())
        .stderr(File::create(dir.join(format!("{name}.log"))).unwrap())
        .spawn()
        .expect("mailroom serve starts");
    Proc(child)
}

/// `POST /v1/triage` of `body` (RFC 822) on `port`: status, the `X-Replica` header the load
/// balancer adds, and the body.
fn triage(port: u16, body: &[u8], content_type: &str) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        s,
        "POST /v1/triage HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {raw:?}")))?;
    let replica = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("x-replica")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    Ok((status, replica, body.to_string()))
}

fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < limit, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_replicas_behind_haproxy_either_answers_and_readyz_takes_one_out() {
    let _ = crate::util::store(); // names models/fetch when the models are absent
    let haproxy = haproxy();
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb, lb) = (free_port(), free_port(), free_port());
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n  maxconn 200\n\
             defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  \
             timeout server 60s\n  retries 3\n  option redispatch\n\
             frontend api\n  bind 127.0.0.1:{lb}\n  default_backend replicas\n\
             backend replicas\n  balance roundrobin\n  option httpchk GET /readyz\n  \
             http-check expect status 200\n  default-server inter 200ms fall 1 rise 2\n  \
             http-response set-header X-Replica %s\n  \
             server a 127.0.0.1:{pa} check\n  server b 127.0.0.1:{pb} check\n"
        ),
    )
    .unwrap();
    let check = Command::new(&haproxy)
        .args(["-c", "-q", "-f"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let _lb = Proc(
        Command::new(&haproxy)
            .args(["-db", "-f"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(File::create(dir.path().join("haproxy.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let eml = std::fs::read(root().join("examples/inbox/16-pothole-report.eml")).unwrap();
    let rfc822 = "message/rfc822";

    // Replica a: once ready, the load balancer sends everything to it.
    let mut a = replica(dir.path(), "a", pa);
    wait_until(Duration::from_secs(300), "replica a never ready", || {
        matches!(http_get(pa, "/readyz"), Ok((200, _)))
    });
    wait_until(
        Duration::from_secs(30),
        "the balancer never used a",
        || matches!(triage(lb, &eml, rfc822), Ok((200, r, _)) if r == "a"),
    );

    // Replica b: up but loading (/readyz 503): no traffic reaches it.
    let _b = replica(dir.path(), "b", pb);
    wait_until(Duration::from_secs(60), "replica b never listened", || {
        http_get(pb, "/healthz").is_ok()
    });
    let mut while_loading = 0;
    loop {
        match http_get(pb, "/readyz") {
            Ok((503, _)) => {}
            Ok((200, _)) => break,
            other => panic!("b's /readyz: {other:?}"),
        }
        let (status, by, body) = triage(lb, &eml, rfc822).unwrap();
        assert_eq!((status, by.as_str()), (200, "a"), "{body}");
        while_loading += 1;
    }
    assert!(while_loading > 0, "b was seen loading");

    // Both ready: either answers, with the same record.
    wait_until(
        Duration::from_secs(30),
        "the balancer never used b",
        || matches!(triage(lb, &eml, rfc822), Ok((200, r, _)) if r == "b"),
    );
    let mut by_replica: Vec<(String, Value)> = Vec::new();
    for _ in 0..12 {
        let (status, by, body) = triage(lb, &eml, rfc822).unwrap();
        assert_eq!(status, 200, "{body}");
        by_replica.push((by, serde_json::from_str(&body).unwrap()));
    }
    for name in ["a", "b"] {
        assert!(by_replica.iter().any(|(r, _)| r == name), "{name} answered");
    }
    for (_, v) in &by_replica {
        assert_eq!(
            timeless(v),
            timeless(&by_replica[0].1),
            "stateless replicas agree"
        );
    }

    // Drain a: SIGTERM while it works on a request; that request completes, and the balancer
    // sends the rest to b without a failed request.
    let batch = serde_json::to_vec(&vec![
        serde_json::json!({"raw": String::from_utf8_lossy(&eml)});
        8
    ])
    .unwrap();
    let in_flight = std::thread::spawn(move || triage(pa, &batch, "application/json"));
    std::thread::sleep(Duration::from_millis(150));
    let term = Command::new("kill")
        .args(["-TERM", &a.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let t = Instant::now();
    let mut after_exit = 0;
    while after_exit < 10 {
        assert!(t.elapsed() < Duration::from_secs(120), "a never stopped");
        let gone = a.0.try_wait().unwrap().is_some();
        let (status, by, body) = triage(lb, &eml, rfc822).unwrap();
        assert_eq!(status, 200, "no client sees the drain: {body}");
        if gone {
            assert_eq!(by, "b", "a stopped: only b answers");
            after_exit += 1;
        }
    }
    assert!(a.0.wait().unwrap().success());
    let (status, _, body) = in_flight.join().unwrap().unwrap();
    assert_eq!(
        status, 200,
        "the request in flight at SIGTERM completed: {body}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        8
    );
}
