//! Amounts written as on a decision: capital numerals (大写金额, `叁万陆仟柒佰叁拾贰元整`),
//! and the 万元 decimal of the national `CF_NR_FK` field.
//!
//! Pure. Written independently of `normalize::money` (which parses these texts), so that the
//! simulator's round-trip tests check the parser against a second implementation.

const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
/// Units inside a four-digit group, from the highest position (仟) down.
const GROUP_UNITS: [&str; 4] = ["仟", "佰", "拾", ""];
/// Units of the four-digit groups, from the lowest.
const GROUP_NAMES: [&str; 3] = ["", "万", "亿"];

/// The largest amount in fen [`capital_yuan`] renders: 9,999 亿 yuan less one fen.
pub const MAX_CAPITAL_FEN: u64 = 100_000_000_000_000 - 1;

fn digit(d: u64) -> char {
    DIGITS
        .get(usize::try_from(d).unwrap_or(0))
        .copied()
        .unwrap_or('零')
}

/// An amount in fen written in capital numerals the way finance and enforcement documents do:
/// `3673200` → `叁万陆仟柒佰叁拾贰元整`, `1050000` → `壹万零伍佰元整`, `20050` → `贰佰元伍角`,
/// `10005` → `壹佰元零伍分`. `None` above [`MAX_CAPITAL_FEN`].
pub fn capital_yuan(fen: u64) -> Option<String> {
    if fen > MAX_CAPITAL_FEN {
        return None;
    }
    let yuan = fen / 100;
    let jiao = (fen / 10) % 10;
    let cents = fen % 10;
    let mut out = integer_part(yuan);
    out.push('元');
    match (jiao, cents) {
        (0, 0) => out.push('整'),
        (j, 0) => {
            out.push(digit(j));
            out.push('角');
        }
        (j, c) => {
            if j == 0 {
                out.push('零');
            } else {
                out.push(digit(j));
                out.push('角');
            }
            out.push(digit(c));
            out.push('分');
        }
    }
    Some(out)
}

/// The whole-yuan part: groups of four digits with 万 and 亿; one 零 for any run of zeros
/// between non-zero digits (also across a group boundary); always 壹拾, never a bare 拾.
fn integer_part(yuan: u64) -> String {
    if yuan == 0 {
        return "零".to_owned();
    }
    let groups = [yuan % 10_000, (yuan / 10_000) % 10_000, yuan / 100_000_000];
    let mut out = String::new();
    let mut zero_pending = false;
    for (i, group) in groups.iter().enumerate().rev() {
        let group = *group;
        if group == 0 {
            zero_pending = !out.is_empty();
            continue;
        }
        if !out.is_empty() && (zero_pending || group < 1000) {
            out.push('零');
        }
        zero_pending = false;
        let mut started = false;
        let mut inner_zero = false;
        for (pos, unit) in GROUP_UNITS.iter().enumerate() {
            let power = 10u64.pow(u32::try_from(3 - pos).unwrap_or(0));
            let d = (group / power) % 10;
            if d == 0 {
                inner_zero = started;
                continue;
            }
            if inner_zero {
                out.push('零');
                inner_zero = false;
            }
            out.push(digit(d));
            out.push_str(unit);
            started = true;
        }
        out.push_str(GROUP_NAMES.get(i).copied().unwrap_or_default());
    }
    out
}

/// An amount in fen as the 万元 decimal of `CF_NR_FK`: `200000` → `0.2`, `3673200` → `3.6732`,
/// `100` (one yuan) → `0.0001`, `1` → `0.000001`. Exact: integer arithmetic only.
pub fn wan_yuan(fen: u64) -> String {
    let whole = fen / 1_000_000;
    let frac = fen % 1_000_000;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// An amount in fen as a yuan decimal: `200000` → `2000`, `12345` → `123.45`.
pub fn yuan(fen: u64) -> String {
    let whole = fen / 100;
    match fen % 100 {
        0 => whole.to_string(),
        c if c % 10 == 0 => format!("{whole}.{}", c / 10),
        c => format!("{whole}.{c:02}"),
    }
}

/// Whole yuan with thousands separators: `3673200` fen → `36,732`.
pub fn yuan_grouped(fen: u64) -> String {
    let digits: Vec<char> = (fen / 100).to_string().chars().collect();
    let mut out = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::money::{Unit, fine_in_content, parse_amount};
    use proptest::prelude::*;

    #[test]
    fn capital_numerals_as_written_on_decisions() {
        let cases = [
            (3_673_200, "叁万陆仟柒佰叁拾贰元整"),
            (20_000, "贰佰元整"),
            (2_000_000, "贰万元整"),
            (1_050_000, "壹万零伍佰元整"),
            (1_000, "壹拾元整"),
            (10_001_000, "壹拾万零壹拾元整"),
            (100_500, "壹仟零伍元整"),
            (10_000_000_000, "壹亿元整"),
            (10_005_000_000, "壹亿零伍万元整"),
            (10_050_000_000, "壹亿零伍拾万元整"),
            (10_000_000_500, "壹亿零伍元整"),
            (100_000_500, "壹佰万零伍元整"),
            (20_050, "贰佰元伍角"),
            (10_005, "壹佰元零伍分"),
            (10_025, "壹佰元贰角伍分"),
            (0, "零元整"),
            (5, "零元零伍分"),
        ];
        for (fen, want) in cases {
            assert_eq!(capital_yuan(fen).as_deref(), Some(want), "{fen}");
        }
        assert_eq!(capital_yuan(MAX_CAPITAL_FEN + 1), None);
    }

    #[test]
    fn wan_yuan_and_yuan_decimals() {
        assert_eq!(wan_yuan(200_000), "0.2");
        assert_eq!(wan_yuan(3_673_200), "3.6732");
        assert_eq!(wan_yuan(2_000_000), "2");
        assert_eq!(wan_yuan(1), "0.000001");
        assert_eq!(yuan(200_000), "2000");
        assert_eq!(yuan(12_345), "123.45");
        assert_eq!(yuan(12_340), "123.4");
        assert_eq!(yuan(12_305), "123.05");
        assert_eq!(yuan_grouped(3_673_200), "36,732");
        assert_eq!(yuan_grouped(100_000_000), "1,000,000");
        assert_eq!(yuan_grouped(50_000), "500");
    }

    proptest! {
        #[test]
        fn capital_numerals_round_trip_through_the_normalizer(fen in 0u64..=MAX_CAPITAL_FEN) {
            let text = capital_yuan(fen).unwrap();
            let content = format!("一、警告;\n二、罚款人民币{text}。");
            prop_assert_eq!(fine_in_content(&content), Some(fen as i64), "{}", text);
        }

        #[test]
        fn small_capital_amounts_round_trip(fen in 0u64..200_000_000) {
            let text = capital_yuan(fen).unwrap();
            prop_assert_eq!(fine_in_content(&format!("罚款{text}")), Some(fen as i64), "{}", text);
        }

        #[test]
        fn decimals_round_trip(fen in 0u64..1_000_000_000_000) {
            prop_assert_eq!(parse_amount(&wan_yuan(fen), Unit::TenThousandYuan), Ok(fen as i64));
            prop_assert_eq!(parse_amount(&yuan(fen), Unit::Yuan), Ok(fen as i64));
            let whole = fen - fen % 100;
            prop_assert_eq!(
                fine_in_content(&format!("罚款人民币{}元", yuan_grouped(fen))),
                Some(whole as i64)
            );
        }
    }
}
