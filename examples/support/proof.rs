//! The proof harness's tests (issue #17), run by `examples/proof.rs` (long, as asked) and
//! `tests/it/proof.rs` (short, in CI):
//!
//! - [`crash_loop`]: the real binary SIGKILLed and restarted at seeded random moments while
//!   four leads push batches with idempotency keys and retry on errors; on PostgreSQL, the
//!   harness's own cluster restarted with `pg_ctl restart -m immediate` and its own Redis
//!   killed and restarted in between;
//! - [`connector_outage`]: the connector answering 503, resetting connections, never answering,
//!   answering slowly, in seeded phases while records are pushed; then healthy again, and the
//!   dead letters retried with `penex outbox retry --all-dead`;
//! - [`instances`]: three servers on one PostgreSQL and one Redis, pushed through all three,
//!   one SIGKILLed and restarted, publishing through the faulty connector, and the rate limit
//!   counted once across the three.
//!
//! - [`hostile_table`]: the hostile requests of `hostile.rs` against a live server.
//! - [`failpoints`]: every failpoint of the write path × {error, abort} × hit ordinal, one
//!   server start each, on one database (`failpoints.rs`).
//!
//! After each, [`checker::run`] compares what the clients were told with the database. Needs
//! `server.rs`, `services.rs`, `checker.rs`, `workload.rs`, `connector.rs`, `hostile.rs` and
//! `benches/support/records.rs` as siblings.

use super::checker::{self, Check, Ledger, count};
use super::connector::{Connector, Fault};
use super::server::{Res, Server, Spec, free_port};
use super::services::{Postgres, Redis};
use super::workload::{self, Shape, Target};
use diesel::RunQueryDsl;
use penex::sim::rng::Rng;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which database and cache the servers run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: SQLite in the data folder, the in-process cache.
    Sqlite,
    /// A PostgreSQL cluster and a Redis server the harness starts (and crashes) itself.
    Postgres,
}

impl Backend {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL+Redis",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `penex` binary.
    pub bin: PathBuf,
    /// Seeds every random choice (printed with the report).
    pub seed: u64,
    /// The backend.
    pub backend: Backend,
    /// Server SIGKILLs in the crash loop (at least).
    pub kills: usize,
    /// How long the outage and the instances tests push for.
    pub push_for: Duration,
}

/// One test's result.
#[derive(Debug, Clone)]
pub struct Report {
    /// The test and its backend.
    pub test: String,
    /// What was done: counts, the seed.
    pub tried: Vec<String>,
    /// The promises and whether they held.
    pub checks: Vec<Check>,
    /// Seconds taken.
    pub secs: f64,
}

impl Report {
    /// Whether every promise held.
    pub fn held(&self) -> bool {
        self.checks.iter().all(|c| c.held)
    }

    /// The report as text: what was tried, then one line per promise.
    pub fn render(&self) -> String {
        let mut s = format!("== {} ({:.0} s)\n", self.test, self.secs);
        for t in &self.tried {
            s.push_str(&format!("   {t}\n"));
        }
        for c in &self.checks {
            s.push_str(&format!(
                "   [{}] {}: {}\n",
                if c.held { "held" } else { "FAILED" },
                c.promise,
                c.detail
            ));
        }
        s
    }
}

/// A deployment's database and cache, owned by the harness.
pub struct Deployment {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    database_url: String,
    pg: Option<Postgres>,
    redis: Option<Redis>,
}

impl Deployment {
    /// A temp data folder and, on PostgreSQL, the harness's own cluster and Redis.
    pub fn new(backend: Backend) -> Res<Deployment> {
        let tmp = tempfile::Builder::new().prefix("penex-proof").tempdir()?;
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data)?;
        let (pg, redis) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => (Some(Postgres::start()?), Some(Redis::start()?)),
        };
        let database_url = match &pg {
            Some(pg) => pg.url(),
            None => format!("sqlite://{}", data.join("penex.db").display()),
        };
        Ok(Deployment {
            _tmp: tmp,
            data,
            database_url,
            pg,
            redis,
        })
    }

    /// A server spec on `port` with the settings every test uses: no push rate limit in the
    /// way of the writers, a fast publisher.
    fn spec(&self, bin: &Path, port: u16, connector: Option<u16>) -> Spec {
        let mut spec = Spec::new(bin, &self.data, &self.database_url, port)
            .set("PENEX_RATE_LIMITS__PUSH__LIMIT", "10000000")
            .set("PENEX_PUBLISH__RETRY_LIMIT", RETRY_LIMIT.to_string())
            .set("PENEX_PUBLISH__BACKOFF_BASE_MS", "50")
            .set("PENEX_PUBLISH__BACKOFF_MAX_MS", "400")
            .set("PENEX_PUBLISH__POLL_MS", "30")
            .set("PENEX_PUBLISH__LEASE_SECS", "3")
            .set("PENEX_PUBLISH__REQUEST_TIMEOUT_MS", "3000");
        spec.log = self.data.join(format!("server-{port}.log"));
        if std::env::var_os("RUST_LOG").is_none() {
            spec = spec.set("RUST_LOG", "warn");
        }
        spec.redis_url = self.redis.as_ref().map(Redis::url);
        if let Some(c) = connector {
            spec = spec.set(
                "PENEX_PUBLISH__CONNECTOR_URL",
                format!("https://localhost:{c}/events"),
            );
        }
        spec
    }

    fn target(&self, ports: Vec<u16>) -> Target {
        Target {
            pki: self.data.join("pki"),
            ports,
        }
    }
}

const READY: Duration = Duration::from_secs(90);

/// The publisher's retry limit in the tests with a failing connector: low, so that the longer
/// fault phases make dead letters.
const RETRY_LIMIT: i64 = 6;

fn rounded(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Waits until at least one more batch than `seen` is answered, or `max` passes.
async fn progress(writers: &workload::Writers, seen: usize, max: Duration) -> bool {
    let deadline = Instant::now() + max;
    while Instant::now() < deadline {
        if writers.answered() > seen {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// The crash-and-restart loop.
pub async fn crash_loop(o: &Options) -> Res<Report> {
    let started = Instant::now();
    let mut dep = Deployment::new(o.backend)?;
    let port = free_port()?;
    let spec = dep.spec(&o.bin, port, None);
    let mut server = Server::spawn(&spec)?;
    server.wait_ready(READY).await?;
    let ledger = Arc::new(Ledger::default());
    let target = dep.target(vec![port]);
    let shape = Shape {
        batch: 20,
        writers_per_lead: 1,
        first_seq: 0,
    };
    let writers = workload::start(&target, shape, ledger.clone())?;
    let mut rng = Rng::new(o.seed);
    let (mut kills, mut pg_restarts, mut redis_restarts, mut stalls) = (0, 0, 0, 0);
    let mut downtime = Duration::ZERO;
    while kills < o.kills {
        // Let the writers get somewhere, then strike at a random moment of what follows.
        if !progress(&writers, writers.answered(), Duration::from_secs(30)).await {
            stalls += 1;
        }
        tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
        match (rng.below(5), &dep.pg) {
            (0, Some(pg)) => {
                pg.crash_restart()?;
                pg_restarts += 1;
                continue;
            }
            (1, Some(_)) => {
                if let Some(redis) = dep.redis.as_mut() {
                    redis.crash_restart(Duration::from_millis(rng.below(500)))?;
                    redis_restarts += 1;
                }
                continue;
            }
            _ => {}
        }
        server.kill();
        kills += 1;
        let down = Instant::now();
        server = Server::spawn(&spec)?;
        server.wait_ready(READY).await?;
        downtime += down.elapsed();
    }
    writers.finish().await?;
    let replays = workload::replay_all(&target, shape, &ledger).await?;
    server.stop(Duration::from_secs(10));
    let (sent, answered, answers, unanswered) = ledger.counts();
    let mut checks = checker::run(&dep.database_url, &ledger)?;
    checks.push(audit_verify(&spec));
    checks.push(Check {
        promise: "the writers kept making progress between crashes",
        held: stalls == 0,
        detail: format!("{stalls} rounds without an answered batch within 30 s"),
    });
    let mut tried = vec![
        format!("seed {}", o.seed),
        format!(
            "{kills} SIGKILLs of the server at random moments (restart to ready: {} in all)",
            rounded(downtime)
        ),
        format!(
            "{sent} batches of {} records sent by 4 leads, all {answered} answered; {unanswered} requests cut off without an answer and sent again with the same key",
            shape.batch
        ),
        format!("{replays} answered batches sent again afterwards: {answers} answers compared"),
    ];
    if dep.pg.is_some() {
        tried.push(format!(
            "{pg_restarts} PostgreSQL restarts (pg_ctl restart -m immediate), {redis_restarts} Redis SIGKILL + restart"
        ));
    }
    Ok(Report {
        test: format!("crash and restart loop, {}", o.backend.name()),
        tried,
        checks,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// `penex audit verify`, as an operator runs it after an incident.
fn audit_verify(spec: &Spec) -> Check {
    let out = spec.run(&["audit", "verify"]);
    Check {
        promise: "`penex audit verify` passes",
        held: out.is_ok(),
        detail: match out {
            Ok(text) => text.trim().to_owned(),
            Err(e) => e.to_string(),
        },
    }
}

/// Waits until no event is left to deliver, or `max` passes. An event waiting behind a dead
/// letter of its subject stays pending until the dead letter is retried (each subject's events
/// go in order): it is not counted.
async fn drained(url: &str, max: Duration) -> Res<bool> {
    let deadline = Instant::now() + max;
    while Instant::now() < deadline {
        let deliverable = count(
            url,
            "SELECT COUNT(*) AS n FROM ( \
               SELECT e.subject_id FROM events e, delivery_cursors c \
               WHERE c.connector = 'platform' AND e.seq > c.delivered_through \
               UNION ALL \
               SELECT x.subject_id FROM delivery_exceptions x WHERE x.status = 'pending') p \
             WHERE NOT EXISTS (SELECT 1 FROM delivery_exceptions d \
                               WHERE d.subject_id = p.subject_id AND d.status = 'dead')",
        )?;
        if deliverable == 0 {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(false)
}

/// Checks the sink's file against the events table: every event once, in order per subject,
/// every second delivery of an id one the sink recognized as identical.
fn delivery_checks(url: &str, connector: &Connector) -> Res<Vec<Check>> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let mut conn = penex::store::DatabaseUrl::parse(url)?.establish()?;
    let events: Vec<Id> = diesel::sql_query("SELECT id FROM events").load(&mut conn)?;
    let received = connector.received();
    let mut times: HashMap<&str, u32> = HashMap::new();
    let mut last: HashMap<&str, i64> = HashMap::new();
    let mut disorder = Vec::new();
    for line in &received {
        let key = line["idempotency_key"].as_str().unwrap_or_default();
        *times.entry(key).or_default() += 1;
        let subject = line
            .pointer("/event/subject/id")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let seq = line
            .pointer("/event/seq")
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        if let Some(prev) = last.insert(subject, seq)
            && prev >= seq
        {
            disorder.push(format!("{subject}: {seq} after {prev}"));
        }
    }
    let missing: Vec<String> = events
        .iter()
        .filter(|e| !times.contains_key(e.id.as_str()))
        .map(|e| e.id.clone())
        .collect();
    let twice: Vec<String> = times
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect();
    let redelivered = connector.forwarded().values().filter(|n| **n > 1).count();
    // What the outbox says of the first missing one, to tell a lost event from a stuck one.
    let missing_state = match missing.first() {
        Some(id) => {
            #[derive(diesel::QueryableByName)]
            struct State {
                #[diesel(sql_type = diesel::sql_types::Text)]
                status: String,
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                attempts: i64,
                #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
                last_error: Option<String>,
            }
            let rows: Vec<State> = diesel::sql_query(format!(
                "SELECT status, attempts, last_error FROM delivery_exceptions WHERE event_id = '{}' \
                 UNION ALL \
                 SELECT 'after the cursor' AS status, c.head_attempts AS attempts, c.last_error \
                 FROM delivery_cursors c, events e \
                 WHERE e.id = '{0}' AND e.seq > c.delivered_through",
                id.replace('\'', "")
            ))
            .load(&mut conn)?;
            rows.first()
                .map(|r| {
                    format!(
                        " (delivery: {}, {} attempts, last error {:?})",
                        r.status, r.attempts, r.last_error
                    )
                })
                .unwrap_or_default()
        }
        None => String::new(),
    };
    Ok(vec![
        Check {
            promise: "every event reached the connector, verified against the JWKS",
            held: missing.is_empty(),
            detail: if missing.is_empty() {
                format!("{} events received", received.len())
            } else {
                format!(
                    "{} of {} missing, first {:?}{missing_state}",
                    missing.len(),
                    events.len(),
                    missing.first()
                )
            },
        },
        Check {
            promise: "each event id accepted once, each subject's events in sequence order",
            held: twice.is_empty() && disorder.is_empty(),
            detail: format!(
                "{} ids twice, {} out of order; {redelivered} ids re-sent after a lost answer, each recognized by the sink as the identical body (docs/CONNECTOR.md)",
                twice.len(),
                disorder.len()
            ),
        },
    ])
}

/// Once the writers stop: waits until everything but the dead letters (and the events of their
/// subjects) is delivered, checks that every dead letter used its retry budget, retries them
/// with `penex outbox retry --all-dead` and waits until everything is delivered.
async fn recover(url: &str, spec: &Spec, retry_limit: i64, wait: Duration) -> Res<Vec<Check>> {
    const DEAD: &str = "SELECT COUNT(*) AS n FROM delivery_exceptions WHERE status = 'dead'";
    let drained_first = drained(url, wait).await?;
    let dead = count(url, DEAD)?;
    let dead_early = count(
        url,
        &format!(
            "SELECT COUNT(*) AS n FROM delivery_exceptions \
             WHERE status = 'dead' AND attempts < {retry_limit}"
        ),
    )?;
    let retried = spec.run(&["outbox", "retry", "--all-dead"])?;
    let drained_after = drained(url, wait).await?;
    let dead_after = count(url, DEAD)?;
    Ok(vec![
        Check {
            promise: "dead letters only after the retry limit",
            held: dead_early == 0 && drained_first,
            detail: format!(
                "{dead} dead letters, {dead_early} with fewer than {retry_limit} attempts; \
                 everything else delivered: {drained_first}"
            ),
        },
        Check {
            promise: "`penex outbox retry --all-dead` delivers every dead letter",
            held: dead_after == 0 && drained_after,
            detail: format!(
                "{} retried, {dead_after} dead afterwards",
                retried.lines().filter(|l| l.contains("due now")).count()
            ),
        },
    ])
}

/// Pushes with `writers` while the connector goes through seeded fault phases for `push_for`.
async fn faulty_phases(
    connector: &Connector,
    rng: &mut Rng,
    push_for: Duration,
) -> BTreeMap<&'static str, Duration> {
    let mut phases: BTreeMap<&'static str, Duration> = BTreeMap::new();
    let end = Instant::now() + push_for;
    let faults = [
        Fault::Unavailable,
        Fault::Reset,
        Fault::BlackHole,
        Fault::Slow,
    ];
    let mut i = rng.below(4);
    while Instant::now() < end {
        let fault = faults
            .get(usize::try_from(i % 4).unwrap_or(0))
            .copied()
            .unwrap_or(Fault::Unavailable);
        i += 1 + rng.below(2);
        for (f, ms) in [
            (fault, 1000 + rng.below(2500)),
            (Fault::None, 500 + rng.below(1500)),
        ] {
            connector.set(f);
            let d = Duration::from_millis(ms);
            tokio::time::sleep(d).await;
            *phases.entry(f.name()).or_default() += d;
        }
    }
    connector.set(Fault::None);
    phases
}

/// The connector outage.
pub async fn connector_outage(o: &Options) -> Res<Report> {
    let started = Instant::now();
    let dep = Deployment::new(o.backend)?;
    let (port, cport) = (free_port()?, free_port()?);
    let spec = dep.spec(&o.bin, port, Some(cport));
    let mut server = Server::spawn(&spec)?;
    server.wait_ready(READY).await?;
    let connector = Connector::start(
        &dep.data.join("pki"),
        &format!("https://localhost:{port}/.well-known/jwks.json"),
        &dep.data.join("sink.jsonl"),
        cport,
    )
    .await?;
    let ledger = Arc::new(Ledger::default());
    let target = dep.target(vec![port]);
    let shape = Shape {
        batch: 10,
        writers_per_lead: 1,
        first_seq: 0,
    };
    let writers = workload::start(&target, shape, ledger.clone())?;
    let mut rng = Rng::new(o.seed);
    let phases = faulty_phases(&connector, &mut rng, o.push_for).await;
    writers.finish().await?;
    workload::replay_all(&target, shape, &ledger).await?;
    let url = &dep.database_url;
    let mut checks = checker::run(url, &ledger)?;
    checks.extend(
        recover(
            url,
            &spec,
            RETRY_LIMIT,
            Duration::from_secs(60) + o.push_for,
        )
        .await?,
    );
    let (sent, answered, _, _) = ledger.counts();
    checks.extend(delivery_checks(url, &connector)?);
    server.stop(Duration::from_secs(10));
    connector.stop().await;
    Ok(Report {
        test: format!("connector outage, {}", o.backend.name()),
        tried: vec![
            format!("seed {}", o.seed),
            format!(
                "fault phases: {}",
                phases
                    .iter()
                    .map(|(f, d)| format!("{f} {}", rounded(*d)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "{sent} batches of {} records sent, {answered} answered; retry limit {RETRY_LIMIT}",
                shape.batch
            ),
        ],
        checks,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// The failpoints: every point × action × ordinal (at most `max_ordinals`), the checker after
/// each case.
pub async fn failpoints(o: &Options, max_ordinals: u32) -> Res<Report> {
    let dep = Deployment::new(o.backend)?;
    let outcome = super::failpoints::run(super::failpoints::Options {
        bin: o.bin.clone(),
        data_dir: dep.data.clone(),
        database_url: dep.database_url.clone(),
        redis_url: dep.redis.as_ref().map(Redis::url),
        plan: super::failpoints::Plan::All { max_ordinals },
        ready: READY,
    })
    .await?;
    let mut tried = vec![format!(
        "up to {max_ordinals} ordinals per point and action"
    )];
    tried.extend(outcome.summary());
    let mut checks = outcome.last_checks.clone();
    checks.push(Check {
        promise: "every check held after every case",
        held: outcome.held(),
        detail: format!(
            "{} checks after {} cases, {} did not hold",
            outcome.checks_run,
            outcome.tried,
            outcome.broken.len()
        ),
    });
    checks.push(Check {
        promise: "every case tried fired its point",
        held: outcome.not_fired.is_empty(),
        detail: format!(
            "{} distinct point × action × ordinal fired, {} not",
            outcome.fired.len(),
            outcome.not_fired.len()
        ),
    });
    Ok(Report {
        test: format!("failpoints in the write path, {}", o.backend.name()),
        tried,
        checks,
        secs: outcome.secs,
    })
}

/// Three instances on one PostgreSQL and one Redis.
pub async fn instances(o: &Options) -> Res<Report> {
    let started = Instant::now();
    let dep = Deployment::new(Backend::Postgres)?;
    let ports = [free_port()?, free_port()?, free_port()?];
    let cport = free_port()?;
    // The query limit, counted in Redis: the three together allow it once.
    const QUERY_LIMIT: u32 = 40;
    let specs: Vec<Spec> = ports
        .iter()
        .map(|p| {
            dep.spec(&o.bin, *p, Some(cport))
                .set("PENEX_RATE_LIMITS__QUERY__LIMIT", QUERY_LIMIT.to_string())
                .set("PENEX_RATE_LIMITS__QUERY__WINDOW_SECS", "3600")
        })
        .collect();
    // The first creates the schema and the dev PKI the others share.
    let mut servers = Vec::new();
    for spec in &specs {
        let mut s = Server::spawn(spec)?;
        s.wait_ready(READY).await?;
        servers.push(s);
    }
    let connector = Connector::start(
        &dep.data.join("pki"),
        &format!(
            "https://localhost:{}/.well-known/jwks.json",
            ports.first().copied().unwrap_or_default()
        ),
        &dep.data.join("sink.jsonl"),
        cport,
    )
    .await?;
    let ledger = Arc::new(Ledger::default());
    let target = dep.target(ports.to_vec());
    let shape = Shape {
        batch: 10,
        writers_per_lead: 2,
        first_seq: 0,
    };
    let writers = workload::start(&target, shape, ledger.clone())?;
    let mut rng = Rng::new(o.seed);
    // Half-way, one instance is SIGKILLed and comes back: its leases expire, the others
    // deliver what it held.
    let half = o.push_for / 2;
    let phases_a = faulty_phases(&connector, &mut rng, half).await;
    let victim = usize::try_from(rng.below(3)).unwrap_or(0);
    if let Some(s) = servers.get_mut(victim) {
        s.kill();
        let spec = s.spec.clone();
        *s = Server::spawn(&spec)?;
        s.wait_ready(READY).await?;
    }
    let phases_b = faulty_phases(&connector, &mut rng, half).await;
    writers.finish().await?;
    workload::replay_all(&target, shape, &ledger).await?;
    let url = &dep.database_url;
    let recovered = recover(
        url,
        &specs.first().cloned().ok_or("no instance")?,
        RETRY_LIMIT,
        Duration::from_secs(90) + o.push_for,
    )
    .await?;

    // The rate limit across instances: 3 × the limit asked for, round robin.
    let analyst: Vec<reqwest::Client> = ports
        .iter()
        .map(|p| super::server::client(&dep.data.join("pki"), Some("analyst"), *p))
        .collect::<Res<_>>()?;
    let (mut ok, mut limited) = (0_u32, 0_u32);
    for i in 0..QUERY_LIMIT * 3 {
        let n = usize::try_from(i).unwrap_or(0) % 3;
        if let (Some(c), Some(p)) = (analyst.get(n), ports.get(n)) {
            let r = c
                .get(format!("https://localhost:{p}/v1/records?limit=1"))
                .send()
                .await?;
            match r.status().as_u16() {
                200 => ok += 1,
                429 => limited += 1,
                other => ledger.server_error(other),
            }
        }
    }
    let mut checks = checker::run(url, &ledger)?;
    checks.push(audit_verify(specs.first().ok_or("no instance")?));
    checks.extend(recovered);
    checks.extend(delivery_checks(url, &connector)?);
    checks.push(Check {
        promise: "the rate limit is counted once across the instances",
        held: ok == QUERY_LIMIT && limited == QUERY_LIMIT * 2,
        detail: format!(
            "limit {QUERY_LIMIT}: {ok} answered, {limited} × 429 of {} asked round robin",
            QUERY_LIMIT * 3
        ),
    });
    for s in &mut servers {
        s.stop(Duration::from_secs(10));
    }
    connector.stop().await;
    let (sent, answered, _, _) = ledger.counts();
    let mut phases = phases_a;
    for (k, v) in phases_b {
        *phases.entry(k).or_default() += v;
    }
    Ok(Report {
        test: "three instances, PostgreSQL+Redis".into(),
        tried: vec![
            format!("seed {}", o.seed),
            format!(
                "8 writers across 3 instances: {sent} batches sent, {answered} answered; instance {} SIGKILLed and restarted half-way",
                victim + 1
            ),
            format!(
                "connector fault phases: {}",
                phases
                    .iter()
                    .map(|(f, d)| format!("{f} {}", rounded(*d)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ],
        checks,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// The hostile requests of `hostile.rs` against a live server: every one must get a 4xx
/// problem or a refused handshake, write no row and leave the server up.
pub async fn hostile_table(o: &Options) -> Res<Report> {
    let started = Instant::now();
    let dep = Deployment::new(o.backend)?;
    let port = free_port()?;
    // The cases test input, not the rate limiter (tests/it/http_foundation.rs does).
    let spec = dep
        .spec(&o.bin, port, None)
        .set("PENEX_RATE_LIMITS__QUERY__LIMIT", "100000");
    let mut server = Server::spawn(&spec)?;
    server.wait_ready(READY).await?;
    let defaults = penex::config::Settings::with_overrides(serde_json::json!({}))?;
    let target = super::hostile::Target {
        base: server.base(),
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        data_dir: dep.data.clone(),
        database_url: dep.database_url.clone(),
        penex_bin: o.bin.clone(),
        cli_env: spec.vars(),
        server_pid: Some(server.pid()),
        limits: defaults.limits,
        client_request_timeout: penex::app::CLIENT_REQUEST_TIMEOUT,
        tls_handshake_timeout: penex::app::TLS_HANDSHAKE_TIMEOUT,
        sizes: super::hostile::Sizes::default(),
    };
    let outcomes = super::hostile::run_all(&target).await;
    let alive = server.running();
    server.kill();
    // One line per case of the list, naming the first request that did not hold.
    let mut checks: Vec<Check> = Vec::new();
    for out in &outcomes {
        match checks.iter_mut().find(|c| c.promise == out.case) {
            Some(c) if c.held && !out.held => {
                c.held = false;
                c.detail = format!("{} → {}", out.tried, out.seen);
            }
            Some(_) => {}
            None => checks.push(Check {
                promise: out.case,
                held: out.held,
                detail: if out.held {
                    String::new()
                } else {
                    format!("{} → {}", out.tried, out.seen)
                },
            }),
        }
    }
    for c in checks.iter_mut().filter(|c| c.held) {
        let n = outcomes.iter().filter(|o| o.case == c.promise).count();
        c.detail = format!("{n} requests");
    }
    checks.push(Check {
        promise: "the server is still running after every case",
        held: alive,
        detail: format!("{} cases", outcomes.len()),
    });
    let mut tried = vec![format!(
        "{} requests in 12 groups (docs/RELIABILITY.md lists them)",
        outcomes.len()
    )];
    let failed: Vec<super::hostile::Outcome> =
        outcomes.iter().filter(|o| !o.held).cloned().collect();
    if !failed.is_empty() {
        tried.push(format!(
            "requests that did not hold:\n{}",
            super::hostile::table(&failed)
        ));
    }
    Ok(Report {
        test: format!("hostile input against a live server, {}", o.backend.name()),
        tried,
        checks,
        secs: started.elapsed().as_secs_f64(),
    })
}
