//! The operator's command line, through the real binary: fail-closed database URLs, migrations
//! on PostgreSQL, runtime unit changes reaching a running server, API keys, the dev PKI, the
//! audit verifier, and graceful shutdown on SIGTERM.
#![expect(clippy::expect_used, reason = "tests")]

use crate::common;

use serde_json::json;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn penex(dir: &Path, db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_penex"))
        .args(args)
        .env("PENEX_DATA_DIR", dir)
        .env("PENEX_DATABASE_URL", db_url)
        .env("PENEX_UNITS_FILE", common::repo().join("config/units.toml"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run penex")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_database_url_it_does_not_understand_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    for url in [
        "host=127.0.0.1 port=1 dbname=none",
        "postgress://x@h/db",
        "penex.db",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_penex"))
            .args(["migrate"])
            .current_dir(work.path())
            .env("PENEX_DATA_DIR", dir.path())
            .env("PENEX_DATABASE_URL", url)
            .output()
            .expect("run penex");
        assert!(!out.status.success(), "{url} was accepted");
        assert!(text(&out).contains("database_url"), "{}", text(&out));
    }
    let left: Vec<_> = std::fs::read_dir(work.path()).expect("dir").collect();
    assert!(left.is_empty(), "files were created: {left:?}");
}

#[test]
fn postgres_needs_explicit_migrations_and_sqlite_migrates_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::TestDb::new(dir.path());
    if db.is_postgres() {
        let out = Command::new(env!("CARGO_BIN_EXE_penex"))
            .args(["serve"])
            .env("PENEX_DATA_DIR", dir.path())
            .env("PENEX_DATABASE_URL", &db.url)
            .env("PENEX_LISTEN", "127.0.0.1:0")
            .env("PENEX_UNITS_FILE", common::repo().join("config/units.toml"))
            .output()
            .expect("run");
        assert!(!out.status.success());
        assert!(text(&out).contains("pending migration"), "{}", text(&out));
        let out = penex(dir.path(), &db.url, &["migrate"]);
        assert!(out.status.success(), "{}", text(&out));
        let expected = std::fs::read_dir(common::repo().join("migrations/postgres"))
            .expect("migrations")
            .count();
        assert!(
            text(&out).contains(&format!("{expected} migration(s) applied")),
            "{}",
            text(&out)
        );
    }
    // Either way the CLI now works on the database (SQLite migrated on first open).
    let out = penex(dir.path(), &db.url, &["unit", "list", "--party", "AH"]);
    assert!(out.status.success(), "{}", text(&out));
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        listed.contains("AH-340000") && listed.contains("AH-341800"),
        "{listed}"
    );
    assert!(!listed.contains("SH-310000"));
}

#[tokio::test]
async fn runtime_unit_changes_persist_and_reach_a_running_server() {
    penex::tls::config::install_default_provider();
    let app = common::TestApp::start().await;
    let dir = app.dir.path().to_owned();
    let url = app.db.url.clone();
    let run = |args: &[&str]| penex(&dir, &url, args);

    let out = run(&[
        "unit",
        "add",
        "--code",
        "SH-310106-DNJD",
        "--name",
        "上海市静安区大宁路街道办事处",
        "--level",
        "street",
        "--division",
        "310106",
        "--parent",
        "SH-310106",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // A unit whose parent is in another party is refused.
    let out = run(&[
        "unit",
        "add",
        "--code",
        "SH-310106-XX",
        "--name",
        "某单位",
        "--level",
        "street",
        "--division",
        "310106",
        "--parent",
        "JS-320100",
    ]);
    assert!(!out.status.success());

    let out = run(&["pki", "issue", "--unit", "SH-310106-DNJD"]);
    assert!(out.status.success(), "{}", text(&out));
    let pki = dir.join("pki/clients");
    let client = app.client(common::Who::Files(
        pki.join("SH-310106-DNJD.crt"),
        pki.join("SH-310106-DNJD.key"),
    ));
    // The running server learns of the new unit within seconds.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = client
            .get(app.url("/v1/whoami"))
            .send()
            .await
            .expect("whoami");
        if r.status() == 200 {
            let body: serde_json::Value = r.json().await.expect("json");
            assert_eq!(body["level"], "street");
            break;
        }
        assert!(Instant::now() < deadline, "the new unit never became known");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let out = run(&["unit", "disable", "SH-310106-DNJD"]);
    assert!(out.status.success(), "{}", text(&out));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = client
            .get(app.url("/v1/whoami"))
            .send()
            .await
            .expect("whoami");
        if r.status() == 403 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the disabled unit was still accepted"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let listed =
        String::from_utf8_lossy(&run(&["unit", "list", "--party", "SH"]).stdout).into_owned();
    assert!(
        listed.contains("SH-310106-DNJD") && listed.contains("[disabled]"),
        "{listed}"
    );

    // API keys: created once, work for analyst routes only, revoked.
    let out = run(&["apikey", "create", "--name", "dash"]);
    assert!(out.status.success(), "{}", text(&out));
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(key.starts_with("pxk_"));
    let anon = app.client(common::Who::Anonymous);
    let r = anon
        .get(app.url("/v1/whoami"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("whoami");
    assert_eq!(r.status(), 200);
    let r = anon
        .post(app.url("/v1/records"))
        .bearer_auth(&key)
        .json(&json!({"records": []}))
        .send()
        .await
        .expect("push");
    assert_eq!(r.status(), 403, "an analyst key must not push records");
    assert!(
        !run(&["apikey", "create", "--name", "x", "--role", "operator"])
            .status
            .success()
    );
    assert!(run(&["apikey", "revoke", "dash"]).status.success());
    let r = anon
        .get(app.url("/v1/whoami"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("whoami");
    assert_eq!(r.status(), 403);

    // Every change above is in the audit chain, and the chain verifies.
    let out = run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("4 entries verified"), "{}", text(&out));
    app.stop().await;
}

#[test]
fn audit_verify_fails_on_a_tampered_chain() {
    use diesel::connection::SimpleConnection;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::TestDb::new(dir.path());
    let _ = penex(dir.path(), &db.url, &["migrate"]);
    for name in ["a", "b", "c"] {
        assert!(
            penex(dir.path(), &db.url, &["apikey", "create", "--name", name])
                .status
                .success()
        );
    }
    let mut conn = penex::store::DatabaseUrl::parse(&db.url)
        .expect("url")
        .establish()
        .expect("db");
    conn.batch_execute("UPDATE audit_log SET actor = 'operator:cli:mallory' WHERE seq = 2")
        .expect("tamper");
    let out = penex(dir.path(), &db.url, &["audit", "verify"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("broken at entry 2"), "{}", text(&out));
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_push_finish() {
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
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = loop {
        let pki = dir.path().join("pki");
        let files = (
            std::fs::read(pki.join("exchange-ca.crt")),
            std::fs::read(pki.join("clients/SH-310000.crt")),
            std::fs::read(pki.join("clients/SH-310000.key")),
        );
        if let (Ok(ca), Ok(cert), Ok(key)) = files
            && let Ok(config) = penex::tls::config::client_config(&ca, Some(&cert), Some(&key))
            && let Ok(c) = reqwest::Client::builder()
                .tls_backend_preconfigured(config)
                .build()
            && let Ok(r) = c
                .get(format!("https://localhost:{port}/readyz"))
                .send()
                .await
            && r.status() == 200
        {
            break c;
        }
        assert!(Instant::now() < deadline, "server not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let records: Vec<serde_json::Value> = (0..400)
        .map(|i| {
            common::records::company_record(
                "上海市静安区城市管理行政执法局",
                &format!("沪静城管罚字〔2025〕第5{i}号"),
                i,
            )
        })
        .collect();
    let push = tokio::spawn({
        let c = client.clone();
        async move {
            c.post(format!("https://localhost:{port}/v1/records"))
                .json(&json!({ "records": records }))
                .send()
                .await
        }
    });
    // A 400-record batch takes the (debug) server well over this long to process.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let pid = server.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let resp = push
        .await
        .expect("join")
        .expect("the in-flight push was cut off");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["summary"]["accepted"], 400);
    let status = server.wait().expect("wait");
    assert!(
        status.success(),
        "penex did not exit cleanly after SIGTERM: {status}"
    );
}

#[tokio::test]
async fn serve_refuses_a_used_database_without_its_personal_data_key() {
    penex::tls::config::install_default_provider();
    let app = common::TestApp::start().await;
    let c = app.client(common::Who::Lead(penex::domain::party::Party::Shanghai));
    let rec = common::records::company_record(
        "上海市静安区城市管理行政执法局",
        "沪静城管罚字〔2025〕第88号",
        88,
    );
    assert_eq!(app.push(&c, &rec).await.status(), 200);
    let url = app.db.url.clone();
    assert_eq!(app.count_rows("records").await, 1);
    // A second instance started with another data folder has no key: it must not make one.
    let other = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_penex"))
        .args(["serve", "--migrate"])
        .env("PENEX_DATA_DIR", other.path())
        .env("PENEX_DATABASE_URL", &url)
        .env("PENEX_LISTEN", "127.0.0.1:0")
        .env("PENEX_UNITS_FILE", common::repo().join("config/units.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    // It must refuse at once; a server that starts anyway is killed and the test fails.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("penex started without its personal-data key");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success());
    assert!(text(&out).contains("personal-data key"), "{}", text(&out));
    assert!(
        !other.path().join("keys/pii.key").exists(),
        "a new key was created"
    );
    app.stop().await;
}
