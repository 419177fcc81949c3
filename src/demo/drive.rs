//! The demo's steps once penex is up: start the sink and the publisher, push a simulated
//! region as its units, revoke the records of a few flags, run the collaboration scripts (see
//! `collab`), wait for the outbox to drain, then read back what happened (the feed against the
//! sink's file, conflicts and flags through the API, subjects from the store) into a
//! [`Summary`].

use super::client::{all_items, client_as, feed, flag, get_json, outbox_stats, stat, str_at};
use super::report::Summary;
use super::{DemoError, DemoOptions, Running, dir_err};
use crate::api::state::AppState;
use crate::app;
use crate::config::Settings;
use crate::crypto::jws::{Jwks, verify_compact};
use crate::demo::replay::Replay;
use crate::domain::party::Party;
use crate::publish::publisher;
use crate::publish::sink::{self, SinkArgs};
use crate::sim::SimSet;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where penex runs and how to reach it.
pub(super) struct Stage<'a> {
    /// The demo's settings.
    pub settings: &'a Settings,
    /// The running server's state (its pool, for reading the store).
    pub state: &'a AppState,
    /// `https://localhost:PORT`.
    pub base_url: &'a str,
    /// What the demo was asked to do.
    pub opts: &'a DemoOptions,
}

/// Runs every step and sums them up; `running` receives what it starts, so that the caller
/// stops it whatever happens.
pub(super) async fn drive(
    stage: &Stage<'_>,
    leads: &HashMap<Party, String>,
    running: &mut Running,
) -> Result<Summary, DemoError> {
    let (settings, base_url, opts) = (stage.settings, stage.base_url, stage.opts);
    let pki = settings.pki_dir();
    let sink_out = start_connector(stage, &pki, running).await?;
    let set = simulate(settings, opts)?;
    let mut summary = pushes_of(&set, opts.seed);
    println!(
        "pushing {} simulated records as {} units ({}), each with its own client certificate…",
        summary.pushed,
        summary.units,
        by_party(&summary).join(", ")
    );
    let loop_started = Instant::now();
    let replay = push(base_url, &pki, &opts.dir, &set, &mut summary).await?;

    let operator = client_as(&pki, "operator")?;
    let integrator = client_as(&pki, "integrator")?;
    let leads = Leads {
        pki: &pki,
        codes: leads,
        clients: HashMap::new(),
    };
    let targets = withdraw_flags(&operator, base_url, leads, opts.revoke, &mut summary).await?;
    if !set.collaboration.is_empty() {
        super::collab::run(
            base_url,
            &pki,
            &opts.dir.join("certs"),
            &operator,
            &set.collaboration,
            &mut summary.collaboration,
        )
        .await?;
    }

    let stats = wait_drained(&operator, &integrator, stage).await?;
    summary.loop_secs = loop_started.elapsed().as_secs_f64();
    summary.events_delivered = stat(&stats, "delivered");
    summary.events_pending = stat(&stats, "pending");
    summary.dead_letters = stat(&stats, "dead");

    verify_deliveries(&integrator, base_url, &sink_out, &mut summary).await?;
    outcomes(&operator, stage, &set, &replay, &mut summary).await?;

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

/// Starts the sink — a credit-platform connector with its own TLS listener that admits only
/// certificates of the exchange CA, and that verifies every event against penex's JWKS — and
/// the publisher pointed at it, as `penex serve` runs it with `publish.connector_url` set.
/// Answers the sink's file.
async fn start_connector(
    stage: &Stage<'_>,
    pki: &Path,
    running: &mut Running,
) -> Result<PathBuf, DemoError> {
    let sink_dir = stage.opts.dir.join("sink");
    std::fs::create_dir_all(&sink_dir).map_err(|e| dir_err(&sink_dir, e))?;
    let sink_args = SinkArgs {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        ca: pki.join("exchange-ca.crt"),
        cert: pki.join("server.crt"),
        key: pki.join("server.key"),
        jwks: format!("{}/.well-known/jwks.json", stage.base_url),
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

    let mut publishing = stage.settings.clone();
    publishing.publish.connector_url = Some(sink_url);
    let config = publisher::config_from(&publishing)
        .ok_or_else(|| DemoError::Connector("no connector URL".into()))?;
    let client = publisher::connector_client(&publishing)
        .map_err(|e| DemoError::Connector(e.to_string()))?;
    running.publisher = Some(publisher::spawn(
        stage.state.pool.clone(),
        client,
        config,
        true,
        stage.state.publish_metrics.clone(),
    ));
    Ok(sink_args.out)
}

/// The simulated region, dated today so that no decision lies in the future; written to
/// `<dir>/sim`.
fn simulate(settings: &Settings, opts: &DemoOptions) -> Result<SimSet, DemoError> {
    let units = app::load_base_units(settings)?;
    let mut sim = crate::sim::SimOptions::new(opts.records, opts.seed);
    // The server takes steps dated from the day sent to today: the scripts are dated today.
    sim.today = crate::domain::clock::today_shanghai();
    sim.collaboration = opts.collaboration;
    let set = crate::sim::generate(&sim, &units);
    let sim_dir = opts.dir.join("sim");
    set.write_to(&sim_dir).map_err(|e| dir_err(&sim_dir, e))?;
    Ok(set)
}

/// The summary's first figures: pushes, per party, by how many units.
fn pushes_of(set: &SimSet, seed: u64) -> Summary {
    let mut summary = Summary {
        seed,
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
    summary
}

fn by_party(summary: &Summary) -> Vec<String> {
    summary
        .pushes_by_party
        .iter()
        .map(|(p, n)| format!("{p} {n}"))
        .collect()
}

/// Pushes the set as its units (`replay`) and counts the answers.
async fn push(
    base_url: &str,
    pki: &Path,
    dir: &Path,
    set: &SimSet,
    summary: &mut Summary,
) -> Result<Replay, DemoError> {
    let bar = progress_bar(summary.pushed as u64, "records");
    let replay = crate::demo::replay::push_set_with_progress(
        base_url,
        pki,
        &dir.join("certs"),
        set,
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
    Ok(replay)
}

/// The provincial leads, each revoking with its own certificate (made on first use).
struct Leads<'a> {
    pki: &'a Path,
    codes: &'a HashMap<Party, String>,
    clients: HashMap<Party, reqwest::Client>,
}

impl Leads<'_> {
    fn client(&mut self, party: Party) -> Result<reqwest::Client, DemoError> {
        if let Some(c) = self.clients.get(&party) {
            return Ok(c.clone());
        }
        let code = self
            .codes
            .get(&party)
            .ok_or_else(|| DemoError::Api(format!("no provincial lead for {}", party.code())))?;
        let c = client_as(self.pki, code)?;
        self.clients.insert(party, c.clone());
        Ok(c)
    }
}

/// Withdraws up to `revoke` active flags by revoking (as the party's lead) the records they
/// rest on; answers the flags targeted.
async fn withdraw_flags(
    operator: &reqwest::Client,
    base_url: &str,
    mut leads: Leads<'_>,
    revoke: usize,
    summary: &mut Summary,
) -> Result<Vec<String>, DemoError> {
    let active = all_items(operator, &format!("{base_url}/v1/flags?status=active"), '&').await?;
    let targets: Vec<String> = active
        .iter()
        .map(|f| str_at(f, "/id").to_owned())
        .filter(|id| !id.is_empty())
        .take(revoke)
        .collect();
    summary.flags_targeted = targets.len();
    if revoke > 0 {
        println!(
            "revoking, as each party's lead, the records {} active flag(s) rest on…",
            targets.len()
        );
    }
    let mut revoked: BTreeSet<String> = BTreeSet::new();
    for id in &targets {
        // Each revocation re-evaluates the subject; the flag may re-base on other records,
        // so look again after each one.
        for _ in 0..20 {
            let (status, basis) = flag(operator, base_url, id).await?;
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
            revoke_record(&leads.client(party)?, base_url, &record).await?;
            revoked.insert(record);
        }
    }
    summary.revocations = revoked.len();
    Ok(targets)
}

async fn revoke_record(
    client: &reqwest::Client,
    base_url: &str,
    record: &str,
) -> Result<(), DemoError> {
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
    Ok(())
}

/// Waits until every event produced so far has been delivered (or has died); answers the
/// outbox counts then.
async fn wait_drained(
    operator: &reqwest::Client,
    integrator: &reqwest::Client,
    stage: &Stage<'_>,
) -> Result<Value, DemoError> {
    let (base_url, opts) = (stage.base_url, stage.opts);
    println!("waiting for the publisher to deliver every event to the sink…");
    let deadline = Instant::now() + opts.timeout;
    let mut produced = feed(integrator, base_url).await?.len();
    let bar = progress_bar(produced as u64, "events delivered");
    let stats = loop {
        let stats = outbox_stats(operator, base_url).await?;
        let (pending, delivered, dead) = (
            stat(&stats, "pending"),
            stat(&stats, "delivered"),
            stat(&stats, "dead"),
        );
        bar.set_length(produced as u64);
        bar.set_position(u64::try_from(delivered).unwrap_or(0));
        if pending == 0 {
            // The sweeper may have written more since the feed was read: read it again.
            let now = feed(integrator, base_url).await?.len();
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
                stage.settings.data_dir.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    bar.finish_and_clear();
    Ok(stats)
}

/// The feed, and what the sink received, checked against each other and the JWKS.
async fn verify_deliveries(
    integrator: &reqwest::Client,
    base_url: &str,
    sink_out: &Path,
    summary: &mut Summary,
) -> Result<(), DemoError> {
    let events = feed(integrator, base_url).await?;
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
        get_json(integrator, &format!("{base_url}/.well-known/jwks.json")).await?,
    )
    .map_err(|e| DemoError::Api(format!("JWKS: {e}")))?;
    let lines = std::fs::read_to_string(sink_out)
        .map_err(|e| DemoError::Api(format!("{}: {e}", sink_out.display())))?;
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
    Ok(())
}

/// Conflicts and flags through the API; subjects and the scores against the truth from the
/// store (`observe`).
async fn outcomes(
    operator: &reqwest::Client,
    stage: &Stage<'_>,
    set: &SimSet,
    replay: &Replay,
    summary: &mut Summary,
) -> Result<(), DemoError> {
    let base_url = stage.base_url;
    summary.conflicts = all_items(
        operator,
        &format!("{base_url}/v1/conflicts?status=all"),
        '&',
    )
    .await?
    .len();
    let flags = all_items(operator, &format!("{base_url}/v1/flags"), '?').await?;
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
    let observed = stage
        .state
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
    Ok(())
}
