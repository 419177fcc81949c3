//! What collaboration is judged by: the working-day calendar, the deadline of each step and
//! the attachment rules (`config/collaboration.toml`, `config/holidays.toml`).

use crate::domain::calendar::{Deadline, WorkCalendar};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The built-in copy of `config/collaboration.toml`.
pub const BUILT_IN: &str = include_str!("../../../config/collaboration.toml");

/// The deadlines every configuration must give (see `domain::collab::deadline_of`).
pub const DEADLINES: &[&str] = &[
    "approval",
    "receipt",
    "verification",
    "filing",
    "decision",
    "reply",
    "service",
];

/// One period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// Length.
    pub days: u32,
    /// Counted in calendar days (moved off a rest day) instead of working days.
    #[serde(default)]
    pub calendar: bool,
}

/// Attachment rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRules {
    /// Largest accepted size in bytes.
    pub max_bytes: u64,
    /// Accepted media types.
    pub media_types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtensionRules {
    max_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    deadlines: BTreeMap<String, Period>,
    extension: ExtensionRules,
    attachments: AttachmentRules,
}

/// Media types penex can recognise by their content.
pub const KNOWN_MEDIA_TYPES: &[&str] = &[
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "application/ofd",
];

/// The collaboration policy.
#[derive(Debug, Clone)]
pub struct CollabPolicy {
    /// Working days.
    pub calendar: WorkCalendar,
    deadlines: BTreeMap<String, Period>,
    /// Longest extension of a reply, in working days.
    pub extension_max_days: u32,
    /// Attachment rules.
    pub attachments: AttachmentRules,
}

impl CollabPolicy {
    /// Reads and checks the collaboration file, with the calendar already read.
    pub fn parse(text: &str, calendar: WorkCalendar) -> Result<CollabPolicy, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        for name in DEADLINES {
            match file.deadlines.get(*name) {
                None => return Err(format!("[deadlines] lacks {name}")),
                Some(p) if p.days == 0 || p.days > 366 => {
                    return Err(format!("[deadlines] {name}: days must be 1–366"));
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = file
            .deadlines
            .keys()
            .find(|k| !DEADLINES.contains(&k.as_str()))
        {
            return Err(format!(
                "[deadlines] {extra} is not a step with a deadline; expected {}",
                DEADLINES.join(", ")
            ));
        }
        if file.extension.max_days == 0 {
            return Err("[extension] max_days must be at least 1".into());
        }
        if file.attachments.max_bytes == 0 {
            return Err("[attachments] max_bytes must be at least 1".into());
        }
        if let Some(t) = file
            .attachments
            .media_types
            .iter()
            .find(|t| !KNOWN_MEDIA_TYPES.contains(&t.as_str()))
        {
            return Err(format!(
                "[attachments] {t:?} cannot be checked by its content; expected some of {}",
                KNOWN_MEDIA_TYPES.join(", ")
            ));
        }
        Ok(CollabPolicy {
            calendar,
            deadlines: file.deadlines,
            extension_max_days: file.extension.max_days,
            attachments: file.attachments,
        })
    }

    /// The built-in files.
    pub fn built_in() -> Result<CollabPolicy, String> {
        let calendar = WorkCalendar::built_in().map_err(|e| e.to_string())?;
        Self::parse(BUILT_IN, calendar)
    }

    /// A named period (one of [`DEADLINES`]).
    pub fn period(&self, name: &str) -> Option<Period> {
        self.deadlines.get(name).copied()
    }

    /// The deadline `name` counted from `from`.
    pub fn deadline(&self, name: &str, from: NaiveDate) -> Option<Deadline> {
        let p = self.period(name)?;
        Some(if p.calendar {
            self.calendar.add_calendar_days(from, p.days)
        } else {
            self.calendar.add_working_days(from, p.days)
        })
    }
}

/// The media type the content's first bytes show, among [`KNOWN_MEDIA_TYPES`].
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some("image/tiff")
    } else if bytes.starts_with(b"PK\x03\x04") && contains(bytes, b"OFD.xml") {
        // OFD (GB/T 33190) is a ZIP package whose entry point is OFD.xml.
        Some("application/ofd")
    } else {
        None
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_built_in_policy_gives_every_deadline() {
        let p = CollabPolicy::built_in().unwrap();
        for name in DEADLINES {
            assert!(p.period(name).is_some(), "{name}");
        }
        assert!(p.period("decision").unwrap().calendar);
        assert_eq!(p.period("receipt").unwrap().days, 2);
    }

    #[test]
    fn a_policy_without_a_deadline_or_with_an_unknown_type_is_refused() {
        let cal = WorkCalendar::built_in().unwrap();
        let without = BUILT_IN.replace("receipt = { days = 2 }\n", "");
        assert!(
            CollabPolicy::parse(&without, cal.clone())
                .unwrap_err()
                .contains("receipt")
        );
        let odd = BUILT_IN.replace(
            "\"application/ofd\"]",
            "\"application/ofd\", \"text/html\"]",
        );
        assert!(
            CollabPolicy::parse(&odd, cal)
                .unwrap_err()
                .contains("text/html")
        );
    }

    #[test]
    fn content_is_recognised_by_its_signature() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"PK\x03\x04....OFD.xml...."), Some("application/ofd"));
        assert_eq!(sniff(b"PK\x03\x04....word/document.xml"), None);
        assert_eq!(sniff(b"<html>"), None);
    }

    proptest! {
        #[test]
        fn sniffing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = sniff(&bytes);
        }
    }
}
