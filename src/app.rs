//! Start-up: settings → data folder → dev PKI → database (migrations) → cache → registry →
//! TLS → HTTP server. Also the registry assembly shared by the server and the CLI.

use crate::api::state::AppState;
use crate::cache::Cache;
use crate::config::Settings;
use crate::domain::party::Party;
use crate::domain::registry::Registry;
use crate::domain::unit::Unit;
use crate::store::{self, Conn, DatabaseUrl, StoreError};
use crate::tls::identity::{CaBinding, ClientCaSet};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    /// PostgreSQL has migrations that were not applied.
    #[error(
        "the database has {} pending migration(s) ({}); run `penex migrate` or start with \
         `penex serve --migrate`", .0.len(), .0.join(", ")
    )]
    PendingMigrations(Vec<String>),
    /// File-system trouble.
    #[error("{0}")]
    Io(String),
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
    }))
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

/// The TLS material in force: server certificate and key, and client CAs with bindings.
pub struct TlsMaterial {
    /// Server certificate chain PEM.
    pub server_cert: Vec<u8>,
    /// Server key PEM.
    pub server_key: Vec<u8>,
    /// Client CAs.
    pub client_cas: Vec<(CaBinding, Vec<u8>)>,
    /// With the dev PKI: the CA a client should trust and a lead's certificate, for the
    /// ready-to-paste curl line.
    pub dev_hint: Option<(PathBuf, PathBuf, PathBuf)>,
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|e| StartError::Tls(format!("cannot read {}: {e}", path.display())))
}

/// Loads (and with the dev PKI, first creates) the TLS material.
pub fn tls_material(settings: &Settings, base_units: &[Unit]) -> Result<TlsMaterial, StartError> {
    if settings.tls.dev_pki {
        let leads: Vec<(String, Party)> = base_units
            .iter()
            .filter(|u| u.parent.is_none())
            .map(|u| (u.code.to_string(), u.party))
            .collect();
        let pki = crate::tls::pki::ensure_dev_pki(&settings.pki_dir(), &leads)
            .map_err(|e| StartError::Tls(e.to_string()))?;
        let client_cas = pki
            .load_client_cas()
            .map_err(|e| StartError::Tls(e.to_string()))?;
        let hint = leads.first().and_then(|(code, _)| {
            pki.clients.get(code).map(|c| {
                (
                    pki.exchange_ca.cert.clone(),
                    c.files.cert.clone(),
                    c.files.key.clone(),
                )
            })
        });
        Ok(TlsMaterial {
            server_cert: read(&pki.server.cert)?,
            server_key: read(&pki.server.key)?,
            client_cas,
            dev_hint: hint,
        })
    } else {
        let (Some(cert), Some(key)) = (&settings.tls.server_cert, &settings.tls.server_key) else {
            return Err(StartError::Tls(
                "tls.server_cert and tls.server_key are required".into(),
            ));
        };
        let mut client_cas = Vec::new();
        for ca in &settings.tls.client_cas {
            let binding = if ca.binding == "exchange" {
                CaBinding::Exchange
            } else {
                CaBinding::Party(
                    ca.binding
                        .parse()
                        .map_err(|e| StartError::Tls(format!("{e}")))?,
                )
            };
            client_cas.push((binding, read(&ca.cert)?));
        }
        Ok(TlsMaterial {
            server_cert: read(cert)?,
            server_key: read(key)?,
            client_cas,
            dev_hint: None,
        })
    }
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

fn state_pool_conn(
    pool: &store::Pool,
) -> Result<diesel::r2d2::PooledConnection<store::conn::Manager>, StartError> {
    Ok(pool.get().map_err(StoreError::from)?)
}

/// Everything `serve` needs, assembled (tests build servers from this too).
pub struct Prepared {
    /// Shared state.
    pub state: AppState,
    /// The rustls server configuration.
    pub server_config: rustls::ServerConfig,
    /// The curl hint for the dev PKI.
    pub dev_hint: Option<(PathBuf, PathBuf, PathBuf)>,
}

/// Prepares the server without binding a socket.
pub async fn prepare(settings: Settings, migrate: bool) -> Result<Prepared, StartError> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
        StartError::Io(format!(
            "cannot create {}: {e}",
            settings.data_dir.display()
        ))
    })?;
    let base_units = load_base_units(&settings)?;
    let tls = tls_material(&settings, &base_units)?;
    let (url, pool) = open_database(&settings, migrate)?;
    tracing::info!(database = %url.redacted(), "database ready");
    let cache = Cache::connect_with(
        settings.redis_url.as_ref().map(|s| s.expose_secret()),
        crate::cache::CacheConfig {
            key_prefix: settings.redis_prefix.clone(),
            ..Default::default()
        },
    )
    .await?;
    tracing::info!(cache = cache.backend_name(), "cache ready");
    let registry = {
        let mut conn = pool.get().map_err(StoreError::from)?;
        build_registry(&mut conn, base_units.clone())?
    };
    let client_cas =
        ClientCaSet::new(tls.client_cas.clone()).map_err(|e| StartError::Tls(e.to_string()))?;
    let ca_pems: Vec<Vec<u8>> = tls.client_cas.iter().map(|(_, p)| p.clone()).collect();
    let server_config =
        crate::tls::config::server_config(&tls.server_cert, &tls.server_key, &ca_pems)
            .map_err(|e| StartError::Tls(e.to_string()))?;
    let policy = load_policy(&settings)?;
    let pii = {
        let mut conn = state_pool_conn(&pool)?;
        load_pii_keys(&settings, &mut conn)?
    };
    let event_keys = crate::publish::EventKeys::load(&crate::publish::signing_dir(&settings))
        .map_err(|e| StartError::Io(format!("event signing keys: {e}")))?;
    let state = AppState::new(
        Arc::new(settings),
        pool,
        cache,
        Arc::new(client_cas),
        Arc::new(pii),
        Arc::new(event_keys),
        registry,
        base_units,
        policy,
    );
    Ok(Prepared {
        state,
        server_config,
        dev_hint: tls.dev_hint,
    })
}

/// Keeps the registry in step with operator changes made through the CLI, and picks up a
/// rotated event signing key (`penex keys rotate`).
pub fn spawn_registry_refresh(state: AppState) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Err(e) = state.refresh_registry().await {
                tracing::warn!(error = %e, "registry refresh failed");
            }
            match state.event_keys.reload() {
                Ok(Some(kid)) => tracing::info!(kid = %kid, "event signing key reloaded"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "event signing keys could not be reloaded"),
            }
        }
    });
}

/// Expires flags and drops records whose publicity ended from the flags they support, every
/// `sweep_interval_secs` (see `service::flags::sweep`).
pub fn spawn_sweeper(state: AppState) {
    let every = Duration::from_secs(state.settings.sweep_interval_secs.max(1));
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let policy = state.policy.clone();
            let emitter = state.emitter();
            let today = state.clock.today();
            let swept = state
                .db(move |c| crate::service::flags::sweep(c, &policy.on(today), &emitter))
                .await;
            match swept {
                Ok(0) => {}
                Ok(n) => tracing::info!(flags = n, "sweeper changed flags"),
                Err(e) => tracing::warn!(error = ?e, "sweep failed"),
            }
        }
    });
}

/// Starts the publisher workers on the current runtime when `publish.connector_url` is set.
pub fn start_publisher(
    state: &AppState,
) -> Result<Option<crate::publish::publisher::PublisherHandle>, StartError> {
    use crate::publish::publisher;
    let Some(config) = publisher::config_from(&state.settings) else {
        return Ok(None);
    };
    let client =
        publisher::connector_client(&state.settings).map_err(|e| StartError::Tls(e.to_string()))?;
    let sqlite = matches!(state.settings.database()?, DatabaseUrl::Sqlite(_));
    Ok(Some(publisher::spawn(
        state.pool.clone(),
        client,
        config,
        sqlite,
        state.publish_metrics.clone(),
    )))
}

/// Builds the HTTP server on an already bound listener.
pub fn http_server(
    prepared: Prepared,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let state = prepared.state.clone();
    spawn_registry_refresh(state.clone());
    spawn_sweeper(state.clone());
    let server = actix_web::HttpServer::new(move || crate::api::build_app(state.clone()))
        .on_connect(crate::api::auth::on_connect)
        .shutdown_timeout(30)
        .listen_rustls_0_23(listener, prepared.server_config)?
        .run();
    Ok(server)
}

/// `penex serve`.
pub async fn serve(settings: Settings, migrate: bool) -> Result<(), StartError> {
    let listen = settings.listen;
    let prepared = prepare(settings, migrate).await?;
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| StartError::Io(format!("cannot listen on {listen}: {e}")))?;
    if let Some((ca, cert, key)) = &prepared.dev_hint {
        let host = if listen.ip().is_loopback() {
            "localhost".to_owned()
        } else {
            listen.ip().to_string()
        };
        println!(
            "penex is listening on https://{listen} (dev PKI). Try:\n  curl --cacert {} --cert {} --key {} https://{host}:{}/v1/whoami",
            ca.display(),
            cert.display(),
            key.display(),
            listen.port()
        );
    }
    tracing::info!(%listen, "listening");
    let publisher = start_publisher(&prepared.state)?;
    let server = http_server(prepared, listener).map_err(|e| StartError::Io(e.to_string()))?;
    let result = server.await.map_err(|e| StartError::Io(e.to_string()));
    if let Some(p) = publisher {
        // In-flight deliveries finish; anything still leased is re-sent (same bytes) later.
        p.stop(Duration::from_secs(10)).await;
    }
    result
}
