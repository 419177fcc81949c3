//! Case collaboration (案件查处协作, Administrative Penalty Law arts. 22–26): units send each
//! other clue notices, case transfers, assistance requests and documents to serve; each item
//! follows the table of `domain::collab`, every step is audited and becomes a signed event on
//! the units' own feed (never on the credit platform's connector).
//!
//! Rights come from the registry: a unit sends to a unit of its own level (any party), or to a
//! unit of another level through its superior, who approves or refuses; only the receiving unit
//! answers; the superiors of both ends (up to the leads) see every item and may comment;
//! everyone else is refused and nothing is written.

pub mod attachments;
pub mod config;
mod feed;
pub mod report;
pub mod sweep;
mod view;

pub use config::CollabPolicy;
pub use view::{AllowedStep, AttachmentView, ItemSummary, ItemView, StepView, summary, view};

use super::error::{Error, Result};
use crate::crypto::pii::{KIND_RESIDENT_ID, PiiKeyring};
use crate::domain::collab::{self as table, Kind, Side, State, Status, Step};
use crate::domain::party::Party;
use crate::domain::record::SubjectKind;
use crate::domain::registry::Registry;
use crate::domain::unit::UnitCode;
use crate::normalize::FieldIssue;
use crate::normalize::decision_no::fold_decision_no;
use crate::normalize::ids::{normalize_resident_id, normalize_uscc};
use crate::normalize::issue::excerpt;
use crate::normalize::text::fold_name;
use crate::service::events::Emitter;
use crate::store::collab::{ItemRow, StepRow};
use crate::store::{self, Conn};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// What collaboration needs besides the connection.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    /// The unit registry.
    pub registry: &'a Registry,
    /// Deadlines, calendar, attachment rules.
    pub policy: &'a CollabPolicy,
    /// Catalogue, conflict thresholds and rules (a decided transfer's filing date can change
    /// who filed first).
    pub policies: &'a crate::service::policy::PolicySet,
    /// Personal-data keys.
    pub pii: &'a PiiKeyring,
    /// Event signing.
    pub emitter: &'a Emitter,
}

/// Who acts, and on what day.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The acting unit (from its certificate).
    pub unit: &'a UnitCode,
    /// The actor written to the audit chain.
    pub actor: &'a str,
    /// Today in Asia/Shanghai.
    pub today: NaiveDate,
}

/// What a unit is to an item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Access {
    /// It sent the item.
    pub sender: bool,
    /// It receives it (once sent).
    pub receiver: bool,
    /// It approves it (the sender's superior, cross-level items).
    pub approver: bool,
    /// It may see it: one of the above, or a superior of either end.
    pub viewer: bool,
}

impl Access {
    /// Whether the unit takes steps of `side`.
    pub fn takes(self, side: Side) -> bool {
        match side {
            Side::Sender => self.sender,
            Side::Receiver => self.receiver,
            Side::Approver => self.approver,
            Side::Viewer => self.viewer,
            Side::System => false,
        }
    }
}

/// Who must take the step whose deadline runs now.
pub fn due_side(row: &ItemRow) -> Option<Side> {
    row.due_on?;
    let kind: Kind = row.kind.parse().ok()?;
    let status: Status = row.status.parse().ok()?;
    table::deadline_of(kind, status).map(|(side, _)| side)
}

/// Whether the item has reached its receiver (approved, or never needing approval).
fn reached_receiver(item: &ItemRow) -> bool {
    item.sent_on.is_some()
}

/// What `unit` is to `item`.
pub fn access(registry: &Registry, unit: &UnitCode, item: &ItemRow) -> Access {
    let me = unit.as_str();
    let reached = reached_receiver(item);
    let above = |code: &str| {
        UnitCode::parse(code).is_ok_and(|c| registry.ancestors(&c).iter().any(|u| &u.code == unit))
    };
    let sender = item.sender == me;
    let receiver = reached && item.receiver == me;
    let approver = item.approver.as_deref() == Some(me);
    let viewer =
        sender || receiver || approver || above(&item.sender) || (reached && above(&item.receiver));
    Access {
        sender,
        receiver,
        approver,
        viewer,
    }
}

/// Every unit that may read the item (its feed's audience).
pub fn audience(registry: &Registry, item: &ItemRow) -> Vec<String> {
    let mut out = vec![item.sender.clone()];
    let mut ends = vec![item.sender.as_str()];
    if let Some(a) = &item.approver {
        out.push(a.clone());
    }
    if reached_receiver(item) {
        out.push(item.receiver.clone());
        ends.push(item.receiver.as_str());
    }
    for end in ends {
        if let Ok(c) = UnitCode::parse(end) {
            out.extend(registry.ancestors(&c).iter().map(|u| u.code.to_string()));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The subject of an item: the same identifiers, checked and sealed, as on records.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemSubject {
    /// 当事人名称.
    pub name: String,
    /// `legal_person`, `natural_person` or `individual_business`.
    #[schema(value_type = String, example = "legal_person")]
    pub kind: SubjectKind,
    /// 统一社会信用代码, when known.
    pub uscc: Option<String>,
    /// 居民身份证号码, when known. Sealed at rest, shown masked.
    pub id_no: Option<String>,
}

/// The addressee of documents to serve (委托送达).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Addressee {
    /// 受送达人.
    pub name: String,
    /// 送达地址. Sealed at rest.
    pub address: String,
}

/// A new collaboration item (移送函, 协查函, 委托送达函 or 通报).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "transfer",
    "doc_no": "沪青城管移字〔2026〕第3号",
    "to": "JS-320500",
    "subject": {"name": "苏州某某渣土运输有限公司", "kind": "legal_person", "uscc": "91320500MA1MXXXX0X"},
    "violation_type": "擅自倾倒建筑垃圾",
    "place": "320506",
    "facts": "2026年11月3日，当事人车辆在吴中区某路段倾倒建筑垃圾约20立方米。"
}))]
pub struct NewItem {
    /// `clue`, `transfer`, `assistance` or `service`.
    #[schema(example = "transfer")]
    pub kind: String,
    /// The letter's document number (移送函/协查函/委托送达函/通报 文号).
    pub doc_no: String,
    /// The receiving unit's code.
    #[schema(example = "JS-320500")]
    pub to: String,
    /// Who the item is about.
    pub subject: ItemSubject,
    /// The violation as written (mapped to the catalogue when it can be).
    pub violation_type: String,
    /// Where: GB/T 2260 division code (six digits, in one of the four parties).
    #[schema(example = "320506")]
    pub place: String,
    /// 违法事实 / the matter, as the letter states it.
    pub facts: String,
    /// The sender's own case number, if any.
    pub case_no: Option<String>,
    /// Assistance: the questions or items of evidence asked for (required).
    pub questions: Option<Vec<String>>,
    /// Assistance: reply by this date (default: the configured reply period).
    pub reply_by: Option<String>,
    /// Service: the documents to serve (required).
    pub documents: Option<Vec<String>>,
    /// Service: whom to serve, where (required).
    pub addressee: Option<Addressee>,
    /// Transfer: the returned transfer this one sends again (that one is closed).
    pub resent_from: Option<String>,
}

/// The next step of an item. Which fields a step takes is listed in docs/COLLABORATION.md;
/// a field the step does not take is refused.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"step": "accept", "case_no": "苏园城管立字〔2026〕第88号", "filed_on": "2026-11-10"}))]
pub struct StepRequest {
    /// The step: receive, approve, refuse, file, not_file, accept, return, progress, decide,
    /// not_penalize, reply, decline, request_extension, grant_extension, refuse_extension,
    /// serve, fail, close, comment.
    #[schema(example = "accept")]
    pub step: String,
    /// Free text: a comment, a progress report, the written reply.
    pub note: Option<String>,
    /// Why (not filed, returned, declined, refused, not penalized, failed, extension).
    pub reason: Option<String>,
    /// Return: `not_competent`, `insufficient_materials`, `duplicate` or `other`.
    pub reason_code: Option<String>,
    /// File / accept: the receiver's case number.
    pub case_no: Option<String>,
    /// File / accept: 立案日期.
    pub filed_on: Option<String>,
    /// Progress: `investigation` (调查), `notice` (告知) or `decision` (决定).
    pub stage: Option<String>,
    /// Decide: the penalty record (`rec_…`) the receiver pushed.
    pub record_id: Option<String>,
    /// Decide: 行政处罚决定书文号 (when the record is not pushed yet).
    pub decision_no: Option<String>,
    /// Not penalize: the first-violation exemption (`exm_…`), if that is why.
    pub exemption_id: Option<String>,
    /// Reply: `true` for a partial reply (the request stays open).
    pub partial: Option<bool>,
    /// Request extension: working days asked for.
    pub days: Option<u32>,
    /// Serve: `direct` (直接), `left` (留置), `post` (邮寄), `electronic` (电子), `announcement` (公告).
    pub method: Option<String>,
    /// Serve: the day served.
    pub served_on: Option<String>,
    /// Fail: attempts made.
    pub attempts: Option<u32>,
}

/// Why a transfer can be returned.
pub const RETURN_REASONS: &[&str] = &[
    "not_competent",
    "insufficient_materials",
    "duplicate",
    "other",
];
/// Stages of a transfer's progress reports.
pub const STAGES: &[&str] = &["investigation", "notice", "decision"];
/// Methods of service (Civil Procedure Law; Administrative Penalty Law art. 61).
pub const SERVICE_METHODS: &[&str] = &["direct", "left", "post", "electronic", "announcement"];

const MAX_TEXT: usize = 4000;

fn issue(pointer: &str, code: &str, detail: impl Into<String>) -> FieldIssue {
    FieldIssue {
        pointer: pointer.into(),
        code: code.into(),
        detail: detail.into(),
    }
}

fn invalid(code: &'static str, what: &str, errors: Vec<FieldIssue>) -> Error {
    Error::Invalid {
        code,
        detail: format!(
            "the {what} has {} invalid field(s); see errors",
            errors.len()
        ),
        errors,
    }
}

/// A required text of at most [`MAX_TEXT`] characters, trimmed.
fn text(
    errors: &mut Vec<FieldIssue>,
    pointer: &str,
    value: Option<&str>,
    what: &str,
) -> Option<String> {
    match value.map(str::trim) {
        None | Some("") => {
            errors.push(issue(pointer, "required", format!("expected {what}")));
            None
        }
        Some(t) if t.chars().count() > MAX_TEXT => {
            errors.push(issue(
                pointer,
                "too_long",
                format!(
                    "{} characters; expected at most {MAX_TEXT}",
                    t.chars().count()
                ),
            ));
            None
        }
        Some(t)
            if t.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') =>
        {
            errors.push(issue(
                pointer,
                "control_characters",
                "expected text without control characters",
            ));
            None
        }
        Some(t) => Some(t.to_owned()),
    }
}

/// A date not after `today` nor before `not_before`.
fn day(
    errors: &mut Vec<FieldIssue>,
    pointer: &str,
    value: Option<&str>,
    not_before: NaiveDate,
    today: NaiveDate,
) -> Option<NaiveDate> {
    let Some(t) = value else {
        errors.push(issue(
            pointer,
            "required",
            "expected a date such as 2026-11-10",
        ));
        return None;
    };
    match crate::normalize::dates::parse_date(t) {
        Err(e) => {
            errors.push(issue(
                pointer,
                "invalid_date",
                format!("{:?}: {e}; expected a date such as 2026-11-10", excerpt(t)),
            ));
            None
        }
        Ok(d) if d > today || d < not_before => {
            errors.push(issue(
                pointer,
                "date_out_of_range",
                format!("{d}: expected a date from {not_before} to today ({today})"),
            ));
            None
        }
        Ok(d) => Some(d),
    }
}

fn new_id(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 6];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| Error::Internal("the system random generator failed".into()))?;
    let micros = chrono::Utc::now().timestamp_micros();
    Ok(format!("{prefix}_{micros:014x}{}", hex::encode(bytes)))
}

/// The receiver's answer, checked: the receiving unit, whether it needs approval and by whom.
fn route(
    registry: &Registry,
    from: &UnitCode,
    to_text: &str,
) -> std::result::Result<(UnitCode, Option<UnitCode>), FieldIssue> {
    let to = UnitCode::parse(to_text.trim()).map_err(|e| {
        issue(
            "/to",
            "invalid_unit",
            format!(
                "{:?}: {e}; expected a unit code such as JS-320500",
                excerpt(to_text)
            ),
        )
    })?;
    let receiver = registry.get(&to).filter(|u| !u.disabled).ok_or_else(|| {
        issue(
            "/to",
            "unknown_unit",
            format!("{to} is not a registered member unit that may receive items"),
        )
    })?;
    if &to == from {
        return Err(issue("/to", "same_unit", "an item goes to another unit"));
    }
    let sender = registry
        .get(from)
        .ok_or_else(|| issue("/to", "unknown_unit", format!("{from} is not registered")))?;
    if sender.level == receiver.level {
        return Ok((to, None));
    }
    // Across levels through the sender's superior (the lead has none: it coordinates itself);
    // a superior that is the receiver itself takes the item directly.
    match &sender.parent {
        Some(parent) if parent != &to => Ok((to, Some(parent.clone()))),
        _ => Ok((to, None)),
    }
}

/// Creates an item: every field checked at once (422), rights from the registry (a receiver
/// that cannot be reached is 422 on `/to`), then stored with its first step, audited and
/// announced on the feed in one transaction. The same sender, kind and document number again
/// answers the stored item (`false`) and writes nothing.
pub fn create(
    conn: &mut Conn,
    deps: Deps<'_>,
    by: Actor<'_>,
    req: NewItem,
) -> Result<(bool, ItemRow)> {
    let mut errors = Vec::new();
    let kind = match req.kind.parse::<Kind>() {
        Ok(k) => Some(k),
        Err(e) => {
            errors.push(issue("/kind", "unknown_kind", e));
            None
        }
    };
    let doc_no = fold_decision_no(&req.doc_no);
    if doc_no.is_empty() {
        errors.push(issue(
            "/doc_no",
            "required",
            "expected the letter's document number (文号)",
        ));
    } else if doc_no.chars().count() > 100 {
        errors.push(issue(
            "/doc_no",
            "too_long",
            "expected at most 100 characters",
        ));
    }
    let routed = match route(deps.registry, by.unit, &req.to) {
        Ok(r) => Some(r),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let name = fold_name(&req.subject.name);
    if name.is_empty() {
        errors.push(issue(
            "/subject/name",
            "required",
            "expected the subject's name",
        ));
    }
    let key = match (
        req.subject.kind,
        req.subject.uscc.as_deref(),
        req.subject.id_no.as_deref(),
    ) {
        (_, Some(_), Some(_)) => {
            errors.push(issue(
                "/subject",
                "ambiguous_identifier",
                "give the USCC or the resident ID, not both",
            ));
            None
        }
        (SubjectKind::NaturalPerson, Some(_), None) => {
            errors.push(issue(
                "/subject/uscc",
                "wrong_identifier",
                "a natural person is identified by the resident ID (id_no)",
            ));
            None
        }
        (SubjectKind::LegalPerson | SubjectKind::IndividualBusiness, None, Some(_)) => {
            errors.push(issue(
                "/subject/id_no",
                "wrong_identifier",
                "an organization or individual business is identified by its USCC",
            ));
            None
        }
        (_, Some(u), None) => match normalize_uscc(u) {
            Ok(u) => Some(("uscc", u)),
            Err(e) => {
                errors.push(issue("/subject/uscc", "invalid_checksum", e.to_string()));
                None
            }
        },
        (_, None, Some(i)) => match normalize_resident_id(i) {
            Ok(i) => Some(("resident_id", i)),
            Err(e) => {
                errors.push(issue("/subject/id_no", "invalid_checksum", e.to_string()));
                None
            }
        },
        (_, None, None) => None,
    };
    let violation_type = text(
        &mut errors,
        "/violation_type",
        Some(&req.violation_type),
        "the violation as written",
    );
    let place = req.place.trim();
    if place.len() != 6
        || !place.bytes().all(|b| b.is_ascii_digit())
        || Party::from_division(place).is_none()
    {
        errors.push(issue(
            "/place",
            "invalid_division",
            format!("{:?}: expected a six-digit GB/T 2260 division in Shanghai, Jiangsu, Zhejiang or Anhui (31…, 32…, 33…, 34…)", excerpt(place)),
        ));
    }
    let facts = text(&mut errors, "/facts", Some(&req.facts), "the facts");
    if let Some(c) = &req.case_no {
        text(&mut errors, "/case_no", Some(c), "the case number");
    }
    let list = |errors: &mut Vec<FieldIssue>,
                pointer: &str,
                v: &Option<Vec<String>>,
                what: &str,
                wanted: bool| {
        match (v, wanted) {
            (Some(_), false) => errors.push(issue(
                pointer,
                "not_for_kind",
                format!("only {what} take {}", pointer.trim_start_matches('/')),
            )),
            (None, true) => errors.push(issue(pointer, "required", format!("expected {what}"))),
            (Some(items), true) => {
                if items.is_empty() || items.len() > 100 {
                    errors.push(issue(
                        pointer,
                        "required",
                        format!("expected 1–100 entries: {what}"),
                    ));
                }
                for (i, t) in items.iter().enumerate() {
                    text(errors, &format!("{pointer}/{i}"), Some(t), "text");
                }
            }
            (None, false) => {}
        }
    };
    let is = |k: Kind| kind == Some(k);
    if kind.is_some() {
        list(
            &mut errors,
            "/questions",
            &req.questions,
            "the questions or evidence asked for (assistance)",
            is(Kind::Assistance),
        );
        list(
            &mut errors,
            "/documents",
            &req.documents,
            "the documents to serve (service)",
            is(Kind::Service),
        );
        match (&req.addressee, is(Kind::Service)) {
            (Some(_), false) => errors.push(issue(
                "/addressee",
                "not_for_kind",
                "only service items take an addressee",
            )),
            (None, true) => errors.push(issue(
                "/addressee",
                "required",
                "expected whom to serve and where",
            )),
            (Some(a), true) => {
                text(
                    &mut errors,
                    "/addressee/name",
                    Some(&a.name),
                    "the addressee's name",
                );
                text(
                    &mut errors,
                    "/addressee/address",
                    Some(&a.address),
                    "the address",
                );
            }
            (None, false) => {}
        }
        if req.reply_by.is_some() && !is(Kind::Assistance) {
            errors.push(issue(
                "/reply_by",
                "not_for_kind",
                "only assistance requests take a reply-by date",
            ));
        }
        if req.resent_from.is_some() && !is(Kind::Transfer) {
            errors.push(issue(
                "/resent_from",
                "not_for_kind",
                "only transfers are sent again",
            ));
        }
    }
    // The earliest reply-by date: the receipt period plus two working days.
    let reply_by = match (&req.reply_by, is(Kind::Assistance)) {
        (Some(t), true) => match crate::normalize::dates::parse_date(t) {
            Ok(d) => {
                let earliest = deps.policy.calendar.add_working_days(by.today, 2).day;
                if d < earliest || d > by.today + chrono::Duration::days(366) {
                    errors.push(issue("/reply_by", "date_out_of_range", format!("{d}: expected a date from {earliest} (two working days) to a year from today")));
                    None
                } else {
                    Some(d)
                }
            }
            Err(e) => {
                errors.push(issue(
                    "/reply_by",
                    "invalid_date",
                    format!("{:?}: {e}; expected a date such as 2026-12-20", excerpt(t)),
                ));
                None
            }
        },
        _ => None,
    };
    let (Some(kind), Some((receiver, approver)), Some(violation_type), Some(facts), true) =
        (kind, routed, violation_type, facts, errors.is_empty())
    else {
        return Err(invalid("invalid_item", "item", errors));
    };
    let sender_unit = deps
        .registry
        .get(by.unit)
        .ok_or_else(|| Error::forbidden("your unit is not registered"))?;
    let receiver_unit = deps
        .registry
        .get(&receiver)
        .ok_or_else(|| Error::Internal("routed to an unknown unit".into()))?;
    let key_value = match &key {
        Some(("resident_id", id)) => Some(
            deps.pii
                .blind_index(KIND_RESIDENT_ID, id)
                .map_err(|e| Error::Internal(format!("blind index: {e}")))?,
        ),
        Some((_, v)) => Some(v.clone()),
        None => None,
    };
    let mut detail = json!({
        "doc_no": req.doc_no.trim(),
        "subject": {"name": req.subject.name.trim(), "kind": req.subject.kind, "uscc": req.subject.uscc, "id_no": req.subject.id_no},
        "violation_type": violation_type,
        "facts": facts,
        "case_no": req.case_no.as_deref().map(str::trim),
        "questions": req.questions,
        "reply_by": reply_by,
        "documents": req.documents,
        "addressee": req.addressee.as_ref().map(|a| json!({"name": a.name.trim(), "address": a.address.trim()})),
        "resent_from": req.resent_from.as_deref().map(str::trim),
    });
    if let Some(map) = detail.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    super::sealing::seal_pointers(
        deps.pii,
        &mut detail,
        &["/subject/id_no".to_owned(), "/addressee/address".to_owned()],
    )
    .map_err(|e| Error::Internal(format!("sealing: {e}")))?;
    let now = store::now_utc();
    let id = new_id("col")?;
    let status = if approver.is_some() {
        Status::AwaitingApproval
    } else {
        Status::Sent
    };
    let mut row = ItemRow {
        id: id.clone(),
        kind: kind.as_str().to_owned(),
        doc_no,
        sender: by.unit.to_string(),
        sender_party: sender_unit.party.code().to_owned(),
        receiver: receiver.to_string(),
        receiver_party: receiver_unit.party.code().to_owned(),
        approver: approver.map(|a| a.to_string()),
        status: status.as_str().to_owned(),
        extension_pending: false,
        subject_kind: req.subject.kind.as_str().to_owned(),
        subject_name: name,
        subject_key_kind: key.as_ref().map(|k| k.0.to_owned()),
        subject_key_value: key_value,
        violation_code: deps
            .policies
            .catalog
            .map(sender_unit.party, &violation_type)
            .map(|(v, _)| v.code.clone()),
        violation_type,
        place: place.to_owned(),
        detail_json: detail.to_string(),
        due_on: None,
        due_provisional: false,
        overdue: false,
        sent_on: (status == Status::Sent).then_some(by.today),
        received_on: None,
        answered_on: None,
        answered_late: None,
        filed_on: None,
        case_no: None,
        record_id: None,
        conflict_id: None,
        steps: 1,
        created_at: now,
        updated_at: now,
    };
    set_deadline(deps.policy, &mut row, kind, status, by.today, reply_by);
    let step = StepRow {
        item_id: id.clone(),
        n: 1,
        step: Step::Send.as_str().to_owned(),
        actor_unit: Some(by.unit.to_string()),
        actor: by.actor.to_owned(),
        status_after: row.status.clone(),
        detail_json: json!({"to": row.receiver, "approver": row.approver}).to_string(),
        on_day: by.today,
        at: now,
    };
    store::conn::write_tx(conn, |c| -> Result<(bool, ItemRow)> {
        if let Some(existing) = store::collab::find_by_doc(c, &row.sender, &row.kind, &row.doc_no)?
        {
            return Ok((false, existing));
        }
        if let Some(old_id) = req.resent_from.as_deref().map(str::trim) {
            close_resent(c, deps, by, old_id, &row)?;
        }
        store::collab::insert(c, &row)?;
        store::collab::insert_step(c, &step)?;
        store::audit::append(
            c,
            &store::audit::NewAudit {
                actor: by.actor,
                action: "collab.send",
                target: &row.id,
                detail: &json!({"kind": row.kind, "to": row.receiver, "status": row.status})
                    .to_string(),
            },
        )?;
        feed::emit(c, deps, &row, &step)?;
        Ok((true, row.clone()))
    })
}

/// Closes the returned transfer a new one sends again, in the caller's transaction.
fn close_resent(
    c: &mut Conn,
    deps: Deps<'_>,
    by: Actor<'_>,
    old_id: &str,
    new: &ItemRow,
) -> Result<()> {
    let refuse = |detail: String| Error::invalid_field("invalid_item", "/resent_from", detail);
    let Some(mut old) = store::collab::find(c, old_id)? else {
        return Err(refuse(format!("{:?} is not an item", excerpt(old_id))));
    };
    if old.sender != new.sender || old.kind != "transfer" || old.status != Status::Returned.as_str()
    {
        return Err(refuse(format!(
            "{} is not a returned transfer of yours (it is a {} {} from {})",
            old.id, old.status, old.kind, old.sender
        )));
    }
    let note = format!("sent again as {} to {}", new.id, new.receiver);
    let (_, step) = apply(
        c,
        deps,
        by,
        &mut old,
        Step::Close,
        Status::Closed,
        json!({"note": note}),
    )?;
    feed::emit(c, deps, &old, &step)
}

/// Sets the deadline of the step due in `status`, counted from `from`.
fn set_deadline(
    policy: &CollabPolicy,
    row: &mut ItemRow,
    kind: Kind,
    status: Status,
    from: NaiveDate,
    reply_by: Option<NaiveDate>,
) {
    match table::deadline_of(kind, status) {
        None => {
            row.due_on = None;
            row.due_provisional = false;
        }
        Some((_, name)) => {
            let counted = policy.deadline(name, from);
            let (due, provisional) = match (name, reply_by, counted) {
                ("reply", Some(d), Some(c)) => (Some(d.max(c.day)), c.provisional),
                (_, _, Some(c)) => (Some(c.day), c.provisional),
                (_, _, None) => (None, false),
            };
            row.due_on = due;
            row.due_provisional = provisional;
        }
    }
    row.overdue = false;
}

/// Writes a step's effect on `item` (state, dates, timeline, audit) in the caller's
/// transaction; returns the previous status and the step row.
fn apply(
    c: &mut Conn,
    deps: Deps<'_>,
    by: Actor<'_>,
    item: &mut ItemRow,
    step: Step,
    to: Status,
    detail: Value,
) -> Result<(Status, StepRow)> {
    let kind: Kind = item.kind.parse().map_err(Error::Internal)?;
    let before: Status = item.status.parse().map_err(Error::Internal)?;
    let now = store::now_utc();
    if to != before {
        item.status = to.as_str().to_owned();
        if table::is_answer(to) && item.answered_on.is_none() {
            item.answered_on = Some(by.today);
            item.answered_late = Some(item.due_on.is_some_and(|d| by.today > d));
        }
        match to {
            Status::Sent => item.sent_on = Some(by.today),
            Status::Received => item.received_on = Some(by.today),
            _ => {}
        }
        // A partial reply keeps the reply's deadline; every other change starts the next.
        if !(before == Status::Received && to == Status::PartiallyReplied) {
            let from = match to {
                Status::Accepted => item.filed_on.unwrap_or(by.today),
                _ => by.today,
            };
            let reply_by = detail_date(&item.detail_json, "reply_by");
            set_deadline(deps.policy, item, kind, to, from, reply_by);
        }
    }
    item.steps += 1;
    item.updated_at = now;
    let row = StepRow {
        item_id: item.id.clone(),
        n: item.steps,
        step: step.as_str().to_owned(),
        actor_unit: Some(by.unit.to_string()),
        actor: by.actor.to_owned(),
        status_after: item.status.clone(),
        detail_json: detail.to_string(),
        on_day: by.today,
        at: now,
    };
    store::collab::update(c, item)?;
    store::collab::insert_step(c, &row)?;
    store::audit::append(
        c,
        &store::audit::NewAudit {
            actor: by.actor,
            action: &format!("collab.{}", step.as_str()),
            target: &item.id,
            detail: &json!({"from": before.as_str(), "to": item.status}).to_string(),
        },
    )?;
    Ok((before, row))
}

fn detail_date(detail_json: &str, key: &str) -> Option<NaiveDate> {
    serde_json::from_str::<Value>(detail_json)
        .ok()?
        .get(key)?
        .as_str()?
        .parse()
        .ok()
}

/// The fields each step takes (besides `step`); any other field given is refused.
pub fn fields_of(step: Step) -> &'static [&'static str] {
    match step {
        Step::Comment => &["note"],
        Step::Receive | Step::Approve | Step::Close | Step::GrantExtension => &["note"],
        Step::Refuse | Step::NotFile | Step::Decline | Step::RefuseExtension => &["reason", "note"],
        Step::Return => &["reason_code", "reason", "note"],
        Step::File | Step::Accept => &["case_no", "filed_on", "note"],
        Step::Progress => &["stage", "note"],
        Step::Decide => &["record_id", "decision_no", "note"],
        Step::NotPenalize => &["reason", "exemption_id", "note"],
        Step::Reply => &["note", "partial"],
        Step::RequestExtension => &["days", "reason"],
        Step::Serve => &["method", "served_on", "note"],
        Step::Fail => &["attempts", "reason"],
        Step::Send | Step::Overdue | Step::Attach => &[],
    }
}

fn given_fields(r: &StepRequest) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |name: &'static str, given: bool| {
        if given {
            out.push(name);
        }
    };
    add("note", r.note.is_some());
    add("reason", r.reason.is_some());
    add("reason_code", r.reason_code.is_some());
    add("case_no", r.case_no.is_some());
    add("filed_on", r.filed_on.is_some());
    add("stage", r.stage.is_some());
    add("record_id", r.record_id.is_some());
    add("decision_no", r.decision_no.is_some());
    add("exemption_id", r.exemption_id.is_some());
    add("partial", r.partial.is_some());
    add("days", r.days.is_some());
    add("method", r.method.is_some());
    add("served_on", r.served_on.is_some());
    add("attempts", r.attempts.is_some());
    out
}

fn one_of(
    errors: &mut Vec<FieldIssue>,
    pointer: &str,
    value: Option<&str>,
    allowed: &[&str],
) -> Option<String> {
    match value {
        Some(v) if allowed.contains(&v) => Some(v.to_owned()),
        Some(v) => {
            errors.push(issue(
                pointer,
                "not_allowed",
                format!("{:?}: expected one of {}", excerpt(v), allowed.join(", ")),
            ));
            None
        }
        None => {
            errors.push(issue(
                pointer,
                "required",
                format!("expected one of {}", allowed.join(", ")),
            ));
            None
        }
    }
}

/// Checks a step's fields and returns what the timeline keeps of them, with the changes they
/// make to the item (case number, filing date, record). Every problem at once.
fn step_detail(
    c: &mut Conn,
    deps: Deps<'_>,
    by: Actor<'_>,
    item: &mut ItemRow,
    step: Step,
    r: &StepRequest,
) -> Result<Value> {
    let mut errors = Vec::new();
    let takes = fields_of(step);
    for f in given_fields(r) {
        if !takes.contains(&f) {
            errors.push(issue(
                &format!("/{f}"),
                "not_for_step",
                format!(
                    "{} takes {}",
                    step,
                    if takes.is_empty() {
                        "no fields".to_owned()
                    } else {
                        takes.join(", ")
                    }
                ),
            ));
        }
    }
    let mut detail = serde_json::Map::new();
    let mut put = |k: &str, v: Value| {
        detail.insert(k.to_owned(), v);
    };
    if let Some(n) = &r.note
        && let Some(t) = text(&mut errors, "/note", Some(n), "text")
    {
        put("note", Value::String(t));
    }
    let sent = item.sent_on.unwrap_or(by.today);
    match step {
        Step::Comment if r.note.is_none() => {
            errors.push(issue("/note", "required", "expected the comment"));
        }
        Step::Refuse
        | Step::NotFile
        | Step::Decline
        | Step::RefuseExtension
        | Step::NotPenalize
        | Step::Fail => {
            if let Some(t) = text(&mut errors, "/reason", r.reason.as_deref(), "the reason") {
                put("reason", Value::String(t));
            }
        }
        Step::Return => {
            if let Some(code) = one_of(
                &mut errors,
                "/reason_code",
                r.reason_code.as_deref(),
                RETURN_REASONS,
            ) {
                put("reason_code", Value::String(code));
            }
            if let Some(t) = text(&mut errors, "/reason", r.reason.as_deref(), "the reason") {
                put("reason", Value::String(t));
            }
        }
        _ => {}
    }
    match step {
        Step::File | Step::Accept => {
            let case_no = text(
                &mut errors,
                "/case_no",
                r.case_no.as_deref(),
                "the case number (立案编号)",
            );
            let filed = day(
                &mut errors,
                "/filed_on",
                r.filed_on.as_deref(),
                sent,
                by.today,
            );
            if let (Some(n), Some(d)) = (case_no, filed) {
                put("case_no", Value::String(n.clone()));
                put("filed_on", Value::String(d.to_string()));
                item.case_no = Some(n);
                item.filed_on = Some(d);
            }
        }
        Step::Progress => {
            if let Some(s) = one_of(&mut errors, "/stage", r.stage.as_deref(), STAGES) {
                put("stage", Value::String(s));
            }
        }
        Step::Decide => match (&r.record_id, &r.decision_no) {
            (None, None) => errors.push(issue(
                "/record_id",
                "required",
                "expected the penalty record (record_id) or the decision number (decision_no)",
            )),
            (Some(id), _) => match store::records::find(c, id.trim())? {
                Some(rec)
                    if UnitCode::parse(&rec.authority_code).is_ok_and(|a| {
                        UnitCode::parse(&item.receiver)
                            .is_ok_and(|me| deps.registry.may_act_for(&me, &a))
                    }) =>
                {
                    put("record_id", Value::String(rec.id.clone()));
                    put("decision_no", Value::String(rec.decision_no.clone()));
                    item.record_id = Some(rec.id);
                }
                Some(_) => errors.push(issue(
                    "/record_id",
                    "not_yours",
                    "the record was decided by a unit other than the receiver or one below it",
                )),
                None => errors.push(issue(
                    "/record_id",
                    "unknown_record",
                    format!("{:?} is not a stored record", excerpt(id)),
                )),
            },
            (None, Some(d)) => {
                let folded = fold_decision_no(d);
                if folded.is_empty() {
                    errors.push(issue(
                        "/decision_no",
                        "required",
                        "expected the decision number",
                    ));
                } else {
                    put("decision_no", Value::String(folded));
                }
            }
        },
        Step::NotPenalize => {
            if let Some(e) = &r.exemption_id {
                match store::exemptions::find(c, e.trim())? {
                    Some(x)
                        if x.authority_code == item.receiver
                            || UnitCode::parse(&x.authority_code)
                                .is_ok_and(|a| deps.registry.may_act_for(by.unit, &a)) =>
                    {
                        put("exemption_id", Value::String(x.id));
                    }
                    _ => errors.push(issue(
                        "/exemption_id",
                        "unknown_exemption",
                        format!(
                            "{:?} is not an exemption decided by the receiver",
                            excerpt(e)
                        ),
                    )),
                }
            }
        }
        Step::Reply => {
            if r.note.is_none() {
                errors.push(issue("/note", "required", "expected the written reply"));
            }
            put("partial", Value::Bool(r.partial.unwrap_or(false)));
        }
        Step::RequestExtension => {
            match r.days {
                Some(d) if d >= 1 && d <= deps.policy.extension_max_days => put("days", json!(d)),
                Some(d) => errors.push(issue(
                    "/days",
                    "out_of_range",
                    format!(
                        "{d}: expected 1–{} working days",
                        deps.policy.extension_max_days
                    ),
                )),
                None => errors.push(issue(
                    "/days",
                    "required",
                    "expected the working days asked for",
                )),
            }
            if let Some(t) = text(&mut errors, "/reason", r.reason.as_deref(), "the reason") {
                put("reason", Value::String(t));
            }
        }
        Step::Serve => {
            if let Some(m) = one_of(&mut errors, "/method", r.method.as_deref(), SERVICE_METHODS) {
                put("method", Value::String(m));
            }
            if let Some(d) = day(
                &mut errors,
                "/served_on",
                r.served_on.as_deref(),
                sent,
                by.today,
            ) {
                put("served_on", Value::String(d.to_string()));
            }
        }
        Step::Fail => match r.attempts {
            Some(n) if (1..=100).contains(&n) => put("attempts", json!(n)),
            Some(n) => errors.push(issue(
                "/attempts",
                "out_of_range",
                format!("{n}: expected 1–100"),
            )),
            None => errors.push(issue(
                "/attempts",
                "required",
                "expected the number of attempts",
            )),
        },
        _ => {}
    }
    if errors.is_empty() {
        Ok(Value::Object(detail))
    } else {
        Err(invalid("invalid_step", "step", errors))
    }
}

/// Takes the next step of item `id` for `by`: 404 when there is no such item, 403 when the
/// unit may not see it or may not take this step (the side that may is named), 422 for a bad
/// step name or fields, 409 `step_not_allowed` with the allowed steps when the state forbids
/// it. Written with its audit entry and feed event in one transaction.
pub fn take_step(
    conn: &mut Conn,
    deps: Deps<'_>,
    by: Actor<'_>,
    id: &str,
    r: StepRequest,
) -> Result<ItemRow> {
    let step: Step = r
        .step
        .trim()
        .parse()
        .map_err(|e: String| Error::invalid_field("invalid_step", "/step", e))?;
    if matches!(step, Step::Send | Step::Overdue | Step::Attach) {
        return Err(Error::invalid_field(
            "invalid_step",
            "/step",
            format!(
                "{step} is not sent as a step: an item is sent by POST /v1/collaboration/items, attachments by its attachments route, and penex marks it overdue"
            ),
        ));
    }
    store::conn::write_tx(conn, |c| -> Result<ItemRow> {
        let mut item = store::collab::find(c, id)?.ok_or(Error::NotFound)?;
        let access = access(deps.registry, by.unit, &item);
        if !access.viewer {
            return Err(Error::forbidden(format!(
                "{} is not an item of yours or of a unit below you",
                item.id
            )));
        }
        let kind: Kind = item.kind.parse().map_err(Error::Internal)?;
        let state = State {
            status: item.status.parse().map_err(Error::Internal)?,
            extension_pending: item.extension_pending,
        };
        let final_reply = !r.partial.unwrap_or(false);
        let Some(t) = table::transition(kind, state, step, final_reply) else {
            let allowed = table::allowed(kind, state);
            return Err(Error::refused(
                "step_not_allowed",
                format!(
                    "a {kind} that is {} cannot take {step}; allowed now: {}",
                    state.status,
                    if allowed.is_empty() {
                        "nothing (it has ended)".to_owned()
                    } else {
                        allowed
                            .iter()
                            .map(|(s, side)| format!("{s} (by the {side})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            ));
        };
        if !access.takes(t.side) {
            let who = match t.side {
                Side::Sender => format!("the sending unit ({})", item.sender),
                Side::Receiver => format!("the receiving unit ({})", item.receiver),
                Side::Approver => format!(
                    "the sender's superior ({})",
                    item.approver.as_deref().unwrap_or("-")
                ),
                Side::Viewer | Side::System => "nobody else".to_owned(),
            };
            return Err(Error::forbidden(format!(
                "only {who} may take {step} on {}; nothing was written",
                item.id
            )));
        }
        let detail = step_detail(c, deps, by, &mut item, step, &r)?;
        match step {
            Step::RequestExtension => item.extension_pending = true,
            Step::RefuseExtension => item.extension_pending = false,
            Step::GrantExtension => {
                item.extension_pending = false;
                let days = last_extension_days(c, &item.id)?;
                if let Some(due) = item.due_on {
                    let d = deps.policy.calendar.add_working_days(due, days);
                    item.due_on = Some(d.day);
                    item.due_provisional = d.provisional;
                    item.overdue = false;
                }
            }
            _ => {}
        }
        let (_, row) = apply(c, deps, by, &mut item, step, t.to.status, detail)?;
        feed::emit(c, deps, &item, &row)?;
        if step == Step::Decide
            && let Some(record_id) = &item.record_id
        {
            refile(c, deps, by, record_id)?;
        }
        Ok(item)
    })
}

/// A transfer decided by a record gives that record the transfer's filing date (when the
/// record carries none): the conflicts of its subject are reconciled again, and the flags
/// that rest on them re-evaluated, in the caller's transaction.
fn refile(c: &mut Conn, deps: Deps<'_>, by: Actor<'_>, record_id: &str) -> Result<()> {
    let Some(subject) = store::records::find(c, record_id)?.and_then(|r| r.subject_id) else {
        return Ok(());
    };
    let policy = deps.policies.on(by.today);
    let subjects = [subject];
    crate::service::conflicts::reconcile_subjects(c, &policy, &subjects)?;
    let changes = crate::service::flags::reevaluate(
        c,
        &policy,
        &subjects,
        crate::rules::flags::Cause::Change,
        "collaboration",
    )?;
    crate::service::events::emit_flag_changes(c, deps.emitter, &changes)?;
    Ok(())
}

/// The working days of the last extension request.
fn last_extension_days(c: &mut Conn, item_id: &str) -> Result<u32> {
    let steps = store::collab::steps_of(c, item_id)?;
    Ok(steps
        .iter()
        .rev()
        .find(|s| s.step == Step::RequestExtension.as_str())
        .and_then(|s| serde_json::from_str::<Value>(&s.detail_json).ok())
        .and_then(|d| d.get("days")?.as_u64())
        .and_then(|d| u32::try_from(d).ok())
        .unwrap_or(0))
}

/// An item, if `unit` may see it: 404 when there is none, 403 when it is not the unit's.
pub fn find_for(
    conn: &mut Conn,
    registry: &Registry,
    unit: &UnitCode,
    id: &str,
) -> Result<(ItemRow, Access)> {
    let item = store::collab::find(conn, id)?.ok_or(Error::NotFound)?;
    let a = access(registry, unit, &item);
    if a.viewer {
        Ok((item, a))
    } else {
        Err(Error::forbidden(format!(
            "{} is not an item of yours or of a unit below you",
            item.id
        )))
    }
}

/// Which items a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Box {
    /// Items the unit received, or waits to approve.
    Inbox,
    /// Items the unit sent.
    Outbox,
    /// Items sent or received by the unit or any unit below it (a lead: its party).
    Party,
}

/// A page of items for `unit`.
pub fn list(
    conn: &mut Conn,
    registry: &Registry,
    unit: &UnitCode,
    which: Box,
    mut filter: store::collab::Filter,
) -> Result<Vec<ItemRow>> {
    let me = unit.to_string();
    match which {
        Box::Inbox => filter.receivers = vec![me],
        Box::Outbox => filter.senders = vec![me],
        Box::Party => {
            let mut all: Vec<String> = registry
                .descendants(unit)
                .iter()
                .map(|u| u.code.to_string())
                .collect();
            all.push(me);
            filter.receivers = all.clone();
            filter.senders = all;
        }
    }
    let rows = store::collab::list(conn, &filter)?;
    // A unit's inbox never shows what has not reached it yet (awaiting its superior).
    Ok(rows
        .into_iter()
        .filter(|r| access(registry, unit, r).viewer)
        .collect())
}

/// The items about a subject that `unit` may see (for `GET /v1/subjects/{key}`).
pub fn of_subject(
    conn: &mut Conn,
    registry: &Registry,
    unit: &UnitCode,
    keys: &[(String, String)],
) -> Result<Vec<ItemRow>> {
    let mut out: Vec<ItemRow> = Vec::new();
    for kind in ["uscc", "resident_id"] {
        let values: Vec<String> = keys
            .iter()
            .filter(|k| k.0 == kind)
            .map(|k| k.1.clone())
            .collect();
        if values.is_empty() {
            continue;
        }
        for row in store::collab::of_subject(conn, kind, &values)? {
            if access(registry, unit, &row).viewer && !out.iter().any(|o| o.id == row.id) {
                out.push(row);
            }
        }
    }
    Ok(out)
}
