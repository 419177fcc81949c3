//! Events: every change the credit platform must mirror (a record published, corrected or
//! revoked; later every flag transition) becomes an event in the SAME transaction as the
//! change: the next gap-free sequence number, a payload with the subject's identifiers masked
//! as for analysts, a JWS signed once with the current key. The event log is the outbox: the
//! publisher's cursor delivers it (`store::outbox`), so nothing else is written per event.
//!
//! Flags plug in with one call to [`emit`] per transition (an [`EventDraft`] with a `flag.*`
//! type, the flag's state and its basis).
//!
//! Invariants: the payload never holds an ID number in clear (sealed values are revealed
//! masked); `emit` must run after the transaction's audit append (lock order audit → events,
//! see `store::events`).

use crate::crypto::jws::{Signer as _, sign_compact};
use crate::crypto::pii::PiiKeyring;
use crate::publish::EventKeys;
use crate::service::ingest::{ItemOutcome, ItemStatus};
use crate::service::sealing::{Reveal, reveal};
use crate::store::{self, Conn, StoreError};
use serde_json::{Value, json};
use std::sync::Arc;

/// The JWS `typ` of penex events.
pub const JWS_TYP: &str = "penex-event+jws";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A new record is published (first version).
    RecordPublished,
    /// A published record was corrected (a new version).
    RecordCorrected,
    /// A published record was revoked: the platform must withdraw it (art. 48).
    RecordRevoked,
    /// A record's publicity ended early through credit repair (信用修复): the platform stops
    /// showing it.
    RecordRepaired,
    /// A flag became active.
    FlagActivated,
    /// A flag ended at its end date.
    FlagExpired,
    /// A flag ended early through credit repair.
    FlagRepaired,
    /// A flag was withdrawn: its basis was revoked or corrected away.
    FlagWithdrawn,
}

impl EventType {
    /// The name written in the payload and the `events` table.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::RecordPublished => "record.published",
            EventType::RecordCorrected => "record.corrected",
            EventType::RecordRevoked => "record.revoked",
            EventType::RecordRepaired => "record.repaired",
            EventType::FlagActivated => "flag.activated",
            EventType::FlagExpired => "flag.expired",
            EventType::FlagRepaired => "flag.repaired",
            EventType::FlagWithdrawn => "flag.withdrawn",
        }
    }

    fn is_flag(self) -> bool {
        matches!(
            self,
            EventType::FlagActivated
                | EventType::FlagExpired
                | EventType::FlagRepaired
                | EventType::FlagWithdrawn
        )
    }
}

/// What a caller knows about a change.
#[derive(Debug, Clone)]
pub struct EventDraft {
    /// What happened.
    pub event_type: EventType,
    /// The subject concerned (`sub_…`).
    pub subject_id: String,
    /// The record concerned.
    pub record_id: Option<String>,
    /// The flag concerned.
    pub flag_id: Option<String>,
    /// The record's or flag's state after the change; personal data already masked or sealed
    /// (sealed values are revealed masked here).
    pub state: Value,
    /// Why: for a flag the records it rests on, for a record the submission.
    pub basis: Value,
}

/// What `emit` needs: the signing keys and the personal-data keys (to mask sealed values).
#[derive(Debug, Clone)]
pub struct Emitter {
    /// Signing keys.
    pub keys: Arc<EventKeys>,
    /// Personal-data keys.
    pub pii: Arc<PiiKeyring>,
}

fn new_event_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| StoreError::Corrupt("the system random generator failed".into()))?;
    Ok(format!("evt_{}", hex::encode(bytes)))
}

/// The subject as the platform sees it: identifiers of organizations, never identity
/// documents (those are kept only as blind indexes).
fn subject_view(row: Option<&store::subjects::SubjectRow>, subject_id: &str) -> Value {
    let Some(row) = row else {
        return json!({ "id": subject_id });
    };
    let shows_identifier = matches!(
        row.key_kind.as_str(),
        "uscc" | "org_code" | "registration_no"
    );
    let mut v = json!({
        "id": row.id,
        "kind": row.kind,
        "key_kind": row.key_kind,
        "strong": row.strong,
        "name": row.name,
    });
    if shows_identifier && let Some(map) = v.as_object_mut() {
        map.insert("identifier".into(), Value::String(row.key_value.clone()));
    }
    v
}

/// Writes one event in the caller's transaction; returns the stored row.
pub fn emit(
    conn: &mut Conn,
    emitter: &Emitter,
    draft: EventDraft,
) -> Result<store::events::EventRow, StoreError> {
    emit_many(conn, emitter, vec![draft])?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("no event was written".into()))
}

/// Writes these events, in order, with consecutive sequence numbers, in
/// the caller's transaction: [`stage`] then [`write_staged`].
pub fn emit_many(
    conn: &mut Conn,
    emitter: &Emitter,
    drafts: Vec<EventDraft>,
) -> Result<Vec<store::events::EventRow>, StoreError> {
    let staged = stage(conn, emitter, drafts)?;
    write_staged(conn, emitter, staged)
}

/// One event built up to its sequence number: everything but `seq` and the signature.
#[derive(Debug)]
struct StagedEvent {
    id: String,
    event_type: EventType,
    subject_id: String,
    record_id: Option<String>,
    flag_id: Option<String>,
    /// The payload's members after `id` and `seq`, as compact JSON without the opening brace.
    rest: String,
}

/// Events built by [`stage`], waiting for their sequence numbers.
#[derive(Debug)]
pub struct Staged {
    events: Vec<StagedEvent>,
    created_at: chrono::NaiveDateTime,
}

/// Builds the events of these drafts (subject views read in one query, sealed values masked,
/// payloads serialized) without taking a sequence number. No lock is taken, so a writer can
/// stage before its audit append and keep the span in which it holds the event sequence (and
/// so makes every other writer wait) short.
pub fn stage(
    conn: &mut Conn,
    emitter: &Emitter,
    drafts: Vec<EventDraft>,
) -> Result<Staged, StoreError> {
    let created_at = store::now_utc();
    let subject_ids: Vec<String> = drafts.iter().map(|d| d.subject_id.clone()).collect();
    let subjects: std::collections::HashMap<String, store::subjects::SubjectRow> =
        if drafts.is_empty() {
            std::collections::HashMap::new()
        } else {
            store::subjects::find_many(conn, &subject_ids)?
                .into_iter()
                .map(|s| (s.id.clone(), s))
                .collect()
        };
    let occurred_at = created_at
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut events = Vec::with_capacity(drafts.len());
    for draft in drafts {
        let mut state = draft.state;
        reveal(&emitter.pii, &mut state, Reveal::Masked);
        let mut basis = draft.basis;
        reveal(&emitter.pii, &mut basis, Reveal::Masked);
        let mut rest = json!({
            "type": draft.event_type.as_str(),
            "occurred_at": occurred_at,
            "subject": subject_view(subjects.get(&draft.subject_id), &draft.subject_id),
        });
        if let Some(map) = rest.as_object_mut() {
            let key = if draft.event_type.is_flag() {
                "flag"
            } else {
                "record"
            };
            map.insert(key.into(), state);
            map.insert("basis".into(), basis);
        }
        let rest = rest.to_string();
        let rest = rest
            .strip_prefix('{')
            .ok_or_else(|| StoreError::Corrupt("an event payload is not an object".into()))?
            .to_owned();
        events.push(StagedEvent {
            id: new_event_id()?,
            event_type: draft.event_type,
            subject_id: draft.subject_id,
            record_id: draft.record_id,
            flag_id: draft.flag_id,
            rest,
        });
    }
    Ok(Staged { events, created_at })
}

/// The payload `{"id", "seq", ...rest}` as serde_json writes it, from `rest` serialized
/// without its opening brace (event ids are hex: nothing to escape; `rest` is never empty).
fn payload_text(id: &str, seq: i64, rest: &str) -> String {
    format!("{{\"id\":\"{id}\",\"seq\":{seq},{rest}")
}

/// Takes the staged events' sequence numbers (the `events` head stays locked until the
/// transaction ends: call after the audit append), signs each payload and writes the events
/// in one statement per backend (`store::events::insert_many`). Returns the stored rows.
pub fn write_staged(
    conn: &mut Conn,
    emitter: &Emitter,
    staged: Staged,
) -> Result<Vec<store::events::EventRow>, StoreError> {
    if staged.events.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(staged.events.len())
        .map_err(|_| StoreError::Corrupt("too many events in one transaction".into()))?;
    let first = store::events::take_seqs(conn, count)?;
    let keys = emitter.keys.get();
    let signer = keys.current();
    let mut rows = Vec::with_capacity(staged.events.len());
    for (seq, e) in (first..).zip(staged.events) {
        let payload = payload_text(&e.id, seq, &e.rest);
        let jws = sign_compact(signer, payload.as_bytes(), Some(JWS_TYP))
            .map_err(|err| StoreError::Corrupt(format!("event signing failed: {err}")))?;
        rows.push(store::events::EventRow {
            seq,
            id: e.id,
            event_type: e.event_type.as_str().to_owned(),
            subject_id: e.subject_id,
            record_id: e.record_id,
            flag_id: e.flag_id,
            jws,
            kid: signer.kid().to_owned(),
            created_at: staged.created_at,
        });
    }
    store::events::insert_many(conn, &rows)?;
    for row in &rows {
        tracing::debug!(event.seq = row.seq, event.id = %row.id, event.r#type = %row.event_type, "event emitted");
    }
    Ok(rows)
}

/// A record's state after a change: identity, status, the canonical record of `version`
/// (sealed ID numbers, masked by `emit`) and the revocation when revoked.
pub fn record_state(
    conn: &mut Conn,
    record_id: &str,
    version: Option<i64>,
) -> Result<Option<(String, Value)>, StoreError> {
    let Some(row) = store::records::find(conn, record_id)? else {
        return Ok(None);
    };
    state_of_row(conn, &row, version).map(Some)
}

/// Stored JSON read back for a signed payload. Text penex wrote itself that no longer parses
/// is corruption: the write fails (and rolls back) rather than sign `null` in its place.
fn stored_json(text: &str, column: &str, row: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("{column} of {row} is not JSON: {e}")))
}

/// [`record_state`] of a row already read (reads the version's JSON only when `version` is
/// not the current one).
fn state_of_row(
    conn: &mut Conn,
    row: &store::records::RecordRow,
    version: Option<i64>,
) -> Result<(String, Value), StoreError> {
    let record_id = row.id.as_str();
    let version = version.unwrap_or(row.version);
    let canonical = if version == row.version {
        row.canonical_json.clone()
    } else {
        store::events::version_json(conn, record_id, version)?
            .unwrap_or_else(|| row.canonical_json.clone())
    };
    let mut state = json!({
        "id": row.id,
        "version": version,
        "status": row.status,
        "authority_code": row.authority_code,
        "party": row.party,
        "decision_no": row.decision_no,
        "decision_date": row.decision_date,
        "publicity_until": row.publicity_until,
        "canonical": stored_json(&canonical, "records.canonical_json", record_id)?,
    });
    if let (Some(c), Some(map)) = (&row.conflict_id, state.as_object_mut()) {
        map.insert(
            "conflict".into(),
            json!({ "id": c, "role": row.conflict_role }),
        );
    }
    if let (Some(at), Some(map)) = (row.repaired_at, state.as_object_mut()) {
        map.insert(
            "repaired_at".into(),
            json!(
                at.and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            ),
        );
    }
    if let (Some(at), Some(map)) = (row.revoked_at, state.as_object_mut()) {
        map.insert(
            "revocation".into(),
            json!({
                "at": at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "reason": row.revoke_reason,
            }),
        );
    }
    let subject = row
        .subject_id
        .clone()
        .unwrap_or_else(|| format!("unresolved:{}", row.id));
    Ok((subject, state))
}

/// The events of a push: `record.published` for each accepted item (a loser of a conflict
/// too), `record.corrected` for each corrected one; nothing for duplicates and rejections. The
/// records' states come from `known` rows (current, read in this transaction after its writes)
/// or else are read in one query. Stage and write them after the push's audit entry.
pub fn outcome_drafts<'r>(
    conn: &mut Conn,
    outcomes: &[ItemOutcome],
    batch_id: &str,
    unit_code: &str,
    known: impl IntoIterator<Item = &'r store::records::RecordRow>,
) -> Result<Vec<EventDraft>, StoreError> {
    let wanted: Vec<(EventType, &ItemOutcome, &str)> = outcomes
        .iter()
        .filter_map(|o| {
            let event_type = match o.status {
                // A record that lost jurisdiction is still a published decision; its state
                // says `conflict_role: loser`.
                ItemStatus::Accepted | ItemStatus::Conflict => EventType::RecordPublished,
                ItemStatus::Corrected => EventType::RecordCorrected,
                ItemStatus::Duplicate | ItemStatus::Rejected => return None,
            };
            Some((event_type, o, o.record_id.as_deref()?))
        })
        .collect();
    let known: std::collections::HashMap<&str, &store::records::RecordRow> =
        known.into_iter().map(|r| (r.id.as_str(), r)).collect();
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(_, _, id)| !known.contains_key(*id))
        .map(|(_, _, id)| (*id).to_owned())
        .collect();
    let fetched = store::records::find_many(conn, &missing)?;
    let fetched: std::collections::HashMap<&str, &store::records::RecordRow> =
        fetched.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut drafts = Vec::with_capacity(wanted.len());
    for (event_type, o, record_id) in wanted {
        let Some(row) = known.get(record_id).or_else(|| fetched.get(record_id)) else {
            continue;
        };
        let (subject_id, state) = state_of_row(conn, row, o.version)?;
        drafts.push(EventDraft {
            event_type,
            subject_id,
            record_id: Some(record_id.to_owned()),
            flag_id: None,
            state,
            basis: json!({ "batch_id": batch_id, "unit": unit_code, "item": o.index }),
        });
    }
    Ok(drafts)
}

/// The `record.revoked` event of a revocation. Call inside the revocation's transaction,
/// after its audit entry.
pub fn emit_revoked(
    conn: &mut Conn,
    emitter: &Emitter,
    record_id: &str,
    actor: &str,
) -> Result<(), StoreError> {
    emit_record(
        conn,
        emitter,
        record_id,
        EventType::RecordRevoked,
        json!({ "revoked_by": actor }),
    )
}

/// The `record.repaired` event of a credit repair. Call inside the repair's transaction, after
/// its audit entry.
pub fn emit_repaired(
    conn: &mut Conn,
    emitter: &Emitter,
    record_id: &str,
    actor: &str,
) -> Result<(), StoreError> {
    emit_record(
        conn,
        emitter,
        record_id,
        EventType::RecordRepaired,
        json!({ "repaired_by": actor }),
    )
}

/// One event about a stored record in its current state (nothing for a record not stored).
fn emit_record(
    conn: &mut Conn,
    emitter: &Emitter,
    record_id: &str,
    event_type: EventType,
    basis: Value,
) -> Result<(), StoreError> {
    let Some((subject_id, state)) = record_state(conn, record_id, None)? else {
        return Ok(());
    };
    emit(
        conn,
        emitter,
        EventDraft {
            event_type,
            subject_id,
            record_id: Some(record_id.to_owned()),
            flag_id: None,
            state,
            basis,
        },
    )?;
    Ok(())
}

/// One event per flag change written by `service::flags::reevaluate`: `flag.activated` when
/// the flag is active after the change (new, re-based or back in force), else
/// `flag.expired` / `flag.repaired` / `flag.withdrawn`. The state is the flag after the
/// change; the basis lists the records it rests on. Call after the transaction's audit entry.
pub fn emit_flag_changes(
    conn: &mut Conn,
    emitter: &Emitter,
    changes: &[crate::service::flags::Change],
) -> Result<usize, StoreError> {
    Ok(emit_many(conn, emitter, flag_drafts(changes)?)?.len())
}

/// The drafts of [`emit_flag_changes`].
pub fn flag_drafts(
    changes: &[crate::service::flags::Change],
) -> Result<Vec<EventDraft>, StoreError> {
    use crate::rules::flags::FlagStatus;
    let mut drafts = Vec::with_capacity(changes.len());
    for ch in changes {
        let f = &ch.flag;
        let event_type = match FlagStatus::parse(&f.status) {
            Some(FlagStatus::Active) => EventType::FlagActivated,
            Some(FlagStatus::Expired) => EventType::FlagExpired,
            Some(FlagStatus::Repaired) => EventType::FlagRepaired,
            Some(FlagStatus::Withdrawn) => EventType::FlagWithdrawn,
            None => {
                return Err(StoreError::Corrupt(format!(
                    "flags.status of {} is {:?}, no flag status",
                    f.id, f.status
                )));
            }
        };
        let basis = stored_json(&f.basis_json, "flags.basis_json", &f.id)?;
        drafts.push(EventDraft {
            event_type,
            subject_id: f.subject_id.clone(),
            record_id: None,
            flag_id: Some(f.id.clone()),
            state: json!({
                "id": f.id,
                "rule_id": f.rule_id,
                "severity": f.severity,
                "status": f.status,
                "previous_status": ch.before.map(FlagStatus::as_str),
                "effective_from": f.effective_from,
                "effective_until": f.effective_until,
                "version": f.version,
                "parties": f.parties.split(',').filter(|p| !p.is_empty()).collect::<Vec<_>>(),
            }),
            basis: json!({ "records": basis }),
        });
    }
    Ok(drafts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The payload spliced from its staged rest is byte for byte what serializing the
        /// whole object writes: the signature covers the bytes receivers parse.
        #[test]
        fn spliced_payload_is_the_serialized_object(
            id in "evt_[0-9a-f]{32}",
            seq in 1i64..i64::MAX,
            name in "\\PC{0,24}",
            fine in proptest::option::of(0i64..10_000_000_000),
        ) {
            let rest = json!({
                "type": "record.published",
                "occurred_at": "2026-12-03T12:00:00.000000Z",
                "subject": {"id": "sub_x", "name": name},
                "record": {"fine_fen": fine, "canonical": {"a": [1, "\"", null]}},
                "basis": {"batch_id": "b"},
            });
            let mut whole = json!({"id": id, "seq": seq});
            if let (Some(w), Some(r)) = (whole.as_object_mut(), rest.as_object()) {
                w.extend(r.clone());
            }
            let text = rest.to_string();
            let staged = text.strip_prefix('{').unwrap();
            prop_assert_eq!(payload_text(&id, seq, staged), whole.to_string());
        }
    }
}
