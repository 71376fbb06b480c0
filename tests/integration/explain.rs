//! `--explain`: the key (and value) each of the first lines gives, or why it is skipped, with
//! nothing written to any sink and only the lines shown read.

use crate::util::*;

/// The verdict lines (`-> ...`) of an explanation, in order.
fn verdicts(run: &Run) -> Vec<String> {
    run.stdout_str()
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("-> "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn explains_keys_values_and_skipped_lines() {
    let wd = Workdir::new();
    let log = wd.write(
        "app.log",
        "GET /a 200 512\nshort line\nGET /b 404 12k\nGET /c 304 -\nGET /d 500 \n",
    );
    let db = wd.path("counts.db");
    let csv = wd.path("counts.csv");
    let run = wd
        .statbuf()
        .args(["--explain", "-k", "2", "--value-field", "4", "--sqlite"])
        .arg(&db)
        .arg("--csv")
        .arg(&csv)
        .arg(&log)
        .run();
    assert_eq!(
        verdicts(&run),
        [
            "key \"/a\", value 512",
            "unmatched: the line has 2 fields; --value-field 4 needs at least 4",
            "bad value: field 4 \"12k\" is not an integer (expected digits with an optional sign, or -)",
            "key \"/c\", value 0",
            "unmatched: the line has 3 fields; --value-field 4 needs at least 4",
        ],
        "{run}"
    );
    let out = run.stdout_str();
    assert!(
        out.contains("GET /b 404 12k"),
        "the lines themselves are shown\n{run}"
    );
    assert!(
        out.lines().last() == Some("# 5 lines: 2 with a key, 2 unmatched, 1 bad value, 0 oversize"),
        "{run}"
    );
    assert!(!db.exists(), "--explain created the SQLite database\n{run}");
    assert!(!csv.exists(), "--explain created the CSV file\n{run}");
    assert!(
        run.stderr.is_empty(),
        "--explain printed a summary or an error\n{run}"
    );
}

#[test]
fn shows_ten_lines_by_default_and_n_with_equals() {
    let input: String = (1..=30).map(|i| format!("line{i}\n")).collect();
    let run = statbuf().arg("--explain").stdin(input.clone()).run();
    assert_eq!(verdicts(&run).len(), 10, "{run}");
    assert_eq!(verdicts(&run)[9], "key \"line10\"", "{run}");
    let run = statbuf().arg("--explain=3").stdin(input).run();
    assert_eq!(
        verdicts(&run),
        ["key \"line1\"", "key \"line2\"", "key \"line3\""],
        "{run}"
    );
}

#[test]
fn composite_keys_show_each_part_with_its_column_name() {
    let log = fixture("access-3k.log");
    let run = statbuf()
        .args(["--explain=2", "-k", "9", "-k", "7"])
        .arg(&log)
        .run();
    for verdict in verdicts(&run) {
        assert!(
            verdict.starts_with("key1 \"") && verdict.contains(", key2 \"/"),
            "{run}"
        );
    }
    let run = statbuf()
        .args(["--explain=2", "-r", r#""(?P<method>[A-Z]+) (?P<path>[^ ?"]+)"#])
        .arg(&log)
        .run();
    for verdict in verdicts(&run) {
        assert!(
            verdict.starts_with("method \"GET") || verdict.starts_with("method \"POST"),
            "{run}"
        );
        assert!(verdict.contains(", path \"/"), "{run}");
    }
}

#[test]
fn regex_mismatch_and_value_group() {
    let run = statbuf()
        .args(["--explain", "-r", r"took (?P<value>\S+) on (?P<host>\w+)"])
        .stdin("took 12 on web1\nnothing here\ntook 1.5 on web2\n")
        .run();
    assert_eq!(
        verdicts(&run),
        [
            "host \"web1\", value 12",
            "unmatched: the regex (--key-regex) does not match",
            "bad value: group value \"1.5\" is not an integer (expected digits with an optional sign, or -)",
        ],
        "{run}"
    );
}

#[test]
fn oversize_and_unusual_bytes() {
    let mut input = b"tab\there\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 5000));
    input.extend_from_slice(b"\nbad \xff byte");
    let run = statbuf()
        .args(["--explain", "--max-line-bytes", "100"])
        .stdin(input)
        .run();
    assert_eq!(
        verdicts(&run),
        [
            "key \"tab\\there\"",
            "oversize: 5000 bytes, over --max-line-bytes 100",
            "key \"bad \\xff byte\"",
        ],
        "{run}"
    );
}

/// Only the lines shown are read: an endless producer is not read to its end.
#[test]
fn reads_only_what_it_shows() {
    let wd = Workdir::new();
    let run = shell(
        wd.root(),
        r#"yes 'a b c' | "$1" --explain=3 -k 2; echo "status $?""#,
    );
    assert!(run.stdout_str().ends_with("status 0\n"), "{run}");
    assert_eq!(run.stdout_str().matches("-> key \"b\"").count(), 3, "{run}");
    run.assert_no_panic();
}

#[test]
fn reads_the_first_file_only() {
    let wd = Workdir::new();
    let a = wd.write("a.log", "from-a\n");
    let b = wd.write("b.log", "from-b\n");
    let run = wd.statbuf().arg("--explain").arg(&a).arg(&b).run();
    assert_eq!(verdicts(&run), ["key \"from-a\""], "{run}");
}

#[test]
fn a_closed_stdout_ends_it_quietly() {
    let wd = Workdir::new();
    let run = shell(
        wd.root(),
        r#"(yes 'a b' | "$1" --explain=100000; echo "status $?" >&2) | head -1"#,
    );
    assert!(run.stderr_str().ends_with("status 0\n"), "{run}");
    run.assert_no_panic();
}

#[test]
fn missing_file_is_named() {
    let wd = Workdir::new();
    let missing = wd.path("absent.log");
    let run = wd.statbuf().arg("--explain").arg(&missing).run_with_code(1);
    let err = run.stderr_str();
    assert_eq!(err.lines().count(), 1, "{run}");
    assert!(
        err.starts_with(&format!("statbuf: {}: ", missing.display())),
        "the error does not name the file as `statbuf: <path>: <why>`\n{run}"
    );
}

#[test]
fn bad_counts_are_usage_errors_naming_the_flag() {
    for bad in ["--explain=0", "--explain=ten", "--explain=-1"] {
        let run = statbuf().arg(bad).stdin("a\n").run_with_code(2);
        let err = run.stderr_str();
        assert!(
            err.starts_with("statbuf: ") && err.contains("--explain") && err.lines().count() == 1,
            "{run}"
        );
        assert!(run.stdout.is_empty(), "{run}");
    }
}
