//! `penex audit verify`: walks the audit hash chain.

use super::{CliError, connect};
use crate::config::Settings;
use crate::store;
use clap::Subcommand;

/// `penex audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and name the first broken link.
    Verify,
}

pub(super) fn audit_command(settings: &Settings, cmd: AuditCommand) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Verify => {
            let mut conn = connect(settings)?;
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
