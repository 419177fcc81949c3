//! Identifiers and their checksums: 统一社会信用代码 (GB 32100-2015), 组织机构代码 (GB 11714),
//! 居民身份证号码 (GB 11643, ISO 7064 MOD 11-2, with the 15 → 18 conversion), and 证件类型.
//!
//! Pure. Invariants: outputs are upper case without spaces; an embedded GB/T 2260 division code
//! is never checked against a list, because retired codes (310108 闸北, 310230 崇明县) still live
//! inside valid older identifiers; unknown USCC category prefixes are accepted. Error messages
//! never contain the identifier (personal data).

use crate::domain::record::IdType;
use crate::normalize::text::{fold_code, fold_text};

/// Why an identifier was rejected. Messages never echo the identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Wrong number of characters.
    #[error("expected {expected} characters, got {got}")]
    Length {
        /// Expected length(s), as text.
        expected: &'static str,
        /// Characters seen.
        got: usize,
    },
    /// A character outside the identifier's alphabet.
    #[error("character {position} is not allowed here (expected {expected})")]
    Alphabet {
        /// 1-based position.
        position: usize,
        /// Description of the alphabet.
        expected: &'static str,
    },
    /// The check character does not match.
    #[error("check character does not match (expected {expected})")]
    Checksum {
        /// The correct check character.
        expected: char,
    },
    /// The birth date embedded in a resident ID is not a calendar day.
    #[error("the embedded birth date is not a calendar day")]
    BirthDate,
}

/// GB 32100-2015 alphabet: digits and upper-case letters without I, O, Z, S, V.
pub const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
const RID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

fn uscc_value(c: char) -> Option<u32> {
    USCC_ALPHABET
        .chars()
        .position(|a| a == c)
        .and_then(|p| u32::try_from(p).ok())
}

/// The GB 32100 check character for the first 17 characters, or `None` if one is outside the
/// alphabet or there are not exactly 17.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    let values: Option<Vec<u32>> = first17.chars().map(uscc_value).collect();
    let values = values?;
    if values.len() != 17 {
        return None;
    }
    let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    USCC_ALPHABET.chars().nth(usize::try_from(check).ok()?)
}

/// Validates a 统一社会信用代码 and returns it folded (NFKC, upper case, no spaces).
pub fn normalize_uscc(input: &str) -> Result<String, IdError> {
    let code = fold_code(input);
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return Err(IdError::Length {
            expected: "18",
            got: chars.len(),
        });
    }
    if let Some(pos) = chars.iter().position(|c| uscc_value(*c).is_none()) {
        return Err(IdError::Alphabet {
            position: pos + 1,
            expected: "0-9 and A-Y without I O S V",
        });
    }
    let first17: String = chars.iter().take(17).collect();
    let expected = uscc_check_char(&first17).ok_or(IdError::Length {
        expected: "18",
        got: 0,
    })?;
    if chars.last() != Some(&expected) {
        return Err(IdError::Checksum { expected });
    }
    Ok(code)
}

fn org_value(c: char) -> Option<u32> {
    c.to_digit(36)
        .filter(|_| c.is_ascii_digit() || c.is_ascii_uppercase())
}

/// The GB 11714 check character for an 8-character body.
pub fn org_code_check_char(body: &str) -> Option<char> {
    let values: Option<Vec<u32>> = body.chars().map(org_value).collect();
    let values = values?;
    if values.len() != 8 {
        return None;
    }
    let sum: u32 = values.iter().zip(ORG_WEIGHTS).map(|(v, w)| v * w).sum();
    match 11 - sum % 11 {
        10 => Some('X'),
        11 => Some('0'),
        d => char::from_digit(d, 10),
    }
}

/// Validates a 组织机构代码 (`12345678-9` or `123456789`) and returns its nine characters
/// without the hyphen.
pub fn normalize_org_code(input: &str) -> Result<String, IdError> {
    let code: String = fold_code(input).chars().filter(|c| *c != '-').collect();
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 9 {
        return Err(IdError::Length {
            expected: "9",
            got: chars.len(),
        });
    }
    if let Some(pos) = chars.iter().take(8).position(|c| org_value(*c).is_none()) {
        return Err(IdError::Alphabet {
            position: pos + 1,
            expected: "0-9 or A-Z",
        });
    }
    let body: String = chars.iter().take(8).collect();
    let expected = org_code_check_char(&body).ok_or(IdError::Length {
        expected: "9",
        got: 0,
    })?;
    if chars.last() != Some(&expected) {
        return Err(IdError::Checksum { expected });
    }
    Ok(code)
}

/// The GB 11643 check character for 17 digits.
pub fn resident_id_check_char(first17: &str) -> Option<char> {
    let digits: Option<Vec<u32>> = first17.chars().map(|c| c.to_digit(10)).collect();
    let digits = digits?;
    if digits.len() != 17 {
        return None;
    }
    let sum: u32 = digits.iter().zip(RID_WEIGHTS).map(|(d, w)| d * w).sum();
    RID_CHECK.get(usize::try_from(sum % 11).ok()?).copied()
}

/// Validates a 居民身份证号码 and returns the 18-character form: 15-digit legacy numbers get
/// `19` inserted before the year and a computed check digit; a lower-case `x` is folded.
pub fn normalize_resident_id(input: &str) -> Result<String, IdError> {
    let code = fold_code(input);
    let chars: Vec<char> = code.chars().collect();
    let first17: String = match chars.len() {
        15 => {
            if let Some(pos) = chars.iter().position(|c| !c.is_ascii_digit()) {
                return Err(IdError::Alphabet {
                    position: pos + 1,
                    expected: "a digit",
                });
            }
            let area: String = chars.iter().take(6).collect();
            let rest: String = chars.iter().skip(6).collect();
            format!("{area}19{rest}")
        }
        18 => {
            if let Some(pos) = chars.iter().take(17).position(|c| !c.is_ascii_digit()) {
                return Err(IdError::Alphabet {
                    position: pos + 1,
                    expected: "a digit",
                });
            }
            chars.iter().take(17).collect()
        }
        got => {
            return Err(IdError::Length {
                expected: "15 or 18",
                got,
            });
        }
    };
    let birth: String = first17.chars().skip(6).take(8).collect();
    if chrono::NaiveDate::parse_from_str(&birth, "%Y%m%d").is_err() {
        return Err(IdError::BirthDate);
    }
    let expected = resident_id_check_char(&first17).ok_or(IdError::Length {
        expected: "18",
        got: 0,
    })?;
    if chars.len() == 18 && chars.last() != Some(&expected) {
        return Err(IdError::Checksum { expected });
    }
    Ok(format!("{first17}{expected}"))
}

/// Parses a 证件类型 leniently: English codes, national names and common variants
/// (`居民身份证`, `护照`, …), `其他-<detail>`. `None` when unknown.
pub fn parse_id_type(input: &str) -> Option<IdType> {
    let text = fold_text(input);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let known = match compact.to_ascii_lowercase().as_str() {
        "身份证" | "居民身份证" | "身份证号" | "身份证号码" | "resident_id" => {
            Some(IdType::ResidentId)
        }
        "护照" | "护照号" | "护照号码" | "passport" => Some(IdType::Passport),
        "港澳居民来往内地通行证" | "hk_macao_permit" => Some(IdType::HkMacaoPermit),
        "台湾居民来往大陆通行证" | "taiwan_permit" => Some(IdType::TaiwanPermit),
        "外国人永久居留身份证" | "外国人永久居留证" | "foreign_permanent_resident_id" => {
            Some(IdType::ForeignPermanentResidentId)
        }
        _ => None,
    };
    if known.is_some() {
        return known;
    }
    let rest = text
        .strip_prefix("其他")
        .or_else(|| text.strip_prefix("其它"))?;
    let detail = rest.trim_start_matches(['-', ':', ' ']).trim();
    Some(IdType::Other(detail.to_owned()))
}

/// Validates an identity-document number for its type: the GB 11643 checksum for 身份证,
/// folding only for the others.
pub fn normalize_id_no(id_type: &IdType, input: &str) -> Result<String, IdError> {
    match id_type {
        IdType::ResidentId => normalize_resident_id(input),
        _ => {
            let code = fold_code(input);
            if code.is_empty() {
                Err(IdError::Length {
                    expected: "at least 1",
                    got: 0,
                })
            } else {
                Ok(code)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Independent straightforward references, written from the standards' text.
    const REF_USCC: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

    fn ref_uscc_check(s: &[u8]) -> u8 {
        let w = [
            1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
        ];
        let mut sum = 0usize;
        for i in 0..17 {
            let v = REF_USCC.iter().position(|&a| a == s[i]).unwrap();
            sum += v * w[i];
        }
        REF_USCC[(31 - sum % 31) % 31]
    }

    fn ref_org_check(s: &[u8]) -> u8 {
        let w = [3, 7, 9, 10, 5, 8, 4, 2];
        let mut sum = 0usize;
        for i in 0..8 {
            let c = s[i];
            let v = if c.is_ascii_digit() {
                (c - b'0') as usize
            } else {
                (c - b'A') as usize + 10
            };
            sum += v * w[i];
        }
        match 11 - sum % 11 {
            10 => b'X',
            11 => b'0',
            d => b'0' + d as u8,
        }
    }

    fn ref_rid_check(s: &[u8]) -> u8 {
        let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let mut sum = 0usize;
        for i in 0..17 {
            sum += (s[i] - b'0') as usize * w[i];
        }
        b"10X98765432"[sum % 11]
    }

    #[test]
    fn resident_id_examples() {
        assert_eq!(
            normalize_resident_id("11010519491231002X").unwrap(),
            "11010519491231002X"
        );
        assert_eq!(
            normalize_resident_id("11010519491231002x").unwrap(),
            "11010519491231002X"
        );
        assert_eq!(
            normalize_resident_id("440524188001010014").unwrap(),
            "440524188001010014"
        );
        assert_eq!(
            normalize_resident_id(" 4405 2418 8001 0100 14 ").unwrap(),
            "440524188001010014"
        );
        assert_eq!(
            normalize_resident_id("110105194912310021"),
            Err(IdError::Checksum { expected: 'X' })
        );
        assert_eq!(
            normalize_resident_id("1101051949123100"),
            Err(IdError::Length {
                expected: "15 or 18",
                got: 16
            })
        );
        assert_eq!(
            normalize_resident_id("110105194913310029").unwrap_err(),
            IdError::BirthDate
        );
        // 15-digit legacy: 110105 491231 002 → 110105 19491231 002 + check.
        assert_eq!(
            normalize_resident_id("110105491231002").unwrap(),
            "11010519491231002X"
        );
        // A retired division (310108 闸北) is not rejected.
        let body = "31010819800101123";
        let full = format!("{body}{}", ref_rid_check(body.as_bytes()) as char);
        assert_eq!(normalize_resident_id(&full).unwrap(), full);
    }

    #[test]
    fn uscc_examples() {
        let body = "91310000MA1FL0000"; // made-up body; check from the reference
        let full = format!("{body}{}", ref_uscc_check(body.as_bytes()) as char);
        assert_eq!(normalize_uscc(&full.to_lowercase()).unwrap(), full);
        assert_eq!(normalize_uscc(&format!(" {full} ")).unwrap(), full);
        assert!(matches!(
            normalize_uscc("91310000MA1FL0000"),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(
            normalize_uscc("91310000MA1FI00001"),
            Err(IdError::Alphabet { position: 13, .. })
        ));
        // Unknown prefix Y1 and a retired division 310230 are fine.
        let body = "Y1310230MA1FL0000";
        let full = format!("{body}{}", ref_uscc_check(body.as_bytes()) as char);
        assert_eq!(normalize_uscc(&full).unwrap(), full);
    }

    #[test]
    fn org_code_examples() {
        let body = "MA1FL000";
        let full = format!("{body}{}", ref_org_check(body.as_bytes()) as char);
        assert_eq!(normalize_org_code(&full).unwrap(), full);
        let hyphen = format!("{body}-{}", ref_org_check(body.as_bytes()) as char);
        assert_eq!(normalize_org_code(&hyphen.to_lowercase()).unwrap(), full);
        assert!(matches!(
            normalize_org_code("MA1FL00"),
            Err(IdError::Length { .. })
        ));
    }

    #[test]
    fn id_types_parse_leniently() {
        let cases = [
            ("身份证", Some(IdType::ResidentId)),
            ("居民身份证", Some(IdType::ResidentId)),
            ("resident_id", Some(IdType::ResidentId)),
            ("护照号", Some(IdType::Passport)),
            ("港澳居民来往内地通行证", Some(IdType::HkMacaoPermit)),
            ("台湾居民来往大陆通行证", Some(IdType::TaiwanPermit)),
            (
                "外国人永久居留身份证",
                Some(IdType::ForeignPermanentResidentId),
            ),
            ("其他-军官证", Some(IdType::Other("军官证".into()))),
            ("其他", Some(IdType::Other(String::new()))),
            ("驾驶证", None),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_id_type(raw), want, "{raw}");
        }
        for t in [
            IdType::ResidentId,
            IdType::Other("军官证".into()),
            IdType::Passport,
        ] {
            assert_eq!(parse_id_type(&t.to_string()), Some(t));
        }
    }

    #[test]
    fn messages_never_contain_the_id() {
        let err = normalize_resident_id("110105194912310021")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("1101051949"), "{err}");
    }

    fn uscc_body() -> impl Strategy<Value = String> {
        proptest::collection::vec(0usize..31, 17)
            .prop_map(|v| v.into_iter().map(|i| REF_USCC[i] as char).collect())
    }

    fn one_char_change(
        code: String,
        alphabet: &'static [u8],
    ) -> impl Strategy<Value = (String, String)> {
        let n = code.len();
        (Just(code), 0..n, 0..alphabet.len()).prop_filter_map("same char", move |(c, i, a)| {
            let mut b = c.clone().into_bytes();
            if b[i] == alphabet[a] {
                return None;
            }
            b[i] = alphabet[a];
            Some((c, String::from_utf8(b).unwrap()))
        })
    }

    proptest! {
        #[test]
        fn uscc_accepts_valid_and_rejects_one_change(
            (good, bad) in uscc_body()
                .prop_map(|b| { let c = ref_uscc_check(b.as_bytes()) as char; format!("{b}{c}") })
                .prop_flat_map(|c| one_char_change(c, REF_USCC))
        ) {
            prop_assert_eq!(normalize_uscc(&good).unwrap(), good.clone());
            prop_assert!(normalize_uscc(&bad).is_err(), "{} accepted", bad);
        }

        #[test]
        fn org_code_accepts_valid_and_rejects_one_change(
            (good, bad) in "[0-9A-Z]{8}"
                .prop_map(|b| { let c = ref_org_check(b.as_bytes()) as char; format!("{b}{c}") })
                .prop_flat_map(|c| one_char_change(c, b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        ) {
            // MOD 11 over a 36-symbol alphabet cannot see a substitution whose value differs by
            // a multiple of 11 (e.g. 0 ↔ B); those are a property of GB 11714, not a bug.
            let value = |c: u8| {
                if c.is_ascii_digit() { (c - b'0') as i32 } else { (c - b'A') as i32 + 10 }
            };
            let pos = good.bytes().zip(bad.bytes()).position(|(a, b)| a != b).unwrap();
            let delta = value(bad.as_bytes()[pos]) - value(good.as_bytes()[pos]);
            prop_assert_eq!(normalize_org_code(&good).unwrap(), good.clone());
            if pos == 8 || delta % 11 != 0 {
                prop_assert!(normalize_org_code(&bad).is_err(), "{} accepted", bad);
            } else {
                prop_assert!(normalize_org_code(&bad).is_ok(), "{} rejected", bad);
            }
        }

        #[test]
        fn resident_id_accepts_valid_and_rejects_one_change(
            (good, bad) in ("[1-6][0-9]{5}", 1900i32..2020, 1u32..13, 1u32..29, "[0-9]{3}")
                .prop_map(|(area, y, m, d, seq)| {
                    let body = format!("{area}{y:04}{m:02}{d:02}{seq}");
                    let c = ref_rid_check(body.as_bytes()) as char;
                    format!("{body}{c}")
                })
                .prop_flat_map(|c| one_char_change(c, b"0123456789X"))
        ) {
            prop_assert_eq!(normalize_resident_id(&good).unwrap(), good.clone());
            prop_assert!(normalize_resident_id(&bad).is_err(), "{} accepted", bad);
        }

        #[test]
        fn fifteen_digit_ids_convert_to_the_eighteen_digit_form(
            area in "[1-6][0-9]{5}", yy in 0u32..100, m in 1u32..13, d in 1u32..29,
            seq in "[0-9]{3}",
        ) {
            let old = format!("{area}{yy:02}{m:02}{d:02}{seq}");
            let body = format!("{area}19{yy:02}{m:02}{d:02}{seq}");
            let want = format!("{body}{}", ref_rid_check(body.as_bytes()) as char);
            prop_assert_eq!(normalize_resident_id(&old).unwrap(), want.clone());
            prop_assert_eq!(normalize_resident_id(&want).unwrap(), want);
        }
    }
}
