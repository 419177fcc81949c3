//! `penex outbox list|retry|stats`: the delivery outbox; a retry is `service::outbox`.

use super::{CliError, actor, connect};
use crate::config::Settings;
use crate::service;
use crate::store;
use clap::Subcommand;

/// `penex outbox …`
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List delivery rows.
    List {
        /// Only rows with this status: pending, delivered or dead.
        #[arg(long)]
        status: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Make an event's delivery due now with a fresh attempt budget (audited).
    Retry {
        /// Event id (`evt_…`), or `--all-dead`.
        #[arg(required_unless_present = "all_dead")]
        id: Option<String>,
        /// Retry every dead letter.
        #[arg(long)]
        all_dead: bool,
    },
    /// Backlog, oldest undelivered age, deliveries, retries and dead letters.
    Stats,
}

pub(super) fn outbox_command(settings: &Settings, cmd: OutboxCommand) -> Result<(), CliError> {
    let mut conn = connect(settings)?;
    match cmd {
        OutboxCommand::List { status, limit } => list(&mut conn, status, limit),
        OutboxCommand::Retry { id, all_dead } => {
            let ids: Vec<String> = if all_dead {
                store::outbox::list(&mut conn, Some("dead"), 0, i64::MAX)?
                    .into_iter()
                    .map(|r| r.event_id)
                    .collect()
            } else {
                id.into_iter().collect()
            };
            let by = actor();
            for id in ids {
                match service::outbox::retry(&mut conn, &id, &by) {
                    Ok(_) => println!("{id} is due now"),
                    Err(service::Error::Refused {
                        code: "already_delivered",
                        ..
                    }) => println!("{id} is already delivered"),
                    Err(service::Error::NotFound) => {
                        return Err(CliError::Invalid(format!("no event {id}")));
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            Ok(())
        }
        OutboxCommand::Stats => stats(&mut conn),
    }
}

fn list(conn: &mut store::Conn, status: Option<String>, limit: i64) -> Result<(), CliError> {
    if let Some(s) = &status
        && !matches!(s.as_str(), "pending" | "delivered" | "dead")
    {
        return Err(CliError::Invalid(
            "--status must be pending, delivered or dead".into(),
        ));
    }
    let show = |t: Option<chrono::NaiveDateTime>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".into())
    };
    let rows = store::outbox::list(conn, status.as_deref(), 0, limit.clamp(1, 100_000))?;
    for r in rows {
        println!(
            "{:>8} {} {:<17} {:<9} attempts {:<3} next {} delivered {} {}",
            r.event_seq,
            r.event_id,
            r.event_type,
            r.status,
            r.attempts,
            show(Some(r.next_attempt_at)),
            show(r.delivered_at),
            r.last_error.unwrap_or_default()
        );
    }
    Ok(())
}

fn stats(conn: &mut store::Conn) -> Result<(), CliError> {
    let metrics = crate::publish::publisher::Metrics::default();
    let s = crate::publish::publisher::stats(conn, &metrics)?;
    println!("backlog (pending)        {}", s.outbox.pending);
    println!("  of which retrying      {}", s.outbox.retrying);
    println!("delivered                {}", s.outbox.delivered);
    println!("dead letters             {}", s.outbox.dead);
    println!("delivery attempts        {}", s.outbox.attempts);
    println!(
        "oldest undelivered age   {}",
        s.oldest_undelivered_age_secs
            .map(|a| format!("{a} s"))
            .unwrap_or_else(|| "-".into())
    );
    Ok(())
}
