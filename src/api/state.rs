//! The state every handler shares: settings, the database pool, the cache, the unit registry
//! (refreshed from the database so operator changes take effect without a restart) and the
//! client-certificate CAs.

use super::problem::ApiError;
use crate::cache::Cache;
use crate::config::Settings;
use crate::domain::clock::SharedClock;
use crate::domain::registry::Registry;
use crate::store::{Conn, Pool, StoreError};
use crate::tls::identity::ClientCaSet;
use std::sync::{Arc, RwLock};

/// Shared application state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// Settings in force.
    pub settings: Arc<Settings>,
    /// Database pool.
    pub pool: Pool,
    /// Cache (Redis or in-process).
    pub cache: Cache,
    /// The CAs whose client certificates are accepted, with their bindings.
    pub client_cas: Arc<ClientCaSet>,
    /// Keys that seal personal data at rest.
    pub pii: Arc<crate::crypto::pii::PiiKeyring>,
    /// Catalogue, conflict thresholds and rules.
    pub policy: Arc<crate::service::policy::PolicySet>,
    /// Keys that sign events (reloaded after `penex keys rotate`).
    pub event_keys: Arc<crate::publish::EventKeys>,
    /// Publisher counters (deliveries, retries, dead letters) of this instance.
    pub publish_metrics: Arc<crate::publish::publisher::Metrics>,
    /// Prometheus metrics of this instance (`GET /metrics`); `None` only if they could not be
    /// registered, which the unit tests rule out.
    pub metrics: Option<Arc<super::metrics::Metrics>>,
    /// The clock "now" and "today" are read from (the system clock; tests may set another).
    pub clock: SharedClock,
    registry: Arc<RwLock<Arc<Registry>>>,
    /// Held across a refresh's read and swap, so that a refresh that read the database before
    /// a change can never swap in its older registry after one that read it since.
    refreshing: Arc<tokio::sync::Mutex<()>>,
    base_units: Arc<Vec<crate::domain::unit::Unit>>,
    /// On SQLite, which has one writer: the turn of each write operation, given in arrival
    /// order before it checks out a pool connection (`None` on PostgreSQL).
    writers: Option<Arc<tokio::sync::Semaphore>>,
}

/// How long a write waits for its turn on SQLite before it is answered 503 with `Retry-After`
/// (nothing written, safe to send again). Far above any batch's own time: the turn comes in
/// arrival order, so only a backlog this long ends here.
const WRITE_TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

impl AppState {
    /// Assembles the state. `base_units` are the units of the registry file; runtime changes
    /// from the database are applied over them by [`AppState::refresh_registry`].
    #[expect(
        clippy::too_many_arguments,
        reason = "assembled once at start-up from named parts"
    )]
    pub fn new(
        settings: Arc<Settings>,
        pool: Pool,
        cache: Cache,
        client_cas: Arc<ClientCaSet>,
        pii: Arc<crate::crypto::pii::PiiKeyring>,
        event_keys: Arc<crate::publish::EventKeys>,
        registry: Registry,
        base_units: Vec<crate::domain::unit::Unit>,
        policy: Arc<crate::service::policy::PolicySet>,
    ) -> Self {
        AppState {
            pool,
            cache,
            client_cas,
            pii,
            policy,
            event_keys,
            publish_metrics: Arc::default(),
            metrics: super::metrics::Metrics::new()
                .map(Arc::new)
                .map_err(|e| tracing::error!(error = %e, "metrics could not be registered"))
                .ok(),
            clock: SharedClock::system(),
            registry: Arc::new(RwLock::new(Arc::new(registry))),
            refreshing: Arc::default(),
            base_units: Arc::new(base_units),
            writers: matches!(
                settings.database(),
                Ok(crate::store::DatabaseUrl::Sqlite(_))
            )
            .then(|| Arc::new(tokio::sync::Semaphore::new(1))),
            settings,
        }
    }

    /// What writes need to emit signed events.
    pub fn emitter(&self) -> crate::service::events::Emitter {
        crate::service::events::Emitter {
            keys: self.event_keys.clone(),
            pii: self.pii.clone(),
        }
    }

    /// The registry in force.
    pub fn registry(&self) -> Arc<Registry> {
        match self.registry.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads runtime unit changes from the database and swaps the registry in.
    pub async fn refresh_registry(&self) -> Result<(), ApiError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let base = self.base_units.clone();
        let registry = self
            .db(move |conn| crate::service::setup::build_registry(conn, base.as_ref().clone()))
            .await?;
        match self.registry.write() {
            Ok(mut g) => *g = Arc::new(registry),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(registry),
        }
        Ok(())
    }

    /// Runs a service operation (a write) on the blocking pool with a pooled connection.
    ///
    /// On SQLite, writes take turns in arrival order *before* they check out a connection:
    /// SQLite's own lock is not fair (a writer can starve past `busy_timeout` and be answered
    /// 503 while later ones pass), and writers waiting inside it would hold every pool
    /// connection and stall the reads. Reads ([`AppState::db`]) never wait for a turn.
    pub async fn call<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut Conn) -> crate::service::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let turn = match &self.writers {
            None => None,
            Some(writers) => Some(
                tokio::time::timeout(WRITE_TURN_WAIT, writers.clone().acquire_owned())
                    .await
                    .map_err(|_| ApiError::Unavailable {
                        detail: "the database is busy with other writes; retry".into(),
                        retry_after_secs: 5,
                    })?
                    .map_err(|_| ApiError::Unavailable {
                        detail: "the server is shutting down".into(),
                        retry_after_secs: 5,
                    })?,
            ),
        };
        let pool = self.pool.clone();
        let result = actix_web::web::block(move || {
            // Held until the write is done, even if the client has gone away meanwhile.
            let _turn = turn;
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await?;
        result.map_err(ApiError::from)
    }

    /// Runs a service operation that only reads on the blocking pool with a pooled connection
    /// (no write turn).
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut Conn) -> crate::service::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let result = actix_web::web::block(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await?;
        result.map_err(ApiError::from)
    }

    /// Whether writes take turns in this process (SQLite).
    pub fn writes_take_turns(&self) -> bool {
        self.writers.is_some()
    }

    /// Runs blocking database work on the blocking pool with a pooled connection.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let result = actix_web::web::block(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await?;
        result.map_err(ApiError::from)
    }
}
