//! Joint-discipline flags and credit repair (信用修复).
//!
//! Roles: units, analysts, operators and integrators read flags (natural persons' names
//! masked); units repair records they have rights over, after the minimum publicity period.

use super::auth::Caller;
use super::params::Params;
use super::problem::{ApiError, Problem, ProblemCode};
use super::state::AppState;
use crate::domain::mask::mask_name;
use crate::domain::party::Role;
use crate::domain::unit::UnitCode;
use crate::rules::Severity;
use crate::rules::flags::FlagStatus;
use crate::store::flags::{FlagFilter, FlagRow};
use crate::store::{self, StoreError};
use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A record a flag rests on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BasisRecord {
    /// Record id.
    pub record_id: String,
    /// Deciding authority.
    pub authority_code: String,
    /// Its party.
    pub party: String,
    /// 处罚决定日期.
    #[schema(value_type = String, format = Date)]
    pub decision_date: chrono::NaiveDate,
    /// Violation type as given.
    pub violation_type: String,
    /// Fine in fen.
    pub fine_fen: Option<i64>,
}

/// One version of a flag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagVersion {
    /// Version, from 1.
    pub version: i64,
    /// Status then.
    pub status: FlagStatus,
    /// Basis record ids then.
    pub basis: Vec<String>,
    /// Start.
    #[schema(value_type = String, format = Date)]
    pub effective_from: chrono::NaiveDate,
    /// End (exclusive).
    #[schema(value_type = String, format = Date)]
    pub effective_until: chrono::NaiveDate,
    /// What changed it: push, revoke, conflict, repair, sweep.
    pub cause: String,
    /// When (UTC).
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A joint-discipline flag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagView {
    /// `flg_…`, one per subject and rule.
    pub id: String,
    /// The subject (always strongly identified).
    pub subject_id: String,
    /// Its name (natural persons masked).
    pub subject_name: String,
    /// legal_person, natural_person or individual_business.
    pub subject_kind: String,
    /// The rule.
    pub rule_id: String,
    /// Its title.
    pub title_zh: String,
    /// Its English title.
    pub title_en: String,
    /// `focus` (重点关注) or `discipline` (联合惩戒).
    pub severity: Severity,
    /// The measures.
    pub measures: Vec<String>,
    /// `active`, `expired`, `repaired` or `withdrawn`.
    pub status: FlagStatus,
    /// Start.
    #[schema(value_type = String, format = Date)]
    pub effective_from: chrono::NaiveDate,
    /// End (exclusive).
    #[schema(value_type = String, format = Date)]
    pub effective_until: chrono::NaiveDate,
    /// Version, from 1.
    pub version: i64,
    /// The records it rests on.
    pub basis: Vec<BasisRecord>,
    /// Every version, oldest first (single-flag reads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<FlagVersion>>,
}

/// A page of flags.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagPage {
    /// Flags by id.
    pub items: Vec<FlagView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// Filters of `GET /v1/flags`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FlagQuery {
    /// `active`, `expired`, `repaired` or `withdrawn`.
    #[param(value_type = Option<FlagStatus>, example = "active")]
    pub status: Option<FlagStatus>,
    /// `focus` or `discipline`.
    #[param(value_type = Option<Severity>, example = "discipline")]
    pub severity: Option<Severity>,
    /// Rule id.
    #[param(example = "cross_region_repeat")]
    pub rule: Option<String>,
    /// A party among the basis records' (SH, JS, ZJ, AH).
    #[param(example = "SH")]
    pub party: Option<String>,
    /// The subject: its id (`sub_…`), unified social credit code or organization code.
    #[param(example = "91310106MA1FL0A01X")]
    pub subject: Option<String>,
    /// Cursor: the `next_after` of the previous page.
    #[param(example = "flg_0a1b2c3d4e5f60718293")]
    pub after: Option<String>,
    /// Page size, 1–500 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, example = 100)]
    pub limit: Option<String>,
}

fn view(
    conn: &mut store::Conn,
    state_rules: &crate::rules::RuleSet,
    f: FlagRow,
    with_history: bool,
) -> Result<FlagView, StoreError> {
    let rule = state_rules.get(&f.rule_id);
    let subject = store::subjects::find(conn, &f.subject_id)?;
    let (name, kind) = subject
        .map(|s| {
            let name = if s.kind == "natural_person" {
                mask_name(&s.name)
            } else {
                s.name
            };
            (name, s.kind)
        })
        .unwrap_or_default();
    let ids: Vec<String> = serde_json::from_str(&f.basis_json).unwrap_or_default();
    let mut basis = Vec::new();
    for id in &ids {
        if let Some(r) = store::records::find(conn, id)? {
            basis.push(BasisRecord {
                record_id: r.id,
                authority_code: r.authority_code,
                party: r.party,
                decision_date: r.decision_date,
                violation_type: r.violation_type,
                fine_fen: r.fine_fen,
            });
        }
    }
    let history = if with_history {
        Some(
            store::flags::versions(conn, &f.id)?
                .into_iter()
                .map(|v| FlagVersion {
                    version: v.version,
                    status: FlagStatus::parse(&v.status).unwrap_or(FlagStatus::Withdrawn),
                    basis: serde_json::from_str(&v.basis_json).unwrap_or_default(),
                    effective_from: v.effective_from,
                    effective_until: v.effective_until,
                    cause: v.cause,
                    at: v.at.and_utc(),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(FlagView {
        title_zh: rule.map(|r| r.title_zh.clone()).unwrap_or_default(),
        title_en: rule.map(|r| r.title_en.clone()).unwrap_or_default(),
        measures: rule.map(|r| r.measures.clone()).unwrap_or_default(),
        severity: if f.severity == "discipline" {
            Severity::Discipline
        } else {
            Severity::Focus
        },
        status: FlagStatus::parse(&f.status).unwrap_or(FlagStatus::Withdrawn),
        id: f.id,
        subject_id: f.subject_id,
        subject_name: name,
        subject_kind: kind,
        rule_id: f.rule_id,
        effective_from: f.effective_from,
        effective_until: f.effective_until,
        version: f.version,
        basis,
        history,
    })
}

const READERS: [Role; 4] = [Role::Unit, Role::Analyst, Role::Operator, Role::Integrator];

/// Flags, filtered.
#[utoipa::path(
    operation_id = "list_flags",
    tag = "flags",
    description = "Roles: unit, analyst, operator, integrator. Sorted by id; cursor pagination \
                   with `after`. Natural persons' names are masked.",
    security(("mtls" = []), ("api_key" = [])),
    params(FlagQuery),
    responses(
        (status = 200, description = "A page of flags", body = FlagPage),
        (status = 400, description = "Malformed query string (an unknown parameter), or a subject key of no known form", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameters: each named with the value seen and what was expected", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/flags")]
pub async fn list_flags(
    query: web::Query<FlagQuery>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<FlagPage>, ApiError> {
    caller.require(&READERS)?;
    let q = query.into_inner();
    let mut params = Params::new();
    let limit = i64::from(params.limit(q.limit.as_deref(), 100, 500));
    let after = params.id_after(q.after.as_deref(), "a flag id (`flg_…`)");
    let party = params
        .parse(
            "party",
            q.party.as_deref(),
            "invalid_party",
            "SH, JS, ZJ or AH",
            |s| s.parse::<crate::domain::party::Party>().ok(),
        )
        .map(|p| p.code().to_owned());
    params.finish()?;
    let subject_key = match q.subject.as_deref() {
        None => None,
        Some(k) => Some(super::subjects::SubjectKey::parse(k).ok_or_else(|| {
            ApiError::new(
                ProblemCode::InvalidSubjectKey,
                format!(
                    "subject {:?}: expected {}",
                    crate::normalize::issue::excerpt(k),
                    super::subjects::SubjectKey::EXPECTED
                ),
            )
        })?),
    };
    let mut filter = FlagFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        severity: q.severity.map(|s| s.as_str().to_owned()),
        rule: q.rule,
        party,
        subject: None,
    };
    let rules = state.policy.rules.clone();
    let page = state
        .db(move |c| -> Result<FlagPage, StoreError> {
            if let Some(k) = &subject_key {
                // A code no subject owns names no flags; an id is compared as given.
                filter.subject = Some(match k {
                    super::subjects::SubjectKey::Id(id) => id.clone(),
                    other => match other.find(c)? {
                        Some(row) => row.id,
                        None => {
                            return Ok(FlagPage {
                                items: Vec::new(),
                                next_after: None,
                            });
                        }
                    },
                });
            }
            let rows = store::flags::list(c, &filter, after.as_deref(), limit + 1)?;
            let more = rows.len() as i64 > limit;
            let mut items = Vec::new();
            for f in rows.into_iter().take(limit as usize) {
                items.push(view(c, &rules, f, false)?);
            }
            let next_after = more.then(|| items.last().map(|v| v.id.clone())).flatten();
            Ok(FlagPage { items, next_after })
        })
        .await?;
    Ok(web::Json(page))
}

/// One flag with its basis and history.
#[utoipa::path(
    operation_id = "get_flag",
    tag = "flags",
    description = "Roles: unit, analyst, operator, integrator.",
    security(("mtls" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Flag id (`flg_…`)")),
    responses(
        (status = 200, description = "The flag", body = FlagView),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such flag", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/flags/{id}")]
pub async fn get_flag(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<FlagView>, ApiError> {
    caller.require(&READERS)?;
    let id = path.into_inner();
    let rules = state.policy.rules.clone();
    let found = state
        .db(move |c| match store::flags::find(c, &id)? {
            Some(f) => Ok(Some(view(c, &rules, f, true)?)),
            None => Ok(None),
        })
        .await?;
    found.map(web::Json).ok_or(ApiError::NotFound)
}

/// What credit repair did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RepairOutcome {
    /// The records whose publicity ended.
    pub repaired_records: Vec<String>,
    /// Flags that changed as a result, after the change.
    pub flags: Vec<FlagView>,
}

/// Repairs `target` (all or none) and shows the flags that changed.
async fn repair(
    state: &AppState,
    unit: UnitCode,
    actor: String,
    target: crate::service::repair::Target,
) -> Result<RepairOutcome, ApiError> {
    let registry = state.registry();
    let policy = state.policy.clone();
    let emitter = state.emitter();
    let today = state.clock.today();
    let done = state
        .call(move |c| {
            let by = crate::service::repair::Repairer {
                unit: &unit,
                actor: &actor,
                today,
            };
            crate::service::repair::repair(c, &registry, &policy, &emitter, &by, &target)
        })
        .await?;
    let rules = state.policy.rules.clone();
    let flags = state
        .db(move |c| {
            done.flags
                .into_iter()
                .map(|f| view(c, &rules, f, false))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(RepairOutcome {
        repaired_records: done.records,
        flags,
    })
}

fn repairing_unit(caller: &Caller) -> Result<(UnitCode, String), ApiError> {
    let (id, unit) = caller.require_unit()?;
    Ok((unit.clone(), id.actor()))
}

/// Credit repair of one record: its publicity ends today.
#[utoipa::path(
    operation_id = "repair_record",
    tag = "flags",
    description = "Roles: unit — the deciding unit, a unit above it, or its provincial lead. \
                   Possible once the minimum publicity period has passed (NDRC Order 2023 \
                   No. 58); before that 409 says from when. The record stops counting; its \
                   subject's flags are re-evaluated (a flag it supported becomes `repaired`). \
                   Audited.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Record id (`rec_…`)")),
    responses(
        (status = 200, description = "Repaired", body = RepairOutcome),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too early, revoked, or repaired already", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/records/{id}/repair")]
pub async fn repair_record(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<RepairOutcome>, ApiError> {
    let (unit, actor) = repairing_unit(&caller)?;
    let id = path.into_inner();
    Ok(web::Json(
        repair(
            &state,
            unit,
            actor,
            crate::service::repair::Target::Records(vec![id]),
        )
        .await?,
    ))
}

/// Credit repair of a flag: every record it rests on is repaired.
#[utoipa::path(
    operation_id = "repair_flag",
    tag = "flags",
    description = "Roles: unit with rights over every record the flag rests on (a flag resting \
                   on records of several parties is repaired record by record by their units). \
                   All basis records must be past their minimum publicity period (else 409 with \
                   the dates). The flag becomes `repaired` unless other counted records still \
                   support it. Audited.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Flag id (`flg_…`)")),
    responses(
        (status = 200, description = "Repaired", body = RepairOutcome),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit, or basis records outside your rights", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such flag", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too early, or the flag is not active", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/flags/{id}/repair")]
pub async fn repair_flag(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<RepairOutcome>, ApiError> {
    let (unit, actor) = repairing_unit(&caller)?;
    let id = path.into_inner();
    Ok(web::Json(
        repair(
            &state,
            unit,
            actor,
            crate::service::repair::Target::Flag(id),
        )
        .await?,
    ))
}
