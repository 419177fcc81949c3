//! `penex serve`, `penex migrate`, `penex openapi`: the service itself, its schema, its
//! contract.

use super::CliError;
use crate::app;
use crate::config::Settings;
use crate::store;

/// `penex serve`: runs until stopped.
pub(super) async fn serve(settings: Settings, migrate: bool) -> Result<(), CliError> {
    Ok(app::serve(settings, migrate).await?)
}

/// `penex migrate`: applies the pending migrations and lists them.
pub(super) fn migrate(settings: &Settings) -> Result<(), CliError> {
    let url = settings.database().map_err(app::StartError::from)?;
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

/// `penex openapi`: the document the HTTP layer generates (the CLI is the top layer; this is
/// the one thing it takes from `api`).
pub(super) fn openapi() -> Result<(), CliError> {
    print!("{}", crate::api::openapi_json());
    Ok(())
}
