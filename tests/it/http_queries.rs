//! `GET /v1/records` and `GET /v1/subjects?q=` over mutual TLS, on both backends: every filter
//! and the total agree with the pushed data and with a direct count in the database; walking
//! the cursor gives every record once, in order, while records are stored between pages; ID
//! numbers are masked for everyone but the deciding unit; units see their own tree only; bad
//! filters answer problem+json; the query rate limit answers 429 and recovers, apart from the
//! feed's.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    reason = "tests"
)]

use crate::common;

use common::records::{company_record, person_record, resident_id, uscc};
use common::units::{Authority, HANGZHOU, JINGAN, PENGPU, SUZHOU};
use common::{TestApp, Who, problem};
use penex::domain::party::Party;
use serde_json::{Value, json};
use std::collections::HashSet;

/// What the test pushed, to count expectations from.
#[derive(Debug, Clone)]
struct Pushed {
    id: String,
    authority: Authority,
    party: &'static str,
    date: chrono::NaiveDate,
    fine_fen: Option<i64>,
    warning: bool,
    uscc: String,
    revoked: bool,
    corrected: bool,
}

/// A company record of seed `seed`: its authority, date, fine and categories vary with it.
fn varied(seed: u32) -> (Value, Authority, chrono::NaiveDate, Option<i64>, bool) {
    let authority = [JINGAN, PENGPU, SUZHOU, HANGZHOU][(seed % 4) as usize];
    let prefix = match authority {
        JINGAN => "沪静城管罚字",
        PENGPU => "沪静彭罚字",
        SUZHOU => "苏城管罚字",
        _ => "杭综执罚字",
    };
    // Dates from 2024-01-05 on, some sharing a day (ties are ordered by id).
    // Every sixth one recent, every sixth one old enough to be past its publicity.
    let date = if seed % 6 == 5 {
        chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
            + chrono::Duration::days(i64::from(seed % 30))
    } else if seed.is_multiple_of(6) {
        chrono::NaiveDate::from_ymd_opt(2021, 3, 1).unwrap()
            + chrono::Duration::days(i64::from(seed % 30))
    } else {
        chrono::NaiveDate::from_ymd_opt(2024, 1, 5).unwrap()
            + chrono::Duration::days(i64::from((seed % 60) / 3) * 17)
    };
    let mut rec = company_record(
        authority.name,
        &format!("{prefix}〔2024〕第{seed}号"),
        1000 + seed,
    );
    rec["CF_JDRQ"] = json!(date.to_string());
    rec["CF_YXQ"] = json!((date + chrono::Duration::days(365)).to_string());
    rec["filed_date"] = json!((date - chrono::Duration::days(10)).to_string());
    rec["CF_SY"] = json!(format!("当事人于{date}擅自运输建筑垃圾（第{seed}起）。"));
    let warning = seed.is_multiple_of(5);
    let fine = if warning {
        rec["CF_CFLB"] = json!("警告");
        rec["CF_NR"] = json!("警告");
        rec.as_object_mut().unwrap().remove("CF_NR_FK");
        None
    } else {
        // 0.1 万元 steps: 1,000 yuan = 100,000 fen each.
        let wan = f64::from(seed % 7 + 1) / 10.0;
        rec["CF_NR_FK"] = json!(format!("{wan}"));
        rec["CF_NR"] = json!("依法予以罚款");
        Some(i64::from(seed % 7 + 1) * 100_000)
    };
    (rec, authority, date, fine, warning)
}

async fn push_varied(app: &TestApp, seeds: impl Iterator<Item = u32>) -> Vec<Pushed> {
    let sh = app.client(Who::Lead(Party::Shanghai));
    let js = app.client(Who::Lead(Party::Jiangsu));
    let zj = app.client(Who::Lead(Party::Zhejiang));
    let mut out = Vec::new();
    for seed in seeds {
        let (rec, authority, date, fine_fen, warning) = varied(seed);
        let client = match authority {
            JINGAN | PENGPU => &sh,
            SUZHOU => &js,
            _ => &zj,
        };
        let body: Value = app
            .push(client, &json!({ "records": [rec] }))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["items"][0]["status"], "accepted", "{body}");
        out.push(Pushed {
            id: body["items"][0]["record_id"].as_str().unwrap().to_owned(),
            authority,
            party: authority.party.code(),
            date,
            fine_fen,
            warning,
            uscc: uscc(1000 + seed),
            revoked: false,
            corrected: false,
        });
    }
    out
}

/// Walks every page of `query` with `limit`, checking order and that no id repeats; returns
/// the ids in page order and the `total` of the first page.
async fn walk(app: &TestApp, c: &reqwest::Client, query: &str, limit: u32) -> (Vec<String>, i64) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut total = None;
    let asc = query.contains("decision_date_asc");
    let mut last: Option<(String, String)> = None;
    loop {
        let mut path = format!("/v1/records?limit={limit}&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get_ok(c, &path).await;
        total.get_or_insert(page["total"].as_i64().unwrap());
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        for it in items {
            let key = (
                it["decision_date"].as_str().unwrap().to_owned(),
                it["id"].as_str().unwrap().to_owned(),
            );
            if let Some(prev) = &last {
                if asc {
                    assert!(prev < &key, "{prev:?} then {key:?}");
                } else {
                    assert!(prev > &key, "{prev:?} then {key:?}");
                }
            }
            last = Some(key.clone());
            ids.push(key.1);
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a record appeared twice: {query}");
    (ids, total.unwrap())
}

fn expect(pushed: &[Pushed], f: impl Fn(&Pushed) -> bool) -> HashSet<String> {
    pushed
        .iter()
        .filter(|p| f(p))
        .map(|p| p.id.clone())
        .collect()
}

async fn check(app: &TestApp, c: &reqwest::Client, query: &str, expected: &HashSet<String>) {
    for limit in [4, 500] {
        for sort in ["decision_date_desc", "decision_date_asc"] {
            let (ids, total) = walk(app, c, &format!("{query}&sort={sort}"), limit).await;
            let got: HashSet<String> = ids.into_iter().collect();
            assert_eq!(&got, expected, "{query} sort={sort} limit={limit}");
            assert_eq!(total as usize, expected.len(), "total of {query}");
        }
    }
}

#[tokio::test]
async fn filters_and_pages_agree_with_the_pushed_data() {
    let app = TestApp::start().await;
    let mut pushed = push_varied(&app, 0..26).await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    // Revoke two (Shanghai's), correct one.
    for i in [1usize, 8] {
        let r = sh
            .post(app.url(&format!("/v1/records/{}/revoke", pushed[i].id)))
            .json(&json!({"reason": "reconsideration"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        pushed[i].revoked = true;
    }
    let (mut rec, ..) = varied(4);
    rec["CF_SY"] = json!("更正后的违法事实：当事人擅自运输建筑垃圾。");
    let out: Value = app
        .push(&sh, &json!({ "records": [rec] }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(out["items"][0]["status"], "corrected", "{out}");
    pushed[4].corrected = true;

    let analyst = app.client(Who::Analyst);
    let all = expect(&pushed, |_| true);
    check(&app, &analyst, "", &all).await;
    check(
        &app,
        &analyst,
        "party=SH",
        &expect(&pushed, |p| p.party == "SH"),
    )
    .await;
    check(
        &app,
        &analyst,
        "party=js",
        &expect(&pushed, |p| p.party == "JS"),
    )
    .await;
    check(
        &app,
        &analyst,
        "unit=SH-310106",
        &expect(&pushed, |p| p.authority == JINGAN),
    )
    .await;
    check(
        &app,
        &analyst,
        "unit=SH-310106&descendants=true",
        &expect(&pushed, |p| p.authority == JINGAN || p.authority == PENGPU),
    )
    .await;
    check(
        &app,
        &analyst,
        "unit=SH-310000&descendants=true",
        &expect(&pushed, |p| p.party == "SH"),
    )
    .await;
    check(&app, &analyst, "unit=SH-310000", &HashSet::new()).await;
    let one = pushed[7].clone();
    check(
        &app,
        &analyst,
        &format!("uscc={}", one.uscc.to_lowercase()),
        &expect(&pushed, |p| p.uscc == one.uscc),
    )
    .await;
    let subject_id = {
        let id = one.id.clone();
        app.state
            .db(move |c| penex::store::records::find(c, &id))
            .await
            .unwrap()
            .unwrap()
            .subject_id
            .unwrap()
    };
    check(
        &app,
        &analyst,
        &format!("subject={subject_id}"),
        &expect(&pushed, |p| p.id == one.id),
    )
    .await;
    check(
        &app,
        &analyst,
        "category=warning",
        &expect(&pushed, |p| p.warning),
    )
    .await;
    check(
        &app,
        &analyst,
        "category=fine",
        &expect(&pushed, |p| !p.warning),
    )
    .await;
    check(&app, &analyst, "category=revoke_licence", &HashSet::new()).await;
    check(
        &app,
        &analyst,
        "violation_type=%E6%9C%AA%E7%BB%8F%E8%AE%B8%E5%8F%AF%E8%BF%90%E8%BE%93%E5%BB%BA%E7%AD%91%E5%9E%83%E5%9C%BE",
        &all,
    )
    .await;
    check(
        &app,
        &analyst,
        "violation_type=%E5%8D%A0%E9%81%93%E7%BB%8F%E8%90%A5",
        &HashSet::new(),
    )
    .await;
    let (from, to) = (
        chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2024, 6, 30).unwrap(),
    );
    check(
        &app,
        &analyst,
        &format!("decided_from={from}&decided_to={to}"),
        &expect(&pushed, |p| p.date >= from && p.date <= to),
    )
    .await;
    check(
        &app,
        &analyst,
        "fine_min_fen=300000&fine_max_fen=500000",
        &expect(&pushed, |p| {
            p.fine_fen.is_some_and(|f| (300_000..=500_000).contains(&f))
        }),
    )
    .await;
    check(
        &app,
        &analyst,
        "fine_min_fen=0",
        &expect(&pushed, |p| p.fine_fen.is_some()),
    )
    .await;
    let today = penex::domain::clock::today_shanghai();
    let mut expired = HashSet::new();
    let mut active = HashSet::new();
    for p in &pushed {
        if p.revoked {
            continue;
        }
        let id = p.id.clone();
        let until = app
            .state
            .db(move |c| penex::store::records::find(c, &id))
            .await
            .unwrap()
            .unwrap()
            .publicity_until;
        if until < today {
            expired.insert(p.id.clone());
        } else {
            active.insert(p.id.clone());
        }
    }
    assert!(
        !expired.is_empty() && !active.is_empty(),
        "both kinds needed: {expired:?} {active:?}"
    );
    check(&app, &analyst, "status=active", &active).await;
    check(&app, &analyst, "status=expired", &expired).await;
    check(
        &app,
        &analyst,
        "status=revoked",
        &expect(&pushed, |p| p.revoked),
    )
    .await;
    check(
        &app,
        &analyst,
        "status=corrected",
        &expect(&pushed, |p| p.corrected),
    )
    .await;
    check(&app, &analyst, "status=conflict", &HashSet::new()).await;
    // Filters combine.
    check(
        &app,
        &analyst,
        "party=SH&category=fine&status=revoked",
        &expect(&pushed, |p| p.party == "SH" && !p.warning && p.revoked),
    )
    .await;
    // The total agrees with a direct count in the database.
    for party in ["SH", "JS", "ZJ", "AH"] {
        let direct = app
            .state
            .db(move |c| {
                use diesel::prelude::*;
                use penex::store::schema::records;
                Ok(records::table
                    .filter(records::party.eq(party))
                    .count()
                    .get_result::<i64>(c)?)
            })
            .await
            .unwrap();
        let page = app
            .get_ok(&analyst, &format!("/v1/records?party={party}&limit=1"))
            .await;
        assert_eq!(page["total"].as_i64(), Some(direct), "{party}");
    }
    // A natural person's record shows up with a conflict filter only when in a conflict.
    app.stop().await;
}

#[tokio::test]
async fn the_cursor_neither_repeats_nor_skips_while_records_are_stored() {
    let app = TestApp::start().await;
    let initial = push_varied(&app, 0..20).await;
    let analyst = app.client(Who::Analyst);
    for sort in ["decision_date_desc", "decision_date_asc"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut extra_seed = if sort == "decision_date_desc" {
            100
        } else {
            200
        };
        loop {
            let mut path = format!("/v1/records?limit=3&sort={sort}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = app.get_ok(&analyst, &path).await;
            for it in page["items"].as_array().unwrap() {
                seen.push(it["id"].as_str().unwrap().to_owned());
            }
            // Between pages: records dated before, among and after the ones already seen.
            push_varied(
                &app,
                [extra_seed, extra_seed + 31, extra_seed + 2].into_iter(),
            )
            .await;
            extra_seed += 3;
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: a record appeared twice");
        for p in &initial {
            assert!(seen.contains(&p.id), "{sort}: {} was skipped", p.id);
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn id_numbers_are_masked_for_all_but_the_deciding_unit() {
    let app = TestApp::start().await;
    let jingan = app.unit(JINGAN);
    let id_no = resident_id(42);
    let body: Value = app
        .push(
            &jingan,
            &json!({"records": [person_record(JINGAN.name, "沪静城管罚字〔2025〕第42号", &id_no)]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["items"][0]["status"], "accepted", "{body}");
    let masked = penex::domain::mask::mask_id_no(&id_no);
    for who in [
        app.client(Who::Analyst),
        app.client(Who::Operator),
        app.client(Who::Lead(Party::Shanghai)),
    ] {
        let text = app
            .get(&who, "/v1/records?party=SH")
            .await
            .text()
            .await
            .unwrap();
        assert!(!text.contains(&id_no), "an ID number leaked: {text}");
        assert!(text.contains(&masked), "{text}");
        // The list masks exactly as the single record does.
        let list: Value = serde_json::from_str(&text).unwrap();
        let id = list["items"][0]["id"].as_str().unwrap();
        let one = app.get_ok(&who, &format!("/v1/records/{id}")).await;
        assert_eq!(list["items"][0]["record"], one["record"]);
    }
    let own = app.get(&jingan, "/v1/records").await.text().await.unwrap();
    assert!(
        own.contains(&id_no),
        "the deciding unit sees its own record in clear"
    );
    app.stop().await;
}

#[tokio::test]
async fn units_see_their_own_tree_only() {
    let app = TestApp::start().await;
    let pushed = push_varied(&app, 0..12).await;
    let count = |f: &dyn Fn(&Pushed) -> bool| pushed.iter().filter(|p| f(p)).count() as i64;
    let total = |v: &Value| v["total"].as_i64().unwrap();
    let js = app.client(Who::Lead(Party::Jiangsu));
    let page = app.get_ok(&js, "/v1/records?limit=500").await;
    assert_eq!(total(&page), count(&|p| p.party == "JS"));
    for it in page["items"].as_array().unwrap() {
        assert_eq!(it["party"], "JS");
    }
    // Naming another party's unit or party finds nothing, never an error that leaks.
    assert_eq!(total(&app.get_ok(&js, "/v1/records?party=SH").await), 0);
    assert_eq!(
        total(
            &app.get_ok(&js, "/v1/records?unit=SH-310106&descendants=true")
                .await
        ),
        0
    );
    let sh = app.client(Who::Lead(Party::Shanghai));
    assert_eq!(
        total(&app.get_ok(&sh, "/v1/records").await),
        count(&|p| p.party == "SH")
    );
    let jingan = app.unit(JINGAN);
    assert_eq!(
        total(&app.get_ok(&jingan, "/v1/records").await),
        count(&|p| p.authority == JINGAN || p.authority == PENGPU)
    );
    let pengpu = app.unit(PENGPU);
    let own = app.get_ok(&pengpu, "/v1/records?limit=500").await;
    assert_eq!(total(&own), count(&|p| p.authority == PENGPU));
    for it in own["items"].as_array().unwrap() {
        assert_eq!(it["authority_code"], PENGPU.code);
    }
    // The street unit cannot widen its view by naming its parent.
    assert_eq!(
        total(
            &app.get_ok(&pengpu, "/v1/records?unit=SH-310106&descendants=true")
                .await
        ),
        count(&|p| p.authority == PENGPU)
    );
    problem(
        app.get(&app.client(Who::Integrator), "/v1/records").await,
        403,
    )
    .await;
    problem(
        app.get(&app.client(Who::Anonymous), "/v1/records").await,
        401,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn bad_filters_answer_problems_naming_the_parameter() {
    let app = TestApp::start().await;
    let analyst = app.client(Who::Analyst);
    for (query, param, seen) in [
        ("party=XX", "party", "XX"),
        ("unit=SH-999999", "unit", "SH-999999"),
        ("unit=nonsense", "unit", "nonsense"),
        ("descendants=yes&unit=SH-310106", "descendants", "yes"),
        ("descendants=true", "descendants", "true"),
        ("uscc=91310106MA00000000", "uscc", "91310106MA00000000"),
        ("subject=rec_1", "subject", "rec_1"),
        ("category=bogus", "category", "bogus"),
        ("decided_from=2025-02-30", "decided_from", "2025-02-30"),
        ("decided_to=yesterday", "decided_to", "yesterday"),
        (
            "decided_from=2025-02-01&decided_to=2025-01-01",
            "decided_to",
            "2025-01-01",
        ),
        ("fine_min_fen=-1", "fine_min_fen", "-1"),
        ("fine_max_fen=1.5", "fine_max_fen", "1.5"),
        ("fine_min_fen=9&fine_max_fen=3", "fine_max_fen", "3"),
        ("status=pending", "status", "pending"),
        ("sort=amount", "sort", "amount"),
        ("cursor=%21%21", "cursor", "!!"),
        ("limit=0", "limit", "0"),
        ("limit=501", "limit", "501"),
        ("limit=ten", "limit", "ten"),
        ("violation_code=flying", "violation_code", "flying"),
        ("violation_group=nope", "violation_group", "nope"),
    ] {
        let body = problem(
            app.get(&analyst, &format!("/v1/records?{query}")).await,
            422,
        )
        .await;
        let errors = body["errors"].as_array().unwrap();
        let e = errors
            .iter()
            .find(|e| e["pointer"] == format!("/{param}"))
            .unwrap_or_else(|| panic!("{query}: {body}"));
        let detail = e["detail"].as_str().unwrap();
        assert!(detail.contains(seen), "{query}: {detail}");
        assert!(detail.contains("expected"), "{query}: {detail}");
    }
    // A cursor of one sort is refused with the other.
    push_varied(&app, 0..3).await;
    let page = app.get_ok(&analyst, "/v1/records?limit=1").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    problem(
        app.get(
            &analyst,
            &format!("/v1/records?limit=1&sort=decision_date_asc&cursor={cursor}"),
        )
        .await,
        422,
    )
    .await;
    // Unknown and repeated parameters are malformed queries.
    problem(app.get(&analyst, "/v1/records?colour=red").await, 400).await;
    problem(
        app.get(&analyst, "/v1/records?party=SH&party=JS").await,
        400,
    )
    .await;
    problem(app.get(&analyst, "/v1/subjects").await, 400).await;
    problem(app.get(&analyst, "/v1/subjects?q=%20%20").await, 422).await;
    problem(app.get(&analyst, "/v1/subjects?q=a&limit=101").await, 422).await;
    app.stop().await;
}

#[tokio::test]
async fn subjects_are_found_by_folded_name_and_uscc_prefix() {
    let app = TestApp::start().await;
    let pushed = push_varied(&app, 0..8).await;
    let jingan = app.unit(JINGAN);
    let id_no = resident_id(7);
    app.push(
        &jingan,
        &json!({"records": [person_record(JINGAN.name, "沪静城管罚字〔2025〕第77号", &id_no)]}),
    )
    .await;
    let analyst = app.client(Who::Analyst);
    // Names are stored folded; a query with full-width digits and spaces finds them.
    let q = "/v1/subjects?q=%E4%B8%8A%E6%B5%B7%E6%B5%8B%E8%AF%95%20%E5%BB%BA%E7%AD%91%E5%B7%A5%E7%A8%8B%E6%9C%89%E9%99%90%E5%85%AC%E5%8F%B8%EF%BC%91%EF%BC%90%EF%BC%90%EF%BC%93";
    // 上海测试 建筑工程有限公司１００３
    let page = app.get_ok(&analyst, q).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["identifier"], uscc(1003));
    // Every pushed company by a common fragment, paged.
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = "/v1/subjects?q=%E6%B5%8B%E8%AF%95%E5%BB%BA%E7%AD%91&limit=3".to_owned();
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let page = app.get_ok(&analyst, &path).await;
        assert_eq!(page["total"].as_i64(), Some(pushed.len() as i64));
        for it in page["items"].as_array().unwrap() {
            ids.push(it["id"].as_str().unwrap().to_owned());
        }
        match page["next_after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), pushed.len());
    // By USCC prefix (case folded).
    let u = uscc(1005);
    let prefix = u[..16].to_lowercase();
    let page = app
        .get_ok(&analyst, &format!("/v1/subjects?q={prefix}"))
        .await;
    assert!(page["total"].as_i64().unwrap() >= 1);
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["identifier"] == u.as_str())
    );
    // A natural person: found by name, never by identity document, which is never shown.
    let text = app
        .get(&analyst, "/v1/subjects?q=%E5%BC%A0%E4%B8%89")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("natural_person") && !text.contains(&id_no),
        "{text}"
    );
    let none = app
        .get_ok(&analyst, &format!("/v1/subjects?q={id_no}"))
        .await;
    assert_eq!(none["total"], 0);
    // Wildcards are literal.
    assert_eq!(app.get_ok(&analyst, "/v1/subjects?q=%25").await["total"], 0);
    assert_eq!(app.get_ok(&analyst, "/v1/subjects?q=_").await["total"], 0);
    app.stop().await;
}

#[tokio::test]
async fn the_query_rate_limit_answers_429_then_recovers() {
    let app = TestApp::start_with_overrides(json!({
        "rate_limits": {
            "push": {"limit": 100, "window_secs": 60},
            "query": {"limit": 3, "window_secs": 2},
            "feed": {"limit": 2, "window_secs": 60},
        }
    }))
    .await;
    let analyst = app.client(Who::Analyst);
    for _ in 0..3 {
        assert_eq!(app.get(&analyst, "/v1/records").await.status(), 200);
    }
    let r = app.get(&analyst, "/v1/records?party=SH").await;
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let body = problem(r, 429).await;
    assert_eq!(body["code"], "rate_limited");
    // Another caller has its own budget.
    assert_eq!(
        app.get(&app.client(Who::Operator), "/v1/subjects?q=x")
            .await
            .status(),
        200
    );
    // The feed has a budget of its own: spending it leaves the integrator's queries alone.
    let integrator = app.client(Who::Integrator);
    for _ in 0..2 {
        assert_eq!(app.get(&integrator, "/v1/events").await.status(), 200);
    }
    problem(app.get(&integrator, "/v1/events").await, 429).await;
    assert_eq!(app.get(&integrator, "/v1/flags").await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_secs(retry + 1)).await;
    assert_eq!(app.get(&analyst, "/v1/records").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn an_analyst_api_key_queries_like_an_analyst_certificate() {
    let app = TestApp::start().await;
    let token = "pxk_test_queries_0123456789";
    let hash = penex::api::auth::api_key_hash(token);
    app.state
        .db(move |c| penex::store::apikeys::insert(c, "dash", "analyst", &hash))
        .await
        .unwrap();
    let jingan = app.unit(JINGAN);
    let id_no = resident_id(9);
    app.push(
        &jingan,
        &json!({"records": [person_record(JINGAN.name, "沪静城管罚字〔2025〕第9号", &id_no)]}),
    )
    .await;
    let anon = app.client(Who::Anonymous);
    let r = anon
        .get(app.url("/v1/records?party=SH"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        !text.contains(&id_no) && text.contains("\"total\":1"),
        "{text}"
    );
    for path in [
        "/v1/subjects?q=x",
        "/v1/stats/overview",
        "/v1/stats/delivery",
    ] {
        let r = anon
            .get(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    // An analyst is refused the metrics even from loopback.
    let r = anon
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    problem(r, 403).await;
    app.state
        .db(|c| penex::store::apikeys::revoke(c, "dash"))
        .await
        .unwrap();
    let r = anon
        .get(app.url("/v1/records"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    problem(r, 403).await;
    app.stop().await;
}

/// Records carry their place in the catalogue and are filtered by code and group; the catalogue
/// in force is readable by every role but anonymous callers.
#[tokio::test]
async fn records_are_filtered_by_catalogue_code_and_group() {
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    let mut ids = Vec::new();
    for (i, (text, basis)) in [
        ("未经许可运输建筑垃圾", "《某某管理办法》第九条"),
        ("违反市容规定", "依据《中华人民共和国城乡规划法》第六十四条"),
        ("擅自占用城市道路从事经营活动", "《某某管理办法》第九条"),
        ("违反动物防疫规定", "《中华人民共和国动物防疫法》第九十二条"),
    ]
    .iter()
    .enumerate()
    {
        let mut rec = company_record(
            JINGAN.name,
            &format!("沪静城管罚字〔2025〕第{}号", 700 + i),
            700,
        );
        rec["CF_WFXW"] = json!(text);
        rec["CF_YJ"] = json!(basis);
        let body: Value = app
            .push(&sh, &json!({ "records": [rec] }))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["items"][0]["status"], "accepted", "{body}");
        ids.push(body["items"][0]["record_id"].as_str().unwrap().to_owned());
    }
    let analyst = app.client(Who::Analyst);
    let page = app
        .get_ok(&analyst, "/v1/records?violation_group=construction_waste")
        .await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["id"], ids[0].as_str());
    assert_eq!(
        page["items"][0]["classification"]["violation_code"],
        "construction_waste_transport"
    );
    let page = app
        .get_ok(&analyst, "/v1/records?violation_code=illegal_construction")
        .await;
    assert_eq!(page["total"], 1, "{page}");
    let c = &page["items"][0]["classification"];
    assert_eq!(c["matched_by"], "legal_basis", "{c}");
    assert!(
        c["provision"].as_str().unwrap().contains("城乡规划法"),
        "{c}"
    );
    let page = app
        .get_ok(
            &analyst,
            "/v1/records?violation_code=road_occupation_business",
        )
        .await;
    assert_eq!(page["items"][0]["id"], ids[2].as_str(), "{page}");
    // The unmapped one has no classification, and the code filter never finds it.
    let all = app.get_ok(&analyst, "/v1/records?limit=10").await;
    let unmapped: Vec<&Value> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["classification"].is_null())
        .collect();
    assert_eq!(unmapped.len(), 1);
    assert_eq!(unmapped[0]["id"], ids[3].as_str());
    // The catalogue in force.
    let catalog = app.get_ok(&analyst, "/v1/catalog").await;
    assert!(catalog["types"].as_array().unwrap().len() > 100);
    assert!(
        catalog["statutes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "城乡规划法")
    );
    problem(
        app.get(&app.client(Who::Anonymous), "/v1/catalog").await,
        401,
    )
    .await;
    app.stop().await;
}

/// Every list route reads its paging one way: a bad `limit` or `after` is 422 `invalid_query`
/// naming the parameter with the value seen, an unknown parameter 400 `malformed_query`, and
/// good values answer 200.
#[tokio::test]
async fn every_list_route_reads_paging_the_same_way() {
    let app = TestApp::start().await;
    let cases = [
        (Who::Integrator, "/v1/events?", 1000),
        (Who::Operator, "/v1/outbox?", 1000),
        (Who::Analyst, "/v1/flags?", 500),
        (Who::Analyst, "/v1/conflicts?", 500),
        (Who::Analyst, "/v1/records?", 500),
        (Who::Analyst, "/v1/subjects?q=a&", 100),
    ];
    for (who, base, max) in cases {
        let c = app.client(who);
        for bad in ["0", "-3", "abc", &(max + 1).to_string()] {
            let path = format!("{base}limit={bad}");
            let body = problem(app.get(&c, &path).await, 422).await;
            assert_eq!(body["code"], "invalid_query", "{path}");
            assert_eq!(body["errors"][0]["pointer"], "/limit", "{path}");
            assert!(
                body["errors"][0]["detail"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("{bad:?}")),
                "{path}: {body}"
            );
        }
        let path = format!("{base}limit={max}");
        assert_eq!(app.get(&c, &path).await.status(), 200, "{path}");
        let path = format!("{base}colour=red");
        let body = problem(app.get(&c, &path).await, 400).await;
        assert_eq!(body["code"], "malformed_query", "{path}");
    }
    // Sequence cursors are numbers ≥ 0.
    for (who, path) in [
        (Who::Integrator, "/v1/events?after=-1"),
        (Who::Operator, "/v1/outbox?after=x"),
    ] {
        let body = problem(app.get(&app.client(who), path).await, 422).await;
        assert_eq!(body["errors"][0]["pointer"], "/after", "{path}");
    }
    app.stop().await;
}
