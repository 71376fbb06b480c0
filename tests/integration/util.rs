//! Helpers shared by the integration tests: a scratch directory per test, a builder that runs
//! the `statbuf` binary, parsers for what it writes, and independent reference counts (mawk,
//! or plain Rust over the bytes a test wrote).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use loggen::LogSpec;

use crate::tools::Tool;

/// Per-key totals: the key's bytes (composite parts joined by one space) and its count or sum.
pub type Counts = BTreeMap<Vec<u8>, i64>;

/// The binary under test.
pub const STATBUF: &str = env!("CARGO_BIN_EXE_statbuf");

/// How long one run of the binary may take before the test gives up on it.
pub const RUN_DEADLINE: Duration = Duration::from_secs(120);

/// Strings that must never appear in anything statbuf prints.
pub const PANIC_MARKERS: &[&str] = &["panicked", "RUST_BACKTRACE"];

/// A committed fixture, by its path under `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    assert!(
        path.is_file(),
        "fixture {} is missing: it must be committed under fixtures/",
        path.display()
    );
    path
}

/// Reads a file or fails the test naming it.
pub fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ------------------------------------------------------------------------------------------
// Scratch directories
// ------------------------------------------------------------------------------------------

/// A temporary directory owned by one test, removed when the test ends.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Default for Workdir {
    fn default() -> Workdir {
        Workdir::new()
    }
}

impl Workdir {
    pub fn new() -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix("statbuf-test-")
            .tempdir()
            .expect("cannot create a temporary directory");
        Workdir { dir }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The absolute path of `name` inside the directory (which need not exist).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `bytes` to `name` and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, bytes.as_ref()).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// Reads `name` back.
    pub fn read(&self, name: &str) -> Vec<u8> {
        read(&self.path(name))
    }

    /// Writes a generated access log to `name` and returns its path.
    pub fn access_log(&self, name: &str, spec: &LogSpec) -> PathBuf {
        let path = self.path(name);
        write_log(&path, spec);
        path
    }

    /// A command running statbuf inside this directory.
    pub fn statbuf(&self) -> Statbuf {
        statbuf().current_dir(self.dir.path())
    }
}

fn write_log(path: &Path, spec: &LogSpec) {
    let file = fs::File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let mut out = io::BufWriter::new(file);
    loggen::write_access_log(spec, &mut out)
        .unwrap_or_else(|e| panic!("loggen failed writing {}: {e}", path.display()));
    out.flush()
        .unwrap_or_else(|e| panic!("cannot flush {}: {e}", path.display()));
}

/// A generated log of `lines` lines with the given seed and default spec otherwise, written
/// once per test process and shared by the tests that ask for the same one.
pub fn generated_log(lines: u64, seed: u64) -> PathBuf {
    static LOGS: Mutex<BTreeMap<(u64, u64), PathBuf>> = Mutex::new(BTreeMap::new());
    let mut logs = LOGS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = logs.get(&(lines, seed)) {
        return path.clone();
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("statbuf-generated");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let path = dir.join(format!("access-{lines}-seed{seed}.log"));
    let tmp = dir.join(format!("access-{lines}-seed{seed}.log.{}", std::process::id()));
    let spec = LogSpec {
        lines,
        seed,
        ..LogSpec::default()
    };
    write_log(&tmp, &spec);
    fs::rename(&tmp, &path)
        .unwrap_or_else(|e| panic!("cannot rename {} to {}: {e}", tmp.display(), path.display()));
    logs.insert((lines, seed), path.clone());
    path
}

// ------------------------------------------------------------------------------------------
// Running the binary
// ------------------------------------------------------------------------------------------

/// A statbuf command line being built.
pub struct Statbuf {
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    dir: Option<PathBuf>,
    /// Variables set for the run (`None`: removed).
    env: Vec<(OsString, Option<OsString>)>,
}

/// A new statbuf command line with no arguments and an empty (closed) standard input.
pub fn statbuf() -> Statbuf {
    Statbuf {
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

    /// The command line as a person would type it, for failure messages.
    pub fn describe(&self) -> String {
        let mut s = String::from("statbuf");
        for arg in &self.args {
            s.push(' ');
            s.push_str(&shell_quote(&arg.to_string_lossy()));
        }
        match &self.stdin {
            Some(bytes) => s.push_str(&format!("  (stdin: {} bytes)", bytes.len())),
            None => s.push_str("  (stdin: /dev/null)"),
        }
        s
    }

    /// A `std::process::Command` for this command line, with piped standard streams.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(STATBUF);
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

/// A statbuf process started with piped stdin that the test writes to at its own pace.
/// Dropping it kills the process if it is still running.
pub struct Running {
    pub command: String,
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    streams: Option<Streams>,
}

impl Statbuf {
    /// Starts the command with a piped stdin that stays open until [`Running::close_stdin`].
    pub fn spawn(self) -> Running {
        let command = self.describe();
        let mut cmd = self.command();
        cmd.stdin(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {STATBUF}: {e}"));
        let stdin = child.stdin.take();
        let streams = Some(Streams::capture(&mut child));
        Running {
            command,
            child,
            stdin,
            streams,
        }
    }
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("cannot write to statbuf's stdin: {e}"));
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Sends a signal by name (`INT`, `TERM`) with the `kill` utility.
    pub fn signal(&self, name: &str) {
        send_signal(self.pid(), name);
    }

    /// Whether the process has exited yet.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits for the process to exit; fails the test (after killing it) past the deadline.
    pub fn wait(mut self, within: Duration) -> Run {
        let status = wait_until(&mut self.child, Instant::now() + within);
        kill_if_running(&mut self.child);
        self.stdin.take();
        let (stdout, stderr) = self.streams.take().unwrap().join();
        let run = Run {
            command: self.command.clone(),
            status,
            stdout,
            stderr,
        };
        assert!(
            run.status.is_some(),
            "statbuf did not exit within {within:?}; it was killed\n{run}"
        );
        run
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        kill_if_running(&mut self.child);
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

/// A key for failure messages: printable ASCII as is, anything else escaped.
pub fn show(key: &[u8]) -> String {
    format!("\"{}\"", key.escape_ascii())
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
        })
    }
}

// ------------------------------------------------------------------------------------------
// statbuf's plain output
// ------------------------------------------------------------------------------------------

/// Parses one line of the plain format, `{:>7} {key}`, into (count, key).
pub fn parse_plain_line(line: &[u8]) -> Result<(i64, Vec<u8>), String> {
    let start = line
        .iter()
        .position(|&b| b != b' ')
        .ok_or_else(|| format!("blank line {}", show(line)))?;
    let rest = &line[start..];
    let end = rest
        .iter()
        .position(|&b| b == b' ')
        .ok_or_else(|| format!("no space after the count in {}", show(line)))?;
    let count = std::str::from_utf8(&rest[..end])
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| format!("no count at the start of {}", show(line)))?;
    if start + end < 7 {
        return Err(format!(
            "the count is not right-aligned to 7 columns in {}",
            show(line)
        ));
    }
    Ok((count, rest[end + 1..].to_vec()))
}

/// Splits output into lines at `\n` (the last line needs one).
pub fn output_lines(out: &[u8]) -> Result<Vec<&[u8]>, String> {
    if out.is_empty() {
        return Ok(Vec::new());
    }
    let body = out
        .strip_suffix(b"\n")
        .ok_or("the output does not end with a newline")?;
    Ok(body.split(|&b| b == b'\n').collect())
}

/// Parses a single flush of plain output, checking its order: count descending, then key
/// bytewise ascending, each key once.
pub fn parse_plain(out: &[u8]) -> Result<Counts, String> {
    let blocks = parse_plain_blocks(out)?;
    match blocks.as_slice() {
        [] => Ok(Counts::new()),
        [(None, counts)] => Ok(counts.clone()),
        _ => Err(format!(
            "expected one flush without a `# ` window line, found {} blocks",
            blocks.len()
        )),
    }
}

/// Parses plain output made of flushes, each optionally preceded by a `# ` window line, into
/// (window line, counts) per block, checking the order inside each block.
pub fn parse_plain_blocks(out: &[u8]) -> Result<Vec<(Option<String>, Counts)>, String> {
    let mut blocks: Vec<(Option<String>, Counts)> = Vec::new();
    let mut prev: Option<(i64, Vec<u8>)> = None;
    for (i, line) in output_lines(out)?.into_iter().enumerate() {
        if let Some(window) = line.strip_prefix(b"# ") {
            blocks.push((Some(String::from_utf8_lossy(window).into_owned()), Counts::new()));
            prev = None;
            continue;
        }
        let (count, key) = parse_plain_line(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        if blocks.is_empty() {
            blocks.push((None, Counts::new()));
        }
        if let Some((pc, pk)) = &prev {
            let ordered = count < *pc || (count == *pc && key > *pk);
            if !ordered {
                return Err(format!(
                    "line {}: {count} {} comes after {pc} {}: the order must be count \
                     descending, then key ascending",
                    i + 1,
                    show(&key),
                    show(pk)
                ));
            }
        }
        let counts = &mut blocks.last_mut().unwrap().1;
        if counts.insert(key.clone(), count).is_some() {
            return Err(format!("line {}: key {} printed twice", i + 1, show(&key)));
        }
        prev = Some((count, key));
    }
    Ok(blocks)
}

/// The plain output the contract asks for, rendered from reference counts.
pub fn render_plain(counts: &Counts) -> Vec<u8> {
    let mut rows: Vec<(&Vec<u8>, &i64)> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut out = Vec::new();
    for (key, count) in rows {
        out.extend_from_slice(format!("{count:>7} ").as_bytes());
        out.extend_from_slice(key);
        out.push(b'\n');
    }
    out
}

/// Adds `other` into `into`.
pub fn add_counts(into: &mut Counts, other: &Counts) {
    for (k, v) in other {
        *into.entry(k.clone()).or_insert(0) += v;
    }
}

/// Every count multiplied by `factor`.
pub fn scale(counts: &Counts, factor: i64) -> Counts {
    counts.iter().map(|(k, v)| (k.clone(), v * factor)).collect()
}

pub fn total(counts: &Counts) -> i64 {
    counts.values().sum()
}

/// Fails with the first few differing keys when two sets of counts differ.
#[track_caller]
pub fn assert_counts_eq(actual: &Counts, expected: &Counts, context: &dyn fmt::Display) {
    if actual == expected {
        return;
    }
    let keys: BTreeSet<&Vec<u8>> = actual.keys().chain(expected.keys()).collect();
    let mut diffs = Vec::new();
    let mut ndiff = 0;
    for key in keys {
        let (a, e) = (actual.get(key), expected.get(key));
        if a != e {
            ndiff += 1;
            if diffs.len() < 12 {
                diffs.push(format!(
                    "  {}: statbuf {}, expected {}",
                    show(key),
                    a.map_or("(absent)".to_owned(), |v| v.to_string()),
                    e.map_or("(absent)".to_owned(), |v| v.to_string())
                ));
            }
        }
    }
    panic!(
        "counts differ: statbuf has {} keys totalling {}, expected {} keys totalling {}; \
         {ndiff} keys differ, first ones:\n{}\n{context}",
        actual.len(),
        total(actual),
        expected.len(),
        total(expected),
        diffs.join("\n")
    );
}

/// Fails, showing the first differing line, when two outputs are not byte for byte equal.
#[track_caller]
pub fn assert_output_eq(actual: &[u8], expected: &[u8], context: &dyn fmt::Display) {
    if actual == expected {
        return;
    }
    let a: Vec<&[u8]> = actual.split(|&b| b == b'\n').collect();
    let e: Vec<&[u8]> = expected.split(|&b| b == b'\n').collect();
    let first = (0..a.len().max(e.len()))
        .find(|&i| a.get(i) != e.get(i))
        .unwrap_or(0);
    let around = |lines: &[&[u8]]| {
        (first.saturating_sub(2)..(first + 3).min(lines.len()))
            .map(|i| format!("  {:>6}: {}", i + 1, show(lines[i])))
            .collect::<Vec<_>>()
            .join("\n")
    };
    panic!(
        "output differs from the expected bytes at line {} (statbuf: {} bytes, {} lines; \
         expected: {} bytes, {} lines)\nstatbuf:\n{}\nexpected:\n{}\n{context}",
        first + 1,
        actual.len(),
        a.len(),
        expected.len(),
        e.len(),
        around(&a),
        around(&e)
    );
}

// ------------------------------------------------------------------------------------------
// Reference counts
// ------------------------------------------------------------------------------------------

/// Runs mawk with `program`, which must add into an array named `c`; an END block printing
/// `c` is appended. Fails the test when mawk is not installed.
pub fn mawk(program: &str, files: &[&Path]) -> Counts {
    // Tests that call this check `have(&[Tool::Mawk])` first.
    let mawk = Tool::Mawk.program();
    let full = format!("{program}\nEND {{ for (k in c) printf \"%.0f %s\\n\", c[k], k }}");
    let out = Command::new(mawk)
        .env("LC_ALL", "C")
        .arg(&full)
        .args(files)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {mawk}: {e}"));
    assert!(
        out.status.success(),
        "mawk failed ({}): {}\nprogram: {full}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut counts = Counts::new();
    for line in output_lines(&out.stdout).expect("mawk output") {
        let space = line.iter().position(|&b| b == b' ').expect("mawk output");
        let n: f64 = std::str::from_utf8(&line[..space])
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("bad mawk output line {}", show(line)));
        counts.insert(line[space + 1..].to_vec(), n as i64);
    }
    counts
}

/// Lines as the contract cuts them: at `\n`, a trailing `\r` dropped, a last line without
/// `\n` kept.
pub fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    if data.is_empty() {
        return Vec::new();
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    body.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// awk's default field splitting: runs of spaces and tabs separate, outer blanks ignored.
pub fn awk_fields(line: &[u8]) -> Vec<&[u8]> {
    line.split(|&b| b == b' ' || b == b'\t')
        .filter(|f| !f.is_empty())
        .collect()
}

/// Fields split at every `delim`, empty fields kept.
pub fn delim_fields(line: &[u8], delim: u8) -> Vec<&[u8]> {
    line.split(|&b| b == delim).collect()
}

/// Field `n` (1-based; negative from the end) of `fields`, if there is one.
pub fn nth_field<'a>(fields: &[&'a [u8]], n: i64) -> Option<&'a [u8]> {
    let len = fields.len() as i64;
    let idx = if n > 0 { n - 1 } else { len + n };
    if (0..len).contains(&idx) {
        Some(fields[idx as usize])
    } else {
        None
    }
}

/// Counts the lines of `data` by the key `key_of` returns (`None` = unmatched).
pub fn count_by(data: &[u8], key_of: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Counts {
    let mut counts = Counts::new();
    for line in split_lines(data) {
        if let Some(key) = key_of(line) {
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    counts
}

/// The number of lines in a file as the contract counts them.
pub fn line_count(path: &Path) -> u64 {
    split_lines(&read(path)).len() as u64
}

// ------------------------------------------------------------------------------------------
// CSV, SQLite and JSON read back
// ------------------------------------------------------------------------------------------

/// A CSV file read back: the header and the data rows (fields as bytes).
pub struct CsvTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Vec<u8>>>,
}

impl CsvTable {
    /// Parses RFC 4180 CSV whose first record is a header, failing if the header record
    /// shows up again later or a row has another number of fields.
    pub fn parse(bytes: &[u8], what: &dyn fmt::Display) -> CsvTable {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_reader(bytes);
        let mut records = Vec::new();
        for rec in reader.byte_records() {
            let rec = rec.unwrap_or_else(|e| panic!("invalid CSV: {e}\n{what}"));
            records.push(rec.iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
        }
        assert!(!records.is_empty(), "the CSV has no header\n{what}");
        let header_bytes = records.remove(0);
        for (i, row) in records.iter().enumerate() {
            assert!(
                *row != header_bytes,
                "the CSV header shows up again as record {}\n{what}",
                i + 2
            );
        }
        let header = header_bytes
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        CsvTable {
            header,
            rows: records,
        }
    }

    pub fn column(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name:?} in the header {:?}", self.header))
    }

    /// Sums the `count` column by the key columns (parts joined by one space).
    pub fn totals(&self, key_columns: &[&str]) -> Counts {
        let keys: Vec<usize> = key_columns.iter().map(|c| self.column(c)).collect();
        let count = self.column("count");
        let mut totals = Counts::new();
        for row in &self.rows {
            let key = keys
                .iter()
                .map(|&i| row[i].clone())
                .collect::<Vec<_>>()
                .join(&b' ');
            let n: i64 = std::str::from_utf8(&row[count])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("count {} is not an integer", show(&row[count])));
            *totals.entry(key).or_insert(0) += n;
        }
        totals
    }

    /// The distinct values of one column.
    pub fn distinct(&self, name: &str) -> BTreeSet<Vec<u8>> {
        let i = self.column(name);
        self.rows.iter().map(|r| r[i].clone()).collect()
    }
}

/// A SQLite table read back with rusqlite.
pub struct SqlTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<rusqlite::types::Value>>,
}

impl SqlTable {
    pub fn read(db: &Path, table: &str) -> Result<SqlTable, rusqlite::Error> {
        let conn = rusqlite::Connection::open_with_flags(
            db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\""))?;
        let columns: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
        let n = columns.len();
        let rows = stmt
            .query_map([], |row| {
                (0..n)
                    .map(|i| row.get::<_, rusqlite::types::Value>(i))
                    .collect::<Result<Vec<_>, _>>()
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SqlTable { columns, rows })
    }

    /// Reads the table or fails the test.
    pub fn load(db: &Path, table: &str) -> SqlTable {
        SqlTable::read(db, table)
            .unwrap_or_else(|e| panic!("cannot read table {table} of {}: {e}", db.display()))
    }

    pub fn column(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name:?} in the table: {:?}", self.columns))
    }

    /// The `count` column by key (key columns joined by one space); fails on a key stored
    /// twice.
    pub fn totals(&self, key_columns: &[&str]) -> Counts {
        let keys: Vec<usize> = key_columns.iter().map(|c| self.column(c)).collect();
        let count = self.column("count");
        let mut totals = Counts::new();
        for row in &self.rows {
            let key = keys
                .iter()
                .map(|&i| sql_bytes(&row[i]))
                .collect::<Vec<_>>()
                .join(&b' ');
            let n = match &row[count] {
                rusqlite::types::Value::Integer(n) => *n,
                other => panic!("count {other:?} of {} is not an integer", show(&key)),
            };
            assert!(
                totals.insert(key.clone(), n).is_none(),
                "key {} is stored in more than one row",
                show(&key)
            );
        }
        totals
    }
}

/// A key column's value as bytes (text or blob; an integer if the column has integer
/// affinity).
pub fn sql_bytes(v: &rusqlite::types::Value) -> Vec<u8> {
    match v {
        rusqlite::types::Value::Text(s) => s.clone().into_bytes(),
        rusqlite::types::Value::Blob(b) => b.clone(),
        rusqlite::types::Value::Integer(n) => n.to_string().into_bytes(),
        other => panic!("key column holds {other:?}"),
    }
}

/// Runs the `sqlite3` command-line shell on `db` when it is installed; `None` otherwise.
pub fn sqlite3_cli(db: &Path, sql: &str) -> Option<String> {
    let cli = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"]
        .into_iter()
        .find(|p| Path::new(p).is_file())?;
    let out = Command::new(cli)
        .arg("-batch")
        .arg("-readonly")
        .arg(db)
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cli}: {e}"));
    assert!(
        out.status.success(),
        "sqlite3 failed on {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A JSON value as far as these tests need one.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Str(String),
    /// A number, as written.
    Num(String),
    Bool(bool),
    Null,
}

/// Parses one flat JSON object (`{"name": value, ...}` with scalar values) into its members
/// in order; nested objects and arrays are rejected.
pub fn parse_json_object(text: &str) -> Result<Vec<(String, Json)>, String> {
    let mut p = JsonParser {
        s: text.as_bytes(),
        i: 0,
    };
    p.ws();
    p.expect(b'{')?;
    let mut members = Vec::new();
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let name = p.string()?;
            p.ws();
            p.expect(b':')?;
            p.ws();
            let value = p.value()?;
            members.push((name, value));
            p.ws();
            match p.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                other => return Err(format!("expected , or }} at {}, got {other:?}", p.i)),
            }
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("trailing bytes after the object at {}", p.i));
    }
    Ok(members)
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        self.i += 1;
        b
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        match self.next() {
            Some(c) if c == b => Ok(()),
            other => Err(format!(
                "expected {:?} at {}, got {:?}",
                b as char,
                self.i - 1,
                other.map(|c| c as char)
            )),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.s.get(self.i..self.i + 4).ok_or("short \\u escape")?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(digits).map_err(|e| e.to_string())?, 16)
            .map_err(|_| "bad \\u escape".to_owned())
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            match self.next().ok_or("unterminated string")? {
                b'"' => break,
                b'\\' => match self.next().ok_or("unterminated escape")? {
                    b'"' => out.push(b'"'),
                    b'\\' => out.push(b'\\'),
                    b'/' => out.push(b'/'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'u' => {
                        let mut cp = self.hex4()?;
                        if (0xD800..0xDC00).contains(&cp) {
                            if self.next() != Some(b'\\') || self.next() != Some(b'u') {
                                return Err("lone surrogate".into());
                            }
                            let low = self.hex4()?;
                            if !(0xDC00..0xE000).contains(&low) {
                                return Err("bad surrogate pair".into());
                            }
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                        }
                        let c = char::from_u32(cp).ok_or("bad code point")?;
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    other => return Err(format!("bad escape \\{}", other as char)),
                },
                c if c < 0x20 => return Err("raw control character in a string".into()),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| "string is not UTF-8".to_owned())
    }

    fn value(&mut self) -> Result<Json, String> {
        match self.peek().ok_or("missing value")? {
            b'"' => Ok(Json::Str(self.string()?)),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while matches!(self.peek(), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
                    self.i += 1;
                }
                let num = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                num.parse::<f64>().map_err(|_| format!("bad number {num:?}"))?;
                Ok(Json::Num(num.to_owned()))
            }
            _ => {
                for (word, v) in [
                    ("true", Json::Bool(true)),
                    ("false", Json::Bool(false)),
                    ("null", Json::Null),
                ] {
                    if self.s[self.i..].starts_with(word.as_bytes()) {
                        self.i += word.len();
                        return Ok(v);
                    }
                }
                Err(format!("unsupported value at {}", self.i))
            }
        }
    }
}
