//! Query load: `GET /v1/subjects/{key}` and `GET /v1/first-violation` at fixed request rates
//! over mutual TLS (analyst certificate), with p50/p99 latency and the highest sustained rate,
//! beside a trivial TLS endpoint (`/healthz`) measured the same way in the same run.
//!
//! ```sh
//! cargo run --release --example query_load -- --seed-records 3000 --seconds 5
//! cargo run --release --example query_load -- --database-url postgres://penex:penex@127.0.0.1:5432/penex_q
//! ```
//!
//! The server is penex's own (`app::prepare` + `app::http_server`, the code `penex serve`
//! runs) on a loopback port with a fresh data folder, seeded with a simulated region pushed
//! through the API. Each step sends requests on a fixed schedule (open loop: a late answer does
//! not delay the next request) with at most `--in-flight` outstanding; a rate is *sustained*
//! when at least 99 % of its requests were answered 200 and its p99 stays under `--p99-ms`.

use clap::Parser;
use penex::config::Settings;
use penex::sim::{SimOptions, generate};
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

#[derive(Debug, Parser)]
struct Args {
    /// Simulated pushes to seed the store with.
    #[arg(long, default_value_t = 3000)]
    seed_records: usize,
    /// Seconds per rate step.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Request rates to try, per second.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "100,200,400,800,1600,3200"
    )]
    rates: Vec<u64>,
    /// Most requests outstanding at once.
    #[arg(long, default_value_t = 256)]
    in_flight: usize,
    /// p99 bound of a sustained rate, in ms.
    #[arg(long, default_value_t = 100)]
    p99_ms: u64,
    /// `postgres://…` (a fresh database) or `sqlite://PATH`; default SQLite in a temp folder.
    #[arg(long)]
    database_url: Option<String>,
}

struct Step {
    rate: u64,
    sent: usize,
    ok: usize,
    p50: Duration,
    p99: Duration,
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or_default()
}

async fn step(
    client: &reqwest::Client,
    urls: &Arc<Vec<String>>,
    rate: u64,
    seconds: u64,
    in_flight: usize,
) -> Step {
    let total = (rate * seconds) as usize;
    let gap = Duration::from_secs_f64(1.0 / rate as f64);
    let permits = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        tokio::time::sleep_until(start + gap * i as u32).await;
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            continue; // over the in-flight bound: counted as not answered
        };
        let client = client.clone();
        let url = urls.get(i % urls.len()).cloned().unwrap_or_default();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = matches!(client.get(&url).send().await, Ok(r) if r.status() == 200);
            drop(permit);
            (ok, t.elapsed())
        }));
    }
    let mut lat = Vec::new();
    let mut ok = 0;
    for t in tasks {
        if let Ok((good, d)) = t.await {
            lat.push(d);
            ok += usize::from(good);
        }
    }
    lat.sort();
    Step {
        rate,
        sent: total,
        ok,
        p50: pct(&lat, 0.50),
        p99: pct(&lat, 0.99),
    }
}

#[actix_web::main]
async fn main() -> Res<()> {
    let args = Args::parse();
    penex::tls::config::install_default_provider();
    let dir = tempfile::tempdir()?;
    let units_file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/units.toml");
    let mut overrides = serde_json::json!({
        "listen": "127.0.0.1:0",
        "data_dir": dir.path(),
        "units_file": units_file,
        "rate_limits": {
            "push": { "limit": 10_000_000, "window_secs": 60 },
            "query": { "limit": 10_000_000, "window_secs": 60 },
        },
        "log": { "filter": "warn" },
    });
    if let (Some(url), Some(o)) = (&args.database_url, overrides.as_object_mut()) {
        o.insert(
            "database_url".into(),
            serde_json::Value::String(url.clone()),
        );
    }
    let settings = Settings::with_overrides(overrides)?;
    let units = penex::domain::registry::parse_units_toml(&std::fs::read_to_string(&units_file)?)?;
    let mut opts = SimOptions::new(args.seed_records, 5);
    opts.today = penex::domain::clock::today_shanghai();
    let set = generate(&opts, &units);

    let prepared = penex::app::prepare(settings, true).await?;
    let state = prepared.state.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = penex::app::http_server(prepared, listener)?;
    let handle = server.handle();
    let running = actix_web::rt::spawn(server);
    let base = format!("https://localhost:{port}");
    let pki = dir.path().join("pki");
    penex::demo::replay::push_set(&base, &pki, &dir.path().join("certs"), &set, 500).await?;

    let ca = std::fs::read(pki.join("exchange-ca.crt"))?;
    let cert = std::fs::read(pki.join("clients/analyst.crt"))?;
    let key = std::fs::read(pki.join("clients/analyst.key"))?;
    let config = penex::tls::config::client_config(&ca, Some(&cert), Some(&key))?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .http2_prior_knowledge()
        .pool_max_idle_per_host(64)
        .build()?;

    // Keys to ask for: the USCCs the store holds, and the truth's resident IDs.
    let usccs: Vec<String> = state
        .db(|c| {
            use diesel::prelude::*;
            use penex::store::schema::records;
            Ok(records::table
                .select(records::subject_uscc)
                .distinct()
                .load::<Option<String>>(c)?
                .into_iter()
                .flatten()
                .collect())
        })
        .await
        .map_err(|e| format!("{e:?}"))?;
    let ids: Vec<String> = set
        .truth
        .subjects
        .values()
        .filter_map(|s| s.id_no.clone())
        .collect();
    let subjects: Vec<String> = usccs
        .iter()
        .map(|u| format!("{base}/v1/subjects/{u}"))
        .collect();
    let checks: Vec<String> = ids
        .iter()
        .map(|i| {
            format!("{base}/v1/first-violation?id_no={i}&violation_type=road_occupation_business")
        })
        .chain(usccs.iter().map(|u| {
            format!("{base}/v1/first-violation?uscc={u}&violation_type=construction_waste_dumping")
        }))
        .collect();
    let targets: Vec<(&str, Arc<Vec<String>>)> = vec![
        (
            "GET /healthz (baseline)",
            Arc::new(vec![format!("{base}/healthz")]),
        ),
        ("GET /v1/subjects/{uscc}", Arc::new(subjects)),
        ("GET /v1/first-violation", Arc::new(checks)),
    ];
    println!(
        "{} pushes seeded; {} s per step, at most {} in flight; sustained = ≥ 99 % answered 200 and p99 < {} ms",
        set.pushes.len(),
        args.seconds,
        args.in_flight,
        args.p99_ms
    );
    for (name, urls) in &targets {
        // Warm up connections and caches.
        let _ = step(&client, urls, 50, 1, args.in_flight).await;
        println!("\n{name}");
        println!(
            "{:>8} {:>8} {:>8} {:>10} {:>10}",
            "rate/s", "sent", "200s", "p50 ms", "p99 ms"
        );
        let mut best = 0;
        for &rate in &args.rates {
            let s = step(&client, urls, rate, args.seconds, args.in_flight).await;
            let sustained = s.ok * 100 >= s.sent * 99 && s.p99 < Duration::from_millis(args.p99_ms);
            println!(
                "{:>8} {:>8} {:>8} {:>10.2} {:>10.2}{}",
                s.rate,
                s.sent,
                s.ok,
                s.p50.as_secs_f64() * 1000.0,
                s.p99.as_secs_f64() * 1000.0,
                if sustained { "" } else { "  (not sustained)" }
            );
            if sustained {
                best = rate;
            } else {
                break;
            }
        }
        println!("highest sustained rate: {best}/s");
    }
    handle.stop(true).await;
    let _ = running.await;
    Ok(())
}
