//! Joint-discipline flags and their versions. What a flag should be is decided in
//! `service::flags`; this module reads and writes rows.

use super::schema::{flag_versions, flags, records};
use super::{Conn, StoreError};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// A stored flag (its current version).
#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = flags)]
pub struct FlagRow {
    /// `flg_…`, stable per subject and rule.
    pub id: String,
    /// The subject.
    pub subject_id: String,
    /// The rule.
    pub rule_id: String,
    /// `focus` or `discipline`.
    pub severity: String,
    /// `active`, `expired`, `repaired` or `withdrawn`.
    pub status: String,
    /// Record ids, JSON array.
    pub basis_json: String,
    /// Parties of the basis records, comma-separated, sorted.
    pub parties: String,
    /// Start.
    pub effective_from: NaiveDate,
    /// End (exclusive).
    pub effective_until: NaiveDate,
    /// Version, from 1.
    pub version: i64,
    /// First raised (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// One version of a flag.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = flag_versions)]
pub struct FlagVersionRow {
    /// The flag.
    pub flag_id: String,
    /// Version.
    pub version: i64,
    /// Status in this version.
    pub status: String,
    /// Basis in this version.
    pub basis_json: String,
    /// Start.
    pub effective_from: NaiveDate,
    /// End (exclusive).
    pub effective_until: NaiveDate,
    /// What changed it.
    pub cause: String,
    /// When (UTC).
    pub at: NaiveDateTime,
}

/// The flags of these subjects.
pub fn of_subjects(conn: &mut Conn, subject_ids: &[String]) -> Result<Vec<FlagRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in subject_ids.chunks(10_000) {
        out.extend(
            flags::table
                .filter(flags::subject_id.eq_any(chunk))
                .order(flags::id)
                .select(FlagRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// One flag.
pub fn find(conn: &mut Conn, id: &str) -> Result<Option<FlagRow>, StoreError> {
    Ok(flags::table
        .find(id)
        .select(FlagRow::as_select())
        .first(conn)
        .optional()?)
}

/// Its versions, oldest first.
pub fn versions(conn: &mut Conn, id: &str) -> Result<Vec<FlagVersionRow>, StoreError> {
    Ok(flag_versions::table
        .filter(flag_versions::flag_id.eq(id))
        .order(flag_versions::version)
        .select(FlagVersionRow::as_select())
        .load(conn)?)
}

/// Writes a flag's new version (insert or update) and its version row.
pub fn write(conn: &mut Conn, row: &FlagRow, cause: &str) -> Result<(), StoreError> {
    if row.version == 1 {
        diesel::insert_into(flags::table)
            .values(row)
            .execute(conn)?;
    } else {
        diesel::update(flags::table.find(&row.id))
            .set(row)
            .execute(conn)?;
    }
    diesel::insert_into(flag_versions::table)
        .values(FlagVersionRow {
            flag_id: row.id.clone(),
            version: row.version,
            status: row.status.clone(),
            basis_json: row.basis_json.clone(),
            effective_from: row.effective_from,
            effective_until: row.effective_until,
            cause: cause.to_owned(),
            at: row.updated_at,
        })
        .execute(conn)?;
    Ok(())
}

/// Filters of [`list`].
#[derive(Debug, Clone, Default)]
pub struct FlagFilter {
    /// Status.
    pub status: Option<String>,
    /// Severity.
    pub severity: Option<String>,
    /// Rule id.
    pub rule: Option<String>,
    /// A party among the basis records' parties.
    pub party: Option<String>,
    /// Subject id.
    pub subject: Option<String>,
}

/// Flags matching `f`, by id, after `after`.
pub fn list(
    conn: &mut Conn,
    f: &FlagFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<FlagRow>, StoreError> {
    let mut q = flags::table.into_boxed();
    if let Some(s) = &f.status {
        q = q.filter(flags::status.eq(s.clone()));
    }
    if let Some(s) = &f.severity {
        q = q.filter(flags::severity.eq(s.clone()));
    }
    if let Some(r) = &f.rule {
        q = q.filter(flags::rule_id.eq(r.clone()));
    }
    if let Some(p) = &f.party {
        q = q.filter(flags::parties.like(format!("%{p}%")));
    }
    if let Some(s) = &f.subject {
        q = q.filter(flags::subject_id.eq(s.clone()));
    }
    if let Some(a) = after {
        q = q.filter(flags::id.gt(a.to_owned()));
    }
    Ok(q.order(flags::id)
        .limit(limit)
        .select(FlagRow::as_select())
        .load(conn)?)
}

/// Subjects that need a look from the sweeper on `today`: an active flag whose period has
/// ended, or whose basis holds a record no longer public (its publicity ended).
pub fn due_for_sweep(conn: &mut Conn, today: NaiveDate) -> Result<Vec<String>, StoreError> {
    let mut subjects: Vec<String> = flags::table
        .filter(flags::status.eq("active"))
        .filter(flags::effective_until.le(today))
        .select(flags::subject_id)
        .load(conn)?;
    let active: Vec<(String, String)> = flags::table
        .filter(flags::status.eq("active"))
        .select((flags::subject_id, flags::basis_json))
        .load(conn)?;
    let mut ids: Vec<String> = Vec::new();
    for (_, basis) in &active {
        ids.extend(serde_json::from_str::<Vec<String>>(basis).unwrap_or_default());
    }
    let mut ended: std::collections::HashSet<String> = std::collections::HashSet::new();
    for chunk in ids.chunks(10_000) {
        ended.extend(
            records::table
                .filter(records::id.eq_any(chunk))
                .filter(records::publicity_until.lt(today))
                .select(records::id)
                .load::<String>(conn)?,
        );
    }
    for (subject, basis) in active {
        let basis: Vec<String> = serde_json::from_str(&basis).unwrap_or_default();
        if basis.iter().any(|r| ended.contains(r)) {
            subjects.push(subject);
        }
    }
    subjects.sort();
    subjects.dedup();
    Ok(subjects)
}

/// Marks a record repaired (its publicity ended early).
pub fn repair_record(
    conn: &mut Conn,
    record_id: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(records::table.find(record_id))
        .set((
            records::repaired_at.eq(Some(at)),
            records::repaired_by.eq(Some(by)),
            records::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}
