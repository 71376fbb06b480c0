//! A statbuf (or strace-wrapped statbuf) process running in the background while a test acts
//! on its files, its standard input and its signals.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::{Run, STATBUF, Workdir, excerpt, kill_if_running, send_signal, wait_until};

/// How long a polled condition may take before the test gives up on it.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// How long statbuf may take to exit once signalled.
pub const EXIT_DEADLINE: Duration = Duration::from_secs(30);

/// How often a polled condition is checked.
pub const POLL: Duration = Duration::from_millis(25);

/// A process whose stdout and stderr go to files, so that stderr can be read while it runs.
/// Dropping it kills the process if it is still running.
pub struct Live {
    child: Child,
    command: String,
    /// With `start_piped`, until `close_stdin`.
    stdin: Option<ChildStdin>,
    stdout: PathBuf,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Live {
    /// Starts statbuf in `wd` with `args` and standard input from /dev/null.
    pub fn start<S: AsRef<OsStr>>(wd: &Workdir, args: &[S]) -> Live {
        Live::spawn(wd, STATBUF.as_ref(), args, false)
    }

    /// Starts `program args` in `wd` with standard input from a pipe (see `write`).
    pub fn start_piped<S: AsRef<OsStr>>(wd: &Workdir, program: impl AsRef<OsStr>, args: &[S]) -> Live {
        Live::spawn(wd, program.as_ref(), args, true)
    }

    fn spawn<S: AsRef<OsStr>>(wd: &Workdir, program: &OsStr, args: &[S], piped: bool) -> Live {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let stdout = wd.path(&format!("live-run{n}.stdout"));
        let stderr = wd.path(&format!("live-run{n}.stderr"));
        let create = |path: &Path| {
            File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()))
        };
        let name = if program == OsStr::new(STATBUF) {
            OsStr::new("statbuf")
        } else {
            program
        };
        let command = std::iter::once(name)
            .chain(args.iter().map(AsRef::as_ref))
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = Command::new(program)
            .args(args)
            .current_dir(wd.root())
            .stdin(if piped { Stdio::piped() } else { Stdio::null() })
            .stdout(create(&stdout))
            .stderr(create(&stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
        Live {
            stdin: child.stdin.take(),
            child,
            command,
            stdout,
            stderr,
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

    /// Sends a signal by name (`TERM`, `STOP`, `KILL`, ...) with the `kill` utility. The child
    /// is never reaped before it is signalled, so its pid cannot name another process.
    pub fn signal(&self, name: &str) {
        send_signal(self.pid(), name);
    }

    /// What the process has written to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.stderr).unwrap_or_default()).into_owned()
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

    /// Closes standard input, waits for the process to exit (killing it past `within`, which
    /// fails the test) and returns what it printed.
    pub fn wait(mut self, within: Duration) -> Run {
        self.stdin.take();
        if self.status.is_none() {
            self.status = wait_until(&mut self.child, Instant::now() + within);
            kill_if_running(&mut self.child);
        }
        let run = Run {
            command: self.command.clone(),
            status: self.status,
            stdout: fs::read(&self.stdout).unwrap_or_default(),
            stderr: fs::read(&self.stderr).unwrap_or_default(),
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
