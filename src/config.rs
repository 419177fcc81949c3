//! Settings: `config/default.toml` (or the file named by `--config` / `PENEX_CONFIG`) merged
//! with `PENEX_*` environment variables (`PENEX_DATABASE_URL`, `PENEX_REDIS_URL`,
//! `PENEX_LIMITS__MAX_BATCH_ITEMS`, …). Unknown keys are refused; values are validated at load;
//! settings are passed explicitly, never read from a global. Secrets print as `***`.

use crate::domain::party::Party;
use crate::normalize::PublicityConfig;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Everything penex can be configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTPS server listens on.
    pub listen: SocketAddr,
    /// Folder for the SQLite file, the dev PKI and key material (created when absent).
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; absent means `sqlite://<data_dir>/penex.db`.
    pub database_url: Option<SecretString>,
    /// Maximum database connections per instance.
    pub database_pool_size: u32,
    /// `redis://…`; absent means the in-process cache (one instance only).
    pub redis_url: Option<SecretString>,
    /// Prefix of every cache key, so several deployments can share one Redis.
    pub redis_prefix: String,
    /// The unit registry file.
    pub units_file: PathBuf,
    /// The violation-type catalogue; absent: the built-in copy of `config/catalog.toml`.
    #[serde(default)]
    pub catalog_file: Option<PathBuf>,
    /// The joint-discipline rules; absent: the built-in copy of `config/rules.toml`.
    #[serde(default)]
    pub rules_file: Option<PathBuf>,
    /// The first-violation list; absent: the built-in copy of `config/exemptions.toml`.
    #[serde(default)]
    pub exemptions_file: Option<PathBuf>,
    /// Case collaboration's deadlines and attachment rules; absent: the built-in copy of
    /// `config/collaboration.toml`.
    #[serde(default)]
    pub collaboration_file: Option<PathBuf>,
    /// The working-day calendar (State Council holiday notices); absent: the built-in copy of
    /// `config/holidays.toml`.
    #[serde(default)]
    pub holidays_file: Option<PathBuf>,
    /// Seconds between two passes of the flag sweeper (expiry, end of publicity).
    #[serde(default = "default_sweep_interval")]
    pub sweep_interval_secs: u64,
    /// Jurisdiction-conflict matching thresholds.
    #[serde(default)]
    pub conflicts: crate::dedup::conflict::ConflictConfig,
    /// TLS: server identity and the CAs whose client certificates are accepted.
    pub tls: TlsSettings,
    /// Request limits.
    pub limits: Limits,
    /// Rate limits per caller and route class (in Redis when configured, so they hold across
    /// instances; else in-process).
    pub rate_limits: RateLimits,
    /// Logging.
    pub log: LogSettings,
    /// Publicity periods (NDRC Order 2023 No. 58), used when a record has no 公示截止期.
    pub publicity: PublicityConfig,
    /// Pushing signed events to the credit platform's connector.
    pub publish: PublishSettings,
}

/// The publisher: where events are pushed and how failures are retried.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSettings {
    /// The connector's HTTPS URL events are POSTed to; absent: no publisher runs (events are
    /// still written, and wait in the outbox).
    pub connector_url: Option<String>,
    /// The CA that issued the connector's server certificate (PEM); absent with the dev PKI:
    /// the dev exchange CA.
    pub connector_ca: Option<PathBuf>,
    /// The exchange's client certificate presented to the connector (PEM); absent with the dev
    /// PKI: `<data_dir>/pki/clients/publisher.crt`.
    pub client_cert: Option<PathBuf>,
    /// Its private key (PEM, PKCS#8, mode 0600).
    pub client_key: Option<PathBuf>,
    /// Attempts per event before it becomes a dead letter.
    pub retry_limit: u32,
    /// First retry delay in milliseconds; doubled per attempt, with jitter.
    pub backoff_base_ms: u64,
    /// Longest retry delay in milliseconds (also caps a connector's Retry-After).
    pub backoff_max_ms: u64,
    /// Concurrent publisher workers per instance (SQLite: always 1).
    pub workers: u32,
    /// Exceptions (events being retried) a worker leases at once.
    pub batch_size: u32,
    /// Events the cursor reads from the log per round (`store::outbox`).
    pub round_events: u32,
    /// Deliveries of one round in flight at once (each subject's events go one after another).
    pub round_in_flight: u32,
    /// Talk HTTP/2 to the connector (every delivery multiplexed on one connection) instead of
    /// HTTP/1.1 (a kept-alive pool of up to `round_in_flight` connections, which a connector
    /// serves on all its workers: measured faster, docs/PERFORMANCE.md).
    pub http2: bool,
    /// How long a lease lasts, in seconds: a worker that dies mid-delivery leaves its rows to
    /// others after this.
    pub lease_secs: u64,
    /// Pause between polls when there is nothing to deliver, in milliseconds.
    pub poll_ms: u64,
    /// Timeout of one delivery request, in milliseconds.
    pub request_timeout_ms: u64,
}

/// TLS settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// Generate (on first start) and use the dev PKI under `<data_dir>/pki`. Never in production.
    pub dev_pki: bool,
    /// Server certificate chain (PEM); required when `dev_pki` is false.
    pub server_cert: Option<PathBuf>,
    /// Server private key (PEM, PKCS#8); required when `dev_pki` is false.
    pub server_key: Option<PathBuf>,
    /// Client-certificate CAs and what each may speak for; required when `dev_pki` is false.
    #[serde(default)]
    pub client_cas: Vec<ClientCaSetting>,
}

/// One trusted client-certificate CA and its binding.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCaSetting {
    /// `SH`, `JS`, `ZJ`, `AH` (the CA issues only that party's units) or `exchange` (integrators,
    /// analysts, operators).
    pub binding: String,
    /// The CA certificate (PEM).
    pub cert: PathBuf,
}

/// Request limits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Most records in one batch push.
    pub max_batch_items: usize,
}

/// Rate limits per caller, by route class.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// Writes: pushes, validations, revocations (`POST`).
    pub push: RateLimit,
    /// Reads: records, subjects, flags, statistics, whoami (`GET`).
    pub query: RateLimit,
    /// The event feed (`GET /v1/events`), apart from other reads so that an integrator
    /// catching up cannot starve, or be starved by, queries.
    pub feed: RateLimit,
}

/// At most `limit` requests per `window_secs` seconds.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: u32,
    /// Window length in seconds.
    pub window_secs: u64,
}

/// Log output.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` for people, `json` for production log shipping.
    pub format: LogFormat,
    /// A tracing `EnvFilter` directive (`info`, `penex=debug,actix_web=info`, …); `RUST_LOG`
    /// wins when set.
    pub filter: String,
}

/// Log format.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Parse or merge error; figment names the key and the source.
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A value was read but is not acceptable.
    #[error("configuration: {0}")]
    Invalid(String),
}

/// The built-in defaults (the same values as `config/default.toml`), so the binary runs even
/// without the file.
const DEFAULTS: &str = include_str!("../config/default.toml");

impl Settings {
    /// Loads defaults, then the file (when it exists, or fails when named explicitly and
    /// missing), then `PENEX_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut fig = Figment::from(Toml::string(DEFAULTS));
        match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            Some(path) => fig = fig.merge(Toml::file(path)),
            None => {}
        }
        fig = fig.merge(
            Env::prefixed("PENEX_")
                // Variables for tooling, not settings.
                .filter(|k| {
                    let k = k.as_str().to_ascii_lowercase();
                    !k.starts_with("test_") && k != "config"
                })
                .split("__"),
        );
        Self::from_figment(fig)
    }

    /// Loads from a figment (tests build their own).
    pub fn from_figment(fig: Figment) -> Result<Settings, ConfigError> {
        let s: Settings = fig.extract().map_err(Box::new)?;
        s.validate()?;
        Ok(s)
    }

    /// Defaults with overrides given as a serializable value (tests).
    pub fn with_overrides<T: Serialize>(overrides: T) -> Result<Settings, ConfigError> {
        Self::from_figment(
            Figment::from(Toml::string(DEFAULTS)).merge(Serialized::defaults(overrides)),
        )
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.limits.max_batch_items == 0 || self.limits.max_batch_items > 10_000 {
            return Err(ConfigError::Invalid(
                "limits.max_batch_items must be between 1 and 10000".into(),
            ));
        }
        for (name, rl) in [
            ("push", self.rate_limits.push),
            ("query", self.rate_limits.query),
            ("feed", self.rate_limits.feed),
        ] {
            if rl.limit == 0 || rl.window_secs == 0 {
                return Err(ConfigError::Invalid(format!(
                    "rate_limits.{name}: limit and window_secs must be at least 1"
                )));
            }
        }
        if self.limits.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "limits.max_body_bytes must be at least 1024".into(),
            ));
        }
        if !self.tls.dev_pki {
            if self.tls.server_cert.is_none() || self.tls.server_key.is_none() {
                return Err(ConfigError::Invalid(
                    "tls.server_cert and tls.server_key are required when tls.dev_pki is false"
                        .into(),
                ));
            }
            if self.tls.client_cas.is_empty() {
                return Err(ConfigError::Invalid(
                    "tls.client_cas must list at least one CA when tls.dev_pki is false".into(),
                ));
            }
        }
        for ca in &self.tls.client_cas {
            if ca.binding != "exchange" && ca.binding.parse::<Party>().is_err() {
                return Err(ConfigError::Invalid(format!(
                    "tls.client_cas binding {:?}: expected SH, JS, ZJ, AH or exchange",
                    ca.binding
                )));
            }
        }
        let p = &self.publish;
        if p.retry_limit == 0
            || p.workers == 0
            || p.batch_size == 0
            || p.round_events == 0
            || p.round_in_flight == 0
            || p.lease_secs == 0
            || p.backoff_base_ms == 0
            || p.backoff_max_ms < p.backoff_base_ms
            || p.request_timeout_ms == 0
            || p.poll_ms == 0
        {
            return Err(ConfigError::Invalid(
                "publish: retry_limit, workers, batch_size, round_events, round_in_flight, lease_secs, poll_ms, \
                 request_timeout_ms and backoff_base_ms must be at least 1, and backoff_max_ms \
                 at least backoff_base_ms"
                    .into(),
            ));
        }
        if let Some(u) = &p.connector_url
            && !u.starts_with("https://")
        {
            return Err(ConfigError::Invalid(
                "publish.connector_url: expected https://… (events go over mutual TLS)".into(),
            ));
        }
        if p.client_cert.is_some() != p.client_key.is_some() {
            return Err(ConfigError::Invalid(
                "publish.client_cert and publish.client_key must be given together".into(),
            ));
        }
        if !self.tls.dev_pki
            && p.connector_url.is_some()
            && (p.connector_ca.is_none() || p.client_cert.is_none())
        {
            return Err(ConfigError::Invalid(
                "publish.connector_ca, client_cert and client_key are required when \
                 tls.dev_pki is false"
                    .into(),
            ));
        }
        if let Some(url) = &self.database_url {
            crate::store::DatabaseUrl::parse(url.expose_secret())
                .map_err(|e| ConfigError::Invalid(format!("database_url: {e}")))?;
        }
        if let Some(url) = &self.redis_url {
            let u = url.expose_secret();
            if !(u.starts_with("redis://") || u.starts_with("rediss://")) {
                return Err(ConfigError::Invalid(
                    "redis_url: expected redis://… or rediss://…".into(),
                ));
            }
        }
        Ok(())
    }

    /// The database URL in force (explicit, or the SQLite file in `data_dir`).
    pub fn database(&self) -> Result<crate::store::DatabaseUrl, crate::store::StoreError> {
        match &self.database_url {
            Some(u) => crate::store::DatabaseUrl::parse(u.expose_secret()),
            None => Ok(crate::store::DatabaseUrl::Sqlite(
                self.data_dir.join("penex.db"),
            )),
        }
    }

    /// The folder of the dev PKI.
    pub fn pki_dir(&self) -> PathBuf {
        self.data_dir.join("pki")
    }

    /// The folder of signing keys and the PII keys.
    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }
}

fn default_sweep_interval() -> u64 {
    300
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_config_parses() {
        let s = Settings::from_figment(Figment::from(Toml::string(DEFAULTS)));
        assert!(s.is_ok(), "{s:?}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let fig = Figment::from(Toml::string(DEFAULTS)).merge(Toml::string("listenn = \"x\""));
        let err = Settings::from_figment(fig).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("listenn")));
    }

    #[test]
    fn a_mistyped_database_url_is_refused() {
        let fig = Figment::from(Toml::string(DEFAULTS))
            .merge(Toml::string("database_url = \"host=127.0.0.1 dbname=x\""));
        assert!(Settings::from_figment(fig).is_err());
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail API returns its own error"
    )]
    fn tooling_variables_are_not_settings() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PENEX_TEST_DATABASE_URL", "postgres://x@h/db");
            jail.set_env("PENEX_CONFIG", "whatever.toml");
            jail.set_env("PENEX_LIMITS__MAX_BATCH_ITEMS", "7");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.limits.max_batch_items, 7);
            Ok(())
        });
    }

    #[test]
    fn secrets_do_not_print() {
        let fig = Figment::from(Toml::string(DEFAULTS)).merge(Toml::string(
            "database_url = \"postgres://app:hunter2@h/db\"",
        ));
        let shown = format!("{:?}", Settings::from_figment(fig).ok());
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
