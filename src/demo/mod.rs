//! `penex demo`: the whole loop on one machine, for a newcomer. In a fresh work folder it starts
//! penex on the embedded default (SQLite, in-process cache, dev PKI) on a free loopback port,
//! starts the reference sink (`publish::sink`) on another with its own mutual TLS, points the
//! publisher at it, pushes a simulated region (`sim`) over HTTPS as the units of the four parties
//! with each unit's client certificate, revokes records of a few flagged subjects so that their
//! flags are withdrawn, waits until the outbox is drained, and sums up what happened.
//!
//! Owns only the choreography: every step is a real part (`app::prepare`/`http_server`, the
//! publisher, the sink, `sim::generate`/`replay`, the HTTP API) — nothing is re-implemented, and
//! every figure is read back through the API, the sink's file or the store.
//!
//! Invariants: the folder is wiped only when it is empty or holds the marker of an earlier demo
//! (`.penex-demo`), so a mistyped `--dir` never deletes anything else; `./data` and any configured
//! database or Redis are never touched. The summary lists every inconsistency it finds (events
//! delivered ≠ produced, a signature that does not verify, a body that differs from the feed,
//! a dead letter, a targeted flag that stayed active…); the command fails when there is one.

pub mod observe;
pub mod replay;

use crate::api::state::AppState;
use crate::app::{self, StartError};
use crate::config::Settings;
use crate::crypto::jws::{Jwks, verify_compact};
use crate::domain::party::Party;
use crate::publish::publisher;
use crate::publish::sink::{self, SinkArgs};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file that marks a folder as the demo's own (and so safe to wipe).
pub const MARKER: &str = ".penex-demo";

/// What `penex demo` was asked to do.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The work folder (wiped and created at start).
    pub dir: PathBuf,
    /// Pushes to simulate.
    pub records: usize,
    /// Seed of the simulator.
    pub seed: u64,
    /// Flags to have withdrawn by revoking the records they rest on.
    pub revoke: usize,
    /// Longest wait for the outbox to drain.
    pub timeout: Duration,
}

/// Why the demo could not run to its summary.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The work folder cannot be used.
    #[error("demo folder {}: {reason}", .path.display())]
    Dir {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// penex did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The sink or the publisher did not start.
    #[error("connector: {0}")]
    Connector(String),
    /// Pushing the simulated region failed.
    #[error(transparent)]
    Push(#[from] crate::demo::replay::ReplayError),
    /// A call to penex failed or answered something unexpected.
    #[error("{0}")]
    Api(String),
    /// The outbox did not drain in time.
    #[error("{0}")]
    Timeout(String),
    /// The run finished but what it saw does not add up (the summary was printed).
    #[error("the demo found {} inconsistenc{}: {}", .0.len(), if .0.len() == 1 { "y" } else { "ies" }, .0.join("; "))]
    Inconsistent(Vec<String>),
}

/// What happened, as printed and written to `<dir>/summary.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Seed of the simulator.
    pub seed: u64,
    /// Distinct units that pushed.
    pub units: usize,
    /// Pushes per party (SH, JS, ZJ, AH).
    pub pushes_by_party: BTreeMap<String, usize>,
    /// Records pushed.
    pub pushed: usize,
    /// Answered `accepted`.
    pub accepted: usize,
    /// Answered `duplicate`.
    pub duplicates: usize,
    /// Answered `corrected`.
    pub corrected: usize,
    /// Answered `rejected` (the simulator's deliberately invalid records).
    pub rejected: usize,
    /// Answered `conflict` (stored, but another authority filed the same act first).
    pub conflict_answers: usize,
    /// Jurisdiction conflicts penex found (`GET /v1/conflicts?status=all`).
    pub conflicts: usize,
    /// Distinct subjects of the stored records (weak links followed).
    pub subjects: usize,
    /// Answers that differ from what the simulator's truth predicts.
    pub status_mismatches: usize,
    /// F1 of duplicate detection against the truth.
    pub duplicates_f1: f64,
    /// F1 of conflict detection against the truth.
    pub conflicts_f1: f64,
    /// F1 of subject resolution against the truth.
    pub subjects_f1: f64,
    /// Joint-discipline flags ever raised (`GET /v1/flags`, any status).
    pub flags_raised: usize,
    /// Flags active at the end.
    pub flags_active: usize,
    /// Flags withdrawn at the end.
    pub flags_withdrawn: usize,
    /// Flags the demo set out to have withdrawn.
    pub flags_targeted: usize,
    /// Targeted flags that were not withdrawn at the end (`id is status`).
    pub targets_not_withdrawn: Vec<String>,
    /// Records revoked (`POST /v1/records/{id}/revoke`).
    pub revocations: usize,
    /// Events in the feed (`GET /v1/events`).
    pub events_produced: usize,
    /// Events per type.
    pub events_by_type: BTreeMap<String, usize>,
    /// Events the outbox marked delivered.
    pub events_delivered: i64,
    /// Undelivered events at the end.
    pub events_pending: i64,
    /// Dead letters.
    pub dead_letters: i64,
    /// Distinct events the sink verified and appended to its file.
    pub events_verified: usize,
    /// Sink lines whose JWS does not verify against penex's JWKS, re-checked by the demo.
    pub signature_failures: usize,
    /// Sink lines whose JWS differs from the feed's for the same event id.
    pub body_mismatches: usize,
    /// Seconds spent pushing.
    pub push_secs: f64,
    /// Seconds from the first push until the outbox was drained.
    pub loop_secs: f64,
    /// Seconds for the whole run.
    pub total_secs: f64,
}

/// The run's summary, where its files are, and what did not add up.
#[derive(Debug, Clone)]
pub struct Report {
    /// The figures.
    pub summary: Summary,
    /// The work folder.
    pub dir: PathBuf,
    /// The inconsistencies found (empty: all is well).
    pub problems: Vec<String>,
}

fn dir_err(path: &Path, reason: impl std::fmt::Display) -> DemoError {
    DemoError::Dir {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Wipes and recreates `dir` — only when it is empty or an earlier demo's folder.
fn fresh_dir(dir: &Path) -> Result<(), DemoError> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(dir_err(dir, "exists and is not a folder"));
        }
        let empty = std::fs::read_dir(dir)
            .map_err(|e| dir_err(dir, e))?
            .next()
            .is_none();
        if !empty && !dir.join(MARKER).exists() {
            return Err(dir_err(
                dir,
                format!(
                    "not empty and not an earlier demo folder (no {MARKER}); refusing to wipe \
                     it — pick another --dir"
                ),
            ));
        }
        std::fs::remove_dir_all(dir).map_err(|e| dir_err(dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| dir_err(dir, e))?;
    std::fs::write(
        dir.join(MARKER),
        "made by `penex demo`; the next run wipes this folder\n",
    )
    .map_err(|e| dir_err(dir, e))
}

/// The demo's settings: the configured registry, catalogue and rules, but the embedded
/// default in the work folder, a loopback port, the dev PKI and limits a simulated region fits.
fn demo_settings(base: &Settings, data_dir: &Path) -> Settings {
    let mut s = base.clone();
    s.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    s.data_dir = data_dir.to_owned();
    s.database_url = None;
    s.redis_url = None;
    s.tls.dev_pki = true;
    s.tls.server_cert = None;
    s.tls.server_key = None;
    s.tls.client_cas = Vec::new();
    // Dozens of units push as fast as one machine can; the per-minute limits are for
    // production callers.
    s.rate_limits.push.limit = 1_000_000;
    s.rate_limits.query.limit = 1_000_000;
    s.publish.connector_url = None;
    s.publish.connector_ca = None;
    s.publish.client_cert = None;
    s.publish.client_key = None;
    s.publish.backoff_base_ms = 100;
    s.publish.backoff_max_ms = 2_000;
    s.publish.poll_ms = 50;
    s
}

fn read(path: &Path) -> Result<Vec<u8>, DemoError> {
    std::fs::read(path).map_err(|e| DemoError::Api(format!("cannot read {}: {e}", path.display())))
}

/// An HTTPS client presenting `clients/<stem>.crt` of the dev PKI.
fn client_as(pki: &Path, stem: &str) -> Result<reqwest::Client, DemoError> {
    let ca = read(&pki.join("exchange-ca.crt"))?;
    let cert = read(&pki.join("clients").join(format!("{stem}.crt")))?;
    let key = read(&pki.join("clients").join(format!("{stem}.key")))?;
    let config = crate::tls::config::client_config(&ca, Some(&cert), Some(&key))
        .map_err(|e| DemoError::Api(format!("client certificate {stem}: {e}")))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| DemoError::Api(format!("HTTP client: {e}")))
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, DemoError> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| DemoError::Api(format!("GET {url}: {e}")))?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| DemoError::Api(format!("GET {url}: {e}")))?;
    if !status.is_success() {
        return Err(DemoError::Api(format!("GET {url}: HTTP {status}: {body}")));
    }
    serde_json::from_str(&body).map_err(|e| DemoError::Api(format!("GET {url}: not JSON: {e}")))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Every item of a cursor-paged list (`items` + `next_after`).
async fn all_items(
    client: &reqwest::Client,
    url: &str,
    join: char,
) -> Result<Vec<Value>, DemoError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page_url = match &after {
            Some(a) => format!("{url}{join}limit=500&after={a}"),
            None => format!("{url}{join}limit=500"),
        };
        let page = get_json(client, &page_url).await?;
        if let Some(items) = page.get("items").and_then(Value::as_array) {
            out.extend(items.iter().cloned());
        }
        match page.get("next_after").and_then(Value::as_str) {
            Some(next) if after.as_deref() != Some(next) => after = Some(next.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// The whole feed, in sequence order.
async fn feed(client: &reqwest::Client, base: &str) -> Result<Vec<Value>, DemoError> {
    let mut out = Vec::new();
    let mut after = 0_i64;
    loop {
        let page = get_json(
            client,
            &format!("{base}/v1/events?after={after}&limit=1000"),
        )
        .await?;
        let events = page
            .get("events")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let next = page
            .get("next_after")
            .and_then(Value::as_i64)
            .unwrap_or(after);
        if events.is_empty() || next <= after {
            return Ok(out);
        }
        out.extend(events);
        after = next;
    }
}

async fn outbox_stats(client: &reqwest::Client, base: &str) -> Result<Value, DemoError> {
    let page = get_json(client, &format!("{base}/v1/outbox?limit=1")).await?;
    page.get("stats")
        .cloned()
        .ok_or_else(|| DemoError::Api("GET /v1/outbox: no stats".into()))
}

fn stat(stats: &Value, name: &str) -> i64 {
    stats.get(name).and_then(Value::as_i64).unwrap_or(0)
}

/// Status and basis records of one flag.
async fn flag(
    client: &reqwest::Client,
    base: &str,
    id: &str,
) -> Result<(String, Vec<(String, String)>), DemoError> {
    let v = get_json(client, &format!("{base}/v1/flags/{id}")).await?;
    let basis = v
        .get("basis")
        .and_then(Value::as_array)
        .map(|b| {
            b.iter()
                .map(|r| {
                    (
                        str_at(r, "/record_id").to_owned(),
                        str_at(r, "/party").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((str_at(&v, "/status").to_owned(), basis))
}

fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    let template = format!("  {{wide_bar}} {{pos}}/{{len}} {what}, {{eta}} left");
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// Everything running during the demo, stopped in order whatever happened.
struct Running {
    server: actix_web::dev::ServerHandle,
    sink: Option<actix_web::dev::ServerHandle>,
    publisher: Option<publisher::PublisherHandle>,
}

impl Running {
    async fn stop(self) {
        if let Some(p) = self.publisher {
            p.stop(Duration::from_secs(5)).await;
        }
        if let Some(s) = self.sink {
            s.stop(true).await;
        }
        self.server.stop(true).await;
    }
}

/// Runs the demo; prints its steps to stdout. Returns the report, with the inconsistencies it
/// found (the caller prints it and fails when there are any).
pub async fn run(base: &Settings, opts: &DemoOptions) -> Result<Report, DemoError> {
    let started = Instant::now();
    fresh_dir(&opts.dir)?;
    let data_dir = opts.dir.join("data");
    let settings = demo_settings(base, &data_dir);
    let units = app::load_base_units(&settings)?;
    let leads: HashMap<Party, String> = units
        .iter()
        .filter(|u| u.parent.is_none() && !u.disabled)
        .map(|u| (u.party, u.code.to_string()))
        .collect();

    println!("penex demo in {}", opts.dir.display());
    let prepared = app::prepare(settings.clone(), true).await?;
    let state = prepared.state.clone();
    let listener = std::net::TcpListener::bind(settings.listen)
        .map_err(|e| StartError::Io(format!("cannot listen on {}: {e}", settings.listen)))?;
    let port = listener
        .local_addr()
        .map_err(|e| StartError::Io(e.to_string()))?
        .port();
    let server = app::http_server(prepared, listener).map_err(|e| StartError::Io(e.to_string()))?;
    let mut running = Running {
        server: server.handle(),
        sink: None,
        publisher: None,
    };
    actix_web::rt::spawn(server);
    let base_url = format!("https://localhost:{port}");
    println!(
        "  penex     {base_url}  (SQLite {}, dev PKI)",
        data_dir.join("penex.db").display()
    );

    let result = drive(&settings, &state, &base_url, opts, &leads, &mut running).await;
    running.stop().await;
    let mut summary = result?;
    summary.total_secs = started.elapsed().as_secs_f64();
    let problems = check(&summary);
    let json = serde_json::to_string_pretty(&summary).unwrap_or_default();
    std::fs::write(opts.dir.join("summary.json"), json + "\n")
        .map_err(|e| dir_err(&opts.dir, e))?;
    Ok(Report {
        summary,
        dir: opts.dir.clone(),
        problems,
    })
}

async fn drive(
    settings: &Settings,
    state: &AppState,
    base_url: &str,
    opts: &DemoOptions,
    leads: &HashMap<Party, String>,
    running: &mut Running,
) -> Result<Summary, DemoError> {
    let pki = settings.pki_dir();
    let sink_dir = opts.dir.join("sink");
    std::fs::create_dir_all(&sink_dir).map_err(|e| dir_err(&sink_dir, e))?;

    // The sink: a credit-platform connector with its own TLS listener that admits only
    // certificates of the exchange CA, and that verifies every event against penex's JWKS.
    let sink_args = SinkArgs {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        ca: pki.join("exchange-ca.crt"),
        cert: pki.join("server.crt"),
        key: pki.join("server.key"),
        jwks: format!("{base_url}/.well-known/jwks.json"),
        jwks_ca: Some(pki.join("exchange-ca.crt")),
        out: sink_dir.join("events.jsonl"),
    };
    let (sink_server, sink_addr) = sink::bind(&sink_args)
        .await
        .map_err(|e| DemoError::Connector(e.to_string()))?;
    running.sink = Some(sink_server.handle());
    actix_web::rt::spawn(sink_server);
    let sink_url = format!("https://localhost:{}/events", sink_addr.port());
    println!(
        "  sink      {sink_url}  (mutual TLS; verified events → {})",
        sink_args.out.display()
    );

    // The publisher, as `penex serve` runs it with `publish.connector_url` set.
    let mut publishing = settings.clone();
    publishing.publish.connector_url = Some(sink_url);
    let config = publisher::config_from(&publishing)
        .ok_or_else(|| DemoError::Connector("no connector URL".into()))?;
    let client = publisher::connector_client(&publishing)
        .map_err(|e| DemoError::Connector(e.to_string()))?;
    running.publisher = Some(publisher::spawn(
        state.pool.clone(),
        client,
        config,
        true,
        state.publish_metrics.clone(),
    ));

    // The simulated region, dated today so that no decision lies in the future.
    let units = app::load_base_units(settings)?;
    let mut sim = crate::sim::SimOptions::new(opts.records, opts.seed);
    sim.today = crate::domain::clock::today_shanghai();
    let set = crate::sim::generate(&sim, &units);
    let sim_dir = opts.dir.join("sim");
    set.write_to(&sim_dir).map_err(|e| dir_err(&sim_dir, e))?;
    let mut summary = Summary {
        seed: opts.seed,
        pushed: set.pushes.len(),
        ..Summary::default()
    };
    let mut unit_codes = BTreeSet::new();
    for p in &set.pushes {
        unit_codes.insert(p.unit.to_string());
        *summary
            .pushes_by_party
            .entry(p.unit.party().code().to_owned())
            .or_default() += 1;
    }
    summary.units = unit_codes.len();
    let by_party: Vec<String> = summary
        .pushes_by_party
        .iter()
        .map(|(p, n)| format!("{p} {n}"))
        .collect();
    println!(
        "pushing {} simulated records as {} units ({}), each with its own client certificate…",
        summary.pushed,
        summary.units,
        by_party.join(", ")
    );

    let loop_started = Instant::now();
    let bar = progress_bar(summary.pushed as u64, "records");
    let replay = crate::demo::replay::push_set_with_progress(
        base_url,
        &pki,
        &opts.dir.join("certs"),
        &set,
        500,
        |done| bar.set_position(done as u64),
    )
    .await;
    bar.finish_and_clear();
    let replay = replay?;
    summary.push_secs = replay.elapsed.as_secs_f64();
    for s in &replay.statuses {
        match s.as_str() {
            "accepted" => summary.accepted += 1,
            "duplicate" => summary.duplicates += 1,
            "corrected" => summary.corrected += 1,
            "rejected" => summary.rejected += 1,
            "conflict" => summary.conflict_answers += 1,
            _ => {}
        }
    }

    let operator = client_as(&pki, "operator")?;
    let integrator = client_as(&pki, "integrator")?;

    // Withdraw a few flags: revoke (as the party's lead) the records they rest on.
    let active = all_items(
        &operator,
        &format!("{base_url}/v1/flags?status=active"),
        '&',
    )
    .await?;
    let targets: Vec<String> = active
        .iter()
        .map(|f| str_at(f, "/id").to_owned())
        .filter(|id| !id.is_empty())
        .take(opts.revoke)
        .collect();
    summary.flags_targeted = targets.len();
    if opts.revoke > 0 {
        println!(
            "revoking, as each party's lead, the records {} active flag(s) rest on…",
            targets.len()
        );
    }
    let mut lead_clients: HashMap<Party, reqwest::Client> = HashMap::new();
    let mut revoked: BTreeSet<String> = BTreeSet::new();
    for id in &targets {
        // Each revocation re-evaluates the subject; the flag may re-base on other records,
        // so look again after each one.
        for _ in 0..20 {
            let (status, basis) = flag(&operator, base_url, id).await?;
            if status != "active" {
                break;
            }
            let Some((record, party)) = basis.into_iter().find(|(r, _)| !revoked.contains(r))
            else {
                break;
            };
            let party: Party = party
                .parse()
                .map_err(|e| DemoError::Api(format!("flag {id}: party {party}: {e}")))?;
            let client = match lead_clients.get(&party) {
                Some(c) => c.clone(),
                None => {
                    let code = leads.get(&party).ok_or_else(|| {
                        DemoError::Api(format!("no provincial lead for {}", party.code()))
                    })?;
                    let c = client_as(&pki, code)?;
                    lead_clients.insert(party, c.clone());
                    c
                }
            };
            let url = format!("{base_url}/v1/records/{record}/revoke");
            let resp = client
                .post(&url)
                .json(&json!({"reason": "reconsideration", "note": "penex demo"}))
                .send()
                .await
                .map_err(|e| DemoError::Api(format!("POST {url}: {e}")))?;
            let status = resp.status();
            if !status.is_success() {
                let body = resp.text().await.unwrap_or_default();
                return Err(DemoError::Api(format!("POST {url}: HTTP {status}: {body}")));
            }
            revoked.insert(record);
        }
    }
    summary.revocations = revoked.len();

    // Wait until every event produced so far has been delivered (or has died).
    println!("waiting for the publisher to deliver every event to the sink…");
    let deadline = Instant::now() + opts.timeout;
    let mut produced = feed(&integrator, base_url).await?.len();
    let bar = progress_bar(produced as u64, "events delivered");
    let stats = loop {
        let stats = outbox_stats(&operator, base_url).await?;
        let (pending, delivered, dead) = (
            stat(&stats, "pending"),
            stat(&stats, "delivered"),
            stat(&stats, "dead"),
        );
        bar.set_length(produced as u64);
        bar.set_position(u64::try_from(delivered).unwrap_or(0));
        if pending == 0 {
            // The sweeper may have written more since the feed was read: read it again.
            let now = feed(&integrator, base_url).await?.len();
            if now == produced && i64::try_from(now).is_ok_and(|n| n == delivered + dead) {
                break stats;
            }
            produced = now;
        }
        if Instant::now() >= deadline {
            bar.finish_and_clear();
            return Err(DemoError::Timeout(format!(
                "the outbox did not drain within {} s: {pending} pending, {delivered} delivered, \
                 {dead} dead of {produced} events (see `penex outbox list` with \
                 PENEX_DATA_DIR={})",
                opts.timeout.as_secs(),
                settings.data_dir.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    bar.finish_and_clear();
    summary.loop_secs = loop_started.elapsed().as_secs_f64();
    summary.events_delivered = stat(&stats, "delivered");
    summary.events_pending = stat(&stats, "pending");
    summary.dead_letters = stat(&stats, "dead");

    // The feed, and what the sink received, checked against each other and the JWKS.
    let events = feed(&integrator, base_url).await?;
    summary.events_produced = events.len();
    let mut feed_jws: HashMap<String, String> = HashMap::new();
    for e in &events {
        *summary
            .events_by_type
            .entry(str_at(e, "/type").to_owned())
            .or_default() += 1;
        feed_jws.insert(str_at(e, "/id").to_owned(), str_at(e, "/jws").to_owned());
    }
    let jwks: Jwks = serde_json::from_value(
        get_json(&integrator, &format!("{base_url}/.well-known/jwks.json")).await?,
    )
    .map_err(|e| DemoError::Api(format!("JWKS: {e}")))?;
    let lines = std::fs::read_to_string(&sink_args.out)
        .map_err(|e| DemoError::Api(format!("{}: {e}", sink_args.out.display())))?;
    let mut verified = BTreeSet::new();
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        let key = str_at(&v, "/idempotency_key");
        let jws = str_at(&v, "/jws");
        let signed_id = verify_compact(jws, &jwks)
            .ok()
            .and_then(|ok| serde_json::from_slice::<Value>(&ok.payload).ok())
            .map(|p| str_at(&p, "/id").to_owned());
        if signed_id.as_deref() != Some(key) || key.is_empty() {
            summary.signature_failures += 1;
            continue;
        }
        if feed_jws.get(key).map(String::as_str) != Some(jws) {
            summary.body_mismatches += 1;
        }
        verified.insert(key.to_owned());
    }
    summary.events_verified = verified.len();

    // Conflicts and flags through the API; subjects and the scores from the store.
    summary.conflicts = all_items(
        &operator,
        &format!("{base_url}/v1/conflicts?status=all"),
        '&',
    )
    .await?
    .len();
    let flags = all_items(&operator, &format!("{base_url}/v1/flags"), '?').await?;
    summary.flags_raised = flags.len();
    summary.flags_active = flags
        .iter()
        .filter(|f| str_at(f, "/status") == "active")
        .count();
    summary.flags_withdrawn = flags
        .iter()
        .filter(|f| str_at(f, "/status") == "withdrawn")
        .count();
    let answered = replay.record_of_push.clone();
    let observed = state
        .db(move |c| crate::demo::observe::observe(c, answered))
        .await
        .map_err(|e| DemoError::Api(format!("reading the store: {e:?}")))?;
    summary.subjects = observed
        .subject_of_record
        .values()
        .collect::<BTreeSet<_>>()
        .len();
    let scores = crate::sim::score::score(&set.truth, &observed, &replay.statuses);
    summary.status_mismatches = scores.status_mismatches;
    summary.duplicates_f1 = scores.duplicates.f1;
    summary.conflicts_f1 = scores.conflicts.f1;
    summary.subjects_f1 = scores.subjects.f1;

    // Flags the demo targeted must all be withdrawn now.
    for id in &targets {
        let (status, _) = flag(&operator, base_url, id).await?;
        if status != "withdrawn" {
            summary
                .targets_not_withdrawn
                .push(format!("{id} is {status}"));
        }
    }
    Ok(summary)
}

/// Everything that must add up.
pub fn check(s: &Summary) -> Vec<String> {
    let mut p = Vec::new();
    let answered = s.accepted + s.duplicates + s.corrected + s.rejected + s.conflict_answers;
    if answered != s.pushed {
        p.push(format!("{answered} answers for {} pushes", s.pushed));
    }
    for party in Party::ALL {
        if !s.pushes_by_party.contains_key(party.code()) {
            p.push(format!("no unit of {} pushed", party.code()));
        }
    }
    let produced = i64::try_from(s.events_produced).unwrap_or(i64::MAX);
    if s.events_delivered != produced {
        p.push(format!(
            "events delivered ({}) ≠ produced ({produced})",
            s.events_delivered
        ));
    }
    if s.events_verified != s.events_produced {
        p.push(format!(
            "events verified by the sink ({}) ≠ produced ({})",
            s.events_verified, s.events_produced
        ));
    }
    if s.signature_failures > 0 {
        p.push(format!(
            "{} event(s) in the sink's file do not verify",
            s.signature_failures
        ));
    }
    if s.body_mismatches > 0 {
        p.push(format!(
            "{} event(s) reached the sink with another body than the feed's",
            s.body_mismatches
        ));
    }
    if s.dead_letters > 0 || s.events_pending > 0 {
        p.push(format!(
            "{} dead letter(s), {} pending",
            s.dead_letters, s.events_pending
        ));
    }
    let revoked_events = s.events_by_type.get("record.revoked").copied().unwrap_or(0);
    if revoked_events != s.revocations {
        p.push(format!(
            "{} revocation(s) but {revoked_events} record.revoked event(s)",
            s.revocations
        ));
    }
    let withdrawn_events = s.events_by_type.get("flag.withdrawn").copied().unwrap_or(0);
    if withdrawn_events < s.flags_withdrawn || s.flags_withdrawn < s.flags_targeted {
        p.push(format!(
            "{} flag(s) withdrawn, {} targeted, {withdrawn_events} flag.withdrawn event(s)",
            s.flags_withdrawn, s.flags_targeted
        ));
    }
    if !s.targets_not_withdrawn.is_empty() {
        p.push(format!(
            "flags still not withdrawn after revoking their records: {}",
            s.targets_not_withdrawn.join(", ")
        ));
    }
    let activated = s.events_by_type.get("flag.activated").copied().unwrap_or(0);
    if activated < s.flags_raised {
        p.push(format!(
            "{} flag(s) raised but {activated} flag.activated event(s)",
            s.flags_raised
        ));
    }
    p
}

impl Report {
    /// The summary table and where to look next.
    pub fn render(&self) -> String {
        let s = &self.summary;
        let dir = self.dir.display();
        let mut o = String::new();
        let row = |o: &mut String, name: &str, n: String, note: &str| {
            let line = format!("  {name:<28}{n:>8}  {note}");
            let _ = writeln!(o, "{}", line.trim_end());
        };
        let by_party: Vec<String> = s
            .pushes_by_party
            .iter()
            .map(|(p, n)| format!("{p} {n}"))
            .collect();
        let types: Vec<String> = s
            .events_by_type
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        let _ = writeln!(
            o,
            "\nsummary (seed {}; pushed in {:.1} s, loop drained in {:.1} s, {:.1} s in all)",
            s.seed, s.push_secs, s.loop_secs, s.total_secs
        );
        row(
            &mut o,
            "records pushed",
            s.pushed.to_string(),
            &format!("by {} units: {}", s.units, by_party.join(", ")),
        );
        row(&mut o, "  accepted", s.accepted.to_string(), "new records");
        row(
            &mut o,
            "  duplicates",
            s.duplicates.to_string(),
            "same record again (e.g. relayed by a provincial lead)",
        );
        row(
            &mut o,
            "  corrected",
            s.corrected.to_string(),
            "same decision, new content: a new version",
        );
        row(
            &mut o,
            "  rejected",
            s.rejected.to_string(),
            "invalid on purpose (check digits, missing fields, future dates)",
        );
        row(
            &mut o,
            "  conflict",
            s.conflict_answers.to_string(),
            "stored, but another party filed the same act first",
        );
        row(
            &mut o,
            "answers unlike the truth",
            s.status_mismatches.to_string(),
            "what the simulator predicted for each push",
        );
        row(
            &mut o,
            "jurisdiction conflicts",
            s.conflicts.to_string(),
            &format!(
                "same act, two parties; first to file keeps it (F1 {:.3})",
                s.conflicts_f1
            ),
        );
        row(
            &mut o,
            "subjects",
            s.subjects.to_string(),
            &format!(
                "resolved across the four parties (F1 {:.3}; duplicates F1 {:.3})",
                s.subjects_f1, s.duplicates_f1
            ),
        );
        row(
            &mut o,
            "flags raised",
            s.flags_raised.to_string(),
            "joint-discipline flags ever raised",
        );
        row(
            &mut o,
            "flags withdrawn",
            s.flags_withdrawn.to_string(),
            &format!(
                "after {} revocation(s) aimed at {} flag(s)",
                s.revocations, s.flags_targeted
            ),
        );
        row(&mut o, "flags active", s.flags_active.to_string(), "");
        row(
            &mut o,
            "events produced",
            s.events_produced.to_string(),
            &types.join(", "),
        );
        row(
            &mut o,
            "events delivered",
            s.events_delivered.to_string(),
            &format!(
                "{} dead letter(s), {} pending",
                s.dead_letters, s.events_pending
            ),
        );
        row(
            &mut o,
            "events verified by the sink",
            s.events_verified.to_string(),
            "JWS checked against penex's JWKS",
        );
        row(
            &mut o,
            "signature failures",
            s.signature_failures.to_string(),
            "each sink line re-verified by the demo",
        );
        if self.problems.is_empty() {
            let _ = writeln!(
                o,
                "\nall consistent: every event produced was delivered once, verified, and equals the feed's."
            );
        } else {
            let _ = writeln!(o, "\nINCONSISTENT:");
            for p in &self.problems {
                let _ = writeln!(o, "  - {p}");
            }
        }
        let _ = writeln!(
            o,
            "\nwhere to look next:\n  \
             {dir}/summary.json           these figures\n  \
             {dir}/sim/                   the simulated pushes and their truth\n  \
             {dir}/sink/events.jsonl      every event the sink verified\n  \
             {dir}/data/                  penex's database, dev PKI and keys\n\
             serve the demo's data and ask it (in another terminal):\n  \
             PENEX_DATA_DIR={dir}/data cargo run --release -- serve\n  \
             curl --cacert {dir}/data/pki/exchange-ca.crt --cert {dir}/data/pki/clients/operator.crt \\\n       \
             --key {dir}/data/pki/clients/operator.key 'https://localhost:8443/v1/flags?status=withdrawn'"
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consistent() -> Summary {
        let mut s = Summary {
            pushed: 10,
            accepted: 7,
            duplicates: 1,
            corrected: 1,
            rejected: 1,
            events_produced: 12,
            events_delivered: 12,
            events_verified: 12,
            flags_raised: 1,
            flags_withdrawn: 1,
            flags_targeted: 1,
            revocations: 1,
            ..Summary::default()
        };
        for p in ["SH", "JS", "ZJ", "AH"] {
            s.pushes_by_party.insert(p.into(), 1);
        }
        for (t, n) in [
            ("record.published", 8),
            ("record.revoked", 1),
            ("flag.activated", 1),
            ("flag.withdrawn", 1),
        ] {
            s.events_by_type.insert(t.into(), n);
        }
        s
    }

    #[test]
    fn a_consistent_run_has_no_problems_and_each_break_is_named() {
        assert!(check(&consistent()).is_empty());
        type Break = (&'static str, fn(&mut Summary));
        let breaks: Vec<Break> = vec![
            ("delivered", |s| s.events_delivered -= 1),
            ("verified", |s| s.events_verified -= 1),
            ("do not verify", |s| s.signature_failures = 1),
            ("another body", |s| s.body_mismatches = 1),
            ("dead letter", |s| s.dead_letters = 1),
            ("answers", |s| s.accepted -= 1),
            ("no unit of AH", |s| {
                s.pushes_by_party.remove("AH");
            }),
            ("record.revoked", |s| s.revocations = 2),
            ("targeted", |s| s.flags_targeted = 2),
            ("flag.activated", |s| s.flags_raised = 2),
            ("not withdrawn", |s| {
                s.targets_not_withdrawn = vec!["flg_x is active".into()]
            }),
        ];
        for (word, f) in breaks {
            let mut s = consistent();
            f(&mut s);
            let p = check(&s);
            assert!(p.iter().any(|m| m.contains(word)), "{word}: {p:?}");
        }
    }

    #[test]
    fn only_an_empty_or_demo_folder_is_wiped() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let dir = tmp.path().join("d");
        std::fs::create_dir_all(&dir).unwrap_or_default();
        std::fs::write(dir.join("precious.txt"), "x").unwrap_or_default();
        assert!(matches!(fresh_dir(&dir), Err(DemoError::Dir { .. })));
        assert!(dir.join("precious.txt").exists());
        std::fs::write(dir.join(MARKER), "").unwrap_or_default();
        assert!(fresh_dir(&dir).is_ok());
        assert!(!dir.join("precious.txt").exists() && dir.join(MARKER).exists());
        let empty = tmp.path().join("e");
        std::fs::create_dir_all(&empty).unwrap_or_default();
        assert!(fresh_dir(&empty).is_ok());
    }
}
