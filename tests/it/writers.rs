//! Many pushes in flight at once on one server: every one is answered 2xx and stored, while
//! reads keep being answered. On SQLite (one writer) the server gives writes their turn in
//! arrival order before they take a pool connection (`AppState::call`), so 32 batches in flight
//! with a pool of 4 neither starve past SQLite's `busy_timeout` (503) nor hold every connection
//! away from the reads; on PostgreSQL writes run side by side and take no turn.
#![expect(clippy::unwrap_used, reason = "tests")]

use crate::common;

use common::records::company_record;
use common::units::{JINGAN, SUZHOU};
use common::{TestApp, Who};
use serde_json::{Value, json};

/// Records per batch on SQLite: enough that the batches in flight take longer together than
/// SQLite's `busy_timeout` (10 s) and than the pool's wait for a connection (5 s), so that a
/// writer left to SQLite's own lock, or a read left behind writers holding every connection,
/// would be answered 503.
const PER_BATCH_SQLITE: usize = 250;
/// On PostgreSQL writes run side by side; the run only checks that they take no turn.
const PER_BATCH_POSTGRES: usize = 20;
const BATCHES: usize = 32;

fn batch(b: usize, per_batch: usize) -> Value {
    let (authority, prefix) = if b.is_multiple_of(2) {
        (JINGAN, "沪静城管罚字")
    } else {
        (SUZHOU, "苏城管罚字")
    };
    let records: Vec<Value> = (0..per_batch)
        .map(|i| {
            let n = b * per_batch + i;
            company_record(
                authority.name,
                &format!("{prefix}〔2025〕第{}号", 10_000 + n),
                u32::try_from(n).unwrap(),
            )
        })
        .collect();
    json!({ "records": records })
}

#[tokio::test]
async fn thirty_two_batches_in_flight_are_all_stored_while_reads_are_answered() {
    let app = TestApp::start().await;
    let sqlite = !app.db.is_postgres();
    assert_eq!(
        app.state.writes_take_turns(),
        sqlite,
        "writes take turns on SQLite only"
    );
    let per_batch = if sqlite {
        PER_BATCH_SQLITE
    } else {
        PER_BATCH_POSTGRES
    };
    let clients = [app.unit(JINGAN), app.unit(SUZHOU)];
    let done = std::sync::atomic::AtomicBool::new(false);
    let pushes = async {
        let all = (0..BATCHES).map(|b| {
            let c = clients[b % 2].clone();
            let app = &app;
            async move {
                let r = app.push(&c, &batch(b, per_batch)).await;
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap();
                (b, status, body)
            }
        });
        let results = futures_util::future::join_all(all).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        results
    };
    let analyst = app.client(Who::Analyst);
    let reads = async {
        let mut answered = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let r = app.get(&analyst, "/v1/records?limit=1").await;
            assert_eq!(r.status(), 200, "a read while writes are in flight");
            answered += 1;
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        answered
    };
    let (results, answered) = tokio::join!(pushes, reads);
    assert!(answered > 0);
    for (b, status, body) in &results {
        assert_eq!(*status, 200, "batch {b}: {body}");
        assert_eq!(body["summary"]["accepted"], per_batch, "batch {b}: {body}");
    }
    assert_eq!(
        app.count_rows("records").await,
        i64::try_from(BATCHES * per_batch).unwrap()
    );
    app.stop().await;
}
