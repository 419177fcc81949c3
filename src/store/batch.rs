//! One pushed batch, read and written set-wise.
//!
//! The per-item decisions of a push (`service::ingest`) ask the same questions of the store for
//! every item: is this identity stored, who owns this subject key, which subjects go by this
//! name, was this name seen for this subject. [`BatchStore::load`] reads everything those
//! questions can touch for the whole batch in a handful of queries; the decisions then run
//! against this in-memory view, which applies each write at once, so item *k* sees exactly what
//! the items before it wrote, as it would against the database. [`BatchStore::flush`] writes
//! the result: one binary `COPY` per table on PostgreSQL, multi-row inserts on SQLite
//! (`store::conn::insert_rows!`); the submissions, whose ids the versions refer to, with
//! multi-row inserts `RETURNING` their ids on both.
//!
//! Invariants:
//! - the view answers every question as the database would after the writes made so far: every
//!   row a question could match is loaded (by record id, by subject key, the names already
//!   seen for the subjects those keys name, every subject of a name the batch may link by);
//! - on PostgreSQL the batch's stored records are locked (`FOR UPDATE`, in id order) while
//!   they are read, so no revocation or correction can commit between the read and the write;
//! - nothing is written before [`BatchStore::flush`], and the caller's transaction holds it all.

use super::conn::{AnyConnection, insert_rows, on_each_backend};
use super::records::{NewSubmission, NewSubmissionBatch, RecordRow, RecordWrite};
use super::schema::{
    record_versions, records, subject_keys, subject_names, subjects, submission_batches,
    submissions,
};
use super::subjects::SubjectRow;
use super::{Conn, IN_CHUNK, StoreError};
use crate::normalize::names::NameKeys;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Rows per multi-row insert (the widest table has 20 columns: 10 000 bound values, under
/// both backends' limits).
const INSERT_CHUNK: usize = 500;

/// What a push needs to know of a stored record.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// Current version.
    pub version: i64,
    /// SHA-256 of the current content.
    pub content_hash: Vec<u8>,
    /// `active` or `revoked`.
    pub status: String,
    /// Its subject.
    pub subject_id: Option<String>,
}

/// A version to store; its submission is the one of item `item_index`.
#[derive(Debug, Clone)]
pub struct VersionOut {
    /// Record id.
    pub record_id: String,
    /// Version number.
    pub version: i64,
    /// Content hash.
    pub content_hash: Vec<u8>,
    /// Canonical JSON of that version, sealed.
    pub canonical_json: String,
    /// The item whose submission produced it.
    pub item_index: i64,
    /// When.
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = record_versions)]
#[diesel(treat_none_as_default_value = false)]
struct NewVersion<'a> {
    record_id: &'a str,
    version: i64,
    content_hash: &'a [u8],
    canonical_json: Option<&'a str>,
    submission_id: i64,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = subjects)]
#[diesel(treat_none_as_default_value = false)]
struct NewSubjectRow<'a> {
    id: &'a str,
    key_kind: &'a str,
    key_value: &'a str,
    strong: bool,
    kind: &'a str,
    party: &'a str,
    name: &'a str,
    linked_to: Option<&'a str>,
    link_reason: Option<&'a str>,
    linked_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = subject_keys)]
#[diesel(treat_none_as_default_value = false)]
struct NewKey<'a> {
    key_kind: &'a str,
    key_value: &'a str,
    subject_id: &'a str,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = subject_names)]
#[diesel(treat_none_as_default_value = false)]
struct NewName<'a> {
    subject_id: &'a str,
    name: &'a str,
    first_seen: NaiveDateTime,
    match_key: &'a str,
    match_core: Option<&'a str>,
    match_chain: &'a str,
}

/// What the batch asks about: the record ids it may write, the subject keys `(kind, value)` it
/// carries and the folded names it may link subjects by.
#[derive(Debug, Default)]
pub struct Wanted {
    /// Record ids.
    pub record_ids: Vec<String>,
    /// Subject keys.
    pub keys: Vec<(String, String)>,
    /// Folded subject names the batch may link subjects by ([`BatchStore::strong_named`] and
    /// [`BatchStore::weak_named`] answer for these names only).
    pub linkable_names: Vec<String>,
}

/// The batch's view of the store, and the writes it has decided (module docs).
#[derive(Debug, Default)]
pub struct BatchStore {
    records: HashMap<String, StoredRecord>,
    stored_before: HashSet<String>,
    key_owners: HashMap<(String, String), String>,
    subjects: HashMap<String, SubjectRow>,
    names: HashSet<(String, String)>,
    subjects_by_name: HashMap<String, Vec<String>>,
    weak_by_name: HashMap<String, Vec<String>>,
    // Writes, in the order they were decided.
    new_subjects: Vec<String>,
    relinked: BTreeSet<String>,
    new_keys: Vec<(String, String, String, NaiveDateTime)>,
    new_names: Vec<(String, String, NaiveDateTime, NameKeys)>,
    raw_batch: Option<NewSubmissionBatch>,
    submissions: Vec<NewSubmission>,
    written: BTreeMap<String, RecordWrite>,
    versions: Vec<VersionOut>,
    left_subjects: Vec<String>,
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

impl BatchStore {
    /// Reads everything the batch can ask about (module docs). Call inside the batch's write
    /// transaction.
    pub fn load(conn: &mut Conn, wanted: Wanted) -> Result<Self, StoreError> {
        let mut bs = BatchStore::default();
        let ids = dedup(wanted.record_ids);
        for chunk in ids.chunks(IN_CHUNK) {
            super::failpoint::hit("push.load_records")?;
            let query = records::table
                .filter(records::id.eq_any(chunk))
                .order(records::id);
            let rows: Vec<RecordRow> = match conn {
                AnyConnection::Postgresql(pg) => {
                    query.select(RecordRow::as_select()).for_update().load(pg)?
                }
                AnyConnection::Sqlite(sqlite) => {
                    query.select(RecordRow::as_select()).load(sqlite)?
                }
            };
            for r in rows {
                bs.stored_before.insert(r.id.clone());
                bs.records.insert(
                    r.id,
                    StoredRecord {
                        version: r.version,
                        content_hash: r.content_hash,
                        status: r.status,
                        subject_id: r.subject_id,
                    },
                );
            }
        }
        let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (kind, value) in wanted.keys {
            by_kind.entry(kind).or_default().push(value);
        }
        let mut owners = Vec::new();
        for (kind, values) in by_kind {
            for chunk in dedup(values).chunks(IN_CHUNK) {
                super::failpoint::hit("push.load_keys")?;
                let found: Vec<(String, String)> = subject_keys::table
                    .filter(subject_keys::key_kind.eq(&kind))
                    .filter(subject_keys::key_value.eq_any(chunk))
                    .select((subject_keys::key_value, subject_keys::subject_id))
                    .load(conn)?;
                for (value, owner) in found {
                    owners.push(owner.clone());
                    bs.key_owners.insert((kind.clone(), value), owner);
                }
            }
        }
        let owners = dedup(owners);
        super::failpoint::hit("push.load_subjects")?;
        for s in super::subjects::find_many(conn, &owners)? {
            bs.know(s);
        }
        // The names the batch's subjects were already seen under, so none is added twice.
        for chunk in owners.chunks(IN_CHUNK) {
            super::failpoint::hit("push.load_names")?;
            let rows: Vec<(String, String)> = subject_names::table
                .filter(subject_names::subject_id.eq_any(chunk))
                .select((subject_names::subject_id, subject_names::name))
                .load(conn)?;
            for (id, name) in rows {
                bs.remember_name(&id, &name);
            }
        }
        // Every subject of a name the batch may link by (not natural persons' names: common
        // ones are shared by thousands, and they are never linked).
        let names = dedup(wanted.linkable_names);
        for chunk in names.chunks(IN_CHUNK) {
            super::failpoint::hit("push.load_linkable")?;
            let rows: Vec<(String, SubjectRow)> = subject_names::table
                .inner_join(subjects::table)
                .filter(subject_names::name.eq_any(chunk))
                .select((subject_names::name, SubjectRow::as_select()))
                .load(conn)?;
            for (name, s) in rows {
                bs.remember_name(&s.id, &name);
                bs.know(s);
            }
            super::failpoint::hit("push.load_weak")?;
            let weak: Vec<SubjectRow> = subjects::table
                .filter(subjects::name.eq_any(chunk))
                .filter(subjects::strong.eq(false))
                .filter(subjects::linked_to.is_null())
                .select(SubjectRow::as_select())
                .load(conn)?;
            for s in weak {
                bs.know(s);
            }
        }
        Ok(bs)
    }

    fn know(&mut self, s: SubjectRow) {
        if self.subjects.contains_key(&s.id) {
            return;
        }
        if !s.strong {
            self.weak_by_name
                .entry(s.name.clone())
                .or_default()
                .push(s.id.clone());
        }
        self.subjects.insert(s.id.clone(), s);
    }

    fn remember_name(&mut self, subject_id: &str, name: &str) -> bool {
        let fresh = self.names.insert((subject_id.to_owned(), name.to_owned()));
        if fresh {
            self.subjects_by_name
                .entry(name.to_owned())
                .or_default()
                .push(subject_id.to_owned());
        }
        fresh
    }

    /// The stored (or earlier in the batch written) record with this id.
    pub fn record(&self, id: &str) -> Option<&StoredRecord> {
        self.records.get(id)
    }

    /// The subject a key belongs to.
    pub fn owner(&self, kind: &str, value: &str) -> Option<String> {
        self.key_owners
            .get(&(kind.to_owned(), value.to_owned()))
            .cloned()
    }

    /// Creates a subject.
    pub fn insert_subject(&mut self, s: &super::subjects::NewSubject<'_>) {
        let row = SubjectRow {
            id: s.id.to_owned(),
            key_kind: s.key_kind.to_owned(),
            key_value: s.key_value.to_owned(),
            strong: s.strong,
            kind: s.kind.to_owned(),
            party: s.party.to_owned(),
            name: s.name.to_owned(),
            linked_to: None,
            link_reason: None,
            linked_at: None,
            created_at: s.created_at,
        };
        self.new_subjects.push(row.id.clone());
        self.know(row);
    }

    /// Gives a subject a key no subject owns yet (a concurrent writer that gave it first makes
    /// the flush fail on the key, and the transaction is retried).
    pub fn add_key(&mut self, subject_id: &str, kind: &str, value: &str, now: NaiveDateTime) {
        self.key_owners
            .insert((kind.to_owned(), value.to_owned()), subject_id.to_owned());
        self.new_keys.push((
            kind.to_owned(),
            value.to_owned(),
            subject_id.to_owned(),
            now,
        ));
    }

    /// Records a name a subject was seen under, once, with its matching keys.
    pub fn add_name(&mut self, subject_id: &str, name: &str, keys: &NameKeys, now: NaiveDateTime) {
        if self.remember_name(subject_id, name) {
            self.new_names
                .push((subject_id.to_owned(), name.to_owned(), now, keys.clone()));
        }
    }

    /// Ids of the strong subjects of this kind seen under this folded name (as
    /// [`super::subjects::strong_named`]), sorted.
    pub fn strong_named(&self, name: &str, kind: &str) -> Vec<String> {
        let ids = self
            .subjects_by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter(|id| {
                self.subjects
                    .get(*id)
                    .is_some_and(|s| s.strong && s.kind == kind)
            })
            .cloned()
            .collect();
        dedup(ids)
    }

    /// Unlinked weak subjects of this folded name, as (id, kind) (as
    /// [`super::subjects::weak_named`]).
    pub fn weak_named(&self, name: &str) -> Vec<(String, String)> {
        self.weak_by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|id| self.subjects.get(id))
            .filter(|s| s.linked_to.is_none() && s.name == name)
            .map(|s| (s.id.clone(), s.kind.clone()))
            .collect()
    }

    /// Links a weak subject to a strong one (as [`super::subjects::set_link`]).
    pub fn set_link(&mut self, weak_id: &str, strong_id: &str, reason: &str, now: NaiveDateTime) {
        if let Some(s) = self.subjects.get_mut(weak_id) {
            s.linked_to = Some(strong_id.to_owned());
            s.link_reason = Some(reason.to_owned());
            s.linked_at = Some(now);
            self.relinked.insert(weak_id.to_owned());
        }
    }

    /// The subjects of the records written, and those a corrected record left: the subjects
    /// whose conflicts and flags the batch may change.
    pub fn touched_subjects(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .written
            .values()
            .filter_map(|r| r.subject_id.clone())
            .chain(self.left_subjects.iter().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Keeps a submission.
    pub fn add_submission(&mut self, s: NewSubmission) {
        self.submissions.push(s);
    }

    /// Keeps the batch's raw items, packed: stored once, and every submission of the batch
    /// refers to it.
    pub fn set_raw_batch(&mut self, batch: NewSubmissionBatch) {
        self.raw_batch = Some(batch);
    }

    /// Writes a record's new version (a new record when none is stored under its id) and its
    /// version row, produced by the submission of item `item_index`.
    pub fn write_record(&mut self, record: RecordWrite, item_index: i64) {
        self.versions.push(VersionOut {
            record_id: record.id.clone(),
            version: record.version,
            content_hash: record.content_hash.clone(),
            canonical_json: record.canonical_json.clone(),
            item_index,
            created_at: record.updated_at,
        });
        if let Some(before) = self.records.get(&record.id)
            && before.subject_id != record.subject_id
            && let Some(left) = &before.subject_id
        {
            self.left_subjects.push(left.clone());
        }
        self.records.insert(
            record.id.clone(),
            StoredRecord {
                version: record.version,
                content_hash: record.content_hash.clone(),
                status: record.status.clone(),
                subject_id: record.subject_id.clone(),
            },
        );
        // Written earlier in the batch: the last version is the row (every write of a batch
        // carries the batch's time).
        self.written.insert(record.id.clone(), record);
    }

    /// Writes everything decided, in an order the foreign keys accept: subjects, their keys
    /// and names, links, the batch's raw items, submissions, records, versions. The rows of each table go in the
    /// order of their unique key, so two batches racing for the same new rows meet at the
    /// first one they share (one waits, then fails on the key and is retried) and never wait
    /// for each other in a cycle.
    pub fn flush(mut self, conn: &mut Conn) -> Result<(), StoreError> {
        let mut new_rows: Vec<NewSubjectRow<'_>> = self
            .new_subjects
            .iter()
            .filter_map(|id| self.subjects.get(id))
            .map(|s| NewSubjectRow {
                id: &s.id,
                key_kind: &s.key_kind,
                key_value: &s.key_value,
                strong: s.strong,
                kind: &s.kind,
                party: &s.party,
                name: &s.name,
                linked_to: s.linked_to.as_deref(),
                link_reason: s.link_reason.as_deref(),
                linked_at: s.linked_at,
                created_at: s.created_at,
            })
            .collect();
        new_rows.sort_by(|a, b| a.id.cmp(b.id));
        super::failpoint::hit("push.insert_subjects")?;
        insert_rows!(conn, subjects::table, &new_rows, INSERT_CHUNK);
        let fresh: HashSet<&str> = self.new_subjects.iter().map(String::as_str).collect();
        for id in self
            .relinked
            .iter()
            .filter(|id| !fresh.contains(id.as_str()))
        {
            if let Some(s) = self.subjects.get(id) {
                super::failpoint::hit("push.set_link")?;
                super::subjects::set_link(
                    conn,
                    id,
                    s.linked_to.as_deref(),
                    s.link_reason.as_deref(),
                    s.linked_at.unwrap_or(s.created_at),
                )?;
            }
        }
        let mut keys: Vec<NewKey<'_>> = self
            .new_keys
            .iter()
            .map(|(kind, value, subject, at)| NewKey {
                key_kind: kind,
                key_value: value,
                subject_id: subject,
                created_at: *at,
            })
            .collect();
        keys.sort_by(|a, b| (a.key_kind, a.key_value).cmp(&(b.key_kind, b.key_value)));
        super::failpoint::hit("push.insert_keys")?;
        insert_rows!(conn, subject_keys::table, &keys, INSERT_CHUNK);
        let mut names: Vec<NewName<'_>> = self
            .new_names
            .iter()
            .map(|(subject, name, at, keys)| NewName {
                subject_id: subject,
                name,
                first_seen: *at,
                match_key: &keys.key,
                match_core: keys.core.as_deref(),
                match_chain: &keys.chain,
            })
            .collect();
        names.sort_by(|a, b| (a.subject_id, a.name).cmp(&(b.subject_id, b.name)));
        super::failpoint::hit("push.insert_names")?;
        insert_rows!(conn, subject_names::table, &names, INSERT_CHUNK);
        if let Some(batch) = &self.raw_batch {
            super::failpoint::hit("push.insert_batch")?;
            let batch_ref: i64 = on_each_backend!(conn, c => diesel::insert_into(submission_batches::table)
                .values(batch)
                .returning(submission_batches::id)
                .get_result(c))?;
            for s in &mut self.submissions {
                s.batch_ref = Some(batch_ref);
            }
        }
        let mut submission_ids: HashMap<i64, i64> = HashMap::with_capacity(self.submissions.len());
        for chunk in self.submissions.chunks(INSERT_CHUNK) {
            super::failpoint::hit("push.insert_submissions")?;
            let ids: Vec<(i64, i64)> = on_each_backend!(conn, c => diesel::insert_into(submissions::table)
                .values(chunk)
                .returning((submissions::item_index, submissions::id))
                .get_results(c))?;
            submission_ids.extend(ids);
        }
        // The current version's JSON is the record's only: before a stored record is
        // overwritten, the row of the version it supersedes gets the record's JSON.
        let superseded: Vec<&str> = self
            .written
            .keys()
            .filter(|id| self.stored_before.contains(*id))
            .map(String::as_str)
            .collect();
        for chunk in superseded.chunks(IN_CHUNK) {
            super::failpoint::hit("push.keep_version_json")?;
            diesel::update(
                record_versions::table
                    .filter(record_versions::record_id.eq_any(chunk))
                    .filter(record_versions::canonical_json.is_null()),
            )
            .set(
                record_versions::canonical_json.eq(records::table
                    .filter(records::id.eq(record_versions::record_id))
                    .select(records::canonical_json)
                    .single_value()),
            )
            .execute(conn)?;
        }
        let mut inserts = Vec::new();
        // By id (the map's order); a record stored before the batch gets its new version.
        for (id, r) in self.written {
            if self.stored_before.contains(&id) {
                super::failpoint::hit("push.update_record")?;
                super::records::update(conn, &r)?;
            } else {
                inserts.push(r);
            }
        }
        super::failpoint::hit("push.insert_records")?;
        insert_rows!(conn, records::table, &inserts, INSERT_CHUNK);
        // The last version of each record written is its current one (NULL: the record's
        // JSON); a version superseded within the batch keeps its own.
        let mut current: HashMap<&str, i64> = HashMap::with_capacity(self.versions.len());
        for v in &self.versions {
            let last = current.entry(v.record_id.as_str()).or_insert(v.version);
            *last = (*last).max(v.version);
        }
        let mut versions = Vec::with_capacity(self.versions.len());
        for v in &self.versions {
            let is_current = current.get(v.record_id.as_str()) == Some(&v.version);
            let submission_id = submission_ids.get(&v.item_index).copied().ok_or_else(|| {
                StoreError::Corrupt(format!("no submission stored for item {}", v.item_index))
            })?;
            versions.push(NewVersion {
                record_id: &v.record_id,
                version: v.version,
                content_hash: &v.content_hash,
                canonical_json: (!is_current).then_some(v.canonical_json.as_str()),
                submission_id,
                created_at: v.created_at,
            });
        }
        super::failpoint::hit("push.insert_versions")?;
        insert_rows!(conn, record_versions::table, &versions, INSERT_CHUNK);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conn::{DatabaseUrl, run_migrations, write_tx};
    use crate::store::subjects as stored;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    const NAMES: [&str; 3] = ["甲公司", "乙商行", "丙"];
    const KINDS: [&str; 2] = ["legal_person", "individual_business"];
    const KEYS: usize = 5;

    /// One decision of a push, on a small universe so that operations collide.
    #[derive(Debug, Clone)]
    enum Op {
        /// A subject for key `key` (if no subject owns it), strong or weak.
        Subject {
            key: usize,
            strong: bool,
            kind: usize,
            name: usize,
        },
        /// Key `key` given to the owner of key `of` (if `key` is free and `of` owned).
        Key { key: usize, of: usize },
        /// Name `name` seen for the owner of key `of`.
        Name { of: usize, name: usize },
        /// The owner of `weak` linked to the owner of `strong`.
        Link { weak: usize, strong: usize },
        /// A version of record `record` (1-3) from item `item`.
        Record { record: usize, content: u8 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..KEYS, any::<bool>(), 0..KINDS.len(), 0..NAMES.len()).prop_map(
                |(key, strong, kind, name)| Op::Subject {
                    key,
                    strong,
                    kind,
                    name
                }
            ),
            (0..KEYS, 0..KEYS).prop_map(|(key, of)| Op::Key { key, of }),
            (0..KEYS, 0..NAMES.len()).prop_map(|(of, name)| Op::Name { of, name }),
            (0..KEYS, 0..KEYS).prop_map(|(weak, strong)| Op::Link { weak, strong }),
            (0..3usize, 0..3u8).prop_map(|(record, content)| Op::Record { record, content }),
        ]
    }

    fn plain(name: &str) -> NameKeys {
        NameKeys {
            key: name.to_owned(),
            core: None,
            chain: String::new(),
        }
    }

    fn key(i: usize) -> (&'static str, String) {
        ("uscc", format!("K{i}"))
    }

    fn wanted() -> Wanted {
        Wanted {
            record_ids: (0..3).map(|r| format!("rec_{r}")).collect(),
            keys: (0..KEYS).map(|i| (key(i).0.to_owned(), key(i).1)).collect(),
            linkable_names: NAMES.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    /// Applies `ops` as `service::ingest` would: only writes its checks allow.
    fn apply(bs: &mut BatchStore, ops: &[Op], batch: &str, now: NaiveDateTime) {
        for (item, op) in ops.iter().enumerate() {
            let item = i64::try_from(item).unwrap();
            match op {
                Op::Subject {
                    key: k,
                    strong,
                    kind,
                    name,
                } => {
                    let (kk, kv) = key(*k);
                    if bs.owner(kk, &kv).is_none() {
                        let id = format!("sub_{kv}");
                        bs.insert_subject(&stored::NewSubject {
                            id: &id,
                            key_kind: kk,
                            key_value: &kv,
                            strong: *strong,
                            kind: KINDS[*kind],
                            party: "SH",
                            name: NAMES[*name],
                            created_at: now,
                        });
                        bs.add_key(&id, kk, &kv, now);
                        bs.add_name(&id, NAMES[*name], &plain(NAMES[*name]), now);
                    }
                }
                Op::Key { key: k, of } => {
                    let (kk, kv) = key(*k);
                    if let (None, Some(owner)) = (bs.owner(kk, &kv), bs.owner(kk, &key(*of).1)) {
                        bs.add_key(&owner, kk, &kv, now);
                    }
                }
                Op::Name { of, name } => {
                    if let Some(owner) = bs.owner("uscc", &key(*of).1) {
                        bs.add_name(&owner, NAMES[*name], &plain(NAMES[*name]), now);
                    }
                }
                Op::Link { weak, strong } => {
                    let (Some(w), Some(s)) = (
                        bs.owner("uscc", &key(*weak).1),
                        bs.owner("uscc", &key(*strong).1),
                    ) else {
                        continue;
                    };
                    let name = bs
                        .subjects
                        .get(&w)
                        .map(|r| r.name.clone())
                        .unwrap_or_default();
                    if bs.weak_named(&name).iter().any(|(id, _)| *id == w)
                        && bs.subjects.get(&s).is_some_and(|r| r.strong)
                    {
                        bs.set_link(&w, &s, "test", now);
                    }
                }
                Op::Record { record, content } => {
                    let id = format!("rec_{record}");
                    let hash = vec![*content; 32];
                    let (version, status) = match bs.record(&id) {
                        Some(r) if r.content_hash == hash => (None, r.status.clone()),
                        Some(r) => (Some(r.version + 1), r.status.clone()),
                        None => (Some(1), "active".to_owned()),
                    };
                    bs.add_submission(NewSubmission {
                        batch_id: batch.to_owned(),
                        item_index: item,
                        unit_code: "SH-310000".into(),
                        received_at: now,
                        idempotency_key: None,
                        raw_json: Some("{}".into()),
                        outcome: if version.is_some() {
                            "accepted"
                        } else {
                            "duplicate"
                        }
                        .into(),
                        record_id: Some(id.clone()),
                        errors_json: None,
                        batch_ref: None,
                    });
                    if let Some(version) = version {
                        let date = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
                        bs.write_record(
                            RecordWrite {
                                id: id.clone(),
                                authority_code: "SH-310000".into(),
                                decision_no: format!("第{record}号"),
                                party: "SH".into(),
                                version,
                                status,
                                content_hash: hash,
                                subject_kind: "legal_person".into(),
                                subject_name: "甲公司".into(),
                                subject_uscc: None,
                                subject_id_index: None,
                                violation_type: "x".into(),
                                decision_date: date,
                                fine_fen: None,
                                publicity_until: date,
                                publicity_min_until: date,
                                canonical_json: format!("{{\"c\":{content}}}"),
                                subject_id: None,
                                violation_code: None,
                                violation_matched_by: None,
                                violation_provision: None,
                                created_at: now,
                                updated_at: now,
                            },
                            item,
                        );
                    }
                }
            }
        }
    }

    /// What the service reads from the strong namesakes of a name: none, exactly this one, or
    /// several (the database query stops at three).
    fn one_or_more(ids: Vec<String>) -> String {
        if ids.len() <= 1 {
            format!("{ids:?}")
        } else {
            "several".to_owned()
        }
    }

    /// Everything the view answers, asked of the view and of the database.
    fn answers_of_view(bs: &BatchStore) -> Vec<String> {
        let mut out = Vec::new();
        for i in 0..KEYS {
            out.push(format!("owner {i}: {:?}", bs.owner("uscc", &key(i).1)));
        }
        for n in NAMES {
            for k in KINDS {
                out.push(format!(
                    "strong {n} {k}: {}",
                    one_or_more(bs.strong_named(n, k))
                ));
            }
            let mut weak = bs.weak_named(n);
            weak.sort();
            out.push(format!("weak {n}: {weak:?}"));
        }
        for r in 0..3 {
            let rec = bs.record(&format!("rec_{r}"));
            out.push(format!(
                "record {r}: {:?}",
                rec.map(|r| (r.version, r.content_hash.first().copied()))
            ));
        }
        out
    }

    fn answers_of_db(conn: &mut Conn) -> Vec<String> {
        let mut out = Vec::new();
        for i in 0..KEYS {
            out.push(format!(
                "owner {i}: {:?}",
                stored::owner(conn, "uscc", &key(i).1).unwrap()
            ));
        }
        for n in NAMES {
            for k in KINDS {
                out.push(format!(
                    "strong {n} {k}: {}",
                    one_or_more(stored::strong_named(conn, n, k).unwrap())
                ));
            }
            let mut weak: Vec<(String, String)> = stored::weak_named(conn, n)
                .unwrap()
                .into_iter()
                .map(|s| (s.id, s.kind))
                .collect();
            weak.sort();
            out.push(format!("weak {n}: {weak:?}"));
        }
        for r in 0..3 {
            let rec = crate::store::records::find(conn, &format!("rec_{r}")).unwrap();
            out.push(format!(
                "record {r}: {:?}",
                rec.map(|r| (r.version, r.content_hash.first().copied()))
            ));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// After any two batches of decisions, what the batch's view answers is what the
        /// database answers once the view is flushed: the second batch's view, loaded from
        /// what the first wrote, sees the same world as a query would; the flush writes no
        /// row twice (it would fail on a key) and every version finds its submission.
        #[test]
        fn the_view_answers_as_the_database_after_the_flush(
            first in proptest::collection::vec(op(), 0..24),
            second in proptest::collection::vec(op(), 0..24),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut conn = DatabaseUrl::Sqlite(dir.path().join("t.db")).establish().unwrap();
            run_migrations(&mut conn).unwrap();
            let now = crate::store::now_utc();
            for (batch, ops) in [("b1", &first), ("b2", &second)] {
                let view = write_tx(&mut conn, |c| {
                    let mut bs = BatchStore::load(c, wanted())?;
                    apply(&mut bs, ops, batch, now);
                    let view = answers_of_view(&bs);
                    bs.flush(c)?;
                    Ok::<_, StoreError>(view)
                })
                .unwrap();
                prop_assert_eq!(view, answers_of_db(&mut conn));
            }
            let versions: i64 = crate::store::schema::record_versions::table
                .count()
                .get_result(&mut conn)
                .unwrap();
            let written = first.iter().chain(&second).filter(|o| matches!(o, Op::Record { .. })).count();
            prop_assert!(usize::try_from(versions).unwrap() <= written);
            // Only the current version's row leaves its JSON to the record, and every version
            // reads back as written (a version superseded in the first batch, in the second, or
            // within one batch alike).
            for r in 0..3 {
                let id = format!("rec_{r}");
                let Some(current) = crate::store::records::find(&mut conn, &id).unwrap() else {
                    continue;
                };
                let nulls: Vec<i64> = crate::store::schema::record_versions::table
                    .filter(crate::store::schema::record_versions::record_id.eq(&id))
                    .filter(crate::store::schema::record_versions::canonical_json.is_null())
                    .select(crate::store::schema::record_versions::version)
                    .load(&mut conn)
                    .unwrap();
                prop_assert_eq!(nulls, vec![current.version]);
                for v in crate::store::records::versions(&mut conn, &id).unwrap() {
                    let content = v.content_hash.first().copied().unwrap();
                    prop_assert_eq!(v.canonical_json, format!("{{\"c\":{content}}}"));
                }
            }
        }
    }
}
