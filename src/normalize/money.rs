//! Money: amounts in 万元 (the national field unit), in 元 and in 分, and amounts written inside
//! 处罚内容 in capital (壹贰叁…) or ordinary (一二三…) numerals or Arabic digits.
//!
//! Pure. Invariants: no floating point anywhere: every amount is parsed as an exact decimal and
//! converted to integer fen (1 万元 = 1,000,000 fen); an amount that is not a whole number of
//! fen is rejected rather than rounded; overflow is an error, never a wrap.

use crate::normalize::text::nfkc;

/// The unit an amount field is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// 万元: the unit of 罚款金额(万元) in the national record; up to 6 decimals.
    TenThousandYuan,
    /// 元; up to 2 decimals.
    Yuan,
    /// 分; integers only.
    Fen,
}

impl Unit {
    /// Power of ten from this unit to fen.
    fn fen_exponent(self) -> i32 {
        match self {
            Unit::TenThousandYuan => 6,
            Unit::Yuan => 2,
            Unit::Fen => 0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::TenThousandYuan => "万元",
            Unit::Yuan => "元",
            Unit::Fen => "分",
        }
    }
}

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a decimal number.
    #[error("expected a decimal number such as 0.2 or 2000.50")]
    Format,
    /// Below zero.
    #[error("amounts cannot be negative")]
    Negative,
    /// More decimals than a whole number of fen allows in this unit.
    #[error("more than {max_decimals} decimals in {unit} is not a whole number of fen")]
    TooPrecise {
        /// Decimals allowed in this unit.
        max_decimals: i32,
        /// The unit name.
        unit: &'static str,
    },
    /// Does not fit in 64 bits of fen.
    #[error("amount too large")]
    Overflow,
}

/// Parses an amount written in `unit` and returns fen. Accepts JSON number text (including
/// exponents, as `serde_json::Number::to_string` writes them), thousands separators, a leading
/// `¥`, and an explicit unit suffix (`万元` or `元`) that overrides the field's unit.
pub fn parse_amount(input: &str, unit: Unit) -> Result<i64, MoneyError> {
    let text: String = nfkc(input).chars().filter(|c| !c.is_whitespace()).collect();
    let text = text.trim_start_matches('¥');
    let (number, unit) = if let Some(n) = text.strip_suffix("万元") {
        (n, Unit::TenThousandYuan)
    } else if let Some(n) = text.strip_suffix('元') {
        (n, Unit::Yuan)
    } else {
        (text, unit)
    };
    let number = match number.strip_prefix('-') {
        Some(rest) if !rest.is_empty() => return Err(MoneyError::Negative),
        _ => number.strip_prefix('+').unwrap_or(number),
    };
    let (mantissa, exponent) = match number.split_once(['e', 'E']) {
        Some((m, e)) => {
            let exp: i32 = e.parse().map_err(|_| MoneyError::Format)?;
            (m, exp)
        }
        None => (number, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let int_digits = strip_thousands(int_part).ok_or(MoneyError::Format)?;
    if int_digits.is_empty() && frac_part.is_empty() {
        return Err(MoneyError::Format);
    }
    if !frac_part.chars().all(|c| c.is_ascii_digit()) {
        return Err(MoneyError::Format);
    }
    let digits = format!("{int_digits}{frac_part}");
    let frac_len = i32::try_from(frac_part.chars().count()).map_err(|_| MoneyError::Format)?;
    // value = digits × 10^(exponent − frac_len) units; fen = value × 10^fen_exponent.
    let shift = unit
        .fen_exponent()
        .checked_add(exponent)
        .and_then(|s| s.checked_sub(frac_len))
        .ok_or(MoneyError::Overflow)?;
    let mut significant = digits.trim_start_matches('0').to_owned();
    let mut shift = shift;
    while shift < 0 {
        match significant.strip_suffix('0') {
            Some(rest) => {
                significant = rest.to_owned();
                shift += 1;
            }
            None if significant.is_empty() => shift = 0,
            None => {
                return Err(MoneyError::TooPrecise {
                    max_decimals: unit.fen_exponent(),
                    unit: unit.name(),
                });
            }
        }
    }
    let mut fen: i64 = 0;
    for c in significant.chars() {
        let d = i64::from(c.to_digit(10).ok_or(MoneyError::Format)?);
        fen = fen
            .checked_mul(10)
            .and_then(|f| f.checked_add(d))
            .ok_or(MoneyError::Overflow)?;
    }
    if fen != 0 {
        for _ in 0..shift {
            fen = fen.checked_mul(10).ok_or(MoneyError::Overflow)?;
        }
    }
    Ok(fen)
}

/// Digits of an integer part, with `,` thousands separators removed when they group by three.
fn strip_thousands(int_part: &str) -> Option<String> {
    let groups: Vec<&str> = int_part.split(',').collect();
    let (first, rest) = groups.split_first()?;
    let digits_ok = |g: &str| g.chars().all(|c| c.is_ascii_digit());
    if !digits_ok(first) || (!rest.is_empty() && (first.is_empty() || first.len() > 3)) {
        return None;
    }
    if rest.iter().any(|g| g.len() != 3 || !digits_ok(g)) {
        return None;
    }
    Some(groups.concat())
}

/// The fine (罚款) amount written in a 处罚内容 text, in fen: the first amount ending in 元
/// after a `罚款`. `"一、警告;\n二、罚款人民币贰佰元整。"` → 20,000 fen.
pub fn fine_in_content(content: &str) -> Option<i64> {
    amount_after(content, "罚款")
}

/// The confiscated-gains (没收违法所得) amount written in a 处罚内容 text, in fen.
pub fn confiscation_in_content(content: &str) -> Option<i64> {
    amount_after(content, "没收违法所得")
}

/// Words that may stand between the marker and the amount.
const FILLERS: [&str; 13] = [
    "人民币",
    "(大写)",
    "(小写)",
    "大写",
    "小写",
    "金额",
    "共计",
    "合计",
    "计",
    "为",
    ":",
    "¥",
    "RMB",
];

fn amount_after(content: &str, marker: &str) -> Option<i64> {
    let text: Vec<char> = nfkc(content)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let marker: Vec<char> = marker.chars().collect();
    let fillers: Vec<Vec<char>> = FILLERS.iter().map(|f| f.chars().collect()).collect();
    for start in 0..text.len() {
        let Some(tail) = text.get(start..) else { break };
        if !tail.starts_with(&marker) {
            continue;
        }
        let mut rest = tail.get(marker.len()..).unwrap_or_default();
        while let Some(f) = fillers.iter().find(|f| rest.starts_with(f)) {
            rest = rest.get(f.len()..).unwrap_or_default();
        }
        if let Some(fen) = parse_numeral_amount(rest) {
            return Some(fen);
        }
    }
    None
}

/// Fixed-point scale of the numeral parser: values are yuan × 10^6, so Arabic decimals such as
/// `1.5万` stay exact.
const SCALE: i128 = 1_000_000;

fn chinese_digit(c: char) -> Option<i128> {
    Some(match c {
        '零' | '〇' | '○' => 0,
        '壹' | '一' => 1,
        '贰' | '貳' | '二' | '两' | '兩' => 2,
        '叁' | '參' | '三' => 3,
        '肆' | '四' => 4,
        '伍' | '五' => 5,
        '陆' | '陸' | '六' => 6,
        '柒' | '七' => 7,
        '捌' | '八' => 8,
        '玖' | '九' => 9,
        _ => return None,
    })
}

fn small_unit(c: char) -> Option<i128> {
    Some(match c {
        '拾' | '十' => 10,
        '佰' | '百' => 100,
        '仟' | '千' => 1000,
        _ => return None,
    })
}

/// Parses `<numerals>元[…角][…分][整]` at the start of `s`; `None` unless it ends in 元.
fn parse_numeral_amount(s: &[char]) -> Option<i64> {
    let mut yi: i128 = 0; // completed 亿 part
    let mut wan: i128 = 0; // completed 万 part below 亿
    let mut section: i128 = 0; // below 万
    let mut num: Option<i128> = None;
    let mut after_digit = false;
    let mut seen = false;
    let mut i = 0usize;
    let yuan = loop {
        let c = *s.get(i)?;
        if c.is_ascii_digit() {
            let (value, used) = arabic_number(s.get(i..)?)?;
            num = Some(value);
            after_digit = false;
            seen = true;
            i += used;
            continue;
        }
        if let Some(d) = chinese_digit(c) {
            let v = d.checked_mul(SCALE)?;
            num = Some(match (after_digit, num) {
                (true, Some(n)) => n.checked_mul(10)?.checked_add(v)?,
                _ => v,
            });
            after_digit = true;
            seen = true;
        } else if let Some(u) = small_unit(c) {
            let n = num.take().unwrap_or(SCALE);
            section = section.checked_add(n.checked_mul(u)?)?;
            after_digit = false;
            seen = true;
        } else if matches!(c, '万' | '萬') {
            let n = section.checked_add(num.take().unwrap_or(0))?;
            wan = wan.checked_add(n.checked_mul(10_000)?)?;
            section = 0;
            after_digit = false;
        } else if matches!(c, '亿' | '億') {
            let n = wan
                .checked_add(section)?
                .checked_add(num.take().unwrap_or(0))?;
            yi = yi.checked_add(n)?.checked_mul(100_000_000)?;
            wan = 0;
            section = 0;
            after_digit = false;
        } else if matches!(c, '元' | '圆' | '圓') {
            if !seen {
                return None;
            }
            break yi
                .checked_add(wan)?
                .checked_add(section)?
                .checked_add(num.unwrap_or(0))?;
        } else {
            return None;
        }
        i += 1;
    };
    // yuan × 10^6 → fen: must be a whole number of fen.
    let scaled_fen = yuan.checked_mul(100)?;
    if scaled_fen % SCALE != 0 {
        return None;
    }
    let mut fen = scaled_fen / SCALE;
    // Optional 角 and 分 after 元.
    let mut pending: Option<i128> = None;
    for c in s.get(i + 1..)?.iter().copied() {
        if let Some(d) = chinese_digit(c).or_else(|| c.to_digit(10).map(i128::from)) {
            pending = Some(d);
        } else if c == '角' {
            fen = fen.checked_add(pending.take()?.checked_mul(10)?)?;
        } else if c == '分' {
            fen = fen.checked_add(pending.take()?)?;
        } else {
            break;
        }
    }
    i64::try_from(fen).ok()
}

/// An Arabic decimal at the start of `s` (digits, `,` separators, one `.`), as yuan × 10^6,
/// with the number of characters used.
fn arabic_number(s: &[char]) -> Option<(i128, usize)> {
    let mut int: i128 = 0;
    let mut frac: i128 = 0;
    let mut frac_digits = 0u32;
    let mut in_frac = false;
    let mut used = 0usize;
    for (idx, c) in s.iter().copied().enumerate() {
        if let Some(d) = c.to_digit(10) {
            if in_frac {
                frac_digits += 1;
                if frac_digits > 6 {
                    return None;
                }
                frac = frac.checked_mul(10)?.checked_add(i128::from(d))?;
            } else {
                int = int.checked_mul(10)?.checked_add(i128::from(d))?;
            }
        } else if c == '.' && !in_frac && s.get(idx + 1).is_some_and(char::is_ascii_digit) {
            in_frac = true;
        } else if c == ',' && !in_frac && s.get(idx + 1).is_some_and(char::is_ascii_digit) {
            // thousands separator
        } else {
            break;
        }
        used = idx + 1;
    }
    let frac_scaled = frac.checked_mul(10i128.checked_pow(6 - frac_digits)?)?;
    Some((int.checked_mul(SCALE)?.checked_add(frac_scaled)?, used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn field_amounts() {
        let cases = [
            ("0.2", Unit::TenThousandYuan, Ok(200_000)),
            ("1", Unit::TenThousandYuan, Ok(1_000_000)),
            ("3.6732", Unit::TenThousandYuan, Ok(3_673_200)),
            ("0.000001", Unit::TenThousandYuan, Ok(1)),
            ("0.0000010", Unit::TenThousandYuan, Ok(1)),
            ("1e-6", Unit::TenThousandYuan, Ok(1)),
            ("2E2", Unit::TenThousandYuan, Ok(200_000_000)),
            (
                "0.0000001",
                Unit::TenThousandYuan,
                Err(MoneyError::TooPrecise {
                    max_decimals: 6,
                    unit: "万元",
                }),
            ),
            ("2000", Unit::Yuan, Ok(200_000)),
            ("2,000.50", Unit::Yuan, Ok(200_050)),
            ("￥2000", Unit::Yuan, Ok(200_000)),
            ("2000元", Unit::TenThousandYuan, Ok(200_000)),
            ("0.2万元", Unit::Yuan, Ok(200_000)),
            (
                "0.001",
                Unit::Yuan,
                Err(MoneyError::TooPrecise {
                    max_decimals: 2,
                    unit: "元",
                }),
            ),
            ("12", Unit::Fen, Ok(12)),
            ("12.0", Unit::Fen, Ok(12)),
            (
                "12.5",
                Unit::Fen,
                Err(MoneyError::TooPrecise {
                    max_decimals: 0,
                    unit: "分",
                }),
            ),
            ("0", Unit::Yuan, Ok(0)),
            ("0.00", Unit::TenThousandYuan, Ok(0)),
            ("-1", Unit::Yuan, Err(MoneyError::Negative)),
            ("abc", Unit::Yuan, Err(MoneyError::Format)),
            ("1,00", Unit::Yuan, Err(MoneyError::Format)),
            ("", Unit::Yuan, Err(MoneyError::Format)),
            (".", Unit::Yuan, Err(MoneyError::Format)),
            ("1.2.3", Unit::Yuan, Err(MoneyError::Format)),
            (
                "99999999999999999999",
                Unit::Yuan,
                Err(MoneyError::Overflow),
            ),
        ];
        for (raw, unit, want) in cases {
            assert_eq!(parse_amount(raw, unit), want, "{raw} {unit:?}");
        }
    }

    #[test]
    fn json_numbers_parse_exactly() {
        for (json, fen) in [
            ("0.2", 200_000),
            ("0.3", 300_000),
            ("1.1", 1_100_000),
            ("5", 5_000_000),
        ] {
            let n: serde_json::Number = serde_json::from_str(json).unwrap();
            assert_eq!(
                parse_amount(&n.to_string(), Unit::TenThousandYuan),
                Ok(fen),
                "{json}"
            );
        }
        let n = serde_json::Number::from_f64(0.1 + 0.2).unwrap();
        // 0.30000000000000004 is not a whole number of fen in 万元: rejected, not rounded.
        assert!(parse_amount(&n.to_string(), Unit::TenThousandYuan).is_err());
    }

    #[test]
    fn amounts_in_content() {
        let cases = [
            ("罚款人民币叁万陆仟柒佰叁拾贰元整", Some(3_673_200)),
            ("罚款人民币贰佰元整", Some(20_000)),
            ("罚款2000元", Some(200_000)),
            ("罚款5万元", Some(5_000_000)),
            ("罚款1.5万元", Some(1_500_000)),
            ("罚款人民币壹仟伍佰元", Some(150_000)),
            ("一、警告;\n二、罚款人民币贰佰元整。", Some(20_000)),
            ("处罚款人民币一千五百元。", Some(150_000)),
            ("责令改正,并处罚款人民币 2,000.00 元", Some(200_000)),
            ("罚款:人民币拾万元整", Some(10_000_000)),
            ("罚款两万元", Some(2_000_000)),
            ("罚款壹万零伍佰元整", Some(1_050_000)),
            ("罚款伍佰元伍角", Some(50_050)),
            ("罚款伍元零伍分", Some(505)),
            ("罚款二〇〇〇元", Some(200_000)),
            ("罚款壹亿贰仟万元", Some(12_000_000_000)),
            ("罚款3万2千元", Some(3_200_000)),
            ("罚款１０００元", Some(100_000)),
            ("警告", None),
            ("依法作出罚款的决定", None),
            ("罚款的决定:罚款300元", Some(30_000)),
            ("罚款十日内缴纳", None),
        ];
        for (content, want) in cases {
            assert_eq!(fine_in_content(content), want, "{content}");
        }
        assert_eq!(
            confiscation_in_content("没收违法所得人民币叁仟元,并处罚款伍仟元"),
            Some(300_000)
        );
        assert_eq!(
            fine_in_content("没收违法所得人民币叁仟元,并处罚款伍仟元"),
            Some(500_000)
        );
    }

    // Independent reference: writes yuan in capital numerals the way a clerk would.
    fn ref_capital(fen: i64) -> String {
        const D: [&str; 10] = ["零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"];
        const U: [&str; 4] = ["", "拾", "佰", "仟"];
        const G: [&str; 3] = ["", "万", "亿"];
        let yuan = fen / 100;
        let (jiao, fen_d) = ((fen / 10 % 10) as usize, (fen % 10) as usize);
        let mut out = String::new();
        if yuan == 0 {
            out.push('零');
        } else {
            let mut groups = Vec::new();
            let mut y = yuan;
            while y > 0 {
                groups.push((y % 10_000) as usize);
                y /= 10_000;
            }
            let mut need_zero = false;
            for (gi, g) in groups.iter().enumerate().rev() {
                if *g == 0 {
                    need_zero = true;
                    continue;
                }
                let digits = [g / 1000, g / 100 % 10, g / 10 % 10, g % 10];
                for (pos, d) in digits.iter().enumerate() {
                    if *d == 0 {
                        if !out.is_empty() {
                            need_zero = true;
                        }
                    } else {
                        if need_zero {
                            out.push('零');
                            need_zero = false;
                        }
                        out.push_str(D[*d]);
                        out.push_str(U[3 - pos]);
                    }
                }
                out.push_str(G[gi]);
            }
        }
        out.push('元');
        match (jiao, fen_d) {
            (0, 0) => out.push('整'),
            (j, 0) => out.push_str(&format!("{}角", D[j])),
            (0, f) => out.push_str(&format!("零{}分", D[f])),
            (j, f) => out.push_str(&format!("{}角{}分", D[j], D[f])),
        }
        out
    }

    fn wan_yuan_text(fen: i64) -> String {
        let int = fen / 1_000_000;
        let frac = fen % 1_000_000;
        if frac == 0 {
            int.to_string()
        } else {
            format!("{int}.{frac:06}").trim_end_matches('0').to_owned()
        }
    }

    #[test]
    fn reference_renderer_sanity() {
        assert_eq!(ref_capital(3_673_200), "叁万陆仟柒佰叁拾贰元整");
        assert_eq!(ref_capital(1_050_000), "壹万零伍佰元整");
        assert_eq!(ref_capital(10_000_000_100), "壹亿零壹元整");
        assert_eq!(ref_capital(100_000_000_100), "壹拾亿零壹元整");
        assert_eq!(wan_yuan_text(200_000), "0.2");
    }

    proptest! {
        #[test]
        fn wan_yuan_strings_round_trip(fen in 0i64..10_000_000_000_000) {
            prop_assert_eq!(parse_amount(&wan_yuan_text(fen), Unit::TenThousandYuan), Ok(fen));
            let yuan = format!("{}.{:02}", fen / 100, fen % 100);
            prop_assert_eq!(parse_amount(&yuan, Unit::Yuan), Ok(fen));
            prop_assert_eq!(parse_amount(&fen.to_string(), Unit::Fen), Ok(fen));
        }

        #[test]
        fn capital_numerals_round_trip(
            fen in 0i64..10_000_000_000_000, lead in "(处)?", tail in "[。;,]?"
        ) {
            let content = format!("{lead}罚款人民币{}{tail}", ref_capital(fen));
            prop_assert_eq!(fine_in_content(&content), Some(fen), "{}", content);
        }

        #[test]
        fn arabic_content_round_trips(yuan in 0i64..100_000_000) {
            prop_assert_eq!(fine_in_content(&format!("罚款{yuan}元")), Some(yuan * 100));
        }
    }
}
