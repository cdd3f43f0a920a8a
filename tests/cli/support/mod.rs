//! What every integration test needs: the mock API on a free loopback port,
//! the real `tagctl` binary, and the outcome of running one against the other.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
#[allow(unused_imports)] // each test module uses a different part
pub use tagctl::mock::{Fault, MockConfig, MockServer, RateLimit};

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

/// `tagctl` with a clean environment: no credential or host leaks in from
/// the machine running the tests.
pub fn tagctl() -> Command {
    let mut cmd = Command::cargo_bin("tagctl").expect("the tagctl binary");
    for var in [
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
    ] {
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
    let n = |k: &str| {
        j[k].as_u64()
            .unwrap_or_else(|| panic!("{k} missing in {j}"))
    };
    assert_eq!(
        n("ids_read"),
        n("duplicates") + n("invalid") + n("confirmed") + n("failed") + n("unsent"),
        "accounting identity in {j}"
    );
    j
}

/// The IDs the server accepted, sorted.
pub fn accepted_sorted(server: &MockServer) -> Vec<String> {
    let mut v = server.accepted_ids();
    v.sort();
    v
}
