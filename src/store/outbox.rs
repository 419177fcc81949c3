//! The event log is the outbox: delivery state per connector is a cursor (every event with
//! `seq <= delivered_through` has been handed to the connector) plus a small table of the
//! exceptions (events being retried, waiting behind an earlier undelivered event of their
//! subject, or dead), and one row per round of the cursor (when its events were delivered).
//! A push writes no delivery row at all.
//!
//! Invariants:
//! - one publisher instance at a time moves a connector's cursor: it holds the cursor's lease
//!   (`lease_owner`, `leased_until`), and [`commit_round`] moves the cursor only when the caller
//!   still holds the lease *and* the cursor is where the round started, so a round delivered
//!   by an instance whose lease ran out is never recorded twice (its deliveries were identical
//!   bytes under the same idempotency key: the connector may see them twice, never differently);
//! - events are read from the log in sequence order, and sequence numbers commit in order
//!   (`store::events`), so the cursor never passes an event that commits late;
//! - per-subject order: the cursor never sends an event whose subject has an earlier
//!   exception not delivered; such an event becomes an exception itself (pending, no attempt
//!   made), and an exception is leased only when every earlier exception of its subject is
//!   delivered. A `dead` exception therefore blocks its subject's later events until an
//!   operator retries it (the platform must never apply a later state before an earlier one);
//! - exception rows are leased by at most one worker at a time (`FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL, `BEGIN IMMEDIATE` on SQLite), and results are written only by the lease owner.

use super::conn::{AnyConnection, on_each_backend};
use super::schema::{delivery_cursors, delivery_exceptions, delivery_rounds, events};
use super::{Conn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use std::collections::HashSet;

/// The one connector penex delivers to today: the regional credit platform.
pub const PLATFORM: &str = "platform";

/// A connector's cursor.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = delivery_cursors)]
pub struct Cursor {
    /// The connector.
    pub connector: String,
    /// Every event up to this sequence number was handed to the connector.
    pub delivered_through: i64,
    /// The instance holding the cursor.
    pub lease_owner: Option<String>,
    /// Until when.
    pub leased_until: Option<NaiveDateTime>,
    /// Rounds in a row in which every delivery failed.
    pub head_attempts: i64,
    /// When the cursor may try again after such a round.
    pub next_attempt_at: NaiveDateTime,
    /// The last error of such a round.
    pub last_error: Option<String>,
    /// Its HTTP status, when there was an answer.
    pub last_status: Option<i64>,
    /// Delivery requests sent from the cursor, in all.
    pub sends: i64,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// The cursor of `connector`.
pub fn cursor(conn: &mut Conn, connector: &str) -> Result<Cursor, StoreError> {
    delivery_cursors::table
        .find(connector)
        .select(Cursor::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::Corrupt(format!("no delivery cursor for {connector}")))
}

/// Takes (or renews) the cursor's lease for `owner` until `until`; `None` while another
/// instance holds an unexpired lease. Run it in its own short write transaction.
pub fn lease_cursor(
    conn: &mut Conn,
    connector: &str,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Option<Cursor>, StoreError> {
    super::failpoint::hit("outbox.lease_cursor")?;
    let n = diesel::update(
        delivery_cursors::table
            .filter(delivery_cursors::connector.eq(connector))
            .filter(
                delivery_cursors::lease_owner
                    .is_null()
                    .or(delivery_cursors::leased_until.lt(now))
                    .or(delivery_cursors::lease_owner.eq(owner)),
            ),
    )
    .set((
        delivery_cursors::lease_owner.eq(owner),
        delivery_cursors::leased_until.eq(until),
    ))
    .execute(conn)?;
    if n == 1 {
        cursor(conn, connector).map(Some)
    } else {
        Ok(None)
    }
}

/// Gives the cursor's lease back (the instance is stopping).
pub fn release_cursor(conn: &mut Conn, connector: &str, owner: &str) -> Result<(), StoreError> {
    diesel::update(
        delivery_cursors::table
            .filter(delivery_cursors::connector.eq(connector))
            .filter(delivery_cursors::lease_owner.eq(owner)),
    )
    .set((
        delivery_cursors::lease_owner.eq(None::<String>),
        delivery_cursors::leased_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// An event after the cursor, with what is needed to deliver it.
#[derive(Debug, Clone, Queryable)]
pub struct Pending {
    /// Event sequence number.
    pub seq: i64,
    /// Event id (the idempotency key).
    pub event_id: String,
    /// The subject.
    pub subject_id: String,
    /// The compact JWS to POST.
    pub jws: String,
    /// When the event was created.
    pub created_at: NaiveDateTime,
}

/// The next `limit` events after `through`, in sequence order.
pub fn after_cursor(conn: &mut Conn, through: i64, limit: i64) -> Result<Vec<Pending>, StoreError> {
    super::failpoint::hit("outbox.read_round")?;
    Ok(events::table
        .filter(events::seq.gt(through))
        .order(events::seq.asc())
        .limit(limit)
        .select((
            events::seq,
            events::id,
            events::subject_id,
            events::jws,
            events::created_at,
        ))
        .load(conn)?)
}

/// Of these subjects, those with an exception not yet delivered: their later events must wait
/// behind it.
pub fn blocked_subjects(
    conn: &mut Conn,
    connector: &str,
    subjects: &[&str],
) -> Result<HashSet<String>, StoreError> {
    if subjects.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<String> = delivery_exceptions::table
        .filter(delivery_exceptions::connector.eq(connector))
        .filter(delivery_exceptions::status.ne("delivered"))
        .filter(delivery_exceptions::subject_id.eq_any(subjects))
        .select(delivery_exceptions::subject_id)
        .distinct()
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// An event the cursor passes without delivering it.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = delivery_exceptions)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewException {
    /// The connector.
    pub connector: String,
    /// Event sequence number.
    pub event_seq: i64,
    /// Event id.
    pub event_id: String,
    /// The subject.
    pub subject_id: String,
    /// `pending` (to retry, or waiting behind an earlier event of its subject) or `dead`.
    pub status: String,
    /// Attempts made (counted against the retry limit).
    pub attempts: i64,
    /// Requests sent by exception workers (0: the cursor's sends are counted on the cursor).
    pub sends: i64,
    /// When it is due.
    pub next_attempt_at: NaiveDateTime,
    /// The last error.
    pub last_error: Option<String>,
    /// The connector's last HTTP status.
    pub last_status: Option<i64>,
    /// When the event was created.
    pub created_at: NaiveDateTime,
}

/// What one round of the cursor did.
#[derive(Debug, Clone)]
pub struct Round {
    /// Where the cursor stood when the round was read.
    pub from_through: i64,
    /// The last event of the round: the cursor moves here.
    pub through: i64,
    /// Requests the round sent.
    pub sends: i64,
    /// The events of the round that were not delivered.
    pub exceptions: Vec<NewException>,
    /// Now.
    pub now: NaiveDateTime,
    /// The renewed lease.
    pub until: NaiveDateTime,
}

/// Rows per multi-row insert: well under both backends' limits on bound parameters.
const CHUNK: usize = 500;

/// Records a round: moves the cursor, records the round, inserts its exceptions. `false` (and
/// nothing written) when `owner` no longer holds the cursor or the cursor moved meanwhile.
/// Run it in one write transaction.
pub fn commit_round(
    conn: &mut Conn,
    connector: &str,
    owner: &str,
    round: &Round,
) -> Result<bool, StoreError> {
    super::failpoint::hit("outbox.commit_round")?;
    let moved = diesel::update(
        delivery_cursors::table
            .filter(delivery_cursors::connector.eq(connector))
            .filter(delivery_cursors::lease_owner.eq(owner))
            .filter(delivery_cursors::delivered_through.eq(round.from_through)),
    )
    .set((
        delivery_cursors::delivered_through.eq(round.through),
        delivery_cursors::sends.eq(delivery_cursors::sends + round.sends),
        delivery_cursors::head_attempts.eq(0_i64),
        delivery_cursors::next_attempt_at.eq(round.now),
        delivery_cursors::last_error.eq(None::<String>),
        delivery_cursors::last_status.eq(None::<i64>),
        delivery_cursors::leased_until.eq(round.until),
        delivery_cursors::updated_at.eq(round.now),
    ))
    .execute(conn)?;
    if moved != 1 {
        return Ok(false);
    }
    let delivered = i64::try_from(round.exceptions.len())
        .map_or(true, |n| n < round.through - round.from_through);
    if delivered {
        diesel::insert_into(delivery_rounds::table)
            .values((
                delivery_rounds::connector.eq(connector),
                delivery_rounds::through.eq(round.through),
                delivery_rounds::from_seq.eq(round.from_through + 1),
                delivery_rounds::delivered_at.eq(round.now),
            ))
            .execute(conn)?;
    }
    super::failpoint::hit("outbox.insert_exceptions")?;
    for chunk in round.exceptions.chunks(CHUNK) {
        on_each_backend!(conn, c => diesel::insert_into(delivery_exceptions::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(true)
}

/// Records a round in which every delivery failed and that will be tried again at `next`: the
/// cursor stays, counting the failed round. `false` when `owner` no longer holds the cursor.
#[expect(
    clippy::too_many_arguments,
    reason = "one UPDATE's columns, named at the call"
)]
pub fn head_failed(
    conn: &mut Conn,
    connector: &str,
    owner: &str,
    from_through: i64,
    sends: i64,
    status: Option<i64>,
    error: &str,
    next: NaiveDateTime,
) -> Result<bool, StoreError> {
    super::failpoint::hit("outbox.head_failed")?;
    let n = diesel::update(
        delivery_cursors::table
            .filter(delivery_cursors::connector.eq(connector))
            .filter(delivery_cursors::lease_owner.eq(owner))
            .filter(delivery_cursors::delivered_through.eq(from_through)),
    )
    .set((
        delivery_cursors::head_attempts.eq(delivery_cursors::head_attempts + 1),
        delivery_cursors::sends.eq(delivery_cursors::sends + sends),
        delivery_cursors::next_attempt_at.eq(next),
        delivery_cursors::last_error.eq(Some(error)),
        delivery_cursors::last_status.eq(status),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// A leased exception with what is needed to deliver it.
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

const LEASE_PG: &str = "UPDATE delivery_exceptions SET leased_until = $1, lease_owner = $2 \
    WHERE connector = $5 AND event_seq IN ( \
      SELECT o.event_seq FROM delivery_exceptions o \
      WHERE o.connector = $5 AND o.status = 'pending' AND o.next_attempt_at <= $3 \
        AND (o.leased_until IS NULL OR o.leased_until < $3) \
        AND NOT EXISTS (SELECT 1 FROM delivery_exceptions e WHERE e.connector = o.connector \
                        AND e.subject_id = o.subject_id \
                        AND e.event_seq < o.event_seq AND e.status <> 'delivered') \
      ORDER BY o.event_seq LIMIT $4 \
      FOR UPDATE SKIP LOCKED) \
    RETURNING event_seq";

const LEASE_SQLITE: &str = "UPDATE delivery_exceptions SET leased_until = ?, lease_owner = ? \
    WHERE connector = ? AND event_seq IN ( \
      SELECT o.event_seq FROM delivery_exceptions o \
      WHERE o.connector = ? AND o.status = 'pending' AND o.next_attempt_at <= ? \
        AND (o.leased_until IS NULL OR o.leased_until < ?) \
        AND NOT EXISTS (SELECT 1 FROM delivery_exceptions e WHERE e.connector = o.connector \
                        AND e.subject_id = o.subject_id \
                        AND e.event_seq < o.event_seq AND e.status <> 'delivered') \
      ORDER BY o.event_seq LIMIT ?) \
    RETURNING event_seq";

/// Leases up to `limit` due exceptions for `owner` until `until`. Run it in its own short
/// write transaction; deliveries happen outside any transaction.
pub fn lease(
    conn: &mut Conn,
    connector: &str,
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
            .bind::<Text, _>(connector)
            .load(c)?,
        AnyConnection::Sqlite(c) => diesel::sql_query(LEASE_SQLITE)
            .bind::<Timestamp, _>(until)
            .bind::<Text, _>(owner)
            .bind::<Text, _>(connector)
            .bind::<Text, _>(connector)
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
    let rows: Vec<(i64, String, String, String, i64)> = delivery_exceptions::table
        .inner_join(events::table)
        .filter(delivery_exceptions::connector.eq(connector))
        .filter(delivery_exceptions::event_seq.eq_any(&seqs))
        .filter(delivery_exceptions::lease_owner.eq(owner))
        .order(delivery_exceptions::event_seq.asc())
        .select((
            delivery_exceptions::event_seq,
            delivery_exceptions::event_id,
            delivery_exceptions::subject_id,
            events::jws,
            delivery_exceptions::attempts,
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

/// Records a successful delivery of an exception. `false` when `owner` no longer holds it.
pub fn mark_delivered(
    conn: &mut Conn,
    connector: &str,
    seq: i64,
    owner: &str,
    status: i64,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    super::failpoint::hit("outbox.mark_delivered")?;
    let n = diesel::update(
        delivery_exceptions::table
            .find((connector, seq))
            .filter(delivery_exceptions::lease_owner.eq(owner))
            .filter(delivery_exceptions::status.eq("pending")),
    )
    .set((
        delivery_exceptions::status.eq("delivered"),
        delivery_exceptions::attempts.eq(delivery_exceptions::attempts + 1),
        delivery_exceptions::sends.eq(delivery_exceptions::sends + 1),
        delivery_exceptions::delivered_at.eq(Some(now)),
        delivery_exceptions::last_status.eq(Some(status)),
        delivery_exceptions::last_error.eq(None::<String>),
        delivery_exceptions::leased_until.eq(None::<NaiveDateTime>),
        delivery_exceptions::lease_owner.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records a failed attempt at an exception: retried at `next` (`Some`) or dead (`None`).
pub fn mark_failed(
    conn: &mut Conn,
    connector: &str,
    seq: i64,
    owner: &str,
    status: Option<i64>,
    error: &str,
    next: Option<NaiveDateTime>,
) -> Result<bool, StoreError> {
    super::failpoint::hit("outbox.mark_failed")?;
    let target = delivery_exceptions::table
        .find((connector, seq))
        .filter(delivery_exceptions::lease_owner.eq(owner))
        .filter(delivery_exceptions::status.eq("pending"));
    let common = (
        delivery_exceptions::attempts.eq(delivery_exceptions::attempts + 1),
        delivery_exceptions::sends.eq(delivery_exceptions::sends + 1),
        delivery_exceptions::last_status.eq(status),
        delivery_exceptions::last_error.eq(Some(error)),
        delivery_exceptions::leased_until.eq(None::<NaiveDateTime>),
        delivery_exceptions::lease_owner.eq(None::<String>),
    );
    let n = match next {
        Some(at) => diesel::update(target)
            .set((common, delivery_exceptions::next_attempt_at.eq(at)))
            .execute(conn)?,
        None => diesel::update(target)
            .set((common, delivery_exceptions::status.eq("dead")))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// An event's delivery state, for operators.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
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
    /// Attempts made (counted against the retry limit; an operator's retry resets them).
    pub attempts: i64,
    /// When the next attempt is due (pending events).
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

type EventCols = (i64, String, String, String, NaiveDateTime);
type ExceptionCols = (
    String,
    i64,
    NaiveDateTime,
    Option<String>,
    Option<i64>,
    Option<NaiveDateTime>,
);

const EVENT_COLS: (
    events::seq,
    events::id,
    events::event_type,
    events::subject_id,
    events::created_at,
) = (
    events::seq,
    events::id,
    events::event_type,
    events::subject_id,
    events::created_at,
);

const EXCEPTION_COLS: (
    delivery_exceptions::status,
    delivery_exceptions::attempts,
    delivery_exceptions::next_attempt_at,
    delivery_exceptions::last_error,
    delivery_exceptions::last_status,
    delivery_exceptions::delivered_at,
) = (
    delivery_exceptions::status,
    delivery_exceptions::attempts,
    delivery_exceptions::next_attempt_at,
    delivery_exceptions::last_error,
    delivery_exceptions::last_status,
    delivery_exceptions::delivered_at,
);

/// An event's view from its log columns, its exception (if any) and the cursor.
fn view(
    conn: &mut Conn,
    cursor: &Cursor,
    (seq, id, event_type, subject_id, created_at): EventCols,
    exception: Option<ExceptionCols>,
) -> Result<OutboxView, StoreError> {
    let base = |status: &str, attempts: i64, next: NaiveDateTime| OutboxView {
        event_seq: seq,
        event_id: id.clone(),
        event_type: event_type.clone(),
        subject_id: subject_id.clone(),
        status: status.to_owned(),
        attempts,
        next_attempt_at: next,
        last_error: None,
        last_status: None,
        delivered_at: None,
        created_at,
    };
    Ok(match exception {
        Some((status, attempts, next, last_error, last_status, delivered_at)) => OutboxView {
            last_error,
            last_status,
            delivered_at,
            ..base(&status, attempts, next)
        },
        None if seq <= cursor.delivered_through => OutboxView {
            delivered_at: round_time(conn, &cursor.connector, seq)?,
            ..base("delivered", 1, created_at)
        },
        None => OutboxView {
            last_error: cursor.last_error.clone(),
            last_status: cursor.last_status,
            ..base(
                "pending",
                cursor.head_attempts,
                cursor.next_attempt_at.max(created_at),
            )
        },
    })
}

/// When the cursor delivered `seq` (the round that passed it), if recorded.
fn round_time(
    conn: &mut Conn,
    connector: &str,
    seq: i64,
) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(delivery_rounds::table
        .filter(delivery_rounds::connector.eq(connector))
        .filter(delivery_rounds::through.ge(seq))
        .filter(delivery_rounds::from_seq.le(seq))
        .order(delivery_rounds::through.asc())
        .select(delivery_rounds::delivered_at)
        .first(conn)
        .optional()?)
}

/// Events with this delivery status (all when `None`), oldest first, at most `limit`, after
/// `after_seq`.
pub fn list(
    conn: &mut Conn,
    status: Option<&str>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<OutboxView>, StoreError> {
    let cursor = cursor(conn, PLATFORM)?;
    let limit = limit.max(0);
    // Dead and pending events are found from the exceptions (a small table) and, for pending,
    // the log after the cursor; the rest walks the log.
    let exceptions = |conn: &mut Conn, status: &str| -> Result<Vec<_>, StoreError> {
        Ok(delivery_exceptions::table
            .inner_join(events::table)
            .filter(delivery_exceptions::connector.eq(PLATFORM))
            .filter(delivery_exceptions::status.eq(status))
            .filter(delivery_exceptions::event_seq.gt(after_seq))
            .order(delivery_exceptions::event_seq.asc())
            .limit(limit)
            .select((EVENT_COLS, EXCEPTION_COLS))
            .load::<(EventCols, ExceptionCols)>(conn)?
            .into_iter()
            .map(|(e, x)| (e, Some(x)))
            .collect())
    };
    let log = |conn: &mut Conn, from: i64, through: Option<i64>| -> Result<Vec<_>, StoreError> {
        let mut q = events::table
            .left_join(
                delivery_exceptions::table.on(delivery_exceptions::event_seq
                    .eq(events::seq)
                    .and(delivery_exceptions::connector.eq(PLATFORM))),
            )
            .filter(events::seq.gt(from))
            .order(events::seq.asc())
            .limit(limit)
            .select((EVENT_COLS, EXCEPTION_COLS.nullable()))
            .into_boxed();
        if let Some(t) = through {
            q = q.filter(events::seq.le(t));
        }
        Ok(q.load::<(EventCols, Option<ExceptionCols>)>(conn)?)
    };
    let rows: Vec<(EventCols, Option<ExceptionCols>)> = match status {
        Some("dead") => exceptions(conn, "dead")?,
        Some("pending") => {
            let mut rows = exceptions(conn, "pending")?;
            rows.extend(log(conn, after_seq.max(cursor.delivered_through), None)?);
            rows.sort_by_key(|((seq, ..), _)| *seq);
            rows
        }
        Some("delivered") => {
            // Walk the log up to the cursor, skipping the exceptions that are not delivered.
            let mut out = Vec::new();
            let mut from = after_seq;
            while i64::try_from(out.len()).unwrap_or(i64::MAX) < limit
                && from < cursor.delivered_through
            {
                let page = log(conn, from, Some(cursor.delivered_through))?;
                let Some(((last, ..), _)) = page.last() else {
                    break;
                };
                from = *last;
                out.extend(page.into_iter().filter(|(_, x)| {
                    x.as_ref()
                        .is_none_or(|(status, ..)| status.as_str() == "delivered")
                }));
            }
            out
        }
        _ => log(conn, after_seq, None)?,
    };
    rows.into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|(e, x)| view(conn, &cursor, e, x))
        .collect()
}

/// The delivery state of this event id.
pub fn find(conn: &mut Conn, event_id: &str) -> Result<Option<OutboxView>, StoreError> {
    let cursor = cursor(conn, PLATFORM)?;
    let row: Option<(EventCols, Option<ExceptionCols>)> = events::table
        .left_join(
            delivery_exceptions::table.on(delivery_exceptions::event_seq
                .eq(events::seq)
                .and(delivery_exceptions::connector.eq(PLATFORM))),
        )
        .filter(events::id.eq(event_id))
        .select((EVENT_COLS, EXCEPTION_COLS.nullable()))
        .first(conn)
        .optional()?;
    row.map(|(e, x)| view(conn, &cursor, e, x)).transpose()
}

/// Makes an event's delivery due now with a fresh attempt budget: a dead or retrying
/// exception, or the cursor's head while it backs off. `false` when the event is delivered
/// (nothing to do) or absent.
pub fn retry(conn: &mut Conn, event_id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let n = diesel::update(
        delivery_exceptions::table
            .filter(delivery_exceptions::connector.eq(PLATFORM))
            .filter(delivery_exceptions::event_id.eq(event_id))
            .filter(delivery_exceptions::status.ne("delivered")),
    )
    .set((
        delivery_exceptions::status.eq("pending"),
        delivery_exceptions::attempts.eq(0_i64),
        delivery_exceptions::next_attempt_at.eq(now),
        delivery_exceptions::leased_until.eq(None::<NaiveDateTime>),
        delivery_exceptions::lease_owner.eq(None::<String>),
    ))
    .execute(conn)?;
    if n == 1 {
        return Ok(true);
    }
    let Some(seq) = events::table
        .filter(events::id.eq(event_id))
        .select(events::seq)
        .first::<i64>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    let excepted: i64 = delivery_exceptions::table
        .filter(delivery_exceptions::connector.eq(PLATFORM))
        .filter(delivery_exceptions::event_seq.eq(seq))
        .count()
        .get_result(conn)?;
    if excepted > 0 {
        return Ok(false);
    }
    let n = diesel::update(
        delivery_cursors::table
            .filter(delivery_cursors::connector.eq(PLATFORM))
            .filter(delivery_cursors::delivered_through.lt(seq)),
    )
    .set((
        delivery_cursors::head_attempts.eq(0_i64),
        delivery_cursors::next_attempt_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Counts for operators and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct OutboxStats {
    /// Events not yet delivered and not dead (the backlog).
    pub pending: i64,
    /// Of those, events that failed at least once (retrying); while the connector fails every
    /// delivery of a round (`head_attempts` > 0), the whole backlog after the cursor.
    pub retrying: i64,
    /// Events delivered.
    pub delivered: i64,
    /// Dead letters.
    pub dead: i64,
    /// Delivery attempts made in all.
    pub attempts: i64,
    /// Creation time of the oldest undelivered (pending or dead) event.
    #[serde(serialize_with = "crate::store::utc::ser_opt")]
    pub oldest_undelivered_at: Option<NaiveDateTime>,
    /// The platform connector's cursor: every event up to this sequence number was handed to
    /// it (delivered, or counted above as retrying or dead).
    pub delivered_through: i64,
    /// Rounds in a row in which every delivery from the cursor failed (the connector is down):
    /// the events after the cursor wait, and become dead letters at the retry limit.
    pub head_attempts: i64,
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
        retrying: i64,
        #[diesel(sql_type = BigInt)]
        sends: i64,
    }
    let cursor = cursor(conn, PLATFORM)?;
    // SUM(bigint) is numeric on PostgreSQL: cast it back so both backends agree.
    let by_status: Vec<ByStatus> = diesel::sql_query(
        "SELECT status, COUNT(*) AS n, \
           CAST(COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS retrying, \
           CAST(COALESCE(SUM(sends), 0) AS BIGINT) AS sends \
         FROM delivery_exceptions WHERE connector = 'platform' GROUP BY status",
    )
    .load(conn)?;
    let last: Option<i64> = events::table
        .select(diesel::dsl::max(events::seq))
        .first(conn)?;
    let last = last.unwrap_or(0).max(cursor.delivered_through);
    let oldest_excepted: Option<NaiveDateTime> = delivery_exceptions::table
        .filter(delivery_exceptions::connector.eq(PLATFORM))
        .filter(delivery_exceptions::status.ne("delivered"))
        .select(diesel::dsl::min(delivery_exceptions::created_at))
        .first(conn)?;
    let oldest_after: Option<NaiveDateTime> = events::table
        .find(cursor.delivered_through + 1)
        .select(events::created_at)
        .first(conn)
        .optional()?;
    let mut s = OutboxStats {
        pending: last - cursor.delivered_through,
        attempts: cursor.sends,
        oldest_undelivered_at: match (oldest_excepted, oldest_after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
        delivered_through: cursor.delivered_through,
        head_attempts: cursor.head_attempts,
        ..OutboxStats::default()
    };
    if cursor.head_attempts > 0 {
        // The connector failed every delivery of the last rounds: the backlog waits on it.
        s.retrying = s.pending;
    }
    let mut undelivered_exceptions = 0;
    for row in by_status {
        s.attempts += row.sends;
        match row.status.as_str() {
            "pending" => {
                s.pending += row.n;
                s.retrying += row.retrying;
                undelivered_exceptions += row.n;
            }
            "dead" => {
                s.dead = row.n;
                undelivered_exceptions += row.n;
            }
            _ => {}
        }
    }
    s.delivered = cursor.delivered_through - undelivered_exceptions;
    Ok(s)
}

/// Creation and delivery times of the most recently delivered events, at most `limit`: those
/// the cursor's recent rounds delivered, and delivered exceptions.
pub fn delivery_times(
    conn: &mut Conn,
    limit: i64,
) -> Result<Vec<(NaiveDateTime, NaiveDateTime)>, StoreError> {
    let rounds: Vec<(i64, i64, NaiveDateTime)> = delivery_rounds::table
        .filter(delivery_rounds::connector.eq(PLATFORM))
        .order(delivery_rounds::through.desc())
        .limit(limit)
        .select((
            delivery_rounds::from_seq,
            delivery_rounds::through,
            delivery_rounds::delivered_at,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    let mut left = limit;
    for (from, through, at) in rounds {
        if left <= 0 {
            break;
        }
        let from = from.max(through - left + 1);
        let rows: Vec<(i64, NaiveDateTime)> = events::table
            .left_join(
                delivery_exceptions::table.on(delivery_exceptions::event_seq
                    .eq(events::seq)
                    .and(delivery_exceptions::connector.eq(PLATFORM))),
            )
            .filter(events::seq.between(from, through))
            .filter(delivery_exceptions::event_seq.is_null())
            .select((events::seq, events::created_at))
            .load(conn)?;
        left -= i64::try_from(rows.len()).unwrap_or(i64::MAX);
        out.extend(rows.into_iter().map(|(_, created)| (created, at)));
    }
    let excepted: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = delivery_exceptions::table
        .filter(delivery_exceptions::connector.eq(PLATFORM))
        .filter(delivery_exceptions::status.eq("delivered"))
        .order(delivery_exceptions::event_seq.desc())
        .limit(limit)
        .select((
            delivery_exceptions::created_at,
            delivery_exceptions::delivered_at,
        ))
        .load(conn)?;
    out.extend(excepted.into_iter().filter_map(|(c, d)| d.map(|d| (c, d))));
    Ok(out)
}
