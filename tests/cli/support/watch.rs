//! Watching a running `tagctl`: its standard error read line by line as it comes, so a
//! test waits for an event (a line, a request at the mock) instead of for a time.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use super::{Dir, MockServer, Run, process_against};

/// The lines of a stream, read on a thread as they arrive.
pub struct Lines {
    rx: Receiver<String>,
    seen: String,
}

impl Lines {
    /// Starts reading `stream`.
    pub fn new(stream: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx
                            .send(String::from_utf8_lossy(&line).into_owned())
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
        });
        Lines {
            rx,
            seen: String::new(),
        }
    }

    /// Reads until a line (without its line end) satisfies `pred` and returns it;
    /// panics, showing what was read, if none does within `timeout` or the stream ends.
    #[track_caller]
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    let bare = line.trim_end_matches(['\n', '\r']);
                    if pred(bare) {
                        return bare.to_owned();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {what} within {timeout:?}; read so far:\n{}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the stream ended without {what}; it held:\n{}", self.seen)
                }
            }
        }
    }

    /// Everything the stream held, once it has ended (waits at most `timeout`).
    #[track_caller]
    pub fn all(mut self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => self.seen.push_str(&line),
                Err(RecvTimeoutError::Disconnected) => return self.seen,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the stream did not end within {timeout:?}:\n{}", self.seen)
                }
            }
        }
    }
}

/// Waits (polling, at most `timeout`) until `done` holds; panics naming `what` if not.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "no {what} within {timeout:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits (at most 5 s) until `server` has received `n` requests.
#[track_caller]
pub fn wait_for_requests(server: &MockServer, n: u64) {
    wait_until(
        &format!("{n} request(s) at the mock"),
        Duration::from_secs(5),
        || server.request_count() >= n,
    );
}

/// A `tagctl` child process: standard output to a file, standard error watched.
pub struct Running {
    /// The process.
    pub child: Child,
    /// Where its standard output goes.
    pub stdout: PathBuf,
    /// Its standard error, line by line.
    pub stderr: Lines,
}

impl Running {
    /// Starts `tagctl <args>` against `server` (stdin closed), its output into `dir`.
    pub fn start(server: &MockServer, dir: &Dir, args: &[&str]) -> Running {
        Running::start_with(process_against(server, args), dir)
    }

    /// Starts `cmd`, its standard output into `dir`.
    pub fn start_with(mut cmd: std::process::Command, dir: &Dir) -> Running {
        let stdout = dir.path("stdout");
        let mut child = cmd
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(Stdio::piped())
            .spawn()
            .expect("tagctl starts");
        let stderr = Lines::new(child.stderr.take().expect("a stderr pipe"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// Sends the signal `name` (`INT`, `TERM`) to the process.
    #[cfg(unix)]
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the stderr line that satisfies `pred` (at most 5 s).
    #[track_caller]
    pub fn wait_for_stderr(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.stderr.wait_for(what, Duration::from_secs(5), pred)
    }

    /// Waits (at most 5 s, then kills it) for the process to end.
    #[track_caller]
    pub fn finish(mut self) -> Run {
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
                    self.stderr.all(Duration::from_secs(1))
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&std::fs::read(&self.stdout).unwrap_or_default())
                .into_owned(),
            stderr: self.stderr.all(Duration::from_secs(5)),
        }
    }
}
