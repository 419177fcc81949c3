//! The short version of the failpoints run (`cargo run --release --example proof -- --only
//! failpoints` tries every point × action × ordinal; docs/RELIABILITY.md): a seeded sample of
//! cases covering a push, a revocation, a repair and the outbox, each with an injected error
//! and an abort, through the real binary on the test backend. Every sampled point must fire and
//! the checker must hold after every case. And the list of points cannot rot: every name in
//! `store::failpoint::POINTS` occurs once in `src/`, and every point in `src/` is in the list.

use crate::common::{TestDb, repo};
use crate::proof::failpoints as runner;
use penex::store::failpoint::POINTS;
use runner::{Action, Case, Plan};
use std::collections::BTreeMap;
use std::time::Duration;

/// The string literals of `text` that name a failpoint (`"push.…"`, `"revoke.…"`, …).
fn point_literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in text.split('"').skip(1).step_by(2) {
        let Some((op, step)) = part.split_once('.') else {
            continue;
        };
        if ["push", "revoke", "repair", "outbox"].contains(&op)
            && !step.is_empty()
            && step.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        {
            out.push(part.to_owned());
        }
    }
    out
}

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a failing test is the point"
)]
fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_point_is_in_the_source_once_and_in_the_list() {
    let src = repo().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut uses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &files {
        if f.ends_with("store/failpoint.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        // Only the points: `hit("…")`, whatever module path precedes it.
        for (i, chunk) in text.split("failpoint::hit(").enumerate() {
            if i == 0 {
                continue;
            }
            let literal = point_literals(chunk).into_iter().next();
            let first = chunk.split(')').next().unwrap_or_default();
            let name = literal.filter(|l| first.contains(l.as_str()));
            let name = name.unwrap_or_else(|| {
                panic!(
                    "{}: a failpoint named by something other than a literal: {first}",
                    f.display()
                )
            });
            uses.entry(name)
                .or_default()
                .push(f.strip_prefix(&src).unwrap().display().to_string());
        }
    }
    for p in POINTS {
        let at = uses.get(*p).cloned().unwrap_or_default();
        assert_eq!(at.len(), 1, "{p} must occur once in src/, found in {at:?}");
    }
    for name in uses.keys() {
        assert!(
            POINTS.contains(&name.as_str()),
            "{name} is used in src/ but not listed in store::failpoint::POINTS"
        );
    }
    let distinct: std::collections::BTreeSet<&&str> = POINTS.iter().collect();
    assert_eq!(distinct.len(), POINTS.len(), "a name is listed twice");
    // Each of the four operations has its points.
    for op in ["push.", "revoke.", "repair.", "outbox."] {
        assert!(
            POINTS.iter().filter(|p| p.starts_with(op)).count() >= 5,
            "{op}"
        );
    }
}

#[test]
fn the_test_build_has_failpoints() {
    // `cargo test` unifies the dev-dependency's `failpoints` feature; `cargo build --release
    // --bin penex` does not (docs/RELIABILITY.md shows the `cargo tree` that says so).
    assert!(fail::has_failpoints());
}

/// The sample: per operation, points every run of the script reaches at least twice (the
/// outbox's many more times), two cases each with the actions alternating.
#[expect(
    clippy::unwrap_used,
    reason = "test helper: a failing test is the point"
)]
fn sample(seed: u64) -> Vec<Case> {
    let groups: [(&[&'static str], u64); 4] = [
        (
            &[
                "push.find_idempotent",
                "push.load_records",
                "push.item",
                "push.insert_submissions",
                "push.insert_records",
                "push.insert_versions",
                "push.conflicts",
                "push.flags",
                "push.audit",
                "push.write_events",
                "push.insert_idempotent",
                "push.commit",
                "push.committed",
            ],
            2,
        ),
        (
            &[
                "revoke.find",
                "revoke.update",
                "revoke.audit",
                "revoke.event",
                "revoke.commit",
                "revoke.committed",
            ],
            2,
        ),
        (
            &[
                "repair.basis",
                "repair.find",
                "repair.mark",
                "repair.audit",
                "repair.event",
                "repair.commit",
                "repair.committed",
            ],
            2,
        ),
        (
            &[
                "outbox.lease_cursor",
                "outbox.read_round",
                "outbox.leased",
                "outbox.commit_round",
                "outbox.insert_exceptions",
                "outbox.marked",
            ],
            3,
        ),
    ];
    let mut rng = penex::sim::rng::Rng::new(seed);
    let mut cases = Vec::new();
    for (points, ordinals) in groups {
        for action in Action::ALL {
            let point = *rng.pick(points).unwrap();
            let ordinal = u32::try_from(1 + rng.below(ordinals)).unwrap();
            cases.push(Case {
                point,
                action,
                ordinal,
            });
        }
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampled_points_fire_and_every_promise_holds() {
    penex::tls::config::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let seed = 20_261_207;
    let cases = sample(seed);
    let outcome = runner::run(runner::Options {
        bin: env!("CARGO_BIN_EXE_penex").into(),
        data_dir: dir.path().to_owned(),
        database_url: db.url.clone(),
        redis_url: std::env::var("PENEX_TEST_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty()),
        plan: Plan::Cases(cases.clone()),
        ready: Duration::from_secs(90),
    })
    .await
    .unwrap();
    let report = outcome.summary().join("\n");
    assert_eq!(outcome.tried, cases.len(), "{report}");
    assert!(
        outcome.not_fired.is_empty(),
        "seed {seed}: points that did not fire: {:?}\n{report}",
        outcome.not_fired
    );
    assert!(outcome.held(), "seed {seed}:\n{report}");
    assert!(
        outcome.last_checks.iter().all(|c| c.held) && outcome.last_checks.len() >= 9,
        "{report}"
    );
    assert!(
        outcome.aborts >= 4,
        "every abort case restarted a server: {report}"
    );
    assert!(
        outcome.unavailable >= 1,
        "an injected error was answered 503: {report}"
    );
    eprintln!("{report}\n{:.0} s", outcome.secs);
}
