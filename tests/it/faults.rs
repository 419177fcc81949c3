//! Dependencies failing under a running server, with real parts (no mocks): while the database
//! or the cache is unavailable, requests that need it answer 503 `application/problem+json`
//! with `Retry-After` within seconds (never a 500, never a hang) and `/readyz` names the cause;
//! when it is back, the same server serves again without a restart and nothing it acknowledged
//! is lost.
//!
//! What each backend can show:
//! - PostgreSQL (`PENEX_TEST_DATABASE_URL`): the server reaches its database through a TCP
//!   proxy (`common::proxy`) that the test cuts (open connections closed; new ones refused in
//!   one round, accepted and never answered in another) and restores. Writes and reads answer
//!   503, `/readyz` 503 naming the database; the retried push is stored once.
//! - SQLite (default): the database cannot go away apart from the process, so the test holds
//!   SQLite's write lock (`BEGIN EXCLUSIVE` on its own connection) past the server's
//!   `busy_timeout`: a push answers 503 with `Retry-After`, reads and `/readyz` keep working.
//! - Redis (`PENEX_TEST_REDIS_URL`): the same proxy between the server and Redis. Only the rate
//!   limiter and `/readyz` use the cache, and the limiter fails open by design, so pushes are
//!   still served while `/readyz` answers 503 naming the cache; afterwards the limiter counts
//!   again. The in-process cache cannot fail: without Redis (the SQLite run) the cache test
//!   asserts only that the server runs on the in-process cache (`/readyz` says `memory`), and
//!   that run does not exercise a cache outage.
//!
//! Not covered: established connections that go silent without being closed (a partition with
//! no reset); the pool validates a connection with `SELECT 1` and no statement or TCP timeout.
#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use crate::common;

use common::proxy::{Cut, Proxy, host_port};
use common::records::company_record;
use common::units::JINGAN;
use common::{TestApp, TestDb, Who, problem};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How long a 503 may take: the pool waits 5 s for a connection, `/readyz` 3 s for each
/// dependency, a SQLite writer 10 s for the lock (`busy_timeout`); plus a margin.
const POOL_WAIT: Duration = Duration::from_secs(8);
const READYZ_WAIT: Duration = Duration::from_secs(5);
const SQLITE_WAIT: Duration = Duration::from_secs(14);

fn batch(from: u32, n: u32) -> Value {
    let records: Vec<Value> = (from..from + n)
        .map(|i| company_record(JINGAN.name, &format!("沪静城管罚字〔2025〕第{i}号"), i))
        .collect();
    json!({ "records": records })
}

async fn push_with_key(app: &TestApp, body: &Value, key: &str) -> reqwest::Response {
    app.unit(JINGAN)
        .post(app.url("/v1/records"))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Pushes `body` with `key` and asserts every record was accepted; returns the record ids.
async fn push_accepted(app: &TestApp, body: &Value, key: &str) -> Vec<String> {
    let r = push_with_key(app, body, key).await;
    assert_eq!(r.status(), 200, "{key}");
    let out: Value = r.json().await.unwrap();
    out["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            assert_eq!(it["status"], "accepted", "{out}");
            it["record_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Asserts a 503 problem with a `Retry-After` of whole seconds, answered (after `took`) within
/// `within`; returns the problem body.
async fn unavailable((resp, took): (reqwest::Response, Duration), within: Duration) -> Value {
    assert!(took < within, "answered after {took:?}");
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|s| s >= 1),
        "Retry-After: {retry_after:?}"
    );
    problem(resp, 503).await
}

async fn readyz(app: &TestApp) -> (u16, Value) {
    let r = app
        .client(Who::Anonymous)
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Every record `ids` names is stored and readable.
async fn all_there(app: &TestApp, ids: &[String]) {
    let analyst = app.client(Who::Analyst);
    for id in ids {
        app.get_ok(&analyst, &format!("/v1/records/{id}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_going_away_answers_503_and_the_same_server_recovers() {
    penex::tls::config::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    if db.is_postgres() {
        postgres_cut_and_restored(dir, db).await;
    } else {
        sqlite_write_lock_held_and_released(dir, db).await;
    }
}

async fn postgres_cut_and_restored(dir: tempfile::TempDir, db: TestDb) {
    let proxy = Proxy::start(&host_port(&db.url));
    let settings = common::test_settings(dir.path(), &TestDb::shared(&proxy.route(&db.url)));
    let app = TestApp::start_with(dir, db, settings).await;
    let mut stored = push_accepted(&app, &batch(1, 3), "before").await;
    let analyst = app.client(Who::Analyst);

    for (round, how) in [(1, Cut::Refuse), (2, Cut::BlackHole)] {
        proxy.cut(how);
        let body = batch(10 * round, 3);
        let key = format!("during-{round}");
        // A write, a read and readiness at once: each answers within its own deadline.
        let sent = Instant::now();
        let anonymous = app.client(Who::Anonymous);
        let timed = |r: reqwest::Response| (r, sent.elapsed());
        let (push, read, ready) = tokio::join!(
            async { timed(push_with_key(&app, &body, &key).await) },
            async { timed(app.get(&analyst, "/v1/records").await) },
            async { timed(app.get(&anonymous, "/readyz").await) },
        );
        let p = unavailable(ready, READYZ_WAIT).await;
        assert!(
            p["detail"].as_str().unwrap().contains("database"),
            "{how:?}: {p}"
        );
        let p = unavailable(push, POOL_WAIT).await;
        assert!(
            p["detail"].as_str().unwrap().contains("database"),
            "{how:?}: {p}"
        );
        unavailable(read, POOL_WAIT).await;

        proxy.restore();
        // The same request, sent again as a client told to retry would: it is stored now,
        // once (the key replays the answer).
        stored.extend(push_accepted(&app, &body, &key).await);
        assert_eq!(readyz(&app).await.0, 200);
        let again = push_with_key(&app, &body, &key).await;
        assert_eq!(again.status(), 200);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
    }
    all_there(&app, &stored).await;
    assert_eq!(app.count_rows("records").await, 9);
    app.stop().await;
}

async fn sqlite_write_lock_held_and_released(dir: tempfile::TempDir, db: TestDb) {
    let settings = common::test_settings(dir.path(), &db);
    let file = dir.path().join("penex.db");
    let app = TestApp::start_with(dir, db, settings).await;
    let first = push_accepted(&app, &batch(1, 3), "before").await;

    let mut lock = diesel::SqliteConnection::establish(file.to_str().unwrap()).unwrap();
    lock.batch_execute("PRAGMA busy_timeout = 10000; BEGIN EXCLUSIVE;")
        .unwrap();
    let body = batch(10, 3);
    let sent = Instant::now();
    let push = push_with_key(&app, &body, "during").await;
    let p = unavailable((push, sent.elapsed()), SQLITE_WAIT).await;
    assert!(p["detail"].as_str().unwrap().contains("busy"), "{p}");
    // Readers are not blocked by the writer (WAL), nor is readiness.
    let analyst = app.client(Who::Analyst);
    let page = app.get_ok(&analyst, "/v1/records").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(readyz(&app).await.0, 200);

    lock.batch_execute("ROLLBACK;").unwrap();
    let second = push_accepted(&app, &body, "during").await;
    all_there(&app, &first).await;
    all_there(&app, &second).await;
    assert_eq!(app.count_rows("records").await, 6);
    app.stop().await;
}

/// The value of a `/metrics` sample line starting with `prefix` (0 when absent).
async fn metric(app: &TestApp, prefix: &str) -> f64 {
    let text = app
        .client(Who::Operator)
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
        .unwrap_or(0.0)
}

const LIMITER_ERRORS: &str = "penex_cache_rate_limit_total{class=\"push\",result=\"cache_error\"}";
const LIMITER_ALLOWED: &str = "penex_cache_rate_limit_total{class=\"push\",result=\"allowed\"}";

/// Only the rate limiter and `/readyz` use the cache, and the limiter fails open by design
/// (`api::auth::rate_limit`: an outage of the limiter must not stop the exchange). So with the
/// cache gone, pushes are still served at once, unlimited, while `/readyz` answers 503 naming
/// the cache; when it is back the same server's limiter counts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_going_away_is_reported_and_the_same_server_recovers() {
    penex::tls::config::install_default_provider();
    let redis = std::env::var("PENEX_TEST_REDIS_URL").unwrap_or_default();
    if redis.is_empty() {
        // The in-process cache has nothing to cut; this run shows which cache it tested.
        let app = TestApp::start().await;
        let (status, body) = readyz(&app).await;
        assert_eq!(status, 200);
        assert_eq!(body["cache"], "memory", "{body}");
        app.stop().await;
        return;
    }
    let proxy = Proxy::start(&host_port(&redis));
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let mut settings = common::test_settings(dir.path(), &db);
    settings.redis_url = Some(proxy.route(&redis).into());
    let app = TestApp::start_with(dir, db, settings).await;
    assert_eq!(readyz(&app).await.1["cache"], "redis");
    let first = push_accepted(&app, &batch(1, 3), "before").await;
    assert_eq!(metric(&app, LIMITER_ALLOWED).await, 1.0);

    proxy.cut(Cut::Refuse);
    let sent = Instant::now();
    let r = app
        .client(Who::Anonymous)
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap();
    let p = unavailable((r, sent.elapsed()), READYZ_WAIT).await;
    assert!(p["detail"].as_str().unwrap().contains("cache"), "{p}");
    let sent = Instant::now();
    let second = push_accepted(&app, &batch(10, 3), "during").await;
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(metric(&app, LIMITER_ERRORS).await, 1.0);

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    while readyz(&app).await.0 != 200 {
        assert!(Instant::now() < deadline, "the cache never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let third = push_accepted(&app, &batch(20, 3), "after").await;
    assert_eq!(metric(&app, LIMITER_ALLOWED).await, 2.0);
    assert_eq!(metric(&app, LIMITER_ERRORS).await, 1.0);
    for ids in [&first, &second, &third] {
        all_there(&app, ids).await;
    }
    assert_eq!(app.count_rows("records").await, 9);
    app.stop().await;
}
