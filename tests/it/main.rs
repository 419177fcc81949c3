//! The integration tests: one binary (one link per build), one module per area. The harness and
//! the shared fixtures are in `common`; docs/TESTING.md says what each module covers.
//!
//! Run one module or one test with a filter: `cargo test --test it http_flags::` or
//! `cargo test --test it catalog_apply`.

mod common;

mod architecture;
mod audit;
mod cache;
mod cli;
mod contract;
mod crash;
mod dashboard_browser;
mod demo;
mod failpoints;
mod faults;
mod hostile;
mod http_collaboration;
mod http_conflicts;
mod http_dashboard;
mod http_exemptions;
mod http_flags;
mod http_foundation;
mod http_queries;
mod http_records;
mod http_stats;
mod http_subjects;
mod import;
mod migrations;
mod proof;
mod publish;
mod simulate;
mod subject_links;
mod workbench_browser;
mod writers;
