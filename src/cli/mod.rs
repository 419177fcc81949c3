//! The `penex` command line: serve, migrate, manage units, API keys and the dev PKI, verify
//! the audit log, print the OpenAPI document, normalize and import records, run the demo.
//!
//! This file holds the top of the grammar, the dispatch and the one error every command
//! returns; each command group lives in its own file with its arguments. A command extracts
//! its arguments, calls `service` (writes) or `store` (reads), and prints: every audited write
//! runs in `service`, and no command names the HTTP layer (except `penex openapi`, which prints
//! its document).

mod apikey;
mod audit;
mod catalog;
mod import;
mod keys;
mod normalize;
mod outbox;
mod pki;
mod server;
mod sim;
mod subjects;
mod unit;

pub use apikey::ApiKeyCommand;
pub use audit::AuditCommand;
pub use catalog::CatalogCommand;
pub use import::ImportArgs;
pub use keys::KeysCommand;
pub use outbox::OutboxCommand;
pub use pki::PkiCommand;
pub use sim::DemoArgs;
pub use subjects::SubjectsCommand;
pub use unit::UnitCommand;

use crate::app::{self, StartError};
use crate::config::Settings;
use crate::store::{self, StoreError};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// penex — the penalty exchange of the Yangtze River Delta.
#[derive(Debug, Parser)]
#[command(name = "penex", version, about)]
pub struct Cli {
    /// Settings file (defaults built in; `config/default.toml` documents every key).
    #[arg(long, global = true, env = "PENEX_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTPS service.
    Serve {
        /// Apply pending PostgreSQL migrations first (SQLite always migrates at start).
        #[arg(long)]
        migrate: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage member units (runtime changes survive restarts).
    #[command(subcommand)]
    Unit(UnitCommand),
    /// Development PKI.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Analysts' API keys.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// The audit hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Event signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The delivery outbox of events to the credit platform.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The violation-type catalogue: check a file against it, re-classify stored records.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Subjects: apply the current name folding to what is stored.
    #[command(subcommand)]
    Subjects(SubjectsCommand),
    /// Run a reference connector: receives events over mutual TLS, verifies each JWS against
    /// the JWKS, deduplicates by Idempotency-Key, checks per-subject order, appends verified
    /// events to a JSON-lines file (see docs/CONNECTOR.md).
    Sink(crate::publish::sink::SinkArgs),
    /// Print the OpenAPI document (the one committed as openapi/openapi.json).
    Openapi,
    /// Normalize records offline: JSON lines of raw records on stdin, JSON lines of
    /// `{"ok": canonical}` or `{"errors": [...]}` on stdout (one per input line, in order).
    Normalize,
    /// Import a 双公示 file (CSV or XLSX) as a unit's push: the same checks, outcomes and audit
    /// entries as `POST /v1/records`, one transaction per batch. Writes a report with one line
    /// per row (`FILE.report.csv`); rejected rows do not make the command fail.
    Import(ImportArgs),
    /// Run the whole loop on one machine: penex on the embedded default, a sink, a simulated
    /// region pushed by units of all four parties over mutual TLS, a few flags withdrawn by
    /// revocations; then a summary. Fails when anything does not add up (see docs/DEMO.md).
    Demo(DemoArgs),
    /// Generate a synthetic regional data set with ground truth (records.jsonl, truth.json,
    /// summary.json, and collaboration.jsonl with `--collaboration`; see docs/SIMULATION.md). Deterministic: the same options give the same
    /// bytes. Deciding authorities come from the units file.
    Simulate {
        /// Number of pushes to generate.
        #[arg(long, default_value_t = 1000)]
        records: usize,
        /// Seed of the generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output folder (created when absent; the three files are overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Reference date: decisions lie in the three years before it.
        #[arg(long, default_value = "2026-11-01")]
        today: chrono::NaiveDate,
        /// Collaboration items to script between units (collaboration.jsonl, with the expected
        /// counts in summary.json); 0 writes no collaboration.
        #[arg(long, default_value_t = 0)]
        collaboration: usize,
    },
}

/// A command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Start-up failure.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A service operation refused or failed (the command maps the refusals it expects to
    /// its own message first).
    #[error("{}", service_message(.0))]
    Service(#[from] crate::service::Error),
    /// Refused input.
    #[error("{0}")]
    Invalid(String),
    /// An import failed.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// The demo could not run, or what it saw does not add up.
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    /// The audit chain is broken.
    #[error("audit chain broken at entry {seq}: {reason}")]
    AuditBroken {
        /// First broken entry.
        seq: i64,
        /// Why.
        reason: String,
    },
}

/// What the operator reads for a service error: the detail of a refusal, and for a failure
/// its cause (the CLI is the operator's own tool; nothing is hidden from them).
fn service_message(e: &crate::service::Error) -> &str {
    use crate::service::Error as E;
    match e {
        E::NotFound => "not found",
        E::Forbidden { detail }
        | E::Invalid { detail, .. }
        | E::Refused { detail, .. }
        | E::Conflict { detail, .. } => detail,
        E::Busy(cause) | E::Unavailable { cause, .. } | E::Internal(cause) => cause,
    }
}

/// The actor a command writes to the audit chain: the operator's login.
fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("operator:cli:{user}")
}

fn connect(settings: &Settings) -> Result<store::Conn, CliError> {
    // The CLI never migrates PostgreSQL implicitly either.
    Ok(app::open_single(settings, false)?)
}

/// Runs a command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::load(cli.config.as_deref()).map_err(StartError::from)?;
    match cli.command {
        Command::Serve { migrate } => server::serve(settings, migrate).await,
        Command::Migrate => server::migrate(&settings),
        Command::Openapi => server::openapi(),
        Command::Normalize => normalize::normalize_stdin(&settings),
        Command::Import(args) => import::import_command(&settings, args),
        Command::Simulate {
            records,
            seed,
            out,
            today,
            collaboration,
        } => sim::simulate(
            &settings,
            sim::SimulateArgs {
                records,
                seed,
                out: &out,
                today,
                collaboration,
            },
        ),
        Command::Demo(args) => sim::demo(&settings, args).await,
        Command::Unit(cmd) => unit::unit_command(&settings, cmd),
        Command::Pki(cmd) => pki::pki_command(&settings, cmd),
        Command::Apikey(cmd) => apikey::apikey_command(&settings, cmd),
        Command::Keys(cmd) => keys::keys_command(&settings, cmd),
        Command::Outbox(cmd) => outbox::outbox_command(&settings, cmd),
        Command::Catalog(cmd) => catalog::catalog_command(&settings, cmd),
        Command::Subjects(cmd) => subjects::subjects_command(&settings, cmd),
        Command::Sink(args) => crate::publish::sink::run(args)
            .await
            .map_err(|e| CliError::Invalid(e.to_string())),
        Command::Audit(cmd) => audit::audit_command(&settings, cmd),
    }
}
