//! Ctrl-C and SIGTERM: the first stops sending and lets the request in flight
//! finish; the second abandons it. Either way the summary and `--failed-ids`
//! are written, the exit code is 130, and a rerun with `--failed-ids`
//! finishes the job.
#![cfg(unix)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::*;

/// 5 batches of 10, one at a time.
const IDS: usize = 50;
const BATCH: &str = "10";

/// The line that acknowledges the first signal.
const ACK: &str =
    "warning: interrupted: finishing the requests in flight (interrupt again to abort)";

/// Writes `all` to an input file in `dir` and starts tagging it in batches
/// of `batch`, one at a time; returns the process and its `--failed-ids` path.
fn spawn_job(server: &MockServer, dir: &Dir, all: &[String], batch: &str) -> (Running, PathBuf) {
    let input = dir.file("ids.txt", all.join("\n"));
    let failed = dir.path("failed.txt");
    let running = Running::start(server, dir, &job_args(batch, &failed, &["-f", arg(&input)]));
    (running, failed)
}

/// Interrupts `running` and waits until it says so on standard error.
fn interrupt_acknowledged(running: &mut Running) {
    running.signal("INT");
    running.wait_for_stderr("acknowledgement of the first signal", |l| l == ACK);
}

/// A mock that answers every request after `latency`.
fn slow_mock(latency: Duration) -> MockServer {
    mock(MockConfig {
        latency,
        ..MockConfig::default()
    })
}

/// The first signal lets the request in flight finish, sends nothing more,
/// writes the summary and `--failed-ids`, exits 130; a rerun with that file
/// finishes the job.
fn first_signal_finishes_the_request_in_flight(signal: &str) {
    let all = ids(IDS);
    let server = slow_mock(Duration::from_millis(500));
    let dir = Dir::new();
    let (running, failed) = spawn_job(&server, &dir, &all, BATCH);
    wait_for_requests(&server, 1);
    running.signal(signal);
    let run = running.finish();
    run.expect_code(130);

    let requests = server.requests();
    assert_eq!(
        requests.len(),
        1,
        "no request started after the signal: {:?}",
        requests.iter().map(|r| r.id).collect::<Vec<_>>()
    );
    assert_eq!(requests[0].status, 204, "the request in flight finished");
    assert_eq!(requests[0].ids, all[..10], "the first batch was in flight");

    let json = balanced(&run);
    assert_eq!(json["interrupted"], true, "{json}");
    assert_eq!(json["stopped"], "interrupted", "{json}");
    assert_eq!(
        (
            count(&json, "ids_read"),
            count(&json, "confirmed"),
            count(&json, "failed"),
            count(&json, "unsent"),
            count(&json, "requests"),
        ),
        (50, 10, 0, 40, 1),
        "the in-flight batch is confirmed, the rest unsent"
    );

    let accepted: BTreeSet<String> = server.accepted_ids().into_iter().collect();
    let left = failed_lines(&failed);
    let expected: Vec<String> = all
        .iter()
        .filter(|id| !accepted.contains(*id))
        .cloned()
        .collect();
    assert_eq!(
        left, expected,
        "--failed-ids holds exactly the IDs the server did not accept, in input order"
    );

    // Finish the job.
    let rerun = run_against(
        &server,
        &["tag", "VIP", "-f", arg(&failed), "--output", "json"],
    );
    rerun.expect_code(0);
    assert_eq!(count(&balanced(&rerun), "confirmed"), 40);
    let mut expected_all = all.clone();
    expected_all.sort();
    assert_eq!(
        accepted_sorted(&server),
        expected_all,
        "the two runs together tagged every ID exactly once"
    );
}

#[test]
fn ctrl_c_sends_nothing_new_finishes_the_request_in_flight_writes_the_summary_and_exits_130() {
    first_signal_finishes_the_request_in_flight("INT");
}

#[test]
fn sigterm_sends_nothing_new_finishes_the_request_in_flight_writes_the_summary_and_exits_130() {
    first_signal_finishes_the_request_in_flight("TERM");
}

#[test]
fn a_second_ctrl_c_abandons_the_request_in_flight_at_once_and_still_writes_what_it_knows() {
    let latency = Duration::from_millis(1500);
    let all = ids(IDS);
    let server = slow_mock(latency);
    let dir = Dir::new();
    let (mut running, failed) = spawn_job(&server, &dir, &all, BATCH);
    wait_for_requests(&server, 1);
    let arrived = Instant::now();
    interrupt_acknowledged(&mut running);
    running.signal("INT");
    let second = Instant::now();
    let run = running.finish();
    let after_second = second.elapsed();
    let after_arrival = arrived.elapsed();
    run.expect_code(130);
    assert!(
        after_second < Duration::from_millis(700) && after_arrival < Duration::from_millis(1200),
        "exited {after_second:?} after the second signal, {after_arrival:?} after the request arrived: it waited for the {latency:?} request"
    );

    assert_eq!(server.request_count(), 1, "nothing new was sent");
    let json = balanced(&run);
    assert_eq!(json["interrupted"], true, "{json}");
    assert_eq!(
        (
            count(&json, "confirmed"),
            count(&json, "failed"),
            count(&json, "unsent"),
            count(&json, "requests"),
        ),
        (0, 10, 40, 1),
        "the abandoned batch is failed (its fate is unknown), the rest unsent"
    );
    assert_eq!(
        failed_lines(&failed),
        all,
        "--failed-ids holds the abandoned batch and the unsent rest, in input order"
    );
}

/// Two signals (the second once the first is acknowledged) while the reader is
/// still reading a large input (batches of one, so it is far from done): the
/// run is aborted.
fn abort_while_reading(dir: &Dir, server: &MockServer, all: &[String]) -> (Run, PathBuf) {
    let (mut running, failed) = spawn_job(server, dir, all, "1");
    wait_for_requests(server, 1);
    interrupt_acknowledged(&mut running);
    running.signal("INT");
    let run = running.finish();
    run.expect_code(130);
    (run, failed)
}

#[test]
fn after_a_second_ctrl_c_failed_ids_holds_exactly_the_failed_and_unsent_ids_of_the_summary() {
    let all = ids(50_000);
    let server = slow_mock(Duration::from_millis(1500));
    let dir = Dir::new();
    let (run, failed) = abort_while_reading(&dir, &server, &all);
    let json = balanced(&run);
    let left = failed_lines(&failed);
    assert_eq!(
        left.len() as u64,
        count(&json, "failed") + count(&json, "unsent"),
        "--failed-ids holds every ID the summary counts failed or unsent"
    );
    assert_eq!(
        left,
        all[..left.len()],
        "--failed-ids lists them in input order"
    );
}

#[test]
fn after_a_second_ctrl_c_a_rerun_with_failed_ids_finishes_the_job() {
    let all = ids(50_000);
    let server = slow_mock(Duration::from_millis(1500));
    let dir = Dir::new();
    let (run, failed) = abort_while_reading(&dir, &server, &all);
    let json = balanced(&run);
    assert_eq!(count(&json, "ids_read"), all.len() as u64, "{json}");
    assert_eq!(failed_lines(&failed), all, "nothing was confirmed");

    server.set_config(|c| c.latency = Duration::ZERO);
    let rerun = run_against(
        &server,
        &["tag", "VIP", "-f", arg(&failed), "--output", "json"],
    );
    rerun.expect_code(0);
    assert_eq!(
        server.tagged("VIP"),
        all.iter().cloned().collect::<BTreeSet<_>>(),
        "the rerun tagged every ID"
    );
}

#[test]
fn ctrl_c_does_not_wait_for_a_pipe_that_stays_open() {
    let server = slow_mock(Duration::from_millis(300));
    let dir = Dir::new();
    let failed = dir.path("failed.txt");
    let mut cmd = process_against(&server, &job_args(BATCH, &failed, &[]));
    cmd.stdin(std::process::Stdio::piped());
    let mut running = Running::start_with(cmd, &dir);
    // Fed, then left open, as a producer that hangs would leave it.
    let mut stdin = running.child.stdin.take().expect("a pipe");
    std::io::Write::write_all(&mut stdin, ids(IDS).join("\n").as_bytes()).unwrap();
    wait_for_requests(&server, 1);
    let signalled = Instant::now();
    running.signal("INT");
    let run = running.finish();
    drop(stdin);
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "took {:?} after Ctrl-C",
        signalled.elapsed()
    );
    run.expect_code(130);
    assert!(
        run.stderr
            .contains("stopped before the whole input was read"),
        "{}",
        run.stderr
    );
    let json = balanced(&run);
    assert_eq!(count(&json, "confirmed"), 10, "{json}");
    let accepted: BTreeSet<String> = server.accepted_ids().into_iter().collect();
    for id in failed_lines(&failed) {
        assert!(!accepted.contains(&id), "{id} was accepted yet listed");
    }
}

#[test]
fn after_ctrl_c_a_request_in_flight_is_waited_for_no_longer_than_the_timeout() {
    let server = slow_mock(Duration::from_secs(3));
    let dir = Dir::new();
    let input = dir.file("ids.txt", ids(IDS).join("\n"));
    let failed = dir.path("failed.txt");
    let running = Running::start(
        &server,
        &dir,
        &job_args(
            BATCH,
            &failed,
            &["-f", arg(&input), "--timeout", "0.5", "--max-retries", "0"],
        ),
    );
    wait_for_requests(&server, 1);
    let signalled = Instant::now();
    running.signal("INT");
    let run = running.finish();
    assert!(
        signalled.elapsed() < Duration::from_millis(1500),
        "took {:?}",
        signalled.elapsed()
    );
    run.expect_code(130);
    let json = balanced(&run);
    assert_eq!(
        (
            count(&json, "confirmed"),
            count(&json, "failed"),
            count(&json, "unsent")
        ),
        (0, 10, 40),
        "{json}"
    );
    assert_eq!(failed_lines(&failed), ids(IDS));
}

#[test]
fn the_text_summary_of_an_interrupted_run_says_so() {
    let all = ids(IDS);
    let server = slow_mock(Duration::from_millis(300));
    let dir = Dir::new();
    let input = dir.file("ids.txt", all.join("\n"));
    let args = [
        "tag",
        "VIP",
        "-f",
        arg(&input),
        "--batch-size",
        BATCH,
        "--concurrency",
        "1",
    ];
    let mut running = Running::start(&server, &dir, &args);
    wait_for_requests(&server, 1);
    interrupt_acknowledged(&mut running);
    let run = running.finish();
    run.expect_code(130);
    assert_eq!(server.request_count(), 1);
    assert_transcript(
        "summary_interrupted",
        &args,
        &run,
        &Normalizer::new().server(&server).dir(&dir),
    );
}
