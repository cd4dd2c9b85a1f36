//! Measurements for the capacity notes, not a timed test (ignored; run by hand):
//! `cargo test --release workers::measure -- --ignored --nocapture --test-threads=1`.
//! Messages/s with 1 and 2 workers (default threads, and the encoder pinned to one thread per
//! worker), the database's writes at that rate, and the time from `kill -9` to the dead
//! worker's jobs being taken over. `MAILROOM_MEASURE_N` messages of `../shared/data/public`
//! and `spamassassin` (default 400).

use std::time::{Duration, Instant};

use super::{jobs_where, real_mail, status, WorkerProc};
use crate::store::pg_server;
use crate::util::mailroom_ok;

fn n() -> usize {
    std::env::var("MAILROOM_MEASURE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// Commits, rows written and WAL bytes of the database so far.
fn writes(url: &str) -> (i64, i64, f64) {
    use sqlx::{Connection, Row};
    super::rt().block_on(async {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let r = sqlx::query(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted, \
             pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 \
             FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        (r.get(0), r.get(1), r.get(2))
    })
}

fn wait_started(ws: &[&WorkerProc]) {
    let t = Instant::now();
    while !ws.iter().all(|w| w.log().contains("started")) {
        assert!(t.elapsed() < Duration::from_secs(300));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "a measurement for the notes, run by hand"]
fn throughput_and_takeover() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mail) = real_mail("spamassassin", n(), dir.path()) else {
        return;
    };
    let mail = mail.to_str().unwrap().to_string();
    let server = pg_server::server();
    eprintln!("| workers | threads | messages | seconds | messages/s | commits/s | rows/s | WAL MB/s | WAL KB/message |");
    eprintln!("|---|---|---|---|---|---|---|---|---|");
    for (workers, threads) in [(1, None), (2, None), (1, Some("1")), (2, Some("1"))] {
        let url = super::rt().block_on(server.fresh_db());
        mailroom_ok(&["queue", "status", "--store", &url]); // the schema, before the clock
        let mut args = vec!["--poll", "1"];
        if let Some(t) = threads {
            args.extend(["--cpu-threads", t]);
        }
        let mut ws: Vec<WorkerProc> = (0..workers)
            .map(|i| WorkerProc::start(dir.path(), &url, &format!("m{workers}{i}"), &args))
            .collect();
        wait_started(&ws.iter().collect::<Vec<_>>());
        let before = writes(&url);
        let t = Instant::now();
        mailroom_ok(&["enqueue", &mail, "--store", &url]);
        loop {
            let s = status(&url);
            if s["queued"] == 0 && s["claimed"] == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let secs = t.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(1500)); // statistics are flushed each second
        let after = writes(&url);
        for w in &mut ws {
            w.stop();
        }
        let n = n() as f64;
        eprintln!(
            "| {workers} | {} | {n} | {secs:.1} | {:.2} | {:.0} | {:.0} | {:.2} | {:.1} |",
            threads.unwrap_or("default"),
            n / secs,
            (after.0 - before.0) as f64 / secs,
            (after.1 - before.1) as f64 / secs,
            (after.2 - before.2) / secs / 1e6,
            (after.2 - before.2) / n / 1e3,
        );
    }

    for lease in ["30", "5"] {
        let url = super::rt().block_on(server.fresh_db());
        let args = ["--lease", lease, "--poll", "1", "--cpu-threads", "1"];
        let mut a = WorkerProc::start(dir.path(), &url, "victim", &args);
        let mut b = WorkerProc::start(dir.path(), &url, "survivor", &args);
        wait_started(&[&a, &b]);
        mailroom_ok(&["enqueue", &mail, "--store", &url]);
        let held = loop {
            a.signal("STOP");
            let held = jobs_where(&url, "state = 'claimed' AND worker_id = 'victim'");
            if !held.is_empty() {
                break held;
            }
            a.signal("CONT");
            std::thread::sleep(Duration::from_millis(30));
        };
        a.signal("KILL");
        let killed = Instant::now();
        let ids: Vec<String> = held.iter().map(|(id, _, _)| id.to_string()).collect();
        let filter = format!("id IN ({}) AND worker_id = 'victim'", ids.join(","));
        let mut first = None;
        loop {
            let left = jobs_where(&url, &filter).len();
            if left < held.len() && first.is_none() {
                first = Some(killed.elapsed());
            }
            if left == 0 {
                break;
            }
            assert!(killed.elapsed() < Duration::from_secs(600));
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "lease {lease} s: kill -9 with {} jobs held; first taken over after {:.1} s, all after {:.1} s",
            held.len(),
            first.unwrap_or_default().as_secs_f64(),
            killed.elapsed().as_secs_f64()
        );
        let _ = a.wait(Duration::from_secs(10));
        b.stop();
    }
}
