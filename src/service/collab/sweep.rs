//! The collaboration sweeper: marks items whose deadline has passed `overdue` (a step in the
//! timeline, a feed event), reminds the unit that must act (a notice in its inbox) and
//! escalates to the leads of both parties; and recounts provisional deadlines once the
//! working-day calendar holds the years they run through. Run by the server's sweeper and by
//! tests with any day.

use super::{Deps, feed, set_deadline};
use crate::domain::collab::{Kind, Status, Step};
use crate::domain::party::Party;
use crate::service::error::{Error, Result};
use crate::store::collab::{ItemRow, NoticeRow, StepRow};
use crate::store::{self, Conn};
use chrono::NaiveDate;
use serde_json::json;

/// The actor the sweeper writes to the audit chain.
pub const SWEEPER: &str = "system:collaboration-sweeper";

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Items marked overdue.
    pub overdue: usize,
    /// Provisional deadlines recounted.
    pub recounted: usize,
}

/// One pass on `today`. Each item is written in its own transaction.
pub fn sweep(conn: &mut Conn, deps: Deps<'_>, today: NaiveDate) -> Result<Swept> {
    let mut out = Swept::default();
    for item in store::collab::provisional(conn)? {
        // Only once the calendar holds the year the deadline fell in (else nothing changes).
        let counted = item
            .due_on
            .is_some_and(|d| deps.policy.calendar.has_year(chrono::Datelike::year(&d)));
        if counted && recount(conn, deps, &item.id)? {
            out.recounted += 1;
        }
    }
    for item in store::collab::newly_overdue(conn, today)? {
        if mark_overdue(conn, deps, &item.id, today)? {
            out.overdue += 1;
        }
    }
    Ok(out)
}

fn recount(conn: &mut Conn, deps: Deps<'_>, id: &str) -> Result<bool> {
    store::conn::write_tx(conn, |c| -> Result<bool> {
        let Some(mut item) = store::collab::find(c, id)? else {
            return Ok(false);
        };
        let (Ok(kind), Ok(status)) = (item.kind.parse::<Kind>(), item.status.parse::<Status>())
        else {
            return Err(Error::Internal(format!("{id}: unknown kind or status")));
        };
        let steps = store::collab::steps_of(c, id)?;
        // The day the item entered its current status, and extensions granted since.
        let entered = steps
            .iter()
            .position(|s| s.status_after == item.status)
            .unwrap_or(0);
        let Some(from) = steps.get(entered).map(|s| s.on_day) else {
            return Ok(false);
        };
        let from = if status == Status::Accepted {
            item.filed_on.unwrap_or(from)
        } else {
            from
        };
        let granted: u32 = steps
            .iter()
            .skip(entered)
            .filter(|s| s.step == Step::GrantExtension.as_str())
            .filter_map(|g| {
                steps
                    .iter()
                    .take_while(|s| s.n < g.n)
                    .filter(|s| s.step == Step::RequestExtension.as_str())
                    .last()
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(&s.detail_json).ok())
                    .and_then(|d| d.get("days")?.as_u64())
                    .and_then(|d| u32::try_from(d).ok())
            })
            .sum();
        let overdue = item.overdue;
        let reply_by = super::detail_date(&item.detail_json, "reply_by");
        set_deadline(deps.policy, &mut item, kind, status, from, reply_by);
        if let (Some(due), true) = (item.due_on, granted > 0) {
            let d = deps.policy.calendar.add_working_days(due, granted);
            item.due_on = Some(d.day);
            item.due_provisional |= d.provisional;
        }
        item.overdue = overdue;
        if item.due_provisional {
            return Ok(false);
        }
        store::collab::update(c, &item)?;
        store::audit::append(
            c,
            &store::audit::NewAudit {
                actor: SWEEPER,
                action: "collab.recount",
                target: &item.id,
                detail: &json!({"due_on": item.due_on}).to_string(),
            },
        )?;
        Ok(true)
    })
}

fn lead(deps: Deps<'_>, party: &str) -> Option<String> {
    let p: Party = party.parse().ok()?;
    deps.registry.lead_of(p).map(|u| u.code.to_string())
}

fn mark_overdue(conn: &mut Conn, deps: Deps<'_>, id: &str, today: NaiveDate) -> Result<bool> {
    store::conn::write_tx(conn, |c| -> Result<bool> {
        let Some(mut item) = store::collab::find(c, id)? else {
            return Ok(false);
        };
        let Some(due) = item.due_on.filter(|d| *d < today && !item.overdue) else {
            return Ok(false);
        };
        let who = match super::due_side(&item) {
            Some(crate::domain::collab::Side::Approver) => item.approver.clone(),
            _ => Some(item.receiver.clone()),
        };
        let now = store::now_utc();
        item.overdue = true;
        item.steps += 1;
        item.updated_at = now;
        let step = StepRow {
            item_id: item.id.clone(),
            n: item.steps,
            step: Step::Overdue.as_str().to_owned(),
            actor_unit: None,
            actor: SWEEPER.to_owned(),
            status_after: item.status.clone(),
            detail_json: json!({"due_on": due, "must_act": who}).to_string(),
            on_day: today,
            at: now,
        };
        store::collab::update(c, &item)?;
        store::collab::insert_step(c, &step)?;
        let mut notices: Vec<(String, &str)> = Vec::new();
        if let Some(w) = &who {
            notices.push((w.clone(), "overdue"));
        }
        for party in [&item.sender_party, &item.receiver_party] {
            if let Some(l) = lead(deps, party) {
                notices.push((l, "escalated"));
            }
        }
        for (unit, reason) in notices {
            store::collab::add_notice(
                c,
                &NoticeRow {
                    unit,
                    item_id: item.id.clone(),
                    reason: reason.to_owned(),
                    due_on: due,
                    created_at: now,
                },
            )?;
        }
        store::audit::append(
            c,
            &store::audit::NewAudit {
                actor: SWEEPER,
                action: "collab.overdue",
                target: &item.id,
                detail: &json!({"due_on": due, "must_act": who}).to_string(),
            },
        )?;
        feed::emit(c, deps, &item, &step)?;
        Ok(true)
    })
}

/// Whether an item is open (not closed or refused).
pub fn is_open(item: &ItemRow) -> bool {
    item.status.parse::<Status>().is_ok_and(|s| !s.is_final())
}
