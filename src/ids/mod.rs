//! Customer IDs: where they come from, whether they are valid, whether they
//! were seen before.

pub mod dedupe;
pub mod diagnose;
pub mod list;
pub mod read;
pub mod sniff;
pub mod stream;
pub mod validate;

pub use dedupe::IdSet;
pub use list::IdList;
pub use read::{InputSpec, Notice, Opened, Origin, Raw, ReadError, open, read_all};
pub use validate::{InvalidId, check_id, check_tag};

/// What one raw record turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// A valid ID seen for the first time.
    New(&'a str),
    /// A valid ID seen before (first occurrence wins).
    Duplicate,
    /// A valid ID an earlier run confirmed (`--journal`), read for the
    /// first time in this run: not sent again.
    Resumed(&'a str),
    /// An ID that will not be sent.
    Invalid(InvalidId),
}

/// Validation and de-duplication, in that order: an invalid ID is reported
/// each time it appears, a valid one is sent once.
pub struct Filter {
    seen: Option<IdSet>,
    /// Whether new IDs join `seen` (false with `--no-dedupe`, where the set
    /// holds only the journal's IDs).
    remember: bool,
}

impl Filter {
    /// A filter that drops duplicates, or one that does not (`--no-dedupe`).
    pub fn new(dedupe: bool) -> Filter {
        Filter::with_expected(dedupe, 0)
    }

    /// The same, sized for about `expected` IDs (see [`read::estimate_records`]).
    pub fn with_expected(dedupe: bool, expected: u64) -> Filter {
        // Capped, so a wrong guess cannot reserve gigabytes.
        let n = expected.min(50_000_000) as usize;
        Filter {
            seen: dedupe.then(|| IdSet::with_capacity(n)),
            remember: dedupe,
        }
    }

    /// A filter whose set already holds the IDs a `--journal` confirmed
    /// (see [`IdSet::preload`]): they are judged [`Verdict::Resumed`] once.
    pub fn resuming(dedupe: bool, preloaded: IdSet) -> Filter {
        Filter {
            seen: Some(preloaded),
            remember: dedupe,
        }
    }

    /// Judges one raw record.
    #[inline]
    pub fn judge<'a>(&mut self, raw: Raw<'a>) -> Verdict<'a> {
        let field = match raw {
            Raw::Field(f) => f,
            Raw::TooLong => return Verdict::Invalid(InvalidId::TooLong),
            Raw::MissingColumn => return Verdict::Invalid(InvalidId::MissingColumn),
            Raw::Empty => return Verdict::Invalid(InvalidId::Empty),
            Raw::RepeatedHeader => return Verdict::Invalid(InvalidId::RepeatedHeader),
            Raw::Total => return Verdict::Invalid(InvalidId::TotalRow),
        };
        let id = match check_id(field) {
            Ok(id) => id,
            Err(why) => return Verdict::Invalid(why),
        };
        if let Some(seen) = &mut self.seen {
            match seen.visit(field, self.remember) {
                dedupe::Seen::New => {}
                dedupe::Seen::Again => return Verdict::Duplicate,
                dedupe::Seen::Resumed => return Verdict::Resumed(id),
            }
        }
        Verdict::New(id)
    }
}

/// The error line for a record that will not be sent: where it is, what it
/// held (escaped and cut short) and why.
pub fn describe_invalid(origin: Origin<'_>, raw: Raw<'_>, why: InvalidId) -> String {
    let shown = match raw {
        Raw::Field(f) => format!(
            " \"{}\"",
            crate::text::printable(&String::from_utf8_lossy(f), 60)
        ),
        _ => String::new(),
    };
    match why {
        InvalidId::RepeatedHeader | InvalidId::TotalRow => {
            format!("{origin}: {}; counted as invalid", why.reason())
        }
        _ => format!("{origin}: invalid customer ID{shown}: {}", why.reason()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_validates_then_dedupes() {
        let mut f = Filter::new(true);
        assert_eq!(f.judge(Raw::Field(b"a")), Verdict::New("a"));
        assert_eq!(f.judge(Raw::Field(b"a")), Verdict::Duplicate);
        assert_eq!(
            f.judge(Raw::Field(b"a b")),
            Verdict::Invalid(InvalidId::BadCharacter)
        );
        assert_eq!(
            f.judge(Raw::Field(b"\xff")),
            Verdict::Invalid(InvalidId::NotUtf8)
        );
        let mut f = Filter::new(false);
        assert_eq!(f.judge(Raw::Field(b"a")), Verdict::New("a"));
        assert_eq!(f.judge(Raw::Field(b"a")), Verdict::New("a"));
    }

    #[test]
    fn journaled_ids_are_resumed_once() {
        for dedupe in [true, false] {
            let mut set = IdSet::new();
            set.preload(b"a");
            let mut f = Filter::resuming(dedupe, set);
            assert_eq!(f.judge(Raw::Field(b"a")), Verdict::Resumed("a"));
            assert_eq!(f.judge(Raw::Field(b"a")), Verdict::Duplicate);
            assert_eq!(f.judge(Raw::Field(b"b")), Verdict::New("b"));
            let again = if dedupe {
                Verdict::Duplicate
            } else {
                Verdict::New("b")
            };
            assert_eq!(f.judge(Raw::Field(b"b")), again, "dedupe {dedupe}");
        }
    }
}
