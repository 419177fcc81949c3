//! `penex sink`: a reference connector for the credit platform's engineers and for tests. It
//! accepts events only over mutual TLS (a client certificate from the configured CA is required
//! at the handshake), verifies each JWS against the JWKS (fetched again once when a `kid` is
//! unknown), deduplicates by `Idempotency-Key`, checks that each subject's events arrive in
//! sequence order, and appends every verified event to a JSON-lines file.
//!
//! Answers: 200 accepted (or the same key with the same body again: a duplicate, also 200);
//! 400 not a compact JWS / no Idempotency-Key; 401 signature does not verify or unknown key;
//! 409 the key was used with a different body, or the event is older than one already received
//! for its subject; 415 not `application/jose`; 422 the payload lacks `id`/`seq`/`subject.id`
//! or its `id` is not the Idempotency-Key.
//!
//! Invariants: nothing is written to the file before its signature verified; state (keys seen,
//! last sequence number per subject) is rebuilt from the file at start, so a restarted sink
//! still deduplicates.

use crate::crypto::CryptoError;
use crate::crypto::jws::{Jwks, verify_compact};
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// `penex sink …`
#[derive(Debug, Clone, clap::Args)]
pub struct SinkArgs {
    /// Address to listen on (HTTPS, client certificate required).
    #[arg(long)]
    pub listen: SocketAddr,
    /// CA certificate(s) (PEM) whose client certificates are accepted: the CA of penex's
    /// publisher certificate.
    #[arg(long)]
    pub ca: PathBuf,
    /// The sink's server certificate chain (PEM).
    #[arg(long)]
    pub cert: PathBuf,
    /// The sink's server key (PEM, PKCS#8).
    #[arg(long)]
    pub key: PathBuf,
    /// Where the public keys are: an https:// URL (penex's `/.well-known/jwks.json`) or a file.
    #[arg(long)]
    pub jwks: String,
    /// CA that issued the JWKS server's certificate [default: --ca].
    #[arg(long)]
    pub jwks_ca: Option<PathBuf>,
    /// The JSON-lines file verified events are appended to (created when absent).
    #[arg(long)]
    pub out: PathBuf,
}

/// Why the sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// TLS material refused.
    #[error("TLS: {0}")]
    Tls(String),
    /// The JWKS could not be fetched or parsed.
    #[error("JWKS: {0}")]
    Jwks(String),
}

enum JwksSource {
    Url(String, reqwest::Client),
    File(PathBuf),
}

impl JwksSource {
    async fn fetch(&self) -> Result<Jwks, SinkError> {
        let text = match self {
            JwksSource::File(p) => std::fs::read_to_string(p)
                .map_err(|e| SinkError::Jwks(format!("{}: {e}", p.display())))?,
            JwksSource::Url(url, client) => {
                let resp = client
                    .get(url)
                    .send()
                    .await
                    .map_err(|e| SinkError::Jwks(format!("{url}: {e}")))?;
                if !resp.status().is_success() {
                    return Err(SinkError::Jwks(format!("{url}: HTTP {}", resp.status())));
                }
                resp.text()
                    .await
                    .map_err(|e| SinkError::Jwks(format!("{url}: {e}")))?
            }
        };
        serde_json::from_str(&text).map_err(|e| SinkError::Jwks(format!("not a JWK set: {e}")))
    }
}

struct Received {
    /// Idempotency key → SHA-256 of the JWS received under it.
    seen: HashMap<String, Vec<u8>>,
    /// Subject id → the highest sequence number received for it.
    last_seq: HashMap<String, i64>,
    out: std::fs::File,
}

struct SinkState {
    jwks: RwLock<Jwks>,
    source: JwksSource,
    received: Mutex<Received>,
}

fn digest(jws: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, jws.as_bytes())
        .as_ref()
        .to_vec()
}

fn rebuild(path: &std::path::Path) -> Result<Received, SinkError> {
    let mut seen = HashMap::new();
    let mut last_seq: HashMap<String, i64> = HashMap::new();
    if let Ok(f) = std::fs::File::open(path) {
        for line in std::io::BufReader::new(f).lines() {
            let line = line.map_err(|e| SinkError::Io(format!("{}: {e}", path.display())))?;
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue; // a line torn by a crash: its event was not acknowledged
            };
            if let (Some(key), Some(jws)) = (
                v.get("idempotency_key").and_then(|k| k.as_str()),
                v.get("jws").and_then(|k| k.as_str()),
            ) {
                seen.insert(key.to_owned(), digest(jws));
            }
            if let (Some(subject), Some(seq)) = (
                v.pointer("/event/subject/id").and_then(|k| k.as_str()),
                v.pointer("/event/seq").and_then(|k| k.as_i64()),
            ) {
                let e = last_seq.entry(subject.to_owned()).or_insert(seq);
                *e = (*e).max(seq);
            }
        }
    }
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| SinkError::Io(format!("{}: {e}", path.display())))?;
    Ok(Received {
        seen,
        last_seq,
        out,
    })
}

fn answer(status: u16, code: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
    .json(serde_json::json!({ "status": status, "code": code, "detail": detail }))
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<SinkState>) -> HttpResponse {
    if req.method() != actix_web::http::Method::POST {
        return answer(405, "method_not_allowed", "POST events here");
    }
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ct.split(';').next().map(str::trim) != Some("application/jose") {
        return answer(415, "unsupported_media_type", "expected application/jose");
    }
    let Some(key) = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return answer(
            400,
            "idempotency_key_missing",
            "an Idempotency-Key header is required",
        );
    };
    let Ok(jws) = std::str::from_utf8(&body).map(|s| s.trim().to_owned()) else {
        return answer(400, "malformed_jws", "the body is not UTF-8");
    };
    let jwks = match state.jwks.read() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    };
    let verified = match verify_compact(&jws, &jwks) {
        Err(CryptoError::UnknownKid) => {
            // A key rotated since we last looked: fetch the set once more.
            match state.source.fetch().await {
                Ok(fresh) => {
                    let result = verify_compact(&jws, &fresh);
                    match state.jwks.write() {
                        Ok(mut g) => *g = fresh,
                        Err(p) => *p.into_inner() = fresh,
                    }
                    result
                }
                Err(e) => {
                    tracing::warn!(error = %e, "JWKS refetch failed");
                    return answer(503, "jwks_unavailable", "the JWKS could not be fetched");
                }
            }
        }
        other => other,
    };
    let verified = match verified {
        Ok(v) => v,
        Err(CryptoError::Malformed(why)) => return answer(400, "malformed_jws", why),
        Err(e) => return answer(401, "signature_invalid", &e.to_string()),
    };
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(&verified.payload) else {
        return answer(422, "invalid_payload", "the payload is not JSON");
    };
    let (Some(id), Some(seq), Some(subject)) = (
        event.get("id").and_then(|v| v.as_str()),
        event.get("seq").and_then(|v| v.as_i64()),
        event.pointer("/subject/id").and_then(|v| v.as_str()),
    ) else {
        return answer(
            422,
            "invalid_payload",
            "the payload lacks id, seq or subject.id",
        );
    };
    if id != key {
        return answer(
            422,
            "idempotency_key_mismatch",
            "Idempotency-Key must be the event id",
        );
    }
    let hash = digest(&jws);
    let mut r = match state.received.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some(prev) = r.seen.get(&key) {
        return if *prev == hash {
            HttpResponse::Ok().json(serde_json::json!({ "status": "duplicate", "seq": seq }))
        } else {
            answer(
                409,
                "idempotency_key_reused",
                "this key was received with a different body",
            )
        };
    }
    if let Some(last) = r.last_seq.get(subject)
        && *last >= seq
    {
        return answer(
            409,
            "out_of_order",
            &format!("subject {subject} already has event {last}; {seq} is older"),
        );
    }
    let line = serde_json::json!({
        "received_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "idempotency_key": key,
        "http_version": format!("{:?}", req.version()),
        "kid": verified.kid,
        "event": event,
        "jws": jws,
    });
    let written = writeln!(r.out, "{line}").and_then(|()| r.out.flush());
    if let Err(e) = written {
        tracing::error!(error = %e, "the sink could not append");
        return answer(503, "storage_unavailable", "the event could not be stored");
    }
    r.seen.insert(key, hash);
    r.last_seq.insert(subject.to_owned(), seq);
    HttpResponse::Ok().json(serde_json::json!({ "status": "accepted", "seq": seq }))
}

/// Binds the sink (inside an actix system); returns the server and its address.
pub async fn bind(args: &SinkArgs) -> Result<(actix_web::dev::Server, SocketAddr), SinkError> {
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| SinkError::Io(format!("cannot read {}: {e}", p.display())))
    };
    let tls = crate::tls::config::server_config_requiring_client_cert(
        &read(&args.cert)?,
        &read(&args.key)?,
        &[read(&args.ca)?],
    )
    .map_err(|e| SinkError::Tls(e.to_string()))?;
    let source = if args.jwks.starts_with("https://") {
        let ca = read(args.jwks_ca.as_ref().unwrap_or(&args.ca))?;
        let config = crate::tls::config::client_config(&ca, None, None)
            .map_err(|e| SinkError::Tls(e.to_string()))?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| SinkError::Tls(e.to_string()))?;
        JwksSource::Url(args.jwks.clone(), client)
    } else {
        JwksSource::File(PathBuf::from(&args.jwks))
    };
    let jwks = source.fetch().await?;
    let state = web::Data::new(SinkState {
        jwks: RwLock::new(jwks),
        source,
        received: Mutex::new(rebuild(&args.out)?),
    });
    let listener = std::net::TcpListener::bind(args.listen)
        .map_err(|e| SinkError::Io(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| SinkError::Io(e.to_string()))?;
    let state = Arc::new(state);
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(web::Data::clone(&state))
            .app_data(web::PayloadConfig::new(1 << 20))
            .default_service(web::to(receive))
    })
    .shutdown_timeout(5)
    .listen_rustls_0_23(listener, tls)
    .map_err(|e| SinkError::Io(e.to_string()))?
    .run();
    Ok((server, addr))
}

/// `penex sink`: runs until stopped.
pub async fn run(args: SinkArgs) -> Result<(), SinkError> {
    let (server, addr) = bind(&args).await?;
    println!(
        "penex sink listening on https://{addr}, appending verified events to {}",
        args.out.display()
    );
    server.await.map_err(|e| SinkError::Io(e.to_string()))
}
