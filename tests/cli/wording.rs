//! What people read, compared whole: `--help` of every command, the main error lines, and
//! the per-batch error blocks. The expectations are files under `tests/cli/snapshots/`
//! (`TAGCTL_BLESS=1 cargo test --test cli` rewrites them), so a wording change shows up
//! as a diff to review, and a wording regression fails.

use crate::support::*;

/// Runs `tagctl <args>` with no credentials and no server, help wrapped at 100 columns.
fn offline(args: &[&str]) -> Run {
    run(tagctl().env("COLUMNS", "100").args(args))
}

// ---- --help ----

#[test]
fn help_of_every_command_is_as_documented() {
    for (name, args) in [
        ("help_tagctl", &["--help"][..]),
        ("help_tag", &["tag", "--help"]),
        ("help_untag", &["untag", "--help"]),
        ("help_completions", &["completions", "--help"]),
    ] {
        let out = offline(args);
        out.expect_code(0);
        assert_eq!(out.stderr, "", "{args:?}");
        assert_transcript(name, args, &out, &Normalizer::new());
    }
}

// ---- the main error lines ----

#[test]
fn no_credentials_is_one_line_naming_the_ways_to_give_them() {
    let args = ["tag", "VIP", "cus_1", "--api-url", "http://127.0.0.1:9"];
    let out = offline(&args);
    out.expect_code(2);
    assert_transcript("error_no_credentials", &args, &out, &Normalizer::new());
}

#[test]
fn an_invalid_tag_is_one_line_naming_the_character() {
    for (name, tag) in [
        ("error_invalid_tag", "a/b"),
        ("error_invalid_tag_invisible", "V\u{200b}IP"),
    ] {
        let args = ["tag", tag, "cus_1"];
        let out = run(tagctl().env("REBILLY_API_KEY", KEY).args(args));
        out.expect_code(2);
        assert_transcript(name, &args, &out, &Normalizer::new());
    }
}

#[test]
fn an_unreadable_file_is_one_line_naming_it() {
    let dir = Dir::new();
    let missing = dir.path("missing.txt");
    let args = ["tag", "VIP", "-f", arg(&missing)];
    let out = run(tagctl().env("REBILLY_API_KEY", KEY).args(args));
    out.expect_code(2);
    assert_transcript(
        "error_unreadable_file",
        &args,
        &out,
        &Normalizer::new().dir(&dir),
    );
}

#[test]
fn an_unknown_column_is_one_line_listing_the_columns() {
    let dir = Dir::new();
    let csv = dir.file("ids.csv", "account,name\ncus_1,Ann\n");
    let args = ["tag", "VIP", "-f", arg(&csv), "--column", "customer"];
    let out = run(tagctl().env("REBILLY_API_KEY", KEY).args(args));
    out.expect_code(2);
    assert_transcript(
        "error_unknown_column",
        &args,
        &out,
        &Normalizer::new().dir(&dir),
    );
}

#[test]
fn a_bad_batch_size_is_a_usage_error_naming_the_range() {
    for (name, size) in [
        ("error_batch_size_zero", "0"),
        ("error_batch_size_too_big", "1001"),
        ("error_batch_size_not_a_number", "ten"),
    ] {
        let args = ["tag", "VIP", "cus_1", "--batch-size", size];
        let out = run(tagctl().env("REBILLY_API_KEY", KEY).args(args));
        out.expect_code(2);
        assert_transcript(name, &args, &out, &Normalizer::new());
    }
}

// ---- the per-batch error block ----

#[test]
fn a_batch_that_exhausts_its_retries_shows_the_whole_problem() {
    let server = default_mock();
    let problem = Fault::RawProblem {
        status: 500,
        content_type: "application/problem+json".into(),
        body: r#"{"type":"https://api.rebilly.com/errors/internal","title":"Internal error","status":500,"detail":"The tag service is unavailable.","instance":"/tags/VIP/customers/req-17"}"#.into(),
    };
    server.push_faults([problem.clone(), problem]);
    let args = ["tag", "VIP", "cus_1", "cus_2", "--max-retries", "1"];
    let out = run_against(&server, &args);
    out.expect_code(1);
    assert_eq!(server.request_count(), 2, "one try and one retry");
    assert_transcript(
        "error_block_retries_exhausted",
        &args,
        &out,
        &Normalizer::new().server(&server),
    );
}

#[test]
fn a_422_names_each_invalid_field_and_the_rest_is_sent() {
    let server = default_mock();
    server.push_faults([Fault::RawProblem {
        status: 422,
        content_type: "application/problem+json".into(),
        body: r#"{"type":"https://api.rebilly.com/errors/validation","title":"Invalid data","status":422,"detail":"Some customers cannot be tagged.","instance":"/tags/VIP/customers/req-18","invalidFields":[{"field":"customerIds.1","message":"Customer not found"},{"field":"customerIds.3","message":"Customer is archived"}]}"#.into(),
    }]);
    let args = ["tag", "VIP", "cus_1", "cus_2", "cus_3", "cus_4", "cus_5"];
    let out = run_against(&server, &args);
    out.expect_code(1);
    assert_eq!(accepted_sorted(&server), ["cus_1", "cus_3", "cus_5"]);
    assert_transcript(
        "error_block_invalid_fields",
        &args,
        &out,
        &Normalizer::new().server(&server),
    );
}

// ---- outside text in the summary ----

#[test]
fn a_tag_with_control_whitespace_is_shown_escaped_in_the_text_summary() {
    // The API's tag pattern allows `\s`, so CR and VT pass validation, and a raw
    // CR would let the tag overwrite the summary line it stands in.
    let args = [
        "tag",
        "VIP\rXY\u{b}Z",
        "cus_1",
        "--dry-run",
        "--api-url",
        "http://127.0.0.1:9",
    ];
    let out = offline(&args);
    out.expect_code(0);
    assert_eq!(
        out.stdout.lines().nth(1),
        Some(r#"Dry run: 1 ID would be sent to "VIP\rXY\u{b}Z"; nothing was sent."#),
        "{:?}",
        out.stdout
    );
}
