//! The audit hash chain in the database: every write appends an entry in the caller's
//! transaction; `verify` walks the chain and names the first broken link.
//!
//! Invariant: entries get gap-free sequence numbers from the `chain_heads` row `audit`, which
//! each appender locks (`UPDATE … RETURNING`) until its transaction ends, so entries commit in
//! sequence order on both backends.

use super::schema::{audit_log, chain_heads};
use super::{Conn, StoreError};
use crate::crypto::audit::{AuditEntry, ChainVerifier, entry_hash};
use diesel::prelude::*;

/// What an audit entry records about a write. `detail` is JSON text and must hold no personal
/// data (no ID numbers, no natural persons' names).
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    /// Who: `unit:SH-310000`, `analyst:analyst-1`, `operator:cli`, …
    pub actor: &'a str,
    /// What: `record.push`, `unit.add`, `apikey.create`, …
    pub action: &'a str,
    /// On what: a record id, a unit code, …
    pub target: &'a str,
    /// Details as JSON text.
    pub detail: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct AuditRow<'a> {
    seq: i64,
    at: chrono::NaiveDateTime,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    detail: &'a str,
    hash: &'a [u8],
}

/// Appends one entry; returns its sequence number. Call inside the write's transaction.
pub fn append(conn: &mut Conn, entry: &NewAudit<'_>) -> Result<i64, StoreError> {
    let (seq, prev): (i64, Vec<u8>) = diesel::update(chain_heads::table.find("audit"))
        .set(chain_heads::seq.eq(chain_heads::seq + 1))
        .returning((chain_heads::seq, chain_heads::hash))
        .get_result(conn)?;
    let prev: [u8; 32] = prev
        .try_into()
        .map_err(|_| StoreError::Corrupt("audit chain head hash is not 32 bytes".into()))?;
    let at = super::now_utc();
    let domain_entry = AuditEntry {
        seq,
        at,
        actor: entry.actor.to_owned(),
        action: entry.action.to_owned(),
        target: entry.target.to_owned(),
        detail: entry.detail.to_owned(),
    };
    let hash = entry_hash(&prev, &domain_entry);
    diesel::update(chain_heads::table.find("audit"))
        .set(chain_heads::hash.eq(hash.as_slice()))
        .execute(conn)?;
    diesel::insert_into(audit_log::table)
        .values(AuditRow {
            seq,
            at,
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            detail: entry.detail,
            hash: &hash,
        })
        .execute(conn)?;
    Ok(seq)
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every link holds; this many entries were checked.
    Intact { entries: u64 },
    /// The first entry whose link does not hold.
    Broken { seq: i64, reason: String },
}

type AuditTuple = (
    i64,
    chrono::NaiveDateTime,
    String,
    String,
    String,
    String,
    Vec<u8>,
);

/// Walks the whole chain in pages, from the first entry, and checks every link and the head.
pub fn verify(conn: &mut Conn) -> Result<Verification, StoreError> {
    const PAGE: i64 = 1000;
    let mut verifier = ChainVerifier::new();
    let mut after = 0_i64;
    let mut last_hash: Option<[u8; 32]> = None;
    loop {
        let rows: Vec<AuditTuple> = audit_log::table
            .filter(audit_log::seq.gt(after))
            .order(audit_log::seq.asc())
            .limit(PAGE)
            .select((
                audit_log::seq,
                audit_log::at,
                audit_log::actor,
                audit_log::action,
                audit_log::target,
                audit_log::detail,
                audit_log::hash,
            ))
            .load(conn)?;
        if rows.is_empty() {
            break;
        }
        for (seq, at, actor, action, target, detail, hash) in rows {
            after = seq;
            let Ok(stored) = <[u8; 32]>::try_from(hash.as_slice()) else {
                return Ok(Verification::Broken {
                    seq,
                    reason: "stored hash is not 32 bytes".into(),
                });
            };
            let entry = AuditEntry {
                seq,
                at,
                actor,
                action,
                target,
                detail,
            };
            if let Err(broken) = verifier.push(&entry, &stored) {
                return Ok(Verification::Broken {
                    seq: broken.seq,
                    reason: broken.reason,
                });
            }
            last_hash = Some(stored);
        }
    }
    // The head must point at the last entry: a truncated tail is a broken chain too.
    let (head_seq, head_hash): (i64, Vec<u8>) = chain_heads::table
        .find("audit")
        .select((chain_heads::seq, chain_heads::hash))
        .first(conn)?;
    if head_seq != after || last_hash.is_some_and(|h| h.as_slice() != head_hash.as_slice()) {
        return Ok(Verification::Broken {
            seq: after + 1,
            reason: format!(
                "the chain head says {head_seq} entries but the log ends at {after}: \
                 entries were removed"
            ),
        });
    }
    Ok(Verification::Intact {
        entries: verifier.count(),
    })
}
