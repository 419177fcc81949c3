//! `penex pki init|issue`: the development PKI.

use super::{CliError, connect};
use crate::app;
use crate::config::Settings;
use crate::domain::party::Role;
use crate::domain::unit::UnitCode;
use crate::tls::identity::CaBinding;
use clap::Subcommand;
use std::path::PathBuf;

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

pub(super) fn pki_command(settings: &Settings, cmd: PkiCommand) -> Result<(), CliError> {
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
                    (CaBinding::Party(u.party), Role::Unit, code.to_string())
                }
                (None, Some(role), Some(name)) => {
                    let role: Role = role.parse().map_err(CliError::Invalid)?;
                    if role == Role::Unit {
                        return Err(CliError::Invalid(
                            "use --unit CODE for unit certificates".into(),
                        ));
                    }
                    (CaBinding::Exchange, role, name)
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
