//! The failpoints runner (issue #17): for each failpoint of the write path
//! (`penex::store::failpoint::POINTS`), each action (an injected error, a process abort) and
//! each hit ordinal (the 1st, 2nd, … time the point is reached), a `penex serve` is started
//! with `FAILPOINTS=<point>=<k-1>*off->1*return(...)` on the run's one database, and a fixed
//! script of operations is run against it: pushes of small batches under idempotency keys (one
//! a correction), revocations, repairs, each followed by the publisher delivering the events to
//! the reference sink behind `connector.rs`. A request answered 503 is retried with the same
//! key; a server that aborted is restarted without failpoints and the request retried. The
//! case ends with the operation during which the point fired; then the outbox must drain and
//! [`checker::run`] must hold over everything the run has written so far.
//!
//! A case counts as exercised only if its point fired (the server says so on stderr, and an
//! abort ends the process with SIGABRT). A first run with every point set to `return(trace)`
//! counts how often the script reaches each point: the ordinals tried are 1 to that count (at
//! most `max_ordinals`).
//!
//! Included with `#[path]`; needs `server.rs`, `checker.rs`, `workload.rs`, `connector.rs` and
//! `benches/support/records.rs` as siblings (`super::…`).

use super::checker::{self, Check, Ledger, Sent, count};
use super::connector::Connector;
use super::records;
use super::server::{Res, Server, Spec, client, lead_code};
use super::workload::{lead_names, record_ids};
use penex::domain::party::Party;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What a point does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// The statement fails as on a lost database connection (the API answers 503).
    Error,
    /// `std::process::abort()` at the statement.
    Abort,
}

impl Action {
    /// Both.
    pub const ALL: [Action; 2] = [Action::Error, Action::Abort];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Action::Error => "error",
            Action::Abort => "abort",
        }
    }

    fn fail_action(self) -> &'static str {
        match self {
            Action::Error => "return",
            Action::Abort => "return(abort)",
        }
    }
}

/// One case: a point, an action, the hit it fires on (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Case {
    /// The failpoint.
    pub point: &'static str,
    /// What it does.
    pub action: Action,
    /// Fires on this hit (1 = the first time it is reached).
    pub ordinal: u32,
}

impl Case {
    /// The `FAILPOINTS` value.
    pub fn failpoints(&self) -> String {
        let before = self.ordinal.saturating_sub(1);
        if before == 0 {
            format!("{}=1*{}", self.point, self.action.fail_action())
        } else {
            format!(
                "{}={before}*off->1*{}",
                self.point,
                self.action.fail_action()
            )
        }
    }

    fn label(&self) -> String {
        format!("{} {} #{}", self.point, self.action.name(), self.ordinal)
    }
}

/// Which cases to run.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Every point × action × ordinal up to the point's hits in a traced run of the script,
    /// at most this many ordinals a point.
    All {
        /// The most ordinals tried per point and action.
        max_ordinals: u32,
    },
    /// These cases only (no traced run).
    Cases(Vec<Case>),
}

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `penex` binary (built with the tests or the examples, so with failpoints).
    pub bin: PathBuf,
    /// `PENEX_DATA_DIR` (its SQLite file, if any, is the run's database).
    pub data_dir: PathBuf,
    /// The run's one database.
    pub database_url: String,
    /// `PENEX_REDIS_URL`, or the in-process cache.
    pub redis_url: Option<String>,
    /// The cases.
    pub plan: Plan,
    /// How long a server may take to become ready.
    pub ready: Duration,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Hits per point in the traced run (empty for [`Plan::Cases`]).
    pub reached: BTreeMap<String, u32>,
    /// The cases tried.
    pub tried: usize,
    /// The cases whose point fired: distinct point × action × ordinal.
    pub fired: BTreeSet<Case>,
    /// The cases whose point did not fire (the script ended first).
    pub not_fired: Vec<Case>,
    /// The checks after each case that did not hold: the case and the check.
    pub broken: Vec<(Case, Check)>,
    /// The checks after the last case (all of them), with counts.
    pub last_checks: Vec<Check>,
    /// Cases run, checks evaluated, and every check held after every case.
    pub checks_run: usize,
    /// Server starts (cases and restarts after an abort).
    pub starts: usize,
    /// Aborts observed (exit by SIGABRT).
    pub aborts: usize,
    /// 503 answers observed.
    pub unavailable: u64,
    /// Seconds.
    pub secs: f64,
}

/// One operation of the script.
#[derive(Debug, Clone)]
enum Op {
    /// A batch of records `first..first + n` under its own key; `correct` re-sends record
    /// `first` with changed facts instead (a correction, one record).
    Push {
        name: &'static str,
        first: u64,
        n: u64,
        correct: bool,
    },
    /// Revokes record `index` of the batch named.
    Revoke { batch: &'static str, index: usize },
    /// Repairs record `index` of the batch named.
    Repair { batch: &'static str, index: usize },
}

/// The script of one case: records numbered from `base` (15 of them): six pushes (one a
/// correction), three revocations, three repairs.
fn script(base: u64) -> Vec<Op> {
    vec![
        Op::Push {
            name: "a",
            first: base,
            n: 3,
            correct: false,
        },
        Op::Push {
            name: "b",
            first: base + 3,
            n: 3,
            correct: false,
        },
        Op::Push {
            name: "c",
            first: base,
            n: 1,
            correct: true,
        },
        Op::Revoke {
            batch: "b",
            index: 0,
        },
        Op::Repair {
            batch: "a",
            index: 1,
        },
        Op::Push {
            name: "d",
            first: base + 6,
            n: 3,
            correct: false,
        },
        Op::Revoke {
            batch: "a",
            index: 2,
        },
        Op::Repair {
            batch: "b",
            index: 1,
        },
        Op::Push {
            name: "e",
            first: base + 9,
            n: 3,
            correct: false,
        },
        Op::Revoke {
            batch: "d",
            index: 0,
        },
        Op::Repair {
            batch: "d",
            index: 1,
        },
        Op::Push {
            name: "f",
            first: base + 12,
            n: 3,
            correct: false,
        },
    ]
}

/// Record seq numbers per case: far apart, and far from other harnesses' ranges.
const SEQ_BASE: u64 = 700_000_000;
const SEQ_PER_CASE: u64 = 100;

/// The run's state: one database, one connector, one server at a time.
struct Run {
    o: Options,
    port: u16,
    connector_port: u16,
    ledger: Ledger,
    party: Party,
    authority: String,
    starts: usize,
    aborts: usize,
    unavailable: u64,
    case_no: u64,
}

/// How one request ended.
enum Answer {
    Status(u16, Value),
    Nothing,
}

impl Run {
    fn spec(&self, failpoints: Option<&str>) -> Spec {
        let mut spec = Spec::new(
            &self.o.bin,
            &self.o.data_dir,
            &self.o.database_url,
            self.port,
        )
        .set("PENEX_RATE_LIMITS__PUSH__LIMIT", "10000000")
        .set("PENEX_PUBLISH__BACKOFF_BASE_MS", "50")
        .set("PENEX_PUBLISH__BACKOFF_MAX_MS", "400")
        .set("PENEX_PUBLISH__POLL_MS", "30")
        .set("PENEX_PUBLISH__LEASE_SECS", "2")
        .set("PENEX_PUBLISH__REQUEST_TIMEOUT_MS", "3000")
        .set(
            "PENEX_PUBLISH__CONNECTOR_URL",
            format!("https://localhost:{}/events", self.connector_port),
        );
        spec.redis_url = self.o.redis_url.clone();
        spec.log = self.o.data_dir.join("failpoints.log");
        if let Some(f) = failpoints {
            spec = spec.set("FAILPOINTS", f);
        }
        spec
    }

    async fn start(&mut self, failpoints: Option<&str>) -> Res<Server> {
        let mut server = Server::spawn(&self.spec(failpoints))?;
        self.starts += 1;
        if let Err(e) = server.wait_ready(self.o.ready).await {
            // The publisher claims before `/readyz` first answers: a point of its claim may
            // abort the server before it is ready. Then it starts again without failpoints.
            if failpoints.is_none() || server.running() {
                return Err(e);
            }
            server.kill();
            self.aborts += 1;
            server = Server::spawn(&self.spec(None))?;
            self.starts += 1;
            server.wait_ready(self.o.ready).await?;
        }
        Ok(server)
    }

    fn log_len(&self) -> u64 {
        std::fs::metadata(self.o.data_dir.join("failpoints.log")).map_or(0, |m| m.len())
    }

    fn log_since(&self, offset: u64) -> String {
        let text = std::fs::read(self.o.data_dir.join("failpoints.log")).unwrap_or_default();
        let from = usize::try_from(offset).unwrap_or(0).min(text.len());
        String::from_utf8_lossy(text.get(from..).unwrap_or_default()).into_owned()
    }

    /// Restarts `server` without failpoints if it died; whether it had.
    async fn revive(&mut self, server: &mut Server) -> Res<bool> {
        if server.running() {
            return Ok(false);
        }
        server.kill();
        self.aborts += 1;
        *server = self.start(None).await?;
        Ok(true)
    }

    /// Sends one request until it is answered with something but a 503/429 or silence; a
    /// server that died is restarted first. The final status and body, and whether an earlier
    /// attempt failed (so that a 409 "done already" is the retry of a request that went
    /// through).
    async fn request(
        &mut self,
        server: &mut Server,
        path: &str,
        key: Option<&str>,
        body: &Value,
    ) -> Res<(u16, Value, bool)> {
        let mut failed_before = false;
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let c = client(
                &self.o.data_dir.join("pki"),
                Some(lead_code(self.party)),
                self.port,
            )?;
            let mut req = c
                .post(format!("https://localhost:{}{path}", self.port))
                .timeout(Duration::from_secs(30))
                .json(body);
            if let Some(k) = key {
                req = req.header("Idempotency-Key", k);
            }
            let answer = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match resp.json::<Value>().await {
                        Ok(v) => Answer::Status(status, v),
                        Err(_) => Answer::Nothing,
                    }
                }
                Err(_) => Answer::Nothing,
            };
            match answer {
                Answer::Status(status, v) if status >= 500 => {
                    self.ledger.server_error(status);
                    if status == 503 {
                        self.unavailable += 1;
                    } else {
                        return Ok((status, v, failed_before));
                    }
                }
                Answer::Status(429, _) => {}
                Answer::Status(status, v) => return Ok((status, v, failed_before)),
                Answer::Nothing => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    self.revive(server).await?;
                }
            }
            failed_before = true;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("{path}: no answer within 120 s").into())
    }

    /// Runs one operation to its answer.
    async fn op(
        &mut self,
        server: &mut Server,
        op: &Op,
        batches: &mut BTreeMap<&'static str, Vec<String>>,
    ) -> Res<()> {
        match op {
            Op::Push {
                name,
                first,
                n,
                correct,
            } => {
                let seqs: Vec<u64> = (*first..first + n).collect();
                let items: Vec<Value> = seqs
                    .iter()
                    .map(|s| {
                        let mut r = records::record(self.party, &self.authority, *s);
                        if *correct && let Some(o) = r.as_object_mut() {
                            // A legal person's record (even seq): its facts, corrected.
                            o.insert(
                                "CF_SY".into(),
                                json!("当事人未取得建筑垃圾运输许可擅自运输建筑垃圾（更正）。"),
                            );
                        }
                        r
                    })
                    .collect();
                let key = format!("fp-{}-{name}", self.case_no);
                self.ledger.sent(Sent {
                    key: key.clone(),
                    authority: self.authority.clone(),
                    decision_nos: seqs
                        .iter()
                        .map(|s| records::decision_no(self.party, *s))
                        .collect(),
                });
                let body = json!({ "records": items });
                let (status, v, _) = self
                    .request(server, "/v1/records", Some(&key), &body)
                    .await?;
                if status != 200 {
                    return Err(format!("push {key}: {status} {v}").into());
                }
                let ids = record_ids(&v);
                if ids.len() != seqs.len() {
                    return Err(
                        format!("push {key}: {} record ids answered: {v}", ids.len()).into(),
                    );
                }
                self.ledger.answered(&key, ids.clone());
                batches.insert(name, ids);
            }
            Op::Revoke { batch, index } | Op::Repair { batch, index } => {
                let revoke = matches!(op, Op::Revoke { .. });
                let id = batches
                    .get(batch)
                    .and_then(|ids| ids.get(*index))
                    .cloned()
                    .ok_or("the script names a batch it has not pushed")?;
                let (path, body) = if revoke {
                    (
                        format!("/v1/records/{id}/revoke"),
                        json!({ "reason": "self_correction" }),
                    )
                } else {
                    (format!("/v1/records/{id}/repair"), json!({}))
                };
                let (status, v, retried) = self.request(server, &path, None, &body).await?;
                match status {
                    200 => {}
                    // The retry of a request that committed before its answer was lost.
                    409 if retried => {}
                    _ => return Err(format!("{path}: {status} {v}").into()),
                }
                if revoke {
                    self.ledger.revoked(&id);
                } else {
                    self.ledger.repaired(&id);
                }
            }
        }
        Ok(())
    }

    /// Waits until nothing is left to deliver (a dead server restarted on the way).
    async fn drain(&mut self, server: &mut Server) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            self.revive(server).await?;
            if count(
                &self.o.database_url,
                "SELECT (SELECT COUNT(*) FROM delivery_exceptions WHERE status <> 'delivered') \
                   + (SELECT COUNT(*) FROM events e, delivery_cursors c \
                      WHERE c.connector = 'platform' AND e.seq > c.delivered_through) AS n",
            )? == 0
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err("the outbox did not drain within 60 s".into())
    }

    /// Runs the script until `stop` says so after an operation (and the drain after it).
    async fn script(&mut self, server: &mut Server, mut stop: impl FnMut(&Run) -> bool) -> Res<()> {
        let base = SEQ_BASE + self.case_no * SEQ_PER_CASE;
        let mut batches = BTreeMap::new();
        for op in script(base) {
            self.op(server, &op, &mut batches).await?;
            self.drain(server).await?;
            if stop(self) {
                break;
            }
        }
        Ok(())
    }
}

/// The hits of each point in a log written with `return(trace)` everywhere.
fn traced_hits(log: &str) -> BTreeMap<String, u32> {
    let mut hits = BTreeMap::new();
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("failpoint ")
            && let Some(name) = rest.strip_suffix(" reached")
        {
            *hits.entry(name.to_owned()).or_default() += 1;
        }
    }
    hits
}

/// Runs the plan.
pub async fn run(o: Options) -> Res<Outcome> {
    let started = Instant::now();
    let (party, authority) = lead_names()?
        .into_iter()
        .find(|(p, _)| *p == Party::Shanghai)
        .ok_or("no Shanghai lead in config/units.toml")?;
    let mut run = Run {
        port: super::server::free_port()?,
        connector_port: super::server::free_port()?,
        o,
        ledger: Ledger::default(),
        party,
        authority,
        starts: 0,
        aborts: 0,
        unavailable: 0,
        case_no: 0,
    };

    // The traced run: every point reports its hits; the script in full. It also creates the
    // schema and the dev PKI the connector needs.
    let trace: String = penex::store::failpoint::POINTS
        .iter()
        .map(|p| format!("{p}=return(trace)"))
        .collect::<Vec<_>>()
        .join(";");
    let traced = matches!(run.o.plan, Plan::All { .. });
    let mut server = run.start(traced.then_some(trace.as_str())).await?;
    let connector = Connector::start(
        &run.o.data_dir.join("pki"),
        &format!("https://localhost:{}/.well-known/jwks.json", run.port),
        &run.o.data_dir.join("sink.jsonl"),
        run.connector_port,
    )
    .await?;
    let mut reached = BTreeMap::new();
    let cases: Vec<Case> = match &run.o.plan {
        Plan::Cases(cases) => cases.clone(),
        Plan::All { max_ordinals } => {
            let max_ordinals = *max_ordinals;
            let offset = run.log_len();
            run.script(&mut server, |_| false).await?;
            reached = traced_hits(&run.log_since(offset));
            run.case_no += 1;
            let mut cases = Vec::new();
            for point in penex::store::failpoint::POINTS {
                let hits = reached.get(*point).copied().unwrap_or(0);
                for action in Action::ALL {
                    for ordinal in 1..=hits.min(max_ordinals) {
                        cases.push(Case {
                            point,
                            action,
                            ordinal,
                        });
                    }
                }
            }
            cases
        }
    };
    server.stop(Duration::from_secs(10));

    let mut fired = BTreeSet::new();
    let mut not_fired = Vec::new();
    let mut broken = Vec::new();
    let mut last_checks = Vec::new();
    let mut checks_run = 0;
    for case in &cases {
        let offset = run.log_len();
        let marker = format!("failpoint {} fired", case.point);
        let ran = match run.start(Some(&case.failpoints())).await {
            Ok(mut server) => {
                let ran = run
                    .script(&mut server, |r| r.log_since(offset).contains(&marker))
                    .await
                    .map_err(|e| format!("{e}\n{}", server.log_tail()));
                server.stop(Duration::from_secs(10));
                ran
            }
            Err(e) => Err(e.to_string()),
        };
        // A case that could not run to its end (a request refused, a server that would not
        // start) is a finding too: recorded, and the run goes on.
        if let Err(e) = ran {
            broken.push((
                *case,
                Check {
                    promise: "the case ran: every request answered, the outbox drained",
                    held: false,
                    detail: e,
                },
            ));
        }
        let log = run.log_since(offset);
        let expected = format!("{marker}: {}", case.action.name());
        if log.contains(&expected) {
            fired.insert(*case);
        } else {
            not_fired.push(*case);
        }
        let checks = checker::run(&run.o.database_url, &run.ledger)?;
        checks_run += checks.len();
        for c in &checks {
            if !c.held {
                broken.push((*case, c.clone()));
            }
        }
        last_checks = checks;
        run.case_no += 1;
    }
    connector.stop().await;
    Ok(Outcome {
        reached,
        tried: cases.len(),
        fired,
        not_fired,
        broken,
        last_checks,
        checks_run,
        starts: run.starts,
        aborts: run.aborts,
        unavailable: run.unavailable,
        secs: started.elapsed().as_secs_f64(),
    })
}

impl Outcome {
    /// Every check held after every case.
    pub fn held(&self) -> bool {
        self.broken.is_empty()
    }

    /// Distinct points (whatever the action and ordinal) that fired.
    pub fn points_fired(&self) -> BTreeSet<&'static str> {
        self.fired.iter().map(|c| c.point).collect()
    }

    /// Lines for a report: what was tried.
    pub fn summary(&self) -> Vec<String> {
        let by_action = |a: Action| self.fired.iter().filter(|c| c.action == a).count();
        let mut lines = vec![
            format!(
                "{} cases tried: {} fired (distinct point × action × ordinal: {} errors, {} aborts), {} not fired",
                self.tried,
                self.fired.len(),
                by_action(Action::Error),
                by_action(Action::Abort),
                self.not_fired.len()
            ),
            format!(
                "{} of {} points fired; {} server starts, {} aborts restarted, {} × 503 answered and retried",
                self.points_fired().len(),
                penex::store::failpoint::POINTS.len(),
                self.starts,
                self.aborts,
                self.unavailable
            ),
            format!(
                "{} checks evaluated after the cases, {} did not hold",
                self.checks_run,
                self.broken.len()
            ),
        ];
        if !self.reached.is_empty() {
            let unreached: Vec<&str> = penex::store::failpoint::POINTS
                .iter()
                .filter(|p| !self.reached.contains_key(**p))
                .copied()
                .collect();
            lines.push(format!(
                "points the script does not reach: {}",
                if unreached.is_empty() {
                    "none".to_owned()
                } else {
                    unreached.join(", ")
                }
            ));
        }
        if let Some(c) = self.not_fired.first() {
            lines.push(format!("first case not fired: {}", c.label()));
        }
        for (case, check) in self.broken.iter().take(5) {
            lines.push(format!(
                "after {}: {} FAILED: {}",
                case.label(),
                check.promise,
                check.detail
            ));
        }
        lines
    }
}
