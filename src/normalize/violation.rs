//! The violation-type catalogue (`config/catalog.toml`): the four parties' own names and codes
//! of urban-management violations mapped to one common list, so that the same act is
//! recognised across a border and the joint-discipline rules speak of one set of types.
//!
//! Pure: parsing takes the file's text; mapping takes the deciding authority's party and the
//! record's (already folded) 违法行为类型.
//!
//! Invariants (checked by [`Catalog::parse`]): codes are unique snake_case words; a name, alias
//! or party mapping key names one type only; every mapping names an existing code; no keyword
//! is blank. Lookups fold their input with [`fold_name`], so width, bracket and whitespace
//! variants map alike.

use super::text::fold_name;
use crate::domain::party::Party;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// The built-in copy of `config/catalog.toml`, used when no `catalog_file` is configured.
pub const BUILT_IN: &str = include_str!("../../config/catalog.toml");

/// One type of the common catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViolationType {
    /// Stable code (`construction_waste_dumping`).
    pub code: String,
    /// Group the rules treat together (`construction_waste`).
    pub group: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Other exact names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Words whose presence in a type's text maps it here (see the module docs for the order).
    #[serde(default)]
    pub keywords: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    types: Vec<ViolationType>,
    #[serde(default)]
    mappings: BTreeMap<String, BTreeMap<String, String>>,
}

/// How a violation type was mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The party's own mapping table.
    PartyMapping,
    /// The type's name or an alias.
    Name,
    /// A keyword of the type.
    Keyword,
}

/// A catalogue that failed its checks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    /// Not TOML of the expected shape.
    #[error("catalogue is not valid: {0}")]
    Syntax(String),
    /// A check of the module docs failed.
    #[error("catalogue is not valid: {0}")]
    Invalid(String),
}

/// The loaded catalogue.
#[derive(Debug, Clone)]
pub struct Catalog {
    types: Vec<ViolationType>,
    by_name: HashMap<String, usize>,
    keywords: Vec<(usize, String)>,
    mappings: HashMap<(Party, String), usize>,
}

impl Catalog {
    /// The built-in catalogue.
    pub fn built_in() -> Result<Catalog, CatalogError> {
        Catalog::parse(BUILT_IN)
    }

    /// Parses and checks a catalogue file's text.
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile =
            toml::from_str(text).map_err(|e| CatalogError::Syntax(e.to_string()))?;
        let invalid = |m: String| Err(CatalogError::Invalid(m));
        if file.types.is_empty() {
            return invalid("no [[types]]".into());
        }
        let mut codes = HashMap::new();
        let mut by_name = HashMap::new();
        let mut keywords = Vec::new();
        for (i, t) in file.types.iter().enumerate() {
            let snake = !t.code.is_empty()
                && t.code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !snake || !t.group.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return invalid(format!(
                    "type {:?} (group {:?}): code and group must be snake_case ASCII",
                    t.code, t.group
                ));
            }
            if codes.insert(t.code.clone(), i).is_some() {
                return invalid(format!("code {:?} appears twice", t.code));
            }
            for name in std::iter::once(&t.name).chain(&t.aliases) {
                let folded = fold_name(name);
                if folded.is_empty() {
                    return invalid(format!("type {:?} has a blank name or alias", t.code));
                }
                if let Some(other) = by_name.insert(folded, i)
                    && other != i
                {
                    return invalid(format!(
                        "name or alias {name:?} names two types ({:?} and {:?})",
                        file.types.get(other).map(|o| o.code.as_str()),
                        t.code
                    ));
                }
            }
            for k in &t.keywords {
                let folded = fold_name(k);
                if folded.is_empty() {
                    return invalid(format!("type {:?} has a blank keyword", t.code));
                }
                keywords.push((i, folded));
            }
        }
        let mut mappings = HashMap::new();
        for (party, table) in &file.mappings {
            let Ok(p) = party.parse::<Party>() else {
                return invalid(format!(
                    "[mappings.{party}]: expected one of SH, JS, ZJ, AH"
                ));
            };
            for (key, code) in table {
                let Some(&i) = codes.get(code) else {
                    return invalid(format!(
                        "[mappings.{party}] {key:?} names the unknown code {code:?}"
                    ));
                };
                let folded = fold_name(key);
                if folded.is_empty() {
                    return invalid(format!("[mappings.{party}] has a blank key"));
                }
                if mappings.insert((p, folded), i).is_some() {
                    return invalid(format!(
                        "[mappings.{party}] {key:?} appears twice after folding"
                    ));
                }
            }
        }
        Ok(Catalog {
            types: file.types,
            by_name,
            keywords,
            mappings,
        })
    }

    /// Every type, in file order.
    pub fn types(&self) -> &[ViolationType] {
        &self.types
    }

    /// The type with this code.
    pub fn get(&self, code: &str) -> Option<&ViolationType> {
        self.types.iter().find(|t| t.code == code)
    }

    /// Maps a violation type written by a unit of `party` to the catalogue (module docs give
    /// the order); `None` when nothing matches.
    pub fn map(&self, party: Party, violation_type: &str) -> Option<(&ViolationType, MatchedBy)> {
        let folded = fold_name(violation_type);
        if folded.is_empty() {
            return None;
        }
        let found = self
            .mappings
            .get(&(party, folded.clone()))
            .map(|&i| (i, MatchedBy::PartyMapping))
            .or_else(|| self.by_name.get(&folded).map(|&i| (i, MatchedBy::Name)))
            .or_else(|| {
                self.keywords
                    .iter()
                    .find(|(_, k)| folded.contains(k.as_str()))
                    .map(|&(i, _)| (i, MatchedBy::Keyword))
            })?;
        self.types.get(found.0).map(|t| (t, found.1))
    }

    /// The key two records' violation types are compared by: the catalogue code when mapped,
    /// else `text:` and the folded text as given.
    pub fn comparison_key(&self, party: Party, violation_type: &str) -> String {
        match self.map(party, violation_type) {
            Some((t, _)) => t.code.clone(),
            None => format!("text:{}", fold_name(violation_type)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn catalog() -> Catalog {
        Catalog::built_in().unwrap()
    }

    #[test]
    fn the_shipped_catalogue_loads_and_covers_the_common_types() {
        let c = catalog();
        for code in [
            "construction_waste_transport",
            "construction_waste_dumping",
            "construction_waste_spill",
            "illegal_construction",
            "road_occupation_business",
            "outdoor_advertising",
            "household_waste_sorting",
            "greening_damage",
        ] {
            assert!(c.get(code).is_some(), "{code}");
        }
        let construction_waste = c
            .types()
            .iter()
            .filter(|t| t.group == "construction_waste")
            .count();
        assert_eq!(construction_waste, 3);
    }

    #[test]
    fn names_aliases_keywords_and_party_mappings_map() {
        let c = catalog();
        let code = |p, t| c.map(p, t).map(|(t, by)| (t.code.as_str(), by));
        use MatchedBy::*;
        assert_eq!(
            code(Party::Jiangsu, "擅自倾倒建筑垃圾"),
            Some(("construction_waste_dumping", Name))
        );
        assert_eq!(
            code(Party::Shanghai, "未经许可运输建筑垃圾"),
            Some(("construction_waste_transport", Name))
        );
        // Spilling in transit is more specific than carrying: it wins on keywords.
        assert_eq!(
            code(Party::Anhui, "运输建筑垃圾途中撒漏"),
            Some(("construction_waste_spill", Keyword))
        );
        assert_eq!(
            code(Party::Zhejiang, "当事人擅自搭建彩钢板房"),
            Some(("illegal_construction", Keyword))
        );
        // A party's own name maps only for that party.
        assert_eq!(
            code(Party::Zhejiang, "未按规定时间、地点、方式倾倒建筑垃圾"),
            Some(("construction_waste_dumping", PartyMapping))
        );
        assert_eq!(
            code(Party::Shanghai, "单位未按规定分类投放生活垃圾"),
            Some(("household_waste_sorting", PartyMapping))
        );
        assert_eq!(code(Party::Shanghai, "违反动物防疫规定"), None);
        assert_eq!(code(Party::Shanghai, "  "), None);
    }

    #[test]
    fn width_bracket_and_space_variants_map_alike() {
        let c = catalog();
        assert_eq!(
            c.comparison_key(Party::Zhejiang, "擅自搭建建（构）筑物"),
            c.comparison_key(Party::Zhejiang, "擅自搭建建(构)筑物 ")
        );
        assert_eq!(
            c.comparison_key(Party::Shanghai, "违反动物 防疫规定"),
            "text:违反动物防疫规定"
        );
    }

    #[test]
    fn bad_catalogues_are_refused_with_the_reason() {
        let one = |extra: &str| {
            format!(
                "[[types]]\ncode = \"a\"\ngroup = \"g\"\nname = \"甲\"\nname_en = \"A\"\n{extra}"
            )
        };
        assert!(Catalog::parse(&one("")).is_ok());
        let twice = format!(
            "{}\n[[types]]\ncode = \"a\"\ngroup = \"g\"\nname = \"乙\"\nname_en = \"B\"\n",
            one("")
        );
        assert!(
            matches!(Catalog::parse(&twice), Err(CatalogError::Invalid(m)) if m.contains("twice"))
        );
        let clash = format!(
            "{}\n[[types]]\ncode = \"b\"\ngroup = \"g\"\nname = \"甲\"\nname_en = \"B\"\n",
            one("")
        );
        assert!(
            matches!(Catalog::parse(&clash), Err(CatalogError::Invalid(m)) if m.contains("two types"))
        );
        let unknown = format!("{}\n[mappings.SH]\n\"丙\" = \"zzz\"\n", one(""));
        assert!(
            matches!(Catalog::parse(&unknown), Err(CatalogError::Invalid(m)) if m.contains("unknown code"))
        );
        let party = format!("{}\n[mappings.XX]\n\"丙\" = \"a\"\n", one(""));
        assert!(
            matches!(Catalog::parse(&party), Err(CatalogError::Invalid(m)) if m.contains("SH, JS"))
        );
        assert!(matches!(
            Catalog::parse(&one("colour = 1")),
            Err(CatalogError::Syntax(_))
        ));
        assert!(Catalog::parse(&one("").replace("\"a\"", "\"A-1\"")).is_err());
    }

    proptest! {
        /// Mapping ignores widths, brackets and whitespace, and is deterministic.
        #[test]
        fn mapping_is_stable_under_folding(
            i in 0usize..15,
            spaces in proptest::collection::vec(0usize..8, 0..3),
            party in 0usize..4,
        ) {
            let c = catalog();
            let t = &c.types()[i % c.types().len()];
            let party = Party::ALL[party];
            let mut variant: Vec<char> = t.name.chars().collect();
            for s in spaces {
                let at = s.min(variant.len());
                variant.insert(at, ' ');
            }
            let variant: String = variant.into_iter().collect::<String>()
                .replace('(', "（").replace(')', "）");
            let direct = c.map(party, &t.name).map(|(t, _)| t.code.clone());
            let folded = c.map(party, &variant).map(|(t, _)| t.code.clone());
            prop_assert_eq!(direct.clone(), folded);
            // A type's own name always maps to the type.
            prop_assert_eq!(direct, Some(t.code.clone()));
        }
    }
}
