//! Crash safety of ingest through the real binary: the server is killed with SIGKILL while
//! batches are in flight; after a restart every record of every answered batch is present, and
//! no batch is half-present.

use crate::common;

use common::records::company_record;
use common::units::JINGAN;
use diesel::RunQueryDsl;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BATCH: usize = 40;

#[expect(clippy::expect_used, reason = "test helper")]
fn start(dir: &Path, db_url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_penex"))
        .args(["serve", "--migrate"])
        .env("PENEX_DATA_DIR", dir)
        .env("PENEX_DATABASE_URL", db_url)
        .env("PENEX_LISTEN", format!("127.0.0.1:{port}"))
        .env("PENEX_UNITS_FILE", common::repo().join("config/units.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("server.log"))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
        )
        .spawn()
        .expect("start penex")
}

/// A client with the Shanghai lead's dev certificate, once the server has written the PKI.
fn client(dir: &Path) -> Option<reqwest::Client> {
    let pki = dir.join("pki");
    let read = |p: &str| std::fs::read(pki.join(p)).ok();
    let config = penex::tls::config::client_config(
        &read("exchange-ca.crt")?,
        Some(&read("clients/SH-310000.crt")?),
        Some(&read("clients/SH-310000.key")?),
    )
    .ok()?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(20))
        .build()
        .ok()
}

async fn wait_ready(dir: &Path, port: u16) -> reqwest::Client {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(c) = client(dir)
            && let Ok(r) = c
                .get(format!("https://localhost:{port}/readyz"))
                .send()
                .await
            && r.status() == 200
        {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "penex did not become ready: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn batch(n: usize) -> Value {
    let records: Vec<Value> = (0..BATCH)
        .map(|i| {
            company_record(
                JINGAN.name,
                &format!("沪静城管罚字〔2025〕第{n}-{i}号"),
                u32::try_from(n * BATCH + i).unwrap_or(0),
            )
        })
        .collect();
    json!({ "records": records })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_batch_loses_no_answered_record_and_leaves_no_half_batch() {
    penex::tls::config::install_default_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::TestDb::new(dir.path());
    let port = common::free_port();
    let mut server = start(dir.path(), &db.url, port);
    let c = wait_ready(dir.path(), port).await;
    let url = format!("https://localhost:{port}/v1/records");

    // Four writers push batches until the server dies under them.
    let answered_count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..4_usize {
        let (c, url) = (c.clone(), url.clone());
        let answered_count = answered_count.clone();
        writers.push(tokio::spawn(async move {
            let mut answered: Vec<(usize, Vec<String>)> = Vec::new();
            let mut sent = Vec::new();
            for k in 0..10_000_usize {
                let n = w * 100_000 + k;
                sent.push(n);
                let Ok(resp) = c.post(&url).json(&batch(n)).send().await else {
                    break;
                };
                if resp.status() != 200 {
                    break;
                }
                let Ok(body) = resp.json::<Value>().await else {
                    break;
                };
                let ids: Vec<String> = body["items"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| i["record_id"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                assert_eq!(
                    ids.len(),
                    BATCH,
                    "every item of a good batch is stored: {body}"
                );
                answered.push((n, ids));
                answered_count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            (answered, sent)
        }));
    }
    // Kill once a few batches were answered, whatever the machine's speed: the others are then
    // in flight.
    let deadline = Instant::now() + Duration::from_secs(120);
    while answered_count.load(std::sync::atomic::Ordering::SeqCst) < 6 && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().expect("SIGKILL");
    server.wait().expect("reap");

    let mut answered = Vec::new();
    let mut sent = Vec::new();
    for w in writers {
        let (a, s) = w.await.expect("writer");
        answered.extend(a);
        sent.extend(s);
    }
    assert!(
        !answered.is_empty(),
        "no batch was answered before the kill"
    );
    eprintln!(
        "{} batches answered, {} sent before the kill",
        answered.len(),
        sent.len()
    );

    // Restart on the same data: migrations and recovery must succeed.
    let mut server = start(dir.path(), &db.url, port);
    let _ = wait_ready(dir.path(), port).await;

    let url = penex::store::DatabaseUrl::parse(&db.url).expect("url");
    let mut conn = url.establish().expect("database after restart");
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        decision_no: String,
    }
    let rows: Vec<Row> = diesel::sql_query("SELECT id, decision_no FROM records")
        .load(&mut conn)
        .expect("records");
    let stored: std::collections::HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    for (n, ids) in &answered {
        for id in ids {
            assert!(
                stored.contains(id.as_str()),
                "batch {n} was answered but {id} is lost"
            );
        }
    }
    // Every batch sent, answered or not, is either wholly present or wholly absent.
    for n in &sent {
        let prefix = format!("沪静城管罚字〔2025〕第{n}-");
        let present = rows
            .iter()
            .filter(|r| r.decision_no.starts_with(&prefix))
            .count();
        assert!(
            present == 0 || present == BATCH,
            "batch {n} is half-written: {present}/{BATCH}"
        );
    }
    let verdict = penex::store::audit::verify(&mut conn).expect("audit verify");
    assert!(
        matches!(verdict, penex::store::audit::Verification::Intact { .. }),
        "audit chain after a crash: {verdict:?}"
    );
    server.kill().expect("stop");
    let _ = server.wait();
}

#[tokio::test]
async fn a_pushed_id_number_never_reaches_the_logs() {
    penex::tls::config::install_default_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::TestDb::new(dir.path());
    let port = common::free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_penex"))
        .args(["serve", "--migrate"])
        .env("PENEX_DATA_DIR", dir.path())
        .env("PENEX_DATABASE_URL", &db.url)
        .env("PENEX_LISTEN", format!("127.0.0.1:{port}"))
        .env("PENEX_UNITS_FILE", common::repo().join("config/units.toml"))
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("server.log")).expect("log file"),
        ))
        .spawn()
        .expect("start penex");
    let c = wait_ready(dir.path(), port).await;
    let id_no = common::records::resident_id(314);
    let mut bad = common::records::person_record(JINGAN.name, "沪静城管罚字〔2025〕第31号", &id_no);
    bad["行政相对人类别"] = json!("未知类别");
    for body in [
        common::records::person_record(JINGAN.name, "沪静城管罚字〔2025〕第30号", &id_no),
        bad,
    ] {
        let r = c
            .post(format!("https://localhost:{port}/v1/records"))
            .json(&json!({ "records": [body] }))
            .send()
            .await
            .expect("push");
        assert_eq!(r.status(), 200);
    }
    server.kill().expect("stop");
    let _ = server.wait();
    let log = std::fs::read_to_string(dir.path().join("server.log")).expect("log");
    assert!(
        log.contains("request done"),
        "the log is empty: nothing was checked"
    );
    assert!(!log.contains(&id_no), "the ID number was logged");
    assert!(!log.contains("张三"), "a natural person's name was logged");
}
