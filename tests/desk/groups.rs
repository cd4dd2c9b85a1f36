//! Campaigns on the desk, in process on both engines: the queue shows a campaign as one row
//! with its count ("× 5") and filters to campaigns only; the message page says "one of 5
//! similar messages" and links to the members; the group actions need a session and the
//! session's CSRF token, and change every member, each with its own audit entry.

use axum::http::StatusCode;
use mailroom::store::{GroupId, MessageId, Signature, Status};

use super::{both, form, get, Local};
use crate::store::{message, Msg};

const LETTER: &str = "We the undersigned ask the council to reverse its decision to close \
    the Riverside day centre for older people. The centre gives isolated residents a hot meal, \
    company and a reason to leave the house, and it gives their carers a few hours of rest. \
    The savings are small and the cost to the people who rely on it would be very large.";

/// A record whose category axis names its labels (so that a correction is checked).
const RECORD: &str = r#"{"schema":"mailroom.triage/1","needs_review":true,"classification":[
    {"axis":"category","label":"complaint","probability":0.7,
     "probabilities":{"complaint":0.7,"feedback":0.2,"application":0.1}}]}"#;

/// Five copies of a campaign letter (greetings and names differ) and two other letters.
async fn campaign(l: &Local) -> (Vec<MessageId>, Vec<MessageId>) {
    let mut members = Vec::new();
    for (i, (hello, name)) in [
        ("Dear Councillor,", "Grace Evans"),
        ("Hello,", "Omar Khan"),
        ("To whom it may concern,", "Isla Chen"),
        ("Dear Sir or Madam,", "Ravi Davies"),
        ("Hi,", "Zoe Murphy"),
    ]
    .into_iter()
    .enumerate()
    {
        let body: &'static str =
            Box::leak(format!("{hello}\n{LETTER}\nRegards,\n{name}").into_boxed_str());
        let mut m = message(
            i,
            Msg {
                body,
                subject: "Save the Riverside day centre",
                needs_review: true,
                date_ms: 1_700_000_000_000 + i as i64 * 1000,
                ..Msg::default()
            },
        );
        m.similarity = Signature::of(body);
        m.record_json = RECORD.to_string();
        members.push(l.store.put(&m).await.unwrap().id());
    }
    let mut others = Vec::new();
    for (i, body) in [
        "The pothole outside number 12 Mill Lane is now deep enough to damage a wheel, and \
         two cyclists have come off there this month. Please repair it.",
        "Could you tell me when the garden waste collections restart after the winter break, \
         and whether the permit I bought last year is still valid for this one?",
    ]
    .into_iter()
    .enumerate()
    {
        let mut m = message(
            10 + i,
            Msg {
                body,
                subject: "Another matter",
                ..Msg::default()
            },
        );
        m.similarity = Signature::of(body);
        others.push(l.store.put(&m).await.unwrap().id());
    }
    (members, others)
}

both!(
    the_queue_shows_a_campaign_as_one_row_with_its_count,
    |pg| async move {
        let l = Local::new(pg).await;
        let (members, others) = campaign(&l).await;
        let ann = l.login("ann").await;
        let page = l.send(get("/", Some(&ann.cookie))).await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(html.contains("data-group-count=\"5\""), "{html}");
        assert!(html.contains("× 5"));
        assert!(html.contains("7 messages in 3 rows"), "{html}");
        let rows = html.matches("<tr data-row=").count();
        assert_eq!(
            rows, 3,
            "one row for the campaign, one for each other letter"
        );
        // Campaigns only.
        let page = l
            .send(get("/?grouped=true", Some(&ann.cookie)))
            .await
            .text();
        assert_eq!(page.matches("<tr data-row=").count(), 1);
        for id in &others {
            assert!(!page.contains(&format!("data-row=\"{id}\"")));
        }
        // One row per message, and a group's own list.
        let page = l.send(get("/?each=true", Some(&ann.cookie))).await.text();
        assert_eq!(page.matches("<tr data-row=").count(), 7);
        let g = l
            .store
            .message(members[0])
            .await
            .unwrap()
            .unwrap()
            .item
            .group
            .unwrap();
        let page = l
            .send(get(&format!("/?group={g}&each=true"), Some(&ann.cookie)))
            .await
            .text();
        assert_eq!(page.matches("<tr data-row=").count(), 5);
        // The JSON API carries the same count.
        let api = l.send(get("/api/queue", Some(&ann.cookie))).await.json();
        assert_eq!(api["rows"], 3);
        let row = api["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["group"] == g.0)
            .unwrap();
        assert_eq!(row["represents"], 5);
    }
);

both!(
    group_actions_need_csrf_and_change_every_member,
    |pg| async move {
        let l = Local::new(pg).await;
        let (members, others) = campaign(&l).await;
        let g: GroupId = l
            .store
            .message(members[2])
            .await
            .unwrap()
            .unwrap()
            .item
            .group
            .unwrap();
        let ann = l.login("ann").await;
        let page = l
            .send(get(&format!("/messages/{}", members[2]), Some(&ann.cookie)))
            .await
            .text();
        assert!(page.contains("One of 5 similar messages"), "{page}");
        assert!(
            page.contains(&format!("href=\"/?group={g}&amp;each=true\"")),
            "{page}"
        );
        assert!(page.contains(&format!("action=\"/groups/{g}/status\"")));
        let back = format!("/messages/{}", members[2]);
        let status = |csrf: &str| {
            form(
                &format!("/groups/{g}/status"),
                Some(&ann.cookie),
                &[("csrf", csrf), ("status", "answered"), ("back", &back)],
            )
        };
        // No session, or a forged token: refused, nothing changed.
        let a = l
            .send(form(
                &format!("/groups/{g}/accept"),
                None,
                &[("csrf", &ann.csrf)],
            ))
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert!(a.location().unwrap().starts_with("/login"));
        assert_eq!(l.send(status("forged")).await.status, StatusCode::FORBIDDEN);
        for id in &members {
            assert!(l.store.audit(Some(*id), 10).await.unwrap().is_empty());
        }
        // With the token: every member answered, each with its own entry.
        let a = l.send(status(&ann.csrf)).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
        assert_eq!(a.location(), Some(back.as_str()));
        let a = l
            .send(form(
                &format!("/groups/{g}/label"),
                Some(&ann.cookie),
                &[
                    ("csrf", &ann.csrf),
                    ("axis", "category"),
                    ("label", "feedback"),
                ],
            ))
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
        // A label the record does not know is refused.
        let a = l
            .send(form(
                &format!("/groups/{g}/label"),
                Some(&ann.cookie),
                &[
                    ("csrf", &ann.csrf),
                    ("axis", "category"),
                    ("label", "nonsense"),
                ],
            ))
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
        for id in &members {
            let item = l.store.message(*id).await.unwrap().unwrap().item;
            assert_eq!(item.status, Status::Answered);
            assert_eq!(item.category.unwrap().label, "feedback");
            assert!(!item.needs_review);
            let audit = l.store.audit(Some(*id), 10).await.unwrap();
            assert_eq!(audit.len(), 2, "message {id}");
            assert!(audit.iter().all(|a| a.actor == "ann"));
        }
        for id in &others {
            let item = l.store.message(*id).await.unwrap().unwrap().item;
            assert_eq!(item.status, Status::Open);
        }
        // An unknown group.
        let a = l
            .send(form(
                "/groups/9999/accept",
                Some(&ann.cookie),
                &[("csrf", &ann.csrf)],
            ))
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
    }
);
