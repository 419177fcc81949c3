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

/// Every error an API handler can return.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request is malformed (not JSON, wrong shape, bad parameter).
    BadRequest { code: &'static str, detail: String },
    /// 401: no credentials (no client certificate, no API key).
    Unauthenticated,
    /// 403: credentials given but not good for this.
    Forbidden { detail: String },
    /// 404: no such resource (also for another party's resources: indistinguishable from 403).
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed { allow: Vec<String> },
    /// 409: conflicts with the current state.
    Conflict { code: &'static str, detail: String },
    /// 413: the body is larger than allowed.
    PayloadTooLarge { detail: String },
    /// 415: the body is not JSON.
    UnsupportedMediaType { detail: String },
    /// 422: well-formed but invalid; the field errors say where.
    Unprocessable {
        code: &'static str,
        detail: String,
        errors: Vec<ProblemFieldError>,
    },
    /// 429: rate limit reached.
    TooManyRequests { retry_after_secs: u64 },
    /// 503: a dependency is down.
    Unavailable {
        detail: String,
        retry_after_secs: u64,
    },
    /// 500: a bug. The cause is logged, not shown.
    Internal,
}

impl ApiError {
    /// Stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Conflict { code, .. } => code,
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ApiError::Unprocessable { code, .. } => code,
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Internal => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "Malformed request",
            ApiError::Unauthenticated => "Authentication required",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::NotFound => "Not found",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::PayloadTooLarge { .. } => "Payload too large",
            ApiError::UnsupportedMediaType { .. } => "Unsupported media type",
            ApiError::Unprocessable { .. } => "Invalid content",
            ApiError::TooManyRequests { .. } => "Too many requests",
            ApiError::Unavailable { .. } => "Service unavailable",
            ApiError::Internal => "Internal error",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::BadRequest { detail, .. }
            | ApiError::Forbidden { detail }
            | ApiError::Conflict { detail, .. }
            | ApiError::PayloadTooLarge { detail }
            | ApiError::UnsupportedMediaType { detail }
            | ApiError::Unprocessable { detail, .. }
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
        let code = self.code();
        Problem {
            type_: format!("urn:penex:problem:{code}"),
            title: self.title().to_owned(),
            status: self.status_code().as_u16(),
            detail: self.detail(),
            instance: current_request_id(),
            code: code.to_owned(),
            errors: match self {
                ApiError::Unprocessable { errors, .. } => errors.clone(),
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
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
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
            } => ApiError::Unprocessable {
                code,
                detail,
                errors: errors.into_iter().map(ProblemFieldError::from).collect(),
            },
            E::Refused { code, detail } | E::Conflict { code, detail } => {
                ApiError::Conflict { code, detail }
            }
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
        E::Deserialize(e) if e.is_data() => ApiError::Unprocessable {
            code: "invalid_body",
            detail: format!("the body does not have the expected shape: {e}"),
            errors: vec![ProblemFieldError {
                pointer: String::new(),
                code: "invalid_type".into(),
                detail: e.to_string(),
            }],
        },
        E::Deserialize(e) => ApiError::BadRequest {
            code: "malformed_json",
            detail: format!("the body is not valid JSON: {e}"),
        },
        other => ApiError::BadRequest {
            code: "malformed_body",
            detail: other.to_string(),
        },
    }
}

/// Turns query-string errors into 400 problems.
pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_query",
        detail: err.to_string(),
    }
}

/// Turns path-parameter errors into 404 problems (a malformed id names no resource).
pub fn path_error(_err: actix_web::error::PathError) -> ApiError {
    ApiError::NotFound
}
