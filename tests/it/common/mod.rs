//! The test harness: a real penex server on a loopback port over real TLS, on the backend the
//! environment selects, and HTTPS clients per role with real client certificates.
//!
//! Backends: SQLite + in-process cache by default; PostgreSQL when `PENEX_TEST_DATABASE_URL`
//! names a server (each test gets its own database, dropped afterwards) and Redis when
//! `PENEX_TEST_REDIS_URL` is set (each test gets its own key namespace). When a variable is set
//! and the service is not reachable, tests fail: they never skip.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test harness"
)]

pub mod browser;
pub mod proxy;
pub mod records;
pub mod units;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use penex::config::Settings;
use penex::domain::party::Party;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database for one test.
pub struct TestDb {
    /// The URL the server uses.
    pub url: String,
    admin: Option<(String, String)>,
}

impl TestDb {
    /// SQLite file in `dir`, or a fresh PostgreSQL database when the environment asks for one.
    pub fn new(dir: &Path) -> TestDb {
        match std::env::var("PENEX_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!(
                    "penex_t_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    chrono::Utc::now().timestamp_micros() % 1_000_000
                );
                let mut admin = PgConnection::establish(&admin_url)
                    .expect("PENEX_TEST_DATABASE_URL is set but PostgreSQL is not reachable");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .expect("database URL with a path");
                TestDb {
                    url: format!("{base}/{name}"),
                    admin: Some((admin_url, name)),
                }
            }
            _ => TestDb {
                url: format!("sqlite://{}", dir.join("penex.db").display()),
                admin: None,
            },
        }
    }

    /// Another handle on an existing database (not dropped by this handle).
    pub fn shared(url: &str) -> TestDb {
        TestDb {
            url: url.to_owned(),
            admin: None,
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.admin
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// The repository root (for `config/units.toml`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Settings for a test server in `dir`.
pub fn test_settings(dir: &Path, db: &TestDb) -> Settings {
    let mut overrides = serde_json::json!({
        "listen": "127.0.0.1:0",
        "data_dir": dir.to_str().unwrap(),
        "database_url": db.url,
        "database_pool_size": 4,
        "units_file": repo().join("config/units.toml").to_str().unwrap(),
    });
    if let Ok(redis) = std::env::var("PENEX_TEST_REDIS_URL")
        && !redis.is_empty()
    {
        {
            overrides["redis_url"] = serde_json::Value::String(redis);
            overrides["redis_prefix"] = serde_json::Value::String(format!(
                "penex-test:{}:{}:",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst)
            ));
        }
    }
    Settings::with_overrides(overrides).expect("test settings")
}

/// Who a client speaks as.
#[derive(Debug, Clone)]
pub enum Who {
    /// No client certificate.
    Anonymous,
    /// The provincial lead of a party (dev PKI certificate).
    Lead(Party),
    /// The dev PKI's analyst.
    Analyst,
    /// The dev PKI's integrator.
    Integrator,
    /// The dev PKI's operator.
    Operator,
    /// Any certificate and key files.
    Files(PathBuf, PathBuf),
}

/// A running penex server.
pub struct TestApp {
    /// Its data folder (PKI, keys).
    pub dir: tempfile::TempDir,
    /// Its database.
    pub db: TestDb,
    /// `https://localhost:PORT`.
    pub base: String,
    /// The server's shared state (to reach the database directly).
    pub state: penex::api::state::AppState,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestApp {
    /// Starts a server on a fresh backend.
    pub async fn start() -> TestApp {
        penex::tls::config::install_default_provider();
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::new(dir.path());
        let settings = test_settings(dir.path(), &db);
        Self::start_with(dir, db, settings).await
    }

    /// Starts a server on a fresh backend with some settings overridden (JSON merged over the
    /// test settings).
    pub async fn start_with_overrides(overrides: serde_json::Value) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::new(dir.path());
        let base = test_settings(dir.path(), &db);
        let mut merged = serde_json::json!({
            "listen": "127.0.0.1:0",
            "data_dir": dir.path().to_str().unwrap(),
            "database_url": db.url,
            "database_pool_size": 4,
            "units_file": repo().join("config/units.toml").to_str().unwrap(),
            "redis_prefix": base.redis_prefix,
        });
        if let Some(url) = &base.redis_url {
            use secrecy::ExposeSecret;
            merged["redis_url"] = serde_json::Value::String(url.expose_secret().to_owned());
        }
        if let (Some(m), Some(o)) = (merged.as_object_mut(), overrides.as_object()) {
            for (k, v) in o {
                m.insert(k.clone(), v.clone());
            }
        }
        let settings = Settings::with_overrides(merged).expect("settings");
        Self::start_with(dir, db, settings).await
    }

    /// Starts a server with given settings.
    pub async fn start_with(dir: tempfile::TempDir, db: TestDb, settings: Settings) -> TestApp {
        penex::tls::config::install_default_provider();
        let prepared = penex::app::prepare(settings, true).await.expect("prepare");
        let state = prepared.state.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let publisher = penex::app::start_publisher(&prepared.state).expect("publisher");
                let server = penex::app::http_server(prepared, listener).expect("server");
                tx.send(server.handle()).unwrap();
                let _ = server.await;
                if let Some(p) = publisher {
                    p.stop(std::time::Duration::from_secs(5)).await;
                }
            });
        });
        let handle = rx.recv().unwrap();
        TestApp {
            dir,
            db,
            base: format!("https://localhost:{port}"),
            state,
            handle,
            thread: Some(thread),
        }
    }

    /// The dev PKI folder.
    pub fn pki(&self) -> PathBuf {
        self.dir.path().join("pki")
    }

    /// The certificate and key files of a dev PKI principal.
    pub fn files(&self, who: &Who) -> Option<(PathBuf, PathBuf)> {
        let clients = self.pki().join("clients");
        let name = match who {
            Who::Anonymous => return None,
            Who::Files(c, k) => return Some((c.clone(), k.clone())),
            Who::Lead(p) => lead_code(*p).to_owned(),
            Who::Analyst => "analyst".into(),
            Who::Integrator => "integrator".into(),
            Who::Operator => "operator".into(),
        };
        Some((
            clients.join(format!("{name}.crt")),
            clients.join(format!("{name}.key")),
        ))
    }

    /// An HTTPS client presenting `who`'s certificate.
    pub fn client(&self, who: Who) -> reqwest::Client {
        self.client_with(who, true)
    }

    /// An HTTPS client presenting `who`'s certificate that hands back redirects instead of
    /// following them (`follow` false), as a relay in front of a browser must.
    pub fn client_with(&self, who: Who, follow: bool) -> reqwest::Client {
        let ca = std::fs::read(self.pki().join("exchange-ca.crt")).unwrap();
        let files = self.files(&who);
        let (cert, key) = match &files {
            Some((c, k)) => (
                Some(std::fs::read(c).unwrap()),
                Some(std::fs::read(k).unwrap()),
            ),
            None => (None, None),
        };
        let config =
            penex::tls::config::client_config(&ca, cert.as_deref(), key.as_deref()).unwrap();
        let redirects = if follow {
            reqwest::redirect::Policy::default()
        } else {
            reqwest::redirect::Policy::none()
        };
        reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .redirect(redirects)
            .build()
            .unwrap()
    }

    /// A client for a registered unit, with a certificate from its party's dev CA (issued on
    /// the first call, reused after).
    pub fn unit_client(&self, party: Party, code: &str) -> reqwest::Client {
        let out = self.dir.path().join(format!("certs-{code}"));
        let (cert, key) = (
            out.join(format!("{code}.crt")),
            out.join(format!("{code}.key")),
        );
        if cert.exists() && key.exists() {
            return self.client(Who::Files(cert, key));
        }
        let (cert, key) = penex::tls::pki::issue_client_cert(
            &self.pki(),
            penex::tls::identity::CaBinding::Party(party),
            penex::domain::party::Role::Unit,
            code,
            &out,
        )
        .unwrap();
        self.client(Who::Files(cert, key))
    }

    /// A client for a registered authority (see [`TestApp::unit_client`]).
    pub fn unit(&self, a: units::Authority) -> reqwest::Client {
        self.unit_client(a.party, a.code)
    }

    /// POSTs a JSON body to `/v1/records`.
    pub async fn push(&self, c: &reqwest::Client, body: &serde_json::Value) -> reqwest::Response {
        c.post(self.url("/v1/records"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Pushes one record and returns the answer's item for it, whatever its status.
    pub async fn push_one(
        &self,
        c: &reqwest::Client,
        rec: &serde_json::Value,
    ) -> serde_json::Value {
        let out: serde_json::Value = self
            .push(c, &serde_json::json!({ "records": [rec] }))
            .await
            .json()
            .await
            .unwrap();
        out["items"][0].clone()
    }

    /// Pushes one record, asserts it was accepted and returns its record id.
    pub async fn push_accepted(&self, c: &reqwest::Client, rec: &serde_json::Value) -> String {
        let out: serde_json::Value = self
            .push(c, &serde_json::json!({ "records": [rec] }))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(out["items"][0]["status"], "accepted", "{out}");
        out["items"][0]["record_id"].as_str().unwrap().to_owned()
    }

    /// The subject id the store gave a record (read directly from the database).
    pub async fn subject_of(&self, record_id: &str) -> String {
        let id = record_id.to_owned();
        self.state
            .db(move |c| penex::store::records::find(c, &id))
            .await
            .unwrap()
            .unwrap()
            .subject_id
            .unwrap()
    }

    /// GETs `path` with client `c`.
    pub async fn get(&self, c: &reqwest::Client, path: &str) -> reqwest::Response {
        c.get(self.url(path)).send().await.unwrap()
    }

    /// GETs `path` with client `c`, asserts 200 and reads the JSON body.
    pub async fn get_ok(&self, c: &reqwest::Client, path: &str) -> serde_json::Value {
        let r = self.get(c, path).await;
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.unwrap()
    }

    /// GETs `path` as `who` and reads the JSON body, whatever the status.
    pub async fn get_json(&self, who: Who, path: &str) -> serde_json::Value {
        self.client(who)
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Rows in a table, read directly from the database.
    pub async fn count_rows(&self, table: &'static str) -> i64 {
        self.state
            .db(move |c| {
                use diesel::RunQueryDsl;
                #[derive(diesel::QueryableByName)]
                struct N {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                let rows: Vec<N> = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
                    .load(c)
                    .map_err(penex::store::StoreError::from)?;
                Ok(rows.first().map_or(0, |r| r.n))
            })
            .await
            .unwrap()
    }

    /// Runs `f` with collaboration's dependencies from this server's state, on the write path
    /// (for the sweeper and for steps taken on a chosen day, which HTTP cannot choose).
    pub async fn with_collab<T: Send + 'static>(
        &self,
        f: impl FnOnce(
            &mut penex::store::Conn,
            penex::service::collab::Deps<'_>,
        ) -> penex::service::Result<T>
        + Send
        + 'static,
    ) -> T {
        let (registry, policy, pii, emitter) = (
            self.state.registry(),
            self.state.policy.clone(),
            self.state.pii.clone(),
            self.state.emitter(),
        );
        self.state
            .call(move |c| {
                let deps = penex::service::collab::Deps {
                    registry: &registry,
                    policy: &policy.collab,
                    policies: &policy,
                    pii: &pii,
                    emitter: &emitter,
                };
                f(c, deps)
            })
            .await
            .unwrap()
    }

    /// One pass of the collaboration sweeper as on `day`.
    pub async fn sweep_collab(
        &self,
        day: chrono::NaiveDate,
    ) -> penex::service::collab::sweep::Swept {
        self.with_collab(move |c, d| penex::service::collab::sweep::sweep(c, d, day))
            .await
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        self.handle.stop(false).await;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Without waiting: the server thread ends when its system stops.
        let handle = self.handle.clone();
        std::mem::drop(handle.stop(false));
    }
}

/// A loopback port that was free a moment ago (for a server started as a separate process).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// The lead unit code of a party in `config/units.toml`.
pub fn lead_code(p: Party) -> &'static str {
    match p {
        Party::Shanghai => "SH-310000",
        Party::Jiangsu => "JS-320000",
        Party::Zhejiang => "ZJ-330000",
        Party::Anhui => "AH-340000",
    }
}

/// Asserts a problem+json response and returns its body.
pub async fn problem(resp: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        ct.starts_with("application/problem+json"),
        "content-type {ct}"
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["code"].is_string() && body["title"].is_string() && body["type"].is_string());
    assert!(body["instance"].is_string());
    body
}
