//! `GET /metrics`: Prometheus text exposition of this instance's HTTP traffic (requests by
//! route pattern and status, latency histograms), its rate-limiter decisions, and — read from
//! the shared database at scrape time — stored submissions by outcome and the outbox, plus this
//! instance's publisher counters.
//!
//! Who may scrape: the operator role, or a caller without credentials connecting from a
//! loopback address (a local Prometheus or node agent). Anyone presenting credentials is judged
//! by them, so an analyst on the same machine is still refused.
//!
//! Labels are bounded: routes are the registered path patterns (`/v1/records/{id}`), never raw
//! paths; anything unmatched is `unmatched`.

use super::auth::Caller;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::domain::party::Role;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::net::IpAddr;

/// The metrics of one instance.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    rate_limits: IntCounterVec,
    submissions: IntGaugeVec,
    outbox: IntGaugeVec,
    outbox_oldest: IntGauge,
    outbox_attempts: IntGauge,
    publisher: IntGaugeVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Registers every metric in a registry of its own (no global state).
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("penex".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )?;
        let rate_limits = IntCounterVec::new(
            Opts::new(
                "cache_rate_limit_total",
                "Rate-limit lookups in the cache by route class and result \
                 (allowed, limited, cache_error)",
            ),
            &["class", "result"],
        )?;
        let submissions = IntGaugeVec::new(
            Opts::new(
                "ingest_submissions",
                "Stored submissions (pushed items) by outcome, all instances",
            ),
            &["outcome"],
        )?;
        let outbox = IntGaugeVec::new(
            Opts::new("outbox_events", "Events by delivery status, all instances"),
            &["status"],
        )?;
        let outbox_oldest = IntGauge::new(
            "outbox_oldest_undelivered_age_seconds",
            "Age of the oldest undelivered event (0 when none)",
        )?;
        let outbox_attempts = IntGauge::new(
            "outbox_delivery_attempts",
            "Delivery attempts recorded in the outbox, all instances",
        )?;
        let publisher = IntGaugeVec::new(
            Opts::new(
                "publisher_events",
                "This instance's publisher counters since start (deliveries, retries, \
                 dead_letters, attempts)",
            ),
            &["counter"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(rate_limits.clone()))?;
        registry.register(Box::new(submissions.clone()))?;
        registry.register(Box::new(outbox.clone()))?;
        registry.register(Box::new(outbox_oldest.clone()))?;
        registry.register(Box::new(outbox_attempts.clone()))?;
        registry.register(Box::new(publisher.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            rate_limits,
            submissions,
            outbox,
            outbox_oldest,
            outbox_attempts,
            publisher,
        })
    }

    /// Counts one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Counts one rate-limit lookup: `allowed`, `limited` or `cache_error`.
    pub fn observe_rate_limit(&self, class: &str, result: &str) {
        self.rate_limits.with_label_values(&[class, result]).inc();
    }

    fn render(&self) -> Result<String, ApiError> {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| ApiError::internal(format!("metrics could not be encoded: {e}")))?;
        String::from_utf8(out).map_err(ApiError::internal)
    }
}

/// Whether a scrape is allowed: the operator, or no credentials from loopback.
pub fn may_scrape(peer: Option<IpAddr>, role: Option<Role>) -> Result<(), ApiError> {
    match role {
        Some(Role::Operator) => Ok(()),
        Some(other) => Err(ApiError::Forbidden {
            detail: format!(
                "metrics are for operators (or unauthenticated local scrapers); you are {}",
                other.as_str()
            ),
        }),
        None if peer.is_some_and(|ip| ip.is_loopback()) => Ok(()),
        None => Err(ApiError::Unauthenticated),
    }
}

/// Prometheus metrics of this instance.
#[utoipa::path(
    operation_id = "get_metrics",
    tag = "system",
    description = "Roles: operator; or no credentials at all from a loopback address (a local \
                   scraper). Prometheus text format 0.0.4: `penex_http_requests_total` and \
                   `penex_http_request_duration_seconds` by route pattern and status, \
                   `penex_cache_rate_limit_total` by route class and result, \
                   `penex_ingest_submissions` by outcome and `penex_outbox_*` (from the shared \
                   database), `penex_publisher_events` (this instance).",
    security(("mtls" = [])),
    responses(
        (status = 200, description = "The metrics", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "No credentials, and not from loopback", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable, or metrics not available", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
pub async fn get_metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let has_credentials = req.conn_data::<super::auth::PeerCertificate>().is_some()
        || req
            .headers()
            .contains_key(actix_web::http::header::AUTHORIZATION);
    let role = if has_credentials {
        Some(Caller::from_request(&req, &mut Payload::None).await?.0.role)
    } else {
        None
    };
    may_scrape(req.peer_addr().map(|a| a.ip()), role)?;
    let metrics = state.metrics.clone().ok_or_else(|| ApiError::Unavailable {
        detail: "metrics are not available on this instance".into(),
        retry_after_secs: 60,
    })?;
    let publish = state.publish_metrics.clone();
    let (stats, outcomes) = state
        .db(move |c| {
            Ok((
                crate::publish::publisher::stats(c, &publish)?,
                crate::store::stats::submissions_by_outcome(c)?,
            ))
        })
        .await?;
    set_gauges(&metrics, stats, outcomes);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render()?))
}

/// The gauges read from the store at scrape time: submissions by outcome, the shared outbox,
/// this instance's publisher counters.
fn set_gauges(
    metrics: &Metrics,
    stats: crate::publish::publisher::PublishStats,
    outcomes: Vec<(String, i64)>,
) {
    metrics.submissions.reset();
    for (outcome, n) in outcomes {
        metrics.submissions.with_label_values(&[&outcome]).set(n);
    }
    let o = &stats.outbox;
    for (status, n) in [
        ("pending", o.pending),
        ("retrying", o.retrying),
        ("delivered", o.delivered),
        ("dead", o.dead),
    ] {
        metrics.outbox.with_label_values(&[status]).set(n);
    }
    metrics.outbox_attempts.set(o.attempts);
    metrics
        .outbox_oldest
        .set(stats.oldest_undelivered_age_secs.unwrap_or(0));
    let i = stats.instance;
    for (name, n) in [
        ("deliveries", i.deliveries),
        ("retries", i.retries),
        ("dead_letters", i.dead_letters),
        ("attempts", i.attempts),
    ] {
        metrics
            .publisher
            .with_label_values(&[name])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_operators_or_anonymous_loopback_scrape() {
        let lo: IpAddr = [127, 0, 0, 1].into();
        let lo6: IpAddr = std::net::Ipv6Addr::LOCALHOST.into();
        let far: IpAddr = [10, 1, 2, 3].into();
        assert!(may_scrape(Some(lo), None).is_ok());
        assert!(may_scrape(Some(lo6), None).is_ok());
        assert!(matches!(
            may_scrape(Some(far), None),
            Err(ApiError::Unauthenticated)
        ));
        assert!(matches!(
            may_scrape(None, None),
            Err(ApiError::Unauthenticated)
        ));
        assert!(may_scrape(Some(far), Some(Role::Operator)).is_ok());
        for role in [Role::Analyst, Role::Unit, Role::Integrator] {
            assert!(matches!(
                may_scrape(Some(lo), Some(role)),
                Err(ApiError::Forbidden { .. })
            ));
        }
    }

    #[test]
    fn every_metric_registers_and_renders() {
        let m = Metrics::new();
        assert!(m.is_ok());
        if let Ok(m) = m {
            m.observe_request("GET", "/v1/records/{id}", 200, 0.003);
            m.observe_rate_limit("query", "allowed");
            let text = m.render().unwrap_or_default();
            assert!(text.contains(
                "penex_http_requests_total{method=\"GET\",route=\"/v1/records/{id}\",status=\"200\"} 1"
            ));
            assert!(text.contains("penex_http_request_duration_seconds_bucket"));
            assert!(
                text.contains("penex_cache_rate_limit_total{class=\"query\",result=\"allowed\"} 1")
            );
        }
    }
}
