//! `penex import`: a 双公示 file pushed as a unit would push it (`import`).

use super::{CliError, actor};
use crate::config::Settings;
use std::path::PathBuf;

/// `penex import …`
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The pushing unit (registered and enabled); rows it may not act for refuse their batch.
    #[arg(long)]
    pub unit: String,
    /// The file: `.csv` (UTF-8; GB18030/GBK is recognized) or `.xlsx`; the first row is the
    /// header (双公示 item names, column codes or penex field names).
    pub file: PathBuf,
    /// Worksheet to read (XLSX; default the first visible one).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Rows per batch: one transaction and one audit entry each [default: 500, at most
    /// limits.max_batch_items].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Where to write the report [default: FILE.report.csv beside the file].
    #[arg(long)]
    pub report: Option<PathBuf>,
}

pub(super) fn import_command(settings: &Settings, args: ImportArgs) -> Result<(), CliError> {
    let outcome = crate::import::import_file(
        settings,
        &crate::import::ImportOptions {
            file: args.file,
            unit: args.unit,
            sheet: args.sheet,
            batch_size: args.batch_size,
            report: args.report,
            operator: actor(),
        },
    )?;
    println!("{}", outcome.summary.line());
    println!("report: {}", outcome.report.display());
    let s = outcome.summary;
    if s.rejected > 0 {
        eprintln!(
            "note: {} row(s) were rejected and not stored as records; the report says why. \
             The import itself succeeded.",
            s.rejected
        );
    }
    if s.refused > 0 {
        eprintln!(
            "note: {} row(s) were refused: their batch named a deciding authority outside the \
             unit's rights, and nothing of such a batch was stored.",
            s.refused
        );
    }
    Ok(())
}
