//! Field errors and warnings of the normalizer, with RFC 6901 JSON Pointers into the submitted
//! document and stable snake_case codes.
//!
//! Pure. Invariant: a `detail` never contains a full identifier (IDs are personal data); use
//! [`mask`] before putting one into a detail.

use serde::Serialize;

/// One problem with one field of a submitted record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldIssue {
    /// RFC 6901 JSON Pointer to the key the client used (`""` for the whole item).
    pub pointer: String,
    /// Stable snake_case code, see [`IssueCode`].
    pub code: String,
    /// The value seen (masked where personal) and what was expected.
    pub detail: String,
}

impl FieldIssue {
    /// A new issue.
    pub fn new(pointer: impl Into<String>, code: IssueCode, detail: impl Into<String>) -> Self {
        FieldIssue {
            pointer: pointer.into(),
            code: code.as_str().to_owned(),
            detail: detail.into(),
        }
    }
}

/// The stable codes of [`FieldIssue`]. Errors reject the record; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueCode {
    /// Error: a required field is absent or blank.
    Required,
    /// Error: wrong JSON type (e.g. an object where text is expected).
    InvalidType,
    /// Error: an identifier's check character is wrong.
    InvalidChecksum,
    /// Error: the text does not have the expected shape.
    InvalidFormat,
    /// Error: not a date in any accepted format, or no such calendar day.
    InvalidDate,
    /// Error: the decision date lies after today.
    DateInFuture,
    /// Error: the decision date lies before 1990-01-01.
    DateBefore1990,
    /// Error: the filing date lies after the decision date.
    FiledAfterDecision,
    /// Error: the publicity end lies before the decision date.
    PublicityBeforeDecision,
    /// Error: a penalty category that is neither a 2021 name, a 1996 name nor a numeric code.
    UnknownCategory,
    /// Error: 罚款 without an amount in any amount field nor in the content.
    FineAmountMissing,
    /// Error: one field given under two aliases with different values.
    ConflictingAliases,
    /// Error: 行政相对人类别 not one of the three kinds.
    UnknownSubjectKind,
    /// Error: 证件类型 not in the national value domain.
    UnknownIdType,
    /// Error: an amount that is negative, too precise or not a number.
    InvalidAmount,
    /// Warning: a key penex does not know; ignored.
    UnknownField,
    /// Warning: the amount field and the amount in the content disagree; the field wins.
    AmountMismatch,
    /// Warning: a 1996 "暂扣或者吊销" category the content does not decide; taken as suspension.
    CategoryAmbiguous,
    /// Warning: an amount was given but the categories do not include it.
    AmountWithoutCategory,
    /// Warning: the place of violation is outside Shanghai, Jiangsu, Zhejiang and Anhui.
    DivisionOutsideRegion,
    /// Warning: the validity end lies before the decision date.
    ValidUntilBeforeDecision,
    /// Warning: the given publicity end is shorter than the legal minimum.
    PublicityBelowMinimum,
    /// Warning: the given publicity end is longer than the legal maximum.
    PublicityAboveMaximum,
    /// Error: text holds control characters (NUL, escape, …) other than tab and line breaks;
    /// no published record has them, and several databases cannot store them.
    ControlCharacter,
    /// Error: text longer than the field allows ([`crate::normalize::fields::Field::max_chars`]).
    TooLong,
    /// Warning: the violation type maps to no type of the common catalogue
    /// (`config/catalog.toml`); kept as given, matched across parties only by its exact text.
    UnmappedViolationType,
}

impl IssueCode {
    /// Every code, for tests and documentation.
    pub const ALL: [IssueCode; 26] = [
        IssueCode::Required,
        IssueCode::InvalidType,
        IssueCode::InvalidChecksum,
        IssueCode::InvalidFormat,
        IssueCode::InvalidDate,
        IssueCode::DateInFuture,
        IssueCode::DateBefore1990,
        IssueCode::FiledAfterDecision,
        IssueCode::PublicityBeforeDecision,
        IssueCode::UnknownCategory,
        IssueCode::FineAmountMissing,
        IssueCode::ConflictingAliases,
        IssueCode::UnknownSubjectKind,
        IssueCode::UnknownIdType,
        IssueCode::InvalidAmount,
        IssueCode::UnknownField,
        IssueCode::AmountMismatch,
        IssueCode::CategoryAmbiguous,
        IssueCode::AmountWithoutCategory,
        IssueCode::DivisionOutsideRegion,
        IssueCode::ValidUntilBeforeDecision,
        IssueCode::PublicityBelowMinimum,
        IssueCode::PublicityAboveMaximum,
        IssueCode::ControlCharacter,
        IssueCode::TooLong,
        IssueCode::UnmappedViolationType,
    ];

    /// The wire code.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::Required => "required",
            IssueCode::InvalidType => "invalid_type",
            IssueCode::InvalidChecksum => "invalid_checksum",
            IssueCode::InvalidFormat => "invalid_format",
            IssueCode::InvalidDate => "invalid_date",
            IssueCode::DateInFuture => "date_in_future",
            IssueCode::DateBefore1990 => "date_before_1990",
            IssueCode::FiledAfterDecision => "filed_after_decision",
            IssueCode::PublicityBeforeDecision => "publicity_before_decision",
            IssueCode::UnknownCategory => "unknown_category",
            IssueCode::FineAmountMissing => "fine_amount_missing",
            IssueCode::ConflictingAliases => "conflicting_aliases",
            IssueCode::UnknownSubjectKind => "unknown_subject_kind",
            IssueCode::UnknownIdType => "unknown_id_type",
            IssueCode::InvalidAmount => "invalid_amount",
            IssueCode::UnknownField => "unknown_field",
            IssueCode::AmountMismatch => "amount_mismatch",
            IssueCode::CategoryAmbiguous => "category_ambiguous",
            IssueCode::AmountWithoutCategory => "amount_without_category",
            IssueCode::DivisionOutsideRegion => "division_outside_region",
            IssueCode::ValidUntilBeforeDecision => "valid_until_before_decision",
            IssueCode::PublicityBelowMinimum => "publicity_below_minimum",
            IssueCode::PublicityAboveMaximum => "publicity_above_maximum",
            IssueCode::ControlCharacter => "control_character",
            IssueCode::TooLong => "too_long",
            IssueCode::UnmappedViolationType => "unmapped_violation_type",
        }
    }
}

/// Escapes one reference token for a JSON Pointer (RFC 6901 §3: `~` → `~0`, `/` → `~1`).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Masks an identifier for a message: the first 4 and last 4 characters kept, the rest `*`;
/// short texts keep only their first character.
pub fn mask(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    if n >= 12 {
        let head: String = chars.iter().take(4).collect();
        let tail: String = chars.iter().skip(n - 4).collect();
        format!("{head}{}{tail}", "*".repeat(n - 8))
    } else {
        let head: String = chars.iter().take(1).collect();
        format!("{head}{}", "*".repeat(n.saturating_sub(1)))
    }
}

/// Shortens free text for a message (at most 40 characters).
pub fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
        assert_eq!(escape_token("行政相对人名称"), "行政相对人名称");
        assert_eq!(escape_token("~1"), "~01");
    }

    #[test]
    fn mask_never_shows_the_whole_id() {
        assert_eq!(mask("11010519491231002X"), "1101**********002X");
        assert_eq!(mask("A1234567"), "A*******");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn codes_are_distinct_snake_case() {
        let set: HashSet<&str> = IssueCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(set.len(), IssueCode::ALL.len());
        assert!(set.iter().all(|c| {
            c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        }));
    }
}
