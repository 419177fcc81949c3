//! The Redis cache backend, over a `redis::aio::ConnectionManager` (one multiplexed connection,
//! reconnected on failure).
//!
//! Owns: the URL check, the connection, and the Redis commands behind each cache operation.
//! Must not depend on: other penex modules.
//!
//! Invariants:
//! - start-up fails fast (the client's defaults retry for minutes): one retry, 2 s connect and response timeouts, and an
//!   overall deadline on connect + PING, so an unreachable Redis is an error within seconds, not
//!   after the manager's default backoff;
//! - only `redis://` and `rediss://` are accepted. `rediss://` needs a TLS feature of the `redis`
//!   crate (`tls-rustls`), which penex does not build in today: such a URL is a
//!   [`CacheError::Config`], never a silent plain-text connection;
//! - error texts pass through the redactor, so the URL's password never reaches a log;
//! - the rate-limit window is `INCR` + `PEXPIRE … NX` + `PTTL` in one `MULTI`/`EXEC`, so a
//!   counter can never be left without an expiry (needs Redis ≥ 7.0 for `PEXPIRE … NX`).

use super::{CacheConfig, CacheError, RateDecision, ttl_millis};
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, ErrorKind, RedisError};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Timeout of one connection attempt and of one command's response.
const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Deadline of the whole start-up connect + PING (covers an address that drops packets, where
/// each of the two attempts would wait for `IO_TIMEOUT`).
const CONNECT_DEADLINE: Duration = Duration::from_secs(3);

/// Redis cache, shared by all penex instances. Cheap to clone (the manager is an `Arc`).
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: Arc<str>,
    redactor: Redactor,
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The manager holds the client, and the client holds the password: never print it.
        f.debug_struct("RedisCache")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Removes the secrets of the configured URL from error texts.
#[derive(Clone, Default)]
struct Redactor {
    secrets: Arc<[String]>,
}

impl Redactor {
    /// The user-info part of `url` (`user:password`), the password alone, and the decoded
    /// password as the client understood it.
    fn for_url(url: &str, client: Option<&Client>) -> Self {
        let mut secrets = Vec::new();
        let authority = url
            .split_once("://")
            .map_or(url, |(_, rest)| rest.split('/').next().unwrap_or(rest));
        if let Some((userinfo, _host)) = authority.rsplit_once('@') {
            if let Some((_user, password)) = userinfo.split_once(':') {
                secrets.push(password.to_owned());
            }
            secrets.push(userinfo.to_owned());
        }
        if let Some(pw) = client.and_then(|c| c.get_connection_info().redis_settings().password()) {
            secrets.push(pw.to_owned());
        }
        secrets.retain(|s| !s.is_empty());
        // Longest first, so a secret that contains another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor {
            secrets: secrets.into(),
        }
    }

    fn redact(&self, text: String) -> String {
        self.secrets
            .iter()
            .fold(text, |t, secret| t.replace(secret.as_str(), "***"))
    }

    /// Sorts a Redis error: connectivity problems are `Unavailable`, an error reply to a command
    /// is `Backend`.
    fn error(&self, e: &RedisError) -> CacheError {
        let text = self.redact(e.to_string());
        match e.kind() {
            ErrorKind::InvalidClientConfig => CacheError::Config(text),
            ErrorKind::UnexpectedReturnType | ErrorKind::Parse | ErrorKind::Extension => {
                CacheError::Backend(text)
            }
            ErrorKind::Server(::redis::ServerErrorKind::ResponseError) => CacheError::Backend(text),
            _ => CacheError::Unavailable(text),
        }
    }
}

impl RedisCache {
    /// Checks the URL's scheme, connects, and PINGs. Any failure is an error: the caller asked
    /// for Redis and must not get a private in-process cache instead.
    pub async fn connect(url: &str, config: &CacheConfig) -> Result<Self, CacheError> {
        let scheme = url
            .split_once("://")
            .map(|(scheme, _)| scheme)
            .ok_or_else(|| CacheError::Config("the cache URL has no scheme".into()))?;
        if !(scheme.eq_ignore_ascii_case("redis") || scheme.eq_ignore_ascii_case("rediss")) {
            // The scheme precedes the user info, so it is safe to show, but only if it is short
            // and plain (a URL without "://" in the expected place could be anything).
            let shown = if scheme.len() <= 16 && scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
                scheme
            } else {
                "?"
            };
            return Err(CacheError::Config(format!(
                "unsupported cache URL scheme `{shown}`; use redis:// or rediss://"
            )));
        }
        let bare = Redactor::for_url(url, None);
        let client = Client::open(url).map_err(|e| bare.error(&e))?;
        let redactor = Redactor::for_url(url, Some(&client));
        let manager_config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Some(IO_TIMEOUT))
            .set_response_timeout(Some(IO_TIMEOUT));
        let connecting = async {
            let conn = ConnectionManager::new_with_config(client, manager_config)
                .await
                .map_err(|e| redactor.error(&e))?;
            let cache = RedisCache {
                conn,
                prefix: Arc::from(config.key_prefix.as_str()),
                redactor: redactor.clone(),
            };
            cache.ping().await?;
            Ok(cache)
        };
        match tokio::time::timeout(CONNECT_DEADLINE, connecting).await {
            Ok(result) => result,
            Err(_) => Err(CacheError::Unavailable(format!(
                "no answer from Redis within {} s",
                CONNECT_DEADLINE.as_secs()
            ))),
        }
    }

    /// The namespace prefix in force.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    fn full_key(&self, key: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + key.len());
        k.push_str(&self.prefix);
        k.push_str(key);
        k
    }

    /// `PING`.
    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let reply: String = ::redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| self.redactor.error(&e))?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(CacheError::Backend(format!(
                "unexpected PING reply {reply:?}"
            )))
        }
    }

    /// `GET`.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut conn = self.conn.clone();
        ::redis::cmd("GET")
            .arg(self.full_key(key))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.redactor.error(&e))
    }

    /// `SET key value PX ttl`.
    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        ::redis::cmd("SET")
            .arg(self.full_key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_millis(ttl))
            .exec_async(&mut conn)
            .await
            .map_err(|e| self.redactor.error(&e))
    }

    /// `DEL`.
    pub async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let mut conn = self.conn.clone();
        let removed: i64 = ::redis::cmd("DEL")
            .arg(self.full_key(key))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.redactor.error(&e))?;
        Ok(removed > 0)
    }

    /// `SET key value NX PX ttl`: `OK` when set, nil when the key exists.
    pub async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let mut conn = self.conn.clone();
        let reply: Option<String> = ::redis::cmd("SET")
            .arg(self.full_key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.redactor.error(&e))?;
        Ok(reply.is_some())
    }

    /// `MULTI; INCR key; PEXPIRE key window NX; PTTL key; EXEC`. `NX` sets the expiry only when
    /// the key has none, i.e. when this `INCR` created it, so the window is fixed at its first
    /// request.
    pub async fn rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, CacheError> {
        let k = self.full_key(key);
        let window_ms = ttl_millis(window);
        let mut conn = self.conn.clone();
        let (count, pttl): (u64, i64) = ::redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&k)
            .cmd("PEXPIRE")
            .arg(&k)
            .arg(window_ms)
            .arg("NX")
            .ignore()
            .cmd("PTTL")
            .arg(&k)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.redactor.error(&e))?;
        // PTTL is -1/-2 only if the key lost its expiry or vanished between the commands, which
        // MULTI rules out; answer with the full window rather than "retry now".
        let left = u64::try_from(pttl).unwrap_or(window_ms);
        Ok(RateDecision::from_count(
            count,
            limit,
            Duration::from_millis(left),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redactor_removes_password_and_userinfo() {
        let table = [
            (
                "redis://:s3cret@host:6379/0",
                "auth s3cret failed",
                "auth *** failed",
            ),
            ("redis://alice:pw%40x@host", "bad alice:pw%40x", "bad ***"),
            ("redis://alice:pw%40x@host", "bad pw@x", "bad ***"),
            (
                "redis://host:6379",
                "refused host:6379",
                "refused host:6379",
            ),
            ("rediss://u:p@h/1?x=@", "p and u:p", "*** and ***"),
        ];
        for (url, text, want) in table {
            let client = Client::open(url).ok();
            let r = Redactor::for_url(url, client.as_ref());
            assert_eq!(r.redact(text.to_owned()), want, "{url}");
        }
    }
}
