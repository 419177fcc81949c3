//! `penex demo`: the whole loop on one machine, for a newcomer. In a fresh work folder it starts
//! penex on the embedded default (SQLite, in-process cache, dev PKI) on a free loopback port,
//! starts the reference sink (`publish::sink`) on another with its own mutual TLS, points the
//! publisher at it, pushes a simulated region (`sim`) over HTTPS as the units of the four parties
//! with each unit's client certificate, revokes records of a few flagged subjects so that their
//! flags are withdrawn, runs the simulator's collaboration scripts between units (sending,
//! answering, approving, closing, each call with the acting unit's certificate), waits until the
//! outbox is drained, and sums up what happened.
//!
//! Owns only the choreography: every step is a real part (`app::prepare`/`http_server`, the
//! publisher, the sink, `sim::generate`, `replay`, the HTTP API) — nothing is re-implemented, and
//! every figure is read back through the API, the sink's file or the store.
//!
//! Files: this one starts and stops what runs (penex, the work folder); `drive` runs the steps
//! and fills the [`Summary`]; `collab` runs the collaboration scripts and reads them back;
//! `check` says what does not add up; `report` renders it. `replay`
//! pushes a simulated set over HTTPS as its units, `observe` reads back from the store what
//! penex made of it — the I/O that keeps `sim` pure (the examples and tests use them too).
//!
//! Invariants: the folder is wiped only when it is empty or holds the marker of an earlier demo
//! (`.penex-demo`), so a mistyped `--dir` never deletes anything else; `./data` and any configured
//! database or Redis are never touched. The summary lists every inconsistency it finds (events
//! delivered ≠ produced, a signature that does not verify, a body that differs from the feed,
//! a dead letter, a targeted flag that stayed active…); the command fails when there is one.

mod check;
mod client;
mod collab;
mod drive;
pub mod observe;
pub mod replay;
mod report;

pub use check::check;
pub use report::{Report, Summary};

use crate::app::{self, StartError};
use crate::config::Settings;
use crate::domain::party::Party;
use crate::publish::publisher;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file that marks a folder as the demo's own (and so safe to wipe).
pub const MARKER: &str = ".penex-demo";

/// What `penex demo` was asked to do.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The work folder (wiped and created at start).
    pub dir: PathBuf,
    /// Pushes to simulate.
    pub records: usize,
    /// Seed of the simulator.
    pub seed: u64,
    /// Flags to have withdrawn by revoking the records they rest on.
    pub revoke: usize,
    /// Longest wait for the outbox to drain.
    pub timeout: Duration,
    /// Collaboration items to run between units (0: none).
    pub collaboration: usize,
}

/// Why the demo could not run to its summary.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The work folder cannot be used.
    #[error("demo folder {}: {reason}", .path.display())]
    Dir {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// penex did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The sink or the publisher did not start.
    #[error("connector: {0}")]
    Connector(String),
    /// Pushing the simulated region failed.
    #[error(transparent)]
    Push(#[from] crate::demo::replay::ReplayError),
    /// A call to penex failed or answered something unexpected.
    #[error("{0}")]
    Api(String),
    /// The outbox did not drain in time.
    #[error("{0}")]
    Timeout(String),
    /// The run finished but what it saw does not add up (the summary was printed).
    #[error("the demo found {} inconsistenc{}: {}", .0.len(), if .0.len() == 1 { "y" } else { "ies" }, .0.join("; "))]
    Inconsistent(Vec<String>),
}

fn dir_err(path: &Path, reason: impl std::fmt::Display) -> DemoError {
    DemoError::Dir {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Wipes and recreates `dir` — only when it is empty or an earlier demo's folder.
fn fresh_dir(dir: &Path) -> Result<(), DemoError> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(dir_err(dir, "exists and is not a folder"));
        }
        let empty = std::fs::read_dir(dir)
            .map_err(|e| dir_err(dir, e))?
            .next()
            .is_none();
        if !empty && !dir.join(MARKER).exists() {
            return Err(dir_err(
                dir,
                format!(
                    "not empty and not an earlier demo folder (no {MARKER}); refusing to wipe \
                     it — pick another --dir"
                ),
            ));
        }
        std::fs::remove_dir_all(dir).map_err(|e| dir_err(dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| dir_err(dir, e))?;
    std::fs::write(
        dir.join(MARKER),
        "made by `penex demo`; the next run wipes this folder\n",
    )
    .map_err(|e| dir_err(dir, e))
}

/// The demo's settings: the configured registry, catalogue and rules, but the embedded
/// default in the work folder, a loopback port, the dev PKI and limits a simulated region fits.
fn demo_settings(base: &Settings, data_dir: &Path) -> Settings {
    let mut s = base.clone();
    s.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    s.data_dir = data_dir.to_owned();
    s.database_url = None;
    s.redis_url = None;
    s.tls.dev_pki = true;
    s.tls.server_cert = None;
    s.tls.server_key = None;
    s.tls.client_cas = Vec::new();
    // Dozens of units push as fast as one machine can; the per-minute limits are for
    // production callers.
    s.rate_limits.push.limit = 1_000_000;
    s.rate_limits.query.limit = 1_000_000;
    s.publish.connector_url = None;
    s.publish.connector_ca = None;
    s.publish.client_cert = None;
    s.publish.client_key = None;
    s.publish.backoff_base_ms = 100;
    s.publish.backoff_max_ms = 2_000;
    s.publish.poll_ms = 50;
    s
}

/// Everything running during the demo, stopped in order whatever happened.
struct Running {
    server: actix_web::dev::ServerHandle,
    sink: Option<actix_web::dev::ServerHandle>,
    publisher: Option<publisher::PublisherHandle>,
}

impl Running {
    async fn stop(self) {
        if let Some(p) = self.publisher {
            p.stop(Duration::from_secs(5)).await;
        }
        if let Some(s) = self.sink {
            s.stop(true).await;
        }
        self.server.stop(true).await;
    }
}

/// Runs the demo; prints its steps to stdout. Returns the report, with the inconsistencies it
/// found (the caller prints it and fails when there are any).
pub async fn run(base: &Settings, opts: &DemoOptions) -> Result<Report, DemoError> {
    let started = Instant::now();
    fresh_dir(&opts.dir)?;
    let data_dir = opts.dir.join("data");
    let settings = demo_settings(base, &data_dir);
    let units = app::load_base_units(&settings)?;
    let leads: HashMap<Party, String> = units
        .iter()
        .filter(|u| u.parent.is_none() && !u.disabled)
        .map(|u| (u.party, u.code.to_string()))
        .collect();

    println!("penex demo in {}", opts.dir.display());
    let prepared = app::prepare(settings.clone(), true).await?;
    let state = prepared.state.clone();
    let listener = std::net::TcpListener::bind(settings.listen)
        .map_err(|e| StartError::Io(format!("cannot listen on {}: {e}", settings.listen)))?;
    let port = listener
        .local_addr()
        .map_err(|e| StartError::Io(e.to_string()))?
        .port();
    let server = app::http_server(prepared, listener).map_err(|e| StartError::Io(e.to_string()))?;
    let mut running = Running {
        server: server.handle(),
        sink: None,
        publisher: None,
    };
    actix_web::rt::spawn(server);
    let base_url = format!("https://localhost:{port}");
    println!(
        "  penex     {base_url}  (SQLite {}, dev PKI)",
        data_dir.join("penex.db").display()
    );

    let stage = drive::Stage {
        settings: &settings,
        state: &state,
        base_url: &base_url,
        opts,
    };
    let result = drive::drive(&stage, &leads, &mut running).await;
    running.stop().await;
    let mut summary = result?;
    summary.total_secs = started.elapsed().as_secs_f64();
    let problems = check(&summary);
    let json = serde_json::to_string_pretty(&summary).unwrap_or_default();
    std::fs::write(opts.dir.join("summary.json"), json + "\n")
        .map_err(|e| dir_err(&opts.dir, e))?;
    Ok(Report {
        summary,
        dir: opts.dir.clone(),
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_empty_or_demo_folder_is_wiped() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let dir = tmp.path().join("d");
        std::fs::create_dir_all(&dir).unwrap_or_default();
        std::fs::write(dir.join("precious.txt"), "x").unwrap_or_default();
        assert!(matches!(fresh_dir(&dir), Err(DemoError::Dir { .. })));
        assert!(dir.join("precious.txt").exists());
        std::fs::write(dir.join(MARKER), "").unwrap_or_default();
        assert!(fresh_dir(&dir).is_ok());
        assert!(!dir.join("precious.txt").exists() && dir.join(MARKER).exists());
        let empty = tmp.path().join("e");
        std::fs::create_dir_all(&empty).unwrap_or_default();
        assert!(fresh_dir(&empty).is_ok());
    }
}
