//! Progress on stderr: drawn in a real terminal (a tmux pane), updated as the input is read and
//! cleared before the summary; never drawn when stderr is not a terminal, with `-q` or
//! `--no-progress` (unless `--progress` forces it), and never mixed into stdout.
//!
//! The terminal tests pace statbuf instead of racing it: stdout is a FIFO the test reads at
//! its own pace (a flush that cannot be written holds the pipeline back), or stdin is a FIFO
//! the test writes to. Every wait polls against a deadline.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::tools::{Tool, have};
use crate::util::*;

/// How long a terminal test waits for something to show up before failing.
const DEADLINE: Duration = Duration::from_secs(60);

const ESC: u8 = 0x1b;

/// The text of every frame of the file progress bar has this (and the status line has not).
const BAR_MARK: &str = " ETA ";
/// ... and every frame of the status line has this.
const STATUS_MARK: &str = " lines/s ";

// ------------------------------------------------------------------------------------------
// A tmux pane
// ------------------------------------------------------------------------------------------

/// A tmux server of its own (its socket in the test's directory) with one pane running `sh`,
/// everything the pane prints logged to a file. Dropping it stops that server.
pub struct Tmux {
    socket: PathBuf,
    log: PathBuf,
    dir: PathBuf,
    scripts: usize,
}

impl Tmux {
    pub fn start(dir: &Path) -> Tmux {
        let tmux = Tmux {
            socket: dir.join("tmux.sock"),
            log: dir.join("pane.log"),
            dir: dir.to_path_buf(),
            scripts: 0,
        };
        tmux.command(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "150",
            "-y",
            "40",
            "sh",
        ]);
        let pipe = format!("cat >> '{}'", tmux.log.display());
        tmux.command(&["pipe-pane", "-t", "t", "-o", &pipe]);
        tmux
    }

    fn command(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env("TERM", "xterm-256color")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run tmux (apt: tmux): {e}"));
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `sh script` into the pane, where the script runs `body` with `$STATBUF` set, then
    /// writes its exit status to a file; returns that file.
    pub fn run(&mut self, body: &str) -> PathBuf {
        self.scripts += 1;
        let script = self.dir.join(format!("script{}.sh", self.scripts));
        let done = self.dir.join(format!("done{}", self.scripts));
        let text = format!(
            "cd '{}'\nSTATBUF='{STATBUF}'\n{body}\necho $? > '{}'\n",
            self.dir.display(),
            done.display()
        );
        fs::write(&script, text).unwrap();
        self.command(&[
            "send-keys",
            "-t",
            "t",
            &format!("clear; sh '{}'", script.display()),
            "Enter",
        ]);
        done
    }

    /// What the pane has shown so far, as the bytes programs wrote to it.
    pub fn log(&self) -> Vec<u8> {
        fs::read(&self.log).unwrap_or_default()
    }

    /// The text on the screen now.
    pub fn screen(&self) -> String {
        self.command(&["capture-pane", "-p", "-t", "t"])
    }

    /// Waits until `f` of the pane's log is `Some`; fails the test past the deadline.
    pub fn wait_log<T>(&self, what: &str, f: impl FnMut(&str) -> Option<T>) -> T {
        self.poll_log(DEADLINE, f)
            .unwrap_or_else(|| self.fail_waiting(what))
    }

    /// Polls `f` of the pane's log for at most `wait`.
    pub fn poll_log<T>(&self, wait: Duration, mut f: impl FnMut(&str) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(t) = f(&String::from_utf8_lossy(&self.log())) {
                return Some(t);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn fail_waiting(&self, what: &str) -> ! {
        panic!(
            "waited {DEADLINE:?} for {what}; the pane shows:\n{}\nits log:\n{}",
            self.screen(),
            excerpt(&self.log(), 6000).escape_debug()
        )
    }

    /// Waits for a script started by [`Tmux::run`] to end and returns its exit status.
    pub fn wait_done(&self, done: &Path) -> i32 {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Ok(text) = fs::read_to_string(done)
                && text.ends_with('\n')
            {
                return text.trim().parse().expect("exit status");
            }
            assert!(
                Instant::now() < deadline,
                "the command did not end within {DEADLINE:?}; the pane shows:\n{}",
                self.screen()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("cannot run mkfifo");
    assert!(status.success(), "mkfifo {} failed", path.display());
}

/// The frames of the file bar in the pane's log: the text between carriage returns that
/// holds [`BAR_MARK`], in order.
fn frames<'a>(log: &'a str, mark: &str) -> Vec<&'a str> {
    log.split(['\r', '\n'])
        .map(|f| f.trim_start_matches("\u{1b}[2K"))
        .filter(|f| f.contains(mark))
        .collect()
}

/// The bytes read that a bar frame shows (`  1.50 MiB/396.00 MiB [...`).
fn bytes_shown(frame: &str) -> String {
    frame
        .trim_start()
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The rate a bar frame shows (`... [===>   ] 1.20 MiB/s ETA 3s ...`).
fn rate_shown(frame: &str) -> &str {
    let after_bar = frame.rsplit_once(']').map_or("", |(_, rest)| rest);
    after_bar.split(BAR_MARK).next().unwrap_or_default().trim()
}

/// Waits until the screen shows the summary line, then checks that it stands alone on its
/// line and that no frame of the display is left on the screen.
fn assert_summary_is_last_and_bar_is_gone(tmux: &Tmux, mark: &str) -> Summary {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let screen = tmux.screen();
        let summary = screen.lines().rev().find(|l| l.contains("statbuf: "));
        if let Some(line) = summary {
            let parsed = Summary::parse_line(line.trim_end());
            assert!(
                parsed.is_ok(),
                "the summary does not stand alone on its line ({}):\n{screen}",
                parsed.err().unwrap_or_default()
            );
            assert!(
                !screen.contains(mark.trim()),
                "the progress display was not cleared:\n{screen}"
            );
            return parsed.unwrap_or_else(|_| unreachable!());
        }
        assert!(
            Instant::now() < deadline,
            "no summary line on the screen within {DEADLINE:?}:\n{screen}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

// ------------------------------------------------------------------------------------------
// In a terminal
// ------------------------------------------------------------------------------------------

#[test]
fn file_bar_updates_in_a_terminal_and_is_cleared() {
    if !have(&[Tool::Tmux]) {
        return;
    }
    let wd = Workdir::new();
    let total_lines = 2_000_000u64;
    let log = generated_log(total_lines, 17);
    let fifo = wd.path("out.fifo");
    mkfifo(&fifo);
    let mut tmux = Tmux::start(wd.root());
    // Every line is its own key, so the counts flushed to stdout (the FIFO) every 10ms are
    // about as large as the input read: while the test does not read them, the pipeline
    // waits, and so does the bar; each read lets it move on by about as much.
    let done = tmux.run(&format!(
        "\"$STATBUF\" -i 10ms --block-size 65536 --workers 2 '{}' > out.fifo",
        log.display()
    ));
    let (more, wanted) = mpsc::channel::<Option<usize>>();
    let reader = thread::spawn(move || {
        let mut out = File::open(&fifo).expect("cannot open the FIFO");
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        for step in wanted {
            let mut left = step.unwrap_or(usize::MAX);
            while left > 0 {
                match out.read(&mut buf[..left.min(1 << 16)]) {
                    Ok(0) => return total,
                    Ok(n) => {
                        left -= n;
                        total += n as u64;
                    }
                    Err(e) => panic!("cannot read the FIFO: {e}"),
                }
            }
        }
        total
    });

    // The bar is drawn; while no output is taken the pipeline stands still, and the bar is
    // still redrawn: the same bytes, with a rate that falls instead of a stale one.
    let stalled = tmux.wait_log("the stalled bar to be redrawn with a new rate", |log| {
        frames(log, BAR_MARK).windows(2).find_map(|w| {
            let same_bytes = bytes_shown(w[0]) == bytes_shown(w[1]);
            (same_bytes && rate_shown(w[0]) != rate_shown(w[1])).then(|| bytes_shown(w[1]))
        })
    });
    // Its bytes move on each time enough output is taken. How much is enough depends on how
    // large the snapshot being written is, which depends on how fast the machine counted
    // before its first flush: output is taken a mebibyte at a time until the bar moves.
    let mut seen = vec![stalled];
    for _ in 0..3 {
        let before = seen.clone();
        // Only frames drawn from now on show whether taking output moved the bar.
        let from = tmux.log().len();
        let deadline = Instant::now() + DEADLINE;
        let moved = loop {
            more.send(Some(1 << 20)).unwrap();
            let moved = tmux.poll_log(Duration::from_millis(500), |log| {
                frames(log.get(from..).unwrap_or_default(), BAR_MARK)
                    .iter()
                    .map(|f| bytes_shown(f))
                    .find(|b| !before.contains(b))
            });
            match moved {
                Some(bytes) => break bytes,
                None if Instant::now() < deadline => continue,
                None => tmux.fail_waiting("the progress bar to move on"),
            }
        };
        seen.push(moved);
    }
    let log_text = String::from_utf8_lossy(&tmux.log()).into_owned();
    let frame = frames(&log_text, BAR_MARK)
        .last()
        .copied()
        .unwrap_or_default()
        .to_string();
    assert!(
        frame.contains(" lines") && frame.contains(" key"),
        "no lines or keys in {frame:?}"
    );
    assert!(frame.contains("MiB/"), "no bytes of the total in {frame:?}");

    more.send(None).unwrap();
    drop(more);
    assert_eq!(tmux.wait_done(&done), 0, "statbuf failed:\n{}", tmux.screen());
    reader.join().expect("the FIFO reader panicked");
    let summary = assert_summary_is_last_and_bar_is_gone(&tmux, BAR_MARK);
    assert_eq!(summary.lines, total_lines);
}

#[test]
fn status_line_for_stdin_updates_and_is_cleared() {
    if !have(&[Tool::Tmux]) {
        return;
    }
    let wd = Workdir::new();
    let fifo = wd.path("in.fifo");
    mkfifo(&fifo);
    let mut tmux = Tmux::start(wd.root());
    let done = tmux.run("\"$STATBUF\" -k 1 -i 50ms --sqlite counts.db < in.fifo");
    let mut input = fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("cannot open the FIFO");
    let mut sent = 0u64;
    for expected in ["1,000 lines", "2,000 lines"] {
        let block: String = (0..1000)
            .map(|i| format!("host{} GET /x\n", (sent + i) % 37))
            .collect();
        input.write_all(block.as_bytes()).unwrap();
        input.flush().unwrap();
        sent += 1000;
        tmux.wait_log(&format!("a status line with {expected}"), |log| {
            frames(log, STATUS_MARK)
                .iter()
                .any(|f| f.contains(expected))
                .then_some(())
        });
    }
    tmux.wait_log("a status line showing the last flush", |log| {
        frames(log, STATUS_MARK)
            .iter()
            .any(|f| f.contains("last flush ") && f.contains("Z ("))
            .then_some(())
    });
    drop(input);
    assert_eq!(tmux.wait_done(&done), 0, "statbuf failed:\n{}", tmux.screen());
    let summary = assert_summary_is_last_and_bar_is_gone(&tmux, STATUS_MARK);
    assert_eq!(summary.lines, sent);
}

/// With stderr redirected to a file there is no terminal to draw on: the file holds the
/// summary and no escape sequence, even though stdin and stdout are the terminal.
#[test]
fn stderr_redirected_to_a_file_gets_no_escape_sequences() {
    if !have(&[Tool::Tmux]) {
        return;
    }
    let wd = Workdir::new();
    let log = generated_log(200_000, 7);
    let mut tmux = Tmux::start(wd.root());
    let done = tmux.run(&format!(
        "\"$STATBUF\" -k 7 --sqlite counts.db '{}' 2> err.txt",
        log.display()
    ));
    assert_eq!(tmux.wait_done(&done), 0, "statbuf failed:\n{}", tmux.screen());
    let err = wd.read("err.txt");
    assert!(
        !err.contains(&ESC),
        "stderr holds escape sequences: {}",
        excerpt(&err, 2000).escape_debug()
    );
    let summary = Summary::find(&err).unwrap_or_else(|e| panic!("{e}: {}", excerpt(&err, 2000)));
    assert_eq!(summary.lines, 200_000);
}

/// `-q`, `--no-progress`, and counts printed to the same terminal: nothing is drawn. A display
/// draws its first frame as soon as it starts, so even a short run would show one.
#[test]
fn nothing_is_drawn_when_not_wanted() {
    if !have(&[Tool::Tmux]) {
        return;
    }
    let wd = Workdir::new();
    let log = fixture("access-3k.log");
    let mut tmux = Tmux::start(wd.root());
    for (flags, redirect) in [
        ("-q", "--sqlite q.db"),
        ("--no-progress", "--sqlite n.db"),
        ("--progress --no-progress", "--sqlite pn.db"),
        ("", "--top 3"),
    ] {
        let done = tmux.run(&format!(
            "\"$STATBUF\" {flags} -k 7 {redirect} '{}'",
            log.display()
        ));
        assert_eq!(
            tmux.wait_done(&done),
            0,
            "statbuf {flags} failed:\n{}",
            tmux.screen()
        );
        let log = String::from_utf8_lossy(&tmux.log()).into_owned();
        assert!(
            frames(&log, BAR_MARK).is_empty(),
            "statbuf {flags} {redirect} drew a progress bar:\n{}",
            log.escape_debug()
        );
    }
    // And the positive control: the same run without those flags draws one.
    let done = tmux.run(&format!("\"$STATBUF\" -k 7 --sqlite p.db '{}'", log.display()));
    assert_eq!(tmux.wait_done(&done), 0, "statbuf failed:\n{}", tmux.screen());
    tmux.wait_log("a progress bar", |log| {
        (!frames(log, BAR_MARK).is_empty()).then_some(())
    });
    assert_summary_is_last_and_bar_is_gone(&tmux, BAR_MARK);
}

/// `--help` is coloured on a terminal, and not with NO_COLOR set.
#[test]
fn help_colours_only_on_a_terminal_without_no_color() {
    if !have(&[Tool::Tmux]) {
        return;
    }
    let wd = Workdir::new();
    let mut tmux = Tmux::start(wd.root());
    // Whatever the environment of the test says about colours, the pane's says nothing.
    let done = tmux.run("unset NO_COLOR CLICOLOR CLICOLOR_FORCE; echo COLOURED; \"$STATBUF\" -h");
    assert_eq!(tmux.wait_done(&done), 0);
    let log = tmux.wait_log("the help", |log| {
        let (_, after) = log.split_once("COLOURED")?;
        after.contains("the whole manual").then(|| after.to_string())
    });
    assert!(
        log.contains("\u{1b}["),
        "--help on a terminal has no colours: {}",
        log.escape_debug()
    );
    let done = tmux.run("unset CLICOLOR_FORCE; echo PLAIN; NO_COLOR=1 \"$STATBUF\" -h");
    assert_eq!(tmux.wait_done(&done), 0);
    let log = tmux.wait_log("the help", |log| {
        let (_, after) = log.split_once("PLAIN\r\n")?;
        after.contains("the whole manual").then(|| after.to_string())
    });
    let help = log.split("Examples:").next().unwrap_or_default();
    assert!(help.contains("Usage:"), "{}", log.escape_debug());
    assert!(
        !help.contains('\u{1b}'),
        "--help with NO_COLOR has colours: {}",
        help.escape_debug()
    );
}

// ------------------------------------------------------------------------------------------
// Not on a terminal
// ------------------------------------------------------------------------------------------

#[test]
fn no_escape_sequences_when_stderr_is_not_a_terminal() {
    let log = generated_log(200_000, 7);
    let run = statbuf().args(["-k", "7"]).arg(&log).run();
    assert!(!run.stderr.contains(&ESC), "{run}");
    assert!(!run.stdout.contains(&ESC), "{run}");
    let run = statbuf().args(["-k", "7", "-i", "10ms"]).stdin(read(&log)).run();
    assert!(!run.stderr.contains(&ESC), "{run}");
    assert_eq!(run.stderr_lines_except_summary(), Vec::<String>::new(), "{run}");
}

/// The part of stderr after the display's last clear (`\r`, erase line).
fn after_last_clear(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.rsplit("\r\u{1b}[2K").next().unwrap_or_default().to_string()
}

#[test]
fn progress_flag_forces_it_on_a_pipe_and_keeps_stdout_clean() {
    let wd = Workdir::new();
    let log = wd.write("small.log", "a x\nb y\na z\n");
    let run = wd.statbuf().args(["--progress", "-k", "1"]).arg(&log).run();
    let err = run.stderr_str();
    assert!(
        !frames(&err, BAR_MARK).is_empty(),
        "no bar frame on stderr\n{run}"
    );
    assert!(!run.stdout.contains(&ESC), "progress leaked into stdout\n{run}");
    let mut expected = Counts::new();
    expected.insert(b"a".to_vec(), 2);
    expected.insert(b"b".to_vec(), 1);
    assert_counts_eq(&run.plain(), &expected, &run);
    // Cleared, then the summary alone.
    let tail = after_last_clear(&run.stderr);
    assert!(Summary::parse_line(tail.trim_end_matches('\n')).is_ok(), "{run}");

    let run = statbuf().args(["--progress", "-k", "1"]).stdin("a x\n").run();
    assert!(
        !frames(&run.stderr_str(), STATUS_MARK).is_empty(),
        "no status frame\n{run}"
    );
    let tail = after_last_clear(&run.stderr);
    assert!(Summary::parse_line(tail.trim_end_matches('\n')).is_ok(), "{run}");

    // The last flag wins, and -q keeps a forced display but drops the summary.
    let run = statbuf()
        .args(["--no-progress", "--progress", "-q"])
        .stdin("a\n")
        .run();
    assert!(!frames(&run.stderr_str(), STATUS_MARK).is_empty(), "{run}");
    assert!(Summary::find(&run.stderr).is_err(), "{run}");
    let run = statbuf().args(["--progress", "--no-progress"]).stdin("a\n").run();
    assert!(!run.stderr.contains(&ESC), "{run}");
}
