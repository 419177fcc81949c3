//! Reads back from a store what penex made of a pushed simulated set, for
//! [`score`](crate::sim::score::score): each record's subject (weak links followed), whether that
//! subject is weak, and the conflict each record is in.

use crate::sim::score::Observed;
use crate::store::{self, Conn, StoreError};
use std::collections::HashMap;

/// Builds [`Observed`] from the store, given the record id answered for each push.
pub fn observe(
    conn: &mut Conn,
    record_of_push: Vec<Option<String>>,
) -> Result<Observed, StoreError> {
    let subject_rows = store::stats::subject_strength_and_links(conn)?;
    let subject_info: HashMap<String, (bool, Option<String>)> = subject_rows
        .into_iter()
        .map(|(id, strong, linked)| (id, (strong, linked)))
        .collect();
    let rows = store::stats::record_places(conn)?;
    let mut o = Observed {
        record_of_push,
        ..Observed::default()
    };
    for (id, subject, conflict, role) in rows {
        if let Some(s) = subject {
            let (strong, linked) = subject_info.get(&s).cloned().unwrap_or((false, None));
            o.weak_record.insert(id.clone(), !strong);
            o.subject_of_record.insert(id.clone(), linked.unwrap_or(s));
        }
        if let (Some(c), Some(r)) = (conflict, role)
            && r != "stands"
        {
            o.conflict_of_record.insert(id, (c, r == "winner"));
        }
    }
    Ok(o)
}
