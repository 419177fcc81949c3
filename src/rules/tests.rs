use super::flags::{Cause, FlagStatus, apply, reconcile};
use super::*;
use proptest::prelude::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn catalog() -> std::sync::Arc<Catalog> {
    Catalog::for_tests()
}

/// The shipped rules, checked against the catalogue once per test binary.
fn rules() -> RuleSet {
    static SHARED: std::sync::LazyLock<RuleSet> =
        std::sync::LazyLock::new(|| RuleSet::built_in(&catalog()).expect("the shipped rules"));
    SHARED.clone()
}

fn penalty(id: &str, party: Party, code: &str, fine_yuan: i64, date: NaiveDate) -> Counted {
    let c = catalog();
    Counted {
        record_id: id.into(),
        party,
        violation_code: Some(code.into()),
        violation_group: c.get(code).map(|t| t.group.clone()),
        categories: [PenaltyCategory::Fine].into(),
        fine_fen: Some(fine_yuan * 100),
        decision_date: date,
    }
}

fn verdict<'a>(v: &'a [Verdict], rule: &str) -> Option<&'a Verdict> {
    v.iter().find(|v| v.rule_id == rule)
}

#[test]
fn the_shipped_rules_load_with_the_three_defaults() {
    let r = rules();
    for id in [
        "cross_region_repeat",
        "construction_waste_cross_border",
        "licence_revoked",
    ] {
        assert!(r.get(id).is_some(), "{id}");
    }
    assert_eq!(
        r.get("cross_region_repeat").unwrap().severity,
        Severity::Focus
    );
    assert_eq!(r.get("licence_revoked").unwrap().duration_months, 36);
}

#[test]
fn bad_rules_are_refused_with_the_reason() {
    let c = catalog();
    let base = |when: &str| {
        format!(
            "[[rules]]\nid = \"x\"\ntitle_zh = \"甲\"\ntitle_en = \"A\"\nseverity = \"focus\"\n\
             measures = []\nduration_months = 12\n{when}"
        )
    };
    assert!(RuleSet::parse(&base("[[rules.when]]\nmin_count = 2\n"), &c).is_ok());
    let err = |text: String| RuleSet::parse(&text, &c).unwrap_err().0;
    assert!(err(base("")).contains("no [[rules.when]]"));
    assert!(err(base("[[rules.when]]\nmin_count = 0\n")).contains("min_count"));
    assert!(err(base("[[rules.when]]\nviolation_types = [\"nope\"]\n")).contains("catalogue"));
    assert!(err(base("[[rules.when]]\nviolation_groups = [\"nope\"]\n")).contains("catalogue"));
    assert!(err(base("[[rules.when]]\ncategories = [\"flogging\"]\n")).contains("flogging"));
    assert!(err(base("[[rules.when]]\ncolour = 1\n")).contains("colour"));
    assert!(
        err(base("[[rules.when]]\n").replace("severity = \"focus\"", "severity = \"x\""))
            .contains("x")
    );
    let twice = format!("{}\n{}", base("[[rules.when]]\n"), base("[[rules.when]]\n"));
    assert!(err(twice).contains("twice"));
}

#[test]
fn cross_region_repeat_needs_three_in_a_year_from_two_parties() {
    let r = rules();
    let dump = "construction_waste_dumping";
    let two = vec![
        penalty(
            "a",
            Party::Shanghai,
            "road_occupation_business",
            200,
            d(2025, 1, 10),
        ),
        penalty(
            "b",
            Party::Jiangsu,
            "road_occupation_business",
            200,
            d(2025, 6, 1),
        ),
    ];
    assert!(verdict(&evaluate(&r, &two), "cross_region_repeat").is_none());
    let mut three = two.clone();
    three.push(penalty("c", Party::Shanghai, dump, 200, d(2025, 12, 1)));
    let v = evaluate(&r, &three);
    let f = verdict(&v, "cross_region_repeat").unwrap();
    assert_eq!(f.basis.len(), 3);
    assert_eq!(f.from, d(2025, 12, 1));
    assert_eq!(f.until, d(2026, 12, 1));
    // Not quite: the third a year and a day after the first.
    let mut late = two.clone();
    late.push(penalty("c", Party::Shanghai, dump, 200, d(2026, 1, 11)));
    assert!(verdict(&evaluate(&r, &late), "cross_region_repeat").is_none());
    // Not quite: three in one party.
    let one_party: Vec<Counted> = three
        .iter()
        .map(|p| Counted {
            party: Party::Anhui,
            ..p.clone()
        })
        .collect();
    assert!(verdict(&evaluate(&r, &one_party), "cross_region_repeat").is_none());
}

#[test]
fn construction_waste_needs_two_parties_or_one_large_fine() {
    let r = rules();
    let id = "construction_waste_cross_border";
    let a = penalty(
        "a",
        Party::Shanghai,
        "construction_waste_transport",
        20_000,
        d(2024, 1, 1),
    );
    let b = penalty(
        "b",
        Party::Zhejiang,
        "construction_waste_spill",
        20_000,
        d(2025, 12, 1),
    );
    let v = evaluate(&r, &[a.clone(), b.clone()]);
    let f = verdict(&v, id).unwrap();
    assert_eq!(f.severity, Severity::Discipline);
    assert_eq!(f.until, d(2028, 12, 1));
    // Not quite: 731 days apart.
    let far = Counted {
        decision_date: d(2026, 1, 2),
        ..b.clone()
    };
    assert!(verdict(&evaluate(&r, &[a.clone(), far]), id).is_none());
    // Not quite: another group on the other side.
    let other = penalty(
        "b",
        Party::Zhejiang,
        "illegal_construction",
        20_000,
        d(2025, 12, 1),
    );
    assert!(verdict(&evaluate(&r, &[a.clone(), other]), id).is_none());
    // One fine of 100 000 yuan suffices; 99 999 does not.
    let big = penalty(
        "c",
        Party::Anhui,
        "construction_waste_dumping",
        100_000,
        d(2025, 3, 1),
    );
    assert_eq!(
        verdict(&evaluate(&r, std::slice::from_ref(&big)), id)
            .unwrap()
            .basis
            .len(),
        1
    );
    let almost = Counted {
        fine_fen: Some(9_999_900),
        ..big
    };
    assert!(verdict(&evaluate(&r, &[almost]), id).is_none());
}

#[test]
fn licence_revoked_holds_on_one_penalty() {
    let r = rules();
    let mut p = penalty(
        "a",
        Party::Jiangsu,
        "illegal_construction",
        0,
        d(2025, 5, 5),
    );
    assert!(verdict(&evaluate(&r, &[p.clone()]), "licence_revoked").is_none());
    p.categories.insert(PenaltyCategory::RevokeLicence);
    assert!(verdict(&evaluate(&r, &[p.clone()]), "licence_revoked").is_some());
    p.categories = [PenaltyCategory::OrderClosure].into();
    assert!(verdict(&evaluate(&r, &[p]), "licence_revoked").is_some());
}

#[test]
fn flags_move_through_their_states() {
    let r = rules();
    let big = penalty(
        "c",
        Party::Anhui,
        "construction_waste_dumping",
        200_000,
        d(2025, 3, 1),
    );
    let today = d(2025, 6, 1);
    let mut stored = BTreeMap::new();
    let v = by_rule(evaluate(&r, &[big]));
    let t = reconcile(&stored, &v, today, Cause::Change);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].after.status, FlagStatus::Active);
    apply(&mut stored, &t);
    // Nothing changes: no transition.
    assert!(reconcile(&stored, &v, today, Cause::Change).is_empty());
    // Its record revoked: withdrawn; repaired instead when the cause is a repair.
    let none = BTreeMap::new();
    let w = reconcile(&stored, &none, today, Cause::Change);
    assert_eq!(w[0].after.status, FlagStatus::Withdrawn);
    assert_eq!(w[0].after.version, 2);
    let rep = reconcile(&stored, &none, today, Cause::Repair);
    assert_eq!(rep[0].after.status, FlagStatus::Repaired);
    // Time passes: expired.
    let later = d(2028, 3, 2);
    let e = reconcile(&stored, &v, later, Cause::Change);
    assert_eq!(e[0].after.status, FlagStatus::Expired);
}

fn arb_counted() -> impl Strategy<Value = Counted> {
    let codes = [
        "construction_waste_dumping",
        "construction_waste_transport",
        "road_occupation_business",
        "illegal_construction",
    ];
    (
        0u32..12,
        0usize..4,
        0usize..4,
        0i64..150_000,
        0i64..1200,
        any::<bool>(),
    )
        .prop_map(move |(id, party, code, fine, day, revoke_licence)| {
            let mut p = penalty(
                &format!("r{id}"),
                Party::ALL[party],
                codes[code],
                fine,
                d(2023, 1, 1) + chrono::Duration::days(day),
            );
            if revoke_licence {
                p.categories.insert(PenaltyCategory::RevokeLicence);
            }
            p
        })
}

#[derive(Debug, Clone)]
enum Op {
    Push(Counted),
    Revoke(usize),
    Repair(usize),
}

fn arb_ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(
        prop_oneof![
            3 => arb_counted().prop_map(Op::Push),
            1 => (0usize..12).prop_map(Op::Revoke),
            1 => (0usize..12).prop_map(Op::Repair),
        ],
        1..25,
    )
}

proptest! {
    /// Incremental flags (reconciled after every push, correction, revocation and repair)
    /// equal a from-scratch evaluation of the final penalties; revoking never adds a flag.
    #[test]
    fn incremental_flags_equal_a_fresh_evaluation(ops in arb_ops()) {
        let r = rules();
        let today = d(2026, 3, 1);
        let mut records: BTreeMap<String, Counted> = BTreeMap::new();
        let mut stored = BTreeMap::new();
        for op in ops {
            let before_active: BTreeSet<String> = stored
                .values()
                .filter(|f: &&flags::FlagState| f.status == FlagStatus::Active)
                .map(|f| f.rule_id.clone())
                .collect();
            let (cause, revoking) = match op {
                Op::Push(p) => {
                    records.insert(p.record_id.clone(), p);
                    (Cause::Change, false)
                }
                Op::Revoke(i) => {
                    let key = records.keys().nth(i % records.len().max(1)).cloned();
                    if let Some(k) = key {
                        records.remove(&k);
                    }
                    (Cause::Change, true)
                }
                Op::Repair(i) => {
                    let key = records.keys().nth(i % records.len().max(1)).cloned();
                    if let Some(k) = key {
                        records.remove(&k);
                    }
                    (Cause::Repair, false)
                }
            };
            let now: Vec<Counted> = records.values().cloned().collect();
            let t = reconcile(&stored, &by_rule(evaluate(&r, &now)), today, cause);
            apply(&mut stored, &t);
            if revoking {
                let after_active: BTreeSet<String> = stored
                    .values()
                    .filter(|f| f.status == FlagStatus::Active)
                    .map(|f| f.rule_id.clone())
                    .collect();
                prop_assert!(after_active.is_subset(&before_active));
            }
        }
        let fresh: Vec<Counted> = records.values().cloned().collect();
        let want: BTreeMap<String, (BTreeSet<String>, NaiveDate)> = evaluate(&r, &fresh)
            .into_iter()
            .filter(|v| v.until > today)
            .map(|v| (v.rule_id, (v.basis, v.from)))
            .collect();
        let got: BTreeMap<String, (BTreeSet<String>, NaiveDate)> = stored
            .values()
            .filter(|f| f.status == FlagStatus::Active)
            .map(|f| (f.rule_id.clone(), (f.basis.clone(), f.from)))
            .collect();
        prop_assert_eq!(got, want);
    }

    /// The verdicts do not depend on the order of the penalties.
    #[test]
    fn evaluation_ignores_order(mut ps in proptest::collection::vec(arb_counted(), 0..12)) {
        let r = rules();
        ps.sort_by(|a, b| a.record_id.cmp(&b.record_id));
        ps.dedup_by(|a, b| a.record_id == b.record_id);
        let forward = evaluate(&r, &ps);
        ps.reverse();
        prop_assert_eq!(evaluate(&r, &ps), forward);
    }
}
