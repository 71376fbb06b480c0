//! A statbuf process (or statbuf under strace) running in the background while a test acts on
//! its files, its standard input and its signals, and reads its stderr as it goes.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::run::{Run, Statbuf, excerpt, kill_if_running, send_signal, wait_until};
use super::workdir::Workdir;

/// How long a polled condition may take before the test gives up on it.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// How long statbuf may take to exit once signalled.
pub const EXIT_DEADLINE: Duration = Duration::from_secs(30);

/// How often a polled condition is checked.
pub const POLL: Duration = Duration::from_millis(25);

impl Statbuf {
    /// Starts the command in the background, its standard input a pipe the test writes to
    /// ([`Live::write`]) and that stays open until [`Live::close_stdin`].
    pub fn spawn(self) -> Live {
        Live::spawn(self, true)
    }
}

/// A process running in the background. Its stdout and stderr go to temporary files, so that
/// stderr can be read while it runs and nothing blocks on a full pipe. Dropping it kills the
/// process if it is still running.
pub struct Live {
    child: Child,
    command: String,
    /// With [`Statbuf::spawn`], until [`Live::close_stdin`].
    stdin: Option<ChildStdin>,
    stdout: tempfile::TempPath,
    stderr: tempfile::TempPath,
    status: Option<ExitStatus>,
}

impl Live {
    /// Starts statbuf in `wd` with `args` and standard input from /dev/null.
    pub fn start<S: AsRef<OsStr>>(wd: &Workdir, args: &[S]) -> Live {
        Live::spawn(wd.statbuf().args(args), false)
    }

    fn spawn(statbuf: Statbuf, piped: bool) -> Live {
        let (stdin, note) = match piped {
            true => (Stdio::piped(), "a pipe"),
            false => (Stdio::null(), "/dev/null"),
        };
        let command = format!("{}  (stdin: {note})", statbuf.command_line());
        let capture = |stream: &str| {
            let file = tempfile::Builder::new()
                .prefix(&format!("statbuf-live-{stream}-"))
                .tempfile()
                .unwrap_or_else(|e| panic!("cannot create a file for the {stream} of {command}: {e}"));
            let (file, path) = file.into_parts();
            (Stdio::from(file), path)
        };
        let (stdout, stdout_path) = capture("stdout");
        let (stderr, stderr_path) = capture("stderr");
        let mut cmd = statbuf.command();
        let mut child = cmd
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
        Live {
            stdin: child.stdin.take(),
            child,
            command,
            stdout: stdout_path,
            stderr: stderr_path,
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes `bytes` to the process's standard input.
    pub fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is closed");
        if let Err(e) = stdin.write_all(bytes).and_then(|()| stdin.flush()) {
            let command = self.command.clone();
            panic!("cannot write to {command}: {e}\n{}", self.describe());
        }
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits until the process has read everything written to its standard input.
    pub fn wait_until_read(&mut self) {
        self.poll("statbuf to read its input", |live| {
            let stdin = live.stdin.as_ref().expect("stdin is closed");
            match rustix::io::ioctl_fionread(stdin) {
                Ok(0) => Ok(()),
                Ok(n) => Err(format!("{n} bytes still in the pipe")),
                Err(e) => Err(e.to_string()),
            }
        });
    }

    /// Sends a signal by name (`TERM`, `STOP`, `KILL`, ...) with the `kill` utility. A process
    /// that has exited and been reaped ([`Live::exited`]) is not signalled: its pid may name
    /// another process by now.
    pub fn signal(&self, name: &str) {
        if self.status.is_none() {
            send_signal(self.pid(), name);
        }
    }

    /// What the process has written to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&read_captured(&self.stderr)).into_owned()
    }

    /// Whether the process has exited (it is reaped then).
    pub fn exited(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status.is_some()
    }

    /// The command, its status and its stderr, for failure messages.
    pub fn describe(&mut self) -> String {
        let status = if self.exited() {
            format!("{}", self.status.unwrap())
        } else {
            "still running".to_owned()
        };
        format!(
            "command: {}\nstatus:  {status}\n--- stderr so far ---\n{}\n---",
            self.command,
            excerpt(self.stderr().as_bytes(), 3000)
        )
    }

    /// Polls `check` until it gives a value; fails if the process exits meanwhile or the
    /// condition does not hold within [`PATIENCE`].
    pub fn poll<T>(&mut self, what: &str, mut check: impl FnMut(&Live) -> Result<T, String>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let last = match check(self) {
                Ok(value) => return value,
                Err(last) => last,
            };
            if self.exited() {
                panic!(
                    "statbuf exited while the test waited for {what}; last look: {last}\n{}",
                    self.describe()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "{what} did not happen within {PATIENCE:?}; last look: {last}\n{}",
                    self.describe()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Waits until stderr contains `needle`.
    pub fn wait_for_stderr(&mut self, needle: &str) {
        self.poll(&format!("stderr to contain {needle:?}"), |live| {
            let text = live.stderr();
            if text.contains(needle) {
                Ok(())
            } else {
                Err(format!("stderr: {text:?}"))
            }
        });
    }

    /// Waits for the process to exit and returns what it printed; kills it past `within`,
    /// which fails the test. Standard input stays as it is until then: a test that ends the
    /// input calls [`Live::close_stdin`] first.
    pub fn wait(mut self, within: Duration) -> Run {
        if self.status.is_none() {
            self.status = wait_until(&mut self.child, Instant::now() + within);
            kill_if_running(&mut self.child);
        }
        self.stdin.take();
        let run = Run {
            command: self.command.clone(),
            status: self.status,
            stdout: read_captured(&self.stdout),
            stderr: read_captured(&self.stderr),
        };
        assert!(
            run.status.is_some(),
            "{} did not exit within {within:?}; it was killed\n{run}",
            run.command
        );
        run
    }

    /// Sends SIGTERM and checks that statbuf exits 0 after its final flush.
    pub fn terminate(self) -> Run {
        self.signal("TERM");
        let run = self.wait(EXIT_DEADLINE);
        run.assert_success();
        run
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        kill_if_running(&mut self.child);
    }
}

/// What the process has written so far to one of the files capturing its output.
fn read_captured(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
