//! The proof harness's checker: what the clients were told (the [`Ledger`]) against what the
//! database holds afterwards. Each promise of docs/RELIABILITY.md is one [`Check`]:
//!
//! - every record of every answered batch is present;
//! - no batch is half-present (every batch sent, answered or not, is wholly there or absent);
//! - one record per identity (authority, decision number);
//! - the event feed runs from 1 without a gap, and its head names the last event;
//! - every stored change has its event (each version one `record.published`/`corrected`, each
//!   revocation one `record.revoked`) and every event its delivery state;
//! - the audit chain verifies;
//! - each idempotency key maps to one answer (every answer given under a key is the same);
//! - every answered revocation is stored;
//! - every answered repair (信用修复) is stored.
//!
//! Included with `#[path]`; needs `server.rs` as `super::server`.

use super::server::Res;
use diesel::RunQueryDsl;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

/// One batch as sent: its idempotency key and the decision numbers of its records.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The `Idempotency-Key` it was sent (and retried) with.
    pub key: String,
    /// The authority that decided every record of it.
    pub authority: String,
    /// The decision numbers of its records.
    pub decision_nos: Vec<String>,
}

/// What the clients sent and were told, shared by every writer.
#[derive(Debug, Default)]
pub struct Ledger {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    sent: Vec<Sent>,
    /// Idempotency key → every answer received under it (record ids in item order).
    answers: BTreeMap<String, Vec<Vec<String>>>,
    /// Record ids whose revocation was answered (200, or 409 for a retry that found it done).
    revoked: BTreeSet<String>,
    /// Record ids whose repair was answered (200, or 409 for a retry that found it done).
    repaired: BTreeSet<String>,
    /// Requests answered with a 5xx, by status.
    server_errors: BTreeMap<u16, u64>,
    /// Requests that got no answer at all (refused, reset, timed out) and were sent again.
    unanswered: u64,
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A batch is about to be sent for the first time.
    pub fn sent(&self, batch: Sent) {
        self.lock().sent.push(batch);
    }

    /// A batch was answered 200 under `key` with these record ids.
    pub fn answered(&self, key: &str, record_ids: Vec<String>) {
        self.lock()
            .answers
            .entry(key.to_owned())
            .or_default()
            .push(record_ids);
    }

    /// A revocation of `record_id` was answered.
    pub fn revoked(&self, record_id: &str) {
        self.lock().revoked.insert(record_id.to_owned());
    }

    /// A repair of `record_id` was answered.
    pub fn repaired(&self, record_id: &str) {
        self.lock().repaired.insert(record_id.to_owned());
    }

    /// A request was answered with a server error (a 503 while a dependency is down is
    /// expected; a 500 never is).
    pub fn server_error(&self, status: u16) {
        *self.lock().server_errors.entry(status).or_default() += 1;
    }

    /// A request got no answer and will be sent again.
    pub fn unanswered(&self) {
        self.lock().unanswered += 1;
    }

    /// Batches sent, batches answered, answers received (replays included), requests that got
    /// no answer.
    pub fn counts(&self) -> (usize, usize, usize, u64) {
        let g = self.lock();
        (
            g.sent.len(),
            g.answers.len(),
            g.answers.values().map(Vec::len).sum(),
            g.unanswered,
        )
    }

    /// The answered batches: key and the first answer's record ids.
    pub fn answered_batches(&self) -> Vec<(String, Vec<String>)> {
        self.lock()
            .answers
            .iter()
            .filter_map(|(k, a)| a.first().map(|ids| (k.clone(), ids.clone())))
            .collect()
    }

    /// The batches sent.
    pub fn sent_batches(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }
}

/// One promise and whether it held.
#[derive(Debug, Clone)]
pub struct Check {
    /// The promise.
    pub promise: &'static str,
    /// Whether it held.
    pub held: bool,
    /// Counts, or the first violations.
    pub detail: String,
}

fn check(promise: &'static str, violations: &[String], ok: String) -> Check {
    Check {
        promise,
        held: violations.is_empty(),
        detail: if violations.is_empty() {
            ok
        } else {
            format!(
                "{} violation(s), first: {}",
                violations.len(),
                violations
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        },
    }
}

#[derive(diesel::QueryableByName)]
struct RecordRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    authority_code: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    decision_no: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    version: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    revoked: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    repaired: bool,
}

#[derive(diesel::QueryableByName)]
struct EventRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    event_type: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    record_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    has_outbox: bool,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The number a `SELECT COUNT(*) AS n …` answers, on a connection of its own.
pub fn count(url: &str, sql: &str) -> Res<i64> {
    let mut conn = penex::store::DatabaseUrl::parse(url)?.establish()?;
    let rows: Vec<Count> = diesel::sql_query(sql).load(&mut conn)?;
    Ok(rows.first().map_or(0, |r| r.n))
}

#[derive(diesel::QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    record_id: String,
}

/// Reads the database at `url` and checks every promise against the ledger.
pub fn run(url: &str, ledger: &Ledger) -> Res<Vec<Check>> {
    let mut conn = penex::store::DatabaseUrl::parse(url)?.establish()?;
    let records: Vec<RecordRow> = diesel::sql_query(
        "SELECT id, authority_code, decision_no, version, \
         (revoked_at IS NOT NULL) AS revoked, (repaired_at IS NOT NULL) AS repaired \
         FROM records",
    )
    .load(&mut conn)?;
    let versions: Vec<Version> =
        diesel::sql_query("SELECT record_id FROM record_versions").load(&mut conn)?;
    let events: Vec<EventRow> = diesel::sql_query(
        "SELECT e.seq, e.event_type, e.record_id, \
           (x.event_seq IS NULL OR x.event_seq <= c.delivered_through) AS has_outbox \
         FROM events e CROSS JOIN delivery_cursors c \
         LEFT JOIN delivery_exceptions x ON x.connector = c.connector AND x.event_seq = e.seq \
         WHERE c.connector = 'platform' ORDER BY e.seq",
    )
    .load(&mut conn)?;
    let head: Vec<Count> =
        diesel::sql_query("SELECT seq AS n FROM chain_heads WHERE name = 'events'")
            .load(&mut conn)?;
    let units: HashMap<String, String> = penex::domain::registry::parse_units_toml(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/units.toml"))?,
    )?
    .into_iter()
    .map(|u| (u.name, u.code.to_string()))
    .collect();

    let by_id: HashMap<&str, &RecordRow> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut out = Vec::new();

    // Every record of every answered batch is present.
    let answered = ledger.answered_batches();
    let mut lost = Vec::new();
    let mut answered_records = 0;
    for (key, ids) in &answered {
        for id in ids {
            answered_records += 1;
            if !by_id.contains_key(id.as_str()) {
                lost.push(format!("{id} of batch {key}"));
            }
        }
    }
    out.push(check(
        "every record of every answered batch is present",
        &lost,
        format!(
            "{answered_records} records of {} answered batches",
            answered.len()
        ),
    ));

    // No batch is half-present.
    let present: BTreeSet<(&str, &str)> = records
        .iter()
        .map(|r| (r.authority_code.as_str(), r.decision_no.as_str()))
        .collect();
    let sent = ledger.sent_batches();
    let (mut half, mut whole, mut absent) = (Vec::new(), 0, 0);
    for b in &sent {
        let code = units.get(&b.authority).map_or("", String::as_str);
        let n = b
            .decision_nos
            .iter()
            .filter(|no| present.contains(&(code, no.as_str())))
            .count();
        if n == 0 {
            absent += 1;
        } else if n == b.decision_nos.len() {
            whole += 1;
        } else {
            half.push(format!("{}: {n}/{}", b.key, b.decision_nos.len()));
        }
    }
    out.push(check(
        "no batch is half-present",
        &half,
        format!(
            "{} batches sent: {whole} whole, {absent} absent",
            sent.len()
        ),
    ));

    // One record per identity.
    let mut identities: HashMap<(&str, &str), u32> = HashMap::new();
    for r in &records {
        *identities
            .entry((r.authority_code.as_str(), r.decision_no.as_str()))
            .or_default() += 1;
    }
    let twice: Vec<String> = identities
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|((a, d), n)| format!("{a} {d} ×{n}"))
        .collect();
    out.push(check(
        "one record per identity",
        &twice,
        format!("{} records", records.len()),
    ));

    // The feed from 1 without a gap, its head at the last event.
    let mut gaps = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let expected = i64::try_from(i).unwrap_or(i64::MAX) + 1;
        if e.seq != expected {
            gaps.push(format!("position {expected} holds seq {}", e.seq));
            break;
        }
    }
    let last = events.last().map_or(0, |e| e.seq);
    let head = head.first().map_or(-1, |h| h.n);
    if head != last {
        gaps.push(format!("the head says {head}, the last event is {last}"));
    }
    out.push(check(
        "the event feed runs from 1 without a gap or a repeat",
        &gaps,
        format!("{} events, seq 1..={last}", events.len()),
    ));

    // Every change has its event, every event a consistent delivery state (the log is the
    // outbox: the cursor plus the exceptions behind it).
    let mut per_record: HashMap<&str, (u32, u32)> = HashMap::new();
    let mut no_outbox = Vec::new();
    for e in &events {
        if !e.has_outbox {
            no_outbox.push(format!(
                "event {} is a delivery exception beyond the delivery cursor",
                e.seq
            ));
        }
        if let Some(r) = &e.record_id {
            let entry = per_record.entry(r.as_str()).or_default();
            match e.event_type.as_str() {
                "record.published" | "record.corrected" => entry.0 += 1,
                "record.revoked" => entry.1 += 1,
                _ => {}
            }
        }
    }
    let mut versions_of: HashMap<&str, u32> = HashMap::new();
    for v in &versions {
        *versions_of.entry(v.record_id.as_str()).or_default() += 1;
    }
    let mut missing = no_outbox;
    for r in &records {
        let (changes, revocations) = per_record.get(r.id.as_str()).copied().unwrap_or((0, 0));
        let stored = versions_of.get(r.id.as_str()).copied().unwrap_or(0);
        if i64::from(stored) != r.version {
            missing.push(format!(
                "{} is at version {} with {stored} versions",
                r.id, r.version
            ));
        }
        if changes != stored {
            missing.push(format!(
                "{}: {stored} versions, {changes} change events",
                r.id
            ));
        }
        if u32::from(r.revoked) != revocations {
            missing.push(format!(
                "{}: revoked {}, {revocations} revocation events",
                r.id, r.revoked
            ));
        }
    }
    out.push(check(
        "every stored change has its event, every event its delivery state",
        &missing,
        format!("{} versions, {} events", versions.len(), events.len()),
    ));

    // The audit chain.
    let verdict = penex::store::audit::verify(&mut conn)?;
    let broken = match &verdict {
        penex::store::audit::Verification::Intact { .. } => Vec::new(),
        other => vec![format!("{other:?}")],
    };
    out.push(check(
        "the audit chain verifies",
        &broken,
        format!("{verdict:?}"),
    ));

    // One answer per idempotency key.
    let inner = ledger.lock();
    let mut differing = Vec::new();
    let mut replays = 0;
    for (key, answers) in &inner.answers {
        replays += answers.len().saturating_sub(1);
        if let Some(first) = answers.first()
            && answers.iter().any(|a| a != first)
        {
            differing.push(format!("{key}: {} different answers", answers.len()));
        }
    }
    out.push(check(
        "each idempotency key maps to one answer",
        &differing,
        format!("{} keys, {replays} replays compared", inner.answers.len()),
    ));

    // Answered revocations are stored.
    let unrevoked: Vec<String> = inner
        .revoked
        .iter()
        .filter(|id| !by_id.get(id.as_str()).is_some_and(|r| r.revoked))
        .cloned()
        .collect();
    out.push(check(
        "every answered revocation is stored",
        &unrevoked,
        format!("{} revocations", inner.revoked.len()),
    ));

    // Answered repairs are stored.
    let unrepaired: Vec<String> = inner
        .repaired
        .iter()
        .filter(|id| !by_id.get(id.as_str()).is_some_and(|r| r.repaired))
        .cloned()
        .collect();
    out.push(check(
        "every answered repair is stored",
        &unrepaired,
        format!("{} repairs", inner.repaired.len()),
    ));

    // No 500.
    let fives: Vec<String> = inner
        .server_errors
        .iter()
        .filter(|(s, _)| **s != 503)
        .map(|(s, n)| format!("{n}× HTTP {s}"))
        .collect();
    out.push(check(
        "no 5xx but 503 (a dependency down) was answered",
        &fives,
        format!(
            "{} × 503",
            inner.server_errors.get(&503).copied().unwrap_or(0)
        ),
    ));
    Ok(out)
}
