//! What every integration test needs: the mock API on a free loopback port,
//! the real `tagctl` binary, and the outcome of running one against the other.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod snapshot;
mod watch;
pub use snapshot::*;
#[allow(unused_imports)] // each test module uses a different part
pub use tagctl_mock::{Fault, MockConfig, MockServer, RateLimit};
pub use watch::*;

/// The key the tests authenticate with.
pub const KEY: &str = "sk_test_SECRET_9f8e7d";

/// A finished run of the binary.
#[derive(Debug)]
pub struct Run {
    /// The exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output as the JSON summary.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The lines of standard error that start with `prefix`.
    pub fn stderr_lines_starting(&self, prefix: &str) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with(prefix))
            .collect()
    }

    /// Asserts the exit code, showing the output when it is wrong.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Starts the mock with `config`.
pub fn mock(config: MockConfig) -> MockServer {
    MockServer::start_background(config)
}

/// Starts the mock with its defaults.
pub fn default_mock() -> MockServer {
    mock(MockConfig::default())
}

/// The variables a test must not inherit: credentials, hosts and proxies.
pub const INHERITED_ENV: [&str; 11] = [
    "REBILLY_API_KEY",
    "REBILLY_JWT",
    "REBILLY_ORGANIZATION_ID",
    "REBILLY_SANDBOX",
    "REBILLY_API_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// `tagctl` with a clean environment: no credential or host leaks in from
/// the machine running the tests.
pub fn tagctl() -> Command {
    let mut cmd = Command::cargo_bin("tagctl").expect("the tagctl binary");
    for var in INHERITED_ENV {
        cmd.env_remove(var);
    }
    cmd.env("RUST_BACKTRACE", "1")
        .timeout(std::time::Duration::from_secs(60));
    cmd
}

/// `tagctl <args>` against `server`, authenticated through the environment.
pub fn against(server: &MockServer, args: &[&str]) -> Command {
    let mut cmd = tagctl();
    cmd.env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", server.url())
        .args(args);
    cmd
}

/// [`against`] as a plain `std::process::Command` with stdin closed, for tests that watch it run.
pub fn process_against(server: &MockServer, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tagctl"));
    for var in INHERITED_ENV {
        cmd.env_remove(var);
    }
    cmd.env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", server.url())
        .args(args)
        .stdin(std::process::Stdio::null());
    cmd
}

/// Runs a command to its end.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("tagctl runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `tagctl <args>` against `server`.
pub fn run_against(server: &MockServer, args: &[&str]) -> Run {
    run(&mut against(server, args))
}

/// `n` distinct IDs, `cus_00000` onwards.
pub fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("cus_{i:05}")).collect()
}

/// The IDs as arguments.
pub fn id_args(ids: &[String]) -> Vec<&str> {
    ids.iter().map(String::as_str).collect()
}

/// `tag VIP --batch-size <batch> --concurrency 1 --output json --failed-ids <failed> <rest…>`.
pub fn job_args<'a>(batch: &'a str, failed: &'a Path, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "tag",
        "VIP",
        "--batch-size",
        batch,
        "--concurrency",
        "1",
        "--output",
        "json",
        "--failed-ids",
        arg(failed),
    ];
    args.extend_from_slice(rest);
    args
}

/// A scratch directory with files in it.
pub struct Dir(tempfile::TempDir);

impl Dir {
    /// A new, empty directory.
    pub fn new() -> Dir {
        Dir(tempfile::tempdir().expect("a temporary directory"))
    }

    /// Writes `name` with `content` and returns its path.
    pub fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, content).expect("write a test file");
        path
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        self.0.path()
    }
}

/// A path as a `&str` argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Asserts the summary's accounting identity and returns the JSON.
#[track_caller]
pub fn balanced(run: &Run) -> serde_json::Value {
    let j = run.json();
    let n = |k: &str| count(&j, k);
    assert_eq!(
        n("ids_read"),
        n("duplicates") + n("invalid") + n("confirmed") + n("failed") + n("unsent"),
        "accounting identity in {j}"
    );
    j
}

/// The count `key` of a JSON summary; panics if it is missing.
#[track_caller]
pub fn count(json: &serde_json::Value, key: &str) -> u64 {
    json[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {json}"))
}

/// The text of a `--failed-ids` file; panics if it was not written.
#[track_caller]
pub fn read_failed(path: &Path) -> String {
    std::fs::read_to_string(path).expect("the --failed-ids file")
}

/// The lines of a `--failed-ids` file, one ID each.
#[track_caller]
pub fn failed_lines(path: &Path) -> Vec<String> {
    read_failed(path).lines().map(str::to_owned).collect()
}

/// The IDs the server accepted, sorted.
pub fn accepted_sorted(server: &MockServer) -> Vec<String> {
    let mut v = server.accepted_ids();
    v.sort();
    v
}

/// The peak resident memory (VmHWM, in KiB) of a process, if readable.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Runs `tagctl <args>` against `server`, sampling its peak memory until it
/// ends (or killing it after `limit`). Returns the run, the wall time and
/// the highest peak seen (0 where /proc is not available).
pub fn run_measured(
    server: &MockServer,
    args: &[&str],
    limit: std::time::Duration,
) -> (Run, std::time::Duration, u64) {
    let mut cmd = process_against(server, args);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let start = std::time::Instant::now();
    let mut child = cmd.spawn().expect("tagctl starts");
    let pipe = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let stdout = pipe(Box::new(child.stdout.take().unwrap()));
    let stderr = pipe(Box::new(child.stderr.take().unwrap()));
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_rss_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tagctl still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let out = Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    (out, elapsed, peak)
}
