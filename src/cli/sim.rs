//! `penex simulate` (a synthetic region written to files, `sim`) and `penex demo` (the whole
//! loop on one machine, `demo`).

use super::CliError;
use crate::app;
use crate::config::Settings;
use std::path::{Path, PathBuf};

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
    /// Collaboration items to run between units after the pushes (sent, answered, approved
    /// and closed over HTTPS as their units, then checked against the simulator's truth).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub collaboration: u64,
}

/// `penex demo`: runs it, prints the summary, fails when it found an inconsistency.
pub(super) async fn demo(settings: &Settings, args: DemoArgs) -> Result<(), CliError> {
    let opts = crate::demo::DemoOptions {
        dir: args.dir,
        records: usize::try_from(args.records)
            .map_err(|_| CliError::Invalid("--records is too large".into()))?,
        seed: args.seed,
        revoke: args.revoke,
        timeout: std::time::Duration::from_secs(args.timeout),
        collaboration: usize::try_from(args.collaboration)
            .map_err(|_| CliError::Invalid("--collaboration is too large".into()))?,
    };
    let report = crate::demo::run(settings, &opts).await?;
    print!("{}", report.render());
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(crate::demo::DemoError::Inconsistent(report.problems).into())
    }
}

/// What `penex simulate` was asked for.
pub(super) struct SimulateArgs<'a> {
    /// Pushes.
    pub records: usize,
    /// Seed.
    pub seed: u64,
    /// Output folder.
    pub out: &'a Path,
    /// Reference date.
    pub today: chrono::NaiveDate,
    /// Collaboration scripts.
    pub collaboration: usize,
}

/// `penex simulate`: generates the set from the registered units and writes it to `out`.
pub(super) fn simulate(settings: &Settings, args: SimulateArgs<'_>) -> Result<(), CliError> {
    let SimulateArgs {
        records,
        seed,
        out,
        today,
        collaboration,
    } = args;
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
        collaboration,
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
    if let Some(c) = &set.summary.collaboration {
        let by_status: Vec<String> = c
            .by_status
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        eprintln!(
            "{} collaboration item(s) with {} step(s) written to {}: {} expected",
            c.items,
            c.steps,
            out.join(crate::sim::COLLABORATION_FILE).display(),
            by_status.join(", ")
        );
    }
    Ok(())
}
