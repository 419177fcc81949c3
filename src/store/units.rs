//! Runtime changes to the unit registry: units added and units disabled by the operator.
//! They survive restarts and are applied over `config/units.toml` at start.

use super::schema::unit_overrides;
use super::{Conn, StoreError};
use crate::domain::unit::Unit;
use diesel::prelude::*;

#[derive(Queryable, Insertable, AsChangeset, Debug)]
#[diesel(table_name = unit_overrides)]
struct OverrideRow {
    code: String,
    unit_json: Option<String>,
    disabled: bool,
    changed_at: chrono::NaiveDateTime,
    changed_by: String,
}

/// The stored runtime changes: units added, and codes disabled.
#[derive(Debug, Default, Clone)]
pub struct UnitChanges {
    /// Units added at run time.
    pub added: Vec<Unit>,
    /// Codes of disabled units (from the config file or added).
    pub disabled: Vec<String>,
}

/// Loads all runtime changes.
pub fn load(conn: &mut Conn) -> Result<UnitChanges, StoreError> {
    let rows: Vec<OverrideRow> = unit_overrides::table
        .order(unit_overrides::changed_at.asc())
        .load(conn)?;
    let mut changes = UnitChanges::default();
    for row in rows {
        if let Some(json) = &row.unit_json {
            let unit: Unit = serde_json::from_str(json)
                .map_err(|e| StoreError::Corrupt(format!("unit {}: {e}", row.code)))?;
            changes.added.push(unit);
        }
        if row.disabled {
            changes.disabled.push(row.code);
        }
    }
    Ok(changes)
}

/// Stores a unit added at run time.
pub fn add(conn: &mut Conn, unit: &Unit, by: &str) -> Result<(), StoreError> {
    let json = serde_json::to_string(unit).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    diesel::insert_into(unit_overrides::table)
        .values(OverrideRow {
            code: unit.code.to_string(),
            unit_json: Some(json),
            disabled: unit.disabled,
            changed_at: super::now_utc(),
            changed_by: by.to_owned(),
        })
        .execute(conn)?;
    Ok(())
}

/// Marks a unit (from the config file or added at run time) disabled or enabled again.
pub fn set_disabled(
    conn: &mut Conn,
    code: &str,
    disabled: bool,
    by: &str,
) -> Result<(), StoreError> {
    let now = super::now_utc();
    let updated = diesel::update(unit_overrides::table.find(code))
        .set((
            unit_overrides::disabled.eq(disabled),
            unit_overrides::changed_at.eq(now),
            unit_overrides::changed_by.eq(by),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(unit_overrides::table)
            .values(OverrideRow {
                code: code.to_owned(),
                unit_json: None,
                disabled,
                changed_at: now,
                changed_by: by.to_owned(),
            })
            .execute(conn)?;
    }
    Ok(())
}
