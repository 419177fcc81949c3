//! The cache behaviour suite: every `suite_*` function is written once and run against both
//! backends — `<suite>::memory` always, `<suite>::redis` when `PENEX_TEST_REDIS_URL` is set (for
//! example `redis://127.0.0.1:6379`). When that variable is set and Redis cannot be reached the
//! Redis tests FAIL; they only skip (with a note on stderr) when it is unset.
//!
//! Isolation: every test uses its own random key prefix, so runs can share one Redis; all keys
//! carry TTLs of at most a minute, so nothing needs cleaning up.

#![expect(clippy::unwrap_used, clippy::panic, reason = "tests")]

use penex::cache::{Cache, CacheConfig, CacheError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const REDIS_ENV: &str = "PENEX_TEST_REDIS_URL";
const LONG: Duration = Duration::from_secs(60);
const SHORT: Duration = Duration::from_millis(300);
/// Comfortably longer than `SHORT` on a busy 2-core machine.
const AFTER_SHORT: Duration = Duration::from_millis(550);

fn unique_prefix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("penex-test:{}:{nanos:x}:{n}:", std::process::id())
}

fn config(prefix: &str) -> CacheConfig {
    CacheConfig {
        key_prefix: prefix.to_owned(),
        ..CacheConfig::default()
    }
}

fn memory_cache() -> Cache {
    Cache::in_memory(&config(&unique_prefix()))
}

/// The Redis cache under a fresh prefix; `None` (skip) only when the variable is unset.
async fn redis_cache_with_prefix(prefix: &str) -> Option<Cache> {
    let Ok(url) = std::env::var(REDIS_ENV) else {
        eprintln!("{REDIS_ENV} not set: Redis backend skipped");
        return None;
    };
    match Cache::connect_with(Some(&url), config(prefix)).await {
        Ok(c) => Some(c),
        Err(e) => panic!("{REDIS_ENV} is set but Redis is not usable: {e}"),
    }
}

async fn redis_cache() -> Option<Cache> {
    redis_cache_with_prefix(&unique_prefix()).await
}

/// Generates `<suite>::memory` and `<suite>::redis` for each `suite_fn`.
macro_rules! both_backends {
    ($($name:ident => $suite:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn memory() {
                let c = super::memory_cache();
                assert_eq!(c.backend_name(), "memory");
                super::$suite(&c).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn redis() {
                if let Some(c) = super::redis_cache().await {
                    assert_eq!(c.backend_name(), "redis");
                    super::$suite(&c).await;
                }
            }
        }
    )*};
}

both_backends! {
    ping => suite_ping,
    set_get_delete => suite_set_get_delete,
    ttl_expiry => suite_ttl_expiry,
    set_if_absent_once => suite_set_if_absent_once,
    rate_limit_window => suite_rate_limit_window,
    rate_limit_keys_independent => suite_rate_limit_keys_independent,
    rate_limit_on_non_counter => suite_rate_limit_on_non_counter,
    concurrent_claims => suite_concurrent_claims,
    concurrent_rate_limit => suite_concurrent_rate_limit,
}

async fn suite_ping(c: &Cache) {
    c.ping().await.unwrap();
    assert!(c.key_prefix().starts_with("penex-test:"));
}

async fn suite_set_get_delete(c: &Cache) {
    assert_eq!(c.get("k").await.unwrap(), None);
    c.set("k", b"v1", LONG).await.unwrap();
    assert_eq!(c.get("k").await.unwrap(), Some(b"v1".to_vec()));
    c.set("k", b"v2", LONG).await.unwrap();
    assert_eq!(c.get("k").await.unwrap(), Some(b"v2".to_vec()));
    assert!(c.delete("k").await.unwrap());
    assert_eq!(c.get("k").await.unwrap(), None);
    assert!(!c.delete("k").await.unwrap(), "second delete finds nothing");

    // Binary, empty and non-UTF-8 values and non-ASCII keys round-trip unchanged.
    let binary: Vec<u8> = (0..=255u8).collect();
    c.set("bin", &binary, LONG).await.unwrap();
    c.set("empty", b"", LONG).await.unwrap();
    c.set("行政处罚:沪:1", "上海".as_bytes(), LONG)
        .await
        .unwrap();
    assert_eq!(c.get("bin").await.unwrap(), Some(binary));
    assert_eq!(c.get("empty").await.unwrap(), Some(Vec::new()));
    assert_eq!(
        c.get("行政处罚:沪:1").await.unwrap(),
        Some("上海".as_bytes().to_vec())
    );
    // Keys are distinct: similar keys do not collide.
    assert_eq!(c.get("行政处罚:沪:").await.unwrap(), None);
}

async fn suite_ttl_expiry(c: &Cache) {
    c.set("short", b"v", SHORT).await.unwrap();
    c.set("long", b"v", LONG).await.unwrap();
    // A long-lived key overwritten with a short TTL takes the new TTL.
    c.set("shortened", b"v", LONG).await.unwrap();
    c.set("shortened", b"w", SHORT).await.unwrap();
    assert_eq!(c.get("short").await.unwrap(), Some(b"v".to_vec()));
    tokio::time::sleep(AFTER_SHORT).await;
    assert_eq!(c.get("short").await.unwrap(), None, "expired");
    assert_eq!(c.get("shortened").await.unwrap(), None, "expired");
    assert_eq!(c.get("long").await.unwrap(), Some(b"v".to_vec()));
    assert!(
        !c.delete("short").await.unwrap(),
        "an expired key counts as absent"
    );
    // A zero TTL is clamped to 1 ms: accepted, and gone almost at once.
    c.set("zero", b"v", Duration::ZERO).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(c.get("zero").await.unwrap(), None);
}

async fn suite_set_if_absent_once(c: &Cache) {
    assert!(c.set_if_absent("idem", b"first", SHORT).await.unwrap());
    assert!(!c.set_if_absent("idem", b"second", SHORT).await.unwrap());
    assert!(!c.set_if_absent("idem", b"third", LONG).await.unwrap());
    assert_eq!(
        c.get("idem").await.unwrap(),
        Some(b"first".to_vec()),
        "a lost claim does not overwrite"
    );
    tokio::time::sleep(AFTER_SHORT).await;
    assert!(
        c.set_if_absent("idem", b"again", LONG).await.unwrap(),
        "claimable again after expiry"
    );
    assert_eq!(c.get("idem").await.unwrap(), Some(b"again".to_vec()));
    // Deleting releases a claim.
    assert!(c.delete("idem").await.unwrap());
    assert!(
        c.set_if_absent("idem", b"after delete", LONG)
            .await
            .unwrap()
    );
    // A plain `set` value also blocks a claim.
    c.set("taken", b"x", LONG).await.unwrap();
    assert!(!c.set_if_absent("taken", b"y", LONG).await.unwrap());
}

async fn suite_rate_limit_window(c: &Cache) {
    let window = Duration::from_millis(800);
    let limit = 3;
    let start = Instant::now();
    for want_remaining in [2, 1, 0] {
        let d = c.rate_limit("rl", limit, window).await.unwrap();
        assert!(d.allowed, "{d:?}");
        assert_eq!(d.remaining, want_remaining);
        assert_eq!(d.retry_after, Duration::ZERO);
    }
    let mut last_retry = Duration::MAX;
    for _ in 0..3 {
        // Time passes between denials, so a window that restarted would show.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let d = c.rate_limit("rl", limit, window).await.unwrap();
        assert!(!d.allowed, "over the limit: {d:?}");
        assert_eq!(d.remaining, 0);
        assert!(d.retry_after > Duration::ZERO, "{d:?}");
        assert!(d.retry_after <= window, "{d:?}");
        // The window is fixed at its first request: denied requests do not extend it.
        let elapsed = start.elapsed();
        assert!(
            d.retry_after <= window.saturating_sub(elapsed) + Duration::from_millis(50),
            "retry_after {:?} but {elapsed:?} of the window already passed",
            d.retry_after
        );
        assert!(d.retry_after < last_retry, "the window runs down: {d:?}");
        last_retry = d.retry_after;
    }
    tokio::time::sleep(last_retry + Duration::from_millis(150)).await;
    let d = c.rate_limit("rl", limit, window).await.unwrap();
    assert!(d.allowed, "a new window: {d:?}");
    assert_eq!(d.remaining, limit - 1);

    // A limit of zero denies everything, still with a retry time.
    let d = c.rate_limit("closed", 0, window).await.unwrap();
    assert!(!d.allowed);
    assert!(d.retry_after > Duration::ZERO && d.retry_after <= window);
}

async fn suite_rate_limit_keys_independent(c: &Cache) {
    for _ in 0..2 {
        assert!(c.rate_limit("unit:a", 2, LONG).await.unwrap().allowed);
    }
    assert!(!c.rate_limit("unit:a", 2, LONG).await.unwrap().allowed);
    let d = c.rate_limit("unit:b", 2, LONG).await.unwrap();
    assert!(d.allowed);
    assert_eq!(d.remaining, 1);
    // The counter is readable as a decimal number on both backends.
    assert_eq!(c.get("unit:a").await.unwrap(), Some(b"3".to_vec()));
    // A long window's retry_after is close to the whole window.
    let d = c.rate_limit("unit:a", 2, LONG).await.unwrap();
    assert!(d.retry_after > LONG - Duration::from_secs(5), "{d:?}");
}

async fn suite_rate_limit_on_non_counter(c: &Cache) {
    c.set("text", b"not a number", LONG).await.unwrap();
    let got = c.rate_limit("text", 5, LONG).await;
    assert!(matches!(got, Err(CacheError::Backend(_))), "{got:?}");
    assert_eq!(
        c.get("text").await.unwrap(),
        Some(b"not a number".to_vec()),
        "the value is left alone"
    );
}

async fn suite_concurrent_claims(c: &Cache) {
    for round in 0..5 {
        let key = format!("claim:{round}");
        let barrier = Arc::new(tokio::sync::Barrier::new(16));
        let mut tasks = Vec::new();
        for i in 0..16u8 {
            let (c, key, barrier) = (c.clone(), key.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let won = c.set_if_absent(&key, &[i], LONG).await.unwrap();
                (i, won)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let (i, won) = t.await.unwrap();
            if won {
                winners.push(i);
            }
        }
        assert_eq!(winners.len(), 1, "exactly one winner, got {winners:?}");
        assert_eq!(
            c.get(&key).await.unwrap(),
            Some(winners),
            "the winner's value stays"
        );
    }
}

async fn suite_concurrent_rate_limit(c: &Cache) {
    let limit = 10;
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (c, barrier) = (c.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            c.rate_limit("burst", limit, LONG).await.unwrap()
        }));
    }
    let mut allowed = 0;
    let mut remaining_seen = Vec::new();
    for t in tasks {
        let d = t.await.unwrap();
        if d.allowed {
            allowed += 1;
            remaining_seen.push(d.remaining);
        }
    }
    assert_eq!(allowed, limit, "exactly `limit` of a burst get through");
    remaining_seen.sort_unstable();
    assert_eq!(remaining_seen, (0..limit).collect::<Vec<_>>());
}

// ---- connecting ----

#[tokio::test]
async fn connect_none_is_memory() {
    let c = Cache::connect(None).await.unwrap();
    assert_eq!(c.backend_name(), "memory");
    assert_eq!(c.key_prefix(), "penex:");
    c.ping().await.unwrap();
}

#[tokio::test]
async fn connect_rejects_other_schemes_without_leaking_the_password() {
    let bad = [
        "http://:hunter2@127.0.0.1:6379",
        "memcached://u:hunter2@127.0.0.1:11211",
        "unix:///tmp/hunter2.sock",
        "redis+unix:///tmp/hunter2.sock",
        "valkey://:hunter2@127.0.0.1:6379",
        "127.0.0.1:6379",
        ":hunter2@127.0.0.1",
        "",
    ];
    for url in bad {
        let err = Cache::connect(Some(url)).await.unwrap_err();
        assert!(matches!(err, CacheError::Config(_)), "{url}: {err:?}");
        assert!(!err.to_string().contains("hunter2"), "{url}: {err}");
        assert!(!format!("{err:?}").contains("hunter2"), "{url}: {err:?}");
    }
}

#[tokio::test]
async fn connect_fails_closed_on_unparsable_redis_urls() {
    for url in [
        "redis://",
        "redis://:hunter2@",
        "redis://:hunter2@host:6379/notadb",
    ] {
        let err = Cache::connect(Some(url)).await.unwrap_err();
        assert!(matches!(err, CacheError::Config(_)), "{url}: {err:?}");
        assert!(!err.to_string().contains("hunter2"), "{url}: {err}");
    }
}

#[tokio::test]
async fn connect_to_closed_port_fails_fast_without_leaking_the_password() {
    for url in [
        "redis://:hunter2@127.0.0.1:1",
        "redis://alice:hunter2@127.0.0.1:1/0",
        "rediss://:hunter2@127.0.0.1:1",
    ] {
        let start = Instant::now();
        let err = Cache::connect(Some(url)).await.unwrap_err();
        let took = start.elapsed();
        assert!(took < Duration::from_secs(4), "{url}: took {took:?}");
        // rediss:// is a Config error while the TLS feature is not built in; with it, Unavailable.
        assert!(
            matches!(err, CacheError::Unavailable(_) | CacheError::Config(_)),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("hunter2"), "{url}: {err}");
    }
    let err = Cache::connect(Some("redis://127.0.0.1:1"))
        .await
        .unwrap_err();
    assert!(matches!(err, CacheError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn memory_bound_refuses_new_keys_when_full() {
    let c = Cache::connect_with(
        None,
        CacheConfig {
            memory_capacity: 2,
            ..config(&unique_prefix())
        },
    )
    .await
    .unwrap();
    c.set("a", b"1", LONG).await.unwrap();
    assert!(c.set_if_absent("b", b"1", LONG).await.unwrap());
    assert_eq!(
        c.set("c", b"1", LONG).await,
        Err(CacheError::Full { capacity: 2 })
    );
    assert!(c.set_if_absent("c", b"1", LONG).await.is_err());
    c.set("a", b"2", LONG).await.unwrap();
}

// ---- Redis only: behaviour that needs a shared server ----

#[tokio::test]
async fn redis_prefixes_isolate_and_are_applied() {
    let prefix_a = unique_prefix();
    let prefix_b = unique_prefix();
    let Some(a) = redis_cache_with_prefix(&prefix_a).await else {
        return;
    };
    let Some(b) = redis_cache_with_prefix(&prefix_b).await else {
        return;
    };
    let Some(raw) = redis_cache_with_prefix("").await else {
        return;
    };
    a.set("k", b"from a", LONG).await.unwrap();
    assert_eq!(
        b.get("k").await.unwrap(),
        None,
        "another prefix sees nothing"
    );
    assert!(b.set_if_absent("k", b"from b", LONG).await.unwrap());
    assert_eq!(a.get("k").await.unwrap(), Some(b"from a".to_vec()));
    // The stored key is exactly prefix + key.
    assert_eq!(
        raw.get(&format!("{prefix_a}k")).await.unwrap(),
        Some(b"from a".to_vec())
    );
    assert_eq!(raw.get("k").await.unwrap(), None);
}

#[tokio::test]
async fn redis_instances_share_claims_and_counters() {
    // Two separately connected caches with one prefix stand for two penex instances.
    let prefix = unique_prefix();
    let Some(one) = redis_cache_with_prefix(&prefix).await else {
        return;
    };
    let Some(two) = redis_cache_with_prefix(&prefix).await else {
        return;
    };
    assert!(one.set_if_absent("idem", b"1", LONG).await.unwrap());
    assert!(!two.set_if_absent("idem", b"2", LONG).await.unwrap());
    assert!(one.rate_limit("rl", 2, LONG).await.unwrap().allowed);
    assert!(two.rate_limit("rl", 2, LONG).await.unwrap().allowed);
    assert!(!one.rate_limit("rl", 2, LONG).await.unwrap().allowed);
    assert!(!two.rate_limit("rl", 2, LONG).await.unwrap().allowed);
}
