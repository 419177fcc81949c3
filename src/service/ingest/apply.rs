//! Apply: a prepared batch stored in the caller's write transaction, then its conflicts,
//! flags, audit entry and events.

use super::subjects::{store_ready, wanted};
use super::*;
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

/// The batch's raw items (ID numbers sealed) packed once for `submission_batches`, in item
/// order: item *k* of the body is the raw form of the item at index *k*. Done before the
/// write transaction, so compressing does not hold the writer's lock.
pub fn pack_raw(items: &[PreparedItem]) -> Result<store::raw::Packed, StoreError> {
    for (position, p) in items.iter().enumerate() {
        let index = match &p.item {
            Prepared::Rejected { index, .. } => *index,
            Prepared::Ready(ready) => ready.index,
        };
        if index != position {
            return Err(StoreError::Corrupt(format!(
                "item {index} of a batch is at position {position}"
            )));
        }
    }
    store::raw::pack(items.iter().map(|p| p.raw_sealed.as_str()))
}

/// Stores a prepared batch. Call inside a write transaction: every write of the batch commits
/// together or not at all.
pub fn apply(
    conn: &mut Conn,
    items: &[PreparedItem],
    meta: &BatchMeta<'_>,
) -> Result<Vec<ItemOutcome>, StoreError> {
    let packed = pack_raw(items)?;
    apply_packed(conn, items, &packed, meta)
}

/// [`apply`] with the batch's raw items already packed ([`pack_raw`]).
fn apply_packed(
    conn: &mut Conn,
    items: &[PreparedItem],
    packed: &store::raw::Packed,
    meta: &BatchMeta<'_>,
) -> Result<Vec<ItemOutcome>, StoreError> {
    let now = store::now_utc();
    let mut bs = BatchStore::load(conn, wanted(items))?;
    // One row holds the raw items of the whole batch; each submission row refers to it.
    bs.set_raw_batch(store::records::NewSubmissionBatch {
        batch_id: meta.batch_id.to_owned(),
        unit_code: meta.unit_code.to_owned(),
        received_at: now,
        idempotency_key: meta.idempotency_key.map(str::to_owned),
        encoding: store::raw::ENCODING.to_owned(),
        item_ends: packed.item_ends.clone(),
        body: packed.body.clone(),
    });
    let mut outcomes = Vec::with_capacity(items.len());
    let mut probe = Probe::default();
    for p in items {
        store::failpoint::hit("push.item")?;
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
                    idempotency_key: None,
                    raw_json: None,
                    outcome: ItemStatus::Rejected.as_str().to_owned(),
                    record_id: None,
                    errors_json: serde_json::to_string(errors).ok(),
                    batch_ref: None,
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
            Prepared::Ready(ready) => store_ready(&mut bs, &mut probe, ready, meta, now)?,
        };
        outcomes.push(outcome);
    }
    // The subjects whose records changed (and, for a record that moved, the one it left):
    // their conflicts and flags are reconciled on one read of their records.
    let subjects = bs.touched_subjects();
    bs.flush(conn)?;
    // Links by name follow from what is stored now, whatever the order it came in (links
    // never count towards a flag, so the flags below do not depend on them).
    store::failpoint::hit("push.relink")?;
    let link_changes = links::relink(conn, &probe, &format!("push {}", meta.batch_id), now)?;
    store::failpoint::hit("push.touched")?;
    let mut touched = Touched::load(conn, &subjects)?;
    store::failpoint::hit("push.conflicts")?;
    mark_conflicts(conn, &meta.policy, &mut touched, &mut outcomes)?;
    store::failpoint::hit("push.flags")?;
    let flag_changes = crate::service::flags::reevaluate_touched(
        conn,
        &meta.policy,
        &touched,
        Cause::Change,
        "push",
    )?;
    // The events are built before the audit append, so the span that holds the audit and
    // event heads (and so serializes concurrent writers) only numbers, signs and inserts them.
    store::failpoint::hit("push.event_drafts")?;
    let mut drafts = crate::service::events::outcome_drafts(
        conn,
        &outcomes,
        meta.batch_id,
        meta.unit_code,
        touched.records.values().flatten(),
    )?;
    drafts.extend(crate::service::events::flag_drafts(&flag_changes)?);
    store::failpoint::hit("push.stage_events")?;
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
    store::failpoint::hit("push.audit")?;
    store::audit::append(
        conn,
        &store::audit::NewAudit {
            actor: meta.actor,
            action: "record.push",
            target: meta.batch_id,
            detail: &detail.to_string(),
        },
    )?;
    store::failpoint::hit("push.write_events")?;
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
    let packed = pack_raw(prepared)?;
    write_tx_retrying(conn, |c| apply_packed(c, prepared, &packed, meta))
}

/// What a push answered.
#[derive(Debug)]
pub enum Pushed<T> {
    /// Stored now, with this answer.
    Stored(T),
    /// A request with the same Idempotency-Key committed first: the hash of its body and its
    /// answer as stored (JSON). The caller compares the hashes: the same body is answered
    /// with the stored answer, another body is refused.
    Replayed {
        /// SHA-256 (hex) of the first request's body.
        request_hash: String,
        /// The first request's answer.
        answer: String,
    },
}

/// A push: the prepared batch stored in one write transaction ([`apply`], retried like
/// [`write_tx_retrying`]) and, when it carries an Idempotency-Key, the answer that `answer`
/// renders from the outcomes kept under that key in the same transaction, so that a retry
/// gets the very same answer. `request_hash` is the SHA-256 of the request body.
pub fn push<T: Serialize>(
    conn: &mut Conn,
    prepared: &[PreparedItem],
    meta: &BatchMeta<'_>,
    request_hash: &str,
    answer: impl Fn(Vec<ItemOutcome>) -> T,
) -> crate::service::Result<Pushed<T>> {
    let packed = pack_raw(prepared)?;
    let pushed = write_tx_retrying(conn, |c| {
        store::failpoint::hit("push.find_idempotent")?;
        if let Some(key) = meta.idempotency_key
            && let Some((request_hash, answer)) =
                store::records::find_idempotent(c, meta.unit_code, key)?
        {
            return Ok(Pushed::Replayed {
                request_hash,
                answer,
            });
        }
        let response = answer(apply_packed(c, prepared, &packed, meta)?);
        if let Some(key) = meta.idempotency_key {
            let json = serde_json::to_string(&response)
                .map_err(|e| StoreError::Corrupt(format!("the answer does not serialize: {e}")))?;
            store::failpoint::hit("push.insert_idempotent")?;
            store::records::insert_idempotent(c, meta.unit_code, key, request_hash, &json)?;
        }
        store::failpoint::hit("push.commit")?;
        Ok(Pushed::Stored(response))
    })?;
    // Committed: a failure from here on loses the answer, never the batch (a retry with the
    // same key is answered from what was kept).
    store::failpoint::hit("push.committed")?;
    Ok(pushed)
}
