//! Where IDs come from: arguments, line files, CSV/TSV, standard input; how
//! they are trimmed, de-duplicated and validated; and every input mistake that
//! must end in exit 2 before a single request.

use assert_cmd::Command;

use crate::support::*;

/// Every ID the server received, request by request in arrival order.
fn sent(server: &MockServer) -> Vec<String> {
    server.requests().into_iter().flat_map(|r| r.ids).collect()
}

/// `tagctl <args>` against `server`, run inside `dir` so that files are named
/// in messages as given (`ids.txt:3`).
fn in_dir(dir: &Dir, server: &MockServer, args: &[&str]) -> Command {
    let mut cmd = against(server, args);
    cmd.current_dir(dir.root());
    cmd
}

/// The lines of standard error that start with `error:`.
fn errors(run: &Run) -> Vec<&str> {
    run.stderr_lines_starting("error:")
}

/// Asserts a usage error: exit 2, no request, and a one-line message
/// containing every one of `needles`.
#[track_caller]
fn usage_error(run: &Run, server: &MockServer, needles: &[&str]) {
    run.expect_code(2);
    assert_eq!(server.request_count(), 0, "no request may be sent");
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "stderr:\n{}", run.stderr);
    for needle in needles {
        assert!(first.contains(needle), "{needle:?} not in {first:?}");
    }
}

// ---- arguments and line files ----

#[test]
fn ids_given_as_arguments_are_sent_in_order() {
    let server = default_mock();
    let run = run_against(
        &server,
        &[
            "tag", "VIP", "cus_b", " cus_a", "cus_c\t", "--output", "json",
        ],
    );
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_b", "cus_a", "cus_c"]);
    assert_eq!(server.requests().len(), 1);
    let j = balanced(&run);
    assert_eq!(
        (j["ids_read"].as_u64(), j["confirmed"].as_u64()),
        (Some(3), Some(3))
    );
}

#[test]
fn lines_file_with_bom_crlf_blank_lines_and_padding_is_normal_input() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file(
        "ids.txt",
        "\u{feff}cus_1\r\n\r\n  cus_2 \r\n\t\r\n\ncus_3\r\ncus_4",
    );
    let run = run(&mut in_dir(
        &dir,
        &server,
        &["tag", "VIP", "-f", "ids.txt", "--output", "json"],
    ));
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2", "cus_3", "cus_4"]);
    let j = balanced(&run);
    assert_eq!(j["ids_read"], 4);
    assert_eq!(j["invalid"], 0);
    assert!(errors(&run).is_empty(), "stderr:\n{}", run.stderr);
}

// ---- CSV / TSV ----

#[test]
fn csv_id_column_is_found_automatically_by_its_known_names() {
    for header in [
        "customerId",
        "CUSTOMERID",
        "customer_id",
        "Customer ID",
        "id",
        "Id",
    ] {
        let server = default_mock();
        let dir = Dir::new();
        let csv = dir.file(
            "ids.csv",
            format!("name,{header},city\nAnn,cus_1,Oslo\nBob,cus_2,Rome\n"),
        );
        let run = run_against(&server, &["tag", "VIP", "-f", arg(&csv)]);
        run.expect_code(0);
        assert_eq!(sent(&server), ["cus_1", "cus_2"], "header {header:?}");
        assert!(
            !run.stderr.contains("warning"),
            "no warning for {header:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn csv_prefers_a_customer_id_column_over_a_plain_id_column() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file("invoices.csv", "id,customerId\ninv_1,cus_1\ninv_2,cus_2\n");
    let run = run_against(&server, &["tag", "VIP", "-f", arg(&csv)]);
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
    assert!(
        run.stderr
            .contains("invoices.csv: several ID columns (id, customerId); using 'customerId'"),
        "{}",
        run.stderr
    );
}

#[test]
fn csv_without_a_known_column_uses_the_first_column_with_a_warning() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file("ids.csv", "account,name\ncus_1,Ann\ncus_2,Bob\n");
    let run = run(&mut in_dir(&dir, &server, &["tag", "VIP", "-f", "ids.csv"]));
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "stderr:\n{}", run.stderr);
    assert!(
        warnings[0].contains("ids.csv") && warnings[0].contains("account"),
        "the warning names the file and the column used: {}",
        warnings[0]
    );
}

#[test]
fn csv_column_by_header_name_is_case_insensitive() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file(
        "report.csv",
        "id,Customer Ref,name\nx1,cus_1,Ann\nx2,cus_2,Bob\n",
    );
    run_against(
        &server,
        &["tag", "VIP", "-f", arg(&csv), "--column", "customer REF"],
    )
    .expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
}

#[test]
fn csv_column_by_one_based_index() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file("report.csv", "id,ref,name\nx1,cus_1,Ann\nx2,cus_2,Bob\n");
    run_against(&server, &["tag", "VIP", "-f", arg(&csv), "--column", "2"]).expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
}

#[test]
fn csv_with_no_header_reads_the_first_row_as_data() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file("ids.csv", "Ann,cus_1\nBob,cus_2\n");
    run_against(
        &server,
        &[
            "tag",
            "VIP",
            "-f",
            arg(&csv),
            "--no-header",
            "--column",
            "2",
        ],
    )
    .expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);

    let server = default_mock();
    let csv = dir.file("plain.csv", "customerId\ncus_9\n");
    run_against(&server, &["tag", "VIP", "-f", arg(&csv), "--no-header"]).expect_code(0);
    assert_eq!(sent(&server), ["customerId", "cus_9"]);
}

#[test]
fn tsv_is_read_by_extension() {
    let server = default_mock();
    let dir = Dir::new();
    let tsv = dir.file(
        "ids.tsv",
        "name\tcustomerId\nSmith, Ann\tcus_1\nBob\tcus_2\n",
    );
    run_against(&server, &["tag", "VIP", "-f", arg(&tsv)]).expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
}

#[test]
fn format_tsv_reads_any_file_as_tsv() {
    let server = default_mock();
    let dir = Dir::new();
    let txt = dir.file("export.txt", "name\tcustomer_id\nAnn\tcus_1\nBob\tcus_2\n");
    run_against(&server, &["tag", "VIP", "-f", arg(&txt), "--format", "tsv"]).expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
}

#[test]
fn format_csv_reads_a_txt_file_as_csv() {
    let server = default_mock();
    let dir = Dir::new();
    let txt = dir.file("export.txt", "name,customerId\nAnn,cus_1\nBob,cus_2\n");
    run_against(&server, &["tag", "VIP", "-f", arg(&txt), "--format", "csv"]).expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
}

#[test]
fn format_lines_reads_a_csv_file_one_id_per_line() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file("ids.csv", "cus_1\ncus_2\n");
    run_against(
        &server,
        &["tag", "VIP", "-f", arg(&csv), "--format", "lines"],
    )
    .expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
}

#[test]
fn quoted_csv_fields_may_hold_commas_quotes_and_newlines() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file(
        "ids.csv",
        "note,customerId,city\n\
         \"Smith, \"\"JJ\"\" John\",cus_1,Oslo\n\
         \"two\nlines, here\",\"cus_2\",Rome\n\
         plain,cus_3,\"Paris, FR\"\n",
    );
    let run = run_against(
        &server,
        &["tag", "VIP", "-f", arg(&csv), "--output", "json"],
    );
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2", "cus_3"]);
    assert_eq!(balanced(&run)["ids_read"], 3);
}

#[test]
fn csv_with_bom_and_crlf_finds_the_id_column() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file(
        "ids.csv",
        "\u{feff}customerId,name\r\ncus_1,Ann\r\n\r\ncus_2,Bob\r\n",
    );
    let run = run_against(&server, &["tag", "VIP", "-f", arg(&csv)]);
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn csv_row_missing_the_id_column_is_invalid_with_its_line() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file(
        "ids.csv",
        "name,customerId\nAnn,cus_1\n\"multi\nline\",cus_2\nBob\nCid,cus_4,extra\n",
    );
    let run = run(&mut in_dir(
        &dir,
        &server,
        &["tag", "VIP", "-f", "ids.csv", "--output", "json"],
    ));
    run.expect_code(1);
    assert_eq!(sent(&server), ["cus_1", "cus_2", "cus_4"]);
    let j = balanced(&run);
    assert_eq!(
        (j["invalid"].as_u64(), j["confirmed"].as_u64()),
        (Some(1), Some(3))
    );
    let errs = errors(&run);
    assert_eq!(errs.len(), 1, "stderr:\n{}", run.stderr);
    assert!(
        errs[0].starts_with("error: ids.csv:5: "),
        "the ragged row is on physical line 5: {}",
        errs[0]
    );
}

#[test]
fn csv_invalid_ids_are_reported_with_their_physical_line_in_crlf_files_with_blank_lines() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file(
        "ids.csv",
        "\u{feff}name,customerId\r\nAnn,cus_1\r\n\r\nBob,bad id\r\nCid\r\nDee,cus_6\r\n",
    );
    let run = run(&mut in_dir(&dir, &server, &["tag", "VIP", "-f", "ids.csv"]));
    run.expect_code(1);
    assert_eq!(sent(&server), ["cus_1", "cus_6"]);
    let errs = errors(&run);
    assert_eq!(errs.len(), 2, "stderr:\n{}", run.stderr);
    assert!(
        errs[0].starts_with("error: ids.csv:4: invalid customer ID \"bad id\""),
        "{}",
        errs[0]
    );
    assert!(errs[1].starts_with("error: ids.csv:5: "), "{}", errs[1]);
}

// ---- standard input and combined sources ----

#[test]
fn stdin_is_read_as_lines_when_piped_without_arguments() {
    let server = default_mock();
    let run = run(against(&server, &["tag", "VIP", "--output", "json"])
        .write_stdin("\u{feff}cus_1\r\n\r\ncus_2\ncus_1\n"));
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
    let j = balanced(&run);
    assert_eq!(
        (j["ids_read"].as_u64(), j["duplicates"].as_u64()),
        (Some(3), Some(1))
    );
}

#[test]
fn stdin_is_not_read_when_ids_are_given_as_arguments() {
    let server = default_mock();
    run(against(&server, &["tag", "VIP", "cus_arg"]).write_stdin("cus_stdin\n")).expect_code(0);
    assert_eq!(sent(&server), ["cus_arg"]);
}

#[test]
fn dash_as_ids_file_reads_stdin() {
    let server = default_mock();
    let run = run(against(&server, &["tag", "VIP", "-f", "-"]).write_stdin("cus_1\nbad id\n"));
    run.expect_code(1);
    assert_eq!(sent(&server), ["cus_1"]);
    let errs = errors(&run);
    assert_eq!(errs.len(), 1, "stderr:\n{}", run.stderr);
    assert!(
        errs[0].starts_with("error: <stdin>:2: invalid customer ID \"bad id\""),
        "{}",
        errs[0]
    );
}

#[test]
fn sources_are_combined_in_order_arguments_then_files_as_given() {
    let server = default_mock();
    let dir = Dir::new();
    let b = dir.file("b.txt", "cus_b1\ncus_b2\n");
    let a = dir.file("a.csv", "customerId\ncus_a1\ncus_a2\n");
    let run = run(against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_x",
            "-f",
            arg(&b),
            "-f",
            "-",
            "-f",
            arg(&a),
            "cus_y",
            "--concurrency",
            "1",
        ],
    )
    .write_stdin("cus_s1\n"));
    run.expect_code(0);
    assert_eq!(
        sent(&server),
        [
            "cus_x", "cus_y", "cus_b1", "cus_b2", "cus_s1", "cus_a1", "cus_a2"
        ]
    );
}

#[test]
fn duplicates_are_dropped_first_occurrence_wins_order_kept() {
    let server = default_mock();
    let dir = Dir::new();
    let f = dir.file("ids.txt", "cus_2\ncus_1\n cus_3\ncus_2\ncus_4\ncus_3\n");
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_1",
            "cus_1",
            "-f",
            arg(&f),
            "--output",
            "json",
        ],
    );
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2", "cus_3", "cus_4"]);
    assert_eq!(server.requests().len(), 1);
    let j = balanced(&run);
    assert_eq!(j["ids_read"], 8);
    assert_eq!(j["duplicates"], 4);
    assert_eq!(j["confirmed"], 4);
}

#[test]
fn no_dedupe_sends_repeated_ids_as_given() {
    let server = default_mock();
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_1",
            "cus_2",
            "cus_1",
            "--no-dedupe",
            "--output",
            "json",
        ],
    );
    run.expect_code(0);
    assert_eq!(sent(&server), ["cus_1", "cus_2", "cus_1"]);
    let j = balanced(&run);
    assert_eq!(
        (j["duplicates"].as_u64(), j["confirmed"].as_u64()),
        (Some(0), Some(3))
    );
}

// ---- invalid IDs ----

#[test]
fn invalid_ids_are_not_sent_but_counted_and_reported_with_file_and_line() {
    let server = default_mock();
    let dir = Dir::new();
    let long = "x".repeat(51);
    let max = "y".repeat(50);
    dir.file(
        "ids.txt",
        format!("cus_1\n\na b\n{long}\ncafé\ncus/2\n{max}\na,b\nA-b.c~d@e_f\n"),
    );
    let run = run(&mut in_dir(
        &dir,
        &server,
        &["tag", "VIP", "-f", "ids.txt", "--output", "json"],
    ));
    run.expect_code(1);
    assert_eq!(
        sent(&server),
        ["cus_1".to_string(), max, "A-b.c~d@e_f".into()]
    );
    let j = balanced(&run);
    assert_eq!(j["ids_read"], 8);
    assert_eq!(j["invalid"], 5);
    assert_eq!(j["confirmed"], 3);
    let errs = errors(&run);
    let expected = [
        "error: ids.txt:3: invalid customer ID \"a b\"".to_string(),
        format!("error: ids.txt:4: invalid customer ID \"{long}\""),
        "error: ids.txt:5: invalid customer ID \"café\"".into(),
        "error: ids.txt:6: invalid customer ID \"cus/2\"".into(),
        "error: ids.txt:8: invalid customer ID \"a,b\"".into(),
    ];
    assert_eq!(errs.len(), expected.len(), "stderr:\n{}", run.stderr);
    for (line, prefix) in errs.iter().zip(&expected) {
        assert!(
            line.starts_with(prefix.as_str()),
            "{line:?} should start with {prefix:?}"
        );
    }
}

#[test]
fn invalid_id_arguments_are_reported_by_position() {
    let server = default_mock();
    let run = run_against(&server, &["tag", "VIP", "cus_1", "no way"]);
    run.expect_code(1);
    assert_eq!(sent(&server), ["cus_1"]);
    let errs = errors(&run);
    assert_eq!(errs.len(), 1, "stderr:\n{}", run.stderr);
    assert!(
        errs[0].starts_with("error: argument 2: invalid customer ID \"no way\""),
        "{}",
        errs[0]
    );
}

#[test]
fn only_invalid_ids_send_nothing_and_exit_1() {
    let server = default_mock();
    let run = run_against(&server, &["tag", "VIP", "a b", "é", "--output", "json"]);
    run.expect_code(1);
    assert_eq!(server.request_count(), 0);
    let j = balanced(&run);
    assert_eq!(
        (j["invalid"].as_u64(), j["requests"].as_u64()),
        (Some(2), Some(0))
    );
}

#[test]
fn a_line_that_is_not_utf8_is_reported_and_skipped() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file("ids.txt", b"cus_1\n\xff\xfecus\ncus_2\n");
    let run = run(&mut in_dir(
        &dir,
        &server,
        &["tag", "VIP", "-f", "ids.txt", "--output", "json"],
    ));
    run.expect_code(1);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
    assert_eq!(balanced(&run)["invalid"], 1);
    let errs = errors(&run);
    assert_eq!(errs.len(), 1, "stderr:\n{}", run.stderr);
    assert!(errs[0].starts_with("error: ids.txt:2: "), "{}", errs[0]);
    assert!(errs[0].contains("UTF-8"), "{}", errs[0]);
}

#[test]
fn a_20_mb_line_without_newline_is_invalid_and_the_rest_is_sent() {
    let server = default_mock();
    let dir = Dir::new();
    let mut content = b"cus_1\ncus_2\n".to_vec();
    content.resize(content.len() + (20 << 20), b'x');
    dir.file("ids.txt", &content);
    let run = run(&mut in_dir(
        &dir,
        &server,
        &["tag", "VIP", "-f", "ids.txt", "--output", "json"],
    ));
    run.expect_code(1);
    assert_eq!(sent(&server), ["cus_1", "cus_2"]);
    let j = balanced(&run);
    assert_eq!(
        (j["ids_read"].as_u64(), j["invalid"].as_u64()),
        (Some(3), Some(1))
    );
    let errs = errors(&run);
    assert_eq!(errs.len(), 1, "stderr:\n{}", run.stderr);
    assert!(errs[0].starts_with("error: ids.txt:3: "), "{}", errs[0]);
    assert!(
        errs[0].len() < 300,
        "the line itself is not echoed: {} bytes",
        errs[0].len()
    );
}

#[test]
fn a_line_over_4_kib_is_invalid_and_the_next_line_still_counts() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file("ids.txt", format!("cus_1\n{}\ncus_3\n", "z".repeat(5000)));
    let run = run(&mut in_dir(
        &dir,
        &server,
        &["tag", "VIP", "-f", "ids.txt", "--output", "json"],
    ));
    run.expect_code(1);
    assert_eq!(sent(&server), ["cus_1", "cus_3"]);
    assert_eq!(balanced(&run)["invalid"], 1);
    assert!(
        errors(&run)[0].starts_with("error: ids.txt:2: "),
        "{}",
        run.stderr
    );
}

// ---- input errors: exit 2, nothing sent ----

#[test]
fn an_empty_file_is_a_usage_error_with_no_request() {
    let server = default_mock();
    let dir = Dir::new();
    for (name, content) in [
        ("empty.txt", ""),
        ("blank.txt", "\n \r\n\n"),
        ("empty.csv", ""),
    ] {
        let f = dir.file(name, content);
        let run = run_against(&server, &["tag", "VIP", "-f", arg(&f)]);
        run.expect_code(2);
        assert!(run.stderr.starts_with("error: "), "{name}: {}", run.stderr);
    }
    let f = dir.file("header-only.csv", "customerId\n");
    run_against(&server, &["tag", "VIP", "-f", arg(&f)]).expect_code(2);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn no_ids_at_all_from_an_empty_stdin_is_a_usage_error() {
    let server = default_mock();
    let run = run(against(&server, &["tag", "VIP"]).write_stdin(""));
    usage_error(&run, &server, &["no customer IDs"]);
}

#[test]
fn a_directory_as_ids_file_is_a_usage_error_naming_it() {
    let server = default_mock();
    let dir = Dir::new();
    std::fs::create_dir(dir.path("exports")).unwrap();
    let run = run(&mut in_dir(&dir, &server, &["tag", "VIP", "-f", "exports"]));
    usage_error(&run, &server, &["exports", "directory"]);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
}

#[test]
fn a_missing_ids_file_is_a_usage_error_naming_it() {
    let server = default_mock();
    let dir = Dir::new();
    dir.file("ok.txt", "cus_1\n");
    let run = run(&mut in_dir(
        &dir,
        &server,
        &["tag", "VIP", "-f", "ok.txt", "-f", "missing-ids.txt"],
    ));
    usage_error(&run, &server, &["missing-ids.txt"]);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
}

#[test]
fn an_unknown_column_name_is_a_usage_error_listing_the_columns() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file("ids.csv", "name,customerId,city\nAnn,cus_1,Oslo\n");
    let run = run_against(
        &server,
        &["tag", "VIP", "-f", arg(&csv), "--column", "email"],
    );
    usage_error(&run, &server, &["email", "name", "customerId", "city"]);
}

#[test]
fn a_column_index_out_of_range_is_a_usage_error() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file("ids.csv", "name,customerId\nAnn,cus_1\n");
    let run = run_against(&server, &["tag", "VIP", "-f", arg(&csv), "--column", "9"]);
    usage_error(&run, &server, &["--column", "9"]);
    let run = run_against(&server, &["tag", "VIP", "-f", arg(&csv), "--column", "0"]);
    usage_error(&run, &server, &["--column"]);
}

#[test]
fn column_with_a_non_csv_input_is_a_usage_error() {
    let server = default_mock();
    let dir = Dir::new();
    let txt = dir.file("ids.txt", "cus_1\n");
    let run = run_against(&server, &["tag", "VIP", "-f", arg(&txt), "--column", "2"]);
    usage_error(&run, &server, &["--column"]);
    let run = run_against(&server, &["tag", "VIP", "-f", arg(&txt), "--no-header"]);
    usage_error(&run, &server, &["--no-header"]);
}

#[test]
fn a_column_name_with_no_header_is_a_usage_error() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file("ids.csv", "Ann,cus_1\n");
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "-f",
            arg(&csv),
            "--no-header",
            "--column",
            "customerId",
        ],
    );
    usage_error(&run, &server, &["--column"]);
}

#[test]
fn batch_size_and_concurrency_out_of_range_are_usage_errors_naming_the_flag() {
    let server = default_mock();
    for (flag, value) in [
        ("--batch-size", "0"),
        ("--batch-size", "1001"),
        ("--concurrency", "0"),
    ] {
        let run = run_against(&server, &["tag", "VIP", "cus_1", flag, value]);
        run.expect_code(2);
        assert!(
            run.stderr.lines().next().unwrap_or_default().contains(flag),
            "{flag} {value}: {}",
            run.stderr
        );
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn an_invalid_tag_is_a_usage_error_before_any_request() {
    let server = default_mock();
    for tag in ["a/b", "", "   ", "café", "a?b"] {
        let run = run_against(&server, &["tag", tag, "cus_1"]);
        run.expect_code(2);
        assert!(
            run.stderr.starts_with("error: "),
            "tag {tag:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
    let run = run_against(&server, &["untag", "a/b", "cus_1"]);
    usage_error(&run, &server, &["a/b"]);
}

#[test]
fn valid_tags_may_hold_spaces_plus_and_the_id_characters() {
    let server = default_mock();
    run_against(&server, &["tag", "Big Spender+ @x~y-z.w_1", "cus_1"]).expect_code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].tag, "Big Spender+ @x~y-z.w_1");
}

#[test]
fn a_csv_quote_that_is_never_closed_is_an_error_not_a_silent_drop() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file("q.csv", "id,name\ncus_1,\"Bob\ncus_2,Alice\ncus_3,Carol\n");
    let run = run_against(
        &server,
        &["tag", "VIP", "-f", arg(&csv), "--output", "json"],
    );
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("q.csv: line 2: a quoted field is never closed"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_csv_row_with_an_empty_id_cell_is_invalid_not_skipped() {
    let server = default_mock();
    let dir = Dir::new();
    let csv = dir.file("e.csv", "customerId,name\ncus_1,Ann\n,Bob\n,\ncus_2,Cy\n");
    let run = run_against(
        &server,
        &["tag", "VIP", "-f", arg(&csv), "--output", "json"],
    );
    run.expect_code(1);
    let json = balanced(&run);
    assert_eq!(
        (count(&json, "ids_read"), count(&json, "invalid")),
        (3, 1),
        "{json}"
    );
    assert!(run.stderr.contains("e.csv:3:"), "{}", run.stderr);
    assert_eq!(accepted_sorted(&server), ["cus_1", "cus_2"]);
}

#[test]
fn a_line_of_hundreds_of_megabytes_is_read_in_bounded_memory() {
    // A sparse file: 384 MiB of NUL bytes with no newline, then two IDs.
    let server = default_mock();
    let dir = Dir::new();
    let path = dir.path("huge.txt");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(&path).unwrap();
        f.seek(SeekFrom::Start(384 << 20)).unwrap();
        f.write_all(b"\ncus_1\ncus_2\n").unwrap();
    }
    let limit = std::time::Duration::from_secs(30);
    let (run, _, peak_kib) = run_measured(
        &server,
        &["tag", "VIP", "-f", arg(&path), "--output", "json"],
        limit,
    );
    run.expect_code(1);
    let json = balanced(&run);
    assert_eq!(
        (count(&json, "invalid"), count(&json, "confirmed")),
        (1, 2),
        "{json}"
    );
    assert!(run.stderr.contains("huge.txt:1:"), "{}", run.stderr);
    assert!(
        peak_kib < 64 * 1024,
        "peak RSS {peak_kib} KiB for a 384 MiB line"
    );
}
