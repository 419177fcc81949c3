//! A TCP proxy between a server under test and one of its dependencies (PostgreSQL, Redis) that
//! the test can cut and restore: the dependency "goes away" for the server while the real
//! dependency keeps running for every other test.
//!
//! Cut: every open connection is closed at once; new ones are either closed at once (`Refuse`:
//! what a client sees when the service restarts or a firewall resets it) or accepted and never
//! answered (`BlackHole`: a host that went silent). Restore: the black-holed connections are
//! closed and new ones forwarded again; the server has to reconnect by itself.
//!
//! The proxy runs on its own thread and runtime, so it keeps forwarding whatever the test's
//! runtime is doing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

/// A running proxy; stops when dropped.
pub struct Proxy {
    /// The loopback port to give the server instead of the dependency's.
    pub port: u16,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// What happens to new connections while the proxy is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Closed at once.
    Refuse = 1,
    /// Accepted and never answered.
    BlackHole = 2,
}

const FORWARD: u8 = 0;

struct Shared {
    mode: AtomicU8,
    open: Mutex<Vec<tokio::task::AbortHandle>>,
    held: Mutex<Vec<std::net::TcpStream>>,
}

impl Proxy {
    /// Forwards a new loopback port to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> Proxy {
        let upstream: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(upstream)
            .unwrap()
            .next()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            mode: AtomicU8::new(FORWARD),
            open: Mutex::new(Vec::new()),
            held: Mutex::new(Vec::new()),
        });
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let accepted = tokio::select! {
                        a = listener.accept() => a,
                        _ = &mut stopped => break,
                    };
                    let Ok((mut client, _)) = accepted else {
                        continue;
                    };
                    match state.mode.load(Ordering::SeqCst) {
                        FORWARD => {}
                        m if m == Cut::BlackHole as u8 => {
                            if let Ok(c) = client.into_std() {
                                state.held.lock().unwrap().push(c);
                            }
                            continue;
                        }
                        _ => {
                            drop(client);
                            continue;
                        }
                    }
                    let task = tokio::spawn(async move {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    let mut open = state.open.lock().unwrap();
                    open.retain(|t| !t.is_finished());
                    // A cut between the check above and here must not miss this one.
                    if state.mode.load(Ordering::SeqCst) != FORWARD {
                        task.abort();
                    } else {
                        open.push(task.abort_handle());
                    }
                }
                // Closes every forwarded connection with the runtime.
            });
        });
        Proxy {
            port,
            shared,
            stop: Some(stop),
        }
    }

    /// The dependency goes away: open connections are closed, new ones treated as `how` says.
    pub fn cut(&self, how: Cut) {
        self.shared.mode.store(how as u8, Ordering::SeqCst);
        for task in self.shared.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// The dependency is back: connections held by a black hole are closed, new ones forwarded.
    pub fn restore(&self) {
        self.shared.mode.store(FORWARD, Ordering::SeqCst);
        self.shared.held.lock().unwrap().clear();
    }

    /// `url` with its `host:port` replaced by this proxy's.
    pub fn route(&self, url: &str) -> String {
        url.replacen(&host_port(url), &format!("127.0.0.1:{}", self.port), 1)
    }
}

/// The `host:port` of a `scheme://[userinfo@]host:port[/…]` URL (the port must be explicit).
pub fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let hostpath = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    hostpath.split('/').next().unwrap_or(hostpath).to_owned()
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut(Cut::Refuse);
        self.shared.held.lock().unwrap().clear();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
