//! Hostile requests against a live `penex serve` (issue #17's hostile-input table): bodies over
//! the limit, deep nesting, invalid UTF-8, NUL bytes, huge fields, oversized batches, wrong
//! content types, HTTP/1.0, header floods, request smuggling, slow clients, a handshake storm
//! and certificates that must not be accepted.
//!
//! Every case expects a 4xx `application/problem+json` answer (or a per-item error in a 200
//! batch answer, or a refused handshake / closed connection where the case says so) — never a
//! 5xx. Around every case the module counts the rows of every table of the database and the
//! audit chain's head, and requires that a refused request wrote nothing (a batch whose items
//! were all rejected keeps, by design, only each item's sealed submission and the batch's audit
//! entry: the data-quality figures count rejected submissions). After every case the server
//! must still answer `/readyz` 200 and its process must be alive.
//!
//! Included with `#[path]` by `tests/it/hostile.rs` (which spawns the real binary on the test
//! backend) and by the proof harness; it uses only crates examples can use.

use penex::domain::party::{Party, Role};
use penex::normalize::fields::{Field, field_for_header};
use penex::tls::identity::CaBinding;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The server under attack and how to reach its database and its CLI.
#[derive(Debug, Clone)]
pub struct Target {
    /// `https://localhost:PORT` (the dev PKI's server certificate names `localhost`).
    pub base: String,
    /// The address raw sockets connect to.
    pub addr: std::net::SocketAddr,
    /// The server's data folder; its dev PKI is in `pki/`.
    pub data_dir: PathBuf,
    /// The server's database URL, for counting rows.
    pub database_url: String,
    /// The `penex` binary, for operator commands (`penex unit`, `penex apikey`).
    pub penex_bin: PathBuf,
    /// The environment those commands need to reach the same settings and database
    /// (`PENEX_DATABASE_URL`, `PENEX_UNITS_FILE`, …).
    pub cli_env: Vec<(String, String)>,
    /// The server's process id, to check it is still alive after each case.
    pub server_pid: Option<u32>,
    /// The server's request limits (`[limits]` in its settings).
    pub limits: penex::config::Limits,
    /// How long the server gives a client to send a request head (penex's
    /// [`penex::app::CLIENT_REQUEST_TIMEOUT`]).
    pub client_request_timeout: Duration,
    /// How long the server gives a client to complete the TLS handshake (penex's
    /// [`penex::app::TLS_HANDSHAKE_TIMEOUT`]).
    pub tls_handshake_timeout: Duration,
    /// How much of each attack to send.
    pub sizes: Sizes,
}

/// The size of each attack.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// Bytes of the huge string put in each record field (case 5).
    pub huge_field_bytes: usize,
    /// Bytes streamed in the oversized chunked upload (case 1).
    pub streamed_bytes: usize,
    /// Headers of the header flood (case 9).
    pub flood_headers: usize,
    /// Bytes of the one huge header (case 9).
    pub huge_header_bytes: usize,
    /// Connections of each slow-client kind (case 10).
    pub slow_connections: usize,
    /// Concurrent TLS handshakes (case 11).
    pub handshakes: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes {
            huge_field_bytes: 1 << 20,
            streamed_bytes: 50 << 20,
            flood_headers: 10_000,
            huge_header_bytes: 1 << 20,
            slow_connections: 50,
            handshakes: 500,
        }
    }
}

/// What one hostile request (or one attack) got.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The case of issue #17's list.
    pub case: &'static str,
    /// What was sent.
    pub tried: String,
    /// What penex must answer.
    pub expected: &'static str,
    /// What it answered, and any row or liveness check that failed.
    pub seen: String,
    /// Whether the expectation held (answer, rows and liveness).
    pub held: bool,
}

/// The outcomes as a Markdown table.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut s =
        String::from("| case | sent | expected | penex answered | held |\n|---|---|---|---|---|\n");
    for o in outcomes {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            o.case,
            cell(&o.tried),
            cell(o.expected),
            cell(&o.seen),
            if o.held { "yes" } else { "**NO**" }
        ));
    }
    s
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The registered units the cases use (`config/units.toml`).
const LEAD: &str = "SH-310000";
/// 上海市静安区城市管理行政执法局 decides the records pushed.
const AUTHORITY: &str = "上海市静安区城市管理行政执法局";
/// The unit that is disabled for case 12 (not the deciding authority of any pushed record).
const DISABLED_UNIT: &str = "SH-310118";

/// Runs every case, in order, and returns one outcome per hostile request or attack.
pub async fn run_all(target: &Target) -> Vec<Outcome> {
    penex::tls::config::install_default_provider();
    let ctx = match Ctx::new(target) {
        Ok(c) => c,
        Err(e) => {
            return vec![Outcome {
                case: "setup",
                tried: "read the dev PKI, build clients, connect to the database".into(),
                expected: "ready",
                seen: e,
                held: false,
            }];
        }
    };
    let mut out = Vec::new();
    // The disabled unit is switched off first: the server learns of it at its next registry
    // refresh, while the other cases run.
    let disabled = ctx.disable_unit().await;
    body_limit(&ctx, &mut out).await;
    deep_nesting(&ctx, &mut out).await;
    invalid_utf8(&ctx, &mut out).await;
    nul_bytes(&ctx, &mut out).await;
    huge_fields(&ctx, &mut out).await;
    batch_limit(&ctx, &mut out).await;
    content_types(&ctx, &mut out).await;
    content_codings(&ctx, &mut out).await;
    http_1_0(&ctx, &mut out).await;
    header_floods(&ctx, &mut out).await;
    framing(&ctx, &mut out).await;
    more_fields(&ctx, &mut out).await;
    revocations(&ctx, &mut out).await;
    certificates(&ctx, &mut out, disabled).await;
    slowloris(&ctx, &mut out).await;
    handshake_storm(&ctx, &mut out).await;
    out
}

// ---------------------------------------------------------------------------------------------
// Context: clients, the database, liveness
// ---------------------------------------------------------------------------------------------

struct Ctx<'a> {
    t: &'a Target,
    ca: Vec<u8>,
    lead_cert: Vec<u8>,
    lead_key: Vec<u8>,
    lead: reqwest::Client,
    anon: reqwest::Client,
    db: Arc<Mutex<Option<penex::store::Conn>>>,
    url: penex::store::DatabaseUrl,
    seq: std::sync::atomic::AtomicU64,
    scratch: tempfile::TempDir,
}

/// A certificate and key, PEM.
type Pem = (Vec<u8>, Vec<u8>);

/// When the server first refused the disabled unit, after the command.
type Refused = tokio::task::JoinHandle<Result<Duration, String>>;

impl<'a> Ctx<'a> {
    fn new(t: &'a Target) -> Result<Ctx<'a>, String> {
        let pki = t.data_dir.join("pki");
        let read = |p: PathBuf| std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()));
        let ca = read(pki.join("exchange-ca.crt"))?;
        let lead_cert = read(pki.join("clients").join(format!("{LEAD}.crt")))?;
        let lead_key = read(pki.join("clients").join(format!("{LEAD}.key")))?;
        let lead = http_client(&ca, Some((&lead_cert, &lead_key)))?;
        let anon = http_client(&ca, None)?;
        let url = penex::store::DatabaseUrl::parse(&t.database_url).map_err(|e| e.to_string())?;
        let conn = url.establish().map_err(|e| format!("database: {e}"))?;
        // Decision numbers unique to this run, so that a server with data is not disturbed.
        let now = chrono::Utc::now().timestamp_micros().unsigned_abs();
        Ok(Ctx {
            t,
            ca,
            lead_cert,
            lead_key,
            lead,
            anon,
            db: Arc::new(Mutex::new(Some(conn))),
            url,
            seq: std::sync::atomic::AtomicU64::new(now % 1_000_000_000),
            scratch: tempfile::tempdir().map_err(|e| e.to_string())?,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.t.base)
    }

    fn pki(&self) -> PathBuf {
        self.t.data_dir.join("pki")
    }

    /// A valid legal-person record no other push has used (its decision number and USCC carry
    /// a sequence number).
    fn record(&self) -> Value {
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let body = format!("91310106{:09}", seq % 1_000_000_000);
        let check = penex::normalize::ids::uscc_check_char(&body).unwrap_or('0');
        json!({
            "CF_XDR_MC": format!("上海测试建筑工程有限公司{seq}"),
            "CF_XDR_LB": "法人及非法人组织",
            "CF_XDR_SHXYM": format!("{body}{check}"),
            "CF_WSH": format!("沪静城管罚字〔2025〕第{seq:09}号"),
            "CF_WFXW": "未经许可运输建筑垃圾",
            "CF_SY": "当事人未取得建筑垃圾运输许可擅自运输建筑垃圾。",
            "CF_YJ": "《城市建筑垃圾管理规定》第二十三条",
            "CF_CFLB": "罚款",
            "CF_NR": "罚款人民币贰万元整",
            "CF_NR_FK": "2",
            "CF_JDRQ": "2025-03-20",
            "CF_YXQ": "2026-03-20",
            "CF_CFJG": AUTHORITY,
            "CF_SJLY": AUTHORITY,
            "filed_date": "2025-03-05",
            "place_division": "310106",
        })
    }

    fn batch(&self, n: usize) -> Value {
        json!({ "records": (0..n).map(|_| self.record()).collect::<Vec<_>>() })
    }

    /// Rows per table (every table of the database) and the audit chain's head.
    async fn snapshot(&self) -> Result<BTreeMap<String, i64>, String> {
        let db = self.db.clone();
        let postgres = matches!(self.url, penex::store::DatabaseUrl::Postgres(_));
        tokio::task::spawn_blocking(move || {
            let mut guard = db.lock().map_err(|_| "database lock poisoned".to_owned())?;
            let conn = guard.as_mut().ok_or("no database connection")?;
            count_rows(conn, postgres)
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// `/readyz` answers 200 and the process is alive.
    async fn alive(&self) -> Result<(), String> {
        if let Some(pid) = self.t.server_pid {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map_err(|_| format!("process {pid} is gone"))?;
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("?");
            if state == "Z" || state == "X" {
                return Err(format!("process {pid} has exited"));
            }
        }
        let r = self
            .anon
            .get(self.url("/readyz"))
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| format!("/readyz: {}", chain(&e)))?;
        if r.status() != 200 {
            return Err(format!("/readyz answered {}", r.status()));
        }
        Ok(())
    }

    /// Runs one case: rows counted before and after, liveness checked after.
    async fn guard(
        &self,
        out: &mut Vec<Outcome>,
        case: &'static str,
        tried: String,
        expected: &'static str,
        check: impl Future<Output = Check>,
    ) {
        let before = self.snapshot().await;
        let check = check.await;
        let after = self.snapshot().await;
        let mut seen = check.seen;
        let mut held = check.ok;
        match (before, after) {
            (Ok(b), Ok(a)) => {
                if let Err(e) = rows_as_allowed(&b, &a, &check.writes) {
                    seen.push_str(&format!("; ROWS: {e}"));
                    held = false;
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                seen.push_str(&format!("; rows not counted: {e}"));
                held = false;
            }
        }
        if let Err(e) = self.alive().await {
            seen.push_str(&format!("; SERVER: {e}"));
            held = false;
        }
        out.push(Outcome {
            case,
            tried,
            expected,
            seen,
            held,
        });
    }

    /// POSTs JSON bytes to `path` with `client`, retrying once after a 429's Retry-After (the
    /// cases test input, not the rate limiter).
    async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Answer, String> {
        let make = || {
            let mut rb = client.post(self.url(path)).body(body.clone());
            if let Some(ct) = content_type {
                rb = rb.header("content-type", ct);
            }
            rb
        };
        let a = via(make()).await?;
        if a.status == 429 {
            let wait = a
                .header("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1)
                .min(61);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            return via(make()).await;
        }
        Ok(a)
    }

    async fn push(&self, client: &reqwest::Client, body: &Value) -> Result<Answer, String> {
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        self.post(client, "/v1/records", Some("application/json"), bytes)
            .await
    }

    async fn push_bytes(&self, body: Vec<u8>) -> Result<Answer, String> {
        self.post(&self.lead, "/v1/records", Some("application/json"), body)
            .await
    }

    /// A rustls client config trusting the server, for raw sockets (HTTP/1.1 only).
    fn raw_config(&self, who: Option<(&[u8], &[u8])>) -> Result<rustls::ClientConfig, String> {
        let (cert, key) = who.unzip();
        let mut config =
            penex::tls::config::client_config(&self.ca, cert, key).map_err(|e| e.to_string())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    fn lead_pem(&self) -> Option<(&[u8], &[u8])> {
        Some((self.lead_cert.as_slice(), self.lead_key.as_slice()))
    }

    /// Sends raw bytes over a new TLS connection and reads one answer (`None`: the server
    /// closed the connection without answering).
    async fn raw(
        &self,
        who: Option<(&[u8], &[u8])>,
        request: Vec<u8>,
        wait: Duration,
    ) -> Result<Option<RawAnswer>, String> {
        let config = Arc::new(self.raw_config(who)?);
        let tls = tls_connect(self.t.addr, config).await?;
        let (mut rd, mut wr) = tokio::io::split(tls);
        let writer = async move {
            // The server may stop reading (and close) before everything is sent.
            let _ = wr.write_all(&request).await;
            let _ = wr.flush().await;
            std::future::pending::<()>().await;
        };
        tokio::select! {
            a = read_answer(&mut rd, wait) => a,
            () = writer => Err("unreachable".into()),
        }
    }

    /// Runs a `penex` operator command against the server's settings; its standard output.
    async fn cli(&self, args: &[&str]) -> Result<String, String> {
        let out = tokio::process::Command::new(&self.t.penex_bin)
            .args(args)
            .envs(self.t.cli_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "warn")
            .output()
            .await
            .map_err(|e| format!("penex {}: {e}", args.join(" ")))?;
        if !out.status.success() {
            return Err(format!(
                "penex {} exited {}: {}",
                args.join(" "),
                out.status,
                excerpt(&String::from_utf8_lossy(&out.stderr), 200)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `penex unit disable` with the real binary, as an operator would; the certificate to push
    /// with is issued first and shown to work. A background task then measures how long the
    /// server takes to refuse it (its registry refresh).
    async fn disable_unit(&self) -> Result<(Pem, Refused), String> {
        let out = self.scratch.path().join("disabled");
        let (cert, key) = penex::tls::pki::issue_client_cert(
            &self.pki(),
            CaBinding::Party(Party::Shanghai),
            Role::Unit,
            DISABLED_UNIT,
            &out,
        )
        .map_err(|e| e.to_string())?;
        let pem = (
            std::fs::read(&cert).map_err(|e| e.to_string())?,
            std::fs::read(&key).map_err(|e| e.to_string())?,
        );
        let client = http_client(&self.ca, Some((&pem.0, &pem.1)))?;
        let a = via(client.get(self.url("/v1/whoami"))).await?;
        if a.status != 200 {
            return Err(format!(
                "{DISABLED_UNIT} was refused before it was disabled: {}",
                said(&a)
            ));
        }
        self.cli(&["unit", "disable", DISABLED_UNIT]).await?;
        let url = self.url("/v1/whoami");
        let refused = tokio::spawn(async move {
            let start = Instant::now();
            loop {
                if let Ok(r) = client.get(&url).send().await
                    && r.status() == 403
                {
                    return Ok(start.elapsed());
                }
                if start.elapsed() > Duration::from_secs(30) {
                    return Err("still accepted 30 s after `penex unit disable`".to_owned());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Ok((pem, refused))
    }
}

fn http_client(ca: &[u8], who: Option<(&[u8], &[u8])>) -> Result<reqwest::Client, String> {
    let (cert, key) = who.unzip();
    let config = penex::tls::config::client_config(ca, cert, key).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| chain(&e))
}

async fn tls_connect(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let name = rustls::pki_types::ServerName::try_from("localhost")
        .map_err(|e| e.to_string())?
        .to_owned();
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))
}

fn count_rows(
    conn: &mut penex::store::Conn,
    postgres: bool,
) -> Result<BTreeMap<String, i64>, String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let list = if postgres {
        "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    };
    let names: Vec<Name> = diesel::sql_query(list)
        .load(conn)
        .map_err(|e| format!("list tables: {e}"))?;
    if names.is_empty() {
        return Err("no tables".into());
    }
    let mut parts: Vec<String> = names
        .iter()
        .filter(|t| {
            t.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .map(|t| format!("SELECT '{0}' AS name, COUNT(*) AS n FROM \"{0}\"", t.name))
        .collect();
    if names.iter().any(|t| t.name == "chain_heads") {
        // An append to a hash chain changes no row count of chain_heads, only its head.
        parts.push(
            "SELECT 'chain_heads.seq' AS name, CAST(COALESCE(SUM(seq), 0) AS BIGINT) AS n \
             FROM chain_heads"
                .into(),
        );
    }
    let counts: Vec<Count> = diesel::sql_query(parts.join(" UNION ALL "))
        .load(conn)
        .map_err(|e| format!("count rows: {e}"))?;
    Ok(counts.into_iter().map(|c| (c.name, c.n)).collect())
}

/// What a case may write.
#[derive(Debug, Clone, Copy)]
enum Writes {
    /// Nothing at all.
    Nothing,
    /// A push answered per item: `stored` new records, and one sealed submission for each of
    /// the `submitted` items. With no record stored, only the submissions, the batch's audit
    /// entry and the audit chain's head may change.
    Items { stored: i64, submitted: i64 },
    /// Not checked (the case's answer already failed, or its writes are not the point).
    Unchecked,
}

fn rows_as_allowed(
    before: &BTreeMap<String, i64>,
    after: &BTreeMap<String, i64>,
    writes: &Writes,
) -> Result<(), String> {
    let delta = |t: &str| after.get(t).copied().unwrap_or(0) - before.get(t).copied().unwrap_or(0);
    let changed: Vec<String> = after
        .keys()
        .chain(before.keys())
        .filter(|t| delta(t) != 0)
        .map(|t| format!("{t} {:+}", delta(t)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    match *writes {
        Writes::Unchecked => Ok(()),
        Writes::Nothing if changed.is_empty() => Ok(()),
        Writes::Nothing => Err(format!("written: {}", changed.join(", "))),
        Writes::Items { stored, submitted } => {
            if delta("records") != stored {
                return Err(format!(
                    "{stored} record(s) answered stored, {} written ({})",
                    delta("records"),
                    changed.join(", ")
                ));
            }
            if delta("submissions") != submitted {
                return Err(format!(
                    "{submitted} submission(s) expected, {} written",
                    delta("submissions")
                ));
            }
            if stored == 0 {
                // The batch's raw items are kept once (submission_batches) beside a slim
                // submission row per item.
                let allowed = [
                    "submission_batches",
                    "submissions",
                    "audit_log",
                    "chain_heads.seq",
                ];
                let other: Vec<&String> = changed
                    .iter()
                    .filter(|c| !allowed.iter().any(|a| c.starts_with(&format!("{a} "))))
                    .collect();
                if !other.is_empty() || delta("audit_log") > 1 || delta("submission_batches") > 1 {
                    return Err(format!("a rejected batch wrote: {}", changed.join(", ")));
                }
            }
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/// An HTTP answer.
#[derive(Debug, Default)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }

    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A raw HTTP/1.x answer read off a socket.
type RawAnswer = Answer;

async fn via(rb: reqwest::RequestBuilder) -> Result<Answer, String> {
    let r = rb.send().await.map_err(|e| {
        if e.is_builder() {
            // Never counted as the server refusing anything.
            format!("{NOT_SENT}{}", chain(&e))
        } else {
            chain(&e)
        }
    })?;
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = r.bytes().await.map_err(|e| chain(&e))?.to_vec();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// How a request the client could not even build starts its error.
const NOT_SENT: &str = "not sent (client-side error): ";
/// How a connection the server neither answered nor closed starts its error.
const HUNG: &str = "no answer, no alert, not closed after ";

/// An error with its sources.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    // reqwest names the URL (and with it the port of this run): not part of what happened.
    if let Some((head, rest)) = s.split_once(" for url (")
        && let Some((_, tail)) = rest.split_once(')')
    {
        s = format!("{head}{tail}");
    }
    let mut src = e.source();
    while let Some(inner) = src {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        src = inner.source();
    }
    excerpt(&s, 160)
}

/// The first `n` characters of `s`.
fn excerpt(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().nth(n).is_some() {
        out.push('…');
    }
    out
}

/// An answer in a table cell: status, problem code and detail.
fn said(a: &Answer) -> String {
    match a.json() {
        Some(v)
            if a.content_type().starts_with("application/problem+json")
                && v.get("code").is_some_and(Value::is_string) =>
        {
            format!(
                "{} {}: {}",
                a.status,
                v.get("code").and_then(Value::as_str).unwrap_or_default(),
                excerpt(
                    v.get("detail").and_then(Value::as_str).unwrap_or_default(),
                    110
                )
            )
        }
        _ => format!(
            "{} {} {}",
            a.status,
            a.content_type(),
            excerpt(&String::from_utf8_lossy(&a.body), 60)
        )
        .trim_end()
        .to_owned(),
    }
}

/// Checks an RFC 9457 problem with one of `statuses`; its body.
fn problem(a: &Answer, statuses: &[u16]) -> Result<Value, String> {
    if !statuses.contains(&a.status) {
        return Err(format!("unexpected status: {}", said(a)));
    }
    if !a.content_type().starts_with("application/problem+json") {
        return Err(format!("not problem+json: {}", said(a)));
    }
    let v = a
        .json()
        .ok_or_else(|| format!("body not JSON: {}", said(a)))?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).is_some();
    if v.get("status").and_then(Value::as_u64) != Some(u64::from(a.status))
        || !(s("type") && s("title") && s("code") && s("instance") && s("detail"))
    {
        return Err(format!("incomplete problem: {}", said(a)));
    }
    Ok(v)
}

/// The verdict of one case.
struct Check {
    seen: String,
    ok: bool,
    writes: Writes,
}

impl Check {
    fn fail(seen: String) -> Check {
        Check {
            seen,
            ok: false,
            writes: Writes::Unchecked,
        }
    }

    /// A problem with one of `statuses` whose detail (or a field error) mentions `mention`;
    /// nothing written.
    fn problem(r: Result<Answer, String>, statuses: &[u16], mention: Option<&str>) -> Check {
        let a = match r {
            Ok(a) => a,
            Err(e) => return Check::fail(format!("no answer: {e}")),
        };
        match problem(&a, statuses) {
            Err(e) => Check {
                seen: e,
                ok: false,
                writes: Writes::Nothing,
            },
            Ok(v) => {
                let text = v.to_string();
                let ok = mention.is_none_or(|m| text.contains(m));
                let mut seen = said(&a);
                if let Some(errors) = v.get("errors").and_then(Value::as_array) {
                    let pointers: Vec<String> = errors
                        .iter()
                        .take(3)
                        .map(|e| {
                            format!(
                                "{} {}",
                                e.get("pointer").and_then(Value::as_str).unwrap_or("?"),
                                e.get("code").and_then(Value::as_str).unwrap_or("?")
                            )
                        })
                        .collect();
                    seen.push_str(&format!(" [errors: {}]", pointers.join(", ")));
                }
                if !ok {
                    seen.push_str(&format!(" (does not mention {mention:?})"));
                }
                Check {
                    seen,
                    ok,
                    writes: Writes::Nothing,
                }
            }
        }
    }

    /// A handshake refused, a connection closed, or a problem with one of `statuses`; nothing
    /// written.
    fn refused_or_problem(r: Result<Answer, String>, statuses: &[u16]) -> Check {
        match r {
            Err(e) if e.starts_with(NOT_SENT) || e.starts_with(HUNG) => Check::fail(e),
            Err(e) => Check {
                seen: format!("refused: {e}"),
                ok: true,
                writes: Writes::Nothing,
            },
            ok => Check::problem(ok, statuses, None),
        }
    }

    /// A 200 batch answer in which every item is rejected with an error whose pointer is under
    /// the item (and, when given, at `pointers[i]` with `code`) — or, when the whole request is
    /// refused, a 400/413/422 problem. `accept_ok`: items may also be stored (with a
    /// warning) when the hostile part is one penex ignores.
    fn items(
        r: Result<Answer, String>,
        n: usize,
        pointers: &[Option<String>],
        code: Option<&str>,
        accept_ok: bool,
    ) -> Check {
        let a = match r {
            Ok(a) => a,
            Err(e) => return Check::fail(format!("no answer: {e}")),
        };
        if a.status != 200 {
            return Check::problem(Ok(a), &[400, 413, 422], None);
        }
        let Some(v) = a.json() else {
            return Check::fail(format!("200 without JSON: {}", said(&a)));
        };
        let items = v
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if items.len() != n {
            return Check::fail(format!("{} item answers for {n} items", items.len()));
        }
        let mut stored = 0_i64;
        let mut rejected = 0;
        let mut bad = Vec::new();
        let mut codes = std::collections::BTreeSet::new();
        for (i, item) in items.iter().enumerate() {
            let status = item
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let errors = item
                .get("errors")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            match status {
                "rejected" => {
                    rejected += 1;
                    let under = format!("/records/{i}");
                    let want = pointers.get(i).cloned().flatten();
                    let fits = errors.iter().any(|e| {
                        let p = e.get("pointer").and_then(Value::as_str).unwrap_or_default();
                        let c = e.get("code").and_then(Value::as_str).unwrap_or_default();
                        (p == under || p.starts_with(&format!("{under}/")))
                            && want.as_deref().is_none_or(|w| p == w)
                            && code.is_none_or(|k| c == k)
                    });
                    for e in &errors {
                        if let Some(c) = e.get("code").and_then(Value::as_str) {
                            codes.insert(c.to_owned());
                        }
                    }
                    if !fits {
                        bad.push(format!(
                            "item {i}: errors {}",
                            excerpt(&Value::Array(errors).to_string(), 120)
                        ));
                    }
                }
                "accepted" | "conflict" | "corrected" | "duplicate" if accept_ok => {
                    if status != "duplicate" && status != "corrected" {
                        stored += 1;
                    }
                }
                other => bad.push(format!("item {i}: {other}")),
            }
        }
        let ok = bad.is_empty();
        let seen = format!(
            "200, {rejected} of {n} item(s) rejected{}, {stored} stored{}",
            if codes.is_empty() {
                String::new()
            } else {
                format!(" ({})", codes.into_iter().collect::<Vec<_>>().join(", "))
            },
            if ok {
                String::new()
            } else {
                format!(
                    "; {}",
                    bad.into_iter().take(2).collect::<Vec<_>>().join("; ")
                )
            }
        );
        Check {
            ok,
            seen,
            writes: Writes::Items {
                stored,
                submitted: i64::try_from(n).unwrap_or(i64::MAX),
            },
        }
    }
}

/// Reads one HTTP/1.x answer. `Ok(None)`: the connection was closed (or reset, or a TLS alert
/// arrived) before any byte of an answer.
async fn read_answer<R: AsyncRead + Unpin>(
    rd: &mut R,
    wait: Duration,
) -> Result<Option<RawAnswer>, String> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0_u8; 16 * 1024];
    // Head.
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if buf.len() > 64 * 1024 {
            return Err("an answer head over 64 KiB".into());
        }
        match tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
            Err(_) => return Err(format!("no answer within {} s", wait.as_secs())),
            Ok(Ok(0)) | Ok(Err(_)) if buf.is_empty() => return Ok(None),
            Ok(Ok(0)) => return Err("closed in the middle of the answer head".into()),
            Ok(Err(e)) => return Err(format!("read: {e}")),
            Ok(Ok(n)) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    };
    let head = String::from_utf8_lossy(buf.get(..head_end).unwrap_or_default()).into_owned();
    let mut rest: Vec<u8> = buf.get(head_end + 4..).unwrap_or_default().to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("malformed status line {status_line:?}"))?;
    if !version.starts_with("HTTP/1.") {
        return Err(format!("malformed status line {status_line:?}"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed header line {line:?}"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let chunked =
        get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length: Option<usize> = match get("content-length") {
        Some(v) => Some(v.parse().map_err(|_| format!("bad Content-Length {v:?}"))?),
        None => None,
    };
    let no_body = (100..200).contains(&status) || status == 204 || status == 304;
    loop {
        let done = if no_body {
            Some(Vec::new())
        } else if chunked {
            dechunk(&rest)?
        } else if let Some(len) = length {
            (rest.len() >= len).then(|| rest.get(..len).unwrap_or_default().to_vec())
        } else {
            None
        };
        if let Some(body) = done {
            return Ok(Some(Answer {
                status,
                headers,
                body,
            }));
        }
        match tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
            Err(_) => {
                return Err(format!(
                    "answer {status}: body incomplete after {} s",
                    wait.as_secs()
                ));
            }
            Ok(Ok(0)) | Ok(Err(_)) if !chunked && length.is_none() => {
                // Delimited by the end of the connection.
                return Ok(Some(Answer {
                    status,
                    headers,
                    body: rest,
                }));
            }
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Err(format!("answer {status}: closed in the middle of the body"));
            }
            Ok(Ok(n)) => rest.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
}

/// A chunked body, once complete.
fn dechunk(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(data.get(..eol).unwrap_or_default()).into_owned();
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        let start = eol + 2;
        if size == 0 {
            return Ok(Some(body));
        }
        if data.len() < start + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(data.get(start..start + size).unwrap_or_default());
        data = data.get(start + size + 2..).unwrap_or_default();
    }
}

/// A raw request's answer as a check: a well-formed answer with one of `statuses`, or (when
/// `closed_ok`) a closed connection; never a 5xx.
fn raw_check(r: Result<Option<RawAnswer>, String>, statuses: &[u16], closed_ok: bool) -> Check {
    match r {
        Err(e) => Check::fail(e),
        Ok(None) if closed_ok => Check {
            seen: "connection closed without an answer".into(),
            ok: true,
            writes: Writes::Nothing,
        },
        Ok(None) => Check::fail("connection closed without an answer".into()),
        // A problem must be a complete one; penex answers every error of its own with one.
        Ok(Some(a))
            if a.content_type().starts_with("application/problem+json") || a.status == 401 =>
        {
            match problem(&a, statuses) {
                Ok(_) => Check {
                    ok: true,
                    seen: format!("{} (well-formed HTTP/1 problem)", said(&a)),
                    writes: Writes::Nothing,
                },
                Err(e) => Check {
                    ok: false,
                    seen: e,
                    writes: Writes::Nothing,
                },
            }
        }
        Ok(Some(a)) => Check {
            ok: statuses.contains(&a.status),
            seen: format!(
                "{} (well-formed {})",
                said(&a),
                if a.header("connection")
                    .is_some_and(|c| c.eq_ignore_ascii_case("close"))
                {
                    "HTTP/1, then closed"
                } else {
                    "HTTP/1"
                }
            ),
            writes: Writes::Nothing,
        },
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Sets `key` of a JSON object (a no-op on anything else).
fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_owned(), value);
    }
}

/// A JSON document of exactly `len` bytes: `doc` padded with spaces (JSON whitespace).
fn padded(doc: &Value, len: usize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(doc).unwrap_or_default();
    if bytes.len() < len {
        bytes.resize(len, b' ');
    }
    bytes
}

// ---------------------------------------------------------------------------------------------
// 1. Bodies over the limit
// ---------------------------------------------------------------------------------------------

async fn body_limit(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let limit = ctx.t.limits.max_body_bytes;
    let case = "1 body limit";
    ctx.guard(
        out,
        case,
        format!(
            "POST /v1/records, `{{\"records\": []}}` padded with spaces to {} bytes (the limit)",
            thousands(limit)
        ),
        "read in full: not 413 (422 empty batch here)",
        async {
            let r = ctx
                .push_bytes(padded(&json!({ "records": [] }), limit))
                .await;
            Check::problem(r, &[422], Some("empty_batch"))
        },
    )
    .await;
    ctx.guard(
        out,
        case,
        format!(
            "POST /v1/records, a valid batch padded to {} bytes (limit + 1)",
            thousands(limit + 1)
        ),
        "413 problem naming the limit, nothing written",
        async {
            let r = ctx.push_bytes(padded(&ctx.batch(1), limit + 1)).await;
            Check::problem(r, &[413], Some(&limit.to_string()))
        },
    )
    .await;
    let streamed = ctx.t.sizes.streamed_bytes;
    for declared in [false, true] {
        ctx.guard(
            out,
            case,
            format!(
                "POST /v1/records over HTTP/1.1, {} MB streamed in 64 KiB writes ({})",
                streamed >> 20,
                if declared {
                    "Content-Length declared"
                } else {
                    "chunked, no length"
                }
            ),
            "413 problem before the upload ends, nothing written",
            async {
                let r = stream_upload(ctx, streamed, declared).await;
                match r {
                    Ok((Some(a), sent)) => {
                        let mut c = Check::problem(Ok(a), &[413], None);
                        c.seen.push_str(&format!(" after {} MB sent", sent >> 20));
                        c
                    }
                    Ok((None, sent)) => Check::fail(format!(
                        "closed without an answer after {} MB sent",
                        sent >> 20
                    )),
                    Err(e) => Check::fail(e),
                }
            },
        )
        .await;
    }
}

/// Streams `total` bytes of a JSON string as a push body while reading the answer; the answer
/// and how many bytes were written before it came.
async fn stream_upload(
    ctx: &Ctx<'_>,
    total: usize,
    declared: bool,
) -> Result<(Option<RawAnswer>, usize), String> {
    let config = Arc::new(ctx.raw_config(ctx.lead_pem())?);
    let tls = tls_connect(ctx.t.addr, config).await?;
    let (mut rd, mut wr) = tokio::io::split(tls);
    let framing = if declared {
        format!("Content-Length: {total}")
    } else {
        "Transfer-Encoding: chunked".to_owned()
    };
    let head = format!(
        "POST /v1/records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    );
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let writer = async move {
        if wr.write_all(head.as_bytes()).await.is_err() {
            return std::future::pending::<()>().await;
        }
        let piece = 64 * 1024;
        let mut data = vec![b'x'; piece];
        if let Some(first) = data.first_mut() {
            *first = b'"';
        }
        let mut written = 0;
        while written < total {
            let n = piece.min(total - written);
            let bytes = data.get(..n).unwrap_or_default();
            let ok = if declared {
                wr.write_all(bytes).await.is_ok()
            } else {
                let mut framed = format!("{n:x}\r\n").into_bytes();
                framed.extend_from_slice(bytes);
                framed.extend_from_slice(b"\r\n");
                wr.write_all(&framed).await.is_ok()
            };
            if !ok {
                break;
            }
            written += n;
            counter.store(written, std::sync::atomic::Ordering::SeqCst);
            if let Some(first) = data.first_mut() {
                *first = b'x';
            }
        }
        if !declared {
            let _ = wr.write_all(b"0\r\n\r\n").await;
        }
        let _ = wr.flush().await;
        std::future::pending::<()>().await;
    };
    let answer = tokio::select! {
        a = read_answer(&mut rd, Duration::from_secs(120)) => a?,
        () = writer => None,
    };
    Ok((answer, sent.load(std::sync::atomic::Ordering::SeqCst)))
}

// ---------------------------------------------------------------------------------------------
// 2. Deep nesting, 3. invalid UTF-8
// ---------------------------------------------------------------------------------------------

async fn deep_nesting(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "2 deep nesting";
    let depth = 100_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes();
    ctx.guard(
        out,
        case,
        format!(
            "POST /v1/records, {} nested arrays (balanced)",
            thousands(depth)
        ),
        "400 problem (malformed_json), nothing written",
        async { Check::problem(ctx.push_bytes(arrays).await, &[400, 422], None) },
    )
    .await;
    ctx.guard(
        out,
        case,
        format!("POST /v1/records, {} `[` unclosed", thousands(depth)),
        "400 problem, nothing written",
        async { Check::problem(ctx.push_bytes(vec![b'['; depth]).await, &[400, 422], None) },
    )
    .await;
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).into_bytes();
    ctx.guard(
        out,
        case,
        format!("POST /v1/records, {} nested objects", thousands(depth)),
        "400 problem, nothing written",
        async { Check::problem(ctx.push_bytes(objects).await, &[400, 422], None) },
    )
    .await;
    // Inside a record field: past the parser's depth limit, and just within it.
    let mut rec = serde_json::to_string(&ctx.record()).unwrap_or_default();
    rec.pop();
    let deep_field = format!(
        "{{\"records\":[{rec},\"CF_XDR_MC\":{}\"x\"{}}}]}}",
        "[".repeat(depth),
        "]".repeat(depth)
    )
    .into_bytes();
    ctx.guard(
        out,
        case,
        format!(
            "a record whose CF_XDR_MC is {} nested arrays",
            thousands(depth)
        ),
        "400 problem, nothing written",
        async { Check::problem(ctx.push_bytes(deep_field).await, &[400, 422], None) },
    )
    .await;
    let mut nested = Value::String("x".into());
    for _ in 0..100 {
        nested = Value::Array(vec![nested]);
    }
    let mut record = ctx.record();
    set(&mut record, "CF_XDR_MC", nested);
    ctx.guard(
        out,
        case,
        "a record whose CF_XDR_MC is 100 nested arrays (parsable)".into(),
        "per-item error at /records/0/CF_XDR_MC, nothing stored",
        async {
            let r = ctx.push(&ctx.lead, &json!({ "records": [record] })).await;
            Check::items(r, 1, &[Some("/records/0/CF_XDR_MC".into())], None, false)
        },
    )
    .await;
}

async fn invalid_utf8(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "3 invalid UTF-8";
    let rec = serde_json::to_string(&ctx.batch(1)).unwrap_or_default();
    let with = |bad: &[u8]| -> Vec<u8> {
        // Inside the subject's name.
        let mut body = Vec::new();
        let marker = "\"CF_XDR_MC\":\"";
        match rec.split_once(marker) {
            Some((a, b)) => {
                body.extend_from_slice(a.as_bytes());
                body.extend_from_slice(marker.as_bytes());
                body.extend_from_slice(bad);
                body.extend_from_slice(b.as_bytes());
            }
            None => body.extend_from_slice(bad),
        }
        body
    };
    for (what, bytes) in [
        ("bytes FF FE in a name", with(&[0xff, 0xfe])),
        ("an overlong encoding C0 AF in a name", with(&[0xc0, 0xaf])),
        (
            "a UTF-16 surrogate encoded as UTF-8 (ED A0 80)",
            with(&[0xed, 0xa0, 0x80]),
        ),
        ("a truncated sequence E4 B8 in a name", with(&[0xe4, 0xb8])),
        (
            "a lone surrogate escape \\ud800 in a name",
            with(b"\\ud800"),
        ),
        (
            "Latin-1 text (E9) in a name",
            with(&[0x43, 0x61, 0x66, 0xe9]),
        ),
    ] {
        ctx.guard(
            out,
            case,
            format!("POST /v1/records, {what}"),
            "400 problem (malformed_json), nothing written",
            async { Check::problem(ctx.push_bytes(bytes).await, &[400], Some("malformed_json")) },
        )
        .await;
    }
}

// ---------------------------------------------------------------------------------------------
// 4. NUL bytes, 5. huge strings, one field at a time
// ---------------------------------------------------------------------------------------------

/// The key of `record` that names `field`, or the field's English dotted name when the record
/// has none.
fn key_for(record: &Value, field: Field) -> String {
    record
        .as_object()
        .and_then(|m| {
            m.keys()
                .find(|k| field_for_header(k) == Some(field))
                .cloned()
        })
        .unwrap_or_else(|| field.name().to_owned())
}

fn json_pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

async fn nul_bytes(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "4 NUL bytes";
    let fields: Vec<Field> = Field::all().collect();
    let mut items = Vec::new();
    let mut pointers = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let mut rec = ctx.record();
        let key = key_for(&rec, *f);
        let base = rec
            .get(&key)
            .and_then(Value::as_str)
            .unwrap_or("上海某某")
            .to_owned();
        let mut chars: Vec<char> = base.chars().collect();
        chars.insert(chars.len() / 2, '\0');
        set(&mut rec, &key, Value::String(chars.into_iter().collect()));
        pointers.push(Some(format!("/records/{i}/{}", json_pointer_token(&key))));
        items.push(rec);
    }
    let n = items.len();
    ctx.guard(
        out,
        case,
        format!("a batch of {n} records, each with \\u0000 in the middle of one field (every field of the field table)"),
        "each item rejected at its field, nothing stored",
        async {
            let r = ctx.push(&ctx.lead, &json!({ "records": items })).await;
            Check::items(r, n, &pointers, None, false)
        },
    )
    .await;
    let mut rec = ctx.record();
    if let Some(m) = rec.as_object_mut() {
        m.insert("备\u{0}注".into(), json!("x"));
    }
    ctx.guard(
        out,
        case,
        "a record with \\u0000 in a key".into(),
        "stored with an unknown_field warning (the key is ignored), or rejected",
        async {
            let r = ctx.push(&ctx.lead, &json!({ "records": [rec] })).await;
            Check::items(r, 1, &[], None, true)
        },
    )
    .await;
    let body = serde_json::to_string(&ctx.batch(1))
        .unwrap_or_default()
        .replacen("\"CF_XDR_MC\":\"", "\"CF_XDR_MC\":\"\0", 1)
        .into_bytes();
    ctx.guard(
        out,
        case,
        "a raw NUL byte (unescaped) inside a JSON string".into(),
        "400 problem (malformed_json), nothing written",
        async { Check::problem(ctx.push_bytes(body).await, &[400], Some("malformed_json")) },
    )
    .await;
    let body = serde_json::to_vec(&ctx.batch(1)).unwrap_or_default();
    let mut with_nul = vec![0_u8];
    with_nul.extend_from_slice(&body);
    ctx.guard(
        out,
        case,
        "a raw NUL byte before the JSON document".into(),
        "400 problem (malformed_json), nothing written",
        async {
            Check::problem(
                ctx.push_bytes(with_nul).await,
                &[400],
                Some("malformed_json"),
            )
        },
    )
    .await;
}

async fn huge_fields(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "5 huge field";
    let size = ctx.t.sizes.huge_field_bytes;
    let fields: Vec<Field> = Field::all().collect();
    for f in fields {
        let mut rec = ctx.record();
        let key = key_for(&rec, f);
        // The field's own valid value repeated (it passes each character check), or a Chinese
        // character for a field the record does not carry.
        let unit = rec
            .get(&key)
            .and_then(Value::as_str)
            .unwrap_or("罚")
            .to_owned();
        let huge = unit.repeat(size / unit.len().max(1) + 1);
        let huge: String = huge
            .chars()
            .take_while({
                let mut bytes = 0;
                move |c| {
                    bytes += c.len_utf8();
                    bytes <= size
                }
            })
            .collect();
        set(&mut rec, &key, Value::String(huge));
        let pointer = format!("/records/0/{}", json_pointer_token(&key));
        ctx.guard(
            out,
            case,
            format!("{} ({key}) = {} MiB string", f.name(), size >> 20),
            "per-item error at the field (too_long or a format error), nothing stored",
            async {
                let r = ctx.push(&ctx.lead, &json!({ "records": [rec] })).await;
                Check::items(r, 1, &[Some(pointer)], None, false)
            },
        )
        .await;
    }
}

/// More hostile values in record fields: numbers out of range, wrong types, NaN-like text.
async fn more_fields(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "13 other input";
    let rec = serde_json::to_string(&ctx.batch(1)).unwrap_or_default();
    for (what, number) in [
        ("1e400", "1e400".to_owned()),
        ("a 10,000-digit integer", "9".repeat(10_000)),
    ] {
        let body = rec
            .replacen(
                "\"CF_NR_FK\":\"",
                &format!("\"CF_NR_FK\":{number},\"x\":\""),
                1,
            )
            .into_bytes();
        ctx.guard(
            out,
            case,
            format!("CF_NR_FK (fine) = {what} as a JSON number"),
            "400 problem or per-item error, nothing stored",
            async {
                let r = ctx.push_bytes(body).await;
                match r {
                    Ok(a) if a.status == 200 => Check::items(Ok(a), 1, &[], None, false),
                    other => Check::problem(other, &[400, 422], None),
                }
            },
        )
        .await;
    }
    let mut rec = ctx.record();
    set(&mut rec, "CF_NR_FK", json!("9".repeat(400)));
    ctx.guard(
        out,
        case,
        "CF_NR_FK (fine) = a 400-digit amount in text".into(),
        "per-item error at the fine, nothing stored",
        async {
            let r = ctx.push(&ctx.lead, &json!({ "records": [rec] })).await;
            Check::items(r, 1, &[Some("/records/0/CF_NR_FK".into())], None, false)
        },
    )
    .await;
    let mut rec = ctx.record();
    set(&mut rec, "CF_JDRQ", json!("+262143-12-31"));
    ctx.guard(
        out,
        case,
        "CF_JDRQ (decision date) = +262143-12-31".into(),
        "per-item error at the date, nothing stored",
        async {
            let r = ctx.push(&ctx.lead, &json!({ "records": [rec] })).await;
            Check::items(r, 1, &[Some("/records/0/CF_JDRQ".into())], None, false)
        },
    )
    .await;
    let items: Vec<Value> = vec![json!(null), json!(1), json!("x"), json!([]), json!(true)];
    ctx.guard(
        out,
        case,
        "a batch of null, 1, \"x\", [] and true".into(),
        "each item rejected, nothing stored",
        async {
            let r = ctx.push(&ctx.lead, &json!({ "records": items })).await;
            Check::items(r, 5, &[], None, false)
        },
    )
    .await;
    ctx.guard(
        out,
        case,
        "`records` = a string".into(),
        "422 problem at /records, nothing written",
        async {
            let r = ctx.push(&ctx.lead, &json!({ "records": "x" })).await;
            Check::problem(r, &[422], Some("/records"))
        },
    )
    .await;
    let long_key = "k".repeat(300);
    ctx.guard(
        out,
        case,
        "Idempotency-Key of 300 characters".into(),
        "400 problem (invalid_idempotency_key), nothing written",
        async {
            let body = serde_json::to_vec(&ctx.batch(1)).unwrap_or_default();
            let r = via(ctx
                .lead
                .post(ctx.url("/v1/records"))
                .header("content-type", "application/json")
                .header("idempotency-key", long_key)
                .body(body))
            .await;
            Check::problem(r, &[400], Some("invalid_idempotency_key"))
        },
    )
    .await;
    ctx.guard(
        out,
        case,
        "Idempotency-Key of non-ASCII bytes".into(),
        "400 problem (invalid_idempotency_key), nothing written",
        async {
            let body = serde_json::to_vec(&ctx.batch(1)).unwrap_or_default();
            let value = reqwest::header::HeaderValue::from_bytes("键".as_bytes());
            let r = match value {
                Ok(v) => {
                    via(ctx
                        .lead
                        .post(ctx.url("/v1/records"))
                        .header("content-type", "application/json")
                        .header("idempotency-key", v)
                        .body(body))
                    .await
                }
                Err(e) => Err(e.to_string()),
            };
            Check::problem(r, &[400], Some("invalid_idempotency_key"))
        },
    )
    .await;
    for (what, query) in [
        (
            "limit=10^25",
            "?limit=10000000000000000000000000".to_owned(),
        ),
        (
            "cursor= 9 KB of junk",
            format!("?cursor={}", "%FF".repeat(3_000)),
        ),
        (
            "2,000 unknown parameters",
            format!(
                "?{}",
                (0..2_000)
                    .map(|i| format!("p{i}=1"))
                    .collect::<Vec<_>>()
                    .join("&")
            ),
        ),
    ] {
        ctx.guard(
            out,
            case,
            format!(
                "GET /v1/records{}",
                if what.is_empty() {
                    query.clone()
                } else {
                    format!(" with {what}")
                }
            ),
            "400/422 problem naming the parameter",
            async {
                let r = via(ctx.lead.get(ctx.url(&format!("/v1/records{query}")))).await;
                Check::problem(r, &[400, 414, 422], None)
            },
        )
        .await;
    }
    ctx.guard(
        out,
        case,
        "GET /v1/records/..%2F..%2Fetc%2Fpasswd".into(),
        "404 problem",
        async {
            let r = via(ctx.lead.get(ctx.url("/v1/records/..%2F..%2Fetc%2Fpasswd"))).await;
            Check::problem(r, &[400, 404], None)
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// 6. Batches over the limit, 7. content types
// ---------------------------------------------------------------------------------------------

async fn batch_limit(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "6 batch limit";
    let max = ctx.t.limits.max_batch_items;
    let over = ctx.batch(max + 1);
    ctx.guard(
        out,
        case,
        format!(
            "{} valid records in {{\"records\": [...]}} (limit {})",
            thousands(max + 1),
            thousands(max)
        ),
        "413 problem naming the limit, nothing written",
        async {
            Check::problem(
                ctx.push(&ctx.lead, &over).await,
                &[413, 422],
                Some(&max.to_string()),
            )
        },
    )
    .await;
    let over = Value::Array((0..=max).map(|_| ctx.record()).collect());
    ctx.guard(
        out,
        case,
        format!("{} valid records as a top-level array", thousands(max + 1)),
        "413 problem naming the limit, nothing written",
        async {
            Check::problem(
                ctx.push(&ctx.lead, &over).await,
                &[413, 422],
                Some(&max.to_string()),
            )
        },
    )
    .await;
    ctx.guard(
        out,
        case,
        format!(
            "{} valid records to POST /v1/records:validate",
            thousands(max + 1)
        ),
        "413 problem naming the limit, nothing written",
        async {
            let body = serde_json::to_vec(&ctx.batch(max + 1)).unwrap_or_default();
            let r = ctx
                .post(
                    &ctx.lead,
                    "/v1/records:validate",
                    Some("application/json"),
                    body,
                )
                .await;
            Check::problem(r, &[413, 422], Some(&max.to_string()))
        },
    )
    .await;
}

async fn content_types(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "7 content type";
    for ct in [
        Some("text/plain"),
        Some("application/xml"),
        Some("multipart/form-data; boundary=hostile"),
        Some("application/x-www-form-urlencoded"),
        None,
        Some("application/json; charset=latin1"),
        Some("application/json; charset=\"utf-16\""),
        Some("application/jsonx"),
        Some("application/json, text/plain"),
    ] {
        let body = serde_json::to_vec(&ctx.batch(1)).unwrap_or_default();
        let body = if ct.is_some_and(|c| c.starts_with("multipart")) {
            let mut b = b"--hostile\r\nContent-Disposition: form-data; name=\"records\"\r\nContent-Type: application/json\r\n\r\n".to_vec();
            b.extend_from_slice(&body);
            b.extend_from_slice(b"\r\n--hostile--\r\n");
            b
        } else {
            body
        };
        ctx.guard(
            out,
            case,
            format!(
                "POST /v1/records, a valid batch as {}",
                ct.map_or("no Content-Type".to_owned(), |c| format!("`{c}`"))
            ),
            "415 problem (unsupported_media_type), nothing written",
            async {
                let r = ctx.post(&ctx.lead, "/v1/records", ct, body).await;
                Check::problem(r, &[415, 400], None)
            },
        )
        .await;
    }
}

/// Content codings a push may claim: the ones penex decodes are decoded (and their output
/// counted against the body limit), any other is refused.
async fn content_codings(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "7 content type";
    let mut rec = ctx.record();
    set(&mut rec, "CF_XDR_MC", json!("上海\u{0}某某有限公司"));
    let gz = gzip_stored(&serde_json::to_vec(&json!({ "records": [rec] })).unwrap_or_default());
    ctx.guard(
        out,
        case,
        "POST /v1/records, `Content-Encoding: gzip`, a batch whose record holds a NUL".into(),
        "decoded: the item rejected at /records/0/CF_XDR_MC, nothing stored",
        async {
            let r = via(ctx
                .lead
                .post(ctx.url("/v1/records"))
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(gz))
            .await;
            Check::items(
                r,
                1,
                &[Some("/records/0/CF_XDR_MC".into())],
                Some("control_character"),
                false,
            )
        },
    )
    .await;
    for coding in ["compress", "zstd", "gzip, gzip", "x-hostile"] {
        let body = serde_json::to_vec(&ctx.batch(1)).unwrap_or_default();
        ctx.guard(
            out,
            case,
            format!("POST /v1/records, a valid batch labelled `Content-Encoding: {coding}`"),
            "415 problem (unsupported_media_type), nothing written",
            async {
                let r = via(ctx
                    .lead
                    .post(ctx.url("/v1/records"))
                    .header("content-type", "application/json")
                    .header("content-encoding", coding)
                    .body(body))
                .await;
                Check::problem(r, &[415], Some("unsupported_media_type"))
            },
        )
        .await;
    }
}

// ---------------------------------------------------------------------------------------------
// 8. HTTP/1.0, 9. header floods, request framing
// ---------------------------------------------------------------------------------------------

/// A raw request: what it is, who sends it, its bytes, the statuses it may get, whether a
/// closed connection is an acceptable answer, and what is expected.
type RawCase<'a> = (
    &'static str,
    Option<(&'a [u8], &'a [u8])>,
    &'static [u8],
    &'static [u16],
    bool,
    &'static str,
);

async fn http_1_0(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "8 HTTP/1.0";
    let wait = Duration::from_secs(20);
    let answer = "a well-formed HTTP/1.x answer (200)";
    let refusal = "400/505 or connection closed, no 5xx";
    let cases: [RawCase<'_>; 7] = [
        ("GET /readyz HTTP/1.0 without Host", None, b"GET /readyz HTTP/1.0\r\n\r\n", &[200], false, answer),
        ("GET /readyz HTTP/1.0 with Host", None, b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n", &[200], false, answer),
        (
            "GET /v1/whoami HTTP/1.0 without Host, lead certificate",
            ctx.lead_pem(),
            b"GET /v1/whoami HTTP/1.0\r\n\r\n",
            &[200],
            false,
            answer,
        ),
        (
            "GET /v1/whoami HTTP/1.0 without Host or certificate",
            None,
            b"GET /v1/whoami HTTP/1.0\r\n\r\n",
            &[401],
            false,
            "a well-formed 401 problem",
        ),
        (
            "POST /v1/records HTTP/1.0, malformed JSON, lead certificate",
            ctx.lead_pem(),
            b"POST /v1/records HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"records",
            &[400],
            false,
            "a well-formed 400 problem, nothing written",
        ),
        ("a request line `GET /readyz` (HTTP/0.9)", None, b"GET /readyz\r\n\r\n", &[400, 505], true, refusal),
        ("a request line `GET /readyz HTTP/9.9`", None, b"GET /readyz HTTP/9.9\r\n\r\n", &[400, 505], true, refusal),
    ];
    for (what, who, req, statuses, closed_ok, expected) in cases {
        ctx.guard(out, case, what.into(), expected, async {
            raw_check(ctx.raw(who, req.to_vec(), wait).await, statuses, closed_ok)
        })
        .await;
    }
}

async fn header_floods(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "9 header flood";
    let n = ctx.t.sizes.flood_headers;
    let big = ctx.t.sizes.huge_header_bytes;
    let wait = Duration::from_secs(30);
    let mut many = b"GET /readyz HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    for i in 0..n {
        many.extend_from_slice(format!("X-Flood-{i}: {i}\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    ctx.guard(
        out,
        case,
        format!("HTTP/1.1: {} headers", thousands(n)),
        "431/400 or connection closed",
        async { raw_check(ctx.raw(None, many, wait).await, &[400, 431], true) },
    )
    .await;
    let mut huge = b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nX-Huge: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', big));
    huge.extend_from_slice(b"\r\n\r\n");
    ctx.guard(
        out,
        case,
        format!("HTTP/1.1: one {} MiB header", big >> 20),
        "431/400 or connection closed",
        async { raw_check(ctx.raw(None, huge, wait).await, &[400, 431], true) },
    )
    .await;
    let mut long_url = b"GET /readyz?".to_vec();
    long_url.extend(std::iter::repeat_n(b'a', big));
    long_url.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\n\r\n");
    ctx.guard(
        out,
        case,
        format!("HTTP/1.1: a {} MiB request target", big >> 20),
        "414/431/400 or connection closed",
        async { raw_check(ctx.raw(None, long_url, wait).await, &[400, 414, 431], true) },
    )
    .await;
    ctx.guard(
        out,
        case,
        format!("HTTP/2: {} headers on GET /v1/whoami", thousands(n)),
        "431 problem or the stream/connection refused",
        async {
            let mut rb = ctx.lead.get(ctx.url("/v1/whoami"));
            for i in 0..n {
                rb = rb.header(format!("x-flood-{i}"), i.to_string());
            }
            h2_flood_check(via(rb).await)
        },
    )
    .await;
    ctx.guard(
        out,
        case,
        format!("HTTP/2: one {} MiB header on GET /v1/whoami", big >> 20),
        "431 problem or the stream/connection refused",
        async {
            let rb = ctx
                .lead
                .get(ctx.url("/v1/whoami"))
                .header("x-huge", "a".repeat(big));
            h2_flood_check(via(rb).await)
        },
    )
    .await;
    ctx.guard(
        out,
        case,
        "HTTP/2: a 60 KiB request target with an 80 KiB header (a URI holds at most 64 KiB)".into(),
        "431 problem or the stream/connection refused",
        async {
            let rb = ctx
                .anon
                .get(ctx.url(&format!("/readyz?{}", "a".repeat(60_000))))
                .header("x-big", "a".repeat(80_000));
            h2_flood_check(via(rb).await)
        },
    )
    .await;
    ctx.guard(
        out,
        case,
        format!("HTTP/2: a bearer token of {} MiB", big >> 20),
        "431 problem or the stream/connection refused",
        async {
            let rb = ctx
                .anon
                .get(ctx.url("/v1/whoami"))
                .bearer_auth("a".repeat(big));
            h2_flood_check(via(rb).await)
        },
    )
    .await;
}

fn h2_flood_check(r: Result<Answer, String>) -> Check {
    match r {
        Err(e) if e.starts_with(NOT_SENT) => Check::fail(e),
        Err(e) => Check {
            seen: format!("refused: {e}"),
            ok: true,
            writes: Writes::Nothing,
        },
        Ok(a) => Check {
            ok: problem(&a, &[431]).is_ok(),
            seen: said(&a),
            writes: Writes::Nothing,
        },
    }
}

/// Request framing a proxy and penex could read differently (request smuggling).
async fn framing(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "13 other input";
    let wait = Duration::from_secs(20);
    let rec = serde_json::to_string(&ctx.batch(1)).unwrap_or_default();
    let smuggle = format!(
        "POST /v1/records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{rec}",
        rec.len() + 5
    );
    for (what, req) in [
        ("HTTP/1.1 push with both Content-Length and Transfer-Encoding: chunked (CL.TE)", smuggle.into_bytes()),
        (
            "HTTP/1.1 push with two different Content-Length headers",
            format!("POST /v1/records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nContent-Length: 2\r\n\r\n{rec}", rec.len()).into_bytes(),
        ),
        (
            "HTTP/1.1 push with a chunk size `zz`",
            format!("POST /v1/records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{rec}\r\n0\r\n\r\n").into_bytes(),
        ),
        (
            "HTTP/1.1 push with `Transfer-Encoding: gzip, chunked` and a plain body",
            format!("POST /v1/records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n{:x}\r\n{rec}\r\n0\r\n\r\n", rec.len()).into_bytes(),
        ),
        (
            "HTTP/1.1 push with `Content-Encoding: gzip` and a body that is not gzip",
            format!("POST /v1/records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n{rec}", rec.len()).into_bytes(),
        ),
    ] {
        ctx.guard(
            out,
            case,
            what.into(),
            "400/415 or connection closed, nothing written",
            async {
                let r = ctx.raw(ctx.lead_pem(), req, wait).await;
                raw_check(r, &[400, 415, 422], true)
            },
        )
        .await;
    }
    let gzip_bomb = gzip_of_zeros(64 << 20);
    ctx.guard(
        out,
        case,
        format!(
            "HTTP/2 push, `Content-Encoding: gzip` body of {} KiB inflating to 64 MiB",
            gzip_bomb.len() >> 10
        ),
        "413 problem (the limit counts inflated bytes), nothing written",
        async {
            let r = via(ctx
                .lead
                .post(ctx.url("/v1/records"))
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(gzip_bomb))
            .await;
            Check::problem(r, &[413], Some("payload_too_large"))
        },
    )
    .await;
}

/// A gzip member of `n` zero bytes: deflate with fixed Huffman codes.
/// Written by hand (no compression crate): a run of zeros is a literal then back-references of
/// length 258 at distance 1, three bytes' worth of bits each.
fn gzip_of_zeros(n: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        len: u32,
    }
    impl Bits {
        fn put(&mut self, value: u32, bits: u32) {
            self.acc |= value << self.len;
            self.len += bits;
            while self.len >= 8 {
                self.out.push((self.acc & 0xff) as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u32, bits: u32) {
            let mut rev = 0;
            for i in 0..bits {
                rev |= ((code >> i) & 1) << (bits - 1 - i);
            }
            self.put(rev, bits);
        }
    }
    let mut b = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255],
        acc: 0,
        len: 0,
    };
    b.put(1, 1); // final block
    b.put(1, 2); // fixed Huffman
    b.code(0x30, 8); // literal 0
    let mut left = n.saturating_sub(1);
    while left >= 258 {
        b.code(0b1100_0101, 8); // length 258 (code 285)
        b.put(0, 5); // distance code 0: distance 1
        left -= 258;
    }
    while left > 0 {
        b.code(0x30, 8);
        left -= 1;
    }
    b.code(0, 7); // end of block (256)
    if b.len > 0 {
        b.put(0, 8 - b.len);
    }
    let mut out = b.out;
    out.extend_from_slice(&crc32(std::iter::repeat_n(0, n)).to_le_bytes());
    out.extend_from_slice(&u32::try_from(n % (1 << 32)).unwrap_or(0).to_le_bytes());
    out
}

/// CRC-32 (ISO-HDLC, as gzip uses) of `bytes`.
fn crc32(bytes: impl Iterator<Item = u8>) -> u32 {
    let mut table = [0_u32; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut c = u32::try_from(i).unwrap_or(0);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *slot = c;
    }
    let mut crc = 0xffff_ffff_u32;
    for b in bytes {
        let idx = usize::from(u8::try_from(crc & 0xff).unwrap_or(0) ^ b);
        crc = table.get(idx).copied().unwrap_or(0) ^ (crc >> 8);
    }
    crc ^ 0xffff_ffff
}

/// `data` as a gzip member of stored (uncompressed) deflate blocks: a valid gzip body without
/// a compression crate.
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.push(u8::from(blocks.peek().is_none()));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(data.iter().copied()).to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(data.len() % (1 << 32))
            .unwrap_or(0)
            .to_le_bytes(),
    );
    out
}

// ---------------------------------------------------------------------------------------------
// Revocations
// ---------------------------------------------------------------------------------------------

async fn revocations(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "13 other input";
    // One stored record to aim at (a legitimate push, outside any case).
    let stored = match ctx.push(&ctx.lead, &ctx.batch(1)).await {
        Ok(a) => a.json().and_then(|v| {
            v.pointer("/items/0/record_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }),
        Err(_) => None,
    };
    let Some(id) = stored else {
        out.push(Outcome {
            case,
            tried: "a valid push, to have a record to revoke".into(),
            expected: "stored",
            seen: "not stored".into(),
            held: false,
        });
        return;
    };
    let path = format!("/v1/records/{id}/revoke");
    let js_lead = match ctx.lead_of(Party::Jiangsu) {
        Ok(c) => c,
        Err(e) => {
            out.push(Outcome {
                case,
                tried: "Jiangsu lead's client".into(),
                expected: "ready",
                seen: e,
                held: false,
            });
            return;
        }
    };
    for (what, client, body, statuses, mention) in [
        (
            "Jiangsu's lead revokes a Shanghai record",
            &js_lead,
            json!({"reason": "reconsideration"}),
            &[404_u16][..],
            None,
        ),
        (
            "revoke with reason `other` and a note holding \\u0000",
            &ctx.lead,
            json!({"reason": "other", "note": "a\u{0}b"}),
            &[422][..],
            Some("/note"),
        ),
        (
            "revoke with an unknown reason",
            &ctx.lead,
            json!({"reason": "because"}),
            &[400, 422][..],
            None,
        ),
        (
            "revoke with an unknown field",
            &ctx.lead,
            json!({"reason": "reconsideration", "x": 1}),
            &[400, 422][..],
            None,
        ),
    ] {
        ctx.guard(
            out,
            case,
            what.into(),
            "4xx problem, nothing written",
            async {
                let r = ctx
                    .post(
                        client,
                        &path,
                        Some("application/json"),
                        serde_json::to_vec(&body).unwrap_or_default(),
                    )
                    .await;
                Check::problem(r, statuses, mention)
            },
        )
        .await;
    }
    for (ct, coding) in [
        ("application/json; charset=latin1", None),
        ("application/json", Some("compress")),
    ] {
        ctx.guard(
            out,
            "7 content type",
            format!(
                "revoke a stored record (a valid body) as `{ct}`{}",
                coding.map_or(String::new(), |c| format!(", Content-Encoding: {c}"))
            ),
            "415 problem, nothing written",
            async {
                let mut rb = ctx
                    .lead
                    .post(ctx.url(&path))
                    .header("content-type", ct)
                    .body(br#"{"reason":"reconsideration"}"#.to_vec());
                if let Some(c) = coding {
                    rb = rb.header("content-encoding", c);
                }
                Check::problem(via(rb).await, &[415], Some("unsupported_media_type"))
            },
        )
        .await;
    }
}

impl Ctx<'_> {
    fn lead_of(&self, party: Party) -> Result<reqwest::Client, String> {
        let code = match party {
            Party::Shanghai => "SH-310000",
            Party::Jiangsu => "JS-320000",
            Party::Zhejiang => "ZJ-330000",
            Party::Anhui => "AH-340000",
        };
        let dir = self.pki().join("clients");
        let cert = std::fs::read(dir.join(format!("{code}.crt"))).map_err(|e| e.to_string())?;
        let key = std::fs::read(dir.join(format!("{code}.key"))).map_err(|e| e.to_string())?;
        http_client(&self.ca, Some((&cert, &key)))
    }

    fn dev_client(&self, stem: &str) -> Result<reqwest::Client, String> {
        let dir = self.pki().join("clients");
        let cert = std::fs::read(dir.join(format!("{stem}.crt"))).map_err(|e| e.to_string())?;
        let key = std::fs::read(dir.join(format!("{stem}.key"))).map_err(|e| e.to_string())?;
        http_client(&self.ca, Some((&cert, &key)))
    }
}

// ---------------------------------------------------------------------------------------------
// 12. Certificates and credentials
// ---------------------------------------------------------------------------------------------

/// A client certificate signed by a real party CA of the server's PKI, with chosen validity
/// and extended key usage.
fn forge_leaf(
    pki: &Path,
    party: Party,
    code: &str,
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
    client_auth: bool,
) -> Result<Pem, String> {
    use rcgen::{
        CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        SanType,
    };
    let stem = format!("ca-{}", party.code());
    let ca_pem =
        std::fs::read_to_string(pki.join(format!("{stem}.crt"))).map_err(|e| e.to_string())?;
    let ca_key = KeyPair::from_pem(
        &std::fs::read_to_string(pki.join(format!("{stem}.key"))).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).map_err(|e| e.to_string())?;
    let mut params = CertificateParams::default();
    params.not_before = not_before;
    params.not_after = not_after;
    params.distinguished_name.push(DnType::CommonName, code);
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![if client_auth {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    let uri = penex::tls::identity::principal_uri(Role::Unit, code).map_err(|e| e.to_string())?;
    params.subject_alt_names = vec![SanType::URI(
        uri.as_str()
            .try_into()
            .map_err(|e: rcgen::Error| e.to_string())?,
    )];
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
    Ok((cert.pem().into_bytes(), key.serialize_pem().into_bytes()))
}

async fn certificates(
    ctx: &Ctx<'_>,
    out: &mut Vec<Outcome>,
    disabled: Result<(Pem, Refused), String>,
) {
    let case = "12 certificates";
    let now = time::OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let pki = ctx.pki();
    // Over a raw TLS connection, so that the alert the server sends is seen (through an HTTP
    // client a TLS 1.3 refusal is only "channel closed").
    let push_as = |pem: Result<Pem, String>| async move {
        let pem = pem?;
        let config = Arc::new(ctx.raw_config(Some((&pem.0, &pem.1)))?);
        let tls = tls_connect(ctx.t.addr, config).await?;
        let (mut rd, mut wr) = tokio::io::split(tls);
        let body = serde_json::to_vec(&ctx.batch(1)).map_err(|e| e.to_string())?;
        let mut req = format!(
            "POST /v1/records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(&body);
        // The write may already fail on the alert.
        let _ = wr.write_all(&req).await;
        let mut first = [0_u8; 1];
        match tokio::time::timeout(Duration::from_secs(20), rd.read(&mut first)).await {
            Err(_) => Err(format!("{HUNG}20 s")),
            Ok(Err(e)) => Err(format!("TLS alert: {e}")),
            Ok(Ok(0)) => Err("connection closed without an answer".into()),
            Ok(Ok(_)) => {
                let mut rest = Vec::from(first);
                let mut more = Vec::new();
                let _ =
                    tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut more)).await;
                rest.extend_from_slice(&more);
                match read_answer(&mut rest.as_slice(), Duration::from_secs(5)).await? {
                    Some(a) => Ok(a),
                    None => Err("connection closed without an answer".into()),
                }
            }
        }
    };

    // An unknown CA: a whole dev PKI made elsewhere, claiming the Shanghai lead.
    let alien = ctx.scratch.path().join("alien");
    let alien_pem = penex::tls::pki::ensure_dev_pki(&alien, &[(LEAD.to_owned(), Party::Shanghai)])
        .map_err(|e| e.to_string())
        .and_then(|p| {
            let files = p
                .clients
                .get(LEAD)
                .map(|c| c.files.clone())
                .ok_or("no alien lead")?;
            Ok((
                std::fs::read(files.cert).map_err(|e| e.to_string())?,
                std::fs::read(files.key).map_err(|e| e.to_string())?,
            ))
        });
    for (what, pem) in [
        (
            "a certificate for the Shanghai lead from an unknown CA",
            alien_pem,
        ),
        (
            "an expired certificate (notAfter yesterday) from the real Shanghai CA",
            forge_leaf(
                &pki,
                Party::Shanghai,
                LEAD,
                now - 400 * day,
                now - day,
                true,
            ),
        ),
        (
            "a not-yet-valid certificate (notBefore tomorrow) from the real Shanghai CA",
            forge_leaf(
                &pki,
                Party::Shanghai,
                LEAD,
                now + day,
                now + 400 * day,
                true,
            ),
        ),
        (
            "a Shanghai-CA certificate with serverAuth only (no clientAuth)",
            forge_leaf(
                &pki,
                Party::Shanghai,
                LEAD,
                now - day,
                now + 400 * day,
                false,
            ),
        ),
    ] {
        ctx.guard(
            out,
            case,
            format!("push with {what}"),
            "handshake refused (or 401/403 problem), nothing written",
            async { Check::refused_or_problem(push_as(pem).await, &[401, 403]) },
        )
        .await;
    }

    let forged = penex::tls::pki::issue_client_cert(
        &pki,
        CaBinding::Party(Party::Jiangsu),
        Role::Unit,
        LEAD,
        &ctx.scratch.path().join("forged"),
    )
    .map_err(|e| e.to_string())
    .and_then(|(c, k)| {
        Ok((
            std::fs::read(c).map_err(|e| e.to_string())?,
            std::fs::read(k).map_err(|e| e.to_string())?,
        ))
    });
    ctx.guard(
        out,
        case,
        "push with a Jiangsu-CA certificate naming the Shanghai lead".into(),
        "403 problem, nothing written",
        async { Check::problem(push_as(forged).await, &[403], None) },
    )
    .await;

    // The disabled unit, once the server's registry refresh has seen the change.
    let learned = match disabled {
        Err(e) => Err(e),
        Ok((pem, refused)) => match refused.await {
            Ok(Ok(after)) => http_client(&ctx.ca, Some((&pem.0, &pem.1))).map(|c| (c, after)),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(e.to_string()),
        },
    };
    ctx.guard(
        out,
        case,
        format!("`penex unit disable {DISABLED_UNIT}` (the real CLI), then that unit pushes"),
        "403 problem, nothing written",
        async {
            match learned {
                Err(e) => Check::fail(e),
                Ok((client, after)) => {
                    let mut c = Check::problem(
                        ctx.push(&client, &ctx.batch(1)).await,
                        &[403],
                        Some("disabled"),
                    );
                    c.seen.push_str(&format!(
                        " (refused {:.1} s after the command: the registry refresh)",
                        after.as_secs_f64()
                    ));
                    c
                }
            }
        },
    )
    .await;
    if let Err(e) = ctx.cli(&["unit", "enable", DISABLED_UNIT]).await {
        out.push(Outcome {
            case,
            tried: "`penex unit enable` afterwards".into(),
            expected: "exit 0",
            seen: e,
            held: false,
        });
    }

    // An analyst API key, made with the CLI as an operator would.
    let name = format!("hostile-{}", chrono::Utc::now().timestamp_micros());
    let token = ctx
        .cli(&["apikey", "create", "--name", &name])
        .await
        .map(|s| s.trim().to_owned());
    ctx.guard(
        out,
        case,
        "push with an analyst API key (`penex apikey create`) as Bearer".into(),
        "403 problem, nothing written",
        async {
            match token {
                Err(e) => Check::fail(e),
                Ok(token) => {
                    let body = serde_json::to_vec(&ctx.batch(1)).unwrap_or_default();
                    let r = via(ctx
                        .anon
                        .post(ctx.url("/v1/records"))
                        .header("content-type", "application/json")
                        .bearer_auth(token)
                        .body(body))
                    .await;
                    Check::problem(r, &[401, 403], None)
                }
            }
        },
    )
    .await;
    let _ = ctx.cli(&["apikey", "revoke", &name]).await;
    for (what, who) in [
        ("the analyst", "analyst"),
        ("the integrator", "integrator"),
        ("the operator", "operator"),
    ] {
        ctx.guard(
            out,
            case,
            format!("push with {what}'s certificate"),
            "403 problem, nothing written",
            async {
                match ctx.dev_client(who) {
                    Err(e) => Check::fail(e),
                    Ok(c) => Check::problem(ctx.push(&c, &ctx.batch(1)).await, &[403], None),
                }
            },
        )
        .await;
    }
    ctx.guard(
        out,
        case,
        "push with no certificate and no key".into(),
        "401 problem, nothing written",
        async { Check::problem(ctx.push(&ctx.anon, &ctx.batch(1)).await, &[401], None) },
    )
    .await;
    ctx.guard(
        out,
        case,
        "push with an unknown Bearer key".into(),
        "403 problem, nothing written",
        async {
            let body = serde_json::to_vec(&ctx.batch(1)).unwrap_or_default();
            let r = via(ctx
                .anon
                .post(ctx.url("/v1/records"))
                .header("content-type", "application/json")
                .bearer_auth("pxk_not_a_key")
                .body(body))
            .await;
            Check::problem(r, &[401, 403], None)
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// 10. Slow clients
// ---------------------------------------------------------------------------------------------

/// How a slow connection misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slow {
    /// Sends a request head one byte per second.
    Headers,
    /// Completes the TLS handshake, then sends nothing.
    Idle,
    /// Opens TCP and never starts TLS.
    NoHello,
}

/// Opens one slow connection; how long the server kept it open (from its first byte, or from
/// the handshake for `Idle`, or from the TCP connect for `NoHello`).
async fn slow_connection(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
    kind: Slow,
    give_up: Duration,
    ready: Arc<std::sync::atomic::AtomicUsize>,
    mut go: tokio::sync::watch::Receiver<bool>,
) -> Result<Duration, String> {
    let head = b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    if kind == Slow::NoHello {
        let mut tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let start = Instant::now();
        let mut buf = [0_u8; 64];
        return match tokio::time::timeout(give_up, tcp.read(&mut buf)).await {
            Ok(_) => Ok(start.elapsed()),
            Err(_) => Err(format!("still open after {} s", give_up.as_secs())),
        };
    }
    let tls = tls_connect(addr, config).await;
    ready.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let (mut rd, mut wr) = tokio::io::split(tls?);
    if kind == Slow::Headers {
        // Every slow connection is open before the first byte: the normal clients are
        // measured against connections being held, not against a burst of handshakes.
        let _ = go.wait_for(|go| *go).await;
    }
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + give_up;
    let mut buf = [0_u8; 1024];
    let mut next = 0_usize;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            r = rd.read(&mut buf) => match r {
                // A 408, then the close; or the close alone.
                Ok(n) if n > 0 => continue,
                _ => return Ok(start.elapsed()),
            },
            _ = tick.tick(), if kind == Slow::Headers => {
                let Some(b) = head.get(next % head.len()) else { continue };
                next += 1;
                if wr.write_all(&[*b]).await.is_err() || wr.flush().await.is_err() {
                    return Ok(start.elapsed());
                }
            },
            () = tokio::time::sleep_until(deadline) => {
                return Err(format!("still open after {} s", give_up.as_secs()));
            }
        }
    }
}

/// One request of a normal client on a new TLS connection (a handshake each time).
async fn fresh_request(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<Duration, String> {
    let start = Instant::now();
    let tls = tls_connect(addr, config).await?;
    let (mut rd, mut wr) = tokio::io::split(tls);
    wr.write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    match read_answer(&mut rd, Duration::from_secs(30)).await? {
        Some(a) if a.status == 200 => Ok(start.elapsed()),
        Some(a) => Err(said(&a)),
        None => Err("closed".into()),
    }
}

/// One request of a normal client on its kept-alive HTTP/2 connection.
async fn kept_request(ctx: &Ctx<'_>) -> Result<Duration, String> {
    let start = Instant::now();
    let a = via(ctx.lead.get(ctx.url("/v1/whoami"))).await?;
    if a.status == 200 {
        Ok(start.elapsed())
    } else {
        Err(said(&a))
    }
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    let i = (v.len() * 99).div_ceil(100).saturating_sub(1);
    v.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

async fn slowloris(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "10 slow clients";
    let n = ctx.t.sizes.slow_connections;
    let timeout = ctx.t.client_request_timeout;
    let anon = match ctx.raw_config(None) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            out.push(Outcome {
                case,
                tried: "client config".into(),
                expected: "ready",
                seen: e,
                held: false,
            });
            return;
        }
    };
    // The normal clients' latency first, in this same run.
    let mut base_kept = Vec::new();
    let mut base_fresh = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..30 {
        match kept_request(ctx).await {
            Ok(d) => base_kept.push(d),
            Err(e) => errors.push(e),
        }
        match fresh_request(ctx.t.addr, anon.clone()).await {
            Ok(d) => base_fresh.push(d),
            Err(e) => errors.push(e),
        }
    }
    let (p_kept, p_fresh) = (p99(base_kept), p99(base_fresh));
    // The bound: 5 × the baseline p99, at least 1 s (a debug build on 2 cores has a noisy
    // scheduler; an attack that starves the server costs seconds, not milliseconds).
    let bound = |p: Duration| (p * 5).max(Duration::from_secs(1));
    let (b_kept, b_fresh) = (bound(p_kept), bound(p_fresh));
    let give_up = timeout + Duration::from_secs(10);
    let before = ctx.snapshot().await;
    let mut attackers = tokio::task::JoinSet::new();
    let ready = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (go, go_rx) = tokio::sync::watch::channel(false);
    let mut spawn = |kind: Slow| {
        let (addr, config, ready, go_rx) = (ctx.t.addr, anon.clone(), ready.clone(), go_rx.clone());
        attackers.spawn(async move {
            let r = slow_connection(addr, config, kind, give_up, ready, go_rx).await;
            (kind, r)
        });
    };
    // The TLS connections first (their handshakes cost the server CPU), then the go.
    for kind in [Slow::Headers, Slow::Idle] {
        for _ in 0..n {
            spawn(kind);
        }
    }
    let opened = Instant::now();
    while ready.load(std::sync::atomic::Ordering::SeqCst) < 2 * n
        && opened.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = go.send(true);
    for _ in 0..n {
        spawn(Slow::NoHello);
    }
    // Normal clients while the attack lasts.
    let mut during_kept = Vec::new();
    let mut during_fresh = Vec::new();
    let mut slow_normal = Vec::new();
    let started = Instant::now();
    let mut results: Vec<(Slow, Result<Duration, String>)> = Vec::new();
    while !attackers.is_empty() {
        match kept_request(ctx).await {
            Ok(d) => {
                if d > b_kept {
                    slow_normal.push(format!("kept-alive {}", ms(d)));
                }
                during_kept.push(d);
            }
            Err(e) => errors.push(e),
        }
        match fresh_request(ctx.t.addr, anon.clone()).await {
            Ok(d) => {
                if d > b_fresh {
                    slow_normal.push(format!("new connection {}", ms(d)));
                }
                during_fresh.push(d);
            }
            Err(e) => errors.push(e),
        }
        while let Some(done) = attackers.try_join_next() {
            if let Ok(r) = done {
                results.push(r);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let attack = started.elapsed();
    let after = ctx.snapshot().await;
    let alive = ctx.alive().await;
    let by_request = "closed by the server within its request-head timeout + 2 s";
    let by_handshake = "closed by the server within its TLS handshake timeout + 2 s";
    for (kind, what, limit, expected) in [
        (
            Slow::Headers,
            "TLS connections sending a request head one byte per second",
            timeout + Duration::from_secs(2),
            by_request,
        ),
        (
            Slow::Idle,
            "TLS connections sending nothing after the handshake",
            timeout + Duration::from_secs(2),
            by_request,
        ),
        (
            Slow::NoHello,
            "TCP connections never starting TLS",
            ctx.t.tls_handshake_timeout + Duration::from_secs(2),
            by_handshake,
        ),
    ] {
        let mine: Vec<&Result<Duration, String>> = results
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, r)| r)
            .collect();
        let closed: Vec<Duration> = mine
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        let open = mine.len() - closed.len();
        let late = closed.iter().filter(|d| **d > limit).count();
        let (lo, hi) = (
            closed.iter().min().copied().unwrap_or_default(),
            closed.iter().max().copied().unwrap_or_default(),
        );
        out.push(Outcome {
            case,
            tried: format!("{n} {what}"),
            expected,
            seen: format!(
                "{} closed after {:.1}–{:.1} s{}{}",
                closed.len(),
                lo.as_secs_f64(),
                hi.as_secs_f64(),
                if open > 0 {
                    format!("; {open} STILL OPEN")
                } else {
                    String::new()
                },
                if late > 0 {
                    format!("; {late} closed later than {:.0} s", limit.as_secs_f64())
                } else {
                    String::new()
                },
            ),
            held: open == 0 && late == 0 && mine.len() == n,
        });
    }
    let mut seen = format!(
        "baseline p99 {} kept-alive / {} new connection; during the {:.1} s attack {} + {} requests, max {} / {}",
        ms(p_kept),
        ms(p_fresh),
        attack.as_secs_f64(),
        during_kept.len(),
        during_fresh.len(),
        ms(during_kept.iter().max().copied().unwrap_or_default()),
        ms(during_fresh.iter().max().copied().unwrap_or_default()),
    );
    let mut held = errors.is_empty() && slow_normal.is_empty() && !during_kept.is_empty();
    if !errors.is_empty() {
        seen.push_str(&format!(
            "; {} FAILED: {}",
            errors.len(),
            excerpt(&errors.join("; "), 160)
        ));
    }
    if !slow_normal.is_empty() {
        seen.push_str(&format!("; OVER THE BOUND: {}", slow_normal.join(", ")));
    }
    match (before, after) {
        (Ok(b), Ok(a)) => {
            if let Err(e) = rows_as_allowed(&b, &a, &Writes::Nothing) {
                seen.push_str(&format!("; ROWS: {e}"));
                held = false;
            }
        }
        _ => held = false,
    }
    if let Err(e) = alive {
        seen.push_str(&format!("; SERVER: {e}"));
        held = false;
    }
    out.push(Outcome {
        case,
        tried: "a normal client (lead, GET /v1/whoami kept alive over HTTP/2; anonymous GET /readyz on a new connection) during the attack".into(),
        expected: "every request answered within max(1 s, 5 × its baseline p99)",
        seen,
        held,
    });
}

// ---------------------------------------------------------------------------------------------
// 11. A storm of handshakes
// ---------------------------------------------------------------------------------------------

async fn handshake_storm(ctx: &Ctx<'_>, out: &mut Vec<Outcome>) {
    let case = "11 handshake storm";
    let n = ctx.t.sizes.handshakes;
    let config = match ctx.raw_config(ctx.lead_pem()) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            out.push(Outcome {
                case,
                tried: "client config".into(),
                expected: "ready",
                seen: e,
                held: false,
            });
            return;
        }
    };
    let addr = ctx.t.addr;
    ctx.guard(
        out,
        case,
        format!("{n} concurrent TLS handshakes with the lead's certificate, then GET /v1/whoami on each"),
        "each answered 200 or cleanly refused (no 5xx, no hang); served normally afterwards",
        async {
            let start = Instant::now();
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..n {
                let config = config.clone();
                set.spawn(async move {
                    let attempt = async {
                        let tls = tls_connect(addr, config).await?;
                        let (mut rd, mut wr) = tokio::io::split(tls);
                        wr.write_all(b"GET /v1/whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                            .await
                            .map_err(|e| format!("write: {e}"))?;
                        read_answer(&mut rd, Duration::from_secs(60)).await
                    };
                    tokio::time::timeout(Duration::from_secs(90), attempt).await
                });
            }
            let (mut ok, mut other, mut hung) = (0, Vec::new(), 0);
            let mut refused: BTreeMap<String, usize> = BTreeMap::new();
            while let Some(r) = set.join_next().await {
                match r {
                    Ok(Ok(Ok(Some(a)))) if a.status == 200 => ok += 1,
                    Ok(Ok(Ok(Some(a)))) if a.status == 429 || a.status == 503 => {
                        *refused.entry(a.status.to_string()).or_default() += 1;
                    }
                    Ok(Ok(Ok(Some(a)))) => other.push(said(&a)),
                    Ok(Ok(Ok(None))) => *refused.entry("closed".into()).or_default() += 1,
                    Ok(Ok(Err(e)))
                        if e.starts_with("connect")
                            || e.starts_with("handshake")
                            || e.starts_with("write") =>
                    {
                        *refused.entry(excerpt(&e, 60)).or_default() += 1;
                    }
                    Ok(Ok(Err(e))) => other.push(e),
                    Ok(Err(_)) => hung += 1,
                    Err(e) => other.push(e.to_string()),
                }
            }
            let after = kept_request(ctx).await;
            let refusals: Vec<String> = refused.iter().map(|(why, k)| format!("{k} × {why}")).collect();
            let mut seen = format!(
                "{ok} of {n} answered 200, {} refused{}, {} other, {hung} hung, in {:.1} s; afterwards: {}",
                refused.values().sum::<usize>(),
                if refusals.is_empty() { String::new() } else { format!(" ({})", refusals.join(", ")) },
                other.len(),
                start.elapsed().as_secs_f64(),
                match &after {
                    Ok(d) => format!("200 in {}", ms(*d)),
                    Err(e) => e.clone(),
                }
            );
            if let Some(first) = other.first() {
                seen.push_str(&format!("; e.g. {}", excerpt(first, 120)));
            }
            Check {
                ok: other.is_empty() && hung == 0 && after.is_ok() && ok > 0,
                seen,
                writes: Writes::Nothing,
            }
        },
    )
    .await;
}
