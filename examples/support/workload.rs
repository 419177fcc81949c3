//! The proof harness's clients: writers that push batches of valid, distinct records as the
//! four provincial leads, each batch under its own `Idempotency-Key`, and retry with the same
//! key and body on anything but an answer (connection refused or reset, timeout, 5xx) until the
//! batch is answered: what a careful unit's client does. Every tenth answered batch has its
//! first record revoked (retried the same way; 409 "already revoked" on a retry counts as done).
//! Everything sent and answered goes into the [`Ledger`].
//!
//! Included with `#[path]`; needs `server.rs`, `checker.rs` (as `super::server`,
//! `super::checker`) and `benches/support/records.rs` (as `super::records`).

use super::checker::{Ledger, Sent};
use super::records;
use super::server::{Res, lead_code};
use penex::domain::party::Party;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Where the writers send: one or more instances of one deployment (writer `w` uses instance
/// `w % ports.len()`, and the next one after a failure).
#[derive(Debug, Clone)]
pub struct Target {
    /// The dev PKI folder (the instances share it).
    pub pki: PathBuf,
    /// The instances' ports.
    pub ports: Vec<u16>,
}

/// How the writers behave.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Records per batch.
    pub batch: usize,
    /// Writers per party lead (4 leads).
    pub writers_per_lead: usize,
    /// First record sequence number: distinct runs against one database use distinct ranges.
    pub first_seq: u64,
}

/// Running writers; [`Writers::finish`] stops them after their current batch is answered.
pub struct Writers {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<Res<()>>>,
}

impl Writers {
    /// Batches answered so far.
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    /// Stops sending new batches and waits until every batch in flight is answered (the
    /// servers must be up for that).
    pub async fn finish(self) -> Res<()> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await??;
        }
        Ok(())
    }
}

/// The name of each party's lead unit as records write it (`处罚机关`).
pub fn lead_names() -> Res<Vec<(Party, String)>> {
    let units = penex::domain::registry::parse_units_toml(&std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/units.toml"
    ))?)?;
    Party::ALL
        .iter()
        .map(|p| {
            units
                .iter()
                .find(|u| u.code.to_string() == lead_code(*p))
                .map(|u| (*p, u.name.clone()))
                .ok_or_else(|| format!("{} is not in config/units.toml", lead_code(*p)).into())
        })
        .collect()
}

/// Starts the writers.
pub fn start(target: &Target, shape: Shape, ledger: Arc<Ledger>) -> Res<Writers> {
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let leads = lead_names()?;
    let writers = leads.len() * shape.writers_per_lead.max(1);
    for w in 0..writers {
        let (party, authority) = leads.get(w % leads.len()).cloned().ok_or("no lead units")?;
        let clients = target
            .ports
            .iter()
            .map(|port| {
                super::server::client(&target.pki, Some(lead_code(party)), *port)
                    .map(|c| (c, *port))
            })
            .collect::<Res<Vec<_>>>()?;
        let writer = Writer {
            w,
            writers,
            party,
            authority,
            clients,
            shape,
            ledger: ledger.clone(),
            stop: stop.clone(),
            answered: answered.clone(),
        };
        tasks.push(tokio::spawn(writer.run()));
    }
    Ok(Writers {
        stop,
        answered,
        tasks,
    })
}

struct Writer {
    w: usize,
    writers: usize,
    party: Party,
    authority: String,
    clients: Vec<(reqwest::Client, u16)>,
    shape: Shape,
    ledger: Arc<Ledger>,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
}

/// How a request ended.
enum Outcome {
    /// Answered with this status and body.
    Answer(u16, Value),
    /// No answer (refused, reset, timed out, or the body did not arrive whole).
    Nothing,
}

impl Writer {
    async fn run(self) -> Res<()> {
        let mut n = 0_u64;
        let mut attempt = self.w;
        while !self.stop.load(Ordering::SeqCst) {
            let first = self.shape.first_seq
                + (n * self.writers as u64 + self.w as u64) * self.shape.batch as u64;
            let items: Vec<Value> = (first..first + self.shape.batch as u64)
                .map(|s| records::record(self.party, &self.authority, s))
                .collect();
            let decision_nos = (first..first + self.shape.batch as u64)
                .map(|s| records::decision_no(self.party, s))
                .collect();
            let key = format!("proof-{}-{first}", self.w);
            self.ledger.sent(Sent {
                key: key.clone(),
                authority: self.authority.clone(),
                decision_nos,
            });
            let body = json!({ "records": items });
            let ids = loop {
                match self
                    .send(&mut attempt, "/v1/records", Some(&key), &body)
                    .await
                {
                    Outcome::Answer(200, v) => break record_ids(&v),
                    Outcome::Answer(status, v) if status < 500 && status != 429 => {
                        return Err(format!("batch {key} refused: {status} {v}").into());
                    }
                    _ => pause().await,
                }
            };
            if ids.len() != self.shape.batch {
                return Err(format!("batch {key}: {} record ids answered", ids.len()).into());
            }
            if n % 10 == 9
                && let Some(first_id) = ids.first().cloned()
            {
                self.revoke(&mut attempt, &first_id).await?;
            }
            self.ledger.answered(&key, ids);
            self.answered.fetch_add(1, Ordering::SeqCst);
            n += 1;
        }
        Ok(())
    }

    async fn revoke(&self, attempt: &mut usize, id: &str) -> Res<()> {
        let path = format!("/v1/records/{id}/revoke");
        let body = json!({ "reason": "self_correction" });
        loop {
            match self.send(attempt, &path, None, &body).await {
                Outcome::Answer(200 | 409, _) => {
                    self.ledger.revoked(id);
                    return Ok(());
                }
                Outcome::Answer(status, v) if status < 500 && status != 429 => {
                    return Err(format!("revocation of {id} refused: {status} {v}").into());
                }
                _ => pause().await,
            }
        }
    }

    /// One attempt, on the instance `attempt` points at; a failure moves to the next one.
    async fn send(
        &self,
        attempt: &mut usize,
        path: &str,
        key: Option<&str>,
        body: &Value,
    ) -> Outcome {
        let Some((client, port)) = self.clients.get(*attempt % self.clients.len()) else {
            return Outcome::Nothing;
        };
        let mut req = client
            .post(format!("https://localhost:{port}{path}"))
            .timeout(Duration::from_secs(30))
            .json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let outcome = match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.json::<Value>().await {
                    Ok(v) => Outcome::Answer(status, v),
                    Err(_) => Outcome::Nothing,
                }
            }
            Err(_) => Outcome::Nothing,
        };
        match &outcome {
            Outcome::Answer(status, _) if *status >= 500 => {
                self.ledger.server_error(*status);
                *attempt += 1;
            }
            Outcome::Nothing => {
                self.ledger.unanswered();
                *attempt += 1;
            }
            Outcome::Answer(..) => {}
        }
        outcome
    }
}

async fn pause() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The record ids of a push answer, in item order.
pub fn record_ids(answer: &Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["record_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Sends every answered batch again with its key and body, as a client that lost the answer
/// would, and records each answer: the checker then compares them with the first.
pub async fn replay_all(target: &Target, shape: Shape, ledger: &Ledger) -> Res<usize> {
    let leads = lead_names()?;
    let port = *target.ports.first().ok_or("no instance")?;
    let mut clients = Vec::new();
    for (party, _) in &leads {
        clients.push(super::server::client(
            &target.pki,
            Some(lead_code(*party)),
            port,
        )?);
    }
    let sent = ledger.sent_batches();
    let mut n = 0;
    for b in sent {
        let Some(i) = leads.iter().position(|(_, name)| *name == b.authority) else {
            continue;
        };
        let (Some((party, authority)), Some(client)) = (leads.get(i), clients.get(i)) else {
            continue;
        };
        let first: u64 = b
            .key
            .rsplit('-')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or("a key without its first sequence number")?;
        let items: Vec<Value> = (first..first + shape.batch as u64)
            .map(|s| records::record(*party, authority, s))
            .collect();
        let resp = client
            .post(format!("https://localhost:{port}/v1/records"))
            .header("Idempotency-Key", &b.key)
            .json(&json!({ "records": items }))
            .send()
            .await?;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await?;
        if status != 200 {
            return Err(format!("replay of {}: {status} {v}", b.key).into());
        }
        ledger.answered(&b.key, record_ids(&v));
        n += 1;
    }
    Ok(n)
}
