//! `penex demo` through the real binary: the whole loop (server, sink, a simulated region pushed
//! by the four parties' units over mutual TLS, revocations, collaboration items run between
//! units) ends in a summary whose figures add up; a folder that is not the demo's own is never
//! wiped.
#![expect(clippy::expect_used, clippy::panic, reason = "tests")]

use crate::common;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn demo(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_penex"))
        .arg("demo")
        .args(args)
        .current_dir(cwd)
        .env_remove("PENEX_CONFIG")
        .env_remove("PENEX_DATA_DIR")
        .env_remove("RUST_LOG")
        // The demo runs on the embedded default whatever the environment names.
        .env("PENEX_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("PENEX_UNITS_FILE", common::repo().join("config/units.toml"))
        .output()
        .expect("run penex demo")
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn n(v: &Value, key: &str) -> i64 {
    v.get(key)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

#[test]
fn the_demo_runs_the_whole_loop_and_its_figures_add_up() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let dir = cwd.path().join("run");
    let out = demo(
        cwd.path(),
        &[
            "--dir",
            dir.to_str().expect("utf-8 path"),
            "--records",
            "600",
            "--seed",
            "3",
            "--revoke",
            "2",
            "--collaboration",
            "12",
        ],
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("summary.json")).expect("summary.json"),
    )
    .expect("summary is JSON");

    assert_eq!(n(&summary, "pushed"), 600, "{summary}");
    let answers = n(&summary, "accepted")
        + n(&summary, "duplicates")
        + n(&summary, "corrected")
        + n(&summary, "rejected")
        + n(&summary, "conflict_answers");
    assert_eq!(answers, 600, "{summary}");
    for party in ["SH", "JS", "ZJ", "AH"] {
        assert!(
            summary["pushes_by_party"][party].as_i64().unwrap_or(0) > 0,
            "{party}: {summary}"
        );
    }
    assert!(n(&summary, "duplicates") > 0, "{summary}");
    assert!(n(&summary, "rejected") > 0, "{summary}");
    assert!(n(&summary, "conflicts") > 0, "{summary}");
    assert!(n(&summary, "subjects") > 0, "{summary}");
    assert!(n(&summary, "flags_raised") > 0, "{summary}");
    assert!(n(&summary, "flags_withdrawn") > 0, "{summary}");
    assert_eq!(n(&summary, "flags_targeted"), 2, "{summary}");
    assert!(n(&summary, "revocations") >= 2, "{summary}");

    let produced = n(&summary, "events_produced");
    assert!(produced > 600 / 2, "{summary}");
    assert_eq!(n(&summary, "events_delivered"), produced, "{summary}");
    assert_eq!(n(&summary, "events_verified"), produced, "{summary}");
    assert_eq!(n(&summary, "signature_failures"), 0, "{summary}");
    assert_eq!(n(&summary, "body_mismatches"), 0, "{summary}");
    assert_eq!(n(&summary, "dead_letters"), 0, "{summary}");
    assert!(
        summary["events_by_type"]["flag.withdrawn"]
            .as_i64()
            .unwrap_or(0)
            >= 1,
        "{summary}"
    );

    // Collaboration: every item sent and stepped as its units, ending as the truth says, in
    // the figures and in the senders' feeds.
    let c = &summary["collaboration"];
    assert_eq!(n(c, "scripts"), 12, "{c}");
    assert_eq!(n(c, "items_sent"), 12, "{c}");
    assert!(n(c, "steps_taken") > 12, "{c}");
    assert_eq!(n(c, "steps_taken"), n(c, "steps_scripted"), "{c}");
    assert_eq!(n(c, "failed_calls"), 0, "{c}");
    assert_eq!(n(c, "mismatches"), 0, "{c}");
    assert_eq!(c["by_status"], c["expected_by_status"], "{c}");
    assert_eq!(n(c, "stats_items"), 12, "{c}");
    assert_eq!(n(c, "feed_events"), n(c, "feed_expected"), "{c}");
    assert_eq!(
        n(c, "feed_expected"),
        n(c, "items_sent") + n(c, "steps_taken"),
        "{c}"
    );
    let scripts = std::fs::read_to_string(dir.join("sim/collaboration.jsonl")).expect("scripts");
    assert_eq!(scripts.lines().count(), 12);

    // The sink's own file holds every event, once.
    let lines = std::fs::read_to_string(dir.join("sink/events.jsonl")).expect("sink file");
    assert_eq!(lines.lines().count() as i64, produced);

    // The printed table says the same, and where to look next.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("all consistent"), "{all}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| {
                l.trim_start()
                    .strip_prefix(name)
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|v| v.parse::<i64>().ok())
            })
            .unwrap_or_else(|| panic!("no row {name}: {all}"))
    };
    assert_eq!(row("events delivered"), produced);
    assert_eq!(row("events verified by the sink"), produced);
    assert_eq!(row("signature failures"), 0);
    assert_eq!(row("flags withdrawn"), n(&summary, "flags_withdrawn"));
    assert_eq!(row("collaboration items sent"), 12);
    assert_eq!(row("items unlike the truth"), 0);
    assert_eq!(row("collaboration feed events"), n(c, "feed_events"));
    assert!(stdout.contains("curl --cacert"), "{all}");

    // Its own database and PKI; nothing in ./data of the directory it ran from.
    assert!(dir.join("data/penex.db").exists());
    assert!(dir.join("data/pki/exchange-ca.crt").exists());
    assert!(!cwd.path().join("data").exists(), "{all}");
}

#[test]
fn a_folder_that_is_not_the_demos_is_never_wiped() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let dir = cwd.path().join("precious");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("notes.txt"), "keep me").expect("write");
    let out = demo(
        cwd.path(),
        &[
            "--dir",
            dir.to_str().expect("utf-8 path"),
            "--records",
            "100",
        ],
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("refusing to wipe"), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).expect("still there"),
        "keep me"
    );
}
