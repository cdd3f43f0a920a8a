//! `--report`: one CSV row per ID read, written as the run goes, so that a
//! data person can join every ID's fate back to the export it came from.
//!
//! Header `customerId,outcome,status,detail,source`; fields are quoted by the
//! CSV rules (a detail with a comma or a quote survives). Rows come in the
//! order IDs settle, not the input's. Memory is constant: rows go straight
//! to a buffered writer.

use std::io::Write;

/// What became of one ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The API answered 204 in this run.
    Confirmed,
    /// The journal of an earlier run recorded it as confirmed.
    Resumed,
    /// A repeat of an ID read before.
    Duplicate,
    /// Not a valid customer ID; not sent.
    Invalid,
    /// Sent, not confirmed.
    Failed,
    /// Never sent.
    Unsent,
    /// verify: carries the tag as expected.
    Matching,
    /// verify: does not.
    Missing,
    /// verify: no such customer.
    NotFound,
    /// verify: not checked.
    Unchecked,
}

impl Outcome {
    /// The word in the `outcome` column.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Confirmed => "confirmed",
            Outcome::Resumed => "resumed",
            Outcome::Duplicate => "duplicate",
            Outcome::Invalid => "invalid",
            Outcome::Failed => "failed",
            Outcome::Unsent => "unsent",
            Outcome::Matching => "matching",
            Outcome::Missing => "missing",
            Outcome::NotFound => "not_found",
            Outcome::Unchecked => "unchecked",
        }
    }
}

/// Where an ID was read, as the `source` column writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// The n-th ID argument: `arg:N`.
    Arg(u64),
    /// A line of standard input: `stdin:N`.
    Stdin(u64),
    /// A line of a file: `file:N`.
    File(&'a str, u64),
}

impl std::fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Arg(n) => write!(f, "arg:{n}"),
            Source::Stdin(n) => write!(f, "stdin:{n}"),
            Source::File(name, n) => write!(f, "{name}:{n}"),
        }
    }
}

/// The streaming CSV writer.
pub struct Report<W: Write> {
    out: csv::Writer<W>,
    rows: u64,
    source: String,
}

impl<W: Write> Report<W> {
    /// Starts a report on `out`, header included.
    pub fn new(out: W) -> std::io::Result<Report<W>> {
        let mut out = csv::WriterBuilder::new()
            .buffer_capacity(1 << 16)
            .from_writer(out);
        out.write_record(["customerId", "outcome", "status", "detail", "source"])?;
        Ok(Report {
            out,
            rows: 0,
            source: String::with_capacity(64),
        })
    }

    /// Writes one row. `id` may be bytes that are not a valid ID (an
    /// invalid row): written as they were read, lossily as UTF-8.
    pub fn row(
        &mut self,
        id: &[u8],
        outcome: Outcome,
        status: Option<u16>,
        detail: &str,
        source: Source<'_>,
    ) -> std::io::Result<()> {
        use std::fmt::Write as _;
        let mut status_buf = [0u8; 5];
        let status = match status {
            Some(s) => {
                let mut w = &mut status_buf[..];
                let _ = write!(w, "{s}");
                let n = 5 - w.len();
                &status_buf[..n]
            }
            None => &[][..],
        };
        self.source.clear();
        let _ = write!(self.source, "{source}");
        let id = String::from_utf8_lossy(id);
        self.out.write_record([
            id.as_bytes(),
            outcome.name().as_bytes(),
            status,
            detail.as_bytes(),
            self.source.as_bytes(),
        ])?;
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes the buffer to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_quoted_and_sourced() {
        let mut buf = Vec::new();
        {
            let mut r = Report::new(&mut buf).unwrap();
            type Row<'a> = (&'a [u8], Outcome, Option<u16>, &'a str, Source<'a>);
            let rows: [Row; 6] = [
                (b"cus_1", Outcome::Confirmed, Some(204), "", Source::Arg(1)),
                (b"cus_1", Outcome::Duplicate, None, "", Source::Stdin(7)),
                (
                    b"bad id",
                    Outcome::Invalid,
                    None,
                    "only letters, digits and _ @ ~ - . are allowed",
                    Source::File("ids, \"new\".csv", 3),
                ),
                (
                    b"cus_2",
                    Outcome::Failed,
                    Some(422),
                    "customer \"cus_2\" is archived",
                    Source::File("a.txt", 2),
                ),
                (
                    b"\xffx",
                    Outcome::Invalid,
                    None,
                    "not valid UTF-8",
                    Source::Arg(2),
                ),
                (b"cus_3", Outcome::NotFound, Some(200), "", Source::Arg(3)),
            ];
            for (id, o, s, d, src) in rows {
                r.row(id, o, s, d, src).unwrap();
            }
            assert_eq!(r.rows(), 6);
            r.flush().unwrap();
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "customerId,outcome,status,detail,source\n\
             cus_1,confirmed,204,,arg:1\n\
             cus_1,duplicate,,,stdin:7\n\
             bad id,invalid,,\"only letters, digits and _ @ ~ - . are allowed\",\"ids, \"\"new\"\".csv:3\"\n\
             cus_2,failed,422,\"customer \"\"cus_2\"\" is archived\",a.txt:2\n\
             \u{fffd}x,invalid,,not valid UTF-8,arg:2\n\
             cus_3,not_found,200,,arg:3\n"
        );
    }
}
