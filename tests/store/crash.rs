//! A crash loses nothing acknowledged: a writer process putting batches is killed with
//! SIGKILL mid-run; on reopening, every batch it acknowledged is there whole, no batch is
//! there in part, and putting everything again stores each message exactly once.
//!
//! The writer is this test binary run again on its ignored `writer_child` test, with the store
//! URL in an environment variable; it prints `ack START END` after each commit returns.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use mailroom::store::{NewMessage, Store};

use super::{both, message, Msg, TestDb};

const CHILD_URL: &str = "MAILROOM_STORE_CRASH_URL";
const TOTAL: usize = 2_000;
const BATCH: usize = 50;
/// Acknowledged messages after which the writer is killed.
const KILL_AFTER: usize = 500;

fn crash_message(i: usize) -> NewMessage {
    message(
        i,
        Msg {
            conversation: Some(if i.is_multiple_of(2) { "even" } else { "odd" }),
            ..Msg::default()
        },
    )
}

/// The writer process (run by the crash tests, not on its own).
#[test]
#[ignore = "the writer process of the crash tests, started by them"]
fn writer_child() {
    let url = std::env::var(CHILD_URL).expect("run by the crash tests");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let stdout = std::io::stdout();
        for start in (0..TOTAL).step_by(BATCH) {
            let batch: Vec<_> = (start..start + BATCH).map(crash_message).collect();
            store.put_batch(&batch, None).await.unwrap();
            let mut out = stdout.lock();
            writeln!(out, "ack {start} {}", start + BATCH).unwrap();
            out.flush().unwrap();
        }
    });
}

both!(
    kill_9_mid_batch_loses_nothing_acknowledged,
    |db: TestDb| async move {
        // Create the schema first, so that the writer is killed while writing messages.
        db.open().await.close().await;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "store::crash::writer_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_URL, &db.url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked = Vec::new();
        let mut killed = false;
        // Read to the end: acknowledgements still in the pipe when the kill lands count too.
        while let Some(Ok(line)) = lines.next() {
            let Some(range) = line.strip_prefix("ack ") else {
                continue;
            };
            let (a, b) = range.split_once(' ').unwrap();
            acked.extend(a.parse::<usize>().unwrap()..b.parse::<usize>().unwrap());
            if acked.len() >= KILL_AFTER && !killed {
                child.kill().unwrap(); // SIGKILL
                killed = true;
            }
        }
        let status = child.wait().unwrap();
        assert!(
            killed && !status.success(),
            "the writer was killed mid-run ({status})"
        );
        assert!(acked.len() < TOTAL, "killed before the end");

        let store = db.open().await;
        for &i in &acked {
            let m = crash_message(i);
            let id = store
                .find(&m.sha256)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged message {i} lost"));
            let stored = store.message(id).await.unwrap().expect("with its record");
            assert_eq!(stored.record_json, m.record_json);
        }
        let count = store.count().await.unwrap() as usize;
        assert!(count >= acked.len());
        assert!(
            count <= acked.len() + BATCH,
            "at most the batch in flight committed unacknowledged"
        );
        assert_eq!(count % BATCH, 0, "a batch is stored whole or not at all");
        if db.url.starts_with("sqlite:") {
            let check: String = integrity_check(&db.url).await;
            assert_eq!(check, "ok");
        }

        // Put everything again: each message exactly once.
        let all: Vec<_> = (0..TOTAL).map(crash_message).collect();
        let puts = store.put_batch(&all, None).await.unwrap();
        assert_eq!(puts.iter().filter(|p| p.is_added()).count(), TOTAL - count);
        assert_eq!(store.count().await.unwrap() as usize, TOTAL);
        let even = store.conversation("even").await.unwrap();
        assert_eq!(even.len(), TOTAL / 2);
        assert!(
            even.iter()
                .all(|i| i.conversation_size == (TOTAL / 2) as i64),
            "conversation counts survive the crash"
        );
    }
);

async fn integrity_check(url: &str) -> String {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let path = url.strip_prefix("sqlite:").unwrap();
    let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}
