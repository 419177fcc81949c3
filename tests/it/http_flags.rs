//! Joint-discipline flags over mutual TLS, on both backends: each default rule raised, not
//! quite raised, withdrawn on revocation, expired by the sweeper (injected clock), repaired too
//! early and on time; conflict losers and weak subjects never count.

use crate::common;

use chrono::{Duration, NaiveDate};
use common::records::company_record;
use common::units::{Authority, HANGZHOU, QINGPU, SUZHOU};
use common::{TestApp, Who, problem};
use serde_json::{Value, json};

fn today() -> NaiveDate {
    penex::domain::clock::today_shanghai()
}

/// A company's penalty decided `days_ago`, for an act on the day before; `violation` as written.
#[expect(clippy::indexing_slicing, reason = "test helper")]
fn penalty(
    unit: Authority,
    no: &str,
    seed: u32,
    violation: &str,
    days_ago: i64,
    fine_wan: &str,
) -> Value {
    let decided = today() - Duration::days(days_ago);
    let act = decided - Duration::days(12);
    let mut r = company_record(unit.name, no, seed);
    r["CF_WFXW"] = json!(violation);
    r["CF_SY"] = json!(format!(
        "当事人于{}年{}月{}日{}。",
        act.format("%Y"),
        act.format("%-m"),
        act.format("%-d"),
        violation
    ));
    r["CF_JDRQ"] = json!(decided.to_string());
    r["CF_YXQ"] = json!((decided + Duration::days(365)).to_string());
    r["filed_date"] = json!((act + Duration::days(1)).to_string());
    r["CF_NR_FK"] = json!(fine_wan);
    r["CF_NR"] = json!(format!("罚款{fine_wan}万元"));
    r
}

#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "test helper")]
async fn push(app: &TestApp, unit: Authority, rec: &Value) -> Value {
    let c = app.unit(unit);
    let out: Value = app
        .push(&c, &json!({ "records": [rec] }))
        .await
        .json()
        .await
        .unwrap();
    let item = out["items"][0].clone();
    assert!(
        matches!(
            item["status"].as_str(),
            Some("accepted" | "corrected" | "conflict")
        ),
        "{item}"
    );
    item
}

#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "test helper")]
async fn flags_of(app: &TestApp, subject: &str) -> Vec<Value> {
    let page: Value = app
        .client(Who::Analyst)
        .get(app.url(&format!("/v1/flags?subject={subject}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

fn with_rule<'a>(flags: &'a [Value], rule: &str) -> Option<&'a Value> {
    flags.iter().find(|f| f["rule_id"] == rule)
}

#[tokio::test]
async fn cross_region_repeat_is_raised_by_the_third_penalty_in_a_second_party() {
    let app = TestApp::start().await;
    let a = push(
        &app,
        QINGPU,
        &penalty(
            QINGPU,
            "沪青城管罚字〔2026〕第1号",
            21,
            "占道经营",
            200,
            "0.05",
        ),
    )
    .await;
    push(
        &app,
        QINGPU,
        &penalty(
            QINGPU,
            "沪青城管罚字〔2026〕第2号",
            21,
            "擅自设置户外广告",
            150,
            "0.05",
        ),
    )
    .await;
    let subject = app.subject_of(a["record_id"].as_str().unwrap()).await;
    // Not quite: two penalties, one party.
    assert!(with_rule(&flags_of(&app, &subject).await, "cross_region_repeat").is_none());
    push(
        &app,
        SUZHOU,
        &penalty(
            SUZHOU,
            "苏城管罚决〔2026〕第3号",
            21,
            "损毁绿化",
            100,
            "0.05",
        ),
    )
    .await;
    let flags = flags_of(&app, &subject).await;
    let f = with_rule(&flags, "cross_region_repeat").expect("flag raised");
    assert_eq!(f["status"], "active");
    assert_eq!(f["severity"], "focus");
    assert_eq!(f["basis"].as_array().unwrap().len(), 3);
    let from = today() - Duration::days(100);
    assert_eq!(f["effective_from"], from.to_string());
    // The subject view lists it.
    let view: Value = app
        .client(Who::Analyst)
        .get(app.url(&format!("/v1/subjects/{subject}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["flags"][0]["rule_id"], "cross_region_repeat");
    app.stop().await;
}

#[tokio::test]
async fn construction_waste_flags_are_withdrawn_when_a_basis_record_is_revoked() {
    let app = TestApp::start().await;
    let a = push(
        &app,
        QINGPU,
        &penalty(
            QINGPU,
            "沪青城管罚字〔2026〕第11号",
            31,
            "擅自倾倒建筑垃圾",
            300,
            "2",
        ),
    )
    .await;
    let subject = app.subject_of(a["record_id"].as_str().unwrap()).await;
    assert!(flags_of(&app, &subject).await.is_empty());
    let b = push(
        &app,
        HANGZHOU,
        &penalty(
            HANGZHOU,
            "杭综执罚〔2026〕第12号",
            31,
            "未经许可运输建筑垃圾",
            120,
            "2",
        ),
    )
    .await;
    let flags = flags_of(&app, &subject).await;
    let f = with_rule(&flags, "construction_waste_cross_border").expect("raised");
    assert_eq!(f["severity"], "discipline");
    let id = f["id"].as_str().unwrap().to_owned();
    // Revoke one side: withdrawn, in the same transaction as the revocation.
    let hz = app.unit(HANGZHOU);
    let resp = hz
        .post(app.url(&format!(
            "/v1/records/{}/revoke",
            b["record_id"].as_str().unwrap()
        )))
        .json(&json!({"reason": "litigation"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let after: Value = app
        .client(Who::Integrator)
        .get(app.url(&format!("/v1/flags/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["status"], "withdrawn", "{after}");
    assert_eq!(after["version"], 2);
    let history = after["history"].as_array().unwrap();
    assert_eq!(history[0]["status"], "active");
    assert_eq!(history[1]["cause"], "revoke");
    app.stop().await;
}

#[tokio::test]
async fn one_large_construction_waste_fine_or_a_revoked_licence_is_enough() {
    let app = TestApp::start().await;
    // 9.9999 万元 is not quite 100 000 yuan; 10 万元 is.
    let small = push(
        &app,
        SUZHOU,
        &penalty(
            SUZHOU,
            "苏城管罚决〔2026〕第21号",
            41,
            "擅自倾倒建筑垃圾",
            60,
            "9.9999",
        ),
    )
    .await;
    let s1 = app.subject_of(small["record_id"].as_str().unwrap()).await;
    assert!(flags_of(&app, &s1).await.is_empty());
    let big = push(
        &app,
        SUZHOU,
        &penalty(
            SUZHOU,
            "苏城管罚决〔2026〕第22号",
            42,
            "擅自倾倒建筑垃圾",
            60,
            "10",
        ),
    )
    .await;
    let s2 = app.subject_of(big["record_id"].as_str().unwrap()).await;
    assert!(
        with_rule(
            &flags_of(&app, &s2).await,
            "construction_waste_cross_border"
        )
        .is_some()
    );
    let mut revoked = penalty(
        QINGPU,
        "沪青城管罚字〔2026〕第23号",
        43,
        "违法建设",
        60,
        "1",
    );
    revoked["CF_CFLB"] = json!("罚款;吊销许可证件");
    let r = push(&app, QINGPU, &revoked).await;
    let s3 = app.subject_of(r["record_id"].as_str().unwrap()).await;
    let f = flags_of(&app, &s3).await;
    let lr = with_rule(&f, "licence_revoked").expect("raised");
    let until = today() - Duration::days(60) + chrono::Months::new(36);
    assert_eq!(lr["effective_until"], until.to_string());
    app.stop().await;
}

#[tokio::test]
async fn the_losing_side_of_a_conflict_never_counts_until_the_units_say_both_stand() {
    let app = TestApp::start().await;
    // One act seen from both sides of the border: one penalty, not two parties' worth.
    let a = penalty(
        QINGPU,
        "沪青城管罚字〔2026〕第31号",
        51,
        "擅自倾倒建筑垃圾",
        90,
        "2",
    );
    let mut b = penalty(
        SUZHOU,
        "苏城管罚决〔2026〕第31号",
        51,
        "擅自倾倒建筑垃圾",
        85,
        "2",
    );
    b["CF_SY"] = a["CF_SY"].clone();
    let first = push(&app, QINGPU, &a).await;
    let second = push(&app, SUZHOU, &b).await;
    assert_eq!(second["status"], "conflict", "{second}");
    let subject = app.subject_of(first["record_id"].as_str().unwrap()).await;
    assert!(flags_of(&app, &subject).await.is_empty());
    // The units settle it as two acts: both count, the rule holds.
    let conflict = second["conflict"]["conflict_id"].as_str().unwrap();
    let resp = app
        .unit(SUZHOU)
        .post(app.url(&format!("/v1/conflicts/{conflict}/resolve")))
        .json(&json!({"resolution": "both_stand"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let flags = flags_of(&app, &subject).await;
    assert!(
        with_rule(&flags, "construction_waste_cross_border").is_some(),
        "{flags:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn weak_subjects_are_never_flagged() {
    let app = TestApp::start().await;
    let mut r = penalty(
        QINGPU,
        "沪青城管罚字〔2026〕第41号",
        61,
        "违法建设",
        60,
        "1",
    );
    r["CF_CFLB"] = json!("罚款;吊销许可证件");
    r.as_object_mut().unwrap().remove("CF_XDR_SHXYM");
    let item = push(&app, QINGPU, &r).await;
    let subject = app.subject_of(item["record_id"].as_str().unwrap()).await;
    assert!(flags_of(&app, &subject).await.is_empty());
    let all: Value = app
        .client(Who::Analyst)
        .get(app.url("/v1/flags"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(all["items"].as_array().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn repair_is_refused_before_the_minimum_period_and_ends_the_flag_after_it() {
    let app = TestApp::start().await;
    let qp = app.unit(QINGPU);
    // Decided 30 days ago: public for at least 3 months.
    let mut fresh = penalty(
        QINGPU,
        "沪青城管罚字〔2026〕第51号",
        71,
        "违法建设",
        30,
        "1",
    );
    fresh["CF_CFLB"] = json!("罚款;吊销许可证件");
    let f = push(&app, QINGPU, &fresh).await;
    let id = f["record_id"].as_str().unwrap();
    let early = problem(
        qp.post(app.url(&format!("/v1/records/{id}/repair")))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    let from = today() - Duration::days(30) + chrono::Months::new(3);
    assert!(
        early["detail"]
            .as_str()
            .unwrap()
            .contains(&from.to_string()),
        "{early}"
    );
    // Decided 200 days ago: repair ends the flag it supported.
    let mut old = penalty(
        QINGPU,
        "沪青城管罚字〔2026〕第52号",
        72,
        "违法建设",
        200,
        "1",
    );
    old["CF_CFLB"] = json!("罚款;吊销许可证件");
    let o = push(&app, QINGPU, &old).await;
    let subject = app.subject_of(o["record_id"].as_str().unwrap()).await;
    let flag = with_rule(&flags_of(&app, &subject).await, "licence_revoked")
        .cloned()
        .expect("raised");
    // Another party's unit may not repair it.
    let js = app.unit(SUZHOU);
    problem(
        js.post(app.url(&format!(
            "/v1/flags/{}/repair",
            flag["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap(),
        403,
    )
    .await;
    let done: Value = qp
        .post(app.url(&format!(
            "/v1/flags/{}/repair",
            flag["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["flags"][0]["status"], "repaired", "{done}");
    // Repaired once: the record cannot be repaired again.
    problem(
        qp.post(app.url(&format!(
            "/v1/records/{}/repair",
            o["record_id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap(),
        409,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn the_sweeper_expires_flags_when_their_period_ends() {
    let app = TestApp::start().await;
    let mut r = penalty(
        QINGPU,
        "沪青城管罚字〔2026〕第61号",
        81,
        "违法建设",
        10,
        "1",
    );
    r["CF_CFLB"] = json!("罚款;吊销许可证件");
    let item = push(&app, QINGPU, &r).await;
    let subject = app.subject_of(item["record_id"].as_str().unwrap()).await;
    assert_eq!(flags_of(&app, &subject).await[0]["status"], "active");
    let policy = app.state.policy.clone();
    let (emitter, emitter2, emitter3) = (
        app.state.emitter(),
        app.state.emitter(),
        app.state.emitter(),
    );
    // Nothing is due today.
    let now = policy.clone();
    let swept = app
        .state
        .db(move |c| penex::service::flags::sweep(c, &now.on(today()), &emitter))
        .await
        .unwrap();
    assert_eq!(swept, 0);
    // Four years on (an injected clock): the flag has expired; a second pass changes nothing.
    let later = today() + Duration::days(4 * 366);
    let p = policy.clone();
    let swept = app
        .state
        .db(move |c| penex::service::flags::sweep(c, &p.on(later), &emitter2))
        .await
        .unwrap();
    assert_eq!(swept, 1);
    let f = flags_of(&app, &subject).await;
    assert_eq!(f[0]["status"], "expired", "{f:?}");
    let again = app
        .state
        .db(move |c| penex::service::flags::sweep(c, &policy.on(later), &emitter3))
        .await
        .unwrap();
    assert_eq!(again, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_correction_naming_another_subject_withdraws_the_flag_of_the_subject_it_left() {
    let app = TestApp::start().await;
    let no = "苏城管罚决〔2026〕第31号";
    let first = push(
        &app,
        SUZHOU,
        &penalty(SUZHOU, no, 51, "擅自倾倒建筑垃圾", 60, "10"),
    )
    .await;
    let record = first["record_id"].as_str().unwrap();
    let left = app.subject_of(record).await;
    let rule = "construction_waste_cross_border";
    assert_eq!(
        with_rule(&flags_of(&app, &left).await, rule).unwrap()["status"],
        "active"
    );
    // The unit corrects the decision: it was another company's.
    let corrected = push(
        &app,
        SUZHOU,
        &penalty(SUZHOU, no, 52, "擅自倾倒建筑垃圾", 60, "10"),
    )
    .await;
    assert_eq!(corrected["status"], "corrected");
    assert_eq!(corrected["record_id"], record);
    let now_of = app.subject_of(record).await;
    assert_ne!(now_of, left);
    assert_eq!(
        with_rule(&flags_of(&app, &now_of).await, rule).unwrap()["status"],
        "active"
    );
    assert_eq!(
        with_rule(&flags_of(&app, &left).await, rule).unwrap()["status"],
        "withdrawn",
        "the company the record no longer names keeps no flag on its basis"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_correction_that_drops_the_fine_withdraws_the_flag_the_fine_raised() {
    let app = TestApp::start().await;
    let no = "苏城管罚决〔2026〕第32号";
    let fined = penalty(SUZHOU, no, 53, "擅自倾倒建筑垃圾", 60, "10");
    let first = push(&app, SUZHOU, &fined).await;
    let subject = app.subject_of(first["record_id"].as_str().unwrap()).await;
    let rule = "construction_waste_cross_border";
    assert_eq!(
        with_rule(&flags_of(&app, &subject).await, rule).unwrap()["status"],
        "active"
    );
    // The decision was a warning after all: no fine in the corrected version.
    let mut warning = fined.clone();
    let fields = warning.as_object_mut().unwrap();
    fields.remove("CF_NR_FK");
    fields.insert("CF_CFLB".into(), json!("警告"));
    fields.insert("CF_NR".into(), json!("警告"));
    let corrected = push(&app, SUZHOU, &warning).await;
    assert_eq!(corrected["status"], "corrected");
    assert_eq!(
        with_rule(&flags_of(&app, &subject).await, rule).unwrap()["status"],
        "withdrawn",
        "a fine the current version no longer imposes counts for nothing"
    );
    app.stop().await;
}

/// Runs the real binary against the app's data folder and database.
#[expect(clippy::unwrap_used, reason = "test helper")]
fn penex_cli(app: &TestApp, catalog: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_penex"))
        .args(args)
        .env("PENEX_DATA_DIR", app.dir.path())
        .env("PENEX_DATABASE_URL", &app.db.url)
        .env("PENEX_UNITS_FILE", common::repo().join("config/units.toml"))
        .env("PENEX_CATALOG_FILE", catalog)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "penex {args:?}: {text}");
    text
}

/// `penex catalog apply`: a record unmapped at push (a unit's own item code the catalogue did
/// not know) is mapped once the catalogue learns the code; the flag it completes is raised and
/// its event is on the feed; a second run changes nothing; the audit chain verifies.
#[tokio::test]
async fn catalog_apply_maps_stored_records_and_raises_the_flags_they_complete() {
    let work = tempfile::tempdir().unwrap();
    let before = work.path().join("catalog-before.toml");
    let after = work.path().join("catalog-after.toml");
    let built_in = penex::normalize::violation::BUILT_IN;
    std::fs::write(&before, built_in).unwrap();
    assert!(built_in.contains("[mappings.SH]\n"));
    std::fs::write(
        &after,
        built_in.replacen(
            "[mappings.SH]\n",
            "[mappings.SH]\n\"SH-CW-0117\" = \"construction_waste_dumping\"\n",
            1,
        ),
    )
    .unwrap();
    let app = TestApp::start_with_overrides(json!({ "catalog_file": before })).await;
    let mut unknown = penalty(
        QINGPU,
        "沪青城管罚字〔2026〕第71号",
        71,
        "SH-CW-0117",
        100,
        "0.5",
    );
    unknown["CF_YJ"] = json!("《某某管理办法》第九条");
    let a = push(&app, QINGPU, &unknown).await;
    assert_eq!(a["warnings"][0]["code"], "unmapped_violation_type", "{a}");
    let mut dumping = penalty(
        SUZHOU,
        "苏城管罚决〔2026〕第72号",
        71,
        "擅自倾倒建筑垃圾",
        50,
        "0.5",
    );
    dumping["CF_YJ"] = json!("《某某管理办法》第九条");
    push(&app, SUZHOU, &dumping).await;
    let record = a["record_id"].as_str().unwrap().to_owned();
    let subject = app.subject_of(&record).await;
    let rule = "construction_waste_cross_border";
    assert!(with_rule(&flags_of(&app, &subject).await, rule).is_none());

    let out = penex_cli(&app, &after, &["catalog", "apply"]);
    assert!(out.contains("reclassified: 1 (newly mapped 1"), "{out}");
    assert!(out.contains("- -> construction_waste_dumping"), "{out}");
    let flags = flags_of(&app, &subject).await;
    let f = with_rule(&flags, rule).expect("flag raised by the re-classification");
    assert_eq!(f["status"], "active");
    let view = app
        .get_json(Who::Analyst, &format!("/v1/records/{record}"))
        .await;
    assert_eq!(
        view["classification"]["violation_code"], "construction_waste_dumping",
        "{view}"
    );
    assert_eq!(view["classification"]["matched_by"], "party_mapping");
    assert_eq!(
        view["classification"]["violation_group"],
        "construction_waste"
    );
    let feed = app
        .get_json(Who::Integrator, "/v1/events?after=0&limit=500")
        .await;
    let activated = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "flag.activated" && e["payload"]["flag"]["rule_id"] == rule)
        .count();
    assert_eq!(activated, 1, "{feed}");

    let again = penex_cli(&app, &after, &["catalog", "apply"]);
    assert!(again.contains("reclassified: 0"), "{again}");
    let verified = penex_cli(&app, &after, &["audit", "verify"]);
    assert!(verified.contains("intact"), "{verified}");
    app.stop().await;
}

/// `GET /v1/flags?subject=` takes the subject keys `GET /v1/subjects/{key}` takes: the id and
/// the USCC (in any case) answer the same flags; a key of no known form is a
/// 400 naming the forms, never a silent empty list.
#[tokio::test]
async fn flags_are_found_by_any_subject_key() {
    let app = TestApp::start().await;
    let a = push(
        &app,
        QINGPU,
        &penalty(
            QINGPU,
            "沪青城管罚字〔2026〕第81号",
            81,
            "擅自倾倒建筑垃圾",
            60,
            "0.5",
        ),
    )
    .await;
    push(
        &app,
        SUZHOU,
        &penalty(
            SUZHOU,
            "苏城管罚决〔2026〕第82号",
            81,
            "擅自倾倒建筑垃圾",
            30,
            "0.5",
        ),
    )
    .await;
    let subject = app.subject_of(a["record_id"].as_str().unwrap()).await;
    let by_id = flags_of(&app, &subject).await;
    assert!(with_rule(&by_id, "construction_waste_cross_border").is_some());
    let uscc = common::records::uscc(81);
    for key in [uscc.clone(), uscc.to_lowercase(), format!(" {uscc} ")] {
        assert_eq!(flags_of(&app, &key).await, by_id, "{key}");
    }
    assert!(flags_of(&app, &common::records::uscc(82)).await.is_empty());
    let r = app
        .client(Who::Analyst)
        .get(app.url("/v1/flags?subject=91310106MA00000000"))
        .send()
        .await
        .unwrap();
    let body = problem(r, 400).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("unified social credit code"),
        "{body}"
    );
    app.stop().await;
}
