//! Canonical records, their versions, the submissions they came from, and the stored answers
//! of idempotent pushes. Personal data arrives here already sealed (encrypted ID numbers, blind
//! indexes); this module never sees a plaintext ID number.

use super::schema::{idempotency_keys, record_versions, records, submission_batches, submissions};
use super::{Conn, StoreError};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// A stored canonical record (current version).
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = records)]
pub struct RecordRow {
    /// Stable public id.
    pub id: String,
    /// Deciding authority (unit code).
    pub authority_code: String,
    /// Normalized decision number.
    pub decision_no: String,
    /// Party of the deciding authority.
    pub party: String,
    /// Current version, from 1.
    pub version: i64,
    /// `active` or `revoked`.
    pub status: String,
    /// SHA-256 of the canonical content.
    pub content_hash: Vec<u8>,
    /// Subject kind.
    pub subject_kind: String,
    /// Folded subject name.
    pub subject_name: String,
    /// Subject USCC.
    pub subject_uscc: Option<String>,
    /// Blind index of the subject's resident ID.
    pub subject_id_index: Option<String>,
    /// Violation type as given (folded).
    pub violation_type: String,
    /// 处罚决定日期.
    pub decision_date: NaiveDate,
    /// Fine in fen.
    pub fine_fen: Option<i64>,
    /// End of publicity.
    pub publicity_until: NaiveDate,
    /// Earliest end of publicity through credit repair.
    pub publicity_min_until: NaiveDate,
    /// The canonical record as JSON, ID numbers sealed.
    pub canonical_json: String,
    /// First stored (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
    /// When revoked (UTC).
    pub revoked_at: Option<NaiveDateTime>,
    /// Who revoked (`unit:CODE`).
    pub revoked_by: Option<String>,
    /// Why: reconsideration, litigation, self_correction, other.
    pub revoke_reason: Option<String>,
    /// Free text with the reason.
    pub revoke_note: Option<String>,
    /// The resolved subject.
    pub subject_id: Option<String>,
    /// The jurisdiction conflict the record belongs to.
    pub conflict_id: Option<String>,
    /// Its role there: `winner`, `loser` (never counted) or `stands` (settled as two acts).
    pub conflict_role: Option<String>,
    /// When credit repair ended its publicity early (UTC).
    pub repaired_at: Option<NaiveDateTime>,
    /// Who repaired it.
    pub repaired_by: Option<String>,
    /// The catalogue type (`None`: unmapped).
    pub violation_code: Option<String>,
    /// How it was matched: `legal_basis`, `party_mapping`, `alias` or `keyword`.
    pub violation_matched_by: Option<String>,
    /// The catalogue's provision that matched the 处罚依据.
    pub violation_provision: Option<String>,
}

/// A new record or a new version of one: the columns a push sets. Inserted for a new record;
/// for a new version every column is replaced but `created_at` (a `None` clears the column).
#[derive(Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = records)]
#[diesel(treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct RecordWrite {
    /// Stable public id.
    pub id: String,
    /// Deciding authority.
    pub authority_code: String,
    /// Normalized decision number.
    pub decision_no: String,
    /// Party.
    pub party: String,
    /// Version.
    pub version: i64,
    /// Status.
    pub status: String,
    /// Content hash.
    pub content_hash: Vec<u8>,
    /// Subject kind.
    pub subject_kind: String,
    /// Folded subject name.
    pub subject_name: String,
    /// USCC.
    pub subject_uscc: Option<String>,
    /// Blind index of the resident ID.
    pub subject_id_index: Option<String>,
    /// Violation type.
    pub violation_type: String,
    /// Decision date.
    pub decision_date: NaiveDate,
    /// Fine in fen.
    pub fine_fen: Option<i64>,
    /// End of publicity.
    pub publicity_until: NaiveDate,
    /// Earliest repair.
    pub publicity_min_until: NaiveDate,
    /// Canonical JSON, sealed.
    pub canonical_json: String,
    /// The resolved subject.
    pub subject_id: Option<String>,
    /// The catalogue type (`None`: unmapped).
    pub violation_code: Option<String>,
    /// How it was matched.
    pub violation_matched_by: Option<String>,
    /// The provision that matched.
    pub violation_provision: Option<String>,
    /// First stored (kept from the first version when the record exists).
    #[diesel(skip_update)]
    pub created_at: NaiveDateTime,
    /// Updated at.
    pub updated_at: NaiveDateTime,
}

/// Whether any record is stored.
pub fn any(conn: &mut Conn) -> Result<bool, StoreError> {
    Ok(records::table
        .select(records::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// The record with this id.
pub fn find(conn: &mut Conn, id: &str) -> Result<Option<RecordRow>, StoreError> {
    Ok(records::table
        .find(id)
        .select(RecordRow::as_select())
        .first(conn)
        .optional()?)
}

/// The records with these ids (in no particular order; unknown ids are left out).
pub fn find_many(conn: &mut Conn, ids: &[String]) -> Result<Vec<RecordRow>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::IN_CHUNK) {
        out.extend(
            records::table
                .filter(records::id.eq_any(chunk))
                .select(RecordRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Replaces the current version of a record (all but `created_at`).
pub fn update(conn: &mut Conn, row: &RecordWrite) -> Result<(), StoreError> {
    diesel::update(records::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Marks a record revoked.
pub fn revoke(
    conn: &mut Conn,
    id: &str,
    by: &str,
    reason: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(records::table.find(id))
        .set((
            records::status.eq("revoked"),
            records::revoked_at.eq(Some(now)),
            records::revoked_by.eq(Some(by)),
            records::revoke_reason.eq(Some(reason)),
            records::revoke_note.eq(note),
            records::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// One stored version.
#[derive(Debug, Clone)]
pub struct VersionRow {
    /// Record id.
    pub record_id: String,
    /// Version number.
    pub version: i64,
    /// Content hash.
    pub content_hash: Vec<u8>,
    /// Canonical JSON of that version, sealed (the current version's is the record's).
    pub canonical_json: String,
    /// The submission that produced it.
    pub submission_id: i64,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// A `record_versions` row as stored: `canonical_json` is NULL for the current version.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = record_versions)]
struct StoredVersion {
    record_id: String,
    version: i64,
    content_hash: Vec<u8>,
    canonical_json: Option<String>,
    submission_id: i64,
    created_at: NaiveDateTime,
}

/// All versions of a record, oldest first, each with its JSON.
pub fn versions(conn: &mut Conn, record_id: &str) -> Result<Vec<VersionRow>, StoreError> {
    let rows: Vec<StoredVersion> = record_versions::table
        .filter(record_versions::record_id.eq(record_id))
        .order(record_versions::version.asc())
        .select(StoredVersion::as_select())
        .load(conn)?;
    let current = if rows.iter().any(|v| v.canonical_json.is_none()) {
        records::table
            .find(record_id)
            .select(records::canonical_json)
            .first::<String>(conn)
            .optional()?
    } else {
        None
    };
    rows.into_iter()
        .map(|v| {
            let canonical_json = match (v.canonical_json, &current) {
                (Some(json), _) => json,
                (None, Some(json)) => json.clone(),
                (None, None) => {
                    return Err(StoreError::Corrupt(format!(
                        "version {} of {record_id} has no JSON and no record",
                        v.version
                    )));
                }
            };
            Ok(VersionRow {
                record_id: v.record_id,
                version: v.version,
                content_hash: v.content_hash,
                canonical_json,
                submission_id: v.submission_id,
                created_at: v.created_at,
            })
        })
        .collect()
}

/// A submission as received.
#[derive(Debug, Clone)]
pub struct SubmissionRow {
    /// Row id.
    pub id: i64,
    /// The request id of the batch.
    pub batch_id: String,
    /// Position in the batch.
    pub item_index: i64,
    /// Who pushed it.
    pub unit_code: String,
    /// When (UTC).
    pub received_at: NaiveDateTime,
    /// The Idempotency-Key of the push.
    pub idempotency_key: Option<String>,
    /// The item as received, ID numbers sealed (from the row, or cut from its batch).
    pub raw_json: String,
    /// accepted, duplicate, corrected, rejected.
    pub outcome: String,
    /// The record it landed on.
    pub record_id: Option<String>,
    /// Field errors of a rejected item.
    pub errors_json: Option<String>,
}

/// A `submissions` row as stored: the raw item in the row (rows stored before batches were
/// packed) or in its batch (`batch_ref`).
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = submissions)]
struct StoredSubmission {
    id: i64,
    batch_id: String,
    item_index: i64,
    unit_code: String,
    received_at: NaiveDateTime,
    idempotency_key: Option<String>,
    raw_json: Option<String>,
    outcome: String,
    record_id: Option<String>,
    errors_json: Option<String>,
    batch_ref: Option<i64>,
}

/// A submission to store.
#[derive(Insertable, Debug, Clone)]
#[diesel(table_name = submissions)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewSubmission {
    /// Batch (request) id.
    pub batch_id: String,
    /// Position in the batch (unique within it).
    pub item_index: i64,
    /// Who pushed it.
    pub unit_code: String,
    /// When.
    pub received_at: NaiveDateTime,
    /// Idempotency key (`None` when the batch row keeps it).
    pub idempotency_key: Option<String>,
    /// Raw item, sealed (`None` when the batch row keeps it).
    pub raw_json: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Record id.
    pub record_id: Option<String>,
    /// Errors as JSON.
    pub errors_json: Option<String>,
    /// The `submission_batches` row holding the raw item (set by the flush).
    pub batch_ref: Option<i64>,
}

/// A batch's raw items, packed ([`super::raw`]), to store once for all its submissions.
#[derive(Insertable, Debug, Clone)]
#[diesel(table_name = submission_batches)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewSubmissionBatch {
    /// Batch (request) id.
    pub batch_id: String,
    /// Who pushed it.
    pub unit_code: String,
    /// When.
    pub received_at: NaiveDateTime,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
    /// [`super::raw::ENCODING`].
    pub encoding: String,
    /// End offsets ([`super::raw::Packed::item_ends`]).
    pub item_ends: Vec<u8>,
    /// The compressed items.
    pub body: Vec<u8>,
}

/// A packed batch as read: id, idempotency key, encoding, end offsets, body.
type BatchBody = (i64, Option<String>, String, Vec<u8>, Vec<u8>);

/// The submissions that landed on a record, oldest first, each with its raw item (a packed
/// batch is decompressed once however many of its items are asked for).
pub fn submissions_of(conn: &mut Conn, record_id: &str) -> Result<Vec<SubmissionRow>, StoreError> {
    let rows: Vec<StoredSubmission> = submissions::table
        .filter(submissions::record_id.eq(record_id))
        .order(submissions::id.asc())
        .select(StoredSubmission::as_select())
        .load(conn)?;
    let mut wanted: Vec<i64> = rows
        .iter()
        .filter(|r| r.raw_json.is_none())
        .filter_map(|r| r.batch_ref)
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut batches = std::collections::HashMap::with_capacity(wanted.len());
    for chunk in wanted.chunks(super::IN_CHUNK) {
        let found: Vec<BatchBody> = submission_batches::table
            .filter(submission_batches::id.eq_any(chunk))
            .select((
                submission_batches::id,
                submission_batches::idempotency_key,
                submission_batches::encoding,
                submission_batches::item_ends,
                submission_batches::body,
            ))
            .load(conn)?;
        for (id, key, encoding, ends, body) in found {
            batches.insert(id, (key, super::raw::unpack(&encoding, &body, &ends)?));
        }
    }
    rows.into_iter()
        .map(|r| {
            let (raw_json, idempotency_key) = match (r.raw_json, r.batch_ref) {
                (Some(raw), _) => (raw, r.idempotency_key),
                (None, Some(b)) => {
                    let (key, unpacked) = batches.get(&b).ok_or_else(|| {
                        StoreError::Corrupt(format!("submission {}: no batch {b}", r.id))
                    })?;
                    (
                        unpacked.item(r.item_index)?,
                        r.idempotency_key.or_else(|| key.clone()),
                    )
                }
                (None, None) => {
                    return Err(StoreError::Corrupt(format!(
                        "submission {} has no raw item",
                        r.id
                    )));
                }
            };
            Ok(SubmissionRow {
                id: r.id,
                batch_id: r.batch_id,
                item_index: r.item_index,
                unit_code: r.unit_code,
                received_at: r.received_at,
                idempotency_key,
                raw_json,
                outcome: r.outcome,
                record_id: r.record_id,
                errors_json: r.errors_json,
            })
        })
        .collect()
}

/// The stored answer for an idempotency key: (hash of the request, answer JSON).
pub fn find_idempotent(
    conn: &mut Conn,
    unit_code: &str,
    key: &str,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(idempotency_keys::table
        .find((unit_code, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::response_json,
        ))
        .first(conn)
        .optional()?)
}

/// Stores the answer for an idempotency key.
pub fn insert_idempotent(
    conn: &mut Conn,
    unit_code: &str,
    key: &str,
    request_hash: &str,
    response_json: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::unit_code.eq(unit_code),
            idempotency_keys::idem_key.eq(key),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::response_json.eq(response_json),
            idempotency_keys::created_at.eq(super::now_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Current versions of the records of these subjects, newest decision first.
pub fn of_subjects(conn: &mut Conn, subject_ids: &[String]) -> Result<Vec<RecordRow>, StoreError> {
    Ok(records::table
        .filter(records::subject_id.eq_any(subject_ids))
        .order((records::decision_date.desc(), records::id.asc()))
        .select(RecordRow::as_select())
        .load(conn)?)
}

/// What re-classifying a record reads of it.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = records)]
pub struct ClassificationRow {
    /// Record id.
    pub id: String,
    /// Party of the deciding authority.
    pub party: String,
    /// Violation type as given (folded).
    pub violation_type: String,
    /// The canonical record (its `legal_basis` is read).
    pub canonical_json: String,
    /// Stored catalogue code.
    pub violation_code: Option<String>,
    /// Stored way of matching.
    pub violation_matched_by: Option<String>,
    /// Stored provision.
    pub violation_provision: Option<String>,
    /// The record's subject.
    pub subject_id: Option<String>,
}

/// Up to `limit` records with ids after `after`, in id order (keyset paging).
pub fn classification_page(
    conn: &mut Conn,
    after: &str,
    limit: i64,
) -> Result<Vec<ClassificationRow>, StoreError> {
    Ok(records::table
        .filter(records::id.gt(after))
        .order(records::id.asc())
        .limit(limit)
        .select(ClassificationRow::as_select())
        .load(conn)?)
}

/// These records' classification rows (unknown ids are left out).
pub fn classification_of(
    conn: &mut Conn,
    ids: &[String],
) -> Result<Vec<ClassificationRow>, StoreError> {
    Ok(records::table
        .filter(records::id.eq_any(ids))
        .select(ClassificationRow::as_select())
        .load(conn)?)
}

/// Sets a record's place in the catalogue (not a new version: the record's content is
/// unchanged, only how penex reads it).
pub fn set_classification(
    conn: &mut Conn,
    id: &str,
    code: Option<&str>,
    matched_by: Option<&str>,
    provision: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(records::table.find(id))
        .set((
            records::violation_code.eq(code),
            records::violation_matched_by.eq(matched_by),
            records::violation_provision.eq(provision),
            records::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
