//! The working-day calendar (工作日历): weekends, the State Council's public holidays and the
//! make-up working days (调休上班) that the yearly notice moves onto weekends. Collaboration
//! deadlines are counted in its working days (`config/holidays.toml`).
//!
//! A year the calendar does not hold is never guessed: counting into it uses weekends only and
//! says so ([`Deadline::provisional`]), so that the caller can show the deadline as provisional
//! and recompute it once the year's notice is added.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The built-in copy of `config/holidays.toml`.
pub const BUILT_IN: &str = include_str!("../../config/holidays.toml");

/// Why a calendar file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not valid TOML of the expected shape.
    #[error("{0}")]
    Format(String),
    /// A day or range could not be read.
    #[error("year {year}: {text:?} is not a date or a range \"YYYY-MM-DD..YYYY-MM-DD\"")]
    BadDay { year: i32, text: String },
    /// A day outside its year's table.
    #[error("year {year}: {day} lies outside the year")]
    OutsideYear { year: i32, day: NaiveDate },
    /// A year given twice.
    #[error("year {0} is given twice")]
    DuplicateYear(i32),
    /// A day both off and worked.
    #[error("{0} is both a holiday and a make-up working day")]
    Both(NaiveDate),
    /// A make-up working day that is not a weekend day.
    #[error("{0} is a make-up working day but not a Saturday or Sunday")]
    WorkdayNotWeekend(NaiveDate),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    year: Vec<YearFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    source: String,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

/// A deadline: the day, and whether a missing year made it provisional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The last day on which the step is on time.
    pub day: NaiveDate,
    /// Counted through a year the calendar does not hold (weekends only there).
    pub provisional: bool,
}

/// The working-day calendar.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    years: BTreeMap<i32, String>,
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

fn days_of(year: i32, text: &str) -> Result<Vec<NaiveDate>, CalendarError> {
    let bad = || CalendarError::BadDay {
        year,
        text: text.to_owned(),
    };
    let parse = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad());
    let (from, to) = match text.split_once("..") {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let d = parse(text)?;
            (d, d)
        }
    };
    if to < from || (to - from).num_days() > 31 {
        return Err(bad());
    }
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        if d.year() != year {
            return Err(CalendarError::OutsideYear { year, day: d });
        }
        out.push(d);
        d += Duration::days(1);
    }
    Ok(out)
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

impl WorkCalendar {
    /// Reads and checks a calendar file.
    pub fn parse(text: &str) -> Result<WorkCalendar, CalendarError> {
        let file: File = toml::from_str(text).map_err(|e| CalendarError::Format(e.to_string()))?;
        let mut cal = WorkCalendar::default();
        for y in file.year {
            if cal.years.insert(y.year, y.source).is_some() {
                return Err(CalendarError::DuplicateYear(y.year));
            }
            for text in &y.holidays {
                cal.holidays.extend(days_of(y.year, text)?);
            }
            for text in &y.workdays {
                for d in days_of(y.year, text)? {
                    if !is_weekend(d) {
                        return Err(CalendarError::WorkdayNotWeekend(d));
                    }
                    cal.workdays.insert(d);
                }
            }
        }
        if let Some(d) = cal.holidays.intersection(&cal.workdays).next() {
            return Err(CalendarError::Both(*d));
        }
        Ok(cal)
    }

    /// The built-in copy of `config/holidays.toml`.
    pub fn built_in() -> Result<WorkCalendar, CalendarError> {
        Self::parse(BUILT_IN)
    }

    /// Whether the calendar holds `year`.
    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The years held, with their sources.
    pub fn years(&self) -> impl Iterator<Item = (i32, &str)> {
        self.years.iter().map(|(y, s)| (*y, s.as_str()))
    }

    /// Whether `d` is a working day; for a year the calendar lacks, weekends only.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !is_weekend(d) && !self.holidays.contains(&d)
    }

    /// The `n`-th working day after `start` (`start` itself not counted; `n` = 0 is `start`).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Deadline {
        let mut d = start;
        let mut left = n;
        let mut provisional = false;
        while left > 0 {
            d += Duration::days(1);
            provisional |= !self.has_year(d.year());
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        Deadline {
            day: d,
            provisional,
        }
    }

    /// `n` calendar days after `start` (periods the law counts in days, e.g. art. 60's 90
    /// days); moved to the next working day when it falls on a rest day, as periods are
    /// counted under the Civil Procedure Law art. 85.
    pub fn add_calendar_days(&self, start: NaiveDate, n: u32) -> Deadline {
        let mut d = start + Duration::days(i64::from(n));
        let mut provisional = !self.has_year(d.year());
        while !self.is_working_day(d) {
            d += Duration::days(1);
            provisional |= !self.has_year(d.year());
        }
        Deadline {
            day: d,
            provisional,
        }
    }

    /// Working days from `from` to `to`: the working days in `(from, to]`; 0 when `to` is not
    /// after `from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut n = 0u32;
        let mut d = from;
        while d < to {
            d += Duration::days(1);
            if self.is_working_day(d) {
                n = n.saturating_add(1);
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_built_in_calendar_holds_the_notices() {
        let c = WorkCalendar::built_in().unwrap();
        assert!(c.has_year(2025) && c.has_year(2026));
        // 2026 Spring Festival: 15–23 February off, Saturday 14 and 28 February worked.
        assert!(!c.is_working_day(day("2026-02-16")));
        assert!(!c.is_working_day(day("2026-02-23")));
        assert!(c.is_working_day(day("2026-02-14")));
        assert!(c.is_working_day(day("2026-02-28")));
        assert!(c.is_working_day(day("2026-01-04")));
        assert!(!c.is_working_day(day("2026-10-07")));
        assert!(c.is_working_day(day("2026-10-10")));
        // An ordinary week.
        assert!(c.is_working_day(day("2026-03-10")));
        assert!(!c.is_working_day(day("2026-03-14")));
    }

    #[test]
    fn deadlines_skip_the_holiday_week_and_count_the_make_up_saturday() {
        let c = WorkCalendar::built_in().unwrap();
        // Sent on Friday 13 February 2026: the next working day is Saturday 14 (调休), then
        // Tuesday 24 after the Spring Festival week.
        let d = c.add_working_days(day("2026-02-13"), 2);
        assert_eq!(d.day, day("2026-02-24"));
        assert!(!d.provisional);
        // Ten working days from 28 September 2026 run over the National Day week and the
        // make-up Saturday 10 October.
        let d = c.add_working_days(day("2026-09-28"), 10);
        assert_eq!(d.day, day("2026-10-16"));
        // Into a year the calendar lacks: provisional.
        let d = c.add_working_days(day("2026-12-30"), 5);
        assert!(d.provisional);
        assert_eq!(d.day, day("2027-01-06"));
        // 90 calendar days ending on a holiday move to the next working day.
        let d = c.add_calendar_days(day("2026-07-03"), 90);
        assert_eq!(d.day, day("2026-10-08"));
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let both = "[[year]]\nyear = 2026\nsource = \"x\"\nholidays = [\"2026-02-14\"]\nworkdays = [\"2026-02-14\"]\n";
        assert_eq!(
            WorkCalendar::parse(both).unwrap_err(),
            CalendarError::Both(day("2026-02-14"))
        );
        let weekday = "[[year]]\nyear = 2026\nsource = \"x\"\nworkdays = [\"2026-02-13\"]\n";
        assert_eq!(
            WorkCalendar::parse(weekday).unwrap_err(),
            CalendarError::WorkdayNotWeekend(day("2026-02-13"))
        );
        let outside =
            "[[year]]\nyear = 2026\nsource = \"x\"\nholidays = [\"2025-12-31..2026-01-02\"]\n";
        assert!(matches!(
            WorkCalendar::parse(outside).unwrap_err(),
            CalendarError::OutsideYear { .. }
        ));
        let twice =
            "[[year]]\nyear = 2026\nsource = \"x\"\n[[year]]\nyear = 2026\nsource = \"y\"\n";
        assert_eq!(
            WorkCalendar::parse(twice).unwrap_err(),
            CalendarError::DuplicateYear(2026)
        );
        let c = WorkCalendar::built_in().unwrap();
        assert!(c.has_year(2026));
        assert!(!c.has_year(2031));
    }

    /// A reference that knows nothing of the implementation: a day is worked when it is a
    /// listed make-up day, or a weekday that is not a listed holiday.
    fn reference_add(
        holidays: &[NaiveDate],
        workdays: &[NaiveDate],
        start: NaiveDate,
        n: u32,
    ) -> NaiveDate {
        let worked = |d: NaiveDate| {
            workdays.contains(&d)
                || (d.weekday().num_days_from_monday() < 5 && !holidays.contains(&d))
        };
        let mut found = 0;
        let mut d = start;
        loop {
            if found == n {
                return d;
            }
            d = d.succ_opt().unwrap();
            if worked(d) {
                found += 1;
            }
        }
    }

    proptest! {
        #[test]
        fn deadlines_equal_the_reference_over_holiday_weeks(
            offset in 0i64..730, n in 0u32..40,
        ) {
            let c = WorkCalendar::built_in().unwrap();
            let holidays: Vec<NaiveDate> = c.holidays.iter().copied().collect();
            let workdays: Vec<NaiveDate> = c.workdays.iter().copied().collect();
            let start = day("2025-01-01") + Duration::days(offset);
            let got = c.add_working_days(start, n);
            prop_assert_eq!(got.day, reference_add(&holidays, &workdays, start, n));
            // Counting back gives n again, and the deadline itself is a working day.
            prop_assert_eq!(c.working_days_between(start, got.day), n);
            if n > 0 {
                prop_assert!(c.is_working_day(got.day));
            }
        }

        #[test]
        fn random_schedules_match_the_reference(
            hol in proptest::collection::vec(0i64..365, 0..30),
            work in proptest::collection::vec(0i64..365, 0..10),
            offset in 0i64..365, n in 0u32..30,
        ) {
            let base = day("2030-01-01");
            let mut holidays: Vec<NaiveDate> = hol.iter().map(|o| base + Duration::days(*o)).collect();
            let workdays: Vec<NaiveDate> = work
                .iter()
                .map(|o| base + Duration::days(*o))
                .filter(|d| is_weekend(*d) && !holidays.contains(d))
                .collect();
            holidays.sort();
            holidays.dedup();
            let mut text = String::from("[[year]]\nyear = 2030\nsource = \"test\"\nholidays = [");
            text.push_str(&holidays.iter().map(|d| format!("\"{d}\"")).collect::<Vec<_>>().join(","));
            text.push_str("]\nworkdays = [");
            text.push_str(&workdays.iter().map(|d| format!("\"{d}\"")).collect::<Vec<_>>().join(","));
            text.push_str("]\n");
            let c = WorkCalendar::parse(&text).unwrap();
            let start = base + Duration::days(offset);
            let got = c.add_working_days(start, n);
            prop_assert_eq!(got.day, reference_add(&holidays, &workdays, start, n));
            prop_assert_eq!(got.provisional, got.day.year() != 2030);
        }
    }
}
