//! The demo's calls to penex over its HTTP API, as its callers make them: a client per dev-PKI
//! certificate, cursor-paged lists, the event feed, the outbox counts, a flag's basis.

use super::DemoError;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

fn read(path: &Path) -> Result<Vec<u8>, DemoError> {
    std::fs::read(path).map_err(|e| DemoError::Api(format!("cannot read {}: {e}", path.display())))
}

/// An HTTPS client presenting `clients/<stem>.crt` of the dev PKI.
pub(super) fn client_as(pki: &Path, stem: &str) -> Result<reqwest::Client, DemoError> {
    let ca = read(&pki.join("exchange-ca.crt"))?;
    let cert = read(&pki.join("clients").join(format!("{stem}.crt")))?;
    let key = read(&pki.join("clients").join(format!("{stem}.key")))?;
    let config = crate::tls::config::client_config(&ca, Some(&cert), Some(&key))
        .map_err(|e| DemoError::Api(format!("client certificate {stem}: {e}")))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| DemoError::Api(format!("HTTP client: {e}")))
}

pub(super) async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, DemoError> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| DemoError::Api(format!("GET {url}: {e}")))?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| DemoError::Api(format!("GET {url}: {e}")))?;
    if !status.is_success() {
        return Err(DemoError::Api(format!("GET {url}: HTTP {status}: {body}")));
    }
    serde_json::from_str(&body).map_err(|e| DemoError::Api(format!("GET {url}: not JSON: {e}")))
}

pub(super) fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Every item of a cursor-paged list (`items` + `next_after`).
pub(super) async fn all_items(
    client: &reqwest::Client,
    url: &str,
    join: char,
) -> Result<Vec<Value>, DemoError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page_url = match &after {
            Some(a) => format!("{url}{join}limit=500&after={a}"),
            None => format!("{url}{join}limit=500"),
        };
        let page = get_json(client, &page_url).await?;
        if let Some(items) = page.get("items").and_then(Value::as_array) {
            out.extend(items.iter().cloned());
        }
        match page.get("next_after").and_then(Value::as_str) {
            Some(next) if after.as_deref() != Some(next) => after = Some(next.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// The whole feed, in sequence order.
pub(super) async fn feed(client: &reqwest::Client, base: &str) -> Result<Vec<Value>, DemoError> {
    walk_feed(client, &format!("{base}/v1/events")).await
}

/// Every event of a feed at `url` (`/v1/events`, `/v1/collaboration/events`), following
/// `next_after` until a page comes back empty.
pub(super) async fn walk_feed(
    client: &reqwest::Client,
    url: &str,
) -> Result<Vec<Value>, DemoError> {
    let mut out = Vec::new();
    let mut after = 0_i64;
    loop {
        let page = get_json(client, &format!("{url}?after={after}&limit=1000")).await?;
        let events = page
            .get("events")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let next = page
            .get("next_after")
            .and_then(Value::as_i64)
            .unwrap_or(after);
        if events.is_empty() || next <= after {
            return Ok(out);
        }
        out.extend(events);
        after = next;
    }
}

pub(super) async fn outbox_stats(client: &reqwest::Client, base: &str) -> Result<Value, DemoError> {
    let page = get_json(client, &format!("{base}/v1/outbox?limit=1")).await?;
    page.get("stats")
        .cloned()
        .ok_or_else(|| DemoError::Api("GET /v1/outbox: no stats".into()))
}

pub(super) fn stat(stats: &Value, name: &str) -> i64 {
    stats.get(name).and_then(Value::as_i64).unwrap_or(0)
}

/// Status and basis records of one flag.
pub(super) async fn flag(
    client: &reqwest::Client,
    base: &str,
    id: &str,
) -> Result<(String, Vec<(String, String)>), DemoError> {
    let v = get_json(client, &format!("{base}/v1/flags/{id}")).await?;
    let basis = v
        .get("basis")
        .and_then(Value::as_array)
        .map(|b| {
            b.iter()
                .map(|r| {
                    (
                        str_at(r, "/record_id").to_owned(),
                        str_at(r, "/party").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((str_at(&v, "/status").to_owned(), basis))
}
