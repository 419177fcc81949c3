//! Masking of personal data for output (脱敏): ID numbers and natural persons' names shown to
//! anyone but the deciding unit.
//!
//! Must not depend on: HTTP, SQL, crypto. Pure string functions.
//!
//! Invariants: masking works on `char`s, never bytes (Chinese text), preserves the length in
//! chars, never panics, and for inputs longer than 2 chars (without `*`) never returns the
//! input unchanged.

const STAR: char = '*';

/// Masks an identity document number (证件号码): keeps the first 4 and last 4 characters
/// (`310101199001011234` → `3101**********1234`); for 3–8 characters keeps the first and last
/// one; 2 characters or fewer become all stars.
pub fn mask_id_no(id: &str) -> String {
    let len = id.chars().count();
    let keep = match len {
        0..=2 => 0,
        3..=8 => 1,
        _ => 4,
    };
    mask_middle(id, len, keep, keep)
}

/// Masks a natural person's name (自然人姓名): keeps the first character (`张三丰` → `张**`);
/// a one-character name becomes `*`.
pub fn mask_name(name: &str) -> String {
    let len = name.chars().count();
    let keep = usize::from(len > 1);
    mask_middle(name, len, keep, 0)
}

fn mask_middle(s: &str, len: usize, head: usize, tail: usize) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| if i < head || i + tail >= len { c } else { STAR })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn id_table() {
        for (input, expected) in [
            ("310101199001011234", "3101**********1234"),
            ("11010519491231002X", "1101**********002X"),
            ("310101900101123", "3101*******1123"),
            ("E12345678", "E123*5678"),
            ("12345678", "1******8"),
            ("G1234", "G***4"),
            ("abc", "a*c"),
            ("ab", "**"),
            ("a", "*"),
            ("", ""),
            ("港澳通行证号码一二三四五", "港澳通行****二三四五"),
        ] {
            assert_eq!(mask_id_no(input), expected, "{input}");
        }
    }

    #[test]
    fn name_table() {
        for (input, expected) in [
            ("张三丰", "张**"),
            ("张三", "张*"),
            ("张", "*"),
            ("", ""),
            ("欧阳娜娜", "欧***"),
            ("阿卜杜拉·买买提", "阿*******"),
            ("John Smith", "J*********"),
        ] {
            assert_eq!(mask_name(input), expected, "{input}");
        }
    }

    /// Straightforward reference: build head + stars + tail from collected chars.
    fn reference(s: &str, head: usize, tail: usize) -> String {
        let chars: Vec<char> = s.chars().collect();
        let n = chars.len();
        if head + tail >= n {
            return s.to_owned();
        }
        let mut out: String = chars.iter().take(head).collect();
        out.extend(std::iter::repeat_n('*', n - head - tail));
        out.extend(chars.iter().skip(n - tail));
        out
    }

    proptest! {
        #[test]
        fn id_properties(id in "[^*]{0,30}") {
            let masked = mask_id_no(&id);
            let n = id.chars().count();
            prop_assert_eq!(masked.chars().count(), n);
            if n > 2 {
                prop_assert_ne!(&masked, &id);
            }
            let keep = match n { 0..=2 => 0, 3..=8 => 1, _ => 4 };
            let expected = if n <= 2 { "*".repeat(n) } else { reference(&id, keep, keep) };
            prop_assert_eq!(masked, expected);
        }

        #[test]
        fn name_properties(name in "[^*]{0,12}") {
            let masked = mask_name(&name);
            let n = name.chars().count();
            prop_assert_eq!(masked.chars().count(), n);
            if n >= 1 {
                prop_assert_ne!(&masked, &name);
            }
            if n > 1 {
                prop_assert_eq!(masked.chars().next(), name.chars().next());
                prop_assert!(masked.chars().skip(1).all(|c| c == '*'));
            }
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = mask_id_no(&s);
            let _ = mask_name(&s);
            prop_assert!(mask_name(&s).chars().count() == s.chars().count());
        }
    }

    #[test]
    fn masked_resident_id_hides_birth_date() {
        let masked = mask_id_no("310101199001011234");
        assert!(!masked.contains("19900101"));
        assert_eq!(masked.chars().filter(|&c| c == '*').count(), 10);
        assert_eq!(masked.char_indices().last().unwrap().1, '4');
    }
}
