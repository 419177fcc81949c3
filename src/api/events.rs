//! The event feed (`GET /v1/events`), the public signing keys (`GET /.well-known/jwks.json`),
//! and the outbox for operators (`GET /v1/outbox`, `POST /v1/outbox/{id}/retry`).
//!
//! Roles: integrators and operators read the feed; the JWKS is public; operators see and retry
//! the outbox (every retry is audited).

use super::auth::Caller;
use super::params::Params;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::domain::party::Role;
use crate::store;
use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// The feed's paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// Return events with a sequence number greater than this (0: from the start).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub after: Option<String>,
    /// At most this many events (1–1000, default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// One event of the feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    /// Gap-free sequence number (the cursor).
    pub seq: i64,
    /// Event id (`evt_…`), also the idempotency key of pushed deliveries.
    pub id: String,
    /// `record.published`, `record.corrected`, `record.revoked`, `flag.activated`, …
    #[serde(rename = "type")]
    pub event_type: String,
    /// The subject.
    pub subject_id: String,
    /// The record concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// The flag concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag_id: Option<String>,
    /// When (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The signed payload, decoded (verify `jws`, not this copy).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// The compact JWS (`alg` `Ed25519`, or `EdDSA` for events signed by a key made before
    /// 2026-12; key at `/.well-known/jwks.json` by `kid`).
    pub jws: String,
}

/// A page of the feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventPage {
    /// Events in sequence order.
    pub events: Vec<EventView>,
    /// The cursor for the next call (`after=`): the last sequence number returned, or the
    /// `after` given when there was nothing new.
    pub next_after: i64,
}

/// The event feed, in sequence order.
#[utoipa::path(
    operation_id = "list_events",
    tag = "events",
    description = "Roles: integrator, operator. Events in sequence order after the cursor. \
                   Sequence numbers are gap-free and commit in order, so following \
                   `next_after` never skips an event, however late its transaction committed.",
    security(("mtls" = [])),
    params(FeedQuery),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 400, description = "Malformed query string (an unknown parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameters: each named with the value seen and what was expected", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/events")]
pub async fn list_events(
    query: web::Query<FeedQuery>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<EventPage>, ApiError> {
    caller.require(&[Role::Integrator, Role::Operator])?;
    let mut params = Params::new();
    let after = params.seq_after(query.after.as_deref());
    let limit = i64::from(params.limit(query.limit.as_deref(), 100, 1000));
    params.finish()?;
    let rows = state
        .db(move |c| store::events::after(c, after, limit))
        .await?;
    let next_after = rows.last().map_or(after, |r| r.seq);
    Ok(web::Json(EventPage {
        events: rows
            .into_iter()
            .map(|r| EventView {
                seq: r.seq,
                payload: crate::crypto::jws::payload_of(&r.jws)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .unwrap_or(Value::Null),
                id: r.id,
                event_type: r.event_type,
                subject_id: r.subject_id,
                record_id: r.record_id,
                flag_id: r.flag_id,
                created_at: r.created_at.and_utc(),
                jws: r.jws,
            })
            .collect(),
        next_after,
    }))
}

/// A public key (RFC 7517 / RFC 8037).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JwkDoc {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// Key id (matches the JWS header's `kid`).
    pub kid: String,
    /// The one `alg` the key signs with: `Ed25519` (RFC 9864), or `EdDSA` for a key made
    /// before 2026-12.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// The key set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JwksDoc {
    /// Current key first, then older keys kept for verification.
    pub keys: Vec<JwkDoc>,
}

/// The public keys that verify event signatures.
#[utoipa::path(
    operation_id = "get_jwks",
    tag = "events",
    description = "Public. The current signing key first, then retired keys (kept so that \
                   older events still verify).",
    security(()),
    responses((status = 200, description = "The JWK set", body = JwksDoc))
)]
#[get("/.well-known/jwks.json")]
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    let jwks = state.event_keys.get().jwks();
    let doc = JwksDoc {
        keys: jwks
            .keys
            .into_iter()
            .map(|k| JwkDoc {
                kty: k.kty,
                crv: k.crv,
                x: k.x,
                kid: k.kid,
                alg: k.alg,
                use_: k.use_,
            })
            .collect(),
    };
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(doc)
}

/// Outbox filter.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// `pending`, `delivered` or `dead` (default: all).
    pub status: Option<String>,
    /// Rows with a sequence number greater than this.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub after: Option<String>,
    /// At most this many rows (1–1000, default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// Outbox rows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutboxPage {
    /// Rows, oldest first.
    pub rows: Vec<store::outbox::OutboxView>,
    /// Counts over the whole outbox.
    pub stats: store::outbox::OutboxStats,
}

/// Events' delivery state, e.g. the dead letters.
#[utoipa::path(
    operation_id = "list_outbox",
    tag = "events",
    description = "Roles: operator. Events with their delivery state: pending (after the delivery cursor, or an exception being retried), delivered or dead, with attempts and the last error. `stats` counts over the whole log.",
    security(("mtls" = [])),
    params(OutboxQuery),
    responses(
        (status = 200, description = "Rows and counts", body = OutboxPage),
        (status = 400, description = "Malformed query string (an unknown parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameters: each named with the value seen and what was expected", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/outbox")]
pub async fn list_outbox(
    query: web::Query<OutboxQuery>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<OutboxPage>, ApiError> {
    caller.require(&[Role::Operator])?;
    let q = query.into_inner();
    let mut params = Params::new();
    let status = params.parse(
        "status",
        q.status.as_deref(),
        "invalid_status",
        "pending, delivered or dead",
        |s| matches!(s, "pending" | "delivered" | "dead").then(|| s.to_owned()),
    );
    let after = params.seq_after(q.after.as_deref());
    let limit = i64::from(params.limit(q.limit.as_deref(), 100, 1000));
    params.finish()?;
    let page = state
        .db(move |c| {
            Ok(OutboxPage {
                rows: store::outbox::list(c, status.as_deref(), after, limit)?,
                stats: store::outbox::stats(c)?,
            })
        })
        .await?;
    Ok(web::Json(page))
}

/// Send a dead (or waiting) event again now, with a fresh attempt budget.
#[utoipa::path(
    operation_id = "retry_outbox",
    tag = "events",
    description = "Roles: operator. Makes the event's delivery due now with a fresh attempt \
                   budget; the subject's later events follow once it is delivered. Audited.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Event id (`evt_…`)")),
    responses(
        (status = 200, description = "The row after the change", body = store::outbox::OutboxView),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already delivered", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/outbox/{id}/retry")]
pub async fn retry_outbox(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<store::outbox::OutboxView>, ApiError> {
    let identity = caller.require(&[Role::Operator])?;
    let id = path.into_inner();
    let actor = identity.actor();
    let view = state
        .call(move |c| crate::service::outbox::retry(c, &id, &actor))
        .await?;
    Ok(web::Json(view))
}
