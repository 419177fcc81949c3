//! Migrations: the same names for both dialects, and every migration reverts cleanly
//! (up → down → up) on the backend under test.

use crate::common;

use std::collections::BTreeSet;

#[expect(clippy::unwrap_used, reason = "test helper")]
fn names(dialect: &str) -> BTreeSet<String> {
    let dir = common::repo().join("migrations").join(dialect);
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_dialects_have_the_same_migrations() {
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
    for name in &sqlite {
        for dialect in ["sqlite", "postgres"] {
            for file in ["up.sql", "down.sql"] {
                let p = common::repo()
                    .join("migrations")
                    .join(dialect)
                    .join(name)
                    .join(file);
                assert!(p.exists(), "{} is missing", p.display());
            }
        }
    }
}

#[test]
fn migrations_apply_revert_and_apply_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::TestDb::new(dir.path());
    let url = penex::store::DatabaseUrl::parse(&db.url).unwrap();
    let mut conn = url.establish().unwrap();
    let applied = penex::store::conn::run_migrations(&mut conn).unwrap();
    assert_eq!(applied.len(), names("sqlite").len());
    assert!(
        penex::store::conn::pending_migrations(&mut conn)
            .unwrap()
            .is_empty()
    );
    let reverted = penex::store::conn::revert_all_migrations(&mut conn).unwrap();
    assert_eq!(reverted, applied.len());
    assert_eq!(
        penex::store::conn::pending_migrations(&mut conn)
            .unwrap()
            .len(),
        applied.len()
    );
    let again = penex::store::conn::run_migrations(&mut conn).unwrap();
    assert_eq!(again, applied);
}

/// The version of `2026-12-08-000010_event_log_outbox`, as diesel names it.
const EVENT_LOG_OUTBOX: &str = "20261208000010";

/// Reverts migrations, newest first, until the one of `version` is reverted.
#[expect(clippy::unwrap_used, clippy::panic, reason = "test helper")]
fn revert_through(conn: &mut penex::store::Conn, version: &str) {
    for _ in 0..100 {
        let reverted = penex::store::conn::revert_last_migration(conn).unwrap();
        if reverted.replace('-', "").starts_with(version) {
            return;
        }
    }
    panic!("{version} was never reverted");
}

/// The event log becomes the outbox (issue #16): existing outbox rows move to the delivery
/// cursor and its exceptions without losing an undelivered event or a dead letter's history,
/// and the way back rebuilds the same rows.
#[test]
fn outbox_rows_move_to_the_cursor_and_back() {
    use diesel::prelude::*;
    use penex::store::outbox;
    let dir = tempfile::tempdir().unwrap();
    let db = common::TestDb::new(dir.path());
    let url = penex::store::DatabaseUrl::parse(&db.url).unwrap();
    let mut conn = url.establish().unwrap();
    penex::store::conn::run_migrations(&mut conn).unwrap();
    revert_through(&mut conn, EVENT_LOG_OUTBOX);
    let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    let subjects = ["sub_a", "sub_a", "sub_b", "sub_c", "sub_c"];
    let rows: Vec<penex::store::events::EventRow> = (1..=5_i64)
        .map(|seq| penex::store::events::EventRow {
            seq,
            id: format!("evt_{seq}"),
            event_type: "record.published".into(),
            subject_id: subjects[usize::try_from(seq - 1).unwrap()].into(),
            record_id: None,
            flag_id: None,
            jws: format!("jws{seq}"),
            kid: "k".into(),
            created_at: at("2026-12-01 10:00:00"),
        })
        .collect();
    penex::store::events::insert_many(&mut conn, &rows).unwrap();
    // (seq, status, attempts, last_error, delivered_at)
    let old = [
        (1, "delivered", 1, None, Some("2026-12-01 10:00:01")),
        (2, "delivered", 3, None, Some("2026-12-01 10:05:00")),
        (3, "dead", 12, Some("HTTP 503"), None),
        (4, "pending", 0, None, None),
        (5, "pending", 2, Some("connector unreachable"), None),
    ];
    for (seq, status, attempts, error, delivered) in old {
        diesel::sql_query(format!(
            "INSERT INTO outbox (event_seq, event_id, subject_id, status, attempts, \
             next_attempt_at, last_error, delivered_at, created_at) VALUES ({seq}, 'evt_{seq}', \
             '{}', '{status}', {attempts}, '2026-12-01 10:00:00', {}, {}, '2026-12-01 10:00:00')",
            subjects[seq - 1],
            error.map_or("NULL".to_owned(), |e| format!("'{e}'")),
            delivered.map_or("NULL".to_owned(), |d| format!("'{d}'")),
        ))
        .execute(&mut conn)
        .unwrap();
    }
    penex::store::conn::run_migrations(&mut conn).unwrap();

    let s = outbox::stats(&mut conn).unwrap();
    assert_eq!(s.delivered_through, 5);
    assert_eq!(
        (s.delivered, s.dead, s.pending, s.retrying),
        (2, 1, 2, 1),
        "{s:?}"
    );
    let first = outbox::find(&mut conn, "evt_1").unwrap().unwrap();
    assert_eq!(first.status, "delivered");
    assert_eq!(first.delivered_at, Some(at("2026-12-01 10:00:01")));
    let second = outbox::find(&mut conn, "evt_2").unwrap().unwrap();
    assert_eq!((second.status.as_str(), second.attempts), ("delivered", 3));
    let dead = outbox::list(&mut conn, Some("dead"), 0, 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (
            dead[0].event_seq,
            dead[0].attempts,
            dead[0].last_error.as_deref()
        ),
        (3, 12, Some("HTTP 503"))
    );
    let pending: Vec<i64> = outbox::list(&mut conn, Some("pending"), 0, 10)
        .unwrap()
        .iter()
        .map(|r| r.event_seq)
        .collect();
    assert_eq!(pending, [4, 5]);

    // And back: the same statuses and attempts per event.
    revert_through(&mut conn, EVENT_LOG_OUTBOX);
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        event_seq: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        attempts: i64,
    }
    let back: Vec<Row> =
        diesel::sql_query("SELECT event_seq, status, attempts FROM outbox ORDER BY event_seq")
            .load(&mut conn)
            .unwrap();
    let want: Vec<Row> = old
        .iter()
        .map(|(seq, status, attempts, ..)| Row {
            event_seq: i64::try_from(*seq).unwrap(),
            status: (*status).to_owned(),
            attempts: *attempts,
        })
        .collect();
    assert_eq!(back, want);
    penex::store::conn::run_migrations(&mut conn).unwrap();
}
