//! Events for the credit platform, written in the caller's transaction. The event log is also
//! the outbox: delivery state is a cursor over it (`store::outbox`).
//!
//! Invariant: sequence numbers are gap-free and commit in order. [`next_seq`] increments the
//! `chain_heads` row `events` with `UPDATE … RETURNING`; on PostgreSQL the row lock is held until
//! the transaction ends, so a writer holding seq k blocks every other writer until k is
//! committed (or rolled back, returning k to the pool). A reader following `seq > after` can
//! therefore never see k+1 before k. Lock order, to rule out deadlocks: a transaction takes the
//! audit head (`store::audit::append`) before the events head, never the other way round.

use super::conn::insert_rows;
use super::schema::{chain_heads, events};
use super::{Conn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored event.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = events)]
pub struct EventRow {
    /// Gap-free sequence number, from 1.
    pub seq: i64,
    /// Stable id (`evt_…`), the idempotency key of every delivery.
    pub id: String,
    /// `record.published`, `record.corrected`, `record.revoked`, `flag.…`.
    pub event_type: String,
    /// The subject it concerns.
    pub subject_id: String,
    /// The record it concerns, if any.
    pub record_id: Option<String>,
    /// The flag it concerns, if any.
    pub flag_id: Option<String>,
    /// The compact JWS; its payload (`crypto::jws::payload_of`) is the event as JSON.
    pub jws: String,
    /// The key id that signed it.
    pub kid: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// Takes the next event sequence number; the `events` head stays locked until the caller's
/// transaction ends.
pub fn next_seq(conn: &mut Conn) -> Result<i64, StoreError> {
    take_seqs(conn, 1)
}

/// Takes `count` (≥ 1) consecutive sequence numbers and returns the first; the `events` head
/// stays locked until the caller's transaction ends.
pub fn take_seqs(conn: &mut Conn, count: i64) -> Result<i64, StoreError> {
    let last: i64 = diesel::update(chain_heads::table.find("events"))
        .set(chain_heads::seq.eq(chain_heads::seq + count))
        .returning(chain_heads::seq)
        .get_result(conn)?;
    Ok(last - count + 1)
}

#[derive(Insertable)]
#[diesel(table_name = events)]
#[diesel(treat_none_as_default_value = false)]
struct NewEvent<'a> {
    seq: i64,
    id: &'a str,
    event_type: &'a str,
    subject_id: &'a str,
    record_id: Option<&'a str>,
    flag_id: Option<&'a str>,
    jws: &'a str,
    kid: &'a str,
    created_at: NaiveDateTime,
}

/// Rows per multi-row insert on SQLite: well under its limit on bound parameters.
const CHUNK: usize = 500;

/// Inserts events (one binary `COPY` on PostgreSQL, multi-row inserts on SQLite). The log is
/// the outbox: nothing else is written for their delivery (`store::outbox`).
pub fn insert_many(conn: &mut Conn, rows: &[EventRow]) -> Result<(), StoreError> {
    let values: Vec<NewEvent<'_>> = rows
        .iter()
        .map(|row| NewEvent {
            seq: row.seq,
            id: &row.id,
            event_type: &row.event_type,
            subject_id: &row.subject_id,
            record_id: row.record_id.as_deref(),
            flag_id: row.flag_id.as_deref(),
            jws: &row.jws,
            kid: &row.kid,
            created_at: row.created_at,
        })
        .collect();
    insert_rows!(conn, events::table, &values, CHUNK);
    Ok(())
}

/// Events with `seq > after`, in sequence order, at most `limit`.
pub fn after(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<EventRow>, StoreError> {
    Ok(events::table
        .filter(events::seq.gt(after))
        .order(events::seq.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)?)
}

/// The event with this id.
pub fn find(conn: &mut Conn, id: &str) -> Result<Option<EventRow>, StoreError> {
    Ok(events::table
        .filter(events::id.eq(id))
        .select(EventRow::as_select())
        .first(conn)
        .optional()?)
}

/// The event with this sequence number.
pub fn by_seq(conn: &mut Conn, seq: i64) -> Result<Option<EventRow>, StoreError> {
    Ok(events::table
        .find(seq)
        .select(EventRow::as_select())
        .first(conn)
        .optional()?)
}

/// The canonical JSON of one version of a record (the current version's is the record's).
pub fn version_json(
    conn: &mut Conn,
    record_id: &str,
    version: i64,
) -> Result<Option<String>, StoreError> {
    use super::schema::{record_versions, records};
    let stored: Option<Option<String>> = record_versions::table
        .filter(record_versions::record_id.eq(record_id))
        .filter(record_versions::version.eq(version))
        .select(record_versions::canonical_json)
        .first(conn)
        .optional()?;
    match stored {
        Some(None) => Ok(records::table
            .find(record_id)
            .select(records::canonical_json)
            .first(conn)
            .optional()?),
        other => Ok(other.flatten()),
    }
}
