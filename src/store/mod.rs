//! The store: the only part of penex that knows SQL. Diesel schema, rows, repositories and
//! migrations for SQLite (the embedded default) and PostgreSQL, from one code base.
//!
//! Repository functions take `&mut Conn` and never open transactions; the `service` layer owns
//! transactions (see [`conn::write_tx`]). Rows are not domain types.

pub mod apikeys;
pub mod audit;
pub mod batch;
pub mod collab;
pub mod conflicts;
pub mod conn;
pub mod events;
pub mod exemptions;
pub mod failpoint;
pub mod flags;
pub mod outbox;
pub mod queries;
pub mod raw;
pub mod records;
pub mod schema;
pub mod stats;
pub mod subjects;
pub mod units;

pub use conn::{AnyConnection, Conn, DatabaseUrl, Pool};

/// Values per `IN (…)` list: well under SQLite's and PostgreSQL's limits on bound parameters.
pub(crate) const IN_CHUNK: usize = 5_000;

/// What can go wrong in the store. Causes are for logs; the API maps these to 503/500
/// without their text.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL was refused (fail closed: never guess a backend).
    #[error("database URL refused: {0}")]
    BadUrl(String),
    /// Could not connect.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] diesel::ConnectionError),
    /// The pool could not hand out a connection (database down or saturated).
    #[error("no database connection available: {0}")]
    Pool(String),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// Migrations failed or could not be listed.
    #[error("migrations: {0}")]
    Migration(String),
    /// Stored data could not be read back into a domain type.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// What a store failure means for the caller, decided once here so that no layer above the
/// store matches diesel errors or message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The database cannot be reached or the pool is exhausted: retry in a few seconds.
    Unavailable,
    /// SQLite's single writer waited past `busy_timeout`: retry shortly.
    Busy,
    /// Lost a race (unique key, serialization check, deadlock victim): the same transaction
    /// may succeed when run again; nothing was written.
    Contended,
    /// A bug or corrupt data: retrying does not help.
    Bug,
}

impl StoreError {
    /// What this failure means; see [`Failure`].
    pub fn failure(&self) -> Failure {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            StoreError::Pool(_) | StoreError::Connect(_) => Failure::Unavailable,
            StoreError::Query(Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure,
                _,
            )) => Failure::Contended,
            StoreError::Query(Error::DatabaseError(kind, info)) => {
                let message = info.message();
                if message.contains("deadlock detected") {
                    Failure::Contended
                } else if message.contains("database is locked")
                    || message.contains("database is busy")
                {
                    Failure::Busy
                } else if matches!(kind, DatabaseErrorKind::ClosedConnection)
                    || message.contains("terminating connection")
                    || message.contains("server closed the connection")
                    || message.contains("no connection to the server")
                    || message.contains("the database system is")
                {
                    Failure::Unavailable
                } else {
                    Failure::Bug
                }
            }
            StoreError::Query(Error::BrokenTransactionManager) => Failure::Unavailable,
            _ => Failure::Bug,
        }
    }

    /// Whether running the same transaction again may succeed: it lost a race on a unique
    /// key, a serialization check, or was chosen as the victim of a deadlock (PostgreSQL
    /// `40P01`, which diesel reports with its message only).
    pub fn is_retryable(&self) -> bool {
        self.failure() == Failure::Contended
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StoreError::Pool(e.to_string())
    }
}

/// Current UTC time truncated to microseconds, the precision both backends keep.
pub fn now_utc() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    chrono::Timelike::with_nanosecond(&now, (now.and_utc().timestamp_subsec_micros()) * 1000)
        .unwrap_or(now)
}

/// Serializes stored UTC timestamps (kept without zone) as RFC 3339 with `Z`, as the API's
/// `date-time` promises: `#[serde(serialize_with = "crate::store::utc::ser")]`.
pub mod utc {
    use chrono::NaiveDateTime;
    use serde::Serializer;

    /// A timestamp.
    pub fn ser<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(
            &t.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        )
    }

    /// An optional timestamp.
    pub fn ser_opt<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => ser(t, s),
            None => s.serialize_none(),
        }
    }
}
