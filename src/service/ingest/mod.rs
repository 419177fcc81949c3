//! Ingest: a batch of raw 双公示 records pushed by a unit → per-item outcomes, with every
//! accepted item, every submission as received, the audit entry and the idempotency answer
//! written in ONE transaction before the answer is sent.
//!
//! Two phases. `prepare` is pure apart from encryption: it normalizes each item, resolves the
//! deciding authority in the registry, checks the caller's rights, and seals personal data.
//! `apply` runs inside the caller's write transaction and decides, per item, accepted /
//! duplicate / corrected against what is stored.
//!
//! Invariants: an item is never half-stored; the outcome of an item depends only on what is
//! stored and on the items before it in the same batch; ID numbers are sealed before anything
//! reaches the store.

mod apply;
mod prepare;
mod subjects;

pub use apply::{BatchMeta, Pushed, apply, push, store_batch, write_tx_retrying};
pub use prepare::{prepare, resolve_authority};

use crate::crypto::CryptoError;
use crate::crypto::pii::{KIND_RESIDENT_ID, PiiKeyring};
use crate::dedup::subject::{SealedIds, SubjectKey, other_document, subject_keys};
use crate::domain::record::{CanonicalRecord, IdType, SubjectKind};
use crate::domain::registry::Registry;
use crate::domain::unit::{Unit, UnitCode};
use crate::normalize::names::{Divisions, NameKeys, match_name};
use crate::normalize::{Field, FieldIssue, IssueCode, NormalizeContext, normalize_record};
use crate::rules::flags::Cause;
use crate::service::conflicts::{self, Place, Policy};
use crate::service::links::{self, Probe};
use crate::service::sealing::seal_pointers;
use crate::service::touched::Touched;
use crate::store::batch::{BatchStore, Wanted};
use crate::store::records::{NewSubmission, RecordWrite};
use crate::store::{self, Conn, StoreError};
use serde::Serialize;
use serde_json::Value;

/// Outcome of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// A new canonical record (version 1).
    Accepted,
    /// Same identity, same content: nothing new stored but the submission.
    Duplicate,
    /// Same identity, new content: a new version, the old one kept.
    Corrected,
    /// Not stored as a record; `errors` says why.
    Rejected,
    /// A new record of an act another authority filed first (谁先予立案,谁负责处理): stored,
    /// linked to the conflict (`conflict`), never counted against the subject.
    Conflict,
}

impl ItemStatus {
    /// snake_case name, as stored with the submission.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Accepted => "accepted",
            ItemStatus::Duplicate => "duplicate",
            ItemStatus::Corrected => "corrected",
            ItemStatus::Rejected => "rejected",
            ItemStatus::Conflict => "conflict",
        }
    }
}

/// The answer for one item of a batch.
#[derive(Debug, Clone, Serialize)]
pub struct ItemOutcome {
    /// Position in the submitted batch (from 0).
    pub index: usize,
    /// What happened.
    pub status: ItemStatus,
    /// The canonical record's stable id (all statuses but rejected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// The record's version after this item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Why the item was rejected (JSON Pointers into the submitted document).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldIssue>,
    /// Things worth knowing that did not stop the item.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FieldIssue>,
    /// The jurisdiction conflict the record is in after this item, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Place>,
}

/// A normalized, resolved and sealed item, ready to store.
#[derive(Debug)]
pub struct ReadyItem {
    /// Position in the batch.
    pub index: usize,
    /// The canonical record (personal data in clear; never stored as is).
    pub record: CanonicalRecord,
    /// The deciding authority.
    pub authority: Unit,
    /// Stable record id.
    pub record_id: String,
    /// Canonical JSON with ID numbers sealed.
    pub sealed_json: String,
    /// The record's content fingerprint (what tells a duplicate from a correction).
    pub content_hash: [u8; 32],
    /// Blind index of the subject's resident ID.
    pub subject_id_index: Option<String>,
    /// The keys of the subject, strongest first (never empty: at least the weak key).
    pub subject_keys: Vec<SubjectKey>,
    /// The violation type's catalogue code (`None`: unmapped, kept as given).
    pub violation_code: Option<String>,
    /// How the code was matched ([`crate::normalize::violation::MatchedBy::as_str`]).
    pub violation_matched_by: Option<String>,
    /// The catalogue's provision that matched the 处罚依据.
    pub violation_provision: Option<String>,
    /// The matching keys of the subject's name (`normalize::names`).
    pub name_keys: NameKeys,
    /// Warnings of normalization.
    pub warnings: Vec<FieldIssue>,
}

impl ReadyItem {
    /// The `records` row of this item as version `version`, with `status` (`active`, or the
    /// stored record's status for a correction) and its subject.
    pub fn record_write(
        &self,
        version: i64,
        status: &str,
        subject_id: Option<String>,
        now: chrono::NaiveDateTime,
    ) -> RecordWrite {
        let r = &self.record;
        RecordWrite {
            id: self.record_id.clone(),
            authority_code: self.authority.code.as_str().to_owned(),
            decision_no: r.decision_no.clone(),
            party: self.authority.party.code().to_owned(),
            version,
            status: status.to_owned(),
            content_hash: self.content_hash.to_vec(),
            subject_kind: r.subject.kind.as_str().to_owned(),
            subject_name: r.subject.name.clone(),
            subject_uscc: r.subject.uscc.clone(),
            subject_id_index: self.subject_id_index.clone(),
            violation_type: r.violation_type.clone(),
            decision_date: r.decision_date,
            fine_fen: r.fine_fen,
            publicity_until: r.publicity_until,
            publicity_min_until: r.publicity_min_until,
            canonical_json: self.sealed_json.clone(),
            subject_id,
            violation_code: self.violation_code.clone(),
            violation_matched_by: self.violation_matched_by.clone(),
            violation_provision: self.violation_provision.clone(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// One prepared item.
#[derive(Debug)]
pub enum Prepared {
    /// Ready to store.
    Ready(Box<ReadyItem>),
    /// Rejected with these errors.
    Rejected {
        /// Position in the batch.
        index: usize,
        /// Why.
        errors: Vec<FieldIssue>,
        /// Warnings found on the way.
        warnings: Vec<FieldIssue>,
    },
}

/// A prepared item with its raw form, sealed.
#[derive(Debug)]
pub struct PreparedItem {
    /// Ready or rejected.
    pub item: Prepared,
    /// The item as received, ID numbers sealed, as JSON text.
    pub raw_sealed: String,
}

/// Why a whole batch is refused before anything is written.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Items name deciding authorities outside the caller's rights.
    #[error("items {indexes:?} name deciding authorities you may not act for")]
    Forbidden {
        /// Positions of the offending items.
        indexes: Vec<usize>,
    },
    /// Sealing personal data failed (a key problem: a bug or an operator error).
    #[error("sealing personal data failed: {0}")]
    Crypto(#[from] CryptoError),
}

/// The stable id of the record with this identity: the same wherever and however often it is
/// pushed (a lead relaying its member's record lands on the member's record).
pub fn record_id(authority: &UnitCode, decision_no: &str) -> String {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{}\n{decision_no}", authority.as_str()).as_bytes(),
    );
    let short: Vec<u8> = d.as_ref().iter().take(10).copied().collect();
    format!("rec_{}", hex::encode(short))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_are_stable_and_distinct() {
        let a = UnitCode::parse("SH-310106").unwrap();
        let b = UnitCode::parse("SH-310101").unwrap();
        assert_eq!(record_id(&a, "2211801118"), record_id(&a, "2211801118"));
        assert_ne!(record_id(&a, "2211801118"), record_id(&b, "2211801118"));
        assert_ne!(record_id(&a, "2211801118"), record_id(&a, "2211801119"));
        assert!(record_id(&a, "x").starts_with("rec_"));
        assert_eq!(record_id(&a, "x").len(), 24);
    }
}
