//! The publisher: POSTs each event's stored JWS to the connector over mutual TLS
//! (`Idempotency-Key: <event id>`, `Content-Type: application/jose`), in two jobs per instance:
//! the cursor task (one instance at a time holds the connector's cursor and delivers the event
//! log in rounds) and the exception workers (they retry the events a round could not deliver).
//! `store::outbox` holds the state and its invariants.
//!
//! Outcomes: 2xx → delivered; 408, 429, 5xx and network errors → retried with exponential
//! backoff and jitter (a `Retry-After` in seconds is honoured, capped at `backoff_max_ms`) until
//! `retry_limit` attempts, then dead; any other 4xx → dead at once (the connector refused the
//! event itself; retrying would not change its mind). A round in which every send failed with
//! a retryable error means the connector is down, not the events: the cursor stays where it is
//! and backs off, so an outage writes nothing per event; after `retry_limit` such rounds its
//! events become dead letters, as they would one by one.
//!
//! Invariants: a delivery re-sends exactly the stored JWS, so a retry after a lost answer, a
//! lease taken over from a dead worker, or a second instance can only ever repeat identical
//! bytes under the same key; per-subject order and lease exclusivity are the store's
//! (`store::outbox`), and within a round each subject's events are sent one after another, a
//! failure holding back the rest of its chain. No database transaction is open while a request
//! is in flight.

use crate::config::Settings;
use crate::store::{self, Pool, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Counters of this instance's publisher (for `/metrics`).
#[derive(Debug, Default)]
pub struct Metrics {
    deliveries: AtomicU64,
    retries: AtomicU64,
    dead_letters: AtomicU64,
    attempts: AtomicU64,
}

/// A copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MetricsSnapshot {
    /// Events delivered (2xx).
    pub deliveries: u64,
    /// Failed attempts that will be retried.
    pub retries: u64,
    /// Events that became dead letters.
    pub dead_letters: u64,
    /// Delivery attempts made.
    pub attempts: u64,
}

impl Metrics {
    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            deliveries: self.deliveries.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            attempts: self.attempts.load(Ordering::Relaxed),
        }
    }
}

/// Backlog figures from the database plus this instance's counters: what `/metrics` and
/// `penex outbox stats` show.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PublishStats {
    /// Outbox counts (shared by all instances).
    pub outbox: store::outbox::OutboxStats,
    /// Age in seconds of the oldest undelivered event.
    pub oldest_undelivered_age_secs: Option<i64>,
    /// This instance's counters.
    pub instance: MetricsSnapshot,
}

/// Reads the figures (blocking: run it on the blocking pool).
pub fn stats(conn: &mut store::Conn, metrics: &Metrics) -> Result<PublishStats, StoreError> {
    let outbox = store::outbox::stats(conn)?;
    let age = outbox
        .oldest_undelivered_at
        .map(|t| (store::now_utc() - t).num_seconds().max(0));
    Ok(PublishStats {
        outbox,
        oldest_undelivered_age_secs: age,
        instance: metrics.snapshot(),
    })
}

/// Why the publisher could not start.
#[derive(Debug, thiserror::Error)]
pub enum PublisherError {
    /// TLS material missing or unusable.
    #[error("publisher TLS: {0}")]
    Tls(String),
    /// The HTTP client could not be built.
    #[error("publisher HTTP client: {0}")]
    Client(String),
}

/// How the publisher behaves (from `[publish]`).
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// Connector URL.
    pub url: String,
    /// Attempts before a dead letter.
    pub retry_limit: u32,
    /// First backoff.
    pub backoff_base: Duration,
    /// Longest backoff.
    pub backoff_max: Duration,
    /// Workers.
    pub workers: u32,
    /// Exceptions per lease.
    pub batch_size: u32,
    /// Events per round of the cursor.
    pub round_events: u32,
    /// Deliveries of a round in flight at once.
    pub round_in_flight: u32,
    /// Lease length.
    pub lease: Duration,
    /// Idle poll interval.
    pub poll: Duration,
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, PublisherError> {
    std::fs::read(path)
        .map_err(|e| PublisherError::Tls(format!("cannot read {}: {e}", path.display())))
}

/// The HTTPS client towards the connector: trusts only the connector's CA and presents the
/// exchange's client certificate (the dev PKI's `publisher` certificate by default). HTTP/1.1
/// (a kept-alive pool) unless `publish.http2`.
pub fn connector_client(settings: &Settings) -> Result<reqwest::Client, PublisherError> {
    let p = &settings.publish;
    let pki = settings.pki_dir();
    let ca = match &p.connector_ca {
        Some(path) => read(path)?,
        None if settings.tls.dev_pki => read(&pki.join("exchange-ca.crt"))?,
        None => {
            return Err(PublisherError::Tls(
                "publish.connector_ca is required".into(),
            ));
        }
    };
    let (cert, key) = match (&p.client_cert, &p.client_key) {
        (Some(c), Some(k)) => (read(c)?, read(k)?),
        _ if settings.tls.dev_pki => (
            read(&pki.join("clients/publisher.crt"))?,
            read(&pki.join("clients/publisher.key"))?,
        ),
        _ => {
            return Err(PublisherError::Tls(
                "publish.client_cert and publish.client_key are required".into(),
            ));
        }
    };
    let mut config = crate::tls::config::client_config(&ca, Some(&cert), Some(&key))
        .map_err(|e| PublisherError::Tls(e.to_string()))?;
    if !p.http2 {
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
    }
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_millis(p.request_timeout_ms))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| PublisherError::Client(e.to_string()))
}

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// 2xx.
    Delivered {
        /// The status.
        status: u16,
    },
    /// Worth trying again.
    Retry {
        /// The status, when there was an answer.
        status: Option<u16>,
        /// `Retry-After` in seconds, when given.
        retry_after: Option<u64>,
        /// What went wrong.
        error: String,
    },
    /// The connector refused the event.
    Refused {
        /// The status.
        status: u16,
        /// Its answer, shortened.
        error: String,
    },
}

/// Classifies an answer by its status (and `Retry-After`).
pub fn classify(status: u16, retry_after: Option<u64>, answer: &str) -> Attempt {
    let short: String = answer.chars().take(300).collect();
    match status {
        200..=299 => Attempt::Delivered { status },
        408 | 429 | 500..=599 => Attempt::Retry {
            status: Some(status),
            retry_after,
            error: format!("HTTP {status}: {short}"),
        },
        _ => Attempt::Refused {
            status,
            error: format!("HTTP {status}: {short}"),
        },
    }
}

/// POSTs one event.
pub async fn deliver(client: &reqwest::Client, url: &str, event_id: &str, jws: &str) -> Attempt {
    let sent = client
        .post(url)
        .header("Idempotency-Key", event_id)
        .header(reqwest::header::CONTENT_TYPE, "application/jose")
        .body(jws.to_owned())
        .send()
        .await;
    match sent {
        Err(e) => Attempt::Retry {
            status: None,
            retry_after: None,
            error: format!("connector unreachable: {e}"),
        },
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let answer = resp.text().await.unwrap_or_default();
            classify(status, retry_after, &answer)
        }
    }
}

fn random_unit() -> f64 {
    let mut b = [0u8; 4];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}

/// The delay before attempt `attempts + 1`: `base · 2^(attempts−1)` capped at `max`, half of
/// it fixed and half random ("equal jitter"), so retries of many events spread out.
pub fn backoff(attempts: u32, base: Duration, max: Duration) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let full = base.saturating_mul(1_u32 << exp).min(max);
    let half = full / 2;
    half + half.mul_f64(random_unit())
}

fn owner_id(worker: u32) -> String {
    let mut b = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    format!("{}-{}-{worker}", std::process::id(), hex::encode(b))
}

async fn blocking<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce(&mut store::Conn) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(StoreError::from)?;
        f(&mut conn)
    })
    .await
    .map_err(|e| StoreError::Pool(format!("blocking task failed: {e}")))?
}

/// A running publisher; [`PublisherHandle::stop`] ends it gracefully.
#[derive(Debug)]
pub struct PublisherHandle {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl PublisherHandle {
    /// Asks the workers to stop after their current deliveries and waits up to `grace`; the
    /// cursor is given back, and exceptions still leased after that are taken over by any
    /// instance when their lease ends.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        let _ = tokio::time::timeout(grace, all).await;
    }
}

/// Starts the cursor task and the exception workers on the current tokio runtime.
pub fn spawn(
    pool: Pool,
    client: reqwest::Client,
    config: PublisherConfig,
    sqlite: bool,
    metrics: Arc<Metrics>,
) -> PublisherHandle {
    let (tx, rx) = watch::channel(false);
    // SQLite has one writer: more workers would only queue on its lock.
    let workers = if sqlite { 1 } else { config.workers.max(1) };
    let config = Arc::new(config);
    let worker = |w: u32| Worker {
        pool: pool.clone(),
        client: client.clone(),
        config: config.clone(),
        metrics: metrics.clone(),
        owner: owner_id(w),
    };
    let mut tasks = vec![tokio::spawn(worker(0).run(rx.clone(), Job::Cursor))];
    tasks.extend((1..=workers).map(|w| tokio::spawn(worker(w).run(rx.clone(), Job::Exceptions))));
    tracing::info!(workers, url = %config.url, "publisher started");
    PublisherHandle { stop: tx, tasks }
}

/// The configuration from settings, or `None` when no connector is configured.
pub fn config_from(settings: &Settings) -> Option<PublisherConfig> {
    let p = &settings.publish;
    Some(PublisherConfig {
        url: p.connector_url.clone()?,
        retry_limit: p.retry_limit,
        backoff_base: Duration::from_millis(p.backoff_base_ms),
        backoff_max: Duration::from_millis(p.backoff_max_ms),
        workers: p.workers,
        batch_size: p.batch_size,
        round_events: p.round_events,
        round_in_flight: p.round_in_flight,
        lease: Duration::from_secs(p.lease_secs),
        poll: Duration::from_millis(p.poll_ms),
    })
}

/// What a worker does.
#[derive(Debug, Clone, Copy)]
enum Job {
    /// Moves the connector's cursor along the event log (while it holds the cursor's lease).
    Cursor,
    /// Retries the exceptions: failed events, and those waiting behind them.
    Exceptions,
}

/// What became of one event of a round.
enum Fate {
    /// Delivered (2xx).
    Delivered,
    /// Sent and failed.
    Failed(Attempt),
    /// Not sent: an earlier event of its subject is undelivered.
    Held,
}

struct Worker {
    pool: Pool,
    client: reqwest::Client,
    config: Arc<PublisherConfig>,
    metrics: Arc<Metrics>,
    owner: String,
}

impl Worker {
    async fn run(self, mut stop: watch::Receiver<bool>, job: Job) {
        let mut idle_errors = 0_u32;
        loop {
            if *stop.borrow() {
                break;
            }
            let done = match job {
                Job::Cursor => self.cursor_round().await,
                Job::Exceptions => self.exception_round().await,
            };
            let pause = match done {
                Ok(Some(_)) => {
                    idle_errors = 0;
                    Duration::ZERO
                }
                Ok(None) => {
                    idle_errors = 0;
                    self.config.poll
                }
                Err(e) => {
                    idle_errors = idle_errors.saturating_add(1);
                    tracing::warn!(error = %e, "publisher: database unavailable; will retry");
                    self.config.poll.saturating_mul(idle_errors.min(20))
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        if let Job::Cursor = job {
            let owner = self.owner.clone();
            let _ = blocking(&self.pool, move |c| {
                store::outbox::release_cursor(c, store::outbox::PLATFORM, &owner)
            })
            .await;
        }
    }

    /// The delay before the next attempt after `made` failed ones (a `Retry-After` wins).
    fn delay(&self, made: u32, retry_after: Option<u64>) -> Duration {
        match retry_after {
            Some(s) => Duration::from_secs(s).min(self.config.backoff_max),
            None => backoff(made, self.config.backoff_base, self.config.backoff_max),
        }
    }

    /// One round of the cursor: takes (or renews) its lease, reads the next events of the
    /// log, delivers them (each subject's events one after another, subjects concurrently),
    /// and records the round in one transaction. `Some(n)`: a full round, go on at once.
    async fn cursor_round(&self) -> Result<Option<usize>, StoreError> {
        let owner = self.owner.clone();
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or_default();
        let limit = i64::from(self.config.round_events);
        let read = blocking(&self.pool, move |c| {
            let now = store::now_utc();
            let Some(cursor) = store::conn::write_tx(c, |c| {
                store::outbox::lease_cursor(c, store::outbox::PLATFORM, &owner, now, now + lease)
            })?
            else {
                return Ok(None);
            };
            if cursor.next_attempt_at > now {
                return Ok(None);
            }
            let events = store::outbox::after_cursor(c, cursor.delivered_through, limit)?;
            let subjects: Vec<&str> = events.iter().map(|e| e.subject_id.as_str()).collect();
            let blocked = store::outbox::blocked_subjects(c, store::outbox::PLATFORM, &subjects)?;
            Ok::<_, StoreError>(Some((cursor, events, blocked)))
        })
        .await?;
        let Some((cursor, events, blocked)) = read else {
            return Ok(None);
        };
        if events.is_empty() {
            return Ok(None);
        }
        // Read under the lease, nothing delivered yet: a crash here leaves the cursor to be
        // taken over when its lease runs out.
        store::failpoint::hit("outbox.leased")?;
        let full = events.len() == usize::try_from(limit).unwrap_or(usize::MAX);
        let n = events.len();
        let fates = self.deliver_round(&events, &blocked).await;
        self.record_round(cursor, events, fates).await?;
        store::failpoint::hit("outbox.marked")?;
        Ok(full.then_some(n))
    }

    /// Delivers a round: each subject's chain of events in order, stopping a chain at its first
    /// failure; chains of different subjects concurrently, `round_in_flight` at a time. A
    /// subject with an undelivered exception sends nothing.
    async fn deliver_round(
        &self,
        events: &[store::outbox::Pending],
        blocked: &std::collections::HashSet<String>,
    ) -> Vec<Fate> {
        use futures_util::StreamExt as _;
        let mut chains: Vec<Vec<usize>> = Vec::new();
        let mut chain_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, e) in events.iter().enumerate() {
            let next = chains.len();
            let c = *chain_of.entry(e.subject_id.as_str()).or_insert(next);
            if c == next {
                chains.push(Vec::new());
            }
            if let Some(chain) = chains.get_mut(c) {
                chain.push(i);
            }
        }
        let in_flight = usize::try_from(self.config.round_in_flight.max(1)).unwrap_or(1);
        let results: Vec<Vec<(usize, Fate)>> = futures_util::stream::iter(chains)
            .map(|chain| async move {
                let mut out = Vec::with_capacity(chain.len());
                let mut stopped = false;
                for i in chain {
                    let Some(e) = events.get(i) else { continue };
                    if stopped || blocked.contains(&e.subject_id) {
                        out.push((i, Fate::Held));
                        continue;
                    }
                    let attempt =
                        deliver(&self.client, &self.config.url, &e.event_id, &e.jws).await;
                    self.metrics.attempts.fetch_add(1, Ordering::Relaxed);
                    if let Attempt::Delivered { .. } = attempt {
                        self.metrics.deliveries.fetch_add(1, Ordering::Relaxed);
                        out.push((i, Fate::Delivered));
                    } else {
                        stopped = true;
                        out.push((i, Fate::Failed(attempt)));
                    }
                }
                out
            })
            .buffer_unordered(in_flight)
            .collect()
            .await;
        let mut fates: Vec<Option<Fate>> = (0..events.len()).map(|_| None).collect();
        for (i, fate) in results.into_iter().flatten() {
            if let Some(slot) = fates.get_mut(i) {
                *slot = Some(fate);
            }
        }
        fates.into_iter().map(|f| f.unwrap_or(Fate::Held)).collect()
    }

    /// Records a delivered round. When every send failed and none was refused (the connector
    /// is down), the cursor stays and backs off; at the retry limit the failed events become
    /// dead letters and the cursor moves on.
    async fn record_round(
        &self,
        cursor: store::outbox::Cursor,
        events: Vec<store::outbox::Pending>,
        fates: Vec<Fate>,
    ) -> Result<(), StoreError> {
        let sends = fates
            .iter()
            .filter(|f| matches!(f, Fate::Delivered | Fate::Failed(_)))
            .count();
        let all_failed = sends > 0
            && fates
                .iter()
                .all(|f| matches!(f, Fate::Held | Fate::Failed(Attempt::Retry { .. })));
        let made = u32::try_from(cursor.head_attempts.saturating_add(1)).unwrap_or(u32::MAX);
        let owner = self.owner.clone();
        let sends = i64::try_from(sends).unwrap_or(i64::MAX);
        if all_failed && made < self.config.retry_limit {
            let (status, retry_after, error) = fates
                .iter()
                .find_map(|f| match f {
                    Fate::Failed(Attempt::Retry {
                        status,
                        retry_after,
                        error,
                    }) => Some((status.map(i64::from), *retry_after, error.clone())),
                    _ => None,
                })
                .unwrap_or((None, None, String::new()));
            let delay = self.delay(made, retry_after);
            self.metrics.retries.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                event.seq = cursor.delivered_through + 1,
                attempts = made,
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "every delivery of a round failed: the connector looks down; will retry"
            );
            let next = store::now_utc() + chrono::Duration::from_std(delay).unwrap_or_default();
            let from = cursor.delivered_through;
            blocking(&self.pool, move |c| {
                store::conn::write_tx(c, |c| {
                    store::outbox::head_failed(
                        c,
                        store::outbox::PLATFORM,
                        &owner,
                        from,
                        sends,
                        status,
                        &error,
                        next,
                    )
                })
            })
            .await?;
            return Ok(());
        }
        let now = store::now_utc();
        let through = events.last().map_or(cursor.delivered_through, |e| e.seq);
        let mut exceptions = Vec::new();
        for (e, fate) in events.into_iter().zip(fates) {
            let (status, attempts, next, last_status, last_error) = match fate {
                Fate::Delivered => continue,
                Fate::Held => ("pending", 0, now, None, None),
                Fate::Failed(Attempt::Refused { status, error }) => {
                    self.metrics.dead_letters.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(event.seq = e.seq, event.id = %e.event_id, status,
                        "the connector refused the event: dead letter");
                    ("dead", 1, now, Some(i64::from(status)), Some(error))
                }
                Fate::Failed(Attempt::Retry {
                    status,
                    retry_after,
                    error,
                }) => {
                    // At the cursor's head an event failed `made` rounds in a row; elsewhere once.
                    let tried = if all_failed { made } else { 1 };
                    if tried >= self.config.retry_limit {
                        self.metrics.dead_letters.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(event.seq = e.seq, event.id = %e.event_id, attempts = tried,
                            "delivery failed {tried} times: dead letter");
                        (
                            "dead",
                            i64::from(tried),
                            now,
                            status.map(i64::from),
                            Some(error),
                        )
                    } else {
                        self.metrics.retries.fetch_add(1, Ordering::Relaxed);
                        let delay = self.delay(tried, retry_after);
                        let next = now + chrono::Duration::from_std(delay).unwrap_or_default();
                        tracing::info!(
                            event.seq = e.seq,
                            attempts = tried,
                            "delivery failed; will retry"
                        );
                        (
                            "pending",
                            i64::from(tried),
                            next,
                            status.map(i64::from),
                            Some(error),
                        )
                    }
                }
                Fate::Failed(Attempt::Delivered { .. }) => continue,
            };
            exceptions.push(store::outbox::NewException {
                connector: store::outbox::PLATFORM.to_owned(),
                event_seq: e.seq,
                event_id: e.event_id,
                subject_id: e.subject_id,
                status: status.to_owned(),
                attempts,
                sends: 0,
                next_attempt_at: next,
                last_error,
                last_status,
                created_at: e.created_at,
            });
        }
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or_default();
        let round = store::outbox::Round {
            from_through: cursor.delivered_through,
            through,
            sends,
            exceptions,
            now,
            until: now + lease,
        };
        let recorded = blocking(&self.pool, move |c| {
            store::conn::write_tx(c, |c| {
                store::outbox::commit_round(c, store::outbox::PLATFORM, &owner, &round)
            })
        })
        .await?;
        if !recorded {
            tracing::warn!(
                "the delivery cursor was taken over during a round: its results are left to the \
                 new holder (the connector may see these events again, identical)"
            );
        } else {
            tracing::debug!(event.seq = through, "delivery cursor moved");
        }
        Ok(())
    }

    /// Leases due exceptions, delivers them concurrently, records the results.
    async fn exception_round(&self) -> Result<Option<usize>, StoreError> {
        let owner = self.owner.clone();
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or_default();
        let limit = i64::from(self.config.batch_size);
        let leased = blocking(&self.pool, move |c| {
            store::conn::write_tx(c, |c| {
                let now = store::now_utc();
                let rows = store::outbox::lease(
                    c,
                    store::outbox::PLATFORM,
                    &owner,
                    now,
                    now + lease,
                    limit,
                )?;
                store::failpoint::hit("outbox.lease_commit")?;
                Ok::<_, StoreError>(rows)
            })
        })
        .await?;
        if leased.is_empty() {
            return Ok(None);
        }
        // Claimed and committed, nothing delivered yet: a crash here leaves the rows leased
        // until their lease runs out.
        store::failpoint::hit("outbox.exceptions_leased")?;
        let n = leased.len();
        let deliveries = leased.into_iter().map(|row| async move {
            let attempt = deliver(&self.client, &self.config.url, &row.event_id, &row.jws).await;
            (row, attempt)
        });
        let results = futures_util::future::join_all(deliveries).await;
        for (row, attempt) in results {
            self.record(row, attempt).await?;
            store::failpoint::hit("outbox.exception_marked")?;
        }
        Ok(Some(n))
    }

    async fn record(&self, row: store::outbox::Leased, attempt: Attempt) -> Result<(), StoreError> {
        self.metrics.attempts.fetch_add(1, Ordering::Relaxed);
        let owner = self.owner.clone();
        let seq = row.seq;
        let made = u32::try_from(row.attempts.saturating_add(1)).unwrap_or(u32::MAX);
        let connector = store::outbox::PLATFORM;
        match attempt {
            Attempt::Delivered { status } => {
                self.metrics.deliveries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(event.seq = seq, status, "event delivered");
                blocking(&self.pool, move |c| {
                    store::outbox::mark_delivered(
                        c,
                        connector,
                        seq,
                        &owner,
                        i64::from(status),
                        store::now_utc(),
                    )
                })
                .await?;
            }
            Attempt::Refused { status, error } => {
                self.metrics.dead_letters.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(event.seq = seq, event.id = %row.event_id, status,
                    "the connector refused the event: dead letter");
                blocking(&self.pool, move |c| {
                    store::outbox::mark_failed(
                        c,
                        connector,
                        seq,
                        &owner,
                        Some(i64::from(status)),
                        &error,
                        None,
                    )
                })
                .await?;
            }
            Attempt::Retry {
                status,
                retry_after,
                error,
            } => {
                let next = if made >= self.config.retry_limit {
                    self.metrics.dead_letters.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(event.seq = seq, event.id = %row.event_id, attempts = made,
                        "delivery failed {made} times: dead letter");
                    None
                } else {
                    self.metrics.retries.fetch_add(1, Ordering::Relaxed);
                    let delay = self.delay(made, retry_after);
                    tracing::info!(
                        event.seq = seq,
                        attempts = made,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "delivery failed; will retry"
                    );
                    Some(store::now_utc() + chrono::Duration::from_std(delay).unwrap_or_default())
                };
                let status = status.map(i64::from);
                blocking(&self.pool, move |c| {
                    store::outbox::mark_failed(c, connector, seq, &owner, status, &error, next)
                })
                .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(200, None, ""), Attempt::Delivered { status: 200 });
        assert_eq!(classify(204, None, ""), Attempt::Delivered { status: 204 });
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(classify(s, Some(3), "x"), Attempt::Retry { .. }),
                "{s}"
            );
        }
        for s in [400, 401, 403, 404, 409, 413, 415, 422] {
            assert!(
                matches!(classify(s, None, "x"), Attempt::Refused { .. }),
                "{s}"
            );
        }
        let long = "长".repeat(1000);
        let Attempt::Refused { error, .. } = classify(400, None, &long) else {
            panic!("refused");
        };
        assert!(error.chars().count() < 320);
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(10);
        for attempts in 1..40 {
            let full = base.saturating_mul(1 << (attempts - 1).min(30)).min(max);
            let d = backoff(attempts, base, max);
            assert!(d >= full / 2 && d <= full, "{attempts}: {d:?}");
        }
        assert!(backoff(30, base, max) >= Duration::from_secs(5));
    }
}
