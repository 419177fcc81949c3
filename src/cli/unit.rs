//! `penex unit list|add|disable|enable`: the unit registry's runtime changes
//! (`service::admin`).

use super::{CliError, actor, connect};
use crate::app;
use crate::config::Settings;
use crate::domain::party::{Level, Party};
use crate::domain::registry::Registry;
use crate::domain::unit::{Unit, UnitCode};
use crate::service::{self, admin};
use clap::Subcommand;

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

pub(super) fn unit_command(settings: &Settings, cmd: UnitCommand) -> Result<(), CliError> {
    let mut conn = connect(settings)?;
    let base = app::load_base_units(settings)?;
    let registry = app::build_registry(&mut conn, base)?;
    match cmd {
        UnitCommand::List { party } => {
            list(&registry, party);
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
            let code = parse_code(&code)?;
            let parent = parse_code(&parent)?;
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
            admin::add_unit(&mut conn, &registry, &unit, &actor())?;
            println!("unit {} added", unit.code);
            Ok(())
        }
        UnitCommand::Disable { code } => set_disabled(&mut conn, &registry, &code, true),
        UnitCommand::Enable { code } => set_disabled(&mut conn, &registry, &code, false),
    }
}

fn parse_code(code: &str) -> Result<UnitCode, CliError> {
    UnitCode::parse(code).map_err(|e| CliError::Invalid(e.to_string()))
}

fn list(registry: &Registry, party: Option<Party>) {
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
}

fn set_disabled(
    conn: &mut crate::store::Conn,
    registry: &Registry,
    code: &str,
    disabled: bool,
) -> Result<(), CliError> {
    let code = parse_code(code)?;
    admin::set_unit_disabled(conn, registry, &code, disabled, &actor()).map_err(|e| match e {
        service::Error::NotFound => CliError::Invalid(format!("unit {code} is not registered")),
        other => other.into(),
    })?;
    println!(
        "unit {code} {}",
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}
