//! `penex keys rotate|list`: the event signing keys.

use super::CliError;
use crate::config::Settings;
use crate::crypto::keys::SigningKeys;
use clap::Subcommand;

/// `penex keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key current; older keys stay published for verification. Running
    /// instances pick it up within seconds.
    Rotate,
    /// List the signing keys (ids only; never key material).
    List,
}

pub(super) fn keys_command(settings: &Settings, cmd: KeysCommand) -> Result<(), CliError> {
    let dir = crate::publish::signing_dir(settings);
    let invalid = |e: crate::crypto::CryptoError| CliError::Invalid(format!("signing keys: {e}"));
    match cmd {
        KeysCommand::Rotate => {
            let kid = SigningKeys::rotate(&dir).map_err(invalid)?;
            println!("new current signing key: {kid} (older keys stay in the JWKS)");
            Ok(())
        }
        KeysCommand::List => {
            let keys = SigningKeys::load_or_init(&dir).map_err(invalid)?;
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
