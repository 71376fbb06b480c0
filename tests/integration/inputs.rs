//! Inputs: stdin, files, `-` and several files in order; and awkward inputs: bytes that are
//! not UTF-8, NULs, CRLF, empty inputs, missing final newlines and lines over
//! --max-line-bytes. None of them may make statbuf panic.

use std::path::Path;

use crate::tools::{Tool, have};
use crate::util::*;

// ------------------------------------------------------------------------------------------
// Inputs: stdin, files, `-`, several files
// ------------------------------------------------------------------------------------------

#[test]
fn stdin_file_and_dash_agree() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = generated_log(5_000, 5);
    let data = read(&log);
    let expected = render_plain(&mawk("NF >= 7 { c[$7]++ }", &[&log]));
    let from_file = wd.statbuf().args(["-k", "7"]).arg(&log).run();
    let from_stdin = wd.statbuf().args(["-k", "7"]).stdin(data.clone()).run();
    let from_dash = wd.statbuf().args(["-k", "7", "-"]).stdin(data).run();
    for run in [&from_file, &from_stdin, &from_dash] {
        assert_output_eq(&run.stdout, &expected, run);
        assert_eq!(run.summary().lines, 5_000, "lines\n{run}");
    }
}

#[test]
fn multiple_files_are_concatenated() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let parts = ["a x\nb y\na z\n", "c w\n\na q\n", "b b\nb b\nd d\n"];
    let files: Vec<_> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| wd.write(&format!("part{i}.log"), p))
        .collect();
    let all = parts.concat();
    for args in [vec![], vec!["-k", "1"], vec!["-k", "2"]] {
        let whole = statbuf().args(&args).stdin(all.clone()).run();
        let split = wd.statbuf().args(&args).args(&files).run();
        assert_output_eq(&split.stdout, &whole.stdout, &split);
        assert_eq!(split.summary().lines, 9, "lines\n{split}");
    }
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let expected = mawk("NF >= 1 { c[$1]++ }", &refs);
    let run = wd.statbuf().args(["-k", "1"]).args(&files).run();
    assert_counts_eq(&run.plain(), &expected, &run);
}

#[test]
fn dash_among_files_reads_stdin_in_place() {
    let wd = Workdir::new();
    let first = wd.write("first.log", "k1 a\nk2 b\n");
    let last = wd.write("last.log", "k1 c\n");
    let stdin = "k2 d\nk3 e\nk3 f\n";
    let run = wd
        .statbuf()
        .args(["-k", "1"])
        .arg(&first)
        .arg("-")
        .arg(&last)
        .stdin(stdin)
        .run();
    let all = format!("{}{stdin}{}", "k1 a\nk2 b\n", "k1 c\n");
    let expected = count_by(all.as_bytes(), |l| awk_fields(l).first().map(|f| f.to_vec()));
    assert_counts_eq(&run.plain(), &expected, &run);
    assert_eq!(run.summary().lines, 6, "lines\n{run}");
}

// ------------------------------------------------------------------------------------------
// Awkward inputs
// ------------------------------------------------------------------------------------------

/// Runs statbuf on `data` through stdin and through a file with `args`, checks both agree with
/// `expected`, and returns the stdin run.
fn both_ways(args: &[&str], data: &[u8], expected: &Counts) -> Run {
    let wd = Workdir::new();
    let file = wd.write("input.log", data);
    let from_file = wd.statbuf().args(args).arg(&file).run();
    assert_counts_eq(&from_file.plain(), expected, &from_file);
    assert_output_eq(&from_file.stdout, &render_plain(expected), &from_file);
    let from_stdin = wd.statbuf().args(args).stdin(data.to_vec()).run();
    assert_counts_eq(&from_stdin.plain(), expected, &from_stdin);
    assert_output_eq(&from_stdin.stdout, &render_plain(expected), &from_stdin);
    assert_eq!(
        from_file.summary(),
        from_stdin.summary(),
        "{from_file}\n{from_stdin}"
    );
    from_stdin
}

#[test]
fn invalid_utf8_keys_are_kept_as_bytes() {
    let data: &[u8] = b"\xff\xfe x\n\xc3\x28 y\nok z\n\xff\xfe w\n\xe2\x82 v\nplain\xa0byte u\n";
    let whole = count_by(data, |l| Some(l.to_vec()));
    let run = both_ways(&[], data, &whole);
    assert_eq!(run.summary().lines, 6, "lines\n{run}");

    let first = count_by(data, |l| awk_fields(l).first().map(|f| f.to_vec()));
    assert_eq!(first.get(&b"\xff\xfe"[..]), Some(&2));
    both_ways(&["-k", "1"], data, &first);

    let second = count_by(data, |l| nth_field(&delim_fields(l, b' '), 2).map(<[u8]>::to_vec));
    both_ways(&["-d", " ", "-k", "2"], data, &second);
}

#[test]
fn regex_works_on_bytes() {
    let data: &[u8] = b"id=\xff\xfe end\nid=abc end\nid=\xff\xfe end\nno id\n";
    let expected = count_by(data, |l| {
        let rest = l.strip_prefix(b"id=")?;
        let sp = rest.iter().position(|&b| b == b' ')?;
        Some(rest[..sp].to_vec())
    });
    assert_eq!(expected.len(), 2);
    both_ways(&["-r", r"(?-u)id=([^ ]+)"], data, &expected);
}

#[test]
fn nul_bytes_are_ordinary_bytes() {
    let data: &[u8] = b"a\0b\nab\na\0b\n\0\n\0\0 x\0 y\n\0\n";
    let whole = count_by(data, |l| Some(l.to_vec()));
    assert_eq!(whole.get(&b"a\0b"[..]), Some(&2));
    let run = both_ways(&[], data, &whole);
    assert_eq!(run.summary().lines, 6, "lines\n{run}");
    let second = count_by(data, |l| nth_field(&awk_fields(l), 2).map(<[u8]>::to_vec));
    both_ways(&["-k", "2"], data, &second);
}

#[test]
fn crlf_and_lf_lines_give_the_same_key() {
    let data: &[u8] = b"a\r\na\nb x\r\nb x\n\r\n\nmid\rdle\na\r";
    let mut expected = Counts::new();
    expected.insert(b"a".to_vec(), 3);
    expected.insert(b"b x".to_vec(), 2);
    expected.insert(b"".to_vec(), 2);
    expected.insert(b"mid\rdle".to_vec(), 1);
    assert_eq!(count_by(data, |l| Some(l.to_vec())), expected);
    let run = both_ways(&[], data, &expected);
    assert_eq!(run.summary().lines, 8, "lines\n{run}");

    // The dropped `\r` is not part of the last field either.
    let fields: &[u8] = b"a\r\na\nb x\r\nb x\n\r\n\n y \r\na\r";
    let mut last = Counts::new();
    last.insert(b"a".to_vec(), 3);
    last.insert(b"x".to_vec(), 2);
    last.insert(b"y".to_vec(), 1);
    both_ways(&["-k", "-1"], fields, &last);

    // With a delimiter as well.
    let mut second = Counts::new();
    second.insert(b"b".to_vec(), 2);
    second.insert(b"".to_vec(), 1);
    both_ways(&["-d", ",", "-k", "2"], b"a,b\r\na,b\nc,\r\n", &second);
}

#[test]
fn empty_file() {
    let wd = Workdir::new();
    let file = wd.write("empty.log", b"");
    for args in [vec![], vec!["-k", "7"], vec!["-r", "(x)"]] {
        let run = wd.statbuf().args(&args).arg(&file).run();
        assert!(run.stdout.is_empty(), "stdout is not empty\n{run}");
        let s = run.summary();
        assert_eq!((s.lines, s.matched, s.keys), (0, 0, 0), "summary\n{run}");
    }
}

#[test]
fn empty_stdin() {
    for args in [vec![], vec!["-k", "7"], vec!["-"]] {
        let run = statbuf().args(&args).stdin(Vec::new()).run();
        assert!(run.stdout.is_empty(), "stdout is not empty\n{run}");
        let s = run.summary();
        assert_eq!((s.lines, s.matched, s.keys), (0, 0, 0), "summary\n{run}");
    }
    // stdin that is /dev/null rather than an empty pipe.
    let run = statbuf().arg("-k").arg("1").run();
    assert!(run.stdout.is_empty(), "stdout is not empty\n{run}");
    assert_eq!(run.summary().lines, 0, "lines\n{run}");
}

#[test]
fn last_line_without_newline_counts() {
    let data: &[u8] = b"a 1\nb 2\na 3";
    let mut expected = Counts::new();
    expected.insert(b"a".to_vec(), 2);
    expected.insert(b"b".to_vec(), 1);
    let run = both_ways(&["-k", "1"], data, &expected);
    assert_eq!(run.summary().lines, 3, "lines\n{run}");

    let mut sums = Counts::new();
    sums.insert(b"a".to_vec(), 4);
    sums.insert(b"b".to_vec(), 2);
    both_ways(&["-k", "1", "--value-field", "2"], data, &sums);

    // A single line and nothing else.
    let mut one = Counts::new();
    one.insert(b"only".to_vec(), 1);
    both_ways(&[], b"only", &one);
}

#[test]
fn last_line_without_newline_with_tiny_blocks() {
    let data: &[u8] = b"alpha beta\ngamma delta\nalpha epsilon";
    let expected = count_by(data, |l| awk_fields(l).first().map(|f| f.to_vec()));
    for bs in ["1", "7", "4096"] {
        both_ways(
            &["-k", "1", "--block-size", bs, "--workers", "2"],
            data,
            &expected,
        );
    }
}

#[test]
fn line_over_max_line_bytes_is_oversize() {
    let long = "x".repeat(500);
    let data = format!("a\nb\n{long}\na\nk {long}\nc\n");
    let expected = count_by(data.as_bytes(), |l| (l.len() <= 100).then(|| l.to_vec()));
    assert_eq!(total(&expected), 4);
    for extra in [
        vec![],
        vec!["--block-size", "7"],
        vec!["--block-size", "64", "--workers", "3"],
    ] {
        let mut args = vec!["--max-line-bytes", "100"];
        args.extend(extra);
        let run = both_ways(&args, data.as_bytes(), &expected);
        let s = run.summary();
        assert_eq!(s.oversize, 2, "oversize\n{run}");
        assert_eq!((s.lines, s.matched, s.unmatched), (6, 4, 0), "summary\n{run}");
    }
}

#[test]
fn line_of_exactly_max_line_bytes_is_counted() {
    // "Longer lines are skipped": a line of exactly the limit (its newline and a dropped
    // `\r` aside) is not longer.
    let exact = "y".repeat(100);
    let over = "z".repeat(101);
    let data = format!("{exact}\n{over}\n{exact}\r\n");
    let mut expected = Counts::new();
    expected.insert(exact.into_bytes(), 2);
    let run = both_ways(&["--max-line-bytes", "100"], data.as_bytes(), &expected);
    let s = run.summary();
    assert_eq!((s.lines, s.matched, s.oversize), (3, 2, 1), "summary\n{run}");
}

#[test]
fn oversize_last_line_without_newline() {
    let data = format!("a\nb\n{}", "q".repeat(300));
    let expected = count_by(data.as_bytes(), |l| (l.len() <= 100).then(|| l.to_vec()));
    let run = both_ways(&["--max-line-bytes", "100"], data.as_bytes(), &expected);
    let s = run.summary();
    assert_eq!((s.lines, s.matched, s.oversize), (3, 2, 1), "summary\n{run}");
}

fn five_megabyte_line(extra: &[&str]) {
    let mut data = b"before 1\nsame\n".to_vec();
    data.extend(std::iter::repeat_n(b'm', 5 << 20));
    data.extend_from_slice(b" tail\nafter 2\nsame\n");
    let mut expected = Counts::new();
    expected.insert(b"before 1".to_vec(), 1);
    expected.insert(b"after 2".to_vec(), 1);
    expected.insert(b"same".to_vec(), 2);
    let run = both_ways(extra, &data, &expected);
    let s = run.summary();
    assert_eq!(
        (s.lines, s.matched, s.unmatched, s.oversize),
        (5, 4, 0, 1),
        "summary\n{run}"
    );
}

#[test]
fn five_megabyte_line_with_defaults() {
    five_megabyte_line(&[]);
}

#[test]
fn five_megabyte_line_with_small_blocks() {
    five_megabyte_line(&["--block-size", "4096", "--workers", "2"]);
}

#[test]
fn long_line_under_a_raised_limit_is_counted() {
    let long = "L".repeat(3 << 20);
    let data = format!("{long} k1\nshort k1\n{long} k2\n");
    let mut expected = Counts::new();
    expected.insert(b"k1".to_vec(), 2);
    expected.insert(b"k2".to_vec(), 1);
    let run = both_ways(
        &["-k", "2", "--max-line-bytes", "8388608"],
        data.as_bytes(),
        &expected,
    );
    assert_eq!(run.summary().oversize, 0, "oversize\n{run}");
}
