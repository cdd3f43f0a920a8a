//! What a run prints and leaves behind: the text and JSON summaries, `--quiet`,
//! `--verbose`, `--failed-ids`, `--dry-run`, and the exit codes.

use std::time::Duration;

use crate::support::*;

/// The contract's summary fields, and the extras the README documents.
const CONTRACT_FIELDS: [&str; 15] = [
    "action",
    "tag",
    "ids_read",
    "duplicates",
    "invalid",
    "confirmed",
    "resumed",
    "failed",
    "unsent",
    "requests",
    "retries",
    "rate_limited",
    "elapsed_ms",
    "problems",
    "endpoint",
];
const README_EXTRAS: [&str; 4] = ["isolation_requests", "dry_run", "interrupted", "stopped"];

/// A fault that changes nothing: the request is answered normally.
fn pass() -> Fault {
    Fault::Slow(Duration::ZERO)
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

// ---- the JSON summary ----

#[test]
fn json_summary_has_exactly_the_contract_fields_with_right_values() {
    let server = default_mock();
    let run = run_against(
        &server,
        &[
            "tag", "VIP", "cus_1", "cus_2", "cus_1", "a b", "cus_3", "--output", "json",
        ],
    );
    run.expect_code(1);
    let j = balanced(&run);
    let mut keys: Vec<&str> = j
        .as_object()
        .expect("one JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected: Vec<&str> = CONTRACT_FIELDS
        .iter()
        .chain(&README_EXTRAS)
        .copied()
        .collect();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    let expected = serde_json::json!({
        "action": "tag", "tag": "VIP",
        "ids_read": 5, "duplicates": 1, "invalid": 1,
        "confirmed": 3, "resumed": 0, "failed": 0, "unsent": 0,
        "requests": 1, "retries": 0, "rate_limited": 0,
        "problems": [],
        "isolation_requests": 0, "dry_run": false, "interrupted": false, "stopped": null,
        "endpoint": server.url(),
    });
    let mut got = j.clone();
    let elapsed = got.as_object_mut().unwrap().remove("elapsed_ms");
    assert!(
        elapsed.as_ref().is_some_and(serde_json::Value::is_u64),
        "{j}"
    );
    assert_eq!(got, expected);
}

#[test]
fn json_summary_counts_requests_and_retries() {
    let server = default_mock();
    server.push_faults([Fault::Status500]);
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_1",
            "cus_2",
            "cus_3",
            "--batch-size",
            "2",
            "--concurrency",
            "1",
            "--output",
            "json",
        ],
    );
    run.expect_code(0);
    let j = balanced(&run);
    assert_eq!(j["confirmed"], 3);
    assert_eq!(j["requests"], 3, "two batches, one of them twice");
    assert_eq!(j["retries"], 1);
    assert_eq!(j["rate_limited"], 0);
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn json_problems_describe_a_failed_batch() {
    let server = default_mock();
    server.push_faults([Fault::Status500]);
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_1",
            "--max-retries",
            "0",
            "--output",
            "json",
        ],
    );
    run.expect_code(1);
    let j = balanced(&run);
    assert_eq!(
        (j["failed"].as_u64(), j["confirmed"].as_u64()),
        (Some(1), Some(0))
    );
    let problems = j["problems"].as_array().expect("problems is an array");
    assert_eq!(problems.len(), 1, "{j}");
    assert_eq!(problems[0]["status"], 500);
    assert_eq!(problems[0]["title"], "Internal Server Error");
    assert_eq!(
        problems[0]["detail"],
        "An injected fault: the server failed to process the request."
    );
    assert_eq!(problems[0]["invalidFields"], serde_json::json!([]));
    assert_eq!(problems[0]["count"], 1);
}

#[test]
fn json_problems_include_a_rate_limit_met_on_the_way() {
    let server = default_mock();
    server.push_faults([Fault::TooManyRequests {
        reset_in: Some(Duration::from_millis(100)),
    }]);
    let run = run_against(
        &server,
        &["tag", "VIP", "cus_1", "cus_2", "--output", "json"],
    );
    run.expect_code(0);
    let j = balanced(&run);
    assert_eq!(
        (j["confirmed"].as_u64(), j["rate_limited"].as_u64()),
        (Some(2), Some(1))
    );
    let problems = j["problems"].as_array().expect("problems is an array");
    assert_eq!(problems.len(), 1, "the README's example lists the 429: {j}");
    assert_eq!(problems[0]["status"], 429);
    assert_eq!(problems[0]["count"], 1);
}

#[test]
fn json_problems_list_a_recurring_problem_once_with_its_count() {
    let server = default_mock();
    server.push_faults([Fault::Status500, Fault::Status500]);
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_1",
            "cus_2",
            "--batch-size",
            "1",
            "--concurrency",
            "1",
            "--max-retries",
            "0",
            "--output",
            "json",
        ],
    );
    run.expect_code(1);
    let j = balanced(&run);
    assert_eq!(j["failed"], 2);
    let problems = j["problems"].as_array().expect("problems is an array");
    assert_eq!(problems.len(), 1, "one distinct problem: {j}");
    assert_eq!(problems[0]["status"], 500);
    assert_eq!(problems[0]["count"], 2);
}

#[test]
fn untag_summary_action_is_untag() {
    let server = default_mock();
    let run = run_against(
        &server,
        &["untag", "Big Spender", "cus_1", "--output", "json"],
    );
    run.expect_code(0);
    let j = balanced(&run);
    assert_eq!(j["action"], "untag");
    assert_eq!(j["tag"], "Big Spender");
    assert_eq!(j["confirmed"], 1);
}

#[test]
fn json_stdout_is_one_object_even_with_warnings_and_errors() {
    let server = default_mock();
    server.push_faults([Fault::Status500]);
    let dir = Dir::new();
    let csv = dir.file(
        "ids.csv",
        "account,name\ncus_1,Ann\nbad id,Bob\ncus_3,Cid\n",
    );
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "-f",
            arg(&csv),
            "--max-retries",
            "0",
            "--output",
            "json",
        ],
    );
    run.expect_code(1);
    let j = balanced(&run);
    assert!(j.is_object());
    assert_eq!(
        (j["invalid"].as_u64(), j["failed"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(run.stderr.contains("warning: "), "stderr:\n{}", run.stderr);
    assert!(run.stderr.contains("error: "), "stderr:\n{}", run.stderr);
    assert!(
        run.stderr.contains("500 Internal Server Error"),
        "{}",
        run.stderr
    );
}

// ---- text, quiet, verbose ----

#[test]
fn text_summary_on_stdout_mentions_the_confirmed_count() {
    let server = default_mock();
    let args = ["tag", "VIP", "cus_1", "cus_2", "cus_3"];
    let run = run_against(&server, &args);
    run.expect_code(0);
    assert_transcript(
        "summary_complete",
        &args,
        &run,
        &Normalizer::new().server(&server),
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(&run.stdout).is_err(),
        "text by default"
    );
    assert!(
        run.stdout.contains("confirmed 3"),
        "stdout:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("VIP"), "stdout:\n{}", run.stdout);
    assert_eq!(run.stderr, "", "nothing on stderr on a clean run");
}

#[test]
fn text_summary_of_a_partial_run_says_what_failed() {
    let server = default_mock();
    server.push_faults([Fault::Status500]);
    let args = [
        "tag",
        "VIP",
        "cus_1",
        "cus_2",
        "--batch-size",
        "1",
        "--concurrency",
        "1",
        "--max-retries",
        "0",
    ];
    let run = run_against(&server, &args);
    run.expect_code(1);
    assert_transcript(
        "summary_partial",
        &args,
        &run,
        &Normalizer::new().server(&server),
    );
    assert!(
        run.stdout.contains("confirmed 1"),
        "stdout:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("failed 1"), "stdout:\n{}", run.stdout);
}

#[test]
fn quiet_prints_nothing_on_stdout_and_nothing_on_stderr_on_success() {
    let server = default_mock();
    let dir = Dir::new();
    // "Account Ref" cannot be an ID: taking it for a header decides nothing.
    let csv = dir.file("ids.csv", "Account Ref\ncus_1\ncus_2\n");
    let run = run_against(&server, &["tag", "VIP", "-f", arg(&csv), "--quiet"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "", "not even the first-column warning");
    assert_eq!(server.accepted_ids(), ["cus_1", "cus_2"]);
}

#[test]
fn quiet_still_reports_errors_on_stderr() {
    let server = default_mock();
    let run = run_against(&server, &["tag", "VIP", "cus_1", "a b", "-q"]);
    run.expect_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .count(),
        1,
        "stderr:\n{}",
        run.stderr
    );
}

#[test]
fn quiet_with_json_output_still_prints_the_json_summary() {
    let server = default_mock();
    let run = run_against(
        &server,
        &["tag", "VIP", "cus_1", "--quiet", "--output", "json"],
    );
    run.expect_code(0);
    let j = balanced(&run);
    assert_eq!(j["confirmed"], 1);
    assert_eq!(run.stderr, "");
}

#[test]
fn verbose_prints_one_stderr_line_per_request_with_method_url_attempt_and_status() {
    let server = default_mock();
    server.push_faults([Fault::Status500]);
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_1",
            "cus_2",
            "cus_3",
            "cus_4",
            "cus_5",
            "--batch-size",
            "2",
            "--concurrency",
            "1",
            "--verbose",
        ],
    );
    run.expect_code(0);
    let url = format!("{}/tags/VIP/customers", server.url());
    let per_request: Vec<String> = lines(&run.stderr)
        .into_iter()
        .filter(|l| l.contains(&url))
        .collect();
    assert_eq!(per_request.len(), 4, "3 batches + 1 retry:\n{}", run.stderr);
    assert_eq!(server.requests().len(), 4);
    let expected = [
        ("attempt 1", "500"),
        ("attempt 2", "204"),
        ("attempt 1", "204"),
        ("attempt 1", "204"),
    ];
    for (line, (attempt, status)) in per_request.iter().zip(expected) {
        assert!(line.starts_with(&format!("POST {url}")), "{line}");
        assert!(line.contains(attempt), "{attempt} in {line}");
        assert!(line.contains(status), "{status} in {line}");
    }
}

#[test]
fn verbose_untag_lines_name_delete() {
    let server = default_mock();
    let run = run_against(&server, &["untag", "VIP", "cus_1", "-v"]);
    run.expect_code(0);
    let url = format!("{}/tags/VIP/customers", server.url());
    let per_request: Vec<String> = lines(&run.stderr)
        .into_iter()
        .filter(|l| l.contains(&url))
        .collect();
    assert_eq!(per_request.len(), 1, "{}", run.stderr);
    assert!(
        per_request[0].starts_with(&format!("DELETE {url}")),
        "{}",
        per_request[0]
    );
    assert!(per_request[0].contains("attempt 1") && per_request[0].contains("204"));
}

#[test]
fn verbose_lines_show_the_remaining_rate_limit_budget() {
    let server = mock(MockConfig {
        rate_limit: Some(RateLimit::new(100, 60)),
        ..MockConfig::default()
    });
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_1",
            "cus_2",
            "--batch-size",
            "1",
            "--concurrency",
            "1",
            "-v",
        ],
    );
    run.expect_code(0);
    let per_request: Vec<String> = lines(&run.stderr)
        .into_iter()
        .filter(|l| l.contains("attempt 1"))
        .collect();
    assert_eq!(per_request.len(), 2, "{}", run.stderr);
    for line in &per_request {
        let remaining = line
            .split(", remaining ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no remaining budget in {line}"));
        assert!(remaining < 100, "{line}");
    }
}

// ---- --failed-ids ----

#[test]
fn failed_ids_file_is_created_and_empty_when_all_are_confirmed() {
    let server = default_mock();
    let dir = Dir::new();
    let failed = dir.path("failed.txt");
    run_against(
        &server,
        &["tag", "VIP", "cus_1", "cus_2", "--failed-ids", arg(&failed)],
    )
    .expect_code(0);
    assert_eq!(read_failed(&failed), "");
    assert_eq!(accepted_sorted(&server), ["cus_1", "cus_2"]);
}

#[test]
fn failed_ids_file_holds_exactly_the_unconfirmed_ids_in_input_order() {
    let server = default_mock();
    // Batches of 3, one at a time: batches 2 and 4 meet a 500 and are not retried.
    server.push_faults([pass(), Fault::Status500, pass(), Fault::Status500]);
    let dir = Dir::new();
    let all = ids(10);
    let input = dir.file("ids.txt", all.join("\n") + "\n");
    let failed = dir.path("failed.txt");
    let run = run_against(
        &server,
        &job_args("3", &failed, &["-f", arg(&input), "--max-retries", "0"]),
    );
    run.expect_code(1);
    let j = balanced(&run);
    assert_eq!(
        (j["confirmed"].as_u64(), j["failed"].as_u64()),
        (Some(6), Some(4))
    );
    let unconfirmed = [&all[3..6], &all[9..]].concat();
    assert_eq!(failed_lines(&failed), unconfirmed);
    let confirmed = [&all[..3], &all[6..9]].concat();
    assert_eq!(accepted_sorted(&server), confirmed);

    // Feeding the file back finishes the job.
    let again = dir.path("failed2.txt");
    run_against(
        &server,
        &[
            "tag",
            "VIP",
            "-f",
            arg(&failed),
            "--failed-ids",
            arg(&again),
        ],
    )
    .expect_code(0);
    assert_eq!(read_failed(&again), "");
    assert_eq!(server.tagged("VIP").into_iter().collect::<Vec<_>>(), all);
}

#[test]
fn failed_ids_file_includes_ids_never_sent_after_the_run_stopped() {
    let server = default_mock();
    let unauthorized = Fault::RawProblem {
        status: 401,
        content_type: "application/problem+json".into(),
        body: r#"{"status":401,"title":"Unauthorized","detail":"bad key"}"#.into(),
    };
    server.push_faults([pass(), unauthorized]);
    let dir = Dir::new();
    let failed = dir.path("failed.txt");
    let run = run_against(
        &server,
        &job_args(
            "2",
            &failed,
            &["cus_1", "cus_2", "cus_3", "cus_4", "cus_5", "cus_6"],
        ),
    );
    run.expect_code(4);
    let j = balanced(&run);
    assert_eq!(
        (
            count(&j, "confirmed"),
            count(&j, "failed"),
            count(&j, "unsent")
        ),
        (2, 2, 2),
        "the batch met by the 401 failed, the two never sent are unsent"
    );
    assert_eq!(failed_lines(&failed), ["cus_3", "cus_4", "cus_5", "cus_6"]);
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn failed_ids_may_name_the_ids_file_being_read() {
    let server = default_mock();
    let dir = Dir::new();
    let leftovers = dir.file("leftovers.txt", "cus_1\ncus_2\n");
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "-f",
            arg(&leftovers),
            "--failed-ids",
            arg(&leftovers),
        ],
    );
    // The contract ("--failed-ids after a crash"): the same file may be both;
    // what was not read of the input is kept, so the run reads it first (like
    // `sort -o`) and leaves only what is still to do.
    run.expect_code(0);
    assert_eq!(accepted_sorted(&server), ["cus_1", "cus_2"]);
    assert_eq!(read_failed(&leftovers), "");
}

#[test]
fn an_unwritable_failed_ids_path_is_a_usage_error_before_any_request() {
    let server = default_mock();
    let dir = Dir::new();
    let failed = dir.path("no-such-dir/failed.txt");
    let run = run_against(
        &server,
        &["tag", "VIP", "cus_1", "--failed-ids", arg(&failed)],
    );
    run.expect_code(2);
    assert_eq!(server.request_count(), 0);
    assert_eq!(run.stdout, "");
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ")
            && first.contains("--failed-ids")
            && first.contains("no-such-dir"),
        "stderr:\n{}",
        run.stderr
    );
}

// ---- --dry-run ----

#[test]
fn dry_run_sends_nothing_needs_no_credentials_and_prints_the_requests() {
    let server = default_mock();
    let url = server.url();
    let args = [
        "tag",
        "VIP",
        "cus_1",
        "cus_2",
        "cus_3",
        "cus_4",
        "cus_5",
        "--batch-size",
        "2",
        "--dry-run",
        "--api-url",
        &url,
    ];
    let run = run(tagctl().args(args));
    run.expect_code(0);
    assert_eq!(server.request_count(), 0);
    assert_transcript(
        "summary_dry_run",
        &args,
        &run,
        &Normalizer::new().server(&server),
    );
    let line = format!("POST {}/tags/VIP/customers", server.url());
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with(&line)).count(),
        3,
        "one line per request:\n{}",
        run.stdout
    );
}

#[test]
fn dry_run_with_invalid_ids_exits_1_and_sends_nothing() {
    let server = default_mock();
    let run = run(tagctl().args([
        "untag",
        "VIP",
        "cus_1",
        "a b",
        "--dry-run",
        "--api-url",
        &server.url(),
        "--output",
        "json",
    ]));
    run.expect_code(1);
    assert_eq!(server.request_count(), 0);
    let j = balanced(&run);
    assert_eq!(j["dry_run"], true);
    assert_eq!(j["invalid"], 1);
    assert_eq!(j["confirmed"], 0);
    assert_eq!(j["requests"], 0);
    assert!(
        run.stderr
            .contains(&format!("DELETE {}/tags/VIP/customers", server.url())),
        "with JSON on stdout the requests go to stderr:\n{}",
        run.stderr
    );
}

// ---- exit codes, version, help ----

#[test]
fn exit_code_is_0_on_full_success_and_1_when_any_id_is_invalid() {
    let server = default_mock();
    run_against(&server, &["tag", "VIP", "cus_1"]).expect_code(0);
    run_against(&server, &["tag", "VIP", "cus_2", "bad/id"]).expect_code(1);
    assert_eq!(accepted_sorted(&server), ["cus_1", "cus_2"]);
}

#[test]
fn version_and_help_exit_0() {
    let run_v = run(tagctl().arg("--version"));
    run_v.expect_code(0);
    assert_eq!(
        run_v.stdout.trim(),
        format!("tagctl {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [&["--help"][..], &["tag", "--help"], &["untag", "--help"]] {
        let run = run(tagctl().args(args));
        run.expect_code(0);
        assert!(run.stdout.contains("Usage"), "{args:?}:\n{}", run.stdout);
    }
    assert!(
        run(tagctl().args(["tag", "--help"]))
            .stdout
            .contains("--ids-file")
    );
}
