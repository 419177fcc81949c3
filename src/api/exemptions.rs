//! First violations (首违不罚, Administrative Penalty Law art. 33): units report their decisions
//! not to penalize, and ask, before deciding, whether a subject has violated before anywhere in
//! the four parties.
//!
//! Roles: units report exemptions for themselves and the units below them; units, analysts and
//! operators run the check. Exemptions are never published and never count as penalties.

use super::auth::Caller;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::crypto::pii::KIND_RESIDENT_ID;
use crate::domain::party::{Party, Role};
use crate::normalize::ids::{normalize_resident_id, normalize_uscc};
use crate::service::exemptions::parse_day;
use crate::store;
use crate::store::exemptions::ExemptionRow;
use actix_web::{HttpResponse, get, post, web};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use crate::service::exemptions::{ExemptionRequest, ExemptionSubject};

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
    let (identity, me) = caller.require_unit()?;
    let (identity, me) = (identity.clone(), me.clone());
    let registry = state.registry();
    let policy = state.policy.clone();
    let pii = state.pii.clone();
    let today = state.clock.today();
    let req = body.into_inner();
    let (created, stored) = state
        .call(move |c| {
            let by = crate::service::exemptions::Reporter {
                unit: &me,
                actor: &identity.actor(),
                today,
            };
            crate::service::exemptions::report(c, &registry, &policy, &pii, &by, req)
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
        (status = 400, description = "Malformed query string (an unknown parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameters: each named with the value seen and what was expected", body = Problem, content_type = "application/problem+json"),
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
    let question = read_question(&state, &identity, query.into_inner())?;
    Ok(web::Json(look_back(&state, question).await?))
}

/// A first-violation question, read and checked.
struct Question {
    /// The catalogue code asked about.
    code: String,
    /// The subject: a normalized USCC, or the blind index of a resident ID.
    uscc: Option<String>,
    id_index: Option<String>,
    /// The day asked about; the window ends on it.
    on: NaiveDate,
}

/// Reads the query: the day (default today), the violation type (a catalogue code, or a type
/// the catalogue maps for the caller's party), exactly one of `uscc` and `id_no`. Each bad
/// parameter is a 422 naming it.
fn read_question(
    state: &AppState,
    identity: &super::auth::Identity,
    q: FirstViolationQuery,
) -> Result<Question, ApiError> {
    let bad = |param: &str, detail: String| {
        super::params::Params::one_with_detail(param, "invalid_value", detail)
    };
    let today = state.clock.today();
    let on = match q.on.as_deref() {
        None => today,
        Some(t) => parse_day(t, "on", today).map_err(|e| bad("on", format!("on: {}", e.detail)))?,
    };
    let policy = &state.policy;
    let party = identity.party.unwrap_or(Party::Shanghai);
    let code = match policy.catalog.get(q.violation_type.trim()) {
        Some(t) => t.code.clone(),
        None => match policy.catalog.map(party, &q.violation_type) {
            Some((t, _)) => t.code.clone(),
            None => {
                return Err(bad(
                    "violation_type",
                    format!(
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
                    ),
                ));
            }
        },
    };
    let (uscc, id_index) = match (q.uscc.as_deref(), q.id_no.as_deref()) {
        (Some(u), None) => (
            Some(normalize_uscc(u).map_err(|e| bad("uscc", format!("uscc: {e}")))?),
            None,
        ),
        (None, Some(i)) => {
            let id = normalize_resident_id(i).map_err(|e| bad("id_no", format!("id_no: {e}")))?;
            let idx = state
                .pii
                .blind_index(KIND_RESIDENT_ID, &id)
                .map_err(ApiError::internal)?;
            (None, Some(idx))
        }
        _ => return Err(bad("uscc", "give exactly one of uscc and id_no".into())),
    };
    Ok(Question {
        code,
        uscc,
        id_index,
        on,
    })
}

/// The subject's penalties and exemptions of the same type in the look-back window before
/// `on`, in every party.
async fn look_back(state: &AppState, question: Question) -> Result<FirstViolationAnswer, ApiError> {
    let Question {
        code,
        uscc,
        id_index,
        on,
    } = question;
    let from = on
        .checked_sub_months(Months::new(state.policy.exemptions.lookback_months))
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
    Ok(FirstViolationAnswer {
        first: penalties.is_empty() && exemptions.is_empty(),
        violation_type: code,
        window_from: from,
        window_to: on,
        penalties,
        exemptions,
    })
}
