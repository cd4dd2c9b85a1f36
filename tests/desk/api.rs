//! The JSON contract, in process on both engines: `POST /login`, `GET /api/session`,
//! `GET /api/queue` with filters and counts, `GET /api/messages/{id}`, the label and status
//! writes (and what they leave in the store), `POST /api/messages` before the models are
//! loaded, and the OpenAPI document against the router.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use mailroom::desk::{openapi::API_ROUTES, ROUTES};
use mailroom::store::{MessageId, Status};
use serde_json::json;

use super::{both, form, get, post_json, Local};
use crate::store::{message, Msg};

/// Four messages: an urgent one, one for review, two routine ones (one with the record's
/// full label list, so that a wrong label can be refused).
async fn seed(l: &Local) -> Vec<MessageId> {
    let mut ids = Vec::new();
    let msgs = [
        Msg {
            subject: "Routine old",
            date_ms: 1_000,
            ..Msg::default()
        },
        Msg {
            subject: "Urgent",
            urgent: true,
            date_ms: 5_000,
            category: "payment_or_debt",
            ..Msg::default()
        },
        Msg {
            subject: "Unsure",
            needs_review: true,
            reasons: &["category:low_confidence"],
            date_ms: 4_000,
            category: "feedback",
            ..Msg::default()
        },
        Msg {
            subject: "Routine new",
            date_ms: 3_000,
            ..Msg::default()
        },
    ];
    for (i, m) in msgs.into_iter().enumerate() {
        let mut n = message(i, m);
        if i == 0 {
            let mut r: serde_json::Value = serde_json::from_str(&n.record_json).unwrap();
            r["classification"][0]["probabilities"] =
                json!({"complaint": 0.7, "feedback": 0.2, "other": 0.1});
            n.record_json = r.to_string();
        }
        ids.push(l.store.put(&n).await.unwrap().id());
    }
    ids
}

both!(the_contract, |pg| async move {
    let l = Local::new(pg).await;
    let ids = seed(&l).await;
    let ann = l.login("ann").await;
    let c = Some(ann.cookie.as_str());

    let s = l.send(get("/api/session", c)).await.json();
    assert_eq!(
        (s["user"].as_str(), s["role"].as_str()),
        (Some("ann"), Some("reviewer"))
    );
    assert_eq!(s["csrf_token"].as_str().unwrap().len(), 64);

    // The queue: urgent, then needs review, then oldest.
    let q = l.send(get("/api/queue", c)).await.json();
    let order: Vec<i64> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(order, [ids[1].0, ids[2].0, ids[0].0, ids[3].0]);
    assert_eq!(q["total"], 4);
    let q = l
        .send(get("/api/queue?category=feedback&limit=1", c))
        .await
        .json();
    assert_eq!(q["total"], 1);
    assert_eq!(q["items"][0]["subject"], "Unsure");
    assert_eq!(
        q["items"][0]["review_reasons"][0],
        "category:low_confidence"
    );
    // Each facet counts with the other filters applied but not its own.
    let complaint = q["counts"]["category"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["value"] == "complaint")
        .unwrap()["count"]
        .clone();
    assert_eq!(complaint, 2);
    let q = l.send(get("/api/queue?q=unsure", c)).await.json();
    assert_eq!(q["total"], 1);
    let bad = l.send(get("/api/queue?status=closed", c)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["error"]["code"], "invalid_request");

    // One message.
    let m = l
        .send(get(&format!("/api/messages/{}", ids[0]), c))
        .await
        .json();
    assert_eq!(m["message"]["subject"], "Routine old");
    assert_eq!(m["record"]["schema"], "mailroom.triage/1");
    assert_eq!(m["conversation"], json!([ids[0].0]));
    let missing = l.send(get("/api/messages/999999", c)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Writes, with the token: a correction and a status, each audited.
    let path = format!("/api/messages/{}/labels", ids[0]);
    let a = l
        .send(post_json(
            &path,
            c,
            Some(&ann.csrf),
            json!({"axis": "category", "label": "feedback"}),
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    assert_eq!(
        (v["before"].as_str(), v["after"].as_str()),
        (Some("complaint"), Some("feedback"))
    );
    let a = l
        .send(post_json(
            &path,
            c,
            Some(&ann.csrf),
            json!({"axis": "category", "label": "gossip"}),
        ))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    let a = l
        .send(post_json(
            &path,
            c,
            Some(&ann.csrf),
            json!({"axis": "category"}),
        ))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = l
        .send(post_json(
            &format!("/api/messages/{}/status", ids[0]),
            c,
            Some(&ann.csrf),
            json!({"status": "no_reply_needed"}),
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["status"], "no_reply_needed");
    let a = l
        .send(post_json(
            &format!("/api/messages/{}/status", ids[0]),
            c,
            Some(&ann.csrf),
            json!({"status": "done"}),
        ))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let item = l.store.message(ids[0]).await.unwrap().unwrap().item;
    assert_eq!(item.status, Status::NoReplyNeeded);
    assert_eq!(item.category.as_ref().unwrap().label, "feedback");
    assert_eq!(item.category.as_ref().unwrap().probability, None);
    assert_eq!(item.reviewed_by.as_deref(), Some("ann"));
    let audit = l.store.audit(Some(ids[0]), 10).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["status", "correct"]);
    assert!(audit.iter().all(|e| e.actor == "ann"));

    // The same work through the page's forms.
    let a = l
        .send(form(
            &format!("/messages/{}/note", ids[1]),
            c,
            &[
                ("csrf", &ann.csrf),
                ("body", "Called back; visit booked."),
                ("back", "/messages/2?at=0"),
            ],
        ))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), Some("/messages/2?at=0"));
    let a = l
        .send(form(
            &format!("/messages/{}/assign", ids[1]),
            c,
            &[
                ("csrf", &ann.csrf),
                ("assignee", "boss"),
                ("back", "https://evil.example/"),
            ],
        ))
        .await;
    assert_eq!(
        a.location(),
        Some(&*format!("/messages/{}", ids[1])),
        "no redirect off-site"
    );
    let a = l
        .send(form(
            &format!("/messages/{}/assign", ids[1]),
            c,
            &[("csrf", &ann.csrf), ("assignee", "nobody-here")],
        ))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let item = l.store.message(ids[1]).await.unwrap().unwrap().item;
    assert_eq!(item.assignee.as_deref(), Some("boss"));
    assert_eq!(
        l.store.notes(ids[1]).await.unwrap()[0].body,
        "Called back; visit booked."
    );
    let page = l.send(get("/?unassigned=true", c)).await.text();
    assert!(
        !page.contains(">Urgent<"),
        "the assigned message left the unassigned queue"
    );
});

/// `POST /api/messages` with a raw message, as `ann`.
fn add_message(ann: &super::Session, raw: Vec<u8>) -> Request<Body> {
    Request::post("/api/messages")
        .header(header::HOST, "desk.test")
        .header(header::COOKIE, &ann.cookie)
        .header("x-csrf-token", &ann.csrf)
        .header(header::CONTENT_TYPE, "message/rfc822")
        .body(Body::from(raw))
        .unwrap()
}

both!(messages_wait_for_the_engine, |pg| async move {
    let l = Local::new(pg).await;
    let ann = l.login("ann").await;
    let raw = b"From: a@example.org\r\nSubject: Hello\r\n\r\nPlease call me.\r\n".to_vec();
    let req = |raw: Vec<u8>| add_message(&ann, raw);
    let a = l.send(req(raw.clone())).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(a.json()["error"]["code"], "not_ready");
    // A message already stored needs no engine: nothing is added.
    let stored = message(1, Msg::default());
    let id = l.store.put(&stored).await.unwrap().id();
    let a = l.send(req(stored.raw.clone().unwrap())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["added"], false);
    assert_eq!(a.json()["id"], id.0);
    assert_eq!(l.store.count().await.unwrap(), 1);
    l.state.engine_failed("no models here".into());
    let a = l.send(req(raw)).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.json()["error"]["code"], "engine_unavailable");
});

both!(queued_messages_wait_for_the_workers, |pg| async move {
    // A desk started with --queue triages nothing and needs no engine: the message becomes a
    // job (202), once however often it is sent; a stored message is still answered as stored.
    let l = Local::with(
        pg,
        mailroom::desk::DeskConfig {
            queue: true,
            ..mailroom::desk::DeskConfig::default()
        },
    )
    .await;
    let ann = l.login("ann").await;
    let req = |raw: Vec<u8>| add_message(&ann, raw);
    let raw = b"From: a@example.org\r\nSubject: Hello\r\n\r\nPlease call me.\r\n".to_vec();
    let a = l.send(req(raw.clone())).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    assert_eq!(a.json()["added"], true);
    let job = a.json()["job"].as_i64().expect("the job's id");
    let again = l.send(req(raw)).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(
        (
            again.json()["job"].as_i64(),
            again.json()["added"].as_bool()
        ),
        (Some(job), Some(false))
    );
    let counts = l.store.job_counts().await.unwrap();
    assert_eq!((counts.queued, counts.claimed), (1, 0), "{counts:?}");
    assert_eq!(
        l.store.count().await.unwrap(),
        0,
        "nothing stored until a worker triages it"
    );
    let stored = message(1, Msg::default());
    let id = l.store.put(&stored).await.unwrap().id();
    let a = l.send(req(stored.raw.clone().unwrap())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["id"], id.0);
    assert_eq!(l.store.job_counts().await.unwrap().queued, 1);
});

both!(
    openapi_lists_the_contract_and_every_route_answers,
    |pg| async move {
        let l = Local::new(pg).await;
        let ids = seed(&l).await;
        let boss = l.login("boss").await;
        let c = Some(boss.cookie.as_str());
        let doc = l.send(get("/api/openapi.json", c)).await.json();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented = BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        let expected: BTreeSet<(String, String)> = API_ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(documented, expected);
        for (m, p) in API_ROUTES {
            assert!(
                ROUTES.contains(&(*m, *p)),
                "{m} {p} is documented but not a route"
            );
        }
        // A group of near-duplicates for the group routes: one message sent twice.
        let mut twice = Vec::new();
        for i in [90, 91] {
            let mut m = message(i, Msg::default());
            m.similarity = mailroom::store::Signature::of(&m.body_text);
            twice.push(l.store.put(&m).await.unwrap().id());
        }
        let group = l.store.message(twice[0]).await.unwrap().unwrap().item.group;
        let group = group.expect("a message sent twice is a group").to_string();
        // Every route is served: not the fallback's 404 or 405.
        for (method, path) in ROUTES.iter().filter(|r| r.1 != "/logout") {
            let id = if path.starts_with("/groups/") {
                group.clone()
            } else {
                ids[0].to_string()
            };
            let path = path.replace("{id}", &id).replace("{name}", "ann");
            let req = match *method {
                "GET" => get(&path, c),
                _ if path.starts_with("/api/") => post_json(&path, c, Some(&boss.csrf), json!({})),
                _ => form(&path, c, &[("csrf", &boss.csrf)]),
            };
            let a = l.send(req).await;
            assert!(
                !matches!(
                    a.status,
                    StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
                ),
                "{method} {path}: {}",
                a.status
            );
        }
        let a = l.send(get("/api/nothing", c)).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert_eq!(a.json()["error"]["code"], "not_found");
    }
);
