//! Subjects (行政相对人): who a subject is, the names it was seen under, its weak subjects
//! linked to it, and all its records across the four parties.
//!
//! Roles: units, analysts and operators read; operators undo links.

use super::auth::Caller;
use super::problem::{ApiError, Problem, ProblemCode};
use super::state::AppState;
use crate::domain::party::Role;
use crate::store::{self, StoreError};
use actix_web::{get, post, web};
use serde::Serialize;
use utoipa::ToSchema;

/// How a route names a subject: its id (`sub_…`), its unified social credit code, or its
/// organization code — one parser for every route that takes a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectKey {
    /// `sub_…`.
    Id(String),
    /// 统一社会信用代码, checksum valid.
    Uscc(String),
    /// 组织机构代码, checksum valid.
    OrgCode(String),
}

impl SubjectKey {
    /// What the key forms are, for error details.
    pub const EXPECTED: &'static str =
        "a subject id (sub_…), a unified social credit code or an organization code";

    /// Reads a key; `None` when it has none of the three forms.
    pub fn parse(key: &str) -> Option<SubjectKey> {
        let key = key.trim();
        if let Some(rest) = key.strip_prefix("sub_") {
            return (!rest.is_empty()
                && key.len() <= 64
                && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .then(|| SubjectKey::Id(key.to_owned()));
        }
        if let Ok(uscc) = crate::normalize::ids::normalize_uscc(key) {
            return Some(SubjectKey::Uscc(uscc));
        }
        crate::normalize::ids::normalize_org_code(key)
            .ok()
            .map(SubjectKey::OrgCode)
    }

    /// The subject the key names, if stored.
    pub fn find(
        &self,
        conn: &mut store::Conn,
    ) -> Result<Option<store::subjects::SubjectRow>, StoreError> {
        match self {
            SubjectKey::Id(id) => store::subjects::find(conn, id),
            SubjectKey::Uscc(u) => store::subjects::find_by_key(conn, "uscc", u),
            SubjectKey::OrgCode(o) => store::subjects::find_by_key(conn, "org_code", o),
        }
    }
}

/// A record of a subject, in brief.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectRecord {
    /// Record id.
    pub id: String,
    /// The subject (this one or a weak subject linked to it) the record names.
    pub subject_id: String,
    /// Deciding authority.
    pub authority_code: String,
    /// Its party.
    pub party: String,
    /// Normalized decision number.
    pub decision_no: String,
    /// 处罚决定日期.
    #[schema(value_type = String, format = Date)]
    pub decision_date: chrono::NaiveDate,
    /// Violation type as given.
    pub violation_type: String,
    /// Its place in the violation-type catalogue (absent: unmapped).
    pub classification: Option<super::queries::Classified>,
    /// Fine in fen.
    pub fine_fen: Option<i64>,
    /// `active` or `revoked`.
    pub status: String,
    /// The jurisdiction conflict the record is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_id: Option<String>,
    /// Its role there: `winner`, `loser` (never counted) or `stands`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_role: Option<String>,
}

/// A flag of a subject, in brief (`GET /v1/flags/{id}` for the rest).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectFlag {
    /// Flag id.
    pub id: String,
    /// The rule.
    pub rule_id: String,
    /// `focus` or `discipline`.
    pub severity: String,
    /// `active`, `expired`, `repaired` or `withdrawn`.
    pub status: String,
    /// Start.
    #[schema(value_type = String, format = Date)]
    pub effective_from: chrono::NaiveDate,
    /// End (exclusive).
    #[schema(value_type = String, format = Date)]
    pub effective_until: chrono::NaiveDate,
}

/// A weak subject linked to a strong one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectLink {
    /// The weak subject.
    pub subject_id: String,
    /// The strong subject.
    pub linked_to: String,
    /// Why they were linked.
    pub reason: String,
    /// When (UTC).
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// An identifier a subject has been seen with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectIdentifier {
    /// uscc, resident_id, id_document, org_code, registration_no or weak.
    pub kind: String,
    /// The identifier for USCCs, organization codes and registration numbers; absent for
    /// identity documents, which are kept only as keyed blind indexes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

fn shows_identifier(kind: &str) -> bool {
    matches!(kind, "uscc" | "org_code" | "registration_no")
}

/// A subject with its records across the region.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectView {
    /// Stable id (`sub_…`).
    pub id: String,
    /// What it is resolved by: uscc, resident_id, id_document, org_code, registration_no, weak.
    pub key_kind: String,
    /// The identifier for USCCs, organization codes and registration numbers; identity
    /// documents are never shown (they are kept only as keyed blind indexes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Every identifier its records carried (the organization code inside its USCC among
    /// them): a record carrying any one of them is resolved to this subject.
    pub identifiers: Vec<SubjectIdentifier>,
    /// Whether the key identifies the subject for certain. Weak subjects are never flagged.
    pub strong: bool,
    /// legal_person, natural_person or individual_business.
    pub kind: String,
    /// Party where first seen.
    pub party: String,
    /// The names it was seen under (folded), first seen first.
    pub names: Vec<String>,
    /// For a weak subject: the strong subject it is linked to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_to: Option<SubjectLink>,
    /// For a strong subject: the weak subjects linked to it.
    pub linked: Vec<SubjectLink>,
    /// All records of the subject and of the weak subjects linked to it, newest first.
    pub records: Vec<SubjectRecord>,
    /// Its joint-discipline flags (strong subjects only; weak ones are never flagged).
    pub flags: Vec<SubjectFlag>,
    /// Collaboration items (clues, transfers, assistance, service) about it that you may see:
    /// a unit sees its own and its units' below it; other roles see none (collaboration is
    /// not public).
    pub collaboration: Vec<crate::service::collab::ItemSummary>,
}

fn link_of(row: &store::subjects::SubjectRow) -> Option<SubjectLink> {
    row.linked_to.as_ref().map(|to| SubjectLink {
        subject_id: row.id.clone(),
        linked_to: to.clone(),
        reason: row.link_reason.clone().unwrap_or_default(),
        at: row.linked_at.map(|t| t.and_utc()),
    })
}

/// A subject by id (`sub_…`) or by unified social credit code.
#[utoipa::path(
    operation_id = "get_subject",
    tag = "subjects",
    description = "Roles: unit, analyst, operator. `key` is a subject id, an 18-character \
                   USCC or a 9-character organization code (any identifier one of the \
                   subject's records carried). Natural persons' identity documents never appear.",
    security(("mtls" = []), ("api_key" = [])),
    params(("key" = String, Path, description = "Subject id (`sub_…`), USCC or organization code")),
    responses(
        (status = 200, description = "The subject", body = SubjectView),
        (status = 400, description = "A key of none of the three forms", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subject", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/subjects/{key}")]
pub async fn get_subject(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<SubjectView>, ApiError> {
    let identity = caller.require(&[Role::Unit, Role::Analyst, Role::Operator])?;
    let unit = identity.unit.clone();
    let registry = state.registry();
    let key = path.into_inner();
    let key = SubjectKey::parse(&key).ok_or_else(|| {
        ApiError::new(
            ProblemCode::InvalidSubjectKey,
            format!(
                "subject {:?}: expected {}",
                crate::normalize::issue::excerpt(&key),
                SubjectKey::EXPECTED
            ),
        )
    })?;
    let catalog = state.policy.catalog.clone();
    let view = state
        .read(move |c| -> crate::service::Result<Option<SubjectView>> {
            let Some(row) = key.find(c)? else {
                return Ok(None);
            };
            let keys = store::subjects::keys(c, &row.id)?;
            let mut view = subject_view(c, &catalog, row)?;
            if let Some(unit) = &unit {
                view.collaboration = crate::service::collab::of_subject(c, &registry, unit, &keys)?
                    .iter()
                    .map(crate::service::collab::summary)
                    .collect();
            }
            Ok(Some(view))
        })
        .await?;
    view.map(web::Json).ok_or(ApiError::NotFound)
}

/// A subject with its identifiers, names, the subjects linked to it, its records (its own and
/// its linked subjects') and its flags.
fn subject_view(
    c: &mut store::Conn,
    catalog: &crate::normalize::Catalog,
    row: store::subjects::SubjectRow,
) -> Result<SubjectView, StoreError> {
    let linked = store::subjects::linked_to(c, &row.id)?;
    let mut ids: Vec<String> = vec![row.id.clone()];
    ids.extend(linked.iter().map(|l| l.id.clone()));
    let records = store::records::of_subjects(c, &ids)?;
    let names = store::subjects::names(c, &row.id)?;
    let flags = store::flags::of_subjects(c, std::slice::from_ref(&row.id))?
        .into_iter()
        .map(|f| SubjectFlag {
            id: f.id,
            rule_id: f.rule_id,
            severity: f.severity,
            status: f.status,
            effective_from: f.effective_from,
            effective_until: f.effective_until,
        })
        .collect();
    let identifiers = store::subjects::keys(c, &row.id)?
        .into_iter()
        .map(|(kind, value)| SubjectIdentifier {
            value: shows_identifier(&kind).then_some(value),
            kind,
        })
        .collect();
    Ok(SubjectView {
        identifier: shows_identifier(&row.key_kind).then(|| row.key_value.clone()),
        identifiers,
        linked_to: link_of(&row),
        linked: linked.iter().filter_map(link_of).collect(),
        records: records
            .into_iter()
            .map(|r| SubjectRecord {
                classification: super::queries::Classified::of_row(catalog, &r),
                subject_id: r.subject_id.unwrap_or_default(),
                id: r.id,
                authority_code: r.authority_code,
                party: r.party,
                decision_no: r.decision_no,
                decision_date: r.decision_date,
                violation_type: r.violation_type,
                fine_fen: r.fine_fen,
                status: r.status,
                conflict_id: r.conflict_id,
                conflict_role: r.conflict_role,
            })
            .collect(),
        names,
        flags,
        collaboration: Vec::new(),
        id: row.id,
        key_kind: row.key_kind,
        strong: row.strong,
        kind: row.kind,
        party: row.party,
    })
}

/// Undo the link of a weak subject to a strong one.
#[utoipa::path(
    operation_id = "unlink_subject",
    tag = "subjects",
    description = "Roles: operator. The weak subject stands alone again; audited.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "The weak subject's id (`sub_…`)")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subject", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The subject is not linked", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/subjects/{id}/unlink")]
pub async fn unlink_subject(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<actix_web::HttpResponse, ApiError> {
    let actor = caller.require(&[Role::Operator])?.actor();
    let id = path.into_inner();
    state
        .call(move |c| crate::service::links::unlink(c, &id, &actor))
        .await?;
    Ok(actix_web::HttpResponse::NoContent().finish())
}
