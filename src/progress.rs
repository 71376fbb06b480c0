//! Progress on stderr: a bar for files, a status line for standard input and `--follow`.
//!
//! The pipeline only bumps counters in a [`Meter`] (relaxed atomics, shared through an `Arc`),
//! so the hot path never waits for the display. A display thread started by
//! [`spawn_display`] reads the meter ten times a second and draws it with indicatif until it
//! is told to finish, then clears what it drew: the summary line that follows starts on a
//! clean line. Progress only ever goes to stderr, so it never mixes into the counts on stdout.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{RecvTimeoutError, Sender, bounded};
use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

use crate::message::plural;
use crate::timefmt::rfc3339;

/// How often the display reads the meter and redraws.
const REFRESH: Duration = Duration::from_millis(100);

/// Redraws per second indicatif allows itself; above [`REFRESH`]'s rate so none is dropped.
const DRAW_HZ: u8 = 15;

/// Samples of the line count kept for the lines-per-second rate: two seconds' worth, enough
/// to smooth out blocks arriving in bursts.
const RATE_SAMPLES: usize = 20;

/// Width assumed for a forced display on something that is not a terminal.
const FALLBACK_WIDTH: u16 = 100;

/// Bar template for files: the bytes read of the total, rate, ETA, then lines and keys.
const BAR_TEMPLATE: &str =
    "{binary_bytes:>10}/{binary_total_bytes} [{wide_bar}] {binary_bytes_per_sec} ETA {eta}  {msg}";

/// Status line for standard input and `--follow`, where there is no total.
const STATUS_TEMPLATE: &str = "{spinner} {elapsed:>4}  {msg}";

/// What the pipeline has done so far, shared between the threads that do it and the display.
///
/// Cloning a `Meter` gives another handle to the same counters.
#[derive(Clone, Debug, Default)]
pub struct Meter {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    bytes_read: AtomicU64,
    lines: AtomicU64,
    /// Distinct keys buffered in the current window, as far as known (see [`Meter::set_keys`]).
    keys: AtomicU64,
    flushes: AtomicU64,
    /// Unix time of the last flush in milliseconds; 0 before the first one.
    last_flush_ms: AtomicU64,
    /// The bar being drawn, if any, so that other messages can be printed around it.
    bar: Mutex<Option<ProgressBar>>,
}

/// The meter's counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    pub bytes_read: u64,
    pub lines: u64,
    pub keys: u64,
    pub flushes: u64,
    pub last_flush: Option<SystemTime>,
}

impl Meter {
    pub fn new() -> Meter {
        Meter::default()
    }

    /// `n` more bytes of input were read.
    pub fn add_bytes(&self, n: u64) {
        self.shared.bytes_read.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` more lines were counted.
    pub fn add_lines(&self, n: u64) {
        self.shared.lines.fetch_add(n, Ordering::Relaxed);
    }

    /// At least `n` distinct keys are buffered in the current window. Several threads may each
    /// report the keys they hold; the meter keeps the largest report until the next flush, a
    /// lower bound of the window's distinct keys (exact with one reporter).
    pub fn set_keys(&self, n: u64) {
        self.shared.keys.fetch_max(n, Ordering::Relaxed);
    }

    /// A flush happened at `at`: a new window starts, with no keys yet.
    pub fn flushed(&self, at: SystemTime) {
        let ms = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.shared.last_flush_ms.store(ms.max(1), Ordering::Relaxed);
        self.shared.flushes.fetch_add(1, Ordering::Relaxed);
        self.shared.keys.store(0, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub fn reading(&self) -> Reading {
        let s = &self.shared;
        let ms = s.last_flush_ms.load(Ordering::Relaxed);
        Reading {
            bytes_read: s.bytes_read.load(Ordering::Relaxed),
            lines: s.lines.load(Ordering::Relaxed),
            keys: s.keys.load(Ordering::Relaxed),
            flushes: s.flushes.load(Ordering::Relaxed),
            last_flush: (ms > 0).then(|| UNIX_EPOCH + Duration::from_millis(ms)),
        }
    }

    /// Runs `f` with the progress display (if one is drawn) hidden, then redraws it: for
    /// writing a message to the same terminal without tearing the bar.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        let bar = self
            .shared
            .bar
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn attach(&self, bar: Option<ProgressBar>) {
        *self.shared.bar.lock().unwrap_or_else(PoisonError::into_inner) = bar;
    }
}

/// Whether to show progress, as the flags ask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum When {
    /// Only on a terminal, and not with `-q` or when the counts go to that terminal.
    #[default]
    Auto,
    /// `--progress`: whatever stderr is.
    Always,
    /// `--no-progress`.
    Never,
}

impl When {
    pub fn from_flags(progress: bool, no_progress: bool) -> When {
        match (progress, no_progress) {
            (true, _) => When::Always,
            (_, true) => When::Never,
            _ => When::Auto,
        }
    }
}

/// Where the display draws, once it has been decided to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// stderr is a terminal.
    Terminal,
    /// `--progress` on an stderr that is not a terminal: drawn all the same, with plain ANSI
    /// cursor movements.
    Forced,
}

/// What is known about the terminal when deciding whether to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Situation {
    pub quiet: bool,
    pub stderr_is_terminal: bool,
    /// The stdout sink writes to a terminal: most likely the same one, where a bar redrawn
    /// between the lines of counts would tear them.
    pub counts_on_terminal: bool,
}

impl Situation {
    /// The situation of this process's standard streams.
    pub fn current(quiet: bool, stdout_sink: bool) -> Situation {
        Situation {
            quiet,
            stderr_is_terminal: std::io::stderr().is_terminal(),
            counts_on_terminal: stdout_sink && std::io::stdout().is_terminal(),
        }
    }
}

/// Where to draw, or `None` for no display at all.
pub fn target(when: When, situation: Situation) -> Option<Target> {
    let terminal = if situation.stderr_is_terminal {
        Target::Terminal
    } else {
        Target::Forced
    };
    match when {
        When::Never => None,
        When::Always => Some(terminal),
        When::Auto => (situation.stderr_is_terminal && !situation.quiet && !situation.counts_on_terminal)
            .then_some(Target::Terminal),
    }
}

/// A running display; [`Display::finish`] (or dropping it) stops it and clears what it drew.
pub struct Display {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Display {
    /// Stops drawing, clears the bar or status line, and returns once it is gone.
    pub fn finish(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        // Dropping the sender wakes the display thread at once.
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            // A display thread that panicked has nothing left to clear.
            let _ = thread.join();
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Starts drawing `meter` on stderr: a bar of the bytes read out of `total_bytes` when the
/// total is known (regular files), a status line otherwise. The first frame is drawn before
/// this returns.
pub fn spawn_display(meter: &Meter, total_bytes: Option<u64>, target: Target) -> Display {
    let draw_target = match target {
        Target::Terminal => ProgressDrawTarget::stderr_with_hz(DRAW_HZ),
        Target::Forced => ProgressDrawTarget::term_like_with_hz(Box::new(AnsiStderr::new()), DRAW_HZ),
    };
    let bar = ProgressBar::with_draw_target(total_bytes, draw_target);
    let style = match total_bytes {
        Some(_) => ProgressStyle::with_template(BAR_TEMPLATE).map(|s| s.progress_chars("=> ")),
        None => ProgressStyle::with_template(STATUS_TEMPLATE),
    };
    // The templates are constants, checked by a unit test; the default style is only a
    // fallback that cannot be reached.
    bar.set_style(style.unwrap_or_else(|_| ProgressStyle::default_spinner()));
    let mut frame = Frame::new(total_bytes);
    frame.draw(&bar, meter.reading(), SystemTime::now());
    meter.attach(Some(bar.clone()));

    let (stop, stopped) = bounded::<()>(0);
    let (thread_meter, thread_bar) = (meter.clone(), bar.clone());
    let thread = std::thread::Builder::new()
        .name("statbuf-progress".to_string())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(REFRESH) {
                frame.draw(&thread_bar, thread_meter.reading(), SystemTime::now());
            }
            thread_meter.attach(None);
            thread_bar.finish_and_clear();
        });
    match thread {
        Ok(thread) => Display {
            stop: Some(stop),
            thread: Some(thread),
        },
        // No thread, no progress: the first frame is taken back and the run goes on without.
        Err(_) => {
            meter.attach(None);
            bar.finish_and_clear();
            Display {
                stop: None,
                thread: None,
            }
        }
    }
}

/// What one redraw needs to remember from the previous ones.
struct Frame {
    total_bytes: Option<u64>,
    /// Recent (time, lines) samples, oldest first, for the lines-per-second rate.
    samples: Vec<(Instant, u64)>,
}

impl Frame {
    fn new(total_bytes: Option<u64>) -> Frame {
        Frame {
            total_bytes,
            samples: Vec::with_capacity(RATE_SAMPLES + 1),
        }
    }

    fn draw(&mut self, bar: &ProgressBar, reading: Reading, now: SystemTime) {
        match self.total_bytes {
            Some(total) => {
                // A file that grows while it is read may give more bytes than it had.
                bar.set_message(file_message(reading));
                bar.set_length(total.max(reading.bytes_read));
                bar.set_position(reading.bytes_read);
            }
            None => {
                let rate = self.lines_per_second(Instant::now(), reading.lines);
                bar.set_message(status_message(reading, rate, now));
                bar.tick();
            }
        }
    }

    fn lines_per_second(&mut self, at: Instant, lines: u64) -> f64 {
        self.samples.push((at, lines));
        if self.samples.len() > RATE_SAMPLES {
            self.samples.remove(0);
        }
        let (first_at, first_lines) = self.samples[0];
        let seconds = at.duration_since(first_at).as_secs_f64();
        if seconds > 0.0 {
            lines.saturating_sub(first_lines) as f64 / seconds
        } else {
            0.0
        }
    }
}

/// `1,234,567 lines  1,234 keys`
fn file_message(reading: Reading) -> String {
    format!(
        "{} {}  {} {}",
        HumanCount(reading.lines),
        plural(reading.lines, "line", "lines"),
        HumanCount(reading.keys),
        plural(reading.keys, "key", "keys"),
    )
}

/// `1,234,567 lines  45,678 lines/s  1,234 keys  last flush 14:05:09Z (3s ago)`
fn status_message(reading: Reading, lines_per_second: f64, now: SystemTime) -> String {
    let last_flush = match reading.last_flush {
        None => "no flush yet".to_string(),
        Some(at) => {
            let stamp = rfc3339(at);
            // `2026-03-10T14:05:09.123Z`: the time of day is enough on a live display.
            let time = stamp.get(11..19).unwrap_or(&stamp);
            let ago = now.duration_since(at).unwrap_or_default().as_secs();
            format!("last flush {time}Z ({ago}s ago)")
        }
    };
    format!(
        "{} {}  {} lines/s  {} {}  {}",
        HumanCount(reading.lines),
        plural(reading.lines, "line", "lines"),
        HumanCount(lines_per_second.round() as u64),
        HumanCount(reading.keys),
        plural(reading.keys, "key", "keys"),
        last_flush,
    )
}

/// stderr as a terminal that is not one: for `--progress` when stderr is a file or a pipe,
/// drawn with plain ANSI cursor movements, as a terminal reading it later would replay them.
#[derive(Debug)]
struct AnsiStderr {
    width: u16,
}

impl AnsiStderr {
    fn new() -> AnsiStderr {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .filter(|&w: &u16| w >= 20)
            .unwrap_or(FALLBACK_WIDTH);
        AnsiStderr { width }
    }

    fn write(&self, text: &str) -> std::io::Result<()> {
        std::io::stderr().lock().write_all(text.as_bytes())
    }
}

impl TermLike for AnsiStderr {
    fn width(&self) -> u16 {
        self.width
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.write(&format!("\x1b[{n}A"))
        }
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.write(&format!("\x1b[{n}B"))
        }
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.write(&format!("\x1b[{n}C"))
        }
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.write(&format!("\x1b[{n}D"))
        }
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write(&format!("{s}\n"))
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.write(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.write("\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation(quiet: bool, stderr_is_terminal: bool, counts_on_terminal: bool) -> Situation {
        Situation {
            quiet,
            stderr_is_terminal,
            counts_on_terminal,
        }
    }

    #[test]
    fn templates_parse() {
        ProgressStyle::with_template(BAR_TEMPLATE).unwrap();
        ProgressStyle::with_template(STATUS_TEMPLATE).unwrap();
    }

    #[test]
    fn auto_draws_only_on_a_terminal_of_its_own() {
        assert_eq!(
            target(When::Auto, situation(false, true, false)),
            Some(Target::Terminal)
        );
        assert_eq!(target(When::Auto, situation(false, false, false)), None);
        assert_eq!(target(When::Auto, situation(true, true, false)), None);
        assert_eq!(target(When::Auto, situation(false, true, true)), None);
    }

    #[test]
    fn flags_override_the_terminal_check() {
        assert_eq!(target(When::Never, situation(false, true, false)), None);
        assert_eq!(
            target(When::Always, situation(true, false, true)),
            Some(Target::Forced)
        );
        assert_eq!(
            target(When::Always, situation(true, true, true)),
            Some(Target::Terminal)
        );
        assert_eq!(When::from_flags(false, false), When::Auto);
        assert_eq!(When::from_flags(true, false), When::Always);
        assert_eq!(When::from_flags(false, true), When::Never);
    }

    #[test]
    fn meter_counts_and_windows() {
        let meter = Meter::new();
        let other = meter.clone();
        meter.add_bytes(10);
        other.add_bytes(5);
        meter.add_lines(3);
        meter.set_keys(4);
        other.set_keys(2);
        let r = meter.reading();
        assert_eq!((r.bytes_read, r.lines, r.keys, r.flushes), (15, 3, 4, 0));
        assert_eq!(r.last_flush, None);
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        meter.flushed(at);
        let r = other.reading();
        assert_eq!((r.keys, r.flushes, r.last_flush), (0, 1, Some(at)));
    }

    #[test]
    fn messages() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let reading = Reading {
            bytes_read: 0,
            lines: 1_234_567,
            keys: 1,
            flushes: 1,
            last_flush: Some(at),
        };
        assert_eq!(file_message(reading), "1,234,567 lines  1 key");
        assert_eq!(
            status_message(reading, 45_678.4, at + Duration::from_secs(3)),
            "1,234,567 lines  45,678 lines/s  1 key  last flush 22:13:20Z (3s ago)"
        );
        let fresh = Reading::default();
        assert_eq!(
            status_message(fresh, 0.0, at),
            "0 lines  0 lines/s  0 keys  no flush yet"
        );
    }

    #[test]
    fn rate_over_recent_samples() {
        let mut frame = Frame::new(None);
        let t0 = Instant::now();
        assert_eq!(frame.lines_per_second(t0, 0), 0.0);
        let rate = frame.lines_per_second(t0 + Duration::from_secs(2), 1000);
        assert!((rate - 500.0).abs() < 1e-9, "{rate}");
    }
}
