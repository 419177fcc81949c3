//! `ApiError`, the only type that becomes an HTTP error response: RFC 9457
//! `application/problem+json` with a stable snake_case `code`, the request id as `instance`,
//! and for 422 the field errors as JSON Pointers into the submitted document.
//!
//! Causes of 5xx go to the log, never into the body. Each layer's error converts through an
//! explicit `From`; there is no blanket conversion.

use crate::cache::CacheError;
use crate::normalize::FieldIssue;
use crate::store::{Failure, StoreError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

tokio::task_local! {
    /// The id of the request being served, set by the request-id middleware.
    pub static REQUEST_ID: String;
}

/// The current request's id, or `-` outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(|id| id.clone())
        .unwrap_or_else(|_| "-".to_owned())
}

/// One field error of a 422 answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemFieldError {
    /// JSON Pointer (RFC 6901) into the submitted document.
    #[schema(example = "/records/3/CF_XDR_SHXYM")]
    pub pointer: String,
    /// Stable snake_case code.
    #[schema(example = "invalid_checksum")]
    pub code: String,
    /// The value seen and what was expected.
    pub detail: String,
}

impl From<FieldIssue> for ProblemFieldError {
    fn from(i: FieldIssue) -> Self {
        ProblemFieldError {
            pointer: i.pointer,
            code: i.code,
            detail: i.detail,
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:penex:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// The request id (also in the `X-Request-Id` header); quote it to the operators.
    pub instance: String,
    /// Stable snake_case code for programs.
    pub code: String,
    /// For 422: every field error found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemFieldError>,
}

/// Every problem code penex answers with. Each has one status and one title, whatever route
/// answers it, so a program can rely on the code alone. `tests` checks that each is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemCode {
    /// 400: the body is not valid JSON.
    MalformedJson,
    /// 400: the body could not be read (a broken chunk, invalid UTF-8).
    MalformedBody,
    /// 400: the query string is not of the route's form (an unknown parameter, a number that is
    /// not one).
    MalformedQuery,
    /// 400: the Idempotency-Key header is not 1–255 visible ASCII characters.
    InvalidIdempotencyKey,
    /// 400: a subject key of none of the known forms.
    InvalidSubjectKey,
    /// 401: no client certificate and no API key.
    Unauthenticated,
    /// 403: credentials given but not good for this.
    Forbidden,
    /// 404: no such resource, or not visible to the caller.
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 409: the record is already revoked.
    AlreadyRevoked,
    /// 409: the event is already delivered.
    AlreadyDelivered,
    /// 409: the conflict is no longer open.
    ConflictNotOpen,
    /// 409: the subject is not linked to another.
    NotLinked,
    /// 409: the minimum publicity period has not passed.
    RepairTooEarly,
    /// 409: the record or flag cannot be repaired in its state (revoked, repaired already,
    /// not active).
    NotRepairable,
    /// 409: an API key of that name exists already.
    ApikeyExists,
    /// 409: another state refuses the request (a code the API does not name yet).
    StateConflict,
    /// 409: the collaboration item's state does not allow this step (the allowed ones listed).
    StepNotAllowed,
    /// 409: the collaboration item has ended (closed or refused): nothing more is added.
    ItemEnded,
    /// 413: the body or the batch is larger than allowed.
    PayloadTooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 431: more header fields, or more bytes of request target and headers, than accepted.
    HeadersTooLarge,
    /// 422: query parameters well-formed but invalid; `errors` names each parameter.
    InvalidQuery,
    /// 422: the body does not have the route's shape.
    InvalidBody,
    /// 422: a single pushed record is invalid; `errors` says where.
    InvalidRecord,
    /// 422: a pushed batch has no item.
    EmptyBatch,
    /// 422: the Idempotency-Key was used before with another body.
    IdempotencyKeyReused,
    /// 422: a note holds control characters.
    InvalidNote,
    /// 422: a note is required and missing.
    NoteRequired,
    /// 422: an exemption report is invalid; `errors` says where.
    InvalidExemption,
    /// 422: a unit the registry would not hold (unknown parent, another party's parent, a code
    /// taken).
    InvalidUnit,
    /// 422: a role that cannot hold this credential (API keys are for analysts only).
    InvalidRole,
    /// 422: the request is invalid (a code the API does not name yet).
    InvalidRequest,
    /// 422: a collaboration item with invalid fields, or a receiver that cannot be reached.
    InvalidItem,
    /// 422: a collaboration step with an unknown name or invalid fields.
    InvalidStep,
    /// 429: the rate limit is reached.
    RateLimited,
    /// 500: a bug; the cause is in the log under the request id.
    Internal,
    /// 503: a dependency is down or busy.
    Unavailable,
}

impl ProblemCode {
    /// Every code, for the tests and the docs.
    pub const ALL: [ProblemCode; 38] = [
        ProblemCode::MalformedJson,
        ProblemCode::MalformedBody,
        ProblemCode::MalformedQuery,
        ProblemCode::InvalidIdempotencyKey,
        ProblemCode::InvalidSubjectKey,
        ProblemCode::Unauthenticated,
        ProblemCode::Forbidden,
        ProblemCode::NotFound,
        ProblemCode::MethodNotAllowed,
        ProblemCode::AlreadyRevoked,
        ProblemCode::AlreadyDelivered,
        ProblemCode::ConflictNotOpen,
        ProblemCode::NotLinked,
        ProblemCode::RepairTooEarly,
        ProblemCode::NotRepairable,
        ProblemCode::ApikeyExists,
        ProblemCode::StateConflict,
        ProblemCode::StepNotAllowed,
        ProblemCode::ItemEnded,
        ProblemCode::PayloadTooLarge,
        ProblemCode::UnsupportedMediaType,
        ProblemCode::HeadersTooLarge,
        ProblemCode::InvalidQuery,
        ProblemCode::InvalidBody,
        ProblemCode::InvalidRecord,
        ProblemCode::EmptyBatch,
        ProblemCode::IdempotencyKeyReused,
        ProblemCode::InvalidNote,
        ProblemCode::NoteRequired,
        ProblemCode::InvalidExemption,
        ProblemCode::InvalidUnit,
        ProblemCode::InvalidRole,
        ProblemCode::InvalidRequest,
        ProblemCode::InvalidItem,
        ProblemCode::InvalidStep,
        ProblemCode::RateLimited,
        ProblemCode::Internal,
        ProblemCode::Unavailable,
    ];

    /// The stable snake_case code (`code`, and `urn:penex:problem:<code>` as `type`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::MalformedJson => "malformed_json",
            ProblemCode::MalformedBody => "malformed_body",
            ProblemCode::MalformedQuery => "malformed_query",
            ProblemCode::InvalidIdempotencyKey => "invalid_idempotency_key",
            ProblemCode::InvalidSubjectKey => "invalid_subject_key",
            ProblemCode::Unauthenticated => "unauthenticated",
            ProblemCode::Forbidden => "forbidden",
            ProblemCode::NotFound => "not_found",
            ProblemCode::MethodNotAllowed => "method_not_allowed",
            ProblemCode::AlreadyRevoked => "already_revoked",
            ProblemCode::AlreadyDelivered => "already_delivered",
            ProblemCode::ConflictNotOpen => "conflict_not_open",
            ProblemCode::NotLinked => "not_linked",
            ProblemCode::RepairTooEarly => "repair_too_early",
            ProblemCode::NotRepairable => "not_repairable",
            ProblemCode::ApikeyExists => "apikey_exists",
            ProblemCode::StateConflict => "state_conflict",
            ProblemCode::StepNotAllowed => "step_not_allowed",
            ProblemCode::ItemEnded => "item_ended",
            ProblemCode::InvalidItem => "invalid_item",
            ProblemCode::InvalidStep => "invalid_step",
            ProblemCode::PayloadTooLarge => "payload_too_large",
            ProblemCode::UnsupportedMediaType => "unsupported_media_type",
            ProblemCode::HeadersTooLarge => "headers_too_large",
            ProblemCode::InvalidQuery => "invalid_query",
            ProblemCode::InvalidBody => "invalid_body",
            ProblemCode::InvalidRecord => "invalid_record",
            ProblemCode::EmptyBatch => "empty_batch",
            ProblemCode::IdempotencyKeyReused => "idempotency_key_reused",
            ProblemCode::InvalidNote => "invalid_note",
            ProblemCode::NoteRequired => "note_required",
            ProblemCode::InvalidExemption => "invalid_exemption",
            ProblemCode::InvalidUnit => "invalid_unit",
            ProblemCode::InvalidRole => "invalid_role",
            ProblemCode::InvalidRequest => "invalid_request",
            ProblemCode::RateLimited => "rate_limited",
            ProblemCode::Internal => "internal",
            ProblemCode::Unavailable => "unavailable",
        }
    }

    /// The HTTP status every answer with this code has.
    pub fn status(self) -> StatusCode {
        match self {
            ProblemCode::MalformedJson
            | ProblemCode::MalformedBody
            | ProblemCode::MalformedQuery
            | ProblemCode::InvalidIdempotencyKey
            | ProblemCode::InvalidSubjectKey => StatusCode::BAD_REQUEST,
            ProblemCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ProblemCode::Forbidden => StatusCode::FORBIDDEN,
            ProblemCode::NotFound => StatusCode::NOT_FOUND,
            ProblemCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemCode::AlreadyRevoked
            | ProblemCode::AlreadyDelivered
            | ProblemCode::ConflictNotOpen
            | ProblemCode::NotLinked
            | ProblemCode::RepairTooEarly
            | ProblemCode::NotRepairable
            | ProblemCode::ApikeyExists
            | ProblemCode::StateConflict
            | ProblemCode::StepNotAllowed
            | ProblemCode::ItemEnded => StatusCode::CONFLICT,
            ProblemCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemCode::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ProblemCode::InvalidQuery
            | ProblemCode::InvalidBody
            | ProblemCode::InvalidRecord
            | ProblemCode::EmptyBatch
            | ProblemCode::IdempotencyKeyReused
            | ProblemCode::InvalidNote
            | ProblemCode::NoteRequired
            | ProblemCode::InvalidExemption
            | ProblemCode::InvalidUnit
            | ProblemCode::InvalidRole
            | ProblemCode::InvalidRequest
            | ProblemCode::InvalidItem
            | ProblemCode::InvalidStep => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The short human-readable summary (`title`), the same for every occurrence.
    pub fn title(self) -> &'static str {
        match self {
            ProblemCode::MalformedJson => "Malformed JSON",
            ProblemCode::MalformedBody => "Malformed body",
            ProblemCode::MalformedQuery => "Malformed query string",
            ProblemCode::InvalidIdempotencyKey => "Invalid Idempotency-Key",
            ProblemCode::InvalidSubjectKey => "Invalid subject key",
            ProblemCode::Unauthenticated => "Authentication required",
            ProblemCode::Forbidden => "Forbidden",
            ProblemCode::NotFound => "Not found",
            ProblemCode::MethodNotAllowed => "Method not allowed",
            ProblemCode::AlreadyRevoked => "Already revoked",
            ProblemCode::AlreadyDelivered => "Already delivered",
            ProblemCode::ConflictNotOpen => "Conflict not open",
            ProblemCode::NotLinked => "Not linked",
            ProblemCode::RepairTooEarly => "Too early for credit repair",
            ProblemCode::NotRepairable => "Not repairable",
            ProblemCode::ApikeyExists => "API key exists",
            ProblemCode::StateConflict => "Conflict with the current state",
            ProblemCode::StepNotAllowed => "Step not allowed now",
            ProblemCode::ItemEnded => "Collaboration item ended",
            ProblemCode::InvalidItem => "Invalid collaboration item",
            ProblemCode::InvalidStep => "Invalid collaboration step",
            ProblemCode::PayloadTooLarge => "Payload too large",
            ProblemCode::UnsupportedMediaType => "Unsupported media type",
            ProblemCode::HeadersTooLarge => "Request header fields too large",
            ProblemCode::InvalidQuery => "Invalid query parameters",
            ProblemCode::InvalidBody => "Invalid body",
            ProblemCode::InvalidRecord => "Invalid record",
            ProblemCode::EmptyBatch => "Empty batch",
            ProblemCode::IdempotencyKeyReused => "Idempotency-Key reused",
            ProblemCode::InvalidNote => "Invalid note",
            ProblemCode::NoteRequired => "Note required",
            ProblemCode::InvalidExemption => "Invalid exemption report",
            ProblemCode::InvalidUnit => "Invalid unit",
            ProblemCode::InvalidRole => "Invalid role",
            ProblemCode::InvalidRequest => "Invalid request",
            ProblemCode::RateLimited => "Too many requests",
            ProblemCode::Internal => "Internal error",
            ProblemCode::Unavailable => "Service unavailable",
        }
    }

    /// The code named by a service error's stable code, if the API knows it.
    pub fn from_code(code: &str) -> Option<ProblemCode> {
        ProblemCode::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

/// Every error an API handler can return. The variants that carry a header (405, 429, 503) or
/// no detail of their own are kept apart; everything else is a [`ProblemCode`] with a detail.
#[derive(Debug)]
pub enum ApiError {
    /// A problem whose status and title its code fixes (400, 409, 422 …); for 422, the field
    /// errors say where.
    Problem {
        /// What went wrong.
        code: ProblemCode,
        /// This occurrence.
        detail: String,
        /// The field errors (JSON Pointers into the submitted document or query).
        errors: Vec<ProblemFieldError>,
    },
    /// 401: no credentials (no client certificate, no API key).
    Unauthenticated,
    /// 403: credentials given but not good for this.
    Forbidden { detail: String },
    /// 404: no such resource (also for another party's resources: indistinguishable from 403).
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed { allow: Vec<String> },
    /// 413: the body is larger than allowed.
    PayloadTooLarge { detail: String },
    /// 415: the body is not JSON.
    UnsupportedMediaType { detail: String },
    /// 429: rate limit reached.
    TooManyRequests { retry_after_secs: u64 },
    /// 503: a dependency is down.
    Unavailable {
        detail: String,
        retry_after_secs: u64,
    },
    /// 500: a bug. The cause is logged where it is made ([`ApiError::internal`]), not shown.
    Internal,
}

impl ApiError {
    /// A problem with this code and detail.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        ApiError::Problem {
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// A problem with field errors (422).
    pub fn with_errors(
        code: ProblemCode,
        detail: impl Into<String>,
        errors: Vec<ProblemFieldError>,
    ) -> Self {
        ApiError::Problem {
            code,
            detail: detail.into(),
            errors,
        }
    }

    /// A 500 whose cause goes to the log with the request id; the answer says nothing of it.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::Internal
    }

    /// The code of this error.
    pub fn problem_code(&self) -> ProblemCode {
        match self {
            ApiError::Problem { code, .. } => *code,
            ApiError::Unauthenticated => ProblemCode::Unauthenticated,
            ApiError::Forbidden { .. } => ProblemCode::Forbidden,
            ApiError::NotFound => ProblemCode::NotFound,
            ApiError::MethodNotAllowed { .. } => ProblemCode::MethodNotAllowed,
            ApiError::PayloadTooLarge { .. } => ProblemCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType { .. } => ProblemCode::UnsupportedMediaType,
            ApiError::TooManyRequests { .. } => ProblemCode::RateLimited,
            ApiError::Unavailable { .. } => ProblemCode::Unavailable,
            ApiError::Internal => ProblemCode::Internal,
        }
    }

    /// Stable code of this error.
    pub fn code(&self) -> &'static str {
        self.problem_code().as_str()
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Problem { detail, .. }
            | ApiError::Forbidden { detail }
            | ApiError::PayloadTooLarge { detail }
            | ApiError::UnsupportedMediaType { detail }
            | ApiError::Unavailable { detail, .. } => detail.clone(),
            ApiError::Unauthenticated => {
                "present a client certificate issued for you, or an analyst API key \
                 (Authorization: Bearer …)"
                    .into()
            }
            ApiError::NotFound => "no such resource, or not visible to you".into(),
            ApiError::MethodNotAllowed { allow } => {
                format!("allowed methods: {}", allow.join(", "))
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("rate limit reached; retry after {retry_after_secs} s")
            }
            ApiError::Internal => {
                "an internal error occurred; the operators have the details under this \
                 request id"
                    .into()
            }
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let code = self.problem_code();
        Problem {
            type_: format!("urn:penex:problem:{}", code.as_str()),
            title: code.title().to_owned(),
            status: code.status().as_u16(),
            detail: self.detail(),
            instance: current_request_id(),
            code: code.as_str().to_owned(),
            errors: match self {
                ApiError::Problem { errors, .. } => errors.clone(),
                _ => Vec::new(),
            },
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.detail())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.problem_code().status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        match self {
            ApiError::TooManyRequests { retry_after_secs }
            | ApiError::Unavailable {
                retry_after_secs, ..
            } => {
                resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::MethodNotAllowed { allow } => {
                resp.insert_header((header::ALLOW, allow.join(", ")));
            }
            ApiError::Unauthenticated => {
                resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"penex\""));
            }
            _ => {}
        }
        resp.json(self.problem())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e.failure() {
            Failure::Unavailable => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::Unavailable {
                    detail: "the database is unavailable".into(),
                    retry_after_secs: 5,
                }
            }
            // Lost a race that survived its retries (unique key, serialization check, a
            // deadlock victim): nothing was written, the request may be sent again.
            Failure::Contended => {
                tracing::warn!(error = %e, "concurrent update");
                ApiError::Unavailable {
                    detail: "concurrent update; retry".into(),
                    retry_after_secs: 1,
                }
            }
            // SQLite has one writer: a writer that waited past busy_timeout is told to come
            // back, not that penex has a bug.
            Failure::Busy => {
                tracing::warn!(error = %e, "database busy");
                ApiError::Unavailable {
                    detail: "the database is busy with other writes; retry".into(),
                    retry_after_secs: 2,
                }
            }
            Failure::Bug => {
                tracing::error!(error = %e, "store error");
                ApiError::Internal
            }
        }
    }
}

impl From<crate::service::Error> for ApiError {
    fn from(e: crate::service::Error) -> Self {
        use crate::service::Error as E;
        match e {
            E::NotFound => ApiError::NotFound,
            E::Forbidden { detail } => ApiError::Forbidden { detail },
            E::Invalid {
                code,
                detail,
                errors,
            } => ApiError::with_errors(
                known(
                    code,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ProblemCode::InvalidRequest,
                ),
                detail,
                errors.into_iter().map(ProblemFieldError::from).collect(),
            ),
            E::Refused { code, detail } | E::Conflict { code, detail } => ApiError::new(
                known(code, StatusCode::CONFLICT, ProblemCode::StateConflict),
                detail,
            ),
            E::Busy(cause) => {
                tracing::warn!(error = %cause, "busy");
                ApiError::Unavailable {
                    detail: "the service is busy with other writes; retry".into(),
                    retry_after_secs: 1,
                }
            }
            E::Unavailable { what, cause } => {
                tracing::warn!(error = %cause, "{what} unavailable");
                ApiError::Unavailable {
                    detail: format!("{what} is unavailable"),
                    retry_after_secs: 5,
                }
            }
            E::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                ApiError::Internal
            }
        }
    }
}

/// The problem code a service error names, when the API knows it with that status; else the
/// generic code of the status (and a warning: `problem_code_tests` keeps this from happening).
fn known(code: &str, status: StatusCode, generic: ProblemCode) -> ProblemCode {
    match ProblemCode::from_code(code) {
        Some(c) if c.status() == status => c,
        _ => {
            tracing::warn!(code, "a service error code the API does not name");
            generic
        }
    }
}

impl From<CacheError> for ApiError {
    fn from(e: CacheError) -> Self {
        tracing::warn!(error = %e, "cache unavailable");
        ApiError::Unavailable {
            detail: "the cache is unavailable".into(),
            retry_after_secs: 5,
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        tracing::error!("blocking task pool shut down");
        ApiError::Unavailable {
            detail: "the server is shutting down".into(),
            retry_after_secs: 5,
        }
    }
}

/// Turns actix's JSON extractor errors into problems (400, 413, 415) instead of its plain text.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { length, limit } => ApiError::PayloadTooLarge {
            detail: format!("body is {length} bytes; the limit is {limit}"),
        },
        E::Overflow { limit } => ApiError::PayloadTooLarge {
            detail: format!("body exceeds the limit of {limit} bytes"),
        },
        E::ContentType => ApiError::UnsupportedMediaType {
            detail: "expected Content-Type: application/json".into(),
        },
        E::Deserialize(e) if e.is_data() => ApiError::with_errors(
            ProblemCode::InvalidBody,
            format!("the body does not have the expected shape: {e}"),
            vec![ProblemFieldError {
                pointer: String::new(),
                code: "invalid_type".into(),
                detail: e.to_string(),
            }],
        ),
        E::Deserialize(e) => ApiError::new(
            ProblemCode::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        ),
        other => ApiError::new(ProblemCode::MalformedBody, other.to_string()),
    }
}

/// Turns form-body errors (the workbench's forms) into problems (400, 413, 415).
pub fn form_error(err: actix_web::error::UrlencodedError) -> ApiError {
    use actix_web::error::UrlencodedError as E;
    match err {
        E::Overflow { size, limit } => ApiError::PayloadTooLarge {
            detail: format!("the form is {size} bytes; the limit is {limit}"),
        },
        E::ContentType => ApiError::UnsupportedMediaType {
            detail: "expected Content-Type: application/x-www-form-urlencoded".into(),
        },
        other => ApiError::new(ProblemCode::MalformedBody, other.to_string()),
    }
}

/// Turns query-string errors (an unknown parameter, a value that is not of its type) into 400
/// problems; values of the right form that are out of range are 422 `invalid_query`
/// ([`super::params`]).
pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::new(ProblemCode::MalformedQuery, err.to_string())
}

/// Turns path-parameter errors into 404 problems (a malformed id names no resource).
pub fn path_error(_err: actix_web::error::PathError) -> ApiError {
    ApiError::NotFound
}

#[cfg(test)]
mod problem_code_tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    fn sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((p, text));
            }
        }
    }

    fn src() -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
        assert!(out.len() > 50, "read only {} files", out.len());
        out
    }

    /// The quoted codes that service errors are made with: `refused("…"`,
    /// `invalid_field("…"`, `Invalid { code: "…"`, `Refused { code: "…"`, `Conflict { code: "…"`.
    fn service_codes(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for opener in [
            "refused(",
            "invalid_field(",
            "Invalid {",
            "Refused {",
            "Conflict {",
        ] {
            let mut rest = text;
            while let Some(at) = rest.find(opener) {
                let after = rest.get(at + opener.len()..).unwrap_or_default();
                let after = after.trim_start();
                let after = after.strip_prefix("code:").map_or(after, str::trim_start);
                if let Some(quoted) = after.strip_prefix('"') {
                    let code: String = quoted.chars().take_while(|c| *c != '"').collect();
                    if !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    {
                        out.push(code);
                    }
                }
                rest = rest.get(at + opener.len()..).unwrap_or_default();
            }
        }
        out
    }

    #[test]
    fn codes_are_distinct_snake_case_with_a_fixed_problem_status() {
        let mut seen = BTreeSet::new();
        for c in ProblemCode::ALL {
            assert!(seen.insert(c.as_str()), "{} twice", c.as_str());
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_')
            );
            assert!(c.status().is_client_error() || c.status().is_server_error());
            assert_eq!(ProblemCode::from_code(c.as_str()), Some(c));
            let p = ApiError::new(c, "x").problem();
            assert_eq!(
                (p.status, p.title.as_str()),
                (c.status().as_u16(), c.title())
            );
            assert_eq!(p.type_, format!("urn:penex:problem:{}", c.as_str()));
        }
        assert_eq!(seen.len(), ProblemCode::ALL.len());
    }

    /// A code nobody answers with is a promise the API does not keep: every code is made
    /// somewhere outside this file (by name, by the error variant that carries it, or by a
    /// service error's quoted code), except the two fallbacks that only `known` makes.
    #[test]
    fn every_code_is_used() {
        let files = src();
        // This file makes codes too, in the extractors' error handlers below the marker.
        let elsewhere: String = files
            .iter()
            .map(|(p, t)| {
                if p.ends_with("api/problem.rs") {
                    let marker = "/// Turns actix's JSON extractor errors";
                    t.split_once(marker).map_or("", |(_, handlers)| handlers)
                } else {
                    t.as_str()
                }
            })
            .collect();
        let quoted: BTreeSet<String> = files.iter().flat_map(|(_, t)| service_codes(t)).collect();
        let by_variant = |c: ProblemCode| match c {
            ProblemCode::Unauthenticated => Some("ApiError::Unauthenticated"),
            ProblemCode::Forbidden => Some("ApiError::Forbidden"),
            ProblemCode::NotFound => Some("ApiError::NotFound"),
            ProblemCode::MethodNotAllowed => Some("ApiError::MethodNotAllowed"),
            ProblemCode::PayloadTooLarge => Some("ApiError::PayloadTooLarge"),
            ProblemCode::UnsupportedMediaType => Some("ApiError::UnsupportedMediaType"),
            ProblemCode::RateLimited => Some("ApiError::TooManyRequests"),
            ProblemCode::Unavailable => Some("ApiError::Unavailable"),
            ProblemCode::Internal => Some("ApiError::internal("),
            _ => None,
        };
        let fallbacks = [ProblemCode::StateConflict, ProblemCode::InvalidRequest];
        let unused: Vec<&str> = ProblemCode::ALL
            .into_iter()
            .filter(|c| !fallbacks.contains(c))
            .filter(|c| {
                !elsewhere.contains(&format!("ProblemCode::{c:?}"))
                    && !quoted.contains(c.as_str())
                    && !by_variant(*c).is_some_and(|v| elsewhere.contains(v))
            })
            .map(|c| c.as_str())
            .collect();
        assert!(
            unused.is_empty(),
            "problem codes nobody answers with: {unused:?}"
        );
    }

    /// Every code a service error is made with is one the API names, with the status of the
    /// kind of error it is made as: no service code reaches a client as a fallback.
    #[test]
    fn every_service_code_is_named_by_the_api() {
        let mut unknown = Vec::new();
        for (path, text) in src() {
            for code in service_codes(&text) {
                if ProblemCode::from_code(&code).is_none() {
                    unknown.push(format!("{code} ({})", path.display()));
                }
            }
        }
        assert!(
            unknown.is_empty(),
            "service codes without a ProblemCode: {unknown:?}"
        );
    }

    #[test]
    fn service_errors_keep_their_codes_and_statuses() {
        use crate::service::Error as E;
        let conflict: ApiError = E::refused("already_revoked", "x").into();
        assert_eq!(conflict.problem_code(), ProblemCode::AlreadyRevoked);
        let invalid: ApiError = E::invalid_field("invalid_note", "/note", "x").into();
        let p = invalid.problem();
        assert_eq!((p.status, p.code.as_str()), (422, "invalid_note"));
        assert_eq!(p.errors.len(), 1);
        // A code made as the wrong kind falls back to the kind's generic code.
        let odd: ApiError = E::refused("invalid_note", "x").into();
        assert_eq!(odd.problem_code(), ProblemCode::StateConflict);
        let busy: ApiError = E::Busy("x".into()).into();
        assert_eq!(busy.problem().status, 503);
    }

    #[test]
    fn the_scanner_reads_quoted_codes_only() {
        let text = r#"Error::refused(
            "not_linked", "x"); Error::Invalid { code: "invalid_note", detail };
            refused(code, detail); Conflict { code: "Bad Code" }"#;
        assert_eq!(service_codes(text), vec!["not_linked", "invalid_note"]);
    }
}
