//! Opening ID sources and reading raw records from them.
//!
//! Everything that can be checked before the first request is checked in
//! [`open`] (files exist, are not directories, the CSV column exists), so such
//! mistakes end the program with exit 2 and cost nothing. Reading itself
//! streams with bounded memory: a line is never held beyond [`MAX_LINE`]
//! bytes, whatever the file holds.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
#[cfg(unix)]
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::cli::InputFormat;
use crate::exit::Fatal;
use crate::ids::sniff::{self, Encoding, FirstRow, KNOWN_COLUMNS, describe, is_total_label};
use crate::ids::stream::Pump;
use crate::text::printable;

/// The longest line kept from a plain ID list; a longer one is reported as
/// invalid without being held in memory (a valid ID has 50 bytes at most).
pub const MAX_LINE: usize = 4096;
/// The longest CSV record (a row, quoted newlines included) read before
/// giving up.
pub const MAX_CSV_RECORD: usize = 1 << 20;

const BOM: &[u8] = b"\xEF\xBB\xBF";
const BUFFER: usize = 1 << 16;

/// Where the IDs come from, as the command line said.
#[derive(Debug, Clone)]
pub struct InputSpec {
    /// IDs given as arguments.
    pub args: Vec<String>,
    /// Files, `-` for standard input.
    pub files: Vec<PathBuf>,
    /// How files are read.
    pub format: InputFormat,
    /// `--column`.
    pub column: Option<String>,
    /// False with `--no-header`.
    pub header: bool,
    /// Read standard input as lines when no argument and no file is given.
    pub stdin_when_empty: bool,
    /// `--delimiter`: the CSV field separator, instead of the sniffed one.
    pub delimiter: Option<u8>,
}

/// Something [`open`] guessed or noticed, for standard error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// One line, with its `note:` or `warning:` prefix.
    pub message: String,
    /// The guess decides whether some ID is sent: print it even with
    /// `--quiet`.
    pub decisive: bool,
}

impl Notice {
    fn note(message: String, decisive: bool) -> Notice {
        Notice {
            message: format!("note: {message}"),
            decisive,
        }
    }

    fn warning(message: String, decisive: bool) -> Notice {
        Notice {
            message: format!("warning: {message}"),
            decisive,
        }
    }
}

/// Where one record came from, for messages.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// The n-th ID argument (1-based).
    Arg(usize),
    /// A line of a file or of standard input.
    Line {
        /// The file's name as given, or `<stdin>`.
        source: &'a str,
        /// 1-based.
        line: u64,
    },
}

impl std::fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Arg(n) => write!(f, "argument {n}"),
            Origin::Line { source, line } => write!(f, "{source}:{line}"),
        }
    }
}

/// One raw record: the trimmed bytes of an ID field, or why there is none.
#[derive(Debug, Clone, Copy)]
pub enum Raw<'a> {
    /// The trimmed field; never empty.
    Field(&'a [u8]),
    /// A line longer than [`MAX_LINE`].
    TooLong,
    /// A CSV row that lacks the ID column.
    MissingColumn,
    /// A CSV row whose ID column is empty while others are not.
    Empty,
    /// A CSV row equal to the header row (files joined together).
    RepeatedHeader,
    /// A report's total row (`Total`, `Grand Totals (3 records)`).
    Total,
}

/// An error while reading, after the run has started.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct ReadError {
    /// The file.
    pub source_name: String,
    /// What went wrong.
    pub message: String,
}

/// A source ready to read.
pub struct Opened {
    name: String,
    kind: Kind,
    estimate: u64,
}

enum Kind {
    Args(Vec<String>),
    Lines(Box<dyn BufRead + Send>),
    Csv {
        reader: Box<csv::Reader<LineLimit<Box<dyn BufRead + Send>>>>,
        column: usize,
        /// The header row, to recognise it repeated.
        header: Option<HeaderRow>,
    },
}

impl Opened {
    /// The name used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// About how many records the sources hold: each file's size divided by the
/// mean line length of its first buffer; 0 for pipes. Used only to size the
/// de-duplication table.
pub fn estimate_records(sources: &[Opened]) -> u64 {
    sources.iter().map(|s| s.estimate).sum()
}

fn estimate(size: Option<u64>, reader: &mut dyn BufRead) -> u64 {
    let (Some(size), Ok(head)) = (size, reader.fill_buf()) else {
        return 0;
    };
    let lines = memchr::memchr_iter(b'\n', head).count().max(1) as u128;
    let estimate = u128::from(size) * lines / (head.len() as u128).max(1);
    u64::try_from(estimate).unwrap_or(u64::MAX)
}

/// Opens every source, sniffs its encoding and format, and resolves CSV
/// columns, or says what is wrong. Guesses and warnings go to `notice`.
pub fn open(spec: &InputSpec, notice: &mut dyn FnMut(Notice)) -> Result<Vec<Opened>, Fatal> {
    let mut opened = Vec::new();
    if !spec.args.is_empty() {
        opened.push(Opened {
            name: "arguments".into(),
            kind: Kind::Args(spec.args.clone()),
            estimate: spec.args.len() as u64,
        });
    }
    let mut stdin_files = spec.files.clone();
    if spec.args.is_empty() && spec.files.is_empty() && spec.stdin_when_empty {
        stdin_files.push(PathBuf::from("-"));
    }
    if let Some(d) = spec.delimiter
        && spec.format == InputFormat::Lines
    {
        return Err(Fatal::usage(format!(
            "--delimiter {} applies to CSV/TSV input, but --format lines reads one ID per line",
            describe(d)
        )));
    }
    let mut any_csv = false;
    for path in &stdin_files {
        let source = open_source(path, spec, notice)?;
        any_csv |= matches!(source.kind, Kind::Csv { .. });
        opened.push(source);
    }
    if !any_csv && (spec.column.is_some() || !spec.header) && !stdin_files.is_empty() {
        let flag = if spec.column.is_some() {
            "--column"
        } else {
            "--no-header"
        };
        return Err(Fatal::usage(format!(
            "{flag} applies to CSV/TSV input, but {} is read as one ID per line (use --format csv or tsv)",
            opened.last().map_or("the input", |o| o.name.as_str())
        )));
    }
    Ok(opened)
}

/// Opens one `--ids-file` (or standard input): decodes it, and sniffs
/// whether it is CSV, its delimiter and its header row.
fn open_source(
    path: &Path,
    spec: &InputSpec,
    notice: &mut dyn FnMut(Notice),
) -> Result<Opened, Fatal> {
    let is_stdin = path.as_os_str() == "-";
    let name = if is_stdin {
        "<stdin>".to_string()
    } else {
        printable(&path.to_string_lossy(), 200)
    };
    let (reader, size) = if is_stdin {
        open_stdin(&name)?
    } else {
        open_file(path, &name)?
    };
    let mut reader = decode(reader, &name, notice).map_err(|e| read_fatal(&name, &e))?;
    let estimate = estimate(size, &mut reader);
    let head = reader.fill_buf().map_err(|e| read_fatal(&name, &e))?;
    let sep = sniff::sep_line(head);
    let declared = match spec.format {
        InputFormat::Lines => None,
        InputFormat::Csv => Some(b','),
        InputFormat::Tsv => Some(b'\t'),
        InputFormat::Auto => by_extension(path)
            .or_else(|| (spec.delimiter.is_some() || sep.is_some()).then_some(b',')),
    };
    let delimiter = match declared {
        Some(default) => Some(choose_delimiter(spec, head, sep, default, &name, notice)),
        None if spec.format == InputFormat::Auto => sniff::looks_like_csv(head).inspect(|&d| {
            notice(Notice::note(
                format!(
                    "{name}: read as CSV with {} between fields (sniffed from its first lines; --format lines reads one ID per line)",
                    describe(d)
                ),
                true,
            ));
        }),
        None => None,
    };
    let kind = match delimiter {
        None => Kind::Lines(reader),
        Some(delimiter) => csv_kind(reader, delimiter, sep, spec, &name, notice)?,
    };
    Ok(Opened {
        name,
        kind,
        estimate,
    })
}

/// A CSV source past its `sep=` line, with its header row and ID column
/// settled.
fn csv_kind(
    mut reader: Box<dyn BufRead + Send>,
    delimiter: u8,
    sep: Option<(u8, usize)>,
    spec: &InputSpec,
    name: &str,
    notice: &mut dyn FnMut(Notice),
) -> Result<Kind, Fatal> {
    let skipped = match sep {
        Some((_, len)) => {
            reader.consume(len);
            1
        }
        None => 0,
    };
    let head = reader.fill_buf().map_err(|e| read_fatal(name, &e))?;
    let rows = sniff::first_rows(head, delimiter);
    let header = has_header(spec, &rows, name, notice)?;
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(header)
        .flexible(true)
        .from_reader(LineLimit::starting_at(reader, skipped));
    let (column, header) = resolve_column(&mut csv, spec, header, name, notice)?;
    Ok(Kind::Csv {
        reader: Box::new(csv),
        column,
        header,
    })
}

/// The delimiter of a CSV/TSV: `--delimiter`, else Excel's `sep=` line,
/// else the one that splits the header line (said when it is not the
/// format's `default`).
fn choose_delimiter(
    spec: &InputSpec,
    head: &[u8],
    sep: Option<(u8, usize)>,
    default: u8,
    name: &str,
    notice: &mut dyn FnMut(Notice),
) -> u8 {
    if let Some(d) = spec.delimiter {
        return d;
    }
    if let Some((d, _)) = sep {
        return d;
    }
    match sniff::delimiter(head, default) {
        Some(d) if d != default => {
            notice(Notice::note(
                format!(
                    "{name}: fields are separated by {}, not {} (sniffed from the header line; --delimiter to choose)",
                    describe(d),
                    describe(default)
                ),
                true,
            ));
            d
        }
        _ => default,
    }
}

/// Whether a CSV's first row is its header: `--no-header` says not, a name
/// given to `--column` says so, else [`sniff::first_row`] decides, and says
/// so when its guess decides whether that row's ID is sent.
fn has_header(
    spec: &InputSpec,
    rows: &[Vec<String>],
    name: &str,
    notice: &mut dyn FnMut(Notice),
) -> Result<bool, Fatal> {
    let column = spec.column.as_deref().map(str::trim);
    let index = match column {
        None => 0,
        Some(c) => match c.parse::<usize>() {
            Ok(n) if n >= 1 && c.bytes().all(|b| b.is_ascii_digit()) => n - 1,
            // A name: the header it names is looked up.
            _ => return Ok(spec.header),
        },
    };
    if !spec.header {
        return Ok(false);
    }
    Ok(match sniff::first_row(rows, index) {
        FirstRow::Header => true,
        FirstRow::LikelyHeader(cell) => {
            // Without --column the warning about the column says it.
            if spec.column.is_some() {
                notice(Notice::warning(
                    format!(
                        "{name}: taking the first row for a header, so \"{}\" is not sent (--no-header if it is a customer ID)",
                        printable(&cell, 60)
                    ),
                    true,
                ));
            }
            true
        }
        FirstRow::LikelyData(cell) => {
            notice(Notice::note(
                format!(
                    "{name}: no header row: the first row (\"{}\") looks like a customer ID, so it is sent (--column NAME if it is a header)",
                    printable(&cell, 60)
                ),
                true,
            ));
            false
        }
        FirstRow::Unclear(cell) => {
            // The contract's default is a header row; said even when quiet,
            // since it decides whether that cell is sent (without --column
            // the warning about the column says it).
            if spec.column.is_some() {
                notice(Notice::warning(
                    format!(
                        "{name}: taking the first row for a header, so \"{}\" is not sent (--no-header if it is a customer ID)",
                        printable(&cell, 60)
                    ),
                    true,
                ));
            }
            true
        }
    })
}

fn by_extension(path: &Path) -> Option<u8> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(b','),
        "tsv" | "tab" => Some(b'\t'),
        _ => None,
    }
}

type Source = (Box<dyn BufRead + Send>, Option<u64>);
/// A CSV header row's cells, trimmed.
type HeaderRow = Vec<Vec<u8>>;

/// A regular file is read as it is; anything else (a pipe, a FIFO, a
/// terminal) through a [`Pump`], so that a pause in it can flush a partial
/// batch.
fn buffered(file: File, meta: &std::fs::Metadata, name: &str) -> Result<Source, Fatal> {
    if meta.is_file() {
        return Ok((
            Box::new(BufReader::with_capacity(BUFFER, file)),
            Some(meta.len()),
        ));
    }
    let pump = Pump::spawn(file).map_err(|e| read_fatal(name, &e))?;
    Ok((Box::new(BufReader::with_capacity(BUFFER, pump)), None))
}

fn open_file(path: &Path, name: &str) -> Result<Source, Fatal> {
    let file = File::open(path).map_err(|e| read_fatal(name, &e))?;
    match file.metadata() {
        Ok(m) if m.is_dir() => Err(Fatal::usage(format!(
            "cannot read {name}: it is a directory"
        ))),
        Ok(m) => buffered(file, &m, name),
        Err(e) => Err(read_fatal(name, &e)),
    }
}

fn open_stdin(name: &str) -> Result<Source, Fatal> {
    #[cfg(unix)]
    if let Ok(fd) = io::stdin().as_fd().try_clone_to_owned() {
        let file = File::from(fd);
        if let Ok(m) = file.metadata() {
            return buffered(file, &m, name);
        }
    }
    let pump = Pump::spawn(io::stdin()).map_err(|e| read_fatal(name, &e))?;
    Ok((Box::new(BufReader::with_capacity(BUFFER, pump)), None))
}

/// Strips a UTF-8 byte-order mark, or decodes UTF-16 (with a byte-order
/// mark, or plainly ASCII text in UTF-16 without one, which is said) into
/// UTF-8, so that everything after reads UTF-8.
fn decode(
    mut reader: Box<dyn BufRead + Send>,
    name: &str,
    notice: &mut dyn FnMut(Notice),
) -> io::Result<Box<dyn BufRead + Send>> {
    // fill_buf returns what one read gave; a BOM split across reads is not a
    // real-world case for files or pipes of text.
    let head = reader.fill_buf()?;
    let encoding = match sniff::encoding(head) {
        Encoding::Utf8 => {
            if head.starts_with(BOM) {
                reader.consume(BOM.len());
            }
            return Ok(reader);
        }
        Encoding::Utf16Le { bom } => (encoding_rs::UTF_16LE, bom),
        Encoding::Utf16Be { bom } => (encoding_rs::UTF_16BE, bom),
    };
    if !encoding.1 {
        notice(Notice::note(
            format!(
                "{name}: read as {} (no byte-order mark, but every other byte is NUL)",
                encoding.0.name()
            ),
            true,
        ));
    }
    let decoder = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding.0))
        .bom_override(true)
        .build(reader);
    Ok(Box::new(BufReader::with_capacity(BUFFER, decoder)))
}

fn read_fatal(name: &str, e: &io::Error) -> Fatal {
    Fatal::usage(format!("cannot read {name}: {}", io_message(e)))
}

/// An I/O error's message without the "(os error N)" noise.
pub fn io_message(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn resolve_column(
    csv: &mut csv::Reader<LineLimit<Box<dyn BufRead + Send>>>,
    spec: &InputSpec,
    header: bool,
    name: &str,
    notice: &mut dyn FnMut(Notice),
) -> Result<(usize, Option<HeaderRow>), Fatal> {
    let index = match spec.column.as_deref().map(str::trim) {
        Some(c) if !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) => {
            match c.parse::<usize>() {
                Ok(n) if n >= 1 => Some(n - 1),
                Err(_) => {
                    return Err(Fatal::usage(format!(
                        "--column {}: no file has that many columns",
                        printable(c, 30)
                    )));
                }
                _ => {
                    return Err(Fatal::usage(format!(
                        "--column {c}: columns are numbered from 1"
                    )));
                }
            }
        }
        _ => None,
    };
    if !header {
        return match (&spec.column, index) {
            (Some(c), None) => Err(Fatal::usage(format!(
                "--column '{}' names a header, but --no-header says {name} has none (give a number)",
                printable(c, 60)
            ))),
            (_, i) => Ok((i.unwrap_or(0), None)),
        };
    }
    let raw: Vec<Vec<u8>> = csv
        .byte_headers()
        .map_err(|e| csv_fatal(name, e))?
        .iter()
        .map(|h| trim(h).to_vec())
        .collect();
    let headers: Vec<String> = raw
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let chosen = pick_column(&headers, index, spec, name, notice)?;
    Ok((chosen, Some(raw).filter(|r| !r.is_empty())))
}

fn pick_column(
    headers: &[String],
    index: Option<usize>,
    spec: &InputSpec,
    name: &str,
    notice: &mut dyn FnMut(Notice),
) -> Result<usize, Fatal> {
    let listing = || {
        headers
            .iter()
            .map(|h| printable(h, 40))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if headers.is_empty() {
        // An empty file: nothing to read, and nothing to complain about here.
        return Ok(index.unwrap_or(0));
    }
    if let Some(i) = index {
        if i >= headers.len() {
            return Err(Fatal::usage(format!(
                "--column {}: {name} has {} column{} ({})",
                i + 1,
                headers.len(),
                if headers.len() == 1 { "" } else { "s" },
                listing()
            )));
        }
        return Ok(i);
    }
    if let Some(wanted) = &spec.column {
        let wanted = wanted.trim();
        return headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                Fatal::usage(format!(
                    "--column '{}': {name} has no such column (columns: {})",
                    printable(wanted, 60),
                    listing()
                ))
            });
    }
    Ok(default_column(headers, name, notice))
}

/// The column without `--column`: a known ID column's name, else the first
/// (both said when it matters).
fn default_column(headers: &[String], name: &str, notice: &mut dyn FnMut(Notice)) -> usize {
    // By the names' order, not the columns': in an export with both `id`
    // and `customerId`, `id` is the row's own ID (an invoice's, an order's).
    let known: Vec<usize> = (0..headers.len())
        .filter(|&i| {
            KNOWN_COLUMNS
                .iter()
                .any(|k| headers[i].eq_ignore_ascii_case(k))
        })
        .collect();
    if let Some(&chosen) = KNOWN_COLUMNS
        .iter()
        .find_map(|k| known.iter().find(|&&i| headers[i].eq_ignore_ascii_case(k)))
    {
        if known.len() > 1 {
            notice(Notice::warning(
                format!(
                    "{name}: several ID columns ({}); using '{}' (see --column)",
                    known
                        .iter()
                        .map(|&i| printable(&headers[i], 40))
                        .collect::<Vec<_>>()
                        .join(", "),
                    printable(&headers[chosen], 40)
                ),
                false,
            ));
        }
        return chosen;
    }
    // When the header cell could be an ID, taking that row for a header
    // decides that it is not sent: said even with --quiet.
    let could_be_id = crate::ids::check_id(headers[0].as_bytes()).is_ok();
    notice(Notice::warning(
        format!(
            "{name}: no customerId/customer_id/id column in the header row; using the first column '{}'{} (see --column, --no-header)",
            printable(&headers[0], 40),
            if could_be_id {
                ", and that row is not sent"
            } else {
                ""
            }
        ),
        could_be_id,
    ));
    0
}

fn csv_fatal(name: &str, e: csv::Error) -> Fatal {
    Fatal::usage(format!("cannot read {name}: {}", csv_message(&e)))
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io_message(io),
        _ => e.to_string(),
    }
}

/// Reads every source in order, calling `each` with each record. `each` may
/// stop the reading early with [`ControlFlow::Break`].
pub fn read_all(
    sources: Vec<Opened>,
    each: &mut dyn FnMut(Origin<'_>, Raw<'_>) -> ControlFlow<()>,
) -> Result<(), ReadError> {
    for source in sources {
        let name = source.name;
        let flow = match source.kind {
            Kind::Args(args) => read_args(&args, each),
            Kind::Lines(mut reader) => {
                read_lines(&name, &mut reader, each).map_err(|e| ReadError {
                    source_name: name.clone(),
                    message: io_message(&e),
                })?
            }
            Kind::Csv {
                mut reader,
                column,
                header,
            } => read_csv(&name, &mut reader, column, header.as_deref(), each)?,
        };
        if flow.is_break() {
            break;
        }
    }
    Ok(())
}

fn read_args(
    args: &[String],
    each: &mut dyn FnMut(Origin<'_>, Raw<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    for (i, arg) in args.iter().enumerate() {
        let field = trim(arg.as_bytes());
        if !field.is_empty() {
            each(Origin::Arg(i + 1), Raw::Field(field))?;
        }
    }
    ControlFlow::Continue(())
}

fn read_lines(
    name: &str,
    reader: &mut dyn BufRead,
    each: &mut dyn FnMut(Origin<'_>, Raw<'_>) -> ControlFlow<()>,
) -> io::Result<ControlFlow<()>> {
    let mut line_no: u64 = 0;
    let mut partial: Vec<u8> = Vec::new();
    let mut too_long = false;
    loop {
        let avail = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            if !partial.is_empty() || too_long {
                line_no += 1;
                let flow = emit_line(name, line_no, &partial, too_long, each);
                if flow.is_break() {
                    return Ok(flow);
                }
            }
            return Ok(ControlFlow::Continue(()));
        }
        let mut consumed = 0;
        // Whole lines inside the buffer are handled without copying.
        while let Some(i) = memchr::memchr(b'\n', &avail[consumed..]) {
            let line = &avail[consumed..consumed + i];
            consumed += i + 1;
            line_no += 1;
            let flow = if partial.is_empty() && !too_long {
                emit_line(name, line_no, line, false, each)
            } else {
                let long = too_long || partial.len() + line.len() > MAX_LINE;
                if !long {
                    partial.extend_from_slice(line);
                }
                let flow = emit_line(name, line_no, &partial, long, each);
                partial.clear();
                too_long = false;
                flow
            };
            if flow.is_break() {
                return Ok(flow);
            }
        }
        let rest = &avail[consumed..];
        if !too_long {
            if partial.len() + rest.len() > MAX_LINE {
                too_long = true;
                partial = Vec::new();
            } else {
                partial.extend_from_slice(rest);
            }
        }
        let n = avail.len();
        reader.consume(n);
    }
}

fn emit_line(
    name: &str,
    line: u64,
    bytes: &[u8],
    too_long: bool,
    each: &mut dyn FnMut(Origin<'_>, Raw<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let origin = Origin::Line { source: name, line };
    if too_long {
        return each(origin, Raw::TooLong);
    }
    let field = trim(bytes);
    if field.is_empty() {
        return ControlFlow::Continue(());
    }
    each(origin, Raw::Field(field))
}

/// What one CSV row holds in the ID column; `None` for a blank row.
#[inline]
fn classify_row<'r>(
    record: &'r csv::ByteRecord,
    column: usize,
    header_id: Option<&[u8]>,
    header: Option<&[Vec<u8>]>,
) -> Option<Raw<'r>> {
    let blank = || record.iter().all(|f| f.trim_ascii().is_empty());
    // A total row's label is in one of its first cells.
    let total = || record.iter().take(3).any(|f| is_total_label(trim(f)));
    Some(match record.get(column) {
        Some(field) => {
            let field = trim(field);
            if field.is_empty() {
                if blank() {
                    return None;
                }
                if total() { Raw::Total } else { Raw::Empty }
            } else if header_id == Some(field)
                && header.is_some_and(|h| {
                    h.len() == record.len() && h.iter().zip(record).all(|(h, f)| h == trim(f))
                })
            {
                Raw::RepeatedHeader
            } else if is_total_label(field) {
                Raw::Total
            } else {
                Raw::Field(field)
            }
        }
        None if blank() => return None,
        None if total() => Raw::Total,
        None => Raw::MissingColumn,
    })
}

fn read_csv(
    name: &str,
    reader: &mut csv::Reader<LineLimit<Box<dyn BufRead + Send>>>,
    column: usize,
    header: Option<&[Vec<u8>]>,
    each: &mut dyn FnMut(Origin<'_>, Raw<'_>) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, ReadError> {
    // The header's ID cell: a row whose ID cell equals it may be the header
    // again, which is then checked cell by cell.
    let header_id = header.and_then(|h| h.get(column)).map(Vec::as_slice);
    let mut record = csv::ByteRecord::new();
    // The header row, if any, was read when the column was resolved.
    let start = reader.position().byte();
    reader.get_mut().end_record(start);
    let fail = |line: u64, message: String| ReadError {
        source_name: name.to_string(),
        message: format!("line {line}: {message}"),
    };
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(ControlFlow::Continue(())),
            Ok(true) => {}
            Err(e) => {
                return Err(fail(reader.get_mut().record_line(), csv_message(&e)));
            }
        }
        // The parser's position after the record is exact; its line count
        // is not. The record's first line is the line of its last byte,
        // less the newlines inside its quoted fields.
        let end = reader.position().byte();
        let first_line = reader.get_mut().record_line();
        let (last_line, quotes) = reader.get_mut().end_record(end);
        // A one-line record (the common case) holds no newline to count.
        let inside: u64 = if last_line > first_line {
            record
                .iter()
                .map(|f| memchr::memchr_iter(b'\n', f).count() as u64)
                .sum()
        } else {
            0
        };
        let line = last_line.saturating_sub(inside).max(1);
        if inside > 0 && !quotes.is_multiple_of(2) {
            // The parser is lenient: an unclosed quote silently swallows
            // every row after it. Say so rather than drop them.
            return Err(fail(
                first_line,
                "a quoted field is never closed, so the rows after it cannot be read".into(),
            ));
        }
        let Some(raw) = classify_row(&record, column, header_id, header) else {
            continue;
        };
        let flow = each(Origin::Line { source: name, line }, raw);
        if flow.is_break() {
            return Ok(flow);
        }
    }
}

/// Trims ASCII whitespace; and Unicode whitespace (a no-break space pasted
/// from a spreadsheet) when the field is UTF-8 and not ASCII.
pub fn trim(bytes: &[u8]) -> &[u8] {
    let t = bytes.trim_ascii();
    if t.is_ascii() {
        return t;
    }
    match std::str::from_utf8(t) {
        Ok(s) => s.trim().as_bytes(),
        Err(_) => t,
    }
}

/// Fails a read once one CSV record grows past [`MAX_CSV_RECORD`], so that a
/// file with no newline, or a quote that is never closed, cannot make the
/// parser buffer gigabytes. It also notes where the newlines and quotes are:
/// the parser's own line count skips blank lines and miscounts CRLF, and an
/// odd number of quotes in a record is a quote that swallowed what follows.
pub struct LineLimit<R> {
    inner: R,
    /// Bytes passed on so far.
    offset: u64,
    /// Where the record being parsed began.
    record_start: u64,
    /// Offsets of the newlines and quotes read ahead of the parser.
    newlines: VecDeque<u64>,
    quotes: VecDeque<u64>,
    /// Newlines before the front of `newlines`.
    lines_before: u64,
}

impl<R> LineLimit<R> {
    #[cfg(test)]
    fn new(inner: R) -> Self {
        LineLimit::starting_at(inner, 0)
    }

    /// A limit on a reader whose first `skipped` lines were consumed
    /// already (Excel's `sep=` line), so that line numbers stay physical.
    fn starting_at(inner: R, skipped: u64) -> Self {
        LineLimit {
            inner,
            offset: 0,
            record_start: 0,
            newlines: VecDeque::new(),
            quotes: VecDeque::new(),
            lines_before: skipped,
        }
    }

    /// The 1-based physical line holding byte `at`; `at` must not decrease
    /// from one call to the next. A newline belongs to the line it ends.
    fn line_at(&mut self, at: u64) -> u64 {
        while self.newlines.front().is_some_and(|&nl| nl < at) {
            self.newlines.pop_front();
            self.lines_before += 1;
        }
        self.lines_before + 1
    }

    /// The line where the record being parsed begins (or the blank lines
    /// before it).
    fn record_line(&mut self) -> u64 {
        self.line_at(self.record_start + 1)
    }

    /// Closes the record that ended at byte `end`: returns the line of its
    /// last byte and how many quote characters it held.
    fn end_record(&mut self, end: u64) -> (u64, usize) {
        let line = self.line_at(end.saturating_sub(1));
        let mut quotes = 0;
        while self.quotes.front().is_some_and(|&q| q < end) {
            self.quotes.pop_front();
            quotes += 1;
        }
        self.record_start = end;
        (line, quotes)
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.offset - self.record_start > MAX_CSV_RECORD as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a row is longer than {} MiB (a quote that is never closed?)",
                    MAX_CSV_RECORD >> 20
                ),
            ));
        }
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        let base = self.offset;
        self.newlines
            .extend(memchr::memchr_iter(b'\n', chunk).map(|i| base + i as u64));
        self.quotes
            .extend(memchr::memchr_iter(b'"', chunk).map(|i| base + i as u64));
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut reader: &[u8] = input;
        let mut reader = BufReader::with_capacity(8, &mut reader);
        let _ = read_lines("t", &mut reader, &mut |origin, raw| {
            out.push(match raw {
                Raw::Field(f) => format!("{origin}={}", String::from_utf8_lossy(f)),
                Raw::TooLong => format!("{origin}=LONG"),
                _ => unreachable!(),
            });
            ControlFlow::Continue(())
        })
        .unwrap();
        out
    }

    #[test]
    fn lines_are_trimmed_and_numbered_across_buffer_refills() {
        assert_eq!(
            lines(b"  abc \r\n\r\n\nlonger-than-eight\nlast"),
            ["t:1=abc", "t:4=longer-than-eight", "t:5=last"]
        );
    }

    #[test]
    fn an_overlong_line_is_reported_not_kept() {
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.extend_from_slice(b"\nok\n");
        assert_eq!(lines(&input), ["t:1=LONG", "t:2=ok"]);
        let input = vec![b'y'; MAX_LINE * 3];
        assert_eq!(lines(&input), ["t:1=LONG"]);
    }

    #[test]
    fn unicode_whitespace_is_trimmed() {
        assert_eq!(trim("\u{a0}abc\u{a0}".as_bytes()), b"abc");
        assert_eq!(trim(b"\xff "), b"\xff");
    }

    #[test]
    fn line_limit_fails_long_records_only() {
        let data = vec![b'a'; MAX_CSV_RECORD + 10_000];
        let mut r = LineLimit::new(&data[..]);
        assert!(io::copy(&mut r, &mut io::sink()).is_err());
        let mut ok = Vec::new();
        for _ in 0..3 {
            ok.extend(std::iter::repeat_n(b'a', MAX_CSV_RECORD / 2));
            ok.push(b'\n');
        }
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(LineLimit::new(&ok[..]));
        let mut record = csv::ByteRecord::new();
        while csv.read_byte_record(&mut record).unwrap() {
            let end = csv.position().byte();
            csv.get_mut().end_record(end);
        }
    }
}
