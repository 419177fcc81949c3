//! First violations (首违不罚) over mutual TLS, on both backends: exemptions reported, checked
//! against the list and the unit's rights, never counted; the region-wide check finds penalties
//! and exemptions of the same type in other parties within the window, and names no one.

use crate::common;

use common::records::{person_record, resident_id, uscc};
use common::units::{HANGZHOU, QINGPU, SUZHOU};
use common::{TestApp, Who, problem};
use serde_json::{Value, json};

fn exemption(authority: &str, no: &str, id_no: &str, item: &str) -> Value {
    json!({
        "decision_no": no,
        "authority": authority,
        "subject": {"name": "王五", "kind": "natural_person", "id_no": id_no},
        "list_item": item,
        "decided_on": "2026-05-01",
        "violation_type": "擅自设置户外广告",
    })
}

#[expect(clippy::unwrap_used, reason = "test helper")]
async fn report(app: &TestApp, c: &reqwest::Client, body: &Value) -> reqwest::Response {
    c.post(app.url("/v1/exemptions"))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[expect(clippy::unwrap_used, reason = "test helper")]
async fn check(app: &TestApp, c: &reqwest::Client, query: &str) -> reqwest::Response {
    c.get(app.url(&format!("/v1/first-violation?{query}")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn exemptions_are_checked_against_the_list_and_the_units_rights() {
    let app = TestApp::start().await;
    let hz = app.unit(HANGZHOU);
    let id = resident_id(401);
    let body = exemption(HANGZHOU.name, "杭综执不罚〔2026〕第1号", &id, "YRD-SR-02");
    let first = report(&app, &hz, &body).await;
    assert_eq!(first.status(), 201);
    let stored: Value = first.json().await.unwrap();
    assert_eq!(stored["violation_code"], "outdoor_advertising");
    assert!(!stored.to_string().contains(&id));
    // The same decision again: 200, the same exemption.
    let again = report(&app, &hz, &body).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], stored["id"]);
    // An item not on the list, or not for this party: 422 at /list_item.
    for item in ["NOPE-1", "SH-CG-06"] {
        let bad = problem(
            report(
                &app,
                &hz,
                &exemption(HANGZHOU.name, "杭综执不罚〔2026〕第2号", &id, item),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(bad["errors"][0]["pointer"], "/list_item", "{bad}");
    }
    // A bad ID number and a future date: both reported, with their pointers.
    let mut broken = exemption(
        HANGZHOU.name,
        "杭综执不罚〔2026〕第3号",
        "310106199001010010",
        "YRD-SR-02",
    );
    broken["decided_on"] = json!("2999-01-01");
    let bad = problem(report(&app, &hz, &broken).await, 422).await;
    let pointers: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(
        pointers.contains(&"/subject/id_no") && pointers.contains(&"/decided_on"),
        "{bad}"
    );
    // Another party's unit may not report for Hangzhou.
    let js = app.unit(SUZHOU);
    problem(report(&app, &js, &body).await, 403).await;
    // Analysts read but do not report.
    problem(report(&app, &app.client(Who::Analyst), &body).await, 403).await;
    assert_eq!(app.count_rows("exemptions").await, 1);
    // Never a penalty: no record, no flag.
    assert_eq!(app.count_rows("records").await, 0);
    assert_eq!(app.count_rows("flags").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn the_first_violation_check_sees_all_four_parties_within_the_window() {
    let app = TestApp::start().await;
    let id = resident_id(402);
    // Penalized in Suzhou for 占道经营 (2025-03-20); exempted in Hangzhou for outdoor advertising.
    let sz = app.unit(SUZHOU);
    let pushed: Value = app
        .push(
            &sz,
            &json!({"records": [person_record(SUZHOU.name, "苏城管罚决〔2025〕第901号", &id)]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pushed["items"][0]["status"], "accepted");
    let hz = app.unit(HANGZHOU);
    let r = report(
        &app,
        &hz,
        &exemption(HANGZHOU.name, "杭综执不罚〔2026〕第9号", &id, "YRD-SR-02"),
    )
    .await;
    assert_eq!(r.status(), 201);

    // A Shanghai unit asks before deciding.
    let qp = app.unit(QINGPU);
    let a: Value = check(
        &app,
        &qp,
        &format!("id_no={id}&violation_type=road_occupation_business&on=2026-11-01"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(a["first"], false, "{a}");
    assert_eq!(a["penalties"][0]["authority_code"], SUZHOU.code);
    assert_eq!(a["window_from"], "2024-11-01");
    assert!(!a.to_string().contains(&id));
    // The type as written maps to the catalogue too.
    let b: Value = check(
        &app,
        &qp,
        &format!("id_no={id}&violation_type=擅自设置户外广告&on=2026-11-01"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(b["first"], false);
    assert_eq!(b["violation_type"], "outdoor_advertising");
    assert_eq!(b["exemptions"][0]["authority_code"], HANGZHOU.code);
    // Another type: first.
    let c: Value = check(
        &app,
        &qp,
        &format!("id_no={id}&violation_type=greening_damage"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(c["first"], true);
    // Outside the window (two years back from 2024-12-01): first.
    let d: Value = check(
        &app,
        &qp,
        &format!("id_no={id}&violation_type=road_occupation_business&on=2024-12-01"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(d["first"], true, "{d}");
    // Another person, an organization by USCC: first; analysts may ask too.
    let e: Value = check(
        &app,
        &app.client(Who::Analyst),
        &format!("uscc={}&violation_type=road_occupation_business", uscc(77)),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(e["first"], true);
    // Bad questions: 422 naming the parameter, with what was expected; never a 500.
    for (q, param) in [
        ("violation_type=road_occupation_business".to_owned(), "uscc"),
        (
            format!(
                "id_no={id}&uscc={}&violation_type=road_occupation_business",
                uscc(1)
            ),
            "uscc",
        ),
        (
            format!("id_no={id}&violation_type=flying"),
            "violation_type",
        ),
        (
            "id_no=123&violation_type=road_occupation_business".to_owned(),
            "id_no",
        ),
        (
            format!("id_no={id}&violation_type=road_occupation_business&on=tomorrow"),
            "on",
        ),
    ] {
        let body = problem(check(&app, &qp, &q).await, 422).await;
        assert_eq!(body["code"], "invalid_query", "{q}");
        assert_eq!(body["errors"][0]["pointer"], format!("/{param}"), "{q}");
    }
    // A query string not of the route's form is malformed.
    let body = problem(check(&app, &qp, "colour=red").await, 400).await;
    assert_eq!(body["code"], "malformed_query");
    // Integrators may not ask.
    problem(
        check(
            &app,
            &app.client(Who::Integrator),
            &format!("id_no={id}&violation_type=greening_damage"),
        )
        .await,
        403,
    )
    .await;
    app.stop().await;
}

/// The case real data showed wrong: a Shanghai record worded as the statute words it
/// (擅自占用城市道路从事经营活动) is 占道经营, not road occupation, so a Zhejiang exemption
/// under the 占道经营 list item and that record are one type for the first-violation check,
/// whichever text the asking unit uses.
#[tokio::test]
async fn road_trading_in_statute_words_meets_the_exemption_of_another_party() {
    let app = TestApp::start().await;
    let id = resident_id(433);
    let hz = app.unit(HANGZHOU);
    let mut ex = exemption(HANGZHOU.name, "杭综执不罚〔2026〕第33号", &id, "YRD-SR-01");
    ex["violation_type"] = json!("占道经营");
    assert_eq!(report(&app, &hz, &ex).await.status(), 201);
    let qp = app.unit(QINGPU);
    let mut rec = person_record(QINGPU.name, "2611801133", &id);
    rec["违法行为类型"] = json!("擅自占用城市道路从事经营活动");
    rec["处罚依据"] = json!("《上海市市容环境卫生管理条例》第二十二条");
    let pushed: Value = app
        .push(&qp, &json!({ "records": [rec] }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pushed["items"][0]["status"], "accepted", "{pushed}");
    let record = pushed["items"][0]["record_id"].as_str().unwrap().to_owned();
    let view = app
        .get_json(Who::Analyst, &format!("/v1/records/{record}"))
        .await;
    assert_eq!(
        view["classification"]["violation_code"], "road_occupation_business",
        "{view}"
    );
    for asked in [
        "擅自占用城市道路从事经营活动",
        "占道经营",
        "road_occupation_business",
    ] {
        let a: Value = check(
            &app,
            &app.client(Who::Analyst),
            &format!("id_no={id}&violation_type={asked}&on=2026-11-01"),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(
            a["violation_type"], "road_occupation_business",
            "{asked}: {a}"
        );
        assert_eq!(a["first"], false, "{asked}: {a}");
        assert_eq!(
            a["exemptions"][0]["authority_code"], HANGZHOU.code,
            "{asked}: {a}"
        );
        assert_eq!(
            a["penalties"][0]["record_id"],
            record.as_str(),
            "{asked}: {a}"
        );
    }
    app.stop().await;
}
