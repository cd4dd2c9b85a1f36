//! The queue: order (urgent, then needs review, then oldest), every filter, text search,
//! pagination, and counts per filter value.

use mailroom::store::{
    Assignee, FacetCount, Label, MessageId, QueueOrder, QueueQuery, Status, Store,
};

use super::{both, message, Msg};

/// Six messages whose queue order is known: returns their shas in that order.
async fn inbox(store: &Store) -> Vec<String> {
    let ms = [
        // (index, message); the queue order is given by the comments.
        message(
            0,
            Msg {
                date_ms: 5_000,
                subject: "Routine newer",
                ..Msg::default()
            },
        ), // 6th
        message(
            1,
            Msg {
                date_ms: 1_000,
                subject: "Routine oldest",
                category: "feedback",
                ..Msg::default()
            },
        ), // 5th
        message(
            2,
            Msg {
                date_ms: 9_000,
                urgent: true,
                subject: "Urgent newest",
                category: "payment_or_debt",
                ..Msg::default()
            },
        ), // 3rd
        message(
            3,
            Msg {
                date_ms: 8_000,
                urgent: true,
                needs_review: true,
                reasons: &["category:low_confidence"],
                subject: "Urgent unsure",
                ..Msg::default()
            },
        ), // 1st
        message(
            4,
            Msg {
                date_ms: 7_000,
                urgent: true,
                subject: "Urgent older",
                category: "payment_or_debt",
                ..Msg::default()
            },
        ), // 2nd
        message(
            5,
            Msg {
                date_ms: 6_000,
                needs_review: true,
                reasons: &["category:low_confidence", "truncated"],
                subject: "Unsure routine",
                sender: "Dana <dana@council.example>",
                body: "My 50%_discount voucher",
                conversation: Some("conv-5"),
                ..Msg::default()
            },
        ), // 4th
    ];
    store.put_batch(&ms, None).await.unwrap();
    [3, 4, 2, 5, 1, 0]
        .iter()
        .map(|&i| ms[i].sha256.clone())
        .collect()
}

fn shas(page: &mailroom::store::QueuePage) -> Vec<String> {
    page.items.iter().map(|i| i.sha256.clone()).collect()
}

fn count(facets: &[FacetCount], value: &str) -> i64 {
    facets
        .iter()
        .find(|f| f.value.as_deref() == Some(value))
        .map_or(0, |f| f.count)
}

both!(order_is_urgent_then_review_then_oldest, |db| async move {
    let store = db.open().await;
    let order = inbox(&store).await;
    let page = store.queue(&QueueQuery::default()).await.unwrap();
    assert_eq!(shas(&page), order);
    assert_eq!(page.total, 6);
    assert_eq!(page.items[0].review_reasons, ["category:low_confidence"]);
});

both!(pages_cut_the_same_order, |db| async move {
    let store = db.open().await;
    let order = inbox(&store).await;
    let mut seen = Vec::new();
    for offset in [0, 4] {
        let page = store
            .queue(&QueueQuery {
                offset,
                limit: 4,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.total, 6);
        assert_eq!(page.limit, 4);
        seen.extend(shas(&page));
    }
    assert_eq!(seen, order);
    let past = store
        .queue(&QueueQuery {
            offset: 60,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(past.items.is_empty());
});

both!(filters_and_their_counts, |db| async move {
    let store = db.open().await;
    let order = inbox(&store).await;
    let q = |f: fn(&mut QueueQuery)| {
        let mut q = QueueQuery::default();
        f(&mut q);
        q
    };
    let page = store
        .queue(&q(|q| q.category = Some("payment_or_debt".into())))
        .await
        .unwrap();
    assert_eq!(shas(&page), [order[1].clone(), order[2].clone()]);
    // A facet's counts leave out its own filter (so the other categories stay visible) but
    // apply the others.
    assert_eq!(count(&page.counts.category, "complaint"), 3);
    assert_eq!(count(&page.counts.category, "feedback"), 1);
    assert_eq!(count(&page.counts.priority, "urgent"), 2);
    assert_eq!(count(&page.counts.priority, "routine"), 0);

    let page = store
        .queue(&q(|q| q.priority = Some("urgent".into())))
        .await
        .unwrap();
    assert_eq!(shas(&page), order[..3].to_vec());

    let page = store
        .queue(&q(|q| q.review_reason = Some("truncated".into())))
        .await
        .unwrap();
    assert_eq!(shas(&page), [order[3].clone()]);
    assert_eq!(
        count(&page.counts.review_reason, "category:low_confidence"),
        2
    );
    assert_eq!(count(&page.counts.review_reason, "truncated"), 1);

    let page = store
        .queue(&q(|q| q.needs_review = Some(true)))
        .await
        .unwrap();
    assert_eq!(shas(&page), [order[0].clone(), order[3].clone()]);

    let page = store
        .queue(&q(|q| q.conversation = Some("conv-5".into())))
        .await
        .unwrap();
    assert_eq!(shas(&page), [order[3].clone()]);

    let page = store.queue(&QueueQuery::default()).await.unwrap();
    assert_eq!(
        page.counts.category[0],
        FacetCount {
            value: Some("complaint".into()),
            count: 3
        }
    );
    assert_eq!(count(&page.counts.status, "open"), 6);
    assert_eq!(
        page.counts.assignee,
        [FacetCount {
            value: None,
            count: 6
        }]
    );
});

both!(
    status_and_assignee_filters_follow_the_work,
    |db| async move {
        let store = db.open().await;
        let order = inbox(&store).await;
        let first = store.queue(&QueueQuery::default()).await.unwrap().items[0].id;
        let second = store.queue(&QueueQuery::default()).await.unwrap().items[1].id;
        store
            .set_status(first, "ana", Status::Answered)
            .await
            .unwrap();
        store.assign(second, "ana", Some("ben")).await.unwrap();
        let open = store
            .queue(&QueueQuery {
                status: Some(Status::Open),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(shas(&open), order[1..].to_vec());
        assert_eq!(
            count(&open.counts.status, "answered"),
            1,
            "status counts ignore the status filter"
        );
        let bens = store
            .queue(&QueueQuery {
                assignee: Some(Assignee::Person("ben".into())),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(shas(&bens), [order[1].clone()]);
        assert_eq!(bens.items[0].assignee.as_deref(), Some("ben"));
        let nobody = store
            .queue(&QueueQuery {
                assignee: Some(Assignee::Nobody),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(nobody.total, 5);
        assert_eq!(count(&nobody.counts.assignee, "ben"), 1);
    }
);

both!(search_over_subject_sender_and_text, |db| async move {
    let store = db.open().await;
    let order = inbox(&store).await;
    let search = |s: &str| QueueQuery {
        search: Some(s.into()),
        ..Default::default()
    };
    // Subject, any case.
    let page = store.queue(&search("URGENT")).await.unwrap();
    assert_eq!(shas(&page), order[..3].to_vec());
    // Sender.
    let page = store.queue(&search("dana@council")).await.unwrap();
    assert_eq!(shas(&page), [order[3].clone()]);
    // Body text, with LIKE's special characters taken literally.
    let page = store.queue(&search("50%_disc")).await.unwrap();
    assert_eq!(shas(&page), [order[3].clone()]);
    assert_eq!(store.queue(&search("50%x")).await.unwrap().total, 0);
    // Every word must match; short words work too.
    let page = store.queue(&search("elm tuesday")).await.unwrap();
    assert_eq!(page.total, 5, "five bodies mention Elm Street on Tuesday");
    assert_eq!(store.queue(&search("elm voucher")).await.unwrap().total, 0);
    // Words under three letters are left out (the trigram index cannot serve them).
    assert_eq!(store.queue(&search("my")).await.unwrap().total, 6);
    // Quotes do not break the query.
    assert_eq!(store.queue(&search("\"bin")).await.unwrap().total, 0);
    // Search combines with filters and counts.
    let mut q = search("urgent");
    q.category = Some("complaint".into());
    let page = store.queue(&q).await.unwrap();
    assert_eq!(shas(&page), [order[0].clone()]);
    assert_eq!(count(&page.counts.category, "payment_or_debt"), 2);
});

both!(
    help_the_model_shows_unreviewed_messages_least_certain_first,
    |db| async move {
        let store = db.open().await;
        // (category probability, priority probability) of five messages; the urgent one would
        // lead the triage order.
        let ps = [
            (0.9, 0.9),
            (0.41, 0.7),
            (0.41, 0.55),
            (0.62, 0.99),
            (0.3, 0.9),
        ];
        let ms: Vec<_> = ps
            .iter()
            .enumerate()
            .map(|(i, &(c, p))| {
                let mut m = message(
                    i,
                    Msg {
                        urgent: i == 0,
                        date_ms: 1_000 + i as i64,
                        ..Msg::default()
                    },
                );
                m.category = Some(Label::new("complaint", c));
                m.priority = Some(Label::new(if i == 0 { "urgent" } else { "routine" }, p));
                m
            })
            .collect();
        let ids: Vec<MessageId> = store
            .put_batch(&ms, None)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id())
            .collect();
        let help = QueueQuery {
            order: QueueOrder::Uncertain,
            ..Default::default()
        };
        let order = |page: &mailroom::store::QueuePage| -> Vec<MessageId> {
            page.items.iter().map(|i| i.id).collect()
        };
        let page = store.queue(&help).await.unwrap();
        // Lowest category probability first; on a tie, the lower priority probability.
        assert_eq!(order(&page), [ids[4], ids[2], ids[1], ids[3], ids[0]]);
        assert_eq!(page.total, 5);
        assert_eq!(
            order(&store.queue(&QueueQuery::default()).await.unwrap())[0],
            ids[0]
        );
        // What a person accepted or corrected leaves the help queue (and its counts).
        store.accept(ids[4], "ana").await.unwrap();
        store
            .correct(ids[2], "ana", "category", "feedback")
            .await
            .unwrap();
        let page = store.queue(&help).await.unwrap();
        assert_eq!(order(&page), [ids[1], ids[3], ids[0]]);
        assert_eq!(page.total, 3);
        assert_eq!(count(&page.counts.category, "complaint"), 3);
        // Filters still apply.
        let urgent = store
            .queue(&QueueQuery {
                priority: Some("urgent".into()),
                ..help.clone()
            })
            .await
            .unwrap();
        assert_eq!(order(&urgent), [ids[0]]);
    }
);
