//! Running the `statbuf` binary: a command line being built, running it to its end under a
//! deadline, what the run printed (`Run`), and the summary line it ends with.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::counts::{Counts, parse_plain};

/// The binary under test.
pub const STATBUF: &str = env!("CARGO_BIN_EXE_statbuf");

/// How long one run of the binary may take before the test gives up on it.
pub const RUN_DEADLINE: Duration = Duration::from_secs(120);

/// Strings that must never appear in anything statbuf prints.
pub const PANIC_MARKERS: &[&str] = &["panicked", "RUST_BACKTRACE"];

/// A statbuf command line being built.
pub struct Statbuf {
    /// A program statbuf runs under, and its arguments (see [`Statbuf::under`]).
    wrapper: Vec<OsString>,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    dir: Option<PathBuf>,
    /// Variables set for the run (`None`: removed).
    env: Vec<(OsString, Option<OsString>)>,
}

/// A new statbuf command line with no arguments and an empty (closed) standard input.
pub fn statbuf() -> Statbuf {
    Statbuf {
        wrapper: Vec::new(),
        args: Vec::new(),
        stdin: None,
        dir: None,
        env: Vec::new(),
    }
}

impl Statbuf {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Statbuf {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Statbuf
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.args.push(arg.as_ref().to_os_string());
        }
        self
    }

    /// Bytes fed to standard input, which is closed after them.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Statbuf {
        self.stdin = Some(bytes.into());
        self
    }

    /// Sets an environment variable for the run.
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Statbuf {
        self.env.push((name.as_ref().into(), Some(value.as_ref().into())));
        self
    }

    /// Removes an environment variable for the run.
    pub fn env_remove(mut self, name: impl AsRef<OsStr>) -> Statbuf {
        self.env.push((name.as_ref().into(), None));
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Statbuf {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Runs statbuf under `program`: `program ARGS... statbuf STATBUF-ARGS...` (strace, say).
    pub fn under<I, S>(mut self, program: impl AsRef<OsStr>, args: I) -> Statbuf
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.wrapper = std::iter::once(program.as_ref().to_os_string())
            .chain(args.into_iter().map(|a| a.as_ref().to_os_string()))
            .collect();
        self
    }

    /// The command line as a person would type it.
    pub fn command_line(&self) -> String {
        let words = self.wrapper.iter().chain(&self.args).map(|w| w.to_string_lossy());
        let mut words: Vec<String> = words.map(|w| shell_quote(&w)).collect();
        words.insert(self.wrapper.len(), "statbuf".to_owned());
        words.join(" ")
    }

    /// The command line and its standard input, for failure messages.
    pub fn describe(&self) -> String {
        match &self.stdin {
            Some(bytes) => format!("{}  (stdin: {} bytes)", self.command_line(), bytes.len()),
            None => format!("{}  (stdin: /dev/null)", self.command_line()),
        }
    }

    /// A `std::process::Command` for this command line, with piped standard streams.
    pub fn command(&self) -> Command {
        let mut cmd = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(STATBUF);
                cmd
            }
            None => Command::new(STATBUF),
        };
        cmd.args(&self.args);
        for (name, value) in &self.env {
            match value {
                Some(value) => cmd.env(name, value),
                None => cmd.env_remove(name),
            };
        }
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    }

    /// Runs the command to its end, whatever the exit status, and returns what it printed.
    /// A run that exceeds [`RUN_DEADLINE`] is killed and fails the test.
    pub fn output(self) -> Run {
        let command = self.describe();
        run_to_end(command, self.command(), self.stdin)
    }

    /// Runs the command and fails the test unless it exits 0 without any panic text.
    pub fn run(self) -> Run {
        let run = self.output();
        run.assert_success();
        run
    }

    /// Runs the command and fails the test unless it exits with `code` without any panic
    /// text.
    pub fn run_with_code(self, code: i32) -> Run {
        let run = self.output();
        run.assert_code(code);
        run
    }
}

/// Runs `cmd` (whose stdout and stderr must be piped) to its end, feeding it `stdin`, and
/// returns what it printed; kills it and fails the test past [`RUN_DEADLINE`].
pub fn run_to_end(command: String, mut cmd: Command, stdin: Option<Vec<u8>>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
    let feeder = child.stdin.take().map(|mut pipe| {
        let bytes = stdin.unwrap_or_default();
        thread::spawn(move || {
            // statbuf may stop reading early (a usage error, say): a broken pipe is fine.
            let _ = pipe.write_all(&bytes);
        })
    });
    let streams = Streams::capture(&mut child);
    let status = wait_until(&mut child, Instant::now() + RUN_DEADLINE);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    if let Some(feeder) = feeder {
        feeder.join().expect("stdin feeder thread panicked");
    }
    let (stdout, stderr) = streams.join();
    let run = Run {
        command,
        status,
        stdout,
        stderr,
    };
    assert!(
        run.status.is_some(),
        "the command did not exit within {RUN_DEADLINE:?}; it was killed\n{run}"
    );
    run
}

/// Runs a `sh` script in `dir` with the statbuf binary's path as `$1`, e.g.
/// `(cat log; sleep 1; cat log) | "$1" -k 7`.
pub fn shell(dir: &Path, script: &str) -> Run {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg("sh")
        .arg(STATBUF)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run_to_end(format!("sh -c {}", shell_quote(script)), cmd, None)
}

/// Polls a child until it exits or the deadline passes (then `None`).
pub fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(e) => panic!("cannot wait for statbuf: {e}"),
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Threads draining a child's stdout and stderr, so that it never blocks on a full pipe.
pub struct Streams {
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl Streams {
    pub fn capture(child: &mut Child) -> Streams {
        fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
            thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                buf
            })
        }
        Streams {
            stdout: child.stdout.take().map(drain),
            stderr: child.stderr.take().map(drain),
        }
    }

    /// Waits for both streams to close and returns (stdout, stderr).
    pub fn join(mut self) -> (Vec<u8>, Vec<u8>) {
        let out = self.stdout.take().map(|h| h.join().unwrap()).unwrap_or_default();
        let err = self.stderr.take().map(|h| h.join().unwrap()).unwrap_or_default();
        (out, err)
    }
}

/// Sends the signal `name` (`INT`, `TERM`, `STOP`, ...) to `pid` with the `kill` utility.
pub fn send_signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// Kills and reaps `child` unless it has exited already.
pub fn kill_if_running(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// What one run of statbuf did.
pub struct Run {
    pub command: String,
    /// `None` when the process had to be killed.
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Fails unless nothing statbuf printed looks like a panic.
    pub fn assert_no_panic(&self) {
        let out = self.stdout_str();
        let err = self.stderr_str();
        for marker in PANIC_MARKERS {
            assert!(
                !out.contains(marker) && !err.contains(marker),
                "statbuf printed panic text ({marker:?})\n{self}"
            );
        }
    }

    pub fn assert_success(&self) {
        assert_eq!(self.code(), Some(0), "statbuf did not exit 0\n{self}");
        self.assert_no_panic();
    }

    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code(), Some(code), "statbuf did not exit {code}\n{self}");
        self.assert_no_panic();
    }

    /// The stdout sink's plain output, parsed (a single flush: no `# ` window lines).
    pub fn plain(&self) -> Counts {
        parse_plain(&self.stdout).unwrap_or_else(|e| panic!("{e}\n{self}"))
    }

    /// The summary line on stderr, parsed.
    pub fn summary(&self) -> Summary {
        Summary::find(&self.stderr).unwrap_or_else(|e| panic!("{e}\n{self}"))
    }

    /// Lines of stderr other than the summary line.
    pub fn stderr_lines_except_summary(&self) -> Vec<String> {
        self.stderr_str()
            .lines()
            .filter(|l| Summary::parse_line(l).is_err())
            .map(str::to_owned)
            .collect()
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.command)?;
        match self.status {
            Some(status) => writeln!(f, "status:  {status}")?,
            None => writeln!(f, "status:  (killed by the test)")?,
        }
        writeln!(f, "--- stdout ({} bytes) ---", self.stdout.len())?;
        writeln!(f, "{}", excerpt(&self.stdout, 3000))?;
        writeln!(f, "--- stderr ({} bytes) ---", self.stderr.len())?;
        writeln!(f, "{}", excerpt(&self.stderr, 3000))?;
        write!(f, "---")
    }
}

/// The first `max` bytes, lossily decoded, with a note when cut.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        format!(
            "{}\n[... {} more bytes]",
            String::from_utf8_lossy(&bytes[..max]),
            bytes.len() - max
        )
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

// ------------------------------------------------------------------------------------------
// The summary line
// ------------------------------------------------------------------------------------------

/// The numbers of statbuf's exit summary line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub lines: u64,
    pub matched: u64,
    pub unmatched: u64,
    pub bad_values: u64,
    pub oversize: u64,
    pub keys: u64,
    pub flushes: u64,
    /// Lines `--match`/`--exclude` dropped: 0 when the summary does not say.
    pub filtered: u64,
}

impl Summary {
    /// Finds exactly one summary line in `stderr`.
    pub fn find(stderr: &[u8]) -> Result<Summary, String> {
        let text = String::from_utf8_lossy(stderr);
        let found: Vec<Summary> = text.lines().filter_map(|l| Summary::parse_line(l).ok()).collect();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => {
                let why = text
                    .lines()
                    .filter(|l| l.starts_with("statbuf: "))
                    .map(|l| match Summary::parse_line(l) {
                        Ok(_) => unreachable!(),
                        Err(e) => format!("\n  {l:?}: {e}"),
                    })
                    .collect::<String>();
                Err(format!("no summary line on stderr{why}"))
            }
            _ => Err(format!("{} summary lines on stderr", found.len())),
        }
    }

    /// Parses `statbuf: N lines, N matched, N unmatched, N bad values, N oversize, N keys,
    /// N flushes` by its words, in any order.
    pub fn parse_line(line: &str) -> Result<Summary, String> {
        let rest = line
            .strip_prefix("statbuf: ")
            .ok_or("does not start with `statbuf: `")?;
        let mut numbers: HashMap<String, u64> = HashMap::new();
        for part in rest.split(',') {
            let part = part.trim();
            let (n, words) = part
                .split_once(' ')
                .ok_or_else(|| format!("no `N word` in {part:?}"))?;
            let n: u64 = n
                .parse()
                .map_err(|_| format!("{n:?} is not a number in {part:?}"))?;
            numbers.insert(words.trim().to_owned(), n);
        }
        // By the words, singular or plural (`1 flush`, `2 flushes`).
        let get = |plural: &str, singular: &str| {
            numbers
                .get(plural)
                .or_else(|| numbers.get(singular))
                .copied()
                .ok_or_else(|| format!("no `N {plural}`"))
        };
        Ok(Summary {
            lines: get("lines", "line")?,
            matched: get("matched", "matched")?,
            unmatched: get("unmatched", "unmatched")?,
            bad_values: get("bad values", "bad value")?,
            oversize: get("oversize", "oversize")?,
            keys: get("keys", "key")?,
            flushes: get("flushes", "flush")?,
            filtered: numbers.get("filtered out").copied().unwrap_or(0),
        })
    }
}
