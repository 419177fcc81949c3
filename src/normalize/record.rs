//! Assembly: one submitted JSON item → a [`CanonicalRecord`] plus warnings, or every field
//! error of the item.
//!
//! Pure: no I/O, no clock (today comes in [`NormalizeContext`]). Invariants: all errors of an
//! item are collected, not just the first; every issue points (RFC 6901) at the key the client
//! actually used, or at our nested path when the field is absent; details never contain a full
//! identifier; normalizing the serialized canonical record again yields the same record.

use crate::domain::party::Party;
use crate::domain::record::{
    AuthorityRef, CanonicalRecord, IdType, LegalRep, PenaltyCategory, Subject, SubjectKind,
};
use crate::normalize::categories::{
    CategoryToken, parse_category_list, parse_category_name, resolve_suspend_or_revoke,
};
use crate::normalize::dates::parse_date;
use crate::normalize::decision_no::fold_decision_no;
use crate::normalize::fields::{Field, field_for_header, field_for_path, fold_key, is_group};
use crate::normalize::ids::{
    IdError, normalize_id_no, normalize_org_code, normalize_uscc, parse_id_type,
};
use crate::normalize::issue::{FieldIssue, IssueCode, escape_token, excerpt, mask};
use crate::normalize::money::{Unit, confiscation_in_content, fine_in_content, parse_amount};
use crate::normalize::publicity::{PublicityConfig, PublicityError, compute};
use crate::normalize::text::{fold_code, fold_name, fold_text};
use chrono::NaiveDate;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What the normalizer needs from outside: today's date (Asia/Shanghai), the publicity rules
/// and the violation-type catalogue.
#[derive(Debug, Clone)]
pub struct NormalizeContext {
    /// Today in Asia/Shanghai; decisions dated later are rejected.
    pub today: NaiveDate,
    /// Publicity periods (NDRC Order 2023 No. 58).
    pub publicity: PublicityConfig,
    /// The violation-type catalogue, applied once the deciding authority's party is known.
    pub catalog: std::sync::Arc<crate::normalize::Catalog>,
}

/// A normalized record and the warnings raised on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The canonical record.
    pub record: CanonicalRecord,
    /// Non-fatal issues (`unknown_field`, `amount_mismatch`, `category_ambiguous`, …).
    pub warnings: Vec<FieldIssue>,
}

/// The earliest decision date accepted.
const EARLIEST: Option<NaiveDate> = NaiveDate::from_ymd_opt(1990, 1, 1);

/// Normalizes one submitted record. `Err` holds every field error (warnings are dropped then:
/// the record must be fixed first).
pub fn normalize_record(
    raw: &Value,
    ctx: &NormalizeContext,
) -> Result<Normalized, Vec<FieldIssue>> {
    let Value::Object(obj) = raw else {
        return Err(vec![FieldIssue::new(
            "",
            IssueCode::InvalidType,
            format!("expected a JSON object, got {}", json_kind(raw)),
        )]);
    };
    let mut input = Input::default();
    input.walk(obj, "", "");
    let record = assemble(&mut input, ctx);
    match record {
        Some(record) if input.errors.is_empty() => Ok(Normalized {
            record,
            warnings: input.warnings,
        }),
        _ if input.errors.is_empty() => Err(vec![FieldIssue::new(
            "",
            IssueCode::InvalidFormat,
            "the record could not be assembled",
        )]),
        _ => Err(input.errors),
    }
}

/// One value found under one key.
struct Entry<'a> {
    pointer: String,
    value: &'a Value,
}

/// A parsed value with the pointer and text it came from.
#[derive(Debug, Clone)]
struct Taken<T> {
    value: T,
    pointer: String,
    raw: String,
}

type Problem = (IssueCode, String);

#[derive(Default)]
struct Input<'a> {
    entries: BTreeMap<Field, Vec<Entry<'a>>>,
    errors: Vec<FieldIssue>,
    warnings: Vec<FieldIssue>,
    /// Fields that already have an error, so that `required` is not reported on top.
    failed: BTreeSet<Field>,
}

/// How a JSON value's type is named in error details (`a string`, `an object`, …).
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Whether text holds a control character other than tab and line breaks.
fn has_control_character(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The issue for text longer than `field` allows, if it is (checked before any parsing, so a
/// huge value costs one pass over its characters).
fn too_long(field: Field, text: &str, pointer: &str) -> Option<FieldIssue> {
    let max = field.max_chars();
    text.chars().nth(max).is_some().then(|| {
        FieldIssue::new(
            pointer,
            IssueCode::TooLong,
            format!(
                "{} characters; at most {max} are accepted in {}",
                text.chars().count(),
                field.name()
            ),
        )
    })
}

/// Text of a scalar: strings as given, numbers as JSON writes them; blank and null are absent.
fn scalar_text(v: &Value) -> Result<Option<String>, &'static str> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(json_kind(other)),
    }
}

impl<'a> Input<'a> {
    fn error(&mut self, field: Option<Field>, pointer: &str, code: IssueCode, detail: String) {
        if let Some(f) = field {
            self.failed.insert(f);
        }
        self.errors.push(FieldIssue::new(pointer, code, detail));
    }

    fn warn(&mut self, pointer: &str, code: IssueCode, detail: String) {
        self.warnings.push(FieldIssue::new(pointer, code, detail));
    }

    fn walk(&mut self, obj: &'a Map<String, Value>, path_prefix: &str, ptr_prefix: &str) {
        for (key, value) in obj {
            let pointer = format!("{ptr_prefix}/{}", escape_token(key));
            let folded = fold_key(key);
            let path = if path_prefix.is_empty() {
                folded
            } else {
                format!("{path_prefix}.{folded}")
            };
            if is_group(&path) {
                match value {
                    Value::Object(inner) => self.walk(inner, &path, &pointer),
                    Value::Null => {}
                    other => self.error(
                        None,
                        &pointer,
                        IssueCode::InvalidType,
                        format!("expected an object of fields, got {}", json_kind(other)),
                    ),
                }
                continue;
            }
            let field = field_for_path(&path).or_else(|| {
                if path_prefix.is_empty() {
                    field_for_header(key)
                } else {
                    None
                }
            });
            match field {
                Some(f) => self
                    .entries
                    .entry(f)
                    .or_default()
                    .push(Entry { pointer, value }),
                None => self.warn(
                    &pointer,
                    IssueCode::UnknownField,
                    format!("key {:?} is not a known field; ignored", excerpt(key)),
                ),
            }
        }
    }

    /// Parses every alias of `field`; reports type and parse errors, and aliases that disagree.
    fn take_with<T: PartialEq>(
        &mut self,
        field: Field,
        mut parse: impl FnMut(&Value, &str) -> Result<Option<(T, String)>, Vec<FieldIssue>>,
    ) -> Option<Taken<T>> {
        let entries = self.entries.remove(&field).unwrap_or_default();
        let mut first: Option<Taken<T>> = None;
        for entry in entries {
            match parse(entry.value, &entry.pointer) {
                Err(issues) => {
                    self.failed.insert(field);
                    self.errors.extend(issues);
                }
                Ok(None) => {}
                Ok(Some((value, raw))) => match &first {
                    None => {
                        first = Some(Taken {
                            value,
                            pointer: entry.pointer,
                            raw,
                        })
                    }
                    Some(f) if f.value == value => {}
                    Some(f) => {
                        let detail = format!(
                            "{} is also given as {} with a different value",
                            field.name(),
                            f.pointer
                        );
                        self.error(
                            Some(field),
                            &entry.pointer,
                            IssueCode::ConflictingAliases,
                            detail,
                        );
                    }
                },
            }
        }
        first
    }

    /// [`Self::take_with`] for scalar fields parsed from their text.
    fn take<T: PartialEq>(
        &mut self,
        field: Field,
        parse: impl Fn(&str) -> Result<T, Problem>,
    ) -> Option<Taken<T>> {
        self.take_with(field, |value, pointer| match scalar_text(value) {
            Err(kind) => Err(vec![FieldIssue::new(
                pointer,
                IssueCode::InvalidType,
                format!("expected text or a number, got {kind}"),
            )]),
            Ok(None) => Ok(None),
            Ok(Some(text)) if let Some(issue) = too_long(field, &text, pointer) => Err(vec![issue]),
            Ok(Some(text)) if has_control_character(&text) => Err(vec![FieldIssue::new(
                pointer,
                IssueCode::ControlCharacter,
                "the text holds a control character (such as NUL); expected printable text, \
                 tabs and line breaks only",
            )]),
            Ok(Some(text)) => match parse(&text) {
                Ok(v) => Ok(Some((v, text))),
                Err((code, detail)) => Err(vec![FieldIssue::new(pointer, code, detail)]),
            },
        })
    }

    /// A folded name with its raw text: the raw field wins for the raw text when given.
    fn name_pair(&mut self, field: Field, raw_field: Field) -> Option<(String, String)> {
        let folded = self.take(field, parse_name);
        let raw = self.take(raw_field, |s| {
            if fold_name(s).is_empty() {
                Err(empty_problem())
            } else {
                Ok(s.to_owned())
            }
        });
        match (folded, raw) {
            (Some(f), Some(r)) => Some((f.value, r.value)),
            (Some(f), None) => Some((f.value, f.raw)),
            (None, Some(r)) => Some((fold_name(&r.value), r.value)),
            (None, None) => None,
        }
    }

    fn decision_no_pair(&mut self) -> Option<(String, String)> {
        let folded = self.take(Field::DecisionNo, parse_decision_no);
        let raw = self.take(Field::DecisionNoRaw, |s| {
            parse_decision_no(s).map(|_| s.to_owned())
        });
        match (folded, raw) {
            (Some(f), Some(r)) => Some((f.value, r.value)),
            (Some(f), None) => Some((f.value, f.raw)),
            (None, Some(r)) => Some((fold_decision_no(&r.value), r.value)),
            (None, None) => None,
        }
    }

    fn categories(&mut self) -> Option<Taken<Vec<CategoryToken>>> {
        self.take_with(Field::Categories, |value, pointer| {
            let mut tokens = Vec::new();
            let mut issues = Vec::new();
            let mut raw = Vec::new();
            let items: Vec<(String, &Value)> = match value {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{pointer}/{i}"), v))
                    .collect(),
                other => vec![(pointer.to_owned(), other)],
            };
            for (ptr, item) in items {
                match scalar_text(item) {
                    Err(kind) => issues.push(FieldIssue::new(
                        &ptr,
                        IssueCode::InvalidType,
                        format!("expected a category name or code, got {kind}"),
                    )),
                    Ok(None) => {}
                    Ok(Some(text))
                        if let Some(issue) = too_long(Field::Categories, &text, &ptr) =>
                    {
                        issues.push(issue);
                    }
                    Ok(Some(text)) => {
                        // A number from JSON (`2`) is a code; text may be a `;`-joined list.
                        let parsed = match item {
                            Value::Number(_) => {
                                parse_category_name(&text).ok_or_else(|| vec![text.clone()])
                            }
                            _ => parse_category_list(&text),
                        };
                        match parsed {
                            Ok(t) => tokens.extend(t),
                            Err(unknown) => issues.push(FieldIssue::new(
                                &ptr,
                                IssueCode::UnknownCategory,
                                format!(
                                    "unknown penalty category {:?}: expected a name of \
                                     Administrative Penalty Law art. 9 (2021 or 1996) or a \
                                     code 01-14",
                                    excerpt(&unknown.join("、"))
                                ),
                            )),
                        }
                        raw.push(text);
                    }
                }
            }
            let joined = raw.join(";");
            if issues.is_empty()
                && let Some(issue) = too_long(Field::Categories, &joined, pointer)
            {
                issues.push(issue);
            }
            if !issues.is_empty() {
                return Err(issues);
            }
            if tokens.is_empty() {
                return Ok(None);
            }
            Ok(Some((tokens, joined)))
        })
    }

    /// The amount given in any of three unit-specific fields (they must agree).
    fn amount(&mut self, fields: [(Field, Unit); 3]) -> Option<Taken<i64>> {
        let mut found: Option<Taken<i64>> = None;
        for (field, unit) in fields {
            let Some(t) = self.take(field, |s| parse_amount_problem(s, unit)) else {
                continue;
            };
            match &found {
                None => found = Some(t),
                Some(f) if f.value == t.value => {}
                Some(f) => {
                    let detail = format!(
                        "the amount differs from the one given as {} ({} fen vs {} fen)",
                        f.pointer, t.value, f.value
                    );
                    self.error(
                        Some(field),
                        &t.pointer,
                        IssueCode::ConflictingAliases,
                        detail,
                    );
                }
            }
        }
        found
    }

    fn require<T>(&mut self, field: Field, value: &Option<T>) {
        if value.is_none() && !self.failed.contains(&field) {
            self.error(
                Some(field),
                &field.pointer(),
                IssueCode::Required,
                format!("{} is required", field.name()),
            );
        }
    }
}

fn empty_problem() -> Problem {
    (
        IssueCode::InvalidFormat,
        "nothing left after removing spaces and invisible characters".into(),
    )
}

fn parse_name(s: &str) -> Result<String, Problem> {
    let f = fold_name(s);
    if f.is_empty() {
        Err(empty_problem())
    } else {
        Ok(f)
    }
}

fn parse_text(s: &str) -> Result<String, Problem> {
    let f = fold_text(s);
    if f.is_empty() {
        Err(empty_problem())
    } else {
        Ok(f)
    }
}

fn parse_decision_no(s: &str) -> Result<String, Problem> {
    let f = fold_decision_no(s);
    if f.is_empty() {
        Err(empty_problem())
    } else {
        Ok(f)
    }
}

fn parse_code(s: &str) -> Result<String, Problem> {
    let f = fold_code(s);
    if f.is_empty() {
        Err(empty_problem())
    } else {
        Ok(f)
    }
}

fn id_problem(seen: &str, err: &IdError) -> Problem {
    let code = match err {
        IdError::Checksum { .. } => IssueCode::InvalidChecksum,
        _ => IssueCode::InvalidFormat,
    };
    (code, format!("{}: {err}", mask(&fold_code(seen))))
}

fn parse_uscc(s: &str) -> Result<String, Problem> {
    normalize_uscc(s).map_err(|e| {
        let (code, detail) = id_problem(s, &e);
        (code, format!("{detail} (统一社会信用代码, GB 32100-2015)"))
    })
}

fn parse_org_code(s: &str) -> Result<String, Problem> {
    normalize_org_code(s).map_err(|e| {
        let (code, detail) = id_problem(s, &e);
        (code, format!("{detail} (组织机构代码, GB 11714)"))
    })
}

fn parse_kind(s: &str) -> Result<SubjectKind, Problem> {
    let key = fold_name(s).to_ascii_lowercase();
    match key.as_str() {
        "legal_person"
        | "法人及非法人组织"
        | "法人和非法人组织"
        | "法人"
        | "非法人组织"
        | "法人及其他组织"
        | "法人和其他组织" => Ok(SubjectKind::LegalPerson),
        "natural_person" | "自然人" => Ok(SubjectKind::NaturalPerson),
        "individual_business" | "个体工商户" | "个体户" => {
            Ok(SubjectKind::IndividualBusiness)
        }
        _ => Err((
            IssueCode::UnknownSubjectKind,
            format!(
                "got {:?}; expected legal_person (法人及非法人组织), natural_person (自然人) or \
                 individual_business (个体工商户)",
                excerpt(s)
            ),
        )),
    }
}

fn parse_id_type_problem(s: &str) -> Result<IdType, Problem> {
    parse_id_type(s).ok_or_else(|| {
        (
            IssueCode::UnknownIdType,
            format!(
                "got {:?}; expected 身份证, 护照号, 港澳居民来往内地通行证, 台湾居民来往大陆通行证, \
                 外国人永久居留身份证 or 其他-…",
                excerpt(s)
            ),
        )
    })
}

fn parse_date_problem(s: &str) -> Result<NaiveDate, Problem> {
    parse_date(s).map_err(|e| (IssueCode::InvalidDate, format!("got {:?}: {e}", excerpt(s))))
}

/// 处罚有效期: a date, or 长期 / 永久 (no end).
fn parse_valid_until(s: &str) -> Result<Option<NaiveDate>, Problem> {
    let key = fold_name(s);
    if matches!(
        key.as_str(),
        "长期" | "永久" | "长期有效" | "永久有效" | "无期限"
    ) {
        return Ok(None);
    }
    parse_date(s).map(Some).map_err(|e| {
        (
            IssueCode::InvalidDate,
            format!("got {:?}: {e}, or 长期 / 永久", excerpt(s)),
        )
    })
}

fn parse_amount_problem(s: &str, unit: Unit) -> Result<i64, Problem> {
    parse_amount(s, unit).map_err(|e| {
        (
            IssueCode::InvalidAmount,
            format!("got {:?}: {e}", excerpt(s)),
        )
    })
}

fn parse_division(s: &str) -> Result<String, Problem> {
    let code = fold_code(s);
    if code.chars().count() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(code)
    } else {
        Err((
            IssueCode::InvalidFormat,
            format!(
                "got {:?}; expected a six-digit GB/T 2260 division code",
                excerpt(s)
            ),
        ))
    }
}

/// Validates an ID number against its type; returns the normalized number.
fn check_id_no(
    input: &mut Input<'_>,
    field: Field,
    id_type: Option<&IdType>,
    id_no: Option<Taken<String>>,
) -> Option<String> {
    let id_no = id_no?;
    let Some(id_type) = id_type else {
        return Some(id_no.value);
    };
    match normalize_id_no(id_type, &id_no.value) {
        Ok(v) => Some(v),
        Err(e) => {
            let (code, detail) = id_problem(&id_no.value, &e);
            let detail = format!("{detail} ({})", id_type.name_zh());
            input.error(Some(field), &id_no.pointer, code, detail);
            None
        }
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one linear pass over the fields of the national record"
)]
fn assemble(input: &mut Input<'_>, ctx: &NormalizeContext) -> Option<CanonicalRecord> {
    // Subject.
    let subject_name = input.name_pair(Field::SubjectName, Field::SubjectNameRaw);
    let kind = input.take(Field::SubjectKind, parse_kind);
    let uscc = input.take(Field::SubjectUscc, parse_uscc);
    let business_reg_no = input.take(Field::SubjectBusinessRegNo, parse_code);
    let org_code = input.take(Field::SubjectOrgCode, parse_org_code);
    let tax_reg_no = input.take(Field::SubjectTaxRegNo, parse_code);
    let institution_cert_no = input.take(Field::SubjectInstitutionCertNo, parse_code);
    let social_org_reg_no = input.take(Field::SubjectSocialOrgRegNo, parse_code);
    let rep_name = input.take(Field::LegalRepName, parse_text);
    let rep_id_type = input.take(Field::LegalRepIdType, parse_id_type_problem);
    let rep_id_no = input.take(Field::LegalRepIdNo, parse_code);
    let id_type = input.take(Field::SubjectIdType, parse_id_type_problem);
    let id_no = input.take(Field::SubjectIdNo, parse_code);

    // The decision.
    let decision_no = input.decision_no_pair();
    let violation_type = input.take(Field::ViolationType, parse_text);
    let facts = input.take(Field::Facts, parse_text);
    let legal_basis = input.take(Field::LegalBasis, parse_text);
    let categories = input.categories();
    let content = input.take(Field::Content, parse_text);
    let fine = input.amount([
        (Field::Fine, Unit::TenThousandYuan),
        (Field::FineYuan, Unit::Yuan),
        (Field::FineFen, Unit::Fen),
    ]);
    let confiscation = input.amount([
        (Field::Confiscation, Unit::TenThousandYuan),
        (Field::ConfiscationYuan, Unit::Yuan),
        (Field::ConfiscationFen, Unit::Fen),
    ]);
    let license = input.take(Field::License, parse_text);
    let decision_date = input.take(Field::DecisionDate, parse_date_problem);
    let valid_until = input.take(Field::ValidUntil, parse_valid_until);
    let publicity_until = input.take(Field::PublicityUntil, parse_date_problem);
    // Derived on output; accepted on input only so that the canonical form round-trips.
    let _ = input.take(Field::PublicityMinUntil, |_| Ok(()));
    let authority = input.name_pair(Field::AuthorityName, Field::AuthorityNameRaw);
    let authority_uscc = input.take(Field::AuthorityUscc, parse_uscc);
    let source = input.name_pair(Field::SourceName, Field::SourceNameRaw);
    let source_uscc = input.take(Field::SourceUscc, parse_uscc);
    let remarks = input.take(Field::Remarks, parse_text);
    let filed_date = input.take(Field::FiledDate, parse_date_problem);
    let place_division = input.take(Field::PlaceDivision, parse_division);

    input.require(Field::SubjectName, &subject_name);
    input.require(Field::SubjectKind, &kind);
    input.require(Field::DecisionNo, &decision_no);
    input.require(Field::ViolationType, &violation_type);
    input.require(Field::Facts, &facts);
    input.require(Field::LegalBasis, &legal_basis);
    input.require(Field::Categories, &categories);
    input.require(Field::Content, &content);
    input.require(Field::DecisionDate, &decision_date);
    input.require(Field::AuthorityName, &authority);
    input.require(Field::SourceName, &source);

    // Natural persons are identified by their document (证件类型 + 证件号码).
    if kind
        .as_ref()
        .is_some_and(|k| k.value == SubjectKind::NaturalPerson)
    {
        input.require(Field::SubjectIdType, &id_type);
        input.require(Field::SubjectIdNo, &id_no);
    }
    let id_type = id_type.map(|t| t.value);
    let id_no = check_id_no(input, Field::SubjectIdNo, id_type.as_ref(), id_no);
    let rep_id_type = rep_id_type.map(|t| t.value);
    let rep_id_no = check_id_no(input, Field::LegalRepIdNo, rep_id_type.as_ref(), rep_id_no);
    let legal_rep = match (rep_name.map(|t| t.value), rep_id_type, rep_id_no) {
        (None, None, None) => None,
        (name, id_type, id_no) => Some(LegalRep {
            name,
            id_type,
            id_no,
        }),
    };

    // Dates: Administrative Penalty Law records start in the 1990s; nothing is decided tomorrow.
    if let Some(d) = &decision_date {
        if d.value > ctx.today {
            let detail = format!("decision date {} is after today {}", d.value, ctx.today);
            input.error(
                Some(Field::DecisionDate),
                &d.pointer,
                IssueCode::DateInFuture,
                detail,
            );
        }
        if EARLIEST.is_some_and(|e| d.value < e) {
            let detail = format!("decision date {} is before 1990-01-01", d.value);
            input.error(
                Some(Field::DecisionDate),
                &d.pointer,
                IssueCode::DateBefore1990,
                detail,
            );
        }
        if let Some(f) = filed_date.as_ref().filter(|f| f.value > d.value) {
            let detail = format!("case filed {} after the decision of {}", f.value, d.value);
            input.error(
                Some(Field::FiledDate),
                &f.pointer,
                IssueCode::FiledAfterDecision,
                detail,
            );
        }
        if let Some(v) = &valid_until
            && v.value.is_some_and(|until| until < d.value)
        {
            let detail = format!("valid until {:?}, before the decision date", v.value);
            input.warn(&v.pointer, IssueCode::ValidUntilBeforeDecision, detail);
        }
    }

    // Categories: decide the 1996 暂扣或者吊销 from the content.
    let content_text = content
        .as_ref()
        .map(|c| c.value.as_str())
        .unwrap_or_default();
    let mut category_set = BTreeSet::new();
    if let Some(c) = &categories {
        for token in &c.value {
            match token {
                CategoryToken::Known(k) => {
                    category_set.insert(*k);
                }
                CategoryToken::SuspendOrRevoke => {
                    let (cat, ambiguous) = resolve_suspend_or_revoke(content_text);
                    if ambiguous {
                        input.warn(
                            &c.pointer,
                            IssueCode::CategoryAmbiguous,
                            "暂扣或者吊销 (1996): the content does not say which; stored as \
                             suspend_licence (暂扣许可证件)"
                                .into(),
                        );
                    }
                    category_set.insert(cat);
                }
            }
        }
    }

    // Money: the field wins; the content fills a gap; a disagreement is a warning.
    let fine_fen = resolve_amount(
        input,
        fine,
        content.as_ref().and_then(|c| fine_in_content(&c.value)),
        category_set.contains(&PenaltyCategory::Fine),
        "罚款",
    );
    let amount_failed = [Field::Fine, Field::FineYuan, Field::FineFen]
        .iter()
        .any(|f| input.failed.contains(f));
    if category_set.contains(&PenaltyCategory::Fine)
        && fine_fen.is_none()
        && !amount_failed
        && let Some(c) = &categories
    {
        input.error(
            Some(Field::Fine),
            &c.pointer,
            IssueCode::FineAmountMissing,
            "罚款 is a category but no amount is given in fine (万元), fine_yuan, fine_fen \
             or the content"
                .into(),
        );
    }
    let confiscates = category_set.contains(&PenaltyCategory::ConfiscateIllegalGains)
        || category_set.contains(&PenaltyCategory::ConfiscateIllegalProperty);
    let confiscation_fen = resolve_amount(
        input,
        confiscation,
        content
            .as_ref()
            .and_then(|c| confiscation_in_content(&c.value)),
        confiscates,
        "没收",
    );

    // Place of violation outside the four parties: allowed (cross-border cases), but unusual.
    if let Some(p) = &place_division
        && Party::from_division(&p.value).is_none()
    {
        let detail = format!(
            "division {} is outside Shanghai, Jiangsu, Zhejiang and Anhui",
            p.value
        );
        input.warn(&p.pointer, IssueCode::DivisionOutsideRegion, detail);
    }

    // Publicity (NDRC Order 2023 No. 58).
    let publicity = match &decision_date {
        Some(d) => {
            let given = publicity_until.as_ref().map(|p| p.value);
            let pointer = publicity_until
                .as_ref()
                .map_or_else(|| Field::PublicityUntil.pointer(), |p| p.pointer.clone());
            let vt = violation_type
                .as_ref()
                .map(|v| v.value.as_str())
                .unwrap_or_default();
            let lb = legal_basis
                .as_ref()
                .map(|v| v.value.as_str())
                .unwrap_or_default();
            match compute(&ctx.publicity, d.value, given, vt, lb) {
                Ok(p) => {
                    if p.below_minimum {
                        input.warn(
                            &pointer,
                            IssueCode::PublicityBelowMinimum,
                            format!(
                                "publicity ends {} before the minimum {}",
                                p.until, p.min_until
                            ),
                        );
                    }
                    if p.above_maximum {
                        input.warn(
                            &pointer,
                            IssueCode::PublicityAboveMaximum,
                            format!("publicity ends {}, after the legal maximum", p.until),
                        );
                    }
                    Some(p)
                }
                Err(e @ PublicityError::BeforeDecision { .. }) => {
                    let field = Some(Field::PublicityUntil);
                    input.error(
                        field,
                        &pointer,
                        IssueCode::PublicityBeforeDecision,
                        e.to_string(),
                    );
                    None
                }
                Err(e @ PublicityError::OutOfRange) => {
                    input.error(None, &pointer, IssueCode::InvalidDate, e.to_string());
                    None
                }
            }
        }
        None => None,
    };

    if !input.errors.is_empty() {
        return None;
    }
    let (
        Some((name, name_raw)),
        Some(kind),
        Some((decision_no, decision_no_raw)),
        Some(violation_type),
        Some(facts),
        Some(legal_basis),
        Some(content),
        Some(decision_date),
        Some(publicity),
        Some((authority_name, authority_raw)),
        Some((source_name, source_raw)),
    ) = (
        subject_name,
        kind,
        decision_no,
        violation_type,
        facts,
        legal_basis,
        content,
        decision_date,
        publicity,
        authority,
        source,
    )
    else {
        return None;
    };
    Some(CanonicalRecord {
        subject: Subject {
            name,
            name_raw,
            kind: kind.value,
            uscc: uscc.map(|t| t.value),
            business_reg_no: business_reg_no.map(|t| t.value),
            org_code: org_code.map(|t| t.value),
            tax_reg_no: tax_reg_no.map(|t| t.value),
            institution_cert_no: institution_cert_no.map(|t| t.value),
            social_org_reg_no: social_org_reg_no.map(|t| t.value),
            legal_rep,
            id_type,
            id_no,
        },
        decision_no,
        decision_no_raw,
        violation_type: violation_type.value,
        facts: facts.value,
        legal_basis: legal_basis.value,
        categories: category_set,
        content: content.value,
        fine_fen,
        confiscation_fen,
        license: license.map(|t| t.value),
        decision_date: decision_date.value,
        valid_until: valid_until.and_then(|t| t.value),
        publicity_until: publicity.until,
        publicity_min_until: publicity.min_until,
        authority: AuthorityRef {
            name: authority_name,
            name_raw: authority_raw,
            uscc: authority_uscc.map(|t| t.value),
        },
        source: AuthorityRef {
            name: source_name,
            name_raw: source_raw,
            uscc: source_uscc.map(|t| t.value),
        },
        remarks: remarks.map(|t| t.value),
        filed_date: filed_date.map(|t| t.value),
        place_division: place_division.map(|t| t.value),
    })
}

/// The stored amount: the field when given (with a warning when the content disagrees), else
/// the content's amount when the category calls for one.
fn resolve_amount(
    input: &mut Input<'_>,
    field: Option<Taken<i64>>,
    in_content: Option<i64>,
    category_present: bool,
    what: &str,
) -> Option<i64> {
    match field {
        Some(f) => {
            if let Some(c) = in_content.filter(|c| *c != f.value) {
                let detail = format!(
                    "{what} amount {} fen differs from {c} fen written in the content; the field \
                     is kept",
                    f.value
                );
                input.warn(&f.pointer, IssueCode::AmountMismatch, detail);
            }
            if !category_present {
                let detail =
                    format!("a {what} amount is given but the categories do not include it");
                input.warn(&f.pointer, IssueCode::AmountWithoutCategory, detail);
            }
            Some(f.value)
        }
        None if category_present => in_content,
        None => None,
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
