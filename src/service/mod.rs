//! The service layer: runs normalize → resolve → store → audit in one transaction per request.
//! Handlers and the CLI call it; it knows neither HTTP nor SQL text (it calls `store`).

pub mod admin;
pub mod catalog;
pub mod collab;
pub mod conflicts;
pub mod error;
pub mod events;
pub mod exemptions;
pub mod flags;
pub mod ingest;
pub mod links;
pub mod note;
pub mod outbox;
pub mod policy;
pub mod repair;
pub mod revoke;
pub mod sealing;
pub mod setup;
pub mod stats;
pub mod touched;

pub use error::{Error, Result};
