//! First-violation exemptions (首违不罚): a unit reports a decision not to penalize an item of
//! the first-violation list. Stored and audited, never published, never counted as a penalty.

use super::error::{Error, Result};
use crate::crypto::pii::{KIND_RESIDENT_ID, PiiKeyring};
use crate::domain::record::SubjectKind;
use crate::domain::registry::Registry;
use crate::domain::unit::UnitCode;
use crate::normalize::FieldIssue;
use crate::normalize::decision_no::fold_decision_no;
use crate::normalize::ids::{normalize_resident_id, normalize_uscc};
use crate::normalize::text::fold_name;
use crate::service::policy::PolicySet;
use crate::store::exemptions::ExemptionRow;
use crate::store::{self, Conn};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

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

/// Who reports, and on what day.
#[derive(Debug, Clone)]
pub struct Reporter<'a> {
    /// The reporting unit (from its certificate).
    pub unit: &'a UnitCode,
    /// The actor written to the audit chain.
    pub actor: &'a str,
    /// Today in Asia/Shanghai.
    pub today: NaiveDate,
}

fn issue(pointer: &str, code: &str, detail: String) -> FieldIssue {
    FieldIssue {
        pointer: pointer.into(),
        code: code.into(),
        detail,
    }
}

fn unprocessable(errors: Vec<FieldIssue>) -> Error {
    Error::Invalid {
        code: "invalid_exemption",
        detail: format!(
            "the exemption has {} invalid field(s); see errors",
            errors.len()
        ),
        errors,
    }
}

/// A date of an exemption: parsed, not after `today` nor before 1990.
pub fn parse_day(text: &str, pointer: &str, today: NaiveDate) -> Result<NaiveDate, FieldIssue> {
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

/// Validates and stores an exemption; `false` with the stored one when the same decision was
/// reported before. Every field error is reported at once (422); an authority outside the
/// reporter's rights is 403. Nothing is written unless everything holds.
pub fn report(
    conn: &mut Conn,
    registry: &Registry,
    policy: &PolicySet,
    pii: &PiiKeyring,
    by: &Reporter<'_>,
    req: ExemptionRequest,
) -> Result<(bool, ExemptionRow)> {
    let today = by.today;
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
    if !registry.may_act_for(by.unit, &authority.code) {
        return Err(Error::forbidden(format!(
            "the deciding authority {} is not you or a unit below you; nothing was stored",
            authority.code
        )));
    }
    let key_value = if kind == "resident_id" {
        pii.blind_index(KIND_RESIDENT_ID, &id)
            .map_err(|e| Error::Internal(format!("blind index: {e}")))?
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
    super::sealing::seal_pointers(pii, &mut detail, &["/subject/id_no".to_owned()])
        .map_err(|e| Error::Internal(format!("sealing: {e}")))?;
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
        created_by: by.actor.to_owned(),
        created_at: store::now_utc(),
    };
    store::conn::write_tx(conn, |c| -> Result<(bool, ExemptionRow)> {
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
}
