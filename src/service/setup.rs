//! What an operation needs from the settings, shared by the server's start-up (`app`), the
//! command line and `penex import`: the database (migrations applied or checked), the unit
//! registry with its runtime changes, the catalogue and rules, the personal-data keys.
//!
//! Knows no HTTP. Reads files and opens connections; writes nothing but a key file created on
//! first use.

use crate::config::Settings;
use crate::domain::registry::Registry;
use crate::domain::unit::Unit;
use crate::store::{self, Conn, DatabaseUrl, StoreError};
use std::path::PathBuf;

/// Why penex could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Settings.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Cache.
    #[error("cache: {0}")]
    Cache(#[from] crate::cache::CacheError),
    /// Certificates and keys.
    #[error("TLS: {0}")]
    Tls(String),
    /// The unit registry.
    #[error("unit registry: {0}")]
    Registry(String),
    /// The violation-type catalogue.
    #[error("violation-type catalogue: {0}")]
    Catalog(String),
    /// The joint-discipline rules.
    #[error("joint-discipline rules: {0}")]
    Rules(String),
    /// Case collaboration's calendar or deadlines.
    #[error("collaboration: {0}")]
    Collaboration(String),
    /// PostgreSQL has migrations that were not applied.
    #[error(
        "the database has {} pending migration(s) ({}); run `penex migrate` or start with \
         `penex serve --migrate`", .0.len(), .0.join(", ")
    )]
    PendingMigrations(Vec<String>),
    /// File-system trouble.
    #[error("{0}")]
    Io(String),
    /// The `FAILPOINTS` variable names an unknown point, is malformed, or is set in a build
    /// without failpoints (`store::failpoint`).
    #[error("{0}")]
    Failpoints(String),
}

/// Reads the registry file.
pub fn load_base_units(settings: &Settings) -> Result<Vec<Unit>, StartError> {
    let text = std::fs::read_to_string(&settings.units_file).map_err(|e| {
        StartError::Registry(format!(
            "cannot read {}: {e}",
            settings.units_file.display()
        ))
    })?;
    crate::domain::registry::parse_units_toml(&text)
        .map_err(|e| StartError::Registry(format!("{}: {e}", settings.units_file.display())))
}

/// The violation-type catalogue: `catalog_file` when set, else the built-in copy of
/// `config/catalog.toml`.
pub fn load_catalog(
    settings: &Settings,
) -> Result<std::sync::Arc<crate::normalize::Catalog>, StartError> {
    let catalog = match &settings.catalog_file {
        None => crate::normalize::Catalog::built_in(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| StartError::Catalog(format!("cannot read {}: {e}", path.display())))?;
            crate::normalize::Catalog::parse(&text)
        }
    };
    catalog.map(std::sync::Arc::new).map_err(|e| {
        StartError::Catalog(match &settings.catalog_file {
            Some(path) => format!("{}: {e}", path.display()),
            None => format!("built-in: {e}"),
        })
    })
}

/// Catalogue, conflict thresholds and rules (`rules_file`, else the built-in copy of
/// `config/rules.toml`, checked against the catalogue).
pub fn load_policy(
    settings: &Settings,
) -> Result<std::sync::Arc<crate::service::policy::PolicySet>, StartError> {
    let catalog = load_catalog(settings)?;
    let rules = match &settings.rules_file {
        None => crate::rules::RuleSet::built_in(&catalog)
            .map_err(|e| StartError::Rules(format!("built-in: {e}")))?,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| StartError::Rules(format!("cannot read {}: {e}", path.display())))?;
            crate::rules::RuleSet::parse(&text, &catalog)
                .map_err(|e| StartError::Rules(format!("{}: {e}", path.display())))?
        }
    };
    use crate::rules::exemptions::ExemptionList;
    let exemptions = match &settings.exemptions_file {
        None => ExemptionList::built_in(&catalog)
            .map_err(|e| StartError::Rules(format!("built-in: {e}")))?,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| StartError::Rules(format!("cannot read {}: {e}", path.display())))?;
            ExemptionList::parse(&text, &catalog)
                .map_err(|e| StartError::Rules(format!("{}: {e}", path.display())))?
        }
    };
    Ok(std::sync::Arc::new(crate::service::policy::PolicySet {
        catalog,
        conflicts: settings.conflicts.clone(),
        rules: std::sync::Arc::new(rules),
        exemptions: std::sync::Arc::new(exemptions),
        collab: std::sync::Arc::new(load_collaboration(settings)?),
    }))
}

/// Collaboration's policy: `collaboration_file` and `holidays_file` when set, else the
/// built-in copies. Logs an error when the working-day calendar lacks the current year (its
/// deadlines are then provisional) and a warning from 1 November when it lacks the next.
pub fn load_collaboration(
    settings: &Settings,
) -> Result<crate::service::collab::CollabPolicy, StartError> {
    use crate::domain::calendar::WorkCalendar;
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .map_err(|e| StartError::Collaboration(format!("cannot read {}: {e}", path.display())))
    };
    let calendar = match &settings.holidays_file {
        None => WorkCalendar::built_in()
            .map_err(|e| StartError::Collaboration(format!("built-in calendar: {e}")))?,
        Some(path) => WorkCalendar::parse(&read(path)?)
            .map_err(|e| StartError::Collaboration(format!("{}: {e}", path.display())))?,
    };
    let today = crate::domain::clock::today_shanghai();
    let year = chrono::Datelike::year(&today);
    let next = year + 1;
    if !calendar.has_year(year) {
        // Serving on matters more than exact deadlines: a missing notice must not take the
        // exchange down on 1 January. Every deadline is provisional until it is added.
        tracing::error!(
            year,
            "the working-day calendar has no schedule for this year: collaboration deadlines \
             are provisional (weekends only) until the State Council's notice is added to \
             config/holidays.toml (or the file named by holidays_file)"
        );
    } else if chrono::Datelike::month(&today) >= 11 && !calendar.has_year(next) {
        tracing::warn!(
            year = next,
            "the working-day calendar has no schedule for next year: deadlines running into it \
             are provisional (weekends only) until the State Council's notice is added to \
             config/holidays.toml"
        );
    }
    let policy = match &settings.collaboration_file {
        None => crate::service::collab::config::BUILT_IN.to_owned(),
        Some(path) => read(path)?,
    };
    crate::service::collab::CollabPolicy::parse(&policy, calendar).map_err(|e| {
        StartError::Collaboration(match &settings.collaboration_file {
            Some(path) => format!("{}: {e}", path.display()),
            None => format!("built-in: {e}"),
        })
    })
}

/// The registry: the file's units with the runtime changes stored in the database applied.
pub fn build_registry(conn: &mut Conn, base: Vec<Unit>) -> Result<Registry, StoreError> {
    let changes = store::units::load(conn)?;
    let registry = Registry::new(base, crate::normalize::text::fold_name)
        .map_err(|e| StoreError::Corrupt(format!("unit registry: {e}")))?;
    let disabled: Vec<_> = changes
        .disabled
        .iter()
        .filter_map(|c| crate::domain::unit::UnitCode::parse(c).ok())
        .collect();
    registry
        .with_changes(changes.added, &disabled)
        .map_err(|e| StoreError::Corrupt(format!("unit registry with runtime changes: {e}")))
}

/// Applies (SQLite, or when `migrate`) or checks (PostgreSQL) migrations on one connection.
pub fn check_migrations(
    conn: &mut Conn,
    url: &DatabaseUrl,
    migrate: bool,
) -> Result<(), StartError> {
    match (url, migrate) {
        (DatabaseUrl::Sqlite(_), _) | (DatabaseUrl::Postgres(_), true) => {
            let applied = store::conn::run_migrations(conn)?;
            if !applied.is_empty() {
                tracing::info!(count = applied.len(), "migrations applied");
            }
        }
        (DatabaseUrl::Postgres(_), false) => {
            let pending = store::conn::pending_migrations(conn)?;
            if !pending.is_empty() {
                return Err(StartError::PendingMigrations(pending));
            }
        }
    }
    Ok(())
}

/// Opens the database pool and applies or checks migrations.
pub fn open_database(
    settings: &Settings,
    migrate: bool,
) -> Result<(DatabaseUrl, store::Pool), StartError> {
    let url = settings.database()?;
    let pool = store::conn::pool(&url, settings.database_pool_size)?;
    let mut conn = pool.get().map_err(StoreError::from)?;
    check_migrations(&mut conn, &url, migrate)?;
    Ok((url, pool))
}

/// One connection for a command-line tool (no pool, so no background threads are still
/// connecting when the process exits), with migrations applied or checked as for `serve`.
pub fn open_single(settings: &Settings, migrate: bool) -> Result<Conn, StartError> {
    let url = settings.database()?;
    let mut conn = url.establish()?;
    check_migrations(&mut conn, &url, migrate)?;
    Ok(conn)
}

/// Where the personal-data key file lives (see [`load_pii_keys`]).
pub fn pii_key_path(settings: &Settings) -> PathBuf {
    settings.keys_dir().join("pii.key")
}

/// The keys that seal personal data: 64 random bytes (AES-256-GCM key, then the blind-index
/// HMAC key) in `<data_dir>/keys/pii.key`, mode 0600, created on first start. Every instance of
/// one deployment must use the same file.
///
/// Refuses to create a new key for a database that already holds records: they were sealed
/// with another key (a wrong `data_dir`, or a key file not copied to this instance), and a new
/// key would make new and old ID numbers unreadable to each other.
pub fn load_pii_keys(
    settings: &Settings,
    conn: &mut Conn,
) -> Result<crate::crypto::pii::PiiKeyring, StartError> {
    let path = pii_key_path(settings);
    if !path.exists() && store::records::any(conn)? {
        return Err(StartError::Io(format!(
            "there is no personal-data key at {}, but the database holds records sealed with \
             one: point data_dir (PENEX_DATA_DIR) at the folder holding keys/pii.key, or copy \
             that file from the other instances",
            path.display()
        )));
    }
    let bytes = crate::crypto::keys::load_or_create_secret(&path, 64)
        .map_err(|e| StartError::Io(format!("personal-data key: {e}")))?;
    let (enc, idx) = bytes.split_at(32.min(bytes.len()));
    let enc: [u8; 32] = enc
        .try_into()
        .map_err(|_| StartError::Io(format!("{} is not 64 bytes", path.display())))?;
    let idx: [u8; 32] = idx
        .try_into()
        .map_err(|_| StartError::Io(format!("{} is not 64 bytes", path.display())))?;
    let cipher = crate::crypto::pii::PiiCipher::new(enc, idx, 1)
        .map_err(|e| StartError::Io(format!("personal-data key: {e}")))?;
    Ok(crate::crypto::pii::PiiKeyring::new(cipher))
}
