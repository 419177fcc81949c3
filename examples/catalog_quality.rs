//! How well the violation-type catalogue places real-world records: the mapped share and the
//! share mapped right, overall, per party and per way of matching, and every record placed wrong
//! or missed, on the corpus in `tests/fixtures/violation_corpus.tsv` (texts and legal bases as
//! the parties' units write them, written from the statutes and their power lists).
//!
//! `cargo run --example catalog_quality [-- CATALOG.toml [CORPUS.tsv]]`

use penex::normalize::Catalog;
use penex::normalize::violation_corpus;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let catalog = match args.first() {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            Catalog::parse(&text).map_err(|e| format!("{path}: {e}"))?
        }
        None => Catalog::built_in().map_err(|e| e.to_string())?,
    };
    let corpus = match args.get(1) {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?,
        None => violation_corpus::BUILT_IN.to_owned(),
    };
    let rows = violation_corpus::parse(&corpus)?;
    println!(
        "catalogue: {} types, {} statutes; corpus: {} records",
        catalog.types().len(),
        catalog.statutes().len(),
        rows.len()
    );
    print!("{}", violation_corpus::score(&catalog, &rows).render());
    Ok(())
}
