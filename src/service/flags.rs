//! Keeping the stored flags equal to what the rules say about the stored records.
//!
//! Runs inside the write transaction of every change to a subject's records (push, correction,
//! revocation, conflict change or resolution, credit repair) and of the sweeper: it reloads the
//! subject's records, keeps those that **count** — strongly identified subject, not revoked, not
//! the losing side of a jurisdiction conflict, not repaired, still inside its publicity period
//! on `today` — evaluates the rules ([`crate::rules::evaluate`]) and writes the transitions
//! ([`crate::rules::flags::reconcile`]) with a version row each. Exemptions (不予处罚) are never
//! records, so they never count.

use crate::domain::party::Party;
use crate::domain::record::PenaltyCategory;
use crate::rules::flags::{Cause, FlagState, FlagStatus, Transition, reconcile};
use crate::rules::{Counted, Severity, by_rule, evaluate};
use crate::store::flags::{self as rows, FlagRow};
use crate::store::records::RecordRow;
use crate::store::{self, Conn, StoreError};
use std::collections::{BTreeMap, BTreeSet};

use super::conflicts::Policy;
use super::touched::Touched;

/// The stable id of the flag of a subject under a rule.
pub fn flag_id(subject_id: &str, rule_id: &str) -> String {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{subject_id}\n{rule_id}").as_bytes(),
    );
    let short: Vec<u8> = d.as_ref().iter().take(10).copied().collect();
    format!("flg_{}", hex::encode(short))
}

/// Whether a stored record counts against its (strong) subject on `today`.
pub fn counts(r: &RecordRow, today: chrono::NaiveDate) -> bool {
    r.status != "revoked"
        && r.conflict_role.as_deref() != Some("loser")
        && r.repaired_at.is_none()
        && r.publicity_until >= today
}

fn counted(r: &RecordRow, policy: &Policy<'_>) -> Counted {
    let party: Party = r.party.parse().unwrap_or(Party::Shanghai);
    let mapped = r
        .violation_code
        .as_deref()
        .and_then(|code| policy.catalog.get(code));
    let categories: BTreeSet<PenaltyCategory> =
        serde_json::from_str::<serde_json::Value>(&r.canonical_json)
            .ok()
            .and_then(|d| serde_json::from_value(d.get("categories")?.clone()).ok())
            .unwrap_or_default();
    Counted {
        record_id: r.id.clone(),
        party,
        violation_code: mapped.map(|t| t.code.clone()),
        violation_group: mapped.map(|t| t.group.clone()),
        categories,
        fine_fen: r.fine_fen,
        decision_date: r.decision_date,
    }
}

fn state_of(row: &FlagRow) -> FlagState {
    FlagState {
        rule_id: row.rule_id.clone(),
        severity: if row.severity == "discipline" {
            Severity::Discipline
        } else {
            Severity::Focus
        },
        status: FlagStatus::parse(&row.status).unwrap_or(FlagStatus::Withdrawn),
        basis: serde_json::from_str(&row.basis_json).unwrap_or_default(),
        from: row.effective_from,
        until: row.effective_until,
        version: row.version,
    }
}

/// A flag change written by [`reevaluate`].
#[derive(Debug, Clone)]
pub struct Change {
    /// The flag after the change.
    pub flag: FlagRow,
    /// Its status before (absent: new).
    pub before: Option<FlagStatus>,
}

/// Re-evaluates the flags of these subjects (weak ones skipped) and writes the changes.
/// `cause` tells a repair from other changes; `cause_name` is kept with each version (`push`,
/// `revoke`, `conflict`, `repair`, `sweep`).
pub fn reevaluate(
    conn: &mut Conn,
    policy: &Policy<'_>,
    subject_ids: &[String],
    cause: Cause,
    cause_name: &str,
) -> Result<Vec<Change>, StoreError> {
    let touched = Touched::load(conn, subject_ids)?;
    reevaluate_touched(conn, policy, &touched, cause, cause_name)
}

/// [`reevaluate`] for subjects already locked and read (after their conflicts were
/// reconciled on the same rows).
pub fn reevaluate_touched(
    conn: &mut Conn,
    policy: &Policy<'_>,
    touched: &Touched,
    cause: Cause,
    cause_name: &str,
) -> Result<Vec<Change>, StoreError> {
    let strong = &touched.strong;
    if strong.is_empty() {
        return Ok(Vec::new());
    }
    let mut stored: BTreeMap<String, Vec<FlagRow>> = BTreeMap::new();
    for f in rows::of_subjects(conn, strong)? {
        stored.entry(f.subject_id.clone()).or_default().push(f);
    }
    let now = store::now_utc();
    let mut changes = Vec::new();
    for subject in strong {
        let mine = touched.of(subject);
        let party_of: BTreeMap<&str, &str> = mine
            .iter()
            .map(|r| (r.id.as_str(), r.party.as_str()))
            .collect();
        let counted_now: Vec<Counted> = mine
            .iter()
            .filter(|r| counts(r, policy.today))
            .map(|r| counted(r, policy))
            .collect();
        let verdicts = by_rule(evaluate(policy.rules, &counted_now));
        let flags = stored.remove(subject).unwrap_or_default();
        let by_rule_stored: BTreeMap<String, FlagState> = flags
            .iter()
            .map(|f| (f.rule_id.clone(), state_of(f)))
            .collect();
        let created: BTreeMap<&str, chrono::NaiveDateTime> = flags
            .iter()
            .map(|f| (f.rule_id.as_str(), f.created_at))
            .collect();
        for Transition { before, after } in
            reconcile(&by_rule_stored, &verdicts, policy.today, cause)
        {
            let parties: BTreeSet<&str> = after
                .basis
                .iter()
                .filter_map(|id| party_of.get(id.as_str()).copied())
                .collect();
            let row = FlagRow {
                id: flag_id(subject, &after.rule_id),
                subject_id: subject.clone(),
                rule_id: after.rule_id.clone(),
                severity: after.severity.as_str().to_owned(),
                status: after.status.as_str().to_owned(),
                basis_json: serde_json::to_string(&after.basis).unwrap_or_else(|_| "[]".into()),
                parties: parties.into_iter().collect::<Vec<_>>().join(","),
                effective_from: after.from,
                effective_until: after.until,
                version: after.version,
                created_at: created.get(after.rule_id.as_str()).copied().unwrap_or(now),
                updated_at: now,
            };
            rows::write(conn, &row, cause_name)?;
            changes.push(Change {
                flag: row,
                before: before.map(|b| b.status),
            });
        }
    }
    Ok(changes)
}

/// The sweeper's pass on `policy.today`: every subject with an active flag whose period ended,
/// or whose basis holds a record no longer public, is re-evaluated in its own transaction
/// (flags expire; a flag that loses a record to the end of its publicity is re-based or
/// withdrawn). Safe with several instances: re-evaluation locks the subject (PostgreSQL) or
/// the database (SQLite) and writes nothing when nothing changed. Returns the flags changed.
pub fn sweep(
    conn: &mut Conn,
    policy: &Policy<'_>,
    emitter: &crate::service::events::Emitter,
) -> Result<usize, StoreError> {
    let due = rows::due_for_sweep(conn, policy.today)?;
    let mut changed = 0;
    for subject in due {
        changed += store::conn::write_tx(conn, |c| {
            let changes = reevaluate(
                c,
                policy,
                std::slice::from_ref(&subject),
                Cause::Change,
                "sweep",
            )?;
            if changes.is_empty() {
                return Ok(0);
            }
            let ids: Vec<&str> = changes.iter().map(|ch| ch.flag.id.as_str()).collect();
            store::audit::append(
                c,
                &store::audit::NewAudit {
                    actor: "system:sweeper",
                    action: "flag.sweep",
                    target: &subject,
                    detail: &serde_json::json!({ "flags": ids, "today": policy.today }).to_string(),
                },
            )?;
            crate::service::events::emit_flag_changes(c, emitter, &changes)
        })?;
    }
    Ok(changed)
}
