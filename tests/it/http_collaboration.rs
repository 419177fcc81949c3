//! Case collaboration over HTTPS with units' client certificates, on both backends: every kind
//! end to end, the rights matrix (same level, cross-level through the superior, the other
//! party's lead, an analyst, a unit with no part: allowed and forbidden cells, nothing written
//! when forbidden), the state table's 409, overdue and escalation with a moved clock,
//! attachments (limit, type, rights, encryption at rest), the units' signed feed, the lead's
//! 备案 register and CSV, the figures, and a conflict settled by a transfer.
#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use crate::common;

use common::records::{dumping, uscc};
use common::units::{JIAXING, JINGAN, PENGPU, QINGPU, SUZHOU};
use common::{TestApp, Who, lead_code, problem};
use penex::domain::party::Party;
use serde_json::{Value, json};

fn transfer(doc: &str, to: &str, seed: u32) -> Value {
    json!({
        "kind": "transfer",
        "doc_no": doc,
        "to": to,
        "subject": {"name": format!("苏州某某渣土运输有限公司{seed}"), "kind": "legal_person", "uscc": uscc(seed)},
        "violation_type": "擅自倾倒建筑垃圾",
        "place": "320506",
        "facts": "当事人车辆在吴中区某路段倾倒建筑垃圾约20立方米。"
    })
}

async fn post_item(app: &TestApp, c: &reqwest::Client, body: &Value) -> reqwest::Response {
    c.post(app.url("/v1/collaboration/items"))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn send(app: &TestApp, c: &reqwest::Client, body: &Value) -> Value {
    let r = post_item(app, c, body).await;
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

async fn step(app: &TestApp, c: &reqwest::Client, id: &str, body: Value) -> reqwest::Response {
    c.post(app.url(&format!("/v1/collaboration/items/{id}/steps")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn step_ok(app: &TestApp, c: &reqwest::Client, id: &str, body: Value) -> Value {
    let r = step(app, c, id, body.clone()).await;
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{body} → {v}");
    v
}

fn today() -> String {
    penex::domain::clock::today_shanghai().to_string()
}

async fn rows(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.count_rows("collab_items").await,
        app.count_rows("collab_steps").await,
        app.count_rows("collab_events").await,
        app.count_rows("audit_log").await,
    )
}

async fn feed(app: &TestApp, c: &reqwest::Client) -> Vec<Value> {
    let page: Value = app
        .get(c, "/v1/collaboration/events?after=0&limit=1000")
        .await
        .json()
        .await
        .unwrap();
    page["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_transfer_runs_from_sending_to_closing_and_every_step_is_signed_on_the_units_feed() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let suzhou = app.unit(SUZHOU);
    let item = send(
        &app,
        &qingpu,
        &transfer("沪青城管移字〔2026〕第3号", SUZHOU.code, 1),
    )
    .await;
    let id = item["id"].as_str().unwrap().to_owned();
    assert_eq!(item["status"], "sent");
    assert_eq!(item["due_side"], "receiver");
    assert!(item["due_on"].as_str().unwrap() > today().as_str());
    assert_eq!(item["next_steps"][0]["step"], "receive");
    assert_eq!(item["next_steps"][0]["yours"], false);
    // The same letter again: the stored item, nothing new written.
    let before = rows(&app).await;
    let again = qingpu
        .post(app.url("/v1/collaboration/items"))
        .json(&transfer("沪青城管移字〔2026〕第3号", SUZHOU.code, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(rows(&app).await, before);
    // Suzhou's inbox has it; Qingpu's outbox too.
    let inbox: Value = app
        .get_ok(&suzhou, "/v1/collaboration/items?box=inbox")
        .await;
    assert_eq!(inbox["items"][0]["id"], id.as_str());
    let outbox: Value = app
        .get_ok(&qingpu, "/v1/collaboration/items?box=outbox")
        .await;
    assert_eq!(outbox["items"][0]["id"], id.as_str());
    // An impossible step: 409 with the allowed ones, nothing written.
    let before = rows(&app).await;
    let p = problem(
        step(
            &app,
            &suzhou,
            &id,
            json!({"step": "accept", "case_no": "x", "filed_on": today()}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "step_not_allowed");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("receive (by the receiver)"),
        "{p}"
    );
    assert_eq!(rows(&app).await, before);
    step_ok(&app, &suzhou, &id, json!({"step": "receive"})).await;
    let accepted = step_ok(
        &app,
        &suzhou,
        &id,
        json!({"step": "accept", "case_no": "苏园城管立字〔2026〕第88号", "filed_on": today()}),
    )
    .await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["filed_on"], today());
    assert_eq!(accepted["due_side"], "receiver");
    // Art. 60: the decision is due 90 days from filing (moved off a rest day).
    let due = chrono::NaiveDate::parse_from_str(accepted["due_on"].as_str().unwrap(), "%Y-%m-%d")
        .unwrap();
    let filed = penex::domain::clock::today_shanghai();
    assert!(
        (due - filed).num_days() >= 90 && (due - filed).num_days() < 100,
        "{due}"
    );
    step_ok(
        &app,
        &suzhou,
        &id,
        json!({"step": "progress", "stage": "investigation", "note": "已调取监控录像"}),
    )
    .await;
    step_ok(
        &app,
        &suzhou,
        &id,
        json!({"step": "decide", "decision_no": "苏园城管罚决〔2026〕第12号"}),
    )
    .await;
    let closed = step_ok(&app, &suzhou, &id, json!({"step": "close"})).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["due_on"], Value::Null);
    let steps: Vec<&str> = closed["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["send", "receive", "accept", "progress", "decide", "close"]
    );
    assert_eq!(closed["next_steps"], json!([]));
    // Nothing follows a closed item.
    let p = problem(
        step(&app, &suzhou, &id, json!({"step": "comment", "note": "x"})).await,
        409,
    )
    .await;
    assert_eq!(p["code"], "step_not_allowed");
    // The feed: both ends and both leads read all six events, signed by the event keys; a
    // unit with no part reads none; the platform's feed has none of them.
    let jwks: penex::crypto::jws::Jwks = app
        .get(&app.client(Who::Anonymous), "/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    for c in [
        &qingpu,
        &suzhou,
        &app.client(Who::Lead(Party::Shanghai)),
        &app.client(Who::Lead(Party::Jiangsu)),
    ] {
        let events = feed(&app, c).await;
        assert_eq!(events.len(), 6, "{events:?}");
        for e in &events {
            let v = penex::crypto::jws::verify_compact(e["jws"].as_str().unwrap(), &jwks).unwrap();
            let payload: Value = serde_json::from_slice(&v.payload).unwrap();
            assert_eq!(payload["item"]["id"], id.as_str());
            assert_eq!(payload, e["payload"]);
            assert!(!e["jws"].as_str().unwrap().contains("uscc"));
        }
    }
    assert!(feed(&app, &app.unit(JIAXING)).await.is_empty());
    assert_eq!(app.count_rows("events").await, 0);
    assert_eq!(app.count_rows("delivery_exceptions").await, 0);
    // Every step is in the audit chain, and the chain holds.
    let audit = app.state.db(penex::store::audit::verify).await.unwrap();
    assert!(
        matches!(audit, penex::store::audit::Verification::Intact { .. }),
        "{audit:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn rights_come_from_the_registry_and_forbidden_cells_write_nothing() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let suzhou = app.unit(SUZHOU);
    let jiaxing = app.unit(JIAXING);
    let pengpu = app.unit(PENGPU);
    let jingan = app.unit(JINGAN);
    let sh_lead = app.client(Who::Lead(Party::Shanghai));
    let js_lead = app.client(Who::Lead(Party::Jiangsu));
    let zj_lead = app.client(Who::Lead(Party::Zhejiang));
    let analyst = app.client(Who::Analyst);
    let item = send(
        &app,
        &qingpu,
        &transfer("沪青城管移字〔2026〕第7号", SUZHOU.code, 2),
    )
    .await;
    let id = item["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/collaboration/items/{id}");
    // Who may read it.
    for (c, want) in [
        (&qingpu, 200),
        (&suzhou, 200),
        (&sh_lead, 200),
        (&js_lead, 200),
        (&jiaxing, 403),
        (&zj_lead, 403),
        (&jingan, 403),
        (&analyst, 403),
    ] {
        assert_eq!(app.get(c, &path).await.status().as_u16(), want);
    }
    // Superiors read the letter (a USCC is a public identifier, shown to them in clear).
    let by_lead: Value = app.get_ok(&sh_lead, &path).await;
    assert_eq!(by_lead["letter"]["subject"]["uscc"], uscc(2));
    // Forbidden steps: 403, nothing written.
    let before = rows(&app).await;
    for (c, body) in [
        (&qingpu, json!({"step": "receive"})),
        (&jiaxing, json!({"step": "receive"})),
        (&jiaxing, json!({"step": "comment", "note": "路过"})),
        (&sh_lead, json!({"step": "receive"})),
    ] {
        let p = problem(step(&app, c, &id, body).await, 403).await;
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("nothing was written")
                || p["detail"]
                    .as_str()
                    .unwrap()
                    .contains("not an item of yours"),
            "{p}"
        );
    }
    let p = problem(
        step(&app, &analyst, &id, json!({"step": "comment", "note": "x"})).await,
        403,
    )
    .await;
    assert_eq!(p["code"], "forbidden");
    assert_eq!(rows(&app).await, before);
    // Leads of both parties coordinate: their comments are in the timeline.
    step_ok(
        &app,
        &sh_lead,
        &id,
        json!({"step": "comment", "note": "请苏州尽快签收"}),
    )
    .await;
    let after = step_ok(
        &app,
        &js_lead,
        &id,
        json!({"step": "comment", "note": "已督促"}),
    )
    .await;
    assert_eq!(after["status"], "sent");
    assert_eq!(after["timeline"].as_array().unwrap().len(), 3);

    // Cross-level: a street (彭浦镇) to a city (苏州) goes through its superior (静安区).
    let up = send(
        &app,
        &pengpu,
        &transfer("沪静彭移字〔2026〕第1号", SUZHOU.code, 3),
    )
    .await;
    let up_id = up["id"].as_str().unwrap().to_owned();
    assert_eq!(up["status"], "awaiting_approval");
    assert_eq!(up["approver"], JINGAN.code);
    assert_eq!(up["due_side"], "approver");
    // Not yet Suzhou's: not in its inbox, not readable.
    let inbox: Value = app.get_ok(&suzhou, "/v1/collaboration/items").await;
    assert!(
        !inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == up_id.as_str())
    );
    assert_eq!(
        app.get(&suzhou, &format!("/v1/collaboration/items/{up_id}"))
            .await
            .status(),
        403
    );
    // The approver's inbox has it; the sender cannot approve its own request.
    let inbox: Value = app.get_ok(&jingan, "/v1/collaboration/items").await;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == up_id.as_str())
    );
    problem(
        step(&app, &pengpu, &up_id, json!({"step": "approve"})).await,
        403,
    )
    .await;
    let approved = step_ok(
        &app,
        &jingan,
        &up_id,
        json!({"step": "approve", "note": "同意移送"}),
    )
    .await;
    assert_eq!(approved["status"], "sent");
    assert_eq!(
        app.get(&suzhou, &format!("/v1/collaboration/items/{up_id}"))
            .await
            .status(),
        200
    );
    // A refusal ends the item, with the reason in the timeline.
    let other = send(
        &app,
        &pengpu,
        &transfer("沪静彭移字〔2026〕第2号", SUZHOU.code, 4),
    )
    .await;
    let other_id = other["id"].as_str().unwrap();
    let p = problem(
        step(&app, &jingan, other_id, json!({"step": "refuse"})).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["pointer"], "/reason");
    let refused = step_ok(
        &app,
        &jingan,
        other_id,
        json!({"step": "refuse", "reason": "本区可自行处理"}),
    )
    .await;
    assert_eq!(refused["status"], "refused");
    assert_eq!(refused["timeline"][1]["detail"]["reason"], "本区可自行处理");

    // Analysts read the figures, units do not.
    let stats: Value = app.get_ok(&analyst, "/v1/stats/collaboration").await;
    assert_eq!(stats["totals"]["items"], 3);
    assert_eq!(
        app.get(&qingpu, "/v1/stats/collaboration").await.status(),
        403
    );
    // The register is a lead's.
    assert_eq!(
        app.get(&qingpu, "/v1/collaboration/filings").await.status(),
        403
    );
    app.stop().await;
}

#[tokio::test]
async fn clues_assistance_and_service_run_their_own_tables() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let jiaxing = app.unit(JIAXING);
    // 线索通报.
    let mut clue = transfer("沪青城管通字〔2026〕第1号", JIAXING.code, 5);
    clue["kind"] = json!("clue");
    clue["place"] = json!("330421");
    let c = send(&app, &qingpu, &clue).await;
    let cid = c["id"].as_str().unwrap();
    step_ok(&app, &jiaxing, cid, json!({"step": "receive"})).await;
    let p = problem(
        step(
            &app,
            &jiaxing,
            cid,
            json!({"step": "accept", "case_no": "x", "filed_on": today()}),
        )
        .await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("file"), "{p}");
    let filed = step_ok(
        &app,
        &jiaxing,
        cid,
        json!({"step": "file", "case_no": "嘉综执立〔2026〕5号", "filed_on": today()}),
    )
    .await;
    assert_eq!(filed["status"], "filed");
    assert_eq!(filed["answered_late"], false);
    problem(
        step(&app, &jiaxing, cid, json!({"step": "close"})).await,
        403,
    )
    .await;
    assert_eq!(
        step_ok(&app, &qingpu, cid, json!({"step": "close"})).await["status"],
        "closed"
    );

    // 协助调查取证, with an extension and a partial reply.
    let mut ask = transfer("沪青城管协字〔2026〕第2号", JIAXING.code, 6);
    ask["kind"] = json!("assistance");
    ask["questions"] = json!(["请核实当事人车辆登记信息", "请调取该路段11月3日监控"]);
    let a = send(&app, &qingpu, &ask).await;
    let aid = a["id"].as_str().unwrap();
    assert_eq!(a["letter"]["questions"][1], "请调取该路段11月3日监控");
    step_ok(&app, &jiaxing, aid, json!({"step": "receive"})).await;
    let due = step_ok(
        &app,
        &jiaxing,
        aid,
        json!({"step": "request_extension", "days": 5, "reason": "监控需向交警调取"}),
    )
    .await;
    assert_eq!(due["extension_pending"], true);
    let p = problem(
        step(
            &app,
            &jiaxing,
            aid,
            json!({"step": "request_extension", "days": 5, "reason": "again"}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "step_not_allowed");
    let granted = step_ok(&app, &qingpu, aid, json!({"step": "grant_extension"})).await;
    assert_eq!(granted["extension_pending"], false);
    assert!(granted["due_on"].as_str().unwrap() > due["due_on"].as_str().unwrap());
    let partial = step_ok(
        &app,
        &jiaxing,
        aid,
        json!({"step": "reply", "partial": true, "note": "车辆登记信息附后"}),
    )
    .await;
    assert_eq!(partial["status"], "partially_replied");
    assert_eq!(partial["due_on"], granted["due_on"]);
    let replied = step_ok(
        &app,
        &jiaxing,
        aid,
        json!({"step": "reply", "note": "监控录像已刻录寄送"}),
    )
    .await;
    assert_eq!(replied["status"], "replied");
    assert_eq!(
        step_ok(&app, &qingpu, aid, json!({"step": "close"})).await["status"],
        "closed"
    );

    // 委托送达: the addressee's address is sealed at rest, shown to the two ends.
    let mut serve = transfer("沪青城管送字〔2026〕第3号", JIAXING.code, 7);
    serve["kind"] = json!("service");
    serve["documents"] = json!(["行政处罚决定书"]);
    serve["addressee"] = json!({"name": "王五", "address": "浙江省嘉兴市南湖区某路100号"});
    let s = send(&app, &qingpu, &serve).await;
    let sid = s["id"].as_str().unwrap();
    assert_eq!(
        s["letter"]["addressee"]["address"],
        "浙江省嘉兴市南湖区某路100号"
    );
    let stored = app
        .state
        .db({
            let sid = sid.to_owned();
            move |c| penex::store::collab::find(c, &sid)
        })
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored.detail_json.contains("南湖区某路100号"),
        "{}",
        stored.detail_json
    );
    let masked: Value = app
        .get_ok(
            &app.client(Who::Lead(Party::Zhejiang)),
            &format!("/v1/collaboration/items/{sid}"),
        )
        .await;
    assert_ne!(
        masked["letter"]["addressee"]["address"],
        "浙江省嘉兴市南湖区某路100号"
    );
    step_ok(&app, &jiaxing, sid, json!({"step": "receive"})).await;
    let p = problem(
        step(
            &app,
            &jiaxing,
            sid,
            json!({"step": "serve", "method": "pigeon", "served_on": today()}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["code"], "invalid_step");
    assert_eq!(p["errors"][0]["pointer"], "/method");
    let served = step_ok(
        &app,
        &jiaxing,
        sid,
        json!({"step": "serve", "method": "left", "served_on": today()}),
    )
    .await;
    assert_eq!(served["status"], "served");
    assert_eq!(
        step_ok(&app, &qingpu, sid, json!({"step": "close"})).await["status"],
        "closed"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_items_and_steps_are_422_with_every_field_named_and_nothing_written() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let before = rows(&app).await;
    let r = qingpu
        .post(app.url("/v1/collaboration/items"))
        .json(&json!({
            "kind": "letter",
            "doc_no": " ",
            "to": "XX-1",
            "subject": {"name": "", "kind": "legal_person", "uscc": "91310000000000000X"},
            "violation_type": "",
            "place": "110101",
            "facts": "x"
        }))
        .send()
        .await
        .unwrap();
    let p = problem(r, 422).await;
    assert_eq!(p["code"], "invalid_item");
    let pointers: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    for want in [
        "/kind",
        "/doc_no",
        "/to",
        "/subject/name",
        "/subject/uscc",
        "/violation_type",
        "/place",
    ] {
        assert!(pointers.contains(&want), "{want} not in {pointers:?}");
    }
    // To itself, to an unknown unit, assistance without questions.
    let mut own = transfer("沪青城管移字〔2026〕第9号", QINGPU.code, 8);
    let p = problem(post_item(&app, &qingpu, &own).await, 422).await;
    assert_eq!(p["errors"][0]["code"], "same_unit");
    own["to"] = json!("JS-320599");
    let p = problem(post_item(&app, &qingpu, &own).await, 422).await;
    assert_eq!(p["errors"][0]["code"], "unknown_unit");
    own["to"] = json!(SUZHOU.code);
    own["kind"] = json!("assistance");
    let p = problem(post_item(&app, &qingpu, &own).await, 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/questions");
    // An unknown member is refused by the schema (422 naming it), never a 500.
    own["colour"] = json!("red");
    let p = problem(post_item(&app, &qingpu, &own).await, 422).await;
    assert!(p["detail"].as_str().unwrap().contains("colour"), "{p}");
    assert_eq!(rows(&app).await, before);
    // Steps: an unknown name, a field the step does not take.
    let item = send(
        &app,
        &qingpu,
        &transfer("沪青城管移字〔2026〕第10号", SUZHOU.code, 9),
    )
    .await;
    let id = item["id"].as_str().unwrap();
    let suzhou = app.unit(SUZHOU);
    let p = problem(
        step(&app, &suzhou, id, json!({"step": "teleport"})).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["pointer"], "/step");
    let p = problem(
        step(
            &app,
            &suzhou,
            id,
            json!({"step": "receive", "case_no": "x"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "not_for_step");
    let p = problem(
        step(&app, &suzhou, id, json!({"step": "overdue"})).await,
        422,
    )
    .await;
    assert_eq!(p["code"], "invalid_step");
    assert_eq!(
        app.get(&suzhou, "/v1/collaboration/items/col_nope")
            .await
            .status(),
        404
    );
    // Bad list parameters: 422 naming each.
    let p = problem(
        app.get(
            &suzhou,
            "/v1/collaboration/items?box=attic&kind=x&overdue=maybe",
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"].as_array().unwrap().len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn attachments_are_checked_encrypted_at_rest_and_read_only_by_the_items_units() {
    let dir = tempfile::tempdir().unwrap();
    let small = std::fs::read_to_string(common::repo().join("config/collaboration.toml"))
        .unwrap()
        .replace("max_bytes = 20_971_520", "max_bytes = 4096");
    let file = dir.path().join("collaboration.toml");
    std::fs::write(&file, small).unwrap();
    let app =
        TestApp::start_with_overrides(json!({"collaboration_file": file.to_str().unwrap()})).await;
    let qingpu = app.unit(QINGPU);
    let suzhou = app.unit(SUZHOU);
    let item = send(
        &app,
        &qingpu,
        &transfer("沪青城管移字〔2026〕第11号", SUZHOU.code, 10),
    )
    .await;
    let id = item["id"].as_str().unwrap();
    let url = |name: &str| {
        app.url(&format!(
            "/v1/collaboration/items/{id}/attachments?name={name}"
        ))
    };
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec();
    let up = |c: &reqwest::Client, name: &str, ct: &str, body: Vec<u8>| {
        c.post(url(name))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let before = rows(&app).await;
    problem(
        up(
            &qingpu,
            "big.pdf",
            "application/pdf",
            [pdf.clone(), vec![b' '; 5000]].concat(),
        )
        .await
        .unwrap(),
        413,
    )
    .await;
    problem(
        up(&qingpu, "a.txt", "text/plain", b"hello".to_vec())
            .await
            .unwrap(),
        415,
    )
    .await;
    let p = problem(
        up(
            &qingpu,
            "fake.pdf",
            "application/pdf",
            b"\x89PNG\r\n\x1a\nxxxx".to_vec(),
        )
        .await
        .unwrap(),
        415,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("image/png"), "{p}");
    problem(
        up(&app.unit(JIAXING), "x.pdf", "application/pdf", pdf.clone())
            .await
            .unwrap(),
        403,
    )
    .await;
    problem(
        up(
            &app.client(Who::Lead(Party::Shanghai)),
            "x.pdf",
            "application/pdf",
            pdf.clone(),
        )
        .await
        .unwrap(),
        403,
    )
    .await;
    assert_eq!(rows(&app).await, before);
    assert_eq!(app.count_rows("collab_attachments").await, 0);
    let r = up(&qingpu, "移送材料.pdf", "application/pdf", pdf.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let a: Value = r.json().await.unwrap();
    let sha = a["sha256"].as_str().unwrap().to_owned();
    assert_eq!(
        sha,
        hex::encode(ring::digest::digest(&ring::digest::SHA256, &pdf))
    );
    // Again: the same content is stored once.
    assert_eq!(
        up(&qingpu, "again.pdf", "application/pdf", pdf.clone())
            .await
            .unwrap()
            .status(),
        200
    );
    // At rest: encrypted, never the plain bytes.
    let blob = std::fs::read(
        app.dir
            .path()
            .join("attachments")
            .join(sha.get(..2).unwrap())
            .join(&sha),
    )
    .unwrap();
    assert!(!blob.windows(8).any(|w| w == b"%PDF-1.7"));
    // The receiver and the leads read it; another unit does not.
    let get = format!("/v1/collaboration/items/{id}/attachments/{sha}");
    for c in [&suzhou, &app.client(Who::Lead(Party::Jiangsu))] {
        let r = app.get(c, &get).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);
    }
    assert_eq!(app.get(&app.unit(JIAXING), &get).await.status(), 403);
    let shown: Value = app
        .get_ok(&suzhou, &format!("/v1/collaboration/items/{id}"))
        .await;
    assert_eq!(shown["attachments"][0]["name"], "移送材料.pdf");
    assert_eq!(
        shown["timeline"].as_array().unwrap().last().unwrap()["step"],
        "attach"
    );
    app.stop().await;
}

async fn sweep_on(app: &TestApp, day: chrono::NaiveDate) -> penex::service::collab::sweep::Swept {
    app.sweep_collab(day).await
}

#[tokio::test]
async fn the_sweeper_marks_overdue_items_reminds_the_receiver_and_escalates_to_both_leads() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let suzhou = app.unit(SUZHOU);
    let late = send(
        &app,
        &qingpu,
        &transfer("沪青城管移字〔2026〕第20号", SUZHOU.code, 11),
    )
    .await;
    let late_id = late["id"].as_str().unwrap().to_owned();
    let on_time = send(
        &app,
        &qingpu,
        &transfer("沪青城管移字〔2026〕第21号", SUZHOU.code, 12),
    )
    .await;
    let on_time_id = on_time["id"].as_str().unwrap().to_owned();
    step_ok(&app, &suzhou, &on_time_id, json!({"step": "receive"})).await;
    let due =
        chrono::NaiveDate::parse_from_str(late["due_on"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    // On the deadline itself nothing is overdue.
    assert_eq!(sweep_on(&app, due).await.overdue, 0);
    // The day after: the unreceived one is.
    let swept = sweep_on(&app, due + chrono::Duration::days(1)).await;
    assert_eq!(swept.overdue, 1);
    assert_eq!(
        sweep_on(&app, due + chrono::Duration::days(1))
            .await
            .overdue,
        0,
        "a second pass changes nothing"
    );
    let item: Value = app
        .get_ok(&suzhou, &format!("/v1/collaboration/items/{late_id}"))
        .await;
    assert_eq!(item["overdue"], true);
    let last = item["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["step"].as_str(), last["by"].as_str()),
        (Some("overdue"), None)
    );
    let overdue: Value = app
        .get_ok(&suzhou, "/v1/collaboration/items?overdue=true")
        .await;
    let ids: Vec<&str> = overdue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [late_id.as_str()]);
    // The receiver is reminded; both leads get the escalation; the sender nothing.
    let notices = |c: reqwest::Client| {
        let app = &app;
        async move {
            let v: Value = app.get_ok(&c, "/v1/collaboration/notices").await;
            v.as_array()
                .unwrap()
                .iter()
                .map(|n| {
                    (
                        n["item_id"].as_str().unwrap().to_owned(),
                        n["reason"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        notices(app.unit(SUZHOU)).await,
        [(late_id.clone(), "overdue".to_owned())]
    );
    assert_eq!(
        notices(app.client(Who::Lead(Party::Shanghai))).await,
        [(late_id.clone(), "escalated".to_owned())]
    );
    assert_eq!(
        notices(app.client(Who::Lead(Party::Jiangsu))).await,
        [(late_id.clone(), "escalated".to_owned())]
    );
    assert!(notices(app.unit(QINGPU)).await.is_empty());
    // Receiving it clears the mark and starts the next deadline.
    let received = step_ok(&app, &suzhou, &late_id, json!({"step": "receive"})).await;
    assert_eq!(received["overdue"], false);
    // The register: Shanghai's lead sees both items as sent by Qingpu, the overdue one first
    // (both are open; after the receipt neither is overdue, so by deadline).
    let sh = app.client(Who::Lead(Party::Shanghai));
    let reg: Value = app.get_ok(&sh, "/v1/collaboration/filings").await;
    let reg = reg.as_array().unwrap();
    assert_eq!(reg.len(), 2);
    assert!(
        reg.iter()
            .all(|f| f["direction"] == "sent" && f["unit"] == QINGPU.code)
    );
    let js: Value = app
        .get_ok(
            &app.client(Who::Lead(Party::Jiangsu)),
            "/v1/collaboration/filings",
        )
        .await;
    assert!(
        js.as_array()
            .unwrap()
            .iter()
            .all(|f| f["direction"] == "received")
    );
    let csv = app.get(&sh, "/v1/collaboration/filings?format=csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'));
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains(&late_id));
    // Make the other one overdue too: overdue first in the register.
    let later = due + chrono::Duration::days(60);
    assert_eq!(sweep_on(&app, later).await.overdue, 2);
    let reg: Value = app.get_ok(&sh, "/v1/collaboration/filings").await;
    assert_eq!(reg[0]["overdue"], true);
    // The figures count the late answer.
    let stats: Value = app
        .get_ok(&app.client(Who::Analyst), "/v1/stats/collaboration")
        .await;
    assert_eq!(stats["totals"]["items"], 2);
    assert_eq!(stats["totals"]["overdue_now"], 2);
    assert_eq!(stats["pairs"][0]["from"], "SH");
    assert_eq!(stats["pairs"][0]["to"], "JS");
    // The dashboard's collaboration section draws the same figures; a lead of a third party
    // sees no pair.
    let page = app
        .get(&app.client(Who::Analyst), "/dashboard")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"collaboration\""), "{page}");
    assert!(page.contains("data-collab=\"items\">2<"), "{page}");
    assert!(page.contains("data-collab=\"overdue\">2<"), "{page}");
    assert!(
        page.contains("data-from=\"SH\" data-to=\"JS\" data-items=\"2\""),
        "{page}"
    );
    let zj = app
        .get(&app.client(Who::Lead(Party::Zhejiang)), "/dashboard")
        .await
        .text()
        .await
        .unwrap();
    assert!(zj.contains("id=\"collaboration\"") && !zj.contains("data-from=\"SH\" data-to=\"JS\""));
    app.stop().await;
}

#[tokio::test]
async fn a_conflict_is_settled_by_the_transfer_that_handed_the_case_over() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let suzhou = app.unit(SUZHOU);
    // Qingpu filed first (03-05), Suzhou later (03-09): a conflict, Qingpu keeps it.
    app.push_accepted(
        &qingpu,
        &dumping(
            QINGPU.name,
            "沪青城管罚字〔2025〕第41号",
            13,
            "2025-03-05",
            "青浦区金泽镇",
        ),
    )
    .await;
    let r = app
        .push_one(
            &suzhou,
            &dumping(
                SUZHOU.name,
                "苏城管罚决〔2025〕第41号",
                13,
                "2025-03-09",
                "吴江区汾湖大道88号",
            ),
        )
        .await;
    assert_eq!(r["status"], "conflict", "{r}");
    let conflicts: Value = app.get_ok(&suzhou, "/v1/conflicts").await;
    let cid = conflicts["items"][0]["id"].as_str().unwrap().to_owned();
    // Suzhou hands its material over to Qingpu.
    let mut t = transfer("苏城管移字〔2026〕第5号", QINGPU.code, 13);
    t["place"] = json!("310118");
    let item = send(&app, &suzhou, &t).await;
    let tid = item["id"].as_str().unwrap().to_owned();
    // A transfer with another resolution, or someone else's transfer, is refused.
    let resolve = |body: Value| {
        suzhou
            .post(app.url(&format!("/v1/conflicts/{cid}/resolve")))
            .json(&body)
            .send()
    };
    let p = problem(
        resolve(json!({"resolution": "both_stand", "transfer": tid}))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["pointer"], "/transfer");
    let other = send(
        &app,
        &qingpu,
        &transfer("沪青城管移字〔2026〕第42号", JIAXING.code, 14),
    )
    .await;
    let p = problem(
        resolve(json!({"resolution": "transferred", "transfer": other["id"]}))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["pointer"], "/transfer");
    let done =
        resolve(json!({"resolution": "transferred", "transfer": tid, "note": "材料已移送青浦"}))
            .await
            .unwrap();
    assert_eq!(done.status(), 200);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["transfer_id"], tid.as_str());
    assert_eq!(done["resolution"], "transferred");
    let item: Value = app
        .get_ok(&qingpu, &format!("/v1/collaboration/items/{tid}"))
        .await;
    assert_eq!(item["conflict_id"], cid.as_str());
    // The subject's page shows the transfer to the units of it, not to analysts.
    let subject = uscc(13);
    let seen: Value = app
        .get_ok(&qingpu, &format!("/v1/subjects/{subject}"))
        .await;
    assert!(
        seen["collaboration"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == tid.as_str()),
        "{seen}"
    );
    let by_analyst: Value = app
        .get_ok(
            &app.client(Who::Analyst),
            &format!("/v1/subjects/{subject}"),
        )
        .await;
    assert_eq!(by_analyst["collaboration"], json!([]));
    let by_other: Value = app
        .get_ok(&app.unit(JIAXING), &format!("/v1/subjects/{subject}"))
        .await;
    assert!(
        !by_other["collaboration"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == tid.as_str())
    );
    let _ = lead_code(Party::Shanghai);
    app.stop().await;
}

/// Runs a collaboration operation as `unit` on `day` (the service itself: HTTP judges days by
/// the real clock, and a filing months ago cannot be sent today).
async fn as_unit_on<T: Send + 'static>(
    app: &TestApp,
    unit: &'static str,
    day: &'static str,
    f: impl FnOnce(
        &mut penex::store::Conn,
        penex::service::collab::Deps<'_>,
        penex::service::collab::Actor<'_>,
    ) -> penex::service::Result<T>
    + Send
    + 'static,
) -> T {
    app.with_collab(move |c, deps| {
        let code = penex::domain::unit::UnitCode::parse(unit).unwrap();
        let by = penex::service::collab::Actor {
            unit: &code,
            actor: &format!("unit:{unit}"),
            today: day.parse().unwrap(),
        };
        f(c, deps, by)
    })
    .await
}

#[tokio::test]
async fn a_transfers_filing_date_is_the_receivers_filing_date_for_first_to_file() {
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let suzhou = app.unit(SUZHOU);
    // Qingpu found the dumping on 2025-03-02 and transferred it to Suzhou, which filed it on
    // 03-03; Qingpu also penalized it itself (filed 03-05).
    let body: penex::service::collab::NewItem = serde_json::from_value({
        let mut t = transfer("沪青城管移字〔2025〕第2号", SUZHOU.code, 21);
        t["place"] = json!("320509");
        t
    })
    .unwrap();
    let (_, item) = as_unit_on(&app, QINGPU.code, "2025-03-02", move |c, d, by| {
        penex::service::collab::create(c, d, by, body)
    })
    .await;
    let id = item.id.clone();
    for (step, day) in [
        (json!({"step": "receive"}), "2025-03-03"),
        (
            json!({"step": "accept", "case_no": "苏城管立〔2025〕第3号", "filed_on": "2025-03-03"}),
            "2025-03-03",
        ),
    ] {
        let id = id.clone();
        let req: penex::service::collab::StepRequest = serde_json::from_value(step).unwrap();
        as_unit_on(&app, SUZHOU.code, day, move |c, d, by| {
            penex::service::collab::take_step(c, d, by, &id, req)
        })
        .await;
    }
    let ours = app
        .push_accepted(
            &qingpu,
            &dumping(
                QINGPU.name,
                "沪青城管罚字〔2025〕第52号",
                21,
                "2025-03-05",
                "青浦区金泽镇",
            ),
        )
        .await;
    // Suzhou's record carries no filing date: by its decision date (03-20) it lost.
    let mut theirs = dumping(
        SUZHOU.name,
        "苏城管罚决〔2025〕第52号",
        21,
        "2025-03-05",
        "吴江区汾湖大道88号",
    );
    theirs.as_object_mut().unwrap().remove("filed_date");
    let r = app.push_one(&suzhou, &theirs).await;
    assert_eq!(r["status"], "conflict", "{r}");
    let theirs_id = r["record_id"].as_str().unwrap().to_owned();
    let conflicts: Value = app.get_ok(&suzhou, "/v1/conflicts").await;
    assert_eq!(conflicts["items"][0]["winner_record_id"], ours.as_str());
    // The transfer decided by that record: its filing date (03-03) counts, and Suzhou, which
    // filed first through the transfer, keeps the case.
    let req: penex::service::collab::StepRequest =
        serde_json::from_value(json!({"step": "decide", "record_id": theirs_id})).unwrap();
    let decided = as_unit_on(&app, SUZHOU.code, "2025-03-20", {
        let id = id.clone();
        move |c, d, by| penex::service::collab::take_step(c, d, by, &id, req)
    })
    .await;
    assert_eq!(decided.record_id.as_deref(), Some(theirs_id.as_str()));
    let conflicts: Value = app.get_ok(&suzhou, "/v1/conflicts?status=all").await;
    let c = conflicts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "open")
        .unwrap()
        .clone();
    assert_eq!(c["winner_record_id"], theirs_id.as_str(), "{c}");
    app.stop().await;
}

#[tokio::test]
async fn a_provisional_deadline_is_recounted_once_the_years_notice_is_added() {
    let app = TestApp::start().await;
    // A transfer filed on 2030-12-20: art. 60's 90 days run to 2031-03-20, a year the
    // calendar does not hold: counted with weekends only and marked provisional.
    let body: penex::service::collab::NewItem =
        serde_json::from_value(transfer("沪青城管移字〔2030〕第1号", SUZHOU.code, 41)).unwrap();
    let (_, item) = as_unit_on(&app, QINGPU.code, "2030-12-18", move |c, d, by| {
        penex::service::collab::create(c, d, by, body)
    })
    .await;
    let id = item.id.clone();
    for step in [
        json!({"step": "receive"}),
        json!({"step": "accept", "case_no": "苏城管立〔2030〕第9号", "filed_on": "2030-12-20"}),
    ] {
        let id = id.clone();
        let req: penex::service::collab::StepRequest = serde_json::from_value(step).unwrap();
        as_unit_on(&app, SUZHOU.code, "2030-12-20", move |c, d, by| {
            penex::service::collab::take_step(c, d, by, &id, req)
        })
        .await;
    }
    let read = |app: &TestApp| {
        let id = id.clone();
        let state = app.state.clone();
        async move {
            state
                .db(move |c| penex::store::collab::find(c, &id))
                .await
                .unwrap()
                .unwrap()
        }
    };
    let before = read(&app).await;
    assert!(before.due_provisional);
    assert_eq!(before.due_on, Some("2031-03-20".parse().unwrap()));
    // The notices for 2030 and 2031 are added (2031-03-20 made a holiday): the sweeper recounts.
    let calendar = penex::domain::calendar::WorkCalendar::parse(
        "[[year]]\nyear = 2030\nsource = \"test\"\n\
         [[year]]\nyear = 2031\nsource = \"test\"\nholidays = [\"2031-03-20\"]\n",
    )
    .unwrap();
    let collab = penex::service::collab::CollabPolicy::parse(
        penex::service::collab::config::BUILT_IN,
        calendar,
    )
    .unwrap();
    let (registry, policy, pii, emitter) = (
        app.state.registry(),
        app.state.policy.clone(),
        app.state.pii.clone(),
        app.state.emitter(),
    );
    let swept = app
        .state
        .call(move |c| {
            let deps = penex::service::collab::Deps {
                registry: &registry,
                policy: &collab,
                policies: &policy,
                pii: &pii,
                emitter: &emitter,
            };
            penex::service::collab::sweep::sweep(c, deps, "2031-01-02".parse().unwrap())
        })
        .await
        .unwrap();
    assert_eq!(swept.recounted, 1);
    let after = read(&app).await;
    assert!(!after.due_provisional);
    assert_eq!(after.due_on, Some("2031-03-21".parse().unwrap()));
    assert!(!after.overdue);
    app.stop().await;
}

#[tokio::test]
async fn a_calendar_without_this_year_still_starts_with_provisional_deadlines() {
    // On 1 January before the State Council's notice is added, the exchange keeps serving.
    penex::tls::config::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("holidays.toml");
    std::fs::write(&file, "[[year]]\nyear = 2019\nsource = \"an old notice\"\n").unwrap();
    let db = common::TestDb::new(dir.path());
    let mut settings = common::test_settings(dir.path(), &db);
    settings.holidays_file = Some(file.clone());
    let app = TestApp::start_with(dir, db, settings).await;
    let lead = app.client(Who::Lead(Party::Shanghai));
    assert_eq!(app.get(&lead, "/v1/whoami").await.status(), 200);
    let calendar =
        penex::domain::calendar::WorkCalendar::parse(&std::fs::read_to_string(&file).unwrap())
            .unwrap();
    let today = penex::domain::clock::today_shanghai();
    assert!(calendar.add_working_days(today, 5).provisional);
    app.stop().await;
}
