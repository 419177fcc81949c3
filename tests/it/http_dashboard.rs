//! `GET /dashboard` over mutual TLS, on both backends: the page shows the pushed data in its
//! SVG charts, loads nothing from anywhere, escapes what units typed, and is only for
//! provincial leads, analysts and operators.
#![expect(clippy::string_slice, reason = "tests")]

use crate::common;

use common::records::dated;
use common::units::{JINGAN, SUZHOU};
use common::{TestApp, Who, problem};
use penex::domain::party::Party;
use serde_json::json;

#[tokio::test]
async fn the_dashboard_draws_the_pushed_data_and_loads_nothing() {
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    let js = app.client(Who::Lead(Party::Jiangsu));
    app.push_accepted(
        &sh,
        &dated(JINGAN.name, "沪静城管罚字〔2025〕第1号", 1, "2025-01-10"),
    )
    .await;
    app.push_accepted(
        &sh,
        &dated(JINGAN.name, "沪静城管罚字〔2025〕第2号", 2, "2025-01-20"),
    )
    .await;
    let mut odd = dated(JINGAN.name, "沪静城管罚字〔2025〕第3号", 3, "2025-02-05");
    odd["CF_WFXW"] = json!("<script>alert(1)</script>乱倒垃圾");
    app.push_accepted(&sh, &odd).await;
    app.push_accepted(
        &js,
        &dated(SUZHOU.name, "苏城管罚字〔2025〕第1号", 1, "2025-06-10"),
    )
    .await;

    let r = app
        .client(Who::Analyst)
        .get(app.url("/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let html = r.text().await.unwrap();
    // Every chart is there, with the pushed figures.
    for id in [
        "records-per-month",
        "violation-types",
        "cross-region",
        "flags",
        "quality",
        "delivery",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(html.matches("<svg").count() >= 5);
    assert!(html.contains("data-party=\"SH\" data-month=\"2025-01\" data-value=\"2\""));
    assert!(html.contains("data-party=\"SH\" data-month=\"2025-02\" data-value=\"1\""));
    assert!(html.contains("data-party=\"JS\" data-month=\"2025-06\" data-value=\"1\""));
    // Flows: Shanghai companies (USCC 9131…) decided in Shanghai (3) and in Jiangsu (1).
    assert!(html.contains("data-from=\"SH\" data-to=\"SH\" data-value=\"3\""));
    assert!(html.contains("data-from=\"JS\" data-to=\"SH\" data-value=\"1\""));
    assert!(html.contains("<b>4</b>"), "four records in the overview");
    // The catalogue's mapped share per party (Jiangsu's one record is a catalogue type).
    assert!(html.contains("id=\"catalogue\""));
    assert!(
        html.contains("<tr><td>JS</td><td>1</td><td>1</td><td data-value=\"1.000\">100.0%</td>"),
        "{html}"
    );
    // What a unit typed is shown, escaped; nothing runs, nothing is fetched.
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script"));
    for fetch in ["src=", "href=", "url(", "@import", "<link"] {
        assert!(!html.contains(fetch), "{fetch}");
    }
    for prefix in ["http://", "https://"] {
        let outside: Vec<&str> = html
            .match_indices(prefix)
            .map(|(i, _)| html[i..].split('"').next().unwrap_or_default())
            .filter(|u| *u != "http://www.w3.org/2000/svg")
            .collect();
        assert!(outside.is_empty(), "{outside:?}");
    }

    // A lead sees its party's quality figures and no delivery health.
    let lead = app.client(Who::Lead(Party::Jiangsu));
    let page = lead
        .get(app.url("/dashboard"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("JS-320000") && !page.contains("SH-310000 <small>"));
    assert!(!page.contains("id=\"delivery\""));
    // Others are refused.
    let jingan = app.unit(JINGAN);
    for c in [jingan, app.client(Who::Integrator)] {
        problem(c.get(app.url("/dashboard")).send().await.unwrap(), 403).await;
    }
    problem(
        app.client(Who::Anonymous)
            .get(app.url("/dashboard"))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    app.stop().await;
}
