//! Start-up: settings → data folder → dev PKI → database (migrations) → cache → registry →
//! TLS → HTTP server. What the CLI shares with the server (the database, the registry, the
//! policy, the keys) is loaded by `service::setup`, re-exported here.

use crate::api::state::AppState;
use crate::cache::Cache;
use crate::config::Settings;
use crate::domain::party::Party;
use crate::domain::unit::Unit;
use crate::store::{self, DatabaseUrl, StoreError};
use crate::tls::identity::{CaBinding, ClientCaSet};

pub use crate::service::setup::{
    StartError, build_registry, check_migrations, load_base_units, load_catalog, load_pii_keys,
    load_policy, open_database, open_single, pii_key_path,
};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
            let (registry, policy, pii, emitter) = (
                state.registry(),
                state.policy.clone(),
                state.pii.clone(),
                state.emitter(),
            );
            let swept = state
                .call(move |c| {
                    let deps = crate::service::collab::Deps {
                        registry: &registry,
                        policy: &policy.collab,
                        policies: &policy,
                        pii: &pii,
                        emitter: &emitter,
                    };
                    crate::service::collab::sweep::sweep(c, deps, today)
                })
                .await;
            match swept {
                Ok(s) if s == crate::service::collab::sweep::Swept::default() => {}
                Ok(s) => tracing::info!(
                    overdue = s.overdue,
                    recounted = s.recounted,
                    "sweeper marked collaboration items"
                ),
                Err(e) => tracing::warn!(error = ?e, "collaboration sweep failed"),
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

/// How long a client has to send a request head once it has sent its first byte; then 408 and
/// the connection is closed (slow clients: docs/RELIABILITY.md).
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client has to complete the TLS handshake; then the connection is closed.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

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
        .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
        .tls_handshake_timeout(TLS_HANDSHAKE_TIMEOUT)
        .shutdown_timeout(30)
        .listen_rustls_0_23(listener, prepared.server_config)?
        .run();
    Ok(server)
}

/// `penex serve`.
pub async fn serve(settings: Settings, migrate: bool) -> Result<(), StartError> {
    let listen = settings.listen;
    // Before anything is written: the harness's points must be armed for the first request.
    let failpoints =
        crate::store::failpoint::configure_from_env().map_err(StartError::Failpoints)?;
    if failpoints > 0 {
        tracing::warn!(
            failpoints,
            "failpoints armed from FAILPOINTS (a test build)"
        );
    }
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
