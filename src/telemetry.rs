//! Logging with `tracing`: pretty lines for people, JSON for production. Field names are dotted
//! (`record.id`, `duration_ms`); personal data, keys and tokens are never logged.

use crate::config::{LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing. `RUST_LOG` wins over the
/// configured filter.
pub fn init(settings: Option<&LogSettings>) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| settings.map(|s| s.filter.clone()))
        .unwrap_or_else(|| "info".into());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match settings.map(|s| s.format) {
        Some(LogFormat::Json) => builder.json().flatten_event(true).try_init(),
        _ => builder.try_init(),
    };
    // Already installed (tests, or a second call): keep the first.
    drop(result);
}
