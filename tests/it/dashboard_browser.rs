//! `GET /dashboard` loaded in a real headless Chromium (Debian's `chromium`): the charts are in
//! the DOM the browser built, with the pushed figures, and the page's own Content-Security-Policy
//! (sent on to the browser) lets nothing load.
//!
//! Chromium cannot present the analyst's client certificate from the command line, so the test
//! puts a loopback relay in front of penex: the browser asks the relay over plain HTTP, the relay
//! asks penex over mutual TLS with the analyst's certificate and hands back status, body and
//! the security headers unchanged. Without `chromium` on the PATH the test says so and passes,
//! unless `PENEX_TEST_REQUIRE_CHROMIUM` is set (as `.ci/run` does after installing it).

use crate::common;

use common::browser::{chromium, dom, relay_for};
use common::records::dated;
use common::units::{JINGAN, SUZHOU};
use common::{TestApp, Who};
use penex::domain::party::Party;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_dashboard_charts_with_the_pushed_data() {
    if chromium().is_none() {
        assert!(
            std::env::var_os("PENEX_TEST_REQUIRE_CHROMIUM").is_none(),
            "PENEX_TEST_REQUIRE_CHROMIUM is set but chromium is not installed"
        );
        eprintln!("chromium not installed: the browser test is skipped (apt-get install chromium)");
        return;
    }
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    let js = app.client(Who::Lead(Party::Jiangsu));
    for (c, rec) in [
        (
            &sh,
            dated(JINGAN.name, "沪静城管罚字〔2025〕第1号", 1, "2025-01-10"),
        ),
        (
            &sh,
            dated(JINGAN.name, "沪静城管罚字〔2025〕第2号", 2, "2025-03-20"),
        ),
        (
            &js,
            dated(SUZHOU.name, "苏城管罚字〔2025〕第1号", 1, "2025-06-10"),
        ),
    ] {
        let out: Value = app
            .push(c, &json!({ "records": [rec] }))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(out["items"][0]["status"], "accepted", "{out}");
    }

    let base = relay_for(&app, app.client(Who::Analyst)).await;
    let dom = dom(&format!("{base}/dashboard")).await.unwrap();
    assert!(dom.contains("<svg"), "{dom}");
    // The DOM the browser built holds every chart, with the figures of the pushed records.
    for id in [
        "records-per-month",
        "violation-types",
        "cross-region",
        "flags",
        "quality",
        "delivery",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "{id} missing from {dom}"
        );
    }
    assert!(dom.matches("<svg").count() >= 5);
    assert!(dom.contains("data-party=\"SH\" data-month=\"2025-01\" data-value=\"1\""));
    assert!(dom.contains("data-party=\"SH\" data-month=\"2025-03\" data-value=\"1\""));
    assert!(dom.contains("data-party=\"JS\" data-month=\"2025-06\" data-value=\"1\""));
    assert!(dom.contains("data-from=\"JS\" data-to=\"SH\" data-value=\"1\""));
    // Bars are drawn: rectangles with a height.
    assert!(dom.contains("<rect"), "no bars drawn");
}
