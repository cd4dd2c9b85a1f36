//! Learning from corrections in a real browser, as an admin uses it: the real `mailroom desk`
//! binary over a store, messages triaged by its engine through `POST /api/messages`; three
//! messages corrected on their page; a candidate head trained from them on the Learning page;
//! its comparison with the head in use shown; promoted; and the next message given to the desk
//! is decided by the new head, its record naming it. A reviewer is refused the Learning routes.
//! Screenshots go to `target/desk-screenshots/ENGINE-learning-*.png`.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use futures_util::FutureExt;
use mailroom::store::{HeadState, MessageId, Store};

use super::{add_accounts, db, Browser, Server, Session, PASSWORD};

/// The example inbox, in file order.
fn inbox() -> Vec<Vec<u8>> {
    let dir = crate::util::root().join("examples/inbox");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    while !f().await {
        assert!(t.elapsed() < limit, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// The text of `css` on the page as it is now, or `None`: while a page is being replaced, an
/// element found on the old one can be gone before its text is read.
async fn text_now(c: &Client, css: &str) -> Option<String> {
    c.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

fn flow(postgres: bool) {
    let engine = if postgres { "postgres" } else { "sqlite" };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(db(postgres));
    add_accounts(&db.url);
    let server = Server::start(&db.url);
    let ann = server.login("ann");
    let mail = inbox();
    let ids: Vec<i64> = mail[..6]
        .iter()
        .map(|raw| server.add_message(&ann, raw)["id"].as_i64().unwrap())
        .collect();

    // A reviewer is refused every Learning route, on the server.
    for (method, path) in [("GET", "/learning"), ("POST", "/learning/train")] {
        let body = format!("csrf={}&axis=category", ann.csrf);
        let (status, _, _) = server.request(
            method,
            path,
            &[
                ("Cookie", &ann.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        );
        assert_eq!(status, 403, "{method} {path} as a reviewer");
    }

    rt.block_on(async {
        let store = Store::open(&db.url).await.unwrap();
        let browser = Browser::start().await;
        let result = AssertUnwindSafe(steps(&browser, &server, &store, engine, &ann, &ids, &mail))
            .catch_unwind()
            .await;
        if let Err(panic) = result {
            browser
                .screenshot(format!("{engine}-learning-failed"))
                .await;
            browser.close().await;
            std::panic::resume_unwind(panic);
        }
        browser.close().await;
        store.close().await;
    });
}

async fn steps(
    browser: &Browser,
    server: &Server,
    store: &Store,
    engine: &str,
    ann: &Session,
    ids: &[i64],
    mail: &[Vec<u8>],
) {
    let c = &browser.client;
    let shot = |name: &str| browser.screenshot(format!("{engine}-learning-{name}"));
    let base = server.base();

    // Log in as the admin.
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("boss")
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    click(c, "form.login button").await;
    c.wait()
        .for_element(Locator::Css("table.queue"))
        .await
        .unwrap();

    // Correct the category of three messages, each to another label than the model's.
    for &id in &ids[..3] {
        c.goto(&format!("{base}/messages/{id}")).await.unwrap();
        let msg = store.message(MessageId(id)).await.unwrap().unwrap();
        let before = msg.item.category.as_ref().unwrap().label.clone();
        let mut target = None;
        for b in c
            .find_all(Locator::Css("fieldset[data-key='c'] button"))
            .await
            .unwrap()
        {
            let value = b.attr("value").await.unwrap().unwrap();
            if value != before {
                target = Some((b, value));
                break;
            }
        }
        let (button, after) = target.expect("another category to choose");
        button.click().await.unwrap();
        let want = after.replace('_', " ");
        let want = &want;
        wait_for(
            "the corrected category",
            Duration::from_secs(20),
            || async move {
                text_now(c, "[data-current='category']").await.as_deref() == Some(want.as_str())
            },
        )
        .await;
    }
    let examples = store.training_examples("category").await.unwrap();
    assert_eq!(examples.len(), 3, "three reviewed messages to learn from");
    shot("corrected").await;

    // Train a candidate from them on the Learning page.
    click(c, "nav a[href='/learning']").await;
    c.wait()
        .for_element(Locator::Css("#axis-category"))
        .await
        .unwrap();
    assert!(text(c, "#axis-category .in-use")
        .await
        .contains("shipped head"));
    click(c, "button[data-train='category']").await;
    wait_for(
        "the candidate and its comparison",
        Duration::from_secs(300),
        || async move {
            if c.find(Locator::Css("#axis-category .candidate table.comparison"))
                .await
                .is_ok()
            {
                return true;
            }
            if let Ok(e) = c
                .find(Locator::Css(
                    "#axis-category .training[data-state='failed']",
                ))
                .await
            {
                panic!("training failed: {}", e.text().await.unwrap_or_default());
            }
            let _ = c.refresh().await;
            false
        },
    )
    .await;
    shot("comparison").await;
    let candidate = c
        .find(Locator::Css("#axis-category .candidate"))
        .await
        .unwrap()
        .attr("data-candidate")
        .await
        .unwrap()
        .unwrap();
    let candidate: i64 = candidate.parse().unwrap();
    // Trained on the two older, tested on the newest, beside the shipped head.
    let n = text(c, "#axis-category tr[data-metric='n'] td.candidate").await;
    assert_eq!(n, "1", "tested on the newest reviewed message");
    let current = text(c, "#axis-category tr[data-metric='macro_f1'] td.current").await;
    assert!(
        current.parse::<f64>().is_ok(),
        "the head in use is scored: {current:?}"
    );
    let comparison = text(c, "#axis-category .candidate").await;
    assert!(comparison.contains("shipped head"), "{comparison}");

    // Promote it: it is in use, in the store and on the page.
    click(
        c,
        &format!("form[action='/learning/heads/{candidate}/promote'] button"),
    )
    .await;
    wait_for(
        "the promoted head in use",
        Duration::from_secs(60),
        || async move {
            text_now(c, "#axis-category .in-use")
                .await
                .is_some_and(|t| t.contains(&format!("store head {candidate}")))
        },
    )
    .await;
    shot("promoted").await;
    let active = store.active_head("category").await.unwrap().unwrap();
    assert_eq!((active.id, active.state), (candidate, HeadState::Active));
    let audit: Vec<(String, String)> = store
        .audit(None, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.actor))
        .collect();
    for action in ["head.train", "head.add", "head.promote"] {
        assert!(
            audit.contains(&(action.to_string(), "boss".to_string())),
            "{action} by boss in {audit:?}"
        );
    }

    // The next message given to the desk is decided by the new head, and its record says so.
    let next = server.add_message(ann, &mail[6]);
    assert_eq!(next["added"], true, "{next}");
    let id = next["id"].as_i64().unwrap();
    let msg = store.message(MessageId(id)).await.unwrap().unwrap();
    let record: serde_json::Value = serde_json::from_str(&msg.record_json).unwrap();
    let category = record["classification"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["axis"] == "category")
        .expect("a category decision")
        .clone();
    let name = format!("category@{}", &active.sha256[..12]);
    assert_eq!(category["method"], "head", "{category}");
    assert_eq!(category["source"], name.as_str(), "{category}");
    let heads = record["models"]["heads"].as_array().unwrap();
    assert!(
        heads.iter().any(|h| h["sha256"] == active.sha256.as_str()),
        "models.heads names the store head: {heads:?}"
    );
    // The message page shows it too.
    c.goto(&format!("{base}/messages/{id}")).await.unwrap();
    c.wait().for_element(Locator::Css("#body")).await.unwrap();
    let page = text(c, "main").await;
    assert!(page.contains(&name), "the page names the head: {page}");
    shot("decided").await;
}

#[test]
fn sqlite() {
    flow(false);
}

#[test]
fn postgres() {
    flow(true);
}
