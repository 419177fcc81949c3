//! The short version of the proof harness (`examples/proof.rs` runs it as long as asked; its
//! figures are in docs/RELIABILITY.md): the crash-and-restart loop, the connector outage and,
//! on PostgreSQL, three instances, each with a fixed seed, against the real binary; and the
//! fuzz targets, 500 hostile inputs each; and the hostile requests against a live server. The
//! backend follows the suite's: SQLite by default;
//! with `PENEX_TEST_DATABASE_URL` set, the harness's own PostgreSQL cluster and Redis (it
//! crashes them, so not the machine's).

#[path = "../../examples/support/checker.rs"]
mod checker;
#[path = "../../examples/support/connector.rs"]
mod connector;
#[path = "../../examples/support/failpoints.rs"]
pub mod failpoints;
#[path = "../../examples/support/fuzz.rs"]
mod fuzz;
#[path = "../../examples/support/proof.rs"]
#[expect(
    dead_code,
    reason = "the failpoints test samples its cases itself (tests/it/failpoints.rs)"
)]
mod harness;
#[path = "../../examples/support/hostile.rs"]
pub mod hostile;
#[path = "../../benches/support/records.rs"]
mod records;
#[path = "../../examples/support/server.rs"]
#[expect(dead_code, reason = "the example uses the rest")]
mod server;
#[path = "../../examples/support/services.rs"]
mod services;
#[path = "../../examples/support/workload.rs"]
mod workload;

use harness::{Backend, Options, Report};
use std::time::Duration;

fn options() -> Options {
    let backend = if std::env::var_os("PENEX_TEST_DATABASE_URL").is_some() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    Options {
        bin: env!("CARGO_BIN_EXE_penex").into(),
        seed: 20_261_207,
        backend,
        kills: 6,
        push_for: Duration::from_secs(12),
    }
}

fn assert_held(report: &Report) {
    eprint!("{}", report.render());
    assert!(report.held(), "{}", report.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_loop_loses_nothing_acknowledged() {
    penex::tls::config::install_default_provider();
    let report = harness::crash_loop(&options()).await.unwrap();
    assert_held(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connector_outage_delivers_every_event_once() {
    penex::tls::config::install_default_provider();
    let report = harness::connector_outage(&options()).await.unwrap();
    assert_held(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_share_one_database_cache_and_publisher() {
    penex::tls::config::install_default_provider();
    let o = options();
    if o.backend == Backend::Sqlite {
        // Several instances need PostgreSQL and Redis: the PostgreSQL run covers it.
        return;
    }
    let report = harness::instances(&o).await.unwrap();
    assert_held(&report);
}

#[test]
fn no_client_input_makes_a_normalizer_or_parser_panic() {
    let outcomes = fuzz::run_all(500, 20_261_207);
    assert_eq!(outcomes.len(), 9, "every target ran");
    for o in &outcomes {
        assert_eq!(o.cases, 500, "{}", o.target);
        assert_eq!(
            o.panics,
            0,
            "{} panicked: {}",
            o.target,
            o.first_panic.clone().unwrap_or_default()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_4xx_problems_write_nothing_and_leave_the_server_up() {
    penex::tls::config::install_default_provider();
    let report = harness::hostile_table(&options()).await.unwrap();
    for case in [
        "1 ", "2 ", "3 ", "4 ", "5 ", "6 ", "7 ", "8 ", "9 ", "10 ", "11 ", "12 ",
    ] {
        assert!(
            report.checks.iter().any(|c| c.promise.starts_with(case)),
            "case {case}did not run:\n{}",
            report.render()
        );
    }
    assert_held(&report);
}
