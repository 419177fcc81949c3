//! The units' own feed: every step of an item becomes an event signed like the platform's
//! events (same keys, JWS `typ` `penex-collab-event+jws`), readable by the item's audience
//! only, and never put in the platform's outbox.

use super::{Deps, audience};
use crate::crypto::jws::{Signer as _, sign_compact};
use crate::service::error::{Error, Result};
use crate::store::collab::{CollabEventRow, ItemRow, StepRow};
use crate::store::{self, Conn};
use serde_json::json;

/// The JWS `typ` of collaboration events.
pub const JWS_TYP: &str = "penex-collab-event+jws";

/// The payload: the item's identity and state, and the step; no personal data (the subject
/// and facts stay behind the item's own route).
fn payload(id: &str, seq: i64, item: &ItemRow, step: &StepRow) -> serde_json::Value {
    json!({
        "id": id,
        "seq": seq,
        "type": format!("collaboration.{}", step.step),
        "item": {
            "id": item.id,
            "kind": item.kind,
            "doc_no": item.doc_no,
            "sender": item.sender,
            "receiver": item.receiver,
            "approver": item.approver,
            "status": item.status,
            "due_on": item.due_on,
            "overdue": item.overdue,
        },
        "step": {
            "n": step.n,
            "step": step.step,
            "by": step.actor_unit,
            "on_day": step.on_day,
        },
        "created_at": step.at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}

/// Writes the event of `step` in the caller's transaction (after its audit append).
pub(super) fn emit(c: &mut Conn, deps: Deps<'_>, item: &ItemRow, step: &StepRow) -> Result<()> {
    let seq = store::collab::next_seq(c)?;
    let id = format!("cev_{}_{}", item.id.trim_start_matches("col_"), step.n);
    let text = payload(&id, seq, item, step).to_string();
    let keys = deps.emitter.keys.get();
    let signer = keys.current();
    let jws = sign_compact(signer, text.as_bytes(), Some(JWS_TYP))
        .map_err(|e| Error::Internal(format!("collaboration event signing failed: {e}")))?;
    let row = CollabEventRow {
        seq,
        id,
        item_id: item.id.clone(),
        event_type: format!("collaboration.{}", step.step),
        payload: text,
        jws,
        kid: signer.kid().to_owned(),
        created_at: step.at,
    };
    store::collab::insert_event(c, &row, &audience(deps.registry, item))?;
    Ok(())
}
