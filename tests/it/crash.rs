//! The real binary's logs: a pushed ID number or a natural person's name never reaches them.
//! (Crash safety, the server SIGKILLed while batches are in flight, is the proof harness's crash
//! loop: `tests/it/proof.rs`.)

use crate::common;

use common::units::JINGAN;
use serde_json::json;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
