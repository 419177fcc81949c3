//! First-violation exemptions (不予行政处罚决定) and the first-violation check's lookups.

use super::schema::{exemptions, records};
use super::{Conn, StoreError};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// A stored exemption.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq, Eq)]
#[diesel(table_name = exemptions)]
pub struct ExemptionRow {
    /// `exm_…`, stable per (authority, decision number).
    pub id: String,
    /// The deciding unit.
    pub authority_code: String,
    /// Its party.
    pub party: String,
    /// 不予行政处罚决定书文号, folded.
    pub decision_no: String,
    /// `uscc` or `resident_id`.
    pub subject_key_kind: String,
    /// The USCC, or the blind index of the resident ID.
    pub subject_key_value: String,
    /// legal_person, natural_person or individual_business.
    pub subject_kind: String,
    /// The subject's folded name.
    pub subject_name: String,
    /// Catalogue code of the violation.
    pub violation_code: String,
    /// The violation as written.
    pub violation_type: String,
    /// Date of the decision not to penalize.
    pub decided_on: NaiveDate,
    /// The list item relied on.
    pub list_item: String,
    /// The request as received, ID numbers sealed.
    pub detail_json: String,
    /// Who reported it.
    pub created_by: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// One exemption.
pub fn find(conn: &mut Conn, id: &str) -> Result<Option<ExemptionRow>, StoreError> {
    Ok(exemptions::table
        .find(id)
        .select(ExemptionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts one.
pub fn insert(conn: &mut Conn, row: &ExemptionRow) -> Result<(), StoreError> {
    diesel::insert_into(exemptions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A subject's exemptions decided in `[from, to]`.
pub fn of_subject(
    conn: &mut Conn,
    key_kind: &str,
    key_value: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ExemptionRow>, StoreError> {
    Ok(exemptions::table
        .filter(exemptions::subject_key_kind.eq(key_kind))
        .filter(exemptions::subject_key_value.eq(key_value))
        .filter(exemptions::decided_on.between(from, to))
        .order((exemptions::decided_on, exemptions::id))
        .select(ExemptionRow::as_select())
        .load(conn)?)
}

/// Records (any party, not revoked) of the subject with this USCC or resident-ID blind index
/// (by the identifier itself or by the subject it resolves to),
/// decided in `[from, to]`.
pub fn penalties_of(
    conn: &mut Conn,
    uscc: Option<&str>,
    id_index: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<super::records::RecordRow>, StoreError> {
    // The records that carry the identifier, and those of the subject it resolves to (which
    // may have carried only its organization code or a registration number).
    let owner = match (uscc, id_index) {
        (Some(u), _) => super::subjects::owner(conn, "uscc", u)?,
        (None, Some(i)) => super::subjects::owner(conn, "resident_id", i)?,
        (None, None) => None,
    };
    let subject = owner.unwrap_or_default();
    let mut q = records::table
        .filter(records::status.ne("revoked"))
        .filter(records::decision_date.between(from, to))
        .into_boxed();
    match (uscc, id_index) {
        (Some(u), _) => {
            q = q.filter(
                records::subject_uscc
                    .eq(u.to_owned())
                    .or(records::subject_id.eq(subject)),
            )
        }
        (None, Some(i)) => {
            q = q.filter(
                records::subject_id_index
                    .eq(i.to_owned())
                    .or(records::subject_id.eq(subject)),
            )
        }
        (None, None) => return Ok(Vec::new()),
    }
    Ok(q.order((records::decision_date, records::id))
        .select(super::records::RecordRow::as_select())
        .load(conn)?)
}
