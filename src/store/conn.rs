//! Connections: one diesel `MultiConnection` over PostgreSQL and bundled SQLite, an r2d2 pool
//! that establishes each connection explicitly from a URL parsed to fail closed, and the
//! embedded migrations of each dialect.
//!
//! Invariant: a URL that is neither `postgres://`/`postgresql://` nor `sqlite://` is refused;
//! diesel's own `MultiConnection::establish` would silently create a SQLite file named after a
//! mistyped Postgres URL, so it is never used.

use super::StoreError;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::path::PathBuf;
use std::time::Duration;

/// A connection to either backend. Backend-specific SQL matches on the variant.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// PostgreSQL, for production (listed first: see the module header).
    Postgresql(diesel::PgConnection),
    /// Bundled SQLite, the embedded default.
    Sqlite(diesel::SqliteConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection of either backend: for the
/// statements diesel's `MultiConnection` cannot express, such as multi-row inserts on SQLite
/// (its `MultiConnection` insert takes one row at a time). The body is compiled once per backend.
macro_rules! on_each_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::conn::AnyConnection::Postgresql($c) => $body,
            $crate::store::conn::AnyConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_each_backend;

/// Writes `$rows` (a slice of `Insertable` rows with every column set) into `$table`: one
/// binary `COPY … FROM STDIN` on PostgreSQL, inside the caller's transaction (no bind-parameter
/// limit, and measured cheaper for the server than multi-row `INSERT`s: docs/PERFORMANCE.md),
/// multi-row `INSERT`s of `$chunk` rows on SQLite. A unique-key violation fails the statement
/// on both backends alike.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {{
        let rows = $rows;
        match $conn {
            $crate::store::conn::AnyConnection::Postgresql(c) => {
                if !rows.is_empty() {
                    diesel::copy_from($table).from_insertable(rows).execute(c)?;
                }
            }
            $crate::store::conn::AnyConnection::Sqlite(c) => {
                for chunk in rows.chunks($chunk) {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
        }
    }};
}
pub(crate) use insert_rows;

/// The connection type repositories take.
pub type Conn = AnyConnection;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `postgres://…` or `postgresql://…`, passed to libpq as is.
    Postgres(String),
    /// `sqlite://PATH` (relative or absolute path of the database file).
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// Parses a database URL, refusing anything it does not understand.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path.contains('?') {
                return Err(StoreError::BadUrl(
                    "sqlite:// needs a file path and takes no parameters".into(),
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        Err(StoreError::BadUrl(
            "expected postgres://…, postgresql://… or sqlite://PATH".into(),
        ))
    }

    /// The backend's name, for logs and `/readyz`.
    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::Postgres(_) => "postgres",
            DatabaseUrl::Sqlite(_) => "sqlite",
        }
    }

    /// The URL with any password replaced by `***`, safe for logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => redact_password(u),
        }
    }

    /// Opens one connection, applying the SQLite pragmas.
    pub fn establish(&self) -> Result<AnyConnection, StoreError> {
        match self {
            DatabaseUrl::Postgres(u) => {
                let mut c = diesel::PgConnection::establish(u).map_err(StoreError::Connect)?;
                // diesel prepares every statement once per connection. A generic plan made
                // while a table was small (a seq scan) is kept as the table grows, and the
                // batch lookups (`col = ANY($1)`, a thousand values) then test every row against
                // every value: plan each execution for its parameters and current statistics.
                c.batch_execute("SET plan_cache_mode = force_custom_plan")?;
                Ok(AnyConnection::Postgresql(c))
            }
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::BadUrl(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                let path = path.to_str().ok_or_else(|| {
                    StoreError::BadUrl("the SQLite path is not valid UTF-8".into())
                })?;
                let mut c =
                    diesel::SqliteConnection::establish(path).map_err(StoreError::Connect)?;
                // WAL lets readers run beside the writer; busy_timeout makes writers queue
                // instead of failing; foreign keys are off by default in SQLite.
                c.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                )?;
                Ok(AnyConnection::Sqlite(c))
            }
        }
    }
}

fn redact_password(url: &str) -> String {
    // postgres://user:password@host/… → postgres://user:***@host/…
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".into();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://{userinfo}@{host}"),
        },
        None => url.to_owned(),
    }
}

/// r2d2 manager that uses [`DatabaseUrl::establish`], never diesel's guessing `establish`.
#[derive(Debug, Clone)]
pub struct Manager(DatabaseUrl);

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<AnyConnection, StoreError> {
        self.0.establish()
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        conn.batch_execute("SELECT 1").map_err(StoreError::from)
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

/// The connection pool.
pub type Pool = r2d2::Pool<Manager>;

/// Builds a pool. Connections are made lazily after the first, so a database that is down at
/// start is reported at once.
pub fn pool(url: &DatabaseUrl, size: u32) -> Result<Pool, StoreError> {
    // SQLite has one writer; more connections only add lock contention.
    let size = match url {
        DatabaseUrl::Sqlite(_) => size.clamp(1, 4),
        DatabaseUrl::Postgres(_) => size.max(1),
    };
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        .build(Manager(url.clone()))
        .map_err(|e| StoreError::Pool(e.to_string()))
}

/// Names of the migrations not yet applied.
pub fn pending_migrations(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    Ok(match conn {
        AnyConnection::Postgresql(c) => c
            .pending_migrations(PG_MIGRATIONS)
            .map_err(err)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
        AnyConnection::Sqlite(c) => c
            .pending_migrations(SQLITE_MIGRATIONS)
            .map_err(err)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
    })
}

/// Applies every pending migration; returns the names applied.
pub fn run_migrations(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        AnyConnection::Postgresql(c) => c.run_pending_migrations(PG_MIGRATIONS),
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// Reverts every applied migration, newest first (used by the migration tests).
pub fn revert_all_migrations(conn: &mut AnyConnection) -> Result<usize, StoreError> {
    let reverted = match conn {
        AnyConnection::Postgresql(c) => c.revert_all_migrations(PG_MIGRATIONS),
        AnyConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(reverted.len())
}

/// Reverts the newest applied migration; its name (used by the migration tests to stand
/// before one migration with data of the old shape).
pub fn revert_last_migration(conn: &mut AnyConnection) -> Result<String, StoreError> {
    let reverted = match conn {
        AnyConnection::Postgresql(c) => c.revert_last_migration(PG_MIGRATIONS),
        AnyConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(reverted.to_string())
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (so two writers never deadlock
/// upgrading read locks), an ordinary transaction on PostgreSQL.
pub fn write_tx<T, E, F>(conn: &mut AnyConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        AnyConnection::Sqlite(_) => {
            // `immediate_transaction` exists only on SqliteConnection, and `f` needs the
            // enum; run the BEGIN IMMEDIATE ourselves through the enum's transaction manager.
            conn.batch_execute("BEGIN IMMEDIATE")?;
            match f(conn) {
                Ok(v) => {
                    conn.batch_execute("COMMIT")?;
                    Ok(v)
                }
                Err(e) => {
                    // The original error matters more than a failed rollback.
                    let _ = conn.batch_execute("ROLLBACK");
                    Err(e)
                }
            }
        }
        AnyConnection::Postgresql(_) => conn.transaction(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_fail_closed() {
        assert!(matches!(
            DatabaseUrl::parse("postgres://a:b@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite://./data/penex.db"),
            Ok(DatabaseUrl::Sqlite(_))
        ));
        for bad in [
            "host=127.0.0.1 port=1 dbname=none",
            "postgress://x",
            "./data/penex.db",
            "mysql://x",
            "sqlite://",
            "",
        ] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        let u = DatabaseUrl::parse("postgres://app:s3cret@127.0.0.1:5432/app").ok();
        let shown = u.map(|u| u.redacted()).unwrap_or_default();
        assert_eq!(shown, "postgres://app:***@127.0.0.1:5432/app");
    }
}
