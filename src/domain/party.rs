//! The four parties of the agreement, the four unit levels, and the roles a caller can hold.
//!
//! Pure: no HTTP, no SQL. Codes are the two-letter ones used throughout penex (`SH`, `JS`,
//! `ZJ`, `AH`); GB/T 2260 province prefixes are 31–34.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A party (缔约方) to the Yangtze River Delta agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Party {
    /// 上海 Shanghai, GB/T 2260 `31`.
    #[serde(rename = "SH")]
    Shanghai,
    /// 江苏 Jiangsu, GB/T 2260 `32`.
    #[serde(rename = "JS")]
    Jiangsu,
    /// 浙江 Zhejiang, GB/T 2260 `33`.
    #[serde(rename = "ZJ")]
    Zhejiang,
    /// 安徽 Anhui, GB/T 2260 `34`.
    #[serde(rename = "AH")]
    Anhui,
}

impl Party {
    /// All four parties, in GB/T 2260 order.
    pub const ALL: [Party; 4] = [
        Party::Shanghai,
        Party::Jiangsu,
        Party::Zhejiang,
        Party::Anhui,
    ];

    /// The two-letter code (`SH`, `JS`, `ZJ`, `AH`).
    pub fn code(self) -> &'static str {
        match self {
            Party::Shanghai => "SH",
            Party::Jiangsu => "JS",
            Party::Zhejiang => "ZJ",
            Party::Anhui => "AH",
        }
    }

    /// The GB/T 2260 province prefix (`31`–`34`).
    pub fn division_prefix(self) -> &'static str {
        match self {
            Party::Shanghai => "31",
            Party::Jiangsu => "32",
            Party::Zhejiang => "33",
            Party::Anhui => "34",
        }
    }

    /// The Chinese short name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Party::Shanghai => "上海",
            Party::Jiangsu => "江苏",
            Party::Zhejiang => "浙江",
            Party::Anhui => "安徽",
        }
    }

    /// The party a GB/T 2260 division code (any length ≥ 2) belongs to, if any.
    pub fn from_division(code: &str) -> Option<Party> {
        let prefix = code.get(..2)?;
        Party::ALL
            .into_iter()
            .find(|p| p.division_prefix() == prefix)
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The text was not a party code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown party {0:?}: expected one of SH, JS, ZJ, AH")]
pub struct UnknownParty(pub String);

impl FromStr for Party {
    type Err = UnknownParty;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Party::ALL
            .into_iter()
            .find(|p| p.code().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownParty(s.to_owned()))
    }
}

/// The administrative level of a member unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 省级/直辖市: province or municipality (the party's lead unit sits here).
    Province,
    /// 市级 (or a Shanghai district): prefecture-level city.
    City,
    /// 县级/开发区: county, district or development zone.
    County,
    /// 街道/乡镇: street or township; these decide penalties themselves.
    Street,
}

impl Level {
    /// The snake_case name used in config, the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
            Level::Street => "street",
        }
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "province" => Ok(Level::Province),
            "city" => Ok(Level::City),
            "county" => Ok(Level::County),
            "street" => Ok(Level::Street),
            other => Err(format!(
                "unknown level {other:?}: expected province, city, county or street"
            )),
        }
    }
}

/// What a caller may do. Every route declares the roles it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 成员单位: a law-enforcement unit (a provincial lead is a unit at province level).
    Unit,
    /// A credit-platform integrator: receives and pulls events.
    Integrator,
    /// A read-only analyst.
    Analyst,
    /// An operator of the exchange.
    Operator,
}

impl Role {
    /// The snake_case name used in certificates, config and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Unit => "unit",
            Role::Integrator => "integrator",
            Role::Analyst => "analyst",
            Role::Operator => "operator",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unit" => Ok(Role::Unit),
            "integrator" => Ok(Role::Integrator),
            "analyst" => Ok(Role::Analyst),
            "operator" => Ok(Role::Operator),
            other => Err(format!(
                "unknown role {other:?}: expected unit, integrator, analyst or operator"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_from_division_uses_the_province_prefix() {
        assert_eq!(Party::from_division("310108"), Some(Party::Shanghai));
        assert_eq!(Party::from_division("3205"), Some(Party::Jiangsu));
        assert_eq!(Party::from_division("340000"), Some(Party::Anhui));
        assert_eq!(Party::from_division("110000"), None);
        assert_eq!(Party::from_division("3"), None);
    }

    #[test]
    fn party_codes_round_trip() {
        for p in Party::ALL {
            assert_eq!(p.code().parse::<Party>(), Ok(p));
        }
        assert!("XX".parse::<Party>().is_err());
    }
}
