//! Jurisdiction conflicts (管辖冲突): the same act of one subject penalized by two authorities.
//! The record whose case was filed first keeps jurisdiction (谁先予立案,谁负责处理, art. 25);
//! the others are linked to it and never counted a second time (一事不二罚, art. 29).
//!
//! Pure. The store hands in every live penalty of one strongly identified subject; [`groups`]
//! answers which of them form conflicts and who wins each. The answer depends only on the set
//! of penalties (and the pairs operators settled as distinct), never on their order: that is
//! what makes the outcome independent of which record arrived first.
//!
//! Same act = different deciding authorities, the same violation type (catalogue code, else the
//! folded text), effective dates (filing, else decision) within the window, and facts alike:
//! when both facts name the day of the act, those days agree (± tolerance) and the texts share
//! at least `min_similarity` of their character bigrams; when either names none, the texts must
//! share at least `min_similarity_undated`. The place is not compared: each side describes its
//! own side of the border (see docs/DEDUP.md).

use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Thresholds of the matcher (`[conflicts]` in the settings).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConflictConfig {
    /// Largest gap, in days, between the two records' effective dates (filing, else decision).
    pub window_days: i64,
    /// Largest gap, in days, between act days named in the facts.
    pub act_date_tolerance_days: i64,
    /// Least bigram similarity (Dice, 0–1) of the facts when both name the same act day.
    pub min_similarity: f64,
    /// Least bigram similarity when either facts name no day.
    pub min_similarity_undated: f64,
}

impl Default for ConflictConfig {
    fn default() -> Self {
        ConflictConfig {
            window_days: 30,
            act_date_tolerance_days: 0,
            min_similarity: 0.3,
            min_similarity_undated: 0.6,
        }
    }
}

/// What the matcher sees of one penalty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Penalty {
    /// The record id.
    pub record_id: String,
    /// Deciding authority (unit code).
    pub authority: String,
    /// Catalogue code, or `text:` and the folded type.
    pub violation_key: String,
    /// 立案日期.
    pub filed_date: Option<NaiveDate>,
    /// 处罚决定日期.
    pub decision_date: NaiveDate,
    /// 违法事实, folded.
    pub facts: String,
}

impl Penalty {
    /// Who filed first: earlier filing date (else decision date), then earlier decision, then
    /// the smaller record id — a total order, so the winner never depends on arrival.
    pub fn precedence(&self) -> (NaiveDate, NaiveDate, &str) {
        (
            self.filed_date.unwrap_or(self.decision_date),
            self.decision_date,
            &self.record_id,
        )
    }
}

/// One conflict: the records of one act, and the one that keeps jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Every record of the act, sorted.
    pub members: BTreeSet<String>,
    /// The record filed first.
    pub winner: String,
}

/// The days of the act the facts name (`2025年3月5日`, `2025-03-05`, `2025/3/5`, `2025.3.5`).
pub fn act_dates(facts: &str) -> BTreeSet<NaiveDate> {
    let chars: Vec<char> = facts.chars().collect();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some((date, used)) = date_at(&chars, i) {
            out.insert(date);
            i += used;
        } else {
            i += 1;
        }
    }
    out
}

fn digits_at(chars: &[char], at: usize, max: usize) -> Option<(u32, usize)> {
    let mut value = 0u32;
    let mut n = 0;
    while n < max {
        match chars.get(at + n).and_then(|c| c.to_digit(10)) {
            Some(d) => {
                value = value * 10 + d;
                n += 1;
            }
            None => break,
        }
    }
    (n > 0).then_some((value, n))
}

fn date_at(chars: &[char], at: usize) -> Option<(NaiveDate, usize)> {
    if at > 0 && chars.get(at - 1).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let (year, ny) = digits_at(chars, at, 4)?;
    if ny != 4 {
        return None;
    }
    let sep = *chars.get(at + 4)?;
    let (month_sep, day_sep) = match sep {
        '年' => ('月', Some('日')),
        '-' | '/' | '.' => (sep, None),
        _ => return None,
    };
    let (month, nm) = digits_at(chars, at + 5, 2)?;
    if *chars.get(at + 5 + nm)? != month_sep {
        return None;
    }
    let (day, nd) = digits_at(chars, at + 6 + nm, 2)?;
    let mut used = 6 + nm + nd;
    if let Some(end) = day_sep {
        if chars.get(at + used) != Some(&end) {
            return None;
        }
        used += 1;
    } else if chars.get(at + used).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day).map(|d| (d, used))
}

fn bigrams(text: &str) -> BTreeMap<(char, char), usize> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation() && !"，。、；：".contains(*c))
        .collect();
    let mut out = BTreeMap::new();
    for w in chars.windows(2) {
        if let [a, b] = w {
            *out.entry((*a, *b)).or_insert(0) += 1;
        }
    }
    out
}

/// Dice coefficient of the two texts' character bigrams (multisets), 0 to 1; two texts
/// without bigrams are alike only when equal.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (ga, gb) = (bigrams(a), bigrams(b));
    let total: usize = ga.values().sum::<usize>() + gb.values().sum::<usize>();
    if total == 0 {
        return if a == b { 1.0 } else { 0.0 };
    }
    let shared: usize = ga
        .iter()
        .map(|(k, n)| (*n).min(gb.get(k).copied().unwrap_or(0)))
        .sum();
    #[expect(clippy::cast_precision_loss, reason = "bigram counts of short texts")]
    let dice = 2.0 * shared as f64 / total as f64;
    dice
}

/// Whether two penalties are the same act under `cfg` (module docs). Symmetric.
pub fn same_act(a: &Penalty, b: &Penalty, cfg: &ConflictConfig) -> bool {
    if a.record_id == b.record_id
        || a.authority == b.authority
        || a.violation_key != b.violation_key
    {
        return false;
    }
    let (ea, eb) = (a.precedence().0, b.precedence().0);
    if (ea - eb).num_days().abs() > cfg.window_days {
        return false;
    }
    let (da, db) = (act_dates(&a.facts), act_dates(&b.facts));
    let sim = similarity(&a.facts, &b.facts);
    if da.is_empty() || db.is_empty() {
        return sim >= cfg.min_similarity_undated;
    }
    let days_agree = da.iter().any(|x| {
        db.iter()
            .any(|y| (*x - *y).num_days().abs() <= cfg.act_date_tolerance_days)
    });
    days_agree && sim >= cfg.min_similarity
}

/// The conflicts among one subject's live penalties: the connected groups of [`same_act`]
/// pairs, leaving out pairs in `settled` (record ids, either order) that units settled as two
/// acts. Each group's winner is the member with the least [`Penalty::precedence`]. Groups come
/// sorted by winner; the result does not depend on the order of `penalties`.
pub fn groups(
    penalties: &[Penalty],
    settled: &HashSet<(String, String)>,
    cfg: &ConflictConfig,
) -> Vec<Group> {
    let mut sorted: Vec<&Penalty> = penalties.iter().collect();
    sorted.sort_by(|a, b| a.record_id.cmp(&b.record_id));
    sorted.dedup_by(|a, b| a.record_id == b.record_id);
    let n = sorted.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while let Some(&p) = parent.get(i) {
            if p == i {
                break;
            }
            let grand = parent.get(p).copied().unwrap_or(p);
            if let Some(slot) = parent.get_mut(i) {
                *slot = grand;
            }
            i = p;
        }
        i
    }
    for i in 0..n {
        for j in (i + 1)..n {
            let (Some(a), Some(b)) = (sorted.get(i), sorted.get(j)) else {
                continue;
            };
            let pair = (a.record_id.clone(), b.record_id.clone());
            let flipped = (pair.1.clone(), pair.0.clone());
            if settled.contains(&pair) || settled.contains(&flipped) || !same_act(a, b, cfg) {
                continue;
            }
            let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
            if let Some(slot) = parent.get_mut(ra.max(rb)) {
                *slot = ra.min(rb);
            }
        }
    }
    let mut by_root: BTreeMap<usize, Vec<&Penalty>> = BTreeMap::new();
    for (i, p) in sorted.iter().enumerate() {
        by_root.entry(root(&mut parent, i)).or_default().push(p);
    }
    let mut out: Vec<Group> = by_root
        .into_values()
        .filter(|m| m.len() > 1)
        .filter_map(|members| {
            let winner = members
                .iter()
                .min_by(|a, b| a.precedence().cmp(&b.precedence()))?;
            Some(Group {
                winner: winner.record_id.clone(),
                members: members.iter().map(|p| p.record_id.clone()).collect(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.winner.cmp(&b.winner));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn penalty(id: &str, authority: &str, filed: NaiveDate, facts: &str) -> Penalty {
        Penalty {
            record_id: id.into(),
            authority: authority.into(),
            violation_key: "construction_waste_dumping".into(),
            filed_date: Some(filed),
            decision_date: filed + chrono::Duration::days(10),
            facts: facts.into(),
        }
    }

    const FACTS_A: &str = "当事人于2025年3月5日在吴江区汾湖大道88号附近擅自倾倒建筑垃圾约30立方米，未按规定地点处置。";
    const FACTS_B: &str =
        "当事人于2025年3月5日在青浦区金泽镇318国道旁擅自倾倒建筑垃圾约30立方米，未按规定地点处置。";
    const FACTS_OTHER_DAY: &str = "当事人于2025年3月19日在青浦区金泽镇318国道旁擅自倾倒建筑垃圾约12立方米，未按规定地点处置。";

    #[test]
    fn act_days_are_read_in_the_usual_formats() {
        assert_eq!(
            act_dates("于2025年3月5日10时许，又于2025-03-07、2025/3/9和2025.3.11"),
            [d(2025, 3, 5), d(2025, 3, 7), d(2025, 3, 9), d(2025, 3, 11)]
                .into_iter()
                .collect()
        );
        assert!(act_dates("约2025立方米，编号12025-3-5X，20250305").is_empty());
        assert!(act_dates("2025年13月5日、2025年2月30日").is_empty());
        assert!(act_dates("沪A12345号车").is_empty());
    }

    #[test]
    fn the_same_act_across_a_border_matches_and_the_first_filed_wins() {
        let cfg = ConflictConfig::default();
        let a = penalty("rec_a", "JS-320500", d(2025, 3, 9), FACTS_A);
        let b = penalty("rec_b", "SH-310118", d(2025, 3, 7), FACTS_B);
        assert!(same_act(&a, &b, &cfg));
        let g = groups(&[a.clone(), b.clone()], &HashSet::new(), &cfg);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].winner, "rec_b");
        // Settled as two acts by the units: no conflict.
        let settled: HashSet<_> = [("rec_b".to_owned(), "rec_a".to_owned())].into();
        assert!(groups(&[a, b], &settled, &cfg).is_empty());
    }

    #[test]
    fn different_acts_do_not_match() {
        let cfg = ConflictConfig::default();
        let a = penalty("rec_a", "JS-320500", d(2025, 3, 9), FACTS_A);
        // Another day of dumping: two acts, two penalties.
        let later = penalty("rec_c", "SH-310118", d(2025, 3, 20), FACTS_OTHER_DAY);
        assert!(!same_act(&a, &later, &cfg));
        // The same authority: a duplicate or a second decision, never a conflict.
        let same_unit = penalty("rec_d", "JS-320500", d(2025, 3, 9), FACTS_B);
        assert!(!same_act(&a, &same_unit, &cfg));
        // Another violation type on the same day.
        let mut other_type = penalty("rec_e", "SH-310118", d(2025, 3, 7), FACTS_B);
        other_type.violation_key = "construction_waste_transport".into();
        assert!(!same_act(&a, &other_type, &cfg));
        // Filed far apart.
        let far = penalty("rec_f", "SH-310118", d(2025, 6, 7), FACTS_B);
        assert!(!same_act(&a, &far, &cfg));
        // Undated facts need closer texts.
        let undated_a = penalty(
            "rec_g",
            "JS-320500",
            d(2025, 3, 9),
            "当事人擅自倾倒建筑垃圾。",
        );
        let undated_b = penalty(
            "rec_h",
            "SH-310118",
            d(2025, 3, 9),
            "当事人在道路上焚烧树叶，污染环境。",
        );
        assert!(!same_act(&undated_a, &undated_b, &cfg));
        let undated_c = penalty(
            "rec_i",
            "SH-310118",
            d(2025, 3, 9),
            "当事人擅自倾倒建筑垃圾。",
        );
        assert!(same_act(&undated_a, &undated_c, &cfg));
    }

    #[test]
    fn similarity_is_a_dice_coefficient() {
        assert!((similarity("abcd", "abcd") - 1.0).abs() < 1e-9);
        assert!(similarity("abcd", "wxyz").abs() < 1e-9);
        assert!((similarity("abc", "abd") - 0.5).abs() < 1e-9);
        assert!((similarity("", "") - 1.0).abs() < 1e-9);
    }

    fn arb_penalty() -> impl Strategy<Value = Penalty> {
        (
            0u32..6,
            0usize..4,
            0usize..2,
            0i64..40,
            proptest::option::of(0i64..5),
            0usize..3,
        )
            .prop_map(|(id, authority, vtype, filed, lag, facts)| {
                let base = d(2025, 3, 1);
                let filed = base + chrono::Duration::days(filed);
                Penalty {
                    record_id: format!("rec_{id}"),
                    authority: ["JS-320500", "SH-310118", "ZJ-330400", "AH-340100"][authority]
                        .into(),
                    violation_key: ["construction_waste_dumping", "text:其他"][vtype].into(),
                    filed_date: lag.map(|_| filed),
                    decision_date: filed + chrono::Duration::days(lag.unwrap_or(3)),
                    facts: [FACTS_A, FACTS_B, FACTS_OTHER_DAY][facts].into(),
                }
            })
    }

    proptest! {
        /// The winner and the groups do not depend on the order the records arrived in.
        #[test]
        fn groups_are_independent_of_arrival_order(
            mut ps in proptest::collection::vec(arb_penalty(), 0..8),
            seed in any::<u64>(),
        ) {
            // One penalty per record id (as in the store).
            ps.sort_by(|a, b| a.record_id.cmp(&b.record_id));
            ps.dedup_by(|a, b| a.record_id == b.record_id);
            let cfg = ConflictConfig::default();
            let expected = groups(&ps, &HashSet::new(), &cfg);
            let mut shuffled = ps.clone();
            let mut state = seed;
            for i in (1..shuffled.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let j = usize::try_from(state >> 33).unwrap() % (i + 1);
                shuffled.swap(i, j);
            }
            prop_assert_eq!(groups(&shuffled, &HashSet::new(), &cfg), expected.clone());
            // Every winner precedes every other member of its group; groups are disjoint.
            let mut seen = HashSet::new();
            for g in &expected {
                let w = ps.iter().find(|p| p.record_id == g.winner).unwrap();
                for m in &g.members {
                    prop_assert!(seen.insert(m.clone()));
                    let p = ps.iter().find(|p| &p.record_id == m).unwrap();
                    prop_assert!(w.precedence() <= p.precedence());
                }
            }
        }

        /// Matching is symmetric and never pairs a record with its own authority.
        #[test]
        fn same_act_is_symmetric(a in arb_penalty(), b in arb_penalty()) {
            let cfg = ConflictConfig::default();
            prop_assert_eq!(same_act(&a, &b, &cfg), same_act(&b, &a, &cfg));
            if a.authority == b.authority {
                prop_assert!(!same_act(&a, &b, &cfg));
            }
        }
    }
}
