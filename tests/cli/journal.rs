//! `--journal` and `--failed-ids` after a crash: a SIGKILL at any point,
//! then the same command again, finishes the job without resending what the
//! journal confirmed; a torn, foreign, finished or unwritable journal; a
//! `--failed-ids` file that never shows an earlier run and never loses
//! unread input.
#![cfg(unix)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tagctl::journal::{self, Job, State};

use crate::support::*;

/// A `tagctl` child whose output goes to files.
pub(crate) struct Running {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    pub(crate) fn spawn(server: &MockServer, dir: &Dir, args: &[&str], stdin: Stdio) -> Running {
        let (stdout, stderr) = (dir.path("stdout"), dir.path("stderr"));
        let child = process_against(server, args)
            .stdin(stdin)
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("tagctl starts");
        Running {
            child,
            stdout,
            stderr,
        }
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name}");
    }

    /// Waits (at most 10 s) for the end.
    pub(crate) fn finish(mut self) -> Run {
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tagctl did not exit\n{}", read(&self.stderr));
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
pub(crate) fn wait_for_requests(server: &MockServer, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.request_count() < n {
        assert!(
            Instant::now() < deadline,
            "only {} requests",
            server.request_count()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn job_of(server: &MockServer, tag: &str) -> Job {
    Job {
        action: "tag".into(),
        tag: tag.into(),
        endpoint: format!("{}/tags/{tag}/customers", server.url()),
    }
}

/// What a journal says: its state and the IDs it records as confirmed.
fn journaled(path: &Path, job: &Job) -> (State, BTreeSet<String>) {
    let bytes = std::fs::read(path).expect("the journal");
    let mut ids = BTreeSet::new();
    let scan = journal::scan(&bytes[..], job, &mut |id| {
        ids.insert(String::from_utf8(id.to_vec()).unwrap());
    })
    .expect("a readable journal of this job");
    (scan.state, ids)
}

/// A journal of `job` started at `started`, with `batches` confirmed.
fn write_journal(
    path: &Path,
    job: &Job,
    started: u64,
    batches: &[&[String]],
    finished: Option<u64>,
) {
    let mut out = Vec::new();
    let header = serde_json::json!({
        "format": "tagctl-journal", "version": 1,
        "action": job.action, "tag": job.tag, "endpoint": job.endpoint, "started": started,
    });
    journal::encode(b'H', header.to_string().as_bytes(), &mut out);
    for b in batches {
        journal::encode(b'B', b.join(",").as_bytes(), &mut out);
    }
    if let Some(unsent) = finished {
        journal::encode(
            b'F',
            format!("{{\"unsent\":{unsent}}}").as_bytes(),
            &mut out,
        );
    }
    std::fs::write(path, out).unwrap();
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

/// One crash and recovery: kill after `kill_after` requests (SIGKILL), then
/// rerun the same command until it exits 0. Checks, after each run, that the
/// journal claims nothing the server did not accept, and at the end that the
/// server accepted exactly the valid IDs and no rerun resent a journaled ID.
fn crash_and_resume(all: &[String], kill_after: u64, config: MockConfig, extra: &[&str]) {
    let server = mock(MockConfig {
        latency: Duration::from_millis(3),
        ..config
    });
    let dir = Dir::new();
    let input = dir.file("ids.txt", all.join("\n"));
    let j = dir.path("job.journal");
    let mut args = vec![
        "tag",
        "VIP",
        "-f",
        arg(&input),
        "--batch-size",
        "10",
        "--concurrency",
        "2",
        "--journal",
        arg(&j),
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let job = job_of(&server, "VIP");
    let running = Running::spawn(&server, &dir, &args, Stdio::null());
    wait_for_requests(&server, kill_after);
    running.signal("KILL");
    let killed = running.finish();
    assert_eq!(killed.code, -1, "killed\n{}", killed.stderr);
    let mut rounds = 0;
    loop {
        let (state, confirmed) = journaled(&j, &job);
        let accepted = set(&server.accepted_ids());
        assert!(
            confirmed.is_subset(&accepted),
            "the journal claims IDs the server never accepted: {:?}",
            confirmed.difference(&accepted).collect::<Vec<_>>()
        );
        if rounds > 0 && state == State::Complete {
            break;
        }
        rounds += 1;
        assert!(rounds <= 6, "no end after {rounds} reruns");
        let before = server.accepted_ids().len();
        let run = run_against(&server, &args);
        let json = balanced(&run);
        let sent: Vec<String> = server.accepted_ids()[before..].to_vec();
        let resent: Vec<&String> = sent.iter().filter(|id| confirmed.contains(*id)).collect();
        assert!(
            resent.is_empty(),
            "the rerun resent journaled IDs {resent:?}"
        );
        if !confirmed.is_empty() {
            assert_eq!(count(&json, "resumed"), confirmed.len() as u64, "{json}");
            let (_, started) = header_started(&j);
            assert_eq!(
                run.stderr_lines_starting("resuming:"),
                [format!(
                    "resuming: {} already confirmed by the run started {}",
                    match confirmed.len() {
                        1 => "1 ID".to_string(),
                        n => format!("{} IDs", tagctl::text::thousands(n as u64)),
                    },
                    tagctl::text::format_utc(started)
                )],
                "{}",
                run.stderr
            );
        }
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    }
    assert_eq!(
        set(&server.accepted_ids()),
        set(all),
        "every valid ID accepted"
    );
}

/// The journal's header line and its start time.
fn header_started(path: &Path) -> (String, u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text.lines().next().unwrap().to_string();
    let json: serde_json::Value = serde_json::from_str(&line[line.find('{').unwrap()..]).unwrap();
    (line, json["started"].as_u64().unwrap())
}

#[test]
fn sigkill_at_several_points_then_the_same_command_finishes_the_job_without_resending() {
    let all = ids(400);
    // Kill points from a few seeds: early, middle, late of 40 batches.
    for seed in [3u64, 17, 29, 41] {
        let kill_after = 1 + (seed * 2_654_435_761) % 36;
        crash_and_resume(&all, kill_after, MockConfig::default(), &[]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random transient faults and a random kill point: after kill and
    /// resume the server's accepted set is the valid IDs, and the journal
    /// never claims an ID the server did not accept.
    #[test]
    fn random_faults_and_kill_points_end_with_exactly_the_valid_ids(
        seed in any::<u64>(),
        rate in 0.0f64..0.25,
        kill_after in 1u64..15,
    ) {
        let config = MockConfig {
            fault_rate: rate,
            fault_kinds: vec![Fault::Status500, Fault::Empty503, Fault::Drop],
            seed: Some(seed),
            ..MockConfig::default()
        };
        // Enough retries that no batch gives up (0.25^21): a run that ends
        // with only failed IDs left completes its journal, as the contract
        // says (they are --failed-ids' business), and this property is
        // about what kill and resume do.
        crash_and_resume(&ids(150), kill_after, config, &["--max-retries", "20"]);
    }
}

#[test]
fn a_torn_last_record_is_ignored_and_cut_off_before_the_next() {
    let server = default_mock();
    let dir = Dir::new();
    let all = ids(30);
    let input = dir.file("ids.txt", all.join("\n"));
    let j = dir.path("j");
    let job = job_of(&server, "VIP");
    write_journal(&j, &job, 1_796_133_720, &[&all[..10]], None);
    // The kill hit while the second batch record was written.
    let mut torn = std::fs::read(&j).unwrap();
    let mut record = Vec::new();
    journal::encode(b'B', all[10..20].join(",").as_bytes(), &mut record);
    torn.extend_from_slice(&record[..record.len() / 2]);
    std::fs::write(&j, torn).unwrap();
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "-f",
            arg(&input),
            "--journal",
            arg(&j),
            "--output",
            "json",
        ],
    );
    run.expect_code(0);
    assert_eq!(
        run.stderr,
        format!(
            "warning: --journal {}: its last record was cut short (the run was killed while writing it); ignored\n\
             resuming: 10 IDs already confirmed by the run started 2026-12-01 14:02 UTC\n",
            j.display()
        )
    );
    assert_eq!(
        server.accepted_ids(),
        all[10..].to_vec(),
        "only what was not journaled"
    );
    let json = balanced(&run);
    assert_eq!(
        (count(&json, "confirmed"), count(&json, "resumed")),
        (30, 10)
    );
    let (state, confirmed) = journaled(&j, &job);
    assert_eq!((state, confirmed), (State::Complete, set(&all)));
}

#[test]
fn a_journal_of_another_tag_or_action_is_exit_2_before_any_request() {
    let server = default_mock();
    let dir = Dir::new();
    let j = dir.path("j");
    let gold = job_of(&server, "Gold");
    let untag = Job {
        action: "untag".into(),
        ..job_of(&server, "VIP")
    };
    let table = [
        (&gold, r#"its tag is "Gold", this run's is "VIP""#),
        (&untag, r#"its action is "untag", this run's is "tag""#),
    ];
    for (other, differs) in table {
        write_journal(&j, other, 1, &[&ids(3)], None);
        let before = std::fs::read(&j).unwrap();
        let run = run_against(&server, &["tag", "VIP", "cus_1", "--journal", arg(&j)]);
        run.expect_code(2);
        assert_eq!(
            run.stderr,
            format!(
                "error: --journal {} belongs to another job: {differs}\n",
                j.display()
            )
        );
        assert_eq!(server.request_count(), 0);
        assert_eq!(std::fs::read(&j).unwrap(), before, "left as it was");
    }
}

#[test]
fn a_finished_journal_starts_afresh() {
    let server = default_mock();
    let dir = Dir::new();
    let all = ids(5);
    let j = dir.path("j");
    let job = job_of(&server, "VIP");
    write_journal(&j, &job, 1, &[&all[..]], Some(0));
    let mut args = vec!["tag", "VIP", "--journal", arg(&j), "--output", "json"];
    args.extend(id_args(&all));
    let run = run_against(&server, &args);
    run.expect_code(0);
    assert_eq!(run.stderr, "", "no resume line");
    assert_eq!(server.accepted_ids(), all, "everything sent again");
    assert_eq!(count(&balanced(&run), "resumed"), 0);
    let (line, started) = header_started(&j);
    assert!(started > 1, "a new header: {line}");
    assert_eq!(journaled(&j, &job), (State::Complete, set(&all)));
}

#[test]
fn a_run_that_went_to_its_end_with_only_rejected_ids_left_is_complete() {
    // The contract: finished with nothing unsent is complete, even when a 422
    // failed an ID (it is in --failed-ids); the next run starts afresh.
    let mut config = MockConfig::default();
    config.reject_ids.insert("cus_bad".into());
    let server = mock(config);
    let dir = Dir::new();
    let j = dir.path("j");
    let job = job_of(&server, "VIP");
    let args = [
        "tag",
        "VIP",
        "cus_1",
        "cus_bad",
        "--journal",
        arg(&j),
        "--output",
        "json",
    ];
    let first = run_against(&server, &args);
    first.expect_code(1);
    let json = balanced(&first);
    assert_eq!((count(&json, "failed"), count(&json, "unsent")), (1, 0));
    assert_eq!(journaled(&j, &job).0, State::Complete);
    let second = run_against(&server, &args);
    second.expect_code(1);
    assert_eq!(count(&balanced(&second), "resumed"), 0);
    assert_eq!(second.stderr_lines_starting("resuming"), Vec::<&str>::new());
    assert_eq!(server.accepted_ids(), ["cus_1", "cus_1"], "sent again");
}

#[test]
fn an_unwritable_or_full_journal_is_exit_2_before_any_request() {
    let server = default_mock();
    let dir = Dir::new();
    let missing = dir.path("no-such-dir/j");
    let not_a_journal = dir.file("ids.txt", "cus_1\ncus_2\n");
    let table = [
        (
            PathBuf::from("/dev/full"),
            "cannot be written: No space left on device".to_string(),
        ),
        (
            missing.clone(),
            "cannot be opened: No such file or directory".into(),
        ),
        (
            not_a_journal.clone(),
            "is not a tagctl journal (refusing to overwrite it)".into(),
        ),
    ];
    for (path, why) in table {
        let run = run_against(&server, &["tag", "VIP", "cus_1", "--journal", arg(&path)]);
        run.expect_code(2);
        assert_eq!(
            run.stderr,
            format!("error: --journal {} {why}\n", path.display())
        );
        assert_eq!(server.request_count(), 0);
    }
    assert_eq!(
        std::fs::read_to_string(&not_a_journal).unwrap(),
        "cus_1\ncus_2\n"
    );
}

#[test]
fn a_dry_run_reads_the_journal_but_never_writes_it() {
    let server = default_mock();
    let dir = Dir::new();
    let all = ids(4);
    let j = dir.path("j");
    let job = job_of(&server, "VIP");
    write_journal(&j, &job, 1_796_133_720, &[&all[..2]], Some(2));
    let before = std::fs::read(&j).unwrap();
    let mut args = vec!["tag", "VIP", "--journal", arg(&j), "--dry-run"];
    args.extend(id_args(&all));
    let run = run_against(&server, &args);
    run.expect_code(0);
    assert_eq!(
        run.stdout.lines().next().unwrap(),
        format!(
            "POST {}/tags/VIP/customers (2 IDs, cus_00002 … cus_00003)",
            server.url()
        )
    );
    assert_eq!(std::fs::read(&j).unwrap(), before);
    assert_eq!(server.request_count(), 0);
}

// ---- --failed-ids after a crash ----

#[test]
fn after_sigkill_failed_ids_is_empty_never_an_earlier_runs_leftovers() {
    let server = mock(MockConfig {
        latency: Duration::from_millis(300),
        ..MockConfig::default()
    });
    let dir = Dir::new();
    let input = dir.file("ids.txt", ids(50).join("\n"));
    let failed = dir.file("failed.txt", "cus_yesterday_1\ncus_yesterday_2\n");
    let running = Running::spawn(
        &server,
        &dir,
        &job_args("10", &failed, &["-f", arg(&input)]),
        Stdio::null(),
    );
    wait_for_requests(&server, 1);
    running.signal("KILL");
    running.finish();
    assert_eq!(read_failed(&failed), "", "not yesterday's leftovers");
}

#[test]
fn failed_ids_that_is_also_an_unread_input_keeps_its_ids_after_ctrl_c() {
    let server = default_mock();
    let dir = Dir::new();
    let left = dir.file("left.txt", "cus_left_1\ncus_left_2\n");
    let args = job_args("10", &left, &["-f", "-", "-f", arg(&left)]);
    let mut running = Running::spawn(&server, &dir, &args, Stdio::piped());
    // Standard input sends one batch, then stays open and silent.
    let mut stdin = running.child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, ids(10).join("\n").as_bytes()).unwrap();
    std::io::Write::write_all(&mut stdin, b"\n").unwrap();
    wait_for_requests(&server, 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.accepted_count() < 10 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }
    running.signal("INT");
    let run = running.finish();
    drop(stdin);
    run.expect_code(130);
    assert_eq!(
        run.stderr_lines_starting("error: stopped"),
        [
            "error: stopped before the whole input was read: the unread rest is not counted; --failed-ids keeps its former content after the leftovers"
        ]
    );
    assert_eq!(
        read_failed(&left),
        "cus_left_1\ncus_left_2\n",
        "the unread input is kept\n{}",
        run.stderr
    );
    let rerun = run_against(&server, &["tag", "VIP", "-f", arg(&left)]);
    rerun.expect_code(0);
    let tagged = server.tagged("VIP");
    assert!(tagged.contains("cus_left_1") && tagged.contains("cus_left_2"));
}

#[test]
fn failed_ids_read_in_full_in_place_still_ends_with_the_leftovers() {
    let server = default_mock();
    server.push_faults([Fault::Status500, Fault::Status500]);
    let dir = Dir::new();
    let left = dir.file("left.txt", "cus_1\ncus_2\ncus_3\n");
    let run = run_against(
        &server,
        &job_args("1", &left, &["-f", arg(&left), "--max-retries", "1"]),
    );
    run.expect_code(1);
    assert_eq!(read_failed(&left), "cus_1\n");
    assert_eq!(accepted_sorted(&server), ["cus_2", "cus_3"]);
}

/// A tiny tmpfs, unmounted when dropped; `None` where mounting is not
/// allowed (not root), and the test that needs it says so and passes.
struct TinyDisk(PathBuf);

impl TinyDisk {
    fn mount(dir: &Dir, size: &str) -> Option<TinyDisk> {
        let at = dir.path("tiny");
        std::fs::create_dir(&at).ok()?;
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                arg(&at),
            ])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(TinyDisk(at))
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_disk_that_fills_during_the_run_stops_it_clearly_and_the_journal_still_resumes() {
    let server = default_mock();
    let dir = Dir::new();
    let Some(disk) = TinyDisk::mount(&dir, "64k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let all = ids(20_000);
    let input = dir.file("ids.txt", all.join("\n"));
    let j = disk.0.join("j");
    let args = [
        "tag",
        "VIP",
        "-f",
        arg(&input),
        "--concurrency",
        "1",
        "--journal",
        arg(&j),
        "--output",
        "json",
    ];
    let run = run_against(&server, &args);
    run.expect_code(1);
    assert_eq!(
        run.stderr_lines_starting("error: --journal"),
        ["error: --journal: cannot write: No space left on device; stopping"],
        "{}",
        run.stderr
    );
    let json = balanced(&run);
    assert!(count(&json, "unsent") > 0, "{json}");
    let job = job_of(&server, "VIP");
    let (state, confirmed) = journaled(&j, &job);
    assert!(matches!(state, State::Unfinished { .. }));
    assert!(confirmed.is_subset(&set(&server.accepted_ids())));
    // On a disk with room, the same journal finishes the job.
    let roomy = dir.path("j");
    std::fs::copy(&j, &roomy).unwrap();
    let before = server.accepted_ids().len();
    let mut rerun_args = args.to_vec();
    rerun_args[7] = arg(&roomy);
    run_against(&server, &rerun_args).expect_code(0);
    let resent = server.accepted_ids()[before..]
        .iter()
        .filter(|id| confirmed.contains(*id))
        .count();
    assert_eq!(resent, 0);
    assert_eq!(set(&server.accepted_ids()), set(&all));
}

#[test]
fn tag_verify_after_a_resume_reads_back_the_journaled_ids_too() {
    let server = default_mock();
    let all = ids(4);
    // An earlier run tagged the first two and was killed.
    let mut first = vec!["tag", "VIP", "--quiet"];
    first.extend(all[..2].iter().map(String::as_str));
    run_against(&server, &first).expect_code(0);
    let dir = Dir::new();
    let j = dir.path("j");
    write_journal(
        &j,
        &job_of(&server, "VIP"),
        1_796_133_720,
        &[&all[..2]],
        None,
    );
    let mut again = vec![
        "tag",
        "VIP",
        "--journal",
        arg(&j),
        "--verify",
        "--output",
        "json",
    ];
    again.extend(all.iter().map(String::as_str));
    let run = run_against(&server, &again);
    run.expect_code(0);
    let json = balanced(&run);
    assert_eq!((count(&json, "confirmed"), count(&json, "resumed")), (4, 2));
    assert_eq!(
        json["verify"],
        serde_json::json!({"matching": 4, "missing": 0, "not_found": 0, "unchecked": 0}),
        "counted over every confirmed ID, the resumed ones included"
    );
    let mut read: Vec<String> = server
        .requests_of(tagctl_mock::Operation::ListCustomers)
        .into_iter()
        .flat_map(|r| r.ids)
        .collect();
    read.sort();
    assert_eq!(read, all);
}
