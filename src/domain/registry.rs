//! The unit registry: the four-level tree of member units of each party, and who may act for
//! whom.
//!
//! Owns [`Registry`] (validated, immutable; share it behind an `Arc`), its lookups, the rule
//! [`Registry::may_act_for`], and the parser of `config/units.toml`. Runtime additions and
//! disablings (stored in the database by the store layer) are applied with
//! [`Registry::with_changes`], which builds and validates a new registry.
//!
//! Pure: depends only on `domain::party` and `domain::unit`; the name-folding function is passed
//! in, so this module does not depend on `normalize`. No HTTP, no SQL.
//!
//! Invariants of a `Registry` (checked by [`Registry::new`]):
//! - codes are unique; a unit's code names its own party and division;
//! - every parent exists, is of the same party and of a strictly higher level, and the parent
//!   links form no cycle — so each party's units form one tree;
//! - each party has exactly one lead (牵头单位): the one province-level unit, with no parent;
//!   every other unit has a parent;
//! - no two units share a USCC, nor a folded name or alias.
//!
//! Rights never cross parties: a unit may act for itself and for the units below it in its
//! own party's tree, nothing else.

use crate::domain::party::{Level, Party};
use crate::domain::unit::{Unit, UnitCode};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// Why a set of units does not form a valid registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The units file is not valid TOML or does not match the unit schema.
    #[error("units file: {0}")]
    Parse(String),
    /// Two units have the same code.
    #[error("unit {unit}: the code is used twice")]
    DuplicateCode {
        /// The repeated code.
        unit: UnitCode,
    },
    /// The unit's name folds to nothing.
    #[error("unit {unit}: the name is empty")]
    EmptyName {
        /// The unit.
        unit: UnitCode,
    },
    /// The `party` field disagrees with the code's party prefix.
    #[error("unit {unit}: party {party} does not match the code's party")]
    CodePartyMismatch {
        /// The unit.
        unit: UnitCode,
        /// The `party` field.
        party: Party,
    },
    /// The division is not six digits, or its province prefix is not the unit's party.
    #[error("unit {unit}: division {division:?} is not a six-digit division of party {party}")]
    Division {
        /// The unit.
        unit: UnitCode,
        /// The `division` field.
        division: String,
        /// The unit's party.
        party: Party,
    },
    /// The `division` field differs from the division embedded in the code.
    #[error("unit {unit}: division {division:?} differs from the code's division")]
    CodeDivisionMismatch {
        /// The unit.
        unit: UnitCode,
        /// The `division` field.
        division: String,
    },
    /// The USCC is not 18 characters `[0-9A-Z]`.
    #[error("unit {unit}: USCC {uscc:?} is not 18 characters 0-9 A-Z")]
    Uscc {
        /// The unit.
        unit: UnitCode,
        /// The USCC as given.
        uscc: String,
    },
    /// The parent is not in the registry.
    #[error("unit {unit}: parent {parent} does not exist")]
    UnknownParent {
        /// The unit.
        unit: UnitCode,
        /// The missing parent.
        parent: UnitCode,
    },
    /// The parent belongs to another party.
    #[error("unit {unit}: parent {parent} belongs to another party")]
    ParentOtherParty {
        /// The unit.
        unit: UnitCode,
        /// The parent.
        parent: UnitCode,
    },
    /// Following parents from this unit leads back to it.
    #[error("unit {unit}: its parent chain forms a cycle")]
    Cycle {
        /// A unit on the cycle.
        unit: UnitCode,
    },
    /// The parent's level is not strictly above the unit's.
    #[error("unit {unit} ({level:?}): parent {parent} ({parent_level:?}) is not at a higher level")]
    ParentNotAbove {
        /// The unit.
        unit: UnitCode,
        /// The unit's level.
        level: Level,
        /// The parent.
        parent: UnitCode,
        /// The parent's level.
        parent_level: Level,
    },
    /// A unit below province level has no parent.
    #[error("unit {unit}: only the provincial lead may have no parent")]
    MissingParent {
        /// The unit.
        unit: UnitCode,
    },
    /// A party has no lead unit.
    #[error("party {party}: no province-level lead unit")]
    NoLead {
        /// The party.
        party: Party,
    },
    /// A party has more than one province-level unit without a parent.
    #[error("party {party}: units {first} and {second} are both province-level leads")]
    MultipleLeads {
        /// The party.
        party: Party,
        /// The first lead.
        first: UnitCode,
        /// The second lead.
        second: UnitCode,
    },
    /// Two units share a USCC.
    #[error("unit {unit}: USCC {uscc} is already used by {other}")]
    DuplicateUscc {
        /// The later unit.
        unit: UnitCode,
        /// The shared USCC.
        uscc: String,
        /// The earlier unit.
        other: UnitCode,
    },
    /// Two units share a name or alias after folding.
    #[error("unit {unit}: name or alias {name:?} is already used by {other}")]
    DuplicateName {
        /// The later unit.
        unit: UnitCode,
        /// The name or alias as given.
        name: String,
        /// The earlier unit.
        other: UnitCode,
    },
    /// A unit to disable is not in the registry.
    #[error("unit {unit}: cannot disable a unit that does not exist")]
    UnknownUnit {
        /// The code given.
        unit: UnitCode,
    },
}

/// The file layout of `config/units.toml`: a list of `[[unit]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitsFile {
    #[serde(default)]
    unit: Vec<Unit>,
}

/// Parses a units file (`[[unit]]` tables with the fields of [`Unit`]). Only the shape is
/// checked here; pass the result to [`Registry::new`] to validate the tree.
pub fn parse_units_toml(text: &str) -> Result<Vec<Unit>, RegistryError> {
    toml::from_str::<UnitsFile>(text)
        .map(|file| file.unit)
        .map_err(|e| RegistryError::Parse(e.to_string()))
}

/// 单位名录: the validated registry of member units of all four parties.
///
/// Immutable; lookups return disabled units too (old records still name them) — only
/// [`Registry::may_act_for`] treats them specially.
#[derive(Debug, Clone)]
pub struct Registry {
    units: Vec<Unit>,
    by_code: HashMap<UnitCode, usize>,
    by_uscc: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    leads: BTreeMap<Party, usize>,
    fold: fn(&str) -> String,
}

impl Registry {
    /// Validates `units` and builds the registry. `fold` canonicalizes names for
    /// [`Registry::by_name`] and the name-uniqueness check (normally the text folding of
    /// `normalize`). The first problem found is returned, naming the unit.
    pub fn new(units: Vec<Unit>, fold: fn(&str) -> String) -> Result<Registry, RegistryError> {
        for unit in &units {
            check_unit(unit, fold)?;
        }

        let mut by_code = HashMap::with_capacity(units.len());
        for (i, unit) in units.iter().enumerate() {
            if by_code.insert(unit.code.clone(), i).is_some() {
                return Err(RegistryError::DuplicateCode {
                    unit: unit.code.clone(),
                });
            }
        }

        let mut parent = Vec::with_capacity(units.len());
        for unit in &units {
            let Some(parent_code) = &unit.parent else {
                parent.push(None);
                continue;
            };
            let Some(&p) = by_code.get(parent_code) else {
                return Err(RegistryError::UnknownParent {
                    unit: unit.code.clone(),
                    parent: parent_code.clone(),
                });
            };
            if parent_code.party() != unit.party {
                return Err(RegistryError::ParentOtherParty {
                    unit: unit.code.clone(),
                    parent: parent_code.clone(),
                });
            }
            parent.push(Some(p));
        }

        check_acyclic(&units, &parent)?;

        let mut leads: BTreeMap<Party, usize> = BTreeMap::new();
        for (i, (unit, p)) in units.iter().zip(&parent).enumerate() {
            match p.and_then(|p| units.get(p)) {
                Some(parent_unit) => {
                    if parent_unit.level >= unit.level {
                        return Err(RegistryError::ParentNotAbove {
                            unit: unit.code.clone(),
                            level: unit.level,
                            parent: parent_unit.code.clone(),
                            parent_level: parent_unit.level,
                        });
                    }
                }
                None if unit.level != Level::Province => {
                    return Err(RegistryError::MissingParent {
                        unit: unit.code.clone(),
                    });
                }
                None => {
                    if let Some(&first) = leads.get(&unit.party) {
                        return Err(RegistryError::MultipleLeads {
                            party: unit.party,
                            first: code_or(&units, first, &unit.code),
                            second: unit.code.clone(),
                        });
                    }
                    leads.insert(unit.party, i);
                }
            }
        }
        if let Some(party) = Party::ALL.into_iter().find(|p| !leads.contains_key(p)) {
            return Err(RegistryError::NoLead { party });
        }

        let mut by_uscc: HashMap<String, usize> = HashMap::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for (i, unit) in units.iter().enumerate() {
            if let Some(uscc) = &unit.uscc {
                let key = uscc.trim().to_ascii_uppercase();
                if let Some(&other) = by_uscc.get(&key) {
                    return Err(RegistryError::DuplicateUscc {
                        unit: unit.code.clone(),
                        uscc: key,
                        other: code_or(&units, other, &unit.code),
                    });
                }
                by_uscc.insert(key, i);
            }
            for name in std::iter::once(&unit.name).chain(&unit.aliases) {
                let key = fold(name);
                match by_name.get(&key) {
                    // A unit listing its own name again as an alias harms no one.
                    Some(&other) if other == i => {}
                    Some(&other) => {
                        return Err(RegistryError::DuplicateName {
                            unit: unit.code.clone(),
                            name: name.clone(),
                            other: code_or(&units, other, &unit.code),
                        });
                    }
                    None => {
                        by_name.insert(key, i);
                    }
                }
            }
        }

        let mut children = vec![Vec::new(); units.len()];
        for (i, p) in parent.iter().enumerate() {
            if let Some(list) = p.and_then(|p| children.get_mut(p)) {
                list.push(i);
            }
        }

        Ok(Registry {
            units,
            by_code,
            by_uscc,
            by_name,
            parent,
            children,
            leads,
            fold,
        })
    }

    /// A new registry with `added` units appended and the units in `disabled` marked disabled,
    /// validated as a whole. `self` is unchanged. Disabling an unknown code is an error;
    /// disabling a disabled unit is not.
    pub fn with_changes(
        &self,
        added: Vec<Unit>,
        disabled: &[UnitCode],
    ) -> Result<Registry, RegistryError> {
        let mut units = self.units.clone();
        units.extend(added);
        for code in disabled {
            let unit = units
                .iter_mut()
                .find(|u| &u.code == code)
                .ok_or_else(|| RegistryError::UnknownUnit { unit: code.clone() })?;
            unit.disabled = true;
        }
        Registry::new(units, self.fold)
    }

    /// The unit with this code.
    pub fn get(&self, code: &UnitCode) -> Option<&Unit> {
        self.by_code.get(code).and_then(|&i| self.units.get(i))
    }

    /// The unit with this 统一社会信用代码 (compared upper-cased, surrounding blanks ignored).
    pub fn by_uscc(&self, uscc: &str) -> Option<&Unit> {
        let key = uscc.trim().to_ascii_uppercase();
        self.by_uscc.get(&key).and_then(|&i| self.units.get(i))
    }

    /// The unit whose name or one of whose aliases folds to the same text as `name`.
    pub fn by_name(&self, name: &str) -> Option<&Unit> {
        let key = (self.fold)(name);
        self.by_name.get(&key).and_then(|&i| self.units.get(i))
    }

    /// The provincial lead unit (牵头单位) of a party.
    pub fn lead_of(&self, party: Party) -> Option<&Unit> {
        self.leads.get(&party).and_then(|&i| self.units.get(i))
    }

    /// The units directly below `code`, in registry order; empty for an unknown code.
    pub fn children(&self, code: &UnitCode) -> Vec<&Unit> {
        self.index(code)
            .and_then(|i| self.children.get(i))
            .map(|list| list.iter().filter_map(|&c| self.units.get(c)).collect())
            .unwrap_or_default()
    }

    /// All units below `code` at any depth (itself excluded), depth first; empty for an unknown
    /// code.
    pub fn descendants(&self, code: &UnitCode) -> Vec<&Unit> {
        let mut out = Vec::new();
        let mut stack: Vec<usize> = self
            .index(code)
            .and_then(|i| self.children.get(i))
            .map(|list| list.iter().rev().copied().collect())
            .unwrap_or_default();
        while let Some(i) = stack.pop() {
            if let Some(unit) = self.units.get(i) {
                out.push(unit);
            }
            if let Some(list) = self.children.get(i) {
                stack.extend(list.iter().rev());
            }
        }
        out
    }

    /// The units above `code`, nearest first, ending with the party's lead; empty for the lead
    /// itself or an unknown code.
    pub fn ancestors(&self, code: &UnitCode) -> Vec<&Unit> {
        let mut out = Vec::new();
        let mut current = self.index(code);
        // The chain is acyclic by construction; the bound only guards against a broken index.
        while let Some(p) = current.and_then(|i| self.parent.get(i).copied().flatten()) {
            if out.len() >= self.units.len() {
                break;
            }
            if let Some(unit) = self.units.get(p) {
                out.push(unit);
            }
            current = Some(p);
        }
        out
    }

    /// All units, in the order they were given.
    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.iter()
    }

    /// The number of units.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// Whether the registry has no units (never true for a valid registry, which has 4 leads).
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// Whether `actor` may act for `authority` (push, correct or revoke records that name
    /// `authority` as deciding authority): both exist, neither is disabled, both belong to the
    /// same party, and `actor` is `authority` itself or one of its ancestors. A provincial lead
    /// may thus act for its whole party; nobody may act across parties or upwards.
    pub fn may_act_for(&self, actor: &UnitCode, authority: &UnitCode) -> bool {
        let (Some(a), Some(b)) = (self.get(actor), self.get(authority)) else {
            return false;
        };
        if a.disabled || b.disabled || a.party != b.party {
            return false;
        }
        actor == authority || self.ancestors(authority).iter().any(|u| &u.code == actor)
    }

    fn index(&self, code: &UnitCode) -> Option<usize> {
        self.by_code.get(code).copied()
    }
}

/// Checks of one unit that need no other unit.
fn check_unit(unit: &Unit, fold: fn(&str) -> String) -> Result<(), RegistryError> {
    let code = || unit.code.clone();
    if fold(&unit.name).is_empty() {
        return Err(RegistryError::EmptyName { unit: code() });
    }
    if unit.code.party() != unit.party {
        return Err(RegistryError::CodePartyMismatch {
            unit: code(),
            party: unit.party,
        });
    }
    let digits = unit.division.len() == 6 && unit.division.bytes().all(|b| b.is_ascii_digit());
    if !digits || Party::from_division(&unit.division) != Some(unit.party) {
        return Err(RegistryError::Division {
            unit: code(),
            division: unit.division.clone(),
            party: unit.party,
        });
    }
    if unit.division != unit.code.division() {
        return Err(RegistryError::CodeDivisionMismatch {
            unit: code(),
            division: unit.division.clone(),
        });
    }
    if let Some(uscc) = &unit.uscc {
        let key = uscc.trim();
        let shape_ok = key.len() == 18 && key.bytes().all(|b| b.is_ascii_alphanumeric());
        if !shape_ok {
            return Err(RegistryError::Uscc {
                unit: code(),
                uscc: uscc.clone(),
            });
        }
    }
    Ok(())
}

/// Fails on the first unit (in input order) whose parent chain returns to a unit already on
/// that chain.
fn check_acyclic(units: &[Unit], parent: &[Option<usize>]) -> Result<(), RegistryError> {
    // 0 = unvisited, 1 = on the current chain, 2 = known to reach a root.
    let mut state = vec![0u8; units.len()];
    for (start, start_unit) in units.iter().enumerate() {
        let mut chain = Vec::new();
        let mut current = Some(start);
        while let Some(i) = current {
            match state.get(i).copied() {
                Some(2) | None => break,
                Some(1) => {
                    return Err(RegistryError::Cycle {
                        unit: code_or(units, i, &start_unit.code),
                    });
                }
                Some(_) => {
                    if let Some(s) = state.get_mut(i) {
                        *s = 1;
                    }
                    chain.push(i);
                    current = parent.get(i).copied().flatten();
                }
            }
        }
        for i in chain {
            if let Some(s) = state.get_mut(i) {
                *s = 2;
            }
        }
    }
    Ok(())
}

/// The code of the unit at `i` (an index the caller took from `units`), or `fallback` should
/// that index ever be out of range, so that an error can always name some unit.
fn code_or(units: &[Unit], i: usize, fallback: &UnitCode) -> UnitCode {
    units
        .get(i)
        .map_or_else(|| fallback.clone(), |u| u.code.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Test-only folding: blanks removed, nothing else.
    fn fold(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    fn code(s: &str) -> UnitCode {
        UnitCode::parse(s).unwrap()
    }

    fn unit(c: &str, level: Level, parent: Option<&str>) -> Unit {
        let code = code(c);
        Unit {
            name: format!("unit {c}"),
            party: code.party(),
            level,
            division: code.division().to_owned(),
            parent: parent.map(self::code),
            uscc: None,
            aliases: Vec::new(),
            disabled: false,
            code,
        }
    }

    /// A small valid registry: four leads, a Shanghai district with a street and a second
    /// district, a Jiangsu city with a county and a street under the county.
    fn base() -> Vec<Unit> {
        use Level::*;
        vec![
            unit("SH-310000", Province, None),
            unit("JS-320000", Province, None),
            unit("ZJ-330000", Province, None),
            unit("AH-340000", Province, None),
            unit("SH-310106", City, Some("SH-310000")),
            unit("SH-310106-PPZ", Street, Some("SH-310106")),
            unit("SH-310101", City, Some("SH-310000")),
            unit("JS-320500", City, Some("JS-320000")),
            unit("JS-320506", County, Some("JS-320500")),
            unit("JS-320506-MD", Street, Some("JS-320506")),
        ]
    }

    fn registry() -> Registry {
        Registry::new(base(), fold).unwrap()
    }

    #[test]
    fn base_registry_is_valid_and_lookups_work() {
        let r = registry();
        assert_eq!(r.len(), 10);
        assert_eq!(r.lead_of(Party::Jiangsu).unwrap().code, code("JS-320000"));
        assert_eq!(r.get(&code("SH-310106")).unwrap().level, Level::City);
        assert!(r.get(&code("SH-310107")).is_none());
        let kids: Vec<_> = r
            .children(&code("SH-310000"))
            .iter()
            .map(|u| u.code.to_string())
            .collect();
        assert_eq!(kids, ["SH-310106", "SH-310101"]);
        let desc: Vec<_> = r
            .descendants(&code("SH-310000"))
            .iter()
            .map(|u| u.code.to_string())
            .collect();
        assert_eq!(desc, ["SH-310106", "SH-310106-PPZ", "SH-310101"]);
        assert!(r.descendants(&code("SH-310106-PPZ")).is_empty());
        let anc: Vec<_> = r
            .ancestors(&code("JS-320506-MD"))
            .iter()
            .map(|u| u.code.to_string())
            .collect();
        assert_eq!(anc, ["JS-320506", "JS-320500", "JS-320000"]);
        assert!(r.ancestors(&code("JS-320000")).is_empty());
        assert_eq!(r.units().count(), 10);
    }

    #[test]
    fn lookup_by_name_alias_and_uscc() {
        let mut units = base();
        units[4].name = "上海市静安区城市管理行政执法局".into();
        units[4].aliases = vec![
            "静安区城管执法局".into(),
            "上海市静安区城市管理行政执法局".into(),
        ];
        units[4].uscc = Some("11310106abcdefgh1x".into());
        let r = Registry::new(units, fold).unwrap();
        let jingan = code("SH-310106");
        assert_eq!(
            r.by_name("上海市 静安区城市管理行政执法局").unwrap().code,
            jingan
        );
        assert_eq!(r.by_name("静安区 城管执法局").unwrap().code, jingan);
        assert!(r.by_name("静安区").is_none());
        assert_eq!(r.by_uscc(" 11310106ABCDEFGH1X ").unwrap().code, jingan);
        assert_eq!(r.by_uscc("11310106abcdefgh1x").unwrap().code, jingan);
        assert!(r.by_uscc("11310106ABCDEFGH1Y").is_none());
    }

    #[test]
    fn every_validation_error_is_reported_with_the_unit() {
        use Level::*;
        type Edit = fn(&mut Vec<Unit>);
        let cases: Vec<(&str, Edit, RegistryError)> = vec![
            (
                "duplicate code",
                |u| u.push(unit("SH-310101", City, Some("SH-310000"))),
                RegistryError::DuplicateCode {
                    unit: code("SH-310101"),
                },
            ),
            (
                "empty name",
                |u| u[4].name = "  ".into(),
                RegistryError::EmptyName {
                    unit: code("SH-310106"),
                },
            ),
            (
                "party field disagrees with code",
                |u| u[4].party = Party::Jiangsu,
                RegistryError::CodePartyMismatch {
                    unit: code("SH-310106"),
                    party: Party::Jiangsu,
                },
            ),
            (
                "division of another party",
                |u| u[4].division = "320106".into(),
                RegistryError::Division {
                    unit: code("SH-310106"),
                    division: "320106".into(),
                    party: Party::Shanghai,
                },
            ),
            (
                "division not six digits",
                |u| u[4].division = "3101".into(),
                RegistryError::Division {
                    unit: code("SH-310106"),
                    division: "3101".into(),
                    party: Party::Shanghai,
                },
            ),
            (
                "division differs from code",
                |u| u[4].division = "310107".into(),
                RegistryError::CodeDivisionMismatch {
                    unit: code("SH-310106"),
                    division: "310107".into(),
                },
            ),
            (
                "malformed uscc",
                |u| u[4].uscc = Some("1234".into()),
                RegistryError::Uscc {
                    unit: code("SH-310106"),
                    uscc: "1234".into(),
                },
            ),
            (
                "unknown parent",
                |u| u[5].parent = Some(code("SH-310107")),
                RegistryError::UnknownParent {
                    unit: code("SH-310106-PPZ"),
                    parent: code("SH-310107"),
                },
            ),
            (
                "parent in another party",
                |u| u[5].parent = Some(code("JS-320500")),
                RegistryError::ParentOtherParty {
                    unit: code("SH-310106-PPZ"),
                    parent: code("JS-320500"),
                },
            ),
            (
                "self parent is a cycle",
                |u| u[4].parent = Some(code("SH-310106")),
                RegistryError::Cycle {
                    unit: code("SH-310106"),
                },
            ),
            (
                "two-unit cycle",
                |u| u[4].parent = Some(code("SH-310106-PPZ")),
                RegistryError::Cycle {
                    unit: code("SH-310106"),
                },
            ),
            (
                "parent at the same level",
                |u| u[6].parent = Some(code("SH-310106")),
                RegistryError::ParentNotAbove {
                    unit: code("SH-310101"),
                    level: City,
                    parent: code("SH-310106"),
                    parent_level: City,
                },
            ),
            (
                "parent below the child",
                |u| u[7].level = Street,
                RegistryError::ParentNotAbove {
                    unit: code("JS-320506"),
                    level: County,
                    parent: code("JS-320500"),
                    parent_level: Street,
                },
            ),
            (
                "province-level unit with a parent",
                |u| u.push(unit("SH-310000-B", Province, Some("SH-310000"))),
                RegistryError::ParentNotAbove {
                    unit: code("SH-310000-B"),
                    level: Province,
                    parent: code("SH-310000"),
                    parent_level: Province,
                },
            ),
            (
                "non-lead without parent",
                |u| u[6].parent = None,
                RegistryError::MissingParent {
                    unit: code("SH-310101"),
                },
            ),
            (
                "no lead",
                |u| {
                    u.retain(|x| x.party != Party::Anhui);
                },
                RegistryError::NoLead {
                    party: Party::Anhui,
                },
            ),
            (
                "two leads",
                |u| u.push(unit("ZJ-330000-B", Province, None)),
                RegistryError::MultipleLeads {
                    party: Party::Zhejiang,
                    first: code("ZJ-330000"),
                    second: code("ZJ-330000-B"),
                },
            ),
            (
                "duplicate uscc, case-insensitive",
                |u| {
                    u[4].uscc = Some("11310106ABCDEFGH1X".into());
                    u[7].uscc = Some("11310106abcdefgh1x".into());
                },
                RegistryError::DuplicateUscc {
                    unit: code("JS-320500"),
                    uscc: "11310106ABCDEFGH1X".into(),
                    other: code("SH-310106"),
                },
            ),
            (
                "duplicate folded name",
                |u| u[6].name = "unit  SH-310106".into(),
                RegistryError::DuplicateName {
                    unit: code("SH-310101"),
                    name: "unit  SH-310106".into(),
                    other: code("SH-310106"),
                },
            ),
            (
                "alias equal to another unit's name",
                |u| u[9].aliases = vec!["unitJS-320500".into()],
                RegistryError::DuplicateName {
                    unit: code("JS-320506-MD"),
                    name: "unitJS-320500".into(),
                    other: code("JS-320500"),
                },
            ),
        ];
        for (what, edit, expected) in cases {
            let mut units = base();
            edit(&mut units);
            let got = Registry::new(units, fold).map(|_| ());
            assert_eq!(got, Err(expected.clone()), "{what}");
            let message = expected.to_string();
            assert!(!message.is_empty(), "{what}");
        }
    }

    #[test]
    fn errors_name_the_unit_in_their_message() {
        let mut units = base();
        units[6].parent = None;
        let err = Registry::new(units, fold).unwrap_err();
        assert!(err.to_string().contains("SH-310101"), "{err}");
    }

    #[test]
    fn may_act_for_table() {
        let mut units = base();
        units.push(unit("SH-310101-NJDL", Level::Street, Some("SH-310101")));
        let mut off = unit("JS-320506-XX", Level::Street, Some("JS-320506"));
        off.disabled = true;
        units.push(off);
        let r = Registry::new(units, fold).unwrap();
        let cases = [
            ("self", "SH-310106", "SH-310106", true),
            ("street for itself", "SH-310106-PPZ", "SH-310106-PPZ", true),
            ("city for its street", "SH-310106", "SH-310106-PPZ", true),
            ("city for its county", "JS-320500", "JS-320506", true),
            (
                "city for grandchild street",
                "JS-320500",
                "JS-320506-MD",
                true,
            ),
            ("lead for a city", "SH-310000", "SH-310101", true),
            ("lead for a street", "JS-320000", "JS-320506-MD", true),
            ("sibling district refused", "SH-310106", "SH-310101", false),
            (
                "district for a cousin street refused",
                "SH-310106",
                "SH-310101-NJDL",
                false,
            ),
            (
                "sibling-parent street refused",
                "SH-310106-PPZ",
                "SH-310101-NJDL",
                false,
            ),
            (
                "child for parent refused",
                "SH-310106-PPZ",
                "SH-310106",
                false,
            ),
            ("child for lead refused", "JS-320500", "JS-320000", false),
            (
                "other party's lead refused",
                "SH-310000",
                "JS-320500",
                false,
            ),
            (
                "other party's lead for lead refused",
                "ZJ-330000",
                "SH-310000",
                false,
            ),
            (
                "disabled authority refused",
                "JS-320506",
                "JS-320506-XX",
                false,
            ),
            (
                "lead for disabled refused",
                "JS-320000",
                "JS-320506-XX",
                false,
            ),
            (
                "disabled actor refused",
                "JS-320506-XX",
                "JS-320506-XX",
                false,
            ),
            ("unknown actor refused", "SH-310107", "SH-310106-PPZ", false),
            ("unknown authority refused", "SH-310000", "SH-310107", false),
        ];
        for (what, actor, authority, expected) in cases {
            assert_eq!(
                r.may_act_for(&code(actor), &code(authority)),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn with_changes_adds_and_disables_without_touching_self() {
        let r = registry();
        let added = vec![unit("SH-310106-DNXL", Level::Street, Some("SH-310106"))];
        let r2 = r.with_changes(added, &[code("SH-310106-PPZ")]).unwrap();
        assert!(r.get(&code("SH-310106-DNXL")).is_none());
        assert!(!r.get(&code("SH-310106-PPZ")).unwrap().disabled);
        assert!(r2.get(&code("SH-310106-PPZ")).unwrap().disabled);
        assert!(r2.may_act_for(&code("SH-310000"), &code("SH-310106-DNXL")));
        assert!(!r2.may_act_for(&code("SH-310106"), &code("SH-310106-PPZ")));
        assert!(r.may_act_for(&code("SH-310106"), &code("SH-310106-PPZ")));
        // The folding function is carried over.
        assert!(r2.by_name("unit SH-310106-DNXL").is_some());

        assert_eq!(
            r.with_changes(vec![], &[code("AH-340100")]).map(|_| ()),
            Err(RegistryError::UnknownUnit {
                unit: code("AH-340100")
            })
        );
        assert_eq!(
            r.with_changes(vec![unit("SH-310106", Level::City, Some("SH-310000"))], &[])
                .map(|_| ()),
            Err(RegistryError::DuplicateCode {
                unit: code("SH-310106")
            })
        );
        let orphan = unit("AH-340100", Level::City, Some("AH-340199"));
        assert!(matches!(
            r.with_changes(vec![orphan], &[]),
            Err(RegistryError::UnknownParent { .. })
        ));
        // A unit added and disabled in the same change set is known but inert.
        let r3 = r
            .with_changes(
                vec![unit("AH-340100", Level::City, Some("AH-340000"))],
                &[code("AH-340100")],
            )
            .unwrap();
        assert!(r3.get(&code("AH-340100")).unwrap().disabled);
    }

    #[test]
    fn parse_units_toml_defaults_and_rejects_unknown_fields() {
        let units = parse_units_toml(
            r#"
            [[unit]]
            code = "SH-310000"
            name = "上海市城市管理行政执法局"
            party = "SH"
            level = "province"
            division = "310000"

            [[unit]]
            code = "SH-310106"
            name = "上海市静安区城市管理行政执法局"
            party = "SH"
            level = "city"
            division = "310106"
            parent = "SH-310000"
            aliases = ["静安城管"]
            disabled = true
            "#,
        )
        .unwrap();
        assert_eq!(units.len(), 2);
        assert!(!units[0].disabled && units[0].aliases.is_empty() && units[0].parent.is_none());
        assert!(units[1].disabled);
        assert_eq!(units[1].aliases, ["静安城管"]);
        assert!(parse_units_toml("").unwrap().is_empty());
        let head = "[[unit]]\ncode = \"SH-310000\"\nparty = \"SH\"\ndivision = \"310000\"\n";
        for bad in [
            format!("{head}name = \"x\"\nlevel = \"province\"\nfoo = 1\n"),
            "[[units]]\ncode = \"SH-310000\"\n".to_owned(),
            format!(
                "{}name = \"x\"\nlevel = \"province\"\n",
                head.replace("SH-310000", "SH-320000")
            ),
            format!("{head}name = \"x\"\nlevel = \"capital\"\n"),
            format!("{head}level = \"province\"\n"),
            "not toml at all [".to_owned(),
        ] {
            assert!(
                matches!(parse_units_toml(&bad), Err(RegistryError::Parse(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn shipped_units_toml_is_complete() {
        let units = parse_units_toml(include_str!("../../config/units.toml")).unwrap();
        let r = Registry::new(units, fold).unwrap();

        let leads = [
            (Party::Shanghai, "SH-310000", "上海市城市管理行政执法局"),
            (Party::Jiangsu, "JS-320000", "江苏省住房和城乡建设厅"),
            (Party::Zhejiang, "ZJ-330000", "浙江省住房和城乡建设厅"),
            (Party::Anhui, "AH-340000", "安徽省住房和城乡建设厅"),
        ];
        for (party, c, name) in leads {
            let lead = r.lead_of(party).unwrap();
            assert_eq!(lead.code, code(c));
            assert_eq!(lead.name, name);
            assert_eq!(lead.level, Level::Province);
        }
        assert_eq!(r.units().filter(|u| u.level == Level::Province).count(), 4);

        // The parties' published lead units, copied independently of the data file.
        let sh = [
            ("310101", "黄浦"),
            ("310104", "徐汇"),
            ("310105", "长宁"),
            ("310106", "静安"),
            ("310107", "普陀"),
            ("310109", "虹口"),
            ("310110", "杨浦"),
            ("310112", "闵行"),
            ("310113", "宝山"),
            ("310114", "嘉定"),
            ("310115", "浦东新区"),
            ("310116", "金山"),
            ("310117", "松江"),
            ("310118", "青浦"),
            ("310120", "奉贤"),
            ("310151", "崇明"),
        ];
        let cities: &[(&str, &[(&str, &str)])] = &[
            (
                "JS",
                &[
                    ("3201", "南京"),
                    ("3202", "无锡"),
                    ("3203", "徐州"),
                    ("3204", "常州"),
                    ("3205", "苏州"),
                    ("3206", "南通"),
                    ("3207", "连云港"),
                    ("3208", "淮安"),
                    ("3209", "盐城"),
                    ("3210", "扬州"),
                    ("3211", "镇江"),
                    ("3212", "泰州"),
                    ("3213", "宿迁"),
                ],
            ),
            (
                "ZJ",
                &[
                    ("3301", "杭州"),
                    ("3302", "宁波"),
                    ("3303", "温州"),
                    ("3304", "嘉兴"),
                    ("3305", "湖州"),
                    ("3306", "绍兴"),
                    ("3307", "金华"),
                    ("3308", "衢州"),
                    ("3309", "舟山"),
                    ("3310", "台州"),
                    ("3311", "丽水"),
                ],
            ),
            (
                "AH",
                &[
                    ("3401", "合肥"),
                    ("3402", "芜湖"),
                    ("3403", "蚌埠"),
                    ("3404", "淮南"),
                    ("3405", "马鞍山"),
                    ("3406", "淮北"),
                    ("3407", "铜陵"),
                    ("3408", "安庆"),
                    ("3410", "黄山"),
                    ("3411", "滁州"),
                    ("3412", "阜阳"),
                    ("3413", "宿州"),
                    ("3415", "六安"),
                    ("3416", "亳州"),
                    ("3417", "池州"),
                    ("3418", "宣城"),
                ],
            ),
        ];
        let mut expected: Vec<(String, String, String)> = sh
            .iter()
            .map(|(d, n)| (format!("SH-{d}"), d.to_string(), format!("上海市{n}")))
            .collect();
        for (p, list) in cities {
            for (prefix, n) in *list {
                expected.push((
                    format!("{p}-{prefix}00"),
                    format!("{prefix}00"),
                    format!("{n}市"),
                ));
            }
        }
        assert_eq!(expected.len(), 16 + 13 + 11 + 16);
        for (c, division, name_start) in &expected {
            let u = r.get(&code(c));
            assert!(u.is_some(), "{c} missing");
            let u = u.unwrap();
            assert_eq!(&u.division, division, "{c}");
            assert_eq!(u.level, Level::City, "{c}");
            assert!(u.name.starts_with(name_start.as_str()), "{c}: {}", u.name);
            assert_eq!(
                u.parent.as_ref(),
                Some(&r.lead_of(u.party).unwrap().code),
                "{c}"
            );
        }
        assert!(r.get(&code("AH-340900")).is_none());
        assert!(r.get(&code("AH-341400")).is_none());
        let city_count = r.units().filter(|u| u.level == Level::City).count();
        assert_eq!(city_count, expected.len(), "no extra city-level units");

        for c in ["JS-320506", "ZJ-330411", "ZJ-331002"] {
            assert_eq!(r.get(&code(c)).unwrap().level, Level::County, "{c}");
        }
        let ppz = r.get(&code("SH-310106-PPZ")).unwrap();
        assert_eq!(ppz.name, "上海市静安区彭浦镇人民政府");
        assert_eq!(ppz.level, Level::Street);
        assert_eq!(ppz.parent, Some(code("SH-310106")));
        for party in Party::ALL {
            assert!(
                r.units()
                    .any(|u| u.party == party && u.level == Level::Street),
                "{party} has a street unit"
            );
        }
        assert!(r.units().filter(|u| u.level == Level::County).count() >= 3);
        assert!(r.units().all(|u| u.uscc.is_none()), "no invented USCCs");
        assert!(r.may_act_for(&code("SH-310000"), &code("SH-310106-PPZ")));
        assert!(!r.may_act_for(&code("JS-320000"), &code("SH-310106-PPZ")));
    }

    // ---- property tests over random trees -------------------------------------------------

    fn level_of(n: u8) -> Level {
        match n {
            0 => Level::Province,
            1 => Level::City,
            2 => Level::County,
            _ => Level::Street,
        }
    }

    /// A random forest: the four leads, then units each hung under a random non-street unit of
    /// a random party, at a random lower level; some disabled. Returns the units and, as an
    /// independent reference, each unit's parent index.
    fn build(spec: &[(usize, prop::sample::Index, u8, bool)]) -> (Vec<Unit>, Vec<Option<usize>>) {
        let mut units: Vec<Unit> = Vec::new();
        let mut parents = Vec::new();
        let mut depth: Vec<u8> = Vec::new();
        for p in Party::ALL {
            units.push(unit(
                &format!("{}-{}0000", p.code(), p.division_prefix()),
                Level::Province,
                None,
            ));
            parents.push(None);
            depth.push(0);
        }
        for (n, (party, pick, bump, disabled)) in spec.iter().enumerate() {
            let party = Party::ALL[party % 4];
            let candidates: Vec<usize> = (0..units.len())
                .filter(|&i| units[i].party == party && depth[i] < 3)
                .collect();
            let p = candidates[pick.index(candidates.len())];
            let d = (depth[p] + bump).min(3);
            let parent_code = units[p].code.to_string();
            let c = format!("{}-{}0000-U{n}", party.code(), party.division_prefix());
            let mut u = unit(&c, level_of(d), Some(&parent_code));
            u.disabled = *disabled;
            units.push(u);
            parents.push(Some(p));
            depth.push(d);
        }
        (units, parents)
    }

    fn reference_may_act(units: &[Unit], parents: &[Option<usize>], a: usize, b: usize) -> bool {
        if units[a].disabled || units[b].disabled {
            return false;
        }
        let mut cur = Some(b);
        while let Some(i) = cur {
            if i == a {
                return true;
            }
            cur = parents[i];
        }
        false
    }

    fn spec() -> impl Strategy<Value = Vec<(usize, prop::sample::Index, u8, bool)>> {
        prop::collection::vec(
            (
                0usize..4,
                any::<prop::sample::Index>(),
                1u8..=3,
                prop::bool::weighted(0.15),
            ),
            0..40,
        )
    }

    proptest! {
        #[test]
        fn random_trees_validate_and_match_the_reference(spec in spec()) {
            let (units, parents) = build(&spec);
            let r = Registry::new(units.clone(), fold).unwrap();
            for a in 0..units.len() {
                for b in 0..units.len() {
                    let got = r.may_act_for(&units[a].code, &units[b].code);
                    prop_assert_eq!(got, reference_may_act(&units, &parents, a, b),
                        "{} for {}", units[a].code, units[b].code);
                    if got {
                        prop_assert_eq!(units[a].party, units[b].party);
                    }
                }
            }
        }

        #[test]
        fn may_act_for_is_transitive(spec in spec()) {
            let (units, _) = build(&spec);
            let r = Registry::new(units.clone(), fold).unwrap();
            // Exhaustively: the trees are small.
            for a in &units {
                for b in &units {
                    for c in &units {
                        if r.may_act_for(&a.code, &b.code) && r.may_act_for(&b.code, &c.code) {
                            prop_assert!(r.may_act_for(&a.code, &c.code));
                        }
                    }
                }
            }
        }

        #[test]
        fn a_lead_acts_for_every_enabled_unit_of_its_party_and_no_other(spec in spec()) {
            let (units, _) = build(&spec);
            let r = Registry::new(units.clone(), fold).unwrap();
            for party in Party::ALL {
                let lead = r.lead_of(party).unwrap();
                let desc = r.descendants(&lead.code);
                prop_assert_eq!(desc.len() + 1, units.iter().filter(|u| u.party == party).count());
                for u in &units {
                    let expected = u.party == party && !u.disabled;
                    prop_assert_eq!(r.may_act_for(&lead.code, &u.code), expected, "{}", u.code);
                }
            }
        }

        #[test]
        fn descendants_and_ancestors_are_inverse(spec in spec()) {
            let (units, _) = build(&spec);
            let r = Registry::new(units.clone(), fold).unwrap();
            for a in &units {
                for d in r.descendants(&a.code) {
                    prop_assert!(r.ancestors(&d.code).iter().any(|x| x.code == a.code));
                }
                for anc in r.ancestors(&a.code) {
                    prop_assert!(r.descendants(&anc.code).iter().any(|x| x.code == a.code));
                    prop_assert!(anc.level < a.level);
                }
            }
        }

        #[test]
        fn disabling_a_unit_only_removes_its_own_rights(
            spec in spec(),
            pick in any::<prop::sample::Index>(),
        ) {
            let (units, _) = build(&spec);
            let r = Registry::new(units.clone(), fold).unwrap();
            let victim = units[pick.index(units.len())].code.clone();
            let r2 = r.with_changes(vec![], std::slice::from_ref(&victim)).unwrap();
            for a in &units {
                for b in &units {
                    let expected = r.may_act_for(&a.code, &b.code)
                        && a.code != victim
                        && b.code != victim;
                    prop_assert_eq!(r2.may_act_for(&a.code, &b.code), expected);
                }
            }
        }
    }
}
