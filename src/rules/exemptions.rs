//! The first-violation list (首违不罚清单, `config/exemptions.toml`): the items a unit may cite
//! when it decides not to penalize a minor first violation, and the look-back window of the
//! first-violation check. Pure: parsing takes the text and the catalogue.

use crate::domain::party::Party;
use crate::normalize::Catalog;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The built-in copy of `config/exemptions.toml`.
pub const BUILT_IN: &str = include_str!("../../config/exemptions.toml");

/// One item of the list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListItem {
    /// Stable id (`YRD-SR-01`).
    pub id: String,
    /// Parties whose units may cite it.
    #[schema(value_type = Vec<String>)]
    pub parties: Vec<Party>,
    /// Catalogue code of the violation.
    pub violation_type: String,
    /// What the item covers.
    pub title: String,
    /// Its legal basis.
    pub legal_basis: String,
    /// Its conditions.
    pub conditions: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    lookback_months: u32,
    items: Vec<ListItem>,
}

/// A list that failed its checks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("first-violation list is not valid: {0}")]
pub struct ListError(pub String);

/// The loaded list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExemptionList {
    /// How far back the first-violation check looks, in months.
    pub lookback_months: u32,
    items: Vec<ListItem>,
}

impl ExemptionList {
    /// The built-in list.
    pub fn built_in(catalog: &Catalog) -> Result<ExemptionList, ListError> {
        ExemptionList::parse(BUILT_IN, catalog)
    }

    /// Parses and checks a list.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<ExemptionList, ListError> {
        let file: ListFile = toml::from_str(text).map_err(|e| ListError(e.to_string()))?;
        if file.lookback_months == 0 {
            return Err(ListError("lookback_months must be ≥ 1".into()));
        }
        let mut ids = HashSet::new();
        for item in &file.items {
            if item.id.trim().is_empty() || !ids.insert(item.id.as_str()) {
                return Err(ListError(format!(
                    "item id {:?} is blank or repeated",
                    item.id
                )));
            }
            if item.parties.is_empty() {
                return Err(ListError(format!("item {}: no parties", item.id)));
            }
            if catalog.get(&item.violation_type).is_none() {
                return Err(ListError(format!(
                    "item {}: violation type {:?} is not in the catalogue",
                    item.id, item.violation_type
                )));
            }
        }
        Ok(ExemptionList {
            lookback_months: file.lookback_months,
            items: file.items,
        })
    }

    /// Every item.
    pub fn items(&self) -> &[ListItem] {
        &self.items
    }

    /// The item with this id.
    pub fn get(&self, id: &str) -> Option<&ListItem> {
        self.items.iter().find(|i| i.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_loads_and_bad_lists_are_refused() {
        let c = Catalog::built_in().unwrap();
        let l = ExemptionList::built_in(&c).unwrap();
        assert_eq!(l.lookback_months, 24);
        assert!(l.get("YRD-SR-01").is_some());
        assert!(l.get("SH-CG-06").unwrap().parties == vec![Party::Shanghai]);
        let item = |vt: &str, id: &str| {
            format!(
                "[[items]]\nid = \"{id}\"\nparties = [\"SH\"]\nviolation_type = \"{vt}\"\n\
                 title = \"t\"\nlegal_basis = \"b\"\nconditions = \"c\"\n"
            )
        };
        let ok = format!("lookback_months = 12\n{}", item("open_burning", "A"));
        assert!(ExemptionList::parse(&ok, &c).is_ok());
        let unknown = format!("lookback_months = 12\n{}", item("nope", "A"));
        assert!(
            ExemptionList::parse(&unknown, &c)
                .unwrap_err()
                .0
                .contains("catalogue")
        );
        let twice = format!(
            "lookback_months = 12\n{}{}",
            item("open_burning", "A"),
            item("open_burning", "A")
        );
        assert!(
            ExemptionList::parse(&twice, &c)
                .unwrap_err()
                .0
                .contains("repeated")
        );
        let zero = format!("lookback_months = 0\n{}", item("open_burning", "A"));
        assert!(ExemptionList::parse(&zero, &c).is_err());
        assert!(ExemptionList::parse(&ok.replace("\"SH\"", "\"XX\""), &c).is_err());
    }
}
