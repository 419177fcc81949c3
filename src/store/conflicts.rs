//! Jurisdiction conflicts: the `conflicts` table and the conflict columns of `records`.
//! Decisions about who is in which conflict are made in `service::conflicts`; this module only
//! reads and writes rows.

use super::schema::{conflicts, records, subjects};
use super::{Conn, StoreError};
use crate::store::conn::AnyConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored conflict.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = conflicts)]
pub struct ConflictRow {
    /// `cfl_…`.
    pub id: String,
    /// The subject of every member.
    pub subject_id: String,
    /// The violation type compared (catalogue code or `text:…`).
    pub violation_key: String,
    /// The record that keeps jurisdiction.
    pub winner_record_id: String,
    /// `open`, `resolved` or `void`.
    pub status: String,
    /// `transferred`, `both_stand` or `merged`.
    pub resolution: Option<String>,
    /// The units' note.
    pub resolution_note: Option<String>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When.
    pub resolved_at: Option<NaiveDateTime>,
    /// Members: `[{"record_id", "authority", "role"}]`.
    pub members_json: String,
    /// First detected (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// Locks the subjects' rows until the transaction ends, so that two writers touching one
/// subject decide its conflicts one after the other (the later one sees the earlier's
/// records). PostgreSQL only: SQLite's write transactions are serialized already. `FOR NO KEY
/// UPDATE` does not wait for the key-share locks that inserts referencing a subject take.
pub fn lock_subjects(conn: &mut Conn, ids: &[String]) -> Result<(), StoreError> {
    if let AnyConnection::Postgresql(pg) = conn {
        for chunk in ids.chunks(10_000) {
            subjects::table
                .filter(subjects::id.eq_any(chunk))
                .order(subjects::id)
                .select(subjects::id)
                .for_no_key_update()
                .load::<String>(pg)?;
        }
    }
    Ok(())
}

/// Of these subjects, the strongly identified ones.
pub fn strong_among(conn: &mut Conn, ids: &[String]) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(10_000) {
        out.extend(
            subjects::table
                .filter(subjects::id.eq_any(chunk))
                .filter(subjects::strong.eq(true))
                .select(subjects::id)
                .load::<String>(conn)?,
        );
    }
    Ok(out)
}

/// The conflicts of these subjects that are not void.
pub fn live_of_subjects(
    conn: &mut Conn,
    subject_ids: &[String],
) -> Result<Vec<ConflictRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in subject_ids.chunks(10_000) {
        out.extend(
            conflicts::table
                .filter(conflicts::subject_id.eq_any(chunk))
                .filter(conflicts::status.ne("void"))
                .order(conflicts::id)
                .select(ConflictRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// One conflict.
pub fn find(conn: &mut Conn, id: &str) -> Result<Option<ConflictRow>, StoreError> {
    Ok(conflicts::table
        .find(id)
        .select(ConflictRow::as_select())
        .first(conn)
        .optional()?)
}

/// Conflicts by status (all when `None`), by id, after `after` (cursor).
pub fn list(
    conn: &mut Conn,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ConflictRow>, StoreError> {
    let mut q = conflicts::table.into_boxed();
    if let Some(s) = status {
        q = q.filter(conflicts::status.eq(s.to_owned()));
    }
    if let Some(a) = after {
        q = q.filter(conflicts::id.gt(a.to_owned()));
    }
    Ok(q.order(conflicts::id)
        .limit(limit)
        .select(ConflictRow::as_select())
        .load(conn)?)
}

/// Inserts a new conflict.
pub fn insert(conn: &mut Conn, row: &ConflictRow) -> Result<(), StoreError> {
    diesel::insert_into(conflicts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Writes a conflict's winner, status, members and resolution.
pub fn update(conn: &mut Conn, row: &ConflictRow) -> Result<(), StoreError> {
    diesel::update(conflicts::table.find(&row.id))
        .set((
            conflicts::winner_record_id.eq(&row.winner_record_id),
            conflicts::status.eq(&row.status),
            conflicts::resolution.eq(&row.resolution),
            conflicts::resolution_note.eq(&row.resolution_note),
            conflicts::resolved_by.eq(&row.resolved_by),
            conflicts::resolved_at.eq(row.resolved_at),
            conflicts::members_json.eq(&row.members_json),
            conflicts::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets a record's place in a conflict (`None`, `None`: in none).
pub fn set_record_role(
    conn: &mut Conn,
    record_id: &str,
    conflict_id: Option<&str>,
    role: Option<&str>,
) -> Result<(), StoreError> {
    diesel::update(records::table.find(record_id))
        .set((
            records::conflict_id.eq(conflict_id),
            records::conflict_role.eq(role),
        ))
        .execute(conn)?;
    Ok(())
}
