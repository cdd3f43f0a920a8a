//! Rate limits: a 429 is waited out until the reset the server names (in
//! any of its three spellings, whatever the server's clock says), the whole
//! run waits with it, and a run paced by `X-RateLimit-Remaining` meets about
//! one 429 per window.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tagctl_mock::{RecordedRequest, RetryAfterStyle};

use crate::support::*;

/// Runs `tagctl tag VIP` with `n` IDs in batches of one, JSON output and
/// `extra` arguments; returns the run and its wall time.
fn tag_n(server: &MockServer, n: usize, extra: &[&str]) -> (Run, Duration) {
    let ids = ids(n);
    let mut args = vec!["tag", "VIP", "--batch-size", "1", "--output", "json"];
    args.extend(extra);
    args.extend(id_args(&ids));
    let start = Instant::now();
    let out = run(against(server, &args).timeout(Duration::from_secs(20)));
    (out, start.elapsed())
}

/// Every ID accepted exactly once, the run a clean success.
#[track_caller]
fn all_accepted_once(server: &MockServer, out: &Run, n: usize) -> serde_json::Value {
    out.expect_code(0);
    let j = balanced(out);
    assert_eq!(j["confirmed"], n as u64, "{j}");
    assert_eq!(accepted_sorted(server), ids(n), "each ID accepted once");
    j
}

/// The server's 429 answers.
fn rate_limited(requests: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    requests.iter().filter(|r| r.status == 429).collect()
}

/// When a fault `429` with `reset_in` that arrived at `recv_ms` resets, in
/// Unix milliseconds: the mock rounds `now + reset_in` up to a whole second,
/// and "now" is a hair after the arrival. Returns the earliest possible
/// reset, and the latest (a second later only when the arrival was so close
/// to a second's end that "now" may have crossed it).
fn fault_reset_ms(recv_ms: u128, reset_in: Duration) -> (u128, u128) {
    let at = recv_ms + reset_in.as_millis();
    let lo = at.div_ceil(1000) * 1000;
    let hi = (at + 50).div_ceil(1000) * 1000;
    (lo, hi)
}

/// The end of the epoch-aligned window holding `ms`, in Unix milliseconds.
fn window_end_ms(ms: u128, window_secs: u64) -> u128 {
    let w = u128::from(window_secs) * 1000;
    (ms / w + 1) * w
}

/// The requests that arrived after `after` (in arrival order) and strictly
/// before `until_ms`, as (arrival number, arrival time).
fn arrived_between(
    requests: &[RecordedRequest],
    after: &RecordedRequest,
    until_ms: u128,
) -> Vec<(u64, u128)> {
    requests
        .iter()
        .filter(|r| r.id > after.id)
        .filter(|r| r.received_unix_ms < until_ms)
        .map(|r| (r.id, r.received_unix_ms))
        .collect()
}

/// Checks a fault 429 (the only one of the run, answered to request `first`
/// of a concurrency-1 run) was waited out: nothing arrived before the reset,
/// and the retry came promptly after it. `late` is how much after the reset
/// the retry may come, beyond scheduling slack.
#[track_caller]
fn waited_out(server: &MockServer, reset_in: Duration, late: Duration) {
    let requests = server.requests();
    let limited = rate_limited(&requests);
    assert_eq!(limited.len(), 1, "{requests:#?}");
    let r429 = limited[0];
    let (lo, hi) = fault_reset_ms(r429.received_unix_ms, reset_in);
    let early = arrived_between(&requests, r429, lo);
    assert!(
        early.is_empty(),
        "requests before the reset at {lo}: {early:?} (429 at {})",
        r429.received_unix_ms
    );
    let next = requests
        .iter()
        .find(|r| r.id > r429.id)
        .expect("a request after the 429");
    let slack = 700;
    assert!(
        next.received_unix_ms <= hi + late.as_millis() + slack,
        "the retry at {} came long after the reset at {hi}",
        next.received_unix_ms
    );
}

#[test]
fn a_429_is_waited_out_until_its_x_ratelimit_retry_after_timestamp() {
    // 2 requests a second, 4 batches one at a time: the third meets the
    // limit, and the run must come back exactly at the window's reset. (If
    // the window turned between the first requests, there was no 429 to
    // wait out: run once more.)
    for _ in 0..2 {
        let server = mock(MockConfig {
            rate_limit: Some(RateLimit::new(2, 1)),
            ..MockConfig::default()
        });
        let (out, elapsed) = tag_n(&server, 4, &["--concurrency", "1"]);
        let j = all_accepted_once(&server, &out, 4);
        let requests = server.requests();
        let limited = rate_limited(&requests);
        assert_eq!(j["rate_limited"], limited.len() as u64);
        assert_eq!(j["requests"], requests.len() as u64);
        if limited.is_empty() {
            continue;
        }
        for r429 in &limited {
            let reset = window_end_ms(r429.received_unix_ms, 1);
            let early = arrived_between(&requests, r429, reset);
            assert!(
                early.is_empty(),
                "requests before the reset at {reset}: {early:?} (429 {} at {})",
                r429.id,
                r429.received_unix_ms
            );
            let next = requests.iter().find(|r| r.id > r429.id).unwrap();
            assert!(
                next.received_unix_ms <= reset + 700,
                "resumed at {}, reset {reset}",
                next.received_unix_ms
            );
        }
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        return;
    }
    panic!("two runs of 4 requests at 2 a second met no 429");
}

/// One 429 in `style`, 300 ms to the reset: every ID accepted once, and no
/// request before the reset nor later than `slack` after it.
fn a_429_in_style_is_waited_out(style: RetryAfterStyle, slack: Duration) {
    let server = mock(MockConfig {
        retry_after_style: style,
        ..MockConfig::default()
    });
    let reset_in = Duration::from_millis(300);
    server.push_faults([Fault::TooManyRequests {
        reset_in: Some(reset_in),
    }]);
    let (out, _) = tag_n(&server, 3, &["--concurrency", "1"]);
    let j = all_accepted_once(&server, &out, 3);
    assert_eq!(j["rate_limited"], 1);
    waited_out(&server, reset_in, slack);
}

#[test]
fn a_429_with_retry_after_seconds_is_waited_out() {
    // Whole seconds, rounded up: up to a second after the true reset.
    a_429_in_style_is_waited_out(RetryAfterStyle::RetryAfterSeconds, Duration::from_secs(1));
}

#[test]
fn a_429_with_retry_after_http_date_is_waited_out() {
    a_429_in_style_is_waited_out(RetryAfterStyle::RetryAfterHttpDate, Duration::ZERO);
}

#[test]
fn a_429_with_an_x_ratelimit_retry_after_timestamp_is_waited_out() {
    let server = default_mock();
    let reset_in = Duration::from_millis(300);
    server.push_faults([Fault::TooManyRequests {
        reset_in: Some(reset_in),
    }]);
    let (out, _) = tag_n(&server, 3, &["--concurrency", "1"]);
    let j = all_accepted_once(&server, &out, 3);
    assert_eq!(j["rate_limited"], 1);
    assert_eq!(j["retries"], 1);
    waited_out(&server, reset_in, Duration::ZERO);
}

/// A run against a server whose clock is `offset` seconds off, meeting one
/// 429 in the given style: it must neither sleep the offset nor come early.
fn skewed_run(offset: i64, style: RetryAfterStyle) {
    let server = mock(MockConfig {
        clock_offset_secs: offset,
        retry_after_style: style,
        ..MockConfig::default()
    });
    let reset_in = Duration::from_millis(300);
    server.push_faults([Fault::TooManyRequests {
        reset_in: Some(reset_in),
    }]);
    let (out, elapsed) = tag_n(&server, 3, &["--concurrency", "1"]);
    let j = all_accepted_once(&server, &out, 3);
    assert_eq!(j["rate_limited"], 1);
    assert!(
        elapsed < Duration::from_secs(3),
        "{offset:+} s skew: took {elapsed:?}"
    );
    // `Date` has whole seconds: the correction may wait up to one more.
    waited_out(&server, reset_in, Duration::from_secs(1));
}

#[test]
fn a_server_clock_an_hour_ahead_is_corrected_with_the_date_header() {
    skewed_run(3600, RetryAfterStyle::RateLimitTimestamp);
}

#[test]
fn a_server_clock_an_hour_behind_is_corrected_with_the_date_header() {
    skewed_run(-3600, RetryAfterStyle::RateLimitTimestamp);
}

#[test]
fn a_retry_after_http_date_from_a_server_an_hour_ahead_is_corrected() {
    skewed_run(3600, RetryAfterStyle::RetryAfterHttpDate);
}

#[test]
fn a_retry_after_http_date_from_a_server_an_hour_behind_is_corrected() {
    skewed_run(-3600, RetryAfterStyle::RetryAfterHttpDate);
}

#[test]
fn a_429_without_any_hint_is_retried_with_backoff() {
    let server = mock(MockConfig {
        retry_after_style: RetryAfterStyle::None,
        ..MockConfig::default()
    });
    server.push_faults([Fault::TooManyRequests { reset_in: None }]);
    let (out, elapsed) = tag_n(&server, 3, &["--concurrency", "1"]);
    let j = all_accepted_once(&server, &out, 3);
    assert_eq!(j["rate_limited"], 1);
    assert_eq!(j["requests"], 4);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn a_wait_longer_than_max_wait_stops_the_run_and_leaves_the_rest_unsent() {
    let server = default_mock();
    // The first batch goes through; the second meets a reset over a second away.
    server.push_faults([
        Fault::Slow(Duration::ZERO),
        Fault::TooManyRequests {
            reset_in: Some(Duration::from_secs(1)),
        },
    ]);
    let dir = Dir::new();
    let failed = dir.path("failed.txt");
    let ids = ids(6);
    let mut args = job_args("2", &failed, &["--max-wait", "0.2"]);
    args.extend(id_args(&ids));
    let start = Instant::now();
    let out = run_against(&server, &args);
    let elapsed = start.elapsed();
    out.expect_code(1);
    let j = balanced(&out);
    assert_eq!(j["confirmed"], 2);
    assert_eq!(j["failed"], 0);
    assert_eq!(j["unsent"], 4);
    assert_eq!(j["rate_limited"], 1);
    assert_eq!(j["requests"], 2);
    assert_eq!(j["stopped"], "max-wait");
    assert_eq!(server.request_count(), 2, "nothing after the 429");
    assert_eq!(accepted_sorted(&server), ids[..2]);
    assert_eq!(
        read_failed(&failed),
        ids[2..].join("\n") + "\n",
        "--failed-ids holds exactly the unaccepted IDs"
    );
    assert!(out.stderr.contains("--max-wait"), "{}", out.stderr);
    assert!(
        elapsed < Duration::from_millis(900),
        "it did not sleep on the reset: {elapsed:?}"
    );
}

#[test]
fn while_one_request_waits_for_the_reset_no_other_worker_sends() {
    // Four workers start together; the first to arrive meets a 429 while
    // the other three are held (slowly answered) by the server. When they
    // come back, the run is paused: nothing may leave before the reset.
    let server = default_mock();
    let reset_in = Duration::from_millis(400);
    let slow = Fault::Slow(Duration::from_millis(250));
    server.push_faults([
        Fault::TooManyRequests {
            reset_in: Some(reset_in),
        },
        slow.clone(),
        slow.clone(),
        slow,
    ]);
    let (out, _) = tag_n(&server, 8, &["--concurrency", "4"]);
    let j = all_accepted_once(&server, &out, 8);
    assert_eq!(j["rate_limited"], 1);
    let requests = server.requests();
    let r429 = rate_limited(&requests)[0];
    let (reset, _) = fault_reset_ms(r429.received_unix_ms, reset_in);
    let early: Vec<(u64, u128, Option<String>)> = requests
        .iter()
        .filter(|r| r.id != r429.id && r.fault.as_deref() != Some("slow:250"))
        .filter(|r| r.received_unix_ms < reset)
        .map(|r| (r.id, r.received_unix_ms, r.fault.clone()))
        .collect();
    assert!(
        early.is_empty(),
        "sent while paused (reset at {reset}, 429 at {}): {early:?}",
        r429.received_unix_ms
    );
    assert_eq!(requests.len(), 9);
}

/// The concurrency of [`paced_run`].
const PACED_CONCURRENCY: u64 = 4;

/// One run of 12 batches at concurrency 4 against 3 requests a second.
/// Returns the JSON summary and the server's requests.
fn paced_run() -> (serde_json::Value, Vec<RecordedRequest>) {
    let server = mock(MockConfig {
        rate_limit: Some(RateLimit::new(3, 1)),
        ..MockConfig::default()
    });
    let concurrency = PACED_CONCURRENCY.to_string();
    // --verbose: the trace is part of the path from a 429 to the pause.
    let (out, _) = tag_n(&server, 12, &["--concurrency", &concurrency, "--verbose"]);
    let j = all_accepted_once(&server, &out, 12);
    let requests = server.requests();
    let limited = rate_limited(&requests);
    assert_eq!(j["rate_limited"], limited.len() as u64);
    assert_eq!(j["requests"], requests.len() as u64);
    assert_eq!(
        requests.len(),
        12 + limited.len(),
        "only 429s were repeated"
    );
    (j, requests)
}

/// Per window (Unix second) of a 1-second limit: (requests, 429s).
fn per_window(requests: &[RecordedRequest]) -> BTreeMap<u128, (u64, u64)> {
    let mut windows: BTreeMap<u128, (u64, u64)> = BTreeMap::new();
    for r in requests {
        let entry = windows.entry(r.received_unix_ms / 1000).or_default();
        entry.0 += 1;
        if r.status == 429 {
            entry.1 += 1;
        }
    }
    windows
}

#[test]
fn x_ratelimit_remaining_paces_a_run_to_few_429s_and_no_wasted_window() {
    // The bound every implementation detail allows: one 429 per window
    // used, plus one per worker that may race the first into a spent window.
    let (j, requests) = paced_run();
    let windows = per_window(&requests);
    let limited = j["rate_limited"].as_u64().unwrap();
    assert!(limited >= 1, "the limit was met: {windows:?}");
    assert!(
        limited <= windows.len() as u64 + PACED_CONCURRENCY,
        "{limited} 429s over {} windows: {windows:?}",
        windows.len()
    );
    assert!(
        windows.values().all(|(_, n429)| *n429 <= PACED_CONCURRENCY),
        "{windows:?}"
    );
    // Each window is used to the full: 12 requests at 3 a second take 4
    // windows (5 when the run starts late in one).
    assert!(windows.len() <= 5, "{windows:?}");
}

#[test]
fn x_ratelimit_remaining_paces_a_run_to_at_most_one_429_per_window() {
    let (j, requests) = paced_run();
    let windows = per_window(&requests);
    let limited = j["rate_limited"].as_u64().unwrap();
    assert!(
        windows.values().all(|(_, n429)| *n429 <= 1),
        "more than one 429 in a window (second: (requests, 429s)): {windows:?}"
    );
    // Every window but the last ends with (at most) the one 429 that tells
    // the run when the next begins; the last has none.
    assert!(
        limited < windows.len() as u64,
        "{limited} 429s over {} windows: {windows:?}",
        windows.len()
    );
}

#[test]
fn while_paused_for_a_real_limit_no_request_arrives_before_the_reset() {
    let (_, requests) = paced_run();
    for r429 in rate_limited(&requests) {
        let reset = window_end_ms(r429.received_unix_ms, 1);
        // The first burst all left before any answer came back.
        let burst = PACED_CONCURRENCY;
        let early: Vec<(u64, u128)> = arrived_between(&requests, r429, reset)
            .into_iter()
            .filter(|(id, _)| !(r429.id <= burst && *id <= burst))
            .collect();
        assert!(
            early.is_empty(),
            "requests between the 429 (#{} at {}) and its reset at {reset}: {early:?}",
            r429.id,
            r429.received_unix_ms
        );
    }
}

#[test]
fn a_server_clock_a_second_behind_costs_few_429s() {
    // Its resets come a second early by our clock: a client that trusts
    // them blindly meets a 429 on every early wake.
    let server = mock(MockConfig {
        rate_limit: Some(RateLimit::new(4, 1)),
        clock_offset_secs: -1,
        ..MockConfig::default()
    });
    let all = ids(10);
    let mut args = vec![
        "tag",
        "VIP",
        "--batch-size",
        "1",
        "--concurrency",
        "1",
        "--output",
        "json",
    ];
    args.extend(id_args(&all));
    let run = run_against(&server, &args);
    run.expect_code(0);
    let json = balanced(&run);
    assert!(count(&json, "rate_limited") <= 4, "{json}");
}
