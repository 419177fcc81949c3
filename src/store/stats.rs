//! Reads behind the statistics: grouped counts and the few columns the API folds into months,
//! flows, medians and percentiles.
//!
//! Only portable SQL: `GROUP BY` and `COUNT` in diesel's DSL, no date functions (SQLite's
//! `strftime` and PostgreSQL's `date_trunc` differ), no percentile functions (PostgreSQL has
//! `percentile_cont`, SQLite has none). Whatever differs between the backends is computed in
//! Rust by the caller from what these functions return.

use super::schema::{conflicts, exemptions, flags, records, subjects, submissions};
use super::{Conn, StoreError};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::{count, count_star};
use diesel::prelude::*;

/// Records per (party, stored status).
pub fn records_by_party_status(conn: &mut Conn) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(records::table
        .group_by((records::party, records::status))
        .select((records::party, records::status, count_star()))
        .load(conn)?)
}

/// Records per party that are not revoked but no longer public on `today` (publicity over or
/// ended by credit repair).
pub fn expired_by_party(
    conn: &mut Conn,
    today: NaiveDate,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(records::table
        .filter(records::status.eq("active"))
        .filter(
            records::publicity_until
                .lt(today)
                .or(records::repaired_at.is_not_null()),
        )
        .group_by(records::party)
        .select((records::party, count_star()))
        .load(conn)?)
}

/// Distinct subjects with a record, per party of the deciding authority.
pub fn subjects_by_party(conn: &mut Conn) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(records::table
        .filter(records::subject_id.is_not_null())
        .group_by(records::party)
        .select((
            records::party,
            count(records::subject_id).aggregate_distinct(),
        ))
        .load(conn)?)
}

/// Subjects per strength (`true`: strongly identified).
pub fn subjects_by_strength(conn: &mut Conn) -> Result<Vec<(bool, i64)>, StoreError> {
    Ok(subjects::table
        .group_by(subjects::strong)
        .select((subjects::strong, count_star()))
        .load(conn)?)
}

/// Weak subjects linked to a strong one: (weak id, strong id).
pub fn subject_links(conn: &mut Conn) -> Result<Vec<(String, String)>, StoreError> {
    let rows: Vec<(String, Option<String>)> = subjects::table
        .filter(subjects::linked_to.is_not_null())
        .select((subjects::id, subjects::linked_to))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, to)| to.map(|t| (id, t)))
        .collect())
}

/// Every flag: (status, parties joined by commas, basis record ids as JSON, created at).
pub fn flags_brief(
    conn: &mut Conn,
) -> Result<Vec<(String, String, String, NaiveDateTime)>, StoreError> {
    Ok(flags::table
        .select((
            flags::status,
            flags::parties,
            flags::basis_json,
            flags::created_at,
        ))
        .load(conn)?)
}

/// Every conflict: (status, members JSON, violation key, created at).
pub fn conflicts_brief(
    conn: &mut Conn,
) -> Result<Vec<(String, String, String, NaiveDateTime)>, StoreError> {
    Ok(conflicts::table
        .select((
            conflicts::status,
            conflicts::members_json,
            conflicts::violation_key,
            conflicts::created_at,
        ))
        .load(conn)?)
}

/// Exemptions per party.
pub fn exemptions_by_party(conn: &mut Conn) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(exemptions::table
        .group_by(exemptions::party)
        .select((exemptions::party, count_star()))
        .load(conn)?)
}

/// Records per (decision date, party).
pub fn records_by_day_party(conn: &mut Conn) -> Result<Vec<(NaiveDate, String, i64)>, StoreError> {
    Ok(records::table
        .group_by((records::decision_date, records::party))
        .select((records::decision_date, records::party, count_star()))
        .load(conn)?)
}

/// Records per (decision date, violation type).
pub fn records_by_day_type(conn: &mut Conn) -> Result<Vec<(NaiveDate, String, i64)>, StoreError> {
    Ok(records::table
        .group_by((records::decision_date, records::violation_type))
        .select((
            records::decision_date,
            records::violation_type,
            count_star(),
        ))
        .load(conn)?)
}

/// Violation types of these records: (record id, violation type).
pub fn violation_types_of(
    conn: &mut Conn,
    ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::new();
    // Chunks keep the IN list well below SQLite's parameter limit.
    for chunk in ids.chunks(500) {
        out.extend(
            records::table
                .filter(records::id.eq_any(chunk))
                .select((records::id, records::violation_type))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}

/// A counted record in brief, for cross-region figures.
#[derive(Debug, Clone, Queryable)]
pub struct CountedRecord {
    /// The resolved subject.
    pub subject_id: Option<String>,
    /// Party of the deciding authority.
    pub party: String,
    /// The subject's USCC.
    pub subject_uscc: Option<String>,
    /// The subject's kind.
    pub subject_kind: String,
}

/// Records that count against their subject: not revoked, not the losing side of a
/// jurisdiction conflict.
pub fn counted_records(conn: &mut Conn) -> Result<Vec<CountedRecord>, StoreError> {
    Ok(records::table
        .filter(records::status.eq("active"))
        .filter(
            records::conflict_role
                .is_null()
                .or(records::conflict_role.ne("loser")),
        )
        .select((
            records::subject_id,
            records::party,
            records::subject_uscc,
            records::subject_kind,
        ))
        .load(conn)?)
}

/// One canonical record (sealed) of each of these subjects: (subject id, canonical JSON).
pub fn one_record_of_each(
    conn: &mut Conn,
    subject_ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for chunk in subject_ids.chunks(500) {
        let rows: Vec<(Option<String>, String)> = records::table
            .filter(records::subject_id.eq_any(chunk))
            .order((records::subject_id, records::id))
            .select((records::subject_id, records::canonical_json))
            .load(conn)?;
        for (s, json) in rows {
            if let Some(s) = s
                && out.last().is_none_or(|(last, _)| *last != s)
            {
                out.push((s, json));
            }
        }
    }
    Ok(out)
}

/// A submission in brief, with the decision date of the record it landed on.
#[derive(Debug, Clone, Queryable)]
pub struct SubmissionBrief {
    /// The pushing unit.
    pub unit_code: String,
    /// accepted, duplicate, corrected, conflict or rejected.
    pub outcome: String,
    /// Field errors of a rejected item (JSON).
    pub errors_json: Option<String>,
    /// When received (UTC).
    pub received_at: NaiveDateTime,
    /// Decision date of the record it landed on.
    pub decision_date: Option<NaiveDate>,
}

/// Submissions of these units (all units when `None`).
pub fn submissions_of_units(
    conn: &mut Conn,
    units: Option<&[String]>,
) -> Result<Vec<SubmissionBrief>, StoreError> {
    let mut q = submissions::table
        .left_join(records::table.on(records::id.nullable().eq(submissions::record_id)))
        .select((
            submissions::unit_code,
            submissions::outcome,
            submissions::errors_json,
            submissions::received_at,
            records::decision_date.nullable(),
        ))
        .into_boxed();
    if let Some(u) = units {
        q = q.filter(submissions::unit_code.eq_any(u.to_vec()));
    }
    Ok(q.load(conn)?)
}

/// Stored submissions per outcome (all instances), for `/metrics`.
pub fn submissions_by_outcome(conn: &mut Conn) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(submissions::table
        .group_by(submissions::outcome)
        .select((submissions::outcome, count_star()))
        .load(conn)?)
}

/// Records the submissions of these units (all when `None`) landed on, per (pushing unit, how
/// the record's violation type was matched; `None`: unmapped); each record counted once per
/// unit.
pub fn classification_by_unit(
    conn: &mut Conn,
    units: Option<&[String]>,
) -> Result<Vec<(String, Option<String>, i64)>, StoreError> {
    let mut q = submissions::table
        .inner_join(records::table.on(records::id.nullable().eq(submissions::record_id)))
        .group_by((submissions::unit_code, records::violation_matched_by))
        .select((
            submissions::unit_code,
            records::violation_matched_by,
            count(records::id).aggregate_distinct(),
        ))
        .into_boxed();
    if let Some(u) = units {
        q = q.filter(submissions::unit_code.eq_any(u.to_vec()));
    }
    Ok(q.load(conn)?)
}

/// The unmapped violation types of the records the submissions of these units (all when
/// `None`) landed on, per (pushing unit, type as given), each record counted once per unit.
pub fn unmapped_by_unit(
    conn: &mut Conn,
    units: Option<&[String]>,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    let mut q = submissions::table
        .inner_join(records::table.on(records::id.nullable().eq(submissions::record_id)))
        .filter(records::violation_code.is_null())
        .group_by((submissions::unit_code, records::violation_type))
        .select((
            submissions::unit_code,
            records::violation_type,
            count(records::id).aggregate_distinct(),
        ))
        .into_boxed();
    if let Some(u) = units {
        q = q.filter(submissions::unit_code.eq_any(u.to_vec()));
    }
    Ok(q.load(conn)?)
}

/// Every subject: (id, strong, the subject it is linked to). For scoring a simulated region
/// against its truth (`penex demo`, `examples/dedup_quality`).
pub fn subject_strength_and_links(
    conn: &mut Conn,
) -> Result<Vec<(String, bool, Option<String>)>, StoreError> {
    Ok(subjects::table
        .select((subjects::id, subjects::strong, subjects::linked_to))
        .load(conn)?)
}

/// Where a record stands: its subject, its conflict and its role in it.
pub type RecordPlace = (String, Option<String>, Option<String>, Option<String>);

/// Every record's place: (id, subject, conflict, role in the conflict).
pub fn record_places(conn: &mut Conn) -> Result<Vec<RecordPlace>, StoreError> {
    Ok(records::table
        .select((
            records::id,
            records::subject_id,
            records::conflict_id,
            records::conflict_role,
        ))
        .load(conn)?)
}
