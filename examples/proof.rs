//! The proof harness: penex's promises tried against the real binary, by one command.
//!
//! ```sh
//! cargo build --release --bin penex --examples
//! cargo run --release --example proof -- --minutes 10            # both backends
//! cargo run --release --example proof -- --minutes 3 --backend sqlite --seed 7
//! ```
//!
//! It runs, on each backend asked for: the crash-and-restart loop (SIGKILLs of the server and,
//! on PostgreSQL, `pg_ctl restart -m immediate` of its own cluster and restarts of its own
//! Redis), the connector outage, three instances on one PostgreSQL and one Redis, the table of
//! hostile requests against a live server (once per backend), the failpoints of the write path
//! (an error or an abort at every statement of a push, a revocation, a repair and an outbox
//! claim), and the fuzzing of the client-input readers; then
//! prints per test what was tried (counts, the seed) and each promise as held or FAILED, and
//! exits 1 if any failed. docs/RELIABILITY.md has the figures of the long run.
//!
//! PostgreSQL and Redis are the harness's own (`initdb` in a temp folder; `redis-server` on a
//! free port), so they can be crashed without touching the machine's services; as root it runs
//! PostgreSQL as the `postgres` user.

#[path = "support/checker.rs"]
mod checker;
#[path = "support/connector.rs"]
mod connector;
#[path = "support/failpoints.rs"]
#[expect(
    dead_code,
    reason = "the sampled plan is CI's (tests/it/failpoints.rs)"
)]
mod failpoints;
#[path = "support/fuzz.rs"]
mod fuzz;
#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/proof.rs"]
mod proof;
#[path = "../benches/support/records.rs"]
mod records;
#[path = "support/server.rs"]
mod server;
#[path = "support/services.rs"]
mod services;
#[path = "support/workload.rs"]
mod workload;

use clap::Parser;
use proof::{Backend, Options, Report};
use std::time::{Duration, Instant};

/// The proof harness.
#[derive(Debug, Parser)]
struct Args {
    /// Roughly how long to run, in minutes: sets the number of crashes, the time the outage
    /// and instance tests push for, and the fuzz cases.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// The seed of every random choice (default: the time).
    #[arg(long)]
    seed: Option<u64>,
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Only these tests (comma-separated): crash, outage, instances, hostile, failpoints, fuzz.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The failpoints test: the most hit ordinals tried per point and action.
    #[arg(long, default_value_t = 6)]
    ordinals: u32,
    /// The penex binary [default: target/<profile>/penex].
    #[arg(long)]
    server_bin: Option<std::path::PathBuf>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> server::Res<()> {
    penex::tls::config::install_default_provider();
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1)
    });
    let backends = match args.backend.as_str() {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        "both" => vec![Backend::Sqlite, Backend::Postgres],
        other => {
            return Err(format!("--backend {other}: expected sqlite, postgres or both").into());
        }
    };
    let wants = |t: &str| args.only.is_empty() || args.only.iter().any(|o| o == t);
    let minutes = args.minutes.max(1);
    let bin = server::binary(args.server_bin.as_deref())?;
    println!(
        "penex proof harness: seed {seed}, about {minutes} min, binary {}",
        bin.display()
    );
    let started = Instant::now();
    let mut reports: Vec<Report> = Vec::new();
    let mut show = |r: Report| {
        print!("{}", r.render());
        reports.push(r);
    };
    for backend in &backends {
        let o = Options {
            bin: bin.clone(),
            seed,
            backend: *backend,
            // About 0.6 s a round in release on SQLite, 1 s on PostgreSQL (progress, the kill,
            // restart to ready).
            kills: usize::try_from(minutes * 15).unwrap_or(20).max(20),
            push_for: Duration::from_secs(minutes * 6),
        };
        if wants("crash") {
            show(proof::crash_loop(&o).await?);
        }
        if wants("outage") {
            show(proof::connector_outage(&o).await?);
        }
        if *backend == Backend::Postgres && wants("instances") {
            show(proof::instances(&o).await?);
        }
        if wants("hostile") {
            show(proof::hostile_table(&o).await?);
        }
        if wants("failpoints") {
            show(proof::failpoints(&o, args.ordinals).await?);
        }
    }
    if wants("fuzz") {
        let fuzz_started = Instant::now();
        let cases = minutes * 2_000;
        let outcomes = tokio::task::spawn_blocking(move || fuzz::run_all(cases, seed)).await?;
        let checks = outcomes
            .iter()
            .map(|o| checker::Check {
                promise: o.target,
                held: o.panics == 0,
                detail: match &o.first_panic {
                    Some(p) => format!("{} panics in {} cases, first: {p}", o.panics, o.cases),
                    None => format!("{} cases, no panic", o.cases),
                },
            })
            .collect();
        show(Report {
            test: "fuzzing of the client-input readers".into(),
            tried: vec![format!("seed {seed}, {cases} cases per target")],
            checks,
            secs: fuzz_started.elapsed().as_secs_f64(),
        });
    }
    let failed: Vec<&Report> = reports.iter().filter(|r| !r.held()).collect();
    println!(
        "\n{} tests in {:.0} s, seed {seed}: {}",
        reports.len(),
        started.elapsed().as_secs_f64(),
        if failed.is_empty() {
            "every promise held".to_owned()
        } else {
            format!(
                "FAILED: {}",
                failed
                    .iter()
                    .map(|r| r.test.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
    );
    if !failed.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
