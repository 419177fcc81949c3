//! A real `penex serve` process for the harnesses (`examples/ingest_load.rs`,
//! `examples/proof.rs`, `tests/it/proof.rs`): spawned with its settings in `PENEX_*` variables,
//! its log in `<data_dir>/server.log`, reached over mTLS with the dev PKI it writes on first
//! start. Included with `#[path]`.

use penex::domain::party::Party;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Errors of the harnesses: shown, never matched on.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The provincial lead unit of a party, as the dev PKI names its certificate.
pub fn lead_code(p: Party) -> &'static str {
    match p {
        Party::Shanghai => "SH-310000",
        Party::Jiangsu => "JS-320000",
        Party::Zhejiang => "ZJ-330000",
        Party::Anhui => "AH-340000",
    }
}

/// A free loopback port (free when asked; the caller binds it soon after).
pub fn free_port() -> Res<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// The `penex` binary beside the running executable: `target/<profile>/penex` for an example
/// (`target/<profile>/examples/x`) and for a test (`target/<profile>/deps/x`). Warns when it
/// predates the sources: an example and the binary are separate targets, and `cargo run
/// --example` rebuilds only the example.
pub fn binary(explicit: Option<&Path>) -> Res<PathBuf> {
    let bin = match explicit {
        Some(b) => b.to_owned(),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .map(|d| d.join("penex"))
            .ok_or("cannot locate the target folder")?,
    };
    if !bin.is_file() {
        return Err(format!(
            "{} does not exist; build it first: cargo build --release --bin penex --examples",
            bin.display()
        )
        .into());
    }
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let newest_source = newest_file(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")));
    if let (Some(server), Some(source)) = (modified(&bin), newest_source)
        && server < source
    {
        eprintln!(
            "warning: {} is older than the sources in src/; rebuild it: cargo build --release \
             --bin penex --examples",
            bin.display()
        );
    }
    Ok(bin)
}

/// The latest modification time of the files below `dir`.
fn newest_file(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest_file(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        newest = newest.max(t);
    }
    newest
}

/// How to start one server.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The `penex` binary.
    pub bin: PathBuf,
    /// `PENEX_DATA_DIR`: the dev PKI, the keys and (on SQLite) the database. Instances of one
    /// deployment share it.
    pub data_dir: PathBuf,
    /// Where this instance's log goes.
    pub log: PathBuf,
    /// `PENEX_DATABASE_URL`.
    pub database_url: String,
    /// `PENEX_REDIS_URL`; none runs the in-process cache.
    pub redis_url: Option<String>,
    /// The loopback port it listens on.
    pub port: u16,
    /// Further `PENEX_*` settings.
    pub env: Vec<(String, String)>,
}

impl Spec {
    /// A spec for the repository's unit registry, logging JSON (at `RUST_LOG`'s level, else the
    /// server's default: a line per request).
    pub fn new(bin: &Path, data_dir: &Path, database_url: &str, port: u16) -> Spec {
        Spec {
            bin: bin.to_owned(),
            data_dir: data_dir.to_owned(),
            log: data_dir.join("server.log"),
            database_url: database_url.to_owned(),
            redis_url: None,
            port,
            env: Vec::new(),
        }
    }

    /// Adds a setting.
    pub fn set(mut self, key: &str, value: impl Into<String>) -> Spec {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// The variables that point `penex` (server or operator's command) at this deployment.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            (
                "PENEX_DATA_DIR".to_owned(),
                self.data_dir.display().to_string(),
            ),
            ("PENEX_DATABASE_URL".to_owned(), self.database_url.clone()),
            (
                "PENEX_LISTEN".to_owned(),
                format!("127.0.0.1:{}", self.port),
            ),
            (
                "PENEX_UNITS_FILE".to_owned(),
                concat!(env!("CARGO_MANIFEST_DIR"), "/config/units.toml").to_owned(),
            ),
            ("PENEX_LOG__FORMAT".to_owned(), "json".to_owned()),
        ];
        if let Some(url) = &self.redis_url {
            vars.push(("PENEX_REDIS_URL".to_owned(), url.clone()));
        }
        vars.extend(self.env.iter().cloned());
        vars
    }

    /// `penex ARGS` with this deployment's settings (a server, or an operator's command).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .current_dir(&self.data_dir)
            .env_remove("PENEX_CONFIG")
            .env_remove("PENEX_REDIS_URL")
            .envs(self.vars());
        cmd
    }

    /// Runs an operator's command (`penex outbox retry --all-dead` …) to its end; its output.
    pub fn run(&self, args: &[&str]) -> Res<String> {
        let out = self.command(args).stdin(Stdio::null()).output()?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            return Err(format!("penex {}: {text}", args.join(" ")).into());
        }
        Ok(text)
    }
}

/// A spawned server; SIGKILLed when dropped if still running.
pub struct Server {
    child: Child,
    /// How it was started (to start it again).
    pub spec: Spec,
}

impl Server {
    /// Starts `penex serve --migrate`; the log is appended to, so restarts keep the history.
    pub fn spawn(spec: &Spec) -> Res<Server> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)?;
        let err = out.try_clone()?;
        let child = spec
            .command(&["serve", "--migrate"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", spec.bin.display()))?;
        Ok(Server {
            child,
            spec: spec.clone(),
        })
    }

    /// `https://localhost:PORT`.
    pub fn base(&self) -> String {
        format!("https://localhost:{}", self.spec.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, then reap: a crash as the operating system does it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then SIGKILL after `grace`: in-flight requests finish, the pool closes.
    pub fn stop(&mut self, grace: Duration) {
        if !self.running() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }

    /// The log's warnings and errors, else its last lines (at most 20).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.spec.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let bad: Vec<&str> = lines
            .iter()
            .filter(|l| l.contains("\"WARN\"") || l.contains("\"ERROR\"") || l.contains("panick"))
            .copied()
            .collect();
        let shown = if bad.is_empty() { &lines } else { &bad };
        shown
            .iter()
            .skip(shown.len().saturating_sub(20))
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until `/readyz` answers 200 (the database and the cache reachable).
    pub async fn wait_ready(&mut self, timeout: Duration) -> Res<()> {
        let deadline = Instant::now() + timeout;
        let pki = self.spec.data_dir.join("pki");
        while Instant::now() < deadline {
            if !self.running() {
                return Err(format!("penex exited:\n{}", self.log_tail()).into());
            }
            if let Ok(c) = client(&pki, None, self.spec.port)
                && let Ok(r) = c.get(format!("{}/readyz", self.base())).send().await
                && r.status() == 200
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("penex did not become ready:\n{}", self.log_tail()).into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTPS client for `https://localhost:port` trusting the dev exchange CA, presenting the
/// dev PKI's certificate `who` (`clients/<who>.crt`: a unit code, `analyst`, `operator`…) or
/// none.
pub fn client(pki: &Path, who: Option<&str>, port: u16) -> Res<reqwest::Client> {
    let ca = std::fs::read(pki.join("exchange-ca.crt"))?;
    let identity = match who {
        Some(w) => Some((
            std::fs::read(pki.join(format!("clients/{w}.crt")))?,
            std::fs::read(pki.join(format!("clients/{w}.key")))?,
        )),
        None => None,
    };
    client_from(&ca, identity.as_ref().map(|(c, k)| (&c[..], &k[..])), port)
}

/// An HTTPS client for `https://localhost:port` from PEM bytes.
pub fn client_from(ca: &[u8], identity: Option<(&[u8], &[u8])>, port: u16) -> Res<reqwest::Client> {
    let config =
        penex::tls::config::client_config(ca, identity.map(|i| i.0), identity.map(|i| i.1))?;
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        // The server certificate names localhost; never leave the loopback interface.
        .resolve(
            "localhost",
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(5))
        .build()?)
}
