//! `penex subjects relink`: the current name folding applied to what is stored.

use super::{CliError, actor, connect};
use crate::app;
use crate::config::Settings;
use crate::service::links::LinkChange;
use clap::Subcommand;

/// `penex subjects …`
#[derive(Debug, Subcommand)]
pub enum SubjectsCommand {
    /// Recompute every stored name's matching key with the current folding and unit
    /// registry, then every name-only subject's link; audited, idempotent (a second run
    /// changes nothing). Prints what changed.
    Relink,
}

pub(super) fn subjects_command(settings: &Settings, cmd: SubjectsCommand) -> Result<(), CliError> {
    match cmd {
        SubjectsCommand::Relink => {
            let mut conn = connect(settings)?;
            let registry = app::build_registry(&mut conn, app::load_base_units(settings)?)?;
            let report = crate::service::admin::relink_subjects(&mut conn, &registry, &actor())?;
            println!("names re-keyed: {}", report.names_rekeyed);
            let count = |f: fn(&LinkChange) -> bool| report.links.iter().filter(|l| f(l)).count();
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
