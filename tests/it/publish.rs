//! Publishing over real mutual TLS, on the backend the environment selects: events written with
//! the change, the feed, the JWKS, delivery to the reference sink (`penex sink`), the sink's
//! refusals, a connector that is down and comes back, several instances on one database, and a
//! cursor that never skips an event committed late.
#![expect(
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: JSON indexing and failing checks"
)]

use crate::common;

use common::records::{company_record, person_record, resident_id};
use common::units::JINGAN;
use common::{TestApp, TestDb, Who};
use penex::crypto::jws::{Jwks, verify_compact};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Fast publisher settings pointing at `port`.
fn publish_overrides(port: u16) -> Value {
    json!({
        "publish": {
            "connector_url": format!("https://localhost:{port}/events"),
            "backoff_base_ms": 50,
            "backoff_max_ms": 300,
            "poll_ms": 30,
            "lease_secs": 3,
            "retry_limit": 1000,
            "request_timeout_ms": 3000,
        },
        "rate_limits": { "push": { "limit": 100000, "window_secs": 60 } },
    })
}

/// A sink running on its own actix system thread.
struct TestSink {
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    out: PathBuf,
}

impl TestSink {
    /// A sink on `port` trusting `app`'s PKI and JWKS, appending to `events.jsonl` in `dir`.
    fn for_app(app: &TestApp, port: u16, dir: &Path) -> Self {
        Self::start(
            &app.pki(),
            &app.url("/.well-known/jwks.json"),
            port,
            &dir.join("events.jsonl"),
        )
    }

    #[expect(clippy::unwrap_used, reason = "test helper")]
    fn start(pki: &Path, jwks_url: &str, port: u16, out: &Path) -> TestSink {
        let args = penex::publish::sink::SinkArgs {
            listen: format!("127.0.0.1:{port}").parse().unwrap(),
            ca: pki.join("exchange-ca.crt"),
            cert: pki.join("server.crt"),
            key: pki.join("server.key"),
            jwks: jwks_url.to_owned(),
            jwks_ca: None,
            out: out.to_owned(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let (server, _) = penex::publish::sink::bind(&args).await.unwrap();
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            });
        });
        let handle = rx.recv().unwrap();
        TestSink {
            handle,
            thread: Some(thread),
            out: out.to_owned(),
        }
    }

    async fn stop(mut self) {
        self.handle.stop(false).await;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn lines(&self) -> Vec<Value> {
        sink_lines(&self.out)
    }
}

fn sink_lines(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A client presenting the dev publisher certificate (what penex presents to a connector).
#[expect(clippy::unwrap_used, reason = "test helper")]
fn publisher_client(pki: &Path, cert: Option<(&str, &str)>) -> reqwest::Client {
    let ca = std::fs::read(pki.join("exchange-ca.crt")).unwrap();
    let pair = cert.map(|(c, k)| {
        (
            std::fs::read(pki.join(c)).unwrap(),
            std::fs::read(pki.join(k)).unwrap(),
        )
    });
    let config = penex::tls::config::client_config(
        &ca,
        pair.as_ref().map(|p| p.0.as_slice()),
        pair.as_ref().map(|p| p.1.as_slice()),
    )
    .unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Every event of the feed, following the cursor.
#[expect(clippy::unwrap_used, reason = "test helper")]
async fn feed(app: &TestApp) -> Vec<Value> {
    let c = app.client(Who::Integrator);
    let mut after = 0;
    let mut all = Vec::new();
    loop {
        let r = c
            .get(app.url(&format!("/v1/events?after={after}&limit=50")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page: Value = r.json().await.unwrap();
        let events = page["events"].as_array().cloned().unwrap_or_default();
        if events.is_empty() {
            return all;
        }
        after = page["next_after"].as_i64().unwrap();
        all.extend(events);
    }
}

#[expect(clippy::unwrap_used, reason = "test helper")]
async fn jwks(app: &TestApp) -> Jwks {
    let r = app
        .client(Who::Anonymous)
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn push_companies(app: &TestApp, from: u32, n: u32) {
    push_companies_via(app, app, from, n).await;
}

/// Pushes through `target` with a certificate from `pki_of`'s dev PKI.
async fn push_companies_via(pki_of: &TestApp, target: &TestApp, from: u32, n: u32) {
    let c = pki_of.client(Who::Lead(penex::domain::party::Party::Shanghai));
    let records: Vec<Value> = (from..from + n)
        .map(|i| company_record(JINGAN.name, &format!("沪静城管罚字〔2025〕第{i}号"), i))
        .collect();
    let r = target.push(&c, &json!({ "records": records })).await;
    assert_eq!(r.status(), 200);
}

/// Checks that every sink line verifies, that each subject's events are in order, and returns
/// the event ids received.
fn check_sink(lines: &[Value], keys: &Jwks) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for l in lines {
        let jws = l["jws"].as_str().unwrap_or_default();
        let v = verify_compact(jws, keys).unwrap_or_else(|e| panic!("sink line verifies: {e}"));
        let event: Value = serde_json::from_slice(&v.payload).unwrap_or(Value::Null);
        assert_eq!(event, l["event"]);
        let subject = event["subject"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let seq = event["seq"].as_i64().unwrap_or_default();
        if let Some(prev) = last.insert(subject.clone(), seq) {
            assert!(prev < seq, "subject {subject}: {seq} after {prev}");
        }
        assert!(
            ids.insert(l["idempotency_key"].as_str().unwrap_or_default().to_owned()),
            "a key appears twice in the sink file"
        );
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_are_written_signed_masked_and_delivered_to_the_sink() {
    let port = common::free_port();
    let app = TestApp::start_with_overrides(publish_overrides(port)).await;
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = TestSink::for_app(&app, port, sink_dir.path());
    let lead = app.client(Who::Lead(penex::domain::party::Party::Shanghai));

    push_companies(&app, 1, 3).await;
    // A natural person: the ID number must never leave in clear.
    let id_no = resident_id(7);
    let r = app
        .push(
            &lead,
            &person_record(JINGAN.name, "沪静城管罚字〔2025〕第900号", &id_no),
        )
        .await;
    assert_eq!(r.status(), 200);
    // A duplicate emits nothing; a correction emits record.corrected.
    push_companies(&app, 1, 1).await;
    let mut changed = company_record(JINGAN.name, "沪静城管罚字〔2025〕第2号", 2);
    changed["CF_SY"] = json!("更正后的违法事实。");
    assert_eq!(app.push(&lead, &changed).await.status(), 200);
    // A revocation emits record.revoked.
    let events = feed(&app).await;
    let rec = events[0]["record_id"].as_str().unwrap().to_owned();
    let r = lead
        .post(app.url(&format!("/v1/records/{rec}/revoke")))
        .json(&json!({ "reason": "reconsideration" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let events = feed(&app).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "record.published",
            "record.published",
            "record.published",
            "record.published",
            "record.corrected",
            "record.revoked"
        ]
    );
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
    let keys = jwks(&app).await;
    for e in &events {
        let v = verify_compact(e["jws"].as_str().unwrap(), &keys).unwrap();
        let payload: Value = serde_json::from_slice(&v.payload).unwrap();
        assert_eq!(payload, e["payload"]);
        assert_eq!(payload["id"], e["id"]);
        assert_eq!(v.header["typ"], "penex-event+jws");
    }
    assert_eq!(events[5]["payload"]["record"]["status"], "revoked");
    assert_eq!(events[4]["payload"]["record"]["version"], 2);
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(&id_no), "an ID number left in clear");
    assert!(text.contains(&penex::domain::mask::mask_id_no(&id_no)));
    // The log is the outbox: no delivery row is written with an event.
    assert_eq!(app.count_rows("events").await, 6);
    assert_eq!(app.count_rows("delivery_exceptions").await, 0);

    // Roles: integrators and operators read the feed; units and analysts do not.
    for (who, status) in [
        (Who::Operator, 200),
        (Who::Analyst, 403),
        (Who::Lead(penex::domain::party::Party::Jiangsu), 403),
        (Who::Anonymous, 401),
    ] {
        let r = app
            .client(who)
            .get(app.url("/v1/events"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status);
    }

    // Delivered to the sink over mTLS, verified, in order.
    wait_for("six events at the sink", Duration::from_secs(30), || {
        sink.lines().len() >= 6
    })
    .await;
    let ids = check_sink(&sink.lines(), &keys);
    let fed: BTreeSet<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, fed);
    let sink_text = std::fs::read_to_string(&sink.out).unwrap();
    assert!(!sink_text.contains(&id_no));
    wait_for("outbox all delivered", Duration::from_secs(10), || true).await;
    let stats = app.state.db(penex::store::outbox::stats).await.unwrap();
    assert_eq!(stats.dead, 0);
    sink.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sink_refuses_wrong_clients_tampering_and_reused_keys() {
    // No connector: events stay in the outbox; we play the publisher by hand.
    let app = TestApp::start().await;
    push_companies(&app, 10, 2).await;
    let events = feed(&app).await;
    assert_eq!(events.len(), 2);
    let port = common::free_port();
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = TestSink::for_app(&app, port, sink_dir.path());
    let url = format!("https://localhost:{port}/events");
    let post = |c: &reqwest::Client, key: &str, body: &str| {
        c.post(&url)
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/jose")
            .body(body.to_owned())
            .send()
    };
    let jws0 = events[0]["jws"].as_str().unwrap();
    let id0 = events[0]["id"].as_str().unwrap();

    // No client certificate, or one from a party CA: the handshake fails.
    let anonymous = publisher_client(&app.pki(), None);
    assert!(post(&anonymous, id0, jws0).await.is_err());
    let unit = publisher_client(
        &app.pki(),
        Some(("clients/SH-310000.crt", "clients/SH-310000.key")),
    );
    assert!(post(&unit, id0, jws0).await.is_err());

    let good = publisher_client(
        &app.pki(),
        Some(("clients/publisher.crt", "clients/publisher.key")),
    );
    // A tampered payload is refused.
    let parts: Vec<&str> = jws0.split('.').collect();
    let mut payload: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1])
            .unwrap(),
    )
    .unwrap();
    payload["record"]["status"] = json!("revoked");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            payload.to_string()
        ),
        parts[2]
    );
    assert_eq!(post(&good, id0, &forged).await.unwrap().status(), 401);
    assert_eq!(post(&good, id0, "not-a-jws").await.unwrap().status(), 400);
    // The key must be the event id.
    assert_eq!(post(&good, "evt_other", jws0).await.unwrap().status(), 422);
    // Accepted once; the same key and body again is a 200 duplicate, written once.
    assert_eq!(post(&good, id0, jws0).await.unwrap().status(), 200);
    let again = post(&good, id0, jws0).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "duplicate");
    // The same key with another (validly signed) body: 409.
    let jws1 = events[1]["jws"].as_str().unwrap();
    let other = post(&good, id0, jws1).await.unwrap();
    assert!(
        other.status() == 409 || other.status() == 422,
        "{}",
        other.status()
    );
    // Wrong media type.
    let r = good
        .post(&url)
        .header("Idempotency-Key", id0)
        .header("Content-Type", "application/json")
        .body(jws0.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(sink.lines().len(), 1);
    sink.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connector_down_then_back_gets_the_whole_backlog_in_order() {
    let port = common::free_port();
    let app = TestApp::start_with_overrides(publish_overrides(port)).await;
    let lead = app.client(Who::Lead(penex::domain::party::Party::Shanghai));
    // 20 records, then corrections of 10 of them and 5 revocations: per-subject sequences.
    push_companies(&app, 100, 20).await;
    for i in 100..110_u32 {
        let mut r = company_record(JINGAN.name, &format!("沪静城管罚字〔2025〕第{i}号"), i);
        r["CF_SY"] = json!(format!("更正{i}"));
        assert_eq!(app.push(&lead, &r).await.status(), 200);
    }
    let events = feed(&app).await;
    for e in events.iter().take(5) {
        let id = e["record_id"].as_str().unwrap();
        let r = lead
            .post(app.url(&format!("/v1/records/{id}/revoke")))
            .json(&json!({ "reason": "litigation" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let events = feed(&app).await;
    assert_eq!(events.len(), 35);
    // The connector is down: attempts fail and are retried.
    let state = app.state.clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = state.db(penex::store::outbox::stats).await.unwrap();
        assert_eq!(s.delivered, 0);
        if s.retrying > 0 {
            // The connector is down, not the events: the cursor waits and backs off, and
            // nothing is written per event.
            assert!(s.head_attempts > 0, "{s:?}");
            assert_eq!(s.delivered_through, 0);
            assert_eq!(app.count_rows("delivery_exceptions").await, 0);
            break;
        }
        assert!(Instant::now() < deadline, "no retry seen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ops = app.client(Who::Operator);
    let r = ops
        .get(app.url("/v1/outbox?status=pending"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    assert!(page["stats"]["pending"].as_i64().unwrap() > 0);
    assert!(page["rows"][0]["last_error"].is_string());

    // Back: the backlog drains, nothing lost, each subject in order.
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = TestSink::for_app(&app, port, sink_dir.path());
    wait_for("the backlog at the sink", Duration::from_secs(60), || {
        sink.lines().len() >= 35
    })
    .await;
    let ids = check_sink(&sink.lines(), &jwks(&app).await);
    assert_eq!(ids.len(), 35);
    let s = state.db(penex::store::outbox::stats).await.unwrap();
    assert_eq!((s.dead, s.delivered + s.pending), (0, 35));
    sink.stop().await;
    app.stop().await;
}

/// `publish.http2` decides how the publisher talks to the connector: HTTP/1.1 by default (a
/// kept-alive pool the connector serves on all its workers), HTTP/2 when set; both deliver
/// every event once, signed and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_connector_gets_http_1_1_by_default_and_http_2_when_asked() {
    for (http2, version) in [(false, "HTTP/1.1"), (true, "HTTP/2.0")] {
        let port = common::free_port();
        let mut overrides = publish_overrides(port);
        overrides["publish"]["http2"] = json!(http2);
        let app = TestApp::start_with_overrides(overrides).await;
        let sink_dir = tempfile::tempdir().unwrap();
        let sink = TestSink::for_app(&app, port, sink_dir.path());
        push_companies(&app, 300, 12).await;
        let events = feed(&app).await.len();
        assert!(events >= 12, "{events} events");
        wait_for("every event at the sink", Duration::from_secs(30), || {
            sink.lines().len() >= events
        })
        .await;
        let lines = sink.lines();
        assert_eq!(check_sink(&lines, &jwks(&app).await).len(), events);
        for l in &lines {
            assert_eq!(l["http_version"], version, "publish.http2 = {http2}: {l}");
        }
        sink.stop().await;
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dead_letters_block_their_subject_until_an_operator_retries() {
    // A connector that refuses everything (404: the path is wrong) → dead at once.
    let port = common::free_port();
    let mut overrides = publish_overrides(port);
    overrides["publish"]["connector_url"] = json!(format!("https://localhost:{port}/events"));
    let app = TestApp::start_with_overrides(overrides).await;
    let lead = app.client(Who::Lead(penex::domain::party::Party::Shanghai));
    push_companies(&app, 200, 1).await;
    let mut r = company_record(JINGAN.name, "沪静城管罚字〔2025〕第200号", 200);
    r["CF_SY"] = json!("更正");
    assert_eq!(app.push(&lead, &r).await.status(), 200);
    // The sink answers 401 to events signed by a key it does not know: a JWKS file with
    // another key stands in for a refusing connector.
    let other = penex::crypto::jws::Ed25519Signer::generate("other")
        .unwrap()
        .0;
    let dir = tempfile::tempdir().unwrap();
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(
        &jwks_file,
        serde_json::to_string(&Jwks {
            keys: vec![penex::crypto::jws::Signer::public_jwk(&other)],
        })
        .unwrap(),
    )
    .unwrap();
    let sink = TestSink::start(
        &app.pki(),
        jwks_file.to_str().unwrap(),
        port,
        &dir.path().join("events.jsonl"),
    );
    let state = app.state.clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = state.db(penex::store::outbox::stats).await.unwrap();
        if s.dead == 1 {
            // The second event of the subject waits behind the dead first one.
            assert_eq!(s.pending, 1);
            break;
        }
        assert!(Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s = state.db(penex::store::outbox::stats).await.unwrap();
    assert_eq!((s.dead, s.pending, s.delivered), (1, 1, 0));
    let ops = app.client(Who::Operator);
    let page: Value = ops
        .get(app.url("/v1/outbox?status=dead"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dead_id = page["rows"][0]["event_id"].as_str().unwrap().to_owned();
    assert_eq!(page["rows"][0]["last_status"], 401);
    // Fix the connector (the right keys), then retry: both go through, in order.
    std::fs::write(
        &jwks_file,
        serde_json::to_string(&jwks(&app).await).unwrap(),
    )
    .unwrap();
    let r = app
        .client(Who::Analyst)
        .post(app.url(&format!("/v1/outbox/{dead_id}/retry")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = ops
        .post(app.url(&format!("/v1/outbox/{dead_id}/retry")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_for("both events at the sink", Duration::from_secs(20), || {
        sink.lines().len() >= 2
    })
    .await;
    check_sink(&sink.lines(), &jwks(&app).await);
    let r = ops
        .post(app.url(&format!("/v1/outbox/{dead_id}/retry")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(
        ops.post(app.url("/v1/outbox/evt_nope/retry"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    sink.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotated_keys_sign_new_events_and_old_ones_still_verify() {
    let app = TestApp::start().await;
    push_companies(&app, 300, 1).await;
    let kid =
        penex::crypto::keys::SigningKeys::rotate(&app.dir.path().join("keys/signing")).unwrap();
    app.state.event_keys.reload().unwrap();
    push_companies(&app, 301, 1).await;
    let keys = jwks(&app).await;
    assert_eq!(keys.keys.len(), 2);
    assert_eq!(keys.keys[0].kid, kid);
    let events = feed(&app).await;
    let kids: Vec<String> = events
        .iter()
        .map(|e| {
            verify_compact(e["jws"].as_str().unwrap(), &keys)
                .unwrap()
                .kid
        })
        .collect();
    assert_ne!(kids[0], kid);
    assert_eq!(kids[1], kid);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(
            app.dir
                .path()
                .join(format!("keys/signing/jws-ed25519-{kid}.pk8")),
        )
        .unwrap()
        .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    app.stop().await;
}

/// Several writers commit events while a reader follows the cursor: the reader must see
/// 1..=N without a gap, never k+1 before k, whatever order the transactions finish in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cursor_never_skips_an_event_committed_late() {
    let app = TestApp::start().await;
    let url = penex::store::DatabaseUrl::parse(&app.db.url).unwrap();
    let emitter = app.state.emitter();
    const WRITERS: usize = 6;
    const PER: usize = 25;
    let total = i64::try_from(WRITERS * PER).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let url = url.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut conn = url.establish().unwrap();
            let mut cursor = 0_i64;
            let deadline = Instant::now() + Duration::from_secs(120);
            while cursor < total {
                let rows = penex::store::events::after(&mut conn, cursor, 7).unwrap();
                for r in rows {
                    assert_eq!(
                        r.seq,
                        cursor + 1,
                        "the cursor skipped from {cursor} to {}",
                        r.seq
                    );
                    cursor = r.seq;
                }
                assert!(Instant::now() < deadline, "reader timed out at {cursor}");
                if done.load(std::sync::atomic::Ordering::SeqCst) && cursor < total {
                    // Writers are finished: everything must be visible now.
                    let rest = penex::store::events::after(&mut conn, cursor, 10_000).unwrap();
                    for r in rest {
                        assert_eq!(r.seq, cursor + 1);
                        cursor = r.seq;
                    }
                    break;
                }
            }
            cursor
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let url = url.clone();
            let emitter = emitter.clone();
            std::thread::spawn(move || {
                let mut conn = url.establish().unwrap();
                for k in 0..PER {
                    penex::store::conn::write_tx(&mut conn, |c| {
                        let row = penex::service::events::emit(
                            c,
                            &emitter,
                            penex::service::events::EventDraft {
                                event_type: penex::service::events::EventType::RecordPublished,
                                subject_id: format!("sub_test_{w}"),
                                record_id: Some(format!("rec_{w}_{k}")),
                                flag_id: None,
                                state: json!({ "k": k }),
                                basis: json!({}),
                            },
                        )?;
                        // Hold the transaction open a little after taking the number, so
                        // commits would come out of order if numbers were not serialized.
                        std::thread::sleep(Duration::from_millis(((w * 7 + k * 3) % 5) as u64));
                        Ok::<_, penex::store::StoreError>(row.seq)
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(reader.join().unwrap(), total);
    app.stop().await;
}

/// Three instances on one database (their own publishers, one sink): every event is delivered,
/// never two different bodies under one key (the sink would answer 409 and the event would die).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_deliver_each_event_with_one_body() {
    let port = common::free_port();
    let first = TestApp::start_with_overrides(publish_overrides(port)).await;
    let mut others = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = common::test_settings(first.dir.path(), &first.db);
        settings.publish.connector_url = Some(format!("https://localhost:{port}/events"));
        settings.publish.backoff_base_ms = 50;
        settings.publish.backoff_max_ms = 300;
        settings.publish.poll_ms = 30;
        settings.publish.lease_secs = 3;
        settings.publish.retry_limit = 1000;
        settings.redis_prefix = first.state.settings.redis_prefix.clone();
        others.push(TestApp::start_with(dir, TestDb::shared(&first.db.url), settings).await);
    }
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = TestSink::for_app(&first, port, sink_dir.path());
    // Writes arrive through all three instances.
    for (i, app) in std::iter::once(&first).chain(others.iter()).enumerate() {
        let base = 1000 + u32::try_from(i).unwrap() * 100;
        push_companies_via(&first, app, base, 20).await;
    }
    wait_for("60 events at the sink", Duration::from_secs(60), || {
        sink.lines().len() >= 60
    })
    .await;
    let ids = check_sink(&sink.lines(), &jwks(&first).await);
    assert_eq!(ids.len(), 60);
    let s = first.state.db(penex::store::outbox::stats).await.unwrap();
    assert_eq!(s.dead, 0);
    sink.stop().await;
    for o in others {
        o.stop().await;
    }
    first.stop().await;
}

#[expect(clippy::expect_used, reason = "test helper")]
fn start_binary(dir: &Path, db_url: &str, port: u16, sink_port: u16) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_penex"))
        .args(["serve", "--migrate"])
        .env("PENEX_DATA_DIR", dir)
        .env("PENEX_DATABASE_URL", db_url)
        .env("PENEX_LISTEN", format!("127.0.0.1:{port}"))
        .env("PENEX_UNITS_FILE", common::repo().join("config/units.toml"))
        .env(
            "PENEX_PUBLISH__CONNECTOR_URL",
            format!("https://localhost:{sink_port}/events"),
        )
        .env("PENEX_PUBLISH__LEASE_SECS", "2")
        .env("PENEX_PUBLISH__BATCH_SIZE", "2")
        .env("PENEX_PUBLISH__POLL_MS", "20")
        .env("PENEX_PUBLISH__BACKOFF_BASE_MS", "50")
        .env("PENEX_PUBLISH__BACKOFF_MAX_MS", "300")
        .env("PENEX_RATE_LIMITS__PUSH__LIMIT", "100000")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("server.log"))
                .map(std::process::Stdio::from)
                .unwrap_or_else(|_| std::process::Stdio::null()),
        )
        .spawn()
        .expect("start penex")
}

async fn wait_ready(dir: &Path, port: u16) -> reqwest::Client {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pki = dir.join("pki");
        if pki.join("clients/SH-310000.key").exists() {
            let c = publisher_client(
                &pki,
                Some(("clients/SH-310000.crt", "clients/SH-310000.key")),
            );
            if let Ok(r) = c
                .get(format!("https://localhost:{port}/readyz"))
                .send()
                .await
                && r.status() == 200
            {
                return c;
            }
        }
        assert!(
            Instant::now() < deadline,
            "penex did not become ready: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The real binary is SIGKILLed while it delivers a backlog; after a restart every event is
/// delivered, each key's body at the sink is exactly the stored JWS, nothing is dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn publisher_killed_mid_delivery_delivers_everything_after_restart() {
    penex::tls::config::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let (port, sink_port) = (common::free_port(), common::free_port());
    let mut server = start_binary(dir.path(), &db.url, port, sink_port);
    let c = wait_ready(dir.path(), port).await;
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = TestSink::start(
        &dir.path().join("pki"),
        &format!("https://localhost:{port}/.well-known/jwks.json"),
        sink_port,
        &sink_dir.path().join("events.jsonl"),
    );
    const BATCHES: u32 = 8;
    const PER: u32 = 25;
    for b in 0..BATCHES {
        let records: Vec<Value> = (0..PER)
            .map(|i| {
                let n = 5000 + b * PER + i;
                company_record(JINGAN.name, &format!("沪静城管罚字〔2025〕第{n}号"), n % 40)
            })
            .collect();
        let r = c
            .post(format!("https://localhost:{port}/v1/records"))
            .json(&json!({ "records": records }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let total = usize::try_from(BATCHES * PER).unwrap();
    wait_for("some deliveries", Duration::from_secs(60), || {
        sink.lines().len() >= 10
    })
    .await;
    server.kill().unwrap();
    server.wait().unwrap();
    let before = sink.lines().len();
    eprintln!("{before} of {total} events delivered before the kill");

    let mut server = start_binary(dir.path(), &db.url, port, sink_port);
    let _ = wait_ready(dir.path(), port).await;
    wait_for("every event at the sink", Duration::from_secs(120), || {
        sink.lines().len() >= total
    })
    .await;
    // What the feed serves is what the sink holds, byte for byte.
    let url = penex::store::DatabaseUrl::parse(&db.url).unwrap();
    let mut conn = url.establish().unwrap();
    let stored = penex::store::events::after(&mut conn, 0, 100_000).unwrap();
    assert_eq!(stored.len(), total);
    let lines = sink.lines();
    let by_key: BTreeMap<String, String> = lines
        .iter()
        .map(|l| {
            (
                l["idempotency_key"].as_str().unwrap().to_owned(),
                l["jws"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for e in &stored {
        assert_eq!(by_key.get(&e.id), Some(&e.jws), "event {} differs", e.seq);
    }
    let keys = penex::crypto::keys::SigningKeys::load_or_init(&dir.path().join("keys/signing"))
        .unwrap()
        .jwks();
    check_sink(&lines, &keys);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = penex::store::outbox::stats(&mut conn).unwrap();
        assert_eq!(s.dead, 0);
        if s.delivered == i64::try_from(total).unwrap() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "outbox not marked delivered: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    sink.stop().await;
}

/// `penex keys rotate|list` and `penex outbox stats|list|retry` through the real binary.
#[test]
fn keys_and_outbox_commands() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_penex"))
            .args(args)
            .env("PENEX_DATA_DIR", dir.path())
            .env("PENEX_DATABASE_URL", &db.url)
            .env("PENEX_UNITS_FILE", common::repo().join("config/units.toml"))
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    assert!(run(&["migrate"]).status.success());
    let first = String::from_utf8(run(&["keys", "list"]).stdout).unwrap();
    let rotated = run(&["keys", "rotate"]);
    assert!(rotated.status.success());
    let listed = String::from_utf8(run(&["keys", "list"]).stdout).unwrap();
    assert_eq!(listed.lines().count(), 2);
    assert!(listed.contains(first.split_whitespace().next().unwrap()));
    let stats = run(&["outbox", "stats"]);
    assert!(stats.status.success());
    assert!(String::from_utf8_lossy(&stats.stdout).contains("dead letters"));
    assert!(
        run(&["outbox", "list", "--status", "dead"])
            .status
            .success()
    );
    assert!(
        !run(&["outbox", "list", "--status", "nope"])
            .status
            .success()
    );
    assert!(!run(&["outbox", "retry", "evt_missing"]).status.success());
}

/// A stored record whose JSON no longer parses is never signed as `null`: the revocation that
/// would publish it fails whole (the record stays active, no event is written), and the cause
/// goes to the log, not the body.
#[tokio::test]
async fn corrupt_stored_json_fails_the_write_instead_of_signing_null() {
    let app = TestApp::start().await;
    let lead = app.client(Who::Lead(penex::domain::party::Party::Shanghai));
    let out: Value = app
        .push(
            &lead,
            &json!({"records": [company_record(JINGAN.name, "沪静城管罚字〔2025〕第950号", 950)]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let rec = out["items"][0]["record_id"].as_str().unwrap().to_owned();
    let events_before = app.count_rows("events").await;
    let id = rec.clone();
    app.state
        .db(move |c| {
            use diesel::prelude::*;
            use penex::store::schema::records;
            diesel::update(records::table.find(&id))
                .set(records::canonical_json.eq("{\"truncated"))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let r = lead
        .post(app.url(&format!("/v1/records/{rec}/revoke")))
        .json(&json!({ "reason": "reconsideration" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let body = r.text().await.unwrap();
    assert!(!body.contains("truncated"), "{body}");
    assert_eq!(app.count_rows("events").await, events_before);
    let id = rec.clone();
    let status = app
        .state
        .db(move |c| Ok(penex::store::records::find(c, &id)?.map(|r| r.status)))
        .await
        .unwrap();
    assert_eq!(status.as_deref(), Some("active"));
    app.stop().await;
}
