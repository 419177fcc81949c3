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
