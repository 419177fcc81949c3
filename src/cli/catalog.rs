//! `penex catalog check|apply`: a file against the violation-type catalogue, and the stored
//! records re-classified (`service::catalog`).

use super::{CliError, actor, connect};
use crate::app;
use crate::config::Settings;
use crate::domain::party::Party;
use clap::Subcommand;
use std::path::PathBuf;

/// `penex catalog …`
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// How a file's records would sit in the catalogue, before pushing it: coverage, how the
    /// types were matched, and the unmapped texts with their counts and legal bases. Reads CSV,
    /// XLSX (the header rules of `penex import`) or JSON lines; touches no database.
    Check {
        /// The file (`.csv`, `.xlsx`, `.jsonl`).
        file: PathBuf,
        /// The party of every record (default: from each record's deciding authority).
        #[arg(long)]
        party: Option<String>,
        /// Worksheet to read (XLSX; default the first visible one).
        #[arg(long)]
        sheet: Option<String>,
    },
    /// Re-classify every stored record with the configured catalogue, reconcile the conflicts
    /// and flags of the subjects whose records moved (audited; flag changes are published as a
    /// push would publish them). Running it again changes nothing.
    Apply,
}

pub(super) fn catalog_command(settings: &Settings, cmd: CatalogCommand) -> Result<(), CliError> {
    let policy = app::load_policy(settings)?;
    match cmd {
        CatalogCommand::Check { file, party, sheet } => {
            let party = match party {
                None => None,
                Some(p) => Some(p.parse::<Party>().map_err(|_| {
                    CliError::Invalid(format!("--party {p:?}: expected SH, JS, ZJ or AH"))
                })?),
            };
            let rows = crate::import::catalog_check::read_rows(&file, sheet.as_deref())?;
            let registry = crate::domain::registry::Registry::new(
                app::load_base_units(settings)?,
                crate::normalize::text::fold_name,
            )
            .map_err(|e| CliError::Invalid(format!("units: {e}")))?;
            let report =
                crate::import::catalog_check::check(&policy.catalog, &registry, &rows, party);
            print!("{}", report.render(&policy.catalog));
            Ok(())
        }
        CatalogCommand::Apply => {
            let mut conn = connect(settings)?;
            let emitter = crate::service::events::Emitter {
                pii: std::sync::Arc::new(app::load_pii_keys(settings, &mut conn)?),
                keys: std::sync::Arc::new(
                    crate::publish::EventKeys::load(&crate::publish::signing_dir(settings))
                        .map_err(|e| CliError::Invalid(format!("event signing keys: {e}")))?,
                ),
            };
            let today = crate::domain::clock::today_shanghai();
            let r =
                crate::service::catalog::apply(&mut conn, &policy.on(today), &emitter, &actor())?;
            println!(
                "records: {}  reclassified: {} (newly mapped {}, newly unmapped {})  subjects \
                 reconciled: {}  flag changes: {}",
                r.records,
                r.reclassified,
                r.newly_mapped,
                r.newly_unmapped,
                r.subjects,
                r.flag_changes
            );
            for ((from, to), n) in &r.moves {
                println!("  {n:>7}  {from} -> {to}");
            }
            Ok(())
        }
    }
}
