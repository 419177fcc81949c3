//! Joint-discipline rules (信用联惩): `config/rules.toml`, checked at load, and their evaluation
//! over one subject's counted penalties.
//!
//! Pure: [`RuleSet::parse`] takes the file's text and the catalogue; [`evaluate`] takes the
//! counted penalties and answers, per rule that holds, the flag the subject should carry. The
//! result is a function of the set of penalties (never of their order), which is what lets the
//! store keep flags equal to a from-scratch evaluation.
//!
//! Invariants (checked by [`RuleSet::parse`]): unique snake_case ids, at least one alternative
//! per rule, counts ≥ 1, violation types and groups that exist in the catalogue, a positive
//! duration.

pub mod exemptions;
pub mod flags;

use crate::domain::party::Party;
use crate::domain::record::PenaltyCategory;
use crate::normalize::Catalog;
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The built-in copy of `config/rules.toml`, used when no `rules_file` is configured.
pub const BUILT_IN: &str = include_str!("../../config/rules.toml");

/// How heavy a flag is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 重点关注: closer supervision.
    Focus,
    /// 联合惩戒: joint discipline measures.
    Discipline,
}

impl Severity {
    /// snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Focus => "focus",
            Severity::Discipline => "discipline",
        }
    }
}

/// One alternative of a rule (module docs of `config/rules.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Catalogue codes; empty: any type.
    #[serde(default)]
    pub violation_types: Vec<String>,
    /// Catalogue groups; empty: any group.
    #[serde(default)]
    pub violation_groups: Vec<String>,
    /// Penalty categories, any of; empty: any.
    #[serde(default)]
    pub categories: Vec<PenaltyCategory>,
    /// Least fine, in yuan.
    #[serde(default)]
    pub min_fine_yuan: Option<i64>,
    /// Least number of matching penalties.
    #[serde(default = "one")]
    pub min_count: u32,
    /// Least number of distinct parties among them.
    #[serde(default = "one")]
    pub min_parties: u32,
    /// Decision dates within this many days of the latest one; absent: no window.
    #[serde(default)]
    pub window_days: Option<u32>,
}

fn one() -> u32 {
    1
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id (`cross_region_repeat`).
    pub id: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// Severity of the flag.
    pub severity: Severity,
    /// Measures published with the flag.
    pub measures: Vec<String>,
    /// How long a flag lasts from its start, in months.
    pub duration_months: u32,
    /// Alternatives; the rule holds when any holds.
    #[serde(default)]
    pub when: Vec<Condition>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rules: Vec<Rule>,
}

/// A rules file that failed its checks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("rules are not valid: {0}")]
pub struct RulesError(pub String);

/// The loaded rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The built-in rules, checked against `catalog`.
    pub fn built_in(catalog: &Catalog) -> Result<RuleSet, RulesError> {
        RuleSet::parse(BUILT_IN, catalog)
    }

    /// Parses and checks a rules file.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<RuleSet, RulesError> {
        let file: RulesFile = toml::from_str(text).map_err(|e| RulesError(e.to_string()))?;
        let groups: HashSet<&str> = catalog.types().iter().map(|t| t.group.as_str()).collect();
        let mut ids = HashSet::new();
        for r in &file.rules {
            let snake = !r.id.is_empty()
                && r.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !snake {
                return Err(RulesError(format!(
                    "rule id {:?}: expected snake_case",
                    r.id
                )));
            }
            if !ids.insert(r.id.as_str()) {
                return Err(RulesError(format!("rule id {:?} appears twice", r.id)));
            }
            if r.when.is_empty() {
                return Err(RulesError(format!("rule {}: no [[rules.when]]", r.id)));
            }
            if r.duration_months == 0 {
                return Err(RulesError(format!(
                    "rule {}: duration_months must be ≥ 1",
                    r.id
                )));
            }
            for c in &r.when {
                if c.min_count == 0 || c.min_parties == 0 || c.min_parties > 4 {
                    return Err(RulesError(format!(
                        "rule {}: min_count must be ≥ 1 and min_parties 1 to 4",
                        r.id
                    )));
                }
                if let Some(t) = c.violation_types.iter().find(|t| catalog.get(t).is_none()) {
                    return Err(RulesError(format!(
                        "rule {}: violation type {t:?} is not in the catalogue",
                        r.id
                    )));
                }
                if let Some(g) = c
                    .violation_groups
                    .iter()
                    .find(|g| !groups.contains(g.as_str()))
                {
                    return Err(RulesError(format!(
                        "rule {}: violation group {g:?} is not in the catalogue",
                        r.id
                    )));
                }
                if c.min_fine_yuan.is_some_and(|f| f < 0) {
                    return Err(RulesError(format!("rule {}: min_fine_yuan < 0", r.id)));
                }
            }
        }
        Ok(RuleSet { rules: file.rules })
    }

    /// Every rule, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// A penalty that counts against its subject (the caller decides which do: module docs of
/// `config/rules.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    /// Record id.
    pub record_id: String,
    /// Party of the deciding authority.
    pub party: Party,
    /// Catalogue code of its violation type.
    pub violation_code: Option<String>,
    /// Catalogue group.
    pub violation_group: Option<String>,
    /// Its penalty categories.
    pub categories: BTreeSet<PenaltyCategory>,
    /// Fine in fen.
    pub fine_fen: Option<i64>,
    /// 处罚决定日期.
    pub decision_date: NaiveDate,
}

/// A flag a rule says the subject should carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The rule.
    pub rule_id: String,
    /// Its severity.
    pub severity: Severity,
    /// The penalties of the satisfying set.
    pub basis: BTreeSet<String>,
    /// Start: the decision date of the penalty that completed the set.
    pub from: NaiveDate,
    /// End (exclusive): start plus the rule's duration.
    pub until: NaiveDate,
}

fn matches(c: &Condition, p: &Counted) -> bool {
    let type_ok = c.violation_types.is_empty()
        || p.violation_code
            .as_ref()
            .is_some_and(|v| c.violation_types.contains(v));
    let group_ok = c.violation_groups.is_empty()
        || p.violation_group
            .as_ref()
            .is_some_and(|g| c.violation_groups.contains(g));
    let category_ok =
        c.categories.is_empty() || c.categories.iter().any(|k| p.categories.contains(k));
    let fine_ok = c
        .min_fine_yuan
        .is_none_or(|min| p.fine_fen.is_some_and(|f| f >= min.saturating_mul(100)));
    type_ok && group_ok && category_ok && fine_ok
}

/// The most recent set satisfying `c`: the latest penalty (by date, then id) whose window holds
/// enough penalties from enough parties. Returns (completing date, basis).
fn latest_set(c: &Condition, penalties: &[&Counted]) -> Option<(NaiveDate, BTreeSet<String>)> {
    let mut matching: Vec<&Counted> = penalties
        .iter()
        .copied()
        .filter(|p| matches(c, p))
        .collect();
    matching.sort_by(|a, b| (a.decision_date, &a.record_id).cmp(&(b.decision_date, &b.record_id)));
    for end in matching.iter().rev() {
        let start = c
            .window_days
            .map(|d| end.decision_date - chrono::Duration::days(i64::from(d)));
        let window: Vec<&&Counted> = matching
            .iter()
            .filter(|p| {
                p.decision_date <= end.decision_date && start.is_none_or(|s| p.decision_date >= s)
            })
            .collect();
        let parties: BTreeSet<Party> = window.iter().map(|p| p.party).collect();
        if window.len() >= c.min_count as usize && parties.len() >= c.min_parties as usize {
            return Some((
                end.decision_date,
                window.iter().map(|p| p.record_id.clone()).collect(),
            ));
        }
    }
    None
}

/// What the rules say about one subject's counted penalties: one verdict per rule that holds,
/// from its alternative with the latest completing date (the first alternative on a tie).
pub fn evaluate(rules: &RuleSet, penalties: &[Counted]) -> Vec<Verdict> {
    let refs: Vec<&Counted> = penalties.iter().collect();
    let mut out = Vec::new();
    for rule in rules.rules() {
        let mut best: Option<(NaiveDate, BTreeSet<String>)> = None;
        for c in &rule.when {
            if let Some((date, basis)) = latest_set(c, &refs)
                && best.as_ref().is_none_or(|(d, _)| date > *d)
            {
                best = Some((date, basis));
            }
        }
        if let Some((from, basis)) = best {
            let until = from
                .checked_add_months(Months::new(rule.duration_months))
                .unwrap_or(NaiveDate::MAX);
            out.push(Verdict {
                rule_id: rule.id.clone(),
                severity: rule.severity,
                basis,
                from,
                until,
            });
        }
    }
    out
}

/// Verdicts keyed by rule id.
pub fn by_rule(verdicts: Vec<Verdict>) -> BTreeMap<String, Verdict> {
    verdicts
        .into_iter()
        .map(|v| (v.rule_id.clone(), v))
        .collect()
}

#[cfg(test)]
mod tests;
