//! The desk in a real browser, as a caseworker uses it: the real `mailroom desk` binary over a
//! store (accounts added with `mailroom desk user add`, the example inbox triaged by the real
//! engine through the desk's own `POST /api/messages`), and a headless Chromium driven over
//! WebDriver (fantoccini). The flow: log in; the queue in the store's order (urgent first, then
//! needs review, then oldest); j/k and Enter to open the first urgent message; its marks; the
//! category corrected with the keyboard (the correction and its audit entry are then in the
//! store); `?`; the overview; hostile messages shown as text (no alert, no script element);
//! log out. Screenshots of each page go to `target/desk-screenshots/ENGINE-PAGE.png` (and
//! `ENGINE-failed.png` when a step fails).

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, Locator};
use futures_util::FutureExt;
use mailroom::store::{MessageId, QueueQuery, Store};

use super::{add_accounts, db, Browser, Server, Session, PASSWORD};

/// Press keys (as a person would: to whatever has the focus).
async fn press(c: &Client, keys: &str) {
    let mut a = KeyActions::new("keyboard".into());
    for ch in keys.chars() {
        a = a
            .then(KeyAction::Down { value: ch })
            .then(KeyAction::Up { value: ch });
    }
    c.perform_actions(a).await.unwrap();
}

/// Wait until `f` holds (the page reloads after an action).
async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    while !f().await {
        assert!(t.elapsed() < Duration::from_secs(20), "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether the page's heading starts with `title` (false while the page loads).
async fn heading_is(c: &Client, title: &str) -> bool {
    match c.find(Locator::Css("#queue-title")).await {
        Ok(e) => e.text().await.is_ok_and(|t| t.starts_with(title)),
        Err(_) => false,
    }
}

async fn path(c: &Client) -> String {
    let u = c.current_url().await.unwrap();
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
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

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.unwrap().len()
}

/// Text folded as the desk folds it for marking: lower case, whitespace runs as one space.
fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The page needs no sideways scrolling in the test's 1366-pixel-wide window (a laptop screen):
/// every column of the queue, the last one included, is on screen.
async fn fits_the_window(c: &Client, page: &str) {
    let v = c
        .execute(
            "const cells = Array.from(document.querySelectorAll('table.queue th'));\
             return {width: document.documentElement.clientWidth, \
             scroll: document.documentElement.scrollWidth, \
             right: Math.max(...cells.map(th => th.getBoundingClientRect().right))};",
            vec![],
        )
        .await
        .unwrap();
    let (width, scroll, right) = (
        v["width"].as_f64().unwrap(),
        v["scroll"].as_f64().unwrap(),
        v["right"].as_f64().unwrap(),
    );
    assert!(
        scroll <= width + 1.0 && right <= width + 1.0,
        "{page}: wider than the window ({width} px): scroll width {scroll}, last column ends at {right}"
    );
}

/// No alert is open, the only script is the desk's own, and nothing the message held became
/// an element.
async fn nothing_ran(c: &Client, page: &str) {
    if let Ok(text) = c.get_alert_text().await {
        panic!("{page}: an alert opened: {text:?}");
    }
    let v = c
        .execute(
            "return {scripts: Array.from(document.scripts).map(s => s.src), \
             hostile: document.querySelectorAll('img, iframe, object, embed, [onerror], [onmouseover], [onload], a[href^=\"javascript\"]').length, \
             pwned: window.pwned === true};",
            vec![],
        )
        .await
        .unwrap();
    let scripts: Vec<String> = serde_json::from_value(v["scripts"].clone()).unwrap();
    assert_eq!(scripts.len(), 1, "{page}: scripts {scripts:?}");
    assert!(
        scripts[0].ends_with("/assets/desk.js"),
        "{page}: {scripts:?}"
    );
    assert_eq!(v["hostile"], 0, "{page}: elements from the message");
    assert_eq!(v["pwned"], false, "{page}");
}

/// The example inbox, in file order.
fn inbox() -> Vec<(String, Vec<u8>)> {
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
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(p).unwrap())
        })
        .collect()
}

/// Messages that try to run script in the page, in the subject, the text and HTML.
fn hostile() -> Vec<Vec<u8>> {
    vec![
        b"From: Mallory <mallory@example.net>\r\n\
          To: council@northbrook.example.gov.uk\r\n\
          Subject: <script>window.pwned=true;alert('subject')</script><img src=x onerror=alert(1)> refund\r\n\
          Date: Tue, 14 May 2024 09:00:00 +0100\r\n\
          Message-ID: <hostile-1@example.net>\r\n\
          Content-Type: text/plain; charset=utf-8\r\n\r\n\
          Please refund my parking fine of 60 pounds.\r\n\
          <script>window.pwned=true;alert('body')</script>\r\n\
          <b onmouseover=\"alert(2)\">bold</b> <a href=\"javascript:alert(3)\">click</a>\r\n\
          </pre><img src=x onerror=\"window.pwned=true\">\r\n"
            .to_vec(),
        b"From: Mallory <mallory@example.net>\r\n\
          To: council@northbrook.example.gov.uk\r\n\
          Subject: Newsletter\r\n\
          Date: Tue, 14 May 2024 09:05:00 +0100\r\n\
          Message-ID: <hostile-2@example.net>\r\n\
          MIME-Version: 1.0\r\n\
          Content-Type: text/html; charset=utf-8\r\n\r\n\
          <html><body><script>window.pwned=true;alert('html')</script>\
          <img src=x onerror=\"alert('img')\"><p>Please pay the &lt;script&gt; invoice \
          <a href=\"javascript:alert(4)\">here</a>.</p><iframe src=\"http://evil.example/\"></iframe>\
          <p>&lt;img src=x onerror=alert(5)&gt; is what your page will run.</p></body></html>\r\n"
            .to_vec(),
    ]
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
    for (name, raw) in inbox() {
        let v = server.add_message(&ann, &raw);
        assert_eq!(v["added"], true, "{name}: {v}");
    }
    let hostile_ids: Vec<i64> = hostile()
        .iter()
        .map(|raw| server.add_message(&ann, raw)["id"].as_i64().unwrap())
        .collect();
    rt.block_on(async {
        let store = Store::open(&db.url).await.unwrap();
        let browser = Browser::start().await;
        let result = AssertUnwindSafe(steps(&browser, &server, &store, engine, &ann, &hostile_ids))
            .catch_unwind()
            .await;
        if let Err(panic) = result {
            browser.screenshot(format!("{engine}-failed")).await;
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
    hostile_ids: &[i64],
) {
    let c = &browser.client;
    let shot = |name: &str| browser.screenshot(format!("{engine}-{name}"));
    let base = server.base();
    let _ = ann;

    // Not logged in: the queue sends the browser to the login page.
    c.goto(&format!("{base}/")).await.unwrap();
    assert!(path(c).await.starts_with("/login"), "{}", path(c).await);
    c.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("ann")
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    shot("login").await;
    c.find(Locator::Css("form.login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("table.queue"))
        .await
        .unwrap();

    // The queue: every message, urgent first, then needs review, then oldest.
    let rows = c.find_all(Locator::Css("tr[data-row]")).await.unwrap();
    let mut shown = Vec::new();
    for r in &rows {
        let a = |k: &'static str| async move { r.attr(k).await.unwrap().unwrap() };
        shown.push((
            a("data-row").await.parse::<i64>().unwrap(),
            a("data-urgent").await == "true",
            a("data-review").await == "true",
            a("data-date").await.parse::<i64>().unwrap(),
        ));
    }
    assert_eq!(
        shown.len(),
        22,
        "twenty inbox messages and two hostile ones"
    );
    let mut sorted = shown.clone();
    sorted.sort_by_key(|&(id, urgent, review, date)| (!urgent, !review, date, id));
    assert_eq!(shown, sorted, "the queue's order");
    let stored: Vec<i64> = store
        .queue(&QueueQuery::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.id.0)
        .collect();
    let ids: Vec<i64> = shown.iter().map(|r| r.0).collect();
    assert_eq!(ids, stored, "the page shows the store's queue");
    assert!(shown[0].1, "the inbox has urgent mail and it comes first");
    assert_eq!(count(c, "#queue-title").await, 1, "the queue's heading");
    fits_the_window(c, "queue").await;
    shot("queue").await;
    nothing_ran(c, "queue").await;

    // "Help the model": the unreviewed messages, least certain decision first, as the store
    // orders them; the link again leads back to the queue.
    c.find(Locator::Css("#help-the-model"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until("the help queue", || heading_is(c, "Help the model")).await;
    let rows = c.find_all(Locator::Css("tr[data-row]")).await.unwrap();
    let mut helped = Vec::new();
    for r in &rows {
        helped.push(
            r.attr("data-row")
                .await
                .unwrap()
                .unwrap()
                .parse::<i64>()
                .unwrap(),
        );
    }
    let uncertain: Vec<i64> = store
        .queue(&QueueQuery {
            order: mailroom::store::QueueOrder::Uncertain,
            ..QueueQuery::default()
        })
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.id.0)
        .collect();
    assert!(!helped.is_empty(), "nobody has reviewed anything yet");
    assert_eq!(helped, uncertain, "the help queue shows the store's order");
    assert_ne!(helped, ids, "least certain first is not the triage order");
    shot("help-the-model").await;
    c.find(Locator::Css("#help-the-model"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until("the queue again", || heading_is(c, "Queue")).await;

    // j, j, k: the first row is selected; Enter opens it.
    press(c, "jjk").await;
    let selected = c
        .find(Locator::Css("tr.selected"))
        .await
        .unwrap()
        .attr("data-row")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(selected, ids[0].to_string());
    press(c, "\u{e007}").await;
    let first = ids[0];
    until("the message page", || async move {
        path(c).await.starts_with(&format!("/messages/{first}?"))
    })
    .await;

    // The urgent message: what its record points at is marked in the text.
    let msg = store.message(MessageId(first)).await.unwrap().unwrap();
    let record: serde_json::Value = serde_json::from_str(&msg.record_json).unwrap();
    let evidence: Vec<String> = record["evidence"]
        .as_array()
        .or_else(|| record["evidence"]["evidence"].as_array())
        .map(|a| {
            a.iter()
                .filter_map(|e| e["text"].as_str().map(fold))
                .collect()
        })
        .unwrap_or_default();
    if evidence.is_empty() {
        // This engine's records carry no evidence yet: the marks are the summary's sentences.
        assert_eq!(count(c, "#evidence").await, 0);
        let summary = fold(record["summary"]["text"].as_str().unwrap());
        let marks = c
            .find_all(Locator::Css("#body mark.summary"))
            .await
            .unwrap();
        assert!(!marks.is_empty(), "the summary's sentences are marked");
        for m in marks {
            let t = fold(&m.text().await.unwrap());
            assert!(
                summary.contains(&t),
                "{t:?} is not in the summary {summary:?}"
            );
        }
    } else {
        let marks = c
            .find_all(Locator::Css("#body mark.evidence, #subject mark.evidence"))
            .await
            .unwrap();
        assert!(!marks.is_empty(), "the evidence is marked");
        for m in marks {
            let t = fold(&m.text().await.unwrap());
            assert!(evidence.contains(&t), "{t:?} is not evidence {evidence:?}");
        }
    }
    assert!(text(c, "#summary").await.len() > 20, "the summary is shown");
    shot("message").await;
    super::replies::shown_in_browser(c, &record).await;
    nothing_ran(c, "message").await;

    // j goes on to the next message in the queue, k comes back.
    press(c, "j").await;
    let second = ids[1];
    until("the next message", || async move {
        path(c).await.starts_with(&format!("/messages/{second}?"))
    })
    .await;
    press(c, "k").await;
    until("back to the first", || async move {
        path(c).await.starts_with(&format!("/messages/{first}?"))
    })
    .await;

    // Correct the category with the keyboard: c, then the number of another label.
    let before = msg.item.category.as_ref().unwrap().label.clone();
    let mut choice = None;
    for b in c
        .find_all(Locator::Css("fieldset[data-key='c'] button"))
        .await
        .unwrap()
    {
        let value = b.attr("value").await.unwrap().unwrap();
        if let (Some(digit), false) = (b.attr("data-digit").await.unwrap(), value == before) {
            choice = Some((digit, value));
            break;
        }
    }
    let (digit, after) = choice.expect("another category to choose");
    press(c, "c").await;
    assert_eq!(
        count(c, "fieldset.armed[data-key='c']").await,
        1,
        "c arms the category choice"
    );
    press(c, &digit).await;
    let want = after.replace('_', " ");
    let want = &want;
    until("the corrected category", || async move {
        match c.find(Locator::Css("[data-current='category']")).await {
            Ok(e) => e.text().await.unwrap_or_default() == *want,
            Err(_) => false,
        }
    })
    .await;
    shot("corrected").await;

    // The correction and its audit entry are in the store, under ann's name.
    let corrections = store.corrections(Some(MessageId(first))).await.unwrap();
    let last = corrections.last().expect("a correction");
    assert_eq!(
        (
            last.axis.as_str(),
            last.before.as_deref(),
            last.after.as_str(),
            last.actor.as_str()
        ),
        ("category", Some(before.as_str()), after.as_str(), "ann")
    );
    let audit = store.audit(Some(MessageId(first)), 10).await.unwrap();
    let entry = &audit[0];
    assert_eq!(
        (entry.action.as_str(), entry.actor.as_str()),
        ("correct", "ann")
    );
    assert_eq!(entry.before.as_ref().unwrap()["label"], before.as_str());
    assert_eq!(entry.after.as_ref().unwrap()["label"], after.as_str());
    assert!(entry.taxonomy_version.is_some(), "{entry:?}");
    assert!(text(c, "#audit").await.contains("corrected category"));

    // ? lists the keys.
    press(c, "?").await;
    until("the help dialog", || async move {
        c.execute("return document.getElementById('help').open", vec![])
            .await
            .unwrap()
            == true
    })
    .await;
    shot("help").await;
    press(c, "\u{e00c}").await;

    // h: the headers and the original text, as text.
    press(c, "h").await;
    until("the original", || async move {
        path(c).await == format!("/messages/{first}/original")
    })
    .await;
    assert!(text(c, "#headers").await.contains("Message-ID:"));
    shot("original").await;

    // v: the overview, with the correction counted.
    press(c, "v").await;
    until(
        "the overview",
        || async move { path(c).await == "/overview" },
    )
    .await;
    assert!(
        count(c, "svg#per-day rect").await > 0,
        "the per-day chart has bars"
    );
    let changes = text(c, "#changes").await;
    assert!(changes.contains("category"), "{changes}");
    shot("overview").await;

    // Hostile messages: shown as text, nothing runs, nothing becomes an element.
    for id in hostile_ids {
        c.goto(&format!("{base}/messages/{id}")).await.unwrap();
        c.wait().for_element(Locator::Css("#body")).await.unwrap();
        nothing_ran(c, "hostile message").await;
        c.goto(&format!("{base}/messages/{id}/original"))
            .await
            .unwrap();
        c.wait()
            .for_element(Locator::Css("#original"))
            .await
            .unwrap();
        nothing_ran(c, "hostile original").await;
        assert!(text(c, "#original")
            .await
            .contains("<script>window.pwned=true;"));
    }
    c.goto(&format!("{base}/messages/{}", hostile_ids[0]))
        .await
        .unwrap();
    let subject = text(c, "#subject").await;
    assert!(
        subject.contains("<script>window.pwned=true;alert('subject')</script>"),
        "the subject is shown as text: {subject:?}"
    );
    assert!(text(c, "#body")
        .await
        .contains("<b onmouseover=\"alert(2)\">bold</b>"));
    shot("hostile").await;

    // A reviewer cannot open the accounts page.
    c.goto(&format!("{base}/accounts")).await.unwrap();
    assert!(text(c, "main").await.contains("403"));

    // Log out: the session is gone.
    c.goto(&format!("{base}/")).await.unwrap();
    c.find(Locator::Css("#logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        "the login page",
        || async move { path(c).await == "/login" },
    )
    .await;
    c.goto(&format!("{base}/")).await.unwrap();
    assert!(path(c).await.starts_with("/login"));
}

#[test]
fn sqlite() {
    flow(false);
}

#[test]
fn postgres() {
    flow(true);
}
