//! Scoring the violation-type catalogue against a corpus of real-world records: violation texts
//! and legal bases as the four parties' units write them, each with the type it is by law
//! (`tests/fixtures/violation_corpus.tsv`, written from the statutes and the parties' power
//! lists, never from the simulator). The unit test holds the bar; `cargo run --example
//! catalog_quality` prints the figures.
//!
//! Pure: takes the corpus text and a catalogue.

use super::violation::{Catalog, MatchedBy};
use crate::domain::party::Party;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The built-in corpus.
pub const BUILT_IN: &str = include_str!("../../tests/fixtures/violation_corpus.tsv");

/// One record of the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusRow {
    /// Line number in the file.
    pub line: usize,
    /// The deciding authority's party.
    pub party: Party,
    /// 违法行为类型 as written.
    pub violation_type: String,
    /// 处罚依据 as written (may be empty).
    pub legal_basis: String,
    /// The type it is by law; `None` (`-` in the file): no type of the catalogue fits.
    pub expected: Option<String>,
}

/// Reads the corpus: a header line, then `party, violation_type, legal_basis, expected_code,
/// note` separated by tabs.
pub fn parse(text: &str) -> Result<Vec<CorpusRow>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [party, violation_type, legal_basis, expected, ..] = cols.as_slice() else {
            return Err(format!("line {}: expected 5 tab-separated columns", i + 1));
        };
        let party = party
            .trim()
            .parse::<Party>()
            .map_err(|_| format!("line {}: party {party:?}", i + 1))?;
        let expected = expected.trim();
        out.push(CorpusRow {
            line: i + 1,
            party,
            violation_type: (*violation_type).to_owned(),
            legal_basis: (*legal_basis).to_owned(),
            expected: (expected != "-" && !expected.is_empty()).then(|| expected.to_owned()),
        });
    }
    Ok(out)
}

/// Counts of one slice of the corpus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records.
    pub rows: usize,
    /// Mapped to some type.
    pub mapped: usize,
    /// Mapped to the type the corpus names.
    pub correct: usize,
}

impl Tally {
    /// Share of records mapped (0 … 1).
    pub fn mapped_share(&self) -> f64 {
        ratio(self.mapped, self.rows)
    }

    /// Share of mapped records mapped right (0 … 1).
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.mapped)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// The catalogue's score on a corpus.
#[derive(Debug, Clone, Default)]
pub struct Score {
    /// Every record.
    pub all: Tally,
    /// Per party.
    pub per_party: BTreeMap<Party, Tally>,
    /// Mapped records per way of matching.
    pub per_matched: BTreeMap<MatchedBy, Tally>,
    /// Construction-waste records (by the corpus) placed outside the `construction_waste`
    /// group.
    pub construction_waste_outside: usize,
    /// Records mapped wrong: (row, the code given).
    pub wrong: Vec<(CorpusRow, String)>,
    /// Records left unmapped that the corpus gives a type.
    pub missed: Vec<CorpusRow>,
}

/// Classifies every record and compares with the corpus.
pub fn score(catalog: &Catalog, rows: &[CorpusRow]) -> Score {
    let mut s = Score::default();
    for row in rows {
        let got = catalog.classify(row.party, &row.violation_type, &row.legal_basis);
        let party = s.per_party.entry(row.party).or_default();
        party.rows += 1;
        s.all.rows += 1;
        let Some(got) = got else {
            if row.expected.is_some() {
                s.missed.push(row.clone());
            }
            continue;
        };
        let right = row.expected.as_deref() == Some(got.violation.code.as_str());
        let by = s.per_matched.entry(got.matched_by).or_default();
        for t in [&mut s.all, party, by] {
            t.mapped += 1;
            t.correct += usize::from(right);
        }
        by.rows += 1;
        let expected_group = row
            .expected
            .as_deref()
            .and_then(|c| catalog.get(c))
            .map(|t| t.group.as_str());
        if expected_group == Some("construction_waste")
            && got.violation.group != "construction_waste"
        {
            s.construction_waste_outside += 1;
        }
        if !right {
            s.wrong.push((row.clone(), got.violation.code.clone()));
        }
    }
    s
}

impl Score {
    /// The figures as `catalog_quality` prints them.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, name: &str, t: &Tally| {
            let _ = writeln!(
                out,
                "  {name:<14} {:>5} records  mapped {:>5.1} %  right {:>5.1} % of mapped",
                t.rows,
                t.mapped_share() * 100.0,
                t.accuracy() * 100.0
            );
        };
        line(&mut out, "all", &self.all);
        for (p, t) in &self.per_party {
            line(&mut out, p.code(), t);
        }
        let _ = writeln!(out, "matched by:");
        for (m, t) in &self.per_matched {
            line(&mut out, m.as_str(), t);
        }
        let _ = writeln!(
            out,
            "construction-waste records outside the construction_waste group: {}",
            self.construction_waste_outside
        );
        let wrong = self
            .wrong
            .iter()
            .map(|(r, got)| ("wrong ", r, format!("→ {got}, ")));
        let missed = self.missed.iter().map(|r| ("missed", r, String::new()));
        for (what, row, got) in wrong.chain(missed) {
            let _ = writeln!(
                out,
                "  {what}  line {:>3} {} {:?} [{}] {got}expected {}",
                row.line,
                row.party.code(),
                row.violation_type,
                row.legal_basis,
                row.expected.as_deref().unwrap_or("-")
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bar the issue sets for real records, held on the corpus of real-world texts.
    #[test]
    fn the_catalogue_maps_the_real_world_corpus() {
        let catalog = Catalog::built_in().unwrap();
        let rows = parse(BUILT_IN).unwrap();
        assert!(rows.len() >= 150, "only {} rows", rows.len());
        for p in Party::ALL {
            assert!(rows.iter().filter(|r| r.party == p).count() >= 30, "{p:?}");
        }
        for r in &rows {
            if let Some(code) = &r.expected {
                assert!(
                    catalog.get(code).is_some(),
                    "line {}: unknown code {code}",
                    r.line
                );
            }
        }
        let s = score(&catalog, &rows);
        let report = s.render();
        assert!(s.all.mapped_share() >= 0.95, "{report}");
        assert!(s.all.accuracy() >= 0.98, "{report}");
        assert_eq!(s.construction_waste_outside, 0, "{report}");
    }

    #[test]
    fn the_score_counts_what_it_sees() {
        let catalog = Catalog::built_in().unwrap();
        let rows = parse(
            "party\tviolation_type\tlegal_basis\texpected_code\tnote\n\
             SH\t擅自倾倒建筑垃圾\t\tconstruction_waste_dumping\tx\n\
             SH\t擅自倾倒建筑垃圾\t\tillegal_construction\tx\n\
             JS\t违反动物防疫规定\t\tillegal_construction\tx\n",
        )
        .unwrap();
        let s = score(&catalog, &rows);
        assert_eq!(
            s.all,
            Tally {
                rows: 3,
                mapped: 2,
                correct: 1
            }
        );
        assert_eq!((s.wrong.len(), s.missed.len()), (1, 1));
        assert_eq!(s.construction_waste_outside, 0);
        assert!(parse("h\nSH\tonly two").is_err());
        assert!(parse("h\nXX\ta\tb\tc\td").is_err());
    }
}
