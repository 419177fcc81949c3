//! Member units (成员单位) and their codes.
//!
//! Owns [`UnitCode`], the validated identifier every member unit is known by in certificates,
//! the API and the database, and [`Unit`], one entry of the unit registry.
//!
//! Pure: depends only on `domain::party`; knows nothing of HTTP, SQL or the registry's tree.
//!
//! Invariants: a `UnitCode` always has the shape `<PARTY>-<6 digits>[-<SUFFIX>]` with an
//! upper-case party code, a six-digit GB/T 2260 division whose province prefix belongs to that
//! party, and an optional suffix of 1–12 characters `[A-Z0-9]`. Codes are compared exactly:
//! no case folding, no trimming, so one unit has exactly one spelling.

use crate::domain::party::{Level, Party};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest suffix allowed after the division code.
const MAX_SUFFIX_CHARS: usize = 12;

/// Why a text is not a unit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitCodeError {
    /// Not two or three `-`-separated parts.
    #[error("unit code {0:?} must look like SH-310106 or SH-310106-PPZ")]
    Shape(String),
    /// The first part is not one of `SH`, `JS`, `ZJ`, `AH` (upper case).
    #[error("unit code {0:?} must start with SH, JS, ZJ or AH")]
    UnknownParty(String),
    /// The second part is not six ASCII digits.
    #[error("unit code {0:?}: the division must be six digits (GB/T 2260)")]
    Division(String),
    /// The division's province prefix belongs to another party (or to none).
    #[error("unit code {0:?}: the division's province prefix does not belong to the party")]
    PartyMismatch(String),
    /// The suffix is empty, longer than 12 characters, or not `[A-Z0-9]`.
    #[error("unit code {0:?}: the suffix must be 1-12 characters A-Z or 0-9")]
    Suffix(String),
}

/// 单位编码: the code of a member unit, `<PARTY>-<GB/T 2260 division>[-<SUFFIX>]`, e.g.
/// `SH-310000` (the Shanghai lead), `SH-310106` (静安区), `SH-310106-PPZ` (彭浦镇).
///
/// Serialized as its text; deserializing validates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode {
    text: String,
    party: Party,
}

impl UnitCode {
    /// Validates `text` as a unit code. The text must already be in canonical form (upper case,
    /// no surrounding blanks): a code is an identifier, not free text to be folded.
    pub fn parse(text: &str) -> Result<UnitCode, UnitCodeError> {
        let err_text = || text.to_owned();
        let mut parts = text.split('-');
        let (Some(party), Some(division)) = (parts.next(), parts.next()) else {
            return Err(UnitCodeError::Shape(err_text()));
        };
        let suffix = parts.next();
        if parts.next().is_some() {
            return Err(UnitCodeError::Shape(err_text()));
        }
        let party = Party::ALL
            .into_iter()
            .find(|p| p.code() == party)
            .ok_or_else(|| UnitCodeError::UnknownParty(err_text()))?;
        if division.len() != 6 || !division.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UnitCodeError::Division(err_text()));
        }
        if Party::from_division(division) != Some(party) {
            return Err(UnitCodeError::PartyMismatch(err_text()));
        }
        if let Some(suffix) = suffix {
            let chars = suffix.chars().count();
            let charset_ok = suffix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if chars == 0 || chars > MAX_SUFFIX_CHARS || !charset_ok {
                return Err(UnitCodeError::Suffix(err_text()));
            }
        }
        Ok(UnitCode {
            text: text.to_owned(),
            party,
        })
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The party named by the code's prefix.
    pub fn party(&self) -> Party {
        self.party
    }

    /// The six-digit GB/T 2260 division embedded in the code.
    pub fn division(&self) -> &str {
        self.text.split('-').nth(1).unwrap_or_default()
    }

    /// The suffix after the division (`PPZ` in `SH-310106-PPZ`), if any.
    pub fn suffix(&self) -> Option<&str> {
        self.text.split('-').nth(2)
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for UnitCode {
    type Err = UnitCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UnitCode::parse(s)
    }
}

impl TryFrom<String> for UnitCode {
    type Error = UnitCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        UnitCode::parse(&value)
    }
}

impl From<UnitCode> for String {
    fn from(code: UnitCode) -> String {
        code.text
    }
}

impl AsRef<str> for UnitCode {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

/// 成员单位: one law-enforcement unit of the registry, at one of the four levels.
///
/// A unit on its own is only data; the registry checks how units fit together (parents,
/// parties, uniqueness).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// The unit's code; its party prefix must equal `party`.
    pub code: UnitCode,
    /// The official name (as it appears as 处罚机关 on decisions).
    pub name: String,
    /// The party the unit belongs to.
    pub party: Party,
    /// The unit's level: province, city (or Shanghai district), county/zone, street/township.
    pub level: Level,
    /// The six-digit GB/T 2260 division of the unit's seat; equals the code's division.
    pub division: String,
    /// The superior unit; `None` only for the party's provincial lead (牵头单位).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<UnitCode>,
    /// 统一社会信用代码 of the unit, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
    /// Other names the unit appears under in submitted records (former or short names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// A disabled unit stays known (old records name it) but may no longer act or be acted for.
    #[serde(default)]
    pub disabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_codes_parse_with_their_parts() {
        let cases: &[(&str, Party, &str, Option<&str>)] = &[
            ("SH-310000", Party::Shanghai, "310000", None),
            ("JS-320100", Party::Jiangsu, "320100", None),
            ("SH-310106", Party::Shanghai, "310106", None),
            ("SH-310106-PPZ", Party::Shanghai, "310106", Some("PPZ")),
            ("ZJ-330411-XZ", Party::Zhejiang, "330411", Some("XZ")),
            (
                "AH-341800-A1B2C3D4E5F6",
                Party::Anhui,
                "341800",
                Some("A1B2C3D4E5F6"),
            ),
            ("AH-340104-0", Party::Anhui, "340104", Some("0")),
        ];
        for &(text, party, division, suffix) in cases {
            let code = UnitCode::parse(text).unwrap();
            assert_eq!(code.as_str(), text);
            assert_eq!(code.to_string(), text);
            assert_eq!(code.party(), party, "{text}");
            assert_eq!(code.division(), division, "{text}");
            assert_eq!(code.suffix(), suffix, "{text}");
        }
    }

    #[test]
    fn invalid_codes_are_rejected_with_the_reason() {
        use UnitCodeError as E;
        let shape = |s: &str| E::Shape(s.to_owned());
        let party = |s: &str| E::UnknownParty(s.to_owned());
        let division = |s: &str| E::Division(s.to_owned());
        let mismatch = |s: &str| E::PartyMismatch(s.to_owned());
        let suffix = |s: &str| E::Suffix(s.to_owned());
        let cases: Vec<(&str, UnitCodeError)> = vec![
            ("", shape("")),
            ("SH", shape("SH")),
            ("SH310000", shape("SH310000")),
            ("SH-310106-PPZ-X", shape("SH-310106-PPZ-X")),
            ("sh-310000", party("sh-310000")),
            ("BJ-110000", party("BJ-110000")),
            (" SH-310000", party(" SH-310000")),
            ("SH-31000", division("SH-31000")),
            ("SH-3100000", division("SH-3100000")),
            ("SH-31000A", division("SH-31000A")),
            ("SH-３１００００", division("SH-３１００００")),
            ("SH-320100", mismatch("SH-320100")),
            ("JS-310000", mismatch("JS-310000")),
            ("AH-350000", mismatch("AH-350000")),
            ("SH-310106-", suffix("SH-310106-")),
            ("SH-310106-ppz", suffix("SH-310106-ppz")),
            ("SH-310106-彭浦", suffix("SH-310106-彭浦")),
            ("SH-310106-ABCDEFGHIJKLM", suffix("SH-310106-ABCDEFGHIJKLM")),
            ("SH-310106-PP Z", suffix("SH-310106-PP Z")),
        ];
        for (text, expected) in cases {
            assert_eq!(UnitCode::parse(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn serde_uses_the_text_and_validates() {
        let code = UnitCode::parse("SH-310106-PPZ").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"SH-310106-PPZ\"");
        assert_eq!(serde_json::from_str::<UnitCode>(&json).unwrap(), code);
        assert!(serde_json::from_str::<UnitCode>("\"JS-310000\"").is_err());
        assert!(serde_json::from_str::<UnitCode>("42").is_err());
    }

    #[test]
    fn unit_deserializes_with_defaults_and_rejects_unknown_fields() {
        let unit: Unit = toml::from_str(
            r#"
            code = "SH-310106"
            name = "上海市静安区城市管理行政执法局"
            party = "SH"
            level = "city"
            division = "310106"
            parent = "SH-310000"
            "#,
        )
        .unwrap();
        assert_eq!(unit.code.as_str(), "SH-310106");
        assert_eq!(unit.level, Level::City);
        assert_eq!(
            unit.parent.as_ref().map(UnitCode::as_str),
            Some("SH-310000")
        );
        assert!(unit.aliases.is_empty());
        assert!(!unit.disabled);
        assert_eq!(unit.uscc, None);

        let unknown = toml::from_str::<Unit>(
            r#"
            code = "SH-310106"
            name = "x"
            party = "SH"
            level = "city"
            division = "310106"
            colour = "red"
            "#,
        );
        assert!(unknown.is_err());
        let bad_code = toml::from_str::<Unit>(
            r#"
            code = "SH-320106"
            name = "x"
            party = "SH"
            level = "city"
            division = "310106"
            "#,
        );
        assert!(bad_code.is_err());
    }

    /// An independent statement of the grammar, written as a regular-language check by hand.
    fn reference_is_valid(s: &str) -> bool {
        let parts: Vec<&str> = s.split('-').collect();
        let prefix_ok = |p: &str, d: &str| {
            matches!(
                (p, d.get(..2)),
                ("SH", Some("31")) | ("JS", Some("32")) | ("ZJ", Some("33")) | ("AH", Some("34"))
            )
        };
        let div_ok = |d: &str| d.len() == 6 && d.chars().all(|c| c.is_ascii_digit());
        let suf_ok = |x: &str| {
            (1..=12).contains(&x.chars().count())
                && x.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        match parts.as_slice() {
            [p, d] => div_ok(d) && prefix_ok(p, d),
            [p, d, x] => div_ok(d) && prefix_ok(p, d) && suf_ok(x),
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn parse_agrees_with_the_reference(
            s in "(SH|JS|ZJ|AH|sh|BJ|S)-3[0-5][0-9]{4,5}(-[A-Z0-9a-z]{0,13})?",
        ) {
            let parsed = UnitCode::parse(&s);
            prop_assert_eq!(parsed.is_ok(), reference_is_valid(&s), "{:?}", parsed);
            if let Ok(code) = parsed {
                prop_assert_eq!(code.to_string(), s.clone());
                let json = serde_json::to_string(&code).unwrap();
                prop_assert_eq!(serde_json::from_str::<UnitCode>(&json).unwrap(), code);
            }
        }

        #[test]
        fn parse_never_panics_and_round_trips(s in "\\PC{0,30}") {
            if let Ok(code) = UnitCode::parse(&s) {
                prop_assert_eq!(code.as_str(), s.as_str());
                prop_assert!(reference_is_valid(&s));
            }
        }
    }
}
