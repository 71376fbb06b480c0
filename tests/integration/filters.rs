//! `--match` and `--exclude`: the lines counted are the lines grep keeps, on the real Apache
//! log and on hostile bytes, and the summary and `--explain` say how many were dropped.

use std::path::Path;
use std::process::Command;

use crate::tools::{Tool, have};
use crate::util::*;

/// The lines of `log` that `grep -a -e M... | grep -a -v -e X...` keeps (extended regexes), in a
/// file of their own.
fn grep_kept(wd: &Workdir, log: &Path, matches: &[&str], excludes: &[&str]) -> std::path::PathBuf {
    let mut script = format!("cat {}", log.display());
    if !matches.is_empty() {
        script.push_str(" | grep -a -E");
        for m in matches {
            script.push_str(&format!(" -e '{m}'"));
        }
    }
    if !excludes.is_empty() {
        script.push_str(" | grep -a -v -E");
        for x in excludes {
            script.push_str(&format!(" -e '{x}'"));
        }
    }
    let out = wd.path("kept.log");
    script.push_str(&format!(" > {} || true", out.display()));
    let status = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("LC_ALL", "C")
        .status()
        .unwrap_or_else(|e| panic!("cannot run sh: {e}"));
    assert!(status.success(), "{script}");
    out
}

/// statbuf with the filters equals mawk over what grep kept, and the summary's `filtered out`
/// is the lines grep dropped.
fn check_against_grep(matches: &[&str], excludes: &[&str]) {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = fixture("apache-access-10k.log");
    let kept = grep_kept(&wd, &log, matches, excludes);
    let expected = mawk("{ c[$7]++ }", &[&kept]);
    let mut args = vec!["-k".to_string(), "7".to_string()];
    for m in matches {
        args.extend(["--match".to_string(), m.to_string()]);
    }
    for x in excludes {
        args.extend(["--exclude".to_string(), x.to_string()]);
    }
    let run = wd.statbuf().args(&args).arg(&log).run();
    assert_counts_eq(&run.plain(), &expected, &run);
    let summary = run.summary();
    assert_eq!(summary.lines, line_count(&log), "{run}");
    assert_eq!(
        summary.filtered,
        line_count(&log) - line_count(&kept),
        "lines dropped in the summary\n{run}"
    );
}

#[test]
fn a_literal_match_keeps_what_grep_keeps() {
    check_against_grep(&["POST"], &[]);
}

#[test]
fn several_matches_keep_a_line_matching_any() {
    check_against_grep(&["POST", r"HTTP/1\.0"], &[]);
}

#[test]
fn excludes_drop_a_line_matching_any() {
    check_against_grep(&[], &[r"\.(png|gif|jpg|css|js) ", "Googlebot"]);
}

#[test]
fn matches_and_excludes_together() {
    check_against_grep(&["GET", "HEAD"], &["/favicon", r"^66\.249\."]);
}

/// Literal and regex patterns over lines with NUL bytes, invalid UTF-8, CRLF and no final
/// newline: the same lines as a byte-wise grep, counted in the test itself.
#[test]
fn hostile_bytes_are_filtered_like_grep() {
    let wd = Workdir::new();
    let data: &[u8] = b"a\x00POST x\nb \xff\xfe POST\r\nc GET\nd P\x00OST\n\ne POST";
    let log = wd.write("hostile.log", data);
    let run = wd
        .statbuf()
        .args(["-k", "1", "--match", "POST", "--exclude", "^b"])
        .arg(&log)
        .run();
    let expected = count_by(data, |line| {
        let has_post = line.windows(4).any(|w| w == b"POST");
        (has_post && !line.starts_with(b"b")).then(|| awk_fields(line)[0].to_vec())
    });
    assert_counts_eq(&run.plain(), &expected, &run);
    let summary = run.summary();
    assert_eq!((summary.lines, summary.filtered), (6, 4), "{run}");
}

#[test]
fn without_filters_the_summary_is_unchanged() {
    let wd = Workdir::new();
    let run = wd.statbuf().stdin("a\nb\n").run();
    assert!(!run.stderr_str().contains("filtered"), "{run}");
}

#[test]
fn a_bad_pattern_names_its_flag() {
    let wd = Workdir::new();
    let run = wd.statbuf().args(["--exclude", "a(b"]).stdin("").run_with_code(2);
    let stderr = run.stderr_str();
    assert!(
        stderr.starts_with("statbuf: --exclude: 'a(b' is not a valid regex"),
        "{run}"
    );
    assert_eq!(stderr.lines().count(), 1, "{run}");
}

#[test]
fn explain_says_which_filter_dropped_a_line() {
    let wd = Workdir::new();
    let run = wd
        .statbuf()
        .args(["-k", "2", "--explain", "--match", "GET", "--exclude", "health"])
        .stdin("x GET /a\ny POST /b\nz GET /health\n")
        .run();
    let out = run.stdout_str();
    assert!(out.contains("-> key \"GET\""), "{run}");
    assert!(
        out.contains("-> filtered out: no --match pattern matches"),
        "{run}"
    );
    assert!(
        out.contains("-> filtered out: an --exclude pattern matches"),
        "{run}"
    );
    assert!(
        out.contains("1 with a key, 0 unmatched, 0 bad values, 0 oversize, 2 filtered out"),
        "{run}"
    );
}
