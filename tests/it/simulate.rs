//! `penex simulate`: the real binary writes the three files (and the collaboration scripts when
//! asked) deterministically, and a simulated set pushed through a real server gets exactly the
//! statuses its truth predicts.

use crate::common;

use common::{TestApp, repo};
use penex::domain::registry::parse_units_toml;
use penex::domain::unit::Unit;
use penex::sim::collab::CollabScript;
use penex::sim::{Expected, SimOptions, SimSet, Summary, Truth, generate};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

#[expect(clippy::unwrap_used, reason = "test helper")]
fn units() -> Vec<Unit> {
    let text = std::fs::read_to_string(repo().join("config/units.toml")).unwrap();
    parse_units_toml(&text).unwrap()
}

#[expect(clippy::unwrap_used, reason = "test helper")]
fn simulate(out: &Path, data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_penex"))
        .arg("simulate")
        .args(args)
        .arg("--out")
        .arg(out)
        .env_remove("PENEX_CONFIG")
        .env("PENEX_DATA_DIR", data)
        .env("PENEX_UNITS_FILE", repo().join("config/units.toml"))
        .output()
        .unwrap()
}

#[expect(clippy::unwrap_used, reason = "test helper")]
fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn the_binary_writes_records_truth_and_summary_deterministically() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let data = tmp.path().join("data");
    for out in [&a, &b] {
        let run = simulate(out, &data, &["--records", "500", "--seed", "7"]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(String::from_utf8_lossy(&run.stderr).contains("500 push(es)"));
    }
    let run = simulate(&c, &data, &["--records", "500", "--seed", "8"]);
    assert!(run.status.success());

    let records = read(&a, "records.jsonl");
    let lines: Vec<&str> = records.lines().collect();
    assert_eq!(lines.len(), 500);
    for (i, line) in lines.iter().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["seq"], i + 1);
        assert!(v["unit"].as_str().unwrap().contains('-'));
        assert!(v["record"].as_object().is_some_and(|r| !r.is_empty()));
    }
    let truth: Truth = serde_json::from_str(&read(&a, "truth.json")).unwrap();
    assert_eq!(truth.pushes.len(), 500);
    assert_eq!((truth.seed, truth.records), (7, 500));
    assert_eq!(truth.today.to_string(), "2026-11-01");
    assert!(!truth.conflicts.is_empty() && !truth.same_day_pairs.is_empty());
    for p in &truth.pushes {
        assert!(truth.subjects.contains_key(&p.subject));
    }
    let summary: Summary = serde_json::from_str(&read(&a, "summary.json")).unwrap();
    assert_eq!(summary.pushes, 500);
    let e = &summary.expected;
    assert_eq!(
        e.accepted + e.duplicate + e.corrected + e.rejected + e.conflict,
        500
    );
    assert!(e.duplicate > 0 && e.corrected > 0 && e.rejected > 0);

    // Same seed: the same bytes, and the same as the library's; another seed: other data.
    for name in penex::sim::FILES {
        assert_eq!(read(&a, name), read(&b, name), "{name}");
    }
    assert_ne!(read(&a, "records.jsonl"), read(&c, "records.jsonl"));
    let lib = generate(&SimOptions::new(500, 7), &units());
    assert_eq!(lib.records_jsonl(), records);
    assert_eq!(lib.truth_json(), read(&a, "truth.json"));
    assert_eq!(lib.summary_json(), read(&a, "summary.json"));

    // Without --collaboration: no collaboration file, no collaboration counts.
    assert!(!a.join(penex::sim::COLLABORATION_FILE).exists());
    assert!(!read(&a, "summary.json").contains("collaboration"));

    // Bad options fail with a message, not a panic.
    let bad = simulate(&c, &data, &["--today", "2026-13-01"]);
    assert!(!bad.status.success());
    assert!(!String::from_utf8_lossy(&bad.stderr).contains("panicked"));
}

#[test]
fn collaboration_scripts_are_written_deterministically_with_their_expected_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let data = tmp.path().join("data");
    let args = ["--records", "100", "--seed", "7", "--collaboration", "30"];
    for out in [&a, &b] {
        let run = simulate(out, &data, &args);
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{err}");
        assert!(err.contains("30 collaboration item(s)"), "{err}");
    }
    let name = penex::sim::COLLABORATION_FILE;
    let text = read(&a, name);
    assert_eq!(text, read(&b, name));
    let scripts: Vec<CollabScript> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(scripts.len(), 30);
    for (i, s) in scripts.iter().enumerate() {
        assert_eq!(s.n, i + 1);
        assert_eq!(s.item["to"].as_str(), Some(s.receiver.as_str()));
        assert!(s.steps.iter().all(|st| {
            [&s.sender, &s.receiver]
                .into_iter()
                .chain(&s.approver)
                .any(|u| u == &st.unit)
        }));
    }
    // The expected counts are in the summary, and add up.
    let summary: Summary = serde_json::from_str(&read(&a, "summary.json")).unwrap();
    let c = summary.collaboration.unwrap();
    assert_eq!(c, penex::sim::collab::summarize(&scripts));
    assert_eq!(c.items, 30);
    assert_eq!(c.by_status.values().sum::<usize>(), 30);
    assert_eq!(c.by_kind.values().sum::<usize>(), 30);
    // The library writes the same bytes, and the records do not move.
    let mut opts = SimOptions::new(100, 7);
    opts.collaboration = 30;
    let lib = generate(&opts, &units());
    assert_eq!(lib.collaboration_jsonl(), text);
    assert_eq!(
        lib.records_jsonl(),
        generate(&SimOptions::new(100, 7), &units()).records_jsonl()
    );
    assert_eq!(read(&a, "records.jsonl"), lib.records_jsonl());
    // Run again without it: the folder keeps no stale scripts.
    let run = simulate(&a, &data, &["--records", "100", "--seed", "7"]);
    assert!(run.status.success());
    assert!(!a.join(name).exists());
}

#[tokio::test]
async fn a_simulated_set_gets_the_statuses_its_truth_predicts_from_a_real_server() {
    let app = TestApp::start().await;
    let mut opts = SimOptions::new(300, 2026);
    // The server judges "future" by the real clock.
    opts.today = penex::domain::clock::today_shanghai();
    let set: SimSet = generate(&opts, &units());
    assert_eq!(set.pushes.len(), 300);

    let mut clients: HashMap<String, reqwest::Client> = HashMap::new();
    let mut mismatches = Vec::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (push, truth) in set.pushes.iter().zip(&set.truth.pushes) {
        let code = push.unit.to_string();
        let client = clients
            .entry(code.clone())
            .or_insert_with(|| app.unit_client(push.unit.party(), &code))
            .clone();
        // A batch of one: every item is answered with its status, rejected ones included
        // (a bare invalid record is answered 422 as a whole).
        let resp = app
            .push(&client, &serde_json::json!({ "records": [push.record] }))
            .await;
        assert_eq!(resp.status(), 200, "seq {}", push.seq);
        let body: Value = resp.json().await.unwrap();
        let status = body["items"][0]["status"].as_str().unwrap_or("").to_owned();
        *counts.entry(truth.expected.as_str()).or_insert(0) += 1;
        if status != truth.expected.as_str() {
            mismatches.push(format!(
                "seq {} ({:?}): expected {}, got {status}: {}",
                push.seq,
                truth.kind,
                truth.expected.as_str(),
                body["items"][0]
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    for kind in ["accepted", "duplicate", "corrected", "rejected", "conflict"] {
        assert!(counts.get(kind).copied().unwrap_or(0) > 0, "{kind}");
    }
    let accepted = set
        .truth
        .pushes
        .iter()
        .filter(|t| matches!(t.expected, Expected::Accepted | Expected::Conflict))
        .count();
    assert_eq!(app.count_rows("records").await, accepted as i64);
    assert_eq!(app.count_rows("submissions").await, 300);
    app.stop().await;
}

/// The quality bar of dedup and subject resolution on a simulated region (names written
/// differently, identifiers missing or given as the organization code, legacy IDs, one act
/// filed on both sides of a border): pushed through a real server, scored against the truth.
/// `examples/dedup_quality.rs` prints the same figures for larger sets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_region_is_deduplicated_and_resolved_to_its_true_subjects() {
    let app = TestApp::start_with_overrides(serde_json::json!({
        "rate_limits": { "push": { "limit": 1_000_000, "window_secs": 60 } },
    }))
    .await;
    let mut opts = SimOptions::new(1500, 20261128);
    opts.today = penex::domain::clock::today_shanghai();
    let set: SimSet = generate(&opts, &units());
    let certs = tempfile::tempdir().unwrap();
    let replay = penex::demo::replay::push_set(&app.url(""), &app.pki(), certs.path(), &set, 100)
        .await
        .unwrap();
    let answered = replay.record_of_push.clone();
    let observed = app
        .state
        .db(move |c| penex::demo::observe::observe(c, answered))
        .await
        .unwrap();
    let s = penex::sim::score::score(&set.truth, &observed, &replay.statuses);
    let report = format!("{s:#?}");
    assert_eq!(s.status_mismatches, 0, "{report}");
    assert!(s.duplicates.f1 >= 0.99, "{report}");
    assert!(s.conflicts.f1 >= 0.97, "{report}");
    assert_eq!(s.winners_right, s.conflicts_found, "{report}");
    assert!(s.conflicts_found > 0, "{report}");
    // Precision first: no subject merged through a weak match; and recall across identifiers.
    assert_eq!(s.weak_false_merges, 0, "{report}");
    assert!(s.subjects.precision >= 0.999, "{report}");
    assert!(s.subjects.f1 >= 0.99, "{report}");
    app.stop().await;
}
