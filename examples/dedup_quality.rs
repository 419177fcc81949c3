//! Dedup quality: pushes a simulated region (`penex::sim`, default mix) through the real
//! service over mutual TLS and scores what it made of it against the ground truth — pairwise
//! precision, recall and F1 for (a) duplicate detection, (b) jurisdiction-conflict detection,
//! (c) subject resolution — with the first-filer accuracy, the records a weak (name-only)
//! match put with another subject, and the records/s achieved.
//!
//! ```sh
//! cargo run --release --example dedup_quality -- --records 20000 --seed 7
//! cargo run --release --example dedup_quality -- --records 20000 \
//!     --database-url postgres://penex:penex@127.0.0.1:5432/penex_quality   # a fresh database
//! ```
//!
//! The server is penex's own (`app::prepare` + `app::http_server`, the code `penex serve`
//! runs) on a free loopback port with a fresh data folder and dev PKI; the set is generated
//! with today's date so that no decision lies in the future.

use clap::Parser;
use penex::config::Settings;
use penex::sim::{SimOptions, generate};
use std::error::Error;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Scores dedup and subject resolution on a simulated set.
#[derive(Debug, Parser)]
struct Args {
    /// Pushes to generate.
    #[arg(long, default_value_t = 20_000)]
    records: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Most consecutive pushes of one unit sent in one request.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// `postgres://…` (a fresh database) or `sqlite://PATH`; default: SQLite in a temporary
    /// folder.
    #[arg(long)]
    database_url: Option<String>,
}

fn line(name: &str, p: &penex::sim::score::Prf) {
    println!(
        "{name:<22} precision {:.4}  recall {:.4}  F1 {:.4}   ({} true / {} found / {} in truth pairs)",
        p.precision, p.recall, p.f1, p.true_pairs, p.found_pairs, p.truth_pairs
    );
}

#[actix_web::main]
async fn main() -> Res<()> {
    let args = Args::parse();
    penex::tls::config::install_default_provider();
    let dir = tempfile::tempdir()?;
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let units_file = repo.join("config/units.toml");
    let mut overrides = serde_json::json!({
        "listen": "127.0.0.1:0",
        "data_dir": dir.path(),
        "units_file": units_file,
        "rate_limits": { "push": { "limit": 1_000_000, "window_secs": 60 } },
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
    let mut opts = SimOptions::new(args.records, args.seed);
    opts.today = penex::api::records::today_shanghai();
    let set = generate(&opts, &units);

    let prepared = penex::app::prepare(settings, true).await?;
    let state = prepared.state.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = penex::app::http_server(prepared, listener)?;
    let handle = server.handle();
    let running = actix_web::rt::spawn(server);

    let certs = dir.path().join("sim-certs");
    let replay = penex::sim::replay::push_set(
        &format!("https://localhost:{port}"),
        &dir.path().join("pki"),
        &certs,
        &set,
        args.batch,
    )
    .await?;
    let answered = replay.record_of_push.clone();
    let observed = state
        .db(move |c| penex::sim::observe::observe(c, answered))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let s = penex::sim::score::score(&set.truth, &observed, &replay.statuses);
    // What the false conflicts were made of, to see why the matcher paired them.
    let pairs = s.false_conflicts.clone();
    let explained = state
        .db(move |c| {
            let mut out = Vec::new();
            for (a, b) in pairs {
                for id in [a, b] {
                    if let Some(r) = penex::store::records::find(c, &id)? {
                        out.push(format!(
                            "  {id} {} {} {}",
                            r.authority_code, r.decision_date, r.canonical_json
                        ));
                    }
                }
                out.push(String::new());
            }
            Ok::<_, penex::store::StoreError>(out)
        })
        .await
        .map_err(|e| format!("{e:?}"))?;
    handle.stop(true).await;
    let _ = running.await;

    let secs = replay.elapsed.as_secs_f64();
    println!(
        "{} pushes (seed {}, default mix) in {} requests, {:.1} s: {:.0} records/s",
        set.pushes.len(),
        args.seed,
        replay.requests,
        secs,
        set.pushes.len() as f64 / secs.max(1e-9)
    );
    line("(a) duplicates", &s.duplicates);
    line("(b) conflicts", &s.conflicts);
    line("(c) subjects", &s.subjects);
    println!(
        "first filer kept jurisdiction in {} of {} conflicts found ({} in truth)",
        s.winners_right,
        s.conflicts_found,
        set.truth.conflicts.len()
    );
    println!(
        "records put with another subject by a weak match: {}",
        s.weak_false_merges
    );
    println!("statuses differing from the truth: {}", s.status_mismatches);
    if !explained.is_empty() {
        println!("conflicts the truth does not pair:");
        for l in explained {
            println!("{l}");
        }
    }
    Ok(())
}
