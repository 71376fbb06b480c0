//! Errors: bad flag values are usage errors (exit 2, one line naming the flag); unreadable
//! inputs and unwritable sinks are runtime errors (exit 1, a line naming the path). Nothing
//! may look like a panic.

use std::path::Path;

use crate::util::*;

/// Whether `message` mentions `flag` as a token of its own (so `-i` is not found in
/// `non-integer`).
fn names_flag(message: &str, flag: &str) -> bool {
    let re = regex::Regex::new(&format!(
        r"(^|[^A-Za-z0-9_-]){}($|[^A-Za-z0-9_-])",
        regex::escape(flag)
    ))
    .unwrap();
    re.is_match(message)
}

/// Runs statbuf with `args` and checks the usage-error contract; returns the message line.
fn usage_error(args: &[&str], flags: &[&str]) -> String {
    let wd = Workdir::new();
    let run = wd.statbuf().args(args).stdin("a b c\n").run_with_code(2);
    assert!(run.stdout.is_empty(), "a usage error printed to stdout\n{run}");
    let stderr = run.stderr_str();
    assert!(
        stderr.ends_with('\n') && stderr.matches('\n').count() == 1,
        "a usage error must print exactly one line on stderr\n{run}"
    );
    let line = stderr.trim_end_matches('\n').to_owned();
    let rest = line
        .strip_prefix("statbuf: ")
        .unwrap_or_else(|| panic!("the error line does not start with `statbuf: `\n{run}"));
    assert!(
        rest.contains(": "),
        "the error line is not `statbuf: <what>: <why>`\n{run}"
    );
    assert!(
        flags.iter().any(|f| names_flag(&line, f)),
        "the error line names none of {flags:?}\n{run}"
    );
    line
}

#[test]
fn key_field_zero() {
    usage_error(&["-k", "0"], &["--key-field", "-k"]);
    usage_error(&["-k", "1", "--key-field", "0"], &["--key-field", "-k"]);
}

#[test]
fn key_field_not_a_number() {
    usage_error(&["-k", "seven"], &["--key-field", "-k"]);
}

#[test]
fn format_xml() {
    usage_error(&["--format", "xml"], &["--format"]);
}

#[test]
fn interval_zero() {
    for zero in ["0", "0s", "0ms"] {
        usage_error(&["-k", "1", "-i", zero], &["--interval", "-i"]);
    }
    usage_error(&["-k", "1", "--interval", "0s"], &["--interval", "-i"]);
}

#[test]
fn interval_unparsable() {
    for bad in ["banana", "10 parsecs", "1x", ""] {
        usage_error(&["-k", "1", "-i", bad], &["--interval", "-i"]);
    }
}

/// The regex crate's own explanation of why `re` is invalid: the `error: ...` line of its
/// message, or the whole message when it has no such line.
fn regex_error_text(re: &str) -> String {
    let err = regex::Regex::new(re).expect_err("the test regex must be invalid");
    let text = err.to_string();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or(text)
}

#[test]
fn invalid_regex() {
    for re in ["(", "[a-", "a{2,1}", r"\p{NoSuchClass}", "(?P<x>a)(?P<x>b)"] {
        let line = usage_error(&["-r", re], &["--key-regex", "-r"]);
        let why = regex_error_text(re);
        assert!(
            line.contains(&why),
            "the error for regex {re:?} does not contain the regex crate's text {why:?}: {line:?}"
        );
    }
}

#[test]
fn bad_table_name() {
    let wd = Workdir::new();
    let db = wd.path("t.db");
    let db = db.to_str().unwrap();
    for name in ["bad name", "a;b", "x\"y", "", "drop table counts; --"] {
        usage_error(&["-k", "1", "--sqlite", db, "--table", name], &["--table"]);
    }
}

#[test]
fn delimiter_of_two_bytes() {
    usage_error(&["-d", "ab", "-k", "1"], &["--delimiter", "-d"]);
    usage_error(&["--delimiter", "::", "-k", "1"], &["--delimiter", "-d"]);
    usage_error(&["-d", "", "-k", "1"], &["--delimiter", "-d"]);
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let run = statbuf().arg("--no-such-flag").stdin("a\n").run_with_code(2);
    assert!(run.stdout.is_empty(), "stdout\n{run}");
    assert!(!run.stderr.is_empty(), "no message\n{run}");
}

/// The error lines of a runtime error: stderr lines starting `statbuf: ` other than the
/// summary.
fn error_lines(run: &Run) -> Vec<String> {
    run.stderr_lines_except_summary()
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect()
}

fn assert_names_path(run: &Run, path: &Path) {
    let lines = error_lines(run);
    let path = path.to_str().unwrap();
    let naming: Vec<&String> = lines.iter().filter(|l| l.contains(path)).collect();
    assert_eq!(naming.len(), 1, "expected one error line naming {path}\n{run}");
    let line = naming[0];
    let rest = line
        .strip_prefix("statbuf: ")
        .unwrap_or_else(|| panic!("the error line does not start with `statbuf: `\n{run}"));
    assert!(
        rest.contains(": "),
        "the error line is not `statbuf: <what>: <why>`\n{run}"
    );
}

#[test]
fn missing_input_file_others_still_counted() {
    let wd = Workdir::new();
    let a = wd.write("a.log", "x 1\ny 2\nx 3\n");
    let missing = wd.path("no-such-file.log");
    let b = wd.write("b.log", "y 4\nz 5\n");
    let run = wd
        .statbuf()
        .args(["-k", "1"])
        .arg(&a)
        .arg(&missing)
        .arg(&b)
        .run_with_code(1);
    assert_names_path(&run, &missing);
    let expected = count_by(b"x 1\ny 2\nx 3\ny 4\nz 5\n", |l| {
        awk_fields(l).first().map(|f| f.to_vec())
    });
    assert_counts_eq(&run.plain(), &expected, &run);
}

#[test]
fn only_input_missing() {
    let wd = Workdir::new();
    let missing = wd.path("absent.log");
    let run = wd.statbuf().arg(&missing).run_with_code(1);
    assert_names_path(&run, &missing);
    assert!(run.stdout.is_empty(), "stdout\n{run}");
}

#[test]
fn directory_as_input() {
    let wd = Workdir::new();
    let dir = wd.path("a-directory");
    std::fs::create_dir(&dir).unwrap();
    let good = wd.write("good.log", "k\nk\n");
    let run = wd.statbuf().arg(&dir).arg(&good).run_with_code(1);
    assert_names_path(&run, &dir);
    let mut expected = Counts::new();
    expected.insert(b"k".to_vec(), 2);
    assert_counts_eq(&run.plain(), &expected, &run);
}

#[test]
fn unwritable_csv_path() {
    let wd = Workdir::new();
    let csv = wd.path("no-such-dir/out.csv");
    let run = wd
        .statbuf()
        .args(["-k", "1", "--csv"])
        .arg(&csv)
        .stdin("a\nb\n")
        .run_with_code(1);
    assert_names_path(&run, &csv);
    assert!(!csv.exists());
}

#[test]
fn unwritable_sqlite_path() {
    let wd = Workdir::new();
    let db = wd.path("no-such-dir/out.db");
    let run = wd
        .statbuf()
        .args(["-k", "1", "--sqlite"])
        .arg(&db)
        .stdin("a\nb\n")
        .run_with_code(1);
    assert_names_path(&run, &db);
    assert!(!db.exists());
}
