//! `verify` and `tag|untag --verify`: a 204 only schedules a write, so the
//! customers are read back (`GET /customers?filter=id:…`, at most 100 IDs a
//! read) and each ID is matching, missing, not found or unchecked. A server
//! that ignores the filter or answers in another shape never yields
//! "all verified".

use std::time::{Duration, Instant};

use tagctl_mock::{Operation, Universe};

use crate::support::*;

/// The verify counts of a JSON summary, in the contract's order, after
/// checking its accounting identity.
#[track_caller]
fn fates(run: &Run) -> [u64; 4] {
    let j = run.json();
    let n = |k: &str| count(&j, k);
    assert_eq!(
        n("ids_read"),
        n("duplicates")
            + n("invalid")
            + n("matching")
            + n("missing")
            + n("not_found")
            + n("unchecked"),
        "accounting identity in {j}"
    );
    [n("matching"), n("missing"), n("not_found"), n("unchecked")]
}

/// The ID filters of every customer read the server got, in arrival order.
fn reads(server: &MockServer) -> Vec<Vec<String>> {
    server
        .requests_of(Operation::ListCustomers)
        .into_iter()
        .map(|r| r.ids)
        .collect()
}

/// Tags `ids` with `tag` through the mock itself (no tagctl involved).
fn pre_tag(server: &MockServer, tag: &str, ids: &[&str]) {
    let mut args = vec!["tag", tag, "--quiet"];
    args.extend_from_slice(ids);
    run_against(server, &args).expect_code(0);
}

#[test]
fn all_tagged_customers_match_and_the_text_says_so() {
    let server = default_mock();
    pre_tag(&server, "VIP", &["cus_1", "cus_2"]);
    let out = run_against(&server, &["verify", "VIP", "cus_1", "cus_2", "cus_1"]);
    out.expect_code(0);
    assert_eq!(
        mask_ports(&mask_elapsed(&out.stdout)),
        "Verified: all 2 customers carry \"VIP\" (1 request, #.#s).\n\
         \x20 read 3, duplicates 1, invalid 0, matching 2, missing 0, not found 0, unchecked 0\n\
         \x20 requests 1, retries 0, rate-limited 0\n\
         \x20 endpoint http://127.0.0.1:PORT\n"
    );
    assert_eq!(out.stderr, "");
    let read = &server.requests_of(Operation::ListCustomers)[0];
    assert_eq!(
        read.path,
        "/customers?filter=id:cus_1,cus_2&fields=id,tags&limit=2"
    );
    assert_eq!(read.api_key.as_deref(), Some(KEY));
}

#[test]
fn the_json_summary_has_the_contract_fields() {
    let server = mock(MockConfig {
        customers: Universe::Numbered(3),
        ..MockConfig::default()
    });
    pre_tag(&server, "VIP", &["cus_00000"]);
    let out = run_against(
        &server,
        &[
            "verify",
            "VIP",
            "cus_00000",
            "cus_00001",
            "cus_09999",
            "bad id",
            "--output",
            "json",
        ],
    );
    out.expect_code(1);
    assert_eq!(fates(&out), [1, 1, 1, 0]);
    let j = out.json();
    assert_eq!(
        (j["action"].as_str(), j["expect"].as_str()),
        (Some("verify"), Some("present"))
    );
    assert_eq!((j["tag"].as_str(), count(&j, "invalid")), (Some("VIP"), 1));
    for key in [
        "requests",
        "retries",
        "rate_limited",
        "elapsed_ms",
        "problems",
    ] {
        assert!(j.get(key).is_some(), "{key} in {j}");
    }
}

#[test]
fn tag_names_match_in_any_case_with_a_space_and_a_plus() {
    let server = default_mock();
    pre_tag(&server, "Big Spender+1", &["a", "b"]);
    let out = run_against(
        &server,
        &["verify", "big SPENDER+1", "a", "b", "--output", "json"],
    );
    out.expect_code(0);
    assert_eq!(fates(&out), [2, 0, 0, 0]);
    assert_eq!(server.tagged("BIG spender+1").len(), 2);
}

#[test]
fn reads_carry_at_most_100_ids_each() {
    let server = default_mock();
    let all = ids(250);
    let file = Dir::new();
    let input = file.file("ids.txt", all.join("\n"));
    let out = run_against(
        &server,
        &[
            "verify",
            "VIP",
            "-f",
            arg(&input),
            "--expect",
            "absent",
            "--output",
            "json",
            "--concurrency",
            "1",
        ],
    );
    out.expect_code(0);
    assert_eq!(fates(&out), [250, 0, 0, 0]);
    let sizes: Vec<usize> = reads(&server).iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let asked: Vec<String> = reads(&server).concat();
    assert_eq!(asked, all, "every ID asked once, in input order");
}

#[test]
fn delayed_writes_are_missing_without_wait_and_matching_with_it() {
    let server = mock(MockConfig {
        apply_delay: Duration::from_millis(600),
        ..MockConfig::default()
    });
    pre_tag(&server, "VIP", &["a", "b"]);
    let dir = Dir::new();
    let missing = dir.path("missing.txt");
    let once = run_against(
        &server,
        &[
            "verify",
            "VIP",
            "a",
            "b",
            "--output",
            "json",
            "--missing-ids",
            arg(&missing),
        ],
    );
    once.expect_code(1);
    assert_eq!(fates(&once), [0, 2, 0, 0]);
    assert_eq!(failed_lines(&missing), ["a", "b"]);

    let started = Instant::now();
    let waited = run_against(
        &server,
        &[
            "verify",
            "VIP",
            "a",
            "b",
            "--wait",
            "5",
            "--output",
            "json",
            "--missing-ids",
            arg(&missing),
        ],
    );
    waited.expect_code(0);
    assert_eq!(fates(&waited), [2, 0, 0, 0]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(read_failed(&missing), "", "empty when all match");
    assert_eq!(
        waited.stderr,
        "2 customers do not match yet; checking again in 1s\n"
    );
}

#[test]
fn only_what_does_not_match_is_checked_again_and_never_applied_ids_are_listed() {
    let server = mock(MockConfig {
        customers: Universe::Numbered(10),
        never_apply: ["cus_00002".to_owned()].into(),
        ..MockConfig::default()
    });
    pre_tag(&server, "VIP", &["cus_00001", "cus_00002"]);
    let dir = Dir::new();
    let missing = dir.path("missing.txt");
    let out = run_against(
        &server,
        &[
            "verify",
            "VIP",
            "cus_00001",
            "cus_00002",
            "cus_77777",
            "--wait",
            "1.5",
            "--output",
            "json",
            "--missing-ids",
            arg(&missing),
        ],
    );
    out.expect_code(1);
    assert_eq!(fates(&out), [1, 1, 1, 0]);
    let mut listed = failed_lines(&missing);
    listed.sort();
    assert_eq!(
        listed,
        ["cus_00002", "cus_77777"],
        "re-checked IDs come last"
    );
    assert_eq!(
        reads(&server),
        [
            vec![
                "cus_00001".to_owned(),
                "cus_00002".into(),
                "cus_77777".into()
            ],
            vec!["cus_00002".to_owned()],
            vec!["cus_00002".to_owned()],
        ],
        "after 1 s and at the end of the wait, only the missing one"
    );
}

#[test]
fn expect_absent_after_an_untag() {
    let server = default_mock();
    pre_tag(&server, "VIP", &["a", "b", "c"]);
    run_against(&server, &["untag", "VIP", "a", "b", "--quiet"]).expect_code(0);
    let out = run_against(
        &server,
        &[
            "verify", "VIP", "a", "b", "c", "--expect", "absent", "--output", "json",
        ],
    );
    out.expect_code(1);
    assert_eq!(fates(&out), [2, 1, 0, 0]);
}

#[test]
fn a_server_that_ignores_the_filter_never_verifies_anything() {
    let server = mock(MockConfig {
        customers: Universe::Numbered(200),
        ignore_filter: true,
        ..MockConfig::default()
    });
    pre_tag(&server, "VIP", &["cus_00150", "cus_00151"]);
    let out = run_against(
        &server,
        &[
            "verify",
            "VIP",
            "cus_00150",
            "cus_00151",
            "--expect",
            "absent",
            "--output",
            "json",
        ],
    );
    out.expect_code(1);
    assert_eq!(fates(&out), [0, 0, 0, 2]);
    assert_eq!(out.json()["stopped"], "the server ignored the filter");
    assert_eq!(
        out.stderr,
        "error: batch 1 (2 IDs, cus_00150 … cus_00151): the server returned customer \"cus_00000\", which was not asked for: it ignored the filter, so no answer can be trusted; stopping, nothing is reported as matching\n"
    );
}

#[test]
fn answers_of_another_shape_leave_ids_unchecked() {
    let server = default_mock();
    let raw = |body: &str| Fault::RawProblem {
        status: 200,
        content_type: "application/json".into(),
        body: body.into(),
    };
    let cases = [
        (raw("not json"), [0, 0, 0, 2]),
        (raw(r#"{"id":"a"}"#), [0, 0, 0, 2]),
        (raw(r#"[{"id":"a"},{"id":"b","tags":[]}]"#), [0, 1, 0, 1]),
    ];
    for (fault, want) in cases {
        server.push_faults([fault.clone()]);
        let out = run_against(&server, &["verify", "VIP", "a", "b", "--output", "json"]);
        out.expect_code(1);
        assert_eq!(fates(&out), want, "{fault}");
    }
}

#[test]
fn refused_credentials_on_reads_exit_4() {
    for status in ["401", "403"] {
        let server = default_mock();
        server.push_faults([Fault::RawProblem {
            status: status.parse().unwrap(),
            content_type: "application/problem+json".into(),
            body: r#"{"title":"Nope"}"#.into(),
        }]);
        let out = run_against(&server, &["verify", "VIP", "a", "--output", "json"]);
        out.expect_code(4);
        assert_eq!(fates(&out), [0, 0, 0, 1], "{status}");
    }
}

#[test]
fn rate_limits_and_server_errors_on_reads_are_retried() {
    let server = mock(MockConfig {
        rate_limit_reads: true,
        ..MockConfig::default()
    });
    server.push_faults([
        Fault::TooManyRequests {
            reset_in: Some(Duration::from_millis(300)),
        },
        Fault::Status500,
        Fault::Empty503,
    ]);
    let out = run_against(
        &server,
        &[
            "verify", "VIP", "a", "--expect", "absent", "--output", "json",
        ],
    );
    out.expect_code(0);
    assert_eq!(fates(&out), [1, 0, 0, 0]);
    let j = out.json();
    assert_eq!(
        (
            count(&j, "requests"),
            count(&j, "retries"),
            count(&j, "rate_limited")
        ),
        (4, 3, 1)
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_a_wait_ends_at_once_with_the_summary() {
    let server = mock(MockConfig {
        never_apply: ["a".to_owned()].into(),
        ..MockConfig::default()
    });
    let dir = Dir::new();
    let (stdout, stderr) = (dir.path("out"), dir.path("err"));
    let report = dir.path("report.csv");
    let mut child = process_against(
        &server,
        &[
            "verify",
            "VIP",
            "a",
            "--wait",
            "60",
            "--output",
            "json",
            "--report",
            arg(&report),
        ],
    )
    .stdout(std::fs::File::create(&stdout).unwrap())
    .stderr(std::fs::File::create(&stderr).unwrap())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&stderr)
        .unwrap()
        .contains("checking again")
    {
        assert!(Instant::now() < deadline, "no wait began");
        std::thread::sleep(Duration::from_millis(10));
    }
    let interrupted = Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(interrupted.elapsed() < Duration::from_secs(2));
    assert_eq!(status.code(), Some(130));
    let out = Run {
        code: 130,
        stdout: std::fs::read_to_string(&stdout).unwrap(),
        stderr: std::fs::read_to_string(&stderr).unwrap(),
    };
    assert_eq!(fates(&out), [0, 1, 0, 0]);
    assert_eq!(out.json()["interrupted"], true);
    assert_eq!(reads(&server).len(), 1);
    assert_eq!(
        std::fs::read_to_string(&report).unwrap(),
        "customerId,outcome,status,detail,source\na,missing,200,the tag is missing,arg:1\n",
        "the deferred row is written when the wait is cut short"
    );
}

#[test]
fn tag_verify_reads_back_the_confirmed_ids() {
    let server = mock(MockConfig {
        customers: Universe::Numbered(5),
        apply_delay: Duration::from_millis(300),
        reject_ids: ["cus_00004".to_owned()].into(),
        ..MockConfig::default()
    });
    let dir = Dir::new();
    let (failed, missing) = (dir.path("failed.txt"), dir.path("missing.txt"));
    let out = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_00000",
            "cus_00001",
            "cus_00004",
            "cus_00042",
            "--verify",
            "--verify-wait",
            "3",
            "--output",
            "json",
            "--failed-ids",
            arg(&failed),
            "--missing-ids",
            arg(&missing),
        ],
    );
    out.expect_code(1);
    let j = balanced(&out);
    assert_eq!((count(&j, "confirmed"), count(&j, "failed")), (3, 1));
    assert_eq!(
        j["verify"],
        serde_json::json!({"matching": 2, "missing": 0, "not_found": 1, "unchecked": 0})
    );
    assert_eq!(failed_lines(&failed), ["cus_00004"]);
    assert_eq!(failed_lines(&missing), ["cus_00042"]);
    // Only the confirmed IDs were read back.
    assert_eq!(reads(&server)[0], ["cus_00000", "cus_00001", "cus_00042"]);
}

#[test]
fn untag_verify_expects_absent_and_exits_0_when_all_match() {
    let server = default_mock();
    pre_tag(&server, "VIP", &["a", "b"]);
    let out = run_against(
        &server,
        &["untag", "VIP", "a", "b", "--verify", "--output", "json"],
    );
    out.expect_code(0);
    assert_eq!(
        balanced(&out)["verify"],
        serde_json::json!({"matching": 2, "missing": 0, "not_found": 0, "unchecked": 0})
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_the_read_back_of_tag_verify_is_exit_130() {
    let server = mock(MockConfig {
        never_apply: ["a".to_owned()].into(),
        ..MockConfig::default()
    });
    let dir = Dir::new();
    let (stdout, stderr) = (dir.path("out"), dir.path("err"));
    let mut child = process_against(
        &server,
        &["tag", "VIP", "a", "--verify", "--output", "json"],
    )
    .stdout(std::fs::File::create(&stdout).unwrap())
    .stderr(std::fs::File::create(&stderr).unwrap())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&stderr)
        .unwrap()
        .contains("checking again")
    {
        assert!(Instant::now() < deadline, "no wait began");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let out = Run {
        code: 130,
        stdout: std::fs::read_to_string(&stdout).unwrap(),
        stderr: std::fs::read_to_string(&stderr).unwrap(),
    };
    let j = balanced(&out);
    assert_eq!(count(&j, "confirmed"), 1);
    assert_eq!(
        j["verify"],
        serde_json::json!({"matching": 0, "missing": 1, "not_found": 0, "unchecked": 0})
    );
}

#[test]
fn an_unwritable_missing_ids_path_is_exit_2_before_any_read() {
    let server = default_mock();
    let dir = Dir::new();
    let path = dir.root().join("no-such-dir").join("missing.txt");
    let out = run_against(
        &server,
        &["verify", "VIP", "a", "--missing-ids", arg(&path)],
    );
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        format!(
            "error: --missing-ids: cannot write {}: No such file or directory\n",
            path.display()
        )
    );
    assert!(server.requests().is_empty());
}

#[test]
fn the_text_summary_of_tag_verify_ends_with_the_verify_line() {
    let server = default_mock();
    let out = run_against(&server, &["tag", "VIP", "a", "b", "--verify"]);
    out.expect_code(0);
    assert_eq!(
        mask_ports(&mask_elapsed(&out.stdout)),
        "Tagged 2 customers with \"VIP\" in 1 request (#.#s).\n\
         \x20 read 2, duplicates 0, invalid 0, confirmed 2, failed 0, unsent 0\n\
         \x20 requests 1, retries 0, rate-limited 0\n\
         \x20 endpoint http://127.0.0.1:PORT\n\
         \x20 verified: matching 2, missing 0, not found 0, unchecked 0\n"
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn an_unreachable_api_is_exit_3_and_every_id_unchecked() {
    // A port that was bound and released: connections are refused.
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let out = run(tagctl().env("REBILLY_API_KEY", KEY).args([
        "verify",
        "VIP",
        "a",
        "b",
        "--api-url",
        &url,
        "--max-retries",
        "1",
        "--output",
        "json",
    ]));
    out.expect_code(3);
    assert_eq!(fates(&out), [0, 0, 0, 2]);
    assert_eq!(out.json()["stopped"], "unreachable");
}

#[test]
fn missing_ids_never_shows_an_earlier_run_even_after_a_kill() {
    // --missing-ids follows --failed-ids' rules: emptied when the run starts.
    let server = mock(MockConfig {
        never_apply: ["a".to_owned()].into(),
        ..MockConfig::default()
    });
    let dir = Dir::new();
    let missing = dir.file("missing.txt", "yesterday_1\nyesterday_2\n");
    let mut child = process_against(
        &server,
        &[
            "verify",
            "VIP",
            "a",
            "--wait",
            "60",
            "--missing-ids",
            arg(&missing),
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    wait_for_requests(&server, 1);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read_to_string(&missing).unwrap(), "");
}

#[test]
fn missing_ids_may_be_the_input_it_came_from() {
    let server = default_mock();
    pre_tag(&server, "VIP", &["cus_1", "cus_3"]);
    let dir = Dir::new();
    let list = dir.file("list.txt", "cus_1\ncus_2\ncus_3\ncus_4\n");
    let run = run_against(
        &server,
        &[
            "verify",
            "VIP",
            "-f",
            arg(&list),
            "--missing-ids",
            arg(&list),
            "--quiet",
        ],
    );
    run.expect_code(1);
    assert_eq!(std::fs::read_to_string(&list).unwrap(), "cus_2\ncus_4\n");
}
