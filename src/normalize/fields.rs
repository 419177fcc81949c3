//! The key table: which submitted key (our English name, nested or dotted; the 双公示 column
//! code; or the Chinese item name) means which field. Shared by the JSON normalizer and the
//! CSV/XLSX importers ([`field_for_header`]).
//!
//! Pure. Invariants: keys are mapped by whole name, never by suffix — old and new 双公示 sets
//! number the subject codes differently (`_2` was 组织机构代码, now 工商注册号), so
//! `行政相对人代码_2` alone maps to nothing, while `行政相对人代码_2(工商注册号)` maps by the
//! name in brackets. Lookup is insensitive to width, whitespace and ASCII case.

use crate::normalize::text::{fixpoint, nfkc};
use std::collections::HashMap;
use std::sync::LazyLock;

/// A field of the submitted record (a leaf, not a group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// 行政相对人名称.
    SubjectName,
    /// The subject name as first submitted (carried through the canonical form).
    SubjectNameRaw,
    /// 行政相对人类别.
    SubjectKind,
    /// 统一社会信用代码 of the subject.
    SubjectUscc,
    /// 工商注册号.
    SubjectBusinessRegNo,
    /// 组织机构代码.
    SubjectOrgCode,
    /// 税务登记号.
    SubjectTaxRegNo,
    /// 事业单位证书号.
    SubjectInstitutionCertNo,
    /// 社会组织登记证号.
    SubjectSocialOrgRegNo,
    /// 法定代表人.
    LegalRepName,
    /// 法定代表人证件类型.
    LegalRepIdType,
    /// 法定代表人证件号码.
    LegalRepIdNo,
    /// 证件类型 of a natural person.
    SubjectIdType,
    /// 证件号码 of a natural person.
    SubjectIdNo,
    /// 行政处罚决定书文号.
    DecisionNo,
    /// The decision number as first submitted.
    DecisionNoRaw,
    /// 违法行为类型.
    ViolationType,
    /// 违法事实.
    Facts,
    /// 处罚依据.
    LegalBasis,
    /// 处罚类别.
    Categories,
    /// 处罚内容.
    Content,
    /// 罚款金额(万元).
    Fine,
    /// 罚款金额 in 元 (penex extension).
    FineYuan,
    /// 罚款金额 in 分 (the canonical form).
    FineFen,
    /// 没收违法所得、没收非法财物的金额(万元).
    Confiscation,
    /// The same in 元.
    ConfiscationYuan,
    /// The same in 分.
    ConfiscationFen,
    /// 暂扣或吊销证照名称及编号.
    License,
    /// 处罚决定日期.
    DecisionDate,
    /// 处罚有效期.
    ValidUntil,
    /// 公示截止期.
    PublicityUntil,
    /// Earliest end of publicity; computed, accepted on input only so the canonical form
    /// round-trips, and otherwise ignored.
    PublicityMinUntil,
    /// 处罚机关.
    AuthorityName,
    /// The authority name as first submitted.
    AuthorityNameRaw,
    /// 处罚机关统一社会信用代码.
    AuthorityUscc,
    /// 数据来源单位.
    SourceName,
    /// The source name as first submitted.
    SourceNameRaw,
    /// 数据来源单位统一社会信用代码.
    SourceUscc,
    /// 备注.
    Remarks,
    /// 立案日期.
    FiledDate,
    /// GB/T 2260 code of the place of violation.
    PlaceDivision,
}

/// (field, English dotted name, column code, Chinese item names).
type Row = (
    Field,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
);

const TABLE: [Row; 41] = [
    (
        Field::SubjectName,
        "subject.name",
        Some("CF_XDR_MC"),
        &["行政相对人名称"],
    ),
    (Field::SubjectNameRaw, "subject.name_raw", None, &[]),
    (
        Field::SubjectKind,
        "subject.kind",
        Some("CF_XDR_LB"),
        &["行政相对人类别"],
    ),
    (
        Field::SubjectUscc,
        "subject.uscc",
        Some("CF_XDR_SHXYM"),
        &["统一社会信用代码", "行政相对人统一社会信用代码"],
    ),
    (
        Field::SubjectBusinessRegNo,
        "subject.business_reg_no",
        Some("CF_XDR_GSZC"),
        &["工商注册号"],
    ),
    (
        Field::SubjectOrgCode,
        "subject.org_code",
        Some("CF_XDR_ZZJG"),
        &["组织机构代码"],
    ),
    (
        Field::SubjectTaxRegNo,
        "subject.tax_reg_no",
        Some("CF_XDR_SWDJ"),
        &["税务登记号"],
    ),
    (
        Field::SubjectInstitutionCertNo,
        "subject.institution_cert_no",
        Some("CF_XDR_SYDW"),
        &["事业单位证书号"],
    ),
    (
        Field::SubjectSocialOrgRegNo,
        "subject.social_org_reg_no",
        Some("CF_XDR_SHZZ"),
        &["社会组织登记证号"],
    ),
    (
        Field::LegalRepName,
        "subject.legal_rep.name",
        Some("CF_FRDB"),
        &["法定代表人", "法定代表人姓名"],
    ),
    (
        Field::LegalRepIdType,
        "subject.legal_rep.id_type",
        Some("CF_FR_ZJLX"),
        &["法定代表人证件类型", "法定代表人身份证件类型"],
    ),
    (
        Field::LegalRepIdNo,
        "subject.legal_rep.id_no",
        Some("CF_FR_ZJHM"),
        &["法定代表人证件号码", "法定代表人身份证件号码"],
    ),
    (
        Field::SubjectIdType,
        "subject.id_type",
        Some("CF_XDR_ZJLX"),
        &["证件类型"],
    ),
    (
        Field::SubjectIdNo,
        "subject.id_no",
        Some("CF_XDR_ZJHM"),
        &["证件号码"],
    ),
    (
        Field::DecisionNo,
        "decision_no",
        Some("CF_WSH"),
        &["行政处罚决定书文号", "决定书文号"],
    ),
    (Field::DecisionNoRaw, "decision_no_raw", None, &[]),
    (
        Field::ViolationType,
        "violation_type",
        Some("CF_WFXW"),
        &["违法行为类型"],
    ),
    (Field::Facts, "facts", Some("CF_SY"), &["违法事实"]),
    (
        Field::LegalBasis,
        "legal_basis",
        Some("CF_YJ"),
        &["处罚依据"],
    ),
    (
        Field::Categories,
        "categories",
        Some("CF_CFLB"),
        &["处罚类别"],
    ),
    (Field::Content, "content", Some("CF_NR"), &["处罚内容"]),
    (Field::Fine, "fine", Some("CF_NR_FK"), &["罚款金额(万元)"]),
    (Field::FineYuan, "fine_yuan", None, &["罚款金额(元)"]),
    (Field::FineFen, "fine_fen", None, &["罚款金额(分)"]),
    (
        Field::Confiscation,
        "confiscation",
        Some("CF_NR_WFFF"),
        &["没收违法所得、没收非法财物的金额(万元)"],
    ),
    (
        Field::ConfiscationYuan,
        "confiscation_yuan",
        None,
        &["没收违法所得、没收非法财物的金额(元)"],
    ),
    (
        Field::ConfiscationFen,
        "confiscation_fen",
        None,
        &["没收违法所得、没收非法财物的金额(分)"],
    ),
    (
        Field::License,
        "license",
        Some("CF_NR_ZKDX"),
        &["暂扣或吊销证照名称及编号"],
    ),
    (
        Field::DecisionDate,
        "decision_date",
        Some("CF_JDRQ"),
        &["处罚决定日期"],
    ),
    (
        Field::ValidUntil,
        "valid_until",
        Some("CF_YXQ"),
        &["处罚有效期"],
    ),
    (
        Field::PublicityUntil,
        "publicity_until",
        Some("CF_GSJZQ"),
        &["公示截止期"],
    ),
    (Field::PublicityMinUntil, "publicity_min_until", None, &[]),
    (
        Field::AuthorityName,
        "authority.name",
        Some("CF_CFJG"),
        &["处罚机关"],
    ),
    (Field::AuthorityNameRaw, "authority.name_raw", None, &[]),
    (
        Field::AuthorityUscc,
        "authority.uscc",
        Some("CF_CFJGDM"),
        &["处罚机关统一社会信用代码"],
    ),
    (
        Field::SourceName,
        "source.name",
        Some("CF_SJLY"),
        &["数据来源单位", "数据来源"],
    ),
    (Field::SourceNameRaw, "source.name_raw", None, &[]),
    (
        Field::SourceUscc,
        "source.uscc",
        Some("CF_SJLYDM"),
        &["数据来源单位统一社会信用代码"],
    ),
    (Field::Remarks, "remarks", Some("BZ"), &["备注"]),
    (Field::FiledDate, "filed_date", None, &["立案日期"]),
    (
        Field::PlaceDivision,
        "place_division",
        None,
        &[
            "违法行为发生地",
            "违法行为发生地区划代码",
            "违法行为发生地行政区划代码",
        ],
    ),
];

/// Nested objects that group fields (`{"subject": {"legal_rep": {…}}}`), by dotted path.
const GROUPS: [&str; 4] = ["subject", "subject.legal_rep", "authority", "source"];

impl Field {
    fn row(self) -> Option<&'static Row> {
        TABLE.iter().find(|r| r.0 == self)
    }

    /// Every field.
    pub fn all() -> impl Iterator<Item = Field> {
        TABLE.iter().map(|r| r.0)
    }

    /// Our English dotted name (`subject.name`).
    pub fn name(self) -> &'static str {
        self.row().map(|r| r.1).unwrap_or_default()
    }

    /// The 双公示 column code, if the national record has this field.
    pub fn column_code(self) -> Option<&'static str> {
        self.row().and_then(|r| r.2)
    }

    /// The JSON Pointer where the field lives in our nested form (`/subject/name`), used for
    /// errors about a field that was not given at all.
    pub fn pointer(self) -> String {
        format!("/{}", self.name().replace('.', "/"))
    }

    /// The longest text accepted in the field, in characters (longer: `too_long`). Far above
    /// anything a real record holds, and low enough that an indexed value (names, decision
    /// numbers, identifiers) stays within one PostgreSQL index entry (about 2,700 bytes, 900
    /// Chinese characters), which a 1 MiB name did not: it was a 500 on PostgreSQL.
    pub fn max_chars(self) -> usize {
        match self {
            Field::SubjectName
            | Field::SubjectNameRaw
            | Field::LegalRepName
            | Field::AuthorityName
            | Field::AuthorityNameRaw
            | Field::SourceName
            | Field::SourceNameRaw
            | Field::Categories => 200,
            Field::DecisionNo | Field::DecisionNoRaw => 128,
            Field::SubjectKind
            | Field::SubjectUscc
            | Field::SubjectBusinessRegNo
            | Field::SubjectOrgCode
            | Field::SubjectTaxRegNo
            | Field::SubjectInstitutionCertNo
            | Field::SubjectSocialOrgRegNo
            | Field::LegalRepIdType
            | Field::LegalRepIdNo
            | Field::SubjectIdType
            | Field::SubjectIdNo
            | Field::Fine
            | Field::FineYuan
            | Field::FineFen
            | Field::Confiscation
            | Field::ConfiscationYuan
            | Field::ConfiscationFen
            | Field::DecisionDate
            | Field::ValidUntil
            | Field::PublicityUntil
            | Field::PublicityMinUntil
            | Field::AuthorityUscc
            | Field::SourceUscc
            | Field::FiledDate
            | Field::PlaceDivision => 64,
            Field::License => 1_000,
            Field::ViolationType
            | Field::Facts
            | Field::LegalBasis
            | Field::Content
            | Field::Remarks => 10_000,
        }
    }
}

/// Folds a key or header for lookup: NFKC, no whitespace, ASCII lower case.
pub fn fold_key(key: &str) -> String {
    fixpoint(key, |s| {
        nfkc(s)
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_lowercase())
            .collect()
    })
}

/// True when the dotted path names a group object.
pub(crate) fn is_group(path: &str) -> bool {
    GROUPS.contains(&path)
}

/// The field an English dotted path names (already folded).
pub(crate) fn field_for_path(path: &str) -> Option<Field> {
    TABLE.iter().find(|r| r.1 == path).map(|r| r.0)
}

/// The field a CSV/XLSX header or a top-level JSON key names: an English dotted name, a
/// 双公示 column code or a Chinese item name, trimmed and NFKC-folded; a header like
/// `行政相对人代码_1(统一社会信用代码)` is mapped by the name in its brackets.
pub fn field_for_header(header: &str) -> Option<Field> {
    let key = fold_key(header);
    if let Some(f) = lookup_folded(&key) {
        return Some(f);
    }
    let inner = key.strip_suffix(')')?;
    let (_, name) = inner.rsplit_once('(')?;
    lookup_folded(name)
}

/// Every spelling of every field in the form a folded key takes: the English name as is, the
/// column code in ASCII lower case (`fold_key` lower-cases ASCII, so this is the
/// case-insensitive match), each Chinese item name folded. Built once: folding the Chinese
/// names anew for every key of every record was most of the cost of normalizing a record.
/// The first row that lists a spelling wins, as in a scan of the table in order.
static SPELLINGS: LazyLock<HashMap<String, Field>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for (field, en, code, zh) in &TABLE {
        map.entry((*en).to_owned()).or_insert(*field);
        if let Some(code) = code {
            map.entry(code.to_ascii_lowercase()).or_insert(*field);
        }
        for z in *zh {
            map.entry(fold_key(z)).or_insert(*field);
        }
    }
    map
});

/// The field a folded key names.
fn lookup_folded(key: &str) -> Option<Field> {
    SPELLINGS.get(key).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_codes_and_chinese_are_unique() {
        let mut seen = HashSet::new();
        for (f, en, code, zh) in TABLE {
            assert!(seen.insert(fold_key(en)), "{en}");
            if let Some(c) = code {
                assert!(seen.insert(fold_key(c)), "{c}");
            }
            for z in zh {
                assert!(seen.insert(fold_key(z)), "{z}");
                assert_eq!(field_for_header(z), Some(f));
            }
            assert_eq!(field_for_header(en), Some(f));
            assert_eq!(Field::all().filter(|g| *g == f).count(), 1);
        }
    }

    #[test]
    fn headers_map_by_name_never_by_suffix() {
        let cases = [
            ("CF_XDR_MC", Some(Field::SubjectName)),
            (" cf_xdr_shxym ", Some(Field::SubjectUscc)),
            ("行政相对人名称", Some(Field::SubjectName)),
            ("罚款金额（万元）", Some(Field::Fine)),
            ("罚款金额 (万元)", Some(Field::Fine)),
            (
                "没收违法所得、没收非法财物的金额（万元）",
                Some(Field::Confiscation),
            ),
            (
                "行政相对人代码_1(统一社会信用代码)",
                Some(Field::SubjectUscc),
            ),
            (
                "行政相对人代码_2（工商注册号）",
                Some(Field::SubjectBusinessRegNo),
            ),
            (
                "行政相对人代码_2（组织机构代码）",
                Some(Field::SubjectOrgCode),
            ),
            ("行政相对人代码_2", None),
            ("罚款金额", None),
            ("CF_XDR_ZJHM", Some(Field::SubjectIdNo)),
            ("CF_FR_ZJHM", Some(Field::LegalRepIdNo)),
            ("处罚机关统一社会信用代码", Some(Field::AuthorityUscc)),
            ("立案日期", Some(Field::FiledDate)),
            ("subject.legal_rep.id_no", Some(Field::LegalRepIdNo)),
            ("unknown", None),
        ];
        for (h, want) in cases {
            assert_eq!(field_for_header(h), want, "{h}");
        }
    }

    /// The table scan `lookup_folded` replaced: the first row with a matching spelling.
    fn lookup_by_scan(key: &str) -> Option<Field> {
        TABLE
            .iter()
            .find(|(_, en, code, zh)| {
                *en == key
                    || code.is_some_and(|c| c.eq_ignore_ascii_case(key))
                    || zh.iter().any(|z| fold_key(z) == key)
            })
            .map(|r| r.0)
    }

    #[test]
    fn the_spelling_index_answers_like_the_table_scan() {
        let mut keys: Vec<String> = Vec::new();
        for (_, en, code, zh) in TABLE {
            keys.push(en.to_owned());
            keys.extend(code.map(str::to_owned));
            keys.extend(zh.iter().map(|z| (*z).to_owned()));
        }
        keys.extend(
            [
                "unknown",
                "cf_xdr",
                "行政相对人",
                "罚款金额",
                "",
                " ",
                "subject",
            ]
            .map(str::to_owned),
        );
        for key in keys {
            let folded = fold_key(&key);
            assert_eq!(lookup_folded(&folded), lookup_by_scan(&folded), "{key:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_spelling_index_answers_like_the_table_scan_for_any_key(key in "\\PC{0,12}") {
            let folded = fold_key(&key);
            proptest::prop_assert_eq!(lookup_folded(&folded), lookup_by_scan(&folded));
        }
    }

    #[test]
    fn pointers_follow_the_nested_form() {
        assert_eq!(Field::LegalRepIdNo.pointer(), "/subject/legal_rep/id_no");
        assert_eq!(Field::DecisionNo.pointer(), "/decision_no");
    }
}

/// Every field given in a raw item, with the JSON Pointer where it was given, whatever key
/// style the client used (top-level English, dotted, column code, Chinese, or nested groups).
/// Used to seal personal data inside raw submissions before they are stored.
pub fn locate_fields(raw: &serde_json::Value) -> Vec<(Field, String)> {
    fn escape(seg: &str) -> String {
        seg.replace('~', "~0").replace('/', "~1")
    }
    fn walk(
        obj: &serde_json::Map<String, serde_json::Value>,
        prefix: &str,
        pointer: &str,
        out: &mut Vec<(Field, String)>,
    ) {
        for (key, value) in obj {
            let folded = fold_key(key);
            let path = if prefix.is_empty() {
                folded.clone()
            } else {
                format!("{prefix}.{folded}")
            };
            let here = format!("{pointer}/{}", escape(key));
            match value {
                serde_json::Value::Object(inner) if is_group(&path) => {
                    walk(inner, &path, &here, out);
                }
                _ => {
                    let field = if prefix.is_empty() {
                        field_for_header(key)
                    } else {
                        field_for_path(&path)
                    };
                    if let Some(f) = field {
                        out.push((f, here));
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    if let serde_json::Value::Object(obj) = raw {
        walk(obj, "", "", &mut out);
    }
    out
}

#[cfg(test)]
mod locate_tests {
    use super::*;

    #[test]
    fn locates_fields_in_every_key_style() {
        let raw = serde_json::json!({
            "CF_XDR_ZJHM": "x",
            "subject": {"legal_rep": {"id_no": "y"}, "name": "n"},
            "证件号码": "z",
            "a/b": "w",
        });
        let found = locate_fields(&raw);
        assert!(found.contains(&(Field::SubjectIdNo, "/CF_XDR_ZJHM".to_owned())));
        assert!(found.contains(&(Field::LegalRepIdNo, "/subject/legal_rep/id_no".to_owned())));
        assert!(found.contains(&(Field::SubjectName, "/subject/name".to_owned())));
        assert!(!found.iter().any(|(_, p)| p == "/a~1b"));
    }
}
