//! Text folding: names (subjects, authorities) and free text (facts, content, legal basis).
//!
//! Pure; depends only on unicode-normalization. Invariant: every fold is idempotent
//! (`f(f(x)) == f(x)`), which is why each one iterates to a fixpoint: removing a space can let
//! NFKC compose characters that were apart, so one pass is not always enough.

use std::borrow::Cow;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Characters that are invisible and carry no meaning in names or text.
const INVISIBLE: [char; 6] = [
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}',
];

/// Upper bound on fold passes; two suffice in practice, the bound only guards the loop.
const MAX_PASSES: usize = 6;

/// Applies `step` until nothing changes (bounded).
pub(crate) fn fixpoint(input: &str, step: impl Fn(&str) -> String) -> String {
    let mut current = step(input);
    for _ in 0..MAX_PASSES {
        let next = step(&current);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// NFKC: full-width letters, digits and punctuation become their ASCII forms.
pub fn nfkc(text: &str) -> String {
    nfkc_str(text).into_owned()
}

/// NFKC without the work when there is none to do: most text (ASCII, CJK ideographs) passes
/// Unicode's NFKC quick check and is returned as is; anything else is normalized.
pub(crate) fn nfkc_str(text: &str) -> Cow<'_, str> {
    match is_nfkc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        IsNormalized::No | IsNormalized::Maybe => Cow::Owned(text.nfkc().collect()),
    }
}

/// Folds a name (行政相对人名称, 处罚机关, …) for comparison: NFKC, every bracket kind to
/// ASCII `(` `)`, the middle-dot variants of transliterated names to `·`, all whitespace and
/// invisible characters removed. `上海某某（集团） 有限公司` → `上海某某(集团)有限公司`.
pub fn fold_name(name: &str) -> String {
    fixpoint(name, |s| {
        nfkc_str(s)
            .chars()
            .filter(|c| !c.is_whitespace() && !INVISIBLE.contains(c))
            .map(|c| match c {
                '[' | '【' | '〔' | '〖' | '｛' | '{' | '「' => '(',
                ']' | '】' | '〕' | '〗' | '｝' | '}' | '」' => ')',
                '•' | '・' | '‧' | '∙' | '⋅' => '·',
                other => other,
            })
            .collect()
    })
}

/// Folds free text: NFKC; line endings to `\n`; every run of other whitespace to one space;
/// each line trimmed; blank lines dropped (they carry no meaning in 处罚内容 or 违法事实, while
/// the line breaks between "一、警告;" and "二、罚款…" do, so those are kept).
pub fn fold_text(text: &str) -> String {
    fixpoint(text, |s| {
        let unified = nfkc_str(s)
            .chars()
            .filter(|c| !INVISIBLE.contains(c))
            .collect::<String>();
        let unified = unified.replace("\r\n", "\n").replace(
            ['\r', '\u{2028}', '\u{2029}', '\u{85}', '\u{B}', '\u{C}'],
            "\n",
        );
        let lines: Vec<String> = unified
            .split('\n')
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|line| !line.is_empty())
            .collect();
        lines.join("\n")
    })
}

/// Folds a code-like text (registration numbers, passport numbers): NFKC, whitespace and
/// invisible characters removed, ASCII upper case.
pub fn fold_code(code: &str) -> String {
    fixpoint(code, |s| {
        nfkc_str(s)
            .chars()
            .filter(|c| !c.is_whitespace() && !INVISIBLE.contains(c))
            .map(|c| c.to_ascii_uppercase())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_fold_widths_brackets_and_spaces() {
        let cases = [
            ("上海某某（集团） 有限公司", "上海某某(集团)有限公司"),
            ("上海某某(集团)有限公司", "上海某某(集团)有限公司"),
            ("上海某某【集团】有限公司", "上海某某(集团)有限公司"),
            ("ＡＢＣ　贸易 商行", "ABC贸易商行"),
            ("买买提•艾力", "买买提·艾力"),
            ("买买提・艾力", "买买提·艾力"),
            (
                "上海市静安区彭浦镇人民政府\u{200B}",
                "上海市静安区彭浦镇人民政府",
            ),
            (" \t\n", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(fold_name(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn free_text_keeps_meaningful_line_breaks() {
        assert_eq!(
            fold_text("  一、警告;\r\n\r\n二、罚款人民币贰佰元整。  "),
            "一、警告;\n二、罚款人民币贰佰元整。"
        );
        assert_eq!(fold_text("违法  事实\t在此"), "违法 事实 在此");
        assert_eq!(
            fold_text("《中华人民共和国行政处罚法》第九条，"),
            "《中华人民共和国行政处罚法》第九条,"
        );
    }

    #[test]
    fn codes_fold_to_upper_case() {
        assert_eq!(fold_code(" 91310000 ｍａ1fl0000x "), "91310000MA1FL0000X");
    }

    proptest! {
        /// The quick path gives exactly what full NFKC gives, on any text, on the full-width
        /// forms and combining marks units' exports carry, and on CJK.
        #[test]
        fn quick_nfkc_equals_full_nfkc(
            s in "\\PC{0,40}|[ 　（）【】a-zＡ-Ｚ０-９\u{301}\u{B4}\u{3099}\u{FF9E}ｶﾞ上海가각]{0,20}"
        ) {
            let full: String = s.nfkc().collect();
            let quick = nfkc_str(&s);
            prop_assert_eq!(quick.as_ref(), full.as_str());
        }

        #[test]
        fn fold_name_is_idempotent(s in "\\PC{0,40}|[ 　（）【】a-zＡ-Ｚ\u{301}\u{B4}上海]{0,20}") {
            let once = fold_name(&s);
            prop_assert_eq!(fold_name(&once), once);
        }

        #[test]
        fn fold_text_is_idempotent(s in "\\PC{0,40}|[ \n\r\t　a\u{301}\u{B4}\u{2028}罚款]{0,20}") {
            let once = fold_text(&s);
            prop_assert_eq!(fold_text(&once), once);
        }

        #[test]
        fn fold_code_is_idempotent(s in "\\PC{0,30}") {
            let once = fold_code(&s);
            prop_assert_eq!(fold_code(&once), once);
        }

        #[test]
        fn fold_name_removes_all_whitespace(s in "\\PC{0,40}") {
            prop_assert!(!fold_name(&s).chars().any(char::is_whitespace));
        }
    }
}
