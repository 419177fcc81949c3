//! Regression tests of the defects the hostile-input table found, on the in-process server
//! (both backends). The table itself runs against the real binary in `tests/it/proof.rs`
//! (cases in `examples/support/hostile.rs`; docs/RELIABILITY.md).

use crate::common;
use crate::proof::hostile as cases;

use common::records::company_record;
use common::units::JINGAN;
use common::{TestApp, Who, problem};
use penex::domain::party::Party;
use serde_json::{Value, json};

// ---- regressions: each defect the table found, on the in-process server (both backends) ----

/// A 1 MiB subject name, decision number or identifier was stored on SQLite and a 500 on
/// PostgreSQL (no index entry holds it); every field now has a length limit, `too_long` per item.
#[tokio::test]
async fn a_field_over_its_limit_is_refused_per_item_and_stores_nothing() {
    let app = TestApp::start().await;
    let c = app.client(Who::Lead(Party::Shanghai));
    for (i, key) in ["CF_XDR_MC", "CF_WSH", "工商注册号", "CF_SY", "BZ"]
        .into_iter()
        .enumerate()
    {
        let mut rec = company_record(JINGAN.name, &format!("沪静城管罚字〔2025〕第9{i}号"), 90);
        rec[key] = json!("罚".repeat(1 << 20));
        let r = app.push(&c, &json!({ "records": [rec] })).await;
        assert_eq!(r.status(), 200, "{key}");
        let out: Value = r.json().await.unwrap();
        let item = &out["items"][0];
        assert_eq!(item["status"], "rejected", "{key}: {item}");
        assert_eq!(item["errors"][0]["code"], "too_long", "{key}: {item}");
        assert_eq!(item["errors"][0]["pointer"], format!("/records/0/{key}"));
    }
    assert_eq!(app.count_rows("records").await, 0);
    // At the limit the record is stored.
    let mut rec = company_record(JINGAN.name, "沪静城管罚字〔2025〕第99号", 91);
    rec["BZ"] = json!("备".repeat(10_000));
    app.push_accepted(&c, &rec).await;
    app.stop().await;
}

/// `charset=latin1` on a JSON body was ignored (the body read as UTF-8 and stored); a charset
/// other than UTF-8 is now 415 on every JSON route, and nothing is written.
#[tokio::test]
async fn a_json_body_in_another_charset_is_415() {
    let app = TestApp::start().await;
    let c = app.client(Who::Lead(Party::Shanghai));
    let id = app
        .push_accepted(
            &c,
            &company_record(JINGAN.name, "沪静城管罚字〔2025〕第81号", 81),
        )
        .await;
    let batch =
        json!({ "records": [company_record(JINGAN.name, "沪静城管罚字〔2025〕第82号", 82)] });
    for ct in [
        "application/json; charset=latin1",
        "application/json; charset=\"UTF-16\"",
        "application/problem+json; charset=gbk",
    ] {
        let r = c
            .post(app.url("/v1/records"))
            .header("content-type", ct)
            .body(serde_json::to_vec(&batch).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(problem(r, 415).await["code"], "unsupported_media_type");
        let r = c
            .post(app.url(&format!("/v1/records/{id}/revoke")))
            .header("content-type", ct)
            .body(r#"{"reason":"reconsideration"}"#)
            .send()
            .await
            .unwrap();
        problem(r, 415).await;
    }
    assert_eq!(app.count_rows("records").await, 1);
    let view = app.get_ok(&c, &format!("/v1/records/{id}")).await;
    assert_eq!(view["status"], "active");
    // UTF-8, said or not, is read.
    for ct in [
        "application/json; charset=utf-8",
        "application/json;charset=\"UTF8\"",
    ] {
        let r = c
            .post(app.url("/v1/records:validate"))
            .header("content-type", ct)
            .body(serde_json::to_vec(&batch).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{ct}");
    }
    app.stop().await;
}

/// A push ignored Content-Encoding: a plain body labelled gzip was stored, a gzip body was
/// malformed JSON. Now gzip/deflate/br are decoded (the limit counts the decoded bytes), any
/// other coding is 415.
#[tokio::test]
async fn a_push_body_is_decoded_by_its_content_encoding() {
    let app = TestApp::start().await;
    let c = app.client(Who::Lead(Party::Shanghai));
    let batch = serde_json::to_vec(
        &json!({ "records": [company_record(JINGAN.name, "沪静城管罚字〔2025〕第71号", 71)] }),
    )
    .unwrap();
    let send = |coding: &'static str, body: Vec<u8>| {
        c.post(app.url("/v1/records"))
            .header("content-type", "application/json")
            .header("content-encoding", coding)
            .body(body)
            .send()
    };
    for coding in ["compress", "zstd", "x-gzip", "gzip, br"] {
        let r = send(coding, batch.clone()).await.unwrap();
        assert_eq!(
            problem(r, 415).await["code"],
            "unsupported_media_type",
            "{coding}"
        );
    }
    let r = send("gzip", batch.clone()).await.unwrap();
    let body = problem(r, 400).await;
    assert_eq!(body["code"], "malformed_body");
    // What the client can act on, not actix's debug output.
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("Content-Encoding") && !detail.contains("Some("),
        "{detail}"
    );
    assert_eq!(app.count_rows("records").await, 0);
    let r = send("gzip", cases::gzip_stored(&batch)).await.unwrap();
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["items"][0]["status"], "accepted", "{out}");
    // A body that inflates past the limit is 413, whatever its compressed size.
    let limit = app.state.settings.limits.max_body_bytes;
    let big = cases::gzip_stored(&vec![b' '; limit + 1]);
    let r = send("gzip", big).await.unwrap();
    assert_eq!(problem(r, 413).await["code"], "payload_too_large");
    assert_eq!(app.count_rows("records").await, 1);
    app.stop().await;
}

/// HTTP/2 took 10,000 headers, or a 1 MiB one, where HTTP/1.1 answers 431; both now have the
/// same limits, answered with a 431 problem.
#[tokio::test]
async fn http2_headers_have_the_http1_limits() {
    let app = TestApp::start().await;
    let c = app.client(Who::Lead(Party::Shanghai));
    let with = |n: usize, size: usize| {
        let mut rb = c.get(app.url("/v1/whoami"));
        for i in 0..n {
            rb = rb.header(format!("x-h-{i}"), "1");
        }
        if size > 0 {
            rb = rb.header("x-big", "a".repeat(size));
        }
        rb.send()
    };
    let r = with(80, 0).await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 200);
    assert_eq!(with(0, 100 * 1024).await.unwrap().status(), 200);
    for (n, size) in [
        (penex::api::MAX_HEADER_FIELDS + 1, 0),
        (10_000, 0),
        (0, 1 << 20),
    ] {
        let r = with(n, size).await.unwrap();
        let body = problem(r, 431).await;
        assert_eq!(
            body["code"], "headers_too_large",
            "{n} headers, {size} bytes"
        );
    }
    // The target counts too (a URI of more than 64 KiB cannot be sent at all).
    let r = c
        .get(app.url(&format!("/readyz?{}", "a".repeat(60_000))))
        .header("x-big", "a".repeat(80_000))
        .send()
        .await
        .unwrap();
    problem(r, 431).await;
    app.stop().await;
}
