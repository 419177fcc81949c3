//! The operator's administration: runtime changes to the unit registry (units added,
//! disabled, enabled again), analysts' API keys (created, revoked), and re-keying stored
//! subject names after the folding or the registry changed. `penex unit`, `penex apikey` and
//! `penex subjects` call it.
//!
//! Invariants: every change is one transaction with one audit entry (none when nothing
//! changed); a unit is checked against the whole registry before anything is stored; an API
//! key's secret is returned once and stored only as its hash ([`api_key_hash`]).

use super::error::{Error, Result};
use crate::domain::registry::Registry;
use crate::domain::unit::{Unit, UnitCode};
use crate::service::links::{RelinkReport, relink_stored};
use crate::store::{self, Conn, Failure};

/// Adds `unit` to the registry at run time. A unit the registry would not hold (unknown
/// parent, a parent of another party, a code taken…) is invalid (`invalid_unit`) and nothing
/// is stored.
pub fn add_unit(conn: &mut Conn, registry: &Registry, unit: &Unit, actor: &str) -> Result<()> {
    registry
        .with_changes(vec![unit.clone()], &[])
        .map_err(|e| Error::Invalid {
            code: "invalid_unit",
            detail: e.to_string(),
            errors: Vec::new(),
        })?;
    store::conn::write_tx(conn, |c| -> Result<()> {
        store::units::add(c, unit, actor)?;
        store::audit::append(
            c,
            &store::audit::NewAudit {
                actor,
                action: "unit.add",
                target: unit.code.as_ref(),
                detail: &serde_json::json!({
                    "name": unit.name, "level": unit.level, "parent": unit.parent,
                })
                .to_string(),
            },
        )?;
        Ok(())
    })
}

/// Disables a registered unit (its certificates stop working once running instances reload
/// the registry) or enables it again. A code the registry does not hold: [`Error::NotFound`].
pub fn set_unit_disabled(
    conn: &mut Conn,
    registry: &Registry,
    code: &UnitCode,
    disabled: bool,
    actor: &str,
) -> Result<()> {
    if registry.get(code).is_none() {
        return Err(Error::NotFound);
    }
    let action = if disabled {
        "unit.disable"
    } else {
        "unit.enable"
    };
    store::conn::write_tx(conn, |c| -> Result<()> {
        store::units::set_disabled(c, code.as_ref(), disabled, actor)?;
        store::audit::append(
            c,
            &store::audit::NewAudit {
                actor,
                action,
                target: code.as_ref(),
                detail: "{}",
            },
        )?;
        Ok(())
    })
}

/// Hex SHA-256 of an API key, the form in which keys are stored and looked up.
pub fn api_key_hash(token: &str) -> String {
    hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

/// Creates an API key named `name` and answers its secret (`pxk_…`), which is stored only as
/// its hash: the caller shows it once. Only the analyst role may hold keys (`invalid_role`);
/// a name taken already is a conflict (`apikey_exists`).
pub fn create_api_key(conn: &mut Conn, name: &str, role: &str, actor: &str) -> Result<String> {
    if role != "analyst" {
        return Err(Error::Invalid {
            code: "invalid_role",
            detail: "API keys can only be created for the analyst role".into(),
            errors: Vec::new(),
        });
    }
    let mut secret = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| Error::Internal("the system random generator failed".into()))?;
    let token = format!("pxk_{}", hex::encode(secret));
    let hash = api_key_hash(&token);
    store::conn::write_tx(conn, |c| -> Result<()> {
        store::apikeys::insert(c, name, role, &hash).map_err(|e| {
            // The name is the table's only unique key besides the hash of 32 random bytes.
            if e.failure() == Failure::Contended {
                Error::Conflict {
                    code: "apikey_exists",
                    detail: format!("an API key named {name:?} exists already"),
                }
            } else {
                Error::from(e)
            }
        })?;
        store::audit::append(
            c,
            &store::audit::NewAudit {
                actor,
                action: "apikey.create",
                target: name,
                detail: &serde_json::json!({ "role": role }).to_string(),
            },
        )?;
        Ok(())
    })?;
    Ok(token)
}

/// Revokes the live API key named `name`; no such live key: [`Error::NotFound`], and nothing
/// is audited.
pub fn revoke_api_key(conn: &mut Conn, name: &str, actor: &str) -> Result<()> {
    store::conn::write_tx(conn, |c| -> Result<()> {
        if !store::apikeys::revoke(c, name)? {
            return Err(Error::NotFound);
        }
        store::audit::append(
            c,
            &store::audit::NewAudit {
                actor,
                action: "apikey.revoke",
                target: name,
                detail: "{}",
            },
        )?;
        Ok(())
    })
}

/// Applies the current name folding and `registry`'s divisions to every stored subject name
/// and weak link, in one transaction ([`relink_stored`]: one audit entry when anything
/// changed). Idempotent.
pub fn relink_subjects(conn: &mut Conn, registry: &Registry, actor: &str) -> Result<RelinkReport> {
    let divisions = crate::normalize::names::Divisions::from_units(registry.units());
    Ok(store::conn::write_tx(conn, |c| {
        relink_stored(c, &divisions, actor, store::now_utc())
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_stored_as_hex_sha256() {
        assert_eq!(
            api_key_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
