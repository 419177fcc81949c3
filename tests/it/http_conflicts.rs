//! Jurisdiction conflicts over mutual TLS, on both backends: the same act penalized on both
//! sides of a border → the first to file keeps jurisdiction whatever the arrival order, the
//! later record is answered `conflict` and linked; same-day different violations stay two
//! penalties; revoking a side dissolves the conflict; units involved (and their leads) see and
//! resolve it, others do not.

use crate::common;

use common::records::{company_record, dumping};
use common::units::{JIAXING, QINGPU, SUZHOU};
use common::{TestApp, Who, problem};
use penex::domain::party::Party;
use serde_json::{Value, json};

#[expect(clippy::unwrap_used, reason = "test helper")]
async fn record(app: &TestApp, id: &str) -> Value {
    app.get(&app.client(Who::Analyst), &format!("/v1/records/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "test helper")]
async fn open_conflicts(app: &TestApp, c: &reqwest::Client) -> Vec<Value> {
    let page: Value = app.get(c, "/v1/conflicts").await.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_first_to_file_keeps_jurisdiction_whatever_the_arrival_order() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let suzhou = app.unit(SUZHOU);
    // Subject 1: the later filer (Suzhou, filed 03-09) pushes first.
    let late_first = app
        .push_one(
            &suzhou,
            &dumping(
                SUZHOU.name,
                "苏城管罚决〔2025〕第31号",
                1,
                "2025-03-09",
                "吴江区汾湖大道88号",
            ),
        )
        .await;
    assert_eq!(late_first["status"], "accepted", "{late_first}");
    let early_second = app
        .push_one(
            &qingpu,
            &dumping(
                QINGPU.name,
                "沪青城管罚字〔2025〕第31号",
                1,
                "2025-03-04",
                "金泽镇318国道旁",
            ),
        )
        .await;
    // The earlier filing wins: accepted, and it says which record it won over.
    assert_eq!(early_second["status"], "accepted", "{early_second}");
    assert_eq!(early_second["conflict"]["role"], "winner");
    let winner1 = early_second["record_id"].as_str().unwrap();
    let loser1 = late_first["record_id"].as_str().unwrap();
    assert_eq!(early_second["conflict"]["winner_record_id"], winner1);
    assert_eq!(record(&app, loser1).await["conflict_role"], "loser");
    assert_eq!(record(&app, winner1).await["conflict_role"], "winner");

    // Subject 2: the earlier filer pushes first; the later one is answered `conflict`.
    let early_first = app
        .push_one(
            &qingpu,
            &dumping(
                QINGPU.name,
                "沪青城管罚字〔2025〕第32号",
                2,
                "2025-03-04",
                "金泽镇318国道旁",
            ),
        )
        .await;
    assert_eq!(early_first["status"], "accepted");
    assert!(early_first.get("conflict").is_none());
    let late_second = app
        .push_one(
            &suzhou,
            &dumping(
                SUZHOU.name,
                "苏城管罚决〔2025〕第32号",
                2,
                "2025-03-09",
                "吴江区汾湖大道88号",
            ),
        )
        .await;
    assert_eq!(late_second["status"], "conflict", "{late_second}");
    assert_eq!(late_second["conflict"]["role"], "loser");
    assert_eq!(
        late_second["conflict"]["winner_record_id"],
        early_first["record_id"]
    );

    // Both conflicts are open; in each the Shanghai (first-filed) record wins.
    let open = open_conflicts(&app, &app.client(Who::Analyst)).await;
    assert_eq!(open.len(), 2, "{open:?}");
    for c in &open {
        assert_eq!(c["violation_key"], "construction_waste_dumping");
        assert_eq!(c["records"][0]["authority_code"], QINGPU.code);
        assert_eq!(c["records"][0]["role"], "winner");
        assert_eq!(c["records"][1]["role"], "loser");
    }
    // A repeated push of the loser changes nothing.
    let again = app
        .push_one(
            &suzhou,
            &dumping(
                SUZHOU.name,
                "苏城管罚决〔2025〕第32号",
                2,
                "2025-03-09",
                "吴江区汾湖大道88号",
            ),
        )
        .await;
    assert_eq!(again["status"], "duplicate");
    assert_eq!(
        open_conflicts(&app, &app.client(Who::Analyst)).await.len(),
        2
    );
    app.stop().await;
}

#[tokio::test]
async fn different_acts_are_not_conflicts() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let suzhou = app.unit(SUZHOU);
    // Same subject, same day, same authority, two violations: two penalties.
    let a = app
        .push_one(
            &qingpu,
            &dumping(
                QINGPU.name,
                "沪青城管罚字〔2025〕第41号",
                5,
                "2025-03-04",
                "金泽镇",
            ),
        )
        .await;
    let mut other = company_record(QINGPU.name, "沪青城管罚字〔2025〕第42号", 5);
    other["CF_WFXW"] = json!("擅自设置户外广告");
    other["CF_SY"] = json!("当事人于2025年3月2日未经批准擅自设置户外广告牌一块。");
    let b = app.push_one(&qingpu, &other).await;
    assert_eq!(a["status"], "accepted");
    assert_eq!(b["status"], "accepted");
    assert_ne!(a["record_id"], b["record_id"]);
    // Same violation type across the border, but another day's act: two penalties.
    let mut later = dumping(
        SUZHOU.name,
        "苏城管罚决〔2025〕第41号",
        5,
        "2025-03-20",
        "吴江区",
    );
    later["CF_SY"] = json!("当事人于2025年3月18日在吴江区擅自倾倒建筑垃圾约12立方米。");
    let c = app.push_one(&suzhou, &later).await;
    assert_eq!(c["status"], "accepted", "{c}");
    assert!(c.get("conflict").is_none());
    // A reused case number with another document prefix is another decision.
    let reused = app
        .push_one(
            &qingpu,
            &company_record(QINGPU.name, "沪青城管简罚字〔2025〕第41号", 5),
        )
        .await;
    assert_eq!(reused["status"], "accepted");
    assert!(
        open_conflicts(&app, &app.client(Who::Analyst))
            .await
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn revoking_the_winner_dissolves_the_conflict_and_the_other_record_counts_again() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let suzhou = app.unit(SUZHOU);
    let w = app
        .push_one(
            &qingpu,
            &dumping(
                QINGPU.name,
                "沪青城管罚字〔2025〕第51号",
                7,
                "2025-03-04",
                "金泽镇",
            ),
        )
        .await;
    let l = app
        .push_one(
            &suzhou,
            &dumping(
                SUZHOU.name,
                "苏城管罚决〔2025〕第51号",
                7,
                "2025-03-06",
                "吴江区",
            ),
        )
        .await;
    assert_eq!(l["status"], "conflict");
    let winner = w["record_id"].as_str().unwrap();
    let loser = l["record_id"].as_str().unwrap();
    let resp = qingpu
        .post(app.url(&format!("/v1/records/{winner}/revoke")))
        .json(&json!({"reason": "reconsideration"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        open_conflicts(&app, &app.client(Who::Analyst))
            .await
            .is_empty()
    );
    let void: Value = app
        .get(&app.client(Who::Analyst), "/v1/conflicts?status=void")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(void["items"].as_array().unwrap().len(), 1);
    let after = record(&app, loser).await;
    assert!(after.get("conflict_role").is_none(), "{after}");
    app.stop().await;
}

#[tokio::test]
async fn units_involved_see_and_resolve_conflicts_others_do_not() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let suzhou = app.unit(SUZHOU);
    let jiaxing = app.unit(JIAXING);
    app.push_one(
        &qingpu,
        &dumping(
            QINGPU.name,
            "沪青城管罚字〔2025〕第61号",
            9,
            "2025-03-04",
            "金泽镇",
        ),
    )
    .await;
    let l = app
        .push_one(
            &suzhou,
            &dumping(
                SUZHOU.name,
                "苏城管罚决〔2025〕第61号",
                9,
                "2025-03-06",
                "吴江区",
            ),
        )
        .await;
    let id = l["conflict"]["conflict_id"].as_str().unwrap().to_owned();
    // Involved units and their leads see it; another party's unit does not.
    assert_eq!(open_conflicts(&app, &qingpu).await.len(), 1);
    assert_eq!(open_conflicts(&app, &suzhou).await.len(), 1);
    assert_eq!(
        open_conflicts(&app, &app.client(Who::Lead(Party::Jiangsu)))
            .await
            .len(),
        1
    );
    assert!(open_conflicts(&app, &jiaxing).await.is_empty());
    assert!(
        open_conflicts(&app, &app.client(Who::Lead(Party::Anhui)))
            .await
            .is_empty()
    );
    problem(app.get(&jiaxing, &format!("/v1/conflicts/{id}")).await, 404).await;
    let resolve = |c: &reqwest::Client, body: Value| {
        c.post(app.url(&format!("/v1/conflicts/{id}/resolve")))
            .json(&body)
            .send()
    };
    // An outsider cannot resolve it; bad input is a 422 naming the value and what is expected.
    problem(
        resolve(&jiaxing, json!({"resolution": "both_stand"}))
            .await
            .unwrap(),
        404,
    )
    .await;
    let bad = problem(
        resolve(&suzhou, json!({"resolution": "ignore"}))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(bad.to_string().contains("ignore"), "{bad}");
    assert!(bad.to_string().contains("both_stand"), "{bad}");
    problem(
        app.client(Who::Analyst)
            .post(app.url(&format!("/v1/conflicts/{id}/resolve")))
            .json(&json!({"resolution": "both_stand"}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    // The later unit's lead settles it as two acts: both records count.
    let done: Value = resolve(
        &app.client(Who::Lead(Party::Jiangsu)),
        json!({"resolution": "both_stand", "note": "两地确认为两次倾倒行为"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(done["status"], "resolved", "{done}");
    assert_eq!(done["resolution"], "both_stand");
    assert_eq!(done["resolved_by"], "unit:JS-320000");
    for r in done["records"].as_array().unwrap() {
        assert_eq!(r["role"], "stands");
    }
    // Resolved once; the next attempt is a 409 and the conflict stays settled.
    problem(
        resolve(&qingpu, json!({"resolution": "transferred"}))
            .await
            .unwrap(),
        409,
    )
    .await;
    assert!(open_conflicts(&app, &qingpu).await.is_empty());
    // A correction of one side does not bring a settled pair back.
    let mut corrected = dumping(
        SUZHOU.name,
        "苏城管罚决〔2025〕第61号",
        9,
        "2025-03-06",
        "吴江区",
    );
    corrected["CF_NR_FK"] = json!("3");
    corrected["CF_NR"] = json!("罚款人民币叁万元整");
    let c = app.push_one(&suzhou, &corrected).await;
    assert_eq!(c["status"], "corrected");
    assert!(open_conflicts(&app, &qingpu).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn violation_types_map_to_the_catalogue_or_warn() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    // A Shanghai-only name maps through Shanghai's own table: no warning.
    let mut mapped = company_record(QINGPU.name, "沪青城管罚字〔2025〕第71号", 11);
    mapped["CF_WFXW"] = json!("单位未按规定分类投放生活垃圾");
    let ok = app.push_one(&qingpu, &mapped).await;
    assert_eq!(ok["status"], "accepted");
    assert!(ok.get("warnings").is_none(), "{ok}");
    // A type outside the catalogue is kept as given and reported.
    let mut unmapped = company_record(QINGPU.name, "沪青城管罚字〔2025〕第72号", 11);
    unmapped["CF_WFXW"] = json!("违反动物防疫规定");
    let warned = app.push_one(&qingpu, &unmapped).await;
    assert_eq!(warned["status"], "accepted");
    let w = &warned["warnings"][0];
    assert_eq!(w["code"], "unmapped_violation_type", "{warned}");
    assert_eq!(w["pointer"], "/records/0/CF_WFXW");
    let id = warned["record_id"].as_str().unwrap();
    assert_eq!(
        record(&app, id).await["record"]["violation_type"],
        "违反动物防疫规定"
    );
    app.stop().await;
}
