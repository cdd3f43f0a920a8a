//! The files people actually have (issue 9): CSV on standard input or in a
//! `.txt`, `;` separators and Excel's `sep=` line, UTF-16, a header that is
//! data, report footers and joined exports, tags pasted with spaces, a slow
//! stream, and input read the wrong way. Each test is one row of the
//! issue's table: the exact IDs the server got, the exit code, and the
//! guess said on standard error (whole).

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;

use crate::support::*;

/// Every ID the server received, request by request in arrival order.
fn sent(server: &MockServer) -> Vec<String> {
    server.requests().into_iter().flat_map(|r| r.ids).collect()
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `tagctl <args>` against `server`, run in `tests/fixtures` so that the
/// fixtures are named in messages as given.
fn on_fixtures(server: &MockServer, args: &[&str]) -> Command {
    let mut cmd = against(server, args);
    cmd.current_dir(fixtures());
    cmd
}

/// `tagctl <args>` against `server`, run inside `dir`.
fn in_dir(dir: &Dir, server: &MockServer, args: &[&str]) -> Command {
    let mut cmd = against(server, args);
    cmd.current_dir(dir.root());
    cmd
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

// ---- a header row that is data ----

#[test]
fn a_single_column_csv_without_header_is_read_whole_and_said_even_when_quiet() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file("ids.csv", "cus_1\ncus_2\ncus_3\n");
    let run = run(&mut in_dir(
        &dir,
        &server,
        &["tag", "VIP", "-f", "ids.csv", "--quiet", "--output", "json"],
    ));
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2", "cus_3"]);
    assert_eq!(count(&balanced(&run), "confirmed"), 3);
    assert_eq!(
        run.stderr,
        "note: ids.csv: no header row: the first row (\"cus_1\") looks like a customer ID, so it is sent (--column NAME if it is a header)\n"
    );
}

#[test]
fn a_first_row_that_may_be_a_header_or_an_id_is_taken_for_the_header_and_said_even_when_quiet() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file("users.csv", "user\nalice\nbob\n");
    let run = run(&mut in_dir(
        &dir,
        &server,
        &[
            "tag",
            "VIP",
            "-f",
            "users.csv",
            "--quiet",
            "--output",
            "json",
        ],
    ));
    run.expect_code(0);
    assert_eq!(sent(&server), ["alice", "bob"]);
    assert_eq!(
        run.stderr,
        "warning: users.csv: no customerId/customer_id/id column in the header row; using the first column 'user', and that row is not sent (see --column, --no-header)\n"
    );
    // Either answer then reads it without a word.
    let server = default_mock();
    run_in(
        &dir,
        &server,
        &["tag", "VIP", "-f", "users.csv", "--no-header"],
    )
    .expect_code(0);
    assert_eq!(sent(&server), ["user", "alice", "bob"]);
    let server = default_mock();
    run_in(
        &dir,
        &server,
        &["tag", "VIP", "-f", "users.csv", "--column", "user"],
    )
    .expect_code(0);
    assert_eq!(sent(&server), ["alice", "bob"]);
}

fn run_in(dir: &Dir, server: &MockServer, args: &[&str]) -> Run {
    run(&mut in_dir(dir, server, args))
}

#[test]
fn a_header_that_could_be_an_id_is_said_even_when_quiet() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file("ids.csv", "account\ncus_1\ncus_2\n");
    let run = run_in(&dir, &server, &["tag", "VIP", "-f", "ids.csv", "--quiet"]);
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
    assert_eq!(
        run.stderr,
        "warning: ids.csv: no customerId/customer_id/id column in the header row; using the first column 'account', and that row is not sent (see --column, --no-header)\n"
    );
}

#[test]
fn psql_copy_output_without_header_is_read_from_its_first_row() {
    let server = default_mock();
    let run = run(&mut on_fixtures(
        &server,
        &["tag", "VIP", "-f", "psql-copy.csv", "--output", "json"],
    ));
    run.expect_code(0);
    assert_eq!(
        sent(&server),
        ["cus_0001", "cus_0002", "cus_0003", "cus_0004"]
    );
    assert_eq!(
        run.stderr,
        "note: psql-copy.csv: no header row: the first row (\"cus_0001\") looks like a customer ID, so it is sent (--column NAME if it is a header)\n"
    );
}

// ---- CSV where lines were expected ----

#[test]
fn a_csv_piped_on_stdin_is_read_as_csv_and_said_even_when_quiet() {
    let server = default_mock();
    let mut csv = String::from("email,customerId,name\n");
    for i in 0..2500 {
        csv.push_str(&format!("u{i}@example.com,cus_{i:05},\"Customer, {i}\"\n"));
    }
    let run =
        run(against(&server, &["tag", "VIP", "--quiet", "--output", "json"]).write_stdin(csv));
    run.expect_code(0);
    // Three batches in flight at once: arrival order is not input order.
    assert_eq!(accepted_sorted(&server), ids(2500));
    assert_eq!(count(&balanced(&run), "invalid"), 0);
    assert_eq!(
        run.stderr,
        "note: <stdin>: read as CSV with ',' between fields (sniffed from its first lines; --format lines reads one ID per line)\n"
    );
}

#[test]
fn a_csv_named_txt_is_read_as_csv() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file("export.txt", "name;customer_id\nAnn;cus_1\nBob;cus_2\n");
    let run = run_in(&dir, &server, &["tag", "VIP", "-f", "export.txt"]);
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
    assert_eq!(
        run.stderr,
        "note: export.txt: read as CSV with ';' between fields (sniffed from its first lines; --format lines reads one ID per line)\n"
    );
}

#[test]
fn a_csv_read_as_lines_stops_at_once_with_a_hint_naming_format_csv() {
    let server = default_mock();
    let mut csv = String::from("customerId;name\n");
    for i in 0..20_000 {
        csv.push_str(&format!("cus_{i};Customer {i}\n"));
    }
    let run = run(against(
        &server,
        &[
            "tag", "VIP", "-f", "-", "--format", "lines", "--output", "json",
        ],
    )
    .write_stdin(csv));
    run.expect_code(2);
    assert_eq!(server.request_count(), 0);
    let j = balanced(&run);
    assert_eq!((count(&j, "invalid"), count(&j, "unsent")), (100, 0), "{j}");
    assert_eq!(
        run.stderr,
        "error: <stdin>:1: invalid customer ID \"customerId;name\": only ASCII letters, digits and _ @ ~ - . are allowed\n\
         error: <stdin>:2: invalid customer ID \"cus_0;Customer 0\": only ASCII letters, digits and _ @ ~ - . are allowed\n\
         error: <stdin>:3: invalid customer ID \"cus_1;Customer 1\": only ASCII letters, digits and _ @ ~ - . are allowed\n\
         error: <stdin>: 100 of the first 100 records are not customer IDs, so reading stopped: they hold ';': CSV with ';' between fields? try --format csv --delimiter ';'\n"
    );
}

#[test]
fn nearly_all_invalid_early_lines_stop_with_a_diagnosis_of_the_encoding() {
    let server = default_mock();
    let dir = Dir::new();
    let mut latin1 = b"cus_1\n".to_vec();
    for i in 0..500 {
        latin1.extend_from_slice(b"caf\xe9_");
        latin1.extend_from_slice(format!("{i}\n").as_bytes());
    }
    dir.file("ids.txt", &latin1);
    let run = run_in(&dir, &server, &["tag", "VIP", "-f", "ids.txt", "--quiet"]);
    run.expect_code(2);
    assert_eq!(
        server.request_count(),
        0,
        "the one valid ID is not sent either"
    );
    let last = run.stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "error: ids.txt: 99 of the first 100 records are not customer IDs, so reading stopped: they are not UTF-8: the file has another encoding (Latin-1? Windows-1252?); convert it to UTF-8, e.g. iconv -f WINDOWS-1252 -t UTF-8"
    );
    assert_eq!(run.stderr.lines().count(), 4, "{}", run.stderr);
}

#[test]
fn a_wrong_column_stops_early_too() {
    let server = default_mock();
    let dir = Dir::new();
    let mut csv = String::from("name,customerId\n");
    for i in 0..300 {
        csv.push_str(&format!("Customer {i},cus_{i}\n"));
    }
    dir.file("ids.csv", csv);
    let run = run_in(
        &dir,
        &server,
        &["tag", "VIP", "-f", "ids.csv", "--column", "name", "-q"],
    );
    run.expect_code(2);
    assert_eq!(server.request_count(), 0);
    assert_eq!(
        run.stderr.lines().last().unwrap_or_default(),
        "error: ids.csv: 100 of the first 100 records are not customer IDs, so reading stopped: the wrong column? name the one holding customer IDs with --column (or check --format)"
    );
}

// ---- ';' separators and Excel's sep= line ----

#[test]
fn an_excel_european_export_with_semicolons_is_sniffed_and_said() {
    let server = default_mock();
    let run = run(&mut on_fixtures(
        &server,
        &["tag", "VIP", "-f", "excel-european.csv", "--quiet"],
    ));
    run.expect_code(0);
    assert_eq!(
        sent(&server),
        ["cus_0001", "cus_0002", "cus_0003", "cus_0004"]
    );
    assert_eq!(
        run.stderr,
        "note: excel-european.csv: fields are separated by ';', not ',' (sniffed from the header line; --delimiter to choose)\n"
    );
}

#[test]
fn excel_sep_line_is_honoured_and_lines_keep_their_numbers() {
    let server = default_mock();
    let run = run(&mut on_fixtures(
        &server,
        &["tag", "VIP", "-f", "excel-european-sep.csv"],
    ));
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_0001", "cus_0002", "cus_0003"]);
    assert_eq!(run.stderr, "");

    let server = default_mock();
    let dir = Dir::new();
    dir.file(
        "sep.csv",
        "sep=;\r\ncustomerId;name\r\ncus_1;A\r\nbad id;B\r\n",
    );
    let run = run_in(&dir, &server, &["tag", "VIP", "-f", "sep.csv"]);
    run.expect_code(1);
    assert_eq!(sent(&server), ["cus_1"]);
    assert_eq!(
        run.stderr,
        "error: sep.csv:4: invalid customer ID \"bad id\": only ASCII letters, digits and _ @ ~ - . are allowed\n"
    );
}

#[test]
fn delimiter_forces_the_separator_and_implies_csv() {
    let server = default_mock();
    let dir = Dir::new();
    // Sniffing would pick ',' (in the header); the user knows better.
    dir.file("odd.csv", "customerId|note\ncus_1|a,b\ncus_2|c\n");
    let run = run_in(
        &dir,
        &server,
        &["tag", "VIP", "-f", "odd.csv", "--delimiter", "|"],
    );
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
    assert_eq!(run.stderr, "");

    let server = default_mock();
    dir.file("export.dat", "customerId;note\ncus_1;x\n");
    let run = run_in(
        &dir,
        &server,
        &["tag", "VIP", "-f", "export.dat", "--delimiter", ";"],
    );
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1"]);
    assert_eq!(run.stderr, "", "no guess, so nothing to say");

    let server = default_mock();
    dir.file("ids.tsv", "customerId\tx\ncus_1\t1\n");
    let run = run_in(
        &dir,
        &server,
        &["tag", "VIP", "-f", "ids.tsv", "--delimiter", "tab"],
    );
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1"]);
}

#[test]
fn delimiter_with_format_lines_or_a_bad_value_is_a_usage_error() {
    let server = default_mock();
    let run = run(against(
        &server,
        &[
            "tag",
            "VIP",
            "-f",
            "-",
            "--format",
            "lines",
            "--delimiter",
            ";",
        ],
    )
    .write_stdin("cus_1\n"));
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "error: --delimiter ';' applies to CSV/TSV input, but --format lines reads one ID per line\n"
    );
    let run = run_against(&server, &["tag", "VIP", "cus_1", "--delimiter", ";;"]);
    run.expect_code(2);
    assert!(
        run.stderr.starts_with(
            "error: invalid value ';;' for '--delimiter <CHAR>': ';;' cannot separate fields"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_google_sheets_export_is_read_without_a_word() {
    let server = default_mock();
    let run = run(&mut on_fixtures(
        &server,
        &["tag", "VIP", "-f", "google-sheets.csv"],
    ));
    run.expect_code(0);
    assert_eq!(
        sent(&server),
        ["cus_0001", "cus_0002", "cus_0003", "cus_0004"]
    );
    assert_eq!(run.stderr, "");
}

// ---- UTF-16 ----

#[test]
fn utf16_with_a_byte_order_mark_is_decoded() {
    for name in ["powershell-out-file.txt", "utf16-be.txt"] {
        let server = default_mock();
        let run = run(&mut on_fixtures(
            &server,
            &["tag", "VIP", "-f", name, "--output", "json"],
        ));
        run.expect_code(0);
        assert_eq!(
            sent(&server),
            ["cus_0001", "cus_0002", "cus_0003"],
            "{name}"
        );
        assert_eq!(run.stderr, "", "{name}");
    }
    // On a pipe too (PowerShell's `>` into a tool).
    let server = default_mock();
    let bytes = std::fs::read(fixtures().join("powershell-out-file.txt")).unwrap();
    let run = run(against(&server, &["tag", "VIP"]).write_stdin(bytes));
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_0001", "cus_0002", "cus_0003"]);
}

#[test]
fn excel_unicode_text_is_decoded_and_read_as_tab_separated() {
    let server = default_mock();
    let run = run(&mut on_fixtures(
        &server,
        &["tag", "VIP", "-f", "excel-unicode-text.txt"],
    ));
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_0001", "cus_0002"]);
    assert_eq!(
        run.stderr,
        "note: excel-unicode-text.txt: read as CSV with tab between fields (sniffed from its first lines; --format lines reads one ID per line)\n"
    );
}

#[test]
fn utf16_without_a_byte_order_mark_is_decoded_and_said() {
    let server = default_mock();
    let dir = Dir::new();
    let bytes: Vec<u8> = "cus_1\r\ncus_2\r\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    dir.file("ids.txt", bytes);
    let run = run_in(&dir, &server, &["tag", "VIP", "-f", "ids.txt", "-q"]);
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
    assert_eq!(
        run.stderr,
        "note: ids.txt: read as UTF-16LE (no byte-order mark, but every other byte is NUL)\n"
    );
}

// ---- tags ----

#[test]
fn a_tag_with_spaces_around_it_is_trimmed_and_said() {
    let server = default_mock();
    let run = run_against(&server, &["tag", " VIP ", "cus_1"]);
    run.expect_code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].tag, "VIP");
    assert_eq!(sent(&server), ["cus_1"]);
    assert_eq!(
        run.stderr,
        "warning: the tag has spaces around it; using \"VIP\"\n"
    );
}

#[test]
fn a_tag_of_256_characters_is_exit_2_and_255_are_sent() {
    let server = default_mock();
    let long = "t".repeat(256);
    let run = run_against(&server, &["tag", &long, "cus_1"]);
    run.expect_code(2);
    assert_eq!(server.request_count(), 0);
    assert_eq!(
        run.stderr,
        format!(
            "error: invalid tag \"{}…\": the tag has 256 characters; the API allows at most 255\n",
            "t".repeat(60)
        )
    );
    let ok = "t".repeat(255);
    run_against(&server, &["tag", &ok, "cus_1"]).expect_code(0);
    assert_eq!(server.requests()[0].tag, ok);
}

#[test]
fn a_tag_with_a_non_ascii_letter_says_ascii_letters() {
    let server = default_mock();
    let run = run_against(&server, &["tag", "é", "cus_1"]);
    run.expect_code(2);
    assert_eq!(server.request_count(), 0);
    assert_eq!(
        run.stderr,
        "error: invalid tag \"é\": the tag contains 'é', which is not ASCII; allowed are ASCII letters, digits, spaces and _ @ ~ - . +\n"
    );
}

// ---- a slow stream ----

/// Waits (at most `limit`) until the server has received `n` requests.
/// Waits for `n` requests to be *finished* at the mock (`request_count`
/// counts them on arrival, before `requests()` lists them), for at most
/// `limit` (generous: a loaded machine is slow, the event is what counts).
fn wait_for_requests(server: &MockServer, n: u64, limit: Duration) -> bool {
    let start = Instant::now();
    let limit = limit.max(Duration::from_secs(5));
    while (server.requests().len() as u64) < n {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

#[test]
fn a_slow_stream_is_flushed_when_it_pauses() {
    let server = default_mock();
    let mut child = process_against(&server, &["tag", "VIP", "--output", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"cus_1\ncus_2\n").unwrap();
    stdin.flush().unwrap();
    assert!(
        wait_for_requests(&server, 1, Duration::from_secs(2)),
        "a partial batch leaves after 250 ms of silence"
    );
    assert_eq!(server.requests()[0].ids, ["cus_1", "cus_2"]);
    stdin.write_all(b"cus_3\n").unwrap();
    stdin.flush().unwrap();
    assert!(wait_for_requests(&server, 2, Duration::from_secs(2)));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let batches: Vec<Vec<String>> = server.requests().into_iter().map(|r| r.ids).collect();
    assert_eq!(batches, [strings(&["cus_1", "cus_2"]), strings(&["cus_3"])]);
}

#[test]
fn a_busy_slow_stream_is_flushed_when_its_batch_is_2_s_old() {
    let server = default_mock();
    let mut child = process_against(&server, &["tag", "VIP", "--output", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // One ID every 50 ms: never idle for 250 ms.
    let start = Instant::now();
    let mut written = 0;
    while server.request_count() == 0 && start.elapsed() < Duration::from_secs(5) {
        writeln!(stdin, "cus_{written}").unwrap();
        stdin.flush().unwrap();
        written += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        server.request_count(),
        1,
        "a request left while the input went on"
    );
    let first = server.requests()[0].ids.len();
    assert!(
        (2..=written).contains(&first),
        "the first batch held {first} of {written} IDs"
    );
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<String> = (0..written).map(|i| format!("cus_{i}")).collect();
    assert_eq!(sent(&server), want);
}

// ---- report footers, joined exports, ragged rows ----

#[test]
fn missing_columns_repeated_headers_and_total_rows_are_reported_and_counted() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file(
        "joined.csv",
        "name,customerId\nAnn,cus_1\nBob\nname,customerId\nCy,cus_3\nTotal,,\n",
    );
    let run = run_in(
        &dir,
        &server,
        &["tag", "VIP", "-f", "joined.csv", "--output", "json"],
    );
    run.expect_code(1);
    assert_eq!(sent(&server), ["cus_1", "cus_3"]);
    let j = balanced(&run);
    assert_eq!(
        (
            count(&j, "ids_read"),
            count(&j, "invalid"),
            count(&j, "confirmed")
        ),
        (5, 3, 2)
    );
    assert_eq!(
        run.stderr,
        "error: joined.csv:3: invalid customer ID: the row has no such column\n\
         error: joined.csv:4: the header row again (files joined together?); counted as invalid\n\
         error: joined.csv:6: a total row, not a customer; counted as invalid\n"
    );
}

#[test]
fn a_salesforce_report_total_row_and_footer_are_reported_not_sent() {
    let server = default_mock();
    let run = run(&mut on_fixtures(
        &server,
        &[
            "tag",
            "VIP",
            "-f",
            "salesforce-report.csv",
            "--output",
            "json",
        ],
    ));
    run.expect_code(1);
    assert_eq!(sent(&server), ["cus_0001", "cus_0002", "cus_0003"]);
    let j = balanced(&run);
    assert_eq!((count(&j, "invalid"), count(&j, "confirmed")), (4, 3));
    let bad = "only ASCII letters, digits and _ @ ~ - . are allowed";
    assert_eq!(
        run.stderr,
        format!(
            "error: salesforce-report.csv:5: a total row, not a customer; counted as invalid\n\
             error: salesforce-report.csv:8: invalid customer ID \"Acme Inc. report\": {bad}\n\
             error: salesforce-report.csv:9: invalid customer ID \"Confidential Information - Do Not Distribute\": {bad}\n\
             error: salesforce-report.csv:10: invalid customer ID \"Copyright (c) 2000-2024 salesforce.com, inc. All rights rese…\": longer than 50 characters\n"
        )
    );
}

#[test]
fn a_total_label_in_the_id_column_is_not_sent_as_an_id() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file("r.csv", "customerId,amount\ncus_1,10\nTotal,10\n");
    let run = run_in(&dir, &server, &["tag", "VIP", "-f", "r.csv"]);
    run.expect_code(1);
    assert_eq!(sent(&server), ["cus_1"]);
    assert_eq!(
        run.stderr,
        "error: r.csv:3: a total row, not a customer; counted as invalid\n"
    );
}
