//! The flag state machine: `active` → `expired` | `repaired` | `withdrawn`, and back to
//! `active` when the rules hold again. Pure: the stored flags of one subject and the rules'
//! verdicts in, the transitions out.

use super::{Severity, Verdict};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where a flag stands.
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
pub enum FlagStatus {
    /// In force.
    Active,
    /// Its period ended.
    Expired,
    /// Ended early by credit repair (信用修复) of its basis.
    Repaired,
    /// Its basis no longer supports it (revoked, corrected, or lost a jurisdiction conflict).
    Withdrawn,
}

impl FlagStatus {
    /// snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagStatus::Active => "active",
            FlagStatus::Expired => "expired",
            FlagStatus::Repaired => "repaired",
            FlagStatus::Withdrawn => "withdrawn",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<FlagStatus> {
        match s {
            "active" => Some(FlagStatus::Active),
            "expired" => Some(FlagStatus::Expired),
            "repaired" => Some(FlagStatus::Repaired),
            "withdrawn" => Some(FlagStatus::Withdrawn),
            _ => None,
        }
    }
}

/// A flag's state (one per subject and rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagState {
    /// The rule.
    pub rule_id: String,
    /// Severity.
    pub severity: Severity,
    /// Where it stands.
    pub status: FlagStatus,
    /// The penalties it rests on.
    pub basis: BTreeSet<String>,
    /// Start.
    pub from: NaiveDate,
    /// End (exclusive).
    pub until: NaiveDate,
    /// Changes so far, from 1.
    pub version: i64,
}

/// Why the subject is re-evaluated: a repair turns lost support into `repaired`, anything else
/// into `withdrawn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A push, correction, revocation, conflict change or the passing of time.
    Change,
    /// Credit repair of records (or of a flag's basis).
    Repair,
}

/// One change of a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Before (absent: a new flag).
    pub before: Option<FlagState>,
    /// After.
    pub after: FlagState,
}

/// The transitions that make the stored flags `stored` (by rule) equal to what `verdicts` say
/// on `today`.
pub fn reconcile(
    stored: &BTreeMap<String, FlagState>,
    verdicts: &BTreeMap<String, Verdict>,
    today: NaiveDate,
    cause: Cause,
) -> Vec<Transition> {
    let mut out = Vec::new();
    let rules: BTreeSet<&String> = stored.keys().chain(verdicts.keys()).collect();
    for rule in rules {
        let s = stored.get(rule);
        let v = verdicts.get(rule);
        let live = v.filter(|v| v.until > today);
        let next = |status: FlagStatus, v: &Verdict, version: i64| FlagState {
            rule_id: rule.clone(),
            severity: v.severity,
            status,
            basis: v.basis.clone(),
            from: v.from,
            until: v.until,
            version,
        };
        let after = match (s, live, v) {
            (None, Some(v), _) => Some(next(FlagStatus::Active, v, 1)),
            (None, None, _) => None,
            (Some(s), Some(v), _) => {
                let same = s.status == FlagStatus::Active
                    && s.basis == v.basis
                    && s.from == v.from
                    && s.until == v.until
                    && s.severity == v.severity;
                (!same).then(|| next(FlagStatus::Active, v, s.version + 1))
            }
            (Some(s), None, Some(v)) if s.status == FlagStatus::Active => {
                // The rule still holds, but its period has passed.
                Some(next(FlagStatus::Expired, v, s.version + 1))
            }
            (Some(s), None, _) if s.status == FlagStatus::Active => Some(FlagState {
                status: match cause {
                    Cause::Repair => FlagStatus::Repaired,
                    Cause::Change if s.until <= today => FlagStatus::Expired,
                    Cause::Change => FlagStatus::Withdrawn,
                },
                version: s.version + 1,
                ..s.clone()
            }),
            (Some(_), None, _) => None,
        };
        if let Some(after) = after {
            out.push(Transition {
                before: s.cloned(),
                after,
            });
        }
    }
    out
}

/// Applies transitions to a stored map (what the store does with them).
pub fn apply(stored: &mut BTreeMap<String, FlagState>, transitions: &[Transition]) {
    for t in transitions {
        stored.insert(t.after.rule_id.clone(), t.after.clone());
    }
}
