//! Case collaboration: items, their timelines, attachments' metadata, reminders and the units'
//! event feed. The service owns every transaction; these functions only read and write rows.

use super::conn::on_each_backend;
use super::schema::{
    chain_heads, collab_attachments, collab_event_audience, collab_events, collab_items,
    collab_notices, collab_steps,
};
use super::{Conn, StoreError};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// A stored item (the state the table works on, and what lists and figures read).
#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = collab_items)]
#[diesel(treat_none_as_null = true)]
pub struct ItemRow {
    /// `col_…`.
    pub id: String,
    /// clue, transfer, assistance or service.
    pub kind: String,
    /// 文号 of the letter, folded.
    pub doc_no: String,
    /// The sending unit.
    pub sender: String,
    /// Its party.
    pub sender_party: String,
    /// The receiving unit.
    pub receiver: String,
    /// Its party.
    pub receiver_party: String,
    /// The sender's superior that approves a cross-level item.
    pub approver: Option<String>,
    /// The status (see `domain::collab::Status`).
    pub status: String,
    /// An extension request waits for the sender.
    pub extension_pending: bool,
    /// legal_person, natural_person or individual_business.
    pub subject_kind: String,
    /// The subject's folded name.
    pub subject_name: String,
    /// `uscc` or `resident_id`, when the subject was identified.
    pub subject_key_kind: Option<String>,
    /// The USCC, or the resident ID's blind index.
    pub subject_key_value: Option<String>,
    /// Catalogue code of the violation.
    pub violation_code: Option<String>,
    /// The violation as written.
    pub violation_type: String,
    /// GB/T 2260 division of the place.
    pub place: String,
    /// The letter as received (facts, questions, documents…), identity numbers sealed.
    pub detail_json: String,
    /// The deadline of the step due now.
    pub due_on: Option<NaiveDate>,
    /// Counted through a year the calendar lacks.
    pub due_provisional: bool,
    /// The deadline passed (set by the sweeper, cleared by the next step).
    pub overdue: bool,
    /// The day it was sent (after approval, for cross-level items).
    pub sent_on: Option<NaiveDate>,
    /// The day the receiver acknowledged it.
    pub received_on: Option<NaiveDate>,
    /// The day the receiver answered (filed/accepted/replied/served or their refusals).
    pub answered_on: Option<NaiveDate>,
    /// Whether that answer came after its deadline.
    pub answered_late: Option<bool>,
    /// 立案日期 of the receiver's case.
    pub filed_on: Option<NaiveDate>,
    /// The receiver's case number.
    pub case_no: Option<String>,
    /// The penalty record of a decided transfer.
    pub record_id: Option<String>,
    /// The conflict this transfer settled.
    pub conflict_id: Option<String>,
    /// Steps in the timeline.
    pub steps: i64,
    /// When (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// One step of a timeline.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = collab_steps)]
pub struct StepRow {
    /// The item.
    pub item_id: String,
    /// 1, 2, … in order.
    pub n: i64,
    /// The step's name.
    pub step: String,
    /// The unit that took it (`None`: penex's sweeper).
    pub actor_unit: Option<String>,
    /// The audit actor.
    pub actor: String,
    /// The status after it.
    pub status_after: String,
    /// Its fields (reason, case number, method…), identity numbers sealed.
    pub detail_json: String,
    /// The day (Asia/Shanghai).
    pub on_day: NaiveDate,
    /// When (UTC).
    pub at: NaiveDateTime,
}

/// An attachment's metadata; the bytes live, encrypted, in the blob store.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = collab_attachments)]
pub struct AttachmentRow {
    /// The item.
    pub item_id: String,
    /// SHA-256 of the plain content, hex.
    pub sha256: String,
    /// The file name given.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Who uploaded it (unit code).
    pub uploaded_by: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// A reminder or escalation in a unit's inbox.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = collab_notices)]
pub struct NoticeRow {
    /// The unit reminded.
    pub unit: String,
    /// The item.
    pub item_id: String,
    /// `overdue` (to the unit that must act) or `escalated` (to a lead).
    pub reason: String,
    /// The deadline that passed.
    pub due_on: NaiveDate,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// An event of the units' feed.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = collab_events)]
pub struct CollabEventRow {
    /// Gap-free sequence number.
    pub seq: i64,
    /// `cev_…`.
    pub id: String,
    /// The item.
    pub item_id: String,
    /// `collaboration.<step>`.
    pub event_type: String,
    /// The signed payload (JSON text).
    pub payload: String,
    /// Compact JWS over it.
    pub jws: String,
    /// The signing key.
    pub kid: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// One item.
pub fn find(conn: &mut Conn, id: &str) -> Result<Option<ItemRow>, StoreError> {
    Ok(collab_items::table
        .find(id)
        .select(ItemRow::as_select())
        .first(conn)
        .optional()?)
}

/// The item a sender already sent under this kind and document number.
pub fn find_by_doc(
    conn: &mut Conn,
    sender: &str,
    kind: &str,
    doc_no: &str,
) -> Result<Option<ItemRow>, StoreError> {
    Ok(collab_items::table
        .filter(collab_items::sender.eq(sender))
        .filter(collab_items::kind.eq(kind))
        .filter(collab_items::doc_no.eq(doc_no))
        .select(ItemRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts an item.
pub fn insert(conn: &mut Conn, row: &ItemRow) -> Result<(), StoreError> {
    diesel::insert_into(collab_items::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Writes an item's changed state.
pub fn update(conn: &mut Conn, row: &ItemRow) -> Result<(), StoreError> {
    diesel::update(collab_items::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Appends a step.
pub fn insert_step(conn: &mut Conn, row: &StepRow) -> Result<(), StoreError> {
    diesel::insert_into(collab_steps::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// An item's timeline, in order.
pub fn steps_of(conn: &mut Conn, item_id: &str) -> Result<Vec<StepRow>, StoreError> {
    Ok(collab_steps::table
        .filter(collab_steps::item_id.eq(item_id))
        .order(collab_steps::n.asc())
        .select(StepRow::as_select())
        .load(conn)?)
}

/// Which items a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Items these units received, or wait for their approval.
    pub receivers: Vec<String>,
    /// Items these units sent.
    pub senders: Vec<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only overdue (or only not overdue) items.
    pub overdue: Option<bool>,
    /// Keyset cursor: ids after this one.
    pub after: Option<String>,
    /// Page size.
    pub limit: i64,
}

/// Items matching `f` (received by `receivers` once sent to them, awaiting their approval, or
/// sent by `senders`), by id.
pub fn list(conn: &mut Conn, f: &Filter) -> Result<Vec<ItemRow>, StoreError> {
    let mut q = collab_items::table.into_boxed();
    let receivers = f.receivers.clone();
    let senders = f.senders.clone();
    q = q.filter(
        collab_items::receiver
            .eq_any(receivers.clone())
            .and(collab_items::sent_on.is_not_null())
            .or(collab_items::approver
                .eq_any(receivers)
                .and(collab_items::status.eq("awaiting_approval")))
            .or(collab_items::sender.eq_any(senders)),
    );
    if let Some(k) = &f.kind {
        q = q.filter(collab_items::kind.eq(k.clone()));
    }
    if let Some(s) = &f.status {
        q = q.filter(collab_items::status.eq(s.clone()));
    }
    if let Some(o) = f.overdue {
        q = q.filter(collab_items::overdue.eq(o));
    }
    if let Some(a) = &f.after {
        q = q.filter(collab_items::id.gt(a.clone()));
    }
    Ok(q.order(collab_items::id.asc())
        .limit(f.limit)
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// Items sent or received by a party's units (the 备案 register and the figures).
pub fn of_parties(conn: &mut Conn, parties: &[String]) -> Result<Vec<ItemRow>, StoreError> {
    Ok(collab_items::table
        .filter(
            collab_items::sender_party
                .eq_any(parties.to_vec())
                .or(collab_items::receiver_party.eq_any(parties.to_vec())),
        )
        .order(collab_items::id.asc())
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// Every item (the figures over the whole region).
pub fn all(conn: &mut Conn) -> Result<Vec<ItemRow>, StoreError> {
    Ok(collab_items::table
        .order(collab_items::id.asc())
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// Items about a subject.
pub fn of_subject(
    conn: &mut Conn,
    key_kind: &str,
    key_values: &[String],
) -> Result<Vec<ItemRow>, StoreError> {
    Ok(collab_items::table
        .filter(collab_items::subject_key_kind.eq(key_kind))
        .filter(collab_items::subject_key_value.eq_any(key_values.to_vec()))
        .order(collab_items::id.asc())
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// Transfers that name a penalty record (their filing date counts for it).
pub fn transfers_of_records(
    conn: &mut Conn,
    record_ids: &[String],
) -> Result<Vec<ItemRow>, StoreError> {
    Ok(collab_items::table
        .filter(collab_items::kind.eq("transfer"))
        .filter(collab_items::record_id.eq_any(record_ids.to_vec()))
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// Open items whose deadline passed before `today` and that are not yet marked overdue.
pub fn newly_overdue(conn: &mut Conn, today: NaiveDate) -> Result<Vec<ItemRow>, StoreError> {
    Ok(collab_items::table
        .filter(collab_items::overdue.eq(false))
        .filter(collab_items::due_on.lt(today))
        .order(collab_items::id.asc())
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// Items whose deadline was counted through a year the calendar lacked.
pub fn provisional(conn: &mut Conn) -> Result<Vec<ItemRow>, StoreError> {
    Ok(collab_items::table
        .filter(collab_items::due_provisional.eq(true))
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// Stores an attachment's metadata; `false` when the item already has this content.
pub fn insert_attachment(conn: &mut Conn, row: &AttachmentRow) -> Result<bool, StoreError> {
    if find_attachment(conn, &row.item_id, &row.sha256)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(collab_attachments::table)
        .values(row)
        .execute(conn)?;
    Ok(true)
}

/// One attachment's metadata.
pub fn find_attachment(
    conn: &mut Conn,
    item_id: &str,
    sha256: &str,
) -> Result<Option<AttachmentRow>, StoreError> {
    Ok(collab_attachments::table
        .find((item_id, sha256))
        .select(AttachmentRow::as_select())
        .first(conn)
        .optional()?)
}

/// An item's attachments, oldest first.
pub fn attachments_of(conn: &mut Conn, item_id: &str) -> Result<Vec<AttachmentRow>, StoreError> {
    Ok(collab_attachments::table
        .filter(collab_attachments::item_id.eq(item_id))
        .order((
            collab_attachments::created_at.asc(),
            collab_attachments::sha256.asc(),
        ))
        .select(AttachmentRow::as_select())
        .load(conn)?)
}

/// Adds a reminder unless the same one is there; `true` when added.
pub fn add_notice(conn: &mut Conn, row: &NoticeRow) -> Result<bool, StoreError> {
    let there = collab_notices::table
        .find((&row.unit, &row.item_id, &row.reason, row.due_on))
        .select(collab_notices::unit)
        .first::<String>(conn)
        .optional()?;
    if there.is_some() {
        return Ok(false);
    }
    diesel::insert_into(collab_notices::table)
        .values(row)
        .execute(conn)?;
    Ok(true)
}

/// A unit's reminders, newest first.
pub fn notices_of(conn: &mut Conn, unit: &str, limit: i64) -> Result<Vec<NoticeRow>, StoreError> {
    Ok(collab_notices::table
        .filter(collab_notices::unit.eq(unit))
        .order((
            collab_notices::created_at.desc(),
            collab_notices::item_id.asc(),
        ))
        .limit(limit)
        .select(NoticeRow::as_select())
        .load(conn)?)
}

/// Takes the next feed sequence number; the head stays locked until the transaction ends (so
/// feed readers never see `k + 1` before `k`, as for the platform's events).
pub fn next_seq(conn: &mut Conn) -> Result<i64, StoreError> {
    let last: i64 = diesel::update(chain_heads::table.find("collab_events"))
        .set(chain_heads::seq.eq(chain_heads::seq + 1))
        .returning(chain_heads::seq)
        .get_result(conn)?;
    Ok(last)
}

/// Inserts an event and who may read it.
pub fn insert_event(
    conn: &mut Conn,
    row: &CollabEventRow,
    audience: &[String],
) -> Result<(), StoreError> {
    diesel::insert_into(collab_events::table)
        .values(row)
        .execute(conn)?;
    #[derive(Insertable)]
    #[diesel(table_name = collab_event_audience)]
    #[diesel(treat_none_as_default_value = false)]
    struct Reader<'a> {
        unit: &'a str,
        seq: i64,
    }
    let readers: Vec<Reader<'_>> = audience
        .iter()
        .map(|u| Reader {
            unit: u,
            seq: row.seq,
        })
        .collect();
    on_each_backend!(conn, c => diesel::insert_into(collab_event_audience::table)
        .values(&readers)
        .execute(c))?;
    Ok(())
}

/// The events `unit` may read with `seq > after`, in order, at most `limit`.
pub fn feed(
    conn: &mut Conn,
    unit: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<CollabEventRow>, StoreError> {
    Ok(collab_events::table
        .inner_join(collab_event_audience::table)
        .filter(collab_event_audience::unit.eq(unit))
        .filter(collab_events::seq.gt(after))
        .order(collab_events::seq.asc())
        .limit(limit)
        .select(CollabEventRow::as_select())
        .load(conn)?)
}

/// Every step of one name (e.g. `return`, for the reasons transfers came back).
pub fn steps_named(conn: &mut Conn, step: &str) -> Result<Vec<StepRow>, StoreError> {
    Ok(collab_steps::table
        .filter(collab_steps::step.eq(step))
        .order((collab_steps::item_id.asc(), collab_steps::n.asc()))
        .select(StepRow::as_select())
        .load(conn)?)
}

/// The transfer linked to a conflict, if any.
pub fn transfer_of_conflict(
    conn: &mut Conn,
    conflict_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(collab_items::table
        .filter(collab_items::conflict_id.eq(conflict_id))
        .select(collab_items::id)
        .first(conn)
        .optional()?)
}
