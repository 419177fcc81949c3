//! Re-classifying stored records after the violation-type catalogue changed
//! (`penex catalog apply`): every record is placed again by its 违法行为类型 and 处罚依据; the
//! records that move are updated, and the conflicts and flags of their subjects are reconciled
//! in the same transaction — as a push would — with an audit entry and the flag events a push
//! would emit, so a flag raised or withdrawn by the new catalogue reaches the credit platform.
//!
//! Invariants: running it twice changes nothing the second time (a record is written only when
//! its stored classification differs from the catalogue's); each chunk of moved records is one
//! transaction, re-read inside it, so a push racing the command is never overwritten with a
//! stale reading.

use super::conflicts;
use super::policy::Policy;
use crate::domain::party::Party;
use crate::normalize::Catalog;
use crate::rules::flags::Cause;
use crate::service::events::Emitter;
use crate::store::records::ClassificationRow;
use crate::store::{self, Conn, StoreError};
use std::collections::{BTreeMap, BTreeSet};

/// Records read per page, and moved per transaction.
const CHUNK: usize = 500;

/// A record's place in the catalogue as stored: (code, matched_by, provision).
type Place = (Option<String>, Option<String>, Option<String>);

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Records read.
    pub records: usize,
    /// Records whose classification changed.
    pub reclassified: usize,
    /// Of those, unmapped before and mapped now.
    pub newly_mapped: usize,
    /// Of those, mapped before and unmapped now.
    pub newly_unmapped: usize,
    /// Moves per (old code, new code); `-` for unmapped.
    pub moves: BTreeMap<(String, String), usize>,
    /// Subjects whose conflicts and flags were reconciled.
    pub subjects: usize,
    /// Flag changes written (each one an event).
    pub flag_changes: usize,
}

/// Where the catalogue places a stored record now.
pub fn place_of(catalog: &Catalog, row: &ClassificationRow) -> Place {
    let party: Party = row.party.parse().unwrap_or(Party::Shanghai);
    let legal_basis = serde_json::from_str::<serde_json::Value>(&row.canonical_json)
        .ok()
        .and_then(|d| d.get("legal_basis")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    match catalog.classify(party, &row.violation_type, &legal_basis) {
        Some(c) => (
            Some(c.violation.code.clone()),
            Some(c.matched_by.as_str().to_owned()),
            c.provision,
        ),
        None => (None, None, None),
    }
}

fn stored(row: &ClassificationRow) -> Place {
    (
        row.violation_code.clone(),
        row.violation_matched_by.clone(),
        row.violation_provision.clone(),
    )
}

/// Re-classifies every stored record with `policy.catalog`: reads in pages of [`CHUNK`], and
/// moves each page's changed records in one [`store::conn::write_tx`].
pub fn apply(
    conn: &mut Conn,
    policy: &Policy<'_>,
    emitter: &Emitter,
    actor: &str,
) -> Result<ApplyReport, StoreError> {
    let mut report = ApplyReport::default();
    let mut after = String::new();
    let limit = i64::try_from(CHUNK).unwrap_or(500);
    loop {
        let page = store::records::classification_page(conn, &after, limit)?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id.clone();
        report.records += page.len();
        let moved: Vec<String> = page
            .iter()
            .filter(|r| place_of(policy.catalog, r) != stored(r))
            .map(|r| r.id.clone())
            .collect();
        if !moved.is_empty() {
            store::conn::write_tx(conn, |c| {
                move_records(c, policy, emitter, actor, &moved, &mut report)
            })?;
        }
    }
    Ok(report)
}

/// One transaction: re-reads `ids`, writes the ones that still move, reconciles their
/// subjects, audits and emits.
fn move_records(
    conn: &mut Conn,
    policy: &Policy<'_>,
    emitter: &Emitter,
    actor: &str,
    ids: &[String],
    report: &mut ApplyReport,
) -> Result<(), StoreError> {
    let now = store::now_utc();
    let mut subjects = BTreeSet::new();
    let mut moved = Vec::new();
    for row in store::records::classification_of(conn, ids)? {
        let (before, after) = (stored(&row), place_of(policy.catalog, &row));
        if before == after {
            continue;
        }
        store::records::set_classification(
            conn,
            &row.id,
            after.0.as_deref(),
            after.1.as_deref(),
            after.2.as_deref(),
            now,
        )?;
        let name = |code: &Option<String>| code.clone().unwrap_or_else(|| "-".into());
        *report
            .moves
            .entry((name(&before.0), name(&after.0)))
            .or_insert(0) += 1;
        match (&before.0, &after.0) {
            (None, Some(_)) => report.newly_mapped += 1,
            (Some(_), None) => report.newly_unmapped += 1,
            _ => {}
        }
        if let Some(s) = &row.subject_id {
            subjects.insert(s.clone());
        }
        moved.push(serde_json::json!({
            "record": row.id,
            "from": before.0,
            "to": after.0,
            "matched_by": after.1,
        }));
    }
    if moved.is_empty() {
        return Ok(());
    }
    report.reclassified += moved.len();
    let subjects: Vec<String> = subjects.into_iter().collect();
    report.subjects += subjects.len();
    // Locks in the order every writer takes them: subjects' rows, the audit chain, the event
    // sequence.
    conflicts::reconcile_subjects(conn, policy, &subjects)?;
    let changes = super::flags::reevaluate(conn, policy, &subjects, Cause::Change, "catalog")?;
    report.flag_changes += changes.len();
    store::audit::append(
        conn,
        &store::audit::NewAudit {
            actor,
            action: "catalog.apply",
            target: "catalog",
            detail: &serde_json::json!({ "moved": moved }).to_string(),
        },
    )?;
    crate::service::events::emit_flag_changes(conn, emitter, &changes)?;
    Ok(())
}
