//! `penex import`: a 双公示 file (CSV or XLSX) pushed on behalf of one member unit, through the
//! same service path as `POST /v1/records` — `ingest::prepare` with the unit as actor, then
//! `ingest::store_batch` — so rows get the same outcomes (accepted, duplicate, corrected,
//! rejected), the same stored submissions and one audit entry per batch.
//!
//! Owns reading the file ([`sheet`]), cutting its rows into batches, and the report
//! ([`report`]). Depends on `service`, `store` (connections only, through `service::setup`), `normalize`
//! and `domain`; knows nothing of HTTP.
//!
//! Invariants: every data row of the file gets exactly one report line; a batch commits whole
//! or not at all, and a batch naming a deciding authority outside the unit's rights is refused
//! whole, nothing of it stored (like the HTTP push's 403), while the other batches go on; error
//! pointers are `/rows/<spreadsheet row>/<header as written in the file>`.

pub mod catalog_check;
pub mod report;
pub mod sheet;

use crate::config::Settings;
use crate::crypto::CryptoError;
use crate::crypto::pii::PiiKeyring;
use crate::domain::registry::Registry;
use crate::domain::unit::{Unit, UnitCode};
use crate::normalize::fields::{Field, locate_fields};
use crate::normalize::{FieldIssue, NormalizeContext};
use crate::service::ingest::{self, BatchMeta, PrepareError};
use crate::service::setup::{self, StartError};
use crate::store::{Conn, StoreError};
use indicatif::{ProgressBar, ProgressStyle};
use report::{RowResult, RowStatus, Summary};
use serde_json::Value;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Rows per batch when `--batch-size` is not given (fewer when `limits.max_batch_items` is
/// lower).
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// Why an import failed (the process exits non-zero). Rejected rows are not failures.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A CSV file that is not UTF-8 (nor GB18030).
    #[error(
        "{} must be UTF-8 text, but {detail}. Save it from Excel as \"CSV UTF-8\", or convert \
         it: `iconv -f {from} -t UTF-8 {} > converted.csv`",
        path.display(), path.display()
    )]
    Encoding {
        /// The file.
        path: PathBuf,
        /// What was found.
        detail: String,
        /// The encoding to name in the iconv hint (`ENCODING` when unknown).
        from: &'static str,
    },
    /// The file's content or layout is not a 双公示 table.
    #[error("{0}")]
    Format(String),
    /// The command's arguments or the pushing unit were refused.
    #[error("{0}")]
    Invalid(String),
    /// Settings, registry or key files.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The database, before any row was pushed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The report could not be written.
    #[error("cannot write the report {}: {reason}", path.display())]
    Report {
        /// The report file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The import stopped part-way; the report says which rows were stored.
    #[error(
        "the import stopped at row {row}: {cause}. Batches before it were committed; nothing \
         of its batch or later ones was stored (status not_imported in {})",
        report.display()
    )]
    Interrupted {
        /// The first row of the batch that failed.
        row: usize,
        /// Why.
        cause: String,
        /// The report, written before stopping.
        report: PathBuf,
    },
}

/// What `penex import` was asked to do.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The file to read (`.csv` or `.xlsx`).
    pub file: PathBuf,
    /// The pushing unit's code.
    pub unit: String,
    /// The worksheet (XLSX), default the first visible one.
    pub sheet: Option<String>,
    /// Rows per batch; default [`DEFAULT_BATCH_SIZE`].
    pub batch_size: Option<usize>,
    /// Where to write the report; default `<stem>.report.csv` beside the file.
    pub report: Option<PathBuf>,
    /// Who runs the import (`operator:cli:<user>`), for the audit actor.
    pub operator: String,
}

/// A finished import.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    /// Counts per status.
    pub summary: Summary,
    /// Where the report was written.
    pub report: PathBuf,
}

/// The batch size to use: the requested one (1 to `max`), or the default capped at `max`.
pub fn batch_size(requested: Option<usize>, max: usize) -> Result<usize, ImportError> {
    match requested {
        None => Ok(DEFAULT_BATCH_SIZE.min(max).max(1)),
        Some(0) => Err(ImportError::Invalid(
            "--batch-size must be at least 1".into(),
        )),
        Some(n) if n > max => Err(ImportError::Invalid(format!(
            "--batch-size {n} exceeds limits.max_batch_items ({max})"
        ))),
        Some(n) => Ok(n),
    }
}

/// `FILE.report.csv` beside `FILE.csv` or `FILE.xlsx`.
pub fn default_report_path(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    file.with_file_name(format!("{stem}.report.csv"))
}

/// The id of batch `n` (from 1) of one import run: `import-<file name>-<run stamp>-<n>`.
pub fn batch_id(file: &Path, stamp: &str, n: usize) -> String {
    let name = file
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("import-{name}-{stamp}-{n}")
}

/// The pushing unit: registered and enabled.
pub fn pushing_unit(registry: &Registry, code: &str) -> Result<Unit, ImportError> {
    let code = UnitCode::parse(code).map_err(|e| ImportError::Invalid(format!("--unit: {e}")))?;
    let unit = registry.get(&code).ok_or_else(|| {
        ImportError::Invalid(format!(
            "unit {code} is not registered (see `penex unit list`)"
        ))
    })?;
    if unit.disabled {
        return Err(ImportError::Invalid(format!(
            "unit {code} is disabled and may not push records"
        )));
    }
    Ok(unit.clone())
}

/// The personal-data keys the servers use. A missing key file is created only while the
/// database holds no record: otherwise the import runs with another data folder than the
/// servers, and ID numbers sealed with a new key could never be read again.
fn pii_keys(settings: &Settings, conn: &mut Conn) -> Result<PiiKeyring, ImportError> {
    Ok(setup::load_pii_keys(settings, conn)?)
}

/// A non-blank data row.
#[derive(Debug, Clone)]
struct DataRow {
    /// Position among all data rows (and in the report).
    slot: usize,
    /// Spreadsheet row number.
    number: usize,
    /// `{header: cell}`.
    object: Value,
}

/// Everything a batch needs.
struct Pusher<'a> {
    registry: &'a Registry,
    keyring: &'a PiiKeyring,
    emitter: &'a crate::service::events::Emitter,
    ctx: &'a NormalizeContext,
    policy: &'a crate::service::policy::PolicySet,
    unit: &'a Unit,
    actor: String,
    file: &'a Path,
    stamp: String,
}

/// Runs an import: reads the file, checks the unit, pushes the rows in batches, writes the
/// report. Notes and warnings go to stderr; the caller prints the summary.
pub fn import_file(
    settings: &Settings,
    opts: &ImportOptions,
) -> Result<ImportOutcome, ImportError> {
    let size = batch_size(opts.batch_size, settings.limits.max_batch_items)?;
    let report_path = opts
        .report
        .clone()
        .unwrap_or_else(|| default_report_path(&opts.file));
    if report_path == opts.file {
        return Err(ImportError::Invalid(
            "the report would overwrite the input file; name another --report".into(),
        ));
    }
    // The file first: its problems need no database.
    let sheet = sheet::read_file(&opts.file, opts.sheet.as_deref())?;
    let headers = sheet::check_headers(&sheet)?;
    for note in &sheet.notes {
        eprintln!("note: {note}");
    }
    if !headers.unknown.is_empty() {
        eprintln!(
            "warning: unknown header(s) {}: passed through, the records will carry an \
             unknown_field warning",
            headers
                .unknown
                .iter()
                .map(|h| format!("{h:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !headers.unnamed_columns.is_empty() {
        eprintln!(
            "warning: column(s) {} hold data but have no header; their cells are ignored",
            headers
                .unnamed_columns
                .iter()
                .map(|c| sheet::column_name(c.saturating_sub(1)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    // The CLI never migrates PostgreSQL implicitly (SQLite migrates, as at every start). One
    // connection, no pool: no connector thread may still be inside libpq when the process ends.
    let mut conn = setup::open_single(settings, false)?;
    let registry = setup::build_registry(&mut conn, setup::load_base_units(settings)?)?;
    let unit = pushing_unit(&registry, &opts.unit)?;
    let policy = setup::load_policy(settings)?;
    let emitter = crate::service::events::Emitter {
        pii: std::sync::Arc::new(pii_keys(settings, &mut conn)?),
        keys: std::sync::Arc::new(
            crate::publish::EventKeys::load(&crate::publish::signing_dir(settings))
                .map_err(|e| ImportError::Invalid(format!("event signing keys: {e}")))?,
        ),
    };
    let ctx = NormalizeContext {
        today: crate::domain::clock::today_shanghai(),
        publicity: settings.publicity.clone(),
        catalog: policy.catalog.clone(),
    };
    let pusher = Pusher {
        registry: &registry,
        keyring: &emitter.pii,
        emitter: &emitter,
        ctx: &ctx,
        policy: &policy,
        unit: &unit,
        actor: format!("{} as unit:{}", opts.operator, unit.code),
        file: &opts.file,
        stamp: chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string(),
    };

    let mut results: Vec<Option<RowResult>> = Vec::with_capacity(sheet.rows.len());
    let mut data = Vec::new();
    for (slot, row) in sheet.rows.iter().enumerate() {
        match sheet::row_object(&sheet.headers, &row.cells) {
            None => results.push(Some(RowResult::bare(
                row.number,
                RowStatus::Skipped,
                Vec::new(),
            ))),
            Some(object) => {
                results.push(None);
                data.push(DataRow {
                    slot,
                    number: row.number,
                    object: Value::Object(object),
                });
            }
        }
    }

    let progress = progress_bar(u64::try_from(data.len()).unwrap_or(u64::MAX));
    let mut failure = None;
    for (n, batch) in data.chunks(size).enumerate() {
        match push_batch(&mut conn, &pusher, n + 1, batch) {
            Ok(done) => {
                for (slot, result) in done {
                    if let Some(place) = results.get_mut(slot) {
                        *place = Some(result);
                    }
                }
            }
            Err(cause) => {
                failure = Some((batch.first().map_or(0, |r| r.number), cause));
                break;
            }
        }
        progress.inc(u64::try_from(batch.len()).unwrap_or(0));
    }
    progress.finish_and_clear();

    let results: Vec<RowResult> = results
        .into_iter()
        .zip(&sheet.rows)
        .map(|(r, row)| {
            r.unwrap_or_else(|| RowResult::bare(row.number, RowStatus::NotImported, Vec::new()))
        })
        .collect();
    report::write_report(&report_path, &results)?;
    if let Some((row, cause)) = failure {
        return Err(ImportError::Interrupted {
            row,
            cause,
            report: report_path,
        });
    }
    Ok(ImportOutcome {
        summary: Summary::of(&results),
        report: report_path,
    })
}

fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{wide_bar} {pos}/{len} rows, {eta} left") {
        bar.set_style(style);
    }
    bar
}

/// Pushes one batch; `Err` (the cause) when the database or the key failed, nothing of the
/// batch stored.
fn push_batch(
    conn: &mut Conn,
    p: &Pusher<'_>,
    n: usize,
    batch: &[DataRow],
) -> Result<Vec<(usize, RowResult)>, String> {
    let items: Vec<Value> = batch.iter().map(|r| r.object.clone()).collect();
    let prefix = |i: usize| {
        batch
            .get(i)
            .map_or_else(String::new, |r| format!("/rows/{}", r.number))
    };
    let prepared = match ingest::prepare(
        &items,
        &prefix,
        p.ctx,
        p.registry,
        p.keyring,
        Some(&p.unit.code),
    ) {
        Ok(prepared) => prepared,
        Err(PrepareError::Forbidden { indexes }) => {
            return Ok(refused(batch, &indexes, &p.unit.code));
        }
        Err(PrepareError::Crypto(e)) => return Err(sealing_failed(&e)),
    };
    let id = batch_id(p.file, &p.stamp, n);
    let meta = BatchMeta {
        batch_id: &id,
        unit_code: p.unit.code.as_str(),
        idempotency_key: None,
        actor: &p.actor,
        policy: p.policy.on(p.ctx.today),
        emitter: p.emitter,
    };
    let outcomes = ingest::store_batch(conn, &prepared, &meta).map_err(|e| e.to_string())?;
    Ok(outcomes
        .into_iter()
        .filter_map(|o| {
            let row = batch.get(o.index)?;
            Some((row.slot, RowResult::from_outcome(row.number, o)))
        })
        .collect())
}

fn sealing_failed(e: &CryptoError) -> String {
    format!("sealing personal data failed: {e}")
}

/// The report lines of a refused batch: the rows outside the unit's rights say whose
/// authority they name; the others say which rows sank the batch.
fn refused(batch: &[DataRow], indexes: &[usize], unit: &UnitCode) -> Vec<(usize, RowResult)> {
    let first = batch.first().map_or(0, |r| r.number);
    let last = batch.last().map_or(0, |r| r.number);
    let offenders: Vec<String> = indexes
        .iter()
        .filter_map(|i| batch.get(*i))
        .map(|r| r.number.to_string())
        .collect();
    batch
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let issue = if indexes.contains(&i) {
                let (pointer, name) = authority_given(&row.object);
                FieldIssue {
                    pointer: format!("/rows/{}{pointer}", row.number),
                    code: "authority_not_yours".into(),
                    detail: format!(
                        "the deciding authority {name:?} is not {unit} or a unit below it (a unit \
                         acts for itself and the units below it); the whole batch (rows \
                         {first}-{last}) was refused and nothing of it stored"
                    ),
                }
            } else {
                FieldIssue {
                    pointer: format!("/rows/{}", row.number),
                    code: "batch_refused".into(),
                    detail: format!(
                        "not stored: row(s) {} of the same batch (rows {first}-{last}) name a \
                         deciding authority outside the rights of {unit}; remove them or import \
                         them as their own unit, then import this row again",
                        offenders.join(", ")
                    ),
                }
            };
            (
                row.slot,
                RowResult::bare(row.number, RowStatus::Refused, vec![issue]),
            )
        })
        .collect()
}

/// Where a raw row names its deciding authority, and the text it gives (name, else USCC).
fn authority_given(object: &Value) -> (String, String) {
    let located = locate_fields(object);
    [Field::AuthorityName, Field::AuthorityUscc]
        .iter()
        .find_map(|f| {
            let (_, pointer) = located.iter().find(|(g, _)| g == f)?;
            let text = object.pointer(pointer)?.as_str()?.to_owned();
            Some((pointer.clone(), text))
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn batch_size_defaults_and_limits() {
        assert_eq!(batch_size(None, 1000).unwrap(), 500);
        assert_eq!(batch_size(None, 100).unwrap(), 100);
        assert_eq!(batch_size(Some(7), 1000).unwrap(), 7);
        assert!(batch_size(Some(0), 1000).is_err());
        let err = batch_size(Some(1001), 1000).unwrap_err().to_string();
        assert!(err.contains("limits.max_batch_items (1000)"), "{err}");
    }

    #[test]
    fn report_and_batch_names_follow_the_file() {
        assert_eq!(
            default_report_path(Path::new("/data/沪静 2025.xlsx")),
            PathBuf::from("/data/沪静 2025.report.csv")
        );
        assert_eq!(
            default_report_path(Path::new("records.csv")),
            PathBuf::from("records.report.csv")
        );
        assert_eq!(
            batch_id(Path::new("/data/records.csv"), "20250320T101500Z", 3),
            "import-records.csv-20250320T101500Z-3"
        );
    }

    #[test]
    fn a_refused_batch_names_the_offending_rows_and_authorities() {
        let unit = UnitCode::parse("JS-320000").unwrap();
        let rows: Vec<DataRow> = [
            json!({"CF_WSH": "1", "处罚机关": "上海市静安区城市管理行政执法局"}),
            json!({"CF_WSH": "2", "CF_CFJG": "江苏省住房和城乡建设厅"}),
            json!({"CF_WSH": "3", "a/b": "x", "CF_CFJGDM": "11310000MB2F00000X"}),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, object)| DataRow {
            slot: i + 10,
            number: i + 5,
            object,
        })
        .collect();
        let out = refused(&rows, &[0, 2], &unit);
        assert_eq!(out.len(), 3);
        let (slot, first) = &out[0];
        assert_eq!(*slot, 10);
        assert_eq!(first.status, RowStatus::Refused);
        assert_eq!(first.errors[0].pointer, "/rows/5/处罚机关");
        assert_eq!(first.errors[0].code, "authority_not_yours");
        assert!(
            first.errors[0]
                .detail
                .contains("上海市静安区城市管理行政执法局")
        );
        assert!(first.errors[0].detail.contains("rows 5-7"));
        assert_eq!(out[1].1.errors[0].pointer, "/rows/6");
        assert_eq!(out[1].1.errors[0].code, "batch_refused");
        assert!(out[1].1.errors[0].detail.contains("row(s) 5, 7 "));
        assert_eq!(out[2].1.errors[0].pointer, "/rows/7/CF_CFJGDM");
    }
}
