//! Statistics for the agreement's evaluation (成效评估): an overview, monthly time series,
//! cross-region subjects and flows, data quality per unit, delivery health.
//!
//! Roles: overview, time series and cross-region figures are aggregates without personal data,
//! for units, analysts and operators. Quality figures follow the records' rule: a unit sees the
//! units it may act for (itself and those below it; a provincial lead its whole party),
//! analysts and operators every unit; asking for another unit is 403. Delivery health is for
//! analysts and operators.
//!
//! The figures are computed in [`crate::service::stats`]; this module checks the caller and the
//! parameters, runs the computation on a pooled connection, and answers with its view types
//! (re-exported here for the dashboard and the OpenAPI document).

use super::auth::{Caller, Identity};
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::domain::party::Role;
use crate::domain::unit::UnitCode;
use crate::service::stats::{self as figures, parse_month};
use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

pub use crate::service::stats::{
    CatalogueCoverage, CrossRegion, CrossRegionSubject, Delivery, Flow, InstanceCounters, Interval,
    Latency, Metric, Outcomes, Overview, PartyOverview, Point, Quality, RecordCounts, Series,
    SeriesBy, SubjectCounts, Tally, Timeseries, UnitQuality, median, percentile,
};

fn problem_422(param: &str, code: &str, seen: &str, expected: &str) -> ApiError {
    super::params::Params::one(param, code, seen, expected)
}

const AGGREGATE_READERS: [Role; 3] = [Role::Unit, Role::Analyst, Role::Operator];

// ---------------------------------------------------------------------------------------------
// Overview

/// Records, subjects, flags, conflicts and exemptions, region-wide and per party.
#[utoipa::path(
    operation_id = "get_stats_overview",
    tag = "statistics",
    description = "Roles: unit, analyst, operator (aggregates only, no personal data). \
                   `active` records are not revoked and still public; `expired` ones are not \
                   revoked but past their publicity or repaired.",
    security(("mtls" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The overview", body = Overview),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/stats/overview")]
pub async fn get_stats_overview(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<Overview>, ApiError> {
    caller.require(&AGGREGATE_READERS)?;
    Ok(web::Json(overview(&state).await?))
}

/// The overview (also drawn by the dashboard).
pub async fn overview(state: &AppState) -> Result<Overview, ApiError> {
    let today = state.clock.today();
    state.db(move |c| figures::overview(c, today)).await
}

// ---------------------------------------------------------------------------------------------
// Time series

/// Query of `GET /v1/stats/timeseries`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimeseriesQuery {
    /// `records` (default), `flags` or `conflicts`.
    #[param(value_type = Option<Metric>, example = "records")]
    pub metric: Option<String>,
    /// `party` (default) or `violation_type`.
    #[param(value_type = Option<SeriesBy>, example = "party")]
    pub by: Option<String>,
    /// `month` (the only interval).
    #[param(value_type = Option<Interval>, example = "month")]
    pub interval: Option<String>,
    /// First month, inclusive (`YYYY-MM`).
    #[param(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-01")]
    pub from: Option<String>,
    /// Last month, inclusive (`YYYY-MM`).
    #[param(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-12")]
    pub to: Option<String>,
}

/// Records, flags or conflicts per month, split by party or violation type.
#[utoipa::path(
    operation_id = "get_stats_timeseries",
    tag = "statistics",
    description = "Roles: unit, analyst, operator (aggregates only). Records count by the month \
                   of their decision date, flags by the month they were raised, conflicts by \
                   the month they were detected (Asia/Shanghai). A flag or conflict spanning \
                   several parties or types counts once under each.",
    security(("mtls" = []), ("api_key" = [])),
    params(TimeseriesQuery),
    responses(
        (status = 200, description = "The series", body = Timeseries),
        (status = 400, description = "Malformed query string", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter has a bad value", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/stats/timeseries")]
pub async fn get_stats_timeseries(
    query: web::Query<TimeseriesQuery>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<Timeseries>, ApiError> {
    caller.require(&AGGREGATE_READERS)?;
    let q = query.into_inner();
    let metric = match q.metric.as_deref().unwrap_or("records") {
        "records" => Metric::Records,
        "flags" => Metric::Flags,
        "conflicts" => Metric::Conflicts,
        other => {
            return Err(problem_422(
                "metric",
                "invalid_metric",
                other,
                "records, flags or conflicts",
            ));
        }
    };
    let by = match q.by.as_deref().unwrap_or("party") {
        "party" => SeriesBy::Party,
        "violation_type" => SeriesBy::ViolationType,
        other => {
            return Err(problem_422(
                "by",
                "invalid_by",
                other,
                "party or violation_type",
            ));
        }
    };
    if let Some(i) = q.interval.as_deref().filter(|i| *i != "month") {
        return Err(problem_422("interval", "invalid_interval", i, "month"));
    }
    let mut bounds = [None, None];
    for (slot, (name, value)) in bounds
        .iter_mut()
        .zip([("from", q.from.as_deref()), ("to", q.to.as_deref())])
    {
        if let Some(v) = value {
            *slot = Some(
                parse_month(v)
                    .ok_or_else(|| problem_422(name, "invalid_month", v, "a month YYYY-MM"))?,
            );
        }
    }
    let [from, to] = bounds;
    if let (Some(f), Some(t)) = (&from, &to)
        && f > t
    {
        return Err(problem_422(
            "to",
            "empty_range",
            t,
            &format!("a month on or after from ({f})"),
        ));
    }
    Ok(web::Json(timeseries(&state, metric, by, from, to).await?))
}

/// A time series over the months `from`–`to` (`YYYY-MM`, inclusive, each optional).
pub async fn timeseries(
    state: &AppState,
    metric: Metric,
    by: SeriesBy,
    from: Option<String>,
    to: Option<String>,
) -> Result<Timeseries, ApiError> {
    let catalog = state.policy.catalog.clone();
    state
        .db(move |c| figures::timeseries(c, &catalog, metric, by, from.as_deref(), to.as_deref()))
        .await
}

// ---------------------------------------------------------------------------------------------
// Cross-region

/// Subjects penalized in two or more parties, and the flows between parties.
#[utoipa::path(
    operation_id = "get_stats_cross_region",
    tag = "statistics",
    description = "Roles: unit, analyst, operator (aggregates and subject ids only). Counts the \
                   records that count against their subject: not revoked and not the losing \
                   side of a jurisdiction conflict. A subject's home party comes from the \
                   division code in its USCC (characters 3–8) or resident ID (digits 1–6).",
    security(("mtls" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Cross-region figures", body = CrossRegion),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/stats/cross-region")]
pub async fn get_stats_cross_region(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<CrossRegion>, ApiError> {
    caller.require(&AGGREGATE_READERS)?;
    Ok(web::Json(cross_region(&state).await?))
}

/// Cross-region figures (also drawn by the dashboard).
pub async fn cross_region(state: &AppState) -> Result<CrossRegion, ApiError> {
    let pii = state.pii.clone();
    state.db(move |c| figures::cross_region(c, &pii)).await
}

// ---------------------------------------------------------------------------------------------
// Quality

/// Query of `GET /v1/stats/quality`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QualityQuery {
    /// One unit (code). Without it: every unit you may see that pushed anything.
    #[param(value_type = Option<String>, example = "SH-310106", max_length = 64)]
    pub unit: Option<String>,
}

/// Submissions, acceptance, rejection reasons, corrections and push delay per unit.
#[utoipa::path(
    operation_id = "get_stats_quality",
    tag = "statistics",
    description = "Roles: unit (itself and the units below it; a provincial lead its whole \
                   party), analyst and operator (every unit). Asking for a unit outside your \
                   rights is 403. Figures are per pushing unit. The push delay is measured \
                   from the decision date to the arrival of the item that created the record \
                   (Asia/Shanghai days).",
    security(("mtls" = []), ("api_key" = [])),
    params(QualityQuery),
    responses(
        (status = 200, description = "Quality per unit", body = Quality),
        (status = 400, description = "Malformed query string", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted, or a unit outside your rights", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown unit", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/stats/quality")]
pub async fn get_stats_quality(
    query: web::Query<QualityQuery>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<Quality>, ApiError> {
    let identity: Identity = caller.require(&AGGREGATE_READERS)?.clone();
    let registry = state.registry();
    let visible = super::queries::visible_authorities(&registry, &identity)?;
    let asked = match query.into_inner().unit {
        None => None,
        Some(u) => Some(
            UnitCode::parse(u.trim())
                .ok()
                .filter(|c| registry.get(c).is_some())
                .ok_or_else(|| {
                    problem_422(
                        "unit",
                        "unknown_unit",
                        &u,
                        "the code of a registered unit, e.g. SH-310106",
                    )
                })?
                .to_string(),
        ),
    };
    let units: Option<Vec<String>> = match (asked, visible) {
        (Some(u), Some(v)) if !v.contains(&u) => {
            return Err(ApiError::Forbidden {
                detail: format!(
                    "the quality figures of {u} are for that unit, the units above it and \
                     analysts"
                ),
            });
        }
        (Some(u), _) => Some(vec![u]),
        (None, v) => v,
    };
    Ok(web::Json(quality(&state, units).await?))
}

/// Quality of these units (every unit that pushed anything when `None`). The caller has
/// checked the rights.
pub async fn quality(state: &AppState, units: Option<Vec<String>>) -> Result<Quality, ApiError> {
    let registry = state.registry();
    state
        .db(move |c| figures::quality(c, &registry, units.as_deref()))
        .await
}

// ---------------------------------------------------------------------------------------------
// Delivery

/// Outbox backlog, delivery latency percentiles and dead letters.
#[utoipa::path(
    operation_id = "get_stats_delivery",
    tag = "statistics",
    description = "Roles: analyst, operator. Backlog and dead letters come from the shared \
                   outbox (all instances); latency is creation → acknowledgement of the most \
                   recent delivered events; counters are this instance's.",
    security(("mtls" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Delivery health", body = Delivery),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/stats/delivery")]
pub async fn get_stats_delivery(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<Delivery>, ApiError> {
    caller.require(&[Role::Analyst, Role::Operator])?;
    Ok(web::Json(delivery(&state).await?))
}

/// Delivery health (also drawn by the dashboard).
pub async fn delivery(state: &AppState) -> Result<Delivery, ApiError> {
    let metrics = state.publish_metrics.clone();
    state.db(move |c| figures::delivery(c, &metrics)).await
}
