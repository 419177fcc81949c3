//! Free-text notes that operations keep with a change (a revocation's, a conflict resolution's):
//! trimmed, empty ones dropped, control characters refused (they would corrupt the CSV exports
//! and terminals that show them).

use super::error::{Error, Result};

/// The note to keep, or `None` for an absent or blank one; control characters other than tab
/// and line breaks are refused, pointing at `/note`.
pub fn clean(note: Option<&str>) -> Result<Option<String>> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| {
        n.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    }) {
        return Err(Error::invalid_field(
            "invalid_note",
            "/note",
            "the note holds control characters",
        )
        .with_field_code(
            "control_character",
            "expected printable text, tabs and line breaks only",
        ));
    }
    Ok(note.map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_notes_are_none_and_text_is_trimmed() {
        assert_eq!(clean(None).unwrap(), None);
        assert_eq!(clean(Some("  \n ")).unwrap(), None);
        assert_eq!(
            clean(Some(" 复议撤销\n第二行 ")).unwrap().as_deref(),
            Some("复议撤销\n第二行")
        );
    }

    #[test]
    fn control_characters_are_refused_at_the_note() {
        let Err(Error::Invalid { code, errors, .. }) = clean(Some("a\u{0}b")) else {
            panic!("accepted a NUL");
        };
        assert_eq!(code, "invalid_note");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pointer, "/note");
        assert_eq!(errors[0].code, "control_character");
    }
}
