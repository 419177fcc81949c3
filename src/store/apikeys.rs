//! Analysts' bearer API keys. Only a SHA-256 hash of each key is stored; the key itself is
//! shown once, at creation.

use super::schema::api_keys;
use super::{Conn, StoreError};
use diesel::prelude::*;

/// A stored key, without its secret.
#[derive(Queryable, Debug, Clone, serde::Serialize)]
pub struct ApiKeyRow {
    /// Row id.
    pub id: i64,
    /// Unique name given by the operator.
    pub name: String,
    /// The role the key grants (`analyst`).
    pub role: String,
    /// Hex SHA-256 of the key.
    #[serde(skip)]
    pub key_hash: String,
    /// When it was created (UTC).
    pub created_at: chrono::NaiveDateTime,
    /// When it was revoked (UTC), if it was.
    pub revoked_at: Option<chrono::NaiveDateTime>,
}

/// Stores a new key's hash.
pub fn insert(conn: &mut Conn, name: &str, role: &str, key_hash: &str) -> Result<(), StoreError> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::name.eq(name),
            api_keys::role.eq(role),
            api_keys::key_hash.eq(key_hash),
            api_keys::created_at.eq(super::now_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The live (not revoked) key with this hash.
pub fn find_live(conn: &mut Conn, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .first(conn)
        .optional()?)
}

/// All keys, newest first.
pub fn list(conn: &mut Conn) -> Result<Vec<ApiKeyRow>, StoreError> {
    Ok(api_keys::table.order(api_keys::id.desc()).load(conn)?)
}

/// Revokes a key by name; returns whether a live key was revoked.
pub fn revoke(conn: &mut Conn, name: &str) -> Result<bool, StoreError> {
    let n = diesel::update(
        api_keys::table
            .filter(api_keys::name.eq(name))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Some(super::now_utc())))
    .execute(conn)?;
    Ok(n > 0)
}
