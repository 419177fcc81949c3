//! The canonical administrative-penalty record (行政处罚信息, the national 双公示 record) as penex
//! stores and compares it.
//!
//! Owns [`CanonicalRecord`] and its parts: [`Subject`], [`SubjectKind`], [`LegalRep`],
//! [`IdType`], [`PenaltyCategory`], [`AuthorityRef`].
//!
//! Pure: depends on serde, chrono and ring only; knows nothing of HTTP, SQL or how raw
//! submissions are folded (that is `normalize`).
//!
//! Invariants (established by `normalize::normalize_record`, not re-checked here): every text
//! field is folded; `*_raw` fields hold the text exactly as submitted; identifiers are upper
//! case with valid checksums; money is integer fen (分); dates are calendar dates in
//! Asia/Shanghai. The serialized form of a record is itself valid input to the normalizer and
//! normalizes to the same record.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeSet;
use std::fmt;

/// 行政处罚信息: one administrative-penalty decision in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanonicalRecord {
    /// 行政相对人: the party penalized.
    pub subject: Subject,
    /// 行政处罚决定书文号, folded (brackets → 〔〕, widths and spaces removed).
    pub decision_no: String,
    /// The decision number exactly as submitted.
    pub decision_no_raw: String,
    /// 违法行为类型.
    pub violation_type: String,
    /// 违法事实.
    pub facts: String,
    /// 处罚依据.
    pub legal_basis: String,
    /// 处罚类别: one or more categories of Administrative Penalty Law (2021) art. 9.
    pub categories: BTreeSet<PenaltyCategory>,
    /// 处罚内容.
    pub content: String,
    /// 罚款金额, in fen (分). Present whenever `categories` holds [`PenaltyCategory::Fine`].
    pub fine_fen: Option<i64>,
    /// 没收违法所得、没收非法财物的金额, in fen (分).
    pub confiscation_fen: Option<i64>,
    /// 暂扣或吊销证照名称及编号.
    pub license: Option<String>,
    /// 处罚决定日期.
    pub decision_date: NaiveDate,
    /// 处罚有效期; `None` when the decision is valid without limit (长期).
    pub valid_until: Option<NaiveDate>,
    /// 公示截止期: given by the unit, or the decision date plus the maximum publicity period.
    pub publicity_until: NaiveDate,
    /// The earliest date credit repair (信用修复) may end publicity (NDRC Order 2023 No. 58).
    pub publicity_min_until: NaiveDate,
    /// 处罚机关: the deciding authority.
    pub authority: AuthorityRef,
    /// 数据来源单位: the unit that supplied the data.
    pub source: AuthorityRef,
    /// 备注.
    pub remarks: Option<String>,
    /// 立案日期: the date the case was filed (first-to-file jurisdiction, art. 25).
    pub filed_date: Option<NaiveDate>,
    /// GB/T 2260 six-digit code of the division where the violation happened.
    pub place_division: Option<String>,
}

/// 行政相对人: the subject of a penalty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// 行政相对人名称, folded (NFKC, brackets, whitespace removed).
    pub name: String,
    /// The name exactly as submitted.
    pub name_raw: String,
    /// 行政相对人类别.
    pub kind: SubjectKind,
    /// 统一社会信用代码 (GB 32100-2015), upper case, checksum valid.
    pub uscc: Option<String>,
    /// 工商注册号.
    pub business_reg_no: Option<String>,
    /// 组织机构代码 (GB 11714), nine characters without hyphen, checksum valid.
    pub org_code: Option<String>,
    /// 税务登记号.
    pub tax_reg_no: Option<String>,
    /// 事业单位证书号.
    pub institution_cert_no: Option<String>,
    /// 社会组织登记证号.
    pub social_org_reg_no: Option<String>,
    /// 法定代表人, for legal persons.
    pub legal_rep: Option<LegalRep>,
    /// 证件类型, for natural persons.
    pub id_type: Option<IdType>,
    /// 证件号码, for natural persons. Personal data: encrypt at rest, mask on output.
    pub id_no: Option<String>,
}

/// 行政相对人类别.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// 法人及非法人组织.
    LegalPerson,
    /// 自然人.
    NaturalPerson,
    /// 个体工商户.
    IndividualBusiness,
}

impl SubjectKind {
    /// The serde name (`legal_person`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::LegalPerson => "legal_person",
            SubjectKind::NaturalPerson => "natural_person",
            SubjectKind::IndividualBusiness => "individual_business",
        }
    }

    /// The item value of the national standard.
    pub fn name_zh(self) -> &'static str {
        match self {
            SubjectKind::LegalPerson => "法人及非法人组织",
            SubjectKind::NaturalPerson => "自然人",
            SubjectKind::IndividualBusiness => "个体工商户",
        }
    }
}

/// 法定代表人: the legal representative of a legal person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalRep {
    /// 法定代表人 (name).
    pub name: Option<String>,
    /// 法定代表人证件类型.
    pub id_type: Option<IdType>,
    /// 法定代表人证件号码. Personal data.
    pub id_no: Option<String>,
}

/// 证件类型: the type of a personal identity document.
///
/// Serialized as a string: the English code of a known type, or `其他-<detail>` (the national
/// value domain's own spelling) for any other document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdType {
    /// 身份证 (居民身份证, GB 11643).
    ResidentId,
    /// 护照号.
    Passport,
    /// 港澳居民来往内地通行证.
    HkMacaoPermit,
    /// 台湾居民来往大陆通行证.
    TaiwanPermit,
    /// 外国人永久居留身份证.
    ForeignPermanentResidentId,
    /// 其他-…: another document; holds the text after `其他-` (may be empty).
    Other(String),
}

impl IdType {
    /// The known types with their English code and national name.
    const KNOWN: [(IdType, &'static str, &'static str); 5] = [
        (IdType::ResidentId, "resident_id", "身份证"),
        (IdType::Passport, "passport", "护照号"),
        (
            IdType::HkMacaoPermit,
            "hk_macao_permit",
            "港澳居民来往内地通行证",
        ),
        (
            IdType::TaiwanPermit,
            "taiwan_permit",
            "台湾居民来往大陆通行证",
        ),
        (
            IdType::ForeignPermanentResidentId,
            "foreign_permanent_resident_id",
            "外国人永久居留身份证",
        ),
    ];

    /// The national item value (`身份证`, …, `其他-<detail>`).
    pub fn name_zh(&self) -> String {
        match self {
            IdType::Other(detail) => other_text(detail),
            known => Self::KNOWN
                .iter()
                .find(|(t, _, _)| t == known)
                .map(|(_, _, zh)| (*zh).to_owned())
                .unwrap_or_default(),
        }
    }

    /// Parses the canonical spelling: an English code, a national name, or `其他[-detail]`.
    /// Lenient spellings (`居民身份证`, full-width text, …) belong to `normalize`.
    pub fn from_canonical(text: &str) -> Option<IdType> {
        if let Some((t, _, _)) = Self::KNOWN
            .iter()
            .find(|(_, en, zh)| *en == text || *zh == text)
        {
            return Some(t.clone());
        }
        let rest = text.strip_prefix("其他")?;
        let detail = rest.strip_prefix('-').unwrap_or(rest);
        Some(IdType::Other(detail.to_owned()))
    }
}

fn other_text(detail: &str) -> String {
    if detail.is_empty() {
        "其他".to_owned()
    } else {
        format!("其他-{detail}")
    }
}

impl fmt::Display for IdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdType::Other(detail) => f.write_str(&other_text(detail)),
            known => {
                let en = Self::KNOWN
                    .iter()
                    .find(|(t, _, _)| t == known)
                    .map(|(_, en, _)| *en);
                f.write_str(en.unwrap_or_default())
            }
        }
    }
}

impl Serialize for IdType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IdType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        IdType::from_canonical(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown id type {text:?}")))
    }
}

/// 处罚类别: the kinds of administrative penalty of the Administrative Penalty Law (2021),
/// art. 9. Ordered as the article lists them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PenaltyCategory {
    /// 警告.
    Warning,
    /// 通报批评.
    PublicCriticism,
    /// 罚款.
    Fine,
    /// 没收违法所得.
    ConfiscateIllegalGains,
    /// 没收非法财物.
    ConfiscateIllegalProperty,
    /// 暂扣许可证件.
    SuspendLicence,
    /// 降低资质等级.
    LowerQualification,
    /// 吊销许可证件.
    RevokeLicence,
    /// 限制开展生产经营活动.
    RestrictBusinessActivities,
    /// 责令停产停业.
    OrderSuspension,
    /// 责令关闭.
    OrderClosure,
    /// 限制从业.
    RestrictEmployment,
    /// 行政拘留.
    AdministrativeDetention,
    /// 其他 (other penalties named by law).
    Other,
}

impl PenaltyCategory {
    /// All fourteen categories in the order of art. 9.
    pub const ALL: [PenaltyCategory; 14] = [
        PenaltyCategory::Warning,
        PenaltyCategory::PublicCriticism,
        PenaltyCategory::Fine,
        PenaltyCategory::ConfiscateIllegalGains,
        PenaltyCategory::ConfiscateIllegalProperty,
        PenaltyCategory::SuspendLicence,
        PenaltyCategory::LowerQualification,
        PenaltyCategory::RevokeLicence,
        PenaltyCategory::RestrictBusinessActivities,
        PenaltyCategory::OrderSuspension,
        PenaltyCategory::OrderClosure,
        PenaltyCategory::RestrictEmployment,
        PenaltyCategory::AdministrativeDetention,
        PenaltyCategory::Other,
    ];

    /// The serde name (`warning`, `fine`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            PenaltyCategory::Warning => "warning",
            PenaltyCategory::PublicCriticism => "public_criticism",
            PenaltyCategory::Fine => "fine",
            PenaltyCategory::ConfiscateIllegalGains => "confiscate_illegal_gains",
            PenaltyCategory::ConfiscateIllegalProperty => "confiscate_illegal_property",
            PenaltyCategory::SuspendLicence => "suspend_licence",
            PenaltyCategory::LowerQualification => "lower_qualification",
            PenaltyCategory::RevokeLicence => "revoke_licence",
            PenaltyCategory::RestrictBusinessActivities => "restrict_business_activities",
            PenaltyCategory::OrderSuspension => "order_suspension",
            PenaltyCategory::OrderClosure => "order_closure",
            PenaltyCategory::RestrictEmployment => "restrict_employment",
            PenaltyCategory::AdministrativeDetention => "administrative_detention",
            PenaltyCategory::Other => "other",
        }
    }

    /// The name in the 2021 law.
    pub fn name_zh(self) -> &'static str {
        match self {
            PenaltyCategory::Warning => "警告",
            PenaltyCategory::PublicCriticism => "通报批评",
            PenaltyCategory::Fine => "罚款",
            PenaltyCategory::ConfiscateIllegalGains => "没收违法所得",
            PenaltyCategory::ConfiscateIllegalProperty => "没收非法财物",
            PenaltyCategory::SuspendLicence => "暂扣许可证件",
            PenaltyCategory::LowerQualification => "降低资质等级",
            PenaltyCategory::RevokeLicence => "吊销许可证件",
            PenaltyCategory::RestrictBusinessActivities => "限制开展生产经营活动",
            PenaltyCategory::OrderSuspension => "责令停产停业",
            PenaltyCategory::OrderClosure => "责令关闭",
            PenaltyCategory::RestrictEmployment => "限制从业",
            PenaltyCategory::AdministrativeDetention => "行政拘留",
            PenaltyCategory::Other => "其他",
        }
    }
}

/// A reference to an authority (处罚机关) or data source (数据来源单位) by name, as submitted.
/// Resolving it to a registered unit is the dedup layer's job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityRef {
    /// The name, folded like a subject name.
    pub name: String,
    /// The name exactly as submitted.
    pub name_raw: String,
    /// Its 统一社会信用代码, when given (checksum valid).
    pub uscc: Option<String>,
}

impl CanonicalRecord {
    /// SHA-256 over a stable, length-prefixed encoding of every canonical field except the
    /// `*_raw` ones, so that a re-push differing only in spacing, brackets or character widths
    /// has the same fingerprint. Field order and tags are fixed here, not by serde, so renaming
    /// a serde key does not silently change every stored fingerprint.
    pub fn content_fingerprint(&self) -> [u8; 32] {
        // Exhaustive destructuring: adding a field without deciding about it fails to compile.
        let CanonicalRecord {
            subject,
            decision_no,
            decision_no_raw: _,
            violation_type,
            facts,
            legal_basis,
            categories,
            content,
            fine_fen,
            confiscation_fen,
            license,
            decision_date,
            valid_until,
            publicity_until,
            publicity_min_until,
            authority,
            source,
            remarks,
            filed_date,
            place_division,
        } = self;
        let Subject {
            name,
            name_raw: _,
            kind,
            uscc,
            business_reg_no,
            org_code,
            tax_reg_no,
            institution_cert_no,
            social_org_reg_no,
            legal_rep,
            id_type,
            id_no,
        } = subject;
        let mut fp = Fingerprint::new();
        fp.text("v", "penex.record.1");
        fp.text("subject.name", name);
        fp.text("subject.kind", kind.as_str());
        fp.opt("subject.uscc", uscc.as_deref());
        fp.opt("subject.business_reg_no", business_reg_no.as_deref());
        fp.opt("subject.org_code", org_code.as_deref());
        fp.opt("subject.tax_reg_no", tax_reg_no.as_deref());
        fp.opt(
            "subject.institution_cert_no",
            institution_cert_no.as_deref(),
        );
        fp.opt("subject.social_org_reg_no", social_org_reg_no.as_deref());
        match legal_rep {
            None => fp.opt("subject.legal_rep", None),
            Some(LegalRep {
                name,
                id_type,
                id_no,
            }) => {
                fp.text("subject.legal_rep", "");
                fp.opt("subject.legal_rep.name", name.as_deref());
                fp.opt(
                    "subject.legal_rep.id_type",
                    id_type.as_ref().map(|t| t.to_string()).as_deref(),
                );
                fp.opt("subject.legal_rep.id_no", id_no.as_deref());
            }
        }
        fp.opt(
            "subject.id_type",
            id_type.as_ref().map(|t| t.to_string()).as_deref(),
        );
        fp.opt("subject.id_no", id_no.as_deref());
        fp.text("decision_no", decision_no);
        fp.text("violation_type", violation_type);
        fp.text("facts", facts);
        fp.text("legal_basis", legal_basis);
        let cats: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
        fp.text("categories", &cats.join(";"));
        fp.text("content", content);
        fp.opt("fine_fen", fine_fen.map(|v| v.to_string()).as_deref());
        fp.opt(
            "confiscation_fen",
            confiscation_fen.map(|v| v.to_string()).as_deref(),
        );
        fp.opt("license", license.as_deref());
        fp.text("decision_date", &decision_date.to_string());
        fp.opt("valid_until", valid_until.map(|d| d.to_string()).as_deref());
        fp.text("publicity_until", &publicity_until.to_string());
        fp.text("publicity_min_until", &publicity_min_until.to_string());
        fp.text("authority.name", &authority.name);
        fp.opt("authority.uscc", authority.uscc.as_deref());
        fp.text("source.name", &source.name);
        fp.opt("source.uscc", source.uscc.as_deref());
        fp.opt("remarks", remarks.as_deref());
        fp.opt("filed_date", filed_date.map(|d| d.to_string()).as_deref());
        fp.opt("place_division", place_division.as_deref());
        fp.finish()
    }
}

/// Length-prefixed field encoder feeding SHA-256: `tag_len tag presence value_len value`.
struct Fingerprint(ring::digest::Context);

impl Fingerprint {
    fn new() -> Self {
        Fingerprint(ring::digest::Context::new(&ring::digest::SHA256))
    }

    fn bytes(&mut self, b: &[u8]) {
        self.0.update(&(b.len() as u64).to_be_bytes());
        self.0.update(b);
    }

    fn text(&mut self, tag: &str, value: &str) {
        self.opt(tag, Some(value));
    }

    fn opt(&mut self, tag: &str, value: Option<&str>) {
        self.bytes(tag.as_bytes());
        match value {
            None => self.0.update(&[0]),
            Some(v) => {
                self.0.update(&[1]);
                self.bytes(v.as_bytes());
            }
        }
    }

    fn finish(self) -> [u8; 32] {
        let digest = self.0.finish();
        let mut out = [0u8; 32];
        for (o, d) in out.iter_mut().zip(digest.as_ref()) {
            *o = *d;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_type_round_trips_through_its_text() {
        for t in [
            IdType::ResidentId,
            IdType::Passport,
            IdType::HkMacaoPermit,
            IdType::TaiwanPermit,
            IdType::ForeignPermanentResidentId,
            IdType::Other("军官证".into()),
            IdType::Other(String::new()),
        ] {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<IdType>(&json).unwrap(), t, "{json}");
        }
        assert_eq!(IdType::Other("军官证".into()).to_string(), "其他-军官证");
        assert_eq!(IdType::from_canonical("身份证"), Some(IdType::ResidentId));
        assert_eq!(IdType::ResidentId.name_zh(), "身份证");
        assert_eq!(IdType::from_canonical("驾驶证"), None);
    }

    #[test]
    fn category_serde_names_match_as_str_and_are_distinct() {
        let mut seen = BTreeSet::new();
        for c in PenaltyCategory::ALL {
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(json, serde_json::Value::String(c.as_str().to_owned()));
            assert!(seen.insert(c.name_zh()));
        }
        assert_eq!(seen.len(), 14);
    }
}
