//! The `penex` binary: parses the command line and hands over to the library.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // reqwest and rustls need the ring provider installed before any client is built: with
    // none installed, rustls panics at the first handshake.
    penex::tls::config::install_default_provider();
    let cli = penex::cli::Cli::parse();
    let log = penex::config::Settings::load(cli.config.as_deref())
        .map(|s| s.log)
        .ok()
        .map(|mut log| {
            // The demo prints its own account; the server's request lines would bury it.
            if matches!(cli.command, penex::cli::Command::Demo(_)) {
                log.filter = "warn".into();
            }
            log
        });
    penex::telemetry::init(log.as_ref());
    // actix's System runs the server's accept loop and workers; CLI commands run inside it too.
    match actix_web::rt::System::new().block_on(penex::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("penex: {e}");
            ExitCode::FAILURE
        }
    }
}
