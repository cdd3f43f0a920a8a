//! Guessing what a file is from its first bytes: its encoding, whether it is
//! CSV, which character separates its fields, whether its first row is a
//! header. Every guess here is conservative (when in doubt it says so, and
//! the caller asks the user), and pure: it looks at a slice of the file's
//! head, so it is tested on real-world samples (`tests/fixtures/`).

use crate::ids::validate::check_id;

/// The field separators tried, in order of preference on a tie.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Lines of the head looked at.
const SAMPLE_LINES: usize = 20;
/// The header names recognised as holding customer IDs, in order of
/// preference (lower case).
pub const KNOWN_COLUMNS: [&str; 4] = ["customerid", "customer_id", "customer id", "id"];

/// How the bytes of a source are encoded, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (or ASCII), with or without a byte-order mark.
    Utf8,
    /// UTF-16 little-endian; `bom` false when guessed from NUL bytes.
    Utf16Le {
        /// Whether a byte-order mark said so.
        bom: bool,
    },
    /// UTF-16 big-endian; `bom` false when guessed from NUL bytes.
    Utf16Be {
        /// Whether a byte-order mark said so.
        bom: bool,
    },
}

/// The encoding of a source whose first bytes are `head`. Without a
/// byte-order mark, UTF-16 is recognised only when it is plainly ASCII text
/// in UTF-16: every other byte NUL, the others not.
pub fn encoding(head: &[u8]) -> Encoding {
    if head.starts_with(b"\xFF\xFE") {
        return Encoding::Utf16Le { bom: true };
    }
    if head.starts_with(b"\xFE\xFF") {
        return Encoding::Utf16Be { bom: true };
    }
    let sample = &head[..head.len().min(512) & !1];
    if sample.len() >= 4 {
        let nul = |start: usize| sample.iter().skip(start).step_by(2).all(|&b| b == 0);
        let none = |start: usize| sample.iter().skip(start).step_by(2).all(|&b| b != 0);
        if nul(1) && none(0) {
            return Encoding::Utf16Le { bom: false };
        }
        if nul(0) && none(1) {
            return Encoding::Utf16Be { bom: false };
        }
    }
    Encoding::Utf8
}

/// Excel's `sep=;` first line: the delimiter it names and the bytes of the
/// line (its newline included), so that it can be skipped.
pub fn sep_line(head: &[u8]) -> Option<(u8, usize)> {
    let end = memchr::memchr(b'\n', head).map_or(head.len(), |i| i + 1);
    let line = head[..end].trim_ascii();
    let line = line.strip_prefix(b"\"").unwrap_or(line);
    let line = line.strip_suffix(b"\"").unwrap_or(line);
    match line {
        [s, e, p, b'=', d] if [s, e, p].map(|c| c.to_ascii_lowercase()) == [b's', b'e', b'p'] => {
            (*d != b'"' && *d != b'\r').then_some((*d, end))
        }
        _ => None,
    }
}

/// The complete lines at the start of `head` (all of it when it holds no
/// newline), without blank ones, at most [`SAMPLE_LINES`].
fn sample_lines(head: &[u8]) -> Vec<&[u8]> {
    let complete = match memchr::memrchr(b'\n', head) {
        Some(i) => &head[..i],
        None => head,
    };
    complete
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.trim_ascii().is_empty())
        .take(SAMPLE_LINES)
        .collect()
}

/// How often `d` separates fields in `line`, outside double quotes.
fn count_outside_quotes(line: &[u8], d: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if b == d && !quoted {
            n += 1;
        }
    }
    n
}

/// The delimiter that splits the header line, and the lines after it, most
/// consistently: it must occur in the first line, and a line holding another
/// count of it (outside quotes) counts against it. `None` when no candidate
/// occurs in the first line. On a tie `preferred` wins, then
/// [`DELIMITERS`]' order.
pub fn delimiter(head: &[u8], preferred: u8) -> Option<u8> {
    let lines = sample_lines(head);
    let first = lines.first()?;
    let mut best: Option<(u8, usize, usize)> = None; // (d, consistent lines, count)
    let mut order = vec![preferred];
    order.extend(DELIMITERS.iter().filter(|&&d| d != preferred));
    for d in order {
        let n = count_outside_quotes(first, d);
        if n == 0 {
            continue;
        }
        let consistent = lines
            .iter()
            .filter(|l| count_outside_quotes(l, d) == n)
            .count();
        if best.is_none_or(|(_, c, _)| consistent > c) {
            best = Some((d, consistent, n));
        }
    }
    best.map(|(d, _, _)| d)
}

/// Whether a source of unknown format (standard input, a `.txt` file) is
/// CSV, and with which delimiter: its first line must hold a candidate
/// delimiter (none of them can be in a customer ID), and more than half of
/// the sampled lines must split into as many fields as the first (a
/// report's footer lines need not).
pub fn looks_like_csv(head: &[u8]) -> Option<u8> {
    let d = delimiter(head, b',')?;
    let lines = sample_lines(head);
    let n = count_outside_quotes(lines[0], d);
    let consistent = lines
        .iter()
        .filter(|l| count_outside_quotes(l, d) == n)
        .count();
    (consistent * 2 > lines.len()).then_some(d)
}

/// The first rows of `head`, parsed as CSV with `delimiter` (complete lines
/// only), each field trimmed.
pub fn first_rows(head: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    let complete = match memchr::memrchr(b'\n', head) {
        Some(i) => &head[..=i],
        None => head,
    };
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(complete);
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    while rows.len() < SAMPLE_LINES && matches!(csv.read_byte_record(&mut record), Ok(true)) {
        if record.iter().all(|f| f.trim_ascii().is_empty()) {
            continue;
        }
        rows.push(
            record
                .iter()
                .map(|f| String::from_utf8_lossy(f).trim().to_string())
                .collect(),
        );
    }
    rows
}

/// What the first row of a CSV is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstRow {
    /// A header: it names a known ID column, or its ID cell could not be an
    /// ID. Nothing to say.
    Header,
    /// Probably a header: its ID cell could be an ID, but unlike the cells
    /// below it, it holds no digit (`account` above `cus_1`). Said, since
    /// that cell is not sent.
    LikelyHeader(String),
    /// Probably data: its ID cell looks like the cells below it (`cus_1`
    /// above `cus_2`). Said, since it is sent.
    LikelyData(String),
    /// Cannot tell (`user` above `alice`): the contract's default, a
    /// header, holds, and it is said.
    Unclear(String),
}

/// Whether the first of `rows` is a header, judged on the column `column`
/// (0-based). See [`FirstRow`].
pub fn first_row(rows: &[Vec<String>], column: usize) -> FirstRow {
    let Some(first) = rows.first() else {
        return FirstRow::Header;
    };
    if first.iter().any(|c| is_known_column(c)) {
        return FirstRow::Header;
    }
    let Some(cell) = first.get(column) else {
        return FirstRow::Header;
    };
    if check_id(cell.as_bytes()).is_err() {
        return FirstRow::Header;
    }
    let below: Vec<&str> = rows[1..]
        .iter()
        .filter_map(|r| r.get(column))
        .map(String::as_str)
        .filter(|c| !c.is_empty())
        .collect();
    let digits = |s: &str| s.bytes().any(|b| b.is_ascii_digit());
    let mostly_digits = below.iter().filter(|c| digits(c)).count() * 2 > below.len();
    match (digits(cell), below.is_empty(), mostly_digits) {
        (true, true, _) | (true, false, true) => FirstRow::LikelyData(cell.clone()),
        (false, false, true) => FirstRow::LikelyHeader(cell.clone()),
        _ => FirstRow::Unclear(cell.clone()),
    }
}

/// Whether a header cell names a customer-ID column.
pub fn is_known_column(cell: &str) -> bool {
    KNOWN_COLUMNS.iter().any(|k| cell.eq_ignore_ascii_case(k))
}

/// A report's total row label: `Total`, `Totals`, `Grand Total`,
/// `Grand Totals (3 records)`, `Subtotal`, with any case and a trailing `:`.
#[inline]
pub fn is_total_label(cell: &[u8]) -> bool {
    if cell.len() < 5 || cell.len() > 60 || !matches!(cell[0] | 0x20, b't' | b'g' | b's') {
        return false;
    }
    let lower = cell.to_ascii_lowercase();
    let rest = ["grand total", "subtotal", "total"]
        .iter()
        .find_map(|p| lower.strip_prefix(p.as_bytes()));
    match rest {
        None => false,
        Some(rest) => {
            let rest = rest.strip_prefix(b"s").unwrap_or(rest);
            rest.is_empty() || matches!(rest[0], b' ' | b':' | b'(')
        }
    }
}

/// How a delimiter is named in messages.
pub fn describe(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        b' ' => "space".into(),
        d if d.is_ascii_graphic() => format!("'{}'", d as char),
        d => format!("byte 0x{d:02X}"),
    }
}

/// How a delimiter is written on a command line.
pub fn as_flag(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        b';' | b'|' => format!("'{}'", d as char),
        d => (d as char).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// A fixture's head as the reader sees it after decoding: UTF-8, no BOM.
    fn decoded(name: &str) -> Vec<u8> {
        let bytes = fixture(name);
        let (text, _) = match encoding(&bytes) {
            Encoding::Utf8 => return bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes).into(),
            Encoding::Utf16Le { .. } => encoding_rs::UTF_16LE.decode_with_bom_removal(&bytes),
            Encoding::Utf16Be { .. } => encoding_rs::UTF_16BE.decode_with_bom_removal(&bytes),
        };
        text.into_owned().into_bytes()
    }

    #[test]
    fn encodings_of_the_fixtures() {
        for (name, want) in [
            ("excel-european.csv", Encoding::Utf8),
            ("excel-european-sep.csv", Encoding::Utf8),
            ("google-sheets.csv", Encoding::Utf8),
            ("psql-copy.csv", Encoding::Utf8),
            ("psql-copy-tab.txt", Encoding::Utf8),
            ("salesforce-report.csv", Encoding::Utf8),
            ("powershell-out-file.txt", Encoding::Utf16Le { bom: true }),
            ("utf16-be.txt", Encoding::Utf16Be { bom: true }),
            ("excel-unicode-text.txt", Encoding::Utf16Le { bom: true }),
        ] {
            assert_eq!(encoding(&fixture(name)), want, "{name}");
        }
        assert_eq!(
            encoding(b"c\0u\0s\0_\x001\0"),
            Encoding::Utf16Le { bom: false }
        );
        assert_eq!(
            encoding(b"\0c\0u\0s\0_\x001"),
            Encoding::Utf16Be { bom: false }
        );
        assert_eq!(encoding(b"cus_1\ncus_2\n"), Encoding::Utf8);
        assert_eq!(encoding(b"\xff\xfecus"), Encoding::Utf16Le { bom: true });
        assert_eq!(encoding(b"a\0"), Encoding::Utf8, "too short to tell");
    }

    #[test]
    fn delimiters_of_the_fixtures() {
        // (fixture, a .csv's sniffed delimiter, whether a .txt/stdin is CSV)
        for (name, want, csv) in [
            ("excel-european.csv", b';', Some(b';')),
            ("google-sheets.csv", b',', Some(b',')),
            ("psql-copy.csv", b',', Some(b',')),
            ("psql-copy-tab.txt", b'\t', Some(b'\t')),
            ("salesforce-report.csv", b',', Some(b',')),
            ("excel-unicode-text.txt", b'\t', Some(b'\t')),
        ] {
            let head = decoded(name);
            assert_eq!(delimiter(&head, b','), Some(want), "{name}");
            assert_eq!(looks_like_csv(&head), csv, "{name}");
        }
        for name in ["powershell-out-file.txt", "utf16-be.txt", "plain-ids.txt"] {
            let head = decoded(name);
            assert_eq!(delimiter(&head, b','), None, "{name}");
            assert_eq!(looks_like_csv(&head), None, "{name}");
        }
    }

    #[test]
    fn delimiter_sniffing_is_conservative() {
        for (head, preferred, want) in [
            (&b"a,b\n1,2\n"[..], b',', Some(b',')),
            (b"a;b\n1;2\n", b',', Some(b';')),
            (b"a\tb\n1\t2\n", b',', Some(b'\t')),
            (b"a|b\n1|2\n", b',', Some(b'|')),
            // A comma inside quotes is not a separator.
            (
                b"\"Smith, Ann\";cus_1\n\"Lee, Bo\";cus_2\n",
                b',',
                Some(b';'),
            ),
            // Decimal commas in a ';' file: ';' is the consistent one.
            (b"id;amount\ncus_1;1,50\ncus_2;20\n", b',', Some(b';')),
            // A tie goes to the preferred one.
            (b"a,b;c\n", b',', Some(b',')),
            (b"a,b;c\n", b';', Some(b';')),
            (b"cus_1\ncus_2\n", b',', None),
            (b"", b',', None),
        ] {
            assert_eq!(
                delimiter(head, preferred),
                want,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        // One stray comma among plain IDs is not CSV.
        assert_eq!(
            looks_like_csv(b"cus_1,\ncus_2\ncus_3\ncus_4\ncus_5\n"),
            None
        );
        assert_eq!(looks_like_csv(b"cus_1\ncus_2\n"), None);
    }

    #[test]
    fn excel_sep_line() {
        let head = fixture("excel-european-sep.csv");
        let (d, len) = sep_line(&head).unwrap();
        assert_eq!((d, &head[..len]), (b';', &b"sep=;\r\n"[..]));
        assert_eq!(sep_line(b"\"sep=,\"\nid\n"), Some((b',', 8)));
        assert_eq!(sep_line(b"SEP=|"), Some((b'|', 5)));
        assert_eq!(sep_line(b"sep=\nx"), None);
        assert_eq!(sep_line(b"separator\n"), None);
        assert_eq!(sep_line(b"customerId\n"), None);
    }

    #[test]
    fn first_rows_decide_the_header() {
        let rows = |s: &str| first_rows(s.as_bytes(), b',');
        for (input, column, want) in [
            (
                "cus_1\ncus_2\ncus_3\n",
                0,
                FirstRow::LikelyData("cus_1".into()),
            ),
            ("cus_1", 0, FirstRow::LikelyData("cus_1".into())),
            (
                "account\ncus_1\ncus_2\n",
                0,
                FirstRow::LikelyHeader("account".into()),
            ),
            (
                "account,name\ncus_1,Ann\nbad id,Bob\ncus_3,Cy\n",
                0,
                FirstRow::LikelyHeader("account".into()),
            ),
            ("user\nalice\nbob\n", 0, FirstRow::Unclear("user".into())),
            ("name,customerId\nAnn,cus_1\n", 1, FirstRow::Header),
            ("name,ID\nAnn,cus_1\n", 0, FirstRow::Header),
            ("Customer Ref,x\ncus_1,1\n", 0, FirstRow::Header),
            ("a,b\n", 5, FirstRow::Header),
            ("", 0, FirstRow::Header),
        ] {
            assert_eq!(first_row(&rows(input), column), want, "{input:?}");
        }
    }

    #[test]
    fn first_rows_of_the_fixtures() {
        for (name, d, column, want) in [
            ("excel-european.csv", b';', 0, FirstRow::Header),
            ("google-sheets.csv", b',', 0, FirstRow::Header),
            ("salesforce-report.csv", b',', 0, FirstRow::Header),
            (
                "psql-copy.csv",
                b',',
                0,
                FirstRow::LikelyData("cus_0001".into()),
            ),
            (
                "psql-copy-tab.txt",
                b'\t',
                0,
                FirstRow::LikelyData("cus_0001".into()),
            ),
        ] {
            assert_eq!(
                first_row(&first_rows(&decoded(name), d), column),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn total_rows() {
        for yes in [
            "Total",
            "TOTAL",
            "Totals",
            "Grand Total",
            "Grand Totals (3 records)",
            "Subtotal",
            "total:",
        ] {
            assert!(is_total_label(yes.as_bytes()), "{yes}");
        }
        for no in [
            "Totally",
            "cus_total",
            "tot",
            "",
            "Grand",
            "Sum",
            "totalizer",
        ] {
            assert!(!is_total_label(no.as_bytes()), "{no}");
        }
    }
}
