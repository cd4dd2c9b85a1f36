//! The database restarted under working workers (a fast shutdown, as in a restart or a
//! failover, then a start on the same port): the workers keep running, reconnect, and finish
//! every message once. Reads `../shared/data/spamassassin` (and says so when it is absent).

use std::time::Duration;

use super::{exported, http_get, real_mail, status, wait_for, WorkerProc};
use crate::store::pg_server;
use crate::util::mailroom_ok;

#[test]
fn workers_reconnect_after_a_database_restart_and_finish() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mail) = real_mail("spamassassin", 600, dir.path()) else {
        return;
    };
    let pg = pg_server::dedicated();
    let url = super::rt().block_on(pg.fresh_db());
    mailroom_ok(&["enqueue", mail.to_str().unwrap(), "--store", &url]);
    let args = [
        "--summary",
        "none",
        "--no-zero-shot",
        "--lease",
        "3",
        "--poll",
        "1",
        "--batch",
        "8",
    ];
    let mut with_metrics = args.to_vec();
    with_metrics.extend(["--metrics-port", "0"]);
    let mut a = WorkerProc::start(dir.path(), &url, "a", &with_metrics);
    let mut b = WorkerProc::start(dir.path(), &url, "b", &args);
    let port = a.metrics_port(Duration::from_secs(120));
    wait_for(&url, Duration::from_secs(300), &[&a, &b], |s| {
        s["done"].as_i64().unwrap() >= 60
    });
    pg.stop();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        a.running() && b.running(),
        "the workers outlive the database"
    );
    pg.start_again();
    wait_for(&url, Duration::from_secs(300), &[&a, &b], |s| {
        s["queued"] == 0 && s["claimed"] == 0
    });
    assert!(a.running() && b.running());

    let (code, page) = http_get(port, "/metrics").unwrap();
    assert_eq!(code, 200);
    // Whether worker a itself hit the outage (store errors above 0) depends on where it was
    // when the database went: on a loaded machine it may be embedding throughout. The counter
    // is there either way; what matters is that both lived through it and finished the queue.
    let errors: Option<f64> = page
        .lines()
        .find(|l| l.starts_with("mailroom_worker_store_errors_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok());
    assert!(errors.is_some(), "no store error counter:\n{page}");
    assert!(page.contains("mailroom_jobs{state=\"done\"} 600"), "{page}");
    assert!(page.contains("mailroom_queue_depth 0"), "{page}");

    a.stop();
    b.stop();
    let s = status(&url);
    assert_eq!(
        s["done"].as_i64().unwrap() + s["failed"].as_i64().unwrap(),
        600,
        "{s}"
    );
    assert_eq!(exported(&url).len(), 600, "every message once");
}
