//! The import report: one line per data row (`row,status,record_id,version,errors`) and the
//! summary line.
//!
//! Pure apart from [`write_report`]. Invariants: every data row of the file has exactly one
//! line, in file order; a line never spans two lines of text (line breaks inside error details
//! become spaces), so `grep` and spreadsheet programs see one row per line.

use super::ImportError;
use crate::normalize::FieldIssue;
use crate::service::ingest::{ItemOutcome, ItemStatus};
use std::io::Write;
use std::path::Path;

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    /// A new record.
    Accepted,
    /// A record already stored with the same content.
    Duplicate,
    /// A new version of a stored record.
    Corrected,
    /// Not stored as a record: `errors` says why (kept as a submission, like a push).
    Rejected,
    /// Stored, but another authority filed the same act first: linked, never counted.
    Conflict,
    /// A blank row.
    Skipped,
    /// Its batch named a deciding authority outside the pushing unit's rights: nothing of the
    /// batch was stored.
    Refused,
    /// The database failed before this row's batch committed: nothing of it was stored.
    NotImported,
}

impl RowStatus {
    /// The word in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Accepted => "accepted",
            RowStatus::Duplicate => "duplicate",
            RowStatus::Corrected => "corrected",
            RowStatus::Rejected => "rejected",
            RowStatus::Conflict => "conflict",
            RowStatus::Skipped => "skipped",
            RowStatus::Refused => "refused",
            RowStatus::NotImported => "not_imported",
        }
    }
}

impl From<ItemStatus> for RowStatus {
    fn from(s: ItemStatus) -> Self {
        match s {
            ItemStatus::Accepted => RowStatus::Accepted,
            ItemStatus::Duplicate => RowStatus::Duplicate,
            ItemStatus::Corrected => RowStatus::Corrected,
            ItemStatus::Rejected => RowStatus::Rejected,
            ItemStatus::Conflict => RowStatus::Conflict,
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    /// 1-based spreadsheet row number.
    pub row: usize,
    /// What happened.
    pub status: RowStatus,
    /// The canonical record's id (accepted, duplicate, corrected).
    pub record_id: Option<String>,
    /// The record's version after this row.
    pub version: Option<i64>,
    /// Why it was rejected or refused; pointers are `/rows/<row>/<header>`.
    pub errors: Vec<FieldIssue>,
}

impl RowResult {
    /// A row with a status and no record.
    pub fn bare(row: usize, status: RowStatus, errors: Vec<FieldIssue>) -> Self {
        RowResult {
            row,
            status,
            record_id: None,
            version: None,
            errors,
        }
    }

    /// The result of a row the service answered.
    pub fn from_outcome(row: usize, o: ItemOutcome) -> Self {
        RowResult {
            row,
            status: o.status.into(),
            record_id: o.record_id,
            version: o.version,
            errors: o.errors,
        }
    }
}

/// `pointer code: detail`, joined with ` | `, on one line.
pub fn errors_text(errors: &[FieldIssue]) -> String {
    errors
        .iter()
        .map(|e| format!("{} {}: {}", e.pointer, e.code, e.detail))
        .collect::<Vec<_>>()
        .join(" | ")
        .replace(['\r', '\n'], " ")
}

/// The report's header line.
pub const COLUMNS: [&str; 5] = ["row", "status", "record_id", "version", "errors"];

/// The fields of a row's report line.
pub fn report_fields(r: &RowResult) -> [String; 5] {
    [
        r.row.to_string(),
        r.status.as_str().to_owned(),
        r.record_id.clone().unwrap_or_default(),
        r.version.map(|v| v.to_string()).unwrap_or_default(),
        errors_text(&r.errors),
    ]
}

/// Writes the report as UTF-8 CSV with a byte-order mark (so that Excel shows the Chinese text
/// in details correctly).
pub fn write_report(path: &Path, results: &[RowResult]) -> Result<(), ImportError> {
    let fail = |e: String| ImportError::Report {
        path: path.to_owned(),
        reason: e,
    };
    let mut file = std::fs::File::create(path).map_err(|e| fail(e.to_string()))?;
    file.write_all(b"\xEF\xBB\xBF")
        .map_err(|e| fail(e.to_string()))?;
    let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(file));
    writer
        .write_record(COLUMNS)
        .map_err(|e| fail(e.to_string()))?;
    for r in results {
        writer
            .write_record(report_fields(r))
            .map_err(|e| fail(e.to_string()))?;
    }
    writer.flush().map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Data rows in the file (blank ones included).
    pub rows: usize,
    /// New records.
    pub accepted: usize,
    /// Known records, same content.
    pub duplicate: usize,
    /// New versions.
    pub corrected: usize,
    /// Rows with errors.
    pub rejected: usize,
    /// New records that lost jurisdiction to an earlier filing of the same act.
    pub conflict: usize,
    /// Blank rows.
    pub skipped: usize,
    /// Rows of refused batches.
    pub refused: usize,
    /// Rows not reached because the database failed.
    pub not_imported: usize,
}

impl Summary {
    /// Counts the results.
    pub fn of(results: &[RowResult]) -> Self {
        let mut s = Summary {
            rows: results.len(),
            ..Summary::default()
        };
        for r in results {
            let n = match r.status {
                RowStatus::Accepted => &mut s.accepted,
                RowStatus::Duplicate => &mut s.duplicate,
                RowStatus::Corrected => &mut s.corrected,
                RowStatus::Rejected => &mut s.rejected,
                RowStatus::Conflict => &mut s.conflict,
                RowStatus::Skipped => &mut s.skipped,
                RowStatus::Refused => &mut s.refused,
                RowStatus::NotImported => &mut s.not_imported,
            };
            *n += 1;
        }
        s
    }

    /// `N rows: A accepted, D duplicate, C corrected, R rejected, S skipped, F refused` (and
    /// `, X not imported` after a database failure).
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} rows: {} accepted, {} duplicate, {} corrected, {} rejected, {} skipped, {} refused",
            self.rows,
            self.accepted,
            self.duplicate,
            self.corrected,
            self.rejected,
            self.skipped,
            self.refused
        );
        if self.conflict > 0 {
            line.push_str(&format!(", {} conflict", self.conflict));
        }
        if self.not_imported > 0 {
            line.push_str(&format!(", {} not imported", self.not_imported));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(pointer: &str, code: &str, detail: &str) -> FieldIssue {
        FieldIssue {
            pointer: pointer.into(),
            code: code.into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn report_lines_hold_row_status_record_version_and_errors() {
        let ok = RowResult {
            row: 2,
            status: RowStatus::Accepted,
            record_id: Some("rec_01".into()),
            version: Some(1),
            errors: Vec::new(),
        };
        assert_eq!(report_fields(&ok), ["2", "accepted", "rec_01", "1", ""]);
        let bad = RowResult::bare(
            17,
            RowStatus::Rejected,
            vec![
                issue(
                    "/rows/17/CF_XDR_SHXYM",
                    "invalid_checksum",
                    "check character",
                ),
                issue("/rows/17/CF_NR", "required", "a\nb"),
            ],
        );
        assert_eq!(
            report_fields(&bad),
            [
                "17",
                "rejected",
                "",
                "",
                "/rows/17/CF_XDR_SHXYM invalid_checksum: check character | \
                 /rows/17/CF_NR required: a b"
            ]
        );
        assert_eq!(
            report_fields(&RowResult::bare(3, RowStatus::Skipped, Vec::new()))[1],
            "skipped"
        );
    }

    #[test]
    fn summary_counts_every_status() {
        let statuses = [
            RowStatus::Accepted,
            RowStatus::Accepted,
            RowStatus::Duplicate,
            RowStatus::Corrected,
            RowStatus::Rejected,
            RowStatus::Skipped,
            RowStatus::Refused,
        ];
        let results: Vec<RowResult> = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| RowResult::bare(i + 2, *s, Vec::new()))
            .collect();
        let s = Summary::of(&results);
        assert_eq!(
            s.line(),
            "7 rows: 2 accepted, 1 duplicate, 1 corrected, 1 rejected, 1 skipped, 1 refused"
        );
        let mut failed = results;
        failed.push(RowResult::bare(9, RowStatus::NotImported, Vec::new()));
        assert!(
            Summary::of(&failed)
                .line()
                .ends_with(", 1 refused, 1 not imported")
        );
    }

    #[test]
    fn the_report_file_has_a_bom_a_header_and_one_line_per_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let results = vec![
            RowResult::bare(
                2,
                RowStatus::Rejected,
                vec![issue("/rows/2", "x", "含,逗号\n")],
            ),
            RowResult::bare(3, RowStatus::Skipped, Vec::new()),
        ];
        write_report(&path, &results).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "\u{feff}row,status,record_id,version,errors\n\
             2,rejected,,,\"/rows/2 x: 含,逗号 \"\n\
             3,skipped,,,\n"
        );
    }
}
