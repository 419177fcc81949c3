//! Analysts' queries: `GET /v1/records` (filtered, counted, keyset-paged) and
//! `GET /v1/subjects?q=` (folded name or USCC prefix).
//!
//! Roles: analysts and operators see every record; a unit sees the records it may act for
//! (itself and the units below it; a provincial lead its whole party), the same rule
//! `Registry::may_act_for` applies to pushes and revocations. ID numbers are revealed exactly as
//! `GET /v1/records/{id}` reveals them: in clear to the deciding unit only, masked for everyone
//! else. Subjects are region-wide, as `GET /v1/subjects/{key}` shows them to every reader.
//!
//! Every filter is parsed here from text, so a bad value answers 422 naming the parameter, the
//! value seen and what was expected, never a 500.

use super::auth::{Caller, Identity};
use super::params::Params;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::domain::party::{Party, Role};
use crate::domain::record::PenaltyCategory;
use crate::domain::registry::Registry;
use crate::domain::unit::UnitCode;
use crate::service::sealing::{Reveal, reveal};
use crate::store::queries::{Keyset, Order, RecordFilter, RecordState, SubjectSearch};
use crate::store::{self, StoreError};
use actix_web::{get, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// Largest page of `GET /v1/records`.
pub const MAX_RECORDS_LIMIT: u32 = 500;
/// Default page of `GET /v1/records`.
pub const DEFAULT_RECORDS_LIMIT: u32 = 50;
/// Largest page of `GET /v1/subjects`.
pub const MAX_SUBJECTS_LIMIT: u32 = 100;

/// A party code as the spec names it.
#[derive(ToSchema)]
pub enum PartyCode {
    /// 上海 Shanghai.
    SH,
    /// 江苏 Jiangsu.
    JS,
    /// 浙江 Zhejiang.
    ZJ,
    /// 安徽 Anhui.
    AH,
}

/// The derived status a record can be filtered by.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum RecordStatusFilter {
    /// Not revoked and still public (publicity not over, not repaired).
    Active,
    /// Revoked.
    Revoked,
    /// Corrected at least once (more than one version).
    Corrected,
    /// In a jurisdiction conflict (winner, loser or both standing).
    Conflict,
    /// Not revoked, publicity over or ended early by credit repair.
    Expired,
}

/// Sort order of `GET /v1/records`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum RecordSort {
    /// Newest decision first (default); ties by id, descending.
    DecisionDateDesc,
    /// Oldest decision first; ties by id, ascending.
    DecisionDateAsc,
}

/// Filters of `GET /v1/records`. Every parameter is optional; together they narrow (AND).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecordQuery {
    /// Party of the deciding authority.
    #[param(value_type = Option<PartyCode>, example = "SH")]
    pub party: Option<String>,
    /// Deciding authority (unit code); with `descendants=true` also every unit below it.
    #[param(value_type = Option<String>, example = "SH-310106", max_length = 64)]
    pub unit: Option<String>,
    /// With `unit`: include the units below it at any depth (default `false`).
    #[param(value_type = Option<bool>, example = true)]
    pub descendants: Option<String>,
    /// Subject id (`sub_…`); records of weak subjects linked to it are included.
    #[param(value_type = Option<String>, example = "sub_0a1b2c3d4e5f60718293", max_length = 64)]
    pub subject: Option<String>,
    /// The subject's unified social credit code (统一社会信用代码), checksum checked.
    #[param(value_type = Option<String>, example = "91310106MA1FL0A01X", max_length = 18)]
    pub uscc: Option<String>,
    /// 违法行为类型 as the unit gave it (compared after text folding).
    #[param(value_type = Option<String>, example = "未经许可运输建筑垃圾", max_length = 200)]
    pub violation_type: Option<String>,
    /// The record's violation-type catalogue code (`GET /v1/catalog` lists them).
    #[param(value_type = Option<String>, example = "road_occupation_business", max_length = 64)]
    pub violation_code: Option<String>,
    /// A catalogue group (`construction_waste`, `city_appearance`, …): records of any of its
    /// types.
    #[param(value_type = Option<String>, example = "construction_waste", max_length = 64)]
    pub violation_group: Option<String>,
    /// A penalty category the record holds (art. 9).
    #[param(value_type = Option<crate::domain::record::PenaltyCategory>, example = "fine")]
    pub category: Option<String>,
    /// Decision date (处罚决定日期) from, inclusive.
    #[param(value_type = Option<String>, format = Date, example = "2025-01-01")]
    pub decided_from: Option<String>,
    /// Decision date to, inclusive.
    #[param(value_type = Option<String>, format = Date, example = "2025-12-31")]
    pub decided_to: Option<String>,
    /// Fine at least, in fen (分); records without a fine are left out.
    #[param(value_type = Option<i64>, minimum = 0, example = 100000)]
    pub fine_min_fen: Option<String>,
    /// Fine at most, in fen (分); records without a fine are left out.
    #[param(value_type = Option<i64>, minimum = 0, example = 5000000)]
    pub fine_max_fen: Option<String>,
    /// `active`, `revoked`, `corrected`, `conflict` or `expired`.
    #[param(value_type = Option<RecordStatusFilter>, example = "active")]
    pub status: Option<String>,
    /// `decision_date_desc` (default) or `decision_date_asc`.
    #[param(value_type = Option<RecordSort>, example = "decision_date_desc")]
    pub sort: Option<String>,
    /// Cursor: the `next_cursor` of the previous page (same `sort`).
    #[param(value_type = Option<String>, example = "ZHwyMDI1LTAzLTIwfHJlY18wMTIz", max_length = 200)]
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, example = 50)]
    pub limit: Option<String>,
}

/// One record in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordItem {
    /// Stable id (`rec_…`).
    pub id: String,
    /// Deciding authority (unit code).
    pub authority_code: String,
    /// Its registered name.
    pub authority_name: String,
    /// Its party.
    pub party: String,
    /// Normalized decision number.
    pub decision_no: String,
    /// 处罚决定日期.
    #[schema(value_type = String, format = Date)]
    pub decision_date: chrono::NaiveDate,
    /// Violation type as given (folded).
    pub violation_type: String,
    /// Its place in the violation-type catalogue (absent: unmapped).
    pub classification: Option<Classified>,
    /// Fine in fen.
    pub fine_fen: Option<i64>,
    /// `active` or `revoked` (as stored).
    pub status: String,
    /// Current version (more than 1: corrected).
    pub version: i64,
    /// 公示截止期.
    #[schema(value_type = String, format = Date)]
    pub publicity_until: chrono::NaiveDate,
    /// The resolved subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    /// The jurisdiction conflict the record is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_id: Option<String>,
    /// Its role there: `winner`, `loser` or `stands`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_role: Option<String>,
    /// The current canonical record (ID numbers masked unless you decided it).
    #[schema(value_type = Object)]
    pub record: Value,
}

/// Where a record sits in the violation-type catalogue (`config/catalog.toml`); absent when its
/// type is unmapped (compared across parties by its exact text only).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Classified {
    /// The catalogue code (`road_occupation_business`).
    pub violation_code: String,
    /// Its group, as the joint-discipline rules name it (`city_appearance`).
    pub violation_group: String,
    /// The catalogue's Chinese name of the type.
    pub violation_name: String,
    /// How the record was matched: `legal_basis`, `party_mapping`, `alias` or `keyword`.
    pub matched_by: String,
    /// The catalogue's provision that matched the record's 处罚依据 (`matched_by` =
    /// `legal_basis`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provision: Option<String>,
}

impl Classified {
    /// The classification stored with a record, named from the catalogue; `None` when the
    /// record is unmapped (or its code left the catalogue, until `penex catalog apply`).
    pub fn of(
        catalog: &crate::normalize::Catalog,
        code: Option<&str>,
        matched_by: Option<&str>,
        provision: Option<&str>,
    ) -> Option<Classified> {
        let t = catalog.get(code?)?;
        Some(Classified {
            violation_code: t.code.clone(),
            violation_group: t.group.clone(),
            violation_name: t.name.clone(),
            matched_by: matched_by.unwrap_or_default().to_owned(),
            provision: provision.map(str::to_owned),
        })
    }

    /// The classification of a stored record.
    pub fn of_row(
        catalog: &crate::normalize::Catalog,
        r: &crate::store::records::RecordRow,
    ) -> Option<Classified> {
        Classified::of(
            catalog,
            r.violation_code.as_deref(),
            r.violation_matched_by.as_deref(),
            r.violation_provision.as_deref(),
        )
    }
}

/// A page of records.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordPage {
    /// The records of this page.
    pub items: Vec<RecordItem>,
    /// How many records match the filters (all pages).
    pub total: i64,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn encode_cursor(order: Order, k: &Keyset) -> String {
    let dir = match order {
        Order::Asc => 'a',
        Order::Desc => 'd',
    };
    URL_SAFE_NO_PAD.encode(format!("{dir}|{}|{}", k.decision_date, k.id))
}

fn decode_cursor(s: &str) -> Option<(Order, Keyset)> {
    let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, '|');
    let order = match parts.next()? {
        "a" => Order::Asc,
        "d" => Order::Desc,
        _ => return None,
    };
    let decision_date = parse_date(parts.next()?)?;
    let id = parts.next()?.to_owned();
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    Some((order, Keyset { decision_date, id }))
}

/// The deciding authorities a caller may see records of; `None` for all.
pub fn visible_authorities(
    registry: &Registry,
    identity: &Identity,
) -> Result<Option<Vec<String>>, ApiError> {
    match identity.role {
        Role::Analyst | Role::Operator => Ok(None),
        Role::Unit => {
            let me = identity.unit.as_ref().ok_or_else(|| {
                ApiError::internal(format!("unit {} without a parsed code", identity.code))
            })?;
            Ok(Some(
                registry
                    .units()
                    .filter(|u| registry.may_act_for(me, &u.code))
                    .map(|u| u.code.to_string())
                    .collect(),
            ))
        }
        _ => Err(ApiError::Forbidden {
            detail: format!(
                "records are for units, analysts and operators; you are {}",
                identity.role.as_str()
            ),
        }),
    }
}

struct Parsed {
    filter: RecordFilter,
    order: Order,
    after: Option<Keyset>,
    limit: u32,
}

fn parse_record_query(
    q: &RecordQuery,
    registry: &Registry,
    catalog: &crate::normalize::Catalog,
    visible: Option<Vec<String>>,
    today: chrono::NaiveDate,
) -> Result<Parsed, ApiError> {
    let mut bad = Params::new();
    let party = bad.parse(
        "party",
        q.party.as_deref(),
        "invalid_party",
        "one of SH, JS, ZJ, AH",
        |s| s.parse::<Party>().ok(),
    );
    let descendants = bad
        .parse(
            "descendants",
            q.descendants.as_deref(),
            "invalid_boolean",
            "true or false",
            |s| match s {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
        )
        .unwrap_or(false);
    let unit = bad.parse(
        "unit",
        q.unit.as_deref(),
        "unknown_unit",
        "the code of a registered unit, e.g. SH-310106",
        |s| {
            UnitCode::parse(s)
                .ok()
                .filter(|c| registry.get(c).is_some())
        },
    );
    if descendants && q.unit.is_none() {
        bad.add(
            "descendants",
            "requires_unit",
            "true",
            "`descendants` only together with `unit`",
        );
    }
    let uscc = bad.parse(
        "uscc",
        q.uscc.as_deref(),
        "invalid_uscc",
        "an 18-character unified social credit code with a valid check character",
        |s| crate::normalize::ids::normalize_uscc(s).ok(),
    );
    let subject = bad.parse(
        "subject",
        q.subject.as_deref(),
        "invalid_subject",
        "a subject id (`sub_…`)",
        |s| {
            (s.starts_with("sub_")
                && s.len() <= 64
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .then(|| s.to_owned())
        },
    );
    let violation_code = bad.parse(
        "violation_code",
        q.violation_code.as_deref(),
        "unknown_violation_code",
        "a code of the violation-type catalogue, e.g. road_occupation_business",
        |s| catalog.get(s.trim()).map(|t| vec![t.code.clone()]),
    );
    let violation_group = bad.parse(
        "violation_group",
        q.violation_group.as_deref(),
        "unknown_violation_group",
        "a group of the violation-type catalogue, e.g. construction_waste",
        |s| {
            let codes: Vec<String> = catalog
                .types()
                .iter()
                .filter(|t| t.group == s.trim())
                .map(|t| t.code.clone())
                .collect();
            (!codes.is_empty()).then_some(codes)
        },
    );
    let violation_codes = match (violation_code, violation_group) {
        (Some(a), Some(b)) => Some(a.into_iter().filter(|c| b.contains(c)).collect()),
        (a, b) => a.or(b),
    };
    let violation_type = bad.parse(
        "violation_type",
        q.violation_type.as_deref(),
        "invalid_violation_type",
        "a violation type (1 to 200 characters)",
        |s| {
            let f = crate::normalize::text::fold_text(s);
            (!f.is_empty() && f.chars().count() <= 200).then_some(f)
        },
    );
    let category = bad.parse(
        "category",
        q.category.as_deref(),
        "invalid_category",
        "a category name such as fine, warning, revoke_licence",
        |s| {
            PenaltyCategory::ALL
                .into_iter()
                .find(|c| c.as_str() == s)
                .map(|c| c.as_str().to_owned())
        },
    );
    let date = "a date YYYY-MM-DD";
    let decided_from = bad.parse(
        "decided_from",
        q.decided_from.as_deref(),
        "invalid_date",
        date,
        parse_date,
    );
    let decided_to = bad.parse(
        "decided_to",
        q.decided_to.as_deref(),
        "invalid_date",
        date,
        parse_date,
    );
    if let (Some(f), Some(t)) = (decided_from, decided_to)
        && f > t
    {
        bad.add(
            "decided_to",
            "empty_range",
            &t.to_string(),
            &format!("a date on or after decided_from ({f})"),
        );
    }
    let fen = "a whole number of fen, 0 or more";
    let amount = |s: &str| s.parse::<i64>().ok().filter(|n| *n >= 0);
    let fine_min = bad.parse(
        "fine_min_fen",
        q.fine_min_fen.as_deref(),
        "invalid_amount",
        fen,
        amount,
    );
    let fine_max = bad.parse(
        "fine_max_fen",
        q.fine_max_fen.as_deref(),
        "invalid_amount",
        fen,
        amount,
    );
    if let (Some(lo), Some(hi)) = (fine_min, fine_max)
        && lo > hi
    {
        bad.add(
            "fine_max_fen",
            "empty_range",
            &hi.to_string(),
            &format!("an amount of at least fine_min_fen ({lo})"),
        );
    }
    let state = bad.parse(
        "status",
        q.status.as_deref(),
        "invalid_status",
        "one of active, revoked, corrected, conflict, expired",
        |s| match s {
            "active" => Some(RecordState::Active),
            "revoked" => Some(RecordState::Revoked),
            "corrected" => Some(RecordState::Corrected),
            "conflict" => Some(RecordState::Conflict),
            "expired" => Some(RecordState::Expired),
            _ => None,
        },
    );
    let order = bad
        .parse(
            "sort",
            q.sort.as_deref(),
            "invalid_sort",
            "decision_date_desc or decision_date_asc",
            |s| match s {
                "decision_date_desc" => Some(Order::Desc),
                "decision_date_asc" => Some(Order::Asc),
                _ => None,
            },
        )
        .unwrap_or(Order::Desc);
    let after = bad.parse(
        "cursor",
        q.cursor.as_deref(),
        "invalid_cursor",
        "the next_cursor of a previous page",
        decode_cursor,
    );
    let after = match after {
        Some((o, k)) if o == order => Some(k),
        Some(_) => {
            bad.add(
                "cursor",
                "cursor_sort_mismatch",
                q.cursor.as_deref().unwrap_or_default(),
                "a cursor from a page with the same sort",
            );
            None
        }
        None => None,
    };
    let limit = bad
        .parse(
            "limit",
            q.limit.as_deref(),
            "invalid_limit",
            "a whole number from 1 to 500",
            |s| {
                s.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_RECORDS_LIMIT).contains(n))
            },
        )
        .unwrap_or(DEFAULT_RECORDS_LIMIT);
    bad.finish()?;
    let by_unit = unit.map(|u| {
        let mut codes = vec![u.to_string()];
        if descendants {
            codes.extend(registry.descendants(&u).iter().map(|d| d.code.to_string()));
        }
        codes
    });
    let authorities = match (visible, by_unit) {
        (None, x) | (x, None) => x,
        (Some(v), Some(u)) => Some(u.into_iter().filter(|c| v.contains(c)).collect()),
    };
    Ok(Parsed {
        filter: RecordFilter {
            authorities,
            party: party.map(|p| p.code().to_owned()),
            subject_ids: subject.map(|s| vec![s]),
            uscc,
            violation_type,
            violation_codes,
            category,
            decided_from,
            decided_to,
            fine_min,
            fine_max,
            state,
            today: Some(today),
        },
        order,
        after,
        limit,
    })
}

/// Records, filtered, sorted by decision date, with a keyset cursor and the total count.
#[utoipa::path(
    operation_id = "list_records",
    tag = "records",
    description = "Roles: unit (the records it may act for: itself and the units below it; a \
                   provincial lead its whole party), analyst, operator (all records). Filters \
                   combine with AND. Sorted by decision date, ties by id; the cursor is a \
                   keyset position, so records stored while you page never make a page repeat \
                   or skip a record. `total` counts every record matching the filters. ID \
                   numbers are masked unless you are the deciding unit. A bad value answers \
                   422 naming the parameter, the value seen and what was expected.",
    security(("mtls" = []), ("api_key" = [])),
    params(RecordQuery),
    responses(
        (status = 200, description = "A page of records", body = RecordPage),
        (status = 400, description = "Malformed query string (unknown or repeated parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter has a bad value", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/records")]
pub async fn list_records(
    query: web::Query<RecordQuery>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<RecordPage>, ApiError> {
    let identity = caller
        .require(&[Role::Unit, Role::Analyst, Role::Operator])?
        .clone();
    let registry = state.registry();
    let visible = visible_authorities(&registry, &identity)?;
    let Parsed {
        filter,
        order,
        after,
        limit,
    } = parse_record_query(
        &query.into_inner(),
        &registry,
        &state.policy.catalog,
        visible,
        state.clock.today(),
    )?;
    let (rows, total, more) = state
        .db(move |c| read_page(c, filter, order, after, limit))
        .await?;
    let me = match identity.role {
        Role::Unit => Some(identity.code.clone()),
        _ => None,
    };
    let next_cursor = if more {
        rows.last().map(|r| {
            encode_cursor(
                order,
                &Keyset {
                    decision_date: r.decision_date,
                    id: r.id.clone(),
                },
            )
        })
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|r| record_item(&state, &registry, me.as_deref(), r))
        .collect();
    Ok(web::Json(RecordPage {
        items,
        total,
        next_cursor,
    }))
}

/// One page of records (a subject filter widened to the subjects linked to it), the total
/// over all pages, and whether more follow.
fn read_page(
    c: &mut store::Conn,
    mut filter: RecordFilter,
    order: Order,
    after: Option<Keyset>,
    limit: u32,
) -> Result<(Vec<store::records::RecordRow>, i64, bool), StoreError> {
    if let Some(ids) = filter.subject_ids.take() {
        let mut all = Vec::new();
        for id in ids {
            all.extend(store::queries::subject_with_linked(c, &id)?);
        }
        filter.subject_ids = Some(all);
    }
    let total = store::queries::count_records(c, &filter)?;
    let mut rows =
        store::queries::list_records(c, &filter, order, after.as_ref(), i64::from(limit) + 1)?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok((rows, total, more))
}

/// A stored record as a list item: ID numbers in clear for its deciding unit (`me`), masked
/// for everyone else.
fn record_item(
    state: &AppState,
    registry: &Registry,
    me: Option<&str>,
    r: store::records::RecordRow,
) -> RecordItem {
    let how = if me == Some(r.authority_code.as_str()) {
        Reveal::Clear
    } else {
        Reveal::Masked
    };
    let mut record = serde_json::from_str(&r.canonical_json).unwrap_or(Value::Null);
    reveal(&state.pii, &mut record, how);
    RecordItem {
        classification: Classified::of_row(&state.policy.catalog, &r),
        authority_name: UnitCode::parse(&r.authority_code)
            .ok()
            .and_then(|c| registry.get(&c).map(|u| u.name.clone()))
            .unwrap_or_default(),
        id: r.id,
        authority_code: r.authority_code,
        party: r.party,
        decision_no: r.decision_no,
        decision_date: r.decision_date,
        violation_type: r.violation_type,
        fine_fen: r.fine_fen,
        status: r.status,
        version: r.version,
        publicity_until: r.publicity_until,
        subject_id: r.subject_id,
        conflict_id: r.conflict_id,
        conflict_role: r.conflict_role,
        record,
    }
}

/// Query of `GET /v1/subjects`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SubjectQuery {
    /// A name fragment (folded like stored names: NFKC, brackets unified, spaces removed)
    /// matched against every name a subject was seen under, or the start of a USCC.
    #[param(value_type = String, min_length = 1, max_length = 100, example = "上海测试建筑")]
    pub q: String,
    /// Cursor: the `next_after` of the previous page.
    #[param(value_type = Option<String>, example = "sub_0a1b2c3d4e5f60718293", max_length = 64)]
    pub after: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
}

/// A subject found by a search.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectHit {
    /// Stable id (`sub_…`).
    pub id: String,
    /// What it is resolved by: uscc, resident_id, id_document, org_code, registration_no, weak.
    pub key_kind: String,
    /// The identifier for USCCs, organization codes and registration numbers; identity
    /// documents are never shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Whether the key identifies the subject for certain.
    pub strong: bool,
    /// legal_person, natural_person or individual_business.
    pub kind: String,
    /// Party where first seen.
    pub party: String,
    /// The names it was seen under (folded), first seen first.
    pub names: Vec<String>,
    /// For a weak subject: the strong subject it is linked to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_to: Option<String>,
}

/// A page of subjects.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectPage {
    /// Subjects by id.
    pub items: Vec<SubjectHit>,
    /// How many subjects the search finds (all pages).
    pub total: i64,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

fn uscc_prefix(q: &str) -> Option<String> {
    let up = crate::normalize::text::fold_code(q);
    (!up.is_empty() && up.len() <= 18 && up.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(up)
}

/// Search subjects by name or USCC prefix.
#[utoipa::path(
    operation_id = "search_subjects",
    tag = "subjects",
    description = "Roles: unit, analyst, operator. `q` is folded like stored names (NFKC, \
                   brackets unified, whitespace removed) and matched anywhere in every name a \
                   subject was seen under; when it looks like the start of a USCC (letters and \
                   digits only), subjects whose USCC starts with it are found too. Sorted by \
                   id; cursor pagination with `after`.",
    security(("mtls" = []), ("api_key" = [])),
    params(SubjectQuery),
    responses(
        (status = 200, description = "A page of subjects", body = SubjectPage),
        (status = 400, description = "Malformed query string (missing `q`, unknown parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter has a bad value", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/subjects")]
pub async fn search_subjects(
    query: web::Query<SubjectQuery>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<SubjectPage>, ApiError> {
    caller.require(&[Role::Unit, Role::Analyst, Role::Operator])?;
    let q = query.into_inner();
    let mut bad = Params::new();
    let name = crate::normalize::text::fold_name(&q.q);
    if name.is_empty() || q.q.chars().count() > 100 {
        bad.add(
            "q",
            "invalid_search",
            &q.q,
            "1 to 100 characters that are not all whitespace",
        );
    }
    let limit = bad.limit(q.limit.as_deref(), 20, MAX_SUBJECTS_LIMIT);
    let after = bad.id_after(q.after.as_deref(), "a subject id (`sub_…`)");
    bad.finish()?;
    let search = SubjectSearch {
        uscc_prefix: uscc_prefix(&q.q),
        name: Some(name),
    };
    let page = state
        .db(move |c| subject_page(c, &search, after.as_deref(), limit))
        .await?;
    Ok(web::Json(page))
}

/// One page of subjects found by a search, with every name each was seen under.
fn subject_page(
    c: &mut store::Conn,
    search: &SubjectSearch,
    after: Option<&str>,
    limit: u32,
) -> Result<SubjectPage, StoreError> {
    let total = store::queries::count_subjects(c, search)?;
    let mut rows = store::queries::search_subjects(c, search, after, i64::from(limit) + 1)?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let names = store::queries::names_of(c, &ids)?;
    let items: Vec<SubjectHit> = rows
        .into_iter()
        .map(|r| SubjectHit {
            identifier: matches!(r.key_kind.as_str(), "uscc" | "org_code" | "registration_no")
                .then(|| r.key_value.clone()),
            names: names
                .iter()
                .filter(|(s, _)| *s == r.id)
                .map(|(_, n)| n.clone())
                .collect(),
            id: r.id,
            key_kind: r.key_kind,
            strong: r.strong,
            kind: r.kind,
            party: r.party,
            linked_to: r.linked_to,
        })
        .collect();
    let next_after = if more {
        items.last().map(|s| s.id.clone())
    } else {
        None
    };
    Ok(SubjectPage {
        items,
        total,
        next_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let k = Keyset {
            decision_date: chrono::NaiveDate::from_ymd_opt(2025, 3, 20).unwrap_or_default(),
            id: "rec_0123".into(),
        };
        let c = encode_cursor(Order::Desc, &k);
        assert_eq!(decode_cursor(&c), Some((Order::Desc, k)));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("x|2025-01-01|a")),
            None
        );
        assert_eq!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("d|2025-13-01|a")),
            None
        );
        assert_eq!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("d|2025-01-01|")),
            None
        );
    }

    #[test]
    fn uscc_prefixes_are_alphanumeric() {
        assert_eq!(uscc_prefix(" 9131 ").as_deref(), Some("9131"));
        assert_eq!(uscc_prefix("上海"), None);
        assert_eq!(uscc_prefix("91-31"), None);
    }
}
