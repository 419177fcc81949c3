//! `penex apikey create|list|revoke`: analysts' API keys (`service::admin`).

use super::{CliError, actor, connect};
use crate::config::Settings;
use crate::service::{self, admin};
use crate::store;
use clap::Subcommand;

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

pub(super) fn apikey_command(settings: &Settings, cmd: ApiKeyCommand) -> Result<(), CliError> {
    let mut conn = connect(settings)?;
    match cmd {
        ApiKeyCommand::Create { name, role } => {
            let token = admin::create_api_key(&mut conn, &name, &role, &actor())?;
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
            admin::revoke_api_key(&mut conn, &name, &actor()).map_err(|e| match e {
                service::Error::NotFound => {
                    CliError::Invalid(format!("no live API key named {name:?}"))
                }
                other => other.into(),
            })?;
            println!("API key {name:?} revoked");
            Ok(())
        }
    }
}
