//! `penex import`, run as the real binary against the backend the environment selects (SQLite
//! by default, PostgreSQL with `PENEX_TEST_DATABASE_URL`): CSV with Chinese headers, CSV with
//! column codes in GB18030, XLSX; outcomes in the report, records and audit entries in the
//! database, re-imports, another party's unit, and files or units that are refused.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use crate::common;

use common::TestDb;
use common::records::{company_record, person_record, resident_id};
use common::units::{JINGAN, PENGPU};
use diesel::RunQueryDsl;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

/// Column code → Chinese item name, for the files with Chinese headers.
const CHINESE: [(&str, &str); 20] = [
    ("CF_XDR_MC", "行政相对人名称"),
    ("CF_XDR_LB", "行政相对人类别"),
    ("CF_XDR_SHXYM", "统一社会信用代码"),
    ("CF_XDR_ZJLX", "证件类型"),
    ("CF_XDR_ZJHM", "证件号码"),
    ("CF_WSH", "行政处罚决定书文号"),
    ("CF_WFXW", "违法行为类型"),
    ("CF_SY", "违法事实"),
    ("CF_YJ", "处罚依据"),
    ("CF_CFLB", "处罚类别"),
    ("CF_NR", "处罚内容"),
    ("CF_NR_FK", "罚款金额(万元)"),
    ("CF_JDRQ", "处罚决定日期"),
    ("CF_YXQ", "处罚有效期"),
    ("CF_CFJG", "处罚机关"),
    ("CF_SJLY", "数据来源单位"),
    ("filed_date", "立案日期"),
    ("place_division", "违法行为发生地"),
    ("BZ", "备注"),
    ("颜色", "颜色"),
];

/// A data folder and a database, and the binary run against them.
struct Env {
    dir: tempfile::TempDir,
    db: TestDb,
}

impl Env {
    fn new() -> Env {
        let env = Env::unmigrated();
        if env.db.is_postgres() {
            // The CLI never migrates PostgreSQL implicitly.
            let out = env.penex(&["migrate"]);
            assert!(out.status.success(), "{}", stderr(&out));
        }
        env
    }

    /// A fresh database without `penex migrate` (SQLite migrates at every start anyway).
    fn unmigrated() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::new(dir.path());
        Env { dir, db }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn penex(&self, args: &[&str]) -> Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_penex"));
        // penex refuses unknown PENEX_* settings, and the test's own (PENEX_TEST_…) are such.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PENEX_") {
                command.env_remove(key);
            }
        }
        command
            .args(args)
            .env("PENEX_DATA_DIR", self.dir.path())
            .env("PENEX_DATABASE_URL", &self.db.url)
            .env("PENEX_UNITS_FILE", common::repo().join("config/units.toml"))
            .env("USER", "tester")
            .output()
            .unwrap()
    }

    fn import(&self, unit: &str, file: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["import", "--unit", unit];
        args.extend_from_slice(extra);
        args.push(file.to_str().unwrap());
        self.penex(&args)
    }

    fn conn(&self) -> penex::store::Conn {
        penex::store::DatabaseUrl::parse(&self.db.url)
            .unwrap()
            .establish()
            .unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let rows: Vec<N> = diesel::sql_query(sql).load(&mut self.conn()).unwrap();
        rows[0].n
    }

    /// `(actor, target, detail)` of every `record.push` audit entry, oldest first.
    fn pushes(&self) -> Vec<(String, String, Value)> {
        #[derive(diesel::QueryableByName)]
        struct A {
            #[diesel(sql_type = diesel::sql_types::Text)]
            actor: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            target: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            detail: String,
        }
        let rows: Vec<A> = diesel::sql_query(
            "SELECT actor, target, detail FROM audit_log WHERE action = 'record.push' ORDER BY seq",
        )
        .load(&mut self.conn())
        .unwrap();
        rows.into_iter()
            .map(|a| (a.actor, a.target, serde_json::from_str(&a.detail).unwrap()))
            .collect()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The report's lines as `(row, status, record_id, version, errors)`.
fn report(path: &Path) -> Vec<[String; 5]> {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("the report starts with a BOM");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["row", "status", "record_id", "version", "errors"]
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            std::array::from_fn(|i| r.get(i).unwrap_or_default().to_owned())
        })
        .collect()
}

fn statuses(lines: &[[String; 5]]) -> Vec<(usize, String)> {
    lines
        .iter()
        .map(|l| (l[0].parse().unwrap(), l[1].clone()))
        .collect()
}

/// A CSV of `rows` (`None` = a blank row) under `columns` (keys of the records), with the
/// headers `header(column)`.
fn csv_bytes(columns: &[&str], header: impl Fn(&str) -> String, rows: &[Option<Value>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns.iter().map(|c| header(c))).unwrap();
    for row in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match row {
                Some(r) => r[*c].as_str().unwrap_or_default().to_owned(),
                None => String::new(),
            })
            .collect();
        w.write_record(&cells).unwrap();
    }
    w.into_inner().unwrap()
}

fn chinese(column: &str) -> String {
    CHINESE
        .iter()
        .find(|(c, _)| *c == column)
        .map(|(_, z)| (*z).to_owned())
        .unwrap()
}

/// Rows 2–8 of the Chinese-header file: two companies, a bad checksum, a duplicate of row 2,
/// a blank row, a natural person (a street unit below Jing'an), an unknown header's cell.
fn mixed_rows() -> Vec<Option<Value>> {
    let mut bad = company_record(JINGAN.name, "沪静城管罚字〔2025〕第903号", 93);
    bad["CF_XDR_SHXYM"] = json!("91310106MA0000002X");
    let mut person = person_record(PENGPU.name, "沪静彭浦罚字[2025]第97号", &resident_id(97));
    // person_record uses Chinese keys; give it the column codes the columns list.
    let mut coded = serde_json::Map::new();
    for (code, zh) in CHINESE {
        if let Some(v) = person.get(zh) {
            coded.insert(code.to_owned(), v.clone());
        }
    }
    person = Value::Object(coded);
    let mut first = company_record(JINGAN.name, "沪静城管罚字〔2025〕第901号", 91);
    first["颜色"] = json!("红");
    vec![
        Some(first.clone()),
        Some(company_record(
            JINGAN.name,
            "沪静城管罚字〔2025〕第902号",
            92,
        )),
        Some(bad),
        Some(first),
        None,
        Some(person),
    ]
}

fn all_columns() -> Vec<&'static str> {
    CHINESE.iter().map(|(c, _)| *c).collect()
}

#[test]
fn a_csv_with_chinese_headers_goes_through_the_push_path_batch_by_batch() {
    let env = Env::new();
    let file = env.path("静安 2025.csv");
    std::fs::write(&file, csv_bytes(&all_columns(), chinese, &mixed_rows())).unwrap();

    let out = env.import(JINGAN.code, &file, &["--batch-size", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "6 rows: 3 accepted, 1 duplicate, 0 corrected, 1 rejected, 1 skipped, 0 refused"
        ),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("unknown header(s) \"颜色\""), "{err}");
    assert!(err.contains("1 row(s) were rejected"), "{err}");

    let lines = report(&env.path("静安 2025.report.csv"));
    assert_eq!(
        statuses(&lines),
        [
            (2, "accepted".into()),
            (3, "accepted".into()),
            (4, "rejected".into()),
            (5, "duplicate".into()),
            (6, "skipped".into()),
            (7, "accepted".into()),
        ]
    );
    assert!(lines[0][2].starts_with("rec_"));
    assert_eq!(lines[0][3], "1");
    assert_eq!(
        lines[3][2], lines[0][2],
        "the duplicate names the first row's record"
    );
    assert!(
        lines[2][4].starts_with("/rows/4/统一社会信用代码 invalid_checksum: "),
        "{}",
        lines[2][4]
    );
    assert!(lines[4][2].is_empty() && lines[4][4].is_empty());

    // The accepted records are stored, with every submission (the rejected one too).
    let mut conn = env.conn();
    for line in [&lines[0], &lines[1], &lines[5]] {
        let row = penex::store::records::find(&mut conn, &line[2])
            .unwrap()
            .expect("stored");
        assert_eq!(row.version, 1);
    }
    assert_eq!(env.count("SELECT COUNT(*) AS n FROM records"), 3);
    assert_eq!(env.count("SELECT COUNT(*) AS n FROM submissions"), 5);
    assert_eq!(
        env.count(&format!(
            "SELECT COUNT(*) AS n FROM submissions WHERE unit_code = '{}'",
            JINGAN.code
        )),
        5
    );

    // One audit entry per batch of two non-blank rows: rows 2-3, 4-5, 7.
    let pushes = env.pushes();
    assert_eq!(pushes.len(), 3);
    for (i, (actor, target, _)) in pushes.iter().enumerate() {
        assert_eq!(actor, "operator:cli:tester as unit:SH-310106");
        assert!(target.starts_with("import-静安 2025.csv-"), "{target}");
        assert!(target.ends_with(&format!("-{}", i + 1)), "{target}");
    }
    assert_eq!(pushes[0].2["accepted"], 2);
    assert_eq!(pushes[1].2["rejected"], 1);
    assert_eq!(pushes[1].2["duplicate"], 1);

    // Again: every good row is a duplicate now, nothing new stored.
    let again = env.import(JINGAN.code, &file, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains(
            "6 rows: 0 accepted, 4 duplicate, 0 corrected, 1 rejected, 1 skipped, 0 refused"
        ),
        "{}",
        stdout(&again)
    );
    let lines = report(&env.path("静安 2025.report.csv"));
    assert_eq!(
        statuses(&lines)
            .into_iter()
            .map(|(_, s)| s)
            .collect::<Vec<_>>(),
        [
            "duplicate",
            "duplicate",
            "rejected",
            "duplicate",
            "skipped",
            "duplicate"
        ]
    );
    assert_eq!(env.count("SELECT COUNT(*) AS n FROM records"), 3);
    assert_eq!(env.pushes().len(), 4, "one batch of 500 this time");

    let verify = env.penex(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}

#[test]
fn a_unit_of_another_party_gets_refused_rows_and_nothing_is_stored() {
    let env = Env::new();
    let file = env.path("records.csv");
    std::fs::write(&file, csv_bytes(&all_columns(), chinese, &mixed_rows())).unwrap();

    let out = env.import("JS-320000", &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "6 rows: 0 accepted, 0 duplicate, 0 corrected, 0 rejected, 1 skipped, 5 refused"
        ),
        "{}",
        stdout(&out)
    );
    let lines = report(&env.path("records.report.csv"));
    assert_eq!(
        statuses(&lines)
            .into_iter()
            .map(|(_, s)| s)
            .collect::<Vec<_>>(),
        [
            "refused", "refused", "refused", "refused", "skipped", "refused"
        ]
    );
    assert!(
        lines[0][4].starts_with("/rows/2/处罚机关 authority_not_yours: "),
        "{}",
        lines[0][4]
    );
    assert!(lines[0][4].contains(JINGAN.name), "{}", lines[0][4]);
    // Row 4 fails its own checks but names no authority outside the rights: its batch sank it.
    assert!(
        lines[2][4].starts_with("/rows/4 batch_refused: "),
        "{}",
        lines[2][4]
    );
    assert_eq!(env.count("SELECT COUNT(*) AS n FROM records"), 0);
    assert_eq!(env.count("SELECT COUNT(*) AS n FROM submissions"), 0);
    assert!(env.pushes().is_empty());
}

#[test]
fn only_the_batches_with_foreign_rows_are_refused() {
    let env = Env::new();
    let file = env.path("mixed.csv");
    let columns: Vec<&str> = all_columns();
    let rows = vec![
        Some(company_record(
            JINGAN.name,
            "沪静城管罚字〔2025〕第911号",
            111,
        )),
        Some(company_record(
            "上海市黄浦区城市管理行政执法局",
            "沪黄城管罚字〔2025〕第1号",
            112,
        )),
        Some(company_record(
            JINGAN.name,
            "沪静城管罚字〔2025〕第913号",
            113,
        )),
    ];
    std::fs::write(&file, csv_bytes(&columns, |c| c.to_owned(), &rows)).unwrap();
    let out = env.import(JINGAN.code, &file, &["--batch-size", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = report(&env.path("mixed.report.csv"));
    assert_eq!(
        statuses(&lines),
        [
            (2, "refused".into()),
            (3, "refused".into()),
            (4, "accepted".into()),
        ]
    );
    assert!(
        lines[1][4].starts_with("/rows/3/CF_CFJG authority_not_yours: "),
        "{}",
        lines[1][4]
    );
    assert!(lines[0][4].contains("row(s) 3 "), "{}", lines[0][4]);
    assert_eq!(env.count("SELECT COUNT(*) AS n FROM records"), 1);
    assert_eq!(env.pushes().len(), 1);
}

#[test]
fn a_gb18030_csv_with_column_codes_is_read() {
    let env = Env::new();
    let file = env.path("gbk.csv");
    let text =
        String::from_utf8(csv_bytes(&all_columns(), |c| c.to_owned(), &mixed_rows())).unwrap();
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    std::fs::write(&file, &gbk).unwrap();

    let out = env.import(JINGAN.code, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("read as GB18030"), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "6 rows: 3 accepted, 1 duplicate, 0 corrected, 1 rejected, 1 skipped, 0 refused"
        ),
        "{}",
        stdout(&out)
    );
    let lines = report(&env.path("gbk.report.csv"));
    assert!(
        lines[2][4].starts_with("/rows/4/CF_XDR_SHXYM invalid_checksum: "),
        "{}",
        lines[2][4]
    );
    // The names were decoded, not mangled: the stored subject name is the Chinese one.
    let row = penex::store::records::find(&mut env.conn(), &lines[0][2])
        .unwrap()
        .unwrap();
    assert_eq!(row.subject_name, "上海测试建筑工程有限公司91");
}

#[test]
fn an_xlsx_workbook_is_read_with_dates_numbers_and_sheets() {
    let env = Env::new();
    let file = env.path("records.xlsx");
    std::fs::copy(common::repo().join("tests/fixtures/records.xlsx"), &file).unwrap();

    let out = env.import(JINGAN.code, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "5 rows: 2 accepted, 0 duplicate, 1 corrected, 1 rejected, 1 skipped, 0 refused"
        ),
        "{}",
        stdout(&out)
    );
    let lines = report(&env.path("records.report.csv"));
    assert_eq!(
        statuses(&lines),
        [
            (2, "accepted".into()),
            (3, "accepted".into()),
            (4, "skipped".into()),
            (5, "rejected".into()),
            (6, "corrected".into()),
        ]
    );
    assert!(
        lines[3][4].starts_with("/rows/5/处罚决定日期 invalid_date: "),
        "{}",
        lines[3][4]
    );
    assert_eq!(
        (lines[4][2].as_str(), lines[4][3].as_str()),
        (lines[0][2].as_str(), "2")
    );
    // Date cells became dates and number cells amounts: 3 万元 after the correction.
    let row = penex::store::records::find(&mut env.conn(), &lines[0][2])
        .unwrap()
        .unwrap();
    assert_eq!(
        row.decision_date,
        chrono::NaiveDate::from_ymd_opt(2025, 3, 20).unwrap()
    );
    assert_eq!(row.fine_fen, Some(3_000_000));
    assert_eq!(env.pushes().len(), 1);

    let report_path = env.path("second.csv");
    let second = env.import(
        JINGAN.code,
        &file,
        &[
            "--sheet",
            "第二批",
            "--report",
            report_path.to_str().unwrap(),
        ],
    );
    assert!(second.status.success(), "{}", stderr(&second));
    let lines = report(&report_path);
    assert_eq!(statuses(&lines), [(2, "accepted".into())]);
    let row = penex::store::records::find(&mut env.conn(), &lines[0][2])
        .unwrap()
        .unwrap();
    assert_eq!(row.fine_fen, Some(500_000));

    let missing = env.import(JINGAN.code, &file, &["--sheet", "第三批"]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("no worksheet named \"第三批\""));
}

#[test]
fn bad_files_and_bad_units_fail_with_a_clear_message_and_store_nothing() {
    let env = Env::new();
    let good = env.path("good.csv");
    std::fs::write(&good, csv_bytes(&all_columns(), chinese, &mixed_rows())).unwrap();

    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            b"CF_WSH\n\xff\xff\n".to_vec(),
            "bad.csv",
            "iconv -f ENCODING -t UTF-8",
        ),
        (
            b"\xff\xfeC\0F\0".to_vec(),
            "utf16.csv",
            "iconv -f UTF-16 -t UTF-8",
        ),
        (
            "2025年行政处罚信息\nCF_WSH\n1\n".as_bytes().to_vec(),
            "title.csv",
            "remove title rows",
        ),
        (Vec::new(), "empty.csv", "no header row"),
        (b"x".to_vec(), "records.xls", "save it as .xlsx"),
        (
            b"not a zip".to_vec(),
            "broken.xlsx",
            "not a readable XLSX file",
        ),
    ];
    for (bytes, name, message) in cases {
        let path = env.path(name);
        std::fs::write(&path, bytes).unwrap();
        let out = env.import(JINGAN.code, &path, &[]);
        assert!(!out.status.success(), "{name}");
        assert!(stderr(&out).contains(message), "{name}: {}", stderr(&out));
    }
    let missing = env.import(JINGAN.code, &env.path("missing.csv"), &[]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("cannot read"),
        "{}",
        stderr(&missing)
    );

    for (unit, message) in [
        ("SH-310199", "not registered"),
        ("sh-310106", "--unit"),
        (PENGPU.code, "disabled"),
    ] {
        if unit == PENGPU.code {
            let disable = env.penex(&["unit", "disable", unit]);
            assert!(disable.status.success(), "{}", stderr(&disable));
        }
        let out = env.import(unit, &good, &[]);
        assert!(!out.status.success(), "{unit}");
        assert!(stderr(&out).contains(message), "{unit}: {}", stderr(&out));
    }
    let too_big = env.import(JINGAN.code, &good, &["--batch-size", "5000"]);
    assert!(!too_big.status.success());
    assert!(stderr(&too_big).contains("limits.max_batch_items"));

    assert_eq!(env.count("SELECT COUNT(*) AS n FROM submissions"), 0);
    assert!(env.pushes().is_empty());
    assert!(!env.path("good.report.csv").exists());
}

#[test]
fn pending_postgresql_migrations_are_refused_like_serve_does() {
    let env = Env::unmigrated();
    let file = env.path("records.csv");
    std::fs::write(&file, csv_bytes(&all_columns(), chinese, &mixed_rows())).unwrap();
    let out = env.import(JINGAN.code, &file, &[]);
    if env.db.is_postgres() {
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("pending migration(s)") && stderr(&out).contains("penex migrate"),
            "{}",
            stderr(&out)
        );
        assert!(!env.path("records.report.csv").exists());
    } else {
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(env.count("SELECT COUNT(*) AS n FROM records"), 3);
    }
}

#[test]
fn without_the_servers_personal_data_key_an_import_into_a_used_database_is_refused() {
    let env = Env::new();
    let file = env.path("records.csv");
    std::fs::write(&file, csv_bytes(&all_columns(), chinese, &mixed_rows())).unwrap();
    let first = env.import(JINGAN.code, &file, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let key = env.dir.path().join("keys/pii.key");
    assert!(key.exists());

    // Another data folder against the same database would seal ID numbers with a new key.
    std::fs::remove_file(&key).unwrap();
    let out = env.import(JINGAN.code, &file, &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no personal-data key"),
        "{}",
        stderr(&out)
    );
    assert!(!key.exists(), "no new key was made");
    assert_eq!(env.pushes().len(), 1);
}

/// `penex catalog check`: a unit's file (CSV with Chinese headers, or JSON lines) is placed in
/// the catalogue before pushing — coverage, how each was matched, the unmapped texts with their
/// legal bases — and nothing is written.
#[test]
fn catalog_check_reports_coverage_and_the_unmapped_texts_of_a_file() {
    let env = Env::new();
    assert!(env.penex(&["migrate"]).status.success());
    let csv = env.path("check.csv");
    std::fs::write(
        &csv,
        "违法行为类型,处罚依据,处罚机关\n\
         跨门营业,,上海市静安区城市管理行政执法局\n\
         违反规划管理规定,《中华人民共和国城乡规划法》第六十四条,上海市静安区城市管理行政执法局\n\
         违反动物防疫规定,《中华人民共和国动物防疫法》第九十二条,上海市静安区城市管理行政执法局\n\
         违反动物防疫规定,,某某街道办事处\n",
    )
    .unwrap();
    let out = env.penex(&["catalog", "check", csv.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}{text}", stderr(&out));
    // The last row's authority is not registered and has no USCC: its party is unknown.
    assert!(
        text.contains("records: 4  mapped: 2 of 3 (66.7 %)"),
        "{text}"
    );
    assert!(text.contains("party unknown"), "{text}");
    assert!(text.contains("illegal_construction"), "{text}");
    assert!(text.contains("违反动物防疫规定"), "{text}");
    assert!(
        text.contains("《中华人民共和国动物防疫法》第九十二条"),
        "{text}"
    );
    let by_basis = text
        .lines()
        .find(|l| l.trim_start().starts_with("legal_basis"))
        .unwrap();
    assert!(by_basis.contains(" 1 "), "{by_basis}");
    // With the party given, every row is judged.
    let out = env.penex(&["catalog", "check", "--party", "SH", csv.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("mapped: 2 of 4 (50.0 %)"), "{text}");
    // JSON lines, nested keys.
    let jsonl = env.path("check.jsonl");
    std::fs::write(
        &jsonl,
        "{\"violation_type\":\"擅自占用城市道路从事经营活动\",\"legal_basis\":\"\",\"authority\":{\"name\":\"杭州市综合行政执法局\"}}\n\n\
         {\"CF_WFXW\":\"擅自倾倒建筑垃圾\",\"CF_CFJG\":\"苏州市城市管理局\"}\n",
    )
    .unwrap();
    let out = env.penex(&["catalog", "check", jsonl.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("records: 2  mapped: 2 of 2 (100.0 %)"),
        "{text}"
    );
    assert!(text.contains("road_occupation_business"), "{text}");
    // Bad input: a clear message, no panic.
    let out = env.penex(&["catalog", "check", "--party", "XX", csv.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("expected SH, JS, ZJ or AH"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&jsonl, "not json\n").unwrap();
    let out = env.penex(&["catalog", "check", jsonl.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 1"), "{}", stderr(&out));
    // Nothing was written.
    assert_eq!(env.count("SELECT COUNT(*) AS n FROM records"), 0);
}
