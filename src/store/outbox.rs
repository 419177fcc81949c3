//! The outbox: one delivery row per event, leased by publisher workers.
//!
//! Invariants:
//! - a row is leased by at most one worker at a time: on PostgreSQL the candidate rows are
//!   locked `FOR UPDATE SKIP LOCKED` inside the leasing `UPDATE`, so concurrent instances take
//!   disjoint rows; on SQLite the `UPDATE` runs under `BEGIN IMMEDIATE`;
//! - per-subject order: a row is leased only when every earlier row of its subject is
//!   `delivered`. A `dead` row therefore blocks its subject's later events until an operator
//!   retries it (the platform must never apply a later state before an earlier one);
//! - results are written only by the lease owner (`lease_owner = me`): a worker whose lease ran
//!   out and was taken over cannot overwrite the new owner's result.

use super::conn::AnyConnection;
use super::schema::{events, outbox};
use super::{Conn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

/// A leased row with what is needed to deliver it.
#[derive(Debug, Clone)]
pub struct Leased {
    /// Event sequence number.
    pub seq: i64,
    /// Event id (the idempotency key).
    pub event_id: String,
    /// The subject.
    pub subject_id: String,
    /// The compact JWS to POST.
    pub jws: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

#[derive(QueryableByName)]
struct SeqRow {
    #[diesel(sql_type = BigInt)]
    event_seq: i64,
}

const LEASE_PG: &str = "UPDATE outbox SET leased_until = $1, lease_owner = $2 \
    WHERE event_seq IN ( \
      SELECT o.event_seq FROM outbox o \
      WHERE o.status = 'pending' AND o.next_attempt_at <= $3 \
        AND (o.leased_until IS NULL OR o.leased_until < $3) \
        AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.subject_id = o.subject_id \
                        AND e.event_seq < o.event_seq AND e.status <> 'delivered') \
      ORDER BY o.event_seq LIMIT $4 \
      FOR UPDATE SKIP LOCKED) \
    RETURNING event_seq";

const LEASE_SQLITE: &str = "UPDATE outbox SET leased_until = ?, lease_owner = ? \
    WHERE event_seq IN ( \
      SELECT o.event_seq FROM outbox o \
      WHERE o.status = 'pending' AND o.next_attempt_at <= ? \
        AND (o.leased_until IS NULL OR o.leased_until < ?) \
        AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.subject_id = o.subject_id \
                        AND e.event_seq < o.event_seq AND e.status <> 'delivered') \
      ORDER BY o.event_seq LIMIT ?) \
    RETURNING event_seq";

/// Leases up to `limit` due rows for `owner` until `until`. Run it in its own short write
/// transaction; deliveries happen outside any transaction.
pub fn lease(
    conn: &mut Conn,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Leased>, StoreError> {
    super::failpoint::hit("outbox.lease")?;
    let seqs: Vec<SeqRow> = match conn {
        AnyConnection::Postgresql(c) => diesel::sql_query(LEASE_PG)
            .bind::<Timestamp, _>(until)
            .bind::<Text, _>(owner)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(c)?,
        AnyConnection::Sqlite(c) => diesel::sql_query(LEASE_SQLITE)
            .bind::<Timestamp, _>(until)
            .bind::<Text, _>(owner)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(c)?,
    };
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let seqs: Vec<i64> = seqs.into_iter().map(|s| s.event_seq).collect();
    super::failpoint::hit("outbox.lease_read")?;
    let rows: Vec<(i64, String, String, String, i64)> = outbox::table
        .inner_join(events::table)
        .filter(outbox::event_seq.eq_any(&seqs))
        .filter(outbox::lease_owner.eq(owner))
        .order(outbox::event_seq.asc())
        .select((
            outbox::event_seq,
            outbox::event_id,
            outbox::subject_id,
            events::jws,
            outbox::attempts,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(seq, event_id, subject_id, jws, attempts)| Leased {
            seq,
            event_id,
            subject_id,
            jws,
            attempts,
        })
        .collect())
}

/// Records a successful delivery. `false` when `owner` no longer holds the lease.
pub fn mark_delivered(
    conn: &mut Conn,
    seq: i64,
    owner: &str,
    status: i64,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    super::failpoint::hit("outbox.mark_delivered")?;
    let n = diesel::update(
        outbox::table
            .find(seq)
            .filter(outbox::lease_owner.eq(owner))
            .filter(outbox::status.eq("pending")),
    )
    .set((
        outbox::status.eq("delivered"),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::delivered_at.eq(Some(now)),
        outbox::last_status.eq(Some(status)),
        outbox::last_error.eq(None::<String>),
        outbox::leased_until.eq(None::<NaiveDateTime>),
        outbox::lease_owner.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records a failed attempt: retried at `next` (`Some`) or dead (`None`).
pub fn mark_failed(
    conn: &mut Conn,
    seq: i64,
    owner: &str,
    status: Option<i64>,
    error: &str,
    next: Option<NaiveDateTime>,
) -> Result<bool, StoreError> {
    super::failpoint::hit("outbox.mark_failed")?;
    let target = outbox::table
        .find(seq)
        .filter(outbox::lease_owner.eq(owner))
        .filter(outbox::status.eq("pending"));
    let common = (
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::last_status.eq(status),
        outbox::last_error.eq(Some(error)),
        outbox::leased_until.eq(None::<NaiveDateTime>),
        outbox::lease_owner.eq(None::<String>),
    );
    let n = match next {
        Some(at) => diesel::update(target)
            .set((common, outbox::next_attempt_at.eq(at)))
            .execute(conn)?,
        None => diesel::update(target)
            .set((common, outbox::status.eq("dead")))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// Gives a row back without counting an attempt (the worker is stopping).
pub fn release(conn: &mut Conn, seq: i64, owner: &str) -> Result<(), StoreError> {
    diesel::update(
        outbox::table
            .find(seq)
            .filter(outbox::lease_owner.eq(owner))
            .filter(outbox::status.eq("pending")),
    )
    .set((
        outbox::leased_until.eq(None::<NaiveDateTime>),
        outbox::lease_owner.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(())
}

/// An outbox row with its event's type, for operators.
#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct OutboxView {
    /// Event sequence number.
    pub event_seq: i64,
    /// Event id (`evt_…`).
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// The subject.
    pub subject_id: String,
    /// pending, delivered or dead.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (pending rows).
    #[serde(serialize_with = "crate::store::utc::ser")]
    pub next_attempt_at: NaiveDateTime,
    /// The last error (network error or the connector's status and answer).
    pub last_error: Option<String>,
    /// The connector's last HTTP status.
    pub last_status: Option<i64>,
    /// When it was delivered.
    #[serde(serialize_with = "crate::store::utc::ser_opt")]
    pub delivered_at: Option<NaiveDateTime>,
    /// When the event was created.
    #[serde(serialize_with = "crate::store::utc::ser")]
    pub created_at: NaiveDateTime,
}

/// Rows with this status (all when `None`), oldest first, at most `limit`, after `after_seq`.
pub fn list(
    conn: &mut Conn,
    status: Option<&str>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<OutboxView>, StoreError> {
    let mut q = outbox::table
        .inner_join(events::table)
        .filter(outbox::event_seq.gt(after_seq))
        .order(outbox::event_seq.asc())
        .limit(limit)
        .select((
            outbox::event_seq,
            outbox::event_id,
            events::event_type,
            outbox::subject_id,
            outbox::status,
            outbox::attempts,
            outbox::next_attempt_at,
            outbox::last_error,
            outbox::last_status,
            outbox::delivered_at,
            outbox::created_at,
        ))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(outbox::status.eq(s));
    }
    Ok(q.load(conn)?)
}

/// The row of this event id.
pub fn find(conn: &mut Conn, event_id: &str) -> Result<Option<OutboxView>, StoreError> {
    Ok(outbox::table
        .inner_join(events::table)
        .filter(outbox::event_id.eq(event_id))
        .select((
            outbox::event_seq,
            outbox::event_id,
            events::event_type,
            outbox::subject_id,
            outbox::status,
            outbox::attempts,
            outbox::next_attempt_at,
            outbox::last_error,
            outbox::last_status,
            outbox::delivered_at,
            outbox::created_at,
        ))
        .first(conn)
        .optional()?)
}

/// Makes a dead or pending row due now with a fresh attempt budget. `false` when the row is
/// delivered (nothing to do) or absent.
pub fn retry(conn: &mut Conn, event_id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let n = diesel::update(
        outbox::table
            .filter(outbox::event_id.eq(event_id))
            .filter(outbox::status.ne("delivered")),
    )
    .set((
        outbox::status.eq("pending"),
        outbox::attempts.eq(0_i64),
        outbox::next_attempt_at.eq(now),
        outbox::leased_until.eq(None::<NaiveDateTime>),
        outbox::lease_owner.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Counts for operators and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct OutboxStats {
    /// Rows not yet delivered and not dead (the backlog).
    pub pending: i64,
    /// Of those, rows that failed at least once (retrying).
    pub retrying: i64,
    /// Rows delivered.
    pub delivered: i64,
    /// Dead letters.
    pub dead: i64,
    /// Delivery attempts made in all.
    pub attempts: i64,
    /// Creation time of the oldest undelivered (pending or dead) event.
    #[serde(serialize_with = "crate::store::utc::ser_opt")]
    pub oldest_undelivered_at: Option<NaiveDateTime>,
}

/// Counts by status, attempts and the oldest undelivered event.
pub fn stats(conn: &mut Conn) -> Result<OutboxStats, StoreError> {
    #[derive(QueryableByName)]
    struct ByStatus {
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = BigInt)]
        attempts: i64,
    }
    // SUM(bigint) is numeric on PostgreSQL: cast it back so both backends agree.
    let by_status: Vec<ByStatus> = diesel::sql_query(
        "SELECT status, COUNT(*) AS n, CAST(COALESCE(SUM(attempts), 0) AS BIGINT) AS attempts \
         FROM outbox GROUP BY status",
    )
    .load(conn)?;
    let retrying: i64 = outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::attempts.gt(0))
        .count()
        .get_result(conn)?;
    let oldest: Option<NaiveDateTime> = outbox::table
        .filter(outbox::status.ne("delivered"))
        .select(diesel::dsl::min(outbox::created_at))
        .first(conn)?;
    let mut s = OutboxStats {
        retrying,
        oldest_undelivered_at: oldest,
        ..OutboxStats::default()
    };
    for ByStatus {
        status,
        n,
        attempts,
    } in by_status
    {
        s.attempts += attempts;
        match status.as_str() {
            "pending" => s.pending = n,
            "delivered" => s.delivered = n,
            "dead" => s.dead = n,
            _ => {}
        }
    }
    Ok(s)
}
