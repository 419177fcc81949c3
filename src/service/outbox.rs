//! Operators' hand on delivery: an event's outbox row made due again, with a fresh attempt
//! budget (`POST /v1/outbox/{id}/retry`, `penex outbox retry`). One transaction, one audit
//! entry per retried event; delivery itself stays with `publish::publisher`.

use super::error::{Error, Result};
use crate::store::outbox::OutboxView;
use crate::store::{self, Conn};

/// Makes `event_id`'s delivery due now with a fresh attempt budget and audits it; answers the
/// row after the change. No such event: [`Error::NotFound`]; delivered already: refused
/// (`already_delivered`), and nothing is written.
pub fn retry(conn: &mut Conn, event_id: &str, actor: &str) -> Result<OutboxView> {
    store::conn::write_tx(conn, |c| -> Result<OutboxView> {
        let before = store::outbox::find(c, event_id)?.ok_or(Error::NotFound)?;
        if !store::outbox::retry(c, event_id, store::now_utc())? {
            return Err(Error::refused(
                "already_delivered",
                format!("event {event_id} is already delivered"),
            ));
        }
        store::audit::append(
            c,
            &store::audit::NewAudit {
                actor,
                action: "outbox.retry",
                target: event_id,
                detail: &serde_json::json!({
                    "seq": before.event_seq,
                    "status": before.status,
                    "attempts": before.attempts,
                })
                .to_string(),
            },
        )?;
        store::outbox::find(c, event_id)?.ok_or(Error::NotFound)
    })
}
