//! 处罚类别: the 2021 names (Administrative Penalty Law art. 9), the 1996 names (art. 8 of the
//! old law), one provincial feed's numeric codes 01–14, and our English serde names.
//!
//! Pure. Invariants: every accepted spelling maps to exactly one stored category, except the
//! 1996 "暂扣或者吊销许可证/执照", which is decided from the 处罚内容; when the content does not
//! decide it, the milder 暂扣 (suspension) is stored with a warning — a wrong "revoked" would
//! wrongly flag someone.

use crate::domain::record::PenaltyCategory;
use crate::normalize::text::fold_name;
use std::sync::LazyLock;

/// One parsed category name before the content has been consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryToken {
    /// A definite category.
    Known(PenaltyCategory),
    /// 1996 暂扣或者吊销许可证 / 暂扣或者吊销执照: suspension or revocation, decided by the content.
    SuspendOrRevoke,
}

use CategoryToken::{Known, SuspendOrRevoke};
use PenaltyCategory as P;

/// Numeric codes of the provincial feed (the 双公示 standard's order of penalty categories),
/// index = code − 1.
const NUMERIC: [PenaltyCategory; 14] = [
    P::Warning,                    // 01 警告
    P::Fine,                       // 02 罚款
    P::ConfiscateIllegalGains,     // 03 没收违法所得
    P::OrderSuspension,            // 04 责令停产停业
    P::RevokeLicence,              // 05 吊销许可证
    P::AdministrativeDetention,    // 06 行政拘留
    P::Other,                      // 07 其他
    P::PublicCriticism,            // 08 通报批评
    P::ConfiscateIllegalProperty,  // 09 没收非法财物
    P::LowerQualification,         // 10 降低资质等级
    P::SuspendLicence,             // 11 暂扣许可证
    P::RestrictBusinessActivities, // 12 限制开展经营活动
    P::RestrictEmployment,         // 13 限制从业
    P::OrderClosure,               // 14 责令关闭
];

/// Older and variant names (folded) beside the 2021 ones.
const ALIASES: [(&str, &[CategoryToken]); 21] = [
    ("其它", &[Known(P::Other)]),
    ("其他行政处罚", &[Known(P::Other)]),
    ("法律、行政法规规定的其他行政处罚", &[Known(P::Other)]),
    ("法律,行政法规规定的其他行政处罚", &[Known(P::Other)]),
    (
        "没收违法所得、没收非法财物",
        &[
            Known(P::ConfiscateIllegalGains),
            Known(P::ConfiscateIllegalProperty),
        ],
    ),
    (
        "没收违法所得,没收非法财物",
        &[
            Known(P::ConfiscateIllegalGains),
            Known(P::ConfiscateIllegalProperty),
        ],
    ),
    ("暂扣许可证", &[Known(P::SuspendLicence)]),
    ("暂扣执照", &[Known(P::SuspendLicence)]),
    ("暂扣营业执照", &[Known(P::SuspendLicence)]),
    ("吊销许可证", &[Known(P::RevokeLicence)]),
    ("吊销执照", &[Known(P::RevokeLicence)]),
    ("吊销营业执照", &[Known(P::RevokeLicence)]),
    ("暂扣或者吊销许可证", &[SuspendOrRevoke]),
    ("暂扣或者吊销执照", &[SuspendOrRevoke]),
    ("暂扣或吊销许可证", &[SuspendOrRevoke]),
    ("暂扣或吊销执照", &[SuspendOrRevoke]),
    ("暂扣或者吊销许可证件", &[SuspendOrRevoke]),
    ("暂扣或者吊销许可证、暂扣或者吊销执照", &[SuspendOrRevoke]),
    ("限制开展经营活动", &[Known(P::RestrictBusinessActivities)]),
    (
        "责令停产停业、责令关闭",
        &[Known(P::OrderSuspension), Known(P::OrderClosure)],
    ),
    ("行政警告", &[Known(P::Warning)]),
];

/// [`ALIASES`] with each name folded once, in the same order (the first match wins).
static FOLDED_ALIASES: LazyLock<Vec<(String, &'static [CategoryToken])>> = LazyLock::new(|| {
    ALIASES
        .iter()
        .map(|(alias, tokens)| (fold_name(alias), *tokens))
        .collect()
});

/// Looks up one category name (any spelling, see module doc). `None` when unknown.
pub fn parse_category_name(name: &str) -> Option<Vec<CategoryToken>> {
    let folded = fold_name(name);
    let lower = folded.to_ascii_lowercase();
    if let Some(c) = PenaltyCategory::ALL
        .iter()
        .find(|c| c.name_zh() == folded || c.as_str() == lower)
    {
        return Some(vec![Known(*c)]);
    }
    if let Some((_, tokens)) = FOLDED_ALIASES.iter().find(|(alias, _)| *alias == folded) {
        return Some(tokens.to_vec());
    }
    if (1..=2).contains(&folded.chars().count()) && folded.chars().all(|c| c.is_ascii_digit()) {
        let code: usize = folded.parse().ok()?;
        return NUMERIC.get(code.checked_sub(1)?).map(|c| vec![Known(*c)]);
    }
    None
}

/// Splits a `;`-joined category text (also `；` `,` `，` and line breaks) and parses each piece;
/// a piece that is not a name as a whole is split again on `、`. Returns the tokens, or the
/// pieces that are unknown.
pub fn parse_category_list(text: &str) -> Result<Vec<CategoryToken>, Vec<String>> {
    let mut tokens = Vec::new();
    let mut unknown = Vec::new();
    // `,` is only a separator between pieces, never inside a name, except in two 1996 names
    // that are tried whole first.
    if let Some(whole) = parse_category_name(text) {
        return Ok(whole);
    }
    for piece in text.split([';', '；', ',', '，', '\n', '|']) {
        let piece = piece.trim();
        if fold_name(piece).is_empty() {
            continue;
        }
        if let Some(t) = parse_category_name(piece) {
            tokens.extend(t);
            continue;
        }
        for part in piece.split(['、', '､']) {
            if fold_name(part).is_empty() {
                continue;
            }
            match parse_category_name(part) {
                Some(t) => tokens.extend(t),
                None => unknown.push(part.trim().to_owned()),
            }
        }
    }
    if unknown.is_empty() {
        Ok(tokens)
    } else {
        Err(unknown)
    }
}

/// Decides a 1996 "暂扣或者吊销" category from the 处罚内容: `(category, ambiguous)`. Only one of
/// 吊销 / 暂扣 in the content decides; neither or both leave it ambiguous → suspension.
pub fn resolve_suspend_or_revoke(content: &str) -> (PenaltyCategory, bool) {
    match (content.contains("吊销"), content.contains("暂扣")) {
        (true, false) => (P::RevokeLicence, false),
        (false, true) => (P::SuspendLicence, false),
        _ => (P::SuspendLicence, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_2021_name_and_serde_name_parses() {
        for c in PenaltyCategory::ALL {
            assert_eq!(parse_category_name(c.name_zh()), Some(vec![Known(c)]));
            assert_eq!(parse_category_name(c.as_str()), Some(vec![Known(c)]));
        }
    }

    #[test]
    fn numeric_codes_as_in_the_domain_table() {
        let table = [
            ("01", P::Warning),
            ("02", P::Fine),
            ("03", P::ConfiscateIllegalGains),
            ("04", P::OrderSuspension),
            ("05", P::RevokeLicence),
            ("06", P::AdministrativeDetention),
            ("07", P::Other),
            ("08", P::PublicCriticism),
            ("09", P::ConfiscateIllegalProperty),
            ("10", P::LowerQualification),
            ("11", P::SuspendLicence),
            ("12", P::RestrictBusinessActivities),
            ("13", P::RestrictEmployment),
            ("14", P::OrderClosure),
            ("2", P::Fine),
        ];
        for (code, want) in table {
            assert_eq!(parse_category_name(code), Some(vec![Known(want)]), "{code}");
        }
        assert_eq!(parse_category_name("00"), None);
        assert_eq!(parse_category_name("15"), None);
        assert_eq!(parse_category_name("002"), None);
    }

    #[test]
    fn lists_and_1996_names() {
        let fine = Known(P::Fine);
        let cases: [(&str, Vec<CategoryToken>); 9] = [
            ("警告;罚款", vec![Known(P::Warning), fine]),
            ("警告；罚款", vec![Known(P::Warning), fine]),
            ("警告、罚款", vec![Known(P::Warning), fine]),
            ("警告，罚款", vec![Known(P::Warning), fine]),
            (
                "没收违法所得、没收非法财物",
                vec![
                    Known(P::ConfiscateIllegalGains),
                    Known(P::ConfiscateIllegalProperty),
                ],
            ),
            ("暂扣或者吊销许可证", vec![SuspendOrRevoke]),
            (
                "暂扣或者吊销许可证、暂扣或者吊销执照",
                vec![SuspendOrRevoke],
            ),
            ("法律、行政法规规定的其他行政处罚", vec![Known(P::Other)]),
            ("01;02", vec![Known(P::Warning), fine]),
        ];
        for (text, want) in cases {
            assert_eq!(parse_category_list(text).unwrap(), want, "{text}");
        }
        assert_eq!(
            parse_category_list("警告;拘役").unwrap_err(),
            vec!["拘役".to_owned()]
        );
    }

    #[test]
    fn suspend_or_revoke_is_decided_by_the_content() {
        assert_eq!(
            resolve_suspend_or_revoke("吊销营业执照"),
            (P::RevokeLicence, false)
        );
        assert_eq!(
            resolve_suspend_or_revoke("暂扣许可证三个月"),
            (P::SuspendLicence, false)
        );
        assert_eq!(
            resolve_suspend_or_revoke("罚款贰佰元"),
            (P::SuspendLicence, true)
        );
        assert_eq!(
            resolve_suspend_or_revoke("暂扣或者吊销"),
            (P::SuspendLicence, true)
        );
    }
}
