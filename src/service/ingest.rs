//! Ingest: a batch of raw 双公示 records pushed by a unit → per-item outcomes, with every
//! accepted item, every submission as received, the audit entry and the idempotency answer
//! written in ONE transaction before the answer is sent.
//!
//! Two phases. `prepare` is pure apart from encryption: it normalizes each item, resolves the
//! deciding authority in the registry, checks the caller's rights, and seals personal data.
//! `apply` runs inside the caller's write transaction and decides, per item, accepted /
//! duplicate / corrected against what is stored.
//!
//! Invariants: an item is never half-stored; the outcome of an item depends only on what is
//! stored and on the items before it in the same batch; ID numbers are sealed before anything
//! reaches the store.

use super::conflicts::{self, Place, Policy};
use super::links::{self, Probe};
use super::sealing::seal_pointers;
use super::touched::Touched;
use crate::crypto::CryptoError;
use crate::crypto::pii::{KIND_RESIDENT_ID, PiiKeyring};
use crate::dedup::subject::{SealedIds, SubjectKey, other_document, subject_keys};
use crate::domain::record::{CanonicalRecord, IdType, SubjectKind};
use crate::domain::registry::Registry;
use crate::domain::unit::{Unit, UnitCode};
use crate::normalize::names::{Divisions, NameKeys, match_name};
use crate::normalize::{Field, FieldIssue, IssueCode, NormalizeContext, normalize_record};
use crate::rules::flags::Cause;
use crate::store::batch::{BatchStore, Wanted};
use crate::store::records::{NewSubmission, RecordWrite};
use crate::store::{self, Conn, StoreError};
use serde::Serialize;
use serde_json::Value;

/// Outcome of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// A new canonical record (version 1).
    Accepted,
    /// Same identity, same content: nothing new stored but the submission.
    Duplicate,
    /// Same identity, new content: a new version, the old one kept.
    Corrected,
    /// Not stored as a record; `errors` says why.
    Rejected,
    /// A new record of an act another authority filed first (谁先予立案,谁负责处理): stored,
    /// linked to the conflict (`conflict`), never counted against the subject.
    Conflict,
}

impl ItemStatus {
    /// snake_case name, as stored with the submission.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Accepted => "accepted",
            ItemStatus::Duplicate => "duplicate",
            ItemStatus::Corrected => "corrected",
            ItemStatus::Rejected => "rejected",
            ItemStatus::Conflict => "conflict",
        }
    }
}

/// The answer for one item of a batch.
#[derive(Debug, Clone, Serialize)]
pub struct ItemOutcome {
    /// Position in the submitted batch (from 0).
    pub index: usize,
    /// What happened.
    pub status: ItemStatus,
    /// The canonical record's stable id (all statuses but rejected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// The record's version after this item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Why the item was rejected (JSON Pointers into the submitted document).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldIssue>,
    /// Things worth knowing that did not stop the item.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FieldIssue>,
    /// The jurisdiction conflict the record is in after this item, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Place>,
}

/// A normalized, resolved and sealed item, ready to store.
#[derive(Debug)]
pub struct ReadyItem {
    /// Position in the batch.
    pub index: usize,
    /// The canonical record (personal data in clear; never stored as is).
    pub record: CanonicalRecord,
    /// The deciding authority.
    pub authority: Unit,
    /// Stable record id.
    pub record_id: String,
    /// Canonical JSON with ID numbers sealed.
    pub sealed_json: String,
    /// The record's content fingerprint (what tells a duplicate from a correction).
    pub content_hash: [u8; 32],
    /// Blind index of the subject's resident ID.
    pub subject_id_index: Option<String>,
    /// The keys of the subject, strongest first (never empty: at least the weak key).
    pub subject_keys: Vec<SubjectKey>,
    /// The violation type's catalogue code (`None`: unmapped, kept as given).
    pub violation_code: Option<String>,
    /// How the code was matched ([`crate::normalize::violation::MatchedBy::as_str`]).
    pub violation_matched_by: Option<String>,
    /// The catalogue's provision that matched the 处罚依据.
    pub violation_provision: Option<String>,
    /// The matching keys of the subject's name (`normalize::names`).
    pub name_keys: NameKeys,
    /// Warnings of normalization.
    pub warnings: Vec<FieldIssue>,
}

impl ReadyItem {
    /// The `records` row of this item as version `version`, with `status` (`active`, or the
    /// stored record's status for a correction) and its subject.
    pub fn record_write(
        &self,
        version: i64,
        status: &str,
        subject_id: Option<String>,
        now: chrono::NaiveDateTime,
    ) -> RecordWrite {
        let r = &self.record;
        RecordWrite {
            id: self.record_id.clone(),
            authority_code: self.authority.code.as_str().to_owned(),
            decision_no: r.decision_no.clone(),
            party: self.authority.party.code().to_owned(),
            version,
            status: status.to_owned(),
            content_hash: self.content_hash.to_vec(),
            subject_kind: r.subject.kind.as_str().to_owned(),
            subject_name: r.subject.name.clone(),
            subject_uscc: r.subject.uscc.clone(),
            subject_id_index: self.subject_id_index.clone(),
            violation_type: r.violation_type.clone(),
            decision_date: r.decision_date,
            fine_fen: r.fine_fen,
            publicity_until: r.publicity_until,
            publicity_min_until: r.publicity_min_until,
            canonical_json: self.sealed_json.clone(),
            subject_id,
            violation_code: self.violation_code.clone(),
            violation_matched_by: self.violation_matched_by.clone(),
            violation_provision: self.violation_provision.clone(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// One prepared item.
#[derive(Debug)]
pub enum Prepared {
    /// Ready to store.
    Ready(Box<ReadyItem>),
    /// Rejected with these errors.
    Rejected {
        /// Position in the batch.
        index: usize,
        /// Why.
        errors: Vec<FieldIssue>,
        /// Warnings found on the way.
        warnings: Vec<FieldIssue>,
    },
}

/// A prepared item with its raw form, sealed.
#[derive(Debug)]
pub struct PreparedItem {
    /// Ready or rejected.
    pub item: Prepared,
    /// The item as received, ID numbers sealed, as JSON text.
    pub raw_sealed: String,
}

/// Why a whole batch is refused before anything is written.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Items name deciding authorities outside the caller's rights.
    #[error("items {indexes:?} name deciding authorities you may not act for")]
    Forbidden {
        /// Positions of the offending items.
        indexes: Vec<usize>,
    },
    /// Sealing personal data failed (a key problem: a bug or an operator error).
    #[error("sealing personal data failed: {0}")]
    Crypto(#[from] CryptoError),
}

/// The stable id of the record with this identity: the same wherever and however often it is
/// pushed (a lead relaying its member's record lands on the member's record).
pub fn record_id(authority: &UnitCode, decision_no: &str) -> String {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{}\n{decision_no}", authority.as_str()).as_bytes(),
    );
    let short: Vec<u8> = d.as_ref().iter().take(10).copied().collect();
    format!("rec_{}", hex::encode(short))
}

fn prefixed(prefix: &str, issues: Vec<FieldIssue>) -> Vec<FieldIssue> {
    issues
        .into_iter()
        .map(|mut i| {
            i.pointer = format!("{prefix}{}", i.pointer);
            i
        })
        .collect()
}

fn pointer_of(located: &[(Field, String)], field: Field) -> Option<String> {
    located
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, p)| p.clone())
}

/// Normalizes, resolves and seals every item. `pointer_prefix(i)` is where item `i` sits in the
/// submitted document (`/records/3`, or empty for a single record). `actor` is the pushing
/// unit; `None` only validates (no rights check).
pub fn prepare(
    items: &[Value],
    pointer_prefix: &dyn Fn(usize) -> String,
    ctx: &NormalizeContext,
    registry: &Registry,
    keyring: &PiiKeyring,
    actor: Option<&UnitCode>,
) -> Result<Vec<PreparedItem>, PrepareError> {
    let mut out = Vec::with_capacity(items.len());
    let mut forbidden = Vec::new();
    let divisions = Divisions::from_units(registry.units());
    for (index, raw) in items.iter().enumerate() {
        let prefix = pointer_prefix(index);
        let located = crate::normalize::fields::locate_fields(raw);
        let mut raw_sealed = raw.clone();
        let pii_pointers: Vec<String> = located
            .iter()
            .filter(|(f, _)| matches!(f, Field::SubjectIdNo | Field::LegalRepIdNo))
            .map(|(_, p)| p.clone())
            .collect();
        seal_pointers(keyring, &mut raw_sealed, &pii_pointers)?;
        let raw_sealed = raw_sealed.to_string();
        let item = match normalize_record(raw, ctx) {
            Err(errors) => Prepared::Rejected {
                index,
                errors: prefixed(&prefix, errors),
                warnings: Vec::new(),
            },
            Ok(n) => {
                let warnings = prefixed(&prefix, n.warnings);
                match resolve_authority(registry, &n.record) {
                    None => {
                        let pointer = pointer_of(&located, Field::AuthorityUscc)
                            .filter(|_| n.record.authority.uscc.is_some())
                            .or_else(|| pointer_of(&located, Field::AuthorityName))
                            .unwrap_or_else(|| Field::AuthorityName.pointer());
                        Prepared::Rejected {
                            index,
                            errors: vec![FieldIssue {
                                pointer: format!("{prefix}{pointer}"),
                                code: "unknown_authority".into(),
                                detail: format!(
                                    "deciding authority {:?}{} is not a registered unit; \
                                     expected the registered name or USCC of a member unit",
                                    n.record.authority.name_raw,
                                    n.record
                                        .authority
                                        .uscc
                                        .as_ref()
                                        .map(|u| format!(" ({u})"))
                                        .unwrap_or_default()
                                ),
                            }],
                            warnings,
                        }
                    }
                    Some(unit) => {
                        if let Some(actor) = actor
                            && !registry.may_act_for(actor, &unit.code)
                        {
                            forbidden.push(index);
                        }
                        let mut warnings = warnings;
                        let classified = ctx.catalog.classify(
                            unit.party,
                            &n.record.violation_type,
                            &n.record.legal_basis,
                        );
                        let classified = match classified {
                            Some(c) => Some((
                                c.violation.code.clone(),
                                c.matched_by.as_str().to_owned(),
                                c.provision,
                            )),
                            None => {
                                let pointer = pointer_of(&located, Field::ViolationType)
                                    .unwrap_or_else(|| Field::ViolationType.pointer());
                                warnings.push(FieldIssue {
                                    pointer: format!("{prefix}{pointer}"),
                                    code: IssueCode::UnmappedViolationType.as_str().into(),
                                    detail: format!(
                                        "violation type {:?} (legal basis {:?}) maps to no \
                                         type of the common catalogue for {}; kept as given, \
                                         compared across parties by its exact text",
                                        crate::normalize::issue::excerpt(&n.record.violation_type),
                                        crate::normalize::issue::excerpt(&n.record.legal_basis),
                                        unit.party.code()
                                    ),
                                });
                                None
                            }
                        };
                        let mut ready = seal_record(index, n.record, unit, warnings, keyring)?;
                        if let Some((code, by, provision)) = classified {
                            ready.violation_code = Some(code);
                            ready.violation_matched_by = Some(by);
                            ready.violation_provision = provision;
                        }
                        ready.name_keys = match_name(&ready.record.subject.name, &divisions);
                        Prepared::Ready(Box::new(ready))
                    }
                }
            }
        };
        out.push(PreparedItem { item, raw_sealed });
    }
    if !forbidden.is_empty() {
        return Err(PrepareError::Forbidden { indexes: forbidden });
    }
    Ok(out)
}

/// The registered unit a record names as its deciding authority: by USCC when given, else by
/// its registered (folded) name.
pub fn resolve_authority(registry: &Registry, record: &CanonicalRecord) -> Option<Unit> {
    record
        .authority
        .uscc
        .as_deref()
        .and_then(|u| registry.by_uscc(u))
        .or_else(|| registry.by_name(&record.authority.name))
        .cloned()
}

fn seal_record(
    index: usize,
    record: CanonicalRecord,
    authority: Unit,
    warnings: Vec<FieldIssue>,
    keyring: &PiiKeyring,
) -> Result<ReadyItem, CryptoError> {
    let mut doc = serde_json::to_value(&record).map_err(|_| CryptoError::Encrypt)?;
    seal_pointers(
        keyring,
        &mut doc,
        &[
            "/subject/id_no".to_owned(),
            "/subject/legal_rep/id_no".to_owned(),
        ],
    )?;
    let subject_id_index = match (&record.subject.id_type, &record.subject.id_no) {
        (Some(IdType::ResidentId), Some(id))
            if record.subject.kind == SubjectKind::NaturalPerson =>
        {
            Some(keyring.blind_index(KIND_RESIDENT_ID, id)?)
        }
        _ => None,
    };
    let other_document_index = match other_document(&record.subject) {
        Some((kind, no)) if record.subject.kind == SubjectKind::NaturalPerson => {
            Some(keyring.blind_index("id_document", &format!("{kind}|{no}"))?)
        }
        _ => None,
    };
    let keys = subject_keys(
        &record.subject,
        &SealedIds {
            resident_id: subject_id_index.clone(),
            other_document: other_document_index,
        },
        authority.party,
    );
    Ok(ReadyItem {
        index,
        record_id: record_id(&authority.code, &record.decision_no),
        sealed_json: doc.to_string(),
        content_hash: record.content_fingerprint(),
        subject_id_index,
        subject_keys: keys,
        violation_code: None,
        violation_matched_by: None,
        violation_provision: None,
        name_keys: NameKeys {
            key: record.subject.name.clone(),
            core: None,
            chain: String::new(),
        },
        record,
        authority,
        warnings,
    })
}

/// Who pushed a batch and under which request.
#[derive(Debug, Clone)]
pub struct BatchMeta<'a> {
    /// The request id, kept with every submission.
    pub batch_id: &'a str,
    /// The pushing unit (for `penex import`, the unit named with `--unit`).
    pub unit_code: &'a str,
    /// The Idempotency-Key, if given.
    pub idempotency_key: Option<&'a str>,
    /// Audit actor (`unit:SH-310000`).
    pub actor: &'a str,
    /// Conflict detection's catalogue and thresholds.
    pub policy: Policy<'a>,
    /// Signs the events of the batch (written in the same transaction).
    pub emitter: &'a crate::service::events::Emitter,
}

/// Stores a prepared batch. Call inside a write transaction: every write of the batch commits
/// together or not at all.
pub fn apply(
    conn: &mut Conn,
    items: &[PreparedItem],
    meta: &BatchMeta<'_>,
) -> Result<Vec<ItemOutcome>, StoreError> {
    let now = store::now_utc();
    let mut bs = BatchStore::load(conn, wanted(items))?;
    let mut outcomes = Vec::with_capacity(items.len());
    let mut probe = Probe::default();
    for p in items {
        let outcome = match &p.item {
            Prepared::Rejected {
                index,
                errors,
                warnings,
            } => {
                bs.add_submission(NewSubmission {
                    batch_id: meta.batch_id.to_owned(),
                    item_index: i64::try_from(*index).unwrap_or(i64::MAX),
                    unit_code: meta.unit_code.to_owned(),
                    received_at: now,
                    idempotency_key: meta.idempotency_key.map(str::to_owned),
                    raw_json: p.raw_sealed.clone(),
                    outcome: ItemStatus::Rejected.as_str().to_owned(),
                    record_id: None,
                    errors_json: serde_json::to_string(errors).ok(),
                });
                ItemOutcome {
                    index: *index,
                    status: ItemStatus::Rejected,
                    record_id: None,
                    version: None,
                    errors: errors.clone(),
                    warnings: warnings.clone(),
                    conflict: None,
                }
            }
            Prepared::Ready(ready) => {
                store_ready(&mut bs, &mut probe, ready, &p.raw_sealed, meta, now)?
            }
        };
        outcomes.push(outcome);
    }
    // The subjects whose records changed (and, for a record that moved, the one it left):
    // their conflicts and flags are reconciled on one read of their records.
    let subjects = bs.touched_subjects();
    bs.flush(conn)?;
    // Links by name follow from what is stored now, whatever the order it came in (links
    // never count towards a flag, so the flags below do not depend on them).
    let link_changes = links::relink(conn, &probe, &format!("push {}", meta.batch_id), now)?;
    let mut touched = Touched::load(conn, &subjects)?;
    mark_conflicts(conn, &meta.policy, &mut touched, &mut outcomes)?;
    let flag_changes =
        super::flags::reevaluate_touched(conn, &meta.policy, &touched, Cause::Change, "push")?;
    // The events are built before the audit append, so the span that holds the audit and
    // event heads (and so serializes concurrent writers) only numbers, signs and inserts them.
    let mut drafts = crate::service::events::outcome_drafts(
        conn,
        &outcomes,
        meta.batch_id,
        meta.unit_code,
        touched.records.values().flatten(),
    )?;
    drafts.extend(crate::service::events::flag_drafts(&flag_changes)?);
    let staged = crate::service::events::stage(conn, meta.emitter, drafts)?;
    let count = |s: ItemStatus| outcomes.iter().filter(|o| o.status == s).count();
    let mut detail = serde_json::json!({
        "unit": meta.unit_code,
        "items": outcomes.len(),
        "accepted": count(ItemStatus::Accepted),
        "duplicate": count(ItemStatus::Duplicate),
        "corrected": count(ItemStatus::Corrected),
        "rejected": count(ItemStatus::Rejected),
        "conflict": count(ItemStatus::Conflict),
        "records": outcomes.iter().filter_map(|o| o.record_id.as_deref()).collect::<Vec<_>>(),
    });
    if !link_changes.is_empty()
        && let Some(d) = detail.as_object_mut()
    {
        d.insert("links".into(), serde_json::json!(link_changes));
    }
    store::audit::append(
        conn,
        &store::audit::NewAudit {
            actor: meta.actor,
            action: "record.push",
            target: meta.batch_id,
            detail: &detail.to_string(),
        },
    )?;
    crate::service::events::write_staged(conn, meta.emitter, staged)?;
    Ok(outcomes)
}

/// Reconciles the jurisdiction conflicts of the subjects of the new and corrected records
/// (see [`super::conflicts`]) and tells each item where its record stands: a new record that
/// lost to an earlier filing is answered `conflict`.
fn mark_conflicts(
    conn: &mut Conn,
    policy: &Policy<'_>,
    touched: &mut Touched,
    outcomes: &mut [ItemOutcome],
) -> Result<(), StoreError> {
    let places = conflicts::reconcile_touched(conn, policy, touched)?;
    for o in outcomes.iter_mut() {
        let Some(place) = o.record_id.as_ref().and_then(|id| places.get(id)) else {
            continue;
        };
        if o.status == ItemStatus::Duplicate {
            continue;
        }
        if o.status == ItemStatus::Accepted && place.role == conflicts::Role::Loser {
            o.status = ItemStatus::Conflict;
        }
        o.conflict = Some(place.clone());
    }
    Ok(())
}

/// Runs `f` in a write transaction, and again (three attempts in all) when it fails on a unique
/// key, a serialization failure or a deadlock ([`StoreError::is_retryable`]): two writers
/// racing on the same new record (or the same idempotency key) on PostgreSQL, where the loser's
/// transaction fails on the unique key; run again, it sees the winner's row.
pub fn write_tx_retrying<T>(
    conn: &mut Conn,
    mut f: impl FnMut(&mut Conn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store::conn::write_tx(conn, &mut f) {
            Err(e) if attempt < 3 && e.is_retryable() => continue,
            other => return other,
        }
    }
}

/// Stores a prepared batch in one write transaction ([`apply`]), retried like
/// [`write_tx_retrying`]: every item and the batch's audit entry commit together or not at all.
pub fn store_batch(
    conn: &mut Conn,
    prepared: &[PreparedItem],
    meta: &BatchMeta<'_>,
) -> Result<Vec<ItemOutcome>, StoreError> {
    write_tx_retrying(conn, |c| apply(c, prepared, meta))
}

/// What the batch can ask of the store: its record ids and subject keys (links by name are
/// decided after the flush, by [`links::relink`]).
fn wanted(items: &[PreparedItem]) -> Wanted {
    let mut w = Wanted::default();
    for p in items {
        if let Prepared::Ready(ready) = &p.item {
            w.record_ids.push(ready.record_id.clone());
            for key in &ready.subject_keys {
                w.keys.push((key.kind().to_owned(), key.value()));
            }
        }
    }
    w
}

fn store_ready(
    bs: &mut BatchStore,
    probe: &mut Probe,
    ready: &ReadyItem,
    raw_sealed: &str,
    meta: &BatchMeta<'_>,
    now: chrono::NaiveDateTime,
) -> Result<ItemOutcome, StoreError> {
    let hash = &ready.content_hash;
    let existing = bs.record(&ready.record_id).cloned();
    let (status, version) = match &existing {
        None => (ItemStatus::Accepted, 1),
        Some(row) if row.content_hash.as_slice() == hash.as_slice() => {
            (ItemStatus::Duplicate, row.version)
        }
        Some(row) => (ItemStatus::Corrected, row.version + 1),
    };
    let item_index = i64::try_from(ready.index).unwrap_or(i64::MAX);
    bs.add_submission(NewSubmission {
        batch_id: meta.batch_id.to_owned(),
        item_index,
        unit_code: meta.unit_code.to_owned(),
        received_at: now,
        idempotency_key: meta.idempotency_key.map(str::to_owned),
        raw_json: raw_sealed.to_owned(),
        outcome: status.as_str().to_owned(),
        record_id: Some(ready.record_id.clone()),
        errors_json: None,
    });
    if status != ItemStatus::Duplicate {
        let subject_id = resolve_subject(bs, ready, now)?;
        probe.name(&subject_id, &ready.name_keys);
        let record_status = existing.as_ref().map_or("active", |e| e.status.as_str());
        bs.write_record(
            ready.record_write(version, record_status, Some(subject_id), now),
            item_index,
        );
    }
    Ok(ItemOutcome {
        index: ready.index,
        status,
        record_id: Some(ready.record_id.clone()),
        version: Some(version),
        errors: Vec::new(),
        warnings: ready.warnings.clone(),
        conflict: None,
    })
}

/// The subject of a ready item: the subject that owns the strongest of its keys that any
/// subject owns, or a new one. The item's other keys that no subject owns yet are given to it,
/// so a later record carrying only one of them finds it; a key another subject owns stays
/// with that subject (two subjects known by different strong identifiers are never merged).
/// Links by name are decided after the batch is written ([`links::relink`]). Returns the
/// subject id.
fn resolve_subject(
    bs: &mut BatchStore,
    ready: &ReadyItem,
    now: chrono::NaiveDateTime,
) -> Result<String, StoreError> {
    let subject = &ready.record.subject;
    let Some(primary) = ready.subject_keys.first() else {
        return Err(StoreError::Corrupt("a record without a subject key".into()));
    };
    let owners: Vec<Option<String>> = ready
        .subject_keys
        .iter()
        .map(|key| bs.owner(key.kind(), &key.value()))
        .collect();
    let found = owners.iter().flatten().next().cloned();
    let id = match found {
        Some(id) => id,
        None => {
            let id = primary.subject_id();
            bs.insert_subject(&store::subjects::NewSubject {
                id: &id,
                key_kind: primary.kind(),
                key_value: &primary.value(),
                strong: primary.is_strong(),
                kind: subject.kind.as_str(),
                party: ready.authority.party.code(),
                name: &subject.name,
                created_at: now,
            });
            id
        }
    };
    for (key, owner) in ready.subject_keys.iter().zip(&owners) {
        match owner {
            None => bs.add_key(&id, key.kind(), &key.value(), now),
            Some(other) if *other != id => tracing::warn!(
                record = %ready.record_id,
                subject = %id,
                key_kind = key.kind(),
                other_subject = %other,
                "the record carries an identifier of another subject; the subjects stay apart"
            ),
            Some(_) => {}
        }
    }
    bs.add_name(&id, &subject.name, &ready.name_keys, now);
    Ok(id)
}

/// Why a record was revoked (行政处罚决定被撤销).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// 复议撤销: revoked on administrative reconsideration.
    Reconsideration,
    /// 诉讼撤销: revoked by a court.
    Litigation,
    /// 自行纠错: corrected by the deciding authority itself.
    SelfCorrection,
    /// Anything else; a note is required.
    Other,
}

impl RevokeReason {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Reconsideration => "reconsideration",
            RevokeReason::Litigation => "litigation",
            RevokeReason::SelfCorrection => "self_correction",
            RevokeReason::Other => "other",
        }
    }
}

/// Revokes a record inside the caller's write transaction; `Ok(false)` when it was already
/// revoked.
pub fn revoke(
    conn: &mut Conn,
    policy: &Policy<'_>,
    record_id: &str,
    actor: &str,
    reason: RevokeReason,
    note: Option<&str>,
    emitter: &crate::service::events::Emitter,
) -> Result<bool, StoreError> {
    let Some(row) = store::records::find(conn, record_id)? else {
        return Ok(false);
    };
    if row.status == "revoked" {
        return Ok(false);
    }
    let now = store::now_utc();
    store::records::revoke(conn, record_id, actor, reason.as_str(), note, now)?;
    // A revoked record leaves its conflict (the other side may keep jurisdiction alone) and
    // the flags it supported. Locks are taken in one order everywhere: the subject's row,
    // then the audit chain, then the event sequence.
    let mut flag_changes = Vec::new();
    if let Some(subject) = row.subject_id {
        let subjects = [subject];
        conflicts::reconcile_subjects(conn, policy, &subjects)?;
        flag_changes = super::flags::reevaluate(conn, policy, &subjects, Cause::Change, "revoke")?;
    }
    store::audit::append(
        conn,
        &store::audit::NewAudit {
            actor,
            action: "record.revoke",
            target: record_id,
            detail: &serde_json::json!({ "reason": reason.as_str() }).to_string(),
        },
    )?;
    crate::service::events::emit_revoked(conn, emitter, record_id, actor)?;
    crate::service::events::emit_flag_changes(conn, emitter, &flag_changes)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_are_stable_and_distinct() {
        let a = UnitCode::parse("SH-310106").unwrap();
        let b = UnitCode::parse("SH-310101").unwrap();
        assert_eq!(record_id(&a, "2211801118"), record_id(&a, "2211801118"));
        assert_ne!(record_id(&a, "2211801118"), record_id(&b, "2211801118"));
        assert_ne!(record_id(&a, "2211801118"), record_id(&a, "2211801119"));
        assert!(record_id(&a, "x").starts_with("rec_"));
        assert_eq!(record_id(&a, "x").len(), 24);
    }
}
