//! Subjects and the names they were seen under; weak subjects linked to strong ones.

use super::schema::{subject_keys, subject_names, subjects};
use super::{Conn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored subject.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = subjects)]
pub struct SubjectRow {
    /// Stable id (`sub_…`).
    pub id: String,
    /// uscc, resident_id, id_document, org_code, registration_no or weak.
    pub key_kind: String,
    /// The identifier (a blind index for identity documents).
    pub key_value: String,
    /// Whether the key identifies the subject for certain.
    pub strong: bool,
    /// Subject kind.
    pub kind: String,
    /// Party where first seen.
    pub party: String,
    /// Folded name when first seen.
    pub name: String,
    /// For a weak subject: the strong subject it is linked to.
    pub linked_to: Option<String>,
    /// Why it was linked.
    pub link_reason: Option<String>,
    /// When it was linked.
    pub linked_at: Option<NaiveDateTime>,
    /// First seen.
    pub created_at: NaiveDateTime,
}

/// A subject to create.
#[derive(Insertable, Debug, Clone)]
#[diesel(table_name = subjects)]
pub struct NewSubject<'a> {
    /// Stable id.
    pub id: &'a str,
    /// Key kind.
    pub key_kind: &'a str,
    /// Key value.
    pub key_value: &'a str,
    /// Strong?
    pub strong: bool,
    /// Subject kind.
    pub kind: &'a str,
    /// Party.
    pub party: &'a str,
    /// Folded name.
    pub name: &'a str,
    /// Created at.
    pub created_at: NaiveDateTime,
}

/// The subject with this id.
pub fn find(conn: &mut Conn, id: &str) -> Result<Option<SubjectRow>, StoreError> {
    Ok(subjects::table
        .find(id)
        .select(SubjectRow::as_select())
        .first(conn)
        .optional()?)
}

/// The subjects with these ids (in no particular order; unknown ids are left out).
pub fn find_many(conn: &mut Conn, ids: &[String]) -> Result<Vec<SubjectRow>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::IN_CHUNK) {
        out.extend(
            subjects::table
                .filter(subjects::id.eq_any(chunk))
                .select(SubjectRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// The subject that has been seen with this key (its own key or any other identifier one of
/// its records carried).
pub fn find_by_key(
    conn: &mut Conn,
    kind: &str,
    value: &str,
) -> Result<Option<SubjectRow>, StoreError> {
    let Some(id) = owner(conn, kind, value)? else {
        return Ok(None);
    };
    find(conn, &id)
}

/// The id of the subject a key belongs to.
pub fn owner(conn: &mut Conn, kind: &str, value: &str) -> Result<Option<String>, StoreError> {
    Ok(subject_keys::table
        .find((kind, value))
        .select(subject_keys::subject_id)
        .first(conn)
        .optional()?)
}

/// Every key of a subject, as (kind, value), first seen first.
pub fn keys(conn: &mut Conn, subject_id: &str) -> Result<Vec<(String, String)>, StoreError> {
    Ok(subject_keys::table
        .filter(subject_keys::subject_id.eq(subject_id))
        .order((subject_keys::created_at.asc(), subject_keys::key_kind.asc()))
        .select((subject_keys::key_kind, subject_keys::key_value))
        .load(conn)?)
}

/// Names a subject was seen under, in order of first sight.
pub fn names(conn: &mut Conn, subject_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(subject_names::table
        .filter(subject_names::subject_id.eq(subject_id))
        .order(subject_names::first_seen.asc())
        .select(subject_names::name)
        .load(conn)?)
}

/// Ids of the strong subjects of this kind seen under this folded name, in any party (at most
/// two: enough to tell whether the name points to exactly one).
pub fn strong_named(conn: &mut Conn, name: &str, kind: &str) -> Result<Vec<String>, StoreError> {
    let mut ids: Vec<String> = subject_names::table
        .inner_join(subjects::table)
        .filter(subject_names::name.eq(name))
        .filter(subjects::strong.eq(true))
        .filter(subjects::kind.eq(kind))
        .select(subjects::id)
        .limit(3)
        .load(conn)?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Unlinked weak subjects of this folded name, in any party.
pub fn weak_named(conn: &mut Conn, name: &str) -> Result<Vec<SubjectRow>, StoreError> {
    Ok(subjects::table
        .filter(subjects::strong.eq(false))
        .filter(subjects::name.eq(name))
        .filter(subjects::linked_to.is_null())
        .select(SubjectRow::as_select())
        .load(conn)?)
}

/// Weak subjects linked to a strong one.
pub fn linked_to(conn: &mut Conn, strong_id: &str) -> Result<Vec<SubjectRow>, StoreError> {
    Ok(subjects::table
        .filter(subjects::linked_to.eq(strong_id))
        .select(SubjectRow::as_select())
        .load(conn)?)
}

/// Links (or, with `None`, unlinks) a weak subject.
pub fn set_link(
    conn: &mut Conn,
    weak_id: &str,
    strong_id: Option<&str>,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(subjects::table.find(weak_id))
        .set((
            subjects::linked_to.eq(strong_id),
            subjects::link_reason.eq(reason),
            subjects::linked_at.eq(strong_id.map(|_| now)),
        ))
        .execute(conn)?;
    Ok(())
}

// ---- names: matching keys and links by name (normalize::names, service::links) ----

/// A name a subject was seen under, with its matching keys and what the link decision needs of
/// its subject.
#[derive(Queryable, Debug, Clone, PartialEq, Eq)]
pub struct NameMatch {
    /// The subject.
    pub subject_id: String,
    /// The folded name (as stored and shown).
    pub name: String,
    /// Its matching key.
    pub match_key: String,
    /// `<party>|<rest>` when it starts with divisions.
    pub match_core: Option<String>,
    /// The divisions stripped for `match_core`.
    pub match_chain: String,
    /// Whether the subject is identified.
    pub strong: bool,
    /// Subject kind.
    pub kind: String,
    /// Party where first seen (for a weak subject: the party of its key).
    pub party: String,
    /// The subject's key kind (`uscc`, …, `weak`).
    pub key_kind: String,
    /// For a weak subject: the strong subject it is linked to.
    pub linked_to: Option<String>,
    /// When an operator unlinked it (never linked by name again).
    pub unlinked_at: Option<NaiveDateTime>,
}

type NameMatchColumns = (
    subject_names::subject_id,
    subject_names::name,
    subject_names::match_key,
    subject_names::match_core,
    subject_names::match_chain,
    subjects::strong,
    subjects::kind,
    subjects::party,
    subjects::key_kind,
    subjects::linked_to,
    subjects::unlinked_at,
);

const NAME_MATCH: NameMatchColumns = (
    subject_names::subject_id,
    subject_names::name,
    subject_names::match_key,
    subject_names::match_core,
    subject_names::match_chain,
    subjects::strong,
    subjects::kind,
    subjects::party,
    subjects::key_kind,
    subjects::linked_to,
    subjects::unlinked_at,
);

/// The names of subjects (identified when `strong`, else unidentified) that are not natural
/// persons (never linked by name), whose matching key is one of `keys` or whose core is one of
/// `cores`. Two indexed queries, one per column.
pub fn names_matching(
    conn: &mut Conn,
    strong: bool,
    keys: &[String],
    cores: &[String],
) -> Result<Vec<NameMatch>, StoreError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(super::IN_CHUNK) {
        out.extend(
            subject_names::table
                .inner_join(subjects::table)
                .filter(subject_names::match_key.eq_any(chunk))
                .filter(subjects::strong.eq(strong))
                .filter(subjects::kind.ne("natural_person"))
                .select(NAME_MATCH)
                .load::<NameMatch>(conn)?,
        );
    }
    for chunk in cores.chunks(super::IN_CHUNK) {
        out.extend(
            subject_names::table
                .inner_join(subjects::table)
                .filter(subject_names::match_core.eq_any(chunk))
                .filter(subjects::strong.eq(strong))
                .filter(subjects::kind.ne("natural_person"))
                .select(NAME_MATCH)
                .load::<NameMatch>(conn)?,
        );
    }
    out.sort_by(|a, b| (&a.subject_id, &a.name).cmp(&(&b.subject_id, &b.name)));
    out.dedup();
    Ok(out)
}

/// The names of the unidentified subjects (not natural persons) with ids from `after`
/// (exclusive), `limit` subjects at most, in id order: one page of a walk over all of them.
pub fn weak_names_page(
    conn: &mut Conn,
    after: &str,
    limit: i64,
) -> Result<Vec<NameMatch>, StoreError> {
    let ids: Vec<String> = subjects::table
        .filter(subjects::strong.eq(false))
        .filter(subjects::kind.ne("natural_person"))
        .filter(subjects::id.gt(after))
        .order(subjects::id.asc())
        .limit(limit)
        .select(subjects::id)
        .load(conn)?;
    let mut out = Vec::new();
    for chunk in ids.chunks(super::IN_CHUNK) {
        out.extend(
            subject_names::table
                .inner_join(subjects::table)
                .filter(subject_names::subject_id.eq_any(chunk))
                .select(NAME_MATCH)
                .load::<NameMatch>(conn)?,
        );
    }
    out.sort_by(|a, b| (&a.subject_id, &a.name).cmp(&(&b.subject_id, &b.name)));
    Ok(out)
}

/// A stored name with its matching keys: (subject id, name, key, core, chain).
pub type StoredNameKeys = (String, String, String, Option<String>, String);

/// One page of all stored names as [`StoredNameKeys`], from `after`
/// (exclusive, by subject id and name), in that order.
pub fn names_page(
    conn: &mut Conn,
    after: (&str, &str),
    limit: i64,
) -> Result<Vec<StoredNameKeys>, StoreError> {
    let (sid, name) = after;
    Ok(subject_names::table
        .filter(
            subject_names::subject_id
                .gt(sid)
                .or(subject_names::subject_id
                    .eq(sid)
                    .and(subject_names::name.gt(name))),
        )
        .order((subject_names::subject_id.asc(), subject_names::name.asc()))
        .limit(limit)
        .select((
            subject_names::subject_id,
            subject_names::name,
            subject_names::match_key,
            subject_names::match_core,
            subject_names::match_chain,
        ))
        .load(conn)?)
}

/// Stores new matching keys of a name.
pub fn set_name_keys(
    conn: &mut Conn,
    subject_id: &str,
    name: &str,
    key: &str,
    core: Option<&str>,
    chain: &str,
) -> Result<(), StoreError> {
    diesel::update(subject_names::table.find((subject_id, name)))
        .set((
            subject_names::match_key.eq(key),
            subject_names::match_core.eq(core),
            subject_names::match_chain.eq(chain),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records that an operator unlinked a subject: it is never linked by name again.
pub fn mark_unlinked(conn: &mut Conn, id: &str, now: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(subjects::table.find(id))
        .set(subjects::unlinked_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}

/// The names of the unidentified subjects among `ids` (not natural persons).
pub fn weak_names_of(conn: &mut Conn, ids: &[String]) -> Result<Vec<NameMatch>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(super::IN_CHUNK) {
        out.extend(
            subject_names::table
                .inner_join(subjects::table)
                .filter(subject_names::subject_id.eq_any(chunk))
                .filter(subjects::strong.eq(false))
                .filter(subjects::kind.ne("natural_person"))
                .select(NAME_MATCH)
                .load::<NameMatch>(conn)?,
        );
    }
    Ok(out)
}

/// Holds, until the transaction ends, a lock on each of these name keys, so that two writers
/// whose names can fit each other (a fit always shares a key, a core or a core's rest) decide
/// their links one after the other and the later one sees the earlier one's names: without
/// it, an identified record and a name-only record committing side by side could each miss
/// the other. PostgreSQL only (transaction-scoped advisory locks, taken in key order so two
/// writers never wait for each other in a cycle); SQLite serializes writers already.
pub fn lock_names(conn: &mut Conn, keys: &[String]) -> Result<(), StoreError> {
    use diesel::sql_types::{Array, Text};
    if let super::conn::AnyConnection::Postgresql(pg) = conn
        && !keys.is_empty()
    {
        let mut sorted = keys.to_vec();
        sorted.sort();
        sorted.dedup();
        // The subquery's order is the order the outer scan takes the locks in.
        diesel::sql_query(
            "SELECT count(pg_advisory_xact_lock(h)) AS n FROM \
             (SELECT hashtextextended(k, 13) AS h FROM unnest($1) AS k ORDER BY k) AS s",
        )
        .bind::<Array<Text>, _>(sorted)
        .execute(pg)?;
    }
    Ok(())
}
