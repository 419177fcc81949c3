//! Ingest load: pushes N generated, valid, distinct records to a real penex server over mutual
//! TLS and, on PostgreSQL, compares the rate with a raw binary `COPY … FROM STDIN` of the same
//! canonical rows into an empty copy of the `records` table.
//!
//! ```sh
//! cargo build --release -j 2 --bin penex --example ingest_load
//! createdb -h 127.0.0.1 -U penex penex_bench
//! cargo run --release --example ingest_load -- --records 100000 --batch 1000 --concurrency 4 \
//!     --database-url postgres://penex:penex@127.0.0.1:5432/penex_bench
//! cargo run --release --example ingest_load -- --records 100000 --database-url sqlite:///tmp/penex-load/penex.db
//! ```
//!
//! The server is the real release binary (`target/release/penex serve --migrate`, found next
//! to this example), spawned on a free loopback port with a fresh data folder, so its dev PKI
//! and personal-data keys are new; the script reads the same key file to build the COPY rows.
//! Each batch holds records of one party, decided by that party's registered units (by name)
//! and pushed with the certificate of the party's provincial lead, so every push is authorized.
//! The database must be fresh: the script refuses one whose `records` table holds rows.

#[path = "../benches/support/records.rs"]
mod records;
#[path = "support/server.rs"]
#[expect(dead_code, reason = "the proof harness uses the rest")]
mod server;

use clap::Parser;
use diesel::prelude::*;
use diesel::{Connection, PgConnection, RunQueryDsl};
use penex::crypto::pii::PiiKeyring;
use penex::domain::party::Party;
use penex::domain::registry::Registry;
use penex::domain::unit::UnitCode;
use penex::normalize::NormalizeContext;
use penex::service::ingest::{self, Prepared};
use penex::store::records::RecordWrite;
use penex::store::{AnyConnection, DatabaseUrl};
use serde::Deserialize;
use server::{Res, Server, Spec, free_port, lead_code};
use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Pushes generated records to penex and measures the ingest rate.
#[derive(Debug, Parser)]
struct Args {
    /// How many records to push.
    #[arg(long, default_value_t = 100_000)]
    records: u64,
    /// Records per request (1–1000).
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// `postgres://…` (a fresh database) or `sqlite://PATH`; default: SQLite in a temporary
    /// folder.
    #[arg(long)]
    database_url: Option<String>,
    /// The penex binary to spawn; default: `penex` in the folder above this example's.
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Skip the COPY baseline (PostgreSQL only anyway).
    #[arg(long)]
    no_copy: bool,
    /// Print each batch's latency as it completes.
    #[arg(long)]
    verbose: bool,
}

/// One request body and what it holds.
struct Batch {
    party: Party,
    items: Vec<serde_json::Value>,
    body: Vec<u8>,
}

#[derive(Deserialize)]
struct PushAnswer {
    summary: Summary,
    items: Vec<ItemAnswer>,
}

#[derive(Deserialize)]
struct Summary {
    accepted: usize,
    duplicate: usize,
    corrected: usize,
    rejected: usize,
}

#[derive(Deserialize)]
struct ItemAnswer {
    index: usize,
    status: String,
}

#[derive(Deserialize)]
struct Whoami {
    code: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut AnyConnection, sql: &str) -> Res<i64> {
    let rows: Vec<Count> = diesel::sql_query(sql)
        .load(conn)
        .map_err(|e| format!("{sql}: {e}"))?;
    Ok(rows.first().map_or(0, |r| r.n))
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len()) - 1)
        .copied()
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn generate(args: &Args, registry: &Registry) -> Res<Vec<Batch>> {
    let mut by_party: Vec<(Party, Vec<String>)> = Party::ALL
        .iter()
        .map(|p| {
            let names = registry
                .units()
                .filter(|u| u.party == *p && !u.disabled)
                .map(|u| u.name.clone())
                .collect();
            (*p, names)
        })
        .collect();
    by_party.retain(|(_, names): &(Party, Vec<String>)| !names.is_empty());
    let mut batches = Vec::new();
    let mut seq = 0u64;
    let mut b = 0usize;
    while seq < args.records {
        let (party, names) = by_party
            .get(b % by_party.len())
            .ok_or("the registry has no units")?;
        let n = args.batch.min(args.records - seq);
        let items: Vec<serde_json::Value> = (seq..seq + n)
            .map(|s| {
                let i = usize::try_from(s).unwrap_or_default() % names.len();
                let authority = names.get(i).map(String::as_str).unwrap_or_default();
                records::record(*party, authority, s)
            })
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({ "records": items }))?;
        batches.push(Batch {
            party: *party,
            items,
            body,
        });
        seq += n;
        b += 1;
    }
    Ok(batches)
}

struct PushResult {
    elapsed: Duration,
    latencies: Vec<Duration>,
    version: String,
}

async fn push_all(
    batches: Arc<Vec<Batch>>,
    clients: Arc<Vec<(Party, reqwest::Client)>>,
    url: String,
    concurrency: usize,
    verbose: bool,
) -> Res<PushResult> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (batches, clients, url, next) =
            (batches.clone(), clients.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut version = String::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(batch) = batches.get(i) else {
                    break;
                };
                let client = clients
                    .iter()
                    .find(|(p, _)| *p == batch.party)
                    .map(|(_, c)| c)
                    .ok_or("no client for the batch's party")?;
                let t0 = Instant::now();
                let resp = client
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(batch.body.clone())
                    .send()
                    .await
                    .map_err(|e| format!("batch {i}: request failed: {}", chain(&e)))?;
                let status = resp.status();
                version = format!("{:?}", resp.version());
                let bytes = resp
                    .bytes()
                    .await
                    .map_err(|e| format!("batch {i}: reading the answer failed: {}", chain(&e)))?;
                let latency = t0.elapsed();
                latencies.push(latency);
                if verbose {
                    eprintln!("batch {i}: {} ms", latency.as_millis());
                }
                if !status.is_success() {
                    return Err(format!(
                        "batch {i}: HTTP {status}: {}",
                        String::from_utf8_lossy(&bytes)
                    )
                    .into());
                }
                let answer: PushAnswer = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("batch {i}: unexpected answer: {e}"))?;
                check_answer(i, batch, &answer)?;
            }
            Ok::<_, Box<dyn Error + Send + Sync>>((latencies, version))
        }));
    }
    let mut latencies = Vec::new();
    let mut version = String::new();
    for t in tasks {
        let (l, v) = t
            .await
            .map_err(|e| format!("a pusher task failed: {e}"))??;
        latencies.extend(l);
        if !v.is_empty() {
            version = v;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Ok(PushResult {
        elapsed,
        latencies,
        version,
    })
}

/// An error with its sources (reqwest's own message names only the URL).
fn chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn check_answer(i: usize, batch: &Batch, answer: &PushAnswer) -> Res<()> {
    let s = &answer.summary;
    let all_accepted = answer.items.len() == batch.items.len()
        && answer
            .items
            .iter()
            .enumerate()
            .all(|(k, item)| item.index == k && item.status == "accepted");
    if !all_accepted || s.accepted != batch.items.len() {
        let first_bad = answer.items.iter().find(|it| it.status != "accepted");
        return Err(format!(
            "batch {i}: expected {} accepted, got accepted={} duplicate={} corrected={} \
             rejected={} (first other item: {:?})",
            batch.items.len(),
            s.accepted,
            s.duplicate,
            s.corrected,
            s.rejected,
            first_bad.map(|it| (it.index, it.status.as_str()))
        )
        .into());
    }
    Ok(())
}

/// The rows the service stored for `batches`, built by the service's own `ingest::prepare`
/// (which runs `normalize_record`, resolves the authority and seals ID numbers with the
/// server's key), with the columns `ingest::store_ready` writes for an accepted item.
/// The rows the service writes to `records` for these batches (`ReadyItem::record_write`, as
/// `ingest::store_ready` calls it for a new record; no subject: the baseline resolves none).
fn canonical_rows(
    batches: &[Batch],
    ctx: &NormalizeContext,
    registry: &Registry,
    keyring: &PiiKeyring,
) -> Res<Vec<RecordWrite>> {
    let now = penex::store::now_utc();
    let prefix = |i: usize| format!("/records/{i}");
    let mut rows = Vec::new();
    for batch in batches {
        let lead = UnitCode::parse(lead_code(batch.party))?;
        let prepared = ingest::prepare(&batch.items, &prefix, ctx, registry, keyring, Some(&lead))
            .map_err(|e| format!("prepare: {e}"))?;
        for p in prepared {
            let Prepared::Ready(ready) = p.item else {
                return Err("a generated record was rejected".into());
            };
            rows.push(ready.record_write(1, "active", None, now));
        }
    }
    Ok(rows)
}

struct CopyResult {
    build: Duration,
    copy: Duration,
    rows: usize,
    same_as_service: i64,
}

fn copy_baseline(
    url: &str,
    batches: &[Batch],
    ctx: &NormalizeContext,
    registry: &Registry,
    keyring: &PiiKeyring,
) -> Res<CopyResult> {
    let t = Instant::now();
    let rows = canonical_rows(batches, ctx, registry, keyring)?;
    let build = t.elapsed();
    let mut pg = PgConnection::establish(url).map_err(|e| format!("PostgreSQL: {e}"))?;
    diesel::sql_query("DROP SCHEMA IF EXISTS copy_single CASCADE").execute(&mut pg)?;
    diesel::sql_query("CREATE SCHEMA copy_single").execute(&mut pg)?;
    diesel::sql_query("CREATE TABLE copy_single.records (LIKE public.records INCLUDING ALL)")
        .execute(&mut pg)?;
    // The service's `records` type, unqualified in SQL, names the copy on this connection.
    diesel::sql_query("SET search_path = copy_single").execute(&mut pg)?;
    // COPY in autocommit: the clock runs from the statement's first byte to its commit.
    let t = Instant::now();
    let copied = diesel::copy_from(penex::store::schema::records::table)
        .from_insertable(&rows)
        .execute(&mut pg)
        .map_err(|e| format!("COPY: {e}"))?;
    let copy = t.elapsed();
    // The same canonical rows as the service stored (canonical_json differs only in the random
    // nonces of sealed ID numbers, timestamps in the clock).
    let same: Vec<Count> = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM public.records r JOIN copy_single.records c USING (id) \
         WHERE r.authority_code = c.authority_code AND r.decision_no = c.decision_no \
         AND r.party = c.party AND r.content_hash = c.content_hash \
         AND r.subject_name = c.subject_name \
         AND r.subject_uscc IS NOT DISTINCT FROM c.subject_uscc \
         AND r.subject_id_index IS NOT DISTINCT FROM c.subject_id_index \
         AND r.decision_date = c.decision_date AND r.fine_fen IS NOT DISTINCT FROM c.fine_fen \
         AND r.publicity_until = c.publicity_until \
         AND length(r.canonical_json) = length(c.canonical_json)",
    )
    .load(&mut pg)?;
    diesel::sql_query("DROP SCHEMA copy_single CASCADE").execute(&mut pg)?;
    Ok(CopyResult {
        build,
        copy,
        rows: copied,
        same_as_service: same.first().map_or(0, |c| c.n),
    })
}

/// The second baseline: every row the push wrote (records, versions, the batch's raw items,
/// submissions, subjects, their keys and names, events; no delivery row: the event log is the
/// outbox), exported from the service's tables in PostgreSQL's binary format and COPYed into empty tables of the same definition (`LIKE … INCLUDING ALL`,
/// in a schema of their own) in the same run. What one COPY statement per table costs for the
/// data the API must keep: a floor for the API's own storage cost.
fn copy_all_baseline(url: &str) -> Res<(Duration, usize)> {
    use diesel::pg::CopyFormat;
    use penex::store::schema;
    let mut src = PgConnection::establish(url).map_err(|e| format!("PostgreSQL: {e}"))?;
    let mut dst = PgConnection::establish(url).map_err(|e| format!("PostgreSQL: {e}"))?;
    diesel::sql_query("DROP SCHEMA IF EXISTS copy_baseline CASCADE").execute(&mut src)?;
    diesel::sql_query("CREATE SCHEMA copy_baseline").execute(&mut src)?;
    // The service's table types, unqualified in SQL, name the copies on this connection.
    diesel::sql_query("SET search_path = copy_baseline").execute(&mut dst)?;
    let mut elapsed = Duration::ZERO;
    let mut rows = 0;
    macro_rules! copy_table {
        ($t:ident) => {{
            let name = stringify!($t);
            diesel::sql_query(format!(
                "CREATE TABLE copy_baseline.{name} (LIKE public.{name} INCLUDING ALL)"
            ))
            .execute(&mut src)?;
            // diesel leaves the connection busy after a COPY TO: export on one of its own.
            let mut export =
                PgConnection::establish(url).map_err(|e| format!("PostgreSQL: {e}"))?;
            let mut data = Vec::new();
            std::io::Read::read_to_end(
                &mut diesel::copy_to(schema::$t::table)
                    .with_format(CopyFormat::Binary)
                    .load_raw(&mut export)?,
                &mut data,
            )?;
            let t = Instant::now();
            let n = diesel::copy_from(schema::$t::table)
                .from_raw_data(schema::$t::all_columns, |w| {
                    w.write_all(&data)
                        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
                })
                .with_format(CopyFormat::Binary)
                .execute(&mut dst)?;
            elapsed += t.elapsed();
            rows += n;
        }};
    }
    copy_table!(subjects);
    copy_table!(subject_keys);
    copy_table!(subject_names);
    copy_table!(submission_batches);
    copy_table!(submissions);
    copy_table!(records);
    copy_table!(record_versions);
    copy_table!(events);
    diesel::sql_query("DROP SCHEMA copy_baseline CASCADE").execute(&mut src)?;
    Ok((elapsed, rows))
}

#[tokio::main]
async fn main() -> Res<()> {
    penex::tls::config::install_default_provider();
    let args = Args::parse();
    if !(1..=1000).contains(&args.batch) || args.concurrency == 0 || args.records == 0 {
        return Err("--batch must be 1–1000, --records and --concurrency at least 1".into());
    }
    // Kept on failure, for the server log.
    let mut data = tempfile::Builder::new()
        .prefix("penex-load-")
        .disable_cleanup(true)
        .tempdir()?;
    let data_dir = data.path().to_path_buf();
    let units = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config/units.toml"));
    let db_url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("penex.db").display()));
    let settings = penex::config::Settings::with_overrides(serde_json::json!({
        "data_dir": data_dir,
        "database_url": db_url,
        "units_file": units,
    }))?;
    let parsed = DatabaseUrl::parse(&db_url)?;
    let is_postgres = matches!(parsed, DatabaseUrl::Postgres(_));
    let base_units = penex::app::load_base_units(&settings)?;
    let registry = Registry::new(base_units, penex::normalize::text::fold_name)?;
    // Created here, read by the server at start: both seal with the same key.
    let keyring = {
        let mut conn = parsed.establish()?;
        penex::store::conn::run_migrations(&mut conn)?;
        penex::app::load_pii_keys(&settings, &mut conn)?
    };
    let ctx = NormalizeContext {
        today: penex::domain::clock::today_shanghai(),
        publicity: settings.publicity.clone(),
        catalog: penex::app::load_catalog(&settings)?,
    };

    {
        let mut conn = parsed.establish()?;
        penex::store::conn::run_migrations(&mut conn)?;
        let existing = count(&mut conn, "SELECT COUNT(*) AS n FROM records")?;
        if existing > 0 {
            return Err(format!(
                "{} holds {existing} records; give a fresh database",
                parsed.redacted()
            )
            .into());
        }
    }

    let t = Instant::now();
    let batches = Arc::new(generate(&args, &registry)?);
    let body_bytes: usize = batches.iter().map(|b| b.body.len()).sum();
    println!(
        "generated {} records in {} batches ({:.1} MB of JSON) in {:.2} s",
        args.records,
        batches.len(),
        body_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let bin = server::binary(args.server_bin.as_deref())?;
    let port = free_port()?;
    let mut server = Server::spawn(&Spec::new(&bin, &data_dir, &db_url, port))?;
    server.wait_ready(Duration::from_secs(120)).await?;
    println!(
        "server: {} serve --migrate on 127.0.0.1:{port}, database {}",
        bin.display(),
        parsed.redacted()
    );

    let pki = settings.pki_dir();
    let mut clients = Vec::new();
    for party in Party::ALL {
        let code = lead_code(party);
        let c = server::client(&pki, Some(code), port)?;
        // Handshake and identity before the clock starts.
        let who: Whoami = c
            .get(format!("https://localhost:{port}/v1/whoami"))
            .send()
            .await
            .map_err(|e| format!("whoami as {code}: {e}"))?
            .error_for_status()?
            .json()
            .await?;
        if who.code != code {
            return Err(format!("expected to be {code}, the server says {}", who.code).into());
        }
        clients.push((party, c));
    }

    let url = format!("https://localhost:{port}/v1/records");
    let pushed = push_all(
        batches.clone(),
        Arc::new(clients),
        url,
        args.concurrency,
        args.verbose,
    )
    .await;
    let pushed = match pushed {
        Ok(p) => p,
        Err(e) => {
            server.stop(Duration::from_secs(35));
            return Err(format!(
                "{e}\nserver log ({}):\n{}",
                server.spec.log.display(),
                server.log_tail()
            )
            .into());
        }
    };
    let api_rate = args.records as f64 / pushed.elapsed.as_secs_f64();
    println!(
        "API ({}, {} batches of ≤{}, {} in flight): {} records in {:.2} s = {:.0} records/s; \
         batch latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        pushed.version,
        batches.len(),
        args.batch,
        args.concurrency,
        args.records,
        pushed.elapsed.as_secs_f64(),
        api_rate,
        ms(percentile(&pushed.latencies, 0.50)),
        ms(percentile(&pushed.latencies, 0.99)),
        ms(pushed.latencies.last().copied().unwrap_or_default()),
    );
    server.stop(Duration::from_secs(35));

    {
        let mut conn = parsed.establish()?;
        let n = i64::try_from(args.records)?;
        for table in ["records", "record_versions", "submissions"] {
            let got = count(&mut conn, &format!("SELECT COUNT(*) AS n FROM {table}"))?;
            if got != n {
                return Err(format!("{table} holds {got} rows, expected {n}").into());
            }
        }
        println!("stored: records, record_versions and submissions each hold {n} rows");
    }
    // The push succeeded: the data folder (server log, PKI, keys) goes with the run.
    data.disable_cleanup(false);

    if !is_postgres {
        println!("COPY baseline: none on SQLite (COPY is PostgreSQL's)");
        return Ok(());
    }
    if args.no_copy {
        return Ok(());
    }
    let copy = copy_baseline(&db_url, &batches, &ctx, &registry, &keyring)?;
    let copy_rate = copy.rows as f64 / copy.copy.as_secs_f64();
    println!(
        "COPY baseline: built {} canonical rows (normalize + seal, one thread) in {:.2} s = \
         {:.0} records/s; COPY records FROM STDIN (binary, into an empty copy of the table) {:.2} s = {:.0} records/s; \
         {} rows identical to the service's",
        copy.rows,
        copy.build.as_secs_f64(),
        copy.rows as f64 / copy.build.as_secs_f64(),
        copy.copy.as_secs_f64(),
        copy_rate,
        copy.same_as_service
    );
    let ratio = api_rate / copy_rate;
    println!(
        "API / COPY = {:.1}% (issue #16's target ≥ 20%: {})",
        ratio * 100.0,
        if ratio >= 0.20 { "met" } else { "MISSED" }
    );
    if usize::try_from(copy.same_as_service)? != copy.rows {
        return Err("the COPY rows differ from what the service stored".into());
    }
    let (all, all_rows) = copy_all_baseline(&db_url)?;
    let all_rate = args.records as f64 / all.as_secs_f64();
    let all_ratio = api_rate / all_rate;
    println!(
        "COPY of every row the push wrote ({all_rows} rows in 8 tables, binary): {:.2} s = \
         {all_rate:.0} records/s; API / that = {:.1}% (issue #16's target ≥ 60%: {})",
        all.as_secs_f64(),
        all_ratio * 100.0,
        if all_ratio >= 0.60 { "met" } else { "MISSED" }
    );
    Ok(())
}
