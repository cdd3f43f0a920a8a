//! Ctrl-C and SIGTERM: the first stops sending and lets the request in flight
//! finish; the second abandons it. Either way the summary and `--failed-ids`
//! are written, the exit code is 130, and a rerun with `--failed-ids`
//! finishes the job.
#![cfg(unix)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::support::*;

/// 5 batches of 10, one at a time.
const IDS: usize = 50;
const BATCH: &str = "10";

/// A `tagctl` child process whose output goes to files.
struct Running {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// Starts `tagctl <args>` against `server`, with a clean environment.
fn spawn(server: &MockServer, dir: &Dir, args: &[&str]) -> Running {
    let stdout = dir.path("stdout");
    let stderr = dir.path("stderr");
    let child = process_against(server, args)
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("tagctl starts");
    Running {
        child,
        stdout,
        stderr,
    }
}

/// Writes `all` to an input file in `dir` and starts tagging it in batches
/// of `batch`, one at a time; returns the process and its `--failed-ids` path.
fn spawn_job(server: &MockServer, dir: &Dir, all: &[String], batch: &str) -> (Running, PathBuf) {
    let input = dir.file("ids.txt", all.join("\n"));
    let failed = dir.path("failed.txt");
    let running = spawn(server, dir, &job_args(batch, &failed, &["-f", arg(&input)]));
    (running, failed)
}

impl Running {
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits (at most 5 s, then kills it) for the process to end.
    fn finish(mut self) -> Run {
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for tagctl") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "tagctl did not exit within 5 s\nstderr:\n{}",
                    read(&self.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: read(&self.stdout),
            stderr: read(&self.stderr),
        }
    }
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

/// Waits (at most 5 s) until the server has received `n` requests.
fn wait_for_requests(server: &MockServer, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.request_count() < n {
        assert!(Instant::now() < deadline, "no request reached the server");
        std::thread::sleep(Duration::from_millis(2));
    }
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
    let (running, failed) = spawn_job(&server, &dir, &all, BATCH);
    wait_for_requests(&server, 1);
    let arrived = Instant::now();
    running.signal("INT");
    std::thread::sleep(Duration::from_millis(100));
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

/// Two signals in quick succession while the reader is still reading a large
/// input (batches of one, so it is far from done): the run is aborted.
fn abort_while_reading(dir: &Dir, server: &MockServer, all: &[String]) -> (Run, PathBuf) {
    let (running, failed) = spawn_job(server, dir, all, "1");
    wait_for_requests(server, 1);
    running.signal("INT");
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
    let (stdout, stderr) = (dir.path("stdout"), dir.path("stderr"));
    let mut child = process_against(&server, &job_args(BATCH, &failed, &[]))
        .stdin(std::process::Stdio::piped())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("tagctl starts");
    // Fed, then left open, as a producer that hangs would leave it.
    let mut stdin = child.stdin.take().expect("a pipe");
    std::io::Write::write_all(&mut stdin, ids(IDS).join("\n").as_bytes()).unwrap();
    let running = Running {
        child,
        stdout,
        stderr,
    };
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
    let running = spawn(
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
