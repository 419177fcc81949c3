//! Failpoints in the write path (issue #17; docs/RELIABILITY.md, "Failpoints"): named places
//! before (and where it matters, after) the statements of a push, a revocation, a repair and an
//! outbox claim, where the proof harness and the tests make the statement fail or the process
//! abort, then check that no promise broke.
//!
//! Compiled in only for the harness and the tests: the `fail` crate's `failpoints` feature is
//! turned on by penex's dev-dependency, which `cargo test` and `cargo build --examples` unify
//! with the normal one. `cargo build --release --bin penex` (the Dockerfile) builds `fail`
//! without it, and every [`hit`] is then `Ok(())`.
//!
//! A point is configured from the `FAILPOINTS` environment variable when `penex serve` starts
//! ([`configure_from_env`]), in fail's syntax: `name=actions;name=actions`, an action being
//! `[count*]return[(arg)]` or `off`, chained with `->` (`2*off->1*return` fires on the third hit
//! and never again). `return` fails the statement with the error a lost database connection
//! gives ([`lost_connection`]: the API answers 503 problem+json); `return(abort)` calls
//! `std::process::abort()` there: a crash at that exact statement.
//!
//! Owns the list of points, [`POINTS`]; a test checks that every name in it occurs once in
//! `src/` and every point in `src/` is in it. Depends on nothing above the store.

use super::StoreError;

/// Every failpoint, by operation. The names say where: `<operation>.<step>`, the step being
/// the statement the point precedes (`commit`: the end of the transaction; `committed`: after
/// the commit, before the answer).
pub const POINTS: &[&str] = &[
    // A push: `service/ingest/apply.rs` and `store/batch.rs`, one transaction.
    "push.find_idempotent",
    "push.load_records",
    "push.load_keys",
    "push.load_subjects",
    "push.load_names",
    "push.load_linkable",
    "push.load_weak",
    "push.item",
    "push.insert_subjects",
    "push.set_link",
    "push.insert_keys",
    "push.insert_names",
    "push.insert_batch",
    "push.insert_submissions",
    "push.keep_version_json",
    "push.update_record",
    "push.insert_records",
    "push.insert_versions",
    "push.relink",
    "push.touched",
    "push.conflicts",
    "push.flags",
    "push.event_drafts",
    "push.stage_events",
    "push.audit",
    "push.write_events",
    "push.insert_idempotent",
    "push.commit",
    "push.committed",
    // A revocation: `service/revoke.rs`, one transaction.
    "revoke.find",
    "revoke.recheck",
    "revoke.update",
    "revoke.conflicts",
    "revoke.flags",
    "revoke.audit",
    "revoke.event",
    "revoke.flag_events",
    "revoke.commit",
    "revoke.committed",
    // A repair: `service/repair.rs`, one transaction; the per-record steps hit once a record.
    "repair.basis",
    "repair.find",
    "repair.mark",
    "repair.flags",
    "repair.audit",
    "repair.event",
    "repair.flag_events",
    "repair.commit",
    "repair.committed",
    // Delivery: `store/outbox.rs`, `publish/publisher.rs`. A round of the cursor (lease, read,
    // deliver, record) ...
    "outbox.lease_cursor",
    "outbox.read_round",
    "outbox.leased",
    "outbox.commit_round",
    "outbox.insert_exceptions",
    "outbox.head_failed",
    "outbox.marked",
    // ... and a retry of exceptions (claim, deliver, mark each).
    "outbox.lease",
    "outbox.lease_read",
    "outbox.lease_commit",
    "outbox.exceptions_leased",
    "outbox.mark_delivered",
    "outbox.mark_failed",
    "outbox.exception_marked",
];

/// The failpoint `name`: `Ok(())` unless it is configured to fire now (then [`fire`]).
pub fn hit(name: &'static str) -> Result<(), StoreError> {
    fail::fail_point!(name, |arg: Option<String>| fire(name, arg.as_deref()));
    // Without the `failpoints` feature the macro is empty and `name` unread.
    let _ = name;
    Ok(())
}

/// What a point does when it fires: with the argument `abort`, aborts the process (no
/// unwinding, no destructor, no flush: a crash at that statement); with `trace`, only says that
/// it was reached (the harness counts the hits of a run this way); otherwise fails the
/// statement as a lost database connection does. It says so on stderr first (unbuffered), so
/// that the harness can tell a point that fired from one that was not reached.
pub fn fire(name: &str, arg: Option<&str>) -> Result<(), StoreError> {
    match arg {
        Some("abort") => {
            eprintln!("failpoint {name} fired: abort");
            std::process::abort();
        }
        Some("trace") => {
            eprintln!("failpoint {name} reached");
            return Ok(());
        }
        _ => {}
    }
    eprintln!("failpoint {name} fired: error");
    tracing::warn!(failpoint = name, "failpoint fired: the statement fails");
    Err(lost_connection(name))
}

/// The error a statement gets when the database connection is lost under it (what diesel
/// reports for libpq's "server closed the connection unexpectedly"): [`StoreError::failure`]
/// says `Unavailable`, so the API answers 503 with `Retry-After`.
pub fn lost_connection(name: &str) -> StoreError {
    StoreError::Query(diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::ClosedConnection,
        Box::new(format!(
            "server closed the connection unexpectedly (failpoint {name})"
        )),
    ))
}

/// Configures the points named in the `FAILPOINTS` environment variable; the number
/// configured. An unknown point name or a malformed action is an error (a typo must not make a
/// run that injects nothing look like one that held). In a build without failpoints a set
/// variable is refused too: it would silently do nothing.
pub fn configure_from_env() -> Result<usize, String> {
    let Some(spec) = std::env::var_os("FAILPOINTS") else {
        return Ok(0);
    };
    let spec = spec
        .into_string()
        .map_err(|_| "FAILPOINTS is not UTF-8".to_owned())?;
    configure(&spec)
}

/// Configures the points of a `FAILPOINTS` value (see [`configure_from_env`]).
pub fn configure(spec: &str) -> Result<usize, String> {
    let entries: Vec<&str> = spec
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return Ok(0);
    }
    if !fail::has_failpoints() {
        return Err(
            "FAILPOINTS is set, but this build has no failpoints (they are compiled in only \
             for the tests and the proof harness)"
                .to_owned(),
        );
    }
    for entry in &entries {
        let (name, actions) = entry
            .split_once('=')
            .ok_or_else(|| format!("FAILPOINTS: `{entry}` is not name=actions"))?;
        let name = name.trim();
        if !POINTS.contains(&name) {
            return Err(format!("FAILPOINTS: no failpoint is named `{name}`"));
        }
        fail::cfg(name, actions.trim()).map_err(|e| format!("FAILPOINTS: {name}: {e}"))?;
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Failure;

    #[test]
    fn tests_are_built_with_failpoints() {
        // The dev-dependency turns the feature on for every test build; the production binary
        // has it off (checked with `cargo tree -e features`, docs/RELIABILITY.md).
        assert!(fail::has_failpoints());
    }

    #[test]
    fn an_injected_error_is_a_lost_connection() {
        let e = lost_connection("push.commit");
        assert_eq!(e.failure(), Failure::Unavailable);
        assert!(!e.is_retryable());
        // `service::Error` answers `Unavailable` with 503 (tested in `service/error.rs`).
    }

    #[test]
    fn a_configured_point_fires_on_its_ordinal_only() {
        // A name no statement uses, so that no other test running in parallel trips on it.
        fail::cfg("test.ordinal", "2*off->1*return").unwrap();
        assert!(hit("test.ordinal").is_ok());
        assert!(hit("test.ordinal").is_ok());
        let third = hit("test.ordinal").unwrap_err();
        assert_eq!(third.failure(), Failure::Unavailable);
        assert!(third.to_string().contains("failpoint test.ordinal"));
        assert!(hit("test.ordinal").is_ok());
        fail::cfg("test.ordinal", "return(trace)").unwrap();
        assert!(hit("test.ordinal").is_ok());
        fail::remove("test.ordinal");
    }

    #[test]
    fn unknown_names_and_bad_actions_are_refused() {
        assert_eq!(configure("").unwrap(), 0);
        assert!(
            configure("push.nowhere=return")
                .unwrap_err()
                .contains("push.nowhere")
        );
        assert!(
            configure("push.commit")
                .unwrap_err()
                .contains("name=actions")
        );
        assert!(configure("push.commit=explode").is_err());
    }
}
