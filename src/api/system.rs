//! Liveness, readiness and the caller's own identity.

use super::auth::{Caller, Identity};
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::domain::party::Role;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

/// Liveness / readiness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// Database backend in use (`sqlite` or `postgres`), readiness only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
    /// Cache backend in use (`memory` or `redis`), readiness only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<&'static str>,
}

/// Liveness: the process answers.
#[utoipa::path(
    operation_id = "get_healthz",
    tag = "system",
    security(()),
    responses((status = 200, description = "The process is alive", body = Health))
)]
#[get("/healthz")]
pub async fn get_healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        database: None,
        cache: None,
    })
}

/// Readiness: the database and the cache answer.
#[utoipa::path(
    operation_id = "get_readyz",
    tag = "system",
    security(()),
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "A dependency is down; the detail says which",
         body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn get_readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = state.db(|conn| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1")
            .map_err(crate::store::StoreError::from)
    });
    match tokio::time::timeout(Duration::from_secs(3), db).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) | Err(_) => {
            return Err(ApiError::Unavailable {
                detail: "the database is not reachable".into(),
                retry_after_secs: 5,
            });
        }
    }
    match tokio::time::timeout(Duration::from_secs(3), state.cache.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) | Err(_) => {
            return Err(ApiError::Unavailable {
                detail: "the cache is not reachable".into(),
                retry_after_secs: 5,
            });
        }
    }
    let database = match state.settings.database() {
        Ok(u) => Some(u.backend()),
        Err(_) => None,
    };
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        database,
        cache: Some(state.cache.backend_name()),
    }))
}

/// The caller's identity: unit code, party, level, role.
#[utoipa::path(
    operation_id = "get_whoami",
    tag = "system",
    description = "Roles: unit, integrator, analyst, operator.",
    security(("mtls" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Who you are", body = Identity),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Credentials not accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/whoami")]
pub async fn get_whoami(caller: Caller) -> Result<web::Json<Identity>, ApiError> {
    let id = caller.require(&[Role::Unit, Role::Integrator, Role::Analyst, Role::Operator])?;
    Ok(web::Json(id.clone()))
}
