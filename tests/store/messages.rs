//! Putting messages in: idempotent by hash, read back whole, batches all or nothing together
//! with the mailbox cursor.

use mailroom::store::{CursorUpdate, NewMessage, Put, QueueQuery};

use super::{both, message, Msg};

both!(put_is_idempotent_by_hash, |db| async move {
    let store = db.open().await;
    let m = message(
        1,
        Msg {
            conversation: Some("conv-1"),
            ..Msg::default()
        },
    );
    let first = store.put(&m).await.unwrap();
    assert!(first.is_added());
    // The same bytes again, even with a different record, add nothing.
    let mut again = m.clone();
    again.record_json = r#"{"schema":"other"}"#.into();
    assert_eq!(store.put(&again).await.unwrap(), Put::Exists(first.id()));
    let batch = store
        .put_batch(&[m.clone(), m.clone()], None)
        .await
        .unwrap();
    assert!(batch.iter().all(|p| *p == Put::Exists(first.id())));
    assert_eq!(store.count().await.unwrap(), 1);
    let page = store
        .queue(&QueueQuery {
            search: Some("elm street".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 1, "one search entry");
    assert_eq!(
        page.items[0].conversation_size, 1,
        "counted in its conversation once"
    );
    let stored = store.message(first.id()).await.unwrap().unwrap();
    assert_eq!(stored.record_json, m.record_json, "the first record stays");
});

both!(message_reads_back_whole, |db| async move {
    let store = db.open().await;
    let m = message(
        7,
        Msg {
            needs_review: true,
            reasons: &["category:low_confidence", "truncated"],
            conversation: Some("conv-7"),
            ..Msg::default()
        },
    );
    let id = store.put(&m).await.unwrap().id();
    assert_eq!(store.find(&m.sha256).await.unwrap(), Some(id));
    assert_eq!(store.raw(id).await.unwrap(), m.raw);
    let s = store.message(id).await.unwrap().unwrap();
    assert_eq!(s.item.sha256, m.sha256);
    assert_eq!(s.item.subject.as_deref(), Some("Bin not collected"));
    assert_eq!(s.item.category.as_ref().unwrap().label, "complaint");
    assert_eq!(s.item.category.as_ref().unwrap().probability, Some(0.7));
    assert!(s.item.needs_review);
    assert_eq!(
        s.item.review_reasons,
        ["category:low_confidence", "truncated"]
    );
    assert_eq!(s.item.date_ms, Some(1_700_000_000_000));
    assert_eq!(s.header_message_id.as_deref(), Some("<m7@example.org>"));
    assert_eq!(s.raw_size as usize, m.raw.as_ref().unwrap().len());
    assert_eq!(
        s.item.taxonomy_version.as_deref(),
        Some("public-service@1.0.1")
    );
    assert!(store
        .message(mailroom::store::MessageId(id.0 + 100))
        .await
        .unwrap()
        .is_none());
});

both!(a_reference_instead_of_bytes, |db| async move {
    let store = db.open().await;
    let mut m = message(3, Msg::default());
    m.raw = None;
    m.raw_ref = Some("imaps://desk@mail.example.org/INBOX;UID=42".into());
    let id = store.put(&m).await.unwrap().id();
    assert_eq!(store.raw(id).await.unwrap(), None);
    let s = store.message(id).await.unwrap().unwrap();
    assert_eq!(s.raw_ref, m.raw_ref);
});

both!(conversation_in_date_order, |db| async move {
    let store = db.open().await;
    let later = message(
        1,
        Msg {
            date_ms: 2_000,
            conversation: Some("c"),
            ..Msg::default()
        },
    );
    let earlier = message(
        2,
        Msg {
            date_ms: 1_000,
            conversation: Some("c"),
            subject: "Re: bin",
            ..Msg::default()
        },
    );
    let other = message(
        3,
        Msg {
            conversation: Some("d"),
            ..Msg::default()
        },
    );
    store
        .put_batch(&[later.clone(), earlier.clone(), other], None)
        .await
        .unwrap();
    let conv = store.conversation("c").await.unwrap();
    let shas: Vec<_> = conv.iter().map(|i| i.sha256.as_str()).collect();
    assert_eq!(shas, [earlier.sha256.as_str(), later.sha256.as_str()]);
    assert!(conv.iter().all(|i| i.conversation_size == 2));
});

both!(
    a_bad_message_fails_the_whole_batch_and_the_cursor_stays,
    |db| async move {
        let store = db.open().await;
        let cursor = |uid| CursorUpdate {
            mailbox: "imaps://desk@host/INBOX".into(),
            uidvalidity: 7,
            last_uid: uid,
        };
        store
            .put_batch(&[message(1, Msg::default())], Some(&cursor(10)))
            .await
            .unwrap();
        assert_eq!(
            store
                .cursor("imaps://desk@host/INBOX")
                .await
                .unwrap()
                .unwrap()
                .last_uid,
            10
        );
        let mut bad = message(2, Msg::default());
        bad.record_json = "not json".into();
        let err = store
            .put_batch(&[message(3, Msg::default()), bad], Some(&cursor(20)))
            .await;
        assert!(err.is_err());
        assert_eq!(
            store.count().await.unwrap(),
            1,
            "nothing of the failed batch is stored"
        );
        assert_eq!(
            store
                .cursor("imaps://desk@host/INBOX")
                .await
                .unwrap()
                .unwrap()
                .last_uid,
            10
        );
        let mut bad_hash = message(4, Msg::default());
        bad_hash.sha256 = "xyz".into();
        assert!(store.put(&bad_hash).await.is_err());
        assert!(
            store
                .put(&NewMessage::new(b"x".to_vec(), "[1]".into()))
                .await
                .is_err(),
            "record must be an object"
        );
    }
);

both!(
    cursor_moves_forward_within_one_uidvalidity,
    |db| async move {
        let store = db.open().await;
        let mb = "imaps://desk@host/INBOX";
        let set = |v, uid| CursorUpdate {
            mailbox: mb.into(),
            uidvalidity: v,
            last_uid: uid,
        };
        assert!(store.cursor(mb).await.unwrap().is_none());
        store.set_cursor(&set(5, 100)).await.unwrap();
        store.set_cursor(&set(5, 90)).await.unwrap();
        let c = store.cursor(mb).await.unwrap().unwrap();
        assert_eq!((c.uidvalidity, c.last_uid), (5, 100), "never backwards");
        store.set_cursor(&set(6, 3)).await.unwrap();
        let c = store.cursor(mb).await.unwrap().unwrap();
        assert_eq!(
            (c.uidvalidity, c.last_uid),
            (6, 3),
            "a new UIDVALIDITY starts over"
        );
        assert!(c.updated_at > 1_600_000_000_000);
    }
);
