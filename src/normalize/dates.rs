//! Dates as units write them: `2023-03-30`, `2023/3/30`, `2023.3.30`, `20230330`,
//! `2023年3月30日`, RFC 3339 date-times and `2023-03-30 10:00:00`.
//!
//! Pure. Invariant: a date-time with an offset is converted to its calendar day in
//! Asia/Shanghai, which is UTC+8 all year (no daylight saving since 1991); a date-time without
//! an offset is already local time. Excel serial numbers are deliberately not accepted: a bare
//! 5-digit number is too easy to confuse with something else.

use crate::normalize::text::nfkc;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not in any accepted format.
    #[error("expected a date like 2023-03-30, 2023/3/30, 20230330 or 2023年3月30日")]
    Format,
    /// The right shape, but no such calendar day (e.g. 2023-02-30).
    #[error("no such calendar day")]
    NoSuchDay,
}

/// Seconds east of UTC of Asia/Shanghai.
const SHANGHAI_OFFSET_SECS: i32 = 8 * 3600;

/// Parses a date or date-time; see the module doc for the formats.
pub fn parse_date(input: &str) -> Result<NaiveDate, DateError> {
    let text = nfkc(input);
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        let shanghai = FixedOffset::east_opt(SHANGHAI_OFFSET_SECS).ok_or(DateError::Format)?;
        return Ok(dt.with_timezone(&shanghai).date_naive());
    }
    // A local date-time: the date, then `T` or a space, then a time without offset.
    let (date_part, time_part) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (text, None),
    };
    if let Some(time) = time_part {
        let ok = ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
            .iter()
            .any(|f| NaiveTime::parse_from_str(time, f).is_ok());
        if !ok {
            return Err(DateError::Format);
        }
    }
    parse_date_only(date_part)
}

fn parse_date_only(text: &str) -> Result<NaiveDate, DateError> {
    let (y, m, d) = split_ymd(text).ok_or(DateError::Format)?;
    let year: i32 = y.parse().map_err(|_| DateError::Format)?;
    let month: u32 = m.parse().map_err(|_| DateError::Format)?;
    let day: u32 = d.parse().map_err(|_| DateError::Format)?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or(DateError::NoSuchDay)
}

/// Splits into year (4 digits), month and day (1–2 digits each).
fn split_ymd(text: &str) -> Option<(String, String, String)> {
    let all_digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.chars().count()) && s.chars().all(|c| c.is_ascii_digit())
    };
    if all_digits(text, 8, 8) {
        let c: Vec<char> = text.chars().collect();
        let part = |a: usize, b: usize| c.get(a..b).map(|s| s.iter().collect::<String>());
        return Some((part(0, 4)?, part(4, 6)?, part(6, 8)?));
    }
    let parts: Vec<&str> = if let Some(rest) = text.strip_suffix('日') {
        let (y, md) = rest.split_once('年')?;
        let (m, d) = md.split_once('月')?;
        vec![y, m, d]
    } else {
        let sep = text.chars().find(|c| matches!(c, '-' | '/' | '.'))?;
        text.split(sep).collect()
    };
    match parts.as_slice() {
        [y, m, d] if all_digits(y, 4, 4) && all_digits(m, 1, 2) && all_digits(d, 1, 2) => {
            Some(((*y).to_owned(), (*m).to_owned(), (*d).to_owned()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn accepted_formats() {
        let cases = [
            ("2023-03-30", d(2023, 3, 30)),
            ("2023/3/30", d(2023, 3, 30)),
            ("2023.3.30", d(2023, 3, 30)),
            ("20230330", d(2023, 3, 30)),
            ("2023年3月30日", d(2023, 3, 30)),
            ("２０２３年０３月３０日", d(2023, 3, 30)),
            (" 2023-03-30 ", d(2023, 3, 30)),
            ("2023-03-30 10:00:00", d(2023, 3, 30)),
            ("2023-03-30T10:00:00", d(2023, 3, 30)),
            ("2023/3/30 9:05", d(2023, 3, 30)),
            ("2023-03-30 23:59:59.999", d(2023, 3, 30)),
            // Offsets are converted to Shanghai local time.
            ("2023-03-30T10:00:00+08:00", d(2023, 3, 30)),
            ("2023-03-29T16:00:00Z", d(2023, 3, 30)),
            ("2023-03-29T15:59:59Z", d(2023, 3, 29)),
            ("2023-03-30T01:00:00+09:00", d(2023, 3, 30)),
            ("2023-03-29T23:30:00-01:00", d(2023, 3, 30)),
            ("2024-02-29", d(2024, 2, 29)),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_date(raw), Ok(want), "{raw}");
        }
    }

    #[test]
    fn rejected_texts() {
        let cases = [
            ("2023-02-30", DateError::NoSuchDay),
            ("2023-13-01", DateError::NoSuchDay),
            ("20230230", DateError::NoSuchDay),
            ("2023-03", DateError::Format),
            ("23-3-30", DateError::Format),
            ("2023-03-30 25:00", DateError::Format),
            ("45016", DateError::Format),
            ("长期", DateError::Format),
            ("2023-3/30", DateError::Format),
            ("", DateError::Format),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_date(raw), Err(want), "{raw}");
        }
    }

    #[test]
    fn canonical_form_parses_back() {
        let day = d(2021, 7, 15);
        assert_eq!(parse_date(&day.to_string()), Ok(day));
    }
}
