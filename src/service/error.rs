//! `service::Error`: the one error every service operation returns, whoever calls it (a
//! handler, a CLI command, the sweeper). The API maps it to problem details in one place
//! (`api::problem`), the CLI to a message and an exit status; neither looks inside a store
//! error.

use crate::normalize::FieldIssue;
use crate::store::{Failure, StoreError};

/// What a service operation can answer instead of its result. Nothing was written when an
/// operation returns one of these: every write runs in one transaction.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing named does not exist, or the caller may not know that it exists.
    #[error("not found")]
    NotFound,
    /// The caller may see it but not do this to it; `detail` says why.
    #[error("forbidden: {detail}")]
    Forbidden { detail: String },
    /// The request is well-formed but names something impossible or wrong: field errors.
    #[error("{code}: {detail}")]
    Invalid {
        code: &'static str,
        detail: String,
        errors: Vec<FieldIssue>,
    },
    /// The request is valid but the current state refuses it (a stable code for programs).
    #[error("{code}: {detail}")]
    Refused { code: &'static str, detail: String },
    /// Another writer got there first (a unique name taken, a version moved on).
    #[error("{code}: {detail}")]
    Conflict { code: &'static str, detail: String },
    /// The store is busy or contended: nothing was written, the same request may succeed
    /// when sent again shortly.
    #[error("busy: {0}")]
    Busy(String),
    /// A dependency is down: `what` names it for the answer ("the database", "the cache"),
    /// `cause` is for the log.
    #[error("{what} is unavailable: {cause}")]
    Unavailable { what: &'static str, cause: String },
    /// A bug or corrupt stored data; the cause is for the log.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// A refusal with a stable code.
    pub fn refused(code: &'static str, detail: impl Into<String>) -> Self {
        Error::Refused {
            code,
            detail: detail.into(),
        }
    }

    /// A denial with its reason.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Error::Forbidden {
            detail: detail.into(),
        }
    }

    /// Invalid input with one field error.
    pub fn invalid_field(
        code: &'static str,
        pointer: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        let detail = detail.into();
        Error::Invalid {
            code,
            detail: detail.clone(),
            errors: vec![FieldIssue {
                pointer: pointer.into(),
                code: code.to_owned(),
                detail,
            }],
        }
    }
}

impl Error {
    /// For an [`Error::Invalid`] with one field error: that error's own code and detail (the
    /// problem's `code` says what the request got wrong, the field's what the field did).
    #[must_use]
    pub fn with_field_code(mut self, code: &str, detail: impl Into<String>) -> Self {
        if let Error::Invalid { errors, .. } = &mut self
            && let [only] = errors.as_mut_slice()
        {
            only.code = code.to_owned();
            only.detail = detail.into();
        }
        self
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e.failure() {
            Failure::Unavailable => Error::Unavailable {
                what: "the database",
                cause: e.to_string(),
            },
            Failure::Busy | Failure::Contended => Error::Busy(e.to_string()),
            Failure::Bug => Error::Internal(e.to_string()),
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Error::from(StoreError::Query(e))
    }
}

impl From<crate::cache::CacheError> for Error {
    fn from(e: crate::cache::CacheError) -> Self {
        match e {
            crate::cache::CacheError::Unavailable(cause) => Error::Unavailable {
                what: "the cache",
                cause,
            },
            crate::cache::CacheError::Full { .. } => Error::Busy(e.to_string()),
            other => Error::Internal(format!("cache: {other}")),
        }
    }
}

/// The result of a service operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_injected_failpoint_error_is_the_database_unavailable() {
        // What `store::failpoint` injects must be answered 503, never 500.
        let e = Error::from(crate::store::failpoint::lost_connection("push.commit"));
        assert!(
            matches!(
                e,
                Error::Unavailable {
                    what: "the database",
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
