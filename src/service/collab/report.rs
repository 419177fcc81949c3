//! What leads and analysts read of collaboration: the 备案 register (a lead's record of what its
//! party's city-level and lower units transferred, received or handled jointly) and the
//! 成效评估 figures (volumes, outcomes, on-time rate, working days to receipt, filing and reply,
//! returns and why, overdue now), per unit, per party pair and per month.

use super::CollabPolicy;
use crate::domain::party::{Level, Party};
use crate::domain::registry::Registry;
use crate::domain::unit::UnitCode;
use crate::service::error::Result;
use crate::store::collab::ItemRow;
use crate::store::{self, Conn};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One line of the 备案 register.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Filing {
    /// The item.
    pub id: String,
    /// clue, transfer, assistance or service.
    pub kind: String,
    /// The letter's document number.
    pub doc_no: String,
    /// `sent` (by a unit of the party), `received`, or `internal` (both ends in the party).
    pub direction: String,
    /// The party's unit.
    pub unit: String,
    /// The other end.
    pub counterpart: String,
    /// Where it stands.
    pub status: String,
    /// Sent.
    #[schema(value_type = Option<String>, format = Date)]
    pub sent_on: Option<NaiveDate>,
    /// Acknowledged.
    #[schema(value_type = Option<String>, format = Date)]
    pub received_on: Option<NaiveDate>,
    /// Answered.
    #[schema(value_type = Option<String>, format = Date)]
    pub answered_on: Option<NaiveDate>,
    /// Answered after the deadline.
    pub answered_late: Option<bool>,
    /// 立案日期.
    #[schema(value_type = Option<String>, format = Date)]
    pub filed_on: Option<NaiveDate>,
    /// The receiver's case number.
    pub case_no: Option<String>,
    /// Deadline of the step due now.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    /// The deadline passed.
    pub overdue: bool,
}

fn level_of(registry: &Registry, code: &str) -> Option<Level> {
    UnitCode::parse(code)
        .ok()
        .and_then(|c| registry.get(&c).map(|u| u.level))
}

/// The register of `party`: items a city-level or lower unit of the party sent or received,
/// overdue first, then by deadline, then by id.
pub fn filings(conn: &mut Conn, registry: &Registry, party: Party) -> Result<Vec<Filing>> {
    let p = party.code().to_owned();
    let rows = store::collab::of_parties(conn, std::slice::from_ref(&p))?;
    let below_lead = |code: &str| level_of(registry, code).is_some_and(|l| l != Level::Province);
    let mut out: Vec<Filing> = rows
        .into_iter()
        .filter_map(|r| {
            let ours_sent = r.sender_party == p && below_lead(&r.sender);
            let ours_received =
                r.receiver_party == p && below_lead(&r.receiver) && r.sent_on.is_some();
            let (direction, unit, counterpart) = match (ours_sent, ours_received) {
                (true, true) => ("internal", r.sender.clone(), r.receiver.clone()),
                (true, false) => ("sent", r.sender.clone(), r.receiver.clone()),
                (false, true) => ("received", r.receiver.clone(), r.sender.clone()),
                (false, false) => return None,
            };
            Some(Filing {
                id: r.id,
                kind: r.kind,
                doc_no: r.doc_no,
                direction: direction.to_owned(),
                unit,
                counterpart,
                status: r.status,
                sent_on: r.sent_on,
                received_on: r.received_on,
                answered_on: r.answered_on,
                answered_late: r.answered_late,
                filed_on: r.filed_on,
                case_no: r.case_no,
                due_on: r.due_on,
                overdue: r.overdue,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(a.due_on.is_none().cmp(&b.due_on.is_none()))
            .then(a.due_on.cmp(&b.due_on))
            .then(a.id.cmp(&b.id))
    });
    Ok(out)
}

/// A cell a spreadsheet will not run as a formula (OWASP: CSV injection): text starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`.
fn csv_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// The register as CSV (UTF-8 with a byte-order mark, so that spreadsheet programs used in
/// government offices open the Chinese text correctly).
pub fn filings_csv(rows: &[Filing]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let fail = |e: csv::Error| crate::service::Error::Internal(format!("csv: {e}"));
    w.write_record([
        "id",
        "kind",
        "doc_no",
        "direction",
        "unit",
        "counterpart",
        "status",
        "sent_on",
        "received_on",
        "answered_on",
        "answered_late",
        "filed_on",
        "case_no",
        "due_on",
        "overdue",
    ])
    .map_err(fail)?;
    let d = |x: Option<NaiveDate>| x.map(|d| d.to_string()).unwrap_or_default();
    for r in rows {
        w.write_record([
            r.id.as_str(),
            &r.kind,
            &csv_safe(&r.doc_no),
            &r.direction,
            &r.unit,
            &r.counterpart,
            &r.status,
            &d(r.sent_on),
            &d(r.received_on),
            &d(r.answered_on),
            &r.answered_late.map(|b| b.to_string()).unwrap_or_default(),
            &d(r.filed_on),
            &csv_safe(r.case_no.as_deref().unwrap_or_default()),
            &d(r.due_on),
            &r.overdue.to_string(),
        ])
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| crate::service::Error::Internal(format!("csv: {e}")))
}

/// Figures of a group of items.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Figures {
    /// Items.
    pub items: u64,
    /// By kind.
    pub by_kind: BTreeMap<String, u64>,
    /// By status (the outcome of ended ones).
    pub by_status: BTreeMap<String, u64>,
    /// Answers given (filed or not, accepted or returned, replied or declined, served or
    /// failed).
    pub answered: u64,
    /// Of those, on time.
    pub answered_on_time: u64,
    /// `answered_on_time / answered`, when any.
    pub on_time_rate: Option<f64>,
    /// Median working days from sending to receipt.
    pub median_days_to_receipt: Option<f64>,
    /// Median working days from sending to filing (clues filed, transfers accepted).
    pub median_days_to_filing: Option<f64>,
    /// Median working days from sending to the final reply (assistance).
    pub median_days_to_reply: Option<f64>,
    /// Transfers returned, by reason code.
    pub returned: BTreeMap<String, u64>,
    /// Open items past their deadline now.
    pub overdue_now: u64,
}

/// One unit's figures (items it sent or received).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitFigures {
    /// The unit.
    pub unit: String,
    /// Items it sent.
    pub sent: u64,
    /// Items it received.
    pub received: u64,
    /// Figures of the items it received (its answers).
    pub as_receiver: Figures,
}

/// A party pair's figures (sender's party → receiver's party).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PairFigures {
    /// Sender's party.
    pub from: String,
    /// Receiver's party.
    pub to: String,
    /// Figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// One month (by the day sent).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthFigures {
    /// `YYYY-MM`.
    pub month: String,
    /// Figures of the items sent that month.
    #[serde(flatten)]
    pub figures: Figures,
}

/// The 成效评估 figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CollaborationStats {
    /// Every item.
    pub totals: Figures,
    /// Per unit that sent or received any.
    pub units: Vec<UnitFigures>,
    /// Per party pair.
    pub pairs: Vec<PairFigures>,
    /// Per month.
    pub months: Vec<MonthFigures>,
}

fn median(mut v: Vec<u32>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    let mid = n / 2;
    let at = |i: usize| f64::from(v.get(i).copied().unwrap_or_default());
    Some(if n % 2 == 1 {
        at(mid)
    } else {
        (at(mid - 1) + at(mid)) / 2.0
    })
}

fn figures(
    policy: &CollabPolicy,
    items: &[&ItemRow],
    returns: &BTreeMap<String, String>,
) -> Figures {
    let mut f = Figures::default();
    let cal = &policy.calendar;
    let (mut receipt, mut filing, mut reply) = (Vec::new(), Vec::new(), Vec::new());
    for r in items {
        f.items += 1;
        *f.by_kind.entry(r.kind.clone()).or_default() += 1;
        *f.by_status.entry(r.status.clone()).or_default() += 1;
        if let Some(late) = r.answered_late {
            f.answered += 1;
            if !late {
                f.answered_on_time += 1;
            }
        }
        if r.overdue && super::sweep::is_open(r) {
            f.overdue_now += 1;
        }
        let Some(sent) = r.sent_on else { continue };
        if let Some(d) = r.received_on {
            receipt.push(cal.working_days_between(sent, d));
        }
        if let (Some(_), Some(d)) = (&r.case_no, r.answered_on)
            && matches!(r.kind.as_str(), "clue" | "transfer")
        {
            filing.push(cal.working_days_between(sent, d));
        }
        if r.kind == "assistance"
            && matches!(r.status.as_str(), "replied" | "closed")
            && let Some(d) = r.answered_on
        {
            reply.push(cal.working_days_between(sent, d));
        }
        if let Some(code) = returns.get(&r.id) {
            *f.returned.entry(code.clone()).or_default() += 1;
        }
    }
    f.on_time_rate = (f.answered > 0).then(|| f.answered_on_time as f64 / f.answered as f64);
    f.median_days_to_receipt = median(receipt);
    f.median_days_to_filing = median(filing);
    f.median_days_to_reply = median(reply);
    f
}

/// The figures over every item.
pub fn stats(conn: &mut Conn, policy: &CollabPolicy) -> Result<CollaborationStats> {
    let rows = store::collab::all(conn)?;
    let returns: BTreeMap<String, String> = store::collab::steps_named(conn, "return")?
        .into_iter()
        .filter_map(|s| {
            let d: serde_json::Value = serde_json::from_str(&s.detail_json).ok()?;
            Some((s.item_id, d.get("reason_code")?.as_str()?.to_owned()))
        })
        .collect();
    let all: Vec<&ItemRow> = rows.iter().collect();
    let mut units: BTreeMap<&str, (u64, Vec<&ItemRow>)> = BTreeMap::new();
    let mut pairs: BTreeMap<(&str, &str), Vec<&ItemRow>> = BTreeMap::new();
    let mut months: BTreeMap<String, Vec<&ItemRow>> = BTreeMap::new();
    for r in &rows {
        units.entry(r.sender.as_str()).or_default().0 += 1;
        if r.sent_on.is_some() {
            units.entry(r.receiver.as_str()).or_default().1.push(r);
        }
        pairs
            .entry((r.sender_party.as_str(), r.receiver_party.as_str()))
            .or_default()
            .push(r);
        if let Some(d) = r.sent_on {
            months
                .entry(d.format("%Y-%m").to_string())
                .or_default()
                .push(r);
        }
    }
    Ok(CollaborationStats {
        totals: figures(policy, &all, &returns),
        units: units
            .into_iter()
            .map(|(unit, (sent, received))| UnitFigures {
                unit: unit.to_owned(),
                sent,
                received: received.len() as u64,
                as_receiver: figures(policy, &received, &returns),
            })
            .collect(),
        pairs: pairs
            .into_iter()
            .map(|((from, to), items)| PairFigures {
                from: from.to_owned(),
                to: to.to_owned(),
                figures: figures(policy, &items, &returns),
            })
            .collect(),
        months: months
            .into_iter()
            .map(|(month, items)| MonthFigures {
                month,
                figures: figures(policy, &items, &returns),
            })
            .collect(),
    })
}
