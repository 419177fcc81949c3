//! Jurisdiction conflicts (管辖冲突): the same act penalized by several authorities. The record
//! filed first keeps jurisdiction; units involved (and their provincial leads) see the conflict
//! and record how they settled it.
//!
//! Roles: units see the conflicts with a record of theirs (their own unit or one below it, or
//! their whole party for a lead) and resolve them; analysts and operators read all.

use super::auth::{Caller, Identity};
use super::params::Params;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::domain::party::Role;
use crate::domain::registry::Registry;
use crate::service::conflicts::{self, Resolution, Role as ConflictRole};
use crate::store::conflicts::ConflictRow;
use crate::store::{self, StoreError};
use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One record of a conflict.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConflictRecord {
    /// Record id.
    pub record_id: String,
    /// Deciding authority.
    pub authority_code: String,
    /// Its party.
    pub party: String,
    /// `winner` (keeps jurisdiction), `loser` (never counted) or `stands` (both count).
    pub role: ConflictRole,
    /// Normalized decision number.
    pub decision_no: String,
    /// 立案日期, when given.
    #[schema(value_type = Option<String>, format = Date)]
    pub filed_date: Option<chrono::NaiveDate>,
    /// 处罚决定日期.
    #[schema(value_type = String, format = Date)]
    pub decision_date: chrono::NaiveDate,
    /// Violation type as given.
    pub violation_type: String,
    /// Fine in fen.
    pub fine_fen: Option<i64>,
    /// The record's status (`active`, `revoked`).
    pub status: String,
}

/// A jurisdiction conflict with its records.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConflictView {
    /// `cfl_…`.
    pub id: String,
    /// The subject (always strongly identified).
    pub subject_id: String,
    /// The violation type compared: a catalogue code, or `text:` and the folded type.
    pub violation_key: String,
    /// The catalogue's name of the type, when mapped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violation_name: Option<String>,
    /// `open`, `resolved`, or `void` (no longer a conflict: a side was revoked or corrected).
    pub status: String,
    /// The record filed first (谁先予立案,谁负责处理).
    pub winner_record_id: String,
    /// How the units settled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Their note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution_note: Option<String>,
    /// Who resolved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    /// When (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The records, winner first.
    pub records: Vec<ConflictRecord>,
    /// The case transfer that settled it (resolution `transferred`), when one was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<String>,
    /// First detected (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed (UTC).
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A page of conflicts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConflictPage {
    /// Conflicts by id.
    pub items: Vec<ConflictView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// Which conflicts to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Waiting for the units (default).
    #[default]
    Open,
    /// Settled by the units.
    Resolved,
    /// Dissolved: a side was revoked or corrected away.
    Void,
    /// Every status.
    All,
}

/// Query of `GET /v1/conflicts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConflictQuery {
    /// `open` (default), `resolved`, `void` or `all`.
    #[param(value_type = Option<StatusFilter>, example = "open")]
    pub status: Option<StatusFilter>,
    /// Cursor: the `next_after` of the previous page.
    #[param(example = "cfl_0a1b2c3d4e5f60718293")]
    pub after: Option<String>,
    /// Page size, 1–500 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, example = 100)]
    pub limit: Option<String>,
}

/// How the units settled a conflict.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// `transferred` (案件移送: the later unit handed the case to the first; its record stays
    /// uncounted), `both_stand` (two acts after all: both count) or `merged` (one penalty:
    /// the later record stays uncounted).
    pub resolution: Resolution,
    /// Free text: the units' agreement, document numbers.
    pub note: Option<String>,
    /// With `transferred`: the case transfer (`col_…`, `POST /v1/collaboration/items`) by
    /// which one unit handed the case to the other; it must be a transfer between units of
    /// the conflict, not returned or refused. It is linked to the conflict both ways.
    pub transfer: Option<String>,
}

/// Whether a unit may see and settle a conflict: one of its records is the unit's own, or of a
/// unit below it, or of its party for a lead.
fn may_see(registry: &Registry, identity: &Identity, c: &ConflictRow) -> bool {
    match identity.role {
        Role::Analyst | Role::Operator => true,
        Role::Unit => identity
            .unit
            .as_ref()
            .is_some_and(|u| conflicts::involves(registry, u, c)),
        _ => false,
    }
}

fn view(
    conn: &mut store::Conn,
    catalog: &crate::normalize::Catalog,
    c: ConflictRow,
) -> Result<ConflictView, StoreError> {
    let mut records = Vec::new();
    for m in conflicts::members(&c) {
        let Some(r) = store::records::find(conn, &m.record_id)? else {
            continue;
        };
        let filed_date = serde_json::from_str::<serde_json::Value>(&r.canonical_json)
            .ok()
            .and_then(|d| d.get("filed_date")?.as_str()?.parse().ok());
        records.push(ConflictRecord {
            record_id: r.id,
            authority_code: r.authority_code,
            party: r.party,
            role: m.role,
            decision_no: r.decision_no,
            filed_date,
            decision_date: r.decision_date,
            violation_type: r.violation_type,
            fine_fen: r.fine_fen,
            status: r.status,
        });
    }
    records.sort_by_key(|r| (r.record_id != c.winner_record_id, r.record_id.clone()));
    let transfer_id = store::collab::transfer_of_conflict(conn, &c.id)?;
    Ok(ConflictView {
        transfer_id,
        violation_name: catalog.get(&c.violation_key).map(|t| t.name.clone()),
        id: c.id,
        subject_id: c.subject_id,
        violation_key: c.violation_key,
        status: c.status,
        winner_record_id: c.winner_record_id,
        resolution: c.resolution,
        resolution_note: c.resolution_note,
        resolved_by: c.resolved_by,
        resolved_at: c.resolved_at.map(|t| t.and_utc()),
        records,
        created_at: c.created_at.and_utc(),
        updated_at: c.updated_at.and_utc(),
    })
}

/// Open (or other) jurisdiction conflicts you may see.
#[utoipa::path(
    operation_id = "list_conflicts",
    tag = "conflicts",
    description = "Roles: unit (conflicts with a record of yours or below you; a lead: of its \
                   party), analyst, operator. Sorted by id; cursor pagination with `after`.",
    security(("mtls" = []), ("api_key" = [])),
    params(ConflictQuery),
    responses(
        (status = 200, description = "A page of conflicts", body = ConflictPage),
        (status = 400, description = "Malformed query string (an unknown parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameters: each named with the value seen and what was expected", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/conflicts")]
pub async fn list_conflicts(
    query: web::Query<ConflictQuery>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<ConflictPage>, ApiError> {
    let identity = caller
        .require(&[Role::Unit, Role::Analyst, Role::Operator])?
        .clone();
    let q = query.into_inner();
    let mut params = Params::new();
    let limit = params.limit(q.limit.as_deref(), 100, 500) as usize;
    let after = params.id_after(q.after.as_deref(), "a conflict id (`cfl_…`)");
    params.finish()?;
    let status = match q.status.unwrap_or_default() {
        StatusFilter::Open => Some("open"),
        StatusFilter::Resolved => Some("resolved"),
        StatusFilter::Void => Some("void"),
        StatusFilter::All => None,
    };
    let registry = state.registry();
    let catalog = state.policy.catalog.clone();
    let page = state
        .db(move |c| -> Result<ConflictPage, StoreError> {
            let mut items = Vec::new();
            let mut after = after;
            let mut more = false;
            'scan: loop {
                let rows = store::conflicts::list(c, status, after.as_deref(), 200)?;
                let exhausted = rows.len() < 200;
                for row in rows {
                    after = Some(row.id.clone());
                    if !may_see(&registry, &identity, &row) {
                        continue;
                    }
                    if items.len() == limit {
                        more = true;
                        break 'scan;
                    }
                    items.push(view(c, &catalog, row)?);
                }
                if exhausted {
                    break;
                }
            }
            let next_after = if more {
                items.last().map(|v: &ConflictView| v.id.clone())
            } else {
                None
            };
            Ok(ConflictPage { items, next_after })
        })
        .await?;
    Ok(web::Json(page))
}

/// One jurisdiction conflict with its records.
#[utoipa::path(
    operation_id = "get_conflict",
    tag = "conflicts",
    description = "Roles: unit (involved, or its lead), analyst, operator. A conflict you may \
                   not see answers 404, like one that does not exist.",
    security(("mtls" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Conflict id (`cfl_…`)")),
    responses(
        (status = 200, description = "The conflict", body = ConflictView),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conflict, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/conflicts/{id}")]
pub async fn get_conflict(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<ConflictView>, ApiError> {
    let identity = caller
        .require(&[Role::Unit, Role::Analyst, Role::Operator])?
        .clone();
    let id = path.into_inner();
    let registry = state.registry();
    let catalog = state.policy.catalog.clone();
    let found = state
        .db(move |c| -> Result<Option<ConflictView>, StoreError> {
            match store::conflicts::find(c, &id)? {
                Some(row) if may_see(&registry, &identity, &row) => {
                    Ok(Some(view(c, &catalog, row)?))
                }
                _ => Ok(None),
            }
        })
        .await?;
    found.map(web::Json).ok_or(ApiError::NotFound)
}

/// Record how the units settled a conflict.
#[utoipa::path(
    operation_id = "resolve_conflict",
    tag = "conflicts",
    description = "Roles: unit — one whose own record (or a record of a unit below it) is in \
                   the conflict, or the provincial lead of such a unit. Only open conflicts \
                   can be resolved. `both_stand` makes both records count; `transferred` and \
                   `merged` keep the later-filed record uncounted. Audited.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Conflict id (`cfl_…`)")),
    request_body(content = ResolveRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The resolved conflict", body = ConflictView),
        (status = 400, description = "Malformed JSON or unknown resolution", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conflict, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The conflict is not open", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The note holds control characters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/conflicts/{id}/resolve")]
pub async fn resolve_conflict(
    path: web::Path<String>,
    caller: Caller,
    body: web::Json<ResolveRequest>,
    state: web::Data<AppState>,
) -> Result<web::Json<ConflictView>, ApiError> {
    let (identity, unit) = caller.require_unit()?;
    let (identity, unit) = (identity.clone(), unit.clone());
    let ResolveRequest {
        resolution,
        note,
        transfer,
    } = body.into_inner();
    let id = path.into_inner();
    let registry = state.registry();
    let catalog = state.policy.catalog.clone();
    let policy = state.policy.clone();
    let emitter = state.emitter();
    let today = state.clock.today();
    let actor = identity.actor();
    let done = state
        .call(move |c| {
            let by = conflicts::Resolver {
                unit: &unit,
                actor: &actor,
            };
            let policy = policy.on(today);
            conflicts::resolve_as(
                c,
                &registry,
                &policy,
                &emitter,
                &by,
                &id,
                (resolution, note.as_deref(), transfer.as_deref()),
            )
        })
        .await?;
    let view = state.db(move |c| view(c, &catalog, done)).await?;
    Ok(web::Json(view))
}
