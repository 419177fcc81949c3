//! Penalty records: push (one or a batch), validate, read with history, revoke.
//!
//! Roles: units push, validate and revoke within their rights (themselves and the units below
//! them; a provincial lead for its whole party); units, analysts and operators read. ID numbers
//! are shown in clear only to the deciding unit.

use super::auth::{Caller, Identity};
use super::problem::{ApiError, Problem, ProblemCode, ProblemFieldError};
use super::state::AppState;
use crate::domain::party::Role;
use crate::domain::unit::UnitCode;
use crate::normalize::{FieldIssue, NormalizeContext};
use crate::service::ingest::{self, BatchMeta, ItemOutcome, PrepareError};
use crate::service::revoke::{self, RevokeReason};
use crate::service::sealing::{Reveal, reveal};
use crate::store;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Reads a request body up to `limit` bytes (decoded: a gzip, deflate or br body is counted as
/// it inflates); 413 beyond, 415 unless JSON. The charset and content coding were checked by
/// [`super::check_request_head`].
pub async fn read_json_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<(web::Bytes, Value), ApiError> {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or_default().trim();
    if mime != "application/json" && !mime.ends_with("+json") {
        return Err(ApiError::UnsupportedMediaType {
            detail: format!("expected Content-Type: application/json, got {mime:?}"),
        });
    }
    let mut payload = actix_web::dev::Decompress::from_headers(payload.into_inner(), req.headers());
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(body_error)?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge {
                detail: format!("the body exceeds the limit of {limit} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ProblemCode::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    Ok((body, value))
}

/// The problem for a body that could not be read. actix's messages carry Rust debug output
/// (`Some(Custom { kind: InvalidInput, … })`): the cause goes to the log, the client gets what
/// it can act on.
fn body_error(e: actix_web::error::PayloadError) -> ApiError {
    use actix_web::error::PayloadError as P;
    tracing::info!(error = %e, "request body unreadable");
    let detail = match e {
        P::Overflow => {
            return ApiError::PayloadTooLarge {
                detail: "the body exceeds the limit".into(),
            };
        }
        P::Incomplete(_) | P::EncodingCorrupted => {
            "the body ended early or does not decode: a broken chunk, a body shorter than its \
             Content-Length, or data that is not in its Content-Encoding"
        }
        _ => "the body could not be read",
    };
    ApiError::new(ProblemCode::MalformedBody, detail)
}

/// The items of a push body and where each sits in it.
struct Items {
    items: Vec<Value>,
    /// `true` for `{"records": [...]}` or a top-level array, `false` for one bare record.
    batch: bool,
    /// Pointer of the array holding the items (`/records` or ``).
    base: &'static str,
}

fn split_items(body: Value, max: usize) -> Result<Items, ApiError> {
    let (items, batch, base) = match body {
        Value::Object(mut map) if map.contains_key("records") => match map.remove("records") {
            Some(Value::Array(items)) => (items, true, "/records"),
            Some(other) => {
                return Err(ApiError::with_errors(
                    ProblemCode::InvalidBody,
                    "`records` must be an array of records",
                    vec![ProblemFieldError {
                        pointer: "/records".into(),
                        code: "invalid_type".into(),
                        detail: format!(
                            "expected an array, got {}",
                            crate::normalize::record::json_kind(&other)
                        ),
                    }],
                ));
            }
            None => (Vec::new(), true, "/records"),
        },
        Value::Object(map) => (vec![Value::Object(map)], false, ""),
        Value::Array(items) => (items, true, ""),
        other => {
            return Err(ApiError::with_errors(
                ProblemCode::InvalidBody,
                "expected a record object, {\"records\": [...]} or an array",
                vec![ProblemFieldError {
                    pointer: String::new(),
                    code: "invalid_type".into(),
                    detail: format!(
                        "expected an object or an array, got {}",
                        crate::normalize::record::json_kind(&other)
                    ),
                }],
            ));
        }
    };
    if items.is_empty() {
        return Err(ApiError::with_errors(
            ProblemCode::EmptyBatch,
            "the batch holds no records",
            vec![ProblemFieldError {
                pointer: base.into(),
                code: "required".into(),
                detail: "expected at least one record".into(),
            }],
        ));
    }
    if items.len() > max {
        return Err(ApiError::PayloadTooLarge {
            detail: format!(
                "the batch holds {} records; at most {max} are accepted per request",
                items.len()
            ),
        });
    }
    Ok(Items { items, batch, base })
}

fn normalize_context(state: &AppState) -> NormalizeContext {
    NormalizeContext {
        today: state.clock.today(),
        publicity: state.settings.publicity.clone(),
        catalog: state.policy.catalog.clone(),
    }
}

/// One field error or warning of an item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemIssue {
    /// JSON Pointer into the submitted document.
    #[schema(example = "/records/0/CF_XDR_SHXYM")]
    pub pointer: String,
    /// Stable snake_case code.
    #[schema(example = "invalid_checksum")]
    pub code: String,
    /// The value seen and what was expected.
    pub detail: String,
}

impl From<FieldIssue> for ItemIssue {
    fn from(i: FieldIssue) -> Self {
        ItemIssue {
            pointer: i.pointer,
            code: i.code,
            detail: i.detail,
        }
    }
}

/// The answer for one item, in input order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemResult {
    /// Position in the submitted batch, from 0.
    pub index: usize,
    /// `accepted`, `duplicate`, `corrected`, `conflict` (a new record of an act another
    /// authority filed first: stored, linked, never counted) or `rejected`.
    #[schema(example = "accepted")]
    pub status: String,
    /// Stable id of the canonical record (all statuses but rejected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// The record's version after this item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Why the item was rejected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ItemIssue>,
    /// Warnings that did not stop the item.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ItemIssue>,
    /// The jurisdiction conflict the record is in after this item (winner or loser).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<crate::service::conflicts::Place>,
}

impl From<ItemOutcome> for ItemResult {
    fn from(o: ItemOutcome) -> Self {
        ItemResult {
            index: o.index,
            status: o.status.as_str().to_owned(),
            record_id: o.record_id,
            version: o.version,
            errors: o.errors.into_iter().map(Into::into).collect(),
            warnings: o.warnings.into_iter().map(Into::into).collect(),
            conflict: o.conflict,
        }
    }
}

/// Counts per outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Summary {
    /// New records.
    pub accepted: usize,
    /// Identical re-pushes.
    pub duplicate: usize,
    /// New versions of known records.
    pub corrected: usize,
    /// Items not stored as records.
    pub rejected: usize,
    /// New records that lost jurisdiction to an earlier filing.
    #[serde(default)]
    pub conflict: usize,
}

/// The answer to a push.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PushResponse {
    /// The request id; every submission of this batch is stored under it.
    pub batch_id: String,
    /// Counts per outcome.
    pub summary: Summary,
    /// One result per submitted item, in input order.
    pub items: Vec<ItemResult>,
}

fn summarize(items: &[ItemResult]) -> Summary {
    let mut s = Summary::default();
    for i in items {
        match i.status.as_str() {
            "accepted" => s.accepted += 1,
            "duplicate" => s.duplicate += 1,
            "corrected" => s.corrected += 1,
            "conflict" => s.conflict += 1,
            _ => s.rejected += 1,
        }
    }
    s
}

/// A batch of 双公示 records. Keys of each record may be our English names (nested or
/// dotted), the column codes (`CF_XDR_MC` …) or the Chinese item names, mixed.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"records": [{
    "CF_XDR_MC": "上海某某建筑工程有限公司",
    "CF_XDR_LB": "法人及非法人组织",
    "CF_XDR_SHXYM": "91310000MA1FL0XXXX",
    "CF_WSH": "沪静城管罚字〔2025〕第140001号",
    "CF_WFXW": "未经许可运输建筑垃圾",
    "CF_SY": "2025年3月4日，当事人未取得建筑垃圾运输许可擅自运输建筑垃圾。",
    "CF_YJ": "《上海市市容环境卫生管理条例》第四十六条",
    "CF_CFLB": "罚款",
    "CF_NR": "罚款人民币贰万元整",
    "CF_NR_FK": "2",
    "CF_JDRQ": "2025-03-20",
    "CF_YXQ": "2026-03-20",
    "CF_CFJG": "上海市静安区城市管理行政执法局",
    "CF_SJLY": "上海市静安区城市管理行政执法局",
    "filed_date": "2025-03-05",
    "place_division": "310106"
}]}))]
pub struct PushBatch {
    /// 1 to `limits.max_batch_items` (1,000 by default) records. An item that is not a record
    /// object is answered `rejected` like any invalid record; a single bare record object is
    /// accepted as the body too.
    #[schema(min_items = 1, max_items = 1000)]
    pub records: Vec<Value>,
}

const IDEMPOTENCY_HEADER: &str = "idempotency-key";

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x21..0x7f).contains(&b)))
        .ok_or(ApiError::new(
            ProblemCode::InvalidIdempotencyKey,
            "Idempotency-Key must be 1–255 visible ASCII characters",
        ))?;
    Ok(Some(key.to_owned()))
}

fn pushing_unit(caller: &Caller) -> Result<(&Identity, UnitCode), ApiError> {
    let (id, code) = caller.require_unit()?;
    Ok((id, code.clone()))
}

fn forbidden(indexes: &[usize], batch: bool, base: &str) -> ApiError {
    let at: Vec<String> = indexes
        .iter()
        .map(|i| {
            if batch {
                format!("{base}/{i}")
            } else {
                "the record".into()
            }
        })
        .collect();
    ApiError::Forbidden {
        detail: format!(
            "{} name(s) a deciding authority you may not act for (a unit acts for itself and \
             the units below it); nothing was stored",
            at.join(", ")
        ),
    }
}

/// Where item `i` of a body sits: `/records/3` or `/3` in a batch, the whole body for a single
/// record.
fn item_pointer(batch: bool, base: &str, i: usize) -> String {
    if batch {
        format!("{base}/{i}")
    } else {
        String::new()
    }
}

/// Normalizes, resolves and seals the items (`ingest::prepare`) on the blocking pool: a large
/// batch takes long enough to stall the worker's other connections (HTTP/2 pings time out).
/// `actor` is the pushing unit, whose rights are checked; `None` only validates.
async fn prepare_items(
    state: &AppState,
    items: Vec<Value>,
    batch: bool,
    base: &'static str,
    actor: Option<UnitCode>,
) -> Result<Result<Vec<ingest::PreparedItem>, PrepareError>, ApiError> {
    let ctx = normalize_context(state);
    let registry = state.registry();
    let pii = state.pii.clone();
    let prefix = move |i: usize| item_pointer(batch, base, i);
    Ok(
        web::block(move || ingest::prepare(&items, &prefix, &ctx, &registry, &pii, actor.as_ref()))
            .await?,
    )
}

/// Push one record or a batch.
#[utoipa::path(
    operation_id = "push_records",
    tag = "records",
    description = "Roles: unit. Each item is normalized to the 双公示 standard and stored, or \
                   rejected with field errors; one bad item never blocks the others, and all \
                   stored items of a batch commit together before the answer is sent. The \
                   same `Idempotency-Key` with the same body returns the same answer; with \
                   another body, 422. Items naming a deciding authority outside the caller's \
                   rights make the whole request 403, nothing stored.",
    security(("mtls" = [])),
    request_body(content = PushBatch, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: same key + same body → same answer", pattern = "^[!-~]{1,255}$", min_length = 1, max_length = 255)),
    responses(
        (status = 200, description = "Per-item outcomes in input order", body = PushResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit, or an item outside the caller's rights", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body or batch too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A single record was invalid, the batch is empty or not an array, or the idempotency key was reused with another body", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/records")]
pub async fn push_records(
    req: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (identity, unit) = pushing_unit(&caller)?;
    let idem = idempotency_key(&req)?;
    let (bytes, body) = read_json_body(&req, payload, state.settings.limits.max_body_bytes).await?;
    let request_hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes));
    if let Some(key) = &idem {
        let (u, k) = (unit.to_string(), key.clone());
        if let Some(answer) = state
            .db(move |c| store::records::find_idempotent(c, &u, &k))
            .await?
        {
            return replay(answer, &request_hash);
        }
    }
    let Items { items, batch, base } = split_items(body, state.settings.limits.max_batch_items)?;
    let prepared = prepare_items(&state, items, batch, base, Some(unit.clone()))
        .await?
        .map_err(|e| match e {
            PrepareError::Forbidden { indexes } => forbidden(&indexes, batch, base),
            PrepareError::Crypto(e) => ApiError::internal(format!("sealing failed: {e}")),
        })?;
    if !batch
        && let Some(ingest::PreparedItem {
            item: ingest::Prepared::Rejected { errors, .. },
            ..
        }) = prepared.first()
    {
        // A single record is answered like any invalid document; it is still kept as a
        // submission so data-quality figures see it.
        let errors: Vec<ProblemFieldError> = errors.iter().cloned().map(Into::into).collect();
        // Without an idempotency key there is no stored answer to replay.
        let _stored = store_batch(&state, prepared, &unit, identity, None, &request_hash).await?;
        return Err(ApiError::with_errors(
            ProblemCode::InvalidRecord,
            format!("the record has {} error(s); see `errors`", errors.len()),
            errors,
        ));
    }
    match store_batch(&state, prepared, &unit, identity, idem, &request_hash).await? {
        ingest::Pushed::Stored(response) => Ok(HttpResponse::Ok().json(response)),
        // Another request with the same key committed first: answer as a replay.
        ingest::Pushed::Replayed {
            request_hash: first,
            answer,
        } => replay((first, answer), &request_hash),
    }
}

fn replay(answer: (String, String), request_hash: &str) -> Result<HttpResponse, ApiError> {
    let (stored_hash, response_json) = answer;
    if stored_hash != request_hash {
        return Err(ApiError::new(
            ProblemCode::IdempotencyKeyReused,
            "this Idempotency-Key was used with a different body",
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Idempotent-Replayed", "true"))
        .body(response_json))
}

async fn store_batch(
    state: &AppState,
    prepared: Vec<ingest::PreparedItem>,
    unit: &UnitCode,
    identity: &Identity,
    idem: Option<String>,
    request_hash: &str,
) -> Result<ingest::Pushed<PushResponse>, ApiError> {
    let batch_id = super::problem::current_request_id();
    let unit_code = unit.to_string();
    let actor = identity.actor();
    let request_hash = request_hash.to_owned();
    let policy = state.policy.clone();
    let today = state.clock.today();
    let emitter = state.emitter();
    state
        .call(move |conn| {
            let meta = BatchMeta {
                batch_id: &batch_id,
                unit_code: &unit_code,
                idempotency_key: idem.as_deref(),
                actor: &actor,
                policy: policy.on(today),
                emitter: &emitter,
            };
            ingest::push(conn, &prepared, &meta, &request_hash, |outcomes| {
                let items: Vec<ItemResult> = outcomes.into_iter().map(Into::into).collect();
                PushResponse {
                    batch_id: batch_id.clone(),
                    summary: summarize(&items),
                    items,
                }
            })
        })
        .await
}

/// The answer to a validation: what a push would say, with nothing stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidateResponse {
    /// Counts: `accepted` here means "would be stored".
    pub summary: Summary,
    /// One result per item: `valid` or `rejected`.
    pub items: Vec<ItemResult>,
}

/// Validate records without storing anything.
#[utoipa::path(
    operation_id = "validate_records",
    tag = "records",
    description = "Roles: unit. The same normalization and checks as a push (including the \
                   caller's rights over each deciding authority, reported per item as \
                   `authority_not_yours`); nothing is stored.",
    security(("mtls" = [])),
    request_body(content = PushBatch, content_type = "application/json"),
    responses(
        (status = 200, description = "Per-item verdicts in input order", body = ValidateResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body or batch too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty batch or not an array", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/records:validate")]
pub async fn validate_records(
    req: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, unit) = pushing_unit(&caller)?;
    let (_, body) = read_json_body(&req, payload, state.settings.limits.max_body_bytes).await?;
    let Items { items, batch, base } = split_items(body, state.settings.limits.max_batch_items)?;
    let registry = state.registry();
    let prepared = prepare_items(&state, items, batch, base, None)
        .await?
        .map_err(|e| ApiError::internal(format!("validation failed: {e}")))?;
    let results: Vec<ItemResult> = prepared
        .into_iter()
        .map(|p| validation_of(p.item, &registry, &unit, &|i| item_pointer(batch, base, i)))
        .collect();
    let mut summary = Summary::default();
    for r in &results {
        if r.status == "valid" {
            summary.accepted += 1;
        } else {
            summary.rejected += 1;
        }
    }
    Ok(HttpResponse::Ok().json(ValidateResponse {
        summary,
        items: results,
    }))
}

/// What validation says of one prepared item: its field errors, or `valid` when its deciding
/// authority is also one the caller may act for.
fn validation_of(
    item: ingest::Prepared,
    registry: &crate::domain::registry::Registry,
    unit: &UnitCode,
    prefix: &dyn Fn(usize) -> String,
) -> ItemResult {
    match item {
        ingest::Prepared::Rejected {
            index,
            errors,
            warnings,
        } => ItemResult {
            index,
            status: "rejected".into(),
            record_id: None,
            version: None,
            errors: errors.into_iter().map(Into::into).collect(),
            warnings: warnings.into_iter().map(Into::into).collect(),
            conflict: None,
        },
        ingest::Prepared::Ready(ready) => {
            let mut errors = Vec::new();
            if !registry.may_act_for(unit, &ready.authority.code) {
                errors.push(ItemIssue {
                    pointer: prefix(ready.index),
                    code: "authority_not_yours".into(),
                    detail: format!(
                        "the deciding authority {} is not you or a unit below you",
                        ready.authority.code
                    ),
                });
            }
            ItemResult {
                index: ready.index,
                status: if errors.is_empty() {
                    "valid"
                } else {
                    "rejected"
                }
                .into(),
                record_id: Some(ready.record_id.clone()),
                version: None,
                errors,
                warnings: ready.warnings.iter().cloned().map(Into::into).collect(),
                conflict: None,
            }
        }
    }
}

/// A record's revocation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revocation {
    /// When (UTC).
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who (`unit:CODE`).
    pub by: String,
    /// reconsideration, litigation, self_correction or other.
    pub reason: String,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One stored version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionView {
    /// Version number, from 1.
    pub version: i64,
    /// When it was stored (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The canonical record of that version (ID numbers masked unless you decided it).
    #[schema(value_type = Object)]
    pub record: Value,
}

/// A submission as it was received.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmissionView {
    /// Submission id.
    pub id: i64,
    /// The request id of the push.
    pub batch_id: String,
    /// Position in that batch.
    pub index: i64,
    /// The pushing unit.
    pub unit_code: String,
    /// When (UTC).
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// What happened to it.
    pub outcome: String,
    /// The item exactly as received (ID numbers masked unless you decided it).
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// A canonical record with its history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordView {
    /// Stable id.
    pub id: String,
    /// Deciding authority (unit code).
    pub authority_code: String,
    /// Its registered name.
    pub authority_name: String,
    /// Its party.
    pub party: String,
    /// Normalized decision number.
    pub decision_no: String,
    /// `active` or `revoked`.
    pub status: String,
    /// Current version.
    pub version: i64,
    /// Its place in the violation-type catalogue: code, group, name, how it was matched and
    /// the provision (absent: unmapped).
    pub classification: Option<super::queries::Classified>,
    /// The current canonical record (ID numbers masked unless you decided it).
    #[schema(value_type = Object)]
    pub record: Value,
    /// Set when revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    /// The jurisdiction conflict the record is in (`GET /v1/conflicts/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_id: Option<String>,
    /// Its role there: `winner`, `loser` (never counted) or `stands` (settled as two acts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_role: Option<String>,
    /// Every version, oldest first.
    pub versions: Vec<VersionView>,
    /// The submissions it came from (only for units with rights over it, and operators).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submissions: Option<Vec<SubmissionView>>,
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

async fn load_view(
    state: &AppState,
    id: String,
    identity: &Identity,
) -> Result<RecordView, ApiError> {
    let loaded = state
        .db(move |c| {
            let Some(row) = store::records::find(c, &id)? else {
                return Ok(None);
            };
            let versions = store::records::versions(c, &id)?;
            let submissions = store::records::submissions_of(c, &id)?;
            Ok(Some((row, versions, submissions)))
        })
        .await?;
    let (row, versions, submissions) = loaded.ok_or(ApiError::NotFound)?;
    let registry = state.registry();
    let authority = UnitCode::parse(&row.authority_code)
        .map_err(|e| ApiError::internal(format!("record {}: authority: {e}", row.id)))?;
    let (how, sees_submissions) = match (identity.role, &identity.unit) {
        (Role::Unit, Some(me)) => {
            let how = if *me == authority {
                Reveal::Clear
            } else {
                Reveal::Masked
            };
            (how, registry.may_act_for(me, &authority))
        }
        (Role::Operator, _) => (Reveal::Masked, true),
        _ => (Reveal::Masked, false),
    };
    let open = |text: &str| {
        let mut v = parse_json(text);
        reveal(&state.pii, &mut v, how);
        v
    };
    Ok(RecordView {
        classification: super::queries::Classified::of_row(&state.policy.catalog, &row),
        authority_name: registry
            .get(&authority)
            .map(|u| u.name.clone())
            .unwrap_or_default(),
        record: open(&row.canonical_json),
        revocation: row.revoked_at.map(|at| Revocation {
            at: at.and_utc(),
            by: row.revoked_by.clone().unwrap_or_default(),
            reason: row.revoke_reason.clone().unwrap_or_default(),
            note: row.revoke_note.clone(),
        }),
        conflict_id: row.conflict_id.clone(),
        conflict_role: row.conflict_role.clone(),
        versions: versions
            .iter()
            .map(|v| VersionView {
                version: v.version,
                created_at: v.created_at.and_utc(),
                record: open(&v.canonical_json),
            })
            .collect(),
        submissions: sees_submissions.then(|| {
            submissions
                .iter()
                .map(|s| SubmissionView {
                    id: s.id,
                    batch_id: s.batch_id.clone(),
                    index: s.item_index,
                    unit_code: s.unit_code.clone(),
                    received_at: s.received_at.and_utc(),
                    outcome: s.outcome.clone(),
                    raw: open(&s.raw_json),
                })
                .collect()
        }),
        id: row.id,
        authority_code: row.authority_code,
        party: row.party,
        decision_no: row.decision_no,
        status: row.status,
        version: row.version,
    })
}

/// A canonical record with its version history and the raw submissions it came from.
#[utoipa::path(
    operation_id = "get_record",
    tag = "records",
    description = "Roles: unit, analyst, operator. ID numbers are shown in clear only to the \
                   deciding unit; raw submissions only to units with rights over the record \
                   and to operators.",
    security(("mtls" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Record id (`rec_…`)")),
    responses(
        (status = 200, description = "The record", body = RecordView),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/records/{id}")]
pub async fn get_record(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<RecordView>, ApiError> {
    let identity = caller.require(&[Role::Unit, Role::Analyst, Role::Operator])?;
    Ok(web::Json(
        load_view(&state, path.into_inner(), identity).await?,
    ))
}

/// The reasons a record can be revoked, as the spec names them (mirrors
/// [`RevokeReason`]).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum RevokeReasonName {
    /// 复议撤销: revoked on administrative reconsideration.
    Reconsideration,
    /// 诉讼撤销: revoked by a court.
    Litigation,
    /// 自行纠错: corrected by the deciding authority itself.
    SelfCorrection,
    /// Anything else; a note is required.
    Other,
}

/// Why a record is revoked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// `reconsideration` 复议撤销, `litigation` 诉讼撤销, `self_correction` 自行纠错, or
    /// `other` (then `note` is required).
    #[schema(value_type = RevokeReasonName, example = "reconsideration")]
    pub reason: RevokeReason,
    /// Free text; required with `other`.
    pub note: Option<String>,
}

/// Revoke a record: it stays, marked revoked, with who, when and why.
#[utoipa::path(
    operation_id = "revoke_record",
    tag = "records",
    description = "Roles: unit (the deciding unit, a unit above it, or its provincial lead). \
                   A record outside your rights answers 404, like one that does not exist.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Record id (`rec_…`)")),
    request_body(content = RevokeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The revoked record", body = RecordView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reason, or `other` without a note", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/records/{id}/revoke")]
pub async fn revoke_record(
    path: web::Path<String>,
    caller: Caller,
    body: web::Json<RevokeRequest>,
    state: web::Data<AppState>,
) -> Result<web::Json<RecordView>, ApiError> {
    let (identity, unit) = pushing_unit(&caller)?;
    let id = path.into_inner();
    let RevokeRequest { reason, note } = body.into_inner();
    let actor = identity.actor();
    let target = id.clone();
    let registry = state.registry();
    let policy = state.policy.clone();
    let today = state.clock.today();
    let emitter = state.emitter();
    state
        .call(move |c| {
            let by = revoke::Revocation {
                unit: &unit,
                actor: &actor,
                reason,
                note,
            };
            revoke::revoke_as(c, &registry, &policy.on(today), &emitter, &by, &target)
        })
        .await?;
    Ok(web::Json(load_view(&state, id, identity).await?))
}
