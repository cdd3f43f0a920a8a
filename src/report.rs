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

/// The streaming CSV writer. Rows are formatted straight into one buffer
/// (a million rows must not cost more than the run that produced them):
/// a field is quoted only when it holds a comma, a quote or a line end, as
/// the CSV rules and the `csv` crate's default do.
pub struct Report<W: Write> {
    out: W,
    buf: Vec<u8>,
    rows: u64,
}

/// Flush to the writer past this many buffered bytes.
const BUFFER: usize = 1 << 16;

impl<W: Write> Report<W> {
    /// Starts a report on `out`, header included.
    pub fn new(out: W) -> std::io::Result<Report<W>> {
        let mut buf = Vec::with_capacity(BUFFER + 4096);
        buf.extend_from_slice(b"customerId,outcome,status,detail,source\n");
        Ok(Report { out, buf, rows: 0 })
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
        let buf = &mut self.buf;
        match std::str::from_utf8(id) {
            Ok(text) => field(buf, text.as_bytes()),
            Err(_) => field(buf, String::from_utf8_lossy(id).as_bytes()),
        }
        buf.push(b',');
        buf.extend_from_slice(outcome.name().as_bytes());
        buf.push(b',');
        if let Some(status) = status {
            number(buf, u64::from(status));
        }
        buf.push(b',');
        field(buf, detail.as_bytes());
        buf.push(b',');
        match source {
            Source::Arg(n) => {
                buf.extend_from_slice(b"arg:");
                number(buf, n);
            }
            Source::Stdin(n) => {
                buf.extend_from_slice(b"stdin:");
                number(buf, n);
            }
            Source::File(name, n) if needs_quotes(name.as_bytes()) => {
                buf.push(b'"');
                escaped(buf, name.as_bytes());
                buf.push(b':');
                number(buf, n);
                buf.push(b'"');
            }
            Source::File(name, n) => {
                buf.extend_from_slice(name.as_bytes());
                buf.push(b':');
                number(buf, n);
            }
        }
        buf.push(b'\n');
        self.rows += 1;
        if self.buf.len() >= BUFFER {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes one row of a valid ID (which never needs quotes) whose other
    /// fields were formatted once for its whole batch: `middle` from
    /// [`middle`], the source from [`SourceField`].
    #[inline]
    pub fn valid_row(
        &mut self,
        id: &str,
        middle: &[u8],
        source: &SourceField,
        line: u64,
    ) -> std::io::Result<()> {
        debug_assert!(!needs_quotes(id.as_bytes()));
        let buf = &mut self.buf;
        buf.extend_from_slice(id.as_bytes());
        buf.extend_from_slice(middle);
        buf.extend_from_slice(&source.prefix);
        number(buf, line);
        buf.extend_from_slice(source.suffix);
        buf.push(b'\n');
        self.rows += 1;
        if self.buf.len() >= BUFFER {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes what is buffered through to the writer and flushes it.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}

/// `,outcome,status,detail,`: what the rows of one settled batch share.
pub fn middle(outcome: Outcome, status: Option<u16>, detail: &str) -> Vec<u8> {
    let mut buf = Vec::with_capacity(32 + detail.len());
    buf.push(b',');
    buf.extend_from_slice(outcome.name().as_bytes());
    buf.push(b',');
    if let Some(status) = status {
        number(&mut buf, u64::from(status));
    }
    buf.push(b',');
    field(&mut buf, detail.as_bytes());
    buf.push(b',');
    buf
}

/// A source column formatted once per source: what goes before and after
/// the line number (a file name that needs quotes is quoted whole).
#[derive(Debug, Clone)]
pub struct SourceField {
    prefix: Vec<u8>,
    suffix: &'static [u8],
}

impl SourceField {
    /// The field for `source` (its line is ignored).
    pub fn new(source: Source<'_>) -> SourceField {
        let (prefix, suffix): (Vec<u8>, &'static [u8]) = match source {
            Source::Arg(_) => (b"arg:".to_vec(), b""),
            Source::Stdin(_) => (b"stdin:".to_vec(), b""),
            Source::File(name, _) if needs_quotes(name.as_bytes()) => {
                let mut p = vec![b'"'];
                escaped(&mut p, name.as_bytes());
                p.push(b':');
                (p, b"\"")
            }
            Source::File(name, _) => {
                let mut p = name.as_bytes().to_vec();
                p.push(b':');
                (p, b"")
            }
        };
        SourceField { prefix, suffix }
    }
}

#[inline]
fn needs_quotes(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
}

#[inline]
fn field(buf: &mut Vec<u8>, bytes: &[u8]) {
    if needs_quotes(bytes) {
        buf.push(b'"');
        escaped(buf, bytes);
        buf.push(b'"');
    } else {
        buf.extend_from_slice(bytes);
    }
}

fn escaped(buf: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        if b == b'"' {
            buf.push(b'"');
        }
        buf.push(b);
    }
}

#[inline]
fn number(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
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
            let rows: [Row; 7] = [
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
                (
                    b"multi\nline",
                    Outcome::Invalid,
                    None,
                    "",
                    Source::Stdin(10_000_000_001),
                ),
            ];
            for (id, o, s, d, src) in rows {
                r.row(id, o, s, d, src).unwrap();
            }
            assert_eq!(r.rows(), 7);
            r.flush().unwrap();
        }
        let text = String::from_utf8(buf).unwrap();
        // What the csv crate reads back is what was written.
        let mut back = csv::Reader::from_reader(text.as_bytes());
        let fields: Vec<Vec<String>> = back
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(
            fields[2],
            [
                "bad id",
                "invalid",
                "",
                "only letters, digits and _ @ ~ - . are allowed",
                "ids, \"new\".csv:3"
            ]
        );
        assert_eq!(fields[3][3], "customer \"cus_2\" is archived");
        // The per-batch path writes the same bytes.
        let mut fast = Vec::new();
        {
            let mut r = Report::new(&mut fast).unwrap();
            let m = middle(Outcome::Failed, Some(422), "customer \"cus_2\" is archived");
            r.valid_row("cus_2", &m, &SourceField::new(Source::File("a.txt", 0)), 2)
                .unwrap();
            let m = middle(Outcome::Confirmed, Some(204), "");
            let quoted = SourceField::new(Source::File("ids, \"new\".csv", 0));
            r.valid_row("cus_9", &m, &quoted, 3).unwrap();
            r.flush().unwrap();
        }
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            "customerId,outcome,status,detail,source\n\
             cus_2,failed,422,\"customer \"\"cus_2\"\" is archived\",a.txt:2\n\
             cus_9,confirmed,204,,\"ids, \"\"new\"\".csv:3\"\n"
        );
        assert_eq!(
            text,
            "customerId,outcome,status,detail,source\n\
             cus_1,confirmed,204,,arg:1\n\
             cus_1,duplicate,,,stdin:7\n\
             bad id,invalid,,\"only letters, digits and _ @ ~ - . are allowed\",\"ids, \"\"new\"\".csv:3\"\n\
             cus_2,failed,422,\"customer \"\"cus_2\"\" is archived\",a.txt:2\n\
             \u{fffd}x,invalid,,not valid UTF-8,arg:2\n\
             cus_3,not_found,200,,arg:3\n\
             \"multi\nline\",invalid,,,stdin:10000000001\n"
        );
    }
}
