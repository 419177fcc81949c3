//! Reading a 双公示 file into rows of text: CSV (UTF-8 with or without BOM; GB18030/GBK is
//! recognized) and XLSX (the first visible worksheet, or one named), then header checks and
//! row → JSON object.
//!
//! Pure apart from [`read_file`], which reads the file. Knows nothing of the store or of HTTP.
//!
//! Invariants: a row's JSON keys are the headers exactly as the file writes them (trimmed), so
//! error pointers name what the operator sees; blank cells are left out; row numbers are the
//! 1-based spreadsheet rows (the header is row 1 when the file starts with it). In a CSV file a
//! row is a record — a line break inside a quoted cell does not start a new row — and a blank
//! line is a (blank) row, as a spreadsheet program shows them.

use super::ImportError;
use crate::normalize::fields::field_for_header;
use calamine::{Data, Reader};
use serde_json::{Map, Value};
use std::path::Path;

/// A file's content as text cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sheet {
    /// The header of each column, trimmed; `None` for a blank header cell.
    pub headers: Vec<Option<String>>,
    /// The spreadsheet row number of the header row.
    pub header_row: usize,
    /// Data rows in file order, blank rows included.
    pub rows: Vec<SheetRow>,
    /// Things the operator should know that do not stop the import (encoding, worksheet).
    pub notes: Vec<String>,
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    /// 1-based spreadsheet row number.
    pub number: usize,
    /// Cell texts, by column.
    pub cells: Vec<String>,
}

/// The two formats penex reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// Office Open XML workbook.
    Xlsx,
}

impl Format {
    /// The format a file name's extension names.
    pub fn of(path: &Path) -> Result<Format, ImportError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "xlsx" | "xlsm" => Ok(Format::Xlsx),
            "xls" | "et" | "ods" => Err(ImportError::Format(format!(
                "{}: .{ext} files are not read; save it as .xlsx or as CSV (UTF-8) and import \
                 that",
                path.display()
            ))),
            _ => Err(ImportError::Format(format!(
                "{}: expected a .csv or .xlsx file",
                path.display()
            ))),
        }
    }
}

/// Reads a file: CSV or XLSX by its extension; `sheet` names the worksheet (XLSX only).
pub fn read_file(path: &Path, sheet: Option<&str>) -> Result<Sheet, ImportError> {
    let format = Format::of(path)?;
    match format {
        Format::Csv => {
            if sheet.is_some() {
                return Err(ImportError::Format(
                    "--sheet applies to XLSX files only".into(),
                ));
            }
            let bytes = std::fs::read(path).map_err(|e| ImportError::Read {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
            let (text, encoding) = decode_text(&bytes).map_err(|e| match e {
                DecodeError::Utf16 => ImportError::Encoding {
                    path: path.to_owned(),
                    detail: "it is UTF-16 (Excel's \"Unicode text\")".into(),
                    from: "UTF-16",
                },
                DecodeError::Unknown { offset } => ImportError::Encoding {
                    path: path.to_owned(),
                    detail: format!(
                        "it is neither UTF-8 nor GB18030/GBK (the first byte that is not UTF-8 \
                         is at offset {offset}); name the encoding it was written in to iconv"
                    ),
                    from: "ENCODING",
                },
            })?;
            let mut sheet = parse_csv(&text)?;
            if encoding == TextEncoding::Gb18030 {
                sheet.notes.push(format!(
                    "{} is not UTF-8; it was read as GB18030 (GBK). If the Chinese text in \
                     the report looks wrong, convert the file to UTF-8 and import it again.",
                    path.display()
                ));
            }
            Ok(sheet)
        }
        Format::Xlsx => read_xlsx(path, sheet),
    }
}

/// The encoding a CSV file was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8, with or without a byte-order mark.
    Utf8,
    /// GB18030, the superset of GBK and GB2312 that Chinese Excel writes by default.
    Gb18030,
}

/// Why bytes could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A UTF-16 byte-order mark.
    Utf16,
    /// Neither valid UTF-8 nor valid GB18030; `offset` is the first byte that is not UTF-8.
    Unknown {
        /// Byte offset.
        offset: usize,
    },
}

/// Decodes a CSV file: UTF-8 (a leading byte-order mark is dropped), else strict GB18030.
pub fn decode_text(bytes: &[u8]) -> Result<(String, TextEncoding), DecodeError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(DecodeError::Utf16);
    }
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(text) => Ok((text.to_owned(), TextEncoding::Utf8)),
        Err(e) => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(body)
            .map(|text| (text.into_owned(), TextEncoding::Gb18030))
            .ok_or(DecodeError::Unknown {
                offset: e.valid_up_to() + (bytes.len() - body.len()),
            }),
    }
}

/// Parses CSV text (comma-separated, `"` quoting); the first non-blank row is the header.
pub fn parse_csv(text: &str) -> Result<Sheet, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut sheet = Sheet::default();
    let mut header_seen = false;
    let mut number: usize = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(ImportError::Format(format!(
                    "the CSV text cannot be read after row {number}: {e}"
                )));
            }
        }
        // The reader skips empty lines silently, and a record's position is where the reader
        // began, before those lines: count them from the text.
        let start = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(0);
        let after_cr = start
            .checked_sub(1)
            .and_then(|i| text.as_bytes().get(i))
            .is_some_and(|b| *b == b'\r');
        let blanks = text
            .get(start..)
            .map_or(0, |rest| leading_blank_lines(rest, after_cr));
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if header_seen {
            for _ in 0..blanks {
                number += 1;
                sheet.rows.push(SheetRow {
                    number,
                    cells: Vec::new(),
                });
            }
            number += 1;
            sheet.rows.push(SheetRow { number, cells });
        } else {
            number += blanks + 1;
            if cells.iter().all(|c| c.trim().is_empty()) {
                // Blank rows above the header are not data.
            } else {
                sheet.headers = header_cells(&cells);
                sheet.header_row = number;
                header_seen = true;
            }
        }
    }
    Ok(sheet)
}

/// The empty lines at the start of `rest`, counting `\r\n`, `\r` and `\n` as one line end
/// each; `after_cr` when `rest` follows a `\r` whose `\n` (if any) belongs to the line before.
fn leading_blank_lines(rest: &str, after_cr: bool) -> usize {
    let mut ends = rest
        .bytes()
        .take_while(|b| *b == b'\r' || *b == b'\n')
        .peekable();
    if after_cr {
        ends.next_if_eq(&b'\n');
    }
    let mut count = 0;
    while let Some(b) = ends.next() {
        if b == b'\r' {
            ends.next_if_eq(&b'\n');
        }
        count += 1;
    }
    count
}

fn header_cells(cells: &[String]) -> Vec<Option<String>> {
    cells
        .iter()
        .map(|c| {
            let h = c.trim_start_matches('\u{feff}').trim();
            (!h.is_empty()).then(|| h.to_owned())
        })
        .collect()
}

fn read_xlsx(path: &Path, wanted: Option<&str>) -> Result<Sheet, ImportError> {
    let unreadable = |reason: String| ImportError::Read {
        path: path.to_owned(),
        reason,
    };
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(path)
        .map_err(|e: calamine::XlsxError| unreadable(format!("not a readable XLSX file: {e}")))?;
    let worksheets: Vec<&calamine::Sheet> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == calamine::SheetType::WorkSheet)
        .collect();
    let name = match wanted {
        Some(w) => worksheets
            .iter()
            .find(|s| s.name == w)
            .map(|s| s.name.clone())
            .ok_or_else(|| {
                let names: Vec<String> =
                    worksheets.iter().map(|s| format!("{:?}", s.name)).collect();
                ImportError::Format(format!(
                    "{}: no worksheet named {w:?}; it has {}",
                    path.display(),
                    names.join(", ")
                ))
            })?,
        None => worksheets
            .iter()
            .find(|s| s.visible == calamine::SheetVisible::Visible)
            .or_else(|| worksheets.first())
            .map(|s| s.name.clone())
            .ok_or_else(|| {
                ImportError::Format(format!("{}: the workbook has no worksheet", path.display()))
            })?,
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| unreadable(format!("worksheet {name:?}: {e}")))?;
    let mut sheet = sheet_from_rows(
        range.start().map_or(0, |(row, _)| row),
        range
            .rows()
            .map(|cells| cells.iter().map(cell_text).collect()),
    );
    sheet.notes.insert(0, format!("reading worksheet {name:?}"));
    Ok(sheet)
}

/// A sheet from rows of cell texts, the first of them the header, `first_row` (0-based) the
/// worksheet row it sits on.
pub fn sheet_from_rows(first_row: u32, rows: impl Iterator<Item = Vec<String>>) -> Sheet {
    let mut sheet = Sheet::default();
    let base = usize::try_from(first_row).unwrap_or(usize::MAX);
    for (i, cells) in rows.enumerate() {
        let number = base.saturating_add(i).saturating_add(1);
        if i == 0 {
            sheet.headers = header_cells(&cells);
            sheet.header_row = number;
        } else {
            sheet.rows.push(SheetRow { number, cells });
        }
    }
    sheet
}

/// The text of a worksheet cell, as the importer passes it on: text as is; whole numbers
/// without `.0` and other numbers as their shortest decimal; dates as `YYYY-MM-DD` (with
/// ` HH:MM:SS` when the cell holds a time of day too); errors as Excel shows them (`#N/A`).
pub fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            match chrono::NaiveDate::from_ymd_opt(y.into(), mo.into(), d.into()) {
                Some(date) if (h, mi, s, ms) == (0, 0, 0, 0) => date.format("%Y-%m-%d").to_string(),
                Some(date) => format!("{} {h:02}:{mi:02}:{s:02}", date.format("%Y-%m-%d")),
                // Excel's 1900-02-29, which never was.
                None => number_text(dt.as_f64()),
            }
        }
        Data::DateTime(dt) => number_text(dt.as_f64()),
        Data::DateTimeIso(s) => iso_date_text(s),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
    }
}

/// Shortest decimal text that reads back as the same number; Rust's `Display` for `f64`
/// never uses an exponent and writes whole numbers without `.0`.
pub fn number_text(f: f64) -> String {
    if f == 0.0 {
        // Also -0.0, which would print as "-0".
        "0".to_owned()
    } else {
        format!("{f}")
    }
}

fn iso_date_text(s: &str) -> String {
    match chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        Ok(dt) if dt.time() == chrono::NaiveTime::MIN => dt.date().format("%Y-%m-%d").to_string(),
        _ => s.to_owned(),
    }
}

/// What the header row says, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderCheck {
    /// Headers that name no field; passed through (the normalizer warns `unknown_field`).
    pub unknown: Vec<String>,
    /// 1-based numbers of columns that hold data under a blank header; their cells are ignored.
    pub unnamed_columns: Vec<usize>,
}

/// Checks the header row: it exists, no header text appears twice, and at least one header
/// names a field (otherwise the first row is most likely not the header, or the text was
/// decoded wrongly).
pub fn check_headers(sheet: &Sheet) -> Result<HeaderCheck, ImportError> {
    let named: Vec<(usize, &str)> = sheet
        .headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.as_deref().map(|h| (i, h)))
        .collect();
    if named.is_empty() {
        return Err(ImportError::Format(
            "the file holds no header row: the first row must name the columns (双公示 item \
             names such as 行政相对人名称, column codes such as CF_XDR_MC, or penex field names)"
                .into(),
        ));
    }
    for (n, (i, h)) in named.iter().enumerate() {
        if let Some((j, _)) = named.iter().skip(n + 1).find(|(_, g)| g == h) {
            return Err(ImportError::Format(format!(
                "the header {h:?} appears twice (columns {} and {}); each column needs its own \
                 header",
                column_name(*i),
                column_name(*j)
            )));
        }
    }
    if !named.iter().any(|(_, h)| field_for_header(h).is_some()) {
        let shown: Vec<String> = named
            .iter()
            .take(5)
            .map(|(_, h)| format!("{h:?}"))
            .collect();
        return Err(ImportError::Format(format!(
            "none of the headers in row {} ({}{}) is a 双公示 item name, column code or penex \
             field name; the first row must be the header row (remove title rows above it)",
            sheet.header_row,
            shown.join(", "),
            if named.len() > 5 { ", …" } else { "" }
        )));
    }
    let unknown = named
        .iter()
        .filter(|(_, h)| field_for_header(h).is_none())
        .map(|(_, h)| (*h).to_owned())
        .collect();
    let width = sheet.headers.len();
    let mut unnamed_columns: Vec<usize> = Vec::new();
    for row in &sheet.rows {
        for (i, cell) in row.cells.iter().enumerate() {
            let unnamed = i >= width || sheet.headers.get(i).is_some_and(Option::is_none);
            if unnamed && !cell.trim().is_empty() && !unnamed_columns.contains(&(i + 1)) {
                unnamed_columns.push(i + 1);
            }
        }
    }
    unnamed_columns.sort_unstable();
    Ok(HeaderCheck {
        unknown,
        unnamed_columns,
    })
}

/// A spreadsheet column name from a 0-based index: 0 → A, 25 → Z, 26 → AA.
pub fn column_name(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// A data row as the flat JSON object a push would carry: `{header: cell text}` for every
/// non-blank cell under a header, in column order; `None` when the row is blank.
pub fn row_object(headers: &[Option<String>], cells: &[String]) -> Option<Map<String, Value>> {
    let mut object = Map::new();
    for (header, cell) in headers.iter().zip(cells) {
        if let Some(h) = header
            && !cell.trim().is_empty()
        {
            object.insert(h.clone(), Value::String(cell.clone()));
        }
    }
    (!object.is_empty()).then_some(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn utf8_with_or_without_bom_and_gb18030_decode() {
        let text = "行政相对人名称,CF_WSH\n张三,1\n";
        let (plain, enc) = decode_text(text.as_bytes()).unwrap();
        assert_eq!((plain.as_str(), enc), (text, TextEncoding::Utf8));
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(decode_text(&bom).unwrap().0, text);
        let (gbk, _, _) = encoding_rs::GB18030.encode(text);
        assert_ne!(gbk.as_ref(), text.as_bytes());
        assert_eq!(
            decode_text(&gbk).unwrap(),
            (text.to_owned(), TextEncoding::Gb18030)
        );
        assert_eq!(decode_text(&[0xFF, 0xFE, b'a', 0]), Err(DecodeError::Utf16));
        // 0xFF is neither UTF-8 nor GB18030.
        assert_eq!(
            decode_text(b"ab\xFF"),
            Err(DecodeError::Unknown { offset: 2 })
        );
    }

    #[test]
    fn csv_rows_count_records_and_blank_lines_like_a_spreadsheet() {
        let text = "\u{feff}CF_XDR_MC, CF_WSH ,\n\na,\"multi\nline\"\n,,\n\nb,2\n";
        let sheet = parse_csv(text).unwrap();
        assert_eq!(
            sheet.headers,
            vec![Some("CF_XDR_MC".into()), Some("CF_WSH".into()), None]
        );
        assert_eq!(sheet.header_row, 1);
        let numbers: Vec<usize> = sheet.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [2, 3, 4, 5, 6]);
        assert!(sheet.rows[0].cells.is_empty());
        assert_eq!(sheet.rows[1].cells, texts(&["a", "multi\nline"]));
        assert_eq!(sheet.rows[4].cells, texts(&["b", "2"]));
        let crlf = parse_csv("CF_WSH\r\n1\r\n\r\n2\r\n\r\n").unwrap();
        let cr = parse_csv("CF_WSH\r1\r\r2").unwrap();
        assert_eq!(
            cr.rows.iter().map(|r| r.number).collect::<Vec<_>>(),
            [2, 3, 4]
        );
        let numbers: Vec<usize> = crlf.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [2, 3, 4]);
        let late = parse_csv("\n\nCF_WSH\n1\n").unwrap();
        assert_eq!((late.header_row, late.rows[0].number), (3, 4));
    }

    #[test]
    fn cells_become_text_as_a_spreadsheet_shows_them() {
        use calamine::{CellErrorType, ExcelDateTime, ExcelDateTimeType};
        let date =
            |v: f64| Data::DateTime(ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false));
        let cases = [
            (Data::Empty, ""),
            (Data::String(" 张三 ".into()), " 张三 "),
            (Data::Int(42), "42"),
            (Data::Float(2.0), "2"),
            (Data::Float(0.2), "0.2"),
            (Data::Float(-0.0), "0"),
            (Data::Float(1e21), "1000000000000000000000"),
            (Data::Float(0.000_001), "0.000001"),
            (Data::Bool(true), "TRUE"),
            (date(45736.0), "2025-03-20"),
            (date(45736.5), "2025-03-20 12:00:00"),
            (date(60.0), "60"),
            (
                Data::DateTimeIso("2025-03-20T00:00:00".into()),
                "2025-03-20",
            ),
            (
                Data::DateTimeIso("2025-03-20T08:30:00".into()),
                "2025-03-20T08:30:00",
            ),
            (Data::Error(CellErrorType::NA), "#N/A"),
        ];
        for (cell, want) in cases {
            assert_eq!(cell_text(&cell), want, "{cell:?}");
        }
    }

    #[test]
    fn xlsx_rows_are_numbered_from_the_worksheet_row() {
        let sheet = sheet_from_rows(
            2,
            vec![texts(&["CF_WSH", ""]), texts(&["1", ""]), texts(&["", ""])].into_iter(),
        );
        assert_eq!(sheet.header_row, 3);
        assert_eq!(sheet.headers, vec![Some("CF_WSH".into()), None]);
        assert_eq!(sheet.rows[0].number, 4);
        assert_eq!(sheet.rows[1].number, 5);
    }

    #[test]
    fn headers_are_checked() {
        let mut sheet = parse_csv("CF_WSH,备注,颜色,,CF_WSH\n").unwrap();
        let dup = check_headers(&sheet).unwrap_err().to_string();
        assert!(
            dup.contains("\"CF_WSH\" appears twice (columns A and E)"),
            "{dup}"
        );
        sheet.headers.truncate(4);
        sheet.rows.push(SheetRow {
            number: 2,
            cells: texts(&["1", "", "", "x", "", "y"]),
        });
        let check = check_headers(&sheet).unwrap();
        assert_eq!(check.unknown, ["颜色"]);
        assert_eq!(check.unnamed_columns, [4, 6]);
        let title = parse_csv("2025年行政处罚信息公示表\nCF_WSH\n").unwrap();
        let err = check_headers(&title).unwrap_err().to_string();
        assert!(err.contains("remove title rows"), "{err}");
        assert!(check_headers(&parse_csv("").unwrap()).is_err());
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }

    #[test]
    fn rows_become_flat_objects_without_blank_cells() {
        let headers = vec![Some("CF_WSH".into()), None, Some("备注".into())];
        let row = row_object(&headers, &texts(&["1", "ignored", " "])).unwrap();
        assert_eq!(Value::Object(row), serde_json::json!({"CF_WSH": "1"}));
        assert!(row_object(&headers, &texts(&["", "x", "\t"])).is_none());
        assert!(row_object(&headers, &[]).is_none());
    }

    fn header() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("行政相对人名称".to_owned()),
            Just("CF_WSH".to_owned()),
            Just("罚款金额(万元)".to_owned()),
            "[A-Za-z_\u{4e00}-\u{4e20}（）()][A-Za-z0-9_ \u{4e00}-\u{4e20}（）()]{0,10}[A-Za-z_)]",
        ]
    }

    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just(" ".to_owned()),
            "[a-z0-9 ,;\"'\n\r\t，。、\u{4e00}-\u{4e40}〔〕]{0,16}",
        ]
    }

    fn records() -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
        prop::collection::btree_set(header(), 1..6).prop_flat_map(|headers| {
            let headers: Vec<String> = headers.into_iter().collect();
            let width = headers.len();
            (
                Just(headers),
                prop::collection::vec(prop::collection::vec(cell(), width), 0..8),
            )
        })
    }

    proptest! {
        #[test]
        fn csv_written_from_records_reads_back_as_the_same_objects(
            (headers, rows) in records(),
            bom in any::<bool>(),
            crlf in any::<bool>(),
        ) {
            let mut writer = csv::WriterBuilder::new()
                .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
                .from_writer(Vec::new());
            writer.write_record(&headers).unwrap();
            for row in &rows {
                writer.write_record(row).unwrap();
            }
            let mut bytes = if bom { vec![0xEF, 0xBB, 0xBF] } else { Vec::new() };
            bytes.extend(writer.into_inner().unwrap());

            let (text, _) = decode_text(&bytes).unwrap();
            let sheet = parse_csv(&text).unwrap();
            let wanted_headers: Vec<Option<String>> =
                headers.iter().map(|h| Some(h.trim().to_owned())).collect();
            prop_assert_eq!(&sheet.headers, &wanted_headers);
            prop_assert_eq!(sheet.rows.len(), rows.len());
            for (i, (got, row)) in sheet.rows.iter().zip(&rows).enumerate() {
                prop_assert_eq!(got.number, i + 2);
                let expected: Map<String, Value> = headers
                    .iter()
                    .zip(row)
                    .filter(|(_, v)| !v.trim().is_empty())
                    .map(|(h, v)| (h.trim().to_owned(), Value::String(v.clone())))
                    .collect();
                let object = row_object(&sheet.headers, &got.cells);
                prop_assert_eq!(object, (!expected.is_empty()).then_some(expected));
            }
        }
    }
}
