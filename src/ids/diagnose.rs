//! The early stop: when nearly every early record of a source is invalid,
//! the input is being read the wrong way (the wrong format, column or
//! encoding), and 20,000 "invalid customer ID" lines would only bury the
//! cause. [`EarlyCheck`] watches the first [`WINDOW`] records of a source,
//! holds their error lines back until it can tell, and then either lets
//! them through or stops with a diagnosis.

use crate::ids::Raw;
use crate::ids::sniff::{DELIMITERS, as_flag, describe};
use crate::ids::validate::InvalidId;

/// The early records of a source that are judged together.
pub const WINDOW: u32 = 100;
/// Valid records among them that prove the source is read the right way.
pub const ENOUGH_VALID: u32 = 3;
/// Held error lines shown before the diagnosis.
const SHOWN: usize = 3;

/// What to do with one invalid record's error line.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Print these lines now (the held ones, then this one).
    Print(Vec<String>),
    /// Hold it: the verdict on the source is not in yet.
    Hold,
    /// Stop reading: print `shown`, then fail with `diagnosis`.
    Stop {
        /// The first few error lines.
        shown: Vec<String>,
        /// Why the source is being read the wrong way, and what to try.
        diagnosis: String,
    },
}

/// The first records of one source, judged together.
#[derive(Debug, Default)]
pub struct EarlyCheck {
    seen: u32,
    valid: u32,
    done: bool,
    held: Vec<String>,
    not_utf8: u32,
    nul: u32,
    missing_column: u32,
    spaces: u32,
    delimiters: [u32; DELIMITERS.len()],
}

impl EarlyCheck {
    /// A check for a new source.
    pub fn new() -> EarlyCheck {
        EarlyCheck::default()
    }

    /// Whether the verdict is in (nothing more to watch).
    #[inline]
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// A valid record (new or duplicate): returns the held lines to print
    /// once it proves the source sound.
    pub fn valid(&mut self) -> Vec<String> {
        if self.done {
            return Vec::new();
        }
        self.seen += 1;
        self.valid += 1;
        if self.valid >= ENOUGH_VALID || self.seen >= WINDOW {
            return self.release();
        }
        Vec::new()
    }

    /// An invalid record with its error line.
    pub fn invalid(&mut self, raw: Raw<'_>, why: InvalidId, line: String) -> Step {
        if self.done {
            return Step::Print(vec![line]);
        }
        self.seen += 1;
        self.note(raw, why);
        self.held.push(line);
        if self.seen < WINDOW {
            return Step::Hold;
        }
        if self.valid >= ENOUGH_VALID {
            return Step::Print(self.release());
        }
        self.done = true;
        let mut shown = std::mem::take(&mut self.held);
        shown.truncate(SHOWN);
        Step::Stop {
            shown,
            diagnosis: self.diagnosis(),
        }
    }

    /// The source ended: the held lines, to print.
    pub fn finish(&mut self) -> Vec<String> {
        self.release()
    }

    fn release(&mut self) -> Vec<String> {
        self.done = true;
        std::mem::take(&mut self.held)
    }

    fn note(&mut self, raw: Raw<'_>, why: InvalidId) {
        match why {
            InvalidId::NotUtf8 => self.not_utf8 += 1,
            InvalidId::MissingColumn => self.missing_column += 1,
            _ => {}
        }
        if let Raw::Field(f) = raw {
            if f.contains(&0) {
                self.nul += 1;
            }
            if f.contains(&b' ') {
                self.spaces += 1;
            }
            for (n, d) in self.delimiters.iter_mut().zip(DELIMITERS) {
                if f.contains(&d) {
                    *n += 1;
                }
            }
        }
    }

    fn diagnosis(&self) -> String {
        let invalid = self.seen - self.valid;
        let most = |n: u32| n * 2 > invalid;
        let hint = if most(self.nul) {
            "they hold NUL bytes: a binary file, or text in UTF-16 or UTF-32 without a byte-order mark (convert it to UTF-8, e.g. iconv -f UTF-16LE -t UTF-8)".to_string()
        } else if most(self.not_utf8) {
            "they are not UTF-8: the file has another encoding (Latin-1? Windows-1252?); convert it to UTF-8, e.g. iconv -f WINDOWS-1252 -t UTF-8".to_string()
        } else if most(self.missing_column) {
            "most rows lack the ID column: the wrong --delimiter, or the wrong --column?"
                .to_string()
        } else if let Some(d) = DELIMITERS
            .iter()
            .zip(self.delimiters)
            .filter(|&(_, n)| most(n))
            .max_by_key(|&(_, n)| n)
            .map(|(&d, _)| d)
        {
            format!(
                "they hold {}: CSV with {} between fields? try --format csv --delimiter {}",
                describe(d),
                describe(d),
                as_flag(d)
            )
        } else {
            "the wrong column? name the one holding customer IDs with --column (or check --format)"
                .to_string()
        };
        format!(
            "{invalid} of the first {} records are not customer IDs, so reading stopped: {hint}",
            self.seen
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(records: &[(&[u8], Option<InvalidId>)]) -> (Vec<String>, Option<String>) {
        let mut check = EarlyCheck::new();
        let mut printed = Vec::new();
        for (i, (field, why)) in records.iter().enumerate() {
            match why {
                None => printed.extend(check.valid()),
                Some(why) => {
                    match check.invalid(Raw::Field(field), *why, format!("line {}", i + 1)) {
                        Step::Print(lines) => printed.extend(lines),
                        Step::Hold => {}
                        Step::Stop { shown, diagnosis } => {
                            printed.extend(shown);
                            return (printed, Some(diagnosis));
                        }
                    }
                }
            }
        }
        printed.extend(check.finish());
        (printed, None)
    }

    fn lines(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("line {i}")).collect()
    }

    #[test]
    fn a_sound_source_prints_every_error_in_order() {
        let bad = (&b"a b"[..], Some(InvalidId::BadCharacter));
        let good = (&b"cus_1"[..], None);
        let mut records = vec![bad, good, bad, good, good];
        records.extend(std::iter::repeat_n(bad, 200));
        let (printed, stop) = run(&records);
        assert_eq!(stop, None);
        let mut want = vec!["line 1".to_string(), "line 3".into()];
        want.extend((6..=205).map(|i| format!("line {i}")));
        assert_eq!(printed, want);
    }

    #[test]
    fn a_short_all_invalid_source_is_reported_in_full() {
        let records = vec![(&b"a b"[..], Some(InvalidId::BadCharacter)); 99];
        assert_eq!(run(&records), (lines(99), None));
    }

    #[test]
    fn nearly_all_invalid_stops_with_a_diagnosis() {
        for (field, why, hint) in [
            (
                &b"cus_1;Ann;Oslo"[..],
                InvalidId::BadCharacter,
                "they hold ';': CSV with ';' between fields? try --format csv --delimiter ';'",
            ),
            (
                b"cus_1,Ann",
                InvalidId::BadCharacter,
                "they hold ',': CSV with ',' between fields? try --format csv --delimiter ,",
            ),
            (b"c\0u\0s\0", InvalidId::BadCharacter, "they hold NUL bytes"),
            (b"\xe9t\xe9", InvalidId::NotUtf8, "they are not UTF-8"),
            (
                b"",
                InvalidId::MissingColumn,
                "most rows lack the ID column",
            ),
            (b"Ann Smith", InvalidId::BadCharacter, "the wrong column?"),
        ] {
            let mut records = vec![(&b"cus_1"[..], None), (b"cus_2", None)];
            records.extend(std::iter::repeat_n((field, Some(why)), 98));
            let (printed, stop) = run(&records);
            assert_eq!(printed, ["line 3", "line 4", "line 5"]);
            let stop = stop.expect("a stop");
            assert!(
                stop.starts_with(
                    "98 of the first 100 records are not customer IDs, so reading stopped: "
                ),
                "{stop}"
            );
            assert!(stop.contains(hint), "{stop} lacks {hint}");
        }
    }
}
