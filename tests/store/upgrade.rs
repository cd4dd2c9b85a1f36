//! The schema is versioned and upgraded in place: a store made at an older version keeps its
//! data and gains the new tables; a store made by a newer mailroom is refused, not written.

use mailroom::store::{NewJob, QueueQuery, Store, StoreError, StoreOptions, SCHEMA_VERSION};

use super::{both, message, Msg, TestDb};

both!(
    upgrade_from_version_1_keeps_the_data,
    |db: TestDb| async move {
        let old = StoreOptions {
            schema_version: Some(1),
            ..StoreOptions::default()
        };
        let v1 = Store::open_with(&db.url, &old).await.unwrap();
        assert_eq!(v1.schema_version().await.unwrap(), 1);
        let id = v1
            .put(&message(
                1,
                Msg {
                    needs_review: true,
                    ..Msg::default()
                },
            ))
            .await
            .unwrap()
            .id();
        v1.correct(id, "ana", "category", "feedback").await.unwrap();
        assert!(
            v1.enqueue(&[NewJob::new(b"x".to_vec(), None)])
                .await
                .is_err(),
            "no jobs table at version 1"
        );
        v1.close().await;

        let store = db.open().await;
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
        const { assert!(SCHEMA_VERSION >= 2) };
        let page = store.queue(&QueueQuery::default()).await.unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.items[0].category.as_ref().unwrap().label, "feedback");
        assert_eq!(store.corrections(Some(id)).await.unwrap().len(), 1);
        assert_eq!(
            store
                .enqueue(&[NewJob::new(b"x".to_vec(), None)])
                .await
                .unwrap()
                .len(),
            1
        );
        // Opening again changes nothing.
        store.close().await;
        let again = db.open().await;
        assert_eq!(again.schema_version().await.unwrap(), SCHEMA_VERSION);
        assert_eq!(again.count().await.unwrap(), 1);
    }
);

both!(a_newer_schema_is_refused, |db: TestDb| async move {
    let store = db.open().await;
    store.put(&message(1, Msg::default())).await.unwrap();
    store.close().await;
    // Record a migration this build does not know, as a newer mailroom would have.
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let url = match db.url.strip_prefix("sqlite:") {
            Some(path) => format!("sqlite://{path}"),
            None => db.url.clone(),
        };
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (999, 'from the future', $1, $2, 0)",
        )
        .bind(true)
        .bind(vec![0u8; 48])
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let err = Store::open(&db.url).await.unwrap_err();
    assert!(matches!(err, StoreError::Migrate { .. }), "{err}");
    assert!(
        err.to_string().contains("999"),
        "the message names the version: {err}"
    );
});

#[test]
fn a_new_sqlite_store_opened_by_several_processes_at_once_is_migrated_once() {
    // A desk and an ingest started together on a file that does not exist yet: each opens
    // (creates, migrates) the store; none may fail because another got there first.
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("new.db").display());
        let opened: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || mailroom::store::BlockingStore::open(&url).map(|_| ()))
            })
            .collect();
        for (i, t) in opened.into_iter().enumerate() {
            if let Err(e) = t.join().unwrap() {
                panic!("round {round}, opener {i}: {e:#}");
            }
        }
        let s = mailroom::store::BlockingStore::open(&url).unwrap();
        assert_eq!(
            s.block_on(s.store().schema_version()).unwrap(),
            SCHEMA_VERSION
        );
    }
}
