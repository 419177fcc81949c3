//! Fuzzing of what penex reads from clients (issue #17's fuzzing part): the record normalizer
//! with its JSON field mapping, the legal-basis parser, dates, amounts, identifiers, categories,
//! the violation-type classifier and name folding, each fed proptest-generated hostile input
//! (`examples/support/fuzz.rs`). Prints one line per target — cases, panics, cases per second —
//! and exits 1 on any panic, printing the first one with its input.
//!
//! Run: `cargo run --release --example fuzz -- --cases 120000 --seed 1` (cases per target). CI
//! runs a short version (`tests/it/fuzz.rs`); the figures of the long one are in
//! docs/RELIABILITY.md.

#[path = "support/fuzz.rs"]
mod fuzz;
#[path = "../benches/support/records.rs"]
#[expect(dead_code, reason = "only the record builders are used here")]
mod records;

fn main() {
    let mut cases: u64 = 120_000;
    let mut seed: u64 = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u64>().ok());
        match (a.as_str(), value) {
            ("--cases", Some(v)) => cases = v,
            ("--seed", Some(v)) => seed = v,
            _ => {
                eprintln!("usage: fuzz [--cases N] [--seed S]");
                std::process::exit(2);
            }
        }
    }
    println!("fuzzing with seed {seed}, {cases} case(s) per target");
    let outcomes = fuzz::run_all(cases, seed);
    print!("{}", table(&outcomes));
    let panics: u64 = outcomes.iter().map(|o| o.panics).sum();
    for o in outcomes.iter().filter(|o| o.panics > 0) {
        println!(
            "\n{}: {}",
            o.target,
            o.first_panic.clone().unwrap_or_default()
        );
    }
    let total: u64 = outcomes.iter().map(|o| o.cases).sum();
    println!("{total} case(s), {panics} panic(s)");
    if panics > 0 {
        std::process::exit(1);
    }
}

/// One line per target.
fn table(outcomes: &[fuzz::Outcome]) -> String {
    let mut s = format!(
        "{:<46} {:>10} {:>7} {:>12}\n",
        "target", "cases", "panics", "cases/s"
    );
    for o in outcomes {
        s.push_str(&format!(
            "{:<46} {:>10} {:>7} {:>12.0}\n",
            o.target,
            o.cases,
            o.panics,
            o.cases as f64 / o.secs.max(1e-9)
        ));
    }
    s
}
