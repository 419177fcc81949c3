//! Statistics over mutual TLS, on both backends: the overview, the time series and the
//! cross-region figures agree with what the test pushed (and with the database); quality
//! figures agree with the push answers and are refused for another party's units; delivery
//! figures agree with the outbox.
#![expect(clippy::unwrap_used, clippy::string_slice, reason = "tests")]

use crate::common;

use common::records::{decided, dumping, person_record, resident_id};
use common::units::{HANGZHOU, JINGAN, PENGPU, QINGPU, SUZHOU};
use common::{TestApp, Who, problem};
use penex::domain::party::Party;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// A USCC registered in Suzhou (home party JS).
fn js_uscc(seed: u32) -> String {
    let body = format!("91320500MA{seed:07}");
    let check = penex::normalize::ids::uscc_check_char(&body).unwrap();
    format!("{body}{check}")
}

/// (key, period) → count, from a time series answer.
fn points(ts: &Value) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    for s in ts["series"].as_array().unwrap() {
        let mut sum = 0;
        for p in s["points"].as_array().unwrap() {
            let n = p["count"].as_i64().unwrap();
            sum += n;
            out.insert(
                (
                    s["key"].as_str().unwrap().to_owned(),
                    p["period"].as_str().unwrap().to_owned(),
                ),
                n,
            );
        }
        assert_eq!(s["total"].as_i64(), Some(sum));
    }
    out
}

fn map(entries: &[(&str, &str, i64)]) -> BTreeMap<(String, String), i64> {
    entries
        .iter()
        .map(|(k, p, n)| ((k.to_string(), p.to_string()), *n))
        .collect()
}

#[tokio::test]
async fn overview_series_and_cross_region_agree_with_the_pushed_data() {
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    let js = app.client(Who::Lead(Party::Jiangsu));
    let zj = app.client(Who::Lead(Party::Zhejiang));
    let ok = |v: &Value| assert_eq!(v["status"], "accepted", "{v}");
    let a1 = app
        .push_one(
            &sh,
            &decided(JINGAN.name, "沪静城管罚字〔2025〕第1号", 1, "2025-01-10"),
        )
        .await;
    ok(&a1);
    ok(&app
        .push_one(
            &sh,
            &decided(JINGAN.name, "沪静城管罚字〔2025〕第2号", 2, "2025-01-20"),
        )
        .await);
    let a3 = app
        .push_one(
            &sh,
            &decided(JINGAN.name, "沪静城管罚字〔2025〕第3号", 3, "2025-03-05"),
        )
        .await;
    ok(&a3);
    // The same company (seed 1) for another act in Jiangsu: a cross-region subject.
    ok(&app
        .push_one(
            &js,
            &decided(SUZHOU.name, "苏城管罚字〔2025〕第1号", 1, "2025-06-10"),
        )
        .await);
    // A Jiangsu company penalized in Jiangsu.
    let mut local = decided(SUZHOU.name, "苏城管罚字〔2025〕第2号", 9, "2025-03-15");
    local["CF_XDR_SHXYM"] = json!(js_uscc(9));
    ok(&app.push_one(&js, &local).await);
    // One act seen from both sides of the border: Qingpu filed first and keeps it; Suzhou's
    // record is the conflict's loser and never counts.
    ok(&app
        .push_one(
            &sh,
            &dumping(
                QINGPU.name,
                "沪青城管罚字〔2025〕第50号",
                50,
                "2025-03-04",
                "省界",
            ),
        )
        .await);
    let lost = app
        .push_one(
            &js,
            &dumping(
                SUZHOU.name,
                "苏城管罚决〔2025〕第50号",
                50,
                "2025-03-09",
                "省界",
            ),
        )
        .await;
    assert_eq!(lost["status"], "conflict", "{lost}");
    // A Shanghai resident penalized in Hangzhou.
    let p = app
        .push_one(
            &zj,
            &person_record(HANGZHOU.name, "杭综执罚字〔2025〕第7号", &resident_id(7)),
        )
        .await;
    ok(&p);
    // One revoked.
    let r = sh
        .post(app.url(&format!(
            "/v1/records/{}/revoke",
            a3["record_id"].as_str().unwrap()
        )))
        .json(&json!({"reason": "litigation"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Overview.
    let lead = app.client(Who::Lead(Party::Anhui));
    let o = app.get_ok(&lead, "/v1/stats/overview").await;
    assert_eq!(o["records"]["total"], 8, "{o}");
    assert_eq!(o["records"]["revoked"], 1);
    let r = &o["records"];
    assert_eq!(
        r["active"].as_i64().unwrap() + r["expired"].as_i64().unwrap() + 1,
        8
    );
    let today = penex::domain::clock::today_shanghai();
    let expired = app
        .state
        .db(move |c| {
            use diesel::prelude::*;
            use penex::store::schema::records;
            Ok(records::table
                .filter(records::status.eq("active"))
                .filter(records::publicity_until.lt(today))
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(r["expired"].as_i64(), Some(expired));
    let parties: HashMap<&str, &Value> = o["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["party"].as_str().unwrap(), p))
        .collect();
    assert_eq!(parties.len(), 4);
    assert_eq!(parties["SH"]["records"]["total"], 4);
    assert_eq!(parties["SH"]["records"]["revoked"], 1);
    assert_eq!(parties["JS"]["records"]["total"], 3);
    assert_eq!(parties["ZJ"]["records"]["total"], 1);
    assert_eq!(parties["AH"]["records"]["total"], 0);
    // SH: seeds 1, 2, 3 and 50; JS: seeds 1, 9 (Suzhou's own) and 50.
    assert_eq!(parties["SH"]["subjects"], 4);
    assert_eq!(parties["JS"]["subjects"], 3);
    assert_eq!(o["conflicts"]["open"], 1);
    assert_eq!(parties["SH"]["conflicts"]["open"], 1);
    assert_eq!(parties["JS"]["conflicts"]["open"], 1);
    assert!(parties["ZJ"]["conflicts"].as_object().unwrap().is_empty());
    assert_eq!(o["subjects"]["total"], app.count_rows("subjects").await);
    let flags_in_db = app.count_rows("flags").await;
    let flags_seen: i64 = o["flags"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(flags_seen, flags_in_db);
    assert_eq!(o["exemptions"], 0);

    // Records per month and party (revoked records were decided all the same).
    let ts = app
        .get_ok(
            &lead,
            "/v1/stats/timeseries?metric=records&by=party&interval=month",
        )
        .await;
    assert_eq!(
        points(&ts),
        map(&[
            ("SH", "2025-01", 2),
            ("SH", "2025-03", 2),
            ("JS", "2025-03", 2),
            ("JS", "2025-06", 1),
            ("ZJ", "2025-03", 1),
        ])
    );
    assert_eq!(ts["series"][0]["key"], "SH", "largest first");
    let march = app
        .get_ok(&lead, "/v1/stats/timeseries?from=2025-03&to=2025-03")
        .await;
    assert_eq!(
        points(&march),
        map(&[
            ("SH", "2025-03", 2),
            ("JS", "2025-03", 2),
            ("ZJ", "2025-03", 1)
        ])
    );
    let by_type = app
        .get_ok(&lead, "/v1/stats/timeseries?by=violation_type")
        .await;
    let mut totals: HashMap<String, i64> = HashMap::new();
    for ((k, _), n) in points(&by_type) {
        *totals.entry(k).or_default() += n;
    }
    assert_eq!(totals["未经许可运输建筑垃圾"], 5);
    assert_eq!(totals["擅自倾倒建筑垃圾"], 2);
    assert_eq!(totals["占道经营"], 1);
    let month_now = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m")
        .to_string();
    let conflicts = app
        .get_ok(&lead, "/v1/stats/timeseries?metric=conflicts")
        .await;
    assert_eq!(
        points(&conflicts),
        map(&[("SH", &month_now, 1), ("JS", &month_now, 1)])
    );
    let flags = app
        .get_ok(&lead, "/v1/stats/timeseries?metric=flags&by=violation_type")
        .await;
    if flags_in_db == 0 {
        assert!(flags["series"].as_array().unwrap().is_empty());
    }

    // Cross-region: only seed 1 counts in two parties (seed 50's Jiangsu record lost the
    // conflict, seed 3's Shanghai record was revoked).
    let x = app.get_ok(&lead, "/v1/stats/cross-region").await;
    assert_eq!(x["subjects_in_two_or_more_parties"], 1, "{x}");
    let s1 = app.subject_of(a1["record_id"].as_str().unwrap()).await;
    assert_eq!(x["subjects"][0]["subject_id"], s1.as_str());
    assert_eq!(x["subjects"][0]["parties"], json!(["JS", "SH"]));
    assert_eq!(x["subjects"][0]["records"], 2);
    let flows: BTreeMap<(String, String), (i64, i64)> = x["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                (
                    f["deciding_party"].as_str().unwrap().to_owned(),
                    f["home_party"].as_str().unwrap().to_owned(),
                ),
                (
                    f["records"].as_i64().unwrap(),
                    f["subjects"].as_i64().unwrap(),
                ),
            )
        })
        .collect();
    let want: BTreeMap<(String, String), (i64, i64)> = [
        (("SH", "SH"), (3, 3)),
        (("JS", "SH"), (1, 1)),
        (("JS", "JS"), (1, 1)),
        (("ZJ", "SH"), (1, 1)),
    ]
    .into_iter()
    .map(|((a, b), n)| ((a.to_owned(), b.to_owned()), n))
    .collect();
    assert_eq!(flows, want);
    // No personal data in any of it.
    let text = app
        .get(&app.client(Who::Analyst), "/v1/stats/cross-region")
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains(&resident_id(7)[..10]));

    // Bad parameters.
    for q in [
        "metric=records&by=unit",
        "metric=fines",
        "interval=week",
        "from=2025-13",
        "from=2025-05&to=2025-04",
    ] {
        problem(
            app.get(&lead, &format!("/v1/stats/timeseries?{q}")).await,
            422,
        )
        .await;
    }
    problem(app.get(&lead, "/v1/stats/timeseries?colour=red").await, 400).await;
    let integrator = app.client(Who::Integrator);
    for path in [
        "/v1/stats/overview",
        "/v1/stats/timeseries",
        "/v1/stats/cross-region",
        "/v1/stats/quality",
        "/v1/stats/delivery",
    ] {
        problem(app.get(&integrator, path).await, 403).await;
        problem(app.get(&app.client(Who::Anonymous), path).await, 401).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn quality_figures_agree_with_the_push_answers_and_stay_within_the_party() {
    let app = TestApp::start().await;
    let jingan = app.unit(JINGAN);
    let dates = ["2025-01-10", "2025-02-10", "2025-03-01"];
    let mut batch: Vec<Value> = dates
        .iter()
        .enumerate()
        .map(|(i, d)| {
            decided(
                JINGAN.name,
                &format!("沪静城管罚字〔2025〕第{i}号"),
                i as u32,
                d,
            )
        })
        .collect();
    // One of the three names an act the catalogue does not know.
    batch[2]["CF_WFXW"] = json!("违反动物防疫规定");
    batch[2]["CF_YJ"] = json!("《中华人民共和国动物防疫法》第九十二条");
    let mut bad_uscc = decided(JINGAN.name, "沪静城管罚字〔2025〕第90号", 90, "2025-03-01");
    bad_uscc["CF_XDR_SHXYM"] = json!("91310106MA00000000");
    let mut no_number = decided(JINGAN.name, "沪静城管罚字〔2025〕第91号", 91, "2025-03-01");
    no_number.as_object_mut().unwrap().remove("CF_WSH");
    no_number["CF_JDRQ"] = json!("2025-02-30");
    batch.push(bad_uscc);
    batch.push(no_number);
    let out: Value = app
        .push(&jingan, &json!({ "records": batch }))
        .await
        .json()
        .await
        .unwrap();
    let mut codes: HashMap<String, i64> = HashMap::new();
    let mut fields: HashMap<String, i64> = HashMap::new();
    for item in out["items"].as_array().unwrap() {
        for e in item["errors"].as_array().into_iter().flatten() {
            *codes
                .entry(e["code"].as_str().unwrap().to_owned())
                .or_default() += 1;
            let field = e["pointer"].as_str().unwrap().rsplit('/').next().unwrap();
            *fields.entry(field.to_owned()).or_default() += 1;
        }
    }
    assert_eq!(out["summary"]["accepted"], 3, "{out}");
    assert_eq!(out["summary"]["rejected"], 2, "{out}");
    // A correction and an identical re-push.
    let mut corrected = decided(JINGAN.name, "沪静城管罚字〔2025〕第0号", 0, "2025-01-10");
    corrected["CF_SY"] = json!("更正：当事人未取得许可擅自运输建筑垃圾。");
    assert_eq!(
        app.push_one(&jingan, &corrected.clone()).await["status"],
        "corrected"
    );
    assert_eq!(
        app.push_one(&jingan, &corrected).await["status"],
        "duplicate"
    );

    let analyst = app.client(Who::Analyst);
    let q = app.get_ok(&analyst, "/v1/stats/quality").await;
    let units = q["units"].as_array().unwrap();
    assert_eq!(units.len(), 1, "{q}");
    let u = &units[0];
    assert_eq!(u["unit_code"], JINGAN.code);
    assert_eq!(u["party"], "SH");
    assert_eq!(u["submissions"], 7);
    assert_eq!(
        u["outcomes"],
        json!({"accepted": 3, "duplicate": 1, "corrected": 1, "conflict": 0, "rejected": 2})
    );
    assert_eq!(u["corrections"], 1);
    // Three records decided: two mapped (the catalogue's own name), one not, listed by text.
    let cat = &u["catalogue"];
    assert_eq!(
        (cat["records"].as_i64(), cat["mapped"].as_i64()),
        (Some(3), Some(2)),
        "{cat}"
    );
    assert!((cat["mapped_share"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        cat["unmapped_types"],
        json!([{"name": "违反动物防疫规定", "count": 1}]),
        "{cat}"
    );
    let ways: i64 = cat["matched_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_i64().unwrap())
        .sum();
    assert_eq!(ways, 2, "{cat}");
    assert!((u["acceptance_rate"].as_f64().unwrap() - 5.0 / 7.0).abs() < 1e-9);
    let tallies = |v: &Value| -> HashMap<String, i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap().to_owned(),
                    t["count"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let top_codes = tallies(&u["top_rejection_codes"]);
    for (name, n) in &top_codes {
        assert_eq!(codes.get(name), Some(n), "{name}");
    }
    assert_eq!(top_codes.len(), codes.len().min(5));
    let top_fields = tallies(&u["top_rejection_fields"]);
    assert!(top_fields.contains_key("CF_XDR_SHXYM"), "{top_fields:?}");
    for (name, n) in &top_fields {
        assert_eq!(fields.get(name), Some(n), "{name}");
    }
    let today = penex::domain::clock::today_shanghai();
    let mut delays: Vec<i64> = dates
        .iter()
        .map(|d| (today - d.parse::<chrono::NaiveDate>().unwrap()).num_days())
        .collect();
    delays.sort_unstable();
    assert_eq!(u["median_push_delay_days"].as_f64(), Some(delays[1] as f64));

    // Who may read it.
    let sh = app.client(Who::Lead(Party::Shanghai));
    assert_eq!(
        app.get_ok(&sh, "/v1/stats/quality?unit=SH-310106").await["units"][0]["submissions"],
        7
    );
    assert_eq!(
        app.get_ok(&sh, "/v1/stats/quality").await["units"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get_ok(&jingan, "/v1/stats/quality").await["units"][0]["unit_code"],
        JINGAN.code
    );
    let js = app.client(Who::Lead(Party::Jiangsu));
    problem(app.get(&js, "/v1/stats/quality?unit=SH-310106").await, 403).await;
    assert!(
        app.get_ok(&js, "/v1/stats/quality").await["units"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let pengpu = app.unit(PENGPU);
    problem(
        app.get(&pengpu, "/v1/stats/quality?unit=SH-310106").await,
        403,
    )
    .await;
    problem(
        app.get(&jingan, "/v1/stats/quality?unit=SH-310000").await,
        403,
    )
    .await;
    assert!(
        app.get_ok(&pengpu, "/v1/stats/quality").await["units"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    problem(
        app.get(&analyst, "/v1/stats/quality?unit=SH-999999").await,
        422,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn delivery_figures_agree_with_the_outbox() {
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    for i in 0..5 {
        let item = app
            .push_one(
                &sh,
                &decided(
                    JINGAN.name,
                    &format!("沪静城管罚字〔2025〕第{i}号"),
                    i,
                    "2025-03-01",
                ),
            )
            .await;
        assert_eq!(item["status"], "accepted");
    }
    let analyst = app.client(Who::Analyst);
    let rows = app.count_rows("events").await;
    assert!(rows >= 5);
    let d = app.get_ok(&analyst, "/v1/stats/delivery").await;
    // No connector in tests: everything is waiting.
    assert_eq!(d["outbox"]["pending"].as_i64(), Some(rows), "{d}");
    assert_eq!(d["outbox"]["delivered"], 0);
    assert_eq!(d["latency"]["samples"], 0);
    assert!(d["latency"]["p50_ms"].is_null());
    // Deliver them as the publisher's cursor would, one round per event, the k-th after
    // k × 100 ms; the first is refused (a dead letter).
    let lat: Vec<i64> = app
        .state
        .db(|c| {
            use diesel::prelude::*;
            use penex::store::outbox::{self, NewException, PLATFORM, Round};
            use penex::store::schema::events;
            let rows: Vec<(i64, String, String, chrono::NaiveDateTime)> = events::table
                .order(events::seq)
                .select((
                    events::seq,
                    events::id,
                    events::subject_id,
                    events::created_at,
                ))
                .load(c)?;
            let now = penex::store::now_utc();
            assert!(
                outbox::lease_cursor(c, PLATFORM, "test", now, now + chrono::Duration::hours(1))?
                    .is_some()
            );
            let mut lat = Vec::new();
            for (k, (seq, id, subject, created)) in rows.iter().enumerate() {
                let ms = (k as i64) * 100;
                let at = *created + chrono::Duration::milliseconds(ms);
                let exceptions = if k == 0 {
                    vec![NewException {
                        connector: PLATFORM.into(),
                        event_seq: *seq,
                        event_id: id.clone(),
                        subject_id: subject.clone(),
                        status: "dead".into(),
                        attempts: 1,
                        sends: 0,
                        next_attempt_at: at,
                        last_error: Some("HTTP 400".into()),
                        last_status: Some(400),
                        created_at: *created,
                    }]
                } else {
                    lat.push(ms);
                    Vec::new()
                };
                let round = Round {
                    from_through: seq - 1,
                    through: *seq,
                    sends: 1,
                    exceptions,
                    now: at,
                    until: at + chrono::Duration::hours(1),
                };
                assert!(outbox::commit_round(c, PLATFORM, "test", &round)?);
            }
            Ok(lat)
        })
        .await
        .unwrap();
    let rank = |p: f64| lat[((p / 100.0 * lat.len() as f64).ceil() as usize).max(1) - 1];
    let d = app.get_ok(&analyst, "/v1/stats/delivery").await;
    assert_eq!(d["outbox"]["pending"], 0, "{d}");
    assert_eq!(d["outbox"]["dead"], 1);
    assert_eq!(d["outbox"]["delivered"].as_i64(), Some(rows - 1));
    assert_eq!(d["dead_letters"].as_array().unwrap().len(), 1);
    assert_eq!(d["latency"]["samples"].as_i64(), Some(lat.len() as i64));
    assert_eq!(d["latency"]["p50_ms"].as_i64(), Some(rank(50.0)));
    assert_eq!(d["latency"]["p90_ms"].as_i64(), Some(rank(90.0)));
    assert_eq!(d["latency"]["p99_ms"].as_i64(), Some(rank(99.0)));
    assert_eq!(d["latency"]["max_ms"].as_i64(), lat.last().copied());
    // Units do not see delivery health.
    problem(app.get(&sh, "/v1/stats/delivery").await, 403).await;
    assert_eq!(
        app.get(&app.client(Who::Operator), "/v1/stats/delivery")
            .await
            .status(),
        200
    );
    app.stop().await;
}

/// The value of the sample `line_prefix` (a metric name with its labels) in a scrape.
fn sample(text: &str, line_prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_prefix)?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_are_for_operators_and_local_scrapers_and_agree_with_the_traffic() {
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    let item = app
        .push_one(
            &sh,
            &decided(JINGAN.name, "沪静城管罚字〔2025〕第1号", 1, "2025-03-01"),
        )
        .await;
    assert_eq!(item["status"], "accepted");
    let mut bad = decided(JINGAN.name, "沪静城管罚字〔2025〕第2号", 2, "2025-03-01");
    bad["CF_XDR_SHXYM"] = json!("91310106MA00000000");
    assert_eq!(app.push_one(&sh, &bad).await["status"], "rejected");
    let analyst = app.client(Who::Analyst);
    let id = item["record_id"].as_str().unwrap();
    for _ in 0..3 {
        app.get_ok(&analyst, &format!("/v1/records/{id}")).await;
    }
    assert_eq!(app.get(&analyst, "/v1/nothing/here").await.status(), 404);

    let operator = app.client(Who::Operator);
    let r = app.get(&operator, "/metrics").await;
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = r.text().await.unwrap();
    let get_record =
        "penex_http_requests_total{method=\"GET\",route=\"/v1/records/{id}\",status=\"200\"}";
    assert_eq!(sample(&text, get_record), Some(3.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "penex_http_requests_total{method=\"POST\",route=\"/v1/records\",status=\"200\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "penex_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "penex_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/records/{id}\"}"
        ),
        Some(3.0)
    );
    assert!(!text.contains(id), "raw paths never become labels");
    assert_eq!(
        sample(&text, "penex_ingest_submissions{outcome=\"accepted\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "penex_ingest_submissions{outcome=\"rejected\"}"),
        Some(1.0)
    );
    let outbox = app.count_rows("events").await as f64;
    assert_eq!(
        sample(&text, "penex_outbox_events{status=\"pending\"}"),
        Some(outbox)
    );
    // Requests so far: 2 pushes, 3 reads, 1 unmatched (no credentials checked), this scrape.
    assert!(
        sample(
            &text,
            "penex_cache_rate_limit_total{class=\"query\",result=\"allowed\"}"
        )
        .is_some_and(|n| n >= 3.0)
    );
    assert_eq!(
        sample(
            &text,
            "penex_cache_rate_limit_total{class=\"push\",result=\"allowed\"}"
        ),
        Some(2.0)
    );
    // Restricted: other roles are refused even from loopback; no credentials from loopback
    // (a local scraper) are let in.
    for who in [Who::Analyst, Who::Lead(Party::Shanghai), Who::Integrator] {
        problem(app.get(&app.client(who), "/metrics").await, 403).await;
    }
    let anon = app.get(&app.client(Who::Anonymous), "/metrics").await;
    assert_eq!(anon.status(), 200);
    assert!(
        anon.text()
            .await
            .unwrap()
            .contains("penex_http_requests_total")
    );
    app.stop().await;
}
