//! `GET /v1/catalog`: the violation-type catalogue in force (types with their groups, names,
//! aliases and provisions; the statutes cited), so that units, analysts and integrators read the
//! codes that records, flags, statistics and the first-violation check speak of.

use super::auth::Caller;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::domain::party::Role;
use crate::normalize::violation::ViolationType;
use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

/// A statute the catalogue cites.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatuteView {
    /// Stable id.
    pub id: String,
    /// Full name.
    pub name: String,
    /// `national`, or the party whose local law it is.
    pub scope: String,
    /// Short names units write.
    pub aliases: Vec<String>,
    /// The text the articles were taken from.
    pub source: String,
}

/// The catalogue in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogView {
    /// Every type, in the catalogue's order.
    pub types: Vec<ViolationType>,
    /// The statutes the provisions cite.
    pub statutes: Vec<StatuteView>,
}

/// The violation-type catalogue in force.
#[utoipa::path(
    operation_id = "get_catalog",
    tag = "records",
    description = "Roles: unit, integrator, analyst, operator. The codes and groups here are \
                   what `classification` on records, the rules' violation groups, the \
                   statistics by type and the first-violation check use. Records are placed by \
                   their 处罚依据 first, then the party's mapping of the exact text, a name or \
                   alias, then the longest keyword (docs/CATALOG.md).",
    security(("mtls" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The catalogue", body = CatalogView),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/catalog")]
pub async fn get_catalog(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<CatalogView>, ApiError> {
    caller.require(&[Role::Unit, Role::Integrator, Role::Analyst, Role::Operator])?;
    let catalog = &state.policy.catalog;
    Ok(web::Json(CatalogView {
        types: catalog.types().to_vec(),
        statutes: catalog
            .statutes()
            .iter()
            .map(|s| StatuteView {
                id: s.id.clone(),
                name: s.name.clone(),
                scope: s.scope.clone(),
                aliases: s.aliases.clone(),
                source: s.source.clone(),
            })
            .collect(),
    }))
}
