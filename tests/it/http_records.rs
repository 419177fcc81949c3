//! Ingest over mutual TLS, on the backend the environment selects: mixed batches, corrections,
//! duplicates, relays, idempotency, revocation, rights, privacy, and bad input that never
//! produces a 500 or a partial write.

use crate::common;

use common::records::{company_record, person_record, resident_id};
use common::units::{JINGAN, PENGPU};
use common::{TestApp, Who, problem};
use penex::domain::party::Party;
use serde_json::{Value, json};

#[tokio::test]
async fn a_mixed_batch_answers_per_item_in_order_and_stores_the_good_ones() {
    let app = TestApp::start().await;
    let c = app.unit(JINGAN);
    let mut bad_checksum = company_record(JINGAN.name, "沪静城管罚字〔2025〕第1号", 2);
    bad_checksum["CF_XDR_SHXYM"] = json!("91310106MA0000002X");
    let mut wrong_type = company_record(JINGAN.name, "沪静城管罚字〔2025〕第2号", 3);
    wrong_type["CF_JDRQ"] = json!({"year": 2025});
    let body = json!({"records": [
        company_record(JINGAN.name, "沪静城管罚字〔2025〕第100号", 1),
        bad_checksum,
        person_record(PENGPU.name, "沪静彭浦罚字[2025]第7号", &resident_id(7)),
        wrong_type,
        company_record("上海市不存在区城市管理局", "沪某罚字〔2025〕第1号", 4),
    ]});
    let r = app.push(&c, &body).await;
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    let items = out["items"].as_array().unwrap();
    let statuses: Vec<&str> = items
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["accepted", "rejected", "accepted", "rejected", "rejected"]
    );
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["index"], i);
    }
    assert_eq!(items[1]["errors"][0]["pointer"], "/records/1/CF_XDR_SHXYM");
    assert_eq!(items[1]["errors"][0]["code"], "invalid_checksum");
    assert_eq!(items[3]["errors"][0]["pointer"], "/records/3/CF_JDRQ");
    assert_eq!(items[4]["errors"][0]["code"], "unknown_authority");
    assert_eq!(items[4]["errors"][0]["pointer"], "/records/4/CF_CFJG");
    assert!(items[0]["record_id"].as_str().unwrap().starts_with("rec_"));
    assert_eq!(items[0]["version"], 1);
    assert_eq!(out["summary"]["accepted"], 2);
    assert_eq!(out["summary"]["rejected"], 3);
    assert_eq!(app.count_rows("records").await, 2);
    assert_eq!(app.count_rows("submissions").await, 5);
    app.stop().await;
}

#[tokio::test]
async fn identical_repush_is_duplicate_and_changed_content_is_a_new_version() {
    let app = TestApp::start().await;
    let c = app.unit(JINGAN);
    let rec = company_record(JINGAN.name, "沪静城管罚字〔2025〕第200号", 5);
    let first: Value = app.push(&c, &rec).await.json().await.unwrap();
    let id = first["items"][0]["record_id"].as_str().unwrap().to_owned();

    // Same content with other brackets, widths and spaces in the decision number.
    let mut same = rec.clone();
    same["CF_WSH"] = json!("沪静城管罚字[ 2025 ]第200号");
    let again: Value = app.push(&c, &same).await.json().await.unwrap();
    assert_eq!(again["items"][0]["status"], "duplicate");
    assert_eq!(again["items"][0]["record_id"], id.as_str());
    assert_eq!(again["items"][0]["version"], 1);

    let mut changed = rec.clone();
    changed["CF_NR_FK"] = json!("3");
    changed["CF_NR"] = json!("罚款人民币叁万元整");
    let corrected: Value = app.push(&c, &changed).await.json().await.unwrap();
    assert_eq!(corrected["items"][0]["status"], "corrected");
    assert_eq!(corrected["items"][0]["version"], 2);

    let view: Value = c
        .get(app.url(&format!("/v1/records/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["version"], 2);
    assert_eq!(view["record"]["fine_fen"], 3_000_000);
    let versions = view["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["record"]["fine_fen"], 2_000_000);
    assert_eq!(view["submissions"].as_array().unwrap().len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn a_lead_relaying_a_members_record_lands_on_the_same_record() {
    let app = TestApp::start().await;
    let member = app.unit(JINGAN);
    let lead = app.client(Who::Lead(Party::Shanghai));
    let rec = company_record(JINGAN.name, "沪静城管罚字〔2025〕第300号", 6);
    let a: Value = app.push(&member, &rec).await.json().await.unwrap();
    let b: Value = app.push(&lead, &rec).await.json().await.unwrap();
    assert_eq!(b["items"][0]["status"], "duplicate");
    assert_eq!(a["items"][0]["record_id"], b["items"][0]["record_id"]);
    assert_eq!(app.count_rows("records").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn pushing_for_an_authority_outside_your_rights_is_403_and_stores_nothing() {
    let app = TestApp::start().await;
    // Jing'an may not push for Huangpu (a sibling), and Jiangsu's lead not for Shanghai.
    let jingan = app.unit(JINGAN);
    let body = json!({"records": [
        company_record(JINGAN.name, "沪静城管罚字〔2025〕第400号", 8),
        company_record("上海市黄浦区城市管理行政执法局", "沪黄城管罚字〔2025〕第1号", 9),
    ]});
    let body403 = problem(app.push(&jingan, &body).await, 403).await;
    assert!(body403["detail"].as_str().unwrap().contains("/records/1"));
    let js = app.client(Who::Lead(Party::Jiangsu));
    problem(
        app.push(
            &js,
            &company_record(JINGAN.name, "沪静城管罚字〔2025〕第401号", 10),
        )
        .await,
        403,
    )
    .await;
    // A street unit may not push for its district either.
    let pengpu = app.unit(PENGPU);
    problem(
        app.push(
            &pengpu,
            &company_record(JINGAN.name, "沪静城管罚字〔2025〕第402号", 11),
        )
        .await,
        403,
    )
    .await;
    // Analysts do not push at all.
    problem(app.push(&app.client(Who::Analyst), &body).await, 403).await;
    assert_eq!(app.count_rows("records").await, 0);
    assert_eq!(app.count_rows("submissions").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn idempotency_key_replays_the_same_answer_and_refuses_another_body() {
    let app = TestApp::start().await;
    let c = app.unit(JINGAN);
    let body = json!({"records": [company_record(JINGAN.name, "沪静城管罚字〔2025〕第500号", 12)]});
    let send = |b: Value| {
        c.post(app.url("/v1/records"))
            .header("Idempotency-Key", "batch-2025-03-20-001")
            .json(&b)
            .send()
    };
    let first: Value = send(body.clone()).await.unwrap().json().await.unwrap();
    let second = send(body.clone()).await.unwrap();
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second, "a replay must return the same answer");
    assert_eq!(app.count_rows("submissions").await, 1);
    let other =
        json!({"records": [company_record(JINGAN.name, "沪静城管罚字〔2025〕第501号", 13)]});
    let r = send(other).await.unwrap();
    assert_eq!(problem(r, 422).await["code"], "idempotency_key_reused");
    app.stop().await;
}

#[tokio::test]
async fn revoke_by_the_deciding_unit_and_refusal_for_another_party() {
    let app = TestApp::start().await;
    let c = app.unit(JINGAN);
    let out: Value = app
        .push(
            &c,
            &company_record(JINGAN.name, "沪静城管罚字〔2025〕第600号", 14),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = out["items"][0]["record_id"].as_str().unwrap().to_owned();
    let url = app.url(&format!("/v1/records/{id}/revoke"));

    let zj = app.client(Who::Lead(Party::Zhejiang));
    let r = zj
        .post(&url)
        .json(&json!({"reason": "litigation"}))
        .send()
        .await
        .unwrap();
    problem(r, 404).await;

    let r = c
        .post(&url)
        .json(&json!({"reason": "other"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r, 422).await["errors"][0]["pointer"], "/note");

    let r = c
        .post(&url)
        .json(&json!({"reason": "reconsideration"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["status"], "revoked");
    assert_eq!(view["revocation"]["reason"], "reconsideration");
    assert_eq!(view["revocation"]["by"], format!("unit:{}", JINGAN.code));

    let r = c
        .post(&url)
        .json(&json!({"reason": "reconsideration"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r, 409).await["code"], "already_revoked");
    app.stop().await;
}

#[tokio::test]
async fn id_numbers_are_sealed_at_rest_and_masked_for_everyone_but_the_deciding_unit() {
    let app = TestApp::start().await;
    let id_no = resident_id(42);
    let c = app.unit(PENGPU);
    let out: Value = app
        .push(
            &c,
            &person_record(PENGPU.name, "沪静彭浦罚字〔2025〕第42号", &id_no),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(out["items"][0]["status"], "accepted", "{out}");
    let id = out["items"][0]["record_id"].as_str().unwrap().to_owned();

    // At rest: the number appears in no table.
    let needle = id_no.clone();
    let leaks = app
        .state
        .db(move |conn| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct T {
                #[diesel(sql_type = diesel::sql_types::Text)]
                t: String,
            }
            let mut texts: Vec<T> = diesel::sql_query(
                "SELECT canonical_json AS t FROM records UNION ALL \
                 SELECT canonical_json AS t FROM record_versions \
                 WHERE canonical_json IS NOT NULL UNION ALL \
                 SELECT raw_json AS t FROM submissions WHERE raw_json IS NOT NULL UNION ALL \
                 SELECT detail AS t FROM audit_log",
            )
            .load(conn)
            .map_err(penex::store::StoreError::from)?;
            // The raw items packed per batch, decompressed.
            for (t, _) in stored_raw_items(conn)? {
                texts.push(T { t });
            }
            texts.retain(|t| {
                t.t.contains(&needle) || t.t.contains(&needle.chars().take(10).collect::<String>())
            });
            Ok(texts.len())
        })
        .await
        .unwrap();
    assert_eq!(leaks, 0, "the ID number is stored in clear");

    let url = app.url(&format!("/v1/records/{id}"));
    let own: Value = c.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(own["record"]["subject"]["id_no"], id_no.as_str());
    assert_eq!(own["submissions"][0]["raw"]["证件号码"], id_no.as_str());
    for who in [
        Who::Analyst,
        Who::Lead(Party::Shanghai),
        Who::Lead(Party::Anhui),
    ] {
        let text = app
            .client(who)
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains(&id_no), "ID number leaked: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let masked = v["record"]["subject"]["id_no"].as_str().unwrap();
        assert!(
            masked.starts_with("3101") && masked.contains('*'),
            "{masked}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_problems_never_a_500() {
    let app = TestApp::start().await;
    let c = app.unit(JINGAN);
    let url = app.url("/v1/records");
    let raw = |body: &'static str| {
        c.post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(
        problem(raw("{\"records\": [").await.unwrap(), 400).await["code"],
        "malformed_json"
    );
    assert_eq!(
        problem(raw("42").await.unwrap(), 422).await["errors"][0]["pointer"],
        ""
    );
    assert_eq!(
        problem(raw("{\"records\": {}}").await.unwrap(), 422).await["errors"][0]["pointer"],
        "/records"
    );
    assert_eq!(
        problem(raw("{\"records\": []}").await.unwrap(), 422).await["code"],
        "empty_batch"
    );
    let r = c
        .post(&url)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    problem(r, 415).await;
    // A single record with wrong types: 422 with pointers.
    let mut rec = company_record(JINGAN.name, "沪静城管罚字〔2025〕第700号", 15);
    rec["CF_XDR_MC"] = json!(["not", "text"]);
    rec["CF_NR_FK"] = json!(true);
    let body = problem(app.push(&c, &rec).await, 422).await;
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(
        pointers.contains(&"/CF_XDR_MC") && pointers.contains(&"/CF_NR_FK"),
        "{pointers:?}"
    );
    // More items than allowed: 413.
    let many: Vec<Value> = (0..1001).map(|i| json!({"n": i})).collect();
    problem(app.push(&c, &json!({"records": many})).await, 413).await;
    // A body over the byte limit: 413.
    let huge = format!("{{\"records\": [\"{}\"]}}", "x".repeat(9 * 1024 * 1024));
    let r = c
        .post(&url)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(r, 413).await;
    // Items of every JSON type inside a batch are answered, not crashed on.
    let odd = json!({"records": [null, 1, "x", [], {}, {"CF_XDR_MC": {"a": 1}}]});
    let out: Value = app.push(&c, &odd).await.json().await.unwrap();
    assert!(
        out["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "rejected")
    );
    // Control characters (which PostgreSQL cannot store) are field errors, not 500s.
    let mut nul = company_record(JINGAN.name, "沪静城管罚字〔2025〕第7\u{0}01号", 16);
    nul["CF_XDR_MC"] = json!("上海\u{0}某某有限公司");
    let out: Value = app
        .push(&c, &json!({"records": [nul]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(out["items"][0]["status"], "rejected");
    assert_eq!(out["items"][0]["errors"][0]["code"], "control_character");
    // Unknown record ids are 404; revoke with a wrong reason is a 4xx problem.
    problem(
        c.get(app.url("/v1/records/rec_nope")).send().await.unwrap(),
        404,
    )
    .await;
    let r = c
        .post(app.url("/v1/records/rec_nope/revoke"))
        .json(&json!({"reason": "whim"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    assert_eq!(app.count_rows("records").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn validate_stores_nothing_and_reports_rights_per_item() {
    let app = TestApp::start().await;
    let c = app.unit(JINGAN);
    let body = json!({"records": [
        company_record(JINGAN.name, "沪静城管罚字〔2025〕第800号", 16),
        company_record("上海市黄浦区城市管理行政执法局", "沪黄城管罚字〔2025〕第2号", 17),
    ]});
    let out: Value = c
        .post(app.url("/v1/records:validate"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(out["items"][0]["status"], "valid");
    assert_eq!(out["items"][1]["status"], "rejected");
    assert_eq!(out["items"][1]["errors"][0]["code"], "authority_not_yours");
    assert_eq!(app.count_rows("records").await, 0);
    assert_eq!(app.count_rows("submissions").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn every_push_is_in_the_audit_chain_and_the_chain_verifies() {
    let app = TestApp::start().await;
    let c = app.unit(JINGAN);
    for n in 0..3 {
        let r = app
            .push(
                &c,
                &company_record(
                    JINGAN.name,
                    &format!("沪静城管罚字〔2025〕第9{n}号"),
                    20 + n,
                ),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let verdict = app.state.db(penex::store::audit::verify).await.unwrap();
    assert_eq!(
        verdict,
        penex::store::audit::Verification::Intact { entries: 3 }
    );
    app.stop().await;
}

/// Every raw item packed in `submission_batches`, decompressed: (item text, batch row id).
#[expect(clippy::unwrap_used, reason = "test helper")]
fn stored_raw_items(
    conn: &mut penex::store::Conn,
) -> Result<Vec<(String, i64)>, penex::store::StoreError> {
    use diesel::prelude::*;
    use penex::store::schema::submission_batches as b;
    let rows: Vec<(i64, String, Vec<u8>, Vec<u8>)> = b::table
        .order(b::id)
        .select((b::id, b::encoding, b::item_ends, b::body))
        .load(conn)?;
    let mut out = Vec::new();
    for (id, encoding, ends, body) in rows {
        let un = penex::store::raw::unpack(&encoding, &body, &ends)?;
        for k in 0..un.len() {
            out.push((un.item(i64::try_from(k).unwrap())?, id));
        }
    }
    Ok(out)
}

/// A row count of a query (`SELECT COUNT(*) AS n …`), read directly from the database.
#[expect(clippy::unwrap_used, reason = "test helper")]
async fn count_where(app: &TestApp, sql: &'static str) -> i64 {
    app.state
        .db(move |c| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let rows: Vec<N> = diesel::sql_query(sql)
                .load(c)
                .map_err(penex::store::StoreError::from)?;
            Ok(rows.first().map_or(0, |r| r.n))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn raw_items_are_stored_once_per_batch_and_served_as_sent() {
    let app = TestApp::start().await;
    let c = app.unit(JINGAN);
    let id_no = resident_id(77);
    let person = person_record(JINGAN.name, "沪静城管罚字〔2025〕第770号", &id_no);
    let company = company_record(JINGAN.name, "沪静城管罚字〔2025〕第771号", 771);
    let mut rejected = company_record(JINGAN.name, "沪静城管罚字〔2025〕第772号", 772);
    rejected["CF_XDR_SHXYM"] = json!("91310106MA0000002X");
    let body = json!({"records": [person, rejected, company]});
    let out: Value = app.push(&c, &body).await.json().await.unwrap();
    let statuses: Vec<&str> = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["accepted", "rejected", "accepted"], "{out}");

    // One batch row; three slim submission rows that point at it and hold no raw text.
    assert_eq!(app.count_rows("submission_batches").await, 1);
    assert_eq!(app.count_rows("submissions").await, 3);
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) AS n FROM submissions \
             WHERE raw_json IS NULL AND batch_ref IS NOT NULL AND idempotency_key IS NULL"
        )
        .await,
        3
    );

    // At rest, item k of the batch is item k as sent with its ID number sealed.
    let items = app.state.db(stored_raw_items).await.unwrap();
    assert_eq!(items.len(), 3);
    let at_rest: Vec<Value> = items
        .iter()
        .map(|(t, _)| serde_json::from_str(t).unwrap())
        .collect();
    assert_ne!(at_rest[0]["证件号码"], id_no.as_str());
    assert!(!items[0].0.contains(&id_no));
    let mut without_id = at_rest[0].clone();
    without_id["证件号码"] = body["records"][0]["证件号码"].clone();
    assert_eq!(without_id, body["records"][0]);
    assert_eq!(at_rest[1], body["records"][1]);
    assert_eq!(at_rest[2], body["records"][2]);

    // The deciding unit sees each raw item exactly as sent; everyone else the ID number masked.
    for k in [0, 2] {
        let id = out["items"][k]["record_id"].as_str().unwrap();
        let own = app.get_ok(&c, &format!("/v1/records/{id}")).await;
        let subs = own["submissions"].as_array().unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0]["index"], k);
        assert_eq!(subs[0]["outcome"], "accepted");
        assert_eq!(subs[0]["raw"], body["records"][k]);
    }
    let person_id = out["items"][0]["record_id"].as_str().unwrap().to_owned();
    let operator = app
        .get_json(Who::Operator, &format!("/v1/records/{person_id}"))
        .await;
    let masked = operator["submissions"][0]["raw"]["证件号码"]
        .as_str()
        .unwrap();
    assert!(masked.contains('*') && masked != id_no, "{masked}");

    // A single-record push (a correction) is a batch of one: the record now shows both raw
    // items, each cut from its own batch.
    let mut corrected = body["records"][0].clone();
    corrected["处罚内容"] = json!("一、警告;\n二、罚款人民币叁佰元整。");
    let again: Value = app.push(&c, &corrected).await.json().await.unwrap();
    assert_eq!(again["items"][0]["status"], "corrected", "{again}");
    assert_eq!(app.count_rows("submission_batches").await, 2);
    let own = app.get_ok(&c, &format!("/v1/records/{person_id}")).await;
    let subs = own["submissions"].as_array().unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0]["raw"], body["records"][0]);
    assert_eq!(subs[1]["raw"], corrected);
    assert_eq!(subs[1]["outcome"], "corrected");
    app.stop().await;
}

#[tokio::test]
async fn superseded_versions_keep_their_json_and_the_current_one_is_the_records() {
    let app = TestApp::start().await;
    let c = app.unit(JINGAN);
    let v1 = company_record(JINGAN.name, "沪静城管罚字〔2025〕第780号", 780);
    let mut v2 = v1.clone();
    v2["CF_NR_FK"] = json!("3");
    v2["CF_NR"] = json!("罚款人民币叁万元整");
    let mut v3 = v1.clone();
    v3["CF_NR_FK"] = json!("4");
    v3["CF_NR"] = json!("罚款人民币肆万元整");
    // Version 1 superseded within its own batch, version 2 by a later push.
    let first: Value = app
        .push(&c, &json!({"records": [v1, v2]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"][1]["status"], "corrected", "{first}");
    let id = first["items"][0]["record_id"].as_str().unwrap().to_owned();
    let second = app.push_one(&c, &v3).await;
    assert_eq!(second["status"], "corrected");
    assert_eq!(second["version"], 3);

    // Only the current version's row leaves its JSON to the record.
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) AS n FROM record_versions WHERE canonical_json IS NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) AS n FROM record_versions WHERE canonical_json IS NULL \
             AND version = 3"
        )
        .await,
        1
    );

    let view = app.get_ok(&c, &format!("/v1/records/{id}")).await;
    assert_eq!(view["version"], 3);
    assert_eq!(view["record"]["fine_fen"], 4_000_000);
    let fines: Vec<&Value> = view["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["record"]["fine_fen"])
        .collect();
    assert_eq!(fines, [2_000_000, 3_000_000, 4_000_000]);
    assert_eq!(view["versions"][2]["record"], view["record"]);

    // Each event carries the JSON of its own version, even the one superseded in its batch.
    let feed = app
        .get_json(Who::Integrator, "/v1/events?after=0&limit=100")
        .await;
    let of_record: Vec<(i64, i64)> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record_id"] == id.as_str())
        .map(|e| {
            (
                e["payload"]["record"]["version"].as_i64().unwrap(),
                e["payload"]["record"]["canonical"]["fine_fen"]
                    .as_i64()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        of_record,
        [(1, 2_000_000), (2, 3_000_000), (3, 4_000_000)],
        "{feed}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_feed_payload_is_the_payload_signed_in_the_jws() {
    use base64::Engine as _;
    let app = TestApp::start().await;
    let c = app.unit(JINGAN);
    app.push_accepted(
        &c,
        &company_record(JINGAN.name, "沪静城管罚字〔2025〕第790号", 790),
    )
    .await;
    let feed = app
        .get_json(Who::Integrator, "/v1/events?after=0&limit=100")
        .await;
    let events = feed["events"].as_array().unwrap();
    assert!(!events.is_empty(), "{feed}");
    for e in events {
        let jws = e["jws"].as_str().unwrap();
        let segment = jws.split('.').nth(1).unwrap();
        let signed: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(segment)
                .unwrap(),
        )
        .unwrap();
        assert!(signed.is_object());
        assert_eq!(e["payload"], signed);
        assert_eq!(e["payload"]["id"], e["id"]);
        assert_eq!(e["payload"]["seq"], e["seq"]);
        assert_eq!(e["payload"]["type"], e["type"]);
    }
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) AS n FROM events WHERE jws LIKE '%.%.%'"
        )
        .await,
        i64::try_from(events.len()).unwrap()
    );
    app.stop().await;
}
