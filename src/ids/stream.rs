//! Sources that may pause: a pipe, a terminal, a FIFO (`tail -f`, a query
//! printing one ID at a time). A partial batch must not wait for 1000 IDs
//! that may come in an hour, so such a source is read through a [`Pump`]:
//! a thread does the blocking reads, and the reader thread waits for its
//! chunks with a timeout. When the stream is idle for [`IDLE`], or whenever a
//! chunk arrives, the reader thread's pause hook runs (see [`with_pause_hook`])
//! and may send the partial batch.
//!
//! The hook is thread-local because the batch it flushes belongs to the
//! reader thread, which is the one waiting: no lock is taken per ID, and a
//! regular file (never read through a pump) pays nothing.

use std::cell::RefCell;
use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// A stream that sends nothing for this long has its partial batch sent.
pub const IDLE: Duration = Duration::from_millis(250);
/// A partial batch older than this is sent at the next chunk, however busy
/// the stream.
pub const MAX_AGE: Duration = Duration::from_secs(2);
const CHUNK: usize = 1 << 16;

/// Why the pause hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// Nothing arrived for [`IDLE`].
    Idle,
    /// The reader wants the next chunk (the last one is parsed).
    Chunk,
}

type Hook = Box<dyn FnMut(Pause)>;

thread_local! {
    static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

/// Runs `body` with `hook` called on this thread whenever a pumped source
/// pauses (see [`Pause`]).
pub fn with_pause_hook<T>(hook: impl FnMut(Pause) + 'static, body: impl FnOnce() -> T) -> T {
    HOOK.with(|h| *h.borrow_mut() = Some(Box::new(hook)));
    let out = body();
    HOOK.with(|h| *h.borrow_mut() = None);
    out
}

fn pause(why: Pause) {
    HOOK.with(|h| {
        // A hook that is running already (it cannot read, but be safe) is
        // not re-entered.
        if let Ok(mut h) = h.try_borrow_mut()
            && let Some(hook) = h.as_mut()
        {
            hook(why);
        }
    });
}

/// A source read by a thread of its own, in chunks handed over a bounded
/// channel (two chunks of 64 KiB at most in flight).
pub struct Pump {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Pump {
    /// Starts reading `inner` on a thread.
    pub fn spawn(mut inner: impl Read + Send + 'static) -> io::Result<Pump> {
        let (tx, rx) = mpsc::sync_channel(2);
        std::thread::Builder::new()
            .name("tagctl-pump".into())
            .spawn(move || {
                loop {
                    let mut buf = vec![0; CHUNK];
                    match inner.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            buf.truncate(n);
                            if tx.send(Ok(buf)).is_err() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
            })?;
        Ok(Pump {
            rx,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        })
    }
}

impl Read for Pump {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            pause(Pause::Chunk);
            loop {
                match self.rx.recv_timeout(IDLE) {
                    Ok(Ok(chunk)) => {
                        (self.chunk, self.pos) = (chunk, 0);
                        break;
                    }
                    Ok(Err(e)) => {
                        self.done = true;
                        return Err(e);
                    }
                    Err(RecvTimeoutError::Timeout) => pause(Pause::Idle),
                    Err(RecvTimeoutError::Disconnected) => {
                        self.done = true;
                        return Ok(0);
                    }
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A reader that hands out its parts with a pause before each.
    struct Slow(Vec<(Duration, &'static [u8])>);

    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let (wait, part) = self.0.remove(0);
            std::thread::sleep(wait);
            buf[..part.len()].copy_from_slice(part);
            Ok(part.len())
        }
    }

    #[test]
    fn a_pump_passes_everything_and_calls_the_hook_when_idle() {
        let slow = Slow(vec![
            (Duration::ZERO, b"cus_1\n"),
            (Duration::from_millis(400), b"cus_2\n"),
        ]);
        let seen = Rc::new(RefCell::new(Vec::new()));
        let log = Rc::clone(&seen);
        let text = with_pause_hook(
            move |p| log.borrow_mut().push(p),
            || {
                let mut out = String::new();
                Pump::spawn(slow).unwrap().read_to_string(&mut out).unwrap();
                out
            },
        );
        assert_eq!(text, "cus_1\ncus_2\n");
        let seen = seen.borrow();
        assert_eq!(seen.first(), Some(&Pause::Chunk));
        assert!(seen.contains(&Pause::Idle), "{seen:?}");
        // After the hook's scope, pausing is a no-op.
        pause(Pause::Idle);
    }
}
