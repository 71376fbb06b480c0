//! Counting: keys from awk fields, delimited fields, regexes and whole lines, value sums,
//! parallelism, and the summary line, each checked against mawk or against counts computed
//! here from the data the test wrote.

use std::path::Path;

use crate::tools::{Tool, have};
use crate::util::*;

/// The regex of the `.regex.txt` fixture and of the mawk comparison below.
const PATH_REGEX: &str = r#""[A-Z]+ ([^ ?"]+)"#;

/// mawk's version of [`PATH_REGEX`]: the first match, with the method and blank cut off.
const MAWK_PATH_REGEX: &str = r#"{ if (match($0, /"[A-Z]+ [^ ?"]+/)) { s = substr($0, RSTART, RLENGTH); sub(/^"[A-Z]+ /, "", s); c[s]++ } }"#;

// ------------------------------------------------------------------------------------------
// Committed fixtures, byte for byte
// ------------------------------------------------------------------------------------------

fn check_fixture(args: &[&str], log: &str, expected: &str) {
    let wd = Workdir::new();
    let log = fixture(log);
    let expected = read(&fixture(expected));
    let run = wd.statbuf().args(args).arg(&log).run();
    assert_output_eq(&run.stdout, &expected, &run);
    let summary = run.summary();
    assert_eq!(summary.lines, line_count(&log), "lines in the summary\n{run}");
    assert_eq!(summary.flushes, 1, "one flush at end of input\n{run}");
}

#[test]
fn fixture_access_3k_field7() {
    check_fixture(&["-k", "7"], "access-3k.log", "expected/access-3k.field7.txt");
}

#[test]
fn fixture_access_3k_field9() {
    check_fixture(&["-k", "9"], "access-3k.log", "expected/access-3k.field9.txt");
}

#[test]
fn fixture_access_3k_regex() {
    check_fixture(
        &["-r", PATH_REGEX],
        "access-3k.log",
        "expected/access-3k.regex.txt",
    );
}

#[test]
fn fixture_access_3k_status_path() {
    check_fixture(
        &["-k", "9", "-k", "7"],
        "access-3k.log",
        "expected/access-3k.status-path.txt",
    );
}

#[test]
fn fixture_access_3k_bytes_per_path() {
    check_fixture(
        &["-k", "7", "--value-field", "10"],
        "access-3k.log",
        "expected/access-3k.bytes-per-path.txt",
    );
}

#[test]
fn fixture_apache_10k_field7() {
    check_fixture(
        &["-k", "7"],
        "apache-access-10k.log",
        "expected/apache-10k.field7.txt",
    );
}

// ------------------------------------------------------------------------------------------
// A generated log against mawk
// ------------------------------------------------------------------------------------------

/// Runs statbuf with `args` on `log` and compares its whole stdout with the plain output
/// rendered from mawk's counts; returns the run.
fn against_mawk(log: &Path, args: &[&str], program: &str) -> Run {
    let expected = mawk(program, &[log]);
    assert!(!expected.is_empty(), "mawk counted nothing: {program}");
    let run = statbuf().args(args).arg(log).run();
    assert_counts_eq(&run.plain(), &expected, &run);
    assert_output_eq(&run.stdout, &render_plain(&expected), &run);
    let summary = run.summary();
    assert_eq!(summary.lines, line_count(log), "lines in the summary\n{run}");
    assert_eq!(
        summary.lines,
        summary.matched + summary.unmatched + summary.bad_values + summary.oversize,
        "lines = matched + unmatched + bad values + oversize\n{run}"
    );
    assert_eq!(summary.keys, expected.len() as u64, "keys in the summary\n{run}");
    run
}

#[test]
fn generated_field7_matches_mawk() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(200_000, 7);
    let run = against_mawk(&log, &["-k", "7"], "NF >= 7 { c[$7]++ }");
    let s = run.summary();
    assert_eq!(s.matched as i64, total(&run.plain()), "matched\n{run}");
}

#[test]
fn generated_field9_matches_mawk() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(200_000, 7);
    let run = against_mawk(&log, &["-k", "9"], "NF >= 9 { c[$9]++ }");
    let s = run.summary();
    assert_eq!(s.matched as i64, total(&run.plain()), "matched\n{run}");
}

#[test]
fn generated_regex_matches_mawk() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(200_000, 7);
    let run = against_mawk(&log, &["-r", PATH_REGEX], MAWK_PATH_REGEX);
    let s = run.summary();
    assert_eq!(s.matched as i64, total(&run.plain()), "matched\n{run}");
}

#[test]
fn generated_value_field_matches_mawk() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(200_000, 7);
    let run = against_mawk(
        &log,
        &["-k", "7", "--value-field", "10"],
        "NF >= 10 { c[$7] += $10 }",
    );
    assert_eq!(run.summary().bad_values, 0, "bad values\n{run}");
}

#[test]
fn generated_composite_key_matches_mawk() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(200_000, 7);
    let run = against_mawk(&log, &["-k", "9", "-k", "7"], r#"NF >= 9 { c[$9 " " $7]++ }"#);
    let s = run.summary();
    assert_eq!(s.matched as i64, total(&run.plain()), "matched\n{run}");
}

#[test]
fn negative_fields_match_mawk() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(20_000, 11);
    against_mawk(&log, &["-k", "-1"], "NF >= 1 { c[$NF]++ }");
    against_mawk(&log, &["-k", "-3"], "NF >= 3 { c[$(NF-2)]++ }");
}

#[test]
fn awk_field_splitting_matches_mawk() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let data = "a b c d\n\
                \x20 a   b\t\tc d\n\
                \t\tx y z\n\
                one two\n\
                \n\
                \x20  \t \n\
                p\tq\tr\ts\t\n\
                a b c\n\
                lead  trail c   \n\
                1 2 3 4 5 6 7 8 9 10 11 12\n";
    let log = wd.write("fields.log", data);
    for (n, program) in [
        ("1", "NF >= 1 { c[$1]++ }"),
        ("3", "NF >= 3 { c[$3]++ }"),
        ("4", "NF >= 4 { c[$4]++ }"),
        ("12", "NF >= 12 { c[$12]++ }"),
        ("-1", "NF >= 1 { c[$NF]++ }"),
        ("-2", "NF >= 2 { c[$(NF-1)]++ }"),
    ] {
        let run = against_mawk(&log, &["-k", n], program);
        let s = run.summary();
        let expected_matched = count_by(data.as_bytes(), |l| {
            nth_field(&awk_fields(l), n.parse().unwrap()).map(<[u8]>::to_vec)
        });
        assert_eq!(
            s.matched as i64,
            total(&expected_matched),
            "matched for -k {n}\n{run}"
        );
        assert_eq!(s.unmatched, 10 - s.matched, "unmatched for -k {n}\n{run}");
    }
}

#[test]
fn only_spaces_and_tabs_separate_fields() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    // A carriage return inside a line, a vertical tab or a form feed is part of a field, as
    // in awk.
    let wd = Workdir::new();
    let data: &[u8] = b"a\rb c\nx\x0by\x0cz w\n1 mid\rdle\nk\x0c v\n";
    let log = wd.write("blanks.log", data);
    for (n, program) in [
        ("1", "NF >= 1 { c[$1]++ }"),
        ("2", "NF >= 2 { c[$2]++ }"),
        ("-1", "NF >= 1 { c[$NF]++ }"),
    ] {
        let expected = count_by(data, |l| {
            nth_field(&awk_fields(l), n.parse().unwrap()).map(<[u8]>::to_vec)
        });
        assert_eq!(expected, mawk(program, &[&log]), "mawk and this test disagree");
        against_mawk(&log, &["-k", n], program);
    }
}

#[test]
fn too_few_fields_is_unmatched() {
    let data = "a b c\na b\na\n\nx y z w\n";
    let run = statbuf().args(["-k", "3"]).stdin(data).run();
    let expected = count_by(data.as_bytes(), |l| {
        nth_field(&awk_fields(l), 3).map(<[u8]>::to_vec)
    });
    assert_counts_eq(&run.plain(), &expected, &run);
    let s = run.summary();
    assert_eq!((s.lines, s.matched, s.unmatched), (5, 2, 3), "summary\n{run}");
}

// ------------------------------------------------------------------------------------------
// Parallelism and read sizes
// ------------------------------------------------------------------------------------------

/// Counts must not depend on --workers nor on --block-size.
fn sweep(block_size: usize) {
    let log = generated_log(20_000, 3);
    let expected = mawk("NF >= 7 { c[$7]++ }", &[&log]);
    let lines = line_count(&log);
    let rendered = render_plain(&expected);
    for workers in 1..=4 {
        let run = statbuf()
            .args(["-k", "7", "--workers"])
            .arg(workers.to_string())
            .arg("--block-size")
            .arg(block_size.to_string())
            .arg(&log)
            .run();
        assert_output_eq(&run.stdout, &rendered, &run);
        assert_eq!(run.summary().lines, lines, "lines in the summary\n{run}");
    }
    // The same through a pipe, where reads come back short.
    let run = statbuf()
        .args(["-k", "7", "--workers", "3", "--block-size"])
        .arg(block_size.to_string())
        .stdin(read(&log))
        .run();
    assert_output_eq(&run.stdout, &rendered, &run);
    assert_eq!(run.summary().lines, lines, "lines in the summary\n{run}");
}

#[test]
fn sweep_block_size_1() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    sweep(1);
}

#[test]
fn sweep_block_size_7() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    sweep(7);
}

#[test]
fn sweep_block_size_4096() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    sweep(4096);
}

#[test]
fn sweep_block_size_1mib() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    sweep(1 << 20);
}

#[test]
fn sweep_value_field_and_regex() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(20_000, 3);
    let sums = render_plain(&mawk("NF >= 10 { c[$7] += $10 }", &[&log]));
    let paths = render_plain(&mawk(MAWK_PATH_REGEX, &[&log]));
    for (workers, block_size) in [(1, 4096), (2, 7), (3, 1 << 20), (4, 333)] {
        let w = workers.to_string();
        let b = block_size.to_string();
        let run = statbuf()
            .args([
                "-k",
                "7",
                "--value-field",
                "10",
                "--workers",
                &w,
                "--block-size",
                &b,
            ])
            .arg(&log)
            .run();
        assert_output_eq(&run.stdout, &sums, &run);
        let run = statbuf()
            .args(["-r", PATH_REGEX, "--workers", &w, "--block-size", &b])
            .arg(&log)
            .run();
        assert_output_eq(&run.stdout, &paths, &run);
    }
}

/// Many distinct keys: the workers pass keys of each other's shards along in the middle of a
/// window (every 16,384 keys) and at each flush. No key may be lost, counted twice or printed in
/// two rows, and the shards must come out as one order.
#[test]
fn sweep_many_keys() {
    const KEYS: u64 = 60_000;
    let mut data = Vec::new();
    // Every key twice, far apart: j and j + KEYS give the same key.
    for j in 0..2 * KEYS {
        data.extend_from_slice(format!("k{} x\n", (j * 48_271) % KEYS).as_bytes());
    }
    let expected: Counts = (0..KEYS).map(|k| (format!("k{k}").into_bytes(), 2)).collect();
    let rendered = render_plain(&expected);
    for (workers, block_size) in [(2, 1 << 20), (3, 4096), (4, 333)] {
        let run = statbuf()
            .args(["-k", "1", "--workers", &workers.to_string()])
            .args(["--block-size", &block_size.to_string()])
            .stdin(data.clone())
            .run();
        assert_output_eq(&run.stdout, &rendered, &run);
    }
    // Early flushes (--max-keys) cut the run into windows; their sum is the whole. A worker
    // that reaches the limit asks for a flush, which the dispatcher makes when it next looks:
    // the data is the lines above eight times over, so that many blocks are still to be
    // dispatched then (the queues hold about ten), whatever the machine's load.
    let repeated = data.repeat(8);
    let expected = scale(&expected, 8);
    for (workers, max_keys) in [(2, 20_000), (4, 5_000)] {
        let run = statbuf()
            .args(["-k", "1", "--workers", &workers.to_string()])
            .args(["--block-size", "65536", "--max-keys", &max_keys.to_string()])
            .stdin(repeated.clone())
            .run();
        // Without --interval the windows' blocks follow each other unmarked: add every line.
        let mut sum = Counts::new();
        let lines = output_lines(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
        for line in &lines {
            let (count, key) = parse_plain_line(line).unwrap_or_else(|e| panic!("{e}\n{run}"));
            *sum.entry(key).or_insert(0) += count;
        }
        assert!(
            lines.len() > expected.len(),
            "--max-keys {max_keys} flushed only once\n{run}"
        );
        assert_counts_eq(&sum, &expected, &run);
    }
}

// ------------------------------------------------------------------------------------------
// Delimiters
// ------------------------------------------------------------------------------------------

const CSVISH: &str = "a,,c\n,b,\n,,\nx\nq,r,s,t\n a , b ,c\n\t,\t,\n";

fn delimited(data: &str, delim: u8, n: i64) -> Counts {
    count_by(data.as_bytes(), |l| {
        nth_field(&delim_fields(l, delim), n).map(<[u8]>::to_vec)
    })
}

#[test]
fn delimiter_keeps_empty_fields() {
    for n in [1i64, 2, 3, 4, -1, -2] {
        let run = statbuf()
            .args(["-d", ",", "-k", &n.to_string()])
            .stdin(CSVISH)
            .run();
        let expected = delimited(CSVISH, b',', n);
        assert_counts_eq(&run.plain(), &expected, &run);
        assert_output_eq(&run.stdout, &render_plain(&expected), &run);
        let s = run.summary();
        assert_eq!(s.lines, 7, "lines\n{run}");
        assert_eq!(s.matched as i64, total(&expected), "matched for -k {n}\n{run}");
        assert_eq!(s.unmatched, 7 - s.matched, "unmatched for -k {n}\n{run}");
    }
}

#[test]
fn delimiter_tab_escape_and_literal_tab() {
    let data = "a b\tc d\t\te\n\tx\ty\nfoo bar\tbaz\nsingle field\n";
    for delim in [r"\t", "\t"] {
        for n in [1i64, 2, 3, -1] {
            let run = statbuf()
                .args(["-d", delim, "-k", &n.to_string()])
                .stdin(data)
                .run();
            let expected = delimited(data, b'\t', n);
            assert_counts_eq(&run.plain(), &expected, &run);
        }
    }
}

#[test]
fn delimiter_composite_key() {
    let run = statbuf()
        .args(["-d", ",", "-k", "3", "-k", "1"])
        .stdin(CSVISH)
        .run();
    let expected = count_by(CSVISH.as_bytes(), |l| {
        let f = delim_fields(l, b',');
        Some([nth_field(&f, 3)?, nth_field(&f, 1)?].join(&b' '))
    });
    assert_counts_eq(&run.plain(), &expected, &run);
}

// ------------------------------------------------------------------------------------------
// The whole line as the key
// ------------------------------------------------------------------------------------------

#[test]
fn whole_line_is_the_default_key() {
    let mut data = Vec::new();
    for i in 0..3000u32 {
        let line = match i % 7 {
            0 => "GET /".to_owned(),
            1 | 2 => format!("line {}", i % 13),
            3 => format!("  leading {}", i % 5),
            4 => format!("trailing {}  ", i % 3),
            5 => String::new(),
            _ => format!("tab\t{}\tsep", i % 4),
        };
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
    }
    // sort | uniq -c, computed here.
    let expected = count_by(&data, |l| Some(l.to_vec()));
    let run = statbuf().stdin(data).run();
    assert_counts_eq(&run.plain(), &expected, &run);
    assert_output_eq(&run.stdout, &render_plain(&expected), &run);
    let s = run.summary();
    assert_eq!(
        (s.lines, s.matched, s.unmatched, s.keys),
        (3000, 3000, 0, expected.len() as u64),
        "summary\n{run}"
    );
}

#[test]
fn generated_whole_lines_match_mawk() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(20_000, 13);
    against_mawk(&log, &[], "{ c[$0]++ }");
}

// ------------------------------------------------------------------------------------------
// Regex keys
// ------------------------------------------------------------------------------------------

const KV: &str = "user=alice n=3 ip=10.0.0.1\n\
                  user=bob n=-\n\
                  user=alice n=+4 ip=10.0.0.2\n\
                  nothing here\n\
                  user=carol n=x1\n\
                  user=bob n=-2\n\
                  user=alice n=10\n";

#[test]
fn regex_first_group_is_the_key() {
    let run = statbuf().args(["-r", r"user=(\w+) n=(\S+)"]).stdin(KV).run();
    let expected = count_by(KV.as_bytes(), |l| {
        let s = std::str::from_utf8(l).unwrap();
        let rest = s.strip_prefix("user=")?;
        Some(rest.split(' ').next()?.as_bytes().to_vec())
    });
    assert_counts_eq(&run.plain(), &expected, &run);
    let s = run.summary();
    assert_eq!((s.lines, s.matched, s.unmatched), (7, 6, 1), "summary\n{run}");
}

#[test]
fn regex_without_group_keys_by_whole_match() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = wd.write("kv.log", KV);
    let expected = mawk(
        r"{ if (match($0, /[0-9]+/)) c[substr($0, RSTART, RLENGTH)]++ }",
        &[&log],
    );
    let run = statbuf().args(["-r", "[0-9]+"]).arg(&log).run();
    assert_counts_eq(&run.plain(), &expected, &run);
    let s = run.summary();
    assert_eq!(s.unmatched, 7 - total(&expected) as u64, "unmatched\n{run}");
}

#[test]
fn regex_named_groups_form_a_composite_key() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = generated_log(20_000, 17);
    let expected = mawk(
        r#"{ if (match($0, /"[A-Z]+ [^ ?"]+/)) { s = substr($0, RSTART + 1, RLENGTH - 1); sp = index(s, " "); c[substr(s, 1, sp - 1) " " substr(s, sp + 1)]++ } }"#,
        &[&log],
    );
    let run = wd
        .statbuf()
        .args(["-r", r#""(?P<method>[A-Z]+) (?P<path>[^ ?"]+)"#])
        .arg(&log)
        .run();
    assert_counts_eq(&run.plain(), &expected, &run);
    assert_output_eq(&run.stdout, &render_plain(&expected), &run);
}

#[test]
fn regex_value_group_is_summed() {
    // Named groups other than `value` are the key; `value` is added; `-` is 0; a
    // non-integer is a bad value.
    let run = statbuf()
        .args(["-r", r"user=(?P<user>\w+) n=(?P<value>\S+)"])
        .stdin(KV)
        .run();
    let mut expected = Counts::new();
    expected.insert(b"alice".to_vec(), 3 + 4 + 10);
    expected.insert(b"bob".to_vec(), -2);
    assert_counts_eq(&run.plain(), &expected, &run);
    let s = run.summary();
    assert_eq!(
        (s.lines, s.matched, s.unmatched, s.bad_values),
        (7, 5, 1, 1),
        "summary\n{run}"
    );
}

// ------------------------------------------------------------------------------------------
// Value sums
// ------------------------------------------------------------------------------------------

#[test]
fn value_field_parsing() {
    let rows: &[(&str, &str)] = &[
        ("a", "5"),
        ("a", "+7"),
        ("a", "-2"),
        ("b", "-"),
        ("b", "0"),
        ("c", "1.5"),
        ("c", "0x10"),
        ("c", "12abc"),
        ("c", "ten"),
        ("d", "1000000000000"),
        ("d", "-000"),
        ("e", "+"),
        ("e", "--1"),
        ("f", "-"),
    ];
    let mut data = String::new();
    let mut expected = Counts::new();
    let mut bad = 0;
    for (key, value) in rows {
        data.push_str(&format!("x {key} {value} y\n"));
        let parsed: Option<i64> = if *value == "-" {
            Some(0)
        } else {
            value.parse().ok()
        };
        match parsed {
            Some(n) => *expected.entry(key.as_bytes().to_vec()).or_insert(0) += n,
            None => bad += 1,
        }
    }
    let run = statbuf()
        .args(["-k", "2", "--value-field", "3"])
        .stdin(data)
        .run();
    assert_counts_eq(&run.plain(), &expected, &run);
    assert_output_eq(&run.stdout, &render_plain(&expected), &run);
    let s = run.summary();
    assert_eq!(s.bad_values, bad, "bad values\n{run}");
    assert_eq!(s.lines, rows.len() as u64, "lines\n{run}");
    assert_eq!(s.matched, rows.len() as u64 - bad, "matched\n{run}");
}

#[test]
fn negative_value_field_counts_from_the_end() {
    let data = "a 1 x 4\nb 2 9\na 3 3 3 10\n";
    let run = statbuf()
        .args(["-k", "1", "--value-field", "-1"])
        .stdin(data)
        .run();
    let mut expected = Counts::new();
    expected.insert(b"a".to_vec(), 14);
    expected.insert(b"b".to_vec(), 9);
    assert_counts_eq(&run.plain(), &expected, &run);
}

// ------------------------------------------------------------------------------------------
// The summary line
// ------------------------------------------------------------------------------------------

#[test]
fn summary_line_numbers() {
    let mut data = String::new();
    let (mut matched, mut unmatched) = (0u64, 0u64);
    for i in 0..1234u32 {
        if i % 10 == 3 {
            data.push_str("short line\n");
            unmatched += 1;
        } else {
            data.push_str(&format!("f1 f2 key{} f4\n", i % 37));
            matched += 1;
        }
    }
    let run = statbuf().args(["-k", "3"]).stdin(data.clone()).run();
    let counts = run.plain();
    let s = run.summary();
    assert_eq!(s.lines, 1234, "lines\n{run}");
    assert_eq!(s.matched, matched, "matched\n{run}");
    assert_eq!(s.unmatched, unmatched, "unmatched\n{run}");
    assert_eq!((s.bad_values, s.oversize), (0, 0), "bad values, oversize\n{run}");
    assert_eq!(s.keys, 37, "keys\n{run}");
    assert_eq!(s.flushes, 1, "flushes without --interval\n{run}");
    assert_eq!(s.lines, s.matched + s.unmatched + s.bad_values + s.oversize);
    assert_eq!(total(&counts), matched as i64, "sum of counts\n{run}");
    assert!(
        run.stderr_lines_except_summary().is_empty(),
        "stderr holds more than the summary line\n{run}"
    );
}

#[test]
fn quiet_silences_the_summary() {
    for flag in ["-q", "--quiet"] {
        let run = statbuf().args(["-k", "1", flag]).stdin("a\nb\na\n").run();
        assert!(run.stderr.is_empty(), "stderr is not empty with {flag}\n{run}");
        let expected = count_by(b"a\nb\na\n", |l| Some(l.to_vec()));
        assert_counts_eq(&run.plain(), &expected, &run);
    }
}
