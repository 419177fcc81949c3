//! `GET /dashboard` loaded in a real headless Chromium (Debian's `chromium`): the charts are in
//! the DOM the browser built, with the pushed figures, and the page's own Content-Security-Policy
//! (sent on to the browser) lets nothing load.
//!
//! Chromium cannot present the analyst's client certificate from the command line, so the test
//! puts a loopback relay in front of penex: the browser asks the relay over plain HTTP, the relay
//! asks penex over mutual TLS with the analyst's certificate and hands back status, body and
//! the security headers unchanged. Without `chromium` on the PATH the test says so and passes,
//! unless `PENEX_TEST_REQUIRE_CHROMIUM` is set (as `.ci/run` does after installing it).
#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use crate::common;

use common::records::dated;
use common::units::{JINGAN, SUZHOU};
use common::{TestApp, Who};
use penex::domain::party::Party;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn chromium() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("PENEX_TEST_CHROMIUM") {
        return Some(p.into());
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

/// Serves every request on `listener` by fetching the same path from penex as the analyst.
async fn relay(listener: tokio::net::TcpListener, client: reqwest::Client, base: String) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let client = client.clone();
        let base = base.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let r = client.get(format!("{base}{path}")).send().await.unwrap();
            let status = r.status();
            let mut headers = String::new();
            for name in [
                "content-type",
                "content-security-policy",
                "x-content-type-options",
            ] {
                if let Some(v) = r.headers().get(name) {
                    headers.push_str(&format!("{name}: {}\r\n", v.to_str().unwrap_or_default()));
                }
            }
            let body = r.bytes().await.unwrap();
            let head = format!(
                "HTTP/1.1 {} {}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
                status.as_u16(),
                status.canonical_reason().unwrap_or(""),
                body.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&body).await;
            let _ = sock.shutdown().await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_dashboard_charts_with_the_pushed_data() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("PENEX_TEST_REQUIRE_CHROMIUM").is_none(),
            "PENEX_TEST_REQUIRE_CHROMIUM is set but chromium is not installed"
        );
        eprintln!("chromium not installed: the browser test is skipped (apt-get install chromium)");
        return;
    };
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

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(relay(listener, app.client(Who::Analyst), app.url("")));

    let profile = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(90),
        tokio::process::Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=5000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--dump-dom")
            .arg(format!("http://127.0.0.1:{port}/dashboard"))
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("chromium answered within 90 s")
    .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && dom.contains("<svg"),
        "chromium: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
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
