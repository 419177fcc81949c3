//! The in-process cache backend: a bounded `HashMap` behind a `std::sync::Mutex`.
//!
//! Owns: entries of one process. Must not depend on: anything async — every method is
//! synchronous, so the lock can never be held across an `.await`.
//!
//! Invariants:
//! - an expired entry behaves exactly like an absent one; expired entries are removed when they
//!   are met (`get`, `delete`, overwrite) and all at once when the map is full;
//! - the map never holds more than `capacity` entries. When it is full of live entries a new
//!   key is **refused** with [`CacheError::Full`] rather than evicting an old one: evicting
//!   would silently drop idempotency claims (a replay would then be processed twice) and reset
//!   rate-limit windows, so refusing (→ 503) is the fail-closed choice. Overwriting a key that
//!   exists is always allowed;
//! - a poisoned mutex is recovered (`into_inner`): no operation leaves the map half-updated, so
//!   a panic elsewhere while holding the lock cannot corrupt it.

use super::{CacheConfig, CacheError, RateDecision, clamp_ttl};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// In-process cache (one instance only). Cheap to clone: clones share the entries.
#[derive(Debug, Clone)]
pub struct MemoryCache {
    inner: Arc<Mutex<Inner>>,
    prefix: Arc<str>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Entry>,
    /// No entry expires before this instant (a lower bound; `None` when empty). Lets a full map
    /// refuse a new key without scanning it when nothing can have expired yet.
    earliest_expiry: Option<Instant>,
}

#[derive(Debug)]
struct Entry {
    value: Vec<u8>,
    expires_at: Instant,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

impl Inner {
    /// The live entry under `key`; an expired one is removed on the way.
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.map.get(key).is_some_and(|e| !e.is_live(now)) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    /// Ensures `key` can be inserted: it exists already, or there is room (after purging
    /// expired entries if needed).
    fn make_room(&mut self, key: &str, now: Instant, capacity: usize) -> Result<(), CacheError> {
        if self.map.len() < capacity || self.map.contains_key(key) {
            return Ok(());
        }
        if self.earliest_expiry.is_some_and(|t| t <= now) {
            self.map.retain(|_, e| e.is_live(now));
            self.earliest_expiry = self.map.values().map(|e| e.expires_at).min();
        }
        if self.map.len() < capacity {
            Ok(())
        } else {
            Err(CacheError::Full { capacity })
        }
    }

    fn insert(&mut self, key: String, entry: Entry) {
        self.earliest_expiry = Some(match self.earliest_expiry {
            Some(t) => t.min(entry.expires_at),
            None => entry.expires_at,
        });
        self.map.insert(key, entry);
    }
}

fn deadline(now: Instant, ttl: Duration) -> Result<Instant, CacheError> {
    now.checked_add(clamp_ttl(ttl))
        .ok_or_else(|| CacheError::Backend("expiry beyond the clock's range".into()))
}

impl MemoryCache {
    /// An empty cache with the prefix and bound of `config` (a bound of 0 is raised to 1).
    pub fn new(config: &CacheConfig) -> Self {
        MemoryCache {
            inner: Arc::new(Mutex::new(Inner::default())),
            prefix: Arc::from(config.key_prefix.as_str()),
            capacity: config.memory_capacity.max(1),
        }
    }

    /// The namespace prefix in force.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The bound on the number of entries.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of entries held, expired ones not yet purged included.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether no entries are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn full_key(&self, key: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + key.len());
        k.push_str(&self.prefix);
        k.push_str(key);
        k
    }

    /// Always answers.
    pub fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    /// See [`super::Cache::get`].
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let k = self.full_key(key);
        let now = Instant::now();
        Ok(self.lock().live(&k, now).map(|e| e.value.clone()))
    }

    /// See [`super::Cache::set`].
    pub fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let k = self.full_key(key);
        let now = Instant::now();
        let expires_at = deadline(now, ttl)?;
        let mut inner = self.lock();
        inner.make_room(&k, now, self.capacity)?;
        inner.insert(
            k,
            Entry {
                value: value.to_vec(),
                expires_at,
            },
        );
        Ok(())
    }

    /// See [`super::Cache::delete`].
    pub fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let k = self.full_key(key);
        let now = Instant::now();
        Ok(self.lock().map.remove(&k).is_some_and(|e| e.is_live(now)))
    }

    /// See [`super::Cache::set_if_absent`]. The check and the insert happen under one lock.
    pub fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let k = self.full_key(key);
        let now = Instant::now();
        let expires_at = deadline(now, ttl)?;
        let mut inner = self.lock();
        if inner.live(&k, now).is_some() {
            return Ok(false);
        }
        inner.make_room(&k, now, self.capacity)?;
        inner.insert(
            k,
            Entry {
                value: value.to_vec(),
                expires_at,
            },
        );
        Ok(true)
    }

    /// See [`super::Cache::rate_limit`]. The counter is stored as ASCII decimal, like Redis
    /// `INCR` stores it, so `get` on a counter key reads the same on both backends.
    pub fn rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, CacheError> {
        let k = self.full_key(key);
        let now = Instant::now();
        let mut inner = self.lock();
        let (count, expires_at) = match inner.live(&k, now) {
            Some(entry) => {
                let count = std::str::from_utf8(&entry.value)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| CacheError::Backend("value is not an integer counter".into()))?
                    .checked_add(1)
                    .ok_or_else(|| CacheError::Backend("counter would overflow".into()))?;
                entry.value = count.to_string().into_bytes();
                (count, entry.expires_at)
            }
            None => {
                let expires_at = deadline(now, window)?;
                inner.make_room(&k, now, self.capacity)?;
                inner.insert(
                    k,
                    Entry {
                        value: b"1".to_vec(),
                        expires_at,
                    },
                );
                (1, expires_at)
            }
        };
        drop(inner);
        Ok(RateDecision::from_count(
            count,
            limit,
            expires_at.saturating_duration_since(now),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cache(capacity: usize) -> MemoryCache {
        MemoryCache::new(&CacheConfig {
            key_prefix: "t:".into(),
            memory_capacity: capacity,
        })
    }

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn keys_are_prefixed() {
        let c = cache(10);
        c.set("a", b"1", LONG).unwrap();
        let inner = c.lock();
        assert!(inner.map.contains_key("t:a"));
        assert!(!inner.map.contains_key("a"));
    }

    #[test]
    fn full_cache_refuses_new_keys_but_allows_overwrites() {
        let c = cache(3);
        for k in ["a", "b", "c"] {
            c.set(k, b"v", LONG).unwrap();
        }
        assert_eq!(
            c.set("d", b"v", LONG),
            Err(CacheError::Full { capacity: 3 })
        );
        assert_eq!(
            c.set_if_absent("d", b"v", LONG),
            Err(CacheError::Full { capacity: 3 })
        );
        assert_eq!(
            c.rate_limit("d", 1, LONG),
            Err(CacheError::Full { capacity: 3 })
        );
        c.set("a", b"w", LONG).unwrap();
        assert_eq!(c.get("a").unwrap(), Some(b"w".to_vec()));
        assert_eq!(c.len(), 3);
        // Deleting frees a slot.
        assert!(c.delete("b").unwrap());
        c.set("d", b"v", LONG).unwrap();
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn full_cache_purges_expired_entries_first() {
        let c = cache(3);
        c.set("short1", b"v", Duration::from_millis(20)).unwrap();
        c.set("short2", b"v", Duration::from_millis(20)).unwrap();
        c.set("long", b"v", LONG).unwrap();
        std::thread::sleep(Duration::from_millis(40));
        c.set("new", b"v", LONG).unwrap();
        assert_eq!(c.len(), 2, "both expired entries purged");
        assert_eq!(c.get("long").unwrap(), Some(b"v".to_vec()));
    }

    #[test]
    fn expired_entry_is_absent_and_purged_on_read() {
        let c = cache(10);
        c.set("a", b"v", Duration::from_millis(10)).unwrap();
        std::thread::sleep(Duration::from_millis(25));
        assert_eq!(c.len(), 1);
        assert_eq!(c.get("a").unwrap(), None);
        assert_eq!(c.len(), 0);
        assert!(!c.delete("a").unwrap());
    }

    #[test]
    fn rate_limit_counter_reads_as_decimal() {
        let c = cache(10);
        for _ in 0..12 {
            c.rate_limit("rl", 100, LONG).unwrap();
        }
        assert_eq!(c.get("rl").unwrap(), Some(b"12".to_vec()));
        c.set("junk", b"not a number", LONG).unwrap();
        assert!(matches!(
            c.rate_limit("junk", 1, LONG),
            Err(CacheError::Backend(_))
        ));
    }

    #[test]
    fn poisoned_mutex_is_recovered() {
        let c = cache(10);
        c.set("a", b"v", LONG).unwrap();
        let c2 = c.clone();
        let joined = std::thread::spawn(move || {
            let _guard = c2.lock();
            std::panic::resume_unwind(Box::new("poison on purpose"));
        })
        .join();
        assert!(joined.is_err());
        assert!(c.inner.is_poisoned());
        assert_eq!(c.get("a").unwrap(), Some(b"v".to_vec()));
        c.set("b", b"w", LONG).unwrap();
        assert!(c.set_if_absent("c", b"x", LONG).unwrap());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(u8),
        Delete(u8),
        Claim(u8),
        Incr(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..8).prop_map(Op::Set),
            (0u8..8).prop_map(Op::Delete),
            (0u8..8).prop_map(Op::Claim),
            (0u8..8).prop_map(Op::Incr),
        ]
    }

    proptest! {
        /// Against a plain `HashMap` model (no expiry: TTLs are long): the cache agrees on
        /// every result and never exceeds its bound.
        #[test]
        fn behaves_like_a_bounded_map(ops in proptest::collection::vec(op(), 0..60), cap in 1usize..6) {
            let c = cache(cap);
            let mut model: HashMap<String, Vec<u8>> = HashMap::new();
            for (i, op) in ops.into_iter().enumerate() {
                let val = i.to_string().into_bytes();
                match op {
                    Op::Set(k) => {
                        let k = k.to_string();
                        let fits = model.len() < cap || model.contains_key(&k);
                        let got = c.set(&k, &val, LONG);
                        prop_assert_eq!(got.is_ok(), fits);
                        if fits { model.insert(k, val); }
                    }
                    Op::Delete(k) => {
                        let k = k.to_string();
                        prop_assert_eq!(c.delete(&k).unwrap(), model.remove(&k).is_some());
                    }
                    Op::Claim(k) => {
                        let k = k.to_string();
                        let got = c.set_if_absent(&k, &val, LONG);
                        if model.contains_key(&k) {
                            prop_assert_eq!(got, Ok(false));
                        } else if model.len() < cap {
                            prop_assert_eq!(got, Ok(true));
                            model.insert(k, val);
                        } else {
                            prop_assert_eq!(got, Err(CacheError::Full { capacity: cap }));
                        }
                    }
                    Op::Incr(k) => {
                        // Counters live under their own key space so they never meet text values.
                        let k = format!("n{k}");
                        let got = c.rate_limit(&k, 3, LONG);
                        match model.get(&k) {
                            Some(v) => {
                                let n: u64 = std::str::from_utf8(v).unwrap().parse().unwrap();
                                let d = got.unwrap();
                                prop_assert_eq!(d.allowed, n < 3);
                                model.insert(k, (n + 1).to_string().into_bytes());
                            }
                            None if model.len() < cap => {
                                prop_assert!(got.unwrap().allowed);
                                model.insert(k, b"1".to_vec());
                            }
                            None => prop_assert_eq!(got, Err(CacheError::Full { capacity: cap })),
                        }
                    }
                }
                prop_assert!(c.len() <= cap);
            }
            for (k, v) in &model {
                prop_assert_eq!(c.get(k).unwrap(), Some(v.clone()));
            }
        }
    }
}
