//! A cron job over a whole rotation set: `statbuf --state s -k 7 access.log*` names the log and
//! every rotated copy of it on each run, while logrotate renames, compresses, copies and
//! truncates them in between, once or twice between two runs. After every run the totals are
//! mawk's over every line ever written, each once, into a state file and into SQLite.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use loggen::LogSpec;

use crate::follow::{append, numbered, rotate_by_copytruncate, rotate_by_rename};
use crate::tools::{Tool, have};
use crate::util::*;

/// The logrotate configurations a rotation set comes from (all with `compress`).
#[derive(Clone, Copy, Debug)]
enum Style {
    /// `access.log.1.gz`, `access.log.2.gz`, …: compressed at once.
    Numbered,
    /// `delaycompress`: `access.log.1` stays plain until the next rotation.
    DelayCompress,
    /// `dateext`: `access.log-20261201.gz`, one name per rotation.
    DateExt,
    /// `copytruncate`: the log is copied to `access.log.1`, which is compressed, and truncated.
    CopyTruncate,
}

/// gzip itself, as logrotate runs it: the `.gz` keeps the file's mtime, the file goes.
fn gzip_file(path: &Path) {
    let status = Command::new("gzip").arg(path).status().expect("running gzip");
    assert!(status.success(), "gzip {} failed: {status}", path.display());
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Shifts `access.log.N.gz` to `N+1` (highest first), from `N = from` up.
fn shift_compressed(log: &Path, from: u32) {
    for n in (from..=20).rev() {
        let old = with_suffix(&numbered(log, n), ".gz");
        if old.exists() {
            fs::rename(&old, with_suffix(&numbered(log, n + 1), ".gz")).unwrap();
        }
    }
}

/// One rotation of `log` in `style`; `serial` makes dateext names unique.
fn rotate(log: &Path, style: Style, serial: u32) {
    match style {
        Style::Numbered => {
            shift_compressed(log, 1);
            rotate_by_rename(log, 0);
            gzip_file(&numbered(log, 1));
        }
        Style::DelayCompress => {
            shift_compressed(log, 2);
            if numbered(log, 1).exists() {
                fs::rename(numbered(log, 1), numbered(log, 2)).unwrap();
                gzip_file(&numbered(log, 2));
            }
            rotate_by_rename(log, 0);
        }
        Style::DateExt => {
            let dated = with_suffix(log, &format!("-202612{serial:02}"));
            fs::rename(log, &dated).unwrap();
            fs::File::create(log).unwrap();
            gzip_file(&dated);
        }
        Style::CopyTruncate => {
            shift_compressed(log, 1);
            rotate_by_copytruncate(log, 0);
            gzip_file(&numbered(log, 1));
        }
    }
}

/// What the shell makes of `access.log*`: every name in the directory starting so, sorted.
fn glob(dir: &Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// Runs of a cron job over `access.log*` in `style`, into SQLite or (with `sqlite` false) a
/// state file whose runs' outputs are added up. Rounds alternate: no rotation, one, two.
fn cron_rounds(style: Style, sqlite: bool) {
    let wd = Workdir::new();
    let log = wd.path("access.log");
    let everything = wd.path("everything.log");
    append(&log, b"");
    append(&everything, b"");
    let mut flags = vec!["-q", "-k", "7", "--state", "s.json"];
    if sqlite {
        flags.extend(["--sqlite", "t.db"]);
    }
    let mut printed = Counts::new();
    let mut serial = 0;
    let write = |lines: u64, seed: u64| {
        let spec = LogSpec {
            lines,
            seed,
            keys: 300,
            ..LogSpec::default()
        };
        let text = read(&wd.access_log("chunk.log", &spec));
        append(&log, &text);
        append(&everything, &text);
    };
    for round in 0..7u64 {
        write(400 + 50 * round, 900 + 10 * round);
        for rotation in 0..round % 3 {
            serial += 1;
            rotate(&log, style, serial);
            write(150, 901 + 10 * round + rotation);
        }
        let run = wd
            .statbuf()
            .args(&flags)
            .args(glob(wd.root(), "access.log"))
            .run();
        let context = format!(
            "{style:?}, round {round}, files {:?}\n{run}",
            glob(wd.root(), "access.log")
        );
        assert!(!run.stderr_str().contains("not counted"), "{context}");
        let got = if sqlite {
            SqlTable::load(&wd.path("t.db"), "counts").totals(&["key"])
        } else {
            add_counts(&mut printed, &run.plain());
            printed.clone()
        };
        assert_counts_eq(&got, &mawk("{ c[$7]++ }", &[everything.as_path()]), &context);
    }
}

#[test]
fn numbered_and_compressed_at_once() {
    if have(&[Tool::Mawk]) {
        cron_rounds(Style::Numbered, false);
        cron_rounds(Style::Numbered, true);
    }
}

#[test]
fn delaycompress() {
    if have(&[Tool::Mawk]) {
        cron_rounds(Style::DelayCompress, false);
        cron_rounds(Style::DelayCompress, true);
    }
}

#[test]
fn dateext() {
    if have(&[Tool::Mawk]) {
        cron_rounds(Style::DateExt, false);
        cron_rounds(Style::DateExt, true);
    }
}

#[test]
fn copytruncate() {
    if have(&[Tool::Mawk]) {
        cron_rounds(Style::CopyTruncate, false);
        cron_rounds(Style::CopyTruncate, true);
    }
}
