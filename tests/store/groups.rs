//! Groups of near-duplicates in the store, on both engines: campaign copies (other greeting,
//! sign-off, a sentence added, other wrapping) end up in one group and distinct letters on the
//! same subject do not; a message sent twice with new headers groups; a message that matches
//! two groups merges them; the collapsed queue shows one row per group with its count; group
//! actions change every member, each with its own audit entry; export carries the group id.
//! The letters are written for this test.

use mailroom::store::{GroupAction, NewMessage, QueueQuery, Signature, Status};

use super::{both, message, Msg};

const LETTER: &str = "I am writing to object to the proposed closure of the Elm Street \
    library. The library is used every day by children after school, by older residents who \
    have no internet at home, and by the job club on Thursdays. Closing it would save little \
    money and cost the neighbourhood a great deal. I ask the council to keep the library open \
    and to consult residents properly before any decision is taken.";

const OTHER: &str = "The Elm Street library has been closed on Saturdays since March and the \
    opening hours on the notice board are wrong. Could you tell me when Saturday opening will \
    return, and correct the notice so that people do not walk there for nothing? My children \
    use the library for homework every weekend and miss it.";

const THIRD: &str = "The street lights on Fern Lane between the school and the bus stop have \
    been out for two weeks. It is completely dark there from half past four, and children walk \
    that way home. Please send someone to repair them as soon as possible.";

/// A message with `body` as its prepared text, signed as ingest signs it.
fn letter(i: usize, body: &'static str, sender: &'static str) -> NewMessage {
    let mut m = message(
        i,
        Msg {
            body,
            sender,
            subject: "Elm Street library",
            date_ms: 1_700_000_000_000 + i as i64 * 3_600_000,
            ..Msg::default()
        },
    );
    m.similarity = Signature::of(body);
    m
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The campaign: the letter as four people sent it.
fn copies() -> Vec<&'static str> {
    vec![
        leak(format!(
            "Dear Councillor,\n{LETTER}\nYours sincerely,\nAnna Berg"
        )),
        leak(format!(
            "Hello,\n{}\nThanks, Tom O'Neill, 4 Oak Road",
            LETTER.replace(". ", ".\n")
        )),
        leak(format!(
            "{LETTER} I have lived here for twenty years and use it every week.\nPriya Patel"
        )),
        leak(format!("To whom it may concern, {LETTER}\nJames Smith")),
    ]
}

both!(
    campaign_copies_group_and_other_letters_do_not,
    |db| async move {
        let store = db.open().await;
        let mut ids = Vec::new();
        for (i, body) in copies().into_iter().enumerate() {
            ids.push(
                store
                    .put(&letter(i, body, "someone@example.org"))
                    .await
                    .unwrap()
                    .id(),
            );
        }
        let other = store
            .put(&letter(10, OTHER, "x@example.org"))
            .await
            .unwrap()
            .id();
        let third = store
            .put(&letter(11, THIRD, "y@example.org"))
            .await
            .unwrap()
            .id();
        let group = |id| {
            let store = store.clone();
            async move { store.message(id).await.unwrap().unwrap().item.group }
        };
        let g = group(ids[0]).await.expect("the first copy is in a group");
        for id in &ids {
            assert_eq!(group(*id).await, Some(g), "copy {id}");
        }
        assert_eq!(
            group(other).await,
            None,
            "a different letter on the same subject"
        );
        assert_eq!(group(third).await, None);
        let info = store.group(g).await.unwrap().unwrap();
        assert_eq!(info.size, 4);
        assert_eq!(info.first_message, ids[0]);
        assert_eq!(store.group_members(g).await.unwrap(), ids);
        let listed = store.groups(2, 10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, g);

        // The collapsed queue: one row for the campaign (standing for 4), one for each other.
        let page = store
            .queue(&QueueQuery {
                collapse_groups: true,
                ..QueueQuery::default()
            })
            .await
            .unwrap();
        assert_eq!((page.total, page.rows, page.items.len()), (6, 3, 3));
        let row = page.items.iter().find(|i| i.group == Some(g)).unwrap();
        assert_eq!((row.represents, row.group_size), (4, 4));
        // Only campaigns; one group's members; one row per message.
        let only = |q: QueueQuery| {
            let store = store.clone();
            async move { store.queue(&q).await.unwrap() }
        };
        let p = only(QueueQuery {
            grouped: Some(true),
            collapse_groups: true,
            ..QueueQuery::default()
        })
        .await;
        assert_eq!((p.total, p.rows), (4, 1));
        let p = only(QueueQuery {
            group: Some(g),
            collapse_groups: true,
            ..QueueQuery::default()
        })
        .await;
        assert_eq!(p.items.len(), 4, "a group's own page lists every member");
        assert_eq!(only(QueueQuery::default()).await.rows, 6);
        // A status filter that leaves one member open still shows the group, counting one.
        store
            .set_status(ids[0], "ann", Status::Answered)
            .await
            .unwrap();
        let p = only(QueueQuery {
            status: Some(Status::Answered),
            collapse_groups: true,
            ..QueueQuery::default()
        })
        .await;
        assert_eq!(p.items.len(), 1);
        assert_eq!(p.items[0].represents, 1);
    }
);

both!(
    repeats_with_new_headers_group_and_short_texts_only_exactly,
    |db| async move {
        let store = db.open().await;
        let a = store.put(&letter(1, THIRD, "a@example.org")).await.unwrap();
        // The same text with other headers (other bytes, so another message).
        let mut again = letter(2, THIRD, "a@example.org");
        again.body_text = THIRD.replace(". ", ".\r\n");
        again.similarity = Signature::of(&again.body_text);
        let b = store.put(&again).await.unwrap();
        assert!(b.is_added());
        let ga = store.message(a.id()).await.unwrap().unwrap().item.group;
        assert!(ga.is_some());
        assert_eq!(store.message(b.id()).await.unwrap().unwrap().item.group, ga);
        // Two short thank-yous: the same words group, other words do not.
        let t1 = store
            .put(&letter(3, "Thank you!", "b@example.org"))
            .await
            .unwrap();
        let t2 = store
            .put(&letter(4, "thank you", "c@example.org"))
            .await
            .unwrap();
        let t3 = store
            .put(&letter(5, "Thank you very much", "d@example.org"))
            .await
            .unwrap();
        let g = |id| {
            let store = store.clone();
            async move { store.message(id).await.unwrap().unwrap().item.group }
        };
        assert!(g(t1.id()).await.is_some());
        assert_eq!(g(t1.id()).await, g(t2.id()).await);
        assert_eq!(g(t3.id()).await, None);
        // Putting the same bytes again adds nothing and changes no group.
        assert!(!store.put(&again).await.unwrap().is_added());
        let info = store.group(ga.unwrap()).await.unwrap().unwrap();
        assert_eq!(info.size, 2);
    }
);

/// A shared core of about 170 words and two different endings of about 50: each ending is about
/// 0.77 similar to the core alone, the two about 0.62 to each other (under the threshold).
fn core_and(ending: &str) -> &'static str {
    leak(format!("{LETTER} {OTHER} {THIRD} {ending}"))
}

both!(a_message_matching_two_groups_merges_them, |db| async move {
    let store = db.open().await;
    let end_a = "We also ask for a public meeting at the town hall in January, with the \
        library service and the ward councillors, so that residents can put their questions \
        directly and hear what the plans are for the building. Please publish the footfall figures \
        for the last three years before that meeting, broken down by month and by age group.";
    let end_b = "Finally, the car park behind the health centre floods every time it rains \
        heavily, and the drain at the entrance has been blocked since the summer; please ask \
        highways to clear it before someone slips and is hurt. The same drain blocked two winters \
        ago and the contractor then promised a larger grating, which was never fitted.";
    let (a, b, core) = (core_and(end_a), core_and(end_b), core_and(""));
    let sa = Signature::of(a).unwrap();
    let sb = Signature::of(b).unwrap();
    let sc = Signature::of(core).unwrap();
    assert!(
        !sa.same_letter(&sb),
        "the endings differ enough: {}",
        sa.jaccard(&sb)
    );
    assert!(sc.same_letter(&sa) && sc.same_letter(&sb));
    // Two groups: A twice, B twice (exact repeats with other headers).
    let mut ids = Vec::new();
    for (i, body) in [(1, a), (2, a), (3, b), (4, b)] {
        ids.push(
            store
                .put(&letter(i, body, "p@example.org"))
                .await
                .unwrap()
                .id(),
        );
    }
    let g = |id| {
        let store = store.clone();
        async move {
            store
                .message(id)
                .await
                .unwrap()
                .unwrap()
                .item
                .group
                .unwrap()
        }
    };
    let (ga, gb) = (g(ids[0]).await, g(ids[2]).await);
    assert_ne!(ga, gb);
    assert_eq!(store.groups(2, 10).await.unwrap().len(), 2);
    // The core alone matches both: one group of five, the older id kept.
    let c = store
        .put(&letter(5, core, "q@example.org"))
        .await
        .unwrap()
        .id();
    let merged = g(c).await;
    assert_eq!(merged, ga.min(gb));
    for id in &ids {
        assert_eq!(g(*id).await, merged);
    }
    let groups = store.groups(1, 10).await.unwrap();
    assert_eq!(groups.len(), 1, "the other group is gone");
    assert_eq!(groups[0].size, 5);
});

both!(
    group_actions_touch_every_member_with_an_audit_entry,
    |db| async move {
        let store = db.open().await;
        let mut ids = Vec::new();
        for (i, body) in copies().into_iter().enumerate() {
            let mut m = letter(i, body, "r@example.org");
            m.needs_review = true;
            ids.push(store.put(&m).await.unwrap().id());
        }
        let alone = store
            .put(&letter(9, OTHER, "s@example.org"))
            .await
            .unwrap()
            .id();
        let g = store
            .message(ids[0])
            .await
            .unwrap()
            .unwrap()
            .item
            .group
            .unwrap();

        let out = store
            .apply_to_group(
                g,
                "ann",
                &GroupAction::Correct {
                    axis: "category".into(),
                    label: "feedback".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(out.members, ids);
        store
            .apply_to_group(g, "ann", &GroupAction::Status(Status::Answered))
            .await
            .unwrap();
        store
            .apply_to_group(g, "ann", &GroupAction::Accept)
            .await
            .unwrap();
        for id in &ids {
            let item = store.message(*id).await.unwrap().unwrap().item;
            assert_eq!(item.category.unwrap().label, "feedback");
            assert_eq!(item.status, Status::Answered);
            assert!(!item.needs_review);
            let audit = store.audit(Some(*id), 10).await.unwrap();
            let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
            assert_eq!(actions, ["accept", "status", "correct"], "message {id}");
            for a in &audit {
                assert_eq!(a.actor, "ann");
                assert_eq!(a.after.as_ref().unwrap()["group_id"], g.0);
            }
            assert_eq!(store.corrections(Some(*id)).await.unwrap().len(), 1);
        }
        // The message outside the group is untouched.
        let other = store.message(alone).await.unwrap().unwrap().item;
        assert_eq!(other.status, Status::Open);
        assert!(store.audit(Some(alone), 10).await.unwrap().is_empty());
        // An unknown group is an error, and changes nothing.
        assert!(store
            .apply_to_group(mailroom::store::GroupId(9999), "ann", &GroupAction::Accept)
            .await
            .is_err());

        // Export carries the group id.
        let mut out = Vec::new();
        store.export(&mut out).await.unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let grouped = lines
            .iter()
            .filter(|l| l["desk"]["group_id"] == g.0)
            .count();
        assert_eq!(grouped, ids.len());
        assert_eq!(
            lines
                .iter()
                .filter(|l| l["desk"]["group_id"].is_null())
                .count(),
            1
        );
    }
);
