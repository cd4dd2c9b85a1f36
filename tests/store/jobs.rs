//! The work queue under concurrent workers: no job claimed twice, lapsed leases taken over,
//! failures parked after their attempts, the effect stored once, idle workers woken.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use mailroom::store::{Enqueued, JobState, NewJob, NewMessage, Store};

use super::{both, TestDb};

fn jobs(n: usize) -> Vec<NewJob> {
    (0..n)
        .map(|i| {
            NewJob::new(
                format!("Subject: job {i}\r\n\r\nbody {i}\r\n").into_bytes(),
                Some(format!("q/{i}")),
            )
        })
        .collect()
}

/// The effect a worker stores for a job: the message and a record.
fn effect(payload: &[u8]) -> NewMessage {
    NewMessage::new(payload.to_vec(), r#"{"schema":"mailroom.triage/1"}"#.into())
}

/// One worker: claim batches until the queue is empty, completing each job.
async fn work(db_url: String, worker: String) -> Vec<i64> {
    let store = Store::open(&db_url).await.unwrap();
    let mut claimed = Vec::new();
    loop {
        let batch = store
            .claim(&worker, 7, Duration::from_secs(30))
            .await
            .unwrap();
        if batch.is_empty() {
            return claimed;
        }
        for job in batch {
            assert_eq!(job.worker_id.as_deref(), Some(worker.as_str()));
            let done = store
                .complete(
                    &worker,
                    job.id,
                    Some(&effect(job.payload.as_deref().unwrap())),
                )
                .await
                .unwrap();
            assert!(done.lease_held);
            claimed.push(job.id);
        }
    }
}

both!(
    concurrent_workers_never_share_a_job,
    |db: TestDb| async move {
        let store = db.open().await;
        let out = store.enqueue(&jobs(300)).await.unwrap();
        assert!(out.iter().all(|e| matches!(e, Enqueued::Queued(_))));
        let workers: Vec<_> = (0..4)
            .map(|w| tokio::spawn(work(db.url.clone(), format!("worker-{w}"))))
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), 300, "every job claimed");
        assert_eq!(unique.len(), 300, "no job claimed twice");
        let c = store.job_counts().await.unwrap();
        assert_eq!((c.queued, c.claimed, c.done, c.failed), (0, 0, 300, 0));
        assert_eq!(store.count().await.unwrap(), 300, "one message per job");
    }
);

both!(a_message_is_one_job, |db: TestDb| async move {
    let store = db.open().await;
    let js = jobs(3);
    let first = store.enqueue(&js).await.unwrap();
    let again = store.enqueue(&js).await.unwrap();
    for (a, b) in first.iter().zip(&again) {
        let (Enqueued::Queued(a), Enqueued::AlreadyQueued(b)) = (a, b) else {
            panic!("{a:?} {b:?}")
        };
        assert_eq!(a, b);
    }
    let stored = store
        .put(&effect(js[0].payload.as_deref().unwrap()))
        .await
        .unwrap()
        .id();
    let fresh = jobs(5);
    let out = store
        .enqueue(&[
            fresh[4].clone(),
            NewJob::new(js[0].payload.clone().unwrap(), None),
        ])
        .await
        .unwrap();
    assert!(matches!(out[0], Enqueued::Queued(_)));
    assert_eq!(
        out[1],
        Enqueued::AlreadyStored(stored),
        "a stored message needs no job"
    );
    assert_eq!(store.job_counts().await.unwrap().queued, 4);
});

both!(lapsed_leases_are_taken_over, |db: TestDb| async move {
    let store = db.open().await;
    store.enqueue(&jobs(3)).await.unwrap();
    let lease = Duration::from_millis(300);
    let mine = store.claim("w1", 10, lease).await.unwrap();
    assert_eq!(mine.len(), 3);
    assert!(
        store.claim("w2", 10, lease).await.unwrap().is_empty(),
        "held jobs are not claimable"
    );
    let ids: Vec<i64> = mine.iter().map(|j| j.id).collect();
    assert_eq!(store.renew("w1", &ids, lease).await.unwrap(), ids);
    assert!(
        store.renew("w2", &ids, lease).await.unwrap().is_empty(),
        "only the holder renews"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(store.job_counts().await.unwrap().expired_leases, 3);
    // w1 stopped renewing (it died): w2 takes the jobs over.
    let taken = store
        .claim("w2", 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(taken.iter().map(|j| j.id).collect::<Vec<_>>(), ids);
    assert!(taken
        .iter()
        .all(|j| j.attempts == 2 && j.worker_id.as_deref() == Some("w2")));
    assert!(
        store.renew("w1", &ids, lease).await.unwrap().is_empty(),
        "w1 has lost them"
    );
    // w1 comes back and finishes one anyway: its effect is stored once; w2's later completion
    // adds nothing.
    let payload = mine[0].payload.clone().unwrap();
    let late = store
        .complete("w1", ids[0], Some(&effect(&payload)))
        .await
        .unwrap();
    assert!(!late.lease_held);
    assert!(late.put.unwrap().is_added());
    let w2 = store
        .complete("w2", ids[0], Some(&effect(&payload)))
        .await
        .unwrap();
    assert!(!w2.put.unwrap().is_added());
    assert_eq!(store.count().await.unwrap(), 1);
    assert_eq!(
        store.job(ids[0]).await.unwrap().unwrap().state,
        JobState::Done
    );
    // Shutting down, w2 gives back what it did not start.
    assert_eq!(store.release("w2", &ids[1..]).await.unwrap(), 2);
    let again = store.claim("w3", 10, lease).await.unwrap();
    assert!(
        again.iter().all(|j| j.attempts == 2),
        "a release does not count as an attempt"
    );
});

both!(failures_are_retried_then_parked, |db: TestDb| async move {
    let store = db.open().await;
    let mut js = jobs(2);
    js[0].max_attempts = 2;
    js[1].max_attempts = 1;
    store.enqueue(&js).await.unwrap();
    let err = r#"{"stage":"parse","kind":"malformed","message":"no headers"}"#;
    let first = store.claim("w", 1, Duration::from_secs(30)).await.unwrap();
    assert_eq!(
        store
            .fail("w", first[0].id, err, Duration::ZERO)
            .await
            .unwrap(),
        JobState::Queued
    );
    assert_eq!(
        store
            .fail("other", first[0].id, err, Duration::ZERO)
            .await
            .unwrap(),
        JobState::Queued,
        "not held: unchanged"
    );
    let second = store.claim("w", 1, Duration::from_secs(30)).await.unwrap();
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(
        store
            .fail("w", second[0].id, err, Duration::ZERO)
            .await
            .unwrap(),
        JobState::Failed
    );
    // The other job's worker dies on its only attempt: parked when its lease lapses.
    let last = store
        .claim("w", 1, Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(last[0].attempts, 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        store
            .claim("w", 10, Duration::from_secs(30))
            .await
            .unwrap()
            .is_empty(),
        "never retried forever"
    );
    let parked = store.failed_jobs(10).await.unwrap();
    assert_eq!(parked.len(), 2);
    assert_eq!(parked[0].error_json.as_deref(), Some(err));
    assert!(parked[1]
        .error_json
        .as_deref()
        .unwrap()
        .contains("lease_expired"));
    let c = store.job_counts().await.unwrap();
    assert_eq!((c.queued, c.claimed, c.failed), (0, 0, 2));
    // A retry can wait.
    store.enqueue(&jobs(3)[2..]).await.unwrap();
    let j = store.claim("w", 1, Duration::from_secs(30)).await.unwrap();
    store
        .fail("w", j[0].id, err, Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(
        store
            .claim("w", 1, Duration::from_secs(30))
            .await
            .unwrap()
            .is_empty(),
        "not before its time"
    );
    assert!(store.job_counts().await.unwrap().oldest_queued_ms.unwrap() >= 0);
});

both!(idle_workers_wake_on_enqueue, |db: TestDb| async move {
    let store = db.open().await;
    let mut waiter = store.job_waiter().await.unwrap();
    assert!(
        !waiter.wait(Duration::from_millis(200)).await.unwrap(),
        "nothing queued: times out"
    );
    let producer = store.clone();
    let started = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        producer.enqueue(&jobs(1)).await.unwrap();
    });
    assert!(
        waiter.wait(Duration::from_secs(20)).await.unwrap(),
        "woken by the enqueue"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        store
            .claim("w", 5, Duration::from_secs(5))
            .await
            .unwrap()
            .len(),
        1
    );
});
