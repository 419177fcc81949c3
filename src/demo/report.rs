//! What the demo saw ([`Summary`], also written to `<dir>/summary.json`) and how it is told:
//! the table, the inconsistencies, and where to look next.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// What happened, as printed and written to `<dir>/summary.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Seed of the simulator.
    pub seed: u64,
    /// Distinct units that pushed.
    pub units: usize,
    /// Pushes per party (SH, JS, ZJ, AH).
    pub pushes_by_party: BTreeMap<String, usize>,
    /// Records pushed.
    pub pushed: usize,
    /// Answered `accepted`.
    pub accepted: usize,
    /// Answered `duplicate`.
    pub duplicates: usize,
    /// Answered `corrected`.
    pub corrected: usize,
    /// Answered `rejected` (the simulator's deliberately invalid records).
    pub rejected: usize,
    /// Answered `conflict` (stored, but another authority filed the same act first).
    pub conflict_answers: usize,
    /// Jurisdiction conflicts penex found (`GET /v1/conflicts?status=all`).
    pub conflicts: usize,
    /// Distinct subjects of the stored records (weak links followed).
    pub subjects: usize,
    /// Answers that differ from what the simulator's truth predicts.
    pub status_mismatches: usize,
    /// F1 of duplicate detection against the truth.
    pub duplicates_f1: f64,
    /// F1 of conflict detection against the truth.
    pub conflicts_f1: f64,
    /// F1 of subject resolution against the truth.
    pub subjects_f1: f64,
    /// Joint-discipline flags ever raised (`GET /v1/flags`, any status).
    pub flags_raised: usize,
    /// Flags active at the end.
    pub flags_active: usize,
    /// Flags withdrawn at the end.
    pub flags_withdrawn: usize,
    /// Flags the demo set out to have withdrawn.
    pub flags_targeted: usize,
    /// Targeted flags that were not withdrawn at the end (`id is status`).
    pub targets_not_withdrawn: Vec<String>,
    /// Records revoked (`POST /v1/records/{id}/revoke`).
    pub revocations: usize,
    /// Events in the feed (`GET /v1/events`).
    pub events_produced: usize,
    /// Events per type.
    pub events_by_type: BTreeMap<String, usize>,
    /// Events the outbox marked delivered.
    pub events_delivered: i64,
    /// Undelivered events at the end.
    pub events_pending: i64,
    /// Dead letters.
    pub dead_letters: i64,
    /// Distinct events the sink verified and appended to its file.
    pub events_verified: usize,
    /// Sink lines whose JWS does not verify against penex's JWKS, re-checked by the demo.
    pub signature_failures: usize,
    /// Sink lines whose JWS differs from the feed's for the same event id.
    pub body_mismatches: usize,
    /// Seconds spent pushing.
    pub push_secs: f64,
    /// Seconds from the first push until the outbox was drained.
    pub loop_secs: f64,
    /// Seconds for the whole run.
    pub total_secs: f64,
    /// The collaboration loop (`--collaboration`).
    pub collaboration: CollabFigures,
}

/// What the collaboration loop did and read back, against the simulator's truth.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CollabFigures {
    /// Scripts the simulator wrote (`<dir>/sim/collaboration.jsonl`).
    pub scripts: usize,
    /// Distinct units taking part (senders, receivers, approvers).
    pub units: usize,
    /// Items per kind.
    pub by_kind: BTreeMap<String, usize>,
    /// Cross-level items, through the sender's superior.
    pub cross_level: usize,
    /// Items sent (`POST /v1/collaboration/items` answered 201).
    pub items_sent: usize,
    /// Steps the scripts call for after sending.
    pub steps_scripted: usize,
    /// Steps answered 200.
    pub steps_taken: usize,
    /// Sends and steps answered otherwise (a script stops at its first).
    pub failed_calls: usize,
    /// The first of them (`#n step by unit: HTTP status code`).
    pub failures: Vec<String>,
    /// Items per final status, as their senders read them back.
    pub by_status: BTreeMap<String, usize>,
    /// Items per final status, as the truth predicts.
    pub expected_by_status: BTreeMap<String, usize>,
    /// Items whose status or timeline differs from the truth.
    pub mismatches: usize,
    /// The first of them.
    pub mismatch_examples: Vec<String>,
    /// Items in `GET /v1/stats/collaboration` (totals).
    pub stats_items: u64,
    /// Items per status there.
    pub stats_by_status: BTreeMap<String, u64>,
    /// Events of their items in the senders' own feeds (`GET /v1/collaboration/events`).
    pub feed_events: usize,
    /// One per send and per step taken.
    pub feed_expected: usize,
}

/// The run's summary, where its files are, and what did not add up.
#[derive(Debug, Clone)]
pub struct Report {
    /// The figures.
    pub summary: Summary,
    /// The work folder.
    pub dir: PathBuf,
    /// The inconsistencies found (empty: all is well).
    pub problems: Vec<String>,
}

impl Report {
    /// The summary table and where to look next.
    pub fn render(&self) -> String {
        let mut o = String::new();
        answers(&self.summary, &mut o);
        outcomes(&self.summary, &mut o);
        collaboration(&self.summary.collaboration, &mut o);
        if self.problems.is_empty() {
            let _ = writeln!(
                o,
                "\nall consistent: every event produced was delivered once, verified, and equals the feed's."
            );
        } else {
            let _ = writeln!(o, "\nINCONSISTENT:");
            for p in &self.problems {
                let _ = writeln!(o, "  - {p}");
            }
        }
        next_steps(&self.dir, &mut o);
        o
    }
}

/// One line of the table: name, figure, note.
fn row(o: &mut String, name: &str, n: String, note: &str) {
    let line = format!("  {name:<28}{n:>8}  {note}");
    let _ = writeln!(o, "{}", line.trim_end());
}

/// The heading and what the pushes were answered, against the truth.
fn answers(s: &Summary, o: &mut String) {
    let by_party: Vec<String> = s
        .pushes_by_party
        .iter()
        .map(|(p, n)| format!("{p} {n}"))
        .collect();
    let _ = writeln!(
        o,
        "\nsummary (seed {}; pushed in {:.1} s, loop drained in {:.1} s, {:.1} s in all)",
        s.seed, s.push_secs, s.loop_secs, s.total_secs
    );
    row(
        o,
        "records pushed",
        s.pushed.to_string(),
        &format!("by {} units: {}", s.units, by_party.join(", ")),
    );
    row(o, "  accepted", s.accepted.to_string(), "new records");
    row(
        o,
        "  duplicates",
        s.duplicates.to_string(),
        "same record again (e.g. relayed by a provincial lead)",
    );
    row(
        o,
        "  corrected",
        s.corrected.to_string(),
        "same decision, new content: a new version",
    );
    row(
        o,
        "  rejected",
        s.rejected.to_string(),
        "invalid on purpose (check digits, missing fields, future dates)",
    );
    row(
        o,
        "  conflict",
        s.conflict_answers.to_string(),
        "stored, but another party filed the same act first",
    );
    row(
        o,
        "answers unlike the truth",
        s.status_mismatches.to_string(),
        "what the simulator predicted for each push",
    );
    row(
        o,
        "jurisdiction conflicts",
        s.conflicts.to_string(),
        &format!(
            "same act, two parties; first to file keeps it (F1 {:.3})",
            s.conflicts_f1
        ),
    );
    row(
        o,
        "subjects",
        s.subjects.to_string(),
        &format!(
            "resolved across the four parties (F1 {:.3}; duplicates F1 {:.3})",
            s.subjects_f1, s.duplicates_f1
        ),
    );
}

/// Flags and events: raised, withdrawn, produced, delivered, verified.
fn outcomes(s: &Summary, o: &mut String) {
    let types: Vec<String> = s
        .events_by_type
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    row(
        o,
        "flags raised",
        s.flags_raised.to_string(),
        "joint-discipline flags ever raised",
    );
    row(
        o,
        "flags withdrawn",
        s.flags_withdrawn.to_string(),
        &format!(
            "after {} revocation(s) aimed at {} flag(s)",
            s.revocations, s.flags_targeted
        ),
    );
    row(o, "flags active", s.flags_active.to_string(), "");
    row(
        o,
        "events produced",
        s.events_produced.to_string(),
        &types.join(", "),
    );
    row(
        o,
        "events delivered",
        s.events_delivered.to_string(),
        &format!(
            "{} dead letter(s), {} pending",
            s.dead_letters, s.events_pending
        ),
    );
    row(
        o,
        "events verified by the sink",
        s.events_verified.to_string(),
        "JWS checked against penex's JWKS",
    );
    row(
        o,
        "signature failures",
        s.signature_failures.to_string(),
        "each sink line re-verified by the demo",
    );
}

fn counts<N: std::fmt::Display>(m: &BTreeMap<String, N>) -> String {
    m.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The collaboration loop: sent, stepped, read back, against the truth.
fn collaboration(c: &CollabFigures, o: &mut String) {
    if c.scripts == 0 {
        return;
    }
    row(
        o,
        "collaboration items sent",
        c.items_sent.to_string(),
        &format!(
            "of {} scripted, between {} units: {}; {} cross-level through a superior",
            c.scripts,
            c.units,
            counts(&c.by_kind),
            c.cross_level
        ),
    );
    row(
        o,
        "  steps taken",
        c.steps_taken.to_string(),
        &format!(
            "of {} scripted, each by its sender, receiver or approver; {} call(s) answered \
             other than 200/201",
            c.steps_scripted, c.failed_calls
        ),
    );
    row(
        o,
        "  final statuses",
        c.by_status.values().sum::<usize>().to_string(),
        &counts(&c.by_status),
    );
    row(
        o,
        "items unlike the truth",
        c.mismatches.to_string(),
        "status and timeline of each item, read back as its sender",
    );
    row(
        o,
        "collaboration figures",
        c.stats_items.to_string(),
        &format!(
            "items in GET /v1/stats/collaboration: {}",
            counts(&c.stats_by_status)
        ),
    );
    row(
        o,
        "collaboration feed events",
        c.feed_events.to_string(),
        &format!(
            "of {} expected: the send and every step, in each sender's own feed",
            c.feed_expected
        ),
    );
}

/// Where the run's files are, and how to ask the demo's penex more.
fn next_steps(dir: &std::path::Path, o: &mut String) {
    let dir = dir.display();
    let _ = writeln!(
        o,
        "\nwhere to look next:\n  \
         {dir}/summary.json           these figures\n  \
         {dir}/sim/                   the simulated pushes, collaboration scripts and their truth\n  \
         {dir}/sink/events.jsonl      every event the sink verified\n  \
         {dir}/data/                  penex's database, dev PKI and keys\n\
         serve the demo's data and ask it (in another terminal):\n  \
         PENEX_DATA_DIR={dir}/data cargo run --release -- serve\n  \
         curl --cacert {dir}/data/pki/exchange-ca.crt --cert {dir}/data/pki/clients/operator.crt \\\n       \
         --key {dir}/data/pki/clients/operator.key 'https://localhost:8443/v1/flags?status=withdrawn'"
    );
}
