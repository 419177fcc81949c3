//! The clock penex reads "now" and "today" from. The server's state holds one
//! ([`SharedClock`]); the system clock in production, a [`ManualClock`] in tests that need
//! to move time (publicity periods, deadlines, sweepers).
//!
//! "Today" is the calendar day in Asia/Shanghai (UTC+8, no daylight saving since 1991): the
//! day the law counts publicity periods and deadlines in, whatever the server's time zone.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::sync::{Arc, Mutex};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The day `at` falls on in Asia/Shanghai.
pub fn shanghai_date(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::hours(8)).date_naive()
}

/// Today in Asia/Shanghai by the system clock (for code outside a server: the CLI, examples).
pub fn today_shanghai() -> NaiveDate {
    shanghai_date(Utc::now())
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set or advanced (tests, simulations).
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(at))
    }

    /// Sets the time.
    pub fn set(&self, at: DateTime<Utc>) {
        match self.0.lock() {
            Ok(mut g) => *g = at,
            Err(poisoned) => *poisoned.into_inner() = at,
        }
    }

    /// Moves the time on by `by`.
    pub fn advance(&self, by: Duration) {
        let now = self.now();
        self.set(now + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        match self.0.lock() {
            Ok(g) => *g,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

/// A clock shared by every part of a running server (cheap to clone).
#[derive(Debug, Clone)]
pub struct SharedClock(Arc<dyn Clock>);

impl SharedClock {
    /// Wraps a clock.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        SharedClock(clock)
    }

    /// The system clock.
    pub fn system() -> Self {
        SharedClock(Arc::new(SystemClock))
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    /// Today in Asia/Shanghai.
    pub fn today(&self) -> NaiveDate {
        shanghai_date(self.now())
    }
}

impl Default for SharedClock {
    fn default() -> Self {
        SharedClock::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn shanghai_day_turns_at_16_utc() {
        let before = Utc
            .with_ymd_and_hms(2026, 12, 4, 15, 59, 59)
            .single()
            .unwrap();
        let after = Utc
            .with_ymd_and_hms(2026, 12, 4, 16, 0, 0)
            .single()
            .unwrap();
        assert_eq!(
            shanghai_date(before),
            NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
        );
        assert_eq!(
            shanghai_date(after),
            NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
        );
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap();
        let manual = Arc::new(ManualClock::new(start));
        let clock = SharedClock::new(manual.clone());
        assert_eq!(clock.now(), start);
        manual.advance(Duration::days(3));
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 1, 4).unwrap());
    }
}
