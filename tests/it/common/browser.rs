//! Headless Chromium for the browser tests: where it is, a loopback relay that lets it reach
//! penex with a client certificate (it cannot present one from the command line), and the DOM
//! it builds for a page.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers"
)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Chromium: `PENEX_TEST_CHROMIUM`, else Debian's `chromium`.
pub fn chromium() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("PENEX_TEST_CHROMIUM") {
        return Some(p.into());
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

/// Serves every request on `listener` by sending the same method, path, content type and body
/// to penex with `client`'s certificate.
pub async fn relay(listener: tokio::net::TcpListener, client: reqwest::Client, base: String) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let client = client.clone();
        let base = base.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let head_end = loop {
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            let mut lines = head.split("\r\n");
            let first = lines.next().unwrap_or_default().to_owned();
            let mut parts = first.split_whitespace();
            let method = parts.next().unwrap_or("GET").to_owned();
            let path = parts.next().unwrap_or("/").to_owned();
            let mut content_type = None;
            let mut length = 0usize;
            for l in lines {
                if let Some((k, v)) = l.split_once(':') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "content-type" => content_type = Some(v.trim().to_owned()),
                        "content-length" => length = v.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let mut body = buf[head_end..].to_vec();
            while body.len() < length {
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                }
            }
            let url = format!("{base}{path}");
            let mut req = if method == "POST" {
                client.post(url).body(body)
            } else {
                client.get(url)
            };
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            let r = req.send().await.unwrap();
            let status = r.status();
            let mut headers = String::new();
            for name in [
                "content-type",
                "content-security-policy",
                "x-content-type-options",
                "location",
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

/// A relay for `client` on a fresh loopback port; its base URL.
pub async fn relay_for(app: &super::TestApp, client: reqwest::Client) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(relay(listener, client, app.url("")));
    format!("http://127.0.0.1:{port}")
}

/// The DOM Chromium builds for `url`, or `None` without Chromium.
pub async fn dom(url: &str) -> Option<String> {
    let browser = chromium()?;
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
                "--virtual-time-budget=3000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--dump-dom")
            .arg(url)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("chromium answered within 90 s")
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("<body"),
        "chromium: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(text)
}
