//! `penex catalog check FILE`: how a unit's file of penalty records would sit in the
//! violation-type catalogue, before it is pushed — the coverage, how the types were matched, and
//! the texts that would not map (with their legal bases), which count across parties only by
//! their exact text.
//!
//! Reads CSV, XLSX (the same header rules as `penex import`: 双公示 item names, column codes or
//! penex field names) and JSON lines (one record per line, flat or nested keys alike). Touches no
//! database and writes nothing.

use super::ImportError;
use super::sheet;
use crate::domain::party::Party;
use crate::domain::registry::Registry;
use crate::normalize::fields::{Field, field_for_header};
use crate::normalize::text::{fold_code, fold_name};
use crate::normalize::violation::{Catalog, MatchedBy};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// What the check reads of one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckRow {
    /// Row (spreadsheet row number) or line number.
    pub number: usize,
    /// 违法行为类型.
    pub violation_type: String,
    /// 处罚依据.
    pub legal_basis: String,
    /// 处罚机关 name.
    pub authority_name: String,
    /// 处罚机关 统一社会信用代码.
    pub authority_uscc: String,
    /// 数据来源单位 name.
    pub source_name: String,
    /// 数据来源单位 统一社会信用代码.
    pub source_uscc: String,
    /// Where the violation happened (GB/T 2260).
    pub place_division: String,
}

impl CheckRow {
    fn set(&mut self, field: Field, value: &str) {
        let slot = match field {
            Field::ViolationType => &mut self.violation_type,
            Field::LegalBasis => &mut self.legal_basis,
            Field::AuthorityName => &mut self.authority_name,
            Field::AuthorityUscc => &mut self.authority_uscc,
            Field::SourceName => &mut self.source_name,
            Field::SourceUscc => &mut self.source_uscc,
            Field::PlaceDivision => &mut self.place_division,
            _ => return,
        };
        value.clone_into(slot);
    }
}

/// Reads the rows of a CSV, XLSX or JSON-lines file (`.jsonl`, `.ndjson`, `.json` with one
/// object per line).
pub fn read_rows(path: &Path, sheet_name: Option<&str>) -> Result<Vec<CheckRow>, ImportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if matches!(ext.as_str(), "jsonl" | "ndjson" | "json") {
        let text = std::fs::read_to_string(path).map_err(|e| ImportError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(line).map_err(|e| {
                ImportError::Format(format!(
                    "{}, line {}: not a JSON object ({e}); expected one record per line",
                    path.display(),
                    i + 1
                ))
            })?;
            // A line is a record, or a push body (`{"records": [...]}`) of several.
            let records = match value.get("records").and_then(Value::as_array) {
                Some(list) => list.iter().collect(),
                None => vec![&value],
            };
            for record in records {
                let mut row = CheckRow {
                    number: i + 1,
                    ..CheckRow::default()
                };
                collect(record, "", &mut row);
                rows.push(row);
            }
        }
        return Ok(rows);
    }
    let sheet = sheet::read_file(path, sheet_name)?;
    sheet::check_headers(&sheet)?;
    let fields: Vec<Option<Field>> = sheet
        .headers
        .iter()
        .map(|h| h.as_deref().and_then(field_for_header))
        .collect();
    Ok(sheet
        .rows
        .iter()
        .filter(|r| r.cells.iter().any(|c| !c.trim().is_empty()))
        .map(|r| {
            let mut row = CheckRow {
                number: r.number,
                ..CheckRow::default()
            };
            for (field, cell) in fields.iter().zip(&r.cells) {
                if let Some(f) = field {
                    row.set(*f, cell);
                }
            }
            row
        })
        .collect())
}

/// Reads the fields of a JSON record, flat (`CF_WFXW`, `违法行为类型`) or nested
/// (`{"authority": {"name": …}}`); a key inside a wrapper object (`{"record": {"CF_WFXW": …}}`)
/// that names no field with its path is read by its own name.
fn collect(value: &Value, prefix: &str, row: &mut CheckRow) {
    let Some(map) = value.as_object() else {
        return;
    };
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(_) => collect(v, &key, row),
            Value::String(s) => {
                if let Some(f) = field_for_header(&key).or_else(|| field_for_header(k)) {
                    row.set(f, s);
                }
            }
            _ => {}
        }
    }
}

/// The party of a row's deciding authority: `given`, else the registered unit named by the
/// authority's (then the data source's) USCC or name, else the province digits of those USCCs
/// (positions 3–4 are the division code, GB 32100: 31 Shanghai, 32 Jiangsu, 33 Zhejiang, 34
/// Anhui), else the place of the violation (the authority of the place handles it, art. 22).
pub fn party_of(row: &CheckRow, registry: &Registry, given: Option<Party>) -> Option<Party> {
    if given.is_some() {
        return given;
    }
    let unit = |name: &str, uscc: &str| {
        registry
            .by_uscc(&fold_code(uscc))
            .or_else(|| registry.by_name(&fold_name(name)))
            .map(|u| u.party)
    };
    let by_uscc = |uscc: &str| {
        let uscc = fold_code(uscc);
        let province: String = uscc.chars().skip(2).take(2).collect();
        Party::ALL
            .into_iter()
            .find(|p| uscc.chars().count() == 18 && p.division_prefix() == province)
    };
    unit(&row.authority_name, &row.authority_uscc)
        .or_else(|| unit(&row.source_name, &row.source_uscc))
        .or_else(|| by_uscc(&row.authority_uscc))
        .or_else(|| by_uscc(&row.source_uscc))
        .or_else(|| Party::from_division(row.place_division.trim()))
}

/// An unmapped text, with how often it came and the legal bases it came with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unmapped {
    /// How often.
    pub count: usize,
    /// The distinct 处罚依据 texts it came with, with their counts.
    pub legal_bases: BTreeMap<String, usize>,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Records read.
    pub rows: usize,
    /// Records without a 违法行为类型.
    pub without_type: usize,
    /// Records whose party could not be told (no `--party`, authority not registered and no
    /// USCC of the region).
    pub without_party: usize,
    /// Records mapped to a catalogue type.
    pub mapped: usize,
    /// Mapped records per way of matching.
    pub by_matched: BTreeMap<MatchedBy, usize>,
    /// Mapped records per catalogue code.
    pub by_code: BTreeMap<String, usize>,
    /// Unmapped texts (folded) and what came with them.
    pub unmapped: BTreeMap<String, Unmapped>,
}

/// Places every row in the catalogue.
pub fn check(
    catalog: &Catalog,
    registry: &Registry,
    rows: &[CheckRow],
    party: Option<Party>,
) -> CheckReport {
    let mut r = CheckReport {
        rows: rows.len(),
        ..CheckReport::default()
    };
    for row in rows {
        if row.violation_type.trim().is_empty() {
            r.without_type += 1;
            continue;
        }
        let Some(p) = party_of(row, registry, party) else {
            r.without_party += 1;
            continue;
        };
        match catalog.classify(p, &row.violation_type, &row.legal_basis) {
            Some(c) => {
                r.mapped += 1;
                *r.by_matched.entry(c.matched_by).or_insert(0) += 1;
                *r.by_code.entry(c.violation.code.clone()).or_insert(0) += 1;
            }
            None => {
                let u = r
                    .unmapped
                    .entry(fold_name(&row.violation_type))
                    .or_default();
                u.count += 1;
                *u.legal_bases
                    .entry(fold_name(&row.legal_basis))
                    .or_insert(0) += 1;
            }
        }
    }
    r
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "–".into();
    }
    format!("{:.1} %", part as f64 * 100.0 / whole as f64)
}

impl CheckReport {
    /// The records whose type the check could judge (a type and a party).
    pub fn judged(&self) -> usize {
        self.rows - self.without_type - self.without_party
    }

    /// The report as the command prints it.
    pub fn render(&self, catalog: &Catalog) -> String {
        let mut out = String::new();
        let judged = self.judged();
        let _ = writeln!(
            out,
            "records: {}  mapped: {} of {} ({})",
            self.rows,
            self.mapped,
            judged,
            percent(self.mapped, judged)
        );
        if self.without_type > 0 {
            let _ = writeln!(out, "without a violation type: {}", self.without_type);
        }
        if self.without_party > 0 {
            let _ = writeln!(
                out,
                "party unknown (authority not registered, no USCC of the region; give --party): \
                 {}",
                self.without_party
            );
        }
        let _ = writeln!(out, "\nmatched by:");
        for m in MatchedBy::ALL {
            let n = self.by_matched.get(&m).copied().unwrap_or(0);
            let _ = writeln!(out, "  {:<14} {n:>7}  {}", m.as_str(), percent(n, judged));
        }
        let _ = writeln!(out, "\ntypes:");
        let mut codes: Vec<(&String, &usize)> = self.by_code.iter().collect();
        codes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (code, n) in codes {
            let name = catalog
                .get(code)
                .map(|t| t.name.as_str())
                .unwrap_or_default();
            let _ = writeln!(out, "  {n:>7}  {code}  {name}");
        }
        let unmapped: usize = self.unmapped.values().map(|u| u.count).sum();
        let _ = writeln!(
            out,
            "\nunmapped: {unmapped} records, {} distinct texts (they count across parties only \
             by their exact text):",
            self.unmapped.len()
        );
        let mut texts: Vec<(&String, &Unmapped)> = self.unmapped.iter().collect();
        texts.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        for (text, u) in texts {
            let _ = writeln!(out, "  {:>7}  {text}", u.count);
            for (basis, n) in &u.legal_bases {
                let shown = if basis.is_empty() {
                    "(no legal basis)"
                } else {
                    basis
                };
                let _ = writeln!(out, "           {n:>5} × {shown}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        let units =
            crate::domain::registry::parse_units_toml(include_str!("../../config/units.toml"))
                .unwrap();
        Registry::new(units, fold_name).unwrap()
    }

    #[test]
    fn the_party_comes_from_the_flag_the_registry_or_the_uscc() {
        let reg = registry();
        let row = |name: &str, uscc: &str| CheckRow {
            authority_name: name.into(),
            authority_uscc: uscc.into(),
            ..CheckRow::default()
        };
        assert_eq!(
            party_of(&row("某某", ""), &reg, Some(Party::Anhui)),
            Some(Party::Anhui)
        );
        // An unregistered street government of Zhejiang: its USCC's division digits say so.
        assert_eq!(
            party_of(&row("某某街道办事处", "11330102002501234X"), &reg, None),
            Some(Party::Zhejiang)
        );
        assert_eq!(party_of(&row("某某", ""), &reg, None), None);
        let placed = CheckRow {
            place_division: "340104".into(),
            ..row("某某", "")
        };
        assert_eq!(party_of(&placed, &reg, None), Some(Party::Anhui));
        assert_eq!(
            party_of(&row("某某", "11110102002501234X"), &reg, None),
            None
        );
    }

    #[test]
    fn json_lines_read_flat_and_nested_keys() {
        let mut a = CheckRow::default();
        collect(
            &serde_json::json!({"CF_WFXW": "跨门营业", "处罚依据": "《上海市市容环境卫生管理条例》第二十二条"}),
            "",
            &mut a,
        );
        assert_eq!(a.violation_type, "跨门营业");
        assert!(a.legal_basis.contains("第二十二条"));
        let mut b = CheckRow::default();
        collect(
            &serde_json::json!({"violation_type": "x", "authority": {"name": "上海市城市管理行政执法局"}}),
            "",
            &mut b,
        );
        assert_eq!(b.violation_type, "x");
        assert_eq!(b.authority_name, "上海市城市管理行政执法局");
        // A wrapper (the simulator's and many exports' `{"record": {...}}`).
        let mut c = CheckRow::default();
        collect(
            &serde_json::json!({"seq": 1, "record": {"CF_WFXW": "跨门营业", "CF_YJ": "《城乡规划法》第六十四条"}}),
            "",
            &mut c,
        );
        assert_eq!(c.violation_type, "跨门营业");
        assert!(c.legal_basis.contains("第六十四条"));
    }

    #[test]
    fn the_report_counts_mapped_and_unmapped_texts() {
        let catalog = Catalog::built_in().unwrap();
        let reg = registry();
        let rows: Vec<CheckRow> = [
            ("擅自倾倒建筑垃圾", ""),
            ("违反动物防疫规定", "《动物防疫法》第九十二条"),
            ("违反动物防疫规定", ""),
            ("", ""),
        ]
        .iter()
        .enumerate()
        .map(|(i, (t, b))| CheckRow {
            number: i + 2,
            violation_type: (*t).into(),
            legal_basis: (*b).into(),
            ..CheckRow::default()
        })
        .collect();
        let r = check(&catalog, &reg, &rows, Some(Party::Shanghai));
        assert_eq!((r.rows, r.without_type, r.mapped), (4, 1, 1));
        let u = r.unmapped.get("违反动物防疫规定").unwrap();
        assert_eq!(u.count, 2);
        assert_eq!(u.legal_bases.len(), 2);
        let text = r.render(&catalog);
        assert!(text.contains("mapped: 1 of 3 (33.3 %)"), "{text}");
        assert!(text.contains("违反动物防疫规定"), "{text}");
    }
}
