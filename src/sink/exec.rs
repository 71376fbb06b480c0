//! The exec sink (`--exec CMD`): every flush runs `sh -c CMD` with the flush's rows on its
//! standard input.
//!
//! The rows come in the snapshot's order, rendered as the stdout sink renders them
//! (`--exec-format csv|tsv|json`; CSV has exactly the CSV sink's columns). Each run of the
//! command gets its own header line (CSV and TSV), so every run reads a complete table. A
//! flush without rows runs nothing.
//!
//! **Success is exit status 0.** A non-zero status, death by a signal, or a run longer than
//! `--exec-timeout` is a failed flush: the flusher keeps the counts, folds later flushes into
//! them and runs the command again with backoff, and what is still unwritten at exit goes to
//! the fallback like any other sink's. The error names the reason and the last non-empty
//! line the command wrote to its standard error.
//!
//! **Delivery is at least once.** A command that fails after it has consumed some or all of
//! the rows (say it loaded them, then failed to commit) gets them again on the retry, folded
//! with any later flushes into one window with summed totals. A command that must see every
//! count exactly once has to apply its input atomically, all or nothing (one transaction,
//! a file renamed into place), and exit 0 only once it has.
//!
//! Streams:
//! - standard input: the rows. A command may stop reading and exit early (`head`, a script
//!   that only counts lines): the broken pipe that statbuf then gets is not a failure by
//!   itself, the exit status decides.
//! - standard output: statbuf's standard error, so that whatever the command prints can never
//!   mix into counts that the stdout sink prints on statbuf's standard output.
//! - standard error: captured (the last 4 KiB) for the error message, not passed through.
//!
//! The command runs in a process group of its own. On timeout the whole group is killed (the
//! shell and everything it started, not the shell alone, which would leave a pipeline
//! running) and reaped. The group also keeps a Ctrl-C at the terminal, which reaches the
//! terminal's foreground group, away from the command: statbuf answers it by flushing, and the
//! command must live to take that flush.
//!
//! The timeout bounds the whole run, from starting the command to its exit: the rows are
//! written to a non-blocking pipe, waiting for room in it no later than the deadline, so a
//! command that neither reads nor exits cannot hold the flusher past it.

use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStderr, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossbeam_channel::Receiver;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{Pid, Signal};

use crate::key::KeySchema;
use crate::sink::stdout::{RowFormat, write_rows};
use crate::sink::{Sink, Snapshot};

/// Bytes of rendered rows gathered before each write to the pipe.
const PIPE_BUFFER: usize = 1 << 16;

/// How much of the end of the command's standard error is kept for the error message.
const STDERR_KEPT: usize = 4096;

/// After a failed run, how long to wait for the command's standard error to reach its end
/// (a process that escaped the killed group may hold it open).
const STDERR_GRACE: Duration = Duration::from_millis(500);

/// The longest pause between two checks whether the command has exited.
const MAX_EXIT_POLL: Duration = Duration::from_millis(20);

pub struct ExecSink {
    /// The shell command, as given.
    command: String,
    format: RowFormat,
    /// How long one run of the command may take.
    timeout: Duration,
    schema: KeySchema,
}

impl ExecSink {
    pub fn new(command: String, format: RowFormat, timeout: Duration, schema: KeySchema) -> ExecSink {
        ExecSink {
            command,
            format,
            timeout,
            schema,
        }
    }

    /// Runs the command once over `snapshot`; `Err` says why the run failed (the flusher
    /// prefixes the sink's name).
    fn run(&self, snapshot: &Snapshot) -> anyhow::Result<()> {
        // A timeout too large for the clock is no deadline at all.
        let deadline = Instant::now().checked_add(self.timeout);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(io::stderr()))
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .context("cannot run sh")?;
        let stderr = match child.stderr.take().map(StderrTail::capture).transpose() {
            Ok(stderr) => stderr,
            Err(error) => {
                kill_group(&mut child);
                return Err(anyhow::Error::new(error).context("cannot start a thread to read its stderr"));
            }
        };
        let fed = match child.stdin.take() {
            Some(stdin) => self.feed(snapshot, stdin, deadline),
            // Cannot happen with a piped stdin; then there is nothing to write to.
            None => Fed::All,
        };
        let exited = match fed {
            Fed::All | Fed::Closed => wait_until(&mut child, deadline),
            Fed::TimedOut => Ok(None),
            Fed::Failed(error) => {
                kill_group(&mut child);
                return Err(error.context("writing the rows to its stdin"));
            }
        };
        let why = match exited {
            Ok(Some(status)) => match failure(status) {
                None => return Ok(()),
                Some(why) => why,
            },
            Ok(None) => {
                kill_group(&mut child);
                format!("did not finish within {}", show_duration(self.timeout))
            }
            Err(error) => {
                kill_group(&mut child);
                return Err(anyhow::Error::new(error).context("waiting for it to exit"));
            }
        };
        match stderr.and_then(|tail| tail.last_line(STDERR_GRACE)) {
            Some(line) => anyhow::bail!("{why} (stderr: {line})"),
            None => anyhow::bail!("{why}"),
        }
    }

    /// Writes the rows to the command's standard input, then closes it.
    fn feed(&self, snapshot: &Snapshot, stdin: ChildStdin, deadline: Option<Instant>) -> Fed {
        // Non-blocking, so that a command that neither reads nor exits cannot keep a write
        // waiting past the deadline. Only statbuf's end of the pipe changes.
        if let Err(error) = rustix::io::ioctl_fionbio(&stdin, true) {
            return Fed::Failed(anyhow::Error::new(io::Error::from(error)));
        }
        let pipe = Pipe {
            stdin,
            deadline,
            stop: None,
        };
        let mut out = io::BufWriter::with_capacity(PIPE_BUFFER, pipe);
        let written = write_rows(
            self.format,
            &self.schema,
            snapshot,
            snapshot.rows(),
            true,
            &mut out,
        )
        .and_then(|()| Ok(out.flush()?));
        // On an error the buffer is dropped unwritten: a write has already failed, and one
        // more attempt would fail the same way.
        let (pipe, _unwritten) = out.into_parts();
        match (written, pipe.stop) {
            (Ok(()), _) => Fed::All,
            (Err(_), Some(Stop::Closed)) => Fed::Closed,
            (Err(_), Some(Stop::TimedOut)) => Fed::TimedOut,
            (Err(error), None) => Fed::Failed(error),
        }
        // `pipe` is dropped here, which closes the command's standard input.
    }
}

impl Sink for ExecSink {
    fn name(&self) -> String {
        format!("exec '{}'", self.command)
    }

    fn write(&mut self, snapshot: &Snapshot) -> anyhow::Result<()> {
        if snapshot.is_empty() {
            return Ok(());
        }
        self.run(snapshot)
    }
}

/// How writing the rows ended.
enum Fed {
    /// Every row is in the pipe.
    All,
    /// The command closed its standard input first; its exit status decides.
    Closed,
    /// The deadline passed with rows still to write.
    TimedOut,
    /// Writing failed otherwise.
    Failed(anyhow::Error),
}

/// Why writes to the pipe stopped, as [`Pipe`] saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Closed,
    TimedOut,
}

/// The command's standard input (non-blocking), written no later than a deadline.
struct Pipe {
    stdin: ChildStdin,
    deadline: Option<Instant>,
    /// Set by the write that failed for one of these reasons: the csv crate wraps errors, so
    /// the reason is kept here rather than read back out of the error.
    stop: Option<Stop>,
}

impl Pipe {
    /// Waits until the pipe has room, the command closes it, or the deadline passes.
    fn wait_writable(&mut self) -> io::Result<()> {
        let timeout = match self.deadline {
            None => None,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    self.stop = Some(Stop::TimedOut);
                    return Err(io::Error::new(ErrorKind::TimedOut, "the command's time is up"));
                }
                // Too far off for a timespec is as good as no timeout.
                Timespec::try_from(left).ok()
            }
        };
        let mut fds = [PollFd::new(&self.stdin, PollFlags::OUT)];
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            // Woken, timed out or interrupted: the next write or the deadline check tells.
            Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Once stopped, stay stopped: the csv writer and the buffer try to flush again as
        // they are dropped.
        match self.stop {
            Some(Stop::Closed) => return Err(ErrorKind::BrokenPipe.into()),
            Some(Stop::TimedOut) => return Err(ErrorKind::TimedOut.into()),
            None => {}
        }
        loop {
            match self.stdin.write(buf) {
                Ok(n) => return Ok(n),
                Err(error) if error.kind() == ErrorKind::WouldBlock => self.wait_writable()?,
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => {
                    if error.kind() == ErrorKind::BrokenPipe {
                        self.stop = Some(Stop::Closed);
                    }
                    return Err(error);
                }
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Waits for the command to exit until the deadline; `None` when it passed first.
///
/// This polls rather than handing the child to a thread blocked in `wait`: the command must
/// stay unreaped until it is known to have finished or its group has been killed, because
/// once reaped its process id, which is also its group's id, may be reused and the kill could
/// hit someone else's processes.
fn wait_until(child: &mut Child, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        let nap = match deadline {
            Some(deadline) if now >= deadline => return Ok(None),
            Some(deadline) => pause.min(deadline - now),
            None => pause,
        };
        thread::sleep(nap);
        pause = (pause * 2).min(MAX_EXIT_POLL);
    }
}

/// Kills the command's process group and reaps the command.
fn kill_group(child: &mut Child) {
    // `process_group(0)` made the command's process id its group's id, and the command is
    // not reaped yet, so that id still names its group.
    let group = i32::try_from(child.id()).ok().and_then(Pid::from_raw);
    let killed = group.is_some_and(|group| rustix::process::kill_process_group(group, Signal::KILL).is_ok());
    if !killed {
        // At least the shell itself.
        let _ = child.kill();
    }
    // Errors only mean it was reaped already.
    let _ = child.wait();
}

/// Why an exit status is a failure; `None` for success.
fn failure(status: ExitStatus) -> Option<String> {
    if status.success() {
        return None;
    }
    Some(match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => match signal_name(signal) {
            Some(name) => format!("killed by signal {signal} ({name})"),
            None => format!("killed by signal {signal}"),
        },
        (None, None) => format!("ended with {status}"),
    })
}

/// The names of the signals a command commonly dies of.
fn signal_name(signal: i32) -> Option<&'static str> {
    let signals = [
        (Signal::HUP, "SIGHUP"),
        (Signal::INT, "SIGINT"),
        (Signal::QUIT, "SIGQUIT"),
        (Signal::ILL, "SIGILL"),
        (Signal::ABORT, "SIGABRT"),
        (Signal::BUS, "SIGBUS"),
        (Signal::FPE, "SIGFPE"),
        (Signal::KILL, "SIGKILL"),
        (Signal::SEGV, "SIGSEGV"),
        (Signal::PIPE, "SIGPIPE"),
        (Signal::ALARM, "SIGALRM"),
        (Signal::TERM, "SIGTERM"),
    ];
    signals
        .into_iter()
        .find(|(s, _)| s.as_raw() == signal)
        .map(|(_, name)| name)
}

/// A duration as the flags take it: `60s`, `300ms`, `1m 30s`.
fn show_duration(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", duration.as_millis())
    } else {
        humantime::format_duration(duration).to_string()
    }
}

/// The end of what the command writes to its standard error, read by a thread of its own so
/// that the command never blocks on a full pipe.
struct StderrTail {
    tail: Arc<Mutex<Vec<u8>>>,
    /// Disconnected once the reader reached the end of the stream.
    done: Receiver<()>,
}

impl StderrTail {
    fn capture(mut stderr: ChildStderr) -> io::Result<StderrTail> {
        let tail = Arc::new(Mutex::new(Vec::new()));
        let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
        let kept = Arc::clone(&tail);
        // Not joined: a process that escaped the group may keep the pipe open long after the
        // command is gone, and the thread then simply ends when it closes.
        thread::Builder::new().name("exec-stderr".into()).spawn(move || {
            let _done = done_tx;
            let mut buf = [0; 4096];
            loop {
                match stderr.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let mut tail = kept.lock().unwrap_or_else(PoisonError::into_inner);
                        tail.extend_from_slice(&buf[..n]);
                        let excess = tail.len().saturating_sub(STDERR_KEPT);
                        tail.drain(..excess);
                    }
                    Err(error) if error.kind() == ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        })?;
        Ok(StderrTail { tail, done })
    }

    /// The last non-empty line, once the stream has ended or `grace` has passed; control
    /// characters escaped, so that it cannot play tricks on a terminal.
    fn last_line(self, grace: Duration) -> Option<String> {
        // Nothing is ever sent: this returns when the reader is done, or after `grace`.
        let _ = self.done.recv_timeout(grace);
        let tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        let text = String::from_utf8_lossy(&tail);
        let line = text.lines().map(str::trim).rev().find(|line| !line.is_empty())?;
        let mut shown = String::with_capacity(line.len());
        for c in line.chars() {
            if c.is_control() {
                shown.extend(c.escape_default());
            } else {
                shown.push(c);
            }
        }
        Some(shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::Counts;
    use std::time::UNIX_EPOCH;

    fn snapshot(pairs: &[(&[u8], i64)]) -> Snapshot {
        let mut counts = Counts::new();
        for (key, n) in pairs {
            counts.add(key, *n);
        }
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        Snapshot::of_counts(t, t + Duration::from_secs(10), counts, 1)
    }

    fn exec_sink(command: &str, format: RowFormat, timeout: Duration) -> ExecSink {
        ExecSink::new(command.to_string(), format, timeout, KeySchema::single())
    }

    /// A shell word for `path`.
    fn quoted(path: &std::path::Path) -> String {
        format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
    }

    #[test]
    fn rows_reach_the_command_with_a_header_per_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        let mut sink = exec_sink(
            &format!("cat >> {}", quoted(&out)),
            RowFormat::Csv,
            Duration::from_secs(60),
        );
        assert_eq!(sink.name(), format!("exec 'cat >> {}'", quoted(&out)));
        let snap = snapshot(&[(b"/a", 2), (b"x,\"y\"", 5)]);
        sink.write(&snap).unwrap();
        sink.write(&snap).unwrap();
        let once = "window_start,window_end,key,count\n\
                    2023-11-14T22:13:20.000Z,2023-11-14T22:13:30.000Z,\"x,\"\"y\"\"\",5\n\
                    2023-11-14T22:13:20.000Z,2023-11-14T22:13:30.000Z,/a,2\n";
        assert_eq!(std::fs::read_to_string(&out).unwrap(), once.repeat(2));
    }

    #[test]
    fn tsv_and_json_are_the_stdout_renderings() {
        let dir = tempfile::tempdir().unwrap();
        let snap = snapshot(&[(b"a\tb", 1), (b"c", 3)]);
        for format in [RowFormat::Tsv, RowFormat::Json] {
            let out = dir.path().join(format!("{format:?}"));
            let mut sink = exec_sink(
                &format!("cat > {}", quoted(&out)),
                format,
                Duration::from_secs(60),
            );
            sink.write(&snap).unwrap();
            let mut expected = Vec::new();
            let schema = KeySchema::single();
            write_rows(format, &schema, &snap, snap.rows(), true, &mut expected).unwrap();
            assert_eq!(std::fs::read(&out).unwrap(), expected, "{format:?}");
        }
    }

    #[test]
    fn an_empty_snapshot_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let mut sink = exec_sink(
            &format!("touch {}", quoted(&marker)),
            RowFormat::Csv,
            Duration::from_secs(60),
        );
        sink.write(&snapshot(&[])).unwrap();
        assert!(!marker.exists());
    }

    #[test]
    fn a_failing_command_names_its_status_and_last_stderr_line() {
        let mut sink = exec_sink(
            "cat > /dev/null; echo first >&2; echo 'no such table' >&2; echo >&2; exit 3",
            RowFormat::Csv,
            Duration::from_secs(60),
        );
        let error = sink.write(&snapshot(&[(b"a", 1)])).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "exited with status 3 (stderr: no such table)"
        );
    }

    #[test]
    fn a_command_killed_by_a_signal_fails() {
        let mut sink = exec_sink("kill -9 $$", RowFormat::Csv, Duration::from_secs(60));
        let error = sink.write(&snapshot(&[(b"a", 1)])).unwrap_err();
        assert_eq!(format!("{error:#}"), "killed by signal 9 (SIGKILL)");
    }

    #[test]
    fn stderr_control_characters_are_escaped() {
        let mut sink = exec_sink(
            r"printf 'bad \033[2J\r\n' >&2; exit 1",
            RowFormat::Csv,
            Duration::from_secs(60),
        );
        let error = sink.write(&snapshot(&[(b"a", 1)])).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            r"exited with status 1 (stderr: bad \u{1b}[2J)"
        );
    }

    #[test]
    fn a_timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        // The shell waits for a `sleep` of its own group: both must go.
        let command = format!("sleep 100 & echo $! > {}; wait", quoted(&pid_file));
        let mut sink = exec_sink(&command, RowFormat::Csv, Duration::from_millis(300));
        let started = Instant::now();
        let error = sink.write(&snapshot(&[(b"a", 1)])).unwrap_err();
        let took = started.elapsed();
        assert_eq!(format!("{error:#}"), "did not finish within 300ms");
        assert!(took < Duration::from_secs(20), "took {took:?}");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        // The `sleep` was the shell's child, not statbuf's: once killed it may linger as a
        // zombie until whoever inherited it reaps it, which counts as gone. The kill is
        // asynchronous, so the check waits for it, generously. (Linux's /proc; where there
        // is none the check passes without looking.)
        let stat = format!("/proc/{}/stat", pid.trim());
        let alive = || {
            std::fs::read_to_string(&stat).is_ok_and(|stat| {
                let state = stat.rsplit(") ").next().and_then(|rest| rest.chars().next());
                !matches!(state, Some('Z' | 'X'))
            })
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while alive() {
            assert!(Instant::now() < deadline, "the sleep survived the timeout");
            thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_command_that_ignores_its_input_succeeds() {
        let mut counts = Counts::new();
        for i in 0..200_000u32 {
            counts.add(format!("/some/path/{i}").as_bytes(), i64::from(i % 7 + 1));
        }
        let t = UNIX_EPOCH;
        let snap = Snapshot::of_counts(t, t, counts, 1);
        let mut sink = exec_sink("exit 0", RowFormat::Json, Duration::from_secs(60));
        sink.write(&snap).unwrap();
        // And a command that reads a little, then exits.
        let mut sink = exec_sink("head -c 10 > /dev/null", RowFormat::Csv, Duration::from_secs(60));
        sink.write(&snap).unwrap();
    }

    /// More rows than the pipe holds, to a command that neither reads nor exits: the write
    /// must give up at the deadline rather than block.
    #[test]
    fn a_command_that_neither_reads_nor_exits_times_out() {
        let mut counts = Counts::new();
        for i in 0..200_000u32 {
            counts.add(format!("/p/{i}").as_bytes(), 1);
        }
        let t = UNIX_EPOCH;
        let snap = Snapshot::of_counts(t, t, counts, 1);
        let mut sink = exec_sink("sleep 100", RowFormat::Csv, Duration::from_millis(300));
        let started = Instant::now();
        let error = sink.write(&snap).unwrap_err();
        assert_eq!(format!("{error:#}"), "did not finish within 300ms");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_command_that_stops_reading_and_fails_is_a_failure() {
        let mut counts = Counts::new();
        for i in 0..200_000u32 {
            counts.add(format!("/p/{i}").as_bytes(), 1);
        }
        let t = UNIX_EPOCH;
        let snap = Snapshot::of_counts(t, t, counts, 1);
        let mut sink = exec_sink(
            "head -c 10 > /dev/null; exit 4",
            RowFormat::Csv,
            Duration::from_secs(60),
        );
        let error = sink.write(&snap).unwrap_err();
        assert_eq!(format!("{error:#}"), "exited with status 4");
    }

    #[test]
    fn a_command_that_cannot_start_fails() {
        let mut sink = exec_sink(
            "/nonexistent/statbuf-test-command",
            RowFormat::Csv,
            Duration::from_secs(60),
        );
        let error = sink.write(&snapshot(&[(b"a", 1)])).unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.starts_with("exited with status 127 (stderr: "),
            "{message}"
        );
        assert!(message.contains("/nonexistent/statbuf-test-command"), "{message}");
    }

    #[test]
    fn durations_read_as_the_flags_take_them() {
        assert_eq!(show_duration(Duration::from_secs(60)), "60s");
        assert_eq!(show_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1500ms");
    }
}
