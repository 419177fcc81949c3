//! Throw-away PostgreSQL and Redis servers the proof harness owns, so it can crash them: a
//! PostgreSQL cluster made with `initdb` in a temp folder (restarted with `pg_ctl restart -m
//! immediate`: no checkpoint, crash recovery on start) and a `redis-server` child (SIGKILLed and
//! started again, empty: it keeps nothing on disk). Both listen on free loopback ports.
//! Included with `#[path]`; needs `server.rs` as `super::server`.

use super::server::{Res, free_port};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A PostgreSQL cluster in a temp folder, stopped when dropped.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    /// The port it listens on.
    pub port: u16,
    /// When the harness runs as root: the user that owns the cluster (PostgreSQL refuses root).
    run_as: Option<String>,
    _tmp: tempfile::TempDir,
}

/// The newest PostgreSQL server binaries installed (`/usr/lib/postgresql/<v>/bin`), or those on
/// the PATH.
fn pg_bin() -> Res<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                    Some((v, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    if let Some((_, bin)) = versions.pop()
        && bin.join("initdb").is_file()
    {
        return Ok(bin);
    }
    let on_path = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()?;
    let path = String::from_utf8_lossy(&on_path.stdout).trim().to_owned();
    Path::new(&path)
        .parent()
        .map(Path::to_owned)
        .filter(|_| !path.is_empty())
        .ok_or_else(|| "PostgreSQL's initdb is not installed (apt-get install postgresql)".into())
}

impl Postgres {
    /// `initdb` (trust authentication for `penex` on loopback) and start.
    pub fn start() -> Res<Postgres> {
        let bin = pg_bin()?;
        let tmp = tempfile::Builder::new()
            .prefix("penex-proof-pg")
            .tempdir()?;
        let dir = tmp.path().join("data");
        let run_as = (nix_uid() == 0).then(|| "postgres".to_owned());
        if let Some(user) = &run_as {
            // The cluster's owner must be able to reach and own its folder.
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:{user}")])
                .arg(tmp.path())
                .status()?;
            if !status.success() {
                return Err(format!("chown to {user} failed").into());
            }
        }
        let pg = Postgres {
            bin,
            dir,
            port: free_port()?,
            run_as,
            _tmp: tmp,
        };
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.dir.to_string_lossy(),
                "-U",
                "penex",
                "--auth=trust",
                "--no-instructions",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )?;
        pg.ctl(&["start"])?;
        Ok(pg)
    }

    /// `postgres://penex@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://penex@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl restart -m immediate`: every backend killed without a checkpoint; the server
    /// replays its WAL on start. Open connections break.
    pub fn crash_restart(&self) -> Res<()> {
        self.ctl(&["restart", "-m", "immediate"])
    }

    fn ctl(&self, action: &[&str]) -> Res<()> {
        let log = self.dir.with_file_name("postgres.log");
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200",
            self.port
        );
        let mut args: Vec<String> = vec![
            "-D".into(),
            self.dir.to_string_lossy().into_owned(),
            "-l".into(),
            log.to_string_lossy().into_owned(),
            "-o".into(),
            opts,
            "-w".into(),
            "-t".into(),
            "60".into(),
        ];
        args.extend(action.iter().map(|a| (*a).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run("pg_ctl", &args)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Res<()> {
        let exe = self.bin.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .current_dir("/")
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "{tool} {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.ctl(&["stop", "-m", "immediate"]);
    }
}

/// The effective user id, from `id -u` (no libc binding needed for one number).
fn nix_uid() -> u32 {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(u32::MAX)
}

/// A `redis-server` child that keeps nothing on disk.
pub struct Redis {
    child: Option<Child>,
    /// The port it listens on.
    pub port: u16,
}

impl Redis {
    /// Starts one on a free port and waits until it accepts connections.
    pub fn start() -> Res<Redis> {
        let mut r = Redis {
            child: None,
            port: free_port()?,
        };
        r.spawn()?;
        Ok(r)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) -> Res<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start redis-server (apt-get install redis-server): {e}")
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err("redis-server did not start".into())
    }

    /// SIGKILL, then a new empty server on the same port after `down`.
    pub fn crash_restart(&mut self, down: Duration) -> Res<()> {
        self.kill();
        std::thread::sleep(down);
        self.spawn()
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}
