//! How items are shown: a summary in lists, the whole item with its timeline, attachments and
//! the steps allowed now. Identity numbers and addresses are shown in clear to the two ends of
//! the item (the receiver needs them to act), masked to everyone else.

use super::Access;
use crate::crypto::pii::PiiKeyring;
use crate::domain::collab::{self as table, Kind, State};
use crate::service::sealing::{Reveal, reveal};
use crate::store::collab::{AttachmentRow, ItemRow, StepRow};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// An item in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemSummary {
    /// `col_…`.
    pub id: String,
    /// clue, transfer, assistance or service.
    pub kind: String,
    /// The letter's document number, folded.
    pub doc_no: String,
    /// Sending unit.
    pub sender: String,
    /// Receiving unit.
    pub receiver: String,
    /// The sender's superior, for a cross-level item.
    pub approver: Option<String>,
    /// Where it stands.
    pub status: String,
    /// The subject's name.
    pub subject_name: String,
    /// The violation as written.
    pub violation_type: String,
    /// Deadline of the step due now.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    /// Who must take it: `receiver` or `approver`.
    pub due_side: Option<String>,
    /// Counted through a year the working-day calendar lacks (weekends only there).
    pub due_provisional: bool,
    /// The deadline has passed.
    pub overdue: bool,
    /// When it was created.
    #[serde(serialize_with = "crate::store::utc::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
}

/// One step of the timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    /// 1, 2, …
    pub n: i64,
    /// The step.
    pub step: String,
    /// The unit that took it (`null`: penex's sweeper).
    pub by: Option<String>,
    /// Status after it.
    pub status: String,
    /// Its fields (reason, case number, reply…).
    #[schema(value_type = Object)]
    pub detail: Value,
    /// The day (Asia/Shanghai).
    #[schema(value_type = String, format = Date)]
    pub on_day: NaiveDate,
    /// When.
    #[serde(serialize_with = "crate::store::utc::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub at: NaiveDateTime,
}

/// An attachment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentView {
    /// SHA-256 of the content (its address).
    pub sha256: String,
    /// File name.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Uploading unit.
    pub uploaded_by: String,
    /// When.
    #[serde(serialize_with = "crate::store::utc::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
}

impl From<AttachmentRow> for AttachmentView {
    fn from(a: AttachmentRow) -> Self {
        AttachmentView {
            sha256: a.sha256,
            name: a.name,
            media_type: a.media_type,
            size: a.size,
            uploaded_by: a.uploaded_by,
            created_at: a.created_at,
        }
    }
}

/// A step that may follow now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllowedStep {
    /// The step.
    pub step: String,
    /// Who takes it: sender, receiver, approver or viewer.
    pub by: String,
    /// Whether the caller may take it.
    pub yours: bool,
}

/// A whole item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemView {
    /// The summary fields.
    #[serde(flatten)]
    pub summary: ItemSummary,
    /// An extension request waits for the sender.
    pub extension_pending: bool,
    /// Catalogue code of the violation, when mapped.
    pub violation_code: Option<String>,
    /// GB/T 2260 division of the place.
    pub place: String,
    /// The letter: subject, facts, questions, documents, addressee (identity numbers and
    /// addresses masked unless you are the sender or the receiver).
    #[schema(value_type = Object)]
    pub letter: Value,
    /// Sent (after approval for cross-level items).
    #[schema(value_type = Option<String>, format = Date)]
    pub sent_on: Option<NaiveDate>,
    /// Acknowledged.
    #[schema(value_type = Option<String>, format = Date)]
    pub received_on: Option<NaiveDate>,
    /// Answered (filed, accepted, replied, served, or their refusals).
    #[schema(value_type = Option<String>, format = Date)]
    pub answered_on: Option<NaiveDate>,
    /// Whether that answer came after its deadline.
    pub answered_late: Option<bool>,
    /// 立案日期 of the receiver's case.
    #[schema(value_type = Option<String>, format = Date)]
    pub filed_on: Option<NaiveDate>,
    /// The receiver's case number.
    pub case_no: Option<String>,
    /// The penalty record that decided a transfer.
    pub record_id: Option<String>,
    /// The jurisdiction conflict this transfer settled.
    pub conflict_id: Option<String>,
    /// The returned transfer this one sends again.
    pub resent_from: Option<String>,
    /// The timeline.
    pub timeline: Vec<StepView>,
    /// Attachments.
    pub attachments: Vec<AttachmentView>,
    /// Steps allowed now.
    pub next_steps: Vec<AllowedStep>,
}

/// The summary of an item.
pub fn summary(r: &ItemRow) -> ItemSummary {
    ItemSummary {
        id: r.id.clone(),
        kind: r.kind.clone(),
        doc_no: r.doc_no.clone(),
        sender: r.sender.clone(),
        receiver: r.receiver.clone(),
        approver: r.approver.clone(),
        status: r.status.clone(),
        subject_name: r.subject_name.clone(),
        violation_type: r.violation_type.clone(),
        due_on: r.due_on,
        due_side: super::due_side(r).map(|s| s.as_str().to_owned()),
        due_provisional: r.due_provisional,
        overdue: r.overdue,
        created_at: r.created_at,
    }
}

/// The whole item as `access` may see it.
pub fn view(
    pii: &PiiKeyring,
    access: Access,
    r: ItemRow,
    steps: Vec<StepRow>,
    attachments: Vec<AttachmentRow>,
) -> ItemView {
    let how = if access.sender || access.receiver {
        Reveal::Clear
    } else {
        Reveal::Masked
    };
    let mut letter: Value = serde_json::from_str(&r.detail_json).unwrap_or(Value::Null);
    reveal(pii, &mut letter, how);
    let next_steps = match (r.kind.parse::<Kind>(), r.status.parse()) {
        (Ok(kind), Ok(status)) => table::allowed(
            kind,
            State {
                status,
                extension_pending: r.extension_pending,
            },
        )
        .into_iter()
        .map(|(s, side)| AllowedStep {
            step: s.as_str().to_owned(),
            by: side.as_str().to_owned(),
            yours: access.takes(side),
        })
        .collect(),
        _ => Vec::new(),
    };
    let timeline = steps
        .into_iter()
        .map(|s| {
            let mut detail: Value = serde_json::from_str(&s.detail_json).unwrap_or(Value::Null);
            reveal(pii, &mut detail, how);
            StepView {
                n: s.n,
                step: s.step,
                by: s.actor_unit,
                status: s.status_after,
                detail,
                on_day: s.on_day,
                at: s.at,
            }
        })
        .collect();
    let resent_from = letter
        .get("resent_from")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    ItemView {
        summary: summary(&r),
        extension_pending: r.extension_pending,
        violation_code: r.violation_code,
        place: r.place,
        letter,
        sent_on: r.sent_on,
        received_on: r.received_on,
        answered_on: r.answered_on,
        answered_late: r.answered_late,
        filed_on: r.filed_on,
        case_no: r.case_no,
        record_id: r.record_id,
        conflict_id: r.conflict_id,
        resent_from,
        timeline,
        attachments: attachments.into_iter().map(AttachmentView::from).collect(),
        next_steps,
    }
}
