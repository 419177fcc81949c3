//! The strongly identified subjects a write touches, locked, with their stored records read
//! once for everything that follows in the transaction: conflict reconciliation
//! ([`super::conflicts`]) keeps the rows up to date as it changes their conflict roles, and
//! flag re-evaluation ([`super::flags`]) reads them after it.
//!
//! Lock order: the subjects' rows are locked here (PostgreSQL), before the audit chain and the
//! event sequence, as everywhere.

use crate::store::records::RecordRow;
use crate::store::{self, Conn, StoreError};
use std::collections::BTreeMap;

/// Strong subjects and their records (current versions, newest decision first).
#[derive(Debug, Default)]
pub struct Touched {
    /// The strongly identified subjects among those asked for, sorted, each once.
    pub strong: Vec<String>,
    /// Their records, by subject.
    pub records: BTreeMap<String, Vec<RecordRow>>,
}

impl Touched {
    /// Keeps the strong subjects among `subject_ids` (weak ones are never in a conflict nor
    /// flagged), locks them and reads their records.
    pub fn load(conn: &mut Conn, subject_ids: &[String]) -> Result<Self, StoreError> {
        let mut strong = store::conflicts::strong_among(conn, subject_ids)?;
        strong.sort();
        strong.dedup();
        let mut records: BTreeMap<String, Vec<RecordRow>> = BTreeMap::new();
        if strong.is_empty() {
            return Ok(Touched { strong, records });
        }
        store::conflicts::lock_subjects(conn, &strong)?;
        for chunk in strong.chunks(store::IN_CHUNK) {
            for r in store::records::of_subjects(conn, chunk)? {
                if let Some(s) = r.subject_id.clone() {
                    records.entry(s).or_default().push(r);
                }
            }
        }
        Ok(Touched { strong, records })
    }

    /// The records of one subject.
    pub fn of(&self, subject: &str) -> &[RecordRow] {
        self.records.get(subject).map_or(&[], Vec::as_slice)
    }
}
