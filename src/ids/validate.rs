//! The API's patterns for customer IDs and tag names, checked before anything
//! is sent so that a typo costs no request.

/// The longest customer ID the API accepts.
pub const MAX_ID_LEN: usize = 50;
/// The longest tag name the API accepts (`Tag.name`, `maxLength: 255`).
pub const MAX_TAG_LEN: usize = 255;

/// Why a customer ID will not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidId {
    /// Longer than [`MAX_ID_LEN`].
    TooLong,
    /// A character outside `[@~\-.\w]`.
    BadCharacter,
    /// Not valid UTF-8.
    NotUtf8,
    /// A CSV row without the ID column.
    MissingColumn,
    /// A CSV row whose ID column is empty.
    Empty,
    /// A CSV row equal to the header row.
    RepeatedHeader,
    /// A report's total row.
    TotalRow,
}

impl InvalidId {
    /// A short reason for the report.
    pub fn reason(self) -> &'static str {
        match self {
            InvalidId::TooLong => "longer than 50 characters",
            InvalidId::BadCharacter => "only ASCII letters, digits and _ @ ~ - . are allowed",
            InvalidId::NotUtf8 => "not valid UTF-8",
            InvalidId::MissingColumn => "the row has no such column",
            InvalidId::Empty => "the ID column is empty in this row",
            InvalidId::RepeatedHeader => "the header row again (files joined together?)",
            InvalidId::TotalRow => "a total row, not a customer",
        }
    }
}

/// `\w` in the API's patterns is ASCII (the server is not Unicode-aware), so
/// a byte table is both exact and fast.
const fn id_byte_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'@' | b'~' | b'-' | b'.');
        b += 1;
    }
    t
}

static ID_BYTES: [bool; 256] = id_byte_table();

/// Checks a trimmed, non-empty ID against `^[@~\-\.\w]+$` and the length
/// limit, and hands it back as text (the pattern admits ASCII only).
///
/// ```
/// use tagctl::ids::{check_id, InvalidId};
/// assert_eq!(check_id(b"cus_01HX-9@a.b~c"), Ok("cus_01HX-9@a.b~c"));
/// assert_eq!(check_id(b"cus 1"), Err(InvalidId::BadCharacter));
/// assert_eq!(check_id(b"\xff"), Err(InvalidId::NotUtf8));
/// ```
#[inline]
pub fn check_id(id: &[u8]) -> Result<&str, InvalidId> {
    if id.iter().all(|&b| ID_BYTES[b as usize]) {
        if id.len() > MAX_ID_LEN {
            return Err(InvalidId::TooLong);
        }
        // Only ASCII bytes passed, so this is valid UTF-8.
        return std::str::from_utf8(id).map_err(|_| InvalidId::NotUtf8);
    }
    match std::str::from_utf8(id) {
        Err(_) => Err(InvalidId::NotUtf8),
        Ok(s) if s.chars().count() > MAX_ID_LEN => Err(InvalidId::TooLong),
        Ok(_) => Err(InvalidId::BadCharacter),
    }
}

/// Checks a tag name against `^[@~\-\.\w\s+]+$`; the message names the
/// offending character.
pub fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("the tag is empty".into());
    }
    if tag.trim().is_empty() {
        return Err("the tag is only whitespace".into());
    }
    match tag.chars().find(|&c| {
        !(c.is_ascii()
            && (ID_BYTES[c as usize] || c == '+' || c.is_ascii_whitespace() || c == '\x0b'))
    }) {
        None if tag.len() > MAX_TAG_LEN => Err(format!(
            "the tag has {} characters; the API allows at most {MAX_TAG_LEN}",
            tag.len()
        )),
        None => Ok(()),
        Some(c) => Err(format!(
            "the tag contains {}{}; allowed are ASCII letters, digits, spaces and _ @ ~ - . +",
            describe_char(c),
            if c.is_alphanumeric() {
                ", which is not ASCII"
            } else {
                ""
            }
        )),
    }
}

/// The tag without the whitespace around it, when it has some (`" VIP "`
/// pasted from a spreadsheet): the API would take `%20VIP%20` for another
/// tag.
pub fn trimmed_tag(tag: &str) -> Option<&str> {
    let t = tag.trim();
    (t.len() != tag.len() && !t.is_empty()).then_some(t)
}

/// Names a character for a message; an unsafe one by its code point, so the
/// message itself cannot hide or reorder anything.
fn describe_char(c: char) -> String {
    match crate::text::classify(c) {
        Some(class) => format!("{} U+{:04X}", class.describe(), c as u32),
        None => format!("'{c}'"),
    }
}

// Kept so that the callers not yet moved to `crate::text` compile unchanged.

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_api_pattern() {
        for ok in ["cus_1", "a", "A-b.c~d@e_f", "0123456789", &"x".repeat(50)] {
            assert_eq!(check_id(ok.as_bytes()), Ok(ok), "{ok}");
        }
        assert_eq!(check_id("x".repeat(51).as_bytes()), Err(InvalidId::TooLong));
        for bad in ["a b", "a,b", "a/b", "é", "a+b", "a\tb", "'a'", "a\"b"] {
            assert_eq!(
                check_id(bad.as_bytes()),
                Err(InvalidId::BadCharacter),
                "{bad}"
            );
        }
    }

    #[test]
    fn tags_allow_spaces_and_plus() {
        for ok in ["VIP", "Big Spender", "a+b", "x@y.z~-_", "tab\there"] {
            assert_eq!(check_tag(ok), Ok(()), "{ok}");
        }
        assert!(check_tag("").is_err());
        assert!(check_tag("  ").is_err());
        assert!(check_tag("a/b").unwrap_err().contains("'/'"));
        assert!(check_tag("a\u{1b}b").unwrap_err().contains("U+001B"));
        assert_eq!(
            check_tag("V\u{200b}IP").unwrap_err(),
            "the tag contains the invisible character U+200B; allowed are ASCII letters, digits, spaces and _ @ ~ - . +"
        );
        assert!(
            check_tag("a\u{202e}b")
                .unwrap_err()
                .contains("bidirectional control U+202E")
        );
        assert_eq!(
            check_tag("café"),
            Err("the tag contains 'é', which is not ASCII; allowed are ASCII letters, digits, spaces and _ @ ~ - . +".into())
        );
        assert_eq!(check_tag(&"t".repeat(255)), Ok(()));
        assert_eq!(
            check_tag(&"t".repeat(256)),
            Err("the tag has 256 characters; the API allows at most 255".into())
        );
    }

    #[test]
    fn tags_are_trimmed_when_they_have_spaces_around_them() {
        assert_eq!(trimmed_tag(" VIP "), Some("VIP"));
        assert_eq!(trimmed_tag("\tBig Spender\n"), Some("Big Spender"));
        assert_eq!(trimmed_tag("VIP"), None);
        assert_eq!(trimmed_tag("   "), None);
    }
}
