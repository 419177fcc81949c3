//! Publicity periods (公示期限) of penalty information and the earliest date of credit repair.
//!
//! Pure. The periods follow 失信行为纠正后的信用信息修复管理办法(试行) (NDRC Order 2023 No. 58,
//! in force 2023-05-01): public at least 3 months and at most 3 years from the decision date;
//! special equipment, work safety and fire safety at least 1 year; with several penalty types
//! in one decision the longest period applies. The numbers live in [`PublicityConfig`], not in
//! code, so a change of rules is a configuration change.

use chrono::{Months, NaiveDate};
use serde::Deserialize;

/// Publicity periods, in months from the decision date (NDRC Order 2023 No. 58).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicityConfig {
    /// Maximum publicity: 3 years (36 months); publicity ends by itself then (Order 58, art. 9).
    pub max_months: u32,
    /// Minimum publicity of general penalty information: 3 months; repair possible after.
    pub min_months_general: u32,
    /// Minimum publicity in special areas (special equipment, work safety, fire safety): 1 year.
    pub min_months_special: u32,
    /// Words that mark a special area when they occur in 违法行为类型 or 处罚依据.
    pub special_keywords: Vec<String>,
}

impl Default for PublicityConfig {
    /// The values of NDRC Order 2023 No. 58.
    fn default() -> Self {
        PublicityConfig {
            max_months: 36,
            min_months_general: 3,
            min_months_special: 12,
            special_keywords: vec!["特种设备".into(), "安全生产".into(), "消防".into()],
        }
    }
}

/// Why publicity dates cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicityError {
    /// The given end lies before the decision date.
    #[error("publicity ends {until} before the decision date {decision}")]
    BeforeDecision {
        /// The given end.
        until: NaiveDate,
        /// The decision date.
        decision: NaiveDate,
    },
    /// Month arithmetic left the calendar range.
    #[error("date out of range")]
    OutOfRange,
}

/// The computed publicity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publicity {
    /// 公示截止期: given, or decision date + maximum.
    pub until: NaiveDate,
    /// Earliest end by credit repair: decision date + the longest applicable minimum.
    pub min_until: NaiveDate,
    /// The given end is shorter than the minimum (kept as given; a warning).
    pub below_minimum: bool,
    /// The given end is longer than the maximum (kept as given; a warning).
    pub above_maximum: bool,
}

/// True when any special keyword occurs in one of the texts.
pub fn is_special(config: &PublicityConfig, texts: &[&str]) -> bool {
    config
        .special_keywords
        .iter()
        .filter(|k| !k.is_empty())
        .any(|k| texts.iter().any(|t| t.contains(k.as_str())))
}

/// Computes the publicity window of a decision.
pub fn compute(
    config: &PublicityConfig,
    decision_date: NaiveDate,
    given_until: Option<NaiveDate>,
    violation_type: &str,
    legal_basis: &str,
) -> Result<Publicity, PublicityError> {
    let add = |months: u32| {
        decision_date
            .checked_add_months(Months::new(months))
            .ok_or(PublicityError::OutOfRange)
    };
    let min_months = if is_special(config, &[violation_type, legal_basis]) {
        config.min_months_special.max(config.min_months_general)
    } else {
        config.min_months_general
    };
    let min_until = add(min_months)?;
    let max_until = add(config.max_months)?;
    match given_until {
        Some(until) if until < decision_date => Err(PublicityError::BeforeDecision {
            until,
            decision: decision_date,
        }),
        Some(until) => Ok(Publicity {
            until,
            min_until,
            below_minimum: until < min_until,
            above_maximum: until > max_until,
        }),
        None => Ok(Publicity {
            until: max_until,
            min_until,
            below_minimum: false,
            above_maximum: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn computed_windows() {
        let c = PublicityConfig::default();
        let p = compute(
            &c,
            d(2023, 3, 30),
            None,
            "违法建设",
            "《城乡规划法》第六十四条",
        )
        .unwrap();
        assert_eq!((p.until, p.min_until), (d(2026, 3, 30), d(2023, 6, 30)));
        let p = compute(&c, d(2023, 3, 30), None, "消防通道占用", "《消防法》").unwrap();
        assert_eq!(p.min_until, d(2024, 3, 30));
        let p = compute(&c, d(2023, 1, 1), None, "x", "《中华人民共和国安全生产法》").unwrap();
        assert_eq!(p.min_until, d(2024, 1, 1));
        // Month-end clamps instead of overflowing into the next month.
        let p = compute(&c, d(2023, 11, 30), None, "x", "y").unwrap();
        assert_eq!(p.min_until, d(2024, 2, 29));
        let p = compute(&c, d(2024, 2, 29), None, "x", "y").unwrap();
        assert_eq!(p.until, d(2027, 2, 28));
    }

    #[test]
    fn given_end_is_kept_and_checked() {
        let c = PublicityConfig::default();
        let p = compute(&c, d(2023, 3, 30), Some(d(2023, 5, 1)), "x", "y").unwrap();
        assert_eq!(p.until, d(2023, 5, 1));
        assert!(p.below_minimum && !p.above_maximum);
        let p = compute(&c, d(2023, 3, 30), Some(d(2030, 1, 1)), "x", "y").unwrap();
        assert!(p.above_maximum);
        assert_eq!(
            compute(&c, d(2023, 3, 30), Some(d(2023, 3, 29)), "x", "y"),
            Err(PublicityError::BeforeDecision {
                until: d(2023, 3, 29),
                decision: d(2023, 3, 30)
            })
        );
    }

    #[test]
    fn config_deserializes_with_defaults() {
        let c: PublicityConfig = toml_like(r#"{"max_months": 24}"#);
        assert_eq!(c.max_months, 24);
        assert_eq!(c.min_months_special, 12);
        assert!(serde_json::from_str::<PublicityConfig>(r#"{"maxmonths": 1}"#).is_err());
    }

    fn toml_like(json: &str) -> PublicityConfig {
        serde_json::from_str(json).unwrap()
    }
}
