//! The audit chain in the database: writes append in order, verification passes, and any
//! tampering with a stored row (or removal of the newest) is caught and named.

use crate::common;

use diesel::connection::SimpleConnection;
use penex::store::audit::{self, NewAudit, Verification};

#[expect(clippy::unwrap_used, reason = "test setup")]
fn setup() -> (tempfile::TempDir, common::TestDb, penex::store::Conn) {
    let dir = tempfile::tempdir().unwrap();
    let db = common::TestDb::new(dir.path());
    let mut conn = penex::store::DatabaseUrl::parse(&db.url)
        .unwrap()
        .establish()
        .unwrap();
    penex::store::conn::run_migrations(&mut conn).unwrap();
    for i in 0..5 {
        penex::store::conn::write_tx(&mut conn, |c| {
            audit::append(
                c,
                &NewAudit {
                    actor: "unit:SH-310000",
                    action: "test.write",
                    target: &format!("t{i}"),
                    detail: "{}",
                },
            )
        })
        .unwrap();
    }
    (dir, db, conn)
}

#[test]
fn an_untouched_chain_verifies() {
    let (_d, _db, mut conn) = setup();
    assert_eq!(
        audit::verify(&mut conn).unwrap(),
        Verification::Intact { entries: 5 }
    );
}

#[test]
fn a_changed_row_is_caught_at_its_sequence_number() {
    let (_d, _db, mut conn) = setup();
    conn.batch_execute("UPDATE audit_log SET target = 'forged' WHERE seq = 3")
        .unwrap();
    match audit::verify(&mut conn).unwrap() {
        Verification::Broken { seq, .. } => assert_eq!(seq, 3),
        other => panic_on(other),
    }
}

#[test]
fn a_deleted_row_is_caught() {
    let (_d, _db, mut conn) = setup();
    conn.batch_execute("DELETE FROM audit_log WHERE seq = 2")
        .unwrap();
    assert!(matches!(
        audit::verify(&mut conn).unwrap(),
        Verification::Broken { seq: 3, .. }
    ));
}

#[test]
fn a_removed_tail_is_caught() {
    let (_d, _db, mut conn) = setup();
    conn.batch_execute("DELETE FROM audit_log WHERE seq = 5")
        .unwrap();
    assert!(matches!(
        audit::verify(&mut conn).unwrap(),
        Verification::Broken { .. }
    ));
}

fn panic_on(v: Verification) {
    unreachable!("tampering not caught: {v:?}")
}
