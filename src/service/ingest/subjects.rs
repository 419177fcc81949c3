//! Per item: accepted, duplicate or corrected against what the batch's view of the store
//! holds, and the subject it names resolved (found by a strong key, or created).

use super::*;
/// What the batch can ask of the store: its record ids and subject keys (links by name are
/// decided after the flush, by [`links::relink`]).
pub(super) fn wanted(items: &[PreparedItem]) -> Wanted {
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

pub(super) fn store_ready(
    bs: &mut BatchStore,
    probe: &mut Probe,
    ready: &ReadyItem,
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
        // The batch row keeps the idempotency key and the raw item.
        idempotency_key: None,
        raw_json: None,
        outcome: status.as_str().to_owned(),
        record_id: Some(ready.record_id.clone()),
        errors_json: None,
        batch_ref: None,
    });
    if status != ItemStatus::Duplicate {
        let subject_id = resolve_subject(bs, ready, now)?;
        probe.name(&subject_id, ready.record.subject.kind, &ready.name_keys);
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
