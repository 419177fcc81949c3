//! Publishing benchmark: events/s delivered over mutual TLS to the reference sink, signed
//! (Ed25519 at creation, verified by the sink) beside the same run unsigned (no signature, a
//! receiver that only appends), and the revoke → withdrawal-delivered latency (p50/p99).
//!
//! ```sh
//! cargo run --release --example publish_load -- --events 5000 --revokes 200
//! cargo run --release --example publish_load -- --events 5000 --revokes 200 \
//!     --database-url postgres://penex:penex@127.0.0.1:5432/penex_bench
//! ```
//!
//! Everything runs in one process: the penex server (`app::prepare` + `http_server`), the
//! publisher (`publish::publisher::spawn`), the sink (`publish::sink::bind`). Events are written
//! first (timed: the cost of emitting, signing included), then a publisher is started and the
//! time until the outbox reports every row delivered is measured.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "benchmark driver"
)]

use penex::publish::publisher::{self, PublisherConfig};
use penex::service::events::{EventDraft, EventType, emit};
use penex::store;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Args {
    events: usize,
    revokes: usize,
    database_url: Option<String>,
    workers: u32,
    batch: u32,
    instances: usize,
    round: u32,
    in_flight: u32,
}

fn args() -> Args {
    let mut a = Args {
        events: 5000,
        revokes: 200,
        database_url: None,
        workers: 4,
        batch: 32,
        instances: 2,
        round: 256,
        in_flight: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--events" => a.events = v.parse().expect("--events N"),
            "--revokes" => a.revokes = v.parse().expect("--revokes N"),
            "--database-url" => a.database_url = Some(v),
            "--workers" => a.workers = v.parse().expect("--workers N"),
            "--batch" => a.batch = v.parse().expect("--batch N"),
            "--instances" => a.instances = v.parse().expect("--instances N"),
            "--round" => a.round = v.parse().expect("--round N"),
            "--in-flight" => a.in_flight = v.parse().expect("--in-flight N"),
            other => panic!("unknown option {other}"),
        }
    }
    a
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// A typical record state (about the size of a real canonical record).
fn record_state(i: usize) -> Value {
    json!({
        "id": format!("rec_bench_{i}"), "version": 1, "status": "active",
        "authority_code": "SH-310106", "party": "SH", "decision_no": format!("沪静城管罚字〔2025〕第{i}号"),
        "decision_date": "2025-03-20", "publicity_until": "2028-03-20",
        "canonical": {
            "subject": {"name": format!("上海测试建筑工程有限公司{i}"), "kind": "legal_person",
                        "uscc": "91310106MA00000001"},
            "violation_type": "未经许可运输建筑垃圾",
            "facts": "当事人未取得建筑垃圾运输许可擅自运输建筑垃圾。",
            "legal_basis": "《上海市市容环境卫生管理条例》第四十六条",
            "categories": ["罚款"], "content": "罚款人民币贰万元整", "fine_fen": 2_000_000,
            "decision_date": "2025-03-20", "valid_until": "2026-03-20",
            "authority": {"name": "上海市静安区城市管理行政执法局"},
            "source": {"name": "上海市静安区城市管理行政执法局"}
        }
    })
}

fn emit_signed(pool: &store::Pool, emitter: &penex::service::events::Emitter, n: usize) {
    let mut conn = pool.get().unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        store::conn::write_tx(&mut conn, |c| {
            for &i in chunk {
                emit(
                    c,
                    emitter,
                    EventDraft {
                        event_type: EventType::RecordPublished,
                        subject_id: format!("sub_bench_{}", i % 500),
                        record_id: Some(format!("rec_bench_{i}")),
                        flag_id: None,
                        state: record_state(i),
                        basis: json!({"batch_id": "bench"}),
                    },
                )?;
            }
            Ok::<_, store::StoreError>(())
        })
        .unwrap();
    }
}

/// The same rows without a signature: the JWS column holds the bare payload.
fn emit_unsigned(pool: &store::Pool, n: usize, offset: usize) {
    let mut conn = pool.get().unwrap();
    for chunk in (offset..offset + n).collect::<Vec<_>>().chunks(100) {
        store::conn::write_tx(&mut conn, |c| {
            for &i in chunk {
                let seq = store::events::next_seq(c)?;
                let id = format!("evt_unsigned_{i}");
                let payload = json!({
                    "id": id, "seq": seq, "type": "record.published",
                    "subject": {"id": format!("sub_bench_u{}", i % 500)},
                    "record": record_state(i), "basis": {"batch_id": "bench"},
                })
                .to_string();
                store::events::insert_many(
                    c,
                    &[store::events::EventRow {
                        seq,
                        id,
                        event_type: "record.published".into(),
                        subject_id: format!("sub_bench_u{}", i % 500),
                        record_id: None,
                        flag_id: None,
                        jws: payload,
                        kid: "none".into(),
                        created_at: store::now_utc(),
                    }],
                )?;
            }
            Ok::<_, store::StoreError>(())
        })
        .unwrap();
    }
}

fn delivered(pool: &store::Pool) -> i64 {
    let mut conn = pool.get().unwrap();
    store::outbox::stats(&mut conn).unwrap().delivered
}

async fn drain(pool: &store::Pool, target: i64) -> Duration {
    let t0 = Instant::now();
    loop {
        let p = pool.clone();
        let d = tokio::task::spawn_blocking(move || delivered(&p))
            .await
            .unwrap();
        if d >= target {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "drain stalled at {d}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A receiver that checks nothing and appends the body: the unsigned baseline.
async fn plain_receiver(pki: &Path, port: u16, out: PathBuf) -> actix_web::dev::ServerHandle {
    use std::io::Write;
    let tls = penex::tls::config::server_config_requiring_client_cert(
        &std::fs::read(pki.join("server.crt")).unwrap(),
        &std::fs::read(pki.join("server.key")).unwrap(),
        &[std::fs::read(pki.join("exchange-ca.crt")).unwrap()],
    )
    .unwrap();
    let file = std::sync::Arc::new(std::sync::Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(out)
            .unwrap(),
    ));
    let server = actix_web::HttpServer::new(move || {
        let file = file.clone();
        actix_web::App::new().default_service(actix_web::web::to(
            move |body: actix_web::web::Bytes| {
                let file = file.clone();
                async move {
                    let mut f = file.lock().unwrap();
                    f.write_all(&body).unwrap();
                    f.write_all(b"\n").unwrap();
                    f.flush().unwrap();
                    actix_web::HttpResponse::Ok().finish()
                }
            },
        ))
    })
    .listen_rustls_0_23(
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap(),
        tls,
    )
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    handle
}

/// Events the sink stored, and how many came after a later event of their subject.
fn sink_order(path: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut last: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let (mut lines, mut out_of_order) = (0, 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let subject = v["event"]["subject"]["id"].as_str().unwrap().to_owned();
        let seq = v["event"]["seq"].as_i64().unwrap();
        if last.get(&subject).is_some_and(|l| *l >= seq) {
            out_of_order += 1;
        }
        last.insert(subject, seq);
        lines += 1;
    }
    (lines, out_of_order)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

async fn run(a: Args) {
    penex::tls::config::install_default_provider();
    let dir = std::env::temp_dir().join(format!("penex-publish-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (sink_port, plain_port) = (free_port(), free_port());
    let db = a
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("penex.db").display()));
    let settings = penex::config::Settings::with_overrides(json!({
        "listen": "127.0.0.1:0",
        "data_dir": dir.to_str().unwrap(),
        "database_url": db,
        "units_file": "config/units.toml",
        "log": {"format": "pretty", "filter": "warn"},
        "rate_limits": {"push": {"limit": 1_000_000, "window_secs": 60}},
    }))
    .unwrap();
    let sqlite = db.starts_with("sqlite");
    let prepared = penex::app::prepare(settings.clone(), true).await.unwrap();
    let state = prepared.state.clone();
    let pool = state.pool.clone();
    let pki = dir.join("pki");
    let jwks_file = dir.join("jwks.json");
    std::fs::write(
        &jwks_file,
        serde_json::to_string(&state.event_keys.get().jwks()).unwrap(),
    )
    .unwrap();
    let client = publisher::connector_client(&settings).unwrap();
    let config = |port: u16| PublisherConfig {
        url: format!("https://localhost:{port}/events"),
        retry_limit: 100,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        workers: a.workers,
        batch_size: a.batch,
        round_events: a.round,
        round_in_flight: a.in_flight,
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(2),
    };
    println!(
        "backend {}, {} events, {} publisher instances (each: the cursor task, rounds of {} \
         with {} in flight, and {} exception workers x batch {})",
        if sqlite { "sqlite" } else { "postgres" },
        a.events,
        a.instances,
        a.round,
        a.in_flight,
        if sqlite { 1 } else { a.workers },
        a.batch
    );
    // Several instances on one database: each its own publisher (own owner ids, own metrics).
    let spawn_all = |port: u16| {
        let handles: Vec<_> = (0..a.instances.max(1))
            .map(|_| {
                let m = std::sync::Arc::new(publisher::Metrics::default());
                let h = publisher::spawn(
                    pool.clone(),
                    client.clone(),
                    config(port),
                    sqlite,
                    m.clone(),
                );
                (h, m)
            })
            .collect();
        handles
    };
    let stop_all = |handles: Vec<(
        publisher::PublisherHandle,
        std::sync::Arc<publisher::Metrics>,
    )>| async move {
        let mut sends = 0;
        for (h, m) in handles {
            h.stop(Duration::from_secs(5)).await;
            sends += m.snapshot().attempts;
        }
        sends
    };

    // Signed.
    let emitter = state.emitter();
    let t = Instant::now();
    {
        let (pool, emitter, n) = (pool.clone(), emitter.clone(), a.events);
        tokio::task::spawn_blocking(move || emit_signed(&pool, &emitter, n))
            .await
            .unwrap();
    }
    let emit_signed_t = t.elapsed();
    let sink_args = penex::publish::sink::SinkArgs {
        listen: format!("127.0.0.1:{sink_port}").parse().unwrap(),
        ca: pki.join("exchange-ca.crt"),
        cert: pki.join("server.crt"),
        key: pki.join("server.key"),
        jwks: jwks_file.to_str().unwrap().to_owned(),
        jwks_ca: None,
        out: dir.join("sink.jsonl"),
    };
    let (sink, _) = penex::publish::sink::bind(&sink_args).await.unwrap();
    let sink_handle = sink.handle();
    actix_web::rt::spawn(sink);
    let handles = spawn_all(sink_port);
    let signed = drain(&pool, a.events as i64).await;
    let signed_sends = stop_all(handles).await;
    let (lines, out_of_order) = sink_order(&dir.join("sink.jsonl"));

    // Unsigned.
    let plain = plain_receiver(&pki, plain_port, dir.join("plain.jsonl")).await;
    let t = Instant::now();
    {
        let (pool, n) = (pool.clone(), a.events);
        tokio::task::spawn_blocking(move || emit_unsigned(&pool, n, 1_000_000))
            .await
            .unwrap();
    }
    let emit_unsigned_t = t.elapsed();
    let handles = spawn_all(plain_port);
    let unsigned = drain(&pool, 2 * a.events as i64).await;
    stop_all(handles).await;
    plain.stop(true).await;

    let rate = |d: Duration| a.events as f64 / d.as_secs_f64();
    println!(
        "emit (write event, 100 per transaction): signed {:.0}/s, unsigned {:.0}/s",
        rate(emit_signed_t),
        rate(emit_unsigned_t)
    );
    println!(
        "delivered to the sink over mTLS:                     signed {:.0}/s (verified), unsigned {:.0}/s",
        rate(signed),
        rate(unsigned)
    );
    println!(
        "signed run: {} requests sent for {} events ({} sent twice); the sink stored {} events, \
         {} out of their subject's order",
        signed_sends,
        a.events,
        signed_sends.saturating_sub(a.events as u64),
        lines,
        out_of_order
    );
    assert_eq!(lines, a.events, "the sink must hold every event once");
    assert_eq!(
        out_of_order, 0,
        "events must arrive in their subject's order"
    );

    // Revoke → withdrawal delivered.
    if a.revokes > 0 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = penex::app::http_server(prepared, listener).unwrap();
        let server_handle = server.handle();
        actix_web::rt::spawn(server);
        let handles = spawn_all(sink_port);
        let lead = {
            let read = |p: &str| std::fs::read(pki.join(p)).unwrap();
            let cfg = penex::tls::config::client_config(
                &read("exchange-ca.crt"),
                Some(&read("clients/SH-310000.crt")),
                Some(&read("clients/SH-310000.key")),
            )
            .unwrap();
            reqwest::Client::builder()
                .tls_backend_preconfigured(cfg)
                .build()
                .unwrap()
        };
        let base = format!("https://localhost:{port}");
        let records: Vec<Value> = (0..a.revokes)
            .map(|i| {
                let body = format!("91310106MA{:07}", i);
                let check = penex::normalize::ids::uscc_check_char(&body).unwrap();
                json!({
                    "CF_XDR_MC": format!("上海测试建筑工程有限公司{i}"), "CF_XDR_LB": "法人及非法人组织",
                    "CF_XDR_SHXYM": format!("{body}{check}"), "CF_WSH": format!("沪静城管罚字〔2025〕第{i}号"),
                    "CF_WFXW": "未经许可运输建筑垃圾", "CF_SY": "当事人未取得建筑垃圾运输许可擅自运输建筑垃圾。",
                    "CF_YJ": "《上海市市容环境卫生管理条例》第四十六条", "CF_CFLB": "罚款",
                    "CF_NR": "罚款人民币贰万元整", "CF_NR_FK": "2", "CF_JDRQ": "2025-03-20",
                    "CF_YXQ": "2026-03-20", "CF_CFJG": "上海市静安区城市管理行政执法局",
                    "CF_SJLY": "上海市静安区城市管理行政执法局",
                })
            })
            .collect();
        let r: Value = lead
            .post(format!("{base}/v1/records"))
            .json(&json!({ "records": records }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<String> = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["record_id"].as_str().unwrap().to_owned())
            .collect();
        let target = 2 * a.events as i64 + a.revokes as i64;
        drain(&pool, target).await;
        let mut lat = Vec::new();
        for (k, id) in ids.iter().enumerate() {
            let t0 = Instant::now();
            let r = lead
                .post(format!("{base}/v1/records/{id}/revoke"))
                .json(&json!({"reason": "reconsideration"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let want = target + k as i64 + 1;
            loop {
                let p = pool.clone();
                let d = tokio::task::spawn_blocking(move || delivered(&p))
                    .await
                    .unwrap();
                if d >= want {
                    break;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(30),
                    "withdrawal not delivered"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            lat.push(t0.elapsed());
        }
        lat.sort();
        println!(
            "revoke → withdrawal delivered ({} revocations, one at a time): p50 {:.1} ms, p99 {:.1} ms",
            lat.len(),
            pct(&lat, 50.0).as_secs_f64() * 1000.0,
            pct(&lat, 99.0).as_secs_f64() * 1000.0
        );
        stop_all(handles).await;
        server_handle.stop(true).await;
    }
    sink_handle.stop(true).await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let a = args();
    actix_web::rt::System::new().block_on(run(a));
}
