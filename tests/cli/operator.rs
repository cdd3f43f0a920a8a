//! An operator's tool (issue 10): progress a CI log can show, a question
//! before removing tags, keys from real files, hints that say what to do
//! next. Terminal behaviour runs through a pty (util-linux `script`).
#![cfg(unix)]

use std::io::Write as _;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use predicates::Predicate;

use crate::support::*;

// ---- helpers ----

/// A single-quoted shell word.
fn sh(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `tagctl <args>` in a pseudo-terminal `cols` wide, its output collected as
/// the terminal shows it.
struct Pty {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    fn start(env: &[(&str, &str)], cols: u16, args: &[&str], stdin_redirect: &str) -> Pty {
        Pty::start_with(
            env,
            &format!("stty rows 24 cols {cols}; "),
            args,
            stdin_redirect,
        )
    }

    /// Runs the shell commands `before`, then execs tagctl with `args`.
    fn start_with(env: &[(&str, &str)], before: &str, args: &[&str], stdin_redirect: &str) -> Pty {
        let mut line = format!("{before}exec {}", sh(env!("CARGO_BIN_EXE_tagctl")));
        for a in args {
            line.push(' ');
            line.push_str(&sh(a));
        }
        line.push_str(stdin_redirect);
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"]);
        for var in INHERITED_ENV {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("script (util-linux) runs");
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&out);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            stdin: child.stdin.take(),
            child,
            out,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).replace("\r\n", "\n")
    }

    /// Waits (at most 10 s) until the terminal shows `what`.
    fn wait_for(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.text().contains(what) {
            assert!(
                Instant::now() < deadline,
                "never saw {what:?}; the terminal shows:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits (at most 20 s) for the end; the exit code and the terminal text.
    fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tagctl did not end; the terminal shows:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        drop(self.stdin.take());
        // The reader thread drains what is left.
        std::thread::sleep(Duration::from_millis(50));
        (status.code().unwrap_or(-1), self.text())
    }
}

fn env_for(server: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("REBILLY_API_KEY", KEY.to_string()),
        ("REBILLY_API_URL", server.url()),
    ]
}

fn pty_against(server: &MockServer, cols: u16, args: &[&str], redirect: &str) -> Pty {
    let env = env_for(server);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Pty::start(&env, cols, args, redirect)
}

/// A child whose standard error goes to a file, as in a CI job.
struct Logged {
    child: Child,
    stdout: std::path::PathBuf,
    stderr: std::path::PathBuf,
}

impl Logged {
    fn start(server: &MockServer, dir: &Dir, interval_ms: &str, args: &[&str]) -> Logged {
        let (stdout, stderr) = (dir.path("stdout"), dir.path("stderr.log"));
        let child = process_against(server, args)
            .env("TAGCTL_PROGRESS_INTERVAL_MS", interval_ms)
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("tagctl starts");
        Logged {
            child,
            stdout,
            stderr,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits (at most 10 s) for a line of the log that starts with `prefix`.
    fn wait_for_line(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(l) = self.log().lines().find(|l| l.starts_with(prefix)) {
                return l.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no line {prefix:?} in:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn interrupt_and_finish(mut self) -> Run {
        let ok = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "tagctl did not stop:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            stderr: self.log(),
        }
    }
}

/// tagctl's short durations (`45s`, `9m12s`, `8h07m`).
fn human(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

fn matches(pattern: &str, text: &str) -> bool {
    predicates::str::is_match(pattern).unwrap().eval(text)
}

// ---- 2. silence in CI: plain progress lines ----

/// A rate-limited run with standard error in a file: status lines on the
/// interval, one line when the long wait begins (the mock's daily window
/// resets at midnight UTC), no carriage return or escape anywhere.
#[test]
fn a_ci_log_gets_status_lines_and_announces_a_long_wait() {
    let server = mock(MockConfig {
        rate_limit: Some(RateLimit::new(1, 86_400)),
        ..MockConfig::default()
    });
    let dir = Dir::new();
    let job = Logged::start(
        &server,
        &dir,
        "200",
        &[
            "tag",
            "VIP",
            "cus_1",
            "cus_2",
            "cus_3",
            "--batch-size",
            "1",
            "--concurrency",
            "1",
            "--max-wait",
            "86400",
            "--output",
            "json",
        ],
    );
    let wait = job.wait_for_line("progress: waiting ");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let left = 86_400 - now % 86_400;
    let expected: Vec<String> = (left.saturating_sub(90)..=left + 5)
        .map(|s| {
            format!(
                "progress: waiting {} for the rate-limit reset at 00:00:00 UTC",
                human(s)
            )
        })
        .collect();
    assert!(expected.contains(&wait), "{wait}");
    let status = job.wait_for_line("progress: 1 of 3 IDs done");
    assert!(
        matches(
            r"^progress: 1 of 3 IDs done \(33%\), \d+ IDs/s, 2 requests, 1 rate-limited, \d+s elapsed, waiting \d+(h\d\dm|m\d\ds|s)$",
            &status
        ),
        "{status}"
    );
    let run = job.interrupt_and_finish();
    run.expect_code(130);
    let j = balanced(&run);
    assert_eq!((count(&j, "confirmed"), count(&j, "unsent")), (1, 2));
    assert!(!run.stderr.contains(['\r', '\u{1b}']), "{:?}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("progress: waiting"))
            .count(),
        1,
        "one wait, one line:\n{}",
        run.stderr
    );
    for line in &lines {
        assert!(
            line.starts_with("progress: ")
                || *line
                    == "warning: interrupted: finishing the requests in flight (interrupt again to abort)",
            "unexpected line {line:?}"
        );
    }
}

/// `--progress none` and `-q` print nothing but errors, where `plain`
/// (and `auto` off a terminal) prints status lines.
#[test]
fn none_and_quiet_leave_standard_error_to_errors() {
    let server = mock(MockConfig {
        latency: Duration::from_millis(60),
        ..MockConfig::default()
    });
    let base = [
        "tag",
        "VIP",
        "a",
        "b",
        "c",
        "d",
        "e",
        "--batch-size",
        "1",
        "--concurrency",
        "1",
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        run(against(&server, &args).env("TAGCTL_PROGRESS_INTERVAL_MS", "20"))
    };
    for extra in [
        &["--progress", "none"][..],
        &["-q"],
        &["--progress", "none", "--output", "json"],
    ] {
        let out = with(extra);
        out.expect_code(0);
        assert_eq!(out.stderr, "", "{extra:?}");
    }
    for extra in [&[][..], &["--progress", "plain"], &["--progress", "auto"]] {
        let out = with(extra);
        out.expect_code(0);
        assert!(
            !out.stderr.is_empty()
                && out.stderr.lines().all(|l| matches(
                    r"^progress: \d of 5 IDs done \(\d+%\), \d+ IDs/s, \d requests, 0 rate-limited, \ds elapsed$|^progress: \d IDs done, \d read so far, \d+ IDs/s, \d requests, 0 rate-limited, \ds elapsed$",
                    l
                )),
            "{extra:?}:\n{}",
            out.stderr
        );
    }
    // `bar` off a terminal draws nothing: no escapes reach a log.
    let out = with(&["--progress", "bar"]);
    assert_eq!(out.stderr, "");
}

// ---- 5. the bar ----

/// In a 60-column terminal every frame fits, an unfinished total says it
/// is counting, and the bar is cleared before the summary.
#[test]
fn the_bar_fits_the_terminal_and_is_cleared_before_the_summary() {
    let server = mock(MockConfig {
        rate_limit: Some(RateLimit::new(4, 1)),
        ..MockConfig::default()
    });
    let dir = Dir::new();
    let input = dir.file("ids.txt", ids(10).join("\n"));
    let pty = pty_against(
        &server,
        60,
        &[
            "tag",
            "VIP",
            "-f",
            arg(&input),
            "--batch-size",
            "1",
            "--concurrency",
            "1",
        ],
        "",
    );
    let (code, text) = pty.finish();
    assert_eq!(code, 0, "{text}");
    let (frames, summary) = text
        .rsplit_once("\r\u{1b}[2K")
        .unwrap_or_else(|| panic!("the bar is cleared:\n{text:?}"));
    let summary = summary.trim_start_matches('\r');
    for frame in frames.split("\r\u{1b}[2K").skip(1) {
        // Each frame ends by sending the cursor home.
        assert!(frame.ends_with('\r'), "{frame:?}");
        let frame = frame.trim_end_matches('\r');
        // indicatif fills the line to the width with spaces; the text stops
        // short of the last column.
        assert!(
            frame.chars().count() <= 60,
            "{frame:?} is wider than the terminal"
        );
        assert!(
            frame.trim_end().chars().count() < 60,
            "{frame:?} reaches the last column"
        );
        assert!(!frame.contains('\n'), "a frame wrapped: {frame:?}");
    }
    assert!(frames.contains("+ IDs (counting)"), "{frames:?}");
    assert!(frames.contains("/10 IDs"), "{frames:?}");
    let lines: Vec<&str> = summary.lines().collect();
    assert!(
        matches(
            r#"^Tagged 10 customers with "VIP" in 1\d requests \(\d\.\ds\)\.$"#,
            lines[0]
        ),
        "{summary:?}"
    );
    assert_eq!(lines[3], format!("  endpoint {}", server.url()));
}

/// Ctrl-C during a long wait: the bar is cleared at once, and nothing is
/// drawn again above the warning and the summary.
#[test]
fn ctrl_c_clears_the_bar() {
    let server = mock(MockConfig {
        rate_limit: Some(RateLimit::new(1, 86_400)),
        ..MockConfig::default()
    });
    let mut pty = pty_against(
        &server,
        100,
        &[
            "tag",
            "VIP",
            "cus_1",
            "cus_2",
            "--batch-size",
            "1",
            "--max-wait",
            "86400",
        ],
        "",
    );
    pty.wait_for("rate-limited, waiting");
    let stdin = pty.stdin.as_mut().unwrap();
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    let (code, text) = pty.finish();
    assert_eq!(code, 130, "{text:?}");
    let (before, after) = text
        .split_once("warning: interrupted")
        .unwrap_or_else(|| panic!("{text:?}"));
    // The terminal echoes `^C` where the cursor is: at the start of the
    // bar's line, not past its last column (where it would wrap to the next
    // line and leave the frame above the summary). Then the line is cleared.
    let (frame, echo) = before
        .rsplit_once("^C")
        .unwrap_or_else(|| panic!("the ^C echo: {before:?}"));
    assert!(frame.ends_with('\r'), "the cursor is home: {frame:?}");
    assert!(
        echo.starts_with("\r\u{1b}[2K") && !echo.contains(" IDs"),
        "the bar is cleared first: {echo:?}"
    );
    assert!(
        !after.contains('\u{1b}') && !after.contains("IDs  "),
        "{after:?}"
    );
    assert!(after.contains("Tagged 1 of 2 customers"), "{after:?}");
}

/// The frames drawn so far, as the terminal shows them.
fn frames(text: &str) -> Vec<String> {
    text.split("\r\u{1b}[2K")
        .map(|f| f.trim_end().to_string())
        .filter(|f| f.contains(" IDs"))
        .collect()
}

/// A terminal narrowed from 100 to 50 columns mid-run gets frames that fit
/// the new width.
#[test]
fn the_bar_follows_a_resize() {
    let server = mock(MockConfig {
        rate_limit: Some(RateLimit::new(1, 86_400)),
        ..MockConfig::default()
    });
    let env = env_for(&server);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut pty = Pty::start_with(
        &env,
        "stty rows 24 cols 100; (sleep 0.5; stty cols 50 < /dev/tty) & ",
        &[
            "tag",
            "VIP",
            "cus_1",
            "cus_2",
            "--batch-size",
            "1",
            "--max-wait",
            "86400",
        ],
        "",
    );
    pty.wait_for("rate-limited, waiting");
    let deadline = Instant::now() + Duration::from_secs(5);
    while frames(&pty.text())
        .last()
        .is_none_or(|f| f.chars().count() >= 50)
    {
        assert!(
            Instant::now() < deadline,
            "no narrow frame: {:?}",
            frames(&pty.text())
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let all = frames(&pty.text());
    assert!(
        all.iter().any(|f| f.chars().count() > 50),
        "wide frames first: {all:?}"
    );
    let stdin = pty.stdin.as_mut().unwrap();
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    let (code, _) = pty.finish();
    assert_eq!(code, 130);
}

// ---- 3. untag asks first ----

#[test]
fn untag_asks_naming_tag_and_host_and_no_means_nothing_is_sent() {
    let server = default_mock();
    let mut pty = pty_against(&server, 200, &["untag", "VIP", "cus_1", "cus_2"], "");
    pty.wait_for("[y/N] ");
    pty.type_line("n");
    let (code, text) = pty.finish();
    assert_eq!(
        text,
        format!(
            "Remove the tag \"VIP\" from these customers at {} (not a Rebilly host)? [y/N] n\n\
             error: not confirmed, so nothing was sent (--yes skips the question)\n",
            server.url()
        )
    );
    assert_eq!(code, 1);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn live_is_named_in_the_question() {
    // Nothing is sent before the answer, so live is never reached.
    let mut pty = Pty::start(
        &[
            ("REBILLY_API_KEY", KEY),
            ("REBILLY_ORGANIZATION_ID", "org-1"),
        ],
        200,
        &["untag", "VIP", "cus_1"],
        "",
    );
    pty.wait_for("[y/N] ");
    pty.type_line("");
    let (code, text) = pty.finish();
    assert_eq!(
        text,
        "Remove the tag \"VIP\" from these customers on LIVE (https://api.rebilly.com/organizations/org-1)? [y/N] \n\
         error: not confirmed, so nothing was sent (--yes skips the question)\n"
    );
    assert_eq!(code, 1);
}

#[test]
fn yes_answers_and_the_untag_runs() {
    let server = default_mock();
    let mut pty = pty_against(
        &server,
        200,
        &[
            "untag",
            "VIP",
            "cus_1",
            "cus_2",
            "--output",
            "json",
            "--progress",
            "none",
        ],
        "",
    );
    pty.wait_for("[y/N] ");
    pty.type_line("y");
    let (code, text) = pty.finish();
    assert_eq!(code, 0, "{text}");
    let (question, json) = text.split_once("[y/N] y\n").expect("the answer echoed");
    assert!(question.starts_with("Remove the tag \"VIP\""), "{question}");
    let j: serde_json::Value = serde_json::from_str(json).expect("JSON summary");
    assert_eq!(j["confirmed"], 2);
    assert_eq!(j["endpoint"], server.url().as_str());
    assert_eq!(server.request_count(), 1);
    assert_eq!(server.requests()[0].method, "DELETE");
}

#[test]
fn yes_flag_or_a_non_interactive_run_never_asks() {
    let server = default_mock();
    let args = [
        "untag",
        "VIP",
        "cus_1",
        "--progress",
        "none",
        "--output",
        "json",
    ];
    let mut with_yes = args.to_vec();
    with_yes.push("--yes");
    // --yes on a terminal; no terminal on standard input; none on stderr.
    for (args, redirect) in [
        (&with_yes[..], ""),
        (&args[..], " < /dev/null"),
        (&args[..], " 2> /dev/null"),
    ] {
        let pty = pty_against(&server, 200, args, redirect);
        let (code, text) = pty.finish();
        assert_eq!(code, 0, "{redirect}: {text}");
        assert!(!text.contains("[y/N]"), "{redirect}: {text}");
    }
    // And a pipe, as in a script.
    let out = run_against(&server, &args);
    out.expect_code(0);
    assert_eq!(out.stderr, "");
    assert_eq!(server.request_count(), 4);
}

// ---- 6. keys from real files ----

fn private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn key_only_mock() -> MockServer {
    mock(MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    })
}

#[test]
fn a_notepad_key_file_loses_its_bom() {
    let server = key_only_mock();
    let dir = Dir::new();
    let file = dir.file("key.txt", format!("\u{feff}{KEY} \r\n"));
    private(&file);
    let out = run(tagctl().env("REBILLY_API_URL", server.url()).args([
        "--api-key-file",
        arg(&file),
        "tag",
        "VIP",
        "cus_1",
        "--progress",
        "none",
    ]));
    out.expect_code(0);
    assert_eq!(out.stderr, "");
    assert_eq!(server.requests()[0].api_key.as_deref(), Some(KEY));
}

#[test]
fn a_key_file_others_can_read_draws_one_warning() {
    let server = key_only_mock();
    let dir = Dir::new();
    let file = dir.file("key.txt", format!("{KEY}\n"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(tagctl().env("REBILLY_API_URL", server.url()).args([
        "--api-key-file",
        arg(&file),
        "tag",
        "VIP",
        "cus_1",
        "--output",
        "json",
    ]));
    out.expect_code(0);
    assert_eq!(
        out.stderr,
        format!(
            "warning: --api-key-file {} is readable by other users (mode 644); run chmod 600 on it\n",
            file.display()
        )
    );
}

#[test]
fn the_key_can_come_from_standard_input() {
    let server = key_only_mock();
    let out = run(tagctl()
        .env("REBILLY_API_URL", server.url())
        .args([
            "--api-key-file",
            "-",
            "tag",
            "VIP",
            "cus_1",
            "cus_2",
            "--output",
            "json",
        ])
        .write_stdin(format!("{KEY}\n")));
    out.expect_code(0);
    assert_eq!(out.stderr, "");
    assert_eq!(count(&out.json(), "confirmed"), 2);
    assert_eq!(server.requests()[0].api_key.as_deref(), Some(KEY));
}

#[test]
fn standard_input_cannot_hold_both_key_and_ids_nor_standard_output_a_written_file() {
    let server = default_mock();
    for (args, message) in [
        (
            &["--api-key-file", "-", "tag", "VIP", "-f", "-"][..],
            "error: --api-key-file - and --ids-file - both want standard input; give one of them a file\n",
        ),
        (
            &["tag", "VIP", "cus_1", "--failed-ids", "-"],
            "error: --failed-ids -: standard output holds the summary; give a file name\n",
        ),
        (
            &["tag", "VIP", "cus_1", "--report", "-"],
            "error: --report -: standard output holds the summary; give a file name\n",
        ),
        (
            &["untag", "VIP", "cus_1", "--journal", "-"],
            "error: --journal -: standard output holds the summary; give a file name\n",
        ),
        (
            &["verify", "VIP", "cus_1", "--missing-ids", "-"],
            "error: --missing-ids -: standard output holds the summary; give a file name\n",
        ),
        (
            &["tag", "VIP", "cus_1", "--verify", "--missing-ids", "-"],
            "error: --missing-ids -: standard output holds the summary; give a file name\n",
        ),
    ] {
        let out = run(against(&server, args).write_stdin("cus_1\n"));
        out.expect_code(2);
        assert_eq!(out.stderr, message);
        assert_eq!(out.stdout, "");
    }
    assert!(!std::path::Path::new("-").exists());
    assert_eq!(server.request_count(), 0);
}

// ---- 4. errors that say what to do ----

#[test]
fn number_errors_say_the_range_without_the_dash_dash_tip() {
    for (flag, value, message) in [
        (
            "--timeout",
            "-1",
            "'-1' is not a number of seconds (0 to 31536000, decimals allowed)",
        ),
        (
            "--batch-size",
            "-1",
            "'-1' is not a whole number from 1 to 1000",
        ),
        (
            "--batch-size",
            "1001",
            "'1001' is not a whole number from 1 to 1000",
        ),
        (
            "--concurrency",
            "0",
            "'0' is not a whole number from 1 to 64",
        ),
        (
            "--max-retries",
            "-3",
            "'-3' is not a whole number from 0 to 1000",
        ),
    ] {
        // verify shares the pacing flags (one definition), so it says the same.
        for command in ["tag", "untag", "verify"] {
            if command == "verify" && flag == "--batch-size" {
                continue;
            }
            let out = run(tagctl().args([command, "VIP", "cus_1", flag, value]));
            out.expect_code(2);
            let shown = match flag {
                "--timeout" => "--timeout <SECONDS>".to_string(),
                _ => format!("{flag} <N>"),
            };
            assert_eq!(
                out.stderr,
                format!(
                    "error: invalid value '{value}' for '{shown}': {message}\n\nFor more information, try '--help'.\n"
                ),
                "{command}"
            );
        }
    }
}

#[test]
fn a_url_without_a_scheme_suggests_one() {
    let out = run(tagctl().env("REBILLY_API_KEY", KEY).args([
        "tag",
        "VIP",
        "cus_1",
        "--api-url",
        "127.0.0.1:8080",
    ]));
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "error: --api-url '127.0.0.1:8080' has no scheme: try 'https://127.0.0.1:8080' (or 'http://127.0.0.1:8080' for a local server)\n"
    );
    let out = run(tagctl()
        .env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", "localhost:8080")
        .args(["tag", "VIP", "cus_1"]));
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "error: REBILLY_API_URL 'localhost:8080' has no scheme: try 'https://localhost:8080' (or 'http://localhost:8080' for a local server)\n"
    );
}

#[test]
fn help_shows_no_dangling_env_equals() {
    for env in [None, Some("")] {
        let mut cmd = tagctl();
        if let Some(v) = env {
            cmd.env("REBILLY_ORGANIZATION_ID", v)
                .env("REBILLY_API_URL", v);
        }
        let out = run(cmd.arg("--help"));
        out.expect_code(0);
        assert!(!out.stdout.contains("=]"), "{}", out.stdout);
        assert!(
            out.stdout.contains("[env: REBILLY_ORGANIZATION_ID]"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn an_incomplete_run_says_how_to_finish_it() {
    let server = mock(MockConfig {
        reject_ids: ["cus_bad".to_string()].into(),
        ..MockConfig::default()
    });
    let dir = Dir::new();
    let failed = dir.path("failed.txt");
    let with_file = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_1",
            "cus_bad",
            "--failed-ids",
            arg(&failed),
        ],
    );
    with_file.expect_code(1);
    let lines: Vec<&str> = with_file.stdout.lines().collect();
    assert_eq!(
        lines[1..],
        [
            "  read 2, duplicates 0, invalid 0, confirmed 1, failed 1, unsent 0",
            "  requests 2, retries 0, rate-limited 0, isolating rejected IDs 1",
            &format!("  endpoint {}", server.url()),
            &format!(
                "  to finish: rerun the same command with -f {} in place of the input (1 unconfirmed ID)",
                failed.display()
            ),
        ],
        "{}",
        with_file.stdout
    );
    let without = run_against(&server, &["tag", "VIP", "cus_1", "cus_bad"]);
    without.expect_code(1);
    assert_eq!(
        without.stdout.lines().last(),
        Some(
            "  to finish: rerun the same command (confirmed IDs are safe to send again); add --failed-ids PATH next time to rerun only the rest"
        )
    );
    // A complete run has nothing to finish.
    let done = run_against(&server, &["tag", "VIP", "cus_1"]);
    done.expect_code(0);
    assert!(!done.stdout.contains("to finish"), "{}", done.stdout);
}

// ---- the endpoint in the summary ----

#[test]
fn the_summary_names_the_base_url_never_a_credential() {
    let server = default_mock();
    let url = server.url().replace("http://", "http://user:hunter2@");
    let out = run(tagctl()
        .env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", &url)
        .env("REBILLY_ORGANIZATION_ID", "org-1")
        .args(["tag", "VIP", "cus_1", "--output", "json"]));
    out.expect_code(0);
    assert_eq!(
        out.json()["endpoint"],
        format!("{}/organizations/org-1", server.url()).as_str()
    );
    assert!(!out.stdout.contains("hunter2") && !out.stdout.contains(KEY));
}

// ---- 1. a dead API admits it in seconds ----

/// A loopback port nobody listens on.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

#[test]
fn a_dead_api_ends_the_run_within_seconds_with_exit_3() {
    let url = closed_port_url();
    let dir = Dir::new();
    let input = dir.file("ids.txt", ids(20_000).join("\n"));
    let start = Instant::now();
    let out = run(tagctl()
        .env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", &url)
        .args(["tag", "VIP", "-f", arg(&input), "--output", "json"]));
    let took = start.elapsed();
    out.expect_code(3);
    assert!(took < Duration::from_secs(11), "took {took:?}");
    assert_eq!(
        out.stderr,
        format!(
            "error: cannot reach the API at {url} (from REBILLY_API_URL): the connection failed (Connection refused (os error 111)); nothing was sent\n"
        )
    );
    let j = balanced(&out);
    assert_eq!(
        (
            count(&j, "confirmed"),
            count(&j, "failed"),
            count(&j, "unsent")
        ),
        (0, 0, 20_000)
    );
    assert_eq!(j["stopped"], "unreachable");
    assert!(count(&j, "requests") < 40, "{j}");
}

#[test]
fn exit_3_names_the_flag_the_url_came_from_and_says_how_to_finish() {
    let url = closed_port_url();
    let out = run(tagctl().env("REBILLY_API_KEY", KEY).args([
        "tag",
        "VIP",
        "cus_1",
        "cus_2",
        "--api-url",
        &url,
        "--max-retries",
        "1",
    ]));
    out.expect_code(3);
    assert_eq!(
        out.stderr,
        format!(
            "error: cannot reach the API at {url} (from --api-url): the connection failed (Connection refused (os error 111)); nothing was sent\n"
        )
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[1..],
        [
            "  read 2, duplicates 0, invalid 0, confirmed 0, failed 0, unsent 2",
            "  requests 2, retries 1, rate-limited 0",
            &format!("  endpoint {url}"),
            "  stopped early: unreachable",
            "  to finish: once the API can be reached, rerun the same command (confirmed IDs are safe to send again); add --failed-ids PATH next time to rerun only the rest",
        ]
    );
}

#[test]
fn a_tls_failure_is_never_retried() {
    // https:// to a server that speaks plain HTTP: the handshake fails.
    let server = default_mock();
    let url = server.url().replace("http://", "https://");
    let out = run(tagctl()
        .env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", &url)
        .args(["tag", "VIP", "cus_1", "--output", "json"]));
    out.expect_code(3);
    assert_eq!(
        out.stderr,
        format!(
            "error: cannot reach the API at {url} (from REBILLY_API_URL): the TLS handshake failed (received corrupt message of type InvalidContentType); nothing was sent\n"
        )
    );
    let j = balanced(&out);
    assert_eq!((count(&j, "requests"), count(&j, "unsent")), (1, 1));
}

/// A TLS server on loopback with a self-signed certificate (one the client
/// cannot trust); returns its URL and how many connections it accepted.
fn untrusted_tls_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let cert = CertificateDer::from_pem_file(dir.join("cert.pem")).unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            // The client refuses the certificate and hangs up.
            while conn.is_handshaking() {
                if conn.complete_io(&mut stream).is_err() {
                    break;
                }
            }
        }
    });
    (url, accepted)
}

#[test]
fn a_refused_certificate_is_never_retried() {
    let (url, accepted) = untrusted_tls_server();
    let start = Instant::now();
    let out = run(tagctl().env("REBILLY_API_KEY", KEY).args([
        "tag",
        "VIP",
        "cus_1",
        "cus_2",
        "--api-url",
        &url,
        "--output",
        "json",
    ]));
    out.expect_code(3);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let prefix = format!(
        "error: cannot reach the API at {url} (from --api-url): its TLS certificate was refused ("
    );
    assert!(
        out.stderr.starts_with(&prefix) && out.stderr.ends_with("); nothing was sent\n"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    let j = balanced(&out);
    assert_eq!((count(&j, "requests"), count(&j, "unsent")), (1, 2));
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one try only"
    );
}

#[test]
fn an_unresolvable_host_is_exit_3_naming_dns() {
    let out = run(tagctl()
        .env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", "https://tagctl-test.invalid")
        .args([
            "tag",
            "VIP",
            "cus_1",
            "--max-retries",
            "0",
            "--output",
            "json",
        ]));
    out.expect_code(3);
    assert!(
        out.stderr.starts_with(
            "error: cannot reach the API at https://tagctl-test.invalid (from REBILLY_API_URL): the host name does not resolve ("
        ),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn once_the_api_has_answered_network_errors_are_retried() {
    // One request per window: the first is answered, the second waits for
    // the reset; meanwhile the server goes away.
    let server = mock(MockConfig {
        rate_limit: Some(RateLimit::new(1, 2)),
        ..MockConfig::default()
    });
    let url = server.url();
    let dir = Dir::new();
    let failed = dir.path("failed.txt");
    let job = process_against(
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
            "2",
            "--output",
            "json",
            "--failed-ids",
            arg(&failed),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.request_count() < 2 {
        assert!(Instant::now() < deadline, "no 429 yet");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(server);
    let out = job.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: batch 2 (1 ID, cus_2) failed after 3 attempts\n  Cannot connect\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot reach"), "{stderr}");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (j["confirmed"].as_u64(), j["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(j["endpoint"], url.as_str());
    assert_eq!(read_failed(&failed), "cus_2\n");
}

// ---- 4. hints on errors a user can fix ----

#[test]
fn a_refused_key_names_its_source_and_the_host() {
    let server = mock(MockConfig {
        api_key: Some(KEY.into()),
        forbidden: ["sk_forbidden".to_string()].into(),
        ..MockConfig::default()
    });
    let host = server.url().replace("http://", "");
    let dir = Dir::new();
    let file = dir.file("key", "sk_wrong\n");
    private(&file);
    for (args, env_key, want) in [
        (
            vec!["tag", "VIP", "cus_1"],
            Some("sk_wrong"),
            format!(
                "error: the API refused the credentials (401); stopping\n  401 Unauthorized\n  Invalid credentials used.\n  type: about:blank\n  instance: urn:tagctl-mock:request:1\n  hint: {host} did not accept the API key from REBILLY_API_KEY; check it\n"
            ),
        ),
        (
            vec!["--api-key-file", arg(&file), "tag", "VIP", "cus_1"],
            None,
            format!(
                "error: the API refused the credentials (401); stopping\n  401 Unauthorized\n  Invalid credentials used.\n  type: about:blank\n  instance: urn:tagctl-mock:request:2\n  hint: {host} did not accept the API key from --api-key-file; check it\n"
            ),
        ),
        (
            vec!["tag", "VIP", "cus_1"],
            Some("sk_forbidden"),
            format!(
                "error: the API refused the permission (403); stopping\n  403 Forbidden\n  These credentials may not tag customers.\n  type: about:blank\n  instance: urn:tagctl-mock:request:3\n  hint: {host} knows the API key from REBILLY_API_KEY but it may not change customer tags here; check its permissions and the organization ({})\n",
                server.url()
            ),
        ),
    ] {
        let mut cmd = tagctl();
        cmd.env("REBILLY_API_URL", server.url())
            .args(&args)
            .args(["--output", "json"]);
        if let Some(k) = env_key {
            cmd.env("REBILLY_API_KEY", k);
        }
        let out = run(&mut cmd);
        out.expect_code(4);
        assert_eq!(out.stderr, want);
    }
}

#[test]
fn a_422_without_json_keeps_its_status_in_the_per_id_line() {
    let server = default_mock();
    server.push_faults([Fault::RawProblem {
        status: 422,
        content_type: "text/html".into(),
        body: "<html><body>Nope</body></html>".into(),
    }]);
    let out = run_against(&server, &["tag", "VIP", "cus_1", "--output", "json"]);
    out.expect_code(1);
    let first = out.stderr.lines().next().unwrap_or_default().to_string();
    assert!(
        first.starts_with("error: customer cus_1 rejected (422): "),
        "{}",
        out.stderr
    );
}

#[test]
fn a_redirect_loop_on_the_same_origin_says_so() {
    let server = default_mock();
    server.push_faults((0..20).map(|_| Fault::Redirect {
        status: 307,
        location: "/tags/VIP/customers".into(),
    }));
    let out = run_against(&server, &["tag", "VIP", "cus_1", "--output", "json"]);
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        format!(
            "error: the API kept redirecting to {}/tags/VIP/customers on its own origin (a redirect loop); stopping after 6 redirects\n",
            server.url()
        )
    );
}
