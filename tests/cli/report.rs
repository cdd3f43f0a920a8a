//! `--report`: one CSV row per ID read, with its outcome, last status,
//! reason and source, for every fate an ID can meet.
#![cfg(unix)]

use std::process::Stdio;
use std::time::Duration;

use crate::journal::{Running, wait_for_requests};
use crate::support::*;

/// The report's rows (header first), the data rows sorted: rows may come
/// in any order.
fn rows(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("the report");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[1..].sort();
    lines
}

const HEADER: &str = "customerId,outcome,status,detail,source";

#[test]
fn every_id_read_has_one_row_with_its_fate() {
    let server = mock(MockConfig {
        reject_ids: ["cus_rej".to_string()].into(),
        ..MockConfig::default()
    });
    // The first batch fails twice: with --max-retries 1 it is given up.
    server.push_faults([Fault::Status500, Fault::Status500]);
    let dir = Dir::new();
    let input = dir.file(
        "ids.csv",
        "customerId,email\ncus_1,a@x\ncus_2,b@x\ncus_1,c@x\n\"bad, id\",d@x\ncus_3,e@x\ncus_rej,f@x\n",
    );
    let report = dir.path("report.csv");
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "-f",
            arg(&input),
            "--batch-size",
            "2",
            "--concurrency",
            "1",
            "--max-retries",
            "1",
            "--report",
            arg(&report),
            "--output",
            "json",
        ],
    );
    run.expect_code(1);
    let json = balanced(&run);
    let input_name = input.display().to_string();
    let src = |line: u32| format!("{input_name}:{line}");
    assert_eq!(
        rows(&report),
        [
            HEADER.to_string(),
            format!(
                "\"bad, id\",invalid,,\"only ASCII letters, digits and _ @ ~ - . are allowed\",{}",
                src(5)
            ),
            format!("cus_1,duplicate,,,{}", src(4)),
            format!(
                "cus_1,failed,500,An injected fault: the server failed to process the request.,{}",
                src(2)
            ),
            format!(
                "cus_2,failed,500,An injected fault: the server failed to process the request.,{}",
                src(3)
            ),
            format!("cus_3,confirmed,204,,{}", src(6)),
            format!("cus_rej,failed,422,Customer not found,{}", src(7)),
        ],
        "{json}"
    );
    assert_eq!(count(&json, "ids_read"), 6);
}

#[test]
fn arguments_and_standard_input_are_sourced_as_such() {
    let server = default_mock();
    let dir = Dir::new();
    let report = dir.path("r.csv");
    let run = run(against(
        &server,
        &[
            "tag",
            "VIP",
            "x_1",
            "x_2",
            "-f",
            "-",
            "--report",
            arg(&report),
        ],
    )
    .write_stdin("s_1\n\ns_2\nx_1\n"));
    run.expect_code(0);
    assert_eq!(
        rows(&report),
        [
            HEADER,
            "s_1,confirmed,204,,stdin:1",
            "s_2,confirmed,204,,stdin:3",
            "x_1,confirmed,204,,arg:1",
            "x_1,duplicate,,,stdin:4",
            "x_2,confirmed,204,,arg:2",
        ]
    );
}

#[test]
fn after_ctrl_c_the_ids_never_sent_are_unsent_rows() {
    let server = mock(MockConfig {
        latency: Duration::from_millis(300),
        ..MockConfig::default()
    });
    let dir = Dir::new();
    let all = ids(30);
    let input = dir.file("ids.txt", all.join("\n"));
    let report = dir.path("r.csv");
    let running = Running::spawn(
        &server,
        &dir,
        &[
            "tag",
            "VIP",
            "-f",
            arg(&input),
            "--batch-size",
            "10",
            "--concurrency",
            "1",
            "--report",
            arg(&report),
            "--output",
            "json",
        ],
        Stdio::null(),
    );
    wait_for_requests(&server, 1);
    running.signal("INT");
    let run = running.finish();
    run.expect_code(130);
    let json = balanced(&run);
    let name = input.display().to_string();
    let mut want = vec![HEADER.to_string()];
    for (i, id) in all.iter().enumerate() {
        let outcome = if i < 10 { "confirmed,204" } else { "unsent," };
        want.push(format!("{id},{outcome},,{name}:{}", i + 1));
    }
    want[1..].sort();
    assert_eq!(rows(&report), want, "{json}");
}

#[test]
fn a_resumed_run_reports_the_journaled_ids_as_resumed() {
    let server = default_mock();
    let dir = Dir::new();
    let j = dir.path("j");
    let report = dir.path("r.csv");
    // A first run that stops early (a rate-limit wait past --max-wait on its
    // second batch) leaves an unfinished journal.
    server.push_faults([
        Fault::Slow(Duration::ZERO),
        Fault::TooManyRequests {
            reset_in: Some(Duration::from_secs(60)),
        },
    ]);
    let args = [
        "tag",
        "VIP",
        "a_1",
        "a_2",
        "--batch-size",
        "1",
        "--concurrency",
        "1",
        "--max-wait",
        "5",
        "--journal",
        arg(&j),
        "--report",
        arg(&report),
    ];
    run_against(&server, &args).expect_code(1);
    run_against(&server, &args).expect_code(0);
    assert_eq!(
        rows(&report),
        [
            HEADER,
            "a_1,resumed,,confirmed by the run the journal records,arg:1",
            "a_2,confirmed,204,,arg:2",
        ]
    );
}

#[test]
fn an_unwritable_report_is_exit_2_before_any_request() {
    let server = default_mock();
    let dir = Dir::new();
    let path = dir.path("no-such-dir/r.csv");
    let run = run_against(&server, &["tag", "VIP", "x", "--report", arg(&path)]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        format!(
            "error: --report: cannot write {}: No such file or directory\n",
            path.display()
        )
    );
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_verify_report_has_one_row_per_id_with_its_final_fate() {
    let server = mock(MockConfig {
        customers: tagctl_mock::Universe::Numbered(10),
        apply_delay: Duration::from_millis(600),
        never_apply: ["cus_00002".to_owned()].into(),
        ..MockConfig::default()
    });
    // cus_00001 carries the tag 600 ms from now; cus_00002 never will.
    run_against(
        &server,
        &["tag", "VIP", "--quiet", "cus_00001", "cus_00002"],
    )
    .expect_code(0);
    let dir = Dir::new();
    let input = dir.file(
        "ids.txt",
        "cus_00002\ncus_00001\ncus_00001\ncus_77777\nbad id!\n",
    );
    let (report, missing) = (dir.path("report.csv"), dir.path("missing.txt"));
    let run = run_against(
        &server,
        &[
            "verify",
            "VIP",
            "cus_00003",
            "-f",
            arg(&input),
            "--wait",
            "1.5",
            "--report",
            arg(&report),
            "--missing-ids",
            arg(&missing),
            "--output",
            "json",
        ],
    );
    run.expect_code(1);
    let j = run.json();
    let src = |line: u32| format!("{}:{line}", input.display());
    assert_eq!(
        rows(&report),
        [
            HEADER.to_string(),
            format!(
                "bad id!,invalid,,\"only ASCII letters, digits and _ @ ~ - . are allowed\",{}",
                src(5)
            ),
            format!("cus_00001,duplicate,,,{}", src(3)),
            format!("cus_00001,matching,200,,{}", src(2)),
            format!("cus_00002,missing,200,the tag is missing,{}", src(1)),
            "cus_00003,missing,200,the tag is missing,arg:1".to_string(),
            format!("cus_77777,not_found,200,no such customer,{}", src(4)),
        ],
        "{j}"
    );
    assert_eq!(
        [
            count(&j, "ids_read"),
            count(&j, "matching"),
            count(&j, "missing"),
            count(&j, "not_found"),
        ],
        [6, 1, 2, 1]
    );
    assert_eq!(
        failed_lines(&missing),
        ["cus_00003", "cus_00002", "cus_77777"],
        "in input order, re-checked or not"
    );
    let reads: Vec<Vec<String>> = server
        .requests_of(tagctl_mock::Operation::ListCustomers)
        .into_iter()
        .map(|r| r.ids)
        .collect();
    assert_eq!(
        reads,
        [
            vec!["cus_00003", "cus_00002", "cus_00001", "cus_77777"],
            vec!["cus_00003", "cus_00002", "cus_00001"],
            vec!["cus_00003", "cus_00002"],
        ],
        "cus_00001 was missing at first, matching on the re-check after 1 s"
    );
}

#[test]
fn a_verify_read_that_keeps_failing_leaves_its_ids_unchecked_in_the_report() {
    let server = default_mock();
    server.push_faults([Fault::Status500, Fault::Status500]);
    let dir = Dir::new();
    let report = dir.path("report.csv");
    let run = run_against(
        &server,
        &[
            "verify",
            "VIP",
            "a",
            "b",
            "a",
            "--max-retries",
            "1",
            "--report",
            arg(&report),
            "--output",
            "json",
        ],
    );
    run.expect_code(1);
    assert_eq!(count(&run.json(), "unchecked"), 2);
    assert_eq!(
        rows(&report),
        [
            HEADER,
            "a,duplicate,,,arg:3",
            "a,unchecked,500,An injected fault: the server failed to process the request.,arg:1",
            "b,unchecked,500,An injected fault: the server failed to process the request.,arg:2",
        ]
    );
}

#[test]
fn a_verify_report_after_an_untag_says_who_still_carries_the_tag() {
    let server = default_mock();
    run_against(&server, &["tag", "VIP", "--quiet", "a"]).expect_code(0);
    let dir = Dir::new();
    let report = dir.path("report.csv");
    let run = run_against(
        &server,
        &[
            "verify",
            "VIP",
            "a",
            "b",
            "--expect",
            "absent",
            "--quiet",
            "--report",
            arg(&report),
        ],
    );
    run.expect_code(1);
    assert_eq!(
        rows(&report),
        [
            HEADER,
            "a,missing,200,the customer still carries the tag,arg:1",
            "b,matching,200,,arg:2",
        ]
    );
}
