//! First violations (首违不罚, Administrative Penalty Law art. 33): units report their decisions
//! not to penalize, and ask, before deciding, whether a subject has violated before anywhere in
//! the four parties.
//!
//! Roles: units report exemptions for themselves and the units below them; units, analysts and
//! operators run the check. Exemptions are never published and never count as penalties.

use super::auth::Caller;
use super::problem::{ApiError, Problem, ProblemFieldError};
use super::state::AppState;
use crate::crypto::pii::KIND_RESIDENT_ID;
use crate::domain::party::{Party, Role};
use crate::domain::record::SubjectKind;
use crate::domain::unit::UnitCode;
use crate::normalize::decision_no::fold_decision_no;
use crate::normalize::ids::{normalize_resident_id, normalize_uscc};
use crate::normalize::text::fold_name;
use crate::store::exemptions::ExemptionRow;
use crate::store::{self, StoreError};
use actix_web::{HttpResponse, get, post, web};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The subject of an exemption.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExemptionSubject {
    /// 行政相对人名称.
    pub name: String,
    /// `legal_person`, `natural_person` or `individual_business`.
    #[schema(value_type = String, example = "natural_person")]
    pub kind: SubjectKind,
    /// 统一社会信用代码 (organizations and individual businesses).
    pub uscc: Option<String>,
    /// 居民身份证号码 (natural persons). Sealed at rest, never shown.
    pub id_no: Option<String>,
}

/// A decision not to penalize a first violation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "decision_no": "沪青城管不罚字〔2026〕第1号",
    "authority": "上海市青浦区城市管理行政执法局",
    "subject": {"name": "王五", "kind": "natural_person", "id_no": "310106199001010015"},
    "list_item": "YRD-SR-01",
    "decided_on": "2026-05-01",
    "violation_type": "占道经营",
    "facts": "当事人在人行道上摆摊经营，经责令当场改正。"
}))]
pub struct ExemptionRequest {
    /// 不予行政处罚决定书文号.
    pub decision_no: String,
    /// The deciding unit: registered name or USCC.
    pub authority: String,
    /// Who was not penalized.
    pub subject: ExemptionSubject,
    /// The first-violation list item relied on (`config/exemptions.toml`).
    pub list_item: String,
    /// Date of the decision.
    pub decided_on: String,
    /// The violation as written (default: the item's title).
    pub violation_type: Option<String>,
    /// 违法事实.
    pub facts: Option<String>,
}

/// A stored exemption (subject identifiers never shown).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExemptionView {
    /// `exm_…`.
    pub id: String,
    /// The deciding unit.
    pub authority_code: String,
    /// Its party.
    pub party: String,
    /// 不予行政处罚决定书文号, folded.
    pub decision_no: String,
    /// Catalogue code of the violation.
    pub violation_code: String,
    /// Date of the decision.
    #[schema(value_type = String, format = Date)]
    pub decided_on: NaiveDate,
    /// The list item relied on.
    pub list_item: String,
}

impl From<ExemptionRow> for ExemptionView {
    fn from(r: ExemptionRow) -> Self {
        ExemptionView {
            id: r.id,
            authority_code: r.authority_code,
            party: r.party,
            decision_no: r.decision_no,
            violation_code: r.violation_code,
            decided_on: r.decided_on,
            list_item: r.list_item,
        }
    }
}

fn issue(pointer: &str, code: &str, detail: String) -> ProblemFieldError {
    ProblemFieldError {
        pointer: pointer.into(),
        code: code.into(),
        detail,
    }
}

fn unprocessable(errors: Vec<ProblemFieldError>) -> ApiError {
    ApiError::Unprocessable {
        code: "invalid_exemption",
        detail: format!(
            "the exemption has {} invalid field(s); see errors",
            errors.len()
        ),
        errors,
    }
}

fn parse_day(text: &str, pointer: &str, today: NaiveDate) -> Result<NaiveDate, ProblemFieldError> {
    let d = crate::normalize::dates::parse_date(text).map_err(|e| {
        issue(
            pointer,
            "invalid_date",
            format!("{text:?}: {e}; expected a date such as 2026-05-01"),
        )
    })?;
    let earliest = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or(NaiveDate::MIN);
    if d > today || d < earliest {
        return Err(issue(
            pointer,
            "date_out_of_range",
            format!("{d}: expected a date from 1990-01-01 to today ({today})"),
        ));
    }
    Ok(d)
}

/// Report a decision not to penalize (首违不罚).
#[utoipa::path(
    operation_id = "report_exemption",
    tag = "first-violations",
    description = "Roles: unit, for itself or a unit below it (a lead: its party). The item \
                   must be on the first-violation list for the unit's party. Stored, never \
                   published, never counted as a penalty. The same decision again answers \
                   200 with the stored exemption; a new one 201. Audited.",
    security(("mtls" = [])),
    request_body(content = ExemptionRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored", body = ExemptionView),
        (status = 200, description = "Already stored", body = ExemptionView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit, or an authority outside your rights", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or an item not on the list", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/exemptions")]
pub async fn report_exemption(
    caller: Caller,
    body: web::Json<ExemptionRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let identity = caller.require(&[Role::Unit])?.clone();
    let me = UnitCode::parse(&identity.code).map_err(|_| ApiError::Internal)?;
    let req = body.into_inner();
    let today = state.clock.today();
    let registry = state.registry();
    let policy = state.policy.clone();
    let mut errors = Vec::new();
    let authority = normalize_uscc(&req.authority)
        .ok()
        .and_then(|u| registry.by_uscc(&u).cloned())
        .or_else(|| registry.by_name(&fold_name(&req.authority)).cloned());
    if authority.is_none() {
        errors.push(issue(
            "/authority",
            "unknown_authority",
            format!(
                "{:?} is not a registered unit; expected the registered name or USCC of a \
                 member unit",
                crate::normalize::issue::excerpt(&req.authority)
            ),
        ));
    }
    let decision_no = fold_decision_no(&req.decision_no);
    if decision_no.is_empty() {
        errors.push(issue(
            "/decision_no",
            "required",
            "expected the decision number".into(),
        ));
    }
    let name = fold_name(&req.subject.name);
    if name.is_empty() {
        errors.push(issue(
            "/subject/name",
            "required",
            "expected the subject's name".into(),
        ));
    }
    let key = match req.subject.kind {
        SubjectKind::NaturalPerson => match req.subject.id_no.as_deref().map(normalize_resident_id)
        {
            Some(Ok(id)) => Some(("resident_id", id)),
            Some(Err(e)) => {
                errors.push(issue("/subject/id_no", "invalid_checksum", e.to_string()));
                None
            }
            None => {
                errors.push(issue(
                    "/subject/id_no",
                    "required",
                    "a natural person is identified by the resident ID (居民身份证号码)".into(),
                ));
                None
            }
        },
        _ => match req.subject.uscc.as_deref().map(normalize_uscc) {
            Some(Ok(u)) => Some(("uscc", u)),
            Some(Err(e)) => {
                errors.push(issue("/subject/uscc", "invalid_checksum", e.to_string()));
                None
            }
            None => {
                errors.push(issue(
                    "/subject/uscc",
                    "required",
                    "an organization or individual business is identified by its USCC".into(),
                ));
                None
            }
        },
    };
    let item = policy.exemptions.get(&req.list_item).cloned();
    match (&item, &authority) {
        (None, _) => errors.push(issue(
            "/list_item",
            "not_on_list",
            format!(
                "{:?} is not an item of the first-violation list; expected one of {}",
                crate::normalize::issue::excerpt(&req.list_item),
                policy
                    .exemptions
                    .items()
                    .iter()
                    .map(|i| i.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        (Some(i), Some(a)) if !i.parties.contains(&a.party) => errors.push(issue(
            "/list_item",
            "not_on_list",
            format!("item {} does not apply in {}", i.id, a.party.code()),
        )),
        _ => {}
    }
    let decided_on = match parse_day(&req.decided_on, "/decided_on", today) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let (Some(authority), Some((kind, id)), Some(item), Some(decided_on), true) =
        (authority, key, item, decided_on, errors.is_empty())
    else {
        return Err(unprocessable(errors));
    };
    if !registry.may_act_for(&me, &authority.code) {
        return Err(ApiError::Forbidden {
            detail: format!(
                "the deciding authority {} is not you or a unit below you; nothing was stored",
                authority.code
            ),
        });
    }
    let key_value = if kind == "resident_id" {
        state
            .pii
            .blind_index(KIND_RESIDENT_ID, &id)
            .map_err(|_| ApiError::Internal)?
    } else {
        id.clone()
    };
    let mut detail = serde_json::json!({
        "decision_no": req.decision_no,
        "authority": req.authority,
        "subject": {"name": req.subject.name, "kind": req.subject.kind, "uscc": req.subject.uscc,
                    "id_no": req.subject.id_no},
        "list_item": req.list_item,
        "decided_on": req.decided_on,
        "violation_type": req.violation_type,
        "facts": req.facts,
    });
    crate::service::sealing::seal_pointers(&state.pii, &mut detail, &["/subject/id_no".to_owned()])
        .map_err(|_| ApiError::Internal)?;
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{}\n{decision_no}", authority.code.as_str()).as_bytes(),
    );
    let short: Vec<u8> = digest.as_ref().iter().take(10).copied().collect();
    let row = ExemptionRow {
        id: format!("exm_{}", hex::encode(short)),
        authority_code: authority.code.to_string(),
        party: authority.party.code().to_owned(),
        decision_no,
        subject_key_kind: kind.to_owned(),
        subject_key_value: key_value,
        subject_kind: req.subject.kind.as_str().to_owned(),
        subject_name: name,
        violation_code: item.violation_type.clone(),
        violation_type: req.violation_type.unwrap_or_else(|| item.title.clone()),
        decided_on,
        list_item: item.id.clone(),
        detail_json: detail.to_string(),
        created_by: identity.actor(),
        created_at: store::now_utc(),
    };
    let (created, stored) = state
        .db(move |c| {
            store::conn::write_tx(c, |c| -> Result<(bool, ExemptionRow), StoreError> {
                if let Some(existing) = store::exemptions::find(c, &row.id)? {
                    return Ok((false, existing));
                }
                store::exemptions::insert(c, &row)?;
                store::audit::append(
                    c,
                    &store::audit::NewAudit {
                        actor: &row.created_by,
                        action: "exemption.report",
                        target: &row.id,
                        detail: &serde_json::json!({ "list_item": row.list_item }).to_string(),
                    },
                )?;
                Ok((true, row.clone()))
            })
        })
        .await?;
    let view = ExemptionView::from(stored);
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Query of the first-violation check.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FirstViolationQuery {
    /// The subject's USCC (organizations, individual businesses).
    #[param(example = "91310106MA1FL0XX0X")]
    pub uscc: Option<String>,
    /// The subject's resident ID (natural persons). Never logged; compared by its keyed
    /// blind index only.
    pub id_no: Option<String>,
    /// A catalogue code (`road_occupation_business`) or a violation type as written.
    #[param(example = "road_occupation_business")]
    pub violation_type: String,
    /// The day of the new violation (default: today).
    #[param(example = "2026-11-01")]
    pub on: Option<String>,
}

/// A penalty found by the check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PriorPenalty {
    /// Record id.
    pub record_id: String,
    /// Deciding authority.
    pub authority_code: String,
    /// Its party.
    pub party: String,
    /// 处罚决定日期.
    #[schema(value_type = String, format = Date)]
    pub decision_date: NaiveDate,
    /// The violation as written.
    pub violation_type: String,
}

/// The answer of the first-violation check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FirstViolationAnswer {
    /// True when nothing of the same type was found in the window: a first violation.
    pub first: bool,
    /// The catalogue code compared.
    pub violation_type: String,
    /// Start of the look-back window.
    #[schema(value_type = String, format = Date)]
    pub window_from: NaiveDate,
    /// Its end (the day asked about).
    #[schema(value_type = String, format = Date)]
    pub window_to: NaiveDate,
    /// Penalties of the same type in the window, in all four parties (revoked ones left out).
    pub penalties: Vec<PriorPenalty>,
    /// Exemptions of the same type in the window.
    pub exemptions: Vec<ExemptionView>,
}

/// Has this subject violated before? (首违不罚 check)
#[utoipa::path(
    operation_id = "first_violation",
    tag = "first-violations",
    description = "Roles: unit, analyst, operator. Give exactly one of `uscc` and `id_no`. \
                   Looks back `lookback_months` (config/exemptions.toml; 24 by default) from \
                   `on` across the four parties for penalties (not revoked) and exemptions of \
                   the same catalogue type. The answer names no person.",
    security(("mtls" = []), ("api_key" = [])),
    params(FirstViolationQuery),
    responses(
        (status = 200, description = "The answer", body = FirstViolationAnswer),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/first-violation")]
pub async fn first_violation(
    query: web::Query<FirstViolationQuery>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<FirstViolationAnswer>, ApiError> {
    let identity = caller
        .require(&[Role::Unit, Role::Analyst, Role::Operator])?
        .clone();
    let q = query.into_inner();
    let bad = |detail: String| ApiError::BadRequest {
        code: "invalid_query",
        detail,
    };
    let today = state.clock.today();
    let on = match q.on.as_deref() {
        None => today,
        Some(t) => parse_day(t, "on", today).map_err(|e| bad(format!("on: {}", e.detail)))?,
    };
    let policy = state.policy.clone();
    let party = identity.party.unwrap_or(Party::Shanghai);
    let code = match policy.catalog.get(q.violation_type.trim()) {
        Some(t) => t.code.clone(),
        None => match policy.catalog.map(party, &q.violation_type) {
            Some((t, _)) => t.code.clone(),
            None => {
                return Err(bad(format!(
                    "violation_type {:?} is neither a catalogue code nor a type the catalogue \
                     maps; expected one of {}",
                    crate::normalize::issue::excerpt(&q.violation_type),
                    policy
                        .catalog
                        .types()
                        .iter()
                        .map(|t| t.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        },
    };
    let (uscc, id_index) = match (q.uscc.as_deref(), q.id_no.as_deref()) {
        (Some(u), None) => (
            Some(normalize_uscc(u).map_err(|e| bad(format!("uscc: {e}")))?),
            None,
        ),
        (None, Some(i)) => {
            let id = normalize_resident_id(i).map_err(|e| bad(format!("id_no: {e}")))?;
            let idx = state
                .pii
                .blind_index(KIND_RESIDENT_ID, &id)
                .map_err(|_| ApiError::Internal)?;
            (None, Some(idx))
        }
        _ => return Err(bad("give exactly one of uscc and id_no".into())),
    };
    let from = on
        .checked_sub_months(Months::new(policy.exemptions.lookback_months))
        .unwrap_or(NaiveDate::MIN);
    let compared = code.clone();
    let (penalties, exemptions) = state
        .db(move |c| {
            let records =
                store::exemptions::penalties_of(c, uscc.as_deref(), id_index.as_deref(), from, on)?;
            let (kind, value) = match (&uscc, &id_index) {
                (Some(u), _) => ("uscc", u.clone()),
                (_, Some(i)) => ("resident_id", i.clone()),
                _ => ("uscc", String::new()),
            };
            let exemptions = store::exemptions::of_subject(c, kind, &value, from, on)?;
            Ok((records, exemptions))
        })
        .await?;
    let penalties: Vec<PriorPenalty> = penalties
        .into_iter()
        .filter(|r| {
            crate::normalize::violation::comparison_key(
                r.violation_code.as_deref(),
                &r.violation_type,
            ) == compared
        })
        .map(|r| PriorPenalty {
            record_id: r.id,
            authority_code: r.authority_code,
            party: r.party,
            decision_date: r.decision_date,
            violation_type: r.violation_type,
        })
        .collect();
    let exemptions: Vec<ExemptionView> = exemptions
        .into_iter()
        .filter(|e| e.violation_code == compared)
        .map(Into::into)
        .collect();
    Ok(web::Json(FirstViolationAnswer {
        first: penalties.is_empty() && exemptions.is_empty(),
        violation_type: code,
        window_from: from,
        window_to: on,
        penalties,
        exemptions,
    }))
}
