//! Pushes a simulated set into a running penex over mutual TLS, as its units would: each push
//! with a certificate of its pushing unit issued from the server's dev PKI, consecutive pushes
//! of one unit batched (order kept, so the truth's expected statuses hold).

use crate::domain::party::Role;
use crate::sim::SimSet;
use crate::tls::identity::CaBinding;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// What the service answered, per push.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// Status answered, per push (`accepted`, …).
    pub statuses: Vec<String>,
    /// Record id answered, per push (`None` for rejected).
    pub record_of_push: Vec<Option<String>>,
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
    /// Requests made.
    pub requests: usize,
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Certificates could not be issued or read.
    #[error("certificates: {0}")]
    Pki(String),
    /// The server could not be reached or answered something unexpected.
    #[error("push of seq {seq}: {detail}")]
    Push {
        /// First push of the failing batch.
        seq: u64,
        /// What went wrong.
        detail: String,
    },
}

/// An HTTPS client presenting a certificate of `unit`: the one under `certs/<unit>/` when an
/// earlier call issued it, else a new one from the dev PKI in `pki`.
pub(crate) fn client_for(
    pki: &Path,
    certs: &Path,
    unit: &crate::domain::unit::UnitCode,
) -> Result<reqwest::Client, ReplayError> {
    let pki_err = |e: &dyn std::fmt::Display| ReplayError::Pki(e.to_string());
    let dir = certs.join(unit.as_str());
    let issued = (
        dir.join(format!("{unit}.crt")),
        dir.join(format!("{unit}.key")),
    );
    let (cert, key) = if issued.0.exists() && issued.1.exists() {
        issued
    } else {
        crate::tls::pki::issue_client_cert(
            pki,
            CaBinding::Party(unit.party()),
            Role::Unit,
            unit.as_str(),
            &dir,
        )
        .map_err(|e| pki_err(&e))?
    };
    let ca = std::fs::read(pki.join("exchange-ca.crt")).map_err(|e| pki_err(&e))?;
    let cert = std::fs::read(cert).map_err(|e| pki_err(&e))?;
    let key = std::fs::read(key).map_err(|e| pki_err(&e))?;
    let config =
        crate::tls::config::client_config(&ca, Some(&cert), Some(&key)).map_err(|e| pki_err(&e))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .map_err(|e| pki_err(&e))
}

/// Pushes every record of `set` to `base` (`https://localhost:PORT`) in batches of at most
/// `batch` consecutive pushes of one unit. `pki` is the server's dev PKI folder; certificates
/// are written under `certs`.
pub async fn push_set(
    base: &str,
    pki: &Path,
    certs: &Path,
    set: &SimSet,
    batch: usize,
) -> Result<Replay, ReplayError> {
    push_set_with_progress(base, pki, certs, set, batch, |_| {}).await
}

/// [`push_set`], calling `progress` with the number of pushes answered after each request.
pub async fn push_set_with_progress(
    base: &str,
    pki: &Path,
    certs: &Path,
    set: &SimSet,
    batch: usize,
    mut progress: impl FnMut(usize),
) -> Result<Replay, ReplayError> {
    let mut clients: HashMap<String, reqwest::Client> = HashMap::new();
    let mut out = Replay::default();
    let started = Instant::now();
    let mut at = 0;
    while let Some(first) = set.pushes.get(at) {
        let run = set
            .pushes
            .iter()
            .skip(at)
            .take(batch.max(1))
            .take_while(|p| p.unit == first.unit)
            .count();
        let records: Vec<&serde_json::Value> = set
            .pushes
            .iter()
            .skip(at)
            .take(run)
            .map(|p| &p.record)
            .collect();
        let client = match clients.get(first.unit.as_str()) {
            Some(c) => c.clone(),
            None => {
                let c = client_for(pki, certs, &first.unit)?;
                clients.insert(first.unit.to_string(), c.clone());
                c
            }
        };
        let fail = |detail: String| ReplayError::Push {
            seq: first.seq,
            detail,
        };
        let resp = client
            .post(format!("{base}/v1/records"))
            .json(&serde_json::json!({ "records": records }))
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            return Err(fail(format!("HTTP {status}: {body}")));
        }
        let items = body
            .get("items")
            .and_then(|i| i.as_array())
            .ok_or_else(|| fail(format!("no items in {body}")))?;
        if items.len() != run {
            return Err(fail(format!("{} answers for {run} items", items.len())));
        }
        for item in items {
            out.statuses.push(
                item.get("status")
                    .and_then(|s| s.as_str())
                    .unwrap_or("")
                    .to_owned(),
            );
            out.record_of_push.push(
                item.get("record_id")
                    .and_then(|s| s.as_str())
                    .map(str::to_owned),
            );
        }
        out.requests += 1;
        at += run;
        progress(at);
    }
    out.elapsed = started.elapsed();
    Ok(out)
}
