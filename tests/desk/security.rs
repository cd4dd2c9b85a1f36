//! Who may do what, checked against the router in process on both engines: no session, a
//! forged or missing CSRF token, a write from another site, a reviewer at the admin routes,
//! 200 wrong passwords, idle and ended sessions, the cookie's flags, hostile text, the CSP.

use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use mailroom::desk::{DeskConfig, LoginLimits, CSP};
use mailroom::store::MessageId;

use super::{both, form, get, post_json, Local, PASSWORD};
use crate::store::{message, Msg};

async fn one_message(l: &Local) -> MessageId {
    l.store.put(&message(1, Msg::default())).await.unwrap().id()
}

both!(no_session_is_refused, |pg| async move {
    let l = Local::new(pg).await;
    let id = one_message(&l).await;
    for path in ["/api/queue", "/api/session", "/api/openapi.json"] {
        let a = l.send(get(path, None)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(a.json()["error"]["code"], "unauthorized");
    }
    let a = l
        .send(post_json(
            &format!("/api/messages/{id}/labels"),
            None,
            Some("x"),
            serde_json::json!({"axis": "category", "label": "feedback"}),
        ))
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // A forged cookie is no session either.
    let a = l
        .send(get("/api/queue", Some("mailroom_session=0123abcd")))
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // Pages send the browser to the login page, and back afterwards.
    let a = l.send(get(&format!("/messages/{id}"), None)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), Some(&*format!("/login?next=/messages/{id}")));
    let a = l
        .send(form(
            &format!("/messages/{id}/accept"),
            None,
            &[("csrf", "x")],
        ))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(l.store.audit(Some(id), 10).await.unwrap().is_empty());
});

both!(forged_csrf_is_refused, |pg| async move {
    let l = Local::new(pg).await;
    let id = one_message(&l).await;
    let ann = l.login("ann").await;
    let boss = l.login("boss").await;
    let path = format!("/api/messages/{id}/labels");
    let body = serde_json::json!({"axis": "category", "label": "feedback"});
    for token in [None, Some("forged"), Some(boss.csrf.as_str())] {
        let a = l
            .send(post_json(&path, Some(&ann.cookie), token, body.clone()))
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "token {token:?}");
        assert_eq!(a.json()["error"]["code"], "forbidden");
    }
    let page = format!("/messages/{id}/label");
    let fields = |csrf: &str| {
        form(
            &page,
            Some(&ann.cookie),
            &[("csrf", csrf), ("axis", "category"), ("label", "feedback")],
        )
    };
    let a = l.send(fields("forged")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(l.store.corrections(Some(id)).await.unwrap().is_empty());

    // A write sent from another site is refused even with the right token.
    let mut req = post_json(&path, Some(&ann.cookie), Some(&ann.csrf), body.clone());
    req.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(l.send(req).await.status, StatusCode::FORBIDDEN);
    let mut login = form(
        "/login",
        None,
        &[("username", "ann"), ("password", PASSWORD)],
    );
    login
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    let a = l.send(login).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.cookie().is_none());
    assert!(l.store.corrections(Some(id)).await.unwrap().is_empty());

    // The right token, from this site, goes through.
    let a = l.send(fields(&ann.csrf)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    let mut same = post_json(&path, Some(&ann.cookie), Some(&ann.csrf), body);
    same.headers_mut()
        .insert(header::ORIGIN, "http://desk.test".parse().unwrap());
    assert_eq!(l.send(same).await.status, StatusCode::OK);
    assert_eq!(l.store.corrections(Some(id)).await.unwrap().len(), 2);
});

both!(reviewers_cannot_manage_accounts, |pg| async move {
    let l = Local::new(pg).await;
    let ann = l.login("ann").await;
    let a = l.send(get("/accounts", Some(&ann.cookie))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let tries = [
        (
            "/accounts",
            vec![
                ("name", "mallory"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
        ),
        ("/accounts/ann/role", vec![("role", "admin")]),
        ("/accounts/boss/disabled", vec![("disabled", "true")]),
        (
            "/accounts/boss/password",
            vec![("password", "taken over at last")],
        ),
    ];
    for (path, fields) in &tries {
        let mut f = vec![("csrf", ann.csrf.as_str())];
        f.extend(fields.iter().copied());
        let a = l.send(form(path, Some(&ann.cookie), &f)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
    }
    let names: Vec<_> = l.store.accounts().await.unwrap();
    assert_eq!(names.len(), 2);
    assert!(names.iter().all(|a| !a.disabled));
    assert!(l
        .store
        .verify_login("boss", PASSWORD)
        .await
        .unwrap()
        .is_some());

    // An admin can, and changing a role ends that account's sessions.
    let boss = l.login("boss").await;
    let a = l.send(get("/accounts", Some(&boss.cookie))).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.text().contains("data-account=\"ann\""));
    let a = l
        .send(form(
            "/accounts",
            Some(&boss.cookie),
            &[
                ("csrf", &boss.csrf),
                ("name", "cat"),
                ("role", "reviewer"),
                ("password", PASSWORD),
            ],
        ))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    assert!(l
        .store
        .verify_login("cat", PASSWORD)
        .await
        .unwrap()
        .is_some());
    let a = l
        .send(form(
            "/accounts/ann/role",
            Some(&boss.cookie),
            &[("csrf", &boss.csrf), ("role", "admin")],
        ))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = l.send(get("/api/session", Some(&ann.cookie))).await;
    assert_eq!(
        a.status,
        StatusCode::UNAUTHORIZED,
        "the role change ended ann's session"
    );
    let audit = l.store.audit(None, 10).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "account.role" && e.actor == "boss"));
});

fn limits(first_block: Duration) -> DeskConfig {
    DeskConfig {
        login: LoginLimits {
            first_block,
            ..LoginLimits::default()
        },
        ..DeskConfig::default()
    }
}

both!(wrong_passwords_are_slowed, |pg| async move {
    let l = Local::with(pg, limits(Duration::from_secs(600))).await;
    let free = LoginLimits::default().free_per_account as usize;
    let t = Instant::now();
    let (mut checked, mut refused) = (0, 0);
    for i in 0..200 {
        let pw = format!("guess number {i}");
        let a = l
            .send(form(
                "/login",
                None,
                &[("username", "ann"), ("password", &pw)],
            ))
            .await;
        match a.status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                let wait: u64 = a.headers[header::RETRY_AFTER]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(wait > 60, "blocked for {wait} s");
            }
            other => panic!("attempt {i}: {other}"),
        }
        assert!(a.cookie().is_none());
    }
    // Only the free failures and the one that started the block reached the password check.
    assert_eq!((checked, refused), (free + 1, 200 - free - 1));
    eprintln!(
        "200 wrong passwords: {checked} checked, {refused} refused in {:?}",
        t.elapsed()
    );
    // While blocked, even the right password is refused; another account is not blocked.
    let a = l
        .send(form(
            "/login",
            None,
            &[("username", "ANN"), ("password", PASSWORD)],
        ))
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    let a = l
        .send(form(
            "/login",
            None,
            &[("username", "boss"), ("password", PASSWORD)],
        ))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);

    // Once the block lapses, the right password works.
    let l = Local::with(pg, limits(Duration::from_millis(300))).await;
    for _ in 0..=free {
        let a = l
            .send(form(
                "/login",
                None,
                &[("username", "ann"), ("password", "nope nope")],
            ))
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = l
        .send(form(
            "/login",
            None,
            &[("username", "ann"), ("password", PASSWORD)],
        ))
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(Duration::from_millis(400)).await;
    l.login("ann").await;
});

both!(sessions_end, |pg| async move {
    let config = DeskConfig {
        session_idle: Duration::from_millis(1500),
        ..DeskConfig::default()
    };
    let l = Local::with(pg, config).await;
    let ann = l.login("ann").await;
    // The cookie: HTTP-only, Secure, SameSite=Strict, for the whole site.
    let a = l
        .send(form(
            "/login",
            None,
            &[("username", "ann"), ("password", PASSWORD)],
        ))
        .await;
    let set = a.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(flag), "{set}");
    }
    // Used, the session lives on; idle past the limit, it ends.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        l.send(get("/api/session", Some(&ann.cookie))).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        l.send(get("/api/session", Some(&ann.cookie))).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let a = l.send(get("/api/session", Some(&ann.cookie))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(l.state.purge_sessions().await.unwrap() >= 1);
    // Logging out ends the session and clears the cookie.
    let ann = l.login("ann").await;
    let a = l
        .send(form("/logout", Some(&ann.cookie), &[("csrf", &ann.csrf)]))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(a.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let a = l.send(get("/api/session", Some(&ann.cookie))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
});

both!(hostile_text_is_shown_as_text, |pg| async move {
    let l = Local::new(pg).await;
    let evil = "<script>alert('x')</script><img src=x onerror=alert(1)>";
    let mut m = message(
        7,
        Msg {
            subject: "<script>alert('subject')</script> refund",
            body: "<script>alert('x')</script><img src=x onerror=alert(1)> please refund",
            sender: "\"<b>Mallory</b>\" <m@example.net>",
            ..Msg::default()
        },
    );
    let mut record: serde_json::Value = serde_json::from_str(&m.record_json).unwrap();
    record["summary"] = serde_json::json!({"text": evil, "method": "extractive"});
    m.record_json = record.to_string();
    let id = l.store.put(&m).await.unwrap().id();
    let ann = l.login("ann").await;
    for path in [
        "/".to_string(),
        format!("/messages/{id}"),
        format!("/messages/{id}/original"),
        "/?q=refund".to_string(),
    ] {
        let a = l.send(get(&path, Some(&ann.cookie))).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        let html = a.text();
        assert!(!html.contains("<script>alert"), "{path}: {html}");
        assert!(!html.contains("<img src=x"), "{path}");
        assert!(html.contains("&lt;script&gt;alert("), "{path}");
        // Our own one script, from this server.
        assert_eq!(html.matches("<script").count(), 1, "{path}");
        let csp = a.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert_eq!(csp, CSP);
        assert!(!csp.contains("unsafe-inline") && csp.contains("script-src 'self'"));
        assert_eq!(a.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
});
