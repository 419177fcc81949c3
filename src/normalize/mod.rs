//! Normalization: one raw 双公示 penalty record (JSON, with English, column-code or Chinese
//! keys) → a [`CanonicalRecord`](crate::domain::record::CanonicalRecord), or a precise list of
//! field errors with JSON Pointers.
//!
//! Pure: imports neither actix nor diesel, reads no clock (today is passed in) and no files.
//! Invariants: normalizing the serialized canonical record again yields the same record; no
//! error detail contains a full identifier; money never passes through floating point.

pub mod categories;
pub mod dates;
pub mod decision_no;
pub mod fields;
pub mod ids;
pub mod issue;
pub mod legal_basis;
pub mod money;
pub mod names;
pub mod publicity;
pub mod record;
pub mod text;
pub mod violation;
pub mod violation_corpus;

pub use fields::{Field, field_for_header};
pub use issue::{FieldIssue, IssueCode};
pub use publicity::PublicityConfig;
pub use record::{NormalizeContext, Normalized, normalize_record};
pub use violation::Catalog;
