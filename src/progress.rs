//! Everything printed on standard error while a job runs: the progress (a
//! bar on a terminal, plain status lines in a CI log) and the messages, which
//! go through the bar so that none is overdrawn or lost.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::ProgressMode;
use crate::ledger::Counts;
use crate::text::{self, thousands};

/// Invalid IDs reported one by one before the rest are only counted.
const MAX_INVALID_SHOWN: u64 = 1000;
/// How often a plain status line is printed. CI systems kill a job that is
/// silent for 10 minutes; Rebilly's windows are 10 minutes long.
const PLAIN_INTERVAL: Duration = Duration::from_secs(30);
/// Overrides [`PLAIN_INTERVAL`] (milliseconds), so that tests wait for lines
/// rather than for time. Not part of the public interface.
const INTERVAL_ENV: &str = "TAGCTL_PROGRESS_INTERVAL_MS";
/// A rate-limit wait longer than this gets a line of its own off a terminal.
const ANNOUNCE_WAIT: Duration = Duration::from_secs(5);
/// The narrowest bar worth drawing; below it the line goes without one.
const MIN_BAR: usize = 10;

/// How chatty to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Errors, warnings and the progress.
    Normal,
    /// All that, and a line per request.
    Verbose,
}

/// What shows the progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// A bar redrawn in place (a terminal).
    Bar,
    /// Plain lines now and then (a log file, a CI job).
    Plain,
    /// Nothing.
    Off,
}

impl Display {
    /// The display `--progress` asks for, given whether standard error is a
    /// terminal. `bar` off a terminal draws nothing: escapes never reach a
    /// log.
    pub fn choose(mode: ProgressMode, quiet: bool, stderr_is_terminal: bool) -> Display {
        match mode {
            _ if quiet => Display::Off,
            ProgressMode::None => Display::Off,
            ProgressMode::Plain => Display::Plain,
            ProgressMode::Auto | ProgressMode::Bar if stderr_is_terminal => Display::Bar,
            ProgressMode::Auto => Display::Plain,
            ProgressMode::Bar => Display::Off,
        }
    }
}

/// What one tick knows about the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// The ledger's counts.
    pub counts: Counts,
    /// The whole input has been read: the total is final.
    pub reading_done: bool,
    /// How long the current rate-limit pause still lasts.
    pub paused: Option<Duration>,
    /// Time since the run started.
    pub elapsed: Duration,
}

impl Snapshot {
    fn done(&self) -> u64 {
        self.counts.done()
    }

    fn total(&self) -> u64 {
        self.counts.batched.max(self.done())
    }

    fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.done() as f64 / secs
        } else {
            0.0
        }
    }

    /// Time left: never shorter than a known wait; unknown while nothing is
    /// done yet and no wait is known.
    fn eta(&self) -> Option<Duration> {
        let rate = self.rate();
        let remaining = self.total().saturating_sub(self.done());
        let by_rate = (rate > 0.0)
            .then(|| Duration::from_secs_f64((remaining as f64 / rate).min(1e9)))
            .filter(|_| self.reading_done);
        match (by_rate, self.paused) {
            (Some(e), Some(p)) => Some(e.max(p)),
            (e, p) => e.or(p),
        }
    }
}

/// State of the plain lines.
struct Plain {
    interval: Duration,
    next_line: Option<Instant>,
    /// When the last announced wait ends, so one wait is announced once.
    announced_until: Option<Instant>,
}

/// The standard-error side of a run.
pub struct Reporter {
    bar: Option<ProgressBar>,
    plain: Option<Mutex<Plain>>,
    verbosity: Verbosity,
    invalid_shown: AtomicU64,
    /// The bar was cleared for good (Ctrl-C, the end).
    cleared: AtomicBool,
    start: Instant,
}

impl Reporter {
    /// A reporter showing progress on `display`.
    pub fn new(verbosity: Verbosity, display: Display) -> Reporter {
        let display = if verbosity == Verbosity::Quiet {
            Display::Off
        } else {
            display
        };
        let bar = (display == Display::Bar).then(|| {
            let target = ProgressDrawTarget::term_like_with_hz(Box::new(HomeCursor::stderr()), 20);
            let bar = ProgressBar::with_draw_target(Some(0), target);
            // The whole line is composed here, to fit the width.
            bar.set_style(
                ProgressStyle::with_template("{msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        let plain = (display == Display::Plain).then(|| {
            let interval = std::env::var(INTERVAL_ENV)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&ms| ms > 0)
                .map_or(PLAIN_INTERVAL, Duration::from_millis);
            Mutex::new(Plain {
                interval,
                next_line: None,
                announced_until: None,
            })
        });
        Reporter {
            bar,
            plain,
            verbosity,
            invalid_shown: AtomicU64::new(0),
            cleared: AtomicBool::new(false),
            start: Instant::now(),
        }
    }

    /// Whether [`Reporter::update`] shows anything: a ticker is needed.
    pub fn ticks(&self) -> bool {
        self.bar.is_some() || self.plain.is_some()
    }

    /// Whether per-request lines are wanted.
    pub fn is_verbose(&self) -> bool {
        self.verbosity == Verbosity::Verbose
    }

    /// Every line passes [`text::escape`] on its way out: the parts from
    /// outside were made safe where the message was built, and this is the
    /// guard for one that was missed.
    fn print(&self, lines: &[String]) {
        let write = || {
            let mut err = std::io::stderr().lock();
            for line in lines {
                let _ = writeln!(err, "{}", text::escape(line));
            }
        };
        match &self.bar {
            Some(bar) if !self.cleared.load(Ordering::Relaxed) => bar.suspend(write),
            _ => write(),
        }
    }

    /// `error: ...`, always shown; further lines are indented under it.
    pub fn error(&self, first: &str, rest: &[String]) {
        let mut lines = vec![format!("error: {first}")];
        lines.extend(rest.iter().map(|l| format!("  {l}")));
        self.print(&lines);
    }

    /// `warning: ...`, unless quiet.
    pub fn warn(&self, message: &str) {
        if self.verbosity != Verbosity::Quiet {
            self.print(&[format!("warning: {message}")]);
        }
    }

    /// What reading the input guessed or noticed: unless quiet, or always
    /// when the guess decides whether an ID is sent.
    pub fn notice(&self, notice: &crate::ids::Notice) {
        if notice.decisive || self.verbosity != Verbosity::Quiet {
            self.print(std::slice::from_ref(&notice.message));
        }
    }

    /// A plain note, unless quiet.
    pub fn note(&self, message: &str) {
        if self.verbosity != Verbosity::Quiet {
            self.print(&[message.to_string()]);
        }
    }

    /// A per-request line, only with `--verbose`.
    pub fn verbose(&self, message: &str) {
        if self.is_verbose() {
            self.print(&[message.to_string()]);
        }
    }

    /// An invalid ID: an error, one line each, up to a limit, so a wrong
    /// column in a million-row file does not bury the summary.
    pub fn invalid(&self, message: &str) {
        let n = self.invalid_shown.fetch_add(1, Ordering::Relaxed);
        if n < MAX_INVALID_SHOWN {
            self.print(&[format!("error: {message}")]);
        } else if n == MAX_INVALID_SHOWN {
            self.print(&[
                "error: more invalid IDs follow; only their number is reported".to_string(),
            ]);
        }
    }

    /// Redraws the bar, or prints the plain lines that are due, from the
    /// ledger and the gate. Called by the runner's ticker.
    pub fn update(&self, counts: &Counts, reading_done: bool, paused: Option<Duration>) {
        let now = Instant::now();
        let snap = Snapshot {
            counts: *counts,
            reading_done,
            paused,
            elapsed: now.duration_since(self.start),
        };
        if let Some(bar) = &self.bar {
            if self.cleared.load(Ordering::Relaxed) {
                return;
            }
            let width = console::Term::stderr()
                .size_checked()
                .map_or(80, |(_, cols)| usize::from(cols));
            bar.set_message(bar_line(&snap, width));
            bar.tick();
        }
        if let Some(plain) = &self.plain {
            let mut lines = Vec::new();
            {
                let mut p = plain.lock().unwrap_or_else(|e| e.into_inner());
                let first = self.start + p.interval;
                let next = *p.next_line.get_or_insert(first);
                if now >= next {
                    lines.push(status_line(&snap));
                    p.next_line = Some(now + p.interval);
                }
                if let Some(wait) = paused.filter(|w| *w > ANNOUNCE_WAIT) {
                    let until = now + wait;
                    let known = p.announced_until.is_some_and(|u| {
                        u > now && until.saturating_duration_since(u) < ANNOUNCE_WAIT
                    });
                    if !known {
                        lines.push(wait_line(wait, SystemTime::now() + wait));
                        p.announced_until = Some(until);
                    }
                }
            }
            if !lines.is_empty() {
                self.print(&lines);
            }
        }
    }

    /// Clears the bar for good: before the summary, and on Ctrl-C so that no
    /// stale frame stays above what follows.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar
            && !self.cleared.swap(true, Ordering::Relaxed)
        {
            bar.finish_and_clear();
        }
    }
}

/// Standard error for the bar, with the cursor sent back to the start of
/// the bar's line after each frame. indicatif fills the line to the last
/// column, which leaves the cursor pending a wrap: the `^C` the terminal
/// echoes on Ctrl-C would then land on the next line, and clearing that
/// one would leave the last frame on screen above the summary.
#[derive(Debug)]
struct HomeCursor {
    term: console::Term,
    /// Text was written since the cursor was last at the start of a line.
    away: AtomicBool,
}

impl HomeCursor {
    fn stderr() -> HomeCursor {
        HomeCursor {
            term: console::Term::buffered_stderr(),
            away: AtomicBool::new(false),
        }
    }
}

impl indicatif::TermLike for HomeCursor {
    fn width(&self) -> u16 {
        self.term.size().1
    }

    fn height(&self) -> u16 {
        self.term.size().0
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.term.move_cursor_up(n)
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.term.move_cursor_down(n)
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.term.move_cursor_right(n)
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.term.move_cursor_left(n)
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.away.store(false, Ordering::Relaxed);
        self.term.write_line(s)
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        if !s.is_empty() {
            self.away.store(true, Ordering::Relaxed);
        }
        self.term.write_str(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.away.store(false, Ordering::Relaxed);
        self.term.clear_line()
    }

    fn flush(&self) -> std::io::Result<()> {
        if self.away.swap(false, Ordering::Relaxed) {
            self.term.write_str("\r")?;
        }
        self.term.flush()
    }
}

/// `45s`, `9m12s`, `1h02m`: short, for a bar and a log line.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64().ceil() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// The time of day in UTC, `14:40:00`, to the nearest second (a reset is
/// a whole second; the wait that leads to it is not).
fn utc_time(t: SystemTime) -> String {
    let s = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| (d + Duration::from_millis(500)).as_secs())
        % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

fn rate_text(rate: f64) -> String {
    format!("{} IDs/s", thousands(rate.round() as u64))
}

/// The plain status line of a CI log: done / total (or so far), rate,
/// requests and 429s, and the time since the start.
pub fn status_line(snap: &Snapshot) -> String {
    let c = &snap.counts;
    let done = if snap.reading_done {
        let total = snap.total();
        let pct = (snap.done() * 100).checked_div(total).unwrap_or(100);
        format!(
            "{} of {} IDs done ({pct}%)",
            thousands(snap.done()),
            thousands(total)
        )
    } else {
        format!(
            "{} IDs done, {} read so far",
            thousands(snap.done()),
            thousands(snap.total())
        )
    };
    let mut line = format!(
        "progress: {done}, {}, {} requests, {} rate-limited, {} elapsed",
        rate_text(snap.rate()),
        thousands(c.requests),
        thousands(c.rate_limited),
        human_duration(snap.elapsed)
    );
    if let Some(wait) = snap.paused {
        line.push_str(&format!(", waiting {}", human_duration(wait)));
    }
    line
}

/// The line that says a long rate-limit wait has begun.
pub fn wait_line(wait: Duration, until: SystemTime) -> String {
    format!(
        "progress: waiting {} for the rate-limit reset at {} UTC",
        human_duration(wait),
        utc_time(until)
    )
}

/// The bar's line, at most `width - 1` columns (the last column would wrap
/// on some terminals): counts first, then the ETA and any wait, then the
/// rate; the bar takes what is left, or goes.
pub fn bar_line(snap: &Snapshot, width: usize) -> String {
    let width = width.saturating_sub(1);
    let counts = if snap.reading_done {
        format!("{}/{} IDs", thousands(snap.done()), thousands(snap.total()))
    } else {
        format!(
            "{}/{}+ IDs (counting)",
            thousands(snap.done()),
            thousands(snap.total())
        )
    };
    let eta = snap
        .eta()
        .map(|e| format!("ETA {}", human_duration(e)))
        .unwrap_or_default();
    let wait = snap
        .paused
        .map(|p| format!("rate-limited, waiting {}", human_duration(p)))
        .unwrap_or_default();
    let rate = rate_text(snap.rate());
    let join = |parts: &[&str]| {
        parts
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("  ")
    };
    let fraction = if snap.total() > 0 {
        snap.done() as f64 / snap.total() as f64
    } else {
        0.0
    };
    let draw_bar = |cells: usize| {
        let full = ((cells as f64 * fraction).floor() as usize).min(cells);
        let mut b = String::with_capacity(cells + 2);
        b.push('[');
        b.push_str(&"=".repeat(full));
        if full < cells {
            b.push('>');
            b.push_str(&" ".repeat(cells - full - 1));
        }
        b.push(']');
        b
    };
    // Most to least important: the bar goes before the ETA or the wait
    // does, the rate before the bar.
    let full = [counts.as_str(), rate.as_str(), eta.as_str(), wait.as_str()];
    let no_rate = [counts.as_str(), eta.as_str(), wait.as_str()];
    let tries: [(&[&str], bool); 6] = [
        (&full, true),
        (&no_rate, true),
        (&full, false),
        (&no_rate, false),
        (&[counts.as_str(), eta.as_str()], false),
        (&[counts.as_str()], false),
    ];
    for (parts, with_bar) in tries {
        let text = join(parts);
        let len = text.chars().count();
        if with_bar && len + 2 + 2 + MIN_BAR <= width {
            let cells = (width - len - 4).min(50);
            return format!("{}  {}", draw_bar(cells), text);
        }
        if !with_bar && len <= width {
            return text;
        }
    }
    counts.chars().take(width).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(done: u64, batched: u64, reading_done: bool, paused: Option<u64>) -> Snapshot {
        Snapshot {
            counts: Counts {
                ids_read: batched,
                batched,
                confirmed: done,
                requests: 12,
                rate_limited: 3,
                ..Counts::default()
            },
            reading_done,
            paused: paused.map(Duration::from_secs),
            elapsed: Duration::from_secs(10),
        }
    }

    #[test]
    fn numbers_and_durations() {
        for (n, want) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (2_000_000, "2,000,000"),
        ] {
            assert_eq!(thousands(n), want);
        }
        for (s, want) in [
            (0.0, "0s"),
            (4.2, "5s"),
            (552.0, "9m12s"),
            (3720.0, "1h02m"),
        ] {
            assert_eq!(human_duration(Duration::from_secs_f64(s)), want);
        }
        assert_eq!(
            utc_time(SystemTime::UNIX_EPOCH + Duration::from_secs(1_713_192_000)),
            "14:40:00"
        );
    }

    #[test]
    fn plain_lines() {
        assert_eq!(
            status_line(&snap(5000, 20_000, true, None)),
            "progress: 5,000 of 20,000 IDs done (25%), 500 IDs/s, 12 requests, 3 rate-limited, 10s elapsed"
        );
        assert_eq!(
            status_line(&snap(5000, 18_000, false, Some(552))),
            "progress: 5,000 IDs done, 18,000 read so far, 500 IDs/s, 12 requests, 3 rate-limited, 10s elapsed, waiting 9m12s"
        );
        assert_eq!(
            wait_line(
                Duration::from_secs(552),
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_713_192_000)
            ),
            "progress: waiting 9m12s for the rate-limit reset at 14:40:00 UTC"
        );
    }

    #[test]
    fn the_eta_is_never_shorter_than_a_known_wait() {
        // 500 IDs/s and 15,000 to go is 30 s, but the wait is 9m12s.
        assert_eq!(
            snap(5000, 20_000, true, Some(552)).eta(),
            Some(Duration::from_secs(552))
        );
        assert_eq!(
            snap(5000, 20_000, true, None).eta(),
            Some(Duration::from_secs(30))
        );
        // While counting, only the wait is known.
        assert_eq!(snap(5000, 18_000, false, None).eta(), None);
        assert_eq!(
            snap(0, 1000, true, Some(9)).eta(),
            Some(Duration::from_secs(9))
        );
    }

    #[test]
    fn the_bar_fits_the_width() {
        let s = snap(5000, 18_000, false, Some(9));
        for width in [20, 40, 60, 80, 100, 200] {
            let line = bar_line(&s, width);
            assert!(line.chars().count() < width, "{width}: {line:?}");
            assert!(
                line.contains("18,000+ IDs (counting)") || width < 30,
                "{line}"
            );
        }
        assert_eq!(
            bar_line(&s, 80),
            "[===>         ]  5,000/18,000+ IDs (counting)  ETA 9s  rate-limited, waiting 9s"
        );
        assert_eq!(
            bar_line(&snap(5000, 20_000, true, None), 80),
            "[=========>                             ]  5,000/20,000 IDs  500 IDs/s  ETA 30s"
        );
    }

    #[test]
    fn progress_is_chosen_by_mode_and_terminal() {
        use ProgressMode as M;
        for (mode, quiet, tty, want) in [
            (M::Auto, false, true, Display::Bar),
            (M::Auto, false, false, Display::Plain),
            (M::Auto, true, true, Display::Off),
            (M::Plain, false, true, Display::Plain),
            (M::Bar, false, false, Display::Off),
            (M::None, false, true, Display::Off),
        ] {
            assert_eq!(
                Display::choose(mode, quiet, tty),
                want,
                "{mode:?} {quiet} {tty}"
            );
        }
    }
}
