//! Tests of the simulator against the real normalizer and registry.

use super::*;
use crate::domain::registry::{Registry, parse_units_toml};
use crate::normalize::decision_no::fold_decision_no;
use crate::normalize::ids::{normalize_resident_id, normalize_uscc};
use crate::normalize::text::fold_name;
use crate::normalize::{NormalizeContext, PublicityConfig, normalize_record};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn units() -> Vec<Unit> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/units.toml");
    let text = std::fs::read_to_string(path).unwrap();
    parse_units_toml(&text).unwrap()
}

fn registry() -> Registry {
    Registry::new(units(), fold_name).unwrap()
}

fn ctx(set: &SimSet) -> NormalizeContext {
    NormalizeContext {
        today: set.truth.today,
        publicity: PublicityConfig::default(),
        catalog: crate::normalize::Catalog::for_tests(),
    }
}

fn sim(records: usize, seed: u64) -> SimSet {
    generate(&SimOptions::new(records, seed), &units())
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let a = sim(300, 11);
    let b = sim(300, 11);
    let c = sim(300, 12);
    assert_eq!(a.records_jsonl(), b.records_jsonl());
    assert_eq!(a.truth_json(), b.truth_json());
    assert_eq!(a.summary_json(), b.summary_json());
    assert_ne!(a.records_jsonl(), c.records_jsonl());
    assert_ne!(a.truth_json(), c.truth_json());
    assert_eq!(a.pushes.len(), 300);
    assert_eq!(a.truth.pushes.len(), 300);
    // Another reference date moves the dates, and only that changes.
    let mut opts = SimOptions::new(300, 11);
    opts.today = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let d = generate(&opts, &units());
    assert_ne!(a.records_jsonl(), d.records_jsonl());
}

#[test]
fn pushes_are_numbered_in_order_and_truth_follows_them() {
    let set = sim(500, 3);
    for (i, (p, t)) in set.pushes.iter().zip(&set.truth.pushes).enumerate() {
        assert_eq!(p.seq, i as u64 + 1);
        assert_eq!(t.seq, p.seq);
        assert_eq!(t.unit, p.unit);
        assert!(p.record.is_object());
    }
    // Clusters are numbered in order of first appearance.
    assert_eq!(set.truth.pushes[0].identity, "P000001");
    assert_eq!(set.truth.pushes[0].subject, "S000001");
    let line = set.records_jsonl();
    let first: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["seq", "unit", "record"]);
    let back: Truth = serde_json::from_str(&set.truth_json()).unwrap();
    assert_eq!(back, set.truth);
    let back: Summary = serde_json::from_str(&set.summary_json()).unwrap();
    assert_eq!(back, set.summary);
}

/// Every push: valid ones normalize without a single warning, to the identity truth names,
/// pushed by a unit that may act for the authority; invalid ones fail with exactly their
/// defect.
fn check_normalization(set: &SimSet, registry: &Registry) {
    let ctx = ctx(set);
    for (push, truth) in set.pushes.iter().zip(&set.truth.pushes) {
        let result = normalize_record(&push.record, &ctx);
        match truth.defect {
            None => {
                let n = result.unwrap_or_else(|e| {
                    panic!("seq {} should be valid: {e:?}\n{}", push.seq, push.record)
                });
                assert!(
                    n.warnings.is_empty(),
                    "seq {}: {:?}\n{}",
                    push.seq,
                    n.warnings,
                    push.record
                );
                let r = &n.record;
                assert_eq!(r.decision_no, truth.decision_no, "seq {}", push.seq);
                assert_eq!(fold_decision_no(&r.decision_no_raw), truth.decision_no);
                let authority = registry.by_name(&r.authority.name).unwrap();
                assert_eq!(authority.code, truth.authority, "seq {}", push.seq);
                assert!(registry.may_act_for(&push.unit, &authority.code));
                assert!(r.decision_date <= ctx.today);
                assert!(r.decision_date > ctx.today - chrono::Days::new(3 * 366));
                assert!(r.filed_date.is_some_and(|f| f < r.decision_date));
                let subject = &set.truth.subjects[&truth.subject];
                assert_eq!(r.subject.kind.as_str(), subject.kind);
                if let Some(u) = &r.subject.uscc {
                    assert_eq!(Some(u), subject.uscc.as_ref(), "seq {}", push.seq);
                }
                if let Some(id) = &r.subject.id_no {
                    assert_eq!(Some(id), subject.id_no.as_ref(), "seq {}", push.seq);
                }
                if let Some(no) = &r.subject.business_reg_no {
                    assert_eq!(
                        Some(no),
                        subject.business_reg_no.as_ref(),
                        "seq {}",
                        push.seq
                    );
                }
            }
            Some(defect) => {
                let errors = match result {
                    Ok(_) => panic!("seq {} should be invalid: {}", push.seq, push.record),
                    Err(e) => e,
                };
                assert_eq!(errors.len(), 1, "seq {}: {errors:?}", push.seq);
                let want = match defect {
                    Defect::BadChecksum => "invalid_checksum",
                    Defect::MissingField => "required",
                    Defect::FutureDate => "date_in_future",
                };
                assert_eq!(errors[0].code, want, "seq {}: {errors:?}", push.seq);
            }
        }
    }
}

#[test]
fn valid_records_normalize_cleanly_and_invalid_ones_fail_with_their_defect() {
    let registry = registry();
    for seed in [1, 42] {
        check_normalization(&sim(500, seed), &registry);
    }
}

/// Replays the pushes against a model of the store: identity → fingerprint.
fn replay(set: &SimSet) -> Vec<Expected> {
    let ctx = ctx(set);
    let registry = registry();
    let mut stored: BTreeMap<(String, String), [u8; 32]> = BTreeMap::new();
    set.pushes
        .iter()
        .map(|p| {
            let Ok(n) = normalize_record(&p.record, &ctx) else {
                return Expected::Rejected;
            };
            let Some(authority) = registry.by_name(&n.record.authority.name) else {
                return Expected::Rejected;
            };
            let key = (authority.code.to_string(), n.record.decision_no.clone());
            let fp = n.record.content_fingerprint();
            match stored.insert(key, fp) {
                None => Expected::Accepted,
                Some(old) if old == fp => Expected::Duplicate,
                Some(_) => Expected::Corrected,
            }
        })
        .collect()
}

#[test]
fn expected_statuses_are_what_a_store_keyed_by_identity_and_fingerprint_answers() {
    for (n, seed) in [(600, 5), (200, 6)] {
        let set = sim(n, seed);
        let got = replay(&set);
        // The model knows identities only: a conflict is an accepted record to it.
        let want: Vec<Expected> = set
            .truth
            .pushes
            .iter()
            .map(|t| match t.expected {
                Expected::Conflict => Expected::Accepted,
                e => e,
            })
            .collect();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "seq {}: {}", i + 1, set.pushes[i].record);
        }
    }
}

#[test]
fn duplicates_share_the_fingerprint_and_corrections_only_the_identity() {
    let set = sim(700, 9);
    let ctx = ctx(&set);
    let registry = registry();
    let mut by_identity: BTreeMap<&str, Vec<(usize, &TruthPush)>> = BTreeMap::new();
    for (i, t) in set.truth.pushes.iter().enumerate() {
        by_identity.entry(&t.identity).or_default().push((i, t));
    }
    let normalized = |i: usize| {
        normalize_record(&set.pushes[i].record, &ctx)
            .unwrap()
            .record
    };
    let (mut dups, mut corrs) = (0, 0);
    for pushes in by_identity.values() {
        let Some(&(first, t0)) = pushes.first() else {
            continue;
        };
        if t0.defect.is_some() {
            assert_eq!(pushes.len(), 1);
            continue;
        }
        let base = normalized(first);
        for &(i, t) in pushes.iter().skip(1) {
            let other = normalized(i);
            assert_eq!(other.decision_no, base.decision_no);
            assert_eq!(other.authority.name, base.authority.name);
            match t.kind {
                PushKind::RelayedDuplicate => {
                    dups += 1;
                    assert_eq!(
                        other.content_fingerprint(),
                        base.content_fingerprint(),
                        "seq {}: {:?} vs {:?}",
                        t.seq,
                        other,
                        base
                    );
                    // Relayed by the other of (deciding unit, lead); a lead's own decision
                    // can only come from the lead again.
                    let lead_decided = registry.lead_of(t.authority.party()).map(|l| &l.code)
                        == Some(&t.authority);
                    assert!(lead_decided || set.pushes[i].unit != set.pushes[first].unit);
                }
                PushKind::Correction => {
                    corrs += 1;
                    assert_ne!(other.content_fingerprint(), base.content_fingerprint());
                    assert!(other.fine_fen != base.fine_fen || other.facts != base.facts);
                }
                other => panic!("unexpected follow-up {other:?}"),
            }
        }
    }
    assert_eq!(dups, set.summary.injected.relayed_duplicates);
    assert_eq!(corrs, set.summary.injected.corrections);
    assert!(dups > 0 && corrs > 0);
}

#[test]
fn cross_border_pairs_are_one_act_on_two_sides_and_the_first_filer_wins() {
    let set = sim(1000, 13);
    let ctx = ctx(&set);
    assert_eq!(
        set.truth.conflicts.len(),
        set.summary.injected.cross_border_pairs
    );
    assert!(!set.truth.conflicts.is_empty());
    for c in &set.truth.conflicts {
        let [a, b] = &c.records;
        assert_ne!(a.authority.party(), b.authority.party());
        assert_ne!(a.filed_date, b.filed_date);
        assert!(a.seq < b.seq);
        let first = if a.filed_date < b.filed_date { a } else { b };
        assert_eq!(c.winner, first.identity);
        assert_eq!(c.winner_seq, first.seq);
        let ra = normalize_record(&set.pushes[a.seq as usize - 1].record, &ctx).unwrap();
        let rb = normalize_record(&set.pushes[b.seq as usize - 1].record, &ctx).unwrap();
        assert_eq!(ra.record.violation_type, c.violation_type);
        assert_eq!(rb.record.violation_type, c.violation_type);
        assert_eq!(ra.record.filed_date, Some(a.filed_date));
        assert_eq!(rb.record.decision_date, b.decision_date);
        let gap = (a.decision_date - b.decision_date).num_days().abs();
        assert!(gap <= 30, "{gap}");
        for t in [a, b] {
            let tp = &set.truth.pushes[t.seq as usize - 1];
            assert_eq!(tp.subject, c.subject);
            assert_eq!(tp.kind, PushKind::CrossBorder);
            let want = if t.seq == b.seq && c.winner == a.identity {
                Expected::Conflict
            } else {
                Expected::Accepted
            };
            assert_eq!(tp.expected, want);
        }
    }
}

#[test]
fn same_day_pairs_are_two_penalties_not_a_duplicate() {
    let set = sim(1000, 17);
    let ctx = ctx(&set);
    assert_eq!(
        set.truth.same_day_pairs.len(),
        set.summary.injected.same_day_pairs
    );
    assert!(!set.truth.same_day_pairs.is_empty());
    for p in &set.truth.same_day_pairs {
        let [a, b] = p.seqs.map(|s| {
            normalize_record(&set.pushes[s as usize - 1].record, &ctx)
                .unwrap()
                .record
        });
        assert_eq!(a.decision_date, p.decision_date);
        assert_eq!(b.decision_date, p.decision_date);
        assert_ne!(a.violation_type, b.violation_type);
        assert_ne!(a.decision_no, b.decision_no);
        assert_eq!(a.authority.name, b.authority.name);
        assert_ne!(p.identities[0], p.identities[1]);
        for s in p.seqs {
            let t = &set.truth.pushes[s as usize - 1];
            assert_eq!(t.expected, Expected::Accepted);
            assert_eq!(t.subject, p.subject);
            assert_eq!(t.authority, p.authority);
        }
    }
}

#[test]
fn decision_numbers_are_written_as_each_place_writes_them() {
    let set = sim(1200, 21);
    let ctx = ctx(&set);
    let mut raw_brackets = BTreeSet::new();
    for (push, t) in set.pushes.iter().zip(&set.truth.pushes) {
        match t.authority.party() {
            Party::Shanghai => {
                assert_eq!(t.decision_no.chars().count(), 10, "{}", t.decision_no);
                assert!(t.decision_no.chars().all(|c| c.is_ascii_digit()));
            }
            _ => {
                assert!(t.decision_no.contains('〔') && t.decision_no.ends_with('号'));
            }
        }
        if t.defect.is_none() && push.seq <= 400 {
            let n = normalize_record(&push.record, &ctx).unwrap();
            for c in n.record.decision_no_raw.chars() {
                if "[【（(〔［﹝".contains(c) {
                    raw_brackets.insert(c);
                }
            }
        }
    }
    assert!(raw_brackets.len() >= 5, "{raw_brackets:?}");
    let all: Vec<&str> = set
        .truth
        .pushes
        .iter()
        .map(|t| t.decision_no.as_str())
        .collect();
    assert!(
        all.iter()
            .any(|d| d.contains("执罚决字〔") && d.contains('-'))
    );
    assert!(all.iter().any(|d| d.contains("〕第")));
    assert!(all.iter().any(|d| d.contains('〕') && !d.contains("〕第")));
}

#[test]
fn injected_counts_match_the_mix() {
    let n = 3000;
    let set = sim(n, 99);
    let s = &set.summary;
    let mix = Mix::default();
    let round = |share: f64| ((n as f64) * share).round() as usize;
    let inj = &s.injected;
    assert_eq!(s.pushes, n);
    assert_eq!(inj.relayed_duplicates, round(mix.relayed_duplicate));
    assert_eq!(inj.corrections, round(mix.correction));
    assert_eq!(inj.cross_border_pairs, round(mix.cross_border / 2.0));
    assert_eq!(inj.same_day_pairs, round(mix.same_day / 2.0));
    let invalid = inj.invalid_bad_checksum + inj.invalid_missing_field + inj.invalid_future_date;
    assert_eq!(invalid, round(mix.invalid));
    assert!(inj.invalid_bad_checksum > 0 && inj.invalid_missing_field > 0);
    assert!(inj.invalid_future_date > 0);
    assert_eq!(s.expected.rejected, invalid);
    assert_eq!(s.expected.duplicate, inj.relayed_duplicates);
    assert_eq!(s.expected.corrected, inj.corrections);
    assert_eq!(
        s.expected.accepted
            + s.expected.duplicate
            + s.expected.corrected
            + s.expected.rejected
            + s.expected.conflict,
        n
    );
    let near = |got: usize, of: usize, share: f64, tol: f64| {
        let ratio = got as f64 / of as f64;
        assert!(
            (ratio - share).abs() <= tol,
            "{got}/{of} = {ratio}, want {share}±{tol}"
        );
    };
    let first_pushes = s.expected.accepted + s.expected.rejected + s.expected.conflict;
    near(inj.lead_relays, first_pushes, mix.lead_relay, 0.02);
    near(
        inj.other_party_subjects,
        inj.new_subjects,
        mix.other_party_subject,
        0.03,
    );
    near(
        inj.cosmetic_variants - inj.relayed_duplicates,
        n - inj.relayed_duplicates,
        mix.cosmetic,
        0.03,
    );
    assert!(inj.repeat_subject_records > n / 10);
    assert!(inj.legacy_15_digit_ids > 0);
    assert!(inj.retired_division_subjects > 0);
    assert!(inj.name_variants > 0);
    assert!(inj.missing_optional_ids > 0);
    let k = &s.key_styles;
    assert_eq!(
        k.column + k.chinese + k.english_nested + k.english_dotted,
        n
    );
    assert!(k.column > 0 && k.chinese > 0 && k.english_nested > 0 && k.english_dotted > 0);
    let kinds = &s.subject_kinds;
    assert!(kinds.legal_person > 0 && kinds.natural_person > 0 && kinds.individual_business > 0);
    for p in Party::ALL {
        assert!(
            s.deciding_parties.get(&p).copied().unwrap_or(0) > n / 20,
            "{p}"
        );
    }
    // The subjects' home divisions include retired ones, and legacy IDs are in the records.
    let retired = set
        .truth
        .subjects
        .values()
        .filter(|s| {
            data::RETIRED_DIVISIONS
                .iter()
                .any(|d| d.code == s.home_division)
        })
        .count();
    assert_eq!(retired, inj.retired_division_subjects);
}

#[test]
fn degenerate_options_never_panic() {
    let units = units();
    assert!(generate(&SimOptions::new(0, 1), &units).pushes.is_empty());
    assert!(generate(&SimOptions::new(50, 1), &[]).pushes.is_empty());
    for n in 1..12 {
        assert_eq!(
            generate(&SimOptions::new(n, n as u64), &units).pushes.len(),
            n
        );
    }
    let mut opts = SimOptions::new(200, 5);
    opts.mix = Mix {
        relayed_duplicate: 1.0,
        correction: 1.0,
        cross_border: 1.0,
        same_day: f64::NAN,
        invalid: 1.0,
        lead_relay: 2.0,
        other_party_subject: -1.0,
        repeat_subject: 1.0,
        legacy_id: 1.0,
        retired_division: 1.0,
        name_variant: 1.0,
        missing_optional: 1.0,
        cosmetic: 1.0,
    };
    let set = generate(&opts, &units);
    assert_eq!(set.pushes.len(), 200);
    check_normalization(&set, &registry());
    // One party only: no cross-border pairs, still the requested number of pushes.
    let shanghai: Vec<Unit> = units
        .into_iter()
        .filter(|u| u.party == Party::Shanghai)
        .collect();
    let set = generate(&SimOptions::new(100, 2), &shanghai);
    assert_eq!(set.pushes.len(), 100);
    assert!(
        set.truth
            .conflicts
            .iter()
            .all(|c| c.records[0].authority.party() != c.records[1].authority.party())
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    #[test]
    fn generated_identifiers_pass_the_checksum_validators(seed in any::<u64>()) {
        let set = sim(150, seed);
        for s in set.truth.subjects.values() {
            if let Some(u) = &s.uscc {
                prop_assert_eq!(normalize_uscc(u), Ok(u.clone()));
                let division: String = u.chars().skip(2).take(6).collect();
                prop_assert_eq!(&division, &s.home_division);
                let org: String = u.chars().skip(8).take(9).collect();
                prop_assert!(crate::normalize::ids::normalize_org_code(&org).is_ok());
            }
            if let Some(id) = &s.id_no {
                prop_assert_eq!(normalize_resident_id(id), Ok(id.clone()));
                prop_assert!(id.starts_with(&s.home_division));
            }
            prop_assert_eq!(Party::from_division(&s.home_division), Some(s.home_party));
        }
        let ctx = ctx(&set);
        for (p, t) in set.pushes.iter().zip(&set.truth.pushes).take(60) {
            prop_assert_eq!(normalize_record(&p.record, &ctx).is_ok(), t.defect.is_none());
        }
    }
}
