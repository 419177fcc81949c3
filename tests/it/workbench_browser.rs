//! The officers' workbench (`/workbench`) in a real headless Chromium with a unit's certificate,
//! and its forms as a browser sends them: the inbox with deadlines and overdue marks, an item's
//! timeline and step forms, a step taken and a file uploaded through the forms (token checked),
//! the lead's register; every page under a Content-Security-Policy that loads nothing.
//!
//! Chromium cannot present a client certificate from the command line, so a loopback relay in
//! front of penex speaks mutual TLS with the unit's certificate and hands back status, body and
//! the headers that matter unchanged (as in `dashboard_browser`). The forms are posted through
//! the same relay exactly as the browser encodes them. Without `chromium` the DOM checks are
//! skipped (the form checks still run), unless `PENEX_TEST_REQUIRE_CHROMIUM` is set.
#![expect(clippy::unwrap_used, reason = "tests")]

use crate::common;

use common::browser::{chromium, dom, relay_for};
use common::records::uscc;
use common::units::{QINGPU, SUZHOU};
use common::{TestApp, Who};
use penex::domain::party::Party;
use serde_json::{Value, json};

/// The value of the first `name="_token" value="…"` in a page.
fn form_token(page: &str) -> String {
    let at = page.find("name=\"_token\" value=\"").unwrap() + "name=\"_token\" value=\"".len();
    page.get(at..)
        .unwrap()
        .chars()
        .take_while(|c| *c != '"')
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_works_an_item_through_the_workbench_pages_and_forms() {
    if chromium().is_none() {
        assert!(
            std::env::var_os("PENEX_TEST_REQUIRE_CHROMIUM").is_none(),
            "PENEX_TEST_REQUIRE_CHROMIUM is set but chromium is not installed"
        );
        eprintln!("chromium not installed: the DOM checks are skipped (apt-get install chromium)");
    }
    let app = TestApp::start().await;
    let qingpu = app.unit(QINGPU);
    let item: Value = qingpu
        .post(app.url("/v1/collaboration/items"))
        .json(&json!({
            "kind": "service",
            "doc_no": "沪青城管送字〔2026〕第<8>号",
            "to": SUZHOU.code,
            "subject": {"name": "苏州<b>某某</b>公司", "kind": "legal_person", "uscc": uscc(31)},
            "violation_type": "擅自倾倒建筑垃圾",
            "place": "320506",
            "facts": "请代为送达行政处罚决定书。",
            "documents": ["行政处罚决定书"],
            "addressee": {"name": "李四", "address": "苏州市吴中区某路1号"}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = item["id"].as_str().unwrap().to_owned();
    // Past its receipt deadline: overdue.
    let due =
        chrono::NaiveDate::parse_from_str(item["due_on"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    app.sweep_collab(due + chrono::Duration::days(1)).await;

    let _ = app.unit(SUZHOU);
    let certs = app.dir.path().join(format!("certs-{}", SUZHOU.code));
    let suzhou_files = Who::Files(
        certs.join(format!("{}.crt", SUZHOU.code)),
        certs.join(format!("{}.key", SUZHOU.code)),
    );
    let suzhou = relay_for(&app, app.client_with(suzhou_files, false)).await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The inbox, as the browser builds it.
    let home = plain
        .get(format!("{suzhou}/workbench"))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    let csp = home.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("unsafe"),
        "{csp}"
    );
    if let Some(d) = dom(&format!("{suzhou}/workbench")).await {
        assert!(d.contains(&format!("data-item=\"{id}\"")), "{d}");
        assert!(d.contains("data-overdue=\"true\""), "{d}");
        assert!(d.contains("id=\"notices\""), "{d}");
        // Data is text, never markup.
        assert!(d.contains("苏州&lt;b&gt;某某&lt;/b&gt;公司"), "{d}");
        assert!(!d.contains("<b>某某</b>"));
    }
    // The item's page offers the receiver's step.
    let page_url = format!("{suzhou}/workbench/items/{id}");
    let page = plain
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-step=\"receive\""), "{page}");
    if let Some(d) = dom(&page_url).await {
        assert!(
            d.contains("<form class=\"step\" data-step=\"receive\""),
            "{d}"
        );
        assert!(d.contains("<tr data-step=\"overdue\">"), "{d}");
    }
    let token = form_token(&page);
    // Without the page's token the form is refused and nothing changes.
    let forged = plain
        .post(format!("{suzhou}/workbench/items/{id}/steps"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("step=receive&_token=0000")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.text().await.unwrap().contains("token"));
    // The form as the browser posts it: 303 back to the page.
    let done = plain
        .post(format!("{suzhou}/workbench/items/{id}/steps"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_token={token}&step=receive&note="))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(
        done.headers()["location"],
        format!("/workbench/items/{id}").as_str()
    );
    // A bad form: the problem page with its status and the field named.
    let bad = plain
        .post(format!("{suzhou}/workbench/items/{id}/steps"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "_token={token}&step=serve&method=pigeon&served_on="
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.unwrap();
    assert!(
        bad.contains("/method") && bad.contains("/served_on"),
        "{bad}"
    );
    // The 送达回证 uploaded with the form, as multipart/form-data.
    let pdf = b"%PDF-1.4\n% receipt\n%%EOF\n";
    let boundary = "----penexboundary7MA4YWxk";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"_token\"\r\n\r\n{token}\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"送达回证.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
    body.extend_from_slice(pdf);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let up = plain
        .post(format!("{suzhou}/workbench/items/{id}/attachments"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 303, "{}", up.text().await.unwrap());
    let served = plain
        .post(format!("{suzhou}/workbench/items/{id}/steps"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "_token={token}&step=serve&method=post&served_on={}",
            penex::domain::clock::today_shanghai()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 303);
    // What the API says now, and what the browser shows.
    let now: Value = app
        .get_ok(&app.unit(SUZHOU), &format!("/v1/collaboration/items/{id}"))
        .await;
    assert_eq!(now["status"], "served");
    assert_eq!(now["attachments"][0]["name"], "送达回证.pdf");
    if let Some(d) = dom(&page_url).await {
        assert!(d.contains("data-status=\"served\""), "{d}");
        assert!(d.contains("送达回证.pdf"), "{d}");
        assert!(
            !d.contains("data-step=\"receive\" method"),
            "the receive form is gone"
        );
    }
    // The lead's register as a page: a province lead's only.
    let lead = relay_for(&app, app.client_with(Who::Lead(Party::Jiangsu), false)).await;
    let reg = plain
        .get(format!("{lead}/workbench/filings"))
        .send()
        .await
        .unwrap();
    assert_eq!(reg.status(), 200);
    assert!(
        reg.text()
            .await
            .unwrap()
            .contains(&format!("data-item=\"{id}\""))
    );
    if let Some(d) = dom(&format!("{lead}/workbench/filings")).await {
        assert!(d.contains("id=\"filings\""), "{d}");
    }
    let not_lead = plain
        .get(format!("{suzhou}/workbench/filings"))
        .send()
        .await
        .unwrap();
    assert_eq!(not_lead.status(), 403);
    app.stop().await;
}
