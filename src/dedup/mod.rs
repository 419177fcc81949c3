//! Who is who: the identity of a subject (行政相对人) from the strongest identifier a record
//! carries. Matching is pure; lookups go through the store.
//!
//! Precision over recall: a weak key (name + party) is kept and searchable but never suffices
//! to flag anyone, and natural persons are never linked by name.

pub mod conflict;
pub mod subject;
