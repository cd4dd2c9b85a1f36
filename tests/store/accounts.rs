//! Accounts and login sessions, and trained heads with their promotion.

use std::time::Duration;

use mailroom::store::{HeadState, NewHead, Role, StoreError};

use super::both;

both!(accounts_and_logins, |db| async move {
    let store = db.open().await;
    let ana = store
        .add_account("setup", "ana", Role::Admin, "correct horse")
        .await
        .unwrap();
    store
        .add_account("ana", "ben", Role::Reviewer, "battery staple")
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_account("ana", "ben", Role::Admin, "another one")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store
        .add_account("ana", "cy", Role::Reviewer, "short")
        .await
        .is_err());
    let names: Vec<_> = store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.name, a.role))
        .collect();
    assert_eq!(
        names,
        [
            ("ana".to_string(), Role::Admin),
            ("ben".to_string(), Role::Reviewer)
        ]
    );

    assert_eq!(
        store.verify_login("ana", "correct horse").await.unwrap(),
        Some(ana.clone())
    );
    assert_eq!(
        store.verify_login("ana", "correct horsE").await.unwrap(),
        None
    );
    assert_eq!(
        store.verify_login("nobody", "correct horse").await.unwrap(),
        None
    );

    store
        .set_password("ana", "ben", "new battery staple")
        .await
        .unwrap();
    assert!(store
        .verify_login("ben", "battery staple")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .verify_login("ben", "new battery staple")
        .await
        .unwrap()
        .is_some());
    store.set_disabled("ana", "ben", true).await.unwrap();
    assert!(store
        .verify_login("ben", "new battery staple")
        .await
        .unwrap()
        .is_none());
    let actions: Vec<String> = store
        .audit(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        actions,
        [
            "account.disable",
            "account.password",
            "account.add",
            "account.add"
        ]
    );
});

both!(sessions_expire_and_end, |db| async move {
    let store = db.open().await;
    let ana = store
        .add_account("setup", "ana", Role::Admin, "correct horse")
        .await
        .unwrap();
    let idle = Duration::from_secs(60);
    let s = store
        .create_session(&ana, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_ne!(s.token, s.csrf_token);
    assert_eq!(s.token.len(), 64);
    let live = store.session(&s.token, idle).await.unwrap().unwrap();
    assert_eq!(live.account, ana);
    assert_eq!(live.csrf_token, s.csrf_token);
    assert!(store.session("not-a-token", idle).await.unwrap().is_none());
    store.end_session(&s.token).await.unwrap();
    assert!(
        store.session(&s.token, idle).await.unwrap().is_none(),
        "logged out"
    );

    // Idle for longer than allowed: gone, though not expired.
    let s = store
        .create_session(&ana, Duration::from_secs(3600))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(store
        .session(&s.token, Duration::from_millis(200))
        .await
        .unwrap()
        .is_none());
    assert!(
        store.session(&s.token, idle).await.unwrap().is_some(),
        "a longer idle limit keeps it"
    );
    // Past its lifetime: gone, however active.
    let s = store
        .create_session(&ana, Duration::from_millis(200))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(store.session(&s.token, idle).await.unwrap().is_none());
    assert!(
        store.purge_sessions(idle).await.unwrap() >= 1,
        "the expired one is deleted"
    );
    // A role change ends the account's sessions.
    let s = store
        .create_session(&ana, Duration::from_secs(3600))
        .await
        .unwrap();
    store
        .set_role("setup", "ana", Role::Reviewer)
        .await
        .unwrap();
    assert!(store.session(&s.token, idle).await.unwrap().is_none());
});

both!(heads_promote_retire_and_roll_back, |db| async move {
    let store = db.open().await;
    let head = |n: u8| NewHead {
        axis: "category".into(),
        data: vec![n; 64],
        meta_json: format!(r#"{{"rows":[1,{n}]}}"#),
        metrics_json: Some(format!(r#"{{"macro_f1":0.{n}}}"#)),
    };
    let a = store.add_head("ana", &head(1)).await.unwrap();
    let b = store.add_head("ana", &head(2)).await.unwrap();
    assert_eq!(a.state, HeadState::Candidate);
    assert!(store.active_head("category").await.unwrap().is_none());
    store.promote_head("ana", a.id).await.unwrap();
    assert_eq!(
        store.active_head("category").await.unwrap().unwrap().id,
        a.id
    );
    store.promote_head("ana", b.id).await.unwrap();
    let heads = store.heads("category").await.unwrap();
    let states: Vec<_> = heads.iter().map(|h| (h.id, h.state)).collect();
    assert_eq!(
        states,
        [(b.id, HeadState::Active), (a.id, HeadState::Retired)]
    );
    assert!(
        store.promote_head("ana", b.id).await.is_err(),
        "already active"
    );
    // Rolling back is one action.
    store.promote_head("ben", a.id).await.unwrap();
    assert_eq!(
        store.active_head("category").await.unwrap().unwrap().id,
        a.id
    );
    assert_eq!(store.head_data(a.id).await.unwrap(), Some(vec![1; 64]));
    store.retire_head("ben", a.id).await.unwrap();
    assert!(store.active_head("category").await.unwrap().is_none());
    let audit = store.audit(None, 3).await.unwrap();
    assert_eq!(audit[0].action, "head.retire");
    assert_eq!(audit[1].action, "head.promote");
    assert_eq!(audit[1].before.as_ref().unwrap()["active"], b.id);
    assert_eq!(audit[1].after.as_ref().unwrap()["active"], a.id);
});
