//! The HTTP API: actix-web routes per resource, the auth extractor, problem+json errors and the
//! OpenAPI document. The only part of penex that knows HTTP.
//!
//! Every route is registered through utoipa-actix-web, so none can escape the spec; the
//! contract tests compare the served spec with `openapi/openapi.json`.

pub mod auth;
pub mod catalog;
pub mod collab;
pub mod conflicts;
pub mod dashboard;
pub mod events;
pub mod exemptions;
pub mod flags;
pub mod metrics;
pub mod params;
pub mod problem;
pub mod queries;
pub mod records;
pub mod state;
pub mod stats;
pub mod subjects;
pub mod system;
pub mod workbench;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{App, HttpRequest, HttpResponse, web};
use problem::{ApiError, ProblemCode, REQUEST_ID};
use state::AppState;
use std::sync::Arc;
use tracing::Instrument;
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

/// The static part of the OpenAPI document; paths come from the registered routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "penex — Yangtze River Delta penalty exchange",
        description = "Member units push administrative penalty records (双公示); penex \
                       normalizes, deduplicates, evaluates joint-discipline rules and publishes \
                       signed flag events. Authentication: mutual TLS with a client certificate \
                       issued for your unit or role; analysts may use a bearer API key. Errors \
                       are RFC 9457 problem+json.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&SecuritySchemes),
    components(schemas(
        problem::Problem,
        problem::ProblemFieldError,
        conflicts::StatusFilter,
        crate::rules::flags::FlagStatus,
        crate::rules::Severity,
        queries::PartyCode,
        queries::RecordStatusFilter,
        queries::RecordSort,
        crate::domain::record::PenaltyCategory,
        stats::Metric,
        stats::SeriesBy,
        stats::Interval,
    )),
    tags(
        (name = "system", description = "Health and identity"),
        (name = "records", description = "Penalty records: push, validate, read, list, revoke"),
        (name = "subjects", description = "Who a subject is, across the four parties"),
        (name = "events", description = "Signed events for the credit platform: the feed, \
                                          the public keys, the delivery outbox"),
        (name = "first-violations", description = "First violations (首违不罚): exemptions and the region-wide check"),
        (name = "flags", description = "Joint-discipline flags and credit repair"),
        (name = "conflicts", description = "Jurisdiction conflicts: one act, several authorities; the first to file keeps it"),
        (name = "collaboration", description = "Case collaboration (案件查处协作): clue notices, case transfers, assistance requests, entrusted service; the units' own signed feed and the leads' 备案 register"),
        (name = "statistics", description = "Figures for the agreement's evaluation (成效评估): volumes, cross-region flows, data quality, delivery health"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "mtls",
            SecurityScheme::MutualTls {
                description: Some(
                    "A client certificate issued by your party's CA (units) or by the \
                     exchange CA (integrators, analysts, operators)."
                        .into(),
                ),
                deprecated: None,
                extensions: None,
            },
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Analyst API key (`penex apikey create`)."))
                    .build(),
            ),
        );
    }
}

/// Registers every API route.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(system::get_healthz)
        .service(system::get_readyz)
        .service(system::get_whoami)
        .service(records::push_records)
        .service(records::validate_records)
        .service(queries::list_records)
        .service(catalog::get_catalog)
        .service(records::get_record)
        .service(records::revoke_record)
        .service(queries::search_subjects)
        .service(subjects::get_subject)
        .service(subjects::unlink_subject)
        .service(conflicts::list_conflicts)
        .service(conflicts::get_conflict)
        .service(conflicts::resolve_conflict)
        .service(flags::list_flags)
        .service(flags::get_flag)
        .service(flags::repair_record)
        .service(flags::repair_flag)
        .service(exemptions::report_exemption)
        .service(exemptions::first_violation)
        .service(events::list_events)
        .service(events::get_jwks)
        .service(events::list_outbox)
        .service(events::retry_outbox)
        .service(stats::get_stats_overview)
        .service(stats::get_stats_timeseries)
        .service(stats::get_stats_cross_region)
        .service(stats::get_stats_quality)
        .service(stats::get_stats_delivery)
        .service(metrics::get_metrics)
        .service(dashboard::get_dashboard)
        .service(collab::create_item)
        .service(collab::list_items)
        .service(collab::get_item)
        .service(collab::take_step)
        .service(collab::add_attachment)
        .service(collab::get_attachment)
        .service(collab::list_notices)
        .service(collab::list_events)
        .service(collab::list_filings)
        .service(collab::get_stats)
        .service(workbench::get_workbench)
        .service(workbench::get_workbench_item)
        .service(workbench::post_workbench_step)
        .service(workbench::post_workbench_attachment)
        .service(workbench::get_workbench_filings);
}

/// The OpenAPI document generated from the registered routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    api
}

/// The OpenAPI document as the pretty JSON committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    let mut s = openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}

/// Path templates of the spec with their methods, for 404-versus-405 answers.
#[derive(Debug, Default)]
pub struct RouteTable(Vec<(Vec<String>, Vec<String>)>);

impl RouteTable {
    /// Builds the table from a spec.
    pub fn from_spec(api: &utoipa::openapi::OpenApi) -> Self {
        let value = serde_json::to_value(&api.paths).unwrap_or_default();
        let mut table = Vec::new();
        if let Some(paths) = value
            .get("paths")
            .and_then(|p| p.as_object())
            .or(value.as_object())
        {
            for (path, item) in paths {
                let methods = item
                    .as_object()
                    .map(|m| {
                        m.keys()
                            .filter(|k| {
                                matches!(
                                    k.as_str(),
                                    "get"
                                        | "put"
                                        | "post"
                                        | "delete"
                                        | "patch"
                                        | "head"
                                        | "options"
                                )
                            })
                            .map(|k| k.to_ascii_uppercase())
                            .collect()
                    })
                    .unwrap_or_default();
                table.push((path.split('/').map(str::to_owned).collect(), methods));
            }
        }
        RouteTable(table)
    }

    /// Methods allowed on a concrete path, if the path is in the spec.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let segs: Vec<&str> = path.split('/').collect();
        self.0.iter().find_map(|(tpl, methods)| {
            let matches = tpl.len() == segs.len()
                && tpl
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            matches.then(|| methods.clone())
        })
    }
}

async fn not_found_or_not_allowed(
    req: HttpRequest,
    table: web::Data<Arc<RouteTable>>,
) -> Result<HttpResponse, ApiError> {
    match table.allowed(req.path()) {
        Some(allow) if !allow.is_empty() => Err(ApiError::MethodNotAllowed { allow }),
        _ => Err(ApiError::NotFound),
    }
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    // The id only correlates logs; a failed RNG read falls back to the clock.
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).is_err() {
        bytes = chrono::Utc::now()
            .timestamp_nanos_opt()
            .unwrap_or_default()
            .to_be_bytes();
    }
    hex::encode(bytes)
}

/// Gives each request an id (kept from a well-formed `X-Request-Id`), a tracing span and a log
/// line, and echoes the id in the response.
async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.metrics.clone());
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = %route,
        caller = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    let mut res = REQUEST_ID
        .scope(id.clone(), next.call(req).instrument(span.clone()))
        .await?;
    let status = res.status().as_u16();
    if let Some(m) = metrics {
        m.observe_request(&method, &route, status, started.elapsed().as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(
            status,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request done"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}

/// The most header fields a request may carry. actix-http refuses more on HTTP/1.1 itself (its
/// parser holds 96); HTTP/2 header blocks are only bounded by the h2 crate's 16 MiB, so the same
/// limit is applied here to both.
pub const MAX_HEADER_FIELDS: usize = 96;
/// The most bytes a request's target and header fields may take together (`name: value` plus
/// line ends, as on HTTP/1.1): actix-http's HTTP/1.1 request-head buffer, applied to HTTP/2 too.
pub const MAX_HEAD_BYTES: usize = 128 * 1024;

/// The content codings a JSON body may arrive in: those actix decodes (`identity` is none).
const JSON_CODINGS: [&str; 4] = ["identity", "gzip", "deflate", "br"];

/// What every request must satisfy before any route sees it: a bounded head (431 beyond), and
/// for a JSON body, UTF-8 (RFC 8259 §8.1: a declared `charset` other than UTF-8 is 415, never
/// read as UTF-8) in a content coding penex decodes (415 otherwise: a body labelled with a
/// coding nobody decodes would be read as if it had none).
pub fn check_request_head(req: &HttpRequest) -> Result<(), ApiError> {
    let headers = req.headers();
    let fields = headers.len();
    // The target's length without formatting it (this runs on every request).
    let uri = req.uri();
    let target = uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    let bytes = target
        + headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>();
    if fields > MAX_HEADER_FIELDS || bytes > MAX_HEAD_BYTES {
        return Err(ApiError::new(
            ProblemCode::HeadersTooLarge,
            format!(
                "{fields} header fields and {bytes} bytes of target and headers; at most \
                 {MAX_HEADER_FIELDS} fields and {MAX_HEAD_BYTES} bytes are accepted"
            ),
        ));
    }
    let Some(ct) = headers.get(actix_web::http::header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = String::from_utf8_lossy(ct.as_bytes()).to_ascii_lowercase();
    let mut params = ct.split(';');
    let mime = params.next().unwrap_or_default().trim();
    let json = mime
        .split_once('/')
        .is_some_and(|(_, sub)| sub == "json" || sub.ends_with("+json"));
    if !json {
        return Ok(());
    }
    for param in params {
        if let Some((name, value)) = param.split_once('=')
            && name.trim() == "charset"
        {
            let charset = value.trim().trim_matches('"');
            if charset != "utf-8" && charset != "utf8" {
                return Err(ApiError::UnsupportedMediaType {
                    detail: format!(
                        "JSON is read as UTF-8 (RFC 8259); charset {charset:?} is not accepted"
                    ),
                });
            }
        }
    }
    if let Some(coding) = headers.get(actix_web::http::header::CONTENT_ENCODING) {
        let coding = String::from_utf8_lossy(coding.as_bytes())
            .trim()
            .to_ascii_lowercase();
        if !JSON_CODINGS.contains(&coding.as_str()) {
            return Err(ApiError::UnsupportedMediaType {
                detail: format!(
                    "Content-Encoding {coding:?} is not supported; send {}",
                    JSON_CODINGS.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// Answers a request that fails [`check_request_head`] with its problem.
async fn request_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Err(e) = check_request_head(req.request()) {
        let res = actix_web::ResponseError::error_response(&e);
        return Ok(req.into_response(res).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Builds the application for one worker.
pub fn build_app(
    state: AppState,
) -> App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let limit = state.settings.limits.max_body_bytes;
    let (app, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    let table = Arc::new(RouteTable::from_spec(&api));
    app.app_data(web::Data::new(state))
        .app_data(web::Data::new(table))
        .app_data(
            web::JsonConfig::default()
                .limit(limit)
                .error_handler(|e, _| problem::json_error(e).into()),
        )
        .app_data(web::PayloadConfig::new(limit))
        .app_data(
            web::FormConfig::default()
                .limit(limit)
                .error_handler(|e, _| problem::form_error(e).into()),
        )
        .app_data(web::QueryConfig::default().error_handler(|e, _| problem::query_error(e).into()))
        .app_data(web::PathConfig::default().error_handler(|e, _| problem::path_error(e).into()))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api))
        .service(web::redirect("/docs", "/docs/"))
        .default_service(web::to(not_found_or_not_allowed))
        .wrap(actix_web::middleware::from_fn(request_guard))
        .wrap(actix_web::middleware::from_fn(request_context))
}
