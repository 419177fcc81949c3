//! penex — the penalty exchange of the Yangtze River Delta.
//!
//! One crate: a library with a thin binary. A folder per part (ARCHITECTURE.md):
//! `domain` (the types), `normalize` (raw → canonical, pure), `crypto` (pure, ring), `tls`,
//! `store` (the only SQL), `cache`, `api` (the only HTTP), `app` (start-up), `import` (CSV and
//! XLSX files pushed through the ingest service), `demo` (the whole loop on one machine), `cli`.
//!
//! Layers point one way (ARCHITECTURE.md; `tests/it/architecture.rs` fails on an edge that points
//! up): `domain`, `crypto` → `normalize`, `tls`, `cache` → `dedup`, `rules`, `store` →
//! `config`, `publish` → `service` → `api`, `import`, `sim` → `app`, `cli`, `demo`. A module
//! may use its own layer and those below it, never one above.

pub mod api;
pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod dedup;
pub mod demo;
pub mod domain;
pub mod import;
pub mod normalize;
pub mod publish;
pub mod rules;
pub mod service;
pub mod sim;
pub mod store;
pub mod telemetry;
pub mod tls;
