//! Hostile and failing servers: transient failures are retried, exhausted
//! retries are accounted for, problem details of any shape are printed
//! safely, and nothing the server sends can hang the client or eat memory.

use std::time::{Duration, Instant};

use crate::support::*;

/// `tagctl tag VIP` with 6 IDs in batches of 2, one at a time, JSON output,
/// `--failed-ids` in `dir`, and `extra` arguments.
fn run_six(server: &MockServer, dir: &Dir, extra: &[&str]) -> Run {
    let ids = ids(6);
    let failed = dir.path("failed.txt");
    let mut args = job_args("2", &failed, extra);
    args.extend(id_args(&ids));
    run(against(server, &args).timeout(Duration::from_secs(20)))
}

/// The `--failed-ids` file of [`run_six`].
fn failed_ids(dir: &Dir) -> String {
    read_failed(&dir.path("failed.txt"))
}

/// IDs `range` of [`ids`], one per line, as `--failed-ids` writes them.
fn lines(range: std::ops::Range<usize>) -> String {
    ids(6)[range].iter().map(|id| format!("{id}\n")).collect()
}

/// The first request meets `fault`; the run must retry it and end with
/// every ID confirmed. Returns the server for fault-specific checks.
fn retried_once(fault: Fault, status: u16, extra: &[&str]) -> MockServer {
    let server = default_mock();
    let name = fault.to_string();
    server.push_faults([fault]);
    let dir = Dir::new();
    let out = run_six(&server, &dir, extra);
    out.expect_code(0);
    let j = balanced(&out);
    assert_eq!(j["confirmed"], 6, "{j}");
    assert_eq!(j["failed"], 0);
    assert_eq!(j["requests"], 4, "3 batches and one retry: {j}");
    assert_eq!(j["retries"], 1);
    assert_eq!(j["rate_limited"], 0);
    assert_eq!(failed_ids(&dir), "");
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "{requests:#?}");
    assert_eq!(requests[0].fault.as_deref(), Some(name.as_str()));
    assert_eq!(requests[0].status, status, "{name}");
    assert_eq!(requests[1].ids, requests[0].ids, "the same batch again");
    assert!(requests[1..].iter().all(|r| r.status == 204));
    assert_eq!(
        server.tagged("VIP").into_iter().collect::<Vec<_>>(),
        ids(6),
        "{name}"
    );
    server
}

#[test]
fn a_500_is_retried_and_every_id_confirmed_once() {
    let server = retried_once(Fault::Status500, 500, &[]);
    assert_eq!(accepted_sorted(&server), ids(6));
}

#[test]
fn an_html_502_from_a_proxy_is_retried_and_every_id_confirmed_once() {
    let server = retried_once(Fault::Html502, 502, &[]);
    assert_eq!(accepted_sorted(&server), ids(6));
}

#[test]
fn an_empty_503_is_retried_and_every_id_confirmed_once() {
    let server = retried_once(Fault::Empty503, 503, &[]);
    assert_eq!(accepted_sorted(&server), ids(6));
}

#[test]
fn a_dropped_connection_is_retried_and_every_id_confirmed_once() {
    let server = retried_once(Fault::Drop, 0, &[]);
    assert_eq!(accepted_sorted(&server), ids(6));
}

#[test]
fn a_408_is_retried_and_every_id_confirmed_once() {
    let fault = Fault::RawProblem {
        status: 408,
        content_type: "application/problem+json".into(),
        body: r#"{"title":"Request Timeout","status":408}"#.into(),
    };
    let server = retried_once(fault, 408, &[]);
    assert_eq!(accepted_sorted(&server), ids(6));
}

#[test]
fn a_request_slower_than_timeout_is_retried_and_every_id_confirmed() {
    let start = Instant::now();
    let server = default_mock();
    server.push_faults([Fault::Slow(Duration::from_millis(1500))]);
    let dir = Dir::new();
    let out = run_six(&server, &dir, &["--timeout", "0.3"]);
    out.expect_code(0);
    let elapsed = start.elapsed();
    let j = balanced(&out);
    assert_eq!(j["confirmed"], 6, "{j}");
    assert_eq!(j["requests"], 4);
    assert_eq!(j["retries"], 1);
    assert!(
        elapsed < Duration::from_millis(1400),
        "gave up on the slow request: {elapsed:?}"
    );
    // The abandoned request may still be answered (and applied) by the
    // server later: the API is idempotent, so that is harmless. Every ID is
    // tagged, and all but the slow batch's were accepted exactly once.
    assert_eq!(server.tagged("VIP").into_iter().collect::<Vec<_>>(), ids(6));
    let accepted = server.accepted_ids();
    for id in ids(6) {
        let n = accepted.iter().filter(|a| **a == id).count();
        assert!((1..=2).contains(&n), "{id} accepted {n} times");
    }
    let retried = server
        .requests()
        .into_iter()
        .find(|r| r.fault.is_none() && r.ids == ["cus_00000", "cus_00001"])
        .expect("the slow batch was sent again");
    assert_eq!(retried.status, 204);
}

#[test]
fn exhausted_retries_fail_each_batch_and_list_exactly_its_ids() {
    let server = default_mock();
    // Batches 1 and 2 meet a 500 on each of their 3 attempts; batch 3 passes.
    server.push_faults((0..6).map(|_| Fault::Status500));
    let dir = Dir::new();
    let out = run_six(&server, &dir, &["--max-retries", "2"]);
    out.expect_code(1);
    let j = balanced(&out);
    assert_eq!(j["confirmed"], 2, "{j}");
    assert_eq!(j["failed"], 4);
    assert_eq!(j["unsent"], 0);
    assert_eq!(j["requests"], 7);
    assert_eq!(j["retries"], 4);
    assert_eq!(failed_ids(&dir), lines(0..4));
    assert_eq!(accepted_sorted(&server), ids(6)[4..]);
    assert_eq!(server.request_count(), 7);
    let problems = j["problems"].as_array().unwrap();
    assert!(!problems.is_empty());
    assert!(problems.iter().all(|p| p["status"] == 500), "{j}");
    // The problem, printed once per failed batch.
    let stderr: Vec<&str> = out.stderr.lines().collect();
    for (batch, first, last) in [(1, "cus_00000", "cus_00001"), (2, "cus_00002", "cus_00003")] {
        let head =
            format!("error: batch {batch} (2 IDs, {first} … {last}) failed after 3 attempts");
        let at = stderr
            .iter()
            .position(|l| *l == head)
            .unwrap_or_else(|| panic!("`{head}` on stderr:\n{}", out.stderr));
        assert_eq!(
            stderr.get(at + 1).map(|l| l.trim()),
            Some("500 Internal Server Error"),
            "{}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("batch 3"), "{}", out.stderr);
}

/// Runs 1 ID against a server whose only answer is `fault`, without retries;
/// returns the run (exit 1 checked).
fn fails_once(fault: Fault, extra: &[&str]) -> Run {
    let server = default_mock();
    server.push_faults([fault]);
    let out = run(
        against(&server, &["tag", "VIP", "cus_1", "--max-retries", "0"])
            .args(extra)
            .timeout(Duration::from_secs(20)),
    );
    out.expect_code(1);
    assert_eq!(server.request_count(), 1);
    out
}

#[test]
fn an_html_502_is_printed_as_a_status_line_without_markup() {
    let out = fails_once(Fault::Html502, &[]);
    let lines: Vec<&str> = out.stderr.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"502 Bad Gateway"),
        "a status line:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains('<') && !out.stderr.contains('>'),
        "no raw HTML:\n{}",
        out.stderr
    );
}

#[test]
fn an_empty_503_is_printed_as_its_status_line() {
    let out = fails_once(Fault::Empty503, &[]);
    let lines: Vec<&str> = out.stderr.lines().map(str::trim).collect();
    assert!(lines.contains(&"503 Service Unavailable"), "{}", out.stderr);
}

#[test]
fn an_endless_error_body_neither_hangs_the_client_nor_eats_its_memory() {
    let server = default_mock();
    server.push_faults([Fault::HugeBody, Fault::HugeBody]);
    let limit = Duration::from_secs(10);
    // Given up on at once...
    let args = [
        "tag",
        "VIP",
        "cus_1",
        "--max-retries",
        "0",
        "--output",
        "json",
    ];
    let (out, elapsed, peak) = run_measured(&server, &args, limit);
    out.expect_code(1);
    let j = balanced(&out);
    assert_eq!(j["failed"], 1);
    assert_eq!(j["problems"][0]["status"], 500, "{j}");
    let lines: Vec<&str> = out.stderr.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"500 Internal Server Error"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.len() < 4096,
        "a short excerpt: {} bytes",
        out.stderr.len()
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
    assert!(
        peak > 0 || !cfg!(target_os = "linux"),
        "the memory was measured"
    );
    // ...and retried through.
    let args = ["tag", "VIP", "cus_2", "--output", "json"];
    let (out, elapsed, peak) = run_measured(&server, &args, limit);
    out.expect_code(0);
    assert_eq!(balanced(&out)["retries"], 1);
    assert_eq!(accepted_sorted(&server), ["cus_2"]);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
}

/// Terminal controls a hostile server may put in problem details: CSI
/// colour and clear-screen, an OSC window title ended by BEL, the 8-bit CSI,
/// a right-to-left override, an isolate and marks that reorder text, and
/// zero-width characters that hide it.
const HOSTILE: &str = r"\u001b[31mRed\u001b[0m \u001b]0;title\u0007Alert\u009b2J\u202e\u2067rtl\u2069\u200f\u061cpay\u200bpal\ufeff\u2060\u00ad";

/// What [`HOSTILE`] holds that must not reach a terminal.
const UNSAFE: [char; 13] = [
    '\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{2067}', '\u{2069}', '\u{200f}', '\u{61c}',
    '\u{200b}', '\u{feff}', '\u{2060}', '\u{ad}', '\u{7f}',
];

/// Asserts no terminal control, bidi control or invisible character reached either stream.
#[track_caller]
fn assert_no_controls(out: &Run) {
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        for bad in UNSAFE {
            assert!(
                !text.contains(bad),
                "{name} holds {:?}:\n{}",
                bad,
                text.escape_debug()
            );
        }
    }
}

#[test]
fn terminal_escapes_in_problem_details_never_reach_the_terminal() {
    let json_body = format!(
        r#"{{"type":"about:{HOSTILE}","title":"{HOSTILE}","status":500,"detail":"{HOSTILE} detail","instance":"{HOSTILE}"}}"#
    );
    let bodies = [
        ("application/problem+json", json_body),
        (
            "text/plain",
            "\u{1b}[2J\u{1b}]0;pwned\u{7}plain \u{9b}1m".into(),
        ),
        ("text/html", "<h1>\u{1b}[5mblink</h1>".into()),
    ];
    for (content_type, body) in bodies {
        for extra in [&["--verbose"][..], &["--output", "json"][..]] {
            let out = fails_once(
                Fault::RawProblem {
                    status: 500,
                    content_type: content_type.into(),
                    body: body.clone(),
                },
                extra,
            );
            assert_no_controls(&out);
            assert!(
                out.stderr
                    .lines()
                    .any(|l| l.trim_start().starts_with("500 ")),
                "{content_type}: the status line is still there:\n{}",
                out.stderr
            );
        }
    }
}

#[test]
fn terminal_escapes_in_invalid_fields_and_fatal_problems_never_reach_the_terminal() {
    // A 422 naming an ID, with a hostile message.
    let server = default_mock();
    server.push_faults([Fault::RawProblem {
        status: 422,
        content_type: "application/json".into(),
        body: format!(
            r#"{{"title":"{HOSTILE}","status":422,"invalidFields":[{{"field":"customerIds.0","message":"{HOSTILE}"}},{{"field":"{HOSTILE}","message":"x"}}]}}"#
        ),
    }]);
    let dir = Dir::new();
    let out = run_six(&server, &dir, &[]);
    out.expect_code(1);
    assert_no_controls(&out);
    assert_eq!(balanced(&out)["failed"], 1);
    assert_eq!(failed_ids(&dir), lines(0..1));
    // A 404 whose title ends up in the `stopped` reason as well.
    let server = default_mock();
    for extra in [&["--verbose"][..], &["--quiet"][..]] {
        server.push_faults([Fault::RawProblem {
            status: 404,
            content_type: "application/problem+json".into(),
            body: format!(r#"{{"title":"{HOSTILE}","detail":"{HOSTILE}"}}"#),
        }]);
        let dir = Dir::new();
        let out = run_six(&server, &dir, extra);
        out.expect_code(1);
        assert_no_controls(&out);
        assert!(balanced(&out)["stopped"].is_string());
    }
}

#[test]
fn problem_details_of_the_wrong_shape_are_printed_without_a_panic() {
    let bodies = [
        (
            "application/problem+json",
            r#"{"title":42,"status":"500","detail":{"nested":true},"invalidFields":"nope","type":null,"instance":[1,2]}"#,
        ),
        ("application/json", r#"[1,2,3]"#),
        ("application/json", r#""just a string""#),
        ("application/json", r#"null"#),
        ("application/json", r#"{}"#),
        ("application/json", r#"{"title": "#),
        (
            "application/json",
            r#"{"title":"Odd","invalidFields":[{"field":7,"message":null},"loose",5,null,{"field":{"x":1}},[]]}"#,
        ),
        (
            "application/json",
            r#"{"title":"Odd","invalidFields":{"customerIds.0":["a"]}}"#,
        ),
        ("application/json", "\u{0}\u{ff}\u{fe}"),
        ("", "{\"title\":\"\\ud800\"}"),
    ];
    for (content_type, body) in bodies {
        let out = fails_once(
            Fault::RawProblem {
                status: 500,
                content_type: content_type.into(),
                body: body.into(),
            },
            &["--output", "json"],
        );
        let j = balanced(&out);
        assert_eq!(j["problems"][0]["status"], 500, "{body}: {j}");
        assert!(
            out.stderr
                .lines()
                .any(|l| l.trim_start().starts_with("500 ")),
            "{body}: a status line:\n{}",
            out.stderr
        );
        for word in ["panicked", "internal error", "backtrace"] {
            assert!(!out.stderr.contains(word), "{body}:\n{}", out.stderr);
        }
    }
    // A number where the title should be is shown as text.
    let out = fails_once(
        Fault::RawProblem {
            status: 500,
            content_type: "application/json".into(),
            body: r#"{"title":42,"detail":7}"#.into(),
        },
        &[],
    );
    let lines: Vec<&str> = out.stderr.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"500 42") && lines.contains(&"7"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_422_whose_invalid_fields_is_not_an_array_is_isolated_by_halving() {
    let server = default_mock();
    server.push_faults([Fault::RawProblem {
        status: 422,
        content_type: "application/problem+json".into(),
        body: r#"{"title":"Invalid","status":422,"invalidFields":"customerIds.1"}"#.into(),
    }]);
    let dir = Dir::new();
    let out = run_six(&server, &dir, &[]);
    // The 422 named no ID it can use: the batch is halved, and the halves
    // (which the server now accepts) are confirmed.
    out.expect_code(0);
    let j = balanced(&out);
    assert_eq!(j["confirmed"], 6, "{j}");
    assert_eq!(j["isolation_requests"], 2);
    assert_eq!(accepted_sorted(&server), ids(6));
}

#[test]
fn a_404_stops_the_run_as_every_batch_would_meet_it() {
    for status in [400, 404, 405, 410, 415] {
        let server = default_mock();
        server.push_faults([Fault::RawProblem {
            status,
            content_type: "application/problem+json".into(),
            body: format!(r#"{{"title":"Refused","status":{status},"detail":"Nope."}}"#),
        }]);
        let dir = Dir::new();
        let out = run_six(&server, &dir, &[]);
        out.expect_code(1);
        assert_eq!(server.request_count(), 1, "{status}: nothing after it");
        let j = balanced(&out);
        assert_eq!(j["confirmed"], 0, "{status}: {j}");
        assert_eq!(j["failed"], 2);
        assert_eq!(j["unsent"], 4);
        assert_eq!(j["requests"], 1);
        assert_eq!(j["retries"], 0);
        assert!(j["stopped"].is_string(), "{status}: {j}");
        assert_eq!(j["problems"][0]["status"], status);
        assert_eq!(failed_ids(&dir), lines(0..6));
        let lines: Vec<&str> = out.stderr.lines().map(str::trim).collect();
        assert!(
            lines.contains(&format!("{status} Refused").as_str()) && lines.contains(&"Nope."),
            "{status}:\n{}",
            out.stderr
        );
    }
}

#[test]
fn another_4xx_fails_its_batch_without_retry_and_the_run_goes_on() {
    let server = default_mock();
    server.push_faults([Fault::RawProblem {
        status: 409,
        content_type: "application/problem+json".into(),
        body: r#"{"title":"Conflict","status":409}"#.into(),
    }]);
    let dir = Dir::new();
    let out = run_six(&server, &dir, &[]);
    out.expect_code(1);
    let j = balanced(&out);
    assert_eq!(j["confirmed"], 4, "{j}");
    assert_eq!(j["failed"], 2);
    assert_eq!(j["requests"], 3);
    assert_eq!(j["stopped"], serde_json::Value::Null);
    assert_eq!(failed_ids(&dir), lines(0..2));
    assert_eq!(accepted_sorted(&server), ids(6)[2..]);
}

#[test]
fn only_a_204_confirms() {
    for status in [200, 201, 202, 299] {
        let server = default_mock();
        server.push_faults([Fault::RawProblem {
            status,
            content_type: "application/json".into(),
            body: r#"{"ok":true}"#.into(),
        }]);
        let dir = Dir::new();
        let out = run_six(&server, &dir, &[]);
        out.expect_code(1);
        let j = balanced(&out);
        assert_eq!(j["confirmed"], 4, "{status}: {j}");
        assert_eq!(j["failed"], 2, "{status}: {j}");
        assert_eq!(failed_ids(&dir), lines(0..2), "{status}");
    }
}
