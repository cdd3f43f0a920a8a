//! Making text from outside safe to print: what the server sent (problem
//! details, an HTML error page), what the user supplied (file names, CSV
//! headers, IDs, URLs). The one place that knows which characters can drive
//! a terminal or disguise what is shown, so every message treats them alike.
//!
//! Two renderings, for two kinds of text:
//! - [`printable`] keeps every character visible: an unsafe one is escaped
//!   (`\u{1b}`), so the user sees exactly what is in their file.
//! - [`clean`] makes server prose one readable line: whitespace runs become
//!   one space and unsafe characters are dropped (an escape sequence's
//!   remains are noise to a person, not data).
//!
//! Both cut a long field at a character boundary and mark the cut with `…`,
//! so a hostile file or server cannot flood the terminal.

use std::borrow::Cow;

/// Marks where a long field was cut.
pub const ELLIPSIS: char = '…';

/// Why a character is not printed as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsafe {
    /// C0 controls, DEL and C1 controls: terminal escape sequences start here.
    Control,
    /// Bidirectional marks, embeddings, overrides and isolates: they reorder
    /// what is shown ("Trojan Source").
    Bidi,
    /// Zero-width, filler and other invisible characters: they hide or join
    /// text without a trace on screen.
    Invisible,
    /// Line and paragraph separators: they break a one-line message.
    LineBreak,
}

impl Unsafe {
    /// How a message names a character of this class.
    pub fn describe(self) -> &'static str {
        match self {
            Unsafe::Control => "the control character",
            Unsafe::Bidi => "the bidirectional control",
            Unsafe::Invisible => "the invisible character",
            Unsafe::LineBreak => "the line separator",
        }
    }
}

/// The unsafe characters beyond ASCII, as sorted, disjoint, inclusive ranges.
///
/// Variation selectors (U+FE00–U+FE0F, U+E0100–U+E01EF) are left out on
/// purpose: they only pick a glyph's style (emoji presentation) and cannot
/// hide or reorder text.
const TABLE: &[(char, char, Unsafe)] = &[
    ('\u{7f}', '\u{9f}', Unsafe::Control), // DEL and the C1 controls
    ('\u{ad}', '\u{ad}', Unsafe::Invisible), // soft hyphen
    ('\u{34f}', '\u{34f}', Unsafe::Invisible), // combining grapheme joiner
    ('\u{61c}', '\u{61c}', Unsafe::Bidi),  // Arabic letter mark
    ('\u{115f}', '\u{1160}', Unsafe::Invisible), // Hangul fillers
    ('\u{17b4}', '\u{17b5}', Unsafe::Invisible), // Khmer inherent vowels
    ('\u{180b}', '\u{180f}', Unsafe::Invisible), // Mongolian selectors, vowel separator
    ('\u{200b}', '\u{200d}', Unsafe::Invisible), // zero-width space, non-joiner, joiner
    ('\u{200e}', '\u{200f}', Unsafe::Bidi), // LRM, RLM
    ('\u{2028}', '\u{2029}', Unsafe::LineBreak), // line, paragraph separator
    ('\u{202a}', '\u{202e}', Unsafe::Bidi), // LRE, RLE, PDF, LRO, RLO
    ('\u{2060}', '\u{2065}', Unsafe::Invisible), // word joiner, invisible operators
    ('\u{2066}', '\u{2069}', Unsafe::Bidi), // LRI, RLI, FSI, PDI
    ('\u{206a}', '\u{206f}', Unsafe::Invisible), // deprecated format characters
    ('\u{3164}', '\u{3164}', Unsafe::Invisible), // Hangul filler
    ('\u{feff}', '\u{feff}', Unsafe::Invisible), // zero-width no-break space (BOM)
    ('\u{ffa0}', '\u{ffa0}', Unsafe::Invisible), // halfwidth Hangul filler
    ('\u{fff9}', '\u{fffb}', Unsafe::Invisible), // interlinear annotation
    ('\u{1bca0}', '\u{1bca3}', Unsafe::Invisible), // shorthand format controls
    ('\u{1d173}', '\u{1d17a}', Unsafe::Invisible), // musical formatting
    ('\u{e0000}', '\u{e007f}', Unsafe::Invisible), // tag characters (hidden ASCII)
];

/// Whether, and why, `c` must not be printed as it is.
///
/// ```
/// use tagctl::text::{classify, Unsafe};
/// assert_eq!(classify('\u{1b}'), Some(Unsafe::Control));
/// assert_eq!(classify('\u{202e}'), Some(Unsafe::Bidi));
/// assert_eq!(classify('\u{200b}'), Some(Unsafe::Invisible));
/// assert_eq!(classify('é'), None);
/// ```
pub fn classify(c: char) -> Option<Unsafe> {
    if c < '\u{7f}' {
        return (c < ' ').then_some(Unsafe::Control);
    }
    let i = TABLE.partition_point(|&(_, end, _)| end < c);
    TABLE
        .get(i)
        .filter(|&&(start, _, _)| start <= c)
        .map(|&(_, _, class)| class)
}

/// Whether `c` must not be printed as it is.
#[inline]
pub fn is_unsafe(c: char) -> bool {
    classify(c).is_some()
}

/// Renders untrusted text for a one-line message: unsafe characters escaped
/// (`\n`, `\u{1b}`, `\u{202e}`), at most `max` characters of output, then `…`
/// if anything was left out. An escape is never split.
///
/// ```
/// use tagctl::text::printable;
/// assert_eq!(printable("a\u{1b}[31mb", 50), "a\\u{1b}[31mb");
/// assert_eq!(printable("abcdef", 3), "abc…");
/// ```
pub fn printable(s: &str, max: usize) -> String {
    if s.len() <= max && !s.chars().any(is_unsafe) {
        return s.to_string();
    }
    let mut out = Bounded::new(s.len(), max);
    for c in s.chars() {
        let fits = if is_unsafe(c) {
            out.push_all(c.escape_default())
        } else {
            out.push(c)
        };
        if !fits {
            break;
        }
    }
    out.finish()
}

/// Renders server prose as one readable line: whitespace runs become one
/// space (none at the ends), unsafe characters are dropped, and at most `max`
/// characters are kept, then `…` if anything was left out.
///
/// ```
/// use tagctl::text::clean;
/// assert_eq!(clean("  Bad\n\tids\u{1b}[0m ", 50), "Bad ids[0m");
/// assert_eq!(clean("abcdef", 3), "abc…");
/// ```
pub fn clean(s: &str, max: usize) -> String {
    let mut out = Bounded::new(s.len(), max);
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if is_unsafe(c) {
            continue;
        }
        if space {
            space = false;
            // A space is only worth its room if a character follows it.
            if out.room < 2 {
                out.cut = true;
                break;
            }
            out.push(' ');
        }
        if !out.push(c) {
            break;
        }
    }
    out.finish()
}

/// Escapes the unsafe characters of a whole line, without cutting it: the
/// last guard before standard error, for text that was meant to be safe
/// already (then it costs one scan and no copy).
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A string that takes at most `max` characters and remembers whether
/// something did not fit.
struct Bounded {
    out: String,
    room: usize,
    cut: bool,
}

impl Bounded {
    fn new(len: usize, max: usize) -> Bounded {
        Bounded {
            out: String::with_capacity(len.min(max.saturating_mul(4)) + ELLIPSIS.len_utf8()),
            room: max,
            cut: false,
        }
    }

    fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Adds `c` if there is room; otherwise marks the cut.
    fn push(&mut self, c: char) -> bool {
        if self.room == 0 {
            self.cut = true;
            return false;
        }
        self.out.push(c);
        self.room -= 1;
        true
    }

    /// Adds all of `chars` if they fit; otherwise none of them, and marks the cut.
    fn push_all(&mut self, chars: impl ExactSizeIterator<Item = char>) -> bool {
        if chars.len() > self.room {
            self.cut = true;
            return false;
        }
        self.room -= chars.len();
        self.out.extend(chars);
        true
    }

    fn finish(mut self) -> String {
        if self.cut {
            self.out.push(ELLIPSIS);
        }
        self.out
    }
}

/// `2026-12-01 14:02 UTC` for a Unix time, for the resume line (no time-zone data: UTC only).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// `6,000`: thousands separated, for people.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_and_dates_for_people() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(1_796_133_720), "2026-12-01 14:02 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(6000), "6,000");
        assert_eq!(thousands(10_000_000), "10,000,000");
    }

    use super::*;

    /// One character of each class and range edge, and neighbours that are safe.
    const CLASSES: &[(char, Option<Unsafe>)] = &[
        ('\0', Some(Unsafe::Control)),
        ('\t', Some(Unsafe::Control)),
        ('\n', Some(Unsafe::Control)),
        ('\r', Some(Unsafe::Control)),
        ('\u{1b}', Some(Unsafe::Control)),
        ('\u{1f}', Some(Unsafe::Control)),
        (' ', None),
        ('~', None),
        ('\u{7f}', Some(Unsafe::Control)),
        ('\u{80}', Some(Unsafe::Control)),
        ('\u{9b}', Some(Unsafe::Control)), // CSI
        ('\u{9f}', Some(Unsafe::Control)),
        ('\u{a0}', None), // no-break space: visible as a space
        ('é', None),
        ('\u{ad}', Some(Unsafe::Invisible)),
        ('\u{34f}', Some(Unsafe::Invisible)),
        ('\u{301}', None), // a combining accent is visible
        ('\u{61c}', Some(Unsafe::Bidi)),
        ('ب', None),
        ('\u{115f}', Some(Unsafe::Invisible)),
        ('\u{1160}', Some(Unsafe::Invisible)),
        ('\u{17b4}', Some(Unsafe::Invisible)),
        ('\u{180e}', Some(Unsafe::Invisible)),
        ('\u{200a}', None), // hair space
        ('\u{200b}', Some(Unsafe::Invisible)),
        ('\u{200c}', Some(Unsafe::Invisible)),
        ('\u{200d}', Some(Unsafe::Invisible)),
        ('\u{200e}', Some(Unsafe::Bidi)),
        ('\u{200f}', Some(Unsafe::Bidi)),
        ('\u{2010}', None), // hyphen
        ('\u{2028}', Some(Unsafe::LineBreak)),
        ('\u{2029}', Some(Unsafe::LineBreak)),
        ('\u{202a}', Some(Unsafe::Bidi)),
        ('\u{202d}', Some(Unsafe::Bidi)),
        ('\u{202e}', Some(Unsafe::Bidi)),
        ('\u{202f}', None), // narrow no-break space
        ('\u{205f}', None), // medium mathematical space
        ('\u{2060}', Some(Unsafe::Invisible)),
        ('\u{2064}', Some(Unsafe::Invisible)),
        ('\u{2066}', Some(Unsafe::Bidi)),
        ('\u{2069}', Some(Unsafe::Bidi)),
        ('\u{206a}', Some(Unsafe::Invisible)),
        ('\u{206f}', Some(Unsafe::Invisible)),
        ('\u{2070}', None), // superscript zero
        ('\u{3164}', Some(Unsafe::Invisible)),
        ('\u{fe0f}', None), // emoji presentation selector
        ('\u{feff}', Some(Unsafe::Invisible)),
        ('\u{ffa0}', Some(Unsafe::Invisible)),
        ('\u{fffb}', Some(Unsafe::Invisible)),
        ('\u{fffd}', None), // the replacement character is how bad UTF-8 shows
        ('\u{1bca0}', Some(Unsafe::Invisible)),
        ('\u{1d173}', Some(Unsafe::Invisible)),
        ('😀', None),
        ('\u{e0001}', Some(Unsafe::Invisible)),
        ('\u{e0041}', Some(Unsafe::Invisible)),
        ('\u{e007f}', Some(Unsafe::Invisible)),
        ('\u{e0100}', None), // variation selector 17
        ('\u{10ffff}', None),
    ];

    #[test]
    fn every_class_is_recognised_at_its_edges() {
        for &(c, class) in CLASSES {
            assert_eq!(classify(c), class, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn the_table_is_sorted_and_disjoint() {
        for w in TABLE.windows(2) {
            assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{w:?}");
        }
    }

    #[test]
    fn every_c0_and_c1_control_is_unsafe() {
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            assert_eq!(classify(c), Some(Unsafe::Control), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn printable_escapes_each_class() {
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("", ""),
            ("a\u{1b}[31mb", "a\\u{1b}[31mb"),
            ("line\nbreak\ttab\r", "line\\nbreak\\ttab\\r"),
            ("del\u{7f}", "del\\u{7f}"),
            ("c1\u{9b}2J", "c1\\u{9b}2J"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
            ("\u{61c}\u{200e}\u{200f}", "\\u{61c}\\u{200e}\\u{200f}"),
            ("pay\u{200b}pal", "pay\\u{200b}pal"),
            ("\u{feff}cus_1", "\\u{feff}cus_1"),
            ("soft\u{ad}hyphen", "soft\\u{ad}hyphen"),
            ("a\u{2028}b", "a\\u{2028}b"),
            ("hidden\u{e0041}", "hidden\\u{e0041}"),
            ("Big Spender é ü 😀", "Big Spender é ü 😀"),
            ("a\\b", "a\\b"),
        ];
        for &(input, expected) in cases {
            assert_eq!(printable(input, 100), expected, "{input:?}");
        }
    }

    #[test]
    fn printable_cuts_at_a_character_boundary_with_an_ellipsis() {
        let cases: &[(&str, usize, &str)] = &[
            ("abcdef", 3, "abc…"),
            ("abc", 3, "abc"),
            ("abc", 0, "…"),
            ("", 0, ""),
            ("éééé", 2, "éé…"),           // two bytes each
            ("日本語です", 3, "日本語…"), // three bytes each
            ("😀😀😀", 1, "😀…"),         // four bytes each
            ("e\u{301}e\u{301}", 3, "e\u{301}e…"),
            ("ab\u{1b}c", 4, "ab…"),        // the escape does not fit whole
            ("ab\u{1b}c", 8, "ab\\u{1b}…"), // it does, the rest does not
            ("ab\u{1b}", 8, "ab\\u{1b}"),
        ];
        for &(input, max, expected) in cases {
            assert_eq!(printable(input, max), expected, "{input:?} at {max}");
        }
    }

    #[test]
    fn printable_bounds_the_output_not_the_input() {
        let hostile = "\u{1b}".repeat(1000);
        assert!(printable(&hostile, 60).chars().count() <= 61);
    }

    #[test]
    fn clean_makes_one_line_without_unsafe_characters() {
        let cases: &[(&str, usize, &str)] = &[
            ("Bad ids", 50, "Bad ids"),
            ("  Bad \n\t ids  ", 50, "Bad ids"),
            ("\u{1b}[2J\u{1b}]0;pwned\u{7}Boom", 50, "[2J]0;pwnedBoom"),
            ("a\u{202e}b\u{200b}c\u{feff}", 50, "abc"),
            ("para\u{2029}graph", 50, "para graph"), // a separator is whitespace
            ("abcdef", 3, "abc…"),
            ("ab cd", 3, "ab…"), // no dangling space before the cut
            ("ab cd", 4, "ab c…"),
            ("ab cd", 2, "ab…"),
            ("ab    ", 2, "ab"), // trailing space is not content
            ("éééé", 3, "ééé…"),
            ("日本 語", 2, "日本…"),
            ("", 5, ""),
            ("\u{1b}\u{202e}", 5, ""),
        ];
        for &(input, max, expected) in cases {
            assert_eq!(clean(input, max), expected, "{input:?} at {max}");
        }
    }

    #[test]
    fn escape_copies_only_when_needed() {
        assert!(matches!(escape("safe é"), Cow::Borrowed("safe é")));
        assert_eq!(escape("a\u{1b}b\u{202e}"), "a\\u{1b}b\\u{202e}");
        let long = "x".repeat(10_000);
        assert_eq!(escape(&long).len(), 10_000, "no cut");
    }

    #[test]
    fn descriptions_name_the_class() {
        assert_eq!(Unsafe::Bidi.describe(), "the bidirectional control");
        assert_eq!(Unsafe::Control.describe(), "the control character");
    }
}
