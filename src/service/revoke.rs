//! Revoking a record (行政处罚决定被撤销): the record leaves its conflict and the flags it
//! supported; the platform is told to withdraw it (Administrative Penalty Law art. 48).

use crate::rules::flags::Cause;
use crate::service::conflicts::{self, Policy};
use crate::store::{self, Conn, StoreError};
use serde::Serialize;
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
    store::failpoint::hit("revoke.recheck")?;
    let Some(row) = store::records::find(conn, record_id)? else {
        return Ok(false);
    };
    if row.status == "revoked" {
        return Ok(false);
    }
    let now = store::now_utc();
    store::failpoint::hit("revoke.update")?;
    store::records::revoke(conn, record_id, actor, reason.as_str(), note, now)?;
    // A revoked record leaves its conflict (the other side may keep jurisdiction alone) and
    // the flags it supported. Locks are taken in one order everywhere: the subject's row,
    // then the audit chain, then the event sequence.
    let mut flag_changes = Vec::new();
    if let Some(subject) = row.subject_id {
        let subjects = [subject];
        store::failpoint::hit("revoke.conflicts")?;
        conflicts::reconcile_subjects(conn, policy, &subjects)?;
        store::failpoint::hit("revoke.flags")?;
        flag_changes =
            crate::service::flags::reevaluate(conn, policy, &subjects, Cause::Change, "revoke")?;
    }
    store::failpoint::hit("revoke.audit")?;
    store::audit::append(
        conn,
        &store::audit::NewAudit {
            actor,
            action: "record.revoke",
            target: record_id,
            detail: &serde_json::json!({ "reason": reason.as_str() }).to_string(),
        },
    )?;
    store::failpoint::hit("revoke.event")?;
    crate::service::events::emit_revoked(conn, emitter, record_id, actor)?;
    store::failpoint::hit("revoke.flag_events")?;
    crate::service::events::emit_flag_changes(conn, emitter, &flag_changes)?;
    Ok(true)
}

/// Who revokes, and why.
#[derive(Debug, Clone)]
pub struct Revocation<'a> {
    /// The revoking unit (from its certificate): the deciding unit or one above it.
    pub unit: &'a crate::domain::unit::UnitCode,
    /// The actor written to the audit chain.
    pub actor: &'a str,
    /// Why.
    pub reason: RevokeReason,
    /// The note as sent (trimmed here; required for `other`).
    pub note: Option<String>,
}

/// Revokes `record_id` for `by` in one transaction: the note checked, the unit's rights over
/// the record's deciding authority checked (a record it may not act for is not found, like
/// another party's), then [`revoke`]. Refused with `already_revoked` when it was.
pub fn revoke_as(
    conn: &mut Conn,
    registry: &crate::domain::registry::Registry,
    policy: &Policy<'_>,
    emitter: &crate::service::events::Emitter,
    by: &Revocation<'_>,
    record_id: &str,
) -> crate::service::Result<()> {
    use crate::service::Error;
    let note = crate::service::note::clean(by.note.as_deref())?;
    if by.reason == RevokeReason::Other && note.is_none() {
        return Err(Error::invalid_field(
            "note_required",
            "/note",
            "a revocation for `other` reasons needs a note",
        )
        .with_field_code("required", "expected a non-empty note"));
    }
    store::conn::write_tx(conn, |c| -> crate::service::Result<()> {
        store::failpoint::hit("revoke.find")?;
        let row = store::records::find(c, record_id)?.ok_or(Error::NotFound)?;
        let authority = crate::domain::unit::UnitCode::parse(&row.authority_code)
            .map_err(|e| Error::Internal(format!("record {record_id}: authority code: {e}")))?;
        if !registry.may_act_for(by.unit, &authority) {
            return Err(Error::NotFound);
        }
        if revoke(
            c,
            policy,
            record_id,
            by.actor,
            by.reason,
            note.as_deref(),
            emitter,
        )? {
            store::failpoint::hit("revoke.commit")?;
            Ok(())
        } else {
            Err(Error::refused(
                "already_revoked",
                format!("record {record_id} is already revoked"),
            ))
        }
    })?;
    // Committed: a failure from here on loses the answer, never the revocation (a retry is
    // answered 409 `already_revoked`).
    store::failpoint::hit("revoke.committed")?;
    Ok(())
}
