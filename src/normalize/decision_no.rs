//! 行政处罚决定书文号: folding decision numbers to one spelling.
//!
//! Pure. Invariants: the fold is idempotent and insensitive to the bracket kind around the
//! year (`[ ]`, `［］`, `【】`, `()`, `（）`, `﹝﹞`, `〖〗`, `〔〕` all become `〔〕`), to character
//! width and to whitespace. Nothing else changes: `第` is kept, because it is part of what the
//! unit wrote and dropping it could merge two different numbers. The raw text is kept by the
//! caller; year + sequence alone is never an identity (one unit reuses case numbers across
//! document types with different prefixes).

use crate::normalize::text::{fixpoint, nfkc_str};

/// Folds a decision number: `台城执罚决字[ 2015 ]第00001号` → `台城执罚决字〔2015〕第00001号`.
pub fn fold_decision_no(raw: &str) -> String {
    fixpoint(raw, |s| {
        nfkc_str(s)
            .chars()
            .filter(|c| {
                !c.is_whitespace()
                    && !matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
            })
            .map(|c| match c {
                '[' | '(' | '【' | '〖' | '﹝' | '〘' | '⦗' => '〔',
                ']' | ')' | '】' | '〗' | '﹞' | '〙' | '⦘' => '〕',
                other => other,
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn real_world_numbers_fold() {
        let cases = [
            (
                "秀综执罚决字[2018]第1-001号",
                "秀综执罚决字〔2018〕第1-001号",
            ),
            (
                "台城执罚决字[ 2015 ]第00001号",
                "台城执罚决字〔2015〕第00001号",
            ),
            ("2211801118", "2211801118"),
            (" ２２１１８０１１１８ ", "2211801118"),
            (
                "沪静城管罚字〔2025〕第310106号",
                "沪静城管罚字〔2025〕第310106号",
            ),
            ("皖住建罚字【2019】12号", "皖住建罚字〔2019〕12号"),
            ("苏建罚（2020）3号", "苏建罚〔2020〕3号"),
            ("苏建罚(2020)3号", "苏建罚〔2020〕3号"),
            ("浙建罚﹝2021﹞第 7 号", "浙建罚〔2021〕第7号"),
            ("浙建罚［2021］第７号", "浙建罚〔2021〕第7号"),
        ];
        for (raw, want) in cases {
            assert_eq!(fold_decision_no(raw), want, "{raw}");
        }
        // 第 is kept: with and without it are different spellings the unit chose.
        assert_ne!(
            fold_decision_no("苏建罚〔2020〕第3号"),
            fold_decision_no("苏建罚〔2020〕3号")
        );
    }

    const OPEN: [&str; 8] = ["[", "［", "【", "(", "（", "﹝", "〔", "〖"];
    const CLOSE: [&str; 8] = ["]", "］", "】", ")", "）", "﹞", "〕", "〗"];

    proptest! {
        #[test]
        fn bracket_variants_fold_alike(
            prefix in "[沪苏浙皖][a-z城管建执]{1,4}罚字", year in 1990u32..2100, seq in 1u32..100000,
            o1 in 0usize..8, o2 in 0usize..8, sp in "[ 　]{0,2}", di in any::<bool>()
        ) {
            let di = if di { "第" } else { "" };
            let (Some(a1), Some(b1), Some(a2), Some(b2)) =
                (OPEN.get(o1), CLOSE.get(o1), OPEN.get(o2), CLOSE.get(o2)) else {
                    return Err(TestCaseError::fail("index"));
                };
            let x = format!("{prefix}{a1}{year}{b1}{di}{seq}号");
            let y = format!("{sp}{prefix}{a2}{sp}{year}{sp}{b2}{sp}{di}{seq}{sp}号");
            prop_assert_eq!(fold_decision_no(&x), fold_decision_no(&y));
            prop_assert_eq!(fold_decision_no(&x), format!("{prefix}〔{year}〕{di}{seq}号"));
        }

        #[test]
        fn folding_is_idempotent(s in "\\PC{0,30}|[\\[\\]（）【】 0-9第号]{0,20}") {
            let once = fold_decision_no(&s);
            prop_assert_eq!(fold_decision_no(&once), once);
        }
    }
}
