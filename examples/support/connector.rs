//! A connector that fails on command, for the proof harness: the reference sink (`penex sink`'s
//! code, verifying every JWS against penex's JWKS) behind two fault layers.
//!
//! ```text
//! penex publisher ──TCP──▶ proxy (reset, black hole) ──mTLS──▶ front (503, slow) ──mTLS──▶ sink
//! ```
//!
//! The proxy takes penex's connections and, per [`Fault`], passes them through, resets them at
//! once, or accepts them and never answers (the publisher's request timeout fires). The front
//! terminates TLS with the dev PKI's server certificate, requires a client certificate from the
//! exchange CA as the real connector does, and answers 503 or forwards after a delay; otherwise
//! it forwards the body and headers to the sink and its answer back. It counts the deliveries it
//! forwarded per event id. Included with `#[path]`; needs `server.rs` as `super::server`.

use super::server::{Res, free_port};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// How the connector misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Healthy.
    None,
    /// Every request answered 503.
    Unavailable,
    /// Every connection reset as soon as it is accepted.
    Reset,
    /// Connections accepted, never answered.
    BlackHole,
    /// Every request answered correctly, after 1.5 s.
    Slow,
}

impl Fault {
    /// The faults in the order a schedule may use them.
    pub const ALL: [Fault; 5] = [
        Fault::None,
        Fault::Unavailable,
        Fault::Reset,
        Fault::BlackHole,
        Fault::Slow,
    ];

    fn code(self) -> u8 {
        match self {
            Fault::None => 0,
            Fault::Unavailable => 1,
            Fault::Reset => 2,
            Fault::BlackHole => 3,
            Fault::Slow => 4,
        }
    }

    fn of(code: u8) -> Fault {
        Fault::ALL
            .into_iter()
            .find(|f| f.code() == code)
            .unwrap_or(Fault::None)
    }

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "healthy",
            Fault::Unavailable => "503",
            Fault::Reset => "reset",
            Fault::BlackHole => "black hole",
            Fault::Slow => "slow (1.5 s)",
        }
    }
}

/// The running connector.
pub struct Connector {
    fault: Arc<AtomicU8>,
    forwarded: Arc<Mutex<HashMap<String, u32>>>,
    out: PathBuf,
    handles: Vec<actix_web::dev::ServerHandle>,
    threads: Vec<std::thread::JoinHandle<()>>,
    proxy: tokio::task::JoinHandle<()>,
}

/// Runs an actix server made by `make` on its own system thread; returns its handle.
fn on_thread<F>(make: F) -> Res<(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>)>
where
    F: FnOnce()
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Res<actix_web::dev::Server>>>>
        + Send
        + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match make().await {
                Ok(server) => {
                    let _ = tx.send(Ok(server.handle()));
                    let _ = server.await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        });
    });
    let handle = rx.recv()??;
    Ok((handle, thread))
}

struct Front {
    fault: Arc<AtomicU8>,
    forwarded: Arc<Mutex<HashMap<String, u32>>>,
    sink: reqwest::Client,
    sink_url: String,
}

async fn front(req: HttpRequest, body: web::Bytes, state: web::Data<Front>) -> HttpResponse {
    match Fault::of(state.fault.load(Ordering::SeqCst)) {
        Fault::Unavailable => return HttpResponse::ServiceUnavailable().finish(),
        Fault::Slow => tokio::time::sleep(Duration::from_millis(1500)).await,
        _ => {}
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let key = header("idempotency-key");
    let sent = state
        .sink
        .post(&state.sink_url)
        .header("content-type", header("content-type"))
        .header("idempotency-key", &key)
        .body(body)
        .send()
        .await;
    let Ok(resp) = sent else {
        return HttpResponse::BadGateway().finish();
    };
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    if status == 200 {
        let mut f = state
            .forwarded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *f.entry(key).or_default() += 1;
    }
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY),
    )
    .content_type("application/json")
    .body(text)
}

impl Connector {
    /// Starts the sink, the front and the proxy on `port`; penex's keys come from `jwks_url`
    /// (penex must be up: the sink reads its keys at start).
    pub async fn start(pki: &Path, jwks_url: &str, out: &Path, port: u16) -> Res<Connector> {
        let (sink_port, front_port) = (free_port()?, free_port()?);
        let args = penex::publish::sink::SinkArgs {
            listen: format!("127.0.0.1:{sink_port}").parse()?,
            ca: pki.join("exchange-ca.crt"),
            cert: pki.join("server.crt"),
            key: pki.join("server.key"),
            jwks: jwks_url.to_owned(),
            jwks_ca: None,
            out: out.to_owned(),
        };
        let (sink, sink_thread) = on_thread(move || {
            Box::pin(async move {
                let (server, _) = penex::publish::sink::bind(&args).await?;
                Ok(server)
            })
        })?;

        let fault = Arc::new(AtomicU8::new(Fault::None.code()));
        let forwarded = Arc::new(Mutex::new(HashMap::new()));
        let tls = penex::tls::config::server_config_requiring_client_cert(
            &std::fs::read(pki.join("server.crt"))?,
            &std::fs::read(pki.join("server.key"))?,
            &[std::fs::read(pki.join("exchange-ca.crt"))?],
        )?;
        let state = web::Data::new(Front {
            fault: fault.clone(),
            forwarded: forwarded.clone(),
            sink: super::server::client(pki, Some("publisher"), sink_port)?,
            sink_url: format!("https://localhost:{sink_port}/events"),
        });
        let listener = std::net::TcpListener::bind(("127.0.0.1", front_port))?;
        let (front, front_thread) = on_thread(move || {
            Box::pin(async move {
                Ok(actix_web::HttpServer::new(move || {
                    actix_web::App::new()
                        .app_data(state.clone())
                        .app_data(web::PayloadConfig::new(1 << 20))
                        .default_service(web::to(front))
                })
                .workers(2)
                .shutdown_timeout(1)
                .listen_rustls_0_23(listener, tls)?
                .run())
            })
        })?;

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let proxy = tokio::spawn(proxy(listener, front_port, fault.clone()));
        Ok(Connector {
            fault,
            forwarded,
            out: out.to_owned(),
            handles: vec![front, sink],
            threads: vec![front_thread, sink_thread],
            proxy,
        })
    }

    /// Switches the fault.
    pub fn set(&self, fault: Fault) {
        self.fault.store(fault.code(), Ordering::SeqCst);
    }

    /// The events the sink accepted, in arrival order (its JSON-lines file).
    pub fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Deliveries the sink answered 200 per event id (a second one is a duplicate delivery the
    /// sink recognized by its key and identical body).
    pub fn forwarded(&self) -> HashMap<String, u32> {
        self.forwarded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Stops everything.
    pub async fn stop(self) {
        self.proxy.abort();
        for h in self.handles {
            h.stop(false).await;
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// The TCP layer: pass through, reset, or hold the connection unanswered.
async fn proxy(listener: tokio::net::TcpListener, upstream: u16, fault: Arc<AtomicU8>) {
    while let Ok((mut inbound, _)) = listener.accept().await {
        match Fault::of(fault.load(Ordering::SeqCst)) {
            Fault::Reset => {
                // SO_LINGER 0: close sends RST, not FIN.
                let _ = inbound.set_zero_linger();
                drop(inbound);
            }
            Fault::BlackHole => {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    let _ = inbound.shutdown().await;
                });
            }
            _ => {
                let fault = fault.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    // A fault switched on also breaks the connections already open (the
                    // publisher keeps them alive), as a failing connector would.
                    let broken = async {
                        loop {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            if matches!(
                                Fault::of(fault.load(Ordering::SeqCst)),
                                Fault::Reset | Fault::BlackHole
                            ) {
                                break;
                            }
                        }
                    };
                    let cut = tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => false,
                        () = broken => true,
                    };
                    if cut {
                        let _ = inbound.set_zero_linger();
                    }
                });
            }
        }
    }
}
