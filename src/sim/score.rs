//! Scoring what penex made of a simulated set against its ground truth: pairwise precision,
//! recall and F1 for (a) duplicate detection (pushes → canonical records), (b) jurisdiction-
//! conflict detection (pairs of records in one conflict), (c) subject resolution (records →
//! subjects), plus how often the first filer won and how many records a weak (name-only)
//! match put with another subject.
//!
//! Pure: the caller collects what the service answered and stored ([`Observed`]).

use super::{Expected, Truth};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the service answered and stored.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Per push (same order as `truth.pushes`): the record id answered (`None`: rejected).
    pub record_of_push: Vec<Option<String>>,
    /// Per stored record: its subject, with weak links followed to the strong subject.
    pub subject_of_record: HashMap<String, String>,
    /// Per stored record: whether its own subject is weak (name only).
    pub weak_record: HashMap<String, bool>,
    /// Per stored record in a conflict: the conflict id and whether it is the winner.
    pub conflict_of_record: HashMap<String, (String, bool)>,
}

/// Precision, recall and F1 of one pairwise comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prf {
    /// Pairs both truth and penex put together.
    pub true_pairs: u64,
    /// Pairs penex put together.
    pub found_pairs: u64,
    /// Pairs the truth puts together.
    pub truth_pairs: u64,
    /// true / found (1 when nothing was found).
    pub precision: f64,
    /// true / truth (1 when the truth has none).
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
}

impl Prf {
    fn of(true_pairs: u64, found_pairs: u64, truth_pairs: u64) -> Prf {
        #[expect(clippy::cast_precision_loss, reason = "pair counts far below 2^52")]
        let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        let precision = ratio(true_pairs, found_pairs);
        let recall = ratio(true_pairs, truth_pairs);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Prf {
            true_pairs,
            found_pairs,
            truth_pairs,
            precision,
            recall,
            f1,
        }
    }
}

/// The scores of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// (a) Pushes of one decision landing on one canonical record.
    pub duplicates: Prf,
    /// (b) Records of one act by two authorities put in one conflict.
    pub conflicts: Prf,
    /// Of the true conflicts penex found, how many it gave to the first filer.
    pub winners_right: usize,
    /// True conflicts penex found.
    pub conflicts_found: usize,
    /// (c) Records of one subject resolved to one subject.
    pub subjects: Prf,
    /// Records put with another subject's records through a weak (name-only) match.
    pub weak_false_merges: usize,
    /// Pushes whose status differed from the truth's expectation.
    pub status_mismatches: usize,
    /// Record pairs put in one conflict that the truth does not pair (at most 20).
    pub false_conflicts: Vec<(String, String)>,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Pairwise comparison of two clusterings of the same items.
fn pairwise<K: Ord + Clone, A: Ord + Clone, B: Ord + Clone>(items: &[(K, A, B)]) -> Prf {
    let mut by_a: BTreeMap<&A, u64> = BTreeMap::new();
    let mut by_b: BTreeMap<&B, u64> = BTreeMap::new();
    let mut by_ab: BTreeMap<(&A, &B), u64> = BTreeMap::new();
    for (_, a, b) in items {
        *by_a.entry(a).or_default() += 1;
        *by_b.entry(b).or_default() += 1;
        *by_ab.entry((a, b)).or_default() += 1;
    }
    let truth: u64 = by_a.values().map(|n| pairs(*n)).sum();
    let found: u64 = by_b.values().map(|n| pairs(*n)).sum();
    let both: u64 = by_ab.values().map(|n| pairs(*n)).sum();
    Prf::of(both, found, truth)
}

/// Scores `observed` against `truth`. `statuses` are the statuses answered, per push.
pub fn score(truth: &Truth, observed: &Observed, statuses: &[String]) -> Scores {
    // (a) duplicates: pushes the truth expects stored, clustered by identity vs by record id.
    let mut dup_items = Vec::new();
    for (i, t) in truth.pushes.iter().enumerate() {
        if t.expected == Expected::Rejected {
            continue;
        }
        let found = observed
            .record_of_push
            .get(i)
            .cloned()
            .flatten()
            .unwrap_or_else(|| format!("rejected#{i}"));
        dup_items.push((i, t.identity.clone(), found));
    }
    let duplicates = pairwise(&dup_items);

    // One record per identity: the record its first stored push landed on.
    let mut record_of_identity: BTreeMap<&str, String> = BTreeMap::new();
    let mut subject_of_identity: BTreeMap<&str, &str> = BTreeMap::new();
    for (i, t) in truth.pushes.iter().enumerate() {
        if let Some(Some(r)) = observed.record_of_push.get(i) {
            record_of_identity
                .entry(t.identity.as_str())
                .or_insert_with(|| r.clone());
            subject_of_identity.insert(t.identity.as_str(), t.subject.as_str());
        }
    }

    // (b) conflicts: pairs of records.
    let truth_pairs: BTreeSet<(String, String)> = truth
        .conflicts
        .iter()
        .filter_map(|c| {
            let a = record_of_identity.get(c.records[0].identity.as_str())?;
            let b = record_of_identity.get(c.records[1].identity.as_str())?;
            Some(if a < b {
                (a.clone(), b.clone())
            } else {
                (b.clone(), a.clone())
            })
        })
        .collect();
    let mut members: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (record, (conflict, _)) in &observed.conflict_of_record {
        members.entry(conflict).or_default().push(record);
    }
    let mut found_pairs = BTreeSet::new();
    for ms in members.values() {
        for a in ms {
            for b in ms {
                if a < b {
                    found_pairs.insert(((*a).to_owned(), (*b).to_owned()));
                }
            }
        }
    }
    let true_found = truth_pairs.intersection(&found_pairs).count() as u64;
    let false_conflicts = found_pairs
        .difference(&truth_pairs)
        .take(20)
        .cloned()
        .collect();
    let conflicts = Prf::of(
        true_found,
        found_pairs.len() as u64,
        truth_pairs.len() as u64,
    );
    let mut winners_right = 0;
    let mut conflicts_found = 0;
    for c in &truth.conflicts {
        let (Some(a), Some(b)) = (
            record_of_identity.get(c.records[0].identity.as_str()),
            record_of_identity.get(c.records[1].identity.as_str()),
        ) else {
            continue;
        };
        let (Some((ca, wa)), Some((cb, _))) = (
            observed.conflict_of_record.get(a),
            observed.conflict_of_record.get(b),
        ) else {
            continue;
        };
        if ca != cb {
            continue;
        }
        conflicts_found += 1;
        let winner_is_a = c.winner == c.records[0].identity;
        if *wa == winner_is_a {
            winners_right += 1;
        }
    }

    // (c) subjects: records clustered by truth subject vs by resolved subject.
    let mut subject_items = Vec::new();
    for (identity, record) in &record_of_identity {
        let (Some(truth_subject), Some(found)) = (
            subject_of_identity.get(identity),
            observed.subject_of_record.get(record),
        ) else {
            continue;
        };
        subject_items.push((record.clone(), (*truth_subject).to_owned(), found.clone()));
    }
    let subjects = pairwise(&subject_items);
    // A weak record sharing its resolved subject with a record of another true subject.
    let mut truth_subjects_of_found: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, t, f) in &subject_items {
        truth_subjects_of_found.entry(f).or_default().insert(t);
    }
    let weak_false_merges = subject_items
        .iter()
        .filter(|(record, _, found)| {
            observed.weak_record.get(record).copied().unwrap_or(false)
                && truth_subjects_of_found
                    .get(found.as_str())
                    .is_some_and(|s| s.len() > 1)
        })
        .count();

    let status_mismatches = truth
        .pushes
        .iter()
        .zip(statuses)
        .filter(|(t, s)| t.expected.as_str() != s.as_str())
        .count();
    Scores {
        duplicates,
        conflicts,
        winners_right,
        conflicts_found,
        subjects,
        weak_false_merges,
        status_mismatches,
        false_conflicts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_scores_count_pairs() {
        // Truth: {1,2,3} {4}; found: {1,2} {3,4}.
        let items = [(1, "a", "x"), (2, "a", "x"), (3, "a", "y"), (4, "b", "y")];
        let p = pairwise(&items);
        assert_eq!((p.true_pairs, p.found_pairs, p.truth_pairs), (1, 2, 3));
        assert!((p.precision - 0.5).abs() < 1e-9);
        assert!((p.recall - 1.0 / 3.0).abs() < 1e-9);
        assert!((p.f1 - 0.4).abs() < 1e-9);
        // Perfect, and the empty case.
        let same = [(1, "a", "x"), (2, "a", "x"), (3, "b", "y")];
        assert!((pairwise(&same).f1 - 1.0).abs() < 1e-9);
        let none: [(u8, u8, u8); 0] = [];
        assert!((pairwise(&none).f1 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_generated_set_scored_against_its_own_truth_is_perfect() {
        let units = crate::domain::registry::parse_units_toml(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/units.toml"),
            )
            .unwrap(),
        )
        .unwrap();
        let set = super::super::generate(&super::super::SimOptions::new(400, 3), &units);
        let truth = &set.truth;
        // A perfect service: one record per identity, one subject per truth subject, the
        // truth's conflicts with their winners.
        let mut o = Observed::default();
        for t in &truth.pushes {
            o.record_of_push
                .push((t.expected != Expected::Rejected).then(|| format!("rec-{}", t.identity)));
            o.subject_of_record
                .insert(format!("rec-{}", t.identity), t.subject.clone());
        }
        for (n, c) in truth.conflicts.iter().enumerate() {
            for side in &c.records {
                o.conflict_of_record.insert(
                    format!("rec-{}", side.identity),
                    (format!("c{n}"), side.identity == c.winner),
                );
            }
        }
        let statuses: Vec<String> = truth
            .pushes
            .iter()
            .map(|t| t.expected.as_str().to_owned())
            .collect();
        let s = score(truth, &o, &statuses);
        assert!((s.duplicates.f1 - 1.0).abs() < 1e-9);
        assert!(s.duplicates.truth_pairs > 0);
        assert!((s.conflicts.f1 - 1.0).abs() < 1e-9);
        assert_eq!(s.winners_right, truth.conflicts.len());
        assert!((s.subjects.f1 - 1.0).abs() < 1e-9);
        assert_eq!(s.status_mismatches, 0);
        // Merging two true subjects costs precision; losing a conflict costs recall.
        let mut records: Vec<(String, String)> = o
            .subject_of_record
            .iter()
            .map(|(r, s)| (r.clone(), s.clone()))
            .collect();
        records.sort();
        let (first, subject) = records[0].clone();
        let other = records
            .iter()
            .find(|(_, s)| *s != subject)
            .unwrap()
            .0
            .clone();
        assert_ne!(first, other);
        o.subject_of_record.insert(other, subject);
        if let Some(k) = o.conflict_of_record.keys().next().cloned() {
            o.conflict_of_record.remove(&k);
        }
        let worse = score(truth, &o, &statuses);
        assert!(worse.subjects.precision < 1.0 || worse.subjects.recall < 1.0);
        assert!(worse.conflicts.recall < 1.0);
    }
}
