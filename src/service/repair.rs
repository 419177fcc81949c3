//! Credit repair (信用修复): a deciding unit ends the publicity of its records once their
//! minimum publicity period has passed (NDRC Order 2023 No. 58); the subjects' flags are
//! re-evaluated in the same transaction. All or none: one refused record refuses the request.

use super::error::{Error, Result};
use super::flags::reevaluate;
use crate::domain::registry::Registry;
use crate::domain::unit::UnitCode;
use crate::rules::flags::Cause;
use crate::service::events::Emitter;
use crate::service::policy::PolicySet;
use crate::store::flags::FlagRow;
use crate::store::{self, Conn};
use chrono::NaiveDate;

/// What to repair: named records, or every record an active flag rests on.
#[derive(Debug, Clone)]
pub enum Target {
    /// These records.
    Records(Vec<String>),
    /// The records of this flag's basis.
    Flag(String),
}

/// Who repairs, and on what day.
#[derive(Debug, Clone)]
pub struct Repairer<'a> {
    /// The repairing unit (from its certificate).
    pub unit: &'a UnitCode,
    /// The actor written to the audit chain.
    pub actor: &'a str,
    /// Today in Asia/Shanghai.
    pub today: NaiveDate,
}

/// What a repair changed.
#[derive(Debug, Clone)]
pub struct Repaired {
    /// The records whose publicity ended.
    pub records: Vec<String>,
    /// The flags that changed, after the change.
    pub flags: Vec<FlagRow>,
}

/// Repairs `target` in one transaction: checks rights and periods, ends publicity, re-evaluates
/// the subjects' flags, audits each record and emits the events.
pub fn repair(
    conn: &mut Conn,
    registry: &Registry,
    policy_set: &PolicySet,
    emitter: &Emitter,
    by: &Repairer<'_>,
    target: &Target,
) -> Result<Repaired> {
    let repaired = store::conn::write_tx(conn, |c| -> Result<Repaired> {
        store::failpoint::hit("repair.basis")?;
        let ids = basis(c, target)?;
        let mut rows = Vec::with_capacity(ids.len());
        for id in &ids {
            store::failpoint::hit("repair.find")?;
            rows.push(store::records::find(c, id)?.ok_or(Error::NotFound)?);
        }
        let outside: Vec<String> = rows
            .iter()
            .filter(|r| {
                UnitCode::parse(&r.authority_code)
                    .map_or(true, |a| !registry.may_act_for(by.unit, &a))
            })
            .map(|r| r.id.clone())
            .collect();
        if !outside.is_empty() {
            // A record named directly is not shown to a unit without rights over it; a flag's
            // basis is, so the refusal can say which records stand in the way.
            return Err(match target {
                Target::Records(_) => Error::NotFound,
                Target::Flag(_) => Error::forbidden(format!(
                    "the flag rests on records of units you may not act for ({}); each deciding \
                     unit repairs its own records",
                    outside.join(", ")
                )),
            });
        }
        if let Some(r) = rows.iter().find(|r| r.status == "revoked") {
            return Err(Error::refused(
                "not_repairable",
                format!("record {} is revoked", r.id),
            ));
        }
        if let Some(r) = rows.iter().find(|r| r.repaired_at.is_some()) {
            return Err(Error::refused(
                "not_repairable",
                format!("record {} is repaired already", r.id),
            ));
        }
        let early: Vec<String> = rows
            .iter()
            .filter(|r| by.today < r.publicity_min_until)
            .map(|r| {
                let d = r.publicity_min_until;
                format!(
                    "record {} is public at least until {d}; repair is possible from {d}",
                    r.id
                )
            })
            .collect();
        if !early.is_empty() {
            return Err(Error::refused("repair_too_early", early.join("; ")));
        }
        let now = store::now_utc();
        for r in &rows {
            store::failpoint::hit("repair.mark")?;
            store::flags::repair_record(c, &r.id, by.actor, now)?;
        }
        let subjects: Vec<String> = rows.iter().filter_map(|r| r.subject_id.clone()).collect();
        let policy = policy_set.on(by.today);
        // Lock order: subjects (in reevaluate), then the audit chain, then events.
        store::failpoint::hit("repair.flags")?;
        let changes = reevaluate(c, &policy, &subjects, Cause::Repair, "repair")?;
        let flag = match target {
            Target::Flag(f) => Some(f.as_str()),
            Target::Records(_) => None,
        };
        for r in &rows {
            store::failpoint::hit("repair.audit")?;
            store::audit::append(
                c,
                &store::audit::NewAudit {
                    actor: by.actor,
                    action: "record.repair",
                    target: &r.id,
                    detail: &serde_json::json!({ "flag": flag }).to_string(),
                },
            )?;
        }
        for r in &rows {
            store::failpoint::hit("repair.event")?;
            crate::service::events::emit_repaired(c, emitter, &r.id, by.actor)?;
        }
        store::failpoint::hit("repair.flag_events")?;
        crate::service::events::emit_flag_changes(c, emitter, &changes)?;
        store::failpoint::hit("repair.commit")?;
        Ok(Repaired {
            records: ids,
            flags: changes.into_iter().map(|ch| ch.flag).collect(),
        })
    })?;
    // Committed: a failure from here on loses the answer, never the repair (a retry is
    // answered 409 `not_repairable`, repaired already).
    store::failpoint::hit("repair.committed")?;
    Ok(repaired)
}

/// The record ids a target names; a flag must be active and its stored basis readable.
fn basis(c: &mut Conn, target: &Target) -> Result<Vec<String>> {
    match target {
        Target::Records(ids) => Ok(ids.clone()),
        Target::Flag(f) => {
            let row = store::flags::find(c, f)?.ok_or(Error::NotFound)?;
            if row.status != "active" {
                return Err(Error::refused(
                    "not_repairable",
                    format!(
                        "the flag is {}; only active flags can be repaired",
                        row.status
                    ),
                ));
            }
            serde_json::from_str(&row.basis_json).map_err(|e| {
                Error::Internal(format!(
                    "basis_json of flag {} is not a list of ids: {e}",
                    row.id
                ))
            })
        }
    }
}
