//! Keeping the stored jurisdiction conflicts equal to what the matcher
//! ([`crate::dedup::conflict`]) says about the stored records.
//!
//! Runs inside the write transaction of every change to a subject's records (push, correction,
//! revocation) and of every resolution. For each strongly identified subject touched it reads
//! all the subject's live records, computes the conflict groups from scratch, and writes only
//! the differences: new conflicts, winners that changed, conflicts that dissolved (`void`), and
//! each record's `conflict_id` / `conflict_role`. Because the groups are a function of the set
//! of records, the stored state does not depend on the order records arrived in.
//!
//! Weakly identified subjects are never put in a conflict: a conflict stops a penalty from
//! counting, and a name match is not enough to decide that.

pub use super::policy::Policy;
use super::touched::Touched;
use crate::dedup::conflict::{Group, Penalty, groups};
use crate::normalize::text::fold_text;
use crate::normalize::violation::comparison_key;
use crate::store::conflicts::{self as rows, ConflictRow};
use crate::store::records::RecordRow;
use crate::store::{self, Conn, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A record's role in a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Filed first: keeps jurisdiction and counts.
    Winner,
    /// Filed later: kept, linked, never counted.
    Loser,
    /// The units settled the records as two acts: both count.
    Stands,
}

impl Role {
    /// snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Winner => "winner",
            Role::Loser => "loser",
            Role::Stands => "stands",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "winner" => Some(Role::Winner),
            "loser" => Some(Role::Loser),
            "stands" => Some(Role::Stands),
            _ => None,
        }
    }
}

/// One member as kept in `members_json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    /// The record.
    pub record_id: String,
    /// Its deciding authority.
    pub authority: String,
    /// Its role.
    pub role: Role,
}

/// Where a record stands after reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Place {
    /// The conflict.
    pub conflict_id: String,
    /// The record's role.
    pub role: Role,
    /// The record that keeps jurisdiction.
    pub winner_record_id: String,
}

/// How units settled a conflict (`POST /v1/conflicts/{id}/resolve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The later unit transferred the case to the first (案件移送): the loser stays uncounted.
    Transferred,
    /// Two acts after all: both records count.
    BothStand,
    /// One act, one penalty: the records were merged into the winner's; the loser stays
    /// uncounted.
    Merged,
}

impl Resolution {
    /// snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Transferred => "transferred",
            Resolution::BothStand => "both_stand",
            Resolution::Merged => "merged",
        }
    }
}

/// The members of a stored conflict.
pub fn members(row: &ConflictRow) -> Vec<Member> {
    serde_json::from_str(&row.members_json).unwrap_or_default()
}

/// The penalty compared; `transfer_filed` is the 立案日期 of a case transfer that names the
/// record (案件移送: the receiver's filing date), used when the record carries none.
fn penalty_with(row: &RecordRow, transfer_filed: Option<chrono::NaiveDate>) -> Penalty {
    let mut p = penalty(row);
    if p.filed_date.is_none() {
        p.filed_date = transfer_filed;
    }
    p
}

fn penalty(row: &RecordRow) -> Penalty {
    let doc: serde_json::Value = serde_json::from_str(&row.canonical_json).unwrap_or_default();
    let facts = doc
        .get("facts")
        .and_then(|f| f.as_str())
        .map(fold_text)
        .unwrap_or_default();
    let filed_date = doc
        .get("filed_date")
        .and_then(|f| f.as_str())
        .and_then(|f| f.parse().ok());
    Penalty {
        record_id: row.id.clone(),
        authority: row.authority_code.clone(),
        violation_key: comparison_key(row.violation_code.as_deref(), &row.violation_type),
        filed_date,
        decision_date: row.decision_date,
        facts,
    }
}

fn conflict_id(subject_id: &str, g: &Group) -> String {
    let mut text = subject_id.to_owned();
    for m in &g.members {
        text.push('\n');
        text.push_str(m);
    }
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let short: Vec<u8> = d.as_ref().iter().take(10).copied().collect();
    format!("cfl_{}", hex::encode(short))
}

fn settled_pairs(stored: &[ConflictRow]) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    for c in stored
        .iter()
        .filter(|c| c.status == "resolved" && c.resolution.as_deref() == Some("both_stand"))
    {
        let ms = members(c);
        for a in &ms {
            for b in &ms {
                if a.record_id != b.record_id {
                    out.insert((a.record_id.clone(), b.record_id.clone()));
                }
            }
        }
    }
    out
}

/// Reconciles the conflicts of these subjects (weak ones are skipped).
pub fn reconcile_subjects(
    conn: &mut Conn,
    policy: &Policy<'_>,
    subject_ids: &[String],
) -> Result<HashMap<String, Place>, StoreError> {
    let mut touched = Touched::load(conn, subject_ids)?;
    reconcile_touched(conn, policy, &mut touched)
}

/// Reconciles the conflicts of subjects already locked and read; the rows in `touched` are
/// kept up to date with the roles written.
pub fn reconcile_touched(
    conn: &mut Conn,
    policy: &Policy<'_>,
    touched: &mut Touched,
) -> Result<HashMap<String, Place>, StoreError> {
    let mut places = HashMap::new();
    if touched.strong.is_empty() {
        return Ok(places);
    }
    let now = store::now_utc();
    let mut stored_by_subject: BTreeMap<String, Vec<ConflictRow>> = BTreeMap::new();
    for c in rows::live_of_subjects(conn, &touched.strong)? {
        stored_by_subject
            .entry(c.subject_id.clone())
            .or_default()
            .push(c);
    }
    // Filing dates of case transfers that name these records, read once for the batch.
    let record_ids: Vec<String> = touched
        .strong
        .iter()
        .filter_map(|s| touched.records.get(s))
        .flatten()
        .map(|r| r.id.clone())
        .collect();
    let mut transfer_filed: HashMap<String, chrono::NaiveDate> = HashMap::new();
    for chunk in record_ids.chunks(crate::store::IN_CHUNK) {
        for t in store::collab::transfers_of_records(conn, chunk)? {
            if let (Some(r), Some(d)) = (t.record_id, t.filed_on) {
                transfer_filed.insert(r, d);
            }
        }
    }
    for subject in &touched.strong {
        let records = touched.records.entry(subject.clone()).or_default();
        let stored = stored_by_subject.remove(subject).unwrap_or_default();
        reconcile_one(
            conn,
            policy,
            (subject, &transfer_filed),
            records,
            &stored,
            now,
            &mut places,
        )?;
    }
    Ok(places)
}

fn reconcile_one(
    conn: &mut Conn,
    policy: &Policy<'_>,
    (subject, transfer_filed): (&str, &HashMap<String, chrono::NaiveDate>),
    records: &mut [RecordRow],
    stored: &[ConflictRow],
    now: chrono::NaiveDateTime,
    places: &mut HashMap<String, Place>,
) -> Result<(), StoreError> {
    let live: Vec<&RecordRow> = records.iter().filter(|r| r.status != "revoked").collect();
    let penalties: Vec<Penalty> = live
        .iter()
        .map(|r| penalty_with(r, transfer_filed.get(&r.id).copied()))
        .collect();
    let settled = settled_pairs(stored);
    let found = groups(&penalties, &settled, policy.conflicts);
    let authority: HashMap<&str, &str> = records
        .iter()
        .map(|r| (r.id.as_str(), r.authority_code.as_str()))
        .collect();
    let both_stand: HashSet<&str> = stored
        .iter()
        .filter(|c| c.status == "resolved" && c.resolution.as_deref() == Some("both_stand"))
        .map(|c| c.id.as_str())
        .collect();
    // The desired place of every record of the subject.
    let mut desired: HashMap<String, (Option<String>, Option<Role>)> = HashMap::new();
    let mut used: HashSet<String> = HashSet::new();
    for g in &found {
        let existing = stored
            .iter()
            .filter(|c| !both_stand.contains(c.id.as_str()) && !used.contains(&c.id))
            .find(|c| members(c).iter().any(|m| g.members.contains(&m.record_id)))
            .cloned();
        let member_list: Vec<Member> = g
            .members
            .iter()
            .map(|id| Member {
                record_id: id.clone(),
                authority: authority.get(id.as_str()).copied().unwrap_or("").to_owned(),
                role: if *id == g.winner {
                    Role::Winner
                } else {
                    Role::Loser
                },
            })
            .collect();
        let members_json = serde_json::to_string(&member_list).unwrap_or_else(|_| "[]".into());
        let id = match existing {
            Some(mut c) => {
                let before: BTreeSet<String> =
                    members(&c).into_iter().map(|m| m.record_id).collect();
                if before != g.members || c.winner_record_id != g.winner {
                    if c.status == "resolved" {
                        // New facts reopen a settled conflict: the units look again.
                        c.status = "open".into();
                        c.resolution = None;
                        c.resolution_note = None;
                        c.resolved_by = None;
                        c.resolved_at = None;
                    }
                    c.winner_record_id = g.winner.clone();
                    c.members_json = members_json;
                    c.updated_at = now;
                    rows::update(conn, &c)?;
                }
                c.id
            }
            None => {
                let id = conflict_id(subject, g);
                let violation_key = penalty_key(&live, &g.winner);
                let row = ConflictRow {
                    id: id.clone(),
                    subject_id: subject.to_owned(),
                    violation_key,
                    winner_record_id: g.winner.clone(),
                    status: "open".into(),
                    resolution: None,
                    resolution_note: None,
                    resolved_by: None,
                    resolved_at: None,
                    members_json,
                    created_at: now,
                    updated_at: now,
                };
                match rows::find(conn, &id)? {
                    // The same records were in conflict before (then dissolved): reopen it.
                    Some(old) => rows::update(
                        conn,
                        &ConflictRow {
                            created_at: old.created_at,
                            ..row
                        },
                    )?,
                    None => rows::insert(conn, &row)?,
                }
                id
            }
        };
        used.insert(id.clone());
        for m in &member_list {
            desired.insert(m.record_id.clone(), (Some(id.clone()), Some(m.role)));
            places.insert(
                m.record_id.clone(),
                Place {
                    conflict_id: id.clone(),
                    role: m.role,
                    winner_record_id: g.winner.clone(),
                },
            );
        }
    }
    // Conflicts no group needs any more dissolve.
    for c in stored {
        if used.contains(&c.id) || both_stand.contains(c.id.as_str()) {
            continue;
        }
        let mut c = c.clone();
        c.status = "void".into();
        c.updated_at = now;
        rows::update(conn, &c)?;
    }
    // Records settled as two acts keep their place unless a new group took them.
    for r in &live {
        if desired.contains_key(&r.id) {
            continue;
        }
        let keep = r
            .conflict_id
            .as_deref()
            .filter(|c| both_stand.contains(c))
            .map(|c| (Some(c.to_owned()), Some(Role::Stands)));
        desired.insert(r.id.clone(), keep.unwrap_or((None, None)));
    }
    for r in records.iter_mut() {
        let (want_id, want_role) = desired.remove(&r.id).unwrap_or((None, None));
        let want_role = want_role.map(Role::as_str);
        if r.conflict_id.as_deref() != want_id.as_deref() || r.conflict_role.as_deref() != want_role
        {
            rows::set_record_role(conn, &r.id, want_id.as_deref(), want_role)?;
            r.conflict_id = want_id;
            r.conflict_role = want_role.map(str::to_owned);
        }
    }
    Ok(())
}

fn penalty_key(live: &[&RecordRow], record_id: &str) -> String {
    live.iter()
        .find(|r| r.id == record_id)
        .map(|r| penalty(r).violation_key)
        .unwrap_or_default()
}

/// Records a resolution of an open conflict inside the caller's write transaction. `both_stand`
/// makes every member count (role `stands`); `transferred` and `merged` keep the loser
/// uncounted. Returns the updated conflict; `Ok(None)` when it is not open.
pub fn resolve(
    conn: &mut Conn,
    policy: &Policy<'_>,
    emitter: &crate::service::events::Emitter,
    conflict: &ConflictRow,
    resolution: Resolution,
    note: Option<&str>,
    actor: &str,
) -> Result<Option<ConflictRow>, StoreError> {
    if conflict.status != "open" {
        return Ok(None);
    }
    let now = store::now_utc();
    let mut c = conflict.clone();
    c.status = "resolved".into();
    c.resolution = Some(resolution.as_str().to_owned());
    c.resolution_note = note.map(str::to_owned);
    c.resolved_by = Some(actor.to_owned());
    c.resolved_at = Some(now);
    c.updated_at = now;
    if resolution == Resolution::BothStand {
        let ms: Vec<Member> = members(&c)
            .into_iter()
            .map(|m| Member {
                role: Role::Stands,
                ..m
            })
            .collect();
        c.members_json = serde_json::to_string(&ms).unwrap_or_else(|_| "[]".into());
        for m in &ms {
            rows::set_record_role(conn, &m.record_id, Some(&c.id), Some(Role::Stands.as_str()))?;
        }
    }
    rows::update(conn, &c)?;
    let flag_changes = super::flags::reevaluate(
        conn,
        policy,
        std::slice::from_ref(&c.subject_id),
        crate::rules::flags::Cause::Change,
        "conflict",
    )?;
    store::audit::append(
        conn,
        &store::audit::NewAudit {
            actor,
            action: "conflict.resolve",
            target: &c.id,
            detail: &serde_json::json!({ "resolution": resolution.as_str() }).to_string(),
        },
    )?;
    crate::service::events::emit_flag_changes(conn, emitter, &flag_changes)?;
    Ok(Some(c))
}

/// Whether `unit` may act for one of the conflict's deciding authorities (it or a unit above
/// one of them): only such units see and resolve it.
pub fn involves(
    registry: &crate::domain::registry::Registry,
    unit: &crate::domain::unit::UnitCode,
    c: &ConflictRow,
) -> bool {
    members(c).iter().any(|m| {
        crate::domain::unit::UnitCode::parse(&m.authority)
            .is_ok_and(|a| registry.may_act_for(unit, &a))
    })
}

/// Who resolves a conflict: a unit involved in it.
#[derive(Debug, Clone)]
pub struct Resolver<'a> {
    /// The resolving unit (from its certificate).
    pub unit: &'a crate::domain::unit::UnitCode,
    /// The actor written to the audit chain.
    pub actor: &'a str,
}

/// Resolves conflict `id` for `by` in one transaction: the note checked, a conflict the unit is
/// not involved in is not found, one that is no longer open is refused
/// (`conflict_not_open`); else [`resolve`]. Returns the conflict after the change.
pub fn resolve_as(
    conn: &mut Conn,
    registry: &crate::domain::registry::Registry,
    policy: &Policy<'_>,
    emitter: &crate::service::events::Emitter,
    by: &Resolver<'_>,
    id: &str,
    (resolution, note, transfer): (Resolution, Option<&str>, Option<&str>),
) -> crate::service::Result<ConflictRow> {
    use crate::service::Error;
    let note = crate::service::note::clean(note)?;
    if transfer.is_some() && resolution != Resolution::Transferred {
        return Err(Error::invalid_field(
            "invalid_request",
            "/transfer",
            "a transfer is named only with the resolution transferred",
        ));
    }
    store::conn::write_tx(conn, |c| -> crate::service::Result<ConflictRow> {
        let row = store::conflicts::find(c, id)?.ok_or(Error::NotFound)?;
        if !involves(registry, by.unit, &row) {
            return Err(Error::NotFound);
        }
        if let Some(t) = transfer {
            link_transfer(c, registry, &row, t, by.actor)?;
        }
        resolve(
            c,
            policy,
            emitter,
            &row,
            resolution,
            note.as_deref(),
            by.actor,
        )?
        .ok_or_else(|| {
            Error::refused(
                "conflict_not_open",
                format!(
                    "the conflict is {}; only open conflicts can be resolved",
                    row.status
                ),
            )
        })
    })
}

/// Links the case transfer `id` to `conflict`, in the caller's transaction: it must be a
/// transfer whose two ends act for the conflict's authorities (one each way), neither returned
/// nor refused, and not already linked to another conflict.
fn link_transfer(
    conn: &mut Conn,
    registry: &crate::domain::registry::Registry,
    conflict: &ConflictRow,
    id: &str,
    actor: &str,
) -> crate::service::Result<()> {
    use crate::domain::unit::UnitCode;
    use crate::service::Error;
    let refuse = |detail: String| Error::invalid_field("invalid_request", "/transfer", detail);
    let Some(mut item) = store::collab::find(conn, id.trim())? else {
        return Err(refuse(format!(
            "{:?} is not a collaboration item",
            crate::normalize::issue::excerpt(id)
        )));
    };
    if item.kind != "transfer"
        || matches!(
            item.status.as_str(),
            "returned" | "refused" | "awaiting_approval"
        )
    {
        return Err(refuse(format!(
            "{} is a {} that is {}: expected a transfer that was sent and not returned",
            item.id, item.kind, item.status
        )));
    }
    let authorities: Vec<UnitCode> = members(conflict)
        .iter()
        .filter_map(|m| UnitCode::parse(&m.authority).ok())
        .collect();
    let acts_for = |end: &str| {
        UnitCode::parse(end).is_ok_and(|u| authorities.iter().any(|a| registry.may_act_for(&u, a)))
    };
    if !(acts_for(&item.sender) && acts_for(&item.receiver)) {
        return Err(refuse(format!(
            "{} goes from {} to {}: expected a transfer between the conflict's units",
            item.id, item.sender, item.receiver
        )));
    }
    match &item.conflict_id {
        Some(other) if other != &conflict.id => {
            return Err(refuse(format!(
                "{} already settled conflict {other}",
                item.id
            )));
        }
        _ => {}
    }
    item.conflict_id = Some(conflict.id.clone());
    store::collab::update(conn, &item)?;
    store::audit::append(
        conn,
        &store::audit::NewAudit {
            actor,
            action: "collab.link_conflict",
            target: &item.id,
            detail: &serde_json::json!({ "conflict_id": conflict.id }).to_string(),
        },
    )?;
    Ok(())
}
