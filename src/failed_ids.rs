//! `--failed-ids`: a file that never lies about which run it belongs to.
//!
//! * Not an input of the run: it is emptied when the run starts (after every
//!   check has passed, so a typo costs nothing), and filled at the end. A
//!   SIGKILL in between leaves it empty, never holding an earlier run's
//!   leftovers; `--journal` is the crash-safe record.
//! * Also an input (`-f left.txt --failed-ids left.txt`, or `< left.txt`):
//!   it is not touched during the run. At the end a new file is written next
//!   to it and renamed over it: the unconfirmed IDs, then, if the input was
//!   not read to its end (an interrupt while another source was silent, a
//!   read error), the whole former content, so nothing unread is lost
//!   (IDs of it that were read and confirmed may then be sent again on the
//!   rerun, which is harmless: tagging is idempotent). A SIGKILL leaves the
//!   input as it was.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::exit::Fatal;
use crate::ids::read::io_message;

/// The `--failed-ids` file of a run.
#[derive(Debug)]
pub struct FailedIds {
    /// The flag, for messages: `--failed-ids` or `--missing-ids` (verify's
    /// leftovers follow the same rules).
    flag: &'static str,
    path: PathBuf,
    /// Open for writing; `None` when the file is an input (written by
    /// rename at the end).
    file: Option<File>,
}

impl FailedIds {
    /// Checks that `path` can be written, without changing it. `inputs` are
    /// the `--ids-file` paths (`-` for standard input) read by the run.
    pub fn open(path: &Path, inputs: &[PathBuf], stdin_read: bool) -> Result<FailedIds, Fatal> {
        FailedIds::open_as("--failed-ids", path, inputs, stdin_read)
    }

    /// [`FailedIds::open`] for another flag (`--missing-ids`).
    pub fn open_as(
        flag: &'static str,
        path: &Path,
        inputs: &[PathBuf],
        stdin_read: bool,
    ) -> Result<FailedIds, Fatal> {
        let fail = |e: &io::Error| {
            Fatal::usage(format!(
                "{flag}: cannot write {}: {}",
                path.display(),
                io_message(e)
            ))
        };
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| fail(&e))?;
        let is_input = is_an_input(path, &file, inputs, stdin_read);
        if is_input {
            // The rename at the end needs a writable directory: check now.
            let probe = temp_path(path);
            File::create(&probe).map_err(|e| fail(&e))?;
            let _ = std::fs::remove_file(&probe);
        }
        Ok(FailedIds {
            flag,
            path: path.to_path_buf(),
            file: (!is_input).then_some(file),
        })
    }

    /// The flag it was given with, for messages.
    pub fn flag(&self) -> &'static str {
        self.flag
    }

    /// Whether the file is also read by the run.
    pub fn is_input(&self) -> bool {
        self.file.is_none()
    }

    /// The run starts: an earlier run's content goes now.
    pub fn start(&mut self) -> io::Result<()> {
        match &self.file {
            Some(f) => f.set_len(0),
            None => Ok(()),
        }
    }

    /// Writes the unconfirmed IDs (`write` puts them, one per line). With
    /// `input_unread`, an input file's former content is kept after them.
    pub fn finish(
        self,
        input_unread: bool,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        match self.file {
            Some(file) => {
                file.set_len(0)?;
                let mut out = BufWriter::new(file);
                write(&mut out)?;
                out.flush()
            }
            None => {
                let temp = temp_path(&self.path);
                let result = (|| {
                    let mut out = BufWriter::new(File::create(&temp)?);
                    write(&mut out)?;
                    if input_unread {
                        let mut old = File::open(&self.path)?;
                        let mut last = [0u8; 1];
                        io::copy(&mut old, &mut out)?;
                        // Keep the last ID on a line of its own.
                        use std::io::{Read, Seek, SeekFrom};
                        let len = old.seek(SeekFrom::End(0))?;
                        if len > 0 {
                            old.seek(SeekFrom::End(-1))?;
                            old.read_exact(&mut last)?;
                            if last[0] != b'\n' {
                                out.write_all(b"\n")?;
                            }
                        }
                    }
                    let file = out.into_inner().map_err(|e| e.into_error())?;
                    file.sync_data()?;
                    std::fs::rename(&temp, &self.path)
                })();
                if result.is_err() {
                    let _ = std::fs::remove_file(&temp);
                }
                result
            }
        }
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tagctl-{}.tmp", std::process::id()))
}

#[cfg(unix)]
fn is_an_input(_path: &Path, file: &File, inputs: &[PathBuf], stdin_read: bool) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(me) = file.metadata() else {
        return false;
    };
    let same = |m: std::fs::Metadata| m.dev() == me.dev() && m.ino() == me.ino();
    let stdin = stdin_read || inputs.iter().any(|p| p.as_os_str() == "-");
    inputs
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .filter_map(|p| std::fs::metadata(p).ok())
        .any(same)
        || (stdin && std::fs::metadata("/dev/stdin").is_ok_and(same))
}

#[cfg(not(unix))]
fn is_an_input(path: &Path, _file: &File, inputs: &[PathBuf], _stdin_read: bool) -> bool {
    // No inode to compare: compare the resolved paths.
    let me = std::fs::canonicalize(path).ok();
    inputs
        .iter()
        .any(|p| p.as_os_str() != "-" && me.is_some() && std::fs::canonicalize(p).ok() == me)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"x\ny\n")
    }

    #[test]
    fn a_plain_file_is_emptied_at_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failed.txt");
        std::fs::write(&path, "stale\n").unwrap();
        let mut f = FailedIds::open(&path, &[], false).unwrap();
        assert!(!f.is_input());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "stale\n",
            "not before the start"
        );
        f.start().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        f.finish(true, ids).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "x\ny\n");
    }

    #[test]
    fn an_input_keeps_what_was_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("left.txt");
        let table = [
            (false, "a\nb", "x\ny\n"),
            (true, "a\nb", "x\ny\na\nb\n"),
            (true, "a\n", "x\ny\na\n"),
            (true, "", "x\ny\n"),
        ];
        for (unread, before, after) in table {
            std::fs::write(&path, before).unwrap();
            let mut f = FailedIds::open(&path, std::slice::from_ref(&path), false).unwrap();
            assert!(f.is_input());
            f.start().unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
            f.finish(unread, ids).unwrap();
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                after,
                "{unread} {before:?}"
            );
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
