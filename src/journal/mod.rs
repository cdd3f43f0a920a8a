//! `--journal`: a crash-safe, append-only record of one job, so that a run
//! killed at any instant (SIGKILL, OOM, a vanished CI runner) can be resumed
//! by running the same command again.
//!
//! # Format (version 1)
//!
//! A text file of records, one per line:
//!
//! ```text
//! <kind> <payload length in bytes> <FNV-1a 64 of the payload, 16 hex digits> <payload>\n
//! ```
//!
//! * `H` (first record only): a JSON object `{"format":"tagctl-journal",
//!   "version":1,"action":"tag","tag":"VIP","endpoint":"https://…/customers",
//!   "started":1796133720}` (`started` in Unix seconds, UTC). Never a credential:
//!   the endpoint is the redacted URL.
//! * `B`: one batch the API confirmed (204): its IDs joined by `,` (a valid
//!   customer ID holds no comma). Written and `sync_data`-ed before the batch
//!   counts as confirmed; many batches confirmed at once share one sync.
//! * `F`: the run ended: `{"unsent":N}`, N the valid IDs left for a rerun:
//!   those never sent, and, when the run stopped early, the failed ones too.
//!   A journal whose last record is `F` with `unsent` 0 is complete.
//!
//! The length and checksum make a torn last record (the kill hit mid-write)
//! recognisable: it is ignored, and cut off before anything is appended. A
//! bad record *followed* by good ones is not a torn write but a damaged
//! file, and an error.

pub mod sink;

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_NAME: &str = "tagctl-journal";

/// What makes two runs the same job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// `tag` or `untag`.
    pub action: String,
    /// The tag.
    pub tag: String,
    /// The endpoint URL, credentials removed.
    pub endpoint: String,
}

impl Job {
    /// The job of `action` (its name) with `tag` at `endpoint` (redacted).
    pub fn new(action: &str, tag: &str, endpoint: String) -> Job {
        Job {
            action: action.into(),
            tag: tag.into(),
            endpoint,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    #[serde(flatten)]
    job: Job,
    started: u64,
}

#[derive(Serialize, Deserialize)]
struct Finished {
    unsent: u64,
}

/// FNV-1a, 64 bits: no dependency, and plenty to tell a torn or garbled
/// record from a whole one.
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Appends one record to `out`.
pub fn encode(kind: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push(kind);
    out.extend_from_slice(format!(" {} {:016x} ", payload.len(), checksum(payload)).as_bytes());
    out.extend_from_slice(payload);
    out.push(b'\n');
}

/// Parses one line (with its `\n`): its kind and payload, or `None` if it
/// is not a whole, intact record.
pub fn decode(line: &[u8]) -> Option<(u8, &[u8])> {
    let line = line.strip_suffix(b"\n")?;
    let (&kind, rest) = line.split_first()?;
    let rest = rest.strip_prefix(b" ")?;
    let sp = memchr::memchr(b' ', rest)?;
    let len: usize = std::str::from_utf8(&rest[..sp]).ok()?.parse().ok()?;
    let rest = &rest[sp + 1..];
    let (sum, payload) = (rest.get(..16)?, rest.get(17..)?);
    if rest.get(16) != Some(&b' ') || payload.len() != len {
        return None;
    }
    let sum = u64::from_str_radix(std::str::from_utf8(sum).ok()?, 16).ok()?;
    (sum == checksum(payload)).then_some((kind, payload))
}

/// What a journal file held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Empty, or only a torn header: start afresh.
    Empty,
    /// A run of this job that did not finish with everything confirmed:
    /// resume it.
    Unfinished {
        /// When that run started (Unix seconds).
        started: u64,
    },
    /// A run of this job that finished with nothing unsent: start afresh.
    Complete,
}

/// The outcome of reading a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// What it held.
    pub state: State,
    /// Bytes of whole records; anything after is a torn tail.
    pub valid_len: u64,
    /// Whether a torn last record was ignored.
    pub torn: bool,
    /// IDs in its batch records (with repeats, if a run sent some twice).
    pub ids: u64,
}

/// Why a journal cannot be used; each is exit 2 before any request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScanError {
    /// The file is something else (never overwrite it).
    #[error("is not a tagctl journal (refusing to overwrite it)")]
    NotAJournal,
    /// Written by another format version.
    #[error("is a version {0} journal; this tagctl reads version {FORMAT_VERSION}")]
    Version(u32),
    /// A journal of another job.
    #[error("belongs to another job: its {what} is {journal:?}, this run's is {now:?}")]
    Mismatch {
        /// `action`, `tag` or `endpoint`.
        what: &'static str,
        /// The journal's value.
        journal: String,
        /// This run's value.
        now: String,
    },
    /// A damaged record before the end.
    #[error("is damaged at byte {0} (a bad record before the last one)")]
    Damaged(u64),
    /// Reading failed.
    #[error("cannot be read: {0}")]
    Io(String),
}

/// Reads a journal, checking it belongs to `job`, and hands every confirmed
/// ID to `on_id` as it goes (so no second copy of the set is built).
pub fn scan(
    mut reader: impl BufRead,
    job: &Job,
    on_id: &mut dyn FnMut(&[u8]),
) -> Result<Scan, ScanError> {
    let io_err = |e: io::Error| ScanError::Io(crate::ids::read::io_message(&e));
    let mut line = Vec::new();
    let mut offset = 0u64;
    let mut scan = Scan {
        state: State::Empty,
        valid_len: 0,
        torn: false,
        ids: 0,
    };
    let mut started = None;
    let mut finished_unsent = None;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(io_err)?;
        if n == 0 {
            break;
        }
        let Some((kind, payload)) = decode(&line) else {
            // Torn only if nothing follows.
            let more = !reader.fill_buf().map_err(io_err)?.is_empty();
            if more {
                return Err(if started.is_none() {
                    ScanError::NotAJournal
                } else {
                    ScanError::Damaged(offset)
                });
            }
            if started.is_none() && !line.starts_with(b"H ") {
                return Err(ScanError::NotAJournal);
            }
            scan.torn = true;
            break;
        };
        match (kind, started) {
            (b'H', None) => {
                let header: Header =
                    serde_json::from_slice(payload).map_err(|_| ScanError::NotAJournal)?;
                if header.format != FORMAT_NAME {
                    return Err(ScanError::NotAJournal);
                }
                if header.version != FORMAT_VERSION {
                    return Err(ScanError::Version(header.version));
                }
                check_job(&header.job, job)?;
                started = Some(header.started);
            }
            (_, None) => return Err(ScanError::NotAJournal),
            (b'B', Some(_)) => {
                for id in payload.split(|&b| b == b',').filter(|id| !id.is_empty()) {
                    scan.ids += 1;
                    on_id(id);
                }
                finished_unsent = None;
            }
            (b'F', Some(_)) => {
                let f: Finished =
                    serde_json::from_slice(payload).map_err(|_| ScanError::Damaged(offset))?;
                finished_unsent = Some(f.unsent);
            }
            (_, Some(_)) => return Err(ScanError::Damaged(offset)),
        }
        offset += n as u64;
        scan.valid_len = offset;
    }
    scan.state = match (started, finished_unsent) {
        (None, _) => State::Empty,
        (Some(_), Some(0)) => State::Complete,
        (Some(started), _) => State::Unfinished { started },
    };
    Ok(scan)
}

fn check_job(journal: &Job, now: &Job) -> Result<(), ScanError> {
    let fields = [
        ("action", &journal.action, &now.action),
        ("tag", &journal.tag, &now.tag),
        ("endpoint", &journal.endpoint, &now.endpoint),
    ];
    for (what, j, n) in fields {
        if j != n {
            return Err(ScanError::Mismatch {
                what,
                journal: j.clone(),
                now: n.clone(),
            });
        }
    }
    Ok(())
}

/// An open journal, positioned to append.
pub struct Journal {
    file: File,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").finish_non_exhaustive()
    }
}

/// A journal opened for a run, and what it said.
#[derive(Debug)]
pub struct Opened {
    /// The journal, ready for batch records.
    pub journal: Journal,
    /// `Some(started)` when this run resumes an unfinished one.
    pub resumed_from: Option<u64>,
    /// What was read.
    pub scan: Scan,
}

impl Journal {
    /// Opens (or creates) the journal at `path` for `job`, starting at
    /// `now` (Unix seconds). An unfinished journal of the same job is
    /// resumed: its IDs go to `on_id`. Anything else that is not this job's
    /// journal is an error; an empty or complete one is started afresh, its
    /// header synced before this returns, so a path that cannot be written
    /// fails here, before any request.
    pub fn open(
        path: &Path,
        job: &Job,
        now: u64,
        on_id: &mut dyn FnMut(&[u8]),
    ) -> Result<Opened, String> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| format!("cannot be opened: {}", crate::ids::read::io_message(&e)))?;
        let is_file = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        let scan = if is_file {
            scan(BufReader::with_capacity(1 << 20, &mut file), job, on_id)
                .map_err(|e| e.to_string())?
        } else {
            // A device (/dev/full, /dev/null) holds no journal to read.
            Scan {
                state: State::Empty,
                valid_len: 0,
                torn: false,
                ids: 0,
            }
        };
        let io = |e: io::Error| format!("cannot be written: {}", crate::ids::read::io_message(&e));
        let mut journal = Journal {
            file,
            buf: Vec::with_capacity(1 << 16),
        };
        let resumed_from = match scan.state {
            State::Unfinished { started } => {
                if is_file {
                    journal.file.set_len(scan.valid_len).map_err(io)?;
                }
                journal.file.seek(SeekFrom::End(0)).map_err(io)?;
                Some(started)
            }
            State::Empty | State::Complete => {
                if is_file {
                    journal.file.set_len(0).map_err(io)?;
                    journal.file.seek(SeekFrom::Start(0)).map_err(io)?;
                }
                let header = Header {
                    format: FORMAT_NAME.into(),
                    version: FORMAT_VERSION,
                    job: job.clone(),
                    started: now,
                };
                let payload = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
                encode(b'H', &payload, &mut journal.buf);
                journal.commit().map_err(io)?;
                sync_directory_of(path);
                None
            }
        };
        Ok(Opened {
            journal,
            resumed_from,
            scan,
        })
    }

    /// Adds a confirmed batch; durable only after [`Journal::commit`].
    pub fn add_batch<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        let start = self.buf.len();
        let mut payload = Vec::with_capacity(16 * 1024);
        for (i, id) in ids.into_iter().enumerate() {
            if i > 0 {
                payload.push(b',');
            }
            payload.extend_from_slice(id.as_bytes());
        }
        if payload.is_empty() {
            return;
        }
        encode(b'B', &payload, &mut self.buf);
        debug_assert!(self.buf.len() > start);
    }

    /// Writes what was added and syncs it to the disk.
    pub fn commit(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self
            .file
            .write_all(&self.buf)
            .and_then(|_| self.file.sync_data());
        self.buf.clear();
        result
    }

    /// Writes the final record: `unsent` valid IDs were not confirmed.
    pub fn finish(&mut self, unsent: u64) -> io::Result<()> {
        let payload = serde_json::to_vec(&Finished { unsent }).map_err(io::Error::other)?;
        encode(b'F', &payload, &mut self.buf);
        self.commit()
    }
}

/// Makes a new file's directory entry durable too (best effort: without it
/// a crash may lose the whole new journal, and the rerun then starts afresh,
/// which is safe).
fn sync_directory_of(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Reads a journal without changing it (for `--dry-run`): `Some(started)`
/// when a run of `job` would be resumed; its IDs go to `on_id`.
pub fn peek(path: &Path, job: &Job, on_id: &mut dyn FnMut(&[u8])) -> Result<Option<u64>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot be read: {}",
                crate::ids::read::io_message(&e)
            ));
        }
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let scan =
        scan(BufReader::with_capacity(1 << 20, file), job, on_id).map_err(|e| e.to_string())?;
    Ok(match scan.state {
        State::Unfinished { started } => Some(started),
        State::Empty | State::Complete => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(tag: &str) -> Job {
        Job {
            action: "tag".into(),
            tag: tag.into(),
            endpoint: "http://127.0.0.1:1/tags/VIP/customers".into(),
        }
    }

    fn header(job: &Job, started: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let h = Header {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            job: job.clone(),
            started,
        };
        encode(b'H', &serde_json::to_vec(&h).unwrap(), &mut out);
        out
    }

    fn scanned(bytes: &[u8], job: &Job) -> (Result<Scan, ScanError>, Vec<String>) {
        let mut ids = Vec::new();
        let r = scan(bytes, job, &mut |id| {
            ids.push(String::from_utf8_lossy(id).into_owned())
        });
        (r, ids)
    }

    #[test]
    fn records_round_trip_and_damage_is_seen() {
        let mut out = Vec::new();
        encode(b'B', b"a,b", &mut out);
        assert_eq!(decode(&out), Some((b'B', &b"a,b"[..])));
        for cut in 0..out.len() {
            assert_eq!(decode(&out[..cut]), None, "cut at {cut}");
        }
        let mut flipped = out.clone();
        flipped[out.len() - 2] = b'c';
        assert_eq!(decode(&flipped), None);
    }

    #[test]
    fn scan_states() {
        let j = job("VIP");
        let mut unfinished = header(&j, 1_796_133_720);
        encode(b'B', b"a,b", &mut unfinished);
        encode(b'B', b"c", &mut unfinished);
        let mut stopped = unfinished.clone();
        encode(b'F', br#"{"unsent":3}"#, &mut stopped);
        let mut complete = unfinished.clone();
        encode(b'F', br#"{"unsent":0}"#, &mut complete);
        let mut resumed_again = stopped.clone();
        encode(b'B', b"d", &mut resumed_again);
        let mut torn = unfinished.clone();
        let mut last = Vec::new();
        encode(b'B', b"x,y,z", &mut last);
        torn.extend_from_slice(&last[..last.len() - 3]);
        let unfinished_state = State::Unfinished {
            started: 1_796_133_720,
        };
        type Case<'a> = (&'a str, &'a [u8], State, &'a [&'a str], bool);
        let table: [Case; 7] = [
            ("empty", b"", State::Empty, &[], false),
            ("torn header", &unfinished[..10], State::Empty, &[], true),
            (
                "unfinished",
                &unfinished,
                unfinished_state.clone(),
                &["a", "b", "c"],
                false,
            ),
            (
                "stopped early",
                &stopped,
                unfinished_state.clone(),
                &["a", "b", "c"],
                false,
            ),
            (
                "complete",
                &complete,
                State::Complete,
                &["a", "b", "c"],
                false,
            ),
            (
                "resumed again",
                &resumed_again,
                unfinished_state.clone(),
                &["a", "b", "c", "d"],
                false,
            ),
            ("torn tail", &torn, unfinished_state, &["a", "b", "c"], true),
        ];
        for (name, bytes, state, ids, was_torn) in table {
            let (r, got) = scanned(bytes, &j);
            let s = r.unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<&str> = got.iter().map(String::as_str).collect();
            assert_eq!(
                (&s.state, got.as_slice(), s.torn),
                (&state, ids, was_torn),
                "{name}"
            );
            if name == "torn tail" {
                assert_eq!(s.valid_len, unfinished.len() as u64);
            }
        }
    }

    #[test]
    fn scan_refuses_what_is_not_this_jobs_journal() {
        let j = job("VIP");
        let mut damaged = header(&j, 1);
        damaged.extend_from_slice(b"B 3 0000000000000000 a,b\n");
        encode(b'B', b"c", &mut damaged);
        let other_endpoint = Job {
            endpoint: "https://api.rebilly.com/tags/VIP/customers".into(),
            ..j.clone()
        };
        let untag = Job {
            action: "untag".into(),
            ..j.clone()
        };
        let v2 = {
            let mut out = Vec::new();
            let h = br#"{"format":"tagctl-journal","version":2,"action":"tag","tag":"VIP","endpoint":"x","started":1}"#;
            encode(b'H', h, &mut out);
            out
        };
        let table: [(&str, Vec<u8>, ScanError); 6] = [
            (
                "an ID list",
                b"cus_1\ncus_2\n".to_vec(),
                ScanError::NotAJournal,
            ),
            (
                "an ID without newline",
                b"cus_1".to_vec(),
                ScanError::NotAJournal,
            ),
            (
                "another tag",
                header(&job("Gold"), 1),
                ScanError::Mismatch {
                    what: "tag",
                    journal: "Gold".into(),
                    now: "VIP".into(),
                },
            ),
            (
                "another action",
                header(&untag, 1),
                ScanError::Mismatch {
                    what: "action",
                    journal: "untag".into(),
                    now: "tag".into(),
                },
            ),
            (
                "another endpoint",
                header(&other_endpoint, 1),
                ScanError::Mismatch {
                    what: "endpoint",
                    journal: other_endpoint.endpoint.clone(),
                    now: j.endpoint.clone(),
                },
            ),
            (
                "damaged",
                damaged.clone(),
                ScanError::Damaged(header(&j, 1).len() as u64),
            ),
        ];
        for (name, bytes, want) in table {
            assert_eq!(scanned(&bytes, &j).0, Err(want), "{name}");
        }
        assert_eq!(scanned(&v2, &j).0, Err(ScanError::Version(2)));
    }

    #[test]
    fn open_starts_resumes_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let j = job("VIP");
        let mut none = |_: &[u8]| {};
        let mut o = Journal::open(&path, &j, 100, &mut none).unwrap();
        assert_eq!(o.resumed_from, None);
        o.journal.add_batch(["a", "b"]);
        o.journal.add_batch(["c"]);
        o.journal.commit().unwrap();
        drop(o);
        // A torn tail is cut off before the next record is appended.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"B 5 01");
        std::fs::write(&path, &bytes).unwrap();
        let mut seen = Vec::new();
        let mut o = Journal::open(&path, &j, 200, &mut |id: &[u8]| seen.push(id.to_vec())).unwrap();
        assert_eq!(
            (o.resumed_from, o.scan.torn, seen.len()),
            (Some(100), true, 3)
        );
        o.journal.add_batch(["d"]);
        o.journal.finish(0).unwrap();
        drop(o);
        let (r, ids) = scanned(&std::fs::read(&path).unwrap(), &j);
        assert_eq!((r.unwrap().state, ids.len()), (State::Complete, 4));
        // Complete: afresh, with a new start time.
        let o = Journal::open(&path, &j, 300, &mut none).unwrap();
        assert_eq!(o.resumed_from, None);
        drop(o);
        let (r, ids) = scanned(&std::fs::read(&path).unwrap(), &j);
        assert_eq!(
            (r.unwrap().state, ids.len()),
            (State::Unfinished { started: 300 }, 0)
        );
        // Another job's journal is refused and left as it was.
        let before = std::fs::read(&path).unwrap();
        let e = Journal::open(&path, &job("Gold"), 400, &mut none).unwrap_err();
        assert_eq!(
            e,
            r#"belongs to another job: its tag is "VIP", this run's is "Gold""#
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_fails_at_open() {
        let e = Journal::open(Path::new("/dev/full"), &job("VIP"), 1, &mut |_| {}).unwrap_err();
        assert_eq!(e, "cannot be written: No space left on device");
    }

    /// `cargo test --release --lib -- --ignored ten_million`: the resume
    /// cost of a 10M-ID journal (scan, checksums, and the de-dup set).
    /// `TAGCTL_KEEP_JOURNAL=path` keeps the file, for timing the binary.
    #[test]
    #[ignore = "a measurement: 170 MB of journal"]
    fn ten_million_journaled_ids_resume_in_bounded_time() {
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        let path = std::env::var_os("TAGCTL_KEEP_JOURNAL")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| dir.path().join("j"));
        let j = Job {
            action: "tag".into(),
            tag: "BENCH".into(),
            endpoint: "http://127.0.0.1:1/tags/BENCH/customers".into(),
        };
        let t = std::time::Instant::now();
        let mut o = Journal::open(&path, &j, 1, &mut |_| {}).unwrap();
        let mut ids = Vec::with_capacity(1000);
        for b in 0..10_000u64 {
            ids.clear();
            ids.extend((0..1000u64).map(|i| format!("cus_{:012}", b * 1000 + i)));
            o.journal.add_batch(ids.iter().map(String::as_str));
            if b % 100 == 99 {
                o.journal.commit().unwrap();
            }
        }
        o.journal.commit().unwrap();
        drop(o);
        let written = t.elapsed();
        let t = std::time::Instant::now();
        let mut set = crate::ids::IdSet::with_capacity(10_000_000);
        let o = Journal::open(&path, &j, 2, &mut |id| {
            set.preload(id);
        })
        .unwrap();
        let resumed = t.elapsed();
        assert_eq!((o.resumed_from, set.len()), (Some(1), 10_000_000));
        let size = std::fs::metadata(&path).unwrap().len();
        eprintln!(
            "10M IDs: journal {} MB written in {written:.2?}, resumed in {resumed:.2?}",
            size >> 20
        );
        assert!(resumed < std::time::Duration::from_secs(30));
    }

    #[test]
    fn times_and_counts_for_people() {}
}
