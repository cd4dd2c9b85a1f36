//! What the store gives back as training data, and rolling heads back: each reviewed message
//! once with its final label (the latest correction; an accepted decision as a confirmation),
//! ordered by message date, each naming the store row its label came from.

use mailroom::store::{LabelSource, MessageId, NewHead};

use super::{both, message, Msg};

both!(
    examples_are_reviewed_messages_once_with_final_labels,
    |db| async move {
        let s = db.open().await;
        let mut ids = Vec::new();
        for (i, date) in [(0usize, 3_000i64), (1, 1_000), (2, 2_000), (3, 4_000)] {
            let m = message(
                i,
                Msg {
                    date_ms: date,
                    ..Msg::default()
                },
            );
            ids.push(s.put(&m).await.unwrap().id());
        }
        // Message 0: corrected twice (the second wins). Message 1: accepted as it stood.
        // Message 2: corrected on priority only, accepted afterwards. Message 3: untouched.
        s.correct(ids[0], "ann", "category", "feedback")
            .await
            .unwrap();
        let last = s
            .correct(ids[0], "bob", "category", "application")
            .await
            .unwrap();
        s.accept(ids[1], "ann").await.unwrap();
        s.correct(ids[2], "ann", "priority", "urgent")
            .await
            .unwrap();
        s.accept(ids[2], "ann").await.unwrap();

        let cat = s.training_examples("category").await.unwrap();
        assert_eq!(s.training_count("category").await.unwrap(), 3);
        let got: Vec<(MessageId, &str, LabelSource)> = cat
            .iter()
            .map(|e| (e.message_id, e.label.as_str(), e.source))
            .collect();
        // Oldest message date first: 1 (1,000), 2 (2,000), 0 (3,000).
        assert_eq!(
            got,
            vec![
                (ids[1], "complaint", LabelSource::Accepted),
                (ids[2], "complaint", LabelSource::Accepted),
                (ids[0], "application", LabelSource::Correction),
            ]
        );
        assert_eq!(cat[2].row_id, last.id, "the row the label came from");
        assert!(cat
            .iter()
            .all(|e| e.raw.as_ref().is_some_and(|r| !r.is_empty())));

        let pri = s.training_examples("priority").await.unwrap();
        let got: Vec<(MessageId, &str)> = pri
            .iter()
            .map(|e| (e.message_id, e.label.as_str()))
            .collect();
        assert_eq!(got, vec![(ids[1], "routine"), (ids[2], "urgent")]);
        // An axis of its own: only its corrections.
        assert!(s.training_examples("tone").await.unwrap().is_empty());
        s.correct(ids[3], "ann", "tone", "angry").await.unwrap();
        assert_eq!(s.training_examples("tone").await.unwrap().len(), 1);
    }
);

both!(
    rollback_brings_back_the_head_in_use_before,
    |db| async move {
        let s = db.open().await;
        let head = |n: u8| NewHead {
            axis: "category".into(),
            data: vec![n; 16],
            meta_json: "{}".into(),
            metrics_json: None,
        };
        let a = s.add_head("ann", &head(1)).await.unwrap();
        let b = s.add_head("ann", &head(2)).await.unwrap();
        // Nothing in use: nothing to roll back.
        assert!(s.rollback_head("ann", "category").await.is_err());
        s.promote_head("ann", a.id).await.unwrap();
        s.promote_head("ann", b.id).await.unwrap();
        assert_eq!(s.active_heads().await.unwrap()[0].id, b.id);
        let back = s.rollback_head("ann", "category").await.unwrap().unwrap();
        assert_eq!(back.id, a.id);
        assert_eq!(s.active_head("category").await.unwrap().unwrap().id, a.id);
        // A discarded candidate is never what a rollback brings back; a second rollback undoes
        // the first.
        let c = s.add_head("ann", &head(3)).await.unwrap();
        s.retire_head("ann", c.id).await.unwrap();
        let back = s.rollback_head("ann", "category").await.unwrap().unwrap();
        assert_eq!(back.id, b.id);
        assert_eq!(s.head_axes().await.unwrap(), vec!["category".to_string()]);
        let actions: Vec<String> = s
            .audit(None, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(
            actions.iter().filter(|a| *a == "head.promote").count() >= 4,
            "{actions:?}"
        );
    }
);

both!(
    first_rollback_goes_back_to_the_shipped_head,
    |db| async move {
        let s = db.open().await;
        let a = s
            .add_head(
                "ann",
                &NewHead {
                    axis: "priority".into(),
                    data: vec![7; 8],
                    meta_json: "{}".into(),
                    metrics_json: None,
                },
            )
            .await
            .unwrap();
        s.promote_head("ann", a.id).await.unwrap();
        assert!(s.rollback_head("ann", "priority").await.unwrap().is_none());
        assert!(s.active_head("priority").await.unwrap().is_none());
    }
);

both!(
    a_training_run_is_audited_when_it_starts_and_when_it_fails,
    |db| async move {
        let s = db.open().await;
        s.audit_training("boss", "category", 42, None)
            .await
            .unwrap();
        s.audit_training("boss", "category", 42, Some("too few labels"))
            .await
            .unwrap();
        let audit = s.audit(None, 10).await.unwrap();
        let got: Vec<(&str, &str)> = audit
            .iter()
            .map(|e| (e.action.as_str(), e.actor.as_str()))
            .collect();
        assert!(got.contains(&("head.train", "boss")), "{got:?}");
        assert!(got.contains(&("head.train_failed", "boss")), "{got:?}");
        let failed = audit
            .iter()
            .find(|e| e.action == "head.train_failed")
            .unwrap();
        let after = failed.after.as_ref().expect("what the run was");
        assert_eq!(after["axis"], "category");
        assert_eq!(after["examples"], 42);
        assert_eq!(after["error"], "too few labels");
        assert!(failed.message_id.is_none());
    }
);
