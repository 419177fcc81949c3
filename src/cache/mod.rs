//! The cache: one API ([`Cache`]) over two backends, in-process ([`MemoryCache`]) and Redis
//! ([`RedisCache`]).
//!
//! Which penex features use it:
//! - **rate limits** per unit / API key ([`Cache::rate_limit`], a fixed-window counter) → 429 with
//!   `Retry-After`;
//! - **idempotency keys** of pushes and revocations ([`Cache::set_if_absent`]: the first request
//!   with a key claims it, replays see the claim);
//! - **hot lookups** (registry entries, key material) with a short TTL ([`Cache::get`] /
//!   [`Cache::set`]).
//!
//! Why Redis when penex runs as several instances: the in-process cache is private to one
//! process, so with two instances behind a load balancer each would count its own rate limit
//! (letting through `instances × limit`) and each would accept the same idempotency key once
//! (a replayed push would be processed twice). Redis gives all instances one counter and one
//! claim. The in-process backend is for a single instance and for tests.
//!
//! Owns: the key namespace (every key is prefixed, default `penex:`, so deployments and test
//! runs can share one Redis), the backend choice, and [`CacheError`].
//! Must not depend on: actix, diesel, or any other penex module — callers map [`CacheError`]
//! (the API layer turns it into a 503).
//!
//! Invariants:
//! - configured Redis never silently falls back to memory: a bad URL or an unreachable server is
//!   an error at start-up (fail closed);
//! - error messages never contain the password of the Redis URL;
//! - every entry has a TTL, clamped to `[1 ms, MAX_TTL]` in both backends, so both expire alike.

mod memory;
mod redis;

pub use self::memory::MemoryCache;
pub use self::redis::RedisCache;

use std::time::Duration;

/// Default namespace prefix of every key.
pub const DEFAULT_KEY_PREFIX: &str = "penex:";

/// Default bound on the number of entries of the in-process cache.
pub const DEFAULT_MEMORY_CAPACITY: usize = 100_000;

/// Longest TTL an entry may have; longer TTLs are clamped to it. A cache entry that should live
/// longer than this belongs in the database.
pub const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// Errors of the cache. Display texts are safe to log: they never contain the Redis password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// The backend cannot be reached or did not answer in time (connection refused, timeout,
    /// dropped connection, authentication failed). Upstream this is a 503 with `Retry-After`.
    #[error("cache unavailable: {0}")]
    Unavailable(String),
    /// The cache URL is not acceptable (unknown scheme, does not parse, TLS not built in).
    #[error("cache configuration: {0}")]
    Config(String),
    /// The in-process cache holds its maximum number of live entries and refuses new ones.
    #[error("in-process cache full ({capacity} live entries)")]
    Full {
        /// The configured bound.
        capacity: usize,
    },
    /// The backend answered with an error for this operation (e.g. a rate-limit counter key
    /// that holds a non-integer value): a bug or an incompatible server, not an outage.
    #[error("cache backend error: {0}")]
    Backend(String),
}

/// Settings of the cache that are not the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Prefix put before every key (namespace), so several deployments or test runs can share
    /// one Redis without seeing each other's keys. Default [`DEFAULT_KEY_PREFIX`].
    pub key_prefix: String,
    /// Bound on the number of entries of the in-process backend (ignored by Redis, which is
    /// bounded by its own `maxmemory`). Default [`DEFAULT_MEMORY_CAPACITY`].
    pub memory_capacity: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            memory_capacity: DEFAULT_MEMORY_CAPACITY,
        }
    }
}

/// The outcome of one [`Cache::rate_limit`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether this request fits in the window.
    pub allowed: bool,
    /// How many more requests the current window allows after this one.
    pub remaining: u32,
    /// When denied: how long until the window resets (the `Retry-After`); zero when allowed.
    pub retry_after: Duration,
}

impl RateDecision {
    /// Builds the decision from the counter value after this request and the window's TTL.
    fn from_count(count: u64, limit: u32, window_left: Duration) -> Self {
        let allowed = count <= u64::from(limit);
        let used = u32::try_from(count).unwrap_or(u32::MAX);
        RateDecision {
            allowed,
            remaining: limit.saturating_sub(used),
            retry_after: if allowed { Duration::ZERO } else { window_left },
        }
    }
}

/// The cache: in-process or Redis. Cheap to clone (both variants hold an `Arc` inside); all
/// clones share the same entries.
#[derive(Debug, Clone)]
pub enum Cache {
    /// In-process cache: one instance only.
    Memory(MemoryCache),
    /// Redis: shared by all instances.
    Redis(RedisCache),
}

impl Cache {
    /// Opens the cache with the default [`CacheConfig`]: `None` → in-process; a `redis://` or
    /// `rediss://` URL → Redis (connected and PINGed before this returns); anything else → a
    /// [`CacheError::Config`]. A configured Redis that cannot be reached is an error, never a
    /// fallback to the in-process cache.
    pub async fn connect(redis_url: Option<&str>) -> Result<Cache, CacheError> {
        Cache::connect_with(redis_url, CacheConfig::default()).await
    }

    /// [`Cache::connect`] with explicit settings (key prefix, memory bound).
    pub async fn connect_with(
        redis_url: Option<&str>,
        config: CacheConfig,
    ) -> Result<Cache, CacheError> {
        match redis_url {
            None => Ok(Cache::Memory(MemoryCache::new(&config))),
            Some(url) => Ok(Cache::Redis(RedisCache::connect(url, &config).await?)),
        }
    }

    /// An in-process cache (no I/O).
    pub fn in_memory(config: &CacheConfig) -> Cache {
        Cache::Memory(MemoryCache::new(config))
    }

    /// `"memory"` or `"redis"`, for logs and the readiness probe.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Cache::Memory(_) => "memory",
            Cache::Redis(_) => "redis",
        }
    }

    /// The namespace prefix in force.
    pub fn key_prefix(&self) -> &str {
        match self {
            Cache::Memory(c) => c.key_prefix(),
            Cache::Redis(c) => c.key_prefix(),
        }
    }

    /// Checks that the backend answers (readiness).
    pub async fn ping(&self) -> Result<(), CacheError> {
        match self {
            Cache::Memory(c) => c.ping(),
            Cache::Redis(c) => c.ping().await,
        }
    }

    /// The value under `key`, or `None` if absent or expired.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        match self {
            Cache::Memory(c) => c.get(key),
            Cache::Redis(c) => c.get(key).await,
        }
    }

    /// Stores `value` under `key` for `ttl` (clamped to `[1 ms, MAX_TTL]`), replacing any value.
    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        match self {
            Cache::Memory(c) => c.set(key, value, ttl),
            Cache::Redis(c) => c.set(key, value, ttl).await,
        }
    }

    /// Removes `key`; `true` when a live entry was removed.
    pub async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        match self {
            Cache::Memory(c) => c.delete(key),
            Cache::Redis(c) => c.delete(key).await,
        }
    }

    /// Stores `value` under `key` only if no live entry exists (Redis `SET NX PX`); `true` when
    /// this call made the claim. Atomic across all clones and, on Redis, across instances: of
    /// concurrent callers exactly one wins. Used to claim idempotency keys.
    pub async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        match self {
            Cache::Memory(c) => c.set_if_absent(key, value, ttl),
            Cache::Redis(c) => c.set_if_absent(key, value, ttl).await,
        }
    }

    /// Counts one request against `key` in a fixed window of length `window` (clamped to
    /// `[1 ms, MAX_TTL]`): the first request starts the window, the first `limit` requests of a
    /// window are allowed, later ones are denied with `retry_after` = the time left in the
    /// window. Denied requests still count (a client hammering a closed window does not
    /// shorten it, since the window's expiry is fixed at its first request).
    pub async fn rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, CacheError> {
        match self {
            Cache::Memory(c) => c.rate_limit(key, limit, window),
            Cache::Redis(c) => c.rate_limit(key, limit, window).await,
        }
    }
}

/// Clamps a TTL to what both backends accept.
fn clamp_ttl(ttl: Duration) -> Duration {
    ttl.clamp(Duration::from_millis(1), MAX_TTL)
}

/// A clamped TTL in whole milliseconds, rounded up so a sub-millisecond TTL never becomes 0
/// (which Redis rejects).
fn ttl_millis(ttl: Duration) -> u64 {
    let ttl = clamp_ttl(ttl);
    let ms = ttl.as_millis() + u128::from(!ttl.subsec_nanos().is_multiple_of(1_000_000));
    u64::try_from(ms).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ttl_millis_table() {
        let table = [
            (Duration::ZERO, 1),
            (Duration::from_nanos(1), 1),
            (Duration::from_micros(1500), 2),
            (Duration::from_millis(300), 300),
            (Duration::from_secs(2), 2000),
            (Duration::from_secs(u64::MAX), 366 * 24 * 60 * 60 * 1000),
        ];
        for (ttl, want) in table {
            assert_eq!(ttl_millis(ttl), want, "{ttl:?}");
        }
    }

    #[test]
    fn rate_decision_table() {
        let w = Duration::from_secs(7);
        let d = |allowed, remaining, retry_after| RateDecision {
            allowed,
            remaining,
            retry_after,
        };
        assert_eq!(
            RateDecision::from_count(1, 3, w),
            d(true, 2, Duration::ZERO)
        );
        assert_eq!(
            RateDecision::from_count(3, 3, w),
            d(true, 0, Duration::ZERO)
        );
        assert_eq!(RateDecision::from_count(4, 3, w), d(false, 0, w));
        assert_eq!(RateDecision::from_count(1, 0, w), d(false, 0, w));
        assert_eq!(
            RateDecision::from_count(u64::MAX, u32::MAX, w),
            d(false, 0, w)
        );
    }

    #[test]
    fn default_config() {
        let c = CacheConfig::default();
        assert_eq!(c.key_prefix, "penex:");
        assert_eq!(c.memory_capacity, 100_000);
    }

    proptest! {
        #[test]
        fn ttl_millis_never_zero_and_never_short(ms in 0u64..10_000_000, ns in 0u32..1_000_000) {
            let ttl = Duration::from_millis(ms) + Duration::from_nanos(u64::from(ns));
            let got = ttl_millis(ttl);
            prop_assert!(got >= 1);
            prop_assert!(Duration::from_millis(got) >= ttl);
            prop_assert!(Duration::from_millis(got) < ttl + Duration::from_millis(1) || ttl.is_zero());
        }

        #[test]
        fn allowed_iff_within_limit(count in 1u64..1000, limit in 0u32..1000) {
            let d = RateDecision::from_count(count, limit, Duration::from_secs(1));
            prop_assert_eq!(d.allowed, count <= u64::from(limit));
            prop_assert_eq!(u64::from(d.remaining), u64::from(limit).saturating_sub(count));
            prop_assert_eq!(d.retry_after.is_zero(), d.allowed);
        }
    }
}
