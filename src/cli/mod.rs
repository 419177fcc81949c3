//! The `penex` command line: serve, migrate, manage units, API keys and the dev PKI, verify
//! the audit log, print the OpenAPI document, normalize and import records, run the demo.

use crate::app::{self, StartError};
use crate::config::Settings;
use crate::domain::party::{Level, Party, Role};
use crate::domain::unit::{Unit, UnitCode};
use crate::store::{self, StoreError};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// penex — the penalty exchange of the Yangtze River Delta.
#[derive(Debug, Parser)]
#[command(name = "penex", version, about)]
pub struct Cli {
    /// Settings file (defaults built in; `config/default.toml` documents every key).
    #[arg(long, global = true, env = "PENEX_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTPS service.
    Serve {
        /// Apply pending PostgreSQL migrations first (SQLite always migrates at start).
        #[arg(long)]
        migrate: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage member units (runtime changes survive restarts).
    #[command(subcommand)]
    Unit(UnitCommand),
    /// Development PKI.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Analysts' API keys.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// The audit hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Event signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The delivery outbox of events to the credit platform.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The violation-type catalogue: check a file against it, re-classify stored records.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Subjects: apply the current name folding to what is stored.
    #[command(subcommand)]
    Subjects(SubjectsCommand),
    /// Run a reference connector: receives events over mutual TLS, verifies each JWS against
    /// the JWKS, deduplicates by Idempotency-Key, checks per-subject order, appends verified
    /// events to a JSON-lines file (see docs/CONNECTOR.md).
    Sink(crate::publish::sink::SinkArgs),
    /// Print the OpenAPI document (the one committed as openapi/openapi.json).
    Openapi,
    /// Normalize records offline: JSON lines of raw records on stdin, JSON lines of
    /// `{"ok": canonical}` or `{"errors": [...]}` on stdout (one per input line, in order).
    Normalize,
    /// Import a 双公示 file (CSV or XLSX) as a unit's push: the same checks, outcomes and audit
    /// entries as `POST /v1/records`, one transaction per batch. Writes a report with one line
    /// per row (`FILE.report.csv`); rejected rows do not make the command fail.
    Import(ImportArgs),
    /// Run the whole loop on one machine: penex on the embedded default, a sink, a simulated
    /// region pushed by units of all four parties over mutual TLS, a few flags withdrawn by
    /// revocations; then a summary. Fails when anything does not add up (see docs/DEMO.md).
    Demo(DemoArgs),
    /// Generate a synthetic regional data set with ground truth (records.jsonl, truth.json,
    /// summary.json; see docs/SIMULATION.md). Deterministic: the same options give the same
    /// bytes. Deciding authorities come from the units file.
    Simulate {
        /// Number of pushes to generate.
        #[arg(long, default_value_t = 1000)]
        records: usize,
        /// Seed of the generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output folder (created when absent; the three files are overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Reference date: decisions lie in the three years before it.
        #[arg(long, default_value = "2026-11-01")]
        today: chrono::NaiveDate,
    },
}

/// `penex demo …`
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Work folder: wiped and created at start (only when empty or an earlier demo's), holding
    /// the demo's own database, dev PKI, keys, simulated data and the sink's file.
    #[arg(long, default_value = "./demo")]
    pub dir: PathBuf,
    /// Pushes to simulate (at least 100, so that all four parties push).
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub records: u64,
    /// Seed of the simulator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Flags to have withdrawn by revoking the records they rest on.
    #[arg(long, default_value_t = 3)]
    pub revoke: usize,
    /// Longest wait, in seconds, for every event to be delivered.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

/// `penex import …`
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The pushing unit (registered and enabled); rows it may not act for refuse their batch.
    #[arg(long)]
    pub unit: String,
    /// The file: `.csv` (UTF-8; GB18030/GBK is recognized) or `.xlsx`; the first row is the
    /// header (双公示 item names, column codes or penex field names).
    pub file: PathBuf,
    /// Worksheet to read (XLSX; default the first visible one).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Rows per batch: one transaction and one audit entry each [default: 500, at most
    /// limits.max_batch_items].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Where to write the report [default: FILE.report.csv beside the file].
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// `penex unit …`
#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// List units (registry file plus runtime changes).
    List {
        /// Only this party (SH, JS, ZJ, AH).
        #[arg(long)]
        party: Option<Party>,
    },
    /// Add a unit.
    Add {
        /// Unit code, `<PARTY>-<division>[-<SUFFIX>]`, e.g. `JS-320583-ZJG`.
        #[arg(long)]
        code: String,
        /// Registered name.
        #[arg(long)]
        name: String,
        /// Level: province, city, county or street.
        #[arg(long)]
        level: String,
        /// GB/T 2260 division code.
        #[arg(long)]
        division: String,
        /// Parent unit code.
        #[arg(long)]
        parent: String,
        /// Unified social credit code, when known.
        #[arg(long)]
        uscc: Option<String>,
    },
    /// Disable a unit: its certificates stop working at once.
    Disable {
        /// Unit code.
        code: String,
    },
    /// Enable a disabled unit again.
    Enable {
        /// Unit code.
        code: String,
    },
}

/// `penex pki …`
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create the dev PKI under <data_dir>/pki if it does not exist.
    Init,
    /// Issue a client certificate from the dev PKI.
    Issue {
        /// For this unit (from its party's CA).
        #[arg(long, conflicts_with_all = ["role", "name"])]
        unit: Option<String>,
        /// For a non-unit role (integrator, analyst, operator), from the exchange CA.
        #[arg(long, requires = "name")]
        role: Option<String>,
        /// The principal's name, with --role.
        #[arg(long)]
        name: Option<String>,
        /// Output folder (default <data_dir>/pki/clients).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `penex apikey …`
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; it is printed once and stored only as a hash.
    Create {
        /// Unique name.
        #[arg(long)]
        name: String,
        /// Role (only `analyst` is allowed).
        #[arg(long, default_value = "analyst")]
        role: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by name.
    Revoke {
        /// Name of the key.
        name: String,
    },
}

/// `penex audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and name the first broken link.
    Verify,
}

/// `penex keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key current; older keys stay published for verification. Running
    /// instances pick it up within seconds.
    Rotate,
    /// List the signing keys (ids only; never key material).
    List,
}

/// `penex outbox …`
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List delivery rows.
    List {
        /// Only rows with this status: pending, delivered or dead.
        #[arg(long)]
        status: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Make an event's delivery due now with a fresh attempt budget (audited).
    Retry {
        /// Event id (`evt_…`), or `--all-dead`.
        #[arg(required_unless_present = "all_dead")]
        id: Option<String>,
        /// Retry every dead letter.
        #[arg(long)]
        all_dead: bool,
    },
    /// Backlog, oldest undelivered age, deliveries, retries and dead letters.
    Stats,
}

/// `penex catalog …`
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// How a file's records would sit in the catalogue, before pushing it: coverage, how the
    /// types were matched, and the unmapped texts with their counts and legal bases. Reads CSV,
    /// XLSX (the header rules of `penex import`) or JSON lines; touches no database.
    Check {
        /// The file (`.csv`, `.xlsx`, `.jsonl`).
        file: PathBuf,
        /// The party of every record (default: from each record's deciding authority).
        #[arg(long)]
        party: Option<String>,
        /// Worksheet to read (XLSX; default the first visible one).
        #[arg(long)]
        sheet: Option<String>,
    },
    /// Re-classify every stored record with the configured catalogue, reconcile the conflicts
    /// and flags of the subjects whose records moved (audited; flag changes are published as a
    /// push would publish them). Running it again changes nothing.
    Apply,
}

/// `penex subjects …`
#[derive(Debug, Subcommand)]
pub enum SubjectsCommand {
    /// Recompute every stored name's matching key with the current folding and unit
    /// registry, then every name-only subject's link; audited, idempotent (a second run
    /// changes nothing). Prints what changed.
    Relink,
}

fn subjects_command(settings: &Settings, cmd: SubjectsCommand) -> Result<(), CliError> {
    match cmd {
        SubjectsCommand::Relink => {
            let mut conn = connect(settings)?;
            let registry = app::build_registry(&mut conn, app::load_base_units(settings)?)?;
            let divisions = crate::normalize::names::Divisions::from_units(registry.units());
            let actor = actor();
            let report = store::conn::write_tx(&mut conn, |c| {
                crate::service::links::relink_stored(c, &divisions, &actor, store::now_utc())
            })?;
            println!("names re-keyed: {}", report.names_rekeyed);
            let count = |f: fn(&crate::service::links::LinkChange) -> bool| {
                report.links.iter().filter(|l| f(l)).count()
            };
            println!(
                "links: {} made, {} moved, {} removed",
                count(|l| l.from.is_none()),
                count(|l| l.from.is_some() && l.to.is_some()),
                count(|l| l.to.is_none())
            );
            for l in &report.links {
                println!(
                    "  {} {} -> {}",
                    l.subject,
                    l.from.as_deref().unwrap_or("-"),
                    l.to.as_deref().unwrap_or("-")
                );
            }
            if report.is_empty() {
                println!("nothing to change");
            }
            Ok(())
        }
    }
}

/// A command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Start-up failure.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Refused input.
    #[error("{0}")]
    Invalid(String),
    /// An import failed.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// The demo could not run, or what it saw does not add up.
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    /// The audit chain is broken.
    #[error("audit chain broken at entry {seq}: {reason}")]
    AuditBroken {
        /// First broken entry.
        seq: i64,
        /// Why.
        reason: String,
    },
}

fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("operator:cli:{user}")
}

fn connect(settings: &Settings) -> Result<store::Conn, CliError> {
    // The CLI never migrates PostgreSQL implicitly either.
    Ok(app::open_single(settings, false)?)
}

/// Runs a command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::load(cli.config.as_deref()).map_err(StartError::from)?;
    match cli.command {
        Command::Serve { migrate } => Ok(app::serve(settings, migrate).await?),
        Command::Migrate => {
            let url = settings.database().map_err(StartError::from)?;
            let mut conn = url.establish()?;
            let applied = store::conn::run_migrations(&mut conn)?;
            println!(
                "{} migration(s) applied to {}",
                applied.len(),
                url.redacted()
            );
            for m in applied {
                println!("  {m}");
            }
            Ok(())
        }
        Command::Openapi => {
            print!("{}", crate::api::openapi_json());
            Ok(())
        }
        Command::Normalize => normalize_stdin(&settings),
        Command::Import(args) => import_command(&settings, args),
        Command::Simulate {
            records,
            seed,
            out,
            today,
        } => simulate(&settings, records, seed, &out, today),
        Command::Demo(args) => demo(&settings, args).await,
        Command::Unit(cmd) => unit_command(&settings, cmd),
        Command::Pki(cmd) => pki_command(&settings, cmd),
        Command::Apikey(cmd) => apikey_command(&settings, cmd),
        Command::Keys(cmd) => keys_command(&settings, cmd),
        Command::Outbox(cmd) => outbox_command(&settings, cmd),
        Command::Catalog(cmd) => catalog_command(&settings, cmd),
        Command::Subjects(cmd) => subjects_command(&settings, cmd),
        Command::Sink(args) => crate::publish::sink::run(args)
            .await
            .map_err(|e| CliError::Invalid(e.to_string())),
        Command::Audit(AuditCommand::Verify) => {
            let mut conn = connect(&settings)?;
            match store::audit::verify(&mut conn)? {
                store::audit::Verification::Intact { entries } => {
                    println!("audit chain intact: {entries} entries verified");
                    Ok(())
                }
                store::audit::Verification::Broken { seq, reason } => {
                    Err(CliError::AuditBroken { seq, reason })
                }
            }
        }
    }
}

fn keys_command(settings: &Settings, cmd: KeysCommand) -> Result<(), CliError> {
    let dir = crate::publish::signing_dir(settings);
    let invalid = |e: crate::crypto::CryptoError| CliError::Invalid(format!("signing keys: {e}"));
    match cmd {
        KeysCommand::Rotate => {
            let kid = crate::crypto::keys::SigningKeys::rotate(&dir).map_err(invalid)?;
            println!("new current signing key: {kid} (older keys stay in the JWKS)");
            Ok(())
        }
        KeysCommand::List => {
            let keys = crate::crypto::keys::SigningKeys::load_or_init(&dir).map_err(invalid)?;
            for (i, k) in keys.jwks().keys.iter().enumerate() {
                println!(
                    "{}  {} {}{}",
                    k.kid,
                    k.alg,
                    k.crv,
                    if i == 0 { "  current" } else { "" }
                );
            }
            Ok(())
        }
    }
}

fn catalog_command(settings: &Settings, cmd: CatalogCommand) -> Result<(), CliError> {
    let policy = app::load_policy(settings)?;
    match cmd {
        CatalogCommand::Check { file, party, sheet } => {
            let party = match party {
                None => None,
                Some(p) => Some(p.parse::<Party>().map_err(|_| {
                    CliError::Invalid(format!("--party {p:?}: expected SH, JS, ZJ or AH"))
                })?),
            };
            let rows = crate::import::catalog_check::read_rows(&file, sheet.as_deref())?;
            let registry = crate::domain::registry::Registry::new(
                app::load_base_units(settings)?,
                crate::normalize::text::fold_name,
            )
            .map_err(|e| CliError::Invalid(format!("units: {e}")))?;
            let report =
                crate::import::catalog_check::check(&policy.catalog, &registry, &rows, party);
            print!("{}", report.render(&policy.catalog));
            Ok(())
        }
        CatalogCommand::Apply => {
            let mut conn = connect(settings)?;
            let emitter = crate::publish::events::Emitter {
                pii: std::sync::Arc::new(app::load_pii_keys(settings, &mut conn)?),
                keys: std::sync::Arc::new(
                    crate::publish::EventKeys::load(&crate::publish::signing_dir(settings))
                        .map_err(|e| CliError::Invalid(format!("event signing keys: {e}")))?,
                ),
            };
            let today = crate::domain::clock::today_shanghai();
            let r =
                crate::service::catalog::apply(&mut conn, &policy.on(today), &emitter, &actor())?;
            println!(
                "records: {}  reclassified: {} (newly mapped {}, newly unmapped {})  subjects \
                 reconciled: {}  flag changes: {}",
                r.records,
                r.reclassified,
                r.newly_mapped,
                r.newly_unmapped,
                r.subjects,
                r.flag_changes
            );
            for ((from, to), n) in &r.moves {
                println!("  {n:>7}  {from} -> {to}");
            }
            Ok(())
        }
    }
}

fn outbox_command(settings: &Settings, cmd: OutboxCommand) -> Result<(), CliError> {
    let mut conn = connect(settings)?;
    let show = |t: Option<chrono::NaiveDateTime>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".into())
    };
    match cmd {
        OutboxCommand::List { status, limit } => {
            if let Some(s) = &status
                && !matches!(s.as_str(), "pending" | "delivered" | "dead")
            {
                return Err(CliError::Invalid(
                    "--status must be pending, delivered or dead".into(),
                ));
            }
            let rows =
                store::outbox::list(&mut conn, status.as_deref(), 0, limit.clamp(1, 100_000))?;
            for r in rows {
                println!(
                    "{:>8} {} {:<17} {:<9} attempts {:<3} next {} delivered {} {}",
                    r.event_seq,
                    r.event_id,
                    r.event_type,
                    r.status,
                    r.attempts,
                    show(Some(r.next_attempt_at)),
                    show(r.delivered_at),
                    r.last_error.unwrap_or_default()
                );
            }
            Ok(())
        }
        OutboxCommand::Retry { id, all_dead } => {
            let by = actor();
            let ids: Vec<String> = if all_dead {
                store::outbox::list(&mut conn, Some("dead"), 0, i64::MAX)?
                    .into_iter()
                    .map(|r| r.event_id)
                    .collect()
            } else {
                id.into_iter().collect()
            };
            for id in ids {
                match crate::api::events::retry_event(&mut conn, &id, &by)? {
                    crate::api::events::RetryResult::Missing => {
                        return Err(CliError::Invalid(format!("no event {id}")));
                    }
                    crate::api::events::RetryResult::Delivered => {
                        println!("{id} is already delivered");
                    }
                    crate::api::events::RetryResult::Done(_) => println!("{id} is due now"),
                }
            }
            Ok(())
        }
        OutboxCommand::Stats => {
            let metrics = crate::publish::publisher::Metrics::default();
            let s = crate::publish::publisher::stats(&mut conn, &metrics)?;
            println!("backlog (pending)        {}", s.outbox.pending);
            println!("  of which retrying      {}", s.outbox.retrying);
            println!("delivered                {}", s.outbox.delivered);
            println!("dead letters             {}", s.outbox.dead);
            println!("delivery attempts        {}", s.outbox.attempts);
            println!(
                "oldest undelivered age   {}",
                s.oldest_undelivered_age_secs
                    .map(|a| format!("{a} s"))
                    .unwrap_or_else(|| "-".into())
            );
            Ok(())
        }
    }
}

fn audit_detail(v: serde_json::Value) -> String {
    v.to_string()
}

fn unit_command(settings: &Settings, cmd: UnitCommand) -> Result<(), CliError> {
    let mut conn = connect(settings)?;
    let base = app::load_base_units(settings)?;
    let registry = app::build_registry(&mut conn, base)?;
    match cmd {
        UnitCommand::List { party } => {
            let mut units: Vec<_> = registry
                .units()
                .filter(|u| party.is_none_or(|p| u.party == p))
                .collect();
            units.sort_by_key(|u| u.code.to_string());
            for u in units {
                println!(
                    "{:<16} {:<3} {:<8} {:<8} {}{}",
                    u.code.to_string(),
                    u.party.code(),
                    u.level.as_str(),
                    u.division,
                    u.name,
                    if u.disabled { "  [disabled]" } else { "" }
                );
            }
            Ok(())
        }
        UnitCommand::Add {
            code,
            name,
            level,
            division,
            parent,
            uscc,
        } => {
            let code = UnitCode::parse(&code).map_err(|e| CliError::Invalid(e.to_string()))?;
            let parent = UnitCode::parse(&parent).map_err(|e| CliError::Invalid(e.to_string()))?;
            let level: Level = level.parse().map_err(CliError::Invalid)?;
            let unit = Unit {
                party: code.party(),
                code,
                name,
                level,
                division,
                parent: Some(parent),
                uscc,
                aliases: Vec::new(),
                disabled: false,
            };
            // Validate against the whole registry before storing anything.
            registry
                .with_changes(vec![unit.clone()], &[])
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            let by = actor();
            store::conn::write_tx(&mut conn, |c| -> Result<(), StoreError> {
                store::units::add(c, &unit, &by)?;
                store::audit::append(
                    c,
                    &store::audit::NewAudit {
                        actor: &by,
                        action: "unit.add",
                        target: unit.code.as_ref(),
                        detail: &audit_detail(serde_json::json!({
                            "name": unit.name, "level": unit.level, "parent": unit.parent,
                        })),
                    },
                )?;
                Ok(())
            })?;
            println!("unit {} added", unit.code);
            Ok(())
        }
        UnitCommand::Disable { code } => set_disabled(&mut conn, &registry, &code, true),
        UnitCommand::Enable { code } => set_disabled(&mut conn, &registry, &code, false),
    }
}

fn set_disabled(
    conn: &mut store::Conn,
    registry: &crate::domain::registry::Registry,
    code: &str,
    disabled: bool,
) -> Result<(), CliError> {
    let code = UnitCode::parse(code).map_err(|e| CliError::Invalid(e.to_string()))?;
    if registry.get(&code).is_none() {
        return Err(CliError::Invalid(format!("unit {code} is not registered")));
    }
    let by = actor();
    let action = if disabled {
        "unit.disable"
    } else {
        "unit.enable"
    };
    store::conn::write_tx(conn, |c| -> Result<(), StoreError> {
        store::units::set_disabled(c, code.as_ref(), disabled, &by)?;
        store::audit::append(
            c,
            &store::audit::NewAudit {
                actor: &by,
                action,
                target: code.as_ref(),
                detail: "{}",
            },
        )?;
        Ok(())
    })?;
    println!(
        "unit {code} {}",
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}

fn pki_command(settings: &Settings, cmd: PkiCommand) -> Result<(), CliError> {
    let base = app::load_base_units(settings)?;
    match cmd {
        PkiCommand::Init => {
            app::tls_material(settings, &base)?;
            println!("dev PKI ready in {}", settings.pki_dir().display());
            Ok(())
        }
        PkiCommand::Issue {
            unit,
            role,
            name,
            out,
        } => {
            let dir = settings.pki_dir();
            let out = out.unwrap_or_else(|| dir.join("clients"));
            let (binding, role, code) = match (unit, role, name) {
                (Some(unit), None, None) => {
                    let mut conn = connect(settings)?;
                    let registry = app::build_registry(&mut conn, base)?;
                    let code =
                        UnitCode::parse(&unit).map_err(|e| CliError::Invalid(e.to_string()))?;
                    let u = registry.get(&code).ok_or_else(|| {
                        CliError::Invalid(format!("unit {code} is not registered"))
                    })?;
                    (
                        crate::tls::identity::CaBinding::Party(u.party),
                        Role::Unit,
                        code.to_string(),
                    )
                }
                (None, Some(role), Some(name)) => {
                    let role: Role = role.parse().map_err(CliError::Invalid)?;
                    if role == Role::Unit {
                        return Err(CliError::Invalid(
                            "use --unit CODE for unit certificates".into(),
                        ));
                    }
                    (crate::tls::identity::CaBinding::Exchange, role, name)
                }
                _ => {
                    return Err(CliError::Invalid(
                        "give either --unit CODE or --role ROLE --name NAME".into(),
                    ));
                }
            };
            let (cert, key) = crate::tls::pki::issue_client_cert(&dir, binding, role, &code, &out)
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            println!(
                "certificate: {}\nkey:         {}",
                cert.display(),
                key.display()
            );
            Ok(())
        }
    }
}

fn apikey_command(settings: &Settings, cmd: ApiKeyCommand) -> Result<(), CliError> {
    let mut conn = connect(settings)?;
    let by = actor();
    match cmd {
        ApiKeyCommand::Create { name, role } => {
            if role != "analyst" {
                return Err(CliError::Invalid(
                    "API keys can only be created for the analyst role".into(),
                ));
            }
            let mut secret = [0u8; 32];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
                .map_err(|_| CliError::Invalid("the system random generator failed".into()))?;
            let token = format!("pxk_{}", hex::encode(secret));
            let hash = crate::api::auth::api_key_hash(&token);
            store::conn::write_tx(&mut conn, |c| -> Result<(), StoreError> {
                store::apikeys::insert(c, &name, &role, &hash)?;
                store::audit::append(
                    c,
                    &store::audit::NewAudit {
                        actor: &by,
                        action: "apikey.create",
                        target: &name,
                        detail: &audit_detail(serde_json::json!({ "role": role })),
                    },
                )?;
                Ok(())
            })
            .map_err(|e| match e {
                StoreError::Query(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => CliError::Invalid(format!("an API key named {name:?} exists already")),
                other => CliError::Store(other),
            })?;
            println!("{token}");
            eprintln!("API key {name:?} created; it is shown only this once.");
            Ok(())
        }
        ApiKeyCommand::List => {
            for k in store::apikeys::list(&mut conn)? {
                println!(
                    "{:<24} {:<8} created {}{}",
                    k.name,
                    k.role,
                    k.created_at.format("%Y-%m-%d %H:%M:%S"),
                    k.revoked_at
                        .map(|t| format!("  revoked {}", t.format("%Y-%m-%d %H:%M:%S")))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        ApiKeyCommand::Revoke { name } => {
            let revoked = store::conn::write_tx(&mut conn, |c| -> Result<bool, StoreError> {
                let revoked = store::apikeys::revoke(c, &name)?;
                if revoked {
                    store::audit::append(
                        c,
                        &store::audit::NewAudit {
                            actor: &by,
                            action: "apikey.revoke",
                            target: &name,
                            detail: "{}",
                        },
                    )?;
                }
                Ok(revoked)
            })?;
            if revoked {
                println!("API key {name:?} revoked");
                Ok(())
            } else {
                Err(CliError::Invalid(format!("no live API key named {name:?}")))
            }
        }
    }
}

fn import_command(settings: &Settings, args: ImportArgs) -> Result<(), CliError> {
    let outcome = crate::import::import_file(
        settings,
        &crate::import::ImportOptions {
            file: args.file,
            unit: args.unit,
            sheet: args.sheet,
            batch_size: args.batch_size,
            report: args.report,
            operator: actor(),
        },
    )?;
    println!("{}", outcome.summary.line());
    println!("report: {}", outcome.report.display());
    let s = outcome.summary;
    if s.rejected > 0 {
        eprintln!(
            "note: {} row(s) were rejected and not stored as records; the report says why. \
             The import itself succeeded.",
            s.rejected
        );
    }
    if s.refused > 0 {
        eprintln!(
            "note: {} row(s) were refused: their batch named a deciding authority outside the \
             unit's rights, and nothing of such a batch was stored.",
            s.refused
        );
    }
    Ok(())
}

/// `penex demo`: runs it, prints the summary, fails when it found an inconsistency.
async fn demo(settings: &Settings, args: DemoArgs) -> Result<(), CliError> {
    let opts = crate::demo::DemoOptions {
        dir: args.dir,
        records: usize::try_from(args.records)
            .map_err(|_| CliError::Invalid("--records is too large".into()))?,
        seed: args.seed,
        revoke: args.revoke,
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    let report = crate::demo::run(settings, &opts).await?;
    print!("{}", report.render());
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(crate::demo::DemoError::Inconsistent(report.problems).into())
    }
}

/// `penex simulate`: generates the set from the registered units and writes it to `out`.
fn simulate(
    settings: &Settings,
    records: usize,
    seed: u64,
    out: &std::path::Path,
    today: chrono::NaiveDate,
) -> Result<(), CliError> {
    let units = app::load_base_units(settings)?;
    if units.iter().all(|u| u.disabled) {
        return Err(CliError::Invalid(format!(
            "{} holds no enabled unit to decide penalties",
            settings.units_file.display()
        )));
    }
    let opts = crate::sim::SimOptions {
        records,
        seed,
        today,
        mix: crate::sim::Mix::default(),
    };
    let set = crate::sim::generate(&opts, &units);
    set.write_to(out)
        .map_err(|e| CliError::Invalid(format!("writing {}: {e}", out.display())))?;
    let e = &set.summary.expected;
    eprintln!(
        "{} push(es) written to {}: {} accepted, {} duplicate, {} corrected, {} rejected \
         expected; {} cross-border pair(s)",
        set.pushes.len(),
        out.display(),
        e.accepted,
        e.duplicate,
        e.corrected,
        e.rejected,
        set.truth.conflicts.len()
    );
    Ok(())
}

/// One line of `penex normalize` output.
fn normalize_line(line: &str, ctx: &crate::normalize::NormalizeContext) -> serde_json::Value {
    use serde_json::json;
    let raw: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return json!({"errors": [{
                "pointer": "",
                "code": "malformed_json",
                "detail": format!("the line is not valid JSON: {e}"),
            }]});
        }
    };
    match crate::normalize::normalize_record(&raw, ctx) {
        Ok(n) if n.warnings.is_empty() => json!({ "ok": n.record }),
        Ok(n) => json!({ "ok": n.record, "warnings": n.warnings }),
        Err(errors) => json!({ "errors": errors }),
    }
}

fn normalize_stdin(settings: &Settings) -> Result<(), CliError> {
    use std::io::{BufRead, Write};
    let ctx = crate::normalize::NormalizeContext {
        today: crate::domain::clock::today_shanghai(),
        publicity: settings.publicity.clone(),
        catalog: crate::app::load_catalog(settings)?,
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut ok, mut bad) = (0_u64, 0_u64);
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| CliError::Invalid(format!("reading stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let result = normalize_line(&line, &ctx);
        if result.get("ok").is_some() {
            ok += 1;
        } else {
            bad += 1;
        }
        writeln!(out, "{result}").map_err(|e| CliError::Invalid(format!("writing stdout: {e}")))?;
    }
    out.flush()
        .map_err(|e| CliError::Invalid(format!("writing stdout: {e}")))?;
    eprintln!("{ok} record(s) normalized, {bad} with errors");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> crate::normalize::NormalizeContext {
        crate::normalize::NormalizeContext {
            today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            publicity: crate::normalize::PublicityConfig::default(),
            catalog: std::sync::Arc::new(crate::normalize::Catalog::built_in().unwrap()),
        }
    }

    #[test]
    fn normalize_lines_answer_ok_or_errors() {
        let bad = normalize_line("{not json", &ctx());
        assert_eq!(bad["errors"][0]["code"], "malformed_json");
        let missing = normalize_line("{\"CF_XDR_MC\": \"x\"}", &ctx());
        assert!(missing["errors"].as_array().is_some_and(|e| e.len() > 3));
        assert!(missing.get("ok").is_none());
    }
}
