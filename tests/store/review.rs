//! Review work: corrections change what the queue shows, each action is one audit entry, and
//! export carries the corrections applied and marked.

use mailroom::store::{MessageId, QueueQuery, Status};

use super::{both, message, Msg};

both!(
    correction_changes_the_queue_and_is_audited,
    |db| async move {
        let store = db.open().await;
        let routine = message(
            1,
            Msg {
                needs_review: true,
                reasons: &["priority:low_confidence"],
                date_ms: 1,
                ..Msg::default()
            },
        );
        let urgent = message(
            2,
            Msg {
                urgent: true,
                date_ms: 2,
                ..Msg::default()
            },
        );
        let ids: Vec<MessageId> = store
            .put_batch(&[routine, urgent], None)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id())
            .collect();
        let page = store.queue(&QueueQuery::default()).await.unwrap();
        assert_eq!(page.items[0].id, ids[1]);

        let c = store
            .correct(ids[0], "ana", "priority", "urgent")
            .await
            .unwrap();
        assert_eq!(
            (c.before.as_deref(), c.after.as_str()),
            (Some("routine"), "urgent")
        );
        let c2 = store
            .correct(ids[0], "ben", "category", "payment_or_debt")
            .await
            .unwrap();
        assert_eq!(c2.before.as_deref(), Some("complaint"));
        // An axis with no typed column is kept too, with the previous correction as "before".
        store.correct(ids[0], "ana", "tone", "angry").await.unwrap();
        let c4 = store.correct(ids[0], "ana", "tone", "calm").await.unwrap();
        assert_eq!(c4.before.as_deref(), Some("angry"));

        let item = store.message(ids[0]).await.unwrap().unwrap().item;
        assert!(item.urgent, "an urgent priority makes it urgent");
        assert!(!item.needs_review, "a person looked at it");
        assert_eq!(item.reviewed_by.as_deref(), Some("ana"));
        assert_eq!(item.category.as_ref().unwrap().label, "payment_or_debt");
        assert_eq!(
            item.category.as_ref().unwrap().probability,
            None,
            "set by a person"
        );
        let page = store
            .queue(&QueueQuery {
                category: Some("payment_or_debt".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        // Both urgent now, neither needs review: the older comes first.
        let page = store.queue(&QueueQuery::default()).await.unwrap();
        assert_eq!(page.items[0].id, ids[0]);

        assert_eq!(store.corrections(Some(ids[0])).await.unwrap().len(), 4);
        let audit = store.audit(Some(ids[0]), 10).await.unwrap();
        assert_eq!(audit.len(), 4);
        let first = audit.last().unwrap();
        assert_eq!(
            (first.actor.as_str(), first.action.as_str()),
            ("ana", "correct")
        );
        assert_eq!(first.before.as_ref().unwrap()["label"], "routine");
        assert_eq!(first.before.as_ref().unwrap()["needs_review"], true);
        assert_eq!(first.after.as_ref().unwrap()["label"], "urgent");
        assert_eq!(
            first.model_version.as_deref(),
            Some("all-minilm-l6-v2@53aa5117")
        );
        assert_eq!(
            first.taxonomy_version.as_deref(),
            Some("public-service@1.0.1")
        );
        assert!(first.at_ms > 1_600_000_000_000);
        assert!(audit.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    }
);

both!(each_action_is_one_audit_entry, |db| async move {
    let store = db.open().await;
    let id = store
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
    store.accept(id, "ana").await.unwrap();
    store.assign(id, "ana", Some("ben")).await.unwrap();
    store
        .set_status(id, "ben", Status::NoReplyNeeded)
        .await
        .unwrap();
    let note = store
        .add_note(id, "ben", "Called the resident back.")
        .await
        .unwrap();
    assert_eq!(store.notes(id).await.unwrap(), vec![note]);
    store.assign(id, "ben", None).await.unwrap();
    let audit = store.audit(Some(id), 100).await.unwrap();
    let actions: Vec<&str> = audit.iter().rev().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["accept", "assign", "status", "note", "assign"]);
    assert_eq!(audit[0].before.as_ref().unwrap()["assignee"], "ben");
    assert!(audit[0].after.as_ref().unwrap()["assignee"].is_null());
    assert_eq!(
        audit[2].after.as_ref().unwrap()["status"],
        "no_reply_needed"
    );
    let item = store.message(id).await.unwrap().unwrap().item;
    assert_eq!(item.status, Status::NoReplyNeeded);
    assert!(!item.needs_review);
    assert_eq!(
        item.category.unwrap().probability,
        Some(0.7),
        "accepting keeps the model's label"
    );
    let missing = MessageId(id.0 + 1000);
    assert!(store.accept(missing, "ana").await.is_err());
    assert!(
        store.audit(Some(missing), 10).await.unwrap().is_empty(),
        "a failed action leaves no entry"
    );
});

both!(export_applies_and_marks_corrections, |db| async move {
    let store = db.open().await;
    let a = store.put(&message(1, Msg::default())).await.unwrap().id();
    let b = store
        .put(&message(
            2,
            Msg {
                category: "feedback",
                ..Msg::default()
            },
        ))
        .await
        .unwrap()
        .id();
    store
        .correct(a, "ana", "category", "application")
        .await
        .unwrap();
    store
        .correct(a, "ben", "category", "case_update")
        .await
        .unwrap();
    store.set_status(b, "ana", Status::Answered).await.unwrap();
    let mut out = Vec::new();
    let summary = store.export(&mut out).await.unwrap();
    assert_eq!((summary.records, summary.corrected), (2, 1));
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let cat = &lines[0]["classification"][0];
    assert_eq!(cat["label"], "case_update");
    assert_eq!(cat["corrected"]["model_label"], "complaint");
    assert_eq!(cat["corrected"]["by"], "ben");
    assert_eq!(cat["probability"], 0.7);
    assert_eq!(lines[0]["desk"]["corrections"].as_array().unwrap().len(), 2);
    assert_eq!(lines[0]["schema"], "mailroom.triage/1");
    assert_eq!(lines[1]["classification"][0]["label"], "feedback");
    assert!(lines[1]["classification"][0].get("corrected").is_none());
    assert_eq!(lines[1]["desk"]["status"], "answered");
});
